/**
 * The AEAD contract, written once for every backend: an {@linkcode Aead}
 * from a backend's raw {@linkcode AeadPrimitive}.
 *
 * - `createCipher` checks the key (32 bytes, else `RangeError`) and hands the
 *   backend a copy of its own: the caller may wipe its key at once.
 * - `seal` checks the cipher is not disposed (`TypeError`), the nonce and
 *   `output` lengths (`RangeError`); a backend failure rejects with
 *   `ERR_INTERNAL`.
 * - `open` never throws: any failure (disposed, wrong nonce length, shorter
 *   than a tag, bad tag, a backend exception) gives `undefined`.
 *
 * Seal and open run on every record, so this layer adds one call and the
 * checks above, nothing else: a synchronous backend's result is wrapped in a
 * promise once, an asynchronous one's is passed through.
 *
 * @module
 */

import { TAG_LENGTH } from "./types.ts";
import type { Aead, AeadCipher, AeadName } from "./types.ts";
import type { AeadPrimitive, AeadPrimitiveCipher } from "./_primitives.ts";
import { describe, internalFailure, isBytes } from "./_failures.ts";
import { AEAD_KEY_LENGTH } from "./types.ts";

const NOTHING: Promise<undefined> = Promise.resolve(undefined);

function nothing(): undefined {
  return undefined;
}

class ContractCipher implements AeadCipher {
  readonly #raw: AeadPrimitiveCipher;
  readonly #name: AeadName;
  readonly #nonceLength: number;
  #disposed = false;

  constructor(raw: AeadPrimitiveCipher, name: AeadName, nonceLength: number) {
    this.#raw = raw;
    this.#name = name;
    this.#nonceLength = nonceLength;
  }

  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    output?: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#disposed) {
      return Promise.reject(new TypeError(`Cannot seal with ${this.#name}: cipher was disposed`));
    }
    if (nonce.length !== this.#nonceLength) {
      return Promise.reject(
        new RangeError(
          `Cannot seal with ${this.#name}: "nonce" must be ${this.#nonceLength} bytes, got ${nonce.length}`,
        ),
      );
    }
    if (!(plaintext instanceof Uint8Array) || !(aad instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(`Cannot seal with ${this.#name}: "plaintext" and "aad" must be Uint8Arrays`),
      );
    }
    if (output !== undefined && output.length !== plaintext.length + TAG_LENGTH) {
      return Promise.reject(
        new RangeError(
          `Cannot seal with ${this.#name}: "output" must be ${
            plaintext.length + TAG_LENGTH
          } bytes, got ${describe(output)}`,
        ),
      );
    }
    let sealed: Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>;
    try {
      sealed = this.#raw.seal(nonce, plaintext, aad, output);
    } catch (cause) {
      return Promise.reject(internalFailure(`seal with ${this.#name}`, cause));
    }
    if (!(sealed instanceof Promise)) return Promise.resolve(sealed);
    return sealed.catch((cause: unknown) => {
      throw internalFailure(`seal with ${this.#name}`, cause);
    });
  }

  open(
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (
      this.#disposed || nonce.length !== this.#nonceLength ||
      !(ciphertext instanceof Uint8Array) || ciphertext.length < TAG_LENGTH ||
      !(aad instanceof Uint8Array)
    ) {
      return NOTHING;
    }
    let opened: Uint8Array<ArrayBuffer> | undefined | Promise<Uint8Array<ArrayBuffer> | undefined>;
    try {
      opened = this.#raw.open(nonce, ciphertext, aad);
    } catch {
      return NOTHING;
    }
    if (!(opened instanceof Promise)) {
      return opened === undefined ? NOTHING : Promise.resolve(opened);
    }
    return opened.catch(nothing);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#raw.dispose();
  }
}

/**
 * The contract over an AEAD primitive.
 *
 * @param name The registry name.
 * @param id The wire id.
 * @param primitive The backend's primitive.
 * @returns The frozen AEAD.
 */
export function contractAead(name: AeadName, id: number, primitive: AeadPrimitive): Aead {
  const { nonceLength } = primitive;
  return Object.freeze({
    name,
    id,
    keyLength: AEAD_KEY_LENGTH,
    nonceLength,
    tagLength: TAG_LENGTH,
    createCipher(key: Uint8Array): AeadCipher {
      if (!isBytes(key, AEAD_KEY_LENGTH)) {
        throw new RangeError(
          `Cannot create ${name} cipher: "key" must be ${AEAD_KEY_LENGTH} bytes, got ${
            describe(key)
          }`,
        );
      }
      return new ContractCipher(primitive.bind(Uint8Array.from(key)), name, nonceLength);
    },
  });
}

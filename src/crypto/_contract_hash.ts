/**
 * The hash contract, written once for every backend: a
 * {@linkcode HashFunction} (digest, incremental hasher, HMAC, HKDF) from a
 * backend's raw {@linkcode HashPrimitive}.
 *
 * HKDF (RFC 5869) is composed here from the backend's keyed HMAC:
 *
 * ```
 * extract(salt, ikm)       = HMAC(salt, ikm)                 (an empty salt is HashLen zeros)
 * expand(prk, info, L)     = T(1) ‖ T(2) ‖ … truncated to L
 *   T(i)                   = HMAC(prk, T(i-1) ‖ info ‖ u8 i),  T(0) = empty
 * ```
 *
 * The PRK is keyed once per `expand` (and once per {@linkcode HkdfExpander}
 * for several expansions from one PRK); each block then costs two
 * compressions of the hash instead of four.
 *
 * @module
 */

import type { Hasher, HashFunction, HashName, HkdfExpander } from "./types.ts";
import type { HashPrimitive, HashPrimitiveState, HmacPrimitiveKey } from "./_primitives.ts";

const EMPTY = new Uint8Array(0);

class ContractHasher implements Hasher {
  readonly #state: HashPrimitiveState;

  constructor(state: HashPrimitiveState) {
    this.#state = state;
  }

  update(data: Uint8Array): Hasher {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`Cannot hash: "data" must be a Uint8Array`);
    }
    this.#state.update(data);
    return this;
  }

  peek(): Uint8Array<ArrayBuffer> {
    return this.#state.peek();
  }
}

/** Several HKDF-Expand calls from one PRK, keyed once. */
class ContractExpander implements HkdfExpander {
  readonly #name: HashName;
  readonly #outputLength: number;
  readonly #counter = new Uint8Array(1);
  /** Whether one `expand` call is all there will be (its last block may consume the key). */
  readonly #once: boolean;
  #key: HmacPrimitiveKey | undefined;

  constructor(name: HashName, primitive: HashPrimitive, prk: Uint8Array, once: boolean) {
    this.#name = name;
    this.#once = once;
    this.#outputLength = primitive.outputLength;
    checkPrk(name, primitive.outputLength, prk);
    this.#key = primitive.hmacKey(prk);
  }

  expand(info: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
    const key = this.#key;
    if (key === undefined) {
      throw new TypeError(`Cannot expand with ${this.#name}: the expander was disposed`);
    }
    if (!(info instanceof Uint8Array)) {
      throw new TypeError(`Cannot expand with ${this.#name}: "info" must be a Uint8Array`);
    }
    const hashLength = this.#outputLength;
    checkLength(this.#name, hashLength, length);
    const blocks = Math.ceil(length / hashLength);
    const counter = this.#counter;
    if (blocks === 1 && length === hashLength) {
      const okm = new Uint8Array(hashLength);
      counter[0] = 1;
      key.macInto([info, counter], okm, this.#once);
      return okm;
    }
    const okm = new Uint8Array(blocks * hashLength);
    let previous: Uint8Array = EMPTY;
    for (let i = 0; i < blocks; i++) {
      counter[0] = i + 1;
      const block = okm.subarray(i * hashLength, (i + 1) * hashLength);
      key.macInto([previous, info, counter], block, this.#once && i === blocks - 1);
      previous = block;
    }
    if (okm.length === length) return okm;
    const out = okm.slice(0, length);
    okm.fill(0);
    return out;
  }

  dispose(): void {
    this.#key?.dispose();
    this.#key = undefined;
  }
}

function checkLength(name: HashName, hashLength: number, length: number): void {
  if (!Number.isSafeInteger(length) || length < 1 || length > 255 * hashLength) {
    throw new RangeError(
      `Cannot expand with ${name}: "length" must be an integer in [1, ${
        255 * hashLength
      }], got ${length}`,
    );
  }
}

function checkPrk(name: HashName, hashLength: number, prk: Uint8Array): void {
  if (!(prk instanceof Uint8Array) || prk.length < hashLength) {
    throw new RangeError(
      `Cannot expand with ${name}: "prk" must be at least ${hashLength} bytes, got ${
        prk instanceof Uint8Array ? prk.length : typeof prk
      }`,
    );
  }
}

function checkBytes(name: HashName, what: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot use ${name}: "${what}" must be a Uint8Array`);
  }
}

/**
 * The contract over a hash primitive.
 *
 * @param name The registry name.
 * @param id The wire id.
 * @param primitive The backend's primitive.
 * @returns The frozen hash function.
 */
export function contractHash(name: HashName, id: number, primitive: HashPrimitive): HashFunction {
  const { outputLength } = primitive;

  function mac(key: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
    const keyed = primitive.hmacKey(key);
    try {
      const out = new Uint8Array(outputLength);
      keyed.macInto([data], out, true);
      return out;
    } finally {
      keyed.dispose();
    }
  }

  return Object.freeze({
    name,
    id,
    outputLength,
    digest(data: Uint8Array): Uint8Array<ArrayBuffer> {
      checkBytes(name, "data", data);
      return primitive.digest(data);
    },
    create(): Hasher {
      return new ContractHasher(primitive.create());
    },
    hmac(key: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
      checkBytes(name, "key", key);
      checkBytes(name, "data", data);
      return mac(key, data);
    },
    extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array<ArrayBuffer> {
      checkBytes(name, "salt", salt);
      checkBytes(name, "ikm", ikm);
      // An empty salt keys HMAC like HashLen zero bytes would: both pad to a zero block.
      return mac(salt, ikm);
    },
    expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
      checkLength(name, outputLength, length);
      const expander = new ContractExpander(name, primitive, prk, true);
      try {
        return expander.expand(info, length);
      } finally {
        expander.dispose();
      }
    },
    expander(prk: Uint8Array): HkdfExpander {
      return new ContractExpander(name, primitive, prk, false);
    },
  });
}

/**
 * The default {@linkcode CryptoBackend}, composed entirely from noble
 * (`@noble/ciphers`, `@noble/hashes`, `@noble/curves`, `@noble/post-quantum`).
 *
 * Nothing here implements a primitive; this file only adapts noble's APIs to
 * the backend contract and maps noble's exceptions at the boundary:
 *
 * - AEAD `open` returns `undefined` for any failure (bad tag, wrong nonce or
 *   ciphertext length) and never throws.
 * - Key exchanges reject invalid peer input with `HandshakeError`
 *   (`ERR_INVALID_PEER_KEY`), never with a raw noble exception.
 * - Signature `verify` returns `false` for any malformed input.
 *
 * @module
 */

import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { gcm } from "@noble/ciphers/aes.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import type { CHash } from "@noble/hashes/utils.js";
import type {
  Aead,
  AeadCipher,
  AeadName,
  CryptoBackend,
  Hasher,
  HashFunction,
  HashName,
  KeyExchange,
  KeyExchangeName,
  SignatureName,
  SignatureScheme,
} from "./types.ts";
import { AEADS, HASHES } from "./types.ts";

// ---------------------------------------------------------------------------
// AEAD

/** A noble AEAD constructor: a fresh instance per (key, nonce). */
type NobleAeadFactory = (
  key: Uint8Array,
  nonce: Uint8Array,
  aad?: Uint8Array,
) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

const TAG_LENGTH = 16;
const AEAD_KEY_LENGTH = 32;

function idOf(table: readonly { name: string; id: number }[], name: string): number {
  const row = table.find((entry) => entry.name === name);
  if (row === undefined) throw new TypeError(`Cannot find algorithm: unknown name "${name}"`);
  return row.id;
}

class NobleAeadCipher implements AeadCipher {
  readonly #factory: NobleAeadFactory;
  readonly #key: Uint8Array<ArrayBuffer>;
  readonly #nonceLength: number;
  readonly #name: AeadName;
  #disposed = false;

  constructor(factory: NobleAeadFactory, key: Uint8Array, nonceLength: number, name: AeadName) {
    this.#factory = factory;
    this.#key = Uint8Array.from(key);
    this.#nonceLength = nonceLength;
    this.#name = name;
  }

  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
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
    const sealed = this.#factory(this.#key, nonce, aad).encrypt(plaintext);
    return Promise.resolve(Uint8Array.from(sealed));
  }

  open(
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (
      this.#disposed || nonce.length !== this.#nonceLength || ciphertext.length < TAG_LENGTH
    ) {
      return Promise.resolve(undefined);
    }
    try {
      const opened = this.#factory(this.#key, nonce, aad).decrypt(ciphertext);
      return Promise.resolve(Uint8Array.from(opened));
    } catch {
      return Promise.resolve(undefined);
    }
  }

  dispose(): void {
    this.#key.fill(0);
    this.#disposed = true;
  }
}

function nobleAead(name: AeadName, factory: NobleAeadFactory, nonceLength: number): Aead {
  return Object.freeze({
    name,
    id: idOf(AEADS, name),
    keyLength: AEAD_KEY_LENGTH,
    nonceLength,
    tagLength: TAG_LENGTH,
    createCipher(key: Uint8Array): AeadCipher {
      if (key.length !== AEAD_KEY_LENGTH) {
        throw new RangeError(
          `Cannot create ${name} cipher: "key" must be ${AEAD_KEY_LENGTH} bytes, got ${key.length}`,
        );
      }
      return new NobleAeadCipher(factory, key, nonceLength, name);
    },
  });
}

const NOBLE_AEADS: ReadonlyMap<AeadName, Aead> = new Map<AeadName, Aead>([
  ["ChaCha20-Poly1305", nobleAead("ChaCha20-Poly1305", chacha20poly1305, 12)],
  ["XChaCha20-Poly1305", nobleAead("XChaCha20-Poly1305", xchacha20poly1305, 24)],
  ["AES-256-GCM", nobleAead("AES-256-GCM", gcm, 12)],
]);

// ---------------------------------------------------------------------------
// Hash, HMAC, HKDF

/** The parts of a noble incremental hash state this adapter uses. */
interface NobleHashState {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
  clone(): NobleHashState;
}

class NobleHasher implements Hasher {
  readonly #state: NobleHashState;

  constructor(state: NobleHashState) {
    this.#state = state;
  }

  update(data: Uint8Array): Hasher {
    this.#state.update(data);
    return this;
  }

  peek(): Uint8Array<ArrayBuffer> {
    return Uint8Array.from(this.#state.clone().digest());
  }
}

function nobleHash(name: HashName, hash: CHash): HashFunction {
  const outputLength = hash.outputLen;
  return Object.freeze({
    name,
    id: idOf(HASHES, name),
    outputLength,
    digest(data: Uint8Array): Uint8Array<ArrayBuffer> {
      return Uint8Array.from(hash(data));
    },
    create(): Hasher {
      return new NobleHasher(hash.create());
    },
    hmac(key: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
      return Uint8Array.from(hmac(hash, key, data));
    },
    extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array<ArrayBuffer> {
      return Uint8Array.from(extract(hash, ikm, salt));
    },
    expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
      if (!Number.isSafeInteger(length) || length < 1 || length > 255 * outputLength) {
        throw new RangeError(
          `Cannot expand with ${name}: "length" must be an integer in [1, ${
            255 * outputLength
          }], got ${length}`,
        );
      }
      if (prk.length < outputLength) {
        throw new RangeError(
          `Cannot expand with ${name}: "prk" must be at least ${outputLength} bytes, got ${prk.length}`,
        );
      }
      return Uint8Array.from(expand(hash, prk, info, length));
    },
  });
}

const NOBLE_HASHES: ReadonlyMap<HashName, HashFunction> = new Map<HashName, HashFunction>([
  ["SHA-256", nobleHash("SHA-256", sha256)],
  ["SHA-512", nobleHash("SHA-512", sha512)],
  ["SHA3-256", nobleHash("SHA3-256", sha3_256)],
  ["BLAKE2b", nobleHash("BLAKE2b", blake2b)],
]);

// ---------------------------------------------------------------------------
// Key exchange and signatures

const NOBLE_KEY_EXCHANGES: ReadonlyMap<KeyExchangeName, KeyExchange> = new Map();
const NOBLE_SIGNATURES: ReadonlyMap<SignatureName, SignatureScheme> = new Map();

// ---------------------------------------------------------------------------
// The backend

/**
 * The default crypto backend: every qgate algorithm, composed from noble.
 *
 * AEAD ciphers copy their key and wipe the copy on `dispose()`; `open`
 * returns `undefined` (never throws) on any authentication or length failure.
 * Hash functions expose one-shot digests, an incremental hasher whose
 * `peek()` does not consume it, HMAC and RFC 5869 HKDF.
 *
 * @example Sealing and opening a record
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
 * const cipher = aead.createCipher(new Uint8Array(32).fill(1));
 * const nonce = new Uint8Array(aead.nonceLength);
 * const aad = new Uint8Array([1, 2, 3]);
 * const sealed = await cipher.seal(nonce, new TextEncoder().encode("hello"), aad);
 * assert.equal(sealed.length, 5 + aead.tagLength);
 * assert.equal(new TextDecoder().decode(await cipher.open(nonce, sealed, aad)), "hello");
 * sealed[0]! ^= 1;
 * assert.equal(await cipher.open(nonce, sealed, aad), undefined);
 * cipher.dispose();
 * ```
 *
 * @example Incremental hashing and HKDF
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const sha256 = nobleBackend.hash("SHA-256")!;
 * const hasher = sha256.create().update(new Uint8Array([1]));
 * assert.deepEqual(hasher.peek(), sha256.digest(new Uint8Array([1])));
 * hasher.update(new Uint8Array([2]));
 * assert.deepEqual(hasher.peek(), sha256.digest(new Uint8Array([1, 2])));
 * const prk = sha256.extract(new Uint8Array(0), new Uint8Array(32));
 * assert.equal(sha256.expand(prk, new Uint8Array(0), 42).length, 42);
 * ```
 */
export const nobleBackend: CryptoBackend = Object.freeze({
  name: "noble",
  keyExchange(name: KeyExchangeName): KeyExchange | undefined {
    return NOBLE_KEY_EXCHANGES.get(name);
  },
  signature(name: SignatureName): SignatureScheme | undefined {
    return NOBLE_SIGNATURES.get(name);
  },
  aead(name: AeadName): Aead | undefined {
    return NOBLE_AEADS.get(name);
  },
  hash(name: HashName): HashFunction | undefined {
    return NOBLE_HASHES.get(name);
  },
});

/**
 * A composite {@linkcode CryptoBackend}: the platform's native crypto where it
 * offers an algorithm (synchronous `node:crypto` first, then WebCrypto),
 * noble for everything else.
 *
 * They are interchangeable by construction (the native backends draw the
 * same randomness and produce the same bytes as `nobleBackend`, which the
 * differential tests check), so the composite changes speed, not results:
 * with a seeded random source a run is byte-for-byte the run noble would
 * make.
 *
 * AEAD calls are split by size. A native WebCrypto call has a fixed cost
 * (the operation is dispatched off the JavaScript thread and comes back as a
 * promise), so below a per-algorithm threshold noble is faster; from it on,
 * the native cipher is. Both produce identical ciphertexts, so records may
 * alternate freely.
 *
 * @module
 */

import { nobleBackend } from "./noble_backend.ts";
import { nodeCryptoBackend } from "./node_backend.ts";
import { webCryptoBackend } from "./webcrypto_backend.ts";
import { type AlgorithmNames, canonicalAlgorithmName } from "./registry.ts";
import { TAG_LENGTH } from "./types.ts";
import type {
  Aead,
  AeadCipher,
  AeadName,
  CryptoBackend,
  HashFunction,
  HashName,
  KeyExchange,
  KeyExchangeName,
  SignatureName,
  SignatureScheme,
} from "./types.ts";

/**
 * The smallest AEAD input (plaintext bytes when sealing, ciphertext bytes
 * without the tag when opening) handed to a native WebCrypto cipher, per
 * algorithm. Measured with `deno task bench` on Deno 2.9 (x86-64): native
 * AES-256-GCM beats noble from about 1 KiB, native ChaCha20-Poly1305 from
 * about 4 KiB. Ciphers from `nodeCryptoBackend` run on the calling thread and
 * beat noble at every size: they take every input (threshold 0).
 */
export const DEFAULT_NATIVE_AEAD_THRESHOLDS: Readonly<Record<AeadName, number>> = Object.freeze({
  "AES-256-GCM": 1_024,
  "ChaCha20-Poly1305": 4_096,
  "XChaCha20-Poly1305": 4_096,
});

/** Options for {@linkcode createAutoBackend}. */
export interface AutoBackendOptions {
  /**
   * The preferred backend, or several in order of preference (default
   * `[nodeCryptoBackend, webCryptoBackend]`: synchronous `node:crypto` first,
   * then WebCrypto).
   */
  native?: CryptoBackend | readonly CryptoBackend[];
  /** The backend for whatever `native` lacks (default `nobleBackend`). */
  fallback?: CryptoBackend;
  /**
   * Per AEAD, the smallest input sent to the native cipher; smaller inputs go
   * to the fallback. `0` always uses native, `Infinity` never does. Defaults
   * to 0 for `nodeCryptoBackend`'s ciphers and to
   * {@linkcode DEFAULT_NATIVE_AEAD_THRESHOLDS} for the others.
   */
  aeadThresholds?: Partial<Record<AeadName, number>>;
}

/**
 * One key, two implementations: inputs below the threshold go to the small
 * (fallback) cipher, the rest to the large (native) one. The native cipher is
 * created on the first large input, so handshakes, whose records are all
 * small, never pay for a native key import.
 */
class SplitCipher implements AeadCipher {
  readonly #small: AeadCipher;
  readonly #largeAead: Aead;
  readonly #threshold: number;
  #key: Uint8Array | undefined;
  #large: AeadCipher | undefined;

  constructor(small: AeadCipher, largeAead: Aead, key: Uint8Array, threshold: number) {
    this.#small = small;
    this.#largeAead = largeAead;
    this.#threshold = threshold;
    this.#key = Uint8Array.from(key);
  }

  #pick(length: number): AeadCipher {
    if (length < this.#threshold) return this.#small;
    if (this.#large === undefined && this.#key !== undefined) {
      this.#large = this.#largeAead.createCipher(this.#key);
      this.#key.fill(0);
      this.#key = undefined;
    }
    // After dispose both are disposed; the small one reports it in noble's words.
    return this.#large ?? this.#small;
  }

  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    output?: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array<ArrayBuffer>> {
    return this.#pick(plaintext.length).seal(nonce, plaintext, aad, output);
  }

  open(
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    return this.#pick(ciphertext.length - TAG_LENGTH).open(nonce, ciphertext, aad);
  }

  dispose(): void {
    this.#key?.fill(0);
    this.#key = undefined;
    this.#small.dispose();
    this.#large?.dispose();
  }
}

function splitAead(small: Aead, large: Aead, threshold: number): Aead {
  if (
    small.keyLength !== large.keyLength || small.nonceLength !== large.nonceLength ||
    small.tagLength !== large.tagLength || small.tagLength !== TAG_LENGTH
  ) {
    throw new TypeError(
      `Cannot combine ${small.name} implementations: key, nonce or tag lengths differ`,
    );
  }
  return Object.freeze({
    name: small.name,
    id: small.id,
    keyLength: small.keyLength,
    nonceLength: small.nonceLength,
    tagLength: small.tagLength,
    createCipher(key: Uint8Array): AeadCipher {
      // The fallback validates the key first: the same RangeError as noble's.
      return new SplitCipher(small.createCipher(key), large, key, threshold);
    },
  });
}

function checkBackend(option: string, value: unknown): CryptoBackend {
  const backend = value as CryptoBackend;
  if (
    typeof value !== "object" || value === null ||
    typeof backend.keyExchange !== "function" || typeof backend.signature !== "function" ||
    typeof backend.aead !== "function" || typeof backend.hash !== "function"
  ) {
    throw new TypeError(`Cannot create auto backend: "${option}" must be a CryptoBackend`);
  }
  return backend;
}

/** The backends as one: each algorithm from the first that offers it. */
function firstOf(backends: readonly CryptoBackend[]): CryptoBackend {
  if (backends.length === 1) return backends[0]!;
  const first = <T>(pick: (backend: CryptoBackend) => T | undefined): T | undefined => {
    for (const backend of backends) {
      const found = pick(backend);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return Object.freeze({
    name: backends.map((backend) => backend.name).join("+"),
    keyExchange: (name: KeyExchangeName): KeyExchange | undefined => {
      const canonical = canonicalAlgorithmName("keyExchange", name);
      return first((backend) => backend.keyExchange(canonical));
    },
    signature: (name: SignatureName): SignatureScheme | undefined => {
      const canonical = canonicalAlgorithmName("signature", name);
      return first((backend) => backend.signature(canonical));
    },
    aead: (name: AeadName): Aead | undefined => {
      const canonical = canonicalAlgorithmName("aead", name);
      return first((backend) => backend.aead(canonical));
    },
    hash: (name: HashName): HashFunction | undefined => {
      const canonical = canonicalAlgorithmName("hash", name);
      return first((backend) => backend.hash(canonical));
    },
  });
}

/**
 * Creates a composite backend: each algorithm from `native` where it offers
 * it, from `fallback` otherwise; AEAD calls split by size (see
 * {@linkcode AutoBackendOptions.aeadThresholds}).
 *
 * Lookups are synchronous and memoised, so a session pays nothing per
 * handshake for the choice.
 *
 * @param options The two backends and the AEAD thresholds.
 * @returns The composite backend, named `auto(<native>+<fallback>)`.
 * @throws {TypeError} If a backend is not a `CryptoBackend`.
 * @throws {RangeError} If a threshold is negative or not a number.
 *
 * @example Native where available, noble for the rest
 * ```ts
 * import { createAutoBackend, nobleBackend } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const backend = createAutoBackend();
 * assert.equal(backend.name, "auto(node+webcrypto+noble)");
 * // WebCrypto has no Ed448 and no synchronous hashes: those come from noble.
 * assert.equal(backend.signature("Ed448"), nobleBackend.signature("Ed448"));
 * assert.equal(backend.hash("SHA-256"), nobleBackend.hash("SHA-256"));
 * ```
 *
 * @example Forcing every AEAD call to the native cipher
 * ```ts
 * import { createAutoBackend } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const backend = createAutoBackend({ aeadThresholds: { "AES-256-GCM": 0 } });
 * const cipher = backend.aead("AES-256-GCM")!.createCipher(new Uint8Array(32));
 * const nonce = new Uint8Array(12);
 * const sealed = await cipher.seal(nonce, new Uint8Array([1]), new Uint8Array(0));
 * assert.deepEqual(await cipher.open(nonce, sealed, new Uint8Array(0)), new Uint8Array([1]));
 * cipher.dispose();
 * ```
 */
export function createAutoBackend(options: AutoBackendOptions = {}): CryptoBackend {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot create auto backend: "options" must be an object`);
  }
  const preferred = options.native ?? [nodeCryptoBackend, webCryptoBackend];
  const native = Array.isArray(preferred)
    ? firstOf(preferred.map((backend, i) => checkBackend(`native[${i}]`, backend)))
    : checkBackend("native", preferred);
  const fallback = checkBackend("fallback", options.fallback ?? nobleBackend);
  const thresholds: Partial<Record<AeadName, number>> = {};
  for (const [name, value] of Object.entries(options.aeadThresholds ?? {})) {
    if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
      throw new RangeError(
        `Cannot create auto backend: "aeadThresholds.${name}" must be a non-negative number, got ${
          String(value)
        }`,
      );
    }
    thresholds[name as AeadName] = value;
  }

  // Per category, what each algorithm resolved to, by its canonical name only
  // (bounded by the registry). A request spelled canonically, as the runtime
  // spells every request, is one map lookup.
  const memos: Record<"keyExchange" | "signature" | "aead" | "hash", Map<string, unknown>> = {
    keyExchange: new Map(),
    signature: new Map(),
    aead: new Map(),
    hash: new Map(),
  };
  function once<C extends keyof typeof memos, T>(
    category: C,
    requested: string,
    pick: (name: AlgorithmNames[C]) => T | undefined,
  ): T | undefined {
    const memo = memos[category];
    if (memo.has(requested)) return memo.get(requested) as T | undefined;
    const name = canonicalAlgorithmName(category, requested);
    if (!memo.has(name)) memo.set(name, pick(name));
    return memo.get(name) as T | undefined;
  }

  // Names in any letter case; the backends below are asked for the canonical one.
  return Object.freeze({
    name: `auto(${native.name}+${fallback.name})`,
    keyExchange(requested: KeyExchangeName): KeyExchange | undefined {
      return once(
        "keyExchange",
        requested,
        (name) => native.keyExchange(name) ?? fallback.keyExchange(name),
      );
    },
    signature(requested: SignatureName): SignatureScheme | undefined {
      return once(
        "signature",
        requested,
        (name) => native.signature(name) ?? fallback.signature(name),
      );
    },
    aead(requested: AeadName): Aead | undefined {
      return once("aead", requested, (name) => {
        const large = native.aead(name);
        const small = fallback.aead(name);
        if (large === undefined) return small;
        // A cipher computed on the calling thread has no per-call cost to amortise.
        const threshold = thresholds[name] ??
          (large === nodeCryptoBackend.aead(name) ? 0 : DEFAULT_NATIVE_AEAD_THRESHOLDS[name]);
        if (small === undefined || threshold === 0) return large;
        if (threshold === Infinity) return small;
        return splitAead(small, large, threshold);
      });
    },
    hash(requested: HashName): HashFunction | undefined {
      return once("hash", requested, (name) => native.hash(name) ?? fallback.hash(name));
    },
  });
}

/**
 * The composite backend with its defaults: `nodeCryptoBackend`, then
 * `webCryptoBackend`, where the platform offers an algorithm, `nobleBackend`
 * otherwise. On Deno 2.9 that is X25519, X448, Ed25519, AES-256-GCM and
 * ChaCha20-Poly1305 from `node:crypto` (computed on the calling thread);
 * P-256/384/521, ML-KEM and ML-DSA verification from WebCrypto; and noble
 * for Ed448, XChaCha20-Poly1305, ML-DSA signing and every hash.
 *
 * @example Selecting it for a session
 * ```ts
 * import { autoBackend, createMemoryPair, initiate, respond } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = createMemoryPair();
 * const options = { requireAuthentication: false, backend: autoBackend };
 * const client = initiate(a, options);
 * const server = respond(b, options);
 * await Promise.all([client.ready, server.ready]);
 * assert.deepEqual(
 *   client.exportKeyingMaterial("demo", new Uint8Array(0), 16),
 *   server.exportKeyingMaterial("demo", new Uint8Array(0), 16),
 * );
 * await client.close();
 * await server.closed;
 * ```
 */
export const autoBackend: CryptoBackend = createAutoBackend();

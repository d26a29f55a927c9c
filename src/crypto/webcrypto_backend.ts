/**
 * A {@linkcode CryptoBackend} on the platform's WebCrypto (`crypto.subtle`),
 * for every qgate algorithm the platform offers natively, checked at run time.
 *
 * Deno 2.9 offers X25519, X448, P-256/384/521 (ECDH), ML-KEM-512/768/1024,
 * Ed25519, ML-DSA-44/65/87, AES-256-GCM and ChaCha20-Poly1305. Ed448,
 * XChaCha20-Poly1305 and every hash are never offered here: WebCrypto has no
 * Ed448 or XChaCha20, and its digests are asynchronous while the
 * `HashFunction` contract is synchronous, so a session needs the
 * composite `autoBackend`, which fills the gaps with noble.
 *
 * {@linkcode webCryptoBackend} decides synchronously with
 * `SubtleCrypto.supports()` (WICG modern algorithms);
 * {@linkcode createWebCryptoBackend} probes each algorithm with a real
 * operation instead, for platforms without `supports()`.
 *
 * The WebCrypto primitives live in `_webcrypto_*.ts`, one concept each
 * (platform helpers, key exchange, signatures, AEAD, the catalogue of what a
 * platform has). The contract layer above them (`_contract.ts`) is the one
 * every backend shares: the same lengths, validation, random draws, strict
 * verification and error mapping as `nobleBackend`, so the two are
 * interchangeable and differential tests compare them byte for byte.
 *
 * - Keys come from the injected `random(n)`, drawn in exactly the amounts and
 *   order noble draws them: a seeded source yields the same keys as noble.
 * - ML-KEM encapsulation takes its randomness from the platform when `random`
 *   is the system CSPRNG; with any other source (a seeded one) it is noble's,
 *   with the 32 bytes drawn from `random`, so seeded runs stay reproducible.
 * - ML-DSA key generation and signing are noble's; ML-DSA verification is
 *   native.
 * - Invalid peer keys reject with `HandshakeError` `ERR_INVALID_PEER_KEY`;
 *   `verify` returns `false` and AEAD `open` returns `undefined` for any
 *   failure. Any other native failure rejects with `QGateError`
 *   `ERR_INTERNAL`; a raw `DOMException` never escapes.
 * - Secret keys live in non-extractable `CryptoKey`s. The byte buffers used
 *   to import them are wiped right after the import; a `CryptoKey` itself
 *   cannot be wiped from JavaScript, so `dispose()` only drops the reference.
 *
 * @module
 */

import type { AeadName, CryptoBackend, KeyExchangeName } from "./types.ts";
import { AEADS, KEY_EXCHANGES } from "./types.ts";
import type { PrimitiveSet, SingleSignatureName } from "./_primitives.ts";
import { contractBackend } from "./_contract.ts";
import type { NativeSubtle, Supports } from "./_webcrypto_platform.ts";
import { type Candidate, Catalogue, type NativeCategory } from "./_webcrypto_catalogue.ts";

export type { Algorithm, NativeSubtle, Supports } from "./_webcrypto_platform.ts";

/** Options for {@linkcode createWebCryptoBackend}. */
export interface WebCryptoBackendOptions {
  /** The WebCrypto implementation (default `globalThis.crypto.subtle`). */
  subtle?: SubtleCrypto;
}

const SINGLE_SIGNATURES: readonly SingleSignatureName[] = [
  "Ed25519",
  "Ed448",
  "ML-DSA-44",
  "ML-DSA-65",
  "ML-DSA-87",
];

function subtleOf(options: WebCryptoBackendOptions): NativeSubtle {
  return (options.subtle ?? globalThis.crypto?.subtle ?? {}) as unknown as NativeSubtle;
}

function supportsOf(): Supports | undefined {
  const supports = (globalThis as { SubtleCrypto?: { supports?: unknown } }).SubtleCrypto
    ?.supports;
  return typeof supports === "function"
    ? (operation, algorithm) => {
      try {
        return (supports as Supports).call(globalThis.SubtleCrypto, operation, algorithm) === true;
      } catch {
        return false;
      }
    }
    : undefined;
}

/** A primitive set that asks `pick` once per algorithm (the contract memoises above it). */
function primitivesOver(
  name: string,
  pick: (category: NativeCategory, name: string) => unknown,
): PrimitiveSet {
  return Object.freeze({
    name,
    keyExchange: (algorithm: KeyExchangeName) => pick("keyExchange", algorithm) as never,
    signature: (algorithm: SingleSignatureName) => pick("signature", algorithm) as never,
    aead: (algorithm: AeadName) => pick("aead", algorithm) as never,
    // WebCrypto digests are asynchronous; the contract's hashes are synchronous.
    hash: (): undefined => undefined,
  });
}

/**
 * The native backend on `globalThis.crypto.subtle`, synchronous: an algorithm
 * is offered when `SubtleCrypto.supports()` (WICG modern algorithms; Deno
 * 2.9+) confirms every operation its adapter uses. On a platform without
 * `SubtleCrypto.supports` it offers nothing; use
 * {@linkcode createWebCryptoBackend}, which probes with real operations.
 *
 * Semantics match `nobleBackend` (see the module documentation): identical
 * keys, secrets, Ed25519 signatures and ciphertexts for the same inputs;
 * `ERR_INVALID_PEER_KEY` for invalid peer keys; `verify` → `false` and
 * `open` → `undefined` on any failure; other native failures reject with
 * `QGateError` `ERR_INTERNAL`. Hashes are never offered (they are
 * synchronous in the contract); pair it with noble through `autoBackend`.
 *
 * @example A native key exchange, byte-identical to noble's for a seed
 * ```ts
 * import { nobleBackend, seededRandom, webCryptoBackend } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const x25519 = webCryptoBackend.keyExchange("X25519");
 * if (x25519 !== undefined) {
 *   const mine = await x25519.offer(seededRandom(new Uint8Array([7])));
 *   const noble = await nobleBackend.keyExchange("X25519")!.offer(seededRandom(new Uint8Array([7])));
 *   assert.deepEqual(mine.offer, noble.offer);
 *   const peer = await x25519.answer(mine.offer, seededRandom(new Uint8Array([8])));
 *   assert.deepEqual(await x25519.finish(mine.state, peer.answer), peer.sharedSecret);
 *   mine.state.dispose();
 *   noble.state.dispose();
 * }
 * assert.equal(webCryptoBackend.hash("SHA-256"), undefined);
 * assert.equal(webCryptoBackend.signature("Ed448"), undefined); // not in WebCrypto
 * ```
 *
 * @example Invalid peer keys are typed errors, as with noble
 * ```ts
 * import { ErrorCode, HandshakeError, systemRandom, webCryptoBackend } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const x25519 = webCryptoBackend.keyExchange("X25519");
 * if (x25519 !== undefined) {
 *   await assert.rejects(
 *     x25519.answer(new Uint8Array(32), systemRandom), // all-zero: a low-order point
 *     (error) => error instanceof HandshakeError && error.code === ErrorCode.INVALID_PEER_KEY,
 *   );
 * }
 * ```
 */

export const webCryptoBackend: CryptoBackend = nativeBackendOver(
  "webcrypto",
  subtleOf({}),
  supportsOf(),
);

/**
 * A native backend over any implementation of the WebCrypto subset this file
 * uses, offering each algorithm whose operations `supports` confirms
 * (internal: `node_backend.ts` passes a synchronous implementation).
 *
 * @param name The backend's name.
 * @param subtle The implementation.
 * @param supports Which operations it offers; `undefined` offers nothing.
 * @returns The backend.
 */
export function nativeBackendOver(
  name: string,
  subtle: NativeSubtle,
  supports: Supports | undefined,
): CryptoBackend {
  const catalogue = new Catalogue(subtle);
  return contractBackend(primitivesOver(name, (category, algorithm) => {
    const candidate: Candidate<unknown> | undefined = catalogue.candidate(category, algorithm);
    if (candidate === undefined || supports === undefined) return undefined;
    return candidate.needs.every(([operation, parameters]) => supports(operation, parameters))
      ? candidate.build()
      : undefined;
  }));
}

/**
 * Creates a native backend by probing each algorithm with a real operation
 * (a key exchange, a signature, a seal and open), for platforms without
 * `SubtleCrypto.supports()` or to test a specific WebCrypto implementation.
 * Where `crypto.subtle` is missing the backend offers nothing; it never
 * rejects for lack of support. Semantics are those of
 * {@linkcode webCryptoBackend}.
 *
 * @param options The WebCrypto implementation to use (default `globalThis.crypto.subtle`).
 * @returns The backend, once every algorithm has been probed (a few tens of ms).
 * @throws {TypeError} If `options` is not an object (as a rejection).
 *
 * @example Probing the platform
 * ```ts
 * import { createWebCryptoBackend } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const native = await createWebCryptoBackend();
 * assert.equal(native.aead("XChaCha20-Poly1305"), undefined); // not in WebCrypto
 * const gcm = native.aead("AES-256-GCM");
 * if (gcm !== undefined) {
 *   const cipher = gcm.createCipher(new Uint8Array(32));
 *   const nonce = new Uint8Array(12);
 *   const sealed = await cipher.seal(nonce, new Uint8Array([1, 2]), new Uint8Array(0));
 *   assert.deepEqual(await cipher.open(nonce, sealed, new Uint8Array(0)), new Uint8Array([1, 2]));
 *   cipher.dispose();
 * }
 * ```
 */
export async function createWebCryptoBackend(
  options: WebCryptoBackendOptions = {},
): Promise<CryptoBackend> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot create WebCrypto backend: "options" must be an object`);
  }
  const catalogue = new Catalogue(subtleOf(options));
  const found = new Map<string, unknown>();
  const names: [NativeCategory, readonly string[]][] = [
    ["keyExchange", KEY_EXCHANGES.map((info) => info.name)],
    ["signature", SINGLE_SIGNATURES],
    ["aead", AEADS.map((info) => info.name)],
  ];
  const probes: Promise<void>[] = [];
  for (const [category, list] of names) {
    for (const algorithm of list) {
      const candidate = catalogue.candidate(category, algorithm);
      if (candidate === undefined) continue;
      probes.push((async () => {
        const primitive = candidate.build();
        if (await catalogue.probe(category, algorithm, primitive)) {
          found.set(`${category}:${algorithm}`, primitive);
        }
      })());
    }
  }
  await Promise.all(probes);
  return contractBackend(
    primitivesOver("webcrypto", (category, algorithm) => found.get(`${category}:${algorithm}`)),
  );
}

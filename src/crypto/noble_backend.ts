/**
 * The default {@linkcode CryptoBackend}, composed entirely from noble
 * (`@noble/ciphers`, `@noble/hashes`, `@noble/curves`, `@noble/post-quantum`).
 *
 * This file supplies raw primitives only ({@linkcode PrimitiveSet}): "X25519
 * key pair from a seed", "Ed25519 verify", "ChaCha20-Poly1305 seal". The
 * contract layer (`_contract.ts`) validates inputs, maps failures to stable
 * codes, draws randomness, verifies EdDSA strictly and composes the hybrid,
 * the same way for this backend as for the native ones.
 *
 * @module
 */

import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { gcm } from "@noble/ciphers/aes.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import type { CHash } from "@noble/hashes/utils.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ed448, x448 } from "@noble/curves/ed448.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { ml_kem1024, ml_kem512, ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import type { AeadName, CryptoBackend, HashName, KeyExchangeName } from "./types.ts";
import type {
  AeadPrimitive,
  AeadPrimitiveCipher,
  DhPrimitive,
  Encapsulation,
  HashPrimitive,
  HashPrimitiveState,
  HmacPrimitiveKey,
  KemPrimitive,
  KeyExchangePrimitive,
  PrimitiveKeyPair,
  PrimitiveSet,
  SignaturePrimitive,
  SingleSignatureName,
} from "./_primitives.ts";
import { contractBackend } from "./_contract.ts";
import { owned } from "./_failures.ts";

// ---------------------------------------------------------------------------
// AEAD

/** A noble AEAD constructor: a fresh instance per (key, nonce). */
type NobleAeadFactory = (
  key: Uint8Array,
  nonce: Uint8Array,
  aad?: Uint8Array,
) => {
  encrypt(plaintext: Uint8Array, output?: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

/**
 * `writesOutput`: whether noble's `encrypt(plaintext, output)` fills a
 * caller's buffer (the ChaCha20 family does, in place too; GCM does not).
 */
function nobleAead(
  factory: NobleAeadFactory,
  nonceLength: number,
  writesOutput: boolean,
): AeadPrimitive {
  return {
    nonceLength,
    bind(key: Uint8Array<ArrayBuffer>): AeadPrimitiveCipher {
      return {
        seal(nonce, plaintext, aad, output): Uint8Array<ArrayBuffer> {
          if (output === undefined) return owned(factory(key, nonce, aad).encrypt(plaintext));
          if (writesOutput) factory(key, nonce, aad).encrypt(plaintext, output);
          else output.set(factory(key, nonce, aad).encrypt(plaintext));
          return output;
        },
        open: (nonce, ciphertext, aad) => owned(factory(key, nonce, aad).decrypt(ciphertext)),
        dispose: () => key.fill(0),
      };
    },
  };
}

const NOBLE_AEADS: Readonly<Record<AeadName, AeadPrimitive>> = {
  "ChaCha20-Poly1305": nobleAead(chacha20poly1305, 12, true),
  "XChaCha20-Poly1305": nobleAead(xchacha20poly1305, 24, true),
  "AES-256-GCM": nobleAead(gcm, 12, false),
};

// ---------------------------------------------------------------------------
// Hash and HMAC (HKDF is the contract's, over the keyed HMAC)

/** The parts of a noble hash state used here. */
interface NobleHashState {
  update(data: Uint8Array): NobleHashState;
  digestInto(out: Uint8Array): void;
  _cloneInto(to?: NobleHashState): NobleHashState;
  destroy(): void;
}

/** The parts of noble's keyed HMAC used here: its inner and outer midstates. */
interface NobleHmac {
  iHash: NobleHashState;
  oHash: NobleHashState;
  destroy(): void;
}

function nobleHash(hash: CHash): HashPrimitive {
  return {
    outputLength: hash.outputLen,
    digest: (data) => owned(hash(data)),
    create(): HashPrimitiveState {
      const state = hash.create();
      return {
        update: (data) => void state.update(data),
        peek: () => owned(state.clone().digest()),
      };
    },
    hmacKey(key: Uint8Array): HmacPrimitiveKey {
      // Keyed once: the inner and outer midstates after the padded key block.
      const keyed = hmac.create(hash, key) as unknown as NobleHmac;
      const { iHash, oHash } = keyed;
      let worker: NobleHashState | undefined;
      return {
        macInto(parts, output, last): void {
          // Each midstate is copied into one reusable worker, except for the
          // last message, which consumes the midstates themselves.
          const inner = last ? iHash : (worker = iHash._cloneInto(worker));
          for (let i = 0; i < parts.length; i++) inner.update(parts[i]!);
          inner.digestInto(output);
          const outer = last ? oHash : (worker = oHash._cloneInto(worker));
          outer.update(output).digestInto(output);
        },
        dispose(): void {
          keyed.destroy();
          worker?.destroy();
        },
      };
    },
  };
}

const NOBLE_HASHES: Readonly<Record<HashName, HashPrimitive>> = {
  "SHA-256": nobleHash(sha256),
  "SHA-512": nobleHash(sha512),
  "SHA3-256": nobleHash(sha3_256),
  "BLAKE2b": nobleHash(blake2b),
};

// ---------------------------------------------------------------------------
// Key exchange

/** The parts of noble's x25519/x448 used here. */
interface NobleMontgomery {
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  getSharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

/** X25519 / X448: the secret key is the seed itself (clamped when used, RFC 7748). */
function montgomery(curve: NobleMontgomery, length: number): DhPrimitive<Uint8Array> {
  return {
    kind: "dh",
    seedLength: length,
    publicKeyLength: length,
    keyPair(seed): PrimitiveKeyPair<Uint8Array> {
      const { secretKey, publicKey } = curve.keygen(seed);
      // Copy: noble may return the seed itself as the secret key, and the contract wipes the seed.
      return { privateKey: Uint8Array.from(secretKey), publicKey: Uint8Array.from(publicKey) };
    },
    // Throws on a low-order point (noble checks the result is not all zero).
    sharedSecret: (privateKey, publicKey) => curve.getSharedSecret(privateKey, publicKey),
    dispose: (privateKey) => privateKey.fill(0),
  };
}

/** The parts of noble's NIST curves used here. */
interface NobleWeierstrass {
  lengths: { seed?: number; publicKeyUncompressed?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  getPublicKey(secretKey: Uint8Array, isCompressed?: boolean): Uint8Array;
  getSharedSecret(secretKey: Uint8Array, publicKey: Uint8Array, isCompressed?: boolean): Uint8Array;
}

/** ECDH: uncompressed SEC1 public keys; the shared secret is the x-coordinate. */
function weierstrass(curve: NobleWeierstrass): DhPrimitive<Uint8Array> {
  return {
    kind: "dh",
    seedLength: curve.lengths.seed!,
    publicKeyLength: curve.lengths.publicKeyUncompressed!,
    keyPair(seed): PrimitiveKeyPair<Uint8Array> {
      const { secretKey } = curve.keygen(seed);
      return { privateKey: secretKey, publicKey: curve.getPublicKey(secretKey, false) };
    },
    sharedSecret(privateKey, publicKey): Uint8Array {
      // The compressed shared point is 0x02/0x03 ‖ x; the secret is x.
      const point = curve.getSharedSecret(privateKey, publicKey, true);
      const x = point.slice(1);
      point.fill(0);
      return x;
    },
    dispose: (privateKey) => privateKey.fill(0),
  };
}

/** The parts of noble's ML-KEM used here. */
interface NobleKem {
  lengths: { seed?: number; publicKey?: number; cipherText?: number; msg?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  encapsulate(publicKey: Uint8Array, msg?: Uint8Array): {
    cipherText: Uint8Array;
    sharedSecret: Uint8Array;
  };
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/**
 * ML-KEM (FIPS 203). Encapsulation always takes the contract's message `m`;
 * noble checks the encapsulation key's modulus and throws.
 */
export function nobleKem(kem: NobleKem): KemPrimitive<Uint8Array> {
  return {
    kind: "kem",
    seedLength: kem.lengths.seed!,
    publicKeyLength: kem.lengths.publicKey!,
    ciphertextLength: kem.lengths.cipherText!,
    messageLength: kem.lengths.msg!,
    ownRandomness: false,
    keyPair(seed): PrimitiveKeyPair<Uint8Array> {
      const { secretKey, publicKey } = kem.keygen(seed);
      return { privateKey: Uint8Array.from(secretKey), publicKey: Uint8Array.from(publicKey) };
    },
    encapsulate(publicKey, message): Encapsulation {
      const { cipherText, sharedSecret } = kem.encapsulate(publicKey, message);
      return { ciphertext: cipherText, sharedSecret };
    },
    decapsulate(privateKey, ciphertext): Uint8Array {
      // noble wipes the secret key it is given: decapsulate with a copy.
      const copy = Uint8Array.from(privateKey);
      try {
        return kem.decapsulate(ciphertext, copy);
      } finally {
        copy.fill(0);
      }
    },
    dispose: (privateKey) => privateKey.fill(0),
  };
}

const NOBLE_KEY_EXCHANGES: Readonly<Record<KeyExchangeName, KeyExchangePrimitive>> = {
  "X25519": montgomery(x25519, 32) as DhPrimitive,
  "X448": montgomery(x448, 56) as DhPrimitive,
  "P-256": weierstrass(p256) as DhPrimitive,
  "P-384": weierstrass(p384) as DhPrimitive,
  "P-521": weierstrass(p521) as DhPrimitive,
  "ML-KEM-512": nobleKem(ml_kem512) as KemPrimitive,
  "ML-KEM-768": nobleKem(ml_kem768) as KemPrimitive,
  "ML-KEM-1024": nobleKem(ml_kem1024) as KemPrimitive,
};

// ---------------------------------------------------------------------------
// Signatures

/** The parts of noble's EdDSA used here. */
interface NobleEdwards {
  lengths: { seed?: number; publicKey?: number; secretKey?: number; signature?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    options?: { zip215?: boolean },
  ): boolean;
}

/** EdDSA (RFC 8032): deterministic, verified with the cofactored equation. */
function edwards(curve: NobleEdwards): SignaturePrimitive {
  return {
    seedLength: curve.lengths.seed!,
    publicKeyLength: curve.lengths.publicKey!,
    secretKeyLength: curve.lengths.secretKey!,
    signatureLength: curve.lengths.signature!,
    hedgeLength: 0,
    cofactored: true,
    keyPair: (seed) => curve.keygen(seed),
    sign: (message, secretKey) => curve.sign(message, secretKey),
    // Strict RFC 8032 decoding (no ZIP-215 leniency); the contract adds its own rules.
    verify: (signature, message, publicKey) =>
      curve.verify(signature, message, publicKey, { zip215: false }),
  };
}

/** The parts of noble's ML-DSA used here. */
interface NobleMlDsa {
  lengths: { seed?: number; publicKey?: number; secretKey?: number; signature?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  sign(
    message: Uint8Array,
    secretKey: Uint8Array,
    options?: { extraEntropy?: Uint8Array },
  ): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** ML-DSA (FIPS 204), signing hedged with the contract's 32 bytes. */
export function nobleMlDsa(scheme: NobleMlDsa): SignaturePrimitive {
  return {
    seedLength: scheme.lengths.seed!,
    publicKeyLength: scheme.lengths.publicKey!,
    secretKeyLength: scheme.lengths.secretKey!,
    signatureLength: scheme.lengths.signature!,
    hedgeLength: 32,
    keyPair: (seed) => scheme.keygen(seed),
    sign: (message, secretKey, hedge) => scheme.sign(message, secretKey, { extraEntropy: hedge! }),
    verify: (signature, message, publicKey) => scheme.verify(signature, message, publicKey),
  };
}

const NOBLE_SIGNATURES: Readonly<Record<SingleSignatureName, SignaturePrimitive>> = {
  "Ed25519": edwards(ed25519),
  "Ed448": edwards(ed448),
  "ML-DSA-44": nobleMlDsa(ml_dsa44),
  "ML-DSA-65": nobleMlDsa(ml_dsa65),
  "ML-DSA-87": nobleMlDsa(ml_dsa87),
};

/** noble's primitives: every qgate algorithm. */
export const noblePrimitives: PrimitiveSet = Object.freeze({
  name: "noble",
  keyExchange: (name: KeyExchangeName) => NOBLE_KEY_EXCHANGES[name],
  signature: (name: SingleSignatureName) => NOBLE_SIGNATURES[name],
  aead: (name: AeadName) => NOBLE_AEADS[name],
  hash: (name: HashName) => NOBLE_HASHES[name],
});

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
 * Key exchanges draw randomness only from the `random` they are given, so a
 * seeded source gives reproducible offers, answers and secrets. Invalid peer
 * keys (wrong length, off-curve, low order, all-zero secret, ML-KEM key out
 * of range) reject with `HandshakeError` `ERR_INVALID_PEER_KEY`. A wrong
 * ML-KEM ciphertext of the right length does NOT reject (implicit
 * rejection): it yields an unrelated secret, so the mismatch surfaces as
 * `ERR_DECRYPT_FAILED` on the first record. X25519/X448 follow RFC 7748
 * (the top bit of an X25519 key is ignored; the transcript covers it).
 *
 * Signatures: EdDSA is deterministic and verifies strictly, as on every
 * backend: non-canonical encodings, small-order keys or commitments and
 * `S >= L` never verify; ML-DSA signs hedged with 32 bytes from `random`. The
 * hybrid `Ed25519+ML-DSA-65` concatenates seeds (32 ‖ 32), keys and
 * signatures, Ed25519 first, and verifies only when both halves verify.
 * `verify` returns `false` and never throws for malformed input.
 *
 * @example A key exchange with reproducible randomness
 * ```ts
 * import { nobleBackend, seededRandom } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const kx = nobleBackend.keyExchange("ML-KEM-768")!;
 * const { offer, state } = await kx.offer(seededRandom(new Uint8Array([1])));
 * const { answer, sharedSecret } = await kx.answer(offer, seededRandom(new Uint8Array([2])));
 * assert.deepEqual(await kx.finish(state, answer), sharedSecret);
 * state.dispose();
 * ```
 *
 * @example Invalid peer keys are typed errors
 * ```ts
 * import { ErrorCode, HandshakeError, nobleBackend, systemRandom } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const x25519 = nobleBackend.keyExchange("X25519")!;
 * await assert.rejects(
 *   x25519.answer(new Uint8Array(32), systemRandom), // all-zero: a low-order point
 *   (error) => error instanceof HandshakeError && error.code === ErrorCode.INVALID_PEER_KEY,
 * );
 * ```
 *
 * @example Signing with a hybrid identity
 * ```ts
 * import { nobleBackend, systemRandom } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const scheme = nobleBackend.signature("Ed25519+ML-DSA-65")!;
 * const pair = await scheme.generateKeyPair({ seed: new Uint8Array(scheme.seedLength) });
 * const message = new TextEncoder().encode("hello");
 * const signature = await scheme.sign(message, pair.secretKey, systemRandom);
 * assert.equal(await scheme.verify(signature, message, pair.publicKey), true);
 * assert.equal(await scheme.verify(signature.subarray(1), message, pair.publicKey), false);
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
export const nobleBackend: CryptoBackend = contractBackend(noblePrimitives);

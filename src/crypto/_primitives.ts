/**
 * What a backend supplies: raw primitives, nothing more.
 *
 * A backend (noble, WebCrypto, `node:crypto`) answers "X25519 key pair from
 * these seed bytes", "Ed25519 verify", "ChaCha20-Poly1305 seal" and nothing
 * else. It does not validate lengths, map exceptions to error codes, draw
 * randomness, wipe what the caller passed, compose hybrids or know about
 * peers: the contract layer above (`_contract.ts`) does all of that once, for
 * every backend, so they accept and reject exactly the same inputs.
 *
 * Rules a primitive follows:
 * - inputs have already been checked for type and length by the contract;
 * - it may throw (or reject) on anything it cannot use; the contract decides
 *   what that means (an invalid peer key, `false`, `undefined`, or an
 *   internal failure);
 * - it draws no randomness of its own unless its description says so;
 * - a result may be synchronous or a promise ({@linkcode Eventually}).
 *
 * @module
 */

import type { AeadName, HashName, KeyExchangeName } from "./types.ts";

/** A value now (noble, `node:crypto`) or later (WebCrypto). */
export type Eventually<T> = T | Promise<T>;

/** A private key as the backend holds it, with its public key in wire form. */
export interface PrimitiveKeyPair<Private> {
  /** The backend's private key: bytes, a `CryptoKey`, a `KeyObject`. */
  readonly privateKey: Private;
  /** The public key in wire form. */
  readonly publicKey: Uint8Array;
}

/** A signature key pair in the form a `SignatureKeyPair` holds. */
export interface RawKeyPair {
  /** The secret key. */
  readonly secretKey: Uint8Array;
  /** The public key. */
  readonly publicKey: Uint8Array;
}

/** What one encapsulation yields. */
export interface Encapsulation {
  /** The ciphertext for the key's owner. */
  readonly ciphertext: Uint8Array;
  /** The shared secret. */
  readonly sharedSecret: Uint8Array;
}

/** Diffie-Hellman: a key pair from seed bytes and a raw shared secret. */
export interface DhPrimitive<Private = unknown> {
  /** Discriminant. */
  readonly kind: "dh";
  /** Bytes of randomness one key pair is derived from. */
  readonly seedLength: number;
  /** Length of a public key in wire form. */
  readonly publicKeyLength: number;
  /** The key pair noble's `keygen(seed)` derives from `seed`. Must not keep `seed`. */
  keyPair(seed: Uint8Array<ArrayBuffer>): Eventually<PrimitiveKeyPair<Private>>;
  /** The raw shared secret; throws for a public key it cannot use. */
  sharedSecret(privateKey: Private, publicKey: Uint8Array): Eventually<Uint8Array>;
  /** Wipes (bytes) or drops (handles) a private key. */
  dispose(privateKey: Private): void;
}

/** A KEM (ML-KEM, FIPS 203). */
export interface KemPrimitive<Private = unknown> {
  /** Discriminant. */
  readonly kind: "kem";
  /** Bytes of randomness one key pair is derived from (d ‖ z). */
  readonly seedLength: number;
  /** Length of an encapsulation key. */
  readonly publicKeyLength: number;
  /** Length of a ciphertext. */
  readonly ciphertextLength: number;
  /** Bytes of randomness one encapsulation takes (m). */
  readonly messageLength: number;
  /**
   * Whether `encapsulate(publicKey, undefined)` works, drawing `m` from the
   * platform's CSPRNG itself (WebCrypto). The contract uses it only when the
   * injected random source is the system CSPRNG anyway.
   */
  readonly ownRandomness: boolean;
  /** The key pair noble's `keygen(seed)` derives from `seed`. Must not keep `seed`. */
  keyPair(seed: Uint8Array<ArrayBuffer>): Eventually<PrimitiveKeyPair<Private>>;
  /** Encapsulates to `publicKey`; throws for an invalid encapsulation key. */
  encapsulate(publicKey: Uint8Array, message: Uint8Array | undefined): Eventually<Encapsulation>;
  /** Decapsulates (implicit rejection: a wrong ciphertext gives an unrelated secret). */
  decapsulate(privateKey: Private, ciphertext: Uint8Array): Eventually<Uint8Array>;
  /** Wipes (bytes) or drops (handles) a private key. */
  dispose(privateKey: Private): void;
}

/** Either kind of key exchange primitive. */
export type KeyExchangePrimitive = DhPrimitive | KemPrimitive;

/** A signature scheme before validation and hybrid composition. */
export interface SignaturePrimitive {
  /** Seed length of `keyPair`. */
  readonly seedLength: number;
  /** Public key length. */
  readonly publicKeyLength: number;
  /** Secret key length (the form a `SignatureKeyPair` holds). */
  readonly secretKeyLength: number;
  /** Signature length. */
  readonly signatureLength: number;
  /** Bytes of hedging randomness `sign` takes; 0 for a deterministic scheme. */
  readonly hedgeLength: number;
  /**
   * For EdDSA: whether `verify` checks the cofactored equation
   * `[8][S]B = [8]R + [8][k]A` (noble) rather than the cofactorless one
   * (OpenSSL, ring). The contract adds the checks that make both agree.
   */
  readonly cofactored?: boolean;
  /** The key pair for `seed`. Must not keep `seed`. */
  keyPair(seed: Uint8Array<ArrayBuffer>): Eventually<RawKeyPair>;
  /** Signs; `hedge` holds `hedgeLength` bytes (or is `undefined` when that is 0). */
  sign(
    message: Uint8Array,
    secretKey: Uint8Array,
    hedge: Uint8Array | undefined,
  ): Eventually<Uint8Array>;
  /** Verifies; may throw, which the contract reads as `false`. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Eventually<boolean>;
}

/** An AEAD bound to one key. */
export interface AeadPrimitiveCipher {
  /**
   * Ciphertext ‖ tag. With `output` (exactly `plaintext.length + 16` bytes,
   * possibly starting at the byte `plaintext` starts at), writes there and
   * returns it; otherwise returns a fresh array.
   */
  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    output: Uint8Array<ArrayBuffer> | undefined,
  ): Eventually<Uint8Array<ArrayBuffer>>;
  /** The plaintext; throws (or returns `undefined`) when authentication fails. */
  open(
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Eventually<Uint8Array<ArrayBuffer> | undefined>;
  /** Wipes or drops the key. Called once. */
  dispose(): void;
}

/** An AEAD algorithm (32-byte keys, 16-byte tags). */
export interface AeadPrimitive {
  /** Nonce length. */
  readonly nonceLength: number;
  /** Binds a key. `key` is the contract's own copy: the primitive may keep it and wipe it. */
  bind(key: Uint8Array<ArrayBuffer>): AeadPrimitiveCipher;
}

/** An incremental hash state. */
export interface HashPrimitiveState {
  /** Absorbs data. */
  update(data: Uint8Array): void;
  /** The digest so far, without finishing this state. */
  peek(): Uint8Array<ArrayBuffer>;
}

/** A keyed HMAC, reusable for several messages under one key. */
export interface HmacPrimitiveKey {
  /**
   * HMAC(key, parts[0] ‖ parts[1] ‖ …) into `output` (the hash's output
   * length). With `last`, the keyed state may be consumed instead of copied
   * (no call follows but `dispose`).
   */
  macInto(parts: readonly Uint8Array[], output: Uint8Array, last: boolean): void;
  /** Wipes the keyed state. */
  dispose(): void;
}

/** A hash function with HMAC; HKDF is composed from it by the contract. */
export interface HashPrimitive {
  /** Digest length. */
  readonly outputLength: number;
  /** One-shot digest. */
  digest(data: Uint8Array): Uint8Array<ArrayBuffer>;
  /** A new incremental state. */
  create(): HashPrimitiveState;
  /** HMAC keyed once, for as many messages as the caller likes. */
  hmacKey(key: Uint8Array): HmacPrimitiveKey;
}

/** Everything one backend supplies; `undefined` where it lacks an algorithm. */
export interface PrimitiveSet {
  /** The backend's name for diagnostics. */
  readonly name: string;
  /** A key exchange primitive. */
  keyExchange(name: KeyExchangeName): KeyExchangePrimitive | undefined;
  /** A single signature scheme (never the hybrid, which the contract composes). */
  signature(name: SingleSignatureName): SignaturePrimitive | undefined;
  /** An AEAD. */
  aead(name: AeadName): AeadPrimitive | undefined;
  /** A hash function. */
  hash(name: HashName): HashPrimitive | undefined;
}

/** The signature schemes a backend supplies directly (the hybrid is composed). */
export type SingleSignatureName = "Ed25519" | "Ed448" | "ML-DSA-44" | "ML-DSA-65" | "ML-DSA-87";

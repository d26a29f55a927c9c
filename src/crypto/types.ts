/**
 * The crypto backend contract and the algorithm registry.
 *
 * qgate never implements a primitive: a {@linkcode CryptoBackend} composes
 * them from a library (noble by default). Asymmetric operations and AEAD
 * return promises so that an asynchronous backend (WebCrypto, a worker pool)
 * fits the same interface; hashing and HKDF are synchronous because the
 * transcript hash is incremental and the key schedule runs a few times per
 * handshake.
 *
 * @module
 */

/** Returns `length` fresh random bytes. Injected everywhere for reproducible runs. */
export type RandomSource = (length: number) => Uint8Array;

/** Names of key exchanges; any of them fits either the primary or the secondary slot. */
export type KeyExchangeName =
  | "X25519"
  | "X448"
  | "P-256"
  | "P-384"
  | "P-521"
  | "ML-KEM-512"
  | "ML-KEM-768"
  | "ML-KEM-1024";

/** Names of AEAD ciphers. */
export type AeadName = "ChaCha20-Poly1305" | "XChaCha20-Poly1305" | "AES-256-GCM";

/** Names of hash functions (also used for HMAC, HKDF and the transcript). */
export type HashName = "SHA-256" | "SHA-512" | "SHA3-256" | "BLAKE2b";

/** Names of identity signature schemes. */
export type SignatureName =
  | "Ed25519"
  | "Ed448"
  | "ML-DSA-44"
  | "ML-DSA-65"
  | "ML-DSA-87"
  | "Ed25519+ML-DSA-65";

/** Length in bytes of every qgate AEAD's authentication tag. */
export const TAG_LENGTH = 16;

/** Length in bytes of every qgate AEAD's key. */
export const AEAD_KEY_LENGTH = 32;

/** The algorithm categories negotiated or announced in the meta exchange. */
export type AlgorithmCategory = "keyExchange" | "aead" | "hash" | "signature";

/** One registry row: a stable wire id and a stable name. */
export interface AlgorithmInfo<Name extends string = string> {
  /** The stable name used in options and peer details. */
  readonly name: Name;
  /** The stable 16-bit wire id. */
  readonly id: number;
  /** The category. */
  readonly category: AlgorithmCategory;
}

/** Key exchange algorithms with their wire ids (ids never change). */
export const KEY_EXCHANGES: readonly AlgorithmInfo<KeyExchangeName>[] = [
  { name: "X25519", id: 0x0001, category: "keyExchange" },
  { name: "X448", id: 0x0002, category: "keyExchange" },
  { name: "P-256", id: 0x0003, category: "keyExchange" },
  { name: "P-384", id: 0x0004, category: "keyExchange" },
  { name: "P-521", id: 0x0005, category: "keyExchange" },
  { name: "ML-KEM-512", id: 0x0101, category: "keyExchange" },
  { name: "ML-KEM-768", id: 0x0102, category: "keyExchange" },
  { name: "ML-KEM-1024", id: 0x0103, category: "keyExchange" },
];

/** AEAD algorithms with their wire ids. */
export const AEADS: readonly AlgorithmInfo<AeadName>[] = [
  { name: "ChaCha20-Poly1305", id: 0x0001, category: "aead" },
  { name: "XChaCha20-Poly1305", id: 0x0002, category: "aead" },
  { name: "AES-256-GCM", id: 0x0003, category: "aead" },
];

/** Hash algorithms with their wire ids. */
export const HASHES: readonly AlgorithmInfo<HashName>[] = [
  { name: "SHA-256", id: 0x0001, category: "hash" },
  { name: "SHA-512", id: 0x0002, category: "hash" },
  { name: "SHA3-256", id: 0x0003, category: "hash" },
  { name: "BLAKE2b", id: 0x0004, category: "hash" },
];

/** Signature algorithms with their wire ids. */
export const SIGNATURES: readonly AlgorithmInfo<SignatureName>[] = [
  { name: "Ed25519", id: 0x0001, category: "signature" },
  { name: "Ed448", id: 0x0002, category: "signature" },
  { name: "ML-DSA-44", id: 0x0101, category: "signature" },
  { name: "ML-DSA-65", id: 0x0102, category: "signature" },
  { name: "ML-DSA-87", id: 0x0103, category: "signature" },
  { name: "Ed25519+ML-DSA-65", id: 0x0201, category: "signature" },
];

/**
 * The leader's private half of a key exchange between `offer()` and
 * `finish()`. Opaque; holds secret key material until disposed.
 */
export interface KeyExchangeState {
  /** Best-effort wipe of the secret key. Idempotent. */
  dispose(): void;
}

/** What {@linkcode KeyExchange.offer} returns. */
export interface KeyExchangeOffer {
  /** The public offer: a DH public key or a KEM encapsulation key. */
  readonly offer: Uint8Array<ArrayBuffer>;
  /** The private state needed by `finish()`. */
  readonly state: KeyExchangeState;
}

/** What {@linkcode KeyExchange.answer} returns. */
export interface KeyExchangeAnswer {
  /** The public answer: a DH public key or a KEM ciphertext. */
  readonly answer: Uint8Array<ArrayBuffer>;
  /** The shared secret. The caller wipes it when done. */
  readonly sharedSecret: Uint8Array<ArrayBuffer>;
}

/**
 * One two-message key exchange, the same shape for DH and KEM:
 * the leader sends an offer, the follower answers, both hold one secret.
 *
 * - DH: offer = leader's public key; answer = follower's public key.
 * - KEM: offer = encapsulation key; answer = ciphertext.
 *
 * Invalid peer input (wrong length, point not on the curve, low order,
 * all-zero shared secret) rejects with `HandshakeError` code
 * `ERR_INVALID_PEER_KEY`, never a raw library exception. A wrong ML-KEM
 * ciphertext of the right length does not fail here (implicit rejection):
 * it yields a different secret and surfaces as `ERR_DECRYPT_FAILED` later.
 */
export interface KeyExchange {
  /** The registry name. */
  readonly name: KeyExchangeName;
  /** The wire id. */
  readonly id: number;
  /** `"dh"` or `"kem"`. */
  readonly kind: "dh" | "kem";
  /** Exact length of a valid offer in bytes. */
  readonly offerLength: number;
  /** Exact length of a valid answer in bytes. */
  readonly answerLength: number;
  /** Leader: creates a fresh key pair and the offer. */
  offer(random: RandomSource): Promise<KeyExchangeOffer>;
  /** Follower: answers a peer's offer and derives the shared secret. */
  answer(offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer>;
  /** Leader: derives the shared secret from the follower's answer. Does not dispose `state`. */
  finish(state: KeyExchangeState, answer: Uint8Array): Promise<Uint8Array<ArrayBuffer>>;
}

/** An identity key pair. The secret key never leaves the process. */
export interface SignatureKeyPair {
  /** The signature scheme. */
  readonly algorithm: SignatureName;
  /** The public key (for hybrids, the two halves concatenated, Ed25519 first). */
  readonly publicKey: Uint8Array<ArrayBuffer>;
  /** The secret key (for hybrids, the two halves concatenated, Ed25519 first). */
  readonly secretKey: Uint8Array<ArrayBuffer>;
}

/**
 * An identity signature scheme. A hybrid verifies only when both halves verify.
 * `verify` never throws on malformed input: it returns `false`.
 */
export interface SignatureScheme {
  /** The registry name. */
  readonly name: SignatureName;
  /** The wire id. */
  readonly id: number;
  /** Exact public key length in bytes. */
  readonly publicKeyLength: number;
  /** Exact secret key length in bytes. */
  readonly secretKeyLength: number;
  /** Exact signature length in bytes. */
  readonly signatureLength: number;
  /** Seed length accepted by `generateKeyPair`. */
  readonly seedLength: number;
  /** Creates a key pair; deterministic for a given seed, fresh from `random` otherwise. */
  generateKeyPair(options: { seed?: Uint8Array; random?: RandomSource }): Promise<SignatureKeyPair>;
  /** Signs `message`; `random` supplies hedging randomness where the scheme uses it. */
  sign(
    message: Uint8Array,
    secretKey: Uint8Array,
    random: RandomSource,
  ): Promise<Uint8Array<ArrayBuffer>>;
  /** Verifies; `false` for any invalid signature, key or length. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean>;
}

/** An AEAD bound to one key. */
export interface AeadCipher {
  /**
   * Encrypts and authenticates; returns ciphertext followed by the tag.
   *
   * `output`, if given, is exactly `plaintext.length + tagLength` bytes and
   * receives the result, which is then returned. It may start at the very
   * byte `plaintext` starts at (sealing in place); any other overlap is not
   * allowed. Without it, the result is a fresh array.
   */
  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    output?: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array<ArrayBuffer>>;
  /** Decrypts; `undefined` when authentication fails (never throws for bad input). */
  open(
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** Best-effort wipe of the cipher's copy of the key. Idempotent. */
  dispose(): void;
}

/** An AEAD algorithm. Keys are 32 bytes; tags are 16 bytes. */
export interface Aead {
  /** The registry name. */
  readonly name: AeadName;
  /** The wire id. */
  readonly id: number;
  /** Key length in bytes (32). */
  readonly keyLength: number;
  /** Nonce length in bytes (12, or 24 for XChaCha20). */
  readonly nonceLength: number;
  /** Tag length in bytes (16). */
  readonly tagLength: number;
  /** Binds a key. The cipher copies the key; the caller may wipe its own copy. */
  createCipher(key: Uint8Array): AeadCipher;
}

/** An incremental hash. */
export interface Hasher {
  /** Absorbs data. */
  update(data: Uint8Array): Hasher;
  /** Returns the digest of everything absorbed so far without finishing this hasher. */
  peek(): Uint8Array<ArrayBuffer>;
}

/**
 * Several HKDF-Expand calls from one PRK, with the PRK keyed into HMAC once
 * (two expansions from one chaining key cost two hash compressions fewer
 * each). Holds key-equivalent state: `dispose()` it when done.
 */
export interface HkdfExpander {
  /** HKDF-Expand(prk, info, length) (RFC 5869). */
  expand(info: Uint8Array, length: number): Uint8Array<ArrayBuffer>;
  /** Best-effort wipe of the keyed state. Idempotent; later `expand` calls throw `TypeError`. */
  dispose(): void;
}

/** A hash function with HMAC and HKDF over it. All synchronous. */
export interface HashFunction {
  /** The registry name. */
  readonly name: HashName;
  /** The wire id. */
  readonly id: number;
  /** Digest length in bytes. */
  readonly outputLength: number;
  /** One-shot digest. */
  digest(data: Uint8Array): Uint8Array<ArrayBuffer>;
  /** A new incremental hasher. */
  create(): Hasher;
  /** HMAC(key, data). */
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer>;
  /** HKDF-Extract(salt, ikm) (RFC 5869). */
  extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array<ArrayBuffer>;
  /** HKDF-Expand(prk, info, length) (RFC 5869). */
  expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array<ArrayBuffer>;
  /**
   * An expander keyed with `prk` once, for several `expand` calls (optional:
   * a backend of your own may leave it out; qgate's backends all have it).
   */
  expander?(prk: Uint8Array): HkdfExpander;
}

/**
 * A source of algorithm implementations. `undefined` means the backend does
 * not offer that algorithm (a native backend may fall back to noble).
 *
 * qgate's own backends take a name in any letter case (`"ed25519"`) and
 * return the implementation of the canonical name; a name that is no qgate
 * algorithm throws a `TypeError` listing the valid names. They all share one
 * contract layer, so they accept and reject exactly the same inputs.
 */
export interface CryptoBackend {
  /** A short name for diagnostics, e.g. `"noble"`. */
  readonly name: string;
  /** The key exchange, if offered. */
  keyExchange(name: KeyExchangeName): KeyExchange | undefined;
  /** The signature scheme, if offered. */
  signature(name: SignatureName): SignatureScheme | undefined;
  /** The AEAD, if offered. */
  aead(name: AeadName): Aead | undefined;
  /** The hash function, if offered. */
  hash(name: HashName): HashFunction | undefined;
}

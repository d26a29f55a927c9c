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
import { type CHash, concatBytes } from "@noble/hashes/utils.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ed448, x448 } from "@noble/curves/ed448.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { ml_kem1024, ml_kem512, ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { ErrorCode, HandshakeError } from "../errors.ts";
import { systemRandom } from "./random.ts";
import type {
  Aead,
  AeadCipher,
  AeadName,
  CryptoBackend,
  Hasher,
  HashFunction,
  HashName,
  KeyExchange,
  KeyExchangeAnswer,
  KeyExchangeName,
  KeyExchangeOffer,
  KeyExchangeState,
  RandomSource,
  SignatureKeyPair,
  SignatureName,
  SignatureScheme,
} from "./types.ts";
import { AEADS, HASHES, KEY_EXCHANGES, SIGNATURES } from "./types.ts";

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
  readonly #writesOutput: boolean;
  #disposed = false;

  constructor(
    factory: NobleAeadFactory,
    key: Uint8Array,
    nonceLength: number,
    name: AeadName,
    writesOutput: boolean,
  ) {
    this.#factory = factory;
    this.#key = Uint8Array.from(key);
    this.#nonceLength = nonceLength;
    this.#name = name;
    this.#writesOutput = writesOutput;
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
    if (output !== undefined && output.length !== plaintext.length + TAG_LENGTH) {
      return Promise.reject(
        new RangeError(
          `Cannot seal with ${this.#name}: "output" must be ${
            plaintext.length + TAG_LENGTH
          } bytes, got ${output.length}`,
        ),
      );
    }
    if (output === undefined) {
      return Promise.resolve(owned(this.#factory(this.#key, nonce, aad).encrypt(plaintext)));
    }
    if (this.#writesOutput) {
      // ChaCha20 variants encrypt straight into `output` (in place when it aliases `plaintext`).
      this.#factory(this.#key, nonce, aad).encrypt(plaintext, output);
    } else {
      output.set(this.#factory(this.#key, nonce, aad).encrypt(plaintext));
    }
    return Promise.resolve(output);
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
      return Promise.resolve(owned(opened));
    } catch {
      return Promise.resolve(undefined);
    }
  }

  dispose(): void {
    this.#key.fill(0);
    this.#disposed = true;
  }
}

/**
 * noble returns a fresh array from `encrypt`/`decrypt`: hand it over as is
 * when it owns its whole buffer, copy only otherwise (never element by element).
 */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
}

/**
 * `writesOutput`: whether noble's `encrypt(plaintext, output)` fills a
 * caller's buffer (the ChaCha20 family does, GCM does not).
 */
function nobleAead(
  name: AeadName,
  factory: NobleAeadFactory,
  nonceLength: number,
  writesOutput: boolean,
): Aead {
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
      return new NobleAeadCipher(factory, key, nonceLength, name, writesOutput);
    },
  });
}

const NOBLE_AEADS: ReadonlyMap<AeadName, Aead> = new Map<AeadName, Aead>([
  ["ChaCha20-Poly1305", nobleAead("ChaCha20-Poly1305", chacha20poly1305, 12, true)],
  ["XChaCha20-Poly1305", nobleAead("XChaCha20-Poly1305", xchacha20poly1305, 24, true)],
  ["AES-256-GCM", nobleAead("AES-256-GCM", gcm, 12, false)],
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
// Key exchange

function invalidPeerKey(name: KeyExchangeName, what: string, cause?: unknown): HandshakeError {
  return new HandshakeError(
    ErrorCode.INVALID_PEER_KEY,
    `Invalid peer key for ${name}: ${what}`,
    cause === undefined ? {} : { cause },
  );
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const byte of bytes) acc |= byte;
  return acc === 0;
}

/** Draws exactly `length` bytes from `random`, rejecting a source that returns fewer. */
function draw(random: RandomSource, length: number, what: string): Uint8Array {
  const bytes = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(
      `Cannot ${what}: "random" must return ${length} bytes, got ${
        bytes instanceof Uint8Array ? bytes.length : typeof bytes
      }`,
    );
  }
  return bytes;
}

/** The private half held between `offer()` and `finish()`. */
class NobleKeyExchangeState implements KeyExchangeState {
  readonly owner: KeyExchangeName;
  readonly #secretKey: Uint8Array;
  #disposed = false;

  constructor(owner: KeyExchangeName, secretKey: Uint8Array) {
    this.owner = owner;
    this.#secretKey = secretKey;
  }

  /** The secret key; throws once disposed. */
  secretKey(name: KeyExchangeName): Uint8Array {
    if (this.owner !== name) {
      throw new TypeError(
        `Cannot finish ${name} key exchange: "state" belongs to ${this.owner}`,
      );
    }
    if (this.#disposed) {
      throw new TypeError(`Cannot finish ${name} key exchange: "state" was disposed`);
    }
    return this.#secretKey;
  }

  dispose(): void {
    this.#secretKey.fill(0);
    this.#disposed = true;
  }
}

function stateOf(name: KeyExchangeName, state: KeyExchangeState): Uint8Array {
  if (!(state instanceof NobleKeyExchangeState)) {
    throw new TypeError(
      `Cannot finish ${name} key exchange: "state" was not created by this backend`,
    );
  }
  return state.secretKey(name);
}

/** What a Diffie-Hellman curve provides to the generic adapter. */
interface DhCurve {
  readonly secretSeedLength: number;
  readonly publicKeyLength: number;
  /** Deterministic key pair from a seed; the public key in wire form. */
  keyPair(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  /** Throws on an invalid public key. */
  validate(publicKey: Uint8Array): void;
  /** The raw shared secret; throws on an invalid key or low-order result. */
  shared(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

function dhKeyExchange(name: KeyExchangeName, curve: DhCurve): KeyExchange {
  const length = curve.publicKeyLength;

  function checked(publicKey: Uint8Array, role: "offer" | "answer"): void {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== length) {
      throw invalidPeerKey(
        name,
        `${role} must be ${length} bytes, got ${
          publicKey instanceof Uint8Array ? publicKey.length : typeof publicKey
        }`,
      );
    }
    try {
      curve.validate(publicKey);
    } catch (cause) {
      throw invalidPeerKey(name, `${role} is not a valid public key`, cause);
    }
  }

  function derive(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array<ArrayBuffer> {
    let shared: Uint8Array;
    try {
      shared = curve.shared(secretKey, publicKey);
    } catch (cause) {
      throw invalidPeerKey(name, "public key yields no valid shared secret", cause);
    }
    const copy = Uint8Array.from(shared);
    shared.fill(0);
    if (isAllZero(copy)) throw invalidPeerKey(name, "shared secret is all zero");
    return copy;
  }

  function fresh(
    random: RandomSource,
    what: string,
  ): { secretKey: Uint8Array; publicKey: Uint8Array } {
    const seed = Uint8Array.from(draw(random, curve.secretSeedLength, what));
    try {
      // Copy: some noble keygens return the seed itself as the secret key.
      const { secretKey, publicKey } = curve.keyPair(seed);
      return { secretKey: Uint8Array.from(secretKey), publicKey: Uint8Array.from(publicKey) };
    } finally {
      seed.fill(0);
    }
  }

  return Object.freeze({
    name,
    id: idOf(KEY_EXCHANGES, name),
    kind: "dh" as const,
    offerLength: length,
    answerLength: length,
    offer(random: RandomSource): Promise<KeyExchangeOffer> {
      try {
        const { secretKey, publicKey } = fresh(random, `create ${name} offer`);
        return Promise.resolve({
          offer: Uint8Array.from(publicKey),
          state: new NobleKeyExchangeState(name, secretKey),
        });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    answer(offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer> {
      try {
        checked(offer, "offer");
        const { secretKey, publicKey } = fresh(random, `answer ${name} offer`);
        try {
          const sharedSecret = derive(secretKey, offer);
          return Promise.resolve({ answer: Uint8Array.from(publicKey), sharedSecret });
        } finally {
          secretKey.fill(0);
        }
      } catch (error) {
        return Promise.reject(error);
      }
    },
    finish(state: KeyExchangeState, answer: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
      try {
        const secretKey = stateOf(name, state);
        checked(answer, "answer");
        return Promise.resolve(derive(secretKey, answer));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  });
}

/** The parts of noble's x25519/x448 this adapter uses. */
interface NobleMontgomery {
  lengths: { seed?: number; publicKey?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  getSharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

function montgomeryCurve(curve: NobleMontgomery, length: number): DhCurve {
  return {
    secretSeedLength: length,
    publicKeyLength: length,
    keyPair: (seed) => curve.keygen(seed),
    // Every 32/56-byte string decodes to a u-coordinate (RFC 7748); low-order
    // points are rejected by noble when the shared secret is computed.
    validate: () => {},
    shared: (secretKey, publicKey) => curve.getSharedSecret(secretKey, publicKey),
  };
}

/** The parts of noble's NIST curves this adapter uses. */
interface NobleWeierstrass {
  lengths: { seed?: number; publicKeyUncompressed?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  getPublicKey(secretKey: Uint8Array, isCompressed?: boolean): Uint8Array;
  getSharedSecret(secretKey: Uint8Array, publicKey: Uint8Array, isCompressed?: boolean): Uint8Array;
  Point: { fromBytes(bytes: Uint8Array): { assertValidity(): void } };
}

function weierstrassCurve(curve: NobleWeierstrass): DhCurve {
  const seedLength = curve.lengths.seed!;
  const publicKeyLength = curve.lengths.publicKeyUncompressed!;
  return {
    secretSeedLength: seedLength,
    publicKeyLength,
    keyPair(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
      const { secretKey } = curve.keygen(seed);
      return { secretKey, publicKey: curve.getPublicKey(secretKey, false) };
    },
    validate(publicKey: Uint8Array): void {
      // Uncompressed SEC1 only; fromBytes rejects off-curve points and the identity.
      if (publicKey[0] !== 0x04) throw new Error("not an uncompressed SEC1 point");
      curve.Point.fromBytes(publicKey).assertValidity();
    },
    shared(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
      // The compressed shared point is 0x02/0x03 ‖ x; the secret is x.
      const point = curve.getSharedSecret(secretKey, publicKey, true);
      const x = Uint8Array.from(point.subarray(1));
      point.fill(0);
      return x;
    },
  };
}

/** The parts of noble's ML-KEM this adapter uses. */
interface NobleKem {
  lengths: { seed?: number; publicKey?: number; cipherText?: number; msg?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  encapsulate(publicKey: Uint8Array, msg?: Uint8Array): {
    cipherText: Uint8Array;
    sharedSecret: Uint8Array;
  };
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

function kemKeyExchange(name: KeyExchangeName, kem: NobleKem): KeyExchange {
  const seedLength = kem.lengths.seed!;
  const offerLength = kem.lengths.publicKey!;
  const answerLength = kem.lengths.cipherText!;
  const msgLength = kem.lengths.msg!;
  return Object.freeze({
    name,
    id: idOf(KEY_EXCHANGES, name),
    kind: "kem" as const,
    offerLength,
    answerLength,
    offer(random: RandomSource): Promise<KeyExchangeOffer> {
      try {
        const seed = Uint8Array.from(draw(random, seedLength, `create ${name} offer`));
        try {
          const { secretKey, publicKey } = kem.keygen(seed);
          return Promise.resolve({
            offer: Uint8Array.from(publicKey),
            state: new NobleKeyExchangeState(name, Uint8Array.from(secretKey)),
          });
        } finally {
          seed.fill(0);
        }
      } catch (error) {
        return Promise.reject(error);
      }
    },
    answer(offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer> {
      try {
        if (!(offer instanceof Uint8Array) || offer.length !== offerLength) {
          throw invalidPeerKey(
            name,
            `offer must be ${offerLength} bytes, got ${
              offer instanceof Uint8Array ? offer.length : typeof offer
            }`,
          );
        }
        const msg = Uint8Array.from(draw(random, msgLength, `answer ${name} offer`));
        let result: { cipherText: Uint8Array; sharedSecret: Uint8Array };
        try {
          // noble checks the encapsulation key's modulus (FIPS 203 §7.2) and throws.
          result = kem.encapsulate(offer, msg);
        } catch (cause) {
          throw invalidPeerKey(name, "offer is not a valid encapsulation key", cause);
        } finally {
          msg.fill(0);
        }
        const sharedSecret = Uint8Array.from(result.sharedSecret);
        result.sharedSecret.fill(0);
        return Promise.resolve({ answer: Uint8Array.from(result.cipherText), sharedSecret });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    finish(state: KeyExchangeState, answer: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
      try {
        const secretKey = stateOf(name, state);
        if (!(answer instanceof Uint8Array) || answer.length !== answerLength) {
          throw invalidPeerKey(
            name,
            `answer must be ${answerLength} bytes, got ${
              answer instanceof Uint8Array ? answer.length : typeof answer
            }`,
          );
        }
        // A well-formed but wrong ciphertext does not fail (implicit rejection):
        // it yields an unrelated secret, which surfaces later as ERR_DECRYPT_FAILED.
        // noble wipes the secret key it is given, so decapsulate with a copy.
        const secretCopy = Uint8Array.from(secretKey);
        let shared: Uint8Array;
        try {
          shared = kem.decapsulate(answer, secretCopy);
        } catch (cause) {
          throw invalidPeerKey(name, "answer cannot be decapsulated", cause);
        } finally {
          secretCopy.fill(0);
        }
        const sharedSecret = Uint8Array.from(shared);
        shared.fill(0);
        return Promise.resolve(sharedSecret);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  });
}

const NOBLE_KEY_EXCHANGES: ReadonlyMap<KeyExchangeName, KeyExchange> = new Map<
  KeyExchangeName,
  KeyExchange
>([
  ["X25519", dhKeyExchange("X25519", montgomeryCurve(x25519, 32))],
  ["X448", dhKeyExchange("X448", montgomeryCurve(x448, 56))],
  ["P-256", dhKeyExchange("P-256", weierstrassCurve(p256))],
  ["P-384", dhKeyExchange("P-384", weierstrassCurve(p384))],
  ["P-521", dhKeyExchange("P-521", weierstrassCurve(p521))],
  ["ML-KEM-512", kemKeyExchange("ML-KEM-512", ml_kem512)],
  ["ML-KEM-768", kemKeyExchange("ML-KEM-768", ml_kem768)],
  ["ML-KEM-1024", kemKeyExchange("ML-KEM-1024", ml_kem1024)],
]);

// ---------------------------------------------------------------------------
// Signatures

/** A signature primitive with fixed lengths, before the hybrid composition. */
interface SignaturePrimitive {
  readonly seedLength: number;
  readonly publicKeyLength: number;
  readonly secretKeyLength: number;
  readonly signatureLength: number;
  keyPair(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  sign(message: Uint8Array, secretKey: Uint8Array, random: RandomSource): Uint8Array;
  /** May throw; the adapter maps a throw to `false`. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The parts of noble's EdDSA this adapter uses. */
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

function edwardsPrimitive(curve: NobleEdwards): SignaturePrimitive {
  return {
    seedLength: curve.lengths.seed!,
    publicKeyLength: curve.lengths.publicKey!,
    secretKeyLength: curve.lengths.secretKey!,
    signatureLength: curve.lengths.signature!,
    keyPair: (seed) => curve.keygen(seed),
    // EdDSA is deterministic (RFC 8032); `random` is not used.
    sign: (message, secretKey) => curve.sign(message, secretKey),
    // Strict RFC 8032 decoding (no ZIP-215 leniency): one valid encoding per signature.
    verify: (signature, message, publicKey) =>
      curve.verify(signature, message, publicKey, { zip215: false }),
  };
}

/** The parts of noble's ML-DSA this adapter uses. */
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

const ML_DSA_HEDGE_LENGTH = 32;

function mlDsaPrimitive(scheme: NobleMlDsa): SignaturePrimitive {
  return {
    seedLength: scheme.lengths.seed!,
    publicKeyLength: scheme.lengths.publicKey!,
    secretKeyLength: scheme.lengths.secretKey!,
    signatureLength: scheme.lengths.signature!,
    keyPair: (seed) => scheme.keygen(seed),
    // Hedged signing (FIPS 204): fresh randomness from the injected source.
    sign(message: Uint8Array, secretKey: Uint8Array, random: RandomSource): Uint8Array {
      const extraEntropy = Uint8Array.from(
        draw(random, ML_DSA_HEDGE_LENGTH, "sign with ML-DSA"),
      );
      try {
        return scheme.sign(message, secretKey, { extraEntropy });
      } finally {
        extraEntropy.fill(0);
      }
    },
    verify: (signature, message, publicKey) => scheme.verify(signature, message, publicKey),
  };
}

/** Two primitives side by side: keys, seeds and signatures are concatenated, first half first. */
function hybridPrimitive(
  first: SignaturePrimitive,
  second: SignaturePrimitive,
): SignaturePrimitive {
  return {
    seedLength: first.seedLength + second.seedLength,
    publicKeyLength: first.publicKeyLength + second.publicKeyLength,
    secretKeyLength: first.secretKeyLength + second.secretKeyLength,
    signatureLength: first.signatureLength + second.signatureLength,
    keyPair(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
      const a = first.keyPair(seed.subarray(0, first.seedLength));
      const b = second.keyPair(seed.subarray(first.seedLength));
      const pair = {
        secretKey: concatBytes(a.secretKey, b.secretKey),
        publicKey: concatBytes(a.publicKey, b.publicKey),
      };
      a.secretKey.fill(0);
      b.secretKey.fill(0);
      return pair;
    },
    sign(message: Uint8Array, secretKey: Uint8Array, random: RandomSource): Uint8Array {
      const a = first.sign(message, secretKey.subarray(0, first.secretKeyLength), random);
      const b = second.sign(message, secretKey.subarray(first.secretKeyLength), random);
      return concatBytes(a, b);
    },
    verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
      // Both halves are always checked; the result is their conjunction.
      const a = first.verify(
        signature.subarray(0, first.signatureLength),
        message,
        publicKey.subarray(0, first.publicKeyLength),
      );
      const b = second.verify(
        signature.subarray(first.signatureLength),
        message,
        publicKey.subarray(first.publicKeyLength),
      );
      return a && b;
    },
  };
}

function signatureScheme(name: SignatureName, primitive: SignaturePrimitive): SignatureScheme {
  const { seedLength, publicKeyLength, secretKeyLength, signatureLength } = primitive;
  return Object.freeze({
    name,
    id: idOf(SIGNATURES, name),
    publicKeyLength,
    secretKeyLength,
    signatureLength,
    seedLength,
    generateKeyPair(
      options: { seed?: Uint8Array; random?: RandomSource } = {},
    ): Promise<SignatureKeyPair> {
      try {
        let seed: Uint8Array;
        if (options.seed !== undefined) {
          if (!(options.seed instanceof Uint8Array) || options.seed.length !== seedLength) {
            throw new RangeError(
              `Cannot generate ${name} key pair: "seed" must be ${seedLength} bytes, got ${
                options.seed instanceof Uint8Array ? options.seed.length : typeof options.seed
              }`,
            );
          }
          seed = Uint8Array.from(options.seed);
        } else {
          seed = Uint8Array.from(
            draw(options.random ?? systemRandom, seedLength, `generate ${name} key pair`),
          );
        }
        try {
          const { secretKey, publicKey } = primitive.keyPair(seed);
          const pair: SignatureKeyPair = Object.freeze({
            algorithm: name,
            publicKey: Uint8Array.from(publicKey),
            secretKey: Uint8Array.from(secretKey),
          });
          secretKey.fill(0);
          return Promise.resolve(pair);
        } finally {
          seed.fill(0);
        }
      } catch (error) {
        return Promise.reject(error);
      }
    },
    sign(
      message: Uint8Array,
      secretKey: Uint8Array,
      random: RandomSource,
    ): Promise<Uint8Array<ArrayBuffer>> {
      try {
        if (!(secretKey instanceof Uint8Array) || secretKey.length !== secretKeyLength) {
          throw new RangeError(
            `Cannot sign with ${name}: "secretKey" must be ${secretKeyLength} bytes, got ${
              secretKey instanceof Uint8Array ? secretKey.length : typeof secretKey
            }`,
          );
        }
        if (!(message instanceof Uint8Array)) {
          throw new TypeError(`Cannot sign with ${name}: "message" must be a Uint8Array`);
        }
        return Promise.resolve(Uint8Array.from(primitive.sign(message, secretKey, random)));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
      if (
        !(signature instanceof Uint8Array) || !(message instanceof Uint8Array) ||
        !(publicKey instanceof Uint8Array) || signature.length !== signatureLength ||
        publicKey.length !== publicKeyLength
      ) {
        return Promise.resolve(false);
      }
      try {
        return Promise.resolve(primitive.verify(signature, message, publicKey) === true);
      } catch {
        return Promise.resolve(false);
      }
    },
  });
}

const ED25519 = edwardsPrimitive(ed25519);
const ML_DSA_65 = mlDsaPrimitive(ml_dsa65);

const NOBLE_SIGNATURES: ReadonlyMap<SignatureName, SignatureScheme> = new Map<
  SignatureName,
  SignatureScheme
>([
  ["Ed25519", signatureScheme("Ed25519", ED25519)],
  ["Ed448", signatureScheme("Ed448", edwardsPrimitive(ed448))],
  ["ML-DSA-44", signatureScheme("ML-DSA-44", mlDsaPrimitive(ml_dsa44))],
  ["ML-DSA-65", signatureScheme("ML-DSA-65", ML_DSA_65)],
  ["ML-DSA-87", signatureScheme("ML-DSA-87", mlDsaPrimitive(ml_dsa87))],
  ["Ed25519+ML-DSA-65", signatureScheme("Ed25519+ML-DSA-65", hybridPrimitive(ED25519, ML_DSA_65))],
]);

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
 * Signatures: EdDSA is deterministic and verifies strictly (RFC 8032, no
 * ZIP-215 leniency); ML-DSA signs hedged with 32 bytes from `random`. The
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

/**
 * A {@linkcode CryptoBackend} on the platform's WebCrypto (`crypto.subtle`),
 * for every qgate algorithm the platform offers natively, checked at run time.
 *
 * Deno 2.9 offers X25519, X448, P-256/384/521 (ECDH), ML-KEM-512/768/1024,
 * Ed25519, ML-DSA-44/65/87, AES-256-GCM and ChaCha20-Poly1305. Ed448,
 * XChaCha20-Poly1305 and every hash are never offered here: WebCrypto has no
 * Ed448 or XChaCha20, and its digests are asynchronous while the
 * {@linkcode HashFunction} contract is synchronous, so a session needs the
 * composite `autoBackend`, which fills the gaps with noble.
 *
 * {@linkcode webCryptoBackend} decides synchronously with
 * `SubtleCrypto.supports()` (WICG modern algorithms);
 * {@linkcode createWebCryptoBackend} probes each algorithm with a real
 * operation instead, for platforms without `supports()`.
 *
 * Nothing here implements a primitive. The file adapts WebCrypto to the
 * backend contract with the same lengths, validation and error mapping as
 * `nobleBackend`, so the two are interchangeable and differential tests
 * compare them byte for byte:
 *
 * - Keys come from the injected `random(n)`, drawn in exactly the amounts and
 *   order noble draws them, and are imported as PKCS #8 (X25519, X448,
 *   Ed25519, and the NIST scalar noble derives from the same seed) or as a
 *   `raw-seed` (ML-KEM): a seeded source yields the same keys as noble.
 * - ML-KEM encapsulation takes its randomness from the platform; WebCrypto
 *   cannot take it from `random`. It is therefore native only when `random`
 *   is {@linkcode systemRandom} (the same OS CSPRNG). With any other source
 *   (a seeded one) it is noble's, with the 32 bytes drawn from `random`, so
 *   seeded runs stay reproducible and identical to noble.
 * - ML-DSA key generation and signing are noble's: WebCrypto cannot import
 *   the expanded secret key a {@linkcode SignatureKeyPair} holds, and it
 *   hedges with its own randomness. ML-DSA verification is native.
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

import { concatBytes } from "@noble/hashes/utils.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { ErrorCode, HandshakeError, QGateError } from "../errors.ts";
import { nobleBackend } from "./noble_backend.ts";
import { systemRandom } from "./random.ts";
import type {
  Aead,
  AeadCipher,
  AeadName,
  CryptoBackend,
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
import { AEADS, KEY_EXCHANGES, SIGNATURES } from "./types.ts";

/** Options for {@linkcode createWebCryptoBackend}. */
export interface WebCryptoBackendOptions {
  /** The WebCrypto implementation (default `globalThis.crypto.subtle`). */
  subtle?: SubtleCrypto;
}

// ---------------------------------------------------------------------------
// The WebCrypto surface this file uses, including the "modern algorithms"
// additions (getPublicKey, encapsulateBits, decapsulateBits, raw-seed) that
// the standard library typings do not declare yet.

/** A WebCrypto algorithm identifier: a name or a parameter object. */
export type Algorithm = string | { name: string; [parameter: string]: unknown };

export interface NativeSubtle {
  importKey(
    format: string,
    keyData: BufferSource | JsonWebKey,
    algorithm: Algorithm,
    extractable: boolean,
    usages: string[],
  ): Promise<CryptoKey>;
  exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer | JsonWebKey>;
  getPublicKey?(key: CryptoKey, usages: string[]): Promise<CryptoKey>;
  deriveBits(algorithm: Algorithm, key: CryptoKey, length: number): Promise<ArrayBuffer>;
  encapsulateBits?(
    algorithm: Algorithm,
    key: CryptoKey,
  ): Promise<{ ciphertext: ArrayBuffer; sharedKey: ArrayBuffer }>;
  decapsulateBits?(
    algorithm: Algorithm,
    key: CryptoKey,
    ciphertext: BufferSource,
  ): Promise<ArrayBuffer>;
  sign(algorithm: Algorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  verify(
    algorithm: Algorithm,
    key: CryptoKey,
    signature: BufferSource,
    data: BufferSource,
  ): Promise<boolean>;
  encrypt(algorithm: Algorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  /**
   * Not WebCrypto: `encrypt` writing ciphertext and tag into `output`
   * (exactly `data.length + 16` bytes, which may alias `data`), for
   * implementations that can spare the copy (`node_backend.ts`).
   */
  encryptInto?(
    algorithm: Algorithm,
    key: CryptoKey,
    data: Uint8Array,
    output: Uint8Array,
  ): Promise<void>;
  decrypt(algorithm: Algorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
}

/** How this backend reaches a key's public half: `getPublicKey` where offered, else JWK export. */
interface Platform {
  readonly subtle: NativeSubtle;
  /** Whether private keys must be extractable (no `getPublicKey`: the public half comes from JWK). */
  readonly extractable: boolean;
}

// ---------------------------------------------------------------------------
// Small helpers

const TAG_LENGTH = 16;
const AEAD_KEY_LENGTH = 32;

function internalFailure(what: string, cause: unknown): QGateError {
  return new QGateError(ErrorCode.INTERNAL, `Cannot ${what}: the native implementation failed`, {
    cause,
  });
}

function invalidPeerKey(name: KeyExchangeName, what: string, cause?: unknown): HandshakeError {
  return new HandshakeError(
    ErrorCode.INVALID_PEER_KEY,
    `Invalid peer key for ${name}: ${what}`,
    cause === undefined ? {} : { cause },
  );
}

function describe(value: unknown): string | number {
  return value instanceof Uint8Array ? value.length : typeof value;
}

/** WebCrypto wants ArrayBuffer-backed views; copy the rare view over a shared buffer. */
function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : Uint8Array.from(bytes);
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const byte of bytes) acc |= byte;
  return acc === 0;
}

function hex(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(
    atob(base64 + "=".repeat((4 - base64.length % 4) % 4)),
    (c) => c.charCodeAt(0),
  );
}

/** Draws exactly `length` bytes from `random`, rejecting a source that returns fewer. */
function draw(random: RandomSource, length: number, what: string): Uint8Array<ArrayBuffer> {
  const bytes = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(
      `Cannot ${what}: "random" must return ${length} bytes, got ${describe(bytes)}`,
    );
  }
  return Uint8Array.from(bytes);
}

/** Imports a private key from bytes that are wiped afterwards, whatever happens. */
async function importSecret(
  platform: Platform,
  format: string,
  secret: Uint8Array<ArrayBuffer>,
  algorithm: Algorithm,
  usages: string[],
): Promise<CryptoKey> {
  try {
    return await platform.subtle.importKey(
      format,
      secret,
      algorithm,
      platform.extractable,
      usages,
    );
  } finally {
    secret.fill(0);
  }
}

/** The public half of a private key in `format` (`raw` or `raw-public`). */
async function publicBytes(
  platform: Platform,
  privateKey: CryptoKey,
  format: string,
  jwkFields: readonly string[],
): Promise<Uint8Array<ArrayBuffer>> {
  const { subtle } = platform;
  if (subtle.getPublicKey !== undefined) {
    const publicKey = await subtle.getPublicKey(privateKey, []);
    return new Uint8Array(await subtle.exportKey(format, publicKey) as ArrayBuffer);
  }
  const jwk = await subtle.exportKey("jwk", privateKey) as JsonWebKey & Record<string, string>;
  const fields = jwkFields.map((field) => fromBase64Url(jwk[field] ?? ""));
  // EC public keys are the uncompressed SEC1 point 0x04 ‖ x ‖ y.
  return fields.length === 2 ? concatBytes(new Uint8Array([4]), ...fields) : fields[0]!;
}

// ---------------------------------------------------------------------------
// Key exchange

/** The private half held between `offer()` and `finish()`: a non-extractable CryptoKey. */
class NativeKeyExchangeState implements KeyExchangeState {
  readonly owner: KeyExchangeName;
  #key: CryptoKey | undefined;

  constructor(owner: KeyExchangeName, key: CryptoKey) {
    this.owner = owner;
    this.#key = key;
  }

  key(name: KeyExchangeName): CryptoKey {
    if (this.owner !== name) {
      throw new TypeError(`Cannot finish ${name} key exchange: "state" belongs to ${this.owner}`);
    }
    if (this.#key === undefined) {
      throw new TypeError(`Cannot finish ${name} key exchange: "state" was disposed`);
    }
    return this.#key;
  }

  dispose(): void {
    // A CryptoKey cannot be wiped from JavaScript; dropping it is all we can do.
    this.#key = undefined;
  }
}

function stateOf(name: KeyExchangeName, state: KeyExchangeState): CryptoKey {
  if (!(state instanceof NativeKeyExchangeState)) {
    throw new TypeError(
      `Cannot finish ${name} key exchange: "state" was not created by this backend`,
    );
  }
  return state.key(name);
}

/** What a Diffie-Hellman group needs from this adapter. */
interface NativeDh {
  readonly name: KeyExchangeName;
  readonly algorithm: Algorithm;
  readonly seedLength: number;
  readonly publicKeyLength: number;
  readonly sharedBits: number;
  /** The PKCS #8 private key for a seed, as noble's `keygen(seed)` would derive it. */
  pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer>;
  /** Cheap structural checks before the import (the import checks the rest). */
  wellFormed(publicKey: Uint8Array): boolean;
  readonly jwkFields: readonly string[];
}

const X25519_PKCS8 = hex("302e020100300506032b656e04220420");
const X448_PKCS8 = hex("3046020100300506032b656f043a0438");
const ED25519_PKCS8 = hex("302e020100300506032b657004220420");
// PKCS #8 wrapping an RFC 5915 ECPrivateKey without the optional public key.
const P256_PKCS8 = hex("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420");
const P384_PKCS8 = hex("304e020100301006072a8648ce3d020106052b81040022043730350201010430");
const P521_PKCS8 = hex("3060020100301006072a8648ce3d020106052b81040023044930470201010442");

function montgomery(
  name: KeyExchangeName,
  prefix: Uint8Array,
  length: number,
): NativeDh {
  return {
    name,
    algorithm: { name },
    seedLength: length,
    publicKeyLength: length,
    sharedBits: length * 8,
    // noble's secret key is the seed itself (clamped when used), as in RFC 7748.
    pkcs8: (seed) => concatBytes(prefix, seed),
    // Every string of the right length is a u-coordinate; low order fails in deriveBits.
    wellFormed: (publicKey) => publicKey.length === length,
    jwkFields: ["x"],
  };
}

/** The part of noble's NIST curves used here: the seed → scalar map, no point arithmetic. */
interface NobleNist {
  lengths: { seed?: number; secretKey?: number; publicKeyUncompressed?: number };
  utils: { randomSecretKey(seed?: Uint8Array): Uint8Array };
}

function nist(name: KeyExchangeName, curve: NobleNist, prefix: Uint8Array): NativeDh {
  const publicKeyLength = curve.lengths.publicKeyUncompressed!;
  return {
    name,
    algorithm: { name: "ECDH", namedCurve: name },
    seedLength: curve.lengths.seed!,
    publicKeyLength,
    // The x-coordinate of the shared point, as noble's backend returns it.
    sharedBits: curve.lengths.secretKey! * 8,
    pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer> {
      // The same reduction of the seed to a scalar as noble's keygen(seed).
      const scalar = curve.utils.randomSecretKey(seed);
      try {
        return concatBytes(prefix, scalar);
      } finally {
        scalar.fill(0);
      }
    },
    // Uncompressed SEC1 only, as in the noble backend; the import checks the curve.
    wellFormed: (publicKey) => publicKey.length === publicKeyLength && publicKey[0] === 0x04,
    jwkFields: ["x", "y"],
  };
}

function dhKeyExchange(platform: Platform, dh: NativeDh, noble: KeyExchange): KeyExchange {
  const { name, algorithm, publicKeyLength: length } = dh;
  const { subtle } = platform;

  function checkShape(bytes: Uint8Array, role: "offer" | "answer"): void {
    if (bytes instanceof Uint8Array && dh.wellFormed(bytes)) return;
    throw invalidPeerKey(
      name,
      bytes instanceof Uint8Array && bytes.length === length
        ? `${role} is not a valid public key`
        : `${role} must be ${length} bytes, got ${describe(bytes)}`,
    );
  }

  async function peerKey(bytes: Uint8Array, role: "offer" | "answer"): Promise<CryptoKey> {
    try {
      return await subtle.importKey("raw", view(bytes), algorithm, true, []);
    } catch (cause) {
      throw invalidPeerKey(name, `${role} is not a valid public key`, cause);
    }
  }

  async function ownKey(seed: Uint8Array<ArrayBuffer>, what: string): Promise<CryptoKey> {
    const pkcs8 = dh.pkcs8(seed);
    seed.fill(0);
    try {
      return await importSecret(platform, "pkcs8", pkcs8, algorithm, ["deriveBits"]);
    } catch (cause) {
      throw internalFailure(what, cause);
    }
  }

  async function ownPublic(privateKey: CryptoKey, what: string): Promise<Uint8Array<ArrayBuffer>> {
    try {
      return await publicBytes(platform, privateKey, "raw", dh.jwkFields);
    } catch (cause) {
      throw internalFailure(what, cause);
    }
  }

  async function derive(
    privateKey: CryptoKey,
    publicKey: CryptoKey,
  ): Promise<Uint8Array<ArrayBuffer>> {
    let shared: Uint8Array<ArrayBuffer>;
    try {
      shared = new Uint8Array(
        await subtle.deriveBits(
          { ...asObject(algorithm), public: publicKey },
          privateKey,
          dh.sharedBits,
        ),
      );
    } catch (cause) {
      throw invalidPeerKey(name, "public key yields no valid shared secret", cause);
    }
    if (isAllZero(shared)) throw invalidPeerKey(name, "shared secret is all zero");
    return shared;
  }

  return Object.freeze({
    name,
    id: noble.id,
    kind: "dh" as const,
    offerLength: length,
    answerLength: length,
    async offer(random: RandomSource): Promise<KeyExchangeOffer> {
      const what = `create ${name} offer`;
      const privateKey = await ownKey(draw(random, dh.seedLength, what), what);
      const offer = await ownPublic(privateKey, what);
      return { offer, state: new NativeKeyExchangeState(name, privateKey) };
    },
    async answer(offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer> {
      const what = `answer ${name} offer`;
      // Validate, then draw, synchronously and in noble's order: seeded streams stay aligned.
      checkShape(offer, "offer");
      const seed = draw(random, dh.seedLength, what);
      const peer = await peerKey(offer, "offer");
      const privateKey = await ownKey(seed, what);
      const [answer, sharedSecret] = await Promise.all([
        ownPublic(privateKey, what),
        derive(privateKey, peer),
      ]);
      return { answer, sharedSecret };
    },
    async finish(state: KeyExchangeState, answer: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
      const privateKey = stateOf(name, state);
      checkShape(answer, "answer");
      return await derive(privateKey, await peerKey(answer, "answer"));
    },
  });
}

function asObject(algorithm: Algorithm): { name: string; [parameter: string]: unknown } {
  return typeof algorithm === "string" ? { name: algorithm } : algorithm;
}

const KEM_SEED_LENGTH = 64;

function kemKeyExchange(platform: Platform, noble: KeyExchange): KeyExchange {
  const { name, offerLength, answerLength } = noble;
  const { subtle } = platform;
  const encapsulateBits = subtle.encapsulateBits!.bind(subtle);
  const decapsulateBits = subtle.decapsulateBits!.bind(subtle);

  return Object.freeze({
    name,
    id: noble.id,
    kind: "kem" as const,
    offerLength,
    answerLength,
    async offer(random: RandomSource): Promise<KeyExchangeOffer> {
      const what = `create ${name} offer`;
      // FIPS 203 key generation from the seed d ‖ z, exactly as noble's keygen(seed).
      const seed = draw(random, KEM_SEED_LENGTH, what);
      try {
        const privateKey = await importSecret(platform, "raw-seed", seed, name, [
          "decapsulateBits",
        ]);
        const offer = await publicBytes(platform, privateKey, "raw-public", ["pub"]);
        return { offer, state: new NativeKeyExchangeState(name, privateKey) };
      } catch (cause) {
        throw internalFailure(what, cause);
      }
    },
    async answer(offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer> {
      if (random !== systemRandom) {
        // WebCrypto draws the encapsulation randomness itself; keep injected
        // randomness injected (and seeded runs reproducible) with noble.
        return await noble.answer(offer, random);
      }
      if (!(offer instanceof Uint8Array) || offer.length !== offerLength) {
        throw invalidPeerKey(name, `offer must be ${offerLength} bytes, got ${describe(offer)}`);
      }
      let result: { ciphertext: ArrayBuffer; sharedKey: ArrayBuffer };
      try {
        const key = await subtle.importKey("raw-public", view(offer), name, true, [
          "encapsulateBits",
        ]);
        // The encapsulation key's modulus check (FIPS 203 §7.2) fails here.
        result = await encapsulateBits(name, key);
      } catch (cause) {
        throw invalidPeerKey(name, "offer is not a valid encapsulation key", cause);
      }
      return {
        answer: new Uint8Array(result.ciphertext),
        sharedSecret: new Uint8Array(result.sharedKey),
      };
    },
    async finish(state: KeyExchangeState, answer: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
      const privateKey = stateOf(name, state);
      if (!(answer instanceof Uint8Array) || answer.length !== answerLength) {
        throw invalidPeerKey(name, `answer must be ${answerLength} bytes, got ${describe(answer)}`);
      }
      try {
        // A wrong ciphertext of the right length does not fail (implicit rejection).
        return new Uint8Array(await decapsulateBits(name, privateKey, view(answer)));
      } catch (cause) {
        throw invalidPeerKey(name, "answer cannot be decapsulated", cause);
      }
    },
  });
}

// ---------------------------------------------------------------------------
// Signatures

/** A signature primitive before the hybrid composition; asynchronous, may throw in `verify`. */
interface AsyncSignaturePrimitive {
  readonly seedLength: number;
  readonly publicKeyLength: number;
  readonly secretKeyLength: number;
  readonly signatureLength: number;
  keyPair(seed: Uint8Array): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }>;
  sign(message: Uint8Array, secretKey: Uint8Array, random: RandomSource): Promise<Uint8Array>;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean>;
}

function ed25519Primitive(platform: Platform, noble: SignatureScheme): AsyncSignaturePrimitive {
  const { subtle } = platform;
  async function signingKey(secretKey: Uint8Array): Promise<CryptoKey> {
    return await importSecret(platform, "pkcs8", concatBytes(ED25519_PKCS8, secretKey), "Ed25519", [
      "sign",
    ]);
  }
  return {
    seedLength: noble.seedLength,
    publicKeyLength: noble.publicKeyLength,
    secretKeyLength: noble.secretKeyLength,
    signatureLength: noble.signatureLength,
    async keyPair(seed: Uint8Array): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
      // noble's Ed25519 secret key is the 32-byte seed (RFC 8032).
      const publicKey = await publicBytes(platform, await signingKey(seed), "raw", ["x"]);
      return { secretKey: Uint8Array.from(seed), publicKey };
    },
    // EdDSA is deterministic (RFC 8032): the same signature as noble; `random` is not used.
    async sign(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
      return new Uint8Array(
        await subtle.sign("Ed25519", await signingKey(secretKey), view(message)),
      );
    },
    async verify(
      signature: Uint8Array,
      message: Uint8Array,
      publicKey: Uint8Array,
    ): Promise<boolean> {
      const key = await subtle.importKey("raw", view(publicKey), "Ed25519", true, ["verify"]);
      return await subtle.verify("Ed25519", key, view(signature), view(message));
    },
  };
}

/** ML-DSA: keys and hedged signatures from noble, verification native. */
function mlDsaPrimitive(platform: Platform, noble: SignatureScheme): AsyncSignaturePrimitive {
  const { subtle } = platform;
  const name = noble.name;
  return {
    seedLength: noble.seedLength,
    publicKeyLength: noble.publicKeyLength,
    secretKeyLength: noble.secretKeyLength,
    signatureLength: noble.signatureLength,
    keyPair: (seed) => noble.generateKeyPair({ seed }),
    sign: (message, secretKey, random) => noble.sign(message, secretKey, random),
    async verify(
      signature: Uint8Array,
      message: Uint8Array,
      publicKey: Uint8Array,
    ): Promise<boolean> {
      const key = await subtle.importKey("raw-public", view(publicKey), name, true, ["verify"]);
      return await subtle.verify({ name }, key, view(signature), view(message));
    },
  };
}

/** Two primitives side by side, exactly as noble's hybrid: halves concatenated, first half first. */
function hybridPrimitive(
  first: AsyncSignaturePrimitive,
  second: AsyncSignaturePrimitive,
): AsyncSignaturePrimitive {
  return {
    seedLength: first.seedLength + second.seedLength,
    publicKeyLength: first.publicKeyLength + second.publicKeyLength,
    secretKeyLength: first.secretKeyLength + second.secretKeyLength,
    signatureLength: first.signatureLength + second.signatureLength,
    async keyPair(seed: Uint8Array): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
      const a = await first.keyPair(seed.subarray(0, first.seedLength));
      const b = await second.keyPair(seed.subarray(first.seedLength));
      const pair = {
        secretKey: concatBytes(a.secretKey, b.secretKey),
        publicKey: concatBytes(a.publicKey, b.publicKey),
      };
      a.secretKey.fill(0);
      b.secretKey.fill(0);
      return pair;
    },
    async sign(
      message: Uint8Array,
      secretKey: Uint8Array,
      random: RandomSource,
    ): Promise<Uint8Array> {
      // Both start synchronously, first half first: any draws from `random`
      // happen during this call and in noble's order, so seeded streams stay aligned.
      const [a, b] = await Promise.all([
        first.sign(message, secretKey.subarray(0, first.secretKeyLength), random),
        second.sign(message, secretKey.subarray(first.secretKeyLength), random),
      ]);
      return concatBytes(a, b);
    },
    async verify(
      signature: Uint8Array,
      message: Uint8Array,
      publicKey: Uint8Array,
    ): Promise<boolean> {
      // Both halves are always checked; a throw in either counts as invalid.
      const [a, b] = await Promise.all([
        first.verify(
          signature.subarray(0, first.signatureLength),
          message,
          publicKey.subarray(0, first.publicKeyLength),
        ).catch(() => false),
        second.verify(
          signature.subarray(first.signatureLength),
          message,
          publicKey.subarray(first.publicKeyLength),
        ).catch(() => false),
      ]);
      return a && b;
    },
  };
}

function signatureScheme(
  noble: SignatureScheme,
  primitive: AsyncSignaturePrimitive,
): SignatureScheme {
  const { name, id } = noble;
  const { seedLength, publicKeyLength, secretKeyLength, signatureLength } = primitive;
  return Object.freeze({
    name,
    id,
    publicKeyLength,
    secretKeyLength,
    signatureLength,
    seedLength,
    async generateKeyPair(
      options: { seed?: Uint8Array; random?: RandomSource } = {},
    ): Promise<SignatureKeyPair> {
      let seed: Uint8Array;
      if (options.seed !== undefined) {
        if (!(options.seed instanceof Uint8Array) || options.seed.length !== seedLength) {
          throw new RangeError(
            `Cannot generate ${name} key pair: "seed" must be ${seedLength} bytes, got ${
              describe(options.seed)
            }`,
          );
        }
        seed = Uint8Array.from(options.seed);
      } else {
        seed = draw(options.random ?? systemRandom, seedLength, `generate ${name} key pair`);
      }
      try {
        const { secretKey, publicKey } = await primitive.keyPair(seed);
        const pair: SignatureKeyPair = Object.freeze({
          algorithm: name,
          publicKey: Uint8Array.from(publicKey),
          secretKey: Uint8Array.from(secretKey),
        });
        secretKey.fill(0);
        return pair;
      } catch (cause) {
        throw cause instanceof QGateError || cause instanceof TypeError ||
            cause instanceof RangeError
          ? cause
          : internalFailure(`generate ${name} key pair`, cause);
      } finally {
        seed.fill(0);
      }
    },
    async sign(
      message: Uint8Array,
      secretKey: Uint8Array,
      random: RandomSource,
    ): Promise<Uint8Array<ArrayBuffer>> {
      if (!(secretKey instanceof Uint8Array) || secretKey.length !== secretKeyLength) {
        throw new RangeError(
          `Cannot sign with ${name}: "secretKey" must be ${secretKeyLength} bytes, got ${
            describe(secretKey)
          }`,
        );
      }
      if (!(message instanceof Uint8Array)) {
        throw new TypeError(`Cannot sign with ${name}: "message" must be a Uint8Array`);
      }
      try {
        return Uint8Array.from(await primitive.sign(message, secretKey, random));
      } catch (cause) {
        throw cause instanceof QGateError || cause instanceof TypeError ||
            cause instanceof RangeError
          ? cause
          : internalFailure(`sign with ${name}`, cause);
      }
    },
    async verify(
      signature: Uint8Array,
      message: Uint8Array,
      publicKey: Uint8Array,
    ): Promise<boolean> {
      if (
        !(signature instanceof Uint8Array) || !(message instanceof Uint8Array) ||
        !(publicKey instanceof Uint8Array) || signature.length !== signatureLength ||
        publicKey.length !== publicKeyLength
      ) {
        return false;
      }
      try {
        return await primitive.verify(signature, message, publicKey) === true;
      } catch {
        return false;
      }
    },
  });
}

// ---------------------------------------------------------------------------
// AEAD

/** What one native AEAD needs: its WebCrypto name and key import format. */
interface NativeAeadSpec {
  readonly name: AeadName;
  readonly algorithm: string;
  readonly format: string;
}

class NativeAeadCipher implements AeadCipher {
  readonly #subtle: NativeSubtle;
  readonly #spec: NativeAeadSpec;
  #key: Promise<CryptoKey> | undefined;

  constructor(platform: Platform, spec: NativeAeadSpec, key: Uint8Array) {
    this.#subtle = platform.subtle;
    this.#spec = spec;
    const copy = Uint8Array.from(key);
    this.#key = importSecret(
      { subtle: platform.subtle, extractable: false },
      spec.format,
      copy,
      spec.algorithm,
      ["encrypt", "decrypt"],
    );
    // A failed import surfaces at the first seal/open; never as an unhandled rejection.
    this.#key.catch(() => {});
  }

  #params(nonce: Uint8Array, aad: Uint8Array): Algorithm {
    return { name: this.#spec.algorithm, iv: view(nonce), additionalData: view(aad) };
  }

  async seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    output?: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const name = this.#spec.name;
    const keyPromise = this.#key;
    if (keyPromise === undefined) {
      throw new TypeError(`Cannot seal with ${name}: cipher was disposed`);
    }
    if (nonce.length !== 12) {
      throw new RangeError(
        `Cannot seal with ${name}: "nonce" must be 12 bytes, got ${nonce.length}`,
      );
    }
    if (output !== undefined && output.length !== plaintext.length + TAG_LENGTH) {
      throw new RangeError(
        `Cannot seal with ${name}: "output" must be ${
          plaintext.length + TAG_LENGTH
        } bytes, got ${output.length}`,
      );
    }
    try {
      const key = await keyPromise;
      if (output !== undefined && this.#subtle.encryptInto !== undefined) {
        await this.#subtle.encryptInto(this.#params(nonce, aad), key, plaintext, output);
        return output;
      }
      const sealed = new Uint8Array(
        await this.#subtle.encrypt(this.#params(nonce, aad), key, view(plaintext)),
      );
      if (output === undefined) return sealed;
      output.set(sealed);
      return output;
    } catch (cause) {
      throw internalFailure(`seal with ${name}`, cause);
    }
  }

  async open(
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const keyPromise = this.#key;
    if (keyPromise === undefined || nonce.length !== 12 || ciphertext.length < TAG_LENGTH) {
      return undefined;
    }
    try {
      const key = await keyPromise;
      return new Uint8Array(
        await this.#subtle.decrypt(this.#params(nonce, aad), key, view(ciphertext)),
      );
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    // The imported CryptoKey cannot be wiped from JavaScript; the import copy already was.
    this.#key = undefined;
  }
}

function nativeAead(platform: Platform, spec: NativeAeadSpec, noble: Aead): Aead {
  const { name } = spec;
  return Object.freeze({
    name,
    id: noble.id,
    keyLength: AEAD_KEY_LENGTH,
    nonceLength: 12,
    tagLength: TAG_LENGTH,
    createCipher(key: Uint8Array): AeadCipher {
      if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) {
        throw new RangeError(
          `Cannot create ${name} cipher: "key" must be ${AEAD_KEY_LENGTH} bytes, got ${
            describe(key)
          }`,
        );
      }
      return new NativeAeadCipher(platform, spec, key);
    },
  });
}

// ---------------------------------------------------------------------------
// Probing and the backend

/** A fixed, non-secret probe input. */
const PROBE = new Uint8Array(128).fill(0x51);
function probeRandom(length: number): Uint8Array<ArrayBuffer> {
  return PROBE.slice(0, length);
}

async function probeKeyExchange(kex: KeyExchange): Promise<void> {
  const { offer, state } = await kex.offer(probeRandom);
  // Native encapsulation is what production uses; the probe exercises it.
  const { answer, sharedSecret } = await kex.answer(offer, systemRandom);
  const finished = await kex.finish(state, answer);
  state.dispose();
  if (finished.length !== sharedSecret.length || finished.some((b, i) => b !== sharedSecret[i])) {
    throw new Error(`${kex.name} probe disagrees with itself`);
  }
}

async function probeSignature(scheme: SignatureScheme): Promise<void> {
  const message = PROBE.subarray(0, 3);
  const pair = await scheme.generateKeyPair({ seed: PROBE.subarray(0, scheme.seedLength) });
  const signature = await scheme.sign(message, pair.secretKey, probeRandom);
  if (!await scheme.verify(signature, message, pair.publicKey)) {
    throw new Error(`${scheme.name} probe does not verify`);
  }
}

/**
 * ML-DSA signs with noble (slow); the probe signs natively instead and checks
 * that the backend's native verification accepts it and rejects a forgery.
 */
async function probeMlDsa(platform: Platform, scheme: SignatureScheme): Promise<void> {
  const { subtle } = platform;
  const message = PROBE.subarray(0, 3);
  const key = await subtle.importKey(
    "raw-seed",
    PROBE.slice(0, 32),
    scheme.name,
    platform.extractable,
    ["sign"],
  );
  const publicKey = await publicBytes(platform, key, "raw-public", ["pub"]);
  const signature = new Uint8Array(await subtle.sign({ name: scheme.name }, key, message));
  if (!await scheme.verify(signature, message, publicKey)) {
    throw new Error(`${scheme.name} probe does not verify`);
  }
  signature[0]! ^= 1;
  if (await scheme.verify(signature, message, publicKey)) {
    throw new Error(`${scheme.name} probe verified a forgery`);
  }
}

async function probeAead(aead: Aead): Promise<void> {
  const cipher = aead.createCipher(PROBE.subarray(0, 32));
  const nonce = new Uint8Array(12);
  const sealed = await cipher.seal(nonce, PROBE.subarray(0, 5), PROBE.subarray(0, 2));
  const opened = await cipher.open(nonce, sealed, PROBE.subarray(0, 2));
  cipher.dispose();
  if (opened === undefined || opened.length !== 5) throw new Error(`${aead.name} probe failed`);
}

/** Runs `probe`; `true` only if it resolves. */
async function works(probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch {
    return false;
  }
}

/** `SubtleCrypto.supports(operation, algorithm)` (WICG modern algorithms), where it exists. */
/** `SubtleCrypto.supports(operation, algorithm)`, as a plain function. */
export type Supports = (operation: string, algorithm: Algorithm) => boolean;

/** One native algorithm: its adapter (built lazily) and the operations it needs. */
interface Candidate<T> {
  readonly build: () => T;
  /** `[operation, algorithm]` pairs that `SubtleCrypto.supports` must confirm. */
  readonly needs: readonly (readonly [string, Algorithm])[];
}

const DH_GROUPS: Partial<Record<KeyExchangeName, () => NativeDh>> = {
  "X25519": () => montgomery("X25519", X25519_PKCS8, 32),
  "X448": () => montgomery("X448", X448_PKCS8, 56),
  "P-256": () => nist("P-256", p256, P256_PKCS8),
  "P-384": () => nist("P-384", p384, P384_PKCS8),
  "P-521": () => nist("P-521", p521, P521_PKCS8),
};

const AEAD_SPECS: Partial<Record<AeadName, Omit<NativeAeadSpec, "name">>> = {
  // WebCrypto's classic AES-GCM imports "raw"; ChaCha20-Poly1305 (modern algorithms) only "raw-secret".
  "AES-256-GCM": { algorithm: "AES-GCM", format: "raw" },
  "ChaCha20-Poly1305": { algorithm: "ChaCha20-Poly1305", format: "raw-secret" },
};

/** Every native adapter this file can build for one WebCrypto implementation, unchecked. */
class Catalogue {
  readonly platform: Platform;
  readonly #ed25519: AsyncSignaturePrimitive;

  constructor(subtle: NativeSubtle) {
    this.platform = { subtle, extractable: typeof subtle.getPublicKey !== "function" };
    this.#ed25519 = ed25519Primitive(this.platform, nobleBackend.signature("Ed25519")!);
  }

  #publicHalf(algorithm: Algorithm): [string, Algorithm] {
    return this.platform.extractable ? ["exportKey", algorithm] : ["getPublicKey", algorithm];
  }

  keyExchange(name: KeyExchangeName): Candidate<KeyExchange> | undefined {
    const reference = nobleBackend.keyExchange(name)!;
    const group = DH_GROUPS[name];
    if (group !== undefined) {
      const dh = group();
      return {
        build: () => dhKeyExchange(this.platform, dh, reference),
        needs: [
          ["importKey", dh.algorithm],
          ["deriveBits", dh.algorithm],
          this.#publicHalf(dh.algorithm),
        ],
      };
    }
    if (!name.startsWith("ML-KEM-")) return undefined;
    if (!hasMethods(this.platform.subtle, "encapsulateBits", "decapsulateBits", "getPublicKey")) {
      return undefined;
    }
    return {
      build: () => kemKeyExchange(this.platform, reference),
      needs: [
        ["importKey", name],
        ["getPublicKey", name],
        ["encapsulateBits", name],
        ["decapsulateBits", name],
      ],
    };
  }

  signature(name: SignatureName): Candidate<SignatureScheme> | undefined {
    const reference = nobleBackend.signature(name)!;
    switch (name) {
      case "Ed25519":
        return {
          build: () => signatureScheme(reference, this.#ed25519),
          needs: [
            ["importKey", name],
            ["sign", name],
            ["verify", name],
            this.#publicHalf(name),
          ],
        };
      case "ML-DSA-44":
      case "ML-DSA-65":
      case "ML-DSA-87":
        return {
          build: () => signatureScheme(reference, mlDsaPrimitive(this.platform, reference)),
          needs: [["importKey", name], ["verify", name]],
        };
      case "Ed25519+ML-DSA-65": {
        const first = this.signature("Ed25519")!;
        const second = this.signature("ML-DSA-65")!;
        return {
          build: () =>
            signatureScheme(
              reference,
              hybridPrimitive(
                this.#ed25519,
                mlDsaPrimitive(this.platform, nobleBackend.signature("ML-DSA-65")!),
              ),
            ),
          needs: [...first.needs, ...second.needs],
        };
      }
      default:
        return undefined;
    }
  }

  aead(name: AeadName): Candidate<Aead> | undefined {
    const spec = AEAD_SPECS[name];
    if (spec === undefined) return undefined;
    const algorithm = { name: spec.algorithm, iv: new Uint8Array(12) };
    return {
      build: () => nativeAead(this.platform, { name, ...spec }, nobleBackend.aead(name)!),
      needs: [["importKey", spec.algorithm], ["encrypt", algorithm], ["decrypt", algorithm]],
    };
  }

  /** Runs a real operation with a candidate; ML-DSA probes sign natively (noble is slow). */
  async probe(
    category: "keyExchange" | "signature" | "aead",
    value: KeyExchange | SignatureScheme | Aead,
  ): Promise<boolean> {
    switch (category) {
      case "keyExchange":
        return await works(() => probeKeyExchange(value as KeyExchange));
      case "aead":
        return await works(() => probeAead(value as Aead));
      case "signature": {
        const scheme = value as SignatureScheme;
        if (scheme.name.startsWith("ML-DSA")) {
          return await works(() => probeMlDsa(this.platform, scheme));
        }
        if (scheme.name === "Ed25519") return await works(() => probeSignature(scheme));
        // The hybrid: both halves, each probed cheaply.
        const ed = this.signature("Ed25519")!.build();
        const ml = this.signature("ML-DSA-65")!.build();
        return await works(() => probeSignature(ed)) &&
          await works(() => probeMlDsa(this.platform, ml));
      }
    }
  }
}

/** Checks that a call path exists (a missing method would be a TypeError later). */
function hasMethods(subtle: NativeSubtle, ...names: (keyof NativeSubtle)[]): boolean {
  return names.every((name) => typeof subtle[name] === "function");
}

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

/** A backend over a lookup that builds each adapter once, on first request. */
function backendOver(
  name: string,
  lookup: <T>(
    category: "keyExchange" | "signature" | "aead",
    name: string,
    candidate: Candidate<T> | undefined,
  ) => T | undefined,
  catalogue: Catalogue,
): CryptoBackend {
  const memo = new Map<string, unknown>();
  function once<T>(
    category: "keyExchange" | "signature" | "aead",
    name: string,
    candidate: () => Candidate<T> | undefined,
  ): T | undefined {
    const key = `${category}:${name}`;
    if (!memo.has(key)) memo.set(key, lookup(category, name, candidate()));
    return memo.get(key) as T | undefined;
  }
  return Object.freeze({
    name,
    keyExchange(name: KeyExchangeName): KeyExchange | undefined {
      return once("keyExchange", name, () => catalogue.keyExchange(name));
    },
    signature(name: SignatureName): SignatureScheme | undefined {
      return once("signature", name, () => catalogue.signature(name));
    },
    aead(name: AeadName): Aead | undefined {
      return once("aead", name, () => catalogue.aead(name));
    },
    hash(_name: HashName): HashFunction | undefined {
      // WebCrypto digests are asynchronous; the contract's hashes are synchronous.
      return undefined;
    },
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
  return backendOver(
    name,
    (_category, _name, candidate) => {
      if (candidate === undefined || supports === undefined) return undefined;
      return candidate.needs.every(([operation, algorithm]) => supports(operation, algorithm))
        ? candidate.build()
        : undefined;
    },
    new Catalogue(subtle),
  );
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
  const probes: Promise<void>[] = [];
  const tables = [
    [
      "keyExchange",
      KEY_EXCHANGES,
      (name: string) => catalogue.keyExchange(name as KeyExchangeName),
    ],
    ["signature", SIGNATURES, (name: string) => catalogue.signature(name as SignatureName)],
    ["aead", AEADS, (name: string) => catalogue.aead(name as AeadName)],
  ] as const;
  for (const [category, table, candidateOf] of tables) {
    for (const { name } of table) {
      const candidate = candidateOf(name) as Candidate<KeyExchange | SignatureScheme | Aead>;
      if (candidate === undefined) continue;
      probes.push((async () => {
        const value = candidate.build();
        if (await catalogue.probe(category, value)) found.set(`${category}:${name}`, value);
      })());
    }
  }
  await Promise.all(probes);
  return backendOver(
    "webcrypto",
    (category, name) => found.get(`${category}:${name}`) as never,
    catalogue,
  );
}

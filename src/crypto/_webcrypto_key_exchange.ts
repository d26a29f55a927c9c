/**
 * WebCrypto key exchange primitives: ECDH / X25519 / X448 and ML-KEM.
 *
 * Keys come from the contract's seed bytes, imported as PKCS #8 (X25519,
 * X448, and the NIST scalar noble derives from the same seed) or as a
 * `raw-seed` (ML-KEM), so a seed gives the same keys as noble. Private keys
 * live in non-extractable `CryptoKey`s (extractable only where the platform
 * has no `getPublicKey`); a `CryptoKey` cannot be wiped from JavaScript, so
 * disposing one drops the reference.
 *
 * ML-KEM encapsulation with the platform's own randomness is native; with a
 * given message `m` (a seeded run) WebCrypto cannot take it, so that one
 * call is noble's.
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import type { KeyExchangeName } from "./types.ts";
import type { DhPrimitive, Encapsulation, KemPrimitive, PrimitiveKeyPair } from "./_primitives.ts";
import {
  type Algorithm,
  asObject,
  hex,
  importSecret,
  type Platform,
  publicBytes,
  view,
} from "./_webcrypto_platform.ts";

/** What one Diffie-Hellman group needs: its WebCrypto identity and its PKCS #8 form. */
export interface NativeDh {
  /** The WebCrypto algorithm. */
  readonly algorithm: Algorithm;
  /** Seed length (noble's). */
  readonly seedLength: number;
  /** Public key length in wire form. */
  readonly publicKeyLength: number;
  /** Bits of shared secret to derive. */
  readonly sharedBits: number;
  /** The PKCS #8 private key for a seed, as noble's `keygen(seed)` would derive it. */
  pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer>;
  /** JWK fields holding the public key, for platforms without `getPublicKey`. */
  readonly jwkFields: readonly string[];
}

const X25519_PKCS8 = hex("302e020100300506032b656e04220420");
const X448_PKCS8 = hex("3046020100300506032b656f043a0438");
// PKCS #8 wrapping an RFC 5915 ECPrivateKey without the optional public key.
const P256_PKCS8 = hex("3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420");
const P384_PKCS8 = hex("304e020100301006072a8648ce3d020106052b81040022043730350201010430");
const P521_PKCS8 = hex("3060020100301006072a8648ce3d020106052b81040023044930470201010442");

function montgomery(name: KeyExchangeName, prefix: Uint8Array, length: number): NativeDh {
  return {
    algorithm: { name },
    seedLength: length,
    publicKeyLength: length,
    sharedBits: length * 8,
    // noble's secret key is the seed itself (clamped when used), as in RFC 7748.
    pkcs8: (seed) => concatBytes(prefix, seed),
    jwkFields: ["x"],
  };
}

/** The part of noble's NIST curves used here: the seed → scalar map, no point arithmetic. */
interface NobleNist {
  lengths: { seed?: number; secretKey?: number; publicKeyUncompressed?: number };
  utils: { randomSecretKey(seed?: Uint8Array): Uint8Array };
}

function nist(name: KeyExchangeName, curve: NobleNist, prefix: Uint8Array): NativeDh {
  return {
    algorithm: { name: "ECDH", namedCurve: name },
    seedLength: curve.lengths.seed!,
    publicKeyLength: curve.lengths.publicKeyUncompressed!,
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
    jwkFields: ["x", "y"],
  };
}

/** The DH groups WebCrypto may offer, built on demand. */
export const DH_GROUPS: Partial<Record<KeyExchangeName, () => NativeDh>> = {
  "X25519": () => montgomery("X25519", X25519_PKCS8, 32),
  "X448": () => montgomery("X448", X448_PKCS8, 56),
  "P-256": () => nist("P-256", p256, P256_PKCS8),
  "P-384": () => nist("P-384", p384, P384_PKCS8),
  "P-521": () => nist("P-521", p521, P521_PKCS8),
};

/**
 * A DH primitive on WebCrypto.
 *
 * @param platform The WebCrypto implementation.
 * @param dh The group.
 * @returns The primitive; private keys are `CryptoKey`s.
 */
export function webCryptoDh(platform: Platform, dh: NativeDh): DhPrimitive<CryptoKey> {
  const { subtle } = platform;
  const { algorithm } = dh;
  return {
    kind: "dh",
    seedLength: dh.seedLength,
    publicKeyLength: dh.publicKeyLength,
    async keyPair(seed): Promise<PrimitiveKeyPair<CryptoKey>> {
      const privateKey = await importSecret(platform, "pkcs8", dh.pkcs8(seed), algorithm, [
        "deriveBits",
      ]);
      return {
        privateKey,
        publicKey: await publicBytes(platform, privateKey, "raw", dh.jwkFields),
      };
    },
    async sharedSecret(privateKey, publicKey): Promise<Uint8Array> {
      const peer = await subtle.importKey("raw", view(publicKey), algorithm, true, []);
      return new Uint8Array(
        await subtle.deriveBits(
          { ...asObject(algorithm), public: peer },
          privateKey,
          dh.sharedBits,
        ),
      );
    },
    // A CryptoKey cannot be wiped from JavaScript; dropping it is all there is.
    dispose: () => {},
  };
}

/**
 * An ML-KEM primitive on WebCrypto.
 *
 * @param platform The WebCrypto implementation (with the modern-algorithm methods).
 * @param name The ML-KEM parameter set.
 * @param noble noble's primitive of the same set, for encapsulation with a given message.
 * @returns The primitive; private keys are `CryptoKey`s.
 */
export function webCryptoKem(
  platform: Platform,
  name: KeyExchangeName,
  noble: KemPrimitive,
): KemPrimitive<CryptoKey> {
  const { subtle } = platform;
  const encapsulateBits = subtle.encapsulateBits!.bind(subtle);
  const decapsulateBits = subtle.decapsulateBits!.bind(subtle);
  return {
    kind: "kem",
    seedLength: noble.seedLength,
    publicKeyLength: noble.publicKeyLength,
    ciphertextLength: noble.ciphertextLength,
    messageLength: noble.messageLength,
    ownRandomness: true,
    async keyPair(seed): Promise<PrimitiveKeyPair<CryptoKey>> {
      // FIPS 203 key generation from the seed d ‖ z, exactly as noble's keygen(seed).
      const privateKey = await importSecret(platform, "raw-seed", Uint8Array.from(seed), name, [
        "decapsulateBits",
      ]);
      return {
        privateKey,
        publicKey: await publicBytes(platform, privateKey, "raw-public", ["pub"]),
      };
    },
    async encapsulate(publicKey, message): Promise<Encapsulation> {
      // WebCrypto draws m itself; a given m (a seeded run) is encapsulated by noble.
      if (message !== undefined) return await noble.encapsulate(publicKey, message);
      const key = await subtle.importKey("raw-public", view(publicKey), name, true, [
        "encapsulateBits",
      ]);
      const { ciphertext, sharedKey } = await encapsulateBits(name, key);
      return { ciphertext: new Uint8Array(ciphertext), sharedSecret: new Uint8Array(sharedKey) };
    },
    async decapsulate(privateKey, ciphertext): Promise<Uint8Array> {
      return new Uint8Array(await decapsulateBits(name, privateKey, view(ciphertext)));
    },
    dispose: () => {},
  };
}

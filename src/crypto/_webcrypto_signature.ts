/**
 * WebCrypto signature primitives: Ed25519, and ML-DSA verification.
 *
 * Ed25519 keys come from the contract's seed, imported as PKCS #8, so they
 * and the (deterministic, RFC 8032) signatures equal noble's. WebCrypto
 * verifies with the cofactorless equation; the contract's strict rules make
 * its verdicts equal noble's.
 *
 * ML-DSA key generation and signing are noble's: WebCrypto cannot import the
 * expanded secret key a `SignatureKeyPair` holds, and it hedges with its own
 * randomness. ML-DSA verification is native.
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import type { RawKeyPair, SignaturePrimitive } from "./_primitives.ts";
import { hex, importSecret, type Platform, publicBytes, view } from "./_webcrypto_platform.ts";

const ED25519_PKCS8 = hex("302e020100300506032b657004220420");

/**
 * Ed25519 on WebCrypto.
 *
 * @param platform The WebCrypto implementation.
 * @param noble noble's primitive, for the lengths.
 * @returns The primitive.
 */
export function webCryptoEd25519(
  platform: Platform,
  noble: SignaturePrimitive,
): SignaturePrimitive {
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
    hedgeLength: 0,
    cofactored: false,
    async keyPair(seed): Promise<RawKeyPair> {
      // noble's Ed25519 secret key is the 32-byte seed (RFC 8032).
      const publicKey = await publicBytes(platform, await signingKey(seed), "raw", ["x"]);
      return { secretKey: Uint8Array.from(seed), publicKey };
    },
    async sign(message, secretKey): Promise<Uint8Array> {
      return new Uint8Array(
        await subtle.sign("Ed25519", await signingKey(secretKey), view(message)),
      );
    },
    async verify(signature, message, publicKey): Promise<boolean> {
      const key = await subtle.importKey("raw", view(publicKey), "Ed25519", true, ["verify"]);
      return await subtle.verify("Ed25519", key, view(signature), view(message));
    },
  };
}

/**
 * ML-DSA: keys and hedged signatures from noble, verification on WebCrypto.
 *
 * @param platform The WebCrypto implementation.
 * @param name The parameter set.
 * @param noble noble's primitive of the same set.
 * @returns The primitive.
 */
export function webCryptoMlDsa(
  platform: Platform,
  name: string,
  noble: SignaturePrimitive,
): SignaturePrimitive {
  const { subtle } = platform;
  return {
    ...noble,
    async verify(signature, message, publicKey): Promise<boolean> {
      const key = await subtle.importKey("raw-public", view(publicKey), name, true, ["verify"]);
      return await subtle.verify({ name }, key, view(signature), view(message));
    },
  };
}

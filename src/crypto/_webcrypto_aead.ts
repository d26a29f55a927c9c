/**
 * WebCrypto AEAD primitives: AES-256-GCM and ChaCha20-Poly1305.
 *
 * The key is imported once per cipher (non-extractable) and the contract's
 * copy wiped right after; a `CryptoKey` cannot be wiped from JavaScript, so
 * disposing drops the reference.
 *
 * @module
 */

import { TAG_LENGTH } from "./types.ts";
import type { AeadName } from "./types.ts";
import type { AeadPrimitive, AeadPrimitiveCipher } from "./_primitives.ts";
import { type Algorithm, importSecret, type Platform, view } from "./_webcrypto_platform.ts";

/** What one native AEAD needs: its WebCrypto name and key import format. */
export interface NativeAeadSpec {
  /** The WebCrypto algorithm name. */
  readonly algorithm: string;
  /** The import format of a raw key. */
  readonly format: string;
}

/** The AEADs WebCrypto may offer. */
export const AEAD_SPECS: Partial<Record<AeadName, NativeAeadSpec>> = {
  // WebCrypto's classic AES-GCM imports "raw"; ChaCha20-Poly1305 (modern algorithms) only "raw-secret".
  "AES-256-GCM": { algorithm: "AES-GCM", format: "raw" },
  "ChaCha20-Poly1305": { algorithm: "ChaCha20-Poly1305", format: "raw-secret" },
};

/**
 * An AEAD primitive on WebCrypto (12-byte nonces).
 *
 * @param platform The WebCrypto implementation.
 * @param spec The algorithm.
 * @returns The primitive.
 */
export function webCryptoAead(platform: Platform, spec: NativeAeadSpec): AeadPrimitive {
  const { subtle } = platform;
  return {
    nonceLength: 12,
    bind(key): AeadPrimitiveCipher {
      let imported: Promise<CryptoKey> | undefined = importSecret(
        { subtle, extractable: false },
        spec.format,
        key,
        spec.algorithm,
        ["encrypt", "decrypt"],
      );
      // A failed import surfaces at the first seal/open; never as an unhandled rejection.
      imported.catch(() => {});
      const params = (nonce: Uint8Array, aad: Uint8Array): Algorithm => ({
        name: spec.algorithm,
        iv: view(nonce),
        additionalData: view(aad),
      });
      return {
        async seal(nonce, plaintext, aad, output): Promise<Uint8Array<ArrayBuffer>> {
          const cryptoKey = await imported!;
          if (output !== undefined && subtle.encryptInto !== undefined) {
            await subtle.encryptInto(params(nonce, aad), cryptoKey, plaintext, output);
            return output;
          }
          const sealed = new Uint8Array(
            await subtle.encrypt(params(nonce, aad), cryptoKey, view(plaintext)),
          );
          if (sealed.length !== plaintext.length + TAG_LENGTH) throw new Error("wrong length");
          if (output === undefined) return sealed;
          output.set(sealed);
          return output;
        },
        async open(nonce, ciphertext, aad): Promise<Uint8Array<ArrayBuffer>> {
          const cryptoKey = await imported!;
          return new Uint8Array(
            await subtle.decrypt(params(nonce, aad), cryptoKey, view(ciphertext)),
          );
        },
        dispose(): void {
          imported = undefined;
        },
      };
    },
  };
}

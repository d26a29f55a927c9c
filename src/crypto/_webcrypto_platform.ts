/**
 * The WebCrypto surface the native primitives use, including the "modern
 * algorithms" additions (`getPublicKey`, `encapsulateBits`,
 * `decapsulateBits`, `raw-seed`) that the standard typings do not declare
 * yet, and the few helpers every WebCrypto primitive shares.
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";

/** A WebCrypto algorithm identifier: a name or a parameter object. */
export type Algorithm = string | { name: string; [parameter: string]: unknown };

/** `SubtleCrypto.supports(operation, algorithm)`, as a plain function. */
export type Supports = (operation: string, algorithm: Algorithm) => boolean;

/** The subset of `SubtleCrypto` the WebCrypto backend is written against. */
export interface NativeSubtle {
  /** `SubtleCrypto.importKey`. */
  importKey(
    format: string,
    keyData: BufferSource | JsonWebKey,
    algorithm: Algorithm,
    extractable: boolean,
    usages: string[],
  ): Promise<CryptoKey>;
  /** `SubtleCrypto.exportKey`. */
  exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer | JsonWebKey>;
  /** `SubtleCrypto.getPublicKey` (modern algorithms), where offered. */
  getPublicKey?(key: CryptoKey, usages: string[]): Promise<CryptoKey>;
  /** `SubtleCrypto.deriveBits`. */
  deriveBits(algorithm: Algorithm, key: CryptoKey, length: number): Promise<ArrayBuffer>;
  /** `SubtleCrypto.encapsulateBits` (modern algorithms), where offered. */
  encapsulateBits?(
    algorithm: Algorithm,
    key: CryptoKey,
  ): Promise<{ ciphertext: ArrayBuffer; sharedKey: ArrayBuffer }>;
  /** `SubtleCrypto.decapsulateBits` (modern algorithms), where offered. */
  decapsulateBits?(
    algorithm: Algorithm,
    key: CryptoKey,
    ciphertext: BufferSource,
  ): Promise<ArrayBuffer>;
  /** `SubtleCrypto.sign`. */
  sign(algorithm: Algorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  /** `SubtleCrypto.verify`. */
  verify(
    algorithm: Algorithm,
    key: CryptoKey,
    signature: BufferSource,
    data: BufferSource,
  ): Promise<boolean>;
  /** `SubtleCrypto.encrypt`. */
  encrypt(algorithm: Algorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  /**
   * Not WebCrypto: `encrypt` writing ciphertext and tag into `output`
   * (exactly `data.length + 16` bytes, which may alias `data`), for an
   * implementation that can spare the copy.
   */
  encryptInto?(
    algorithm: Algorithm,
    key: CryptoKey,
    data: Uint8Array,
    output: Uint8Array,
  ): Promise<void>;
  /** `SubtleCrypto.decrypt`. */
  decrypt(algorithm: Algorithm, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
}

/** One WebCrypto implementation and how a private key's public half is reached. */
export interface Platform {
  /** The implementation. */
  readonly subtle: NativeSubtle;
  /** Whether private keys must be extractable (no `getPublicKey`: the public half comes from JWK). */
  readonly extractable: boolean;
}

/** The platform of `subtle`. */
export function platformOf(subtle: NativeSubtle): Platform {
  return { subtle, extractable: typeof subtle.getPublicKey !== "function" };
}

/** WebCrypto wants ArrayBuffer-backed views; copy the rare view over a shared buffer. */
export function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : Uint8Array.from(bytes);
}

/** Bytes from hexadecimal text (constants only). */
export function hex(text: string): Uint8Array<ArrayBuffer> {
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

/** An algorithm identifier as a parameter object. */
export function asObject(algorithm: Algorithm): { name: string; [parameter: string]: unknown } {
  return typeof algorithm === "string" ? { name: algorithm } : algorithm;
}

/** Imports a private key from bytes that are wiped afterwards, whatever happens. */
export async function importSecret(
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
export async function publicBytes(
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

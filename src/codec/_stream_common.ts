/**
 * What the stream record sealer and opener share (PROTOCOL.md §5.1, §6):
 * lengths, the pre-key AEAD, the length mask and argument checks.
 *
 * @module
 */

import { chacha20 } from "@noble/ciphers/chacha.js";
import { CipherState } from "../crypto/cipher_state.ts";
import type { Aead, CryptoBackend, HashFunction } from "../crypto/types.ts";
import { assertBytes, assertInteger } from "./_bytes.ts";
import { PLAINTEXT_HEADER_LENGTH } from "./messages.ts";

/** Length of a stream record's (masked) length field, in bytes. */
export const RECORD_HEADER_LENGTH = 3;

/** Where a sealed record's ciphertext starts in the sealer's buffer (4-byte aligned). */
export const SEAL_OFFSET = 1 + RECORD_HEADER_LENGTH;

/** Smallest record length (ciphertext bytes) the wire format allows. */
export const MIN_RECORD_LENGTH = 17;

/** Default `maxRecordLength`: the largest ciphertext a record may carry. */
export const DEFAULT_MAX_RECORD_LENGTH = 65_536;

/** Largest `maxRecordLength` an option may set (the largest u24). */
export const MAX_RECORD_LENGTH = 0xff_ffff;

/** The AEAD of epoch 0 (pre-key protection). */
export const PRE_KEY_AEAD = "ChaCha20-Poly1305";

/** AEAD tag length of every registered AEAD. */
export const TAG_LENGTH = 16;

/** Smallest `maxRecordLength` an option may set: an empty body without padding. */
export const MIN_MAX_RECORD_LENGTH = PLAINTEXT_HEADER_LENGTH + TAG_LENGTH;

export const MASK_NONCE_LENGTH = 12;

/** Scratch for {@linkcode lengthMask}: the nonce and the all-zero input (public values). */
export const MASK_NONCE = new Uint8Array(MASK_NONCE_LENGTH);
export const MASK_NONCE_VIEW = new DataView(MASK_NONCE.buffer);
export const MASK_INPUT = new Uint8Array(RECORD_HEADER_LENGTH);

/** The length mask of record `index`: ChaCha20(headerKey, u32 0 ‖ u64 index)[0..3]. */
export function lengthMask(headerKey: Uint8Array, index: number): Uint8Array {
  // The scratch nonce is read synchronously by chacha20, so sharing it is safe.
  MASK_NONCE_VIEW.setUint32(4, Math.floor(index / 2 ** 32));
  MASK_NONCE_VIEW.setUint32(8, index >>> 0);
  const mask = new Uint8Array(RECORD_HEADER_LENGTH);
  chacha20(headerKey, MASK_NONCE, MASK_INPUT, mask);
  return mask;
}

/**
 * The backend's primitives for epoch 0, which are not negotiated: the
 * pre-key AEAD and the SHA-256 the pre-keys are derived with.
 */
export function preKeyPrimitives(
  context: string,
  backend: CryptoBackend,
): { readonly aead: Aead; readonly sha256: HashFunction } {
  if (
    typeof backend !== "object" || backend === null || typeof backend.aead !== "function" ||
    typeof backend.hash !== "function"
  ) {
    throw new TypeError(`Cannot ${context}: "backend" must be a CryptoBackend`);
  }
  const aead = backend.aead(PRE_KEY_AEAD);
  const sha256 = backend.hash("SHA-256");
  if (aead === undefined || sha256 === undefined) {
    throw new TypeError(`Cannot ${context}: "backend" does not offer ${PRE_KEY_AEAD} and SHA-256`);
  }
  return { aead, sha256 };
}

export function checkMaxRecordLength(context: string, value: number | undefined): number {
  const max = value ?? DEFAULT_MAX_RECORD_LENGTH;
  assertInteger(context, "maxRecordLength", max, MIN_MAX_RECORD_LENGTH, MAX_RECORD_LENGTH);
  return max;
}

export function checkGlobalSharedSecret(
  context: string,
  value: Uint8Array | undefined,
): Uint8Array | undefined {
  if (value !== undefined) assertBytes(context, "globalSharedSecret", value);
  return value;
}

export function checkCipher(context: string, cipher: unknown): asserts cipher is CipherState {
  if (!(cipher instanceof CipherState)) {
    throw new TypeError(`Cannot ${context}: "cipher" must be a CipherState`);
  }
}

/** One record cut from the byte stream, not yet decrypted. */
export interface SealedRecord {
  /** The record's index in its direction (0 for the first record after the salt). */
  readonly index: number;
  /** The clear 3-byte length field: the AEAD's associated data. */
  readonly header: Uint8Array;
  /** The ciphertext with its tag. */
  readonly ciphertext: Uint8Array;
}

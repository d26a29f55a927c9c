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

/**
 * Where a sealed record's ciphertext starts in the sealer's buffer (8-byte
 * aligned), behind the clear header (the AAD), two spare bytes and the
 * masked header.
 */
export const SEAL_OFFSET = 2 * RECORD_HEADER_LENGTH + 2;

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

/** Records whose length masks one ChaCha20 block holds (4 bytes each, the last unused). */
export const MASKS_PER_BLOCK = 16;

/** A ChaCha20 block, in bytes. */
const MASK_BLOCK_LENGTH = 64;

/** Scratch for chacha20, which reads and writes it synchronously: the nonce, zeros, the block (wiped after each use). */
const MASK_NONCE = new Uint8Array(MASK_NONCE_LENGTH);
const MASK_ZEROS = new Uint8Array(MASK_BLOCK_LENGTH);
const MASK_SCRATCH = new Uint8Array(MASK_BLOCK_LENGTH);

/**
 * Writes the keystream block that holds the length masks of records
 * `16·block` to `16·block + 15` into `out` (64 bytes; the scratch itself,
 * which the caller then wipes, or an array of its own):
 * `ChaCha20(key, nonce = u32 0 ‖ u64 block)` (PROTOCOL.md §5.1).
 */
function maskBlock(key: Uint8Array, block: number, out: Uint8Array): void {
  const high = Math.floor(block / 2 ** 32);
  const low = block >>> 0;
  MASK_NONCE[4] = high >>> 24;
  MASK_NONCE[5] = high >>> 16;
  MASK_NONCE[6] = high >>> 8;
  MASK_NONCE[7] = high;
  MASK_NONCE[8] = low >>> 24;
  MASK_NONCE[9] = low >>> 16;
  MASK_NONCE[10] = low >>> 8;
  MASK_NONCE[11] = low;
  chacha20(key, MASK_NONCE, MASK_ZEROS, MASK_SCRATCH);
  if (out === MASK_SCRATCH) return;
  out.set(MASK_SCRATCH);
  MASK_SCRATCH.fill(0);
}

/**
 * The length mask of record `index`: bytes `4·(index mod 16)` to `+3` of
 * `ChaCha20(headerKey, u32 0 ‖ u64 ⌊index / 16⌋)` (PROTOCOL.md §5.1).
 *
 * @param headerKey The 32-byte header key.
 * @param index The record's index in its direction.
 * @returns A fresh 3-byte mask.
 */
export function lengthMask(headerKey: Uint8Array, index: number): Uint8Array {
  const block = new Uint8Array(MASK_BLOCK_LENGTH);
  maskBlock(headerKey, Math.floor(index / MASKS_PER_BLOCK), block);
  const at = 4 * (index % MASKS_PER_BLOCK);
  const mask = block.slice(at, at + RECORD_HEADER_LENGTH);
  block.fill(0);
  return mask;
}

/**
 * The length masks of one stream direction under one header key: the masks
 * of the 16 records of the block being framed, computed with one ChaCha20
 * call (not one per record) and held as 16 numbers (an idle connection holds
 * no byte array for them).
 */
export class LengthMasks {
  readonly #key: Uint8Array;
  /** The block whose masks are held, or -1. */
  #block = -1;
  /** Made with the first record it masks: each record's 3 mask bytes as one number. */
  #masks: number[] | undefined;

  /** @param headerKey The header key (the owner wipes it; {@linkcode LengthMasks.dispose} wipes the masks). */
  constructor(headerKey: Uint8Array) {
    this.#key = headerKey;
  }

  /**
   * XORs the mask of record `index` into `target[at..at + 3]`.
   *
   * @param index The record's index in its direction.
   * @param target The bytes to mask or unmask.
   * @param at Where the 3 bytes start.
   */
  apply(index: number, target: Uint8Array, at: number): void {
    const block = Math.floor(index / MASKS_PER_BLOCK);
    const masks = this.#masks ??= new Array<number>(MASKS_PER_BLOCK).fill(0);
    if (block !== this.#block) {
      maskBlock(this.#key, block, MASK_SCRATCH);
      for (let i = 0; i < MASKS_PER_BLOCK; i++) {
        masks[i] = (MASK_SCRATCH[4 * i]! << 16) | (MASK_SCRATCH[4 * i + 1]! << 8) |
          MASK_SCRATCH[4 * i + 2]!;
      }
      MASK_SCRATCH.fill(0);
      this.#block = block;
    }
    const mask = masks[index % MASKS_PER_BLOCK]!;
    target[at]! ^= mask >>> 16;
    target[at + 1]! ^= mask >>> 8;
    target[at + 2]! ^= mask;
  }

  /** Wipes the masks held. */
  dispose(): void {
    this.#masks?.fill(0);
    this.#block = -1;
  }
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

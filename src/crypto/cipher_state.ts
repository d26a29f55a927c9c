/**
 * One direction's AEAD key with its record counter: the only place a nonce is made.
 *
 * Nonces are the 64-bit big-endian record counter, left-padded with zeros to
 * the AEAD's nonce length. Keys are unique per direction and epoch, so a
 * (key, nonce) pair never repeats as long as the counter never repeats: the
 * cipher state refuses to seal once the counter reaches its limit, before a
 * nonce could be reused, and a key update must happen first.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import type { Aead, AeadCipher } from "./types.ts";

const NOTHING: Promise<undefined> = Promise.resolve(undefined);

/** Default records per key and direction before `ERR_NONCE_EXHAUSTED` (2^32). */
export const DEFAULT_RECORD_LIMIT = 2 ** 32;

/**
 * The record limit of every epoch, a protocol constant (PROTOCOL.md §5.4):
 * a sender never seals more records under one key, and a receiver opens up
 * to this many whatever its own key-update settings say.
 */
export const EPOCH_RECORD_LIMIT = 2 ** 32;

/** The largest record limit a cipher state accepts (2^48, the datagram sequence space). */
export const MAX_RECORD_LIMIT = 2 ** 48;

/** Options for {@linkcode CipherState}. */
export interface CipherStateOptions {
  /** Records this key may seal or open; at most {@linkcode MAX_RECORD_LIMIT}. */
  limit?: number;
  /**
   * The counter of the first record (default 0), in `[0, limit]`. The
   * session always starts a key at 0; a later start serves tests that reach
   * counters near 2^16, 2^32 or 2^48 without sealing that many records. The
   * counters below it are never used with this key.
   */
  counter?: number;
}

/**
 * Writes the nonce for `counter` into a fresh array of `length` bytes.
 *
 * @param counter A record counter, a safe non-negative integer.
 * @param length The AEAD's nonce length (at least 8).
 * @returns The nonce: zeros, then the counter as a 64-bit big-endian integer.
 *
 * @example
 * ```ts
 * import { counterNonce } from "./cipher_state.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(counterNonce(258, 12), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]));
 * ```
 */
export function counterNonce(counter: number, length: number): Uint8Array<ArrayBuffer> {
  // Written byte by byte: no DataView (nor its ArrayBuffer) per record.
  const nonce = new Uint8Array(length);
  const high = Math.floor(counter / 2 ** 32);
  const low = counter >>> 0;
  nonce[length - 8] = high >>> 24;
  nonce[length - 7] = high >>> 16;
  nonce[length - 6] = high >>> 8;
  nonce[length - 5] = high;
  nonce[length - 4] = low >>> 24;
  nonce[length - 3] = low >>> 16;
  nonce[length - 2] = low >>> 8;
  nonce[length - 1] = low;
  return nonce;
}

/**
 * An AEAD key for one direction and one epoch, with a monotonic counter.
 *
 * Sealing uses the next counter value. Opening takes the counter the record
 * was sealed with (implicit on streams, explicit on datagrams); replay
 * checks belong to the caller.
 *
 * @example Sealing and opening with the same key
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { CipherState } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
 * const key = new Uint8Array(32).fill(7);
 * const sender = new CipherState(aead, key, 2);
 * const receiver = new CipherState(aead, key, 2);
 * const aad = new Uint8Array(0);
 * const sealed = await sender.seal(new TextEncoder().encode("hi"), aad);
 * const opened = await receiver.open(sealed.counter, sealed.ciphertext, aad);
 * assert.equal(new TextDecoder().decode(opened), "hi");
 * ```
 */
export class CipherState {
  readonly #cipher: AeadCipher;
  readonly #nonceLength: number;
  readonly #limit: number;
  readonly #epoch: number;
  #counter: number;
  #disposed = false;

  /**
   * Binds a key to a fresh counter.
   *
   * @param aead The AEAD algorithm.
   * @param key The key; copied by the AEAD, so the caller may wipe its copy.
   * @param epoch The epoch this key belongs to (0 = pre-key obfuscation).
   * @param options The record limit and the first counter.
   * @throws {RangeError} If the key length, the limit or the first counter is out of range.
   */
  constructor(aead: Aead, key: Uint8Array, epoch: number, options: CipherStateOptions = {}) {
    if (key.length !== aead.keyLength) {
      throw new RangeError(
        `Cannot create cipher state: "key" must be ${aead.keyLength} bytes, got ${key.length}`,
      );
    }
    const limit = options.limit ?? DEFAULT_RECORD_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RECORD_LIMIT) {
      throw new RangeError(
        `Cannot create cipher state: "limit" must be an integer in [1, 2^48], got ${limit}`,
      );
    }
    const counter = options.counter ?? 0;
    if (!Number.isSafeInteger(counter) || counter < 0 || counter > limit) {
      throw new RangeError(
        `Cannot create cipher state: "counter" must be an integer in [0, limit], got ${counter}`,
      );
    }
    this.#cipher = aead.createCipher(key);
    this.#nonceLength = aead.nonceLength;
    this.#limit = limit;
    this.#epoch = epoch;
    this.#counter = counter;
  }

  /** The epoch of this key. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The counter the next `seal()` will use. */
  get counter(): number {
    return this.#counter;
  }

  /** Records left before the limit. */
  get remaining(): number {
    return this.#limit - this.#counter;
  }

  /**
   * Seals one record with the next counter.
   *
   * @param plaintext The record plaintext.
   * @param aad Associated data (the record header).
   * @param output Where to write the ciphertext and tag (see {@linkcode AeadCipher.seal}).
   * @returns The counter used and the ciphertext with its tag.
   * @throws {SessionError} `ERR_NONCE_EXHAUSTED` at the limit, `ERR_SESSION_CLOSED` after dispose.
   */
  seal(
    plaintext: Uint8Array,
    aad: Uint8Array,
    output?: Uint8Array<ArrayBuffer>,
  ): Promise<{ counter: number; ciphertext: Uint8Array<ArrayBuffer> }> {
    // Not an async function: one promise hop per record fewer (this runs for every record).
    let sealing: Promise<Uint8Array<ArrayBuffer>>;
    let counter: number;
    try {
      this.#assertUsable();
      if (this.#counter >= this.#limit) {
        throw new SessionError(
          ErrorCode.NONCE_EXHAUSTED,
          `Cannot seal record: epoch ${this.#epoch} reached its limit of ${this.#limit} records`,
        );
      }
      counter = this.#counter++;
      sealing = this.#cipher.seal(counterNonce(counter, this.#nonceLength), plaintext, aad, output);
    } catch (error) {
      return Promise.reject(error);
    }
    return sealing.then((ciphertext) => ({ counter, ciphertext }));
  }

  /**
   * Opens a record sealed with `counter`.
   *
   * On a stream, pass {@linkcode CipherState.counter} and call
   * {@linkcode CipherState.advance} after success; on datagrams, pass the
   * record's sequence number after the replay check.
   *
   * @param counter The counter the record was sealed with.
   * @param ciphertext Ciphertext and tag.
   * @param aad Associated data (the record header).
   * @returns The plaintext, or `undefined` if authentication fails or the counter is out of range.
   */
  open(
    counter: number,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (this.#disposed || !Number.isSafeInteger(counter) || counter < 0 || counter >= this.#limit) {
      return NOTHING;
    }
    // The AEAD's own promise, passed through: no extra hop per record.
    try {
      return this.#cipher.open(counterNonce(counter, this.#nonceLength), ciphertext, aad);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Moves the receive counter past one opened in-order record.
   *
   * @throws {SessionError} `ERR_NONCE_EXHAUSTED` at the limit.
   */
  advance(): void {
    this.#assertUsable();
    if (this.#counter >= this.#limit) {
      throw new SessionError(
        ErrorCode.NONCE_EXHAUSTED,
        `Cannot open record: epoch ${this.#epoch} reached its limit of ${this.#limit} records`,
      );
    }
    this.#counter++;
  }

  /** Forgets the key. Later calls fail with `ERR_SESSION_CLOSED` (seal) or `undefined` (open). */
  dispose(): void {
    if (!this.#disposed) this.#cipher.dispose();
    this.#disposed = true;
  }

  #assertUsable(): void {
    if (this.#disposed) {
      throw new SessionError(
        ErrorCode.SESSION_CLOSED,
        `Cannot use cipher state: epoch ${this.#epoch} was disposed`,
      );
    }
  }
}

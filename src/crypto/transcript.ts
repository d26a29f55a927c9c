/**
 * The handshake transcript hash.
 *
 * `th = H("qgate/1 transcript" ‖ Σ (u8 type ‖ u32 length ‖ body))` over every
 * handshake message except noise, in order, meta exchange included. The
 * hash `H` is negotiated in the meta exchange, so the first messages are
 * buffered until {@linkcode Transcript.setHash} is called and then absorbed.
 *
 * @module
 */

import type { Hasher, HashFunction } from "./types.ts";

/** The label absorbed before the first message. */
export const TRANSCRIPT_LABEL = "qgate/1 transcript";

const LABEL_BYTES = new TextEncoder().encode(TRANSCRIPT_LABEL);
const MAX_U32 = 0xffff_ffff;

/**
 * The running transcript of one handshake.
 *
 * Before the hash is known, appended messages are kept (copied) in memory;
 * the meta exchange is two small messages, so this stays bounded by the
 * record size. After {@linkcode Transcript.setHash} they are absorbed and
 * later messages are hashed incrementally. The transcript holds only public
 * handshake messages, never secrets.
 *
 * @example Buffering before the hash is negotiated
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { Transcript } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const sha256 = nobleBackend.hash("SHA-256")!;
 * const early = new Transcript();
 * early.append(0x10, new Uint8Array([1, 2]));
 * early.setHash(sha256);
 * early.append(0x11, new Uint8Array([3]));
 *
 * const late = new Transcript();
 * late.setHash(sha256);
 * late.append(0x10, new Uint8Array([1, 2]));
 * late.append(0x11, new Uint8Array([3]));
 * assert.deepEqual(early.digest(), late.digest());
 * assert.equal(early.digest().length, 32);
 * ```
 */
export class Transcript {
  #pending: Uint8Array[] | undefined = [];
  #hasher: Hasher | undefined;
  #hash: HashFunction | undefined;
  #count = 0;

  /** The negotiated hash function, once set. */
  get hash(): HashFunction | undefined {
    return this.#hash;
  }

  /** Whether {@linkcode Transcript.setHash} was called, i.e. whether `digest()` works. */
  get hasHash(): boolean {
    return this.#hash !== undefined;
  }

  /** The number of messages appended so far. */
  get length(): number {
    return this.#count;
  }

  /**
   * Appends one handshake message (never noise).
   *
   * @param type The message type byte (`MESSAGE_TYPE`).
   * @param body The message body; copied if buffered, so the caller may reuse it.
   * @throws {RangeError} If `type` is not a byte or `body` is longer than 2^32 - 1 bytes.
   */
  append(type: number, body: Uint8Array): void {
    if (!Number.isInteger(type) || type < 0 || type > 0xff) {
      throw new RangeError(`Cannot append to transcript: "type" must be a byte, got ${type}`);
    }
    if (!(body instanceof Uint8Array)) {
      throw new TypeError(`Cannot append to transcript: "body" must be a Uint8Array`);
    }
    if (body.length > MAX_U32) {
      throw new RangeError(
        `Cannot append to transcript: "body" must be at most ${MAX_U32} bytes, got ${body.length}`,
      );
    }
    const header = new Uint8Array(5);
    header[0] = type;
    new DataView(header.buffer).setUint32(1, body.length);
    if (this.#hasher !== undefined) {
      this.#hasher.update(header).update(body);
    } else {
      this.#pending!.push(header, Uint8Array.from(body));
    }
    this.#count++;
  }

  /**
   * Fixes the hash function and absorbs the label and every buffered message.
   *
   * @param hash The negotiated hash function.
   * @throws {TypeError} If a hash function was already set.
   */
  setHash(hash: HashFunction): void {
    if (this.#hash !== undefined) {
      throw new TypeError(
        `Cannot set transcript hash: already set to ${this.#hash.name}`,
      );
    }
    const hasher = hash.create().update(LABEL_BYTES);
    for (const chunk of this.#pending!) hasher.update(chunk);
    this.#pending = undefined;
    this.#hash = hash;
    this.#hasher = hasher;
  }

  /**
   * The transcript hash of everything appended so far; appending may continue.
   *
   * @returns A fresh array of the hash's output length.
   * @throws {TypeError} If no hash function is set yet.
   */
  digest(): Uint8Array<ArrayBuffer> {
    if (this.#hasher === undefined) {
      throw new TypeError("Cannot compute transcript hash: no hash function set yet");
    }
    return this.#hasher.peek();
  }
}

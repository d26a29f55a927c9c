/**
 * The receiving side of stream records (PROTOCOL.md §5.1): {@linkcode FrameDecoder}
 * cuts the byte stream into records (any chunking, bounded memory),
 * {@linkcode RecordOpener} decrypts them one at a time so that the session
 * can switch receive keys between two records, and
 * {@linkcode FrameDecoderStream} wraps the decoder as a Web Stream.
 *
 * @module
 */

import { ErrorCode, FrameError, QGateError } from "../errors.ts";
import { CipherState } from "../crypto/cipher_state.ts";
import { derivePreKeys, SALT_LENGTH } from "../crypto/key_schedule.ts";
import type { Aead, CryptoBackend } from "../crypto/types.ts";
import { assertBytes, assertLength } from "./_bytes.ts";
import { decodePlaintext } from "./messages.ts";
import {
  checkCipher,
  checkGlobalSharedSecret,
  checkMaxRecordLength,
  lengthMask,
  LengthMasks,
  MIN_RECORD_LENGTH,
  preKeyPrimitives,
  RECORD_HEADER_LENGTH,
  type SealedRecord,
} from "./_stream_common.ts";

/** Options for {@linkcode FrameDecoder} and {@linkcode FrameDecoderStream}. */
export interface FrameDecoderOptions {
  /** The Global Shared Secret; must match the sender's. */
  globalSharedSecret?: Uint8Array;
  /** The largest ciphertext accepted; at most 16,777,215. Default 65,536. */
  maxRecordLength?: number;
}

/**
 * How a {@linkcode RecordOpener} receives its decoder's pre-key without the
 * key ever being reachable from public API: module-private, one-shot. With
 * `done`, the opener is disposed: the decoder also wipes a GSS it still holds
 * (the peer's salt never arrived).
 */
const PRE_KEY_TAKERS = new WeakMap<object, (done?: boolean) => Uint8Array | undefined>();

const PHASE_SALT = 0;
const PHASE_HEADER = 1;
const PHASE_BODY = 2;

/**
 * The receiving side's framing: cuts a byte stream into sealed records.
 *
 * It accepts any chunking: it first collects the 16-byte peer salt (and
 * derives the header and pre-keys from it), then unmasks each length and
 * returns each complete record. It holds at most one incomplete record
 * (`bufferedBytes` ≤ 3 + `maxRecordLength`), copies each byte at most once
 * and never keeps a reference to a pushed chunk.
 *
 * After an error the decoder is failed: every later call throws the same code.
 *
 * @example Any chunking gives the same records
 * ```ts
 * import { nobleBackend, seededRandom } from "@qgate/handshake";
 * import { FrameDecoder, RecordSealer } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const sealer = new RecordSealer({ backend: nobleBackend, random: seededRandom(new Uint8Array([2])) });
 * const wire = new Uint8Array([
 *   ...sealer.preamble(),
 *   ...await sealer.seal(0x70, new Uint8Array(20)),
 *   ...await sealer.seal(0x7f, new Uint8Array([0])),
 * ]);
 * const decoder = new FrameDecoder();
 * const records = [];
 * for (const byte of wire) records.push(...decoder.push(new Uint8Array([byte])));
 * decoder.finish();
 * assert.deepEqual(records.map((record) => record.index), [0, 1]);
 * assert.equal(records[0]!.ciphertext.length, 5 + 20 + 16);
 * ```
 */
export class FrameDecoder {
  readonly #maxRecordLength: number;
  /** A copy of the GSS, wiped as soon as the peer's salt has turned it into keys. */
  #globalSharedSecret: Uint8Array | undefined;
  /** The peer's salt while it arrives (dropped once it has made the keys). */
  #salt: Uint8Array | undefined = new Uint8Array(SALT_LENGTH);
  /** A header split across chunks, while it arrives (made the first time one is). */
  #header: Uint8Array | undefined;
  #headerKey: Uint8Array | undefined;
  /** The length masks of records 1 onwards (once the salt has made the header key). */
  #masks: LengthMasks | undefined;
  #openingHeaderKey: Uint8Array | undefined;
  #preKey: Uint8Array | undefined;
  #phase = PHASE_SALT;
  /** Bytes of the current part (salt, header or body) received so far. */
  #filled = 0;
  #body: Uint8Array | undefined;
  #bodyLength = 0;
  #clearHeader: Uint8Array | undefined;
  #index = 0;
  #failure: QGateError | undefined;
  #finished = false;

  /**
   * Creates a decoder waiting for the peer's salt.
   *
   * @param options The GSS and the record limit.
   * @throws {TypeError} If `globalSharedSecret` is not a `Uint8Array`.
   * @throws {RangeError} If `maxRecordLength` is not an integer in [21, 16,777,215].
   */
  constructor(options: FrameDecoderOptions = {}) {
    const context = "create frame decoder";
    this.#maxRecordLength = checkMaxRecordLength(context, options.maxRecordLength);
    const gss = checkGlobalSharedSecret(context, options.globalSharedSecret);
    this.#globalSharedSecret = gss === undefined ? undefined : Uint8Array.from(gss);
    PRE_KEY_TAKERS.set(this, (done) => this.#takePreKey(done));
  }

  /** Bytes of the incomplete salt or record currently held (header included). */
  get bufferedBytes(): number {
    return this.#phase === PHASE_BODY ? RECORD_HEADER_LENGTH + this.#filled : this.#filled;
  }

  /** Whether the peer's salt has arrived. */
  get hasSalt(): boolean {
    return this.#phase !== PHASE_SALT;
  }

  /** How many records this decoder has returned. */
  get recordIndex(): number {
    return this.#index;
  }

  /**
   * Consumes one chunk of the byte stream.
   *
   * A record that lies wholly inside `chunk` is returned as a view of it,
   * without a copy: the decoder takes the chunk over, as a stream reader
   * does, so do not change its bytes afterwards. A record spread over several
   * chunks is assembled in a fresh array.
   *
   * @param chunk Any number of bytes, including none.
   * @returns The records completed by this chunk, in order.
   * @throws {FrameError} `ERR_FRAME_TOO_LARGE` as soon as a length exceeds
   *   `maxRecordLength`; `ERR_MALFORMED_MESSAGE` for a length below 17; the
   *   same code again on every call after a failure. When the chunk completed
   *   records before the bad length, they are returned and the error comes
   *   with the next call.
   * @throws {TypeError} If `chunk` is not a `Uint8Array` or `finish()` was called.
   *
   * @example Rejecting an oversized length before the record arrives
   * ```ts
   * import { ErrorCode, FrameError, nobleBackend, systemRandom } from "@qgate/handshake";
   * import { FrameDecoder, RecordSealer } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const sealer = new RecordSealer({ backend: nobleBackend, random: systemRandom });
   * const record = await sealer.seal(0x70, new Uint8Array(200));
   * const decoder = new FrameDecoder({ maxRecordLength: 100 });
   * decoder.push(sealer.preamble());
   * const isTooLarge = (error: unknown) =>
   *   error instanceof FrameError && error.code === ErrorCode.FRAME_TOO_LARGE;
   * assert.throws(() => decoder.push(record.subarray(0, 3)), isTooLarge);
   * assert.throws(() => decoder.push(record.subarray(3)), isTooLarge); // stays failed
   * ```
   */
  push(chunk: Uint8Array): SealedRecord[] {
    this.#assertUsable("push");
    assertBytes("push to frame decoder", "chunk", chunk);
    const records: SealedRecord[] = [];
    try {
      let offset = 0;
      while (offset < chunk.length) offset = this.#step(chunk, offset, records);
    } catch (error) {
      this.#failure = error instanceof QGateError
        ? error
        : new FrameError(ErrorCode.MALFORMED_MESSAGE, "Cannot decode record", { cause: error });
      // Records completed before the error are still returned, and the error is
      // thrown by the next call: a consumer that opens records in order meets
      // the earliest problem first, however the bytes were chunked. Until then
      // the pre-key stays, so those records can still be opened.
      if (records.length === 0) {
        this.#release();
        throw this.#failure;
      }
      this.#body = undefined;
      this.#clearHeader = undefined;
    }
    return records;
  }

  /**
   * Declares the end of the byte stream.
   *
   * @throws {FrameError} `ERR_FRAME_TRUNCATED` if part of a salt or record
   *   remains; the earlier code if the decoder already failed.
   *
   * @example A truncated stream
   * ```ts
   * import { ErrorCode, FrameError } from "@qgate/handshake";
   * import { FrameDecoder } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const decoder = new FrameDecoder();
   * decoder.push(new Uint8Array(10));
   * assert.throws(
   *   () => decoder.finish(),
   *   (error) => error instanceof FrameError && error.code === ErrorCode.FRAME_TRUNCATED,
   * );
   * ```
   */
  finish(): void {
    if (this.#failure !== undefined) this.#assertUsable("finish");
    this.#finished = true;
    if (this.#filled !== 0 || this.#phase === PHASE_BODY) {
      this.#failure = new FrameError(
        ErrorCode.FRAME_TRUNCATED,
        `Cannot decode record: the stream ended inside ${
          this.#phase === PHASE_SALT ? "the salt" : `record ${this.#index}`
        }`,
      );
      this.#release();
      throw this.#failure;
    }
  }

  /** Drops buffered bytes and the untaken pre-key once the decoder has failed. */
  #release(): void {
    this.#body = undefined;
    this.#clearHeader = undefined;
    this.#phase = PHASE_HEADER;
    this.#filled = 0;
    this.#preKey?.fill(0);
    this.#preKey = undefined;
    this.#masks?.dispose();
    this.#wipeGlobalSharedSecret();
  }

  #wipeGlobalSharedSecret(): void {
    this.#globalSharedSecret?.fill(0);
    this.#globalSharedSecret = undefined;
  }

  #assertUsable(operation: string): void {
    const failure = this.#failure;
    if (failure !== undefined) {
      this.#release();
      throw new FrameError(failure.code, `Cannot ${operation}: the frame decoder failed earlier`, {
        cause: failure,
      });
    }
    if (this.#finished) throw new TypeError(`Cannot ${operation}: the frame decoder is finished`);
  }

  /** Consumes bytes of `chunk` from `offset` for the current part; returns the new offset. */
  #step(chunk: Uint8Array, offset: number, records: SealedRecord[]): number {
    if (this.#phase === PHASE_SALT) {
      const end = this.#fill(this.#salt!, chunk, offset);
      if (this.#filled === SALT_LENGTH) this.#onSalt();
      return end;
    }
    if (this.#phase === PHASE_HEADER) {
      if (this.#filled === 0 && chunk.length - offset >= RECORD_HEADER_LENGTH) {
        // The whole header is in this chunk: read it there.
        this.#onHeader(chunk, offset);
        return offset + RECORD_HEADER_LENGTH;
      }
      const header = this.#header ??= new Uint8Array(RECORD_HEADER_LENGTH);
      const end = this.#fill(header, chunk, offset);
      if (this.#filled === RECORD_HEADER_LENGTH) this.#onHeader(header, 0);
      return end;
    }
    const length = this.#bodyLength;
    let end: number;
    if (this.#filled === 0 && chunk.length - offset >= length) {
      // The whole record is in this chunk: take it without copying (a chunk
      // belongs to its reader once read, as streams hand chunks over).
      this.#body = chunk.subarray(offset, offset + length);
      this.#filled = length;
      end = offset + length;
    } else {
      this.#body ??= new Uint8Array(length);
      end = this.#fill(this.#body, chunk, offset);
    }
    const body = this.#body;
    if (this.#filled === body.length) {
      records.push({ index: this.#index++, header: this.#clearHeader!, ciphertext: body });
      this.#body = undefined;
      this.#clearHeader = undefined;
      this.#phase = PHASE_HEADER;
      this.#filled = 0;
    }
    return end;
  }

  #fill(target: Uint8Array, chunk: Uint8Array, offset: number): number {
    const take = Math.min(target.length - this.#filled, chunk.length - offset);
    target.set(chunk.subarray(offset, offset + take), this.#filled);
    this.#filled += take;
    return offset + take;
  }

  #onSalt(): void {
    const { preKey, headerKey, openingHeaderKey } = derivePreKeys(
      this.#salt!,
      this.#globalSharedSecret,
    );
    this.#salt = undefined;
    this.#wipeGlobalSharedSecret();
    this.#preKey = preKey;
    this.#headerKey = headerKey;
    this.#masks = new LengthMasks(headerKey);
    this.#openingHeaderKey = openingHeaderKey;
    this.#phase = PHASE_HEADER;
    this.#filled = 0;
  }

  /** Unmasks the header at `source[at..at + 3]` and checks its length. */
  #onHeader(source: Uint8Array, at: number): void {
    // Record 0 is framed with the GSS-free key (PROTOCOL.md §6); that key goes once used.
    const opening = this.#index === 0;
    const clear = source.slice(at, at + RECORD_HEADER_LENGTH);
    if (opening) {
      const mask = lengthMask(this.#openingHeaderKey!, 0);
      this.#openingHeaderKey?.fill(0);
      this.#openingHeaderKey = undefined;
      for (let i = 0; i < RECORD_HEADER_LENGTH; i++) clear[i]! ^= mask[i]!;
    } else {
      this.#masks!.apply(this.#index, clear, 0);
    }
    const length = (clear[0]! << 16) | (clear[1]! << 8) | clear[2]!;
    if (length > this.#maxRecordLength) {
      throw new FrameError(
        ErrorCode.FRAME_TOO_LARGE,
        `Cannot decode record ${this.#index}: length ${length} exceeds ${this.#maxRecordLength}`,
      );
    }
    if (length < MIN_RECORD_LENGTH) {
      throw new FrameError(
        ErrorCode.MALFORMED_MESSAGE,
        `Cannot decode record ${this.#index}: length ${length} is below ${MIN_RECORD_LENGTH}`,
      );
    }
    this.#clearHeader = clear;
    this.#bodyLength = length;
    this.#phase = PHASE_BODY;
    this.#filled = 0;
  }

  #takePreKey(done = false): Uint8Array | undefined {
    if (done) this.#wipeGlobalSharedSecret();
    const preKey = this.#preKey;
    this.#preKey = undefined;
    return preKey;
  }
}

/** A record {@linkcode RecordOpener} opened. */
export interface OpenedStreamRecord {
  /** The message type byte. */
  readonly type: number;
  /** The message body (aliases the record's fresh plaintext buffer). */
  readonly body: Uint8Array;
  /** The epoch whose cipher state opened it. */
  readonly epoch: number;
}

/** Options for {@linkcode RecordOpener}. */
export interface RecordOpenerOptions {
  /** The decoder whose records this opener decrypts; supplies the epoch-0 pre-key once. */
  decoder: FrameDecoder | FrameDecoderStream;
  /** Supplies ChaCha20-Poly1305 for epoch 0. */
  backend: CryptoBackend;
}

/**
 * The receiving side's decryption: opens the records of one
 * {@linkcode FrameDecoder} strictly in order.
 *
 * It starts in epoch 0 with the pre-key derived from the peer's salt (taken
 * from its decoder once, when the first record is opened; one opener per
 * decoder). The session switches to a new epoch between two records with
 * `setCipher()`. The record index and the cipher counter advance when
 * `open()` is called, so calls must follow record order.
 *
 * A failed open leaves the opener failed: every later call rejects with the
 * same code. No partial plaintext is ever returned.
 *
 * @example Opening records and switching epochs
 * ```ts
 * import { nobleBackend, seededRandom } from "@qgate/handshake";
 * import { FrameDecoder, RecordOpener, RecordSealer } from "@qgate/handshake/codec";
 * import { CipherState } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const aead = nobleBackend.aead("XChaCha20-Poly1305")!;
 * const key = new Uint8Array(32).fill(1);
 * const sealer = new RecordSealer({ backend: nobleBackend, random: seededRandom(new Uint8Array([3])) });
 * const decoder = new FrameDecoder();
 * const opener = new RecordOpener({ decoder, backend: nobleBackend });
 *
 * const first = await sealer.seal(0x21, new Uint8Array(32).fill(9));
 * sealer.setCipher(new CipherState(aead, key, 1));
 * const second = await sealer.seal(0x30, new Uint8Array(8).fill(7));
 *
 * const records = decoder.push(new Uint8Array([...sealer.preamble(), ...first, ...second]));
 * assert.equal((await opener.open(records[0]!)).type, 0x21);
 * opener.setCipher(new CipherState(aead, key, 1));
 * assert.equal((await opener.open(records[1]!)).type, 0x30);
 * ```
 */
export class RecordOpener {
  readonly #aead: Aead;
  readonly #takePreKey: (done?: boolean) => Uint8Array | undefined;
  #cipher: CipherState | undefined;
  #index = 0;
  #failure: QGateError | undefined;

  /**
   * Binds an opener to its decoder.
   *
   * @param options The decoder and the backend.
   * @throws {TypeError} If `decoder` is not a `FrameDecoder`/`FrameDecoderStream`
   *   or the backend lacks ChaCha20-Poly1305.
   */
  constructor(options: RecordOpenerOptions) {
    const context = "create record opener";
    this.#aead = preKeyPrimitives(context, options.backend).aead;
    const taker = PRE_KEY_TAKERS.get(options.decoder);
    if (taker === undefined) {
      throw new TypeError(
        `Cannot ${context}: "decoder" must be a FrameDecoder or FrameDecoderStream`,
      );
    }
    this.#takePreKey = taker;
  }

  /** The epoch of the current cipher state (0 until the first `setCipher()`). */
  get epoch(): number {
    return this.#cipher?.epoch ?? 0;
  }

  /** How many records have been opened (the next record's index). */
  get recordIndex(): number {
    return this.#index;
  }

  /**
   * Switches to a new epoch's cipher state for every later record.
   *
   * The opener takes ownership: it disposes the previous cipher state.
   *
   * @param cipher The cipher state of the new epoch.
   * @throws {TypeError} If `cipher` is not a `CipherState`.
   *
   * @example
   * ```ts
   * import { nobleBackend } from "@qgate/handshake";
   * import { FrameDecoder, RecordOpener } from "@qgate/handshake/codec";
   * import { CipherState } from "@qgate/handshake/crypto";
   * import assert from "node:assert/strict";
   *
   * const opener = new RecordOpener({ decoder: new FrameDecoder(), backend: nobleBackend });
   * opener.setCipher(new CipherState(nobleBackend.aead("AES-256-GCM")!, new Uint8Array(32), 2));
   * assert.equal(opener.epoch, 2);
   * ```
   */
  setCipher(cipher: CipherState): void {
    checkCipher("set cipher", cipher);
    if (cipher === this.#cipher) return;
    // Make sure the pre-key is taken (and wiped) even if no epoch-0 record was opened.
    this.#takePreKey()?.fill(0);
    this.#cipher?.dispose();
    this.#cipher = cipher;
  }

  /**
   * Decrypts the next record.
   *
   * @param record The next record from this opener's decoder.
   * @returns The message type and body (the body aliases a fresh plaintext
   *   buffer), and the epoch whose cipher state opened it.
   * @throws {FrameError} `ERR_DECRYPT_FAILED` if the record does not
   *   authenticate (forged, corrupted, wrong key or GSS);
   *   `ERR_MALFORMED_MESSAGE` if its plaintext does not parse; the earlier
   *   code on every call after a failure.
   * @throws {SessionError} `ERR_NONCE_EXHAUSTED` at the epoch's record limit.
   * @throws {RangeError} If `record` is not the next record in order.
   * @throws {TypeError} If the decoder has not received the salt yet.
   *
   * @example A corrupted record fails to authenticate
   * ```ts
   * import { ErrorCode, FrameError, nobleBackend, systemRandom } from "@qgate/handshake";
   * import { FrameDecoder, RecordOpener, RecordSealer } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const sealer = new RecordSealer({ backend: nobleBackend, random: systemRandom });
   * const decoder = new FrameDecoder();
   * const opener = new RecordOpener({ decoder, backend: nobleBackend });
   * const record = await sealer.seal(0x7f, new Uint8Array([0]));
   * record[record.length - 1]! ^= 1; // flip a bit of the tag
   * const [sealed] = decoder.push(new Uint8Array([...sealer.preamble(), ...record]));
   * await assert.rejects(
   *   opener.open(sealed!),
   *   (error) => error instanceof FrameError && error.code === ErrorCode.DECRYPT_FAILED,
   * );
   * ```
   */
  open(record: SealedRecord): Promise<OpenedStreamRecord> {
    try {
      this.#assertUsable();
      if (typeof record !== "object" || record === null) {
        throw new TypeError(`Cannot open record: "record" must be a SealedRecord`);
      }
      assertLength("open record", "record.header", record.header, RECORD_HEADER_LENGTH);
      assertBytes("open record", "record.ciphertext", record.ciphertext);
      if (record.index !== this.#index) {
        throw new RangeError(
          `Cannot open record: expected record ${this.#index}, got ${String(record.index)}`,
        );
      }
      const cipher = this.#currentCipher();
      // Counter and index advance now, so that calls in record order stay consistent.
      const counter = cipher.counter;
      const epoch = cipher.epoch;
      cipher.advance();
      this.#index++;
      return cipher.open(counter, record.ciphertext, record.header).then(
        (plaintext) => this.#finishOpen(record.index, epoch, plaintext),
        (error) =>
          this.#fail(
            new FrameError(ErrorCode.DECRYPT_FAILED, "Cannot open record", { cause: error }),
          ),
      );
    } catch (error) {
      if (error instanceof QGateError) this.#failure ??= error;
      return Promise.reject(error);
    }
  }

  #finishOpen(
    index: number,
    epoch: number,
    plaintext: Uint8Array | undefined,
  ): OpenedStreamRecord {
    this.#assertUsable();
    if (plaintext === undefined) {
      this.#fail(
        new FrameError(
          ErrorCode.DECRYPT_FAILED,
          `Cannot open record ${index}: authentication failed`,
        ),
      );
    }
    try {
      const { type, body } = decodePlaintext(plaintext);
      return { type, body, epoch };
    } catch (error) {
      plaintext.fill(0);
      if (error instanceof FrameError) this.#fail(error);
      throw error;
    }
  }

  #currentCipher(): CipherState {
    if (this.#cipher === undefined) {
      const preKey = this.#takePreKey();
      if (preKey === undefined) {
        throw new TypeError("Cannot open record: the decoder has not received the peer salt");
      }
      this.#cipher = new CipherState(this.#aead, preKey, 0);
      preKey.fill(0);
    }
    return this.#cipher;
  }

  #fail(error: QGateError): never {
    this.#failure ??= error;
    throw error;
  }

  #assertUsable(): void {
    const failure = this.#failure;
    if (failure !== undefined) {
      throw new FrameError(failure.code, "Cannot open record: the record opener failed earlier", {
        cause: failure,
      });
    }
  }

  /**
   * Disposes the current cipher state and wipes an untaken pre-key, and the
   * decoder's copy of the GSS if the peer's salt never arrived.
   */
  dispose(): void {
    this.#takePreKey(true)?.fill(0);
    this.#cipher?.dispose();
  }
}

/**
 * Cuts a byte stream into sealed records as a `TransformStream`; pair it
 * with a {@linkcode RecordOpener} (pass the stream as its `decoder`).
 *
 * Framing errors, and a stream that ends inside a record, error the stream
 * through `controller.error` with the decoder's `FrameError`.
 *
 * @example A truncated stream errors the readable side
 * ```ts
 * import { ErrorCode, FrameError } from "@qgate/handshake";
 * import { FrameDecoderStream } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const records = ReadableStream.from([new Uint8Array(16), new Uint8Array(2)])
 *   .pipeThrough(new FrameDecoderStream());
 * await assert.rejects(
 *   Array.fromAsync(records),
 *   (error) => error instanceof FrameError && error.code === ErrorCode.FRAME_TRUNCATED,
 * );
 * ```
 */
export class FrameDecoderStream extends TransformStream<Uint8Array, SealedRecord> {
  readonly #decoder: FrameDecoder;

  /**
   * Creates the stream and its decoder.
   *
   * @param options As for {@linkcode FrameDecoder}.
   * @throws {TypeError} {RangeError} As {@linkcode FrameDecoder}'s constructor.
   */
  constructor(options: FrameDecoderOptions = {}) {
    const decoder = new FrameDecoder(options);
    super({
      transform(chunk, controller): void {
        try {
          for (const record of decoder.push(chunk)) controller.enqueue(record);
        } catch (error) {
          controller.error(error);
        }
      },
      flush(controller): void {
        try {
          decoder.finish();
        } catch (error) {
          controller.error(error);
        }
      },
    });
    this.#decoder = decoder;
    PRE_KEY_TAKERS.set(this, PRE_KEY_TAKERS.get(decoder)!);
  }

  /** Bytes of the incomplete salt or record currently held (header included). */
  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }
}

/**
 * The sending side of stream records (PROTOCOL.md §5.1): {@linkcode RecordSealer}
 * and its Web Stream, {@linkcode FrameEncoderStream}.
 *
 * @module
 */

import { CipherState } from "../crypto/cipher_state.ts";
import { derivePreKeys, SALT_LENGTH } from "../crypto/key_schedule.ts";
import type { CryptoBackend, RandomSource } from "../crypto/types.ts";
import { assertBytes, assertInteger, assertLength } from "./_bytes.ts";
import {
  PLAINTEXT_HEADER_LENGTH,
  plaintextLength as checkedPlaintextLength,
  writePlaintext,
} from "./messages.ts";
import {
  checkCipher,
  checkGlobalSharedSecret,
  checkMaxRecordLength,
  lengthMask,
  LengthMasks,
  MAX_RECORD_LENGTH,
  preKeyPrimitives,
  RECORD_HEADER_LENGTH,
  SEAL_OFFSET,
  TAG_LENGTH,
} from "./_stream_common.ts";

/** Options for {@linkcode RecordSealer} and {@linkcode FrameEncoderStream}. */
export interface RecordSealerOptions {
  /** Supplies ChaCha20-Poly1305 for epoch 0. */
  backend: CryptoBackend;
  /** Draws the 16-byte salt. */
  random: RandomSource;
  /** The Global Shared Secret; both peers must use the same one (or none). */
  globalSharedSecret?: Uint8Array;
  /** The largest ciphertext a record may carry; at most 16,777,215. Default 65,536. */
  maxRecordLength?: number;
}

/**
 * The sending side of one stream direction: the salt preamble, then records
 * sealed under the current epoch's cipher state.
 *
 * Records must be written to the transport in the order `seal()` was
 * called; the record index and the cipher counter are taken synchronously
 * when `seal()` is called, so concurrent calls stay consistent.
 *
 * @example Sealing and decoding a record
 * ```ts
 * import { nobleBackend, seededRandom } from "@qgate/handshake";
 * import { FrameDecoder, MESSAGE_TYPE, RecordOpener, RecordSealer } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const sealer = new RecordSealer({ backend: nobleBackend, random: seededRandom(new Uint8Array([1])) });
 * const decoder = new FrameDecoder();
 * const opener = new RecordOpener({ decoder, backend: nobleBackend });
 *
 * assert.deepEqual(decoder.push(sealer.preamble()), []);
 * const bytes = await sealer.seal(MESSAGE_TYPE.close, new Uint8Array([0]), 4);
 * assert.equal(bytes.length, 3 + 5 + 1 + 4 + 16);
 * const [record] = decoder.push(bytes);
 * const { type, body } = await opener.open(record!);
 * assert.equal(type, MESSAGE_TYPE.close);
 * assert.deepEqual(body, new Uint8Array([0]));
 * ```
 */
export class RecordSealer {
  readonly #salt: Uint8Array<ArrayBuffer>;
  readonly #headerKey: Uint8Array;
  /** The length masks of records 1 onwards. */
  readonly #masks: LengthMasks;
  /** Frames record 0 only; dropped once used. */
  #openingHeaderKey: Uint8Array | undefined;
  readonly #maxRecordLength: number;
  #cipher: CipherState;
  #index = 0;

  /**
   * Draws the salt and derives the epoch-0 keys.
   *
   * @param options The backend, random source, GSS and record limit.
   * @throws {TypeError} If the backend lacks ChaCha20-Poly1305, `random` is
   *   not a function or `globalSharedSecret` is not a `Uint8Array`.
   * @throws {RangeError} If `maxRecordLength` is not an integer in
   *   [21, 16,777,215] or `random` returns the wrong number of bytes.
   */
  constructor(options: RecordSealerOptions) {
    const context = "create record sealer";
    const { aead, sha256 } = preKeyPrimitives(context, options.backend);
    if (typeof options.random !== "function") {
      throw new TypeError(`Cannot ${context}: "random" must be a function`);
    }
    this.#maxRecordLength = checkMaxRecordLength(context, options.maxRecordLength);
    const gss = checkGlobalSharedSecret(context, options.globalSharedSecret);
    const salt = options.random(SALT_LENGTH);
    assertLength(context, "random(16)", salt, SALT_LENGTH);
    this.#salt = Uint8Array.from(salt);
    const { preKey, headerKey, openingHeaderKey } = derivePreKeys(this.#salt, gss, sha256);
    this.#headerKey = headerKey;
    this.#masks = new LengthMasks(headerKey);
    this.#openingHeaderKey = openingHeaderKey;
    this.#cipher = new CipherState(aead, preKey, 0);
    preKey.fill(0);
  }

  /**
   * Returns the 16-byte salt, the first bytes this direction sends.
   *
   * @returns A fresh copy of the salt.
   *
   * @example
   * ```ts
   * import { nobleBackend, systemRandom } from "@qgate/handshake";
   * import { RecordSealer } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const sealer = new RecordSealer({ backend: nobleBackend, random: systemRandom });
   * assert.equal(sealer.preamble().length, 16);
   * ```
   */
  preamble(): Uint8Array<ArrayBuffer> {
    return this.#salt.slice();
  }

  /** The epoch of the current cipher state (0 until the first `setCipher()`). */
  get epoch(): number {
    return this.#cipher.epoch;
  }

  /** How many records this sealer has sealed (the next record's index). */
  get recordIndex(): number {
    return this.#index;
  }

  /** The largest ciphertext a record may carry. */
  get maxRecordLength(): number {
    return this.#maxRecordLength;
  }

  /**
   * The largest body a record can carry with `paddingLength` bytes of padding.
   *
   * @param paddingLength Padding bytes the record will carry.
   * @returns `maxRecordLength - 21 - paddingLength`, or a negative number if the padding alone is too large.
   *
   * @example
   * ```ts
   * import { nobleBackend, systemRandom } from "@qgate/handshake";
   * import { RecordSealer } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const sealer = new RecordSealer({ backend: nobleBackend, random: systemRandom });
   * assert.equal(sealer.maxBodyLength(0), 65_536 - 21);
   * ```
   */
  maxBodyLength(paddingLength = 0): number {
    return this.#maxRecordLength - PLAINTEXT_HEADER_LENGTH - TAG_LENGTH - paddingLength;
  }

  /**
   * Switches to a new epoch's cipher state for every later record.
   *
   * The sealer takes ownership: it disposes the previous cipher state.
   *
   * @param cipher The cipher state of the new epoch.
   * @throws {TypeError} If `cipher` is not a `CipherState`.
   *
   * @example
   * ```ts
   * import { nobleBackend, systemRandom } from "@qgate/handshake";
   * import { RecordSealer } from "@qgate/handshake/codec";
   * import { CipherState } from "@qgate/handshake/crypto";
   * import assert from "node:assert/strict";
   *
   * const sealer = new RecordSealer({ backend: nobleBackend, random: systemRandom });
   * const aead = nobleBackend.aead("AES-256-GCM")!;
   * sealer.setCipher(new CipherState(aead, new Uint8Array(32), 1));
   * assert.equal(sealer.epoch, 1);
   * ```
   */
  setCipher(cipher: CipherState): void {
    checkCipher("set cipher", cipher);
    if (cipher === this.#cipher) return;
    this.#cipher.dispose();
    this.#cipher = cipher;
  }

  /**
   * Seals one record: `maskedLength ‖ ciphertext`.
   *
   * @param type The message type byte.
   * @param body The encoded message body, whole or as parts to concatenate
   *   (large application data is then copied once, into the record).
   * @param paddingLength Zero bytes to append inside the ciphertext.
   * @returns A fresh view of `3 + 5 + body length + paddingLength + 16` bytes.
   * @throws {RangeError} If the record would exceed `maxRecordLength`, or
   *   `type`/`paddingLength` is out of range (thrown synchronously from this
   *   async method, so it rejects the promise).
   * @throws {SessionError} `ERR_NONCE_EXHAUSTED` when the epoch's record
   *   limit is reached.
   *
   * @example Noise and data of the same length look alike
   * ```ts
   * import { nobleBackend, systemRandom } from "@qgate/handshake";
   * import { MESSAGE_TYPE, RecordSealer } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const sealer = new RecordSealer({ backend: nobleBackend, random: systemRandom });
   * const noise = await sealer.seal(MESSAGE_TYPE.noise, systemRandom(10));
   * const data = await sealer.seal(MESSAGE_TYPE.close, new Uint8Array([0]), 9);
   * assert.equal(noise.length, data.length);
   * ```
   */
  seal(
    type: number,
    body: Uint8Array | readonly Uint8Array[],
    paddingLength = 0,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const context = "seal record";
    try {
      assertInteger(context, "type", type, 0, 0xff);
      if (body instanceof Uint8Array) assertBytes(context, "body", body);
      assertInteger(context, "paddingLength", paddingLength, 0, MAX_RECORD_LENGTH);
      const plaintextLength = checkedPlaintextLength(type, body, paddingLength);
      const length = plaintextLength + TAG_LENGTH;
      if (length > this.#maxRecordLength) {
        throw new RangeError(
          `Cannot ${context}: record of ${length} bytes exceeds "maxRecordLength" ${this.#maxRecordLength}`,
        );
      }
      // One allocation, sealed in place:
      // [clear header (the AAD)][2 spare bytes][masked header][ciphertext ‖ tag].
      // The spare bytes put the ciphertext on an 8-byte boundary (noble's fast
      // path needs 4). The record is the view from the masked header on; the
      // clear header stays in front of it, never written again.
      const buffer = new Uint8Array(SEAL_OFFSET + length);
      const header = buffer.subarray(0, RECORD_HEADER_LENGTH);
      header[0] = length >>> 16;
      header[1] = length >>> 8;
      header[2] = length;
      const sealed = buffer.subarray(SEAL_OFFSET);
      const plaintext = sealed.subarray(0, plaintextLength);
      writePlaintext(plaintext, type, body);
      // Index and counter are taken now, before any await: call order = wire order.
      const index = this.#index++;
      const sealing = this.#cipher.seal(plaintext, header, sealed);
      // The masked length goes in front of the ciphertext now (the clear one is the AAD).
      const record = buffer.subarray(SEAL_OFFSET - RECORD_HEADER_LENGTH);
      record.set(header);
      this.#mask(index, record);
      return sealing.then(({ ciphertext }) => {
        if (ciphertext.length !== length) {
          throw new TypeError(`Cannot ${context}: the AEAD's tag is not ${TAG_LENGTH} bytes`);
        }
        // An AEAD that ignores `output` returns its own array: copy it in.
        if (ciphertext.buffer !== buffer.buffer || ciphertext.byteOffset !== SEAL_OFFSET) {
          sealed.set(ciphertext);
        }
        return record;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Forgets the header keys and disposes the current cipher state. Later seals reject. */
  dispose(): void {
    this.#headerKey.fill(0);
    this.#masks.dispose();
    this.#openingHeaderKey?.fill(0);
    this.#openingHeaderKey = undefined;
    this.#cipher.dispose();
  }

  /**
   * Masks record `index`'s length in `record[0..3]`. Record 0 is framed with
   * the GSS-free key (PROTOCOL.md §6); that key goes once used.
   */
  #mask(index: number, record: Uint8Array): void {
    if (index !== 0) return this.#masks.apply(index, record, 0);
    // (After dispose() both keys are gone and the seal rejects anyway.)
    const mask = lengthMask(this.#openingHeaderKey ?? this.#headerKey, 0);
    this.#openingHeaderKey?.fill(0);
    this.#openingHeaderKey = undefined;
    for (let i = 0; i < RECORD_HEADER_LENGTH; i++) record[i]! ^= mask[i]!;
  }
}

/** What {@linkcode FrameEncoderStream} accepts: one record to seal. */
export interface RecordInput {
  /** The message type byte. */
  type: number;
  /** The encoded message body. */
  body: Uint8Array;
  /** Zero bytes to append inside the ciphertext. Default 0. */
  paddingLength?: number;
  /** Switch to this cipher state right after sealing this record (the sealer takes ownership). */
  nextCipher?: CipherState;
}

/**
 * Seals records as a `TransformStream`: writes the salt preamble first, then
 * one sealed record per input.
 *
 * A key switch travels with the record after which it happens
 * (`nextCipher`), so it can never overtake records still queued in the
 * stream. Errors (a record too large, nonce exhaustion) error the stream
 * through `controller.error`; nothing is thrown out of a callback.
 *
 * @example Encoding then decoding with streams
 * ```ts
 * import { nobleBackend, seededRandom } from "@qgate/handshake";
 * import { FrameDecoderStream, FrameEncoderStream, MESSAGE_TYPE } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const encoder = new FrameEncoderStream({ backend: nobleBackend, random: seededRandom(new Uint8Array([4])) });
 * const records = await Array.fromAsync(
 *   ReadableStream.from([
 *     { type: MESSAGE_TYPE.noise, body: new Uint8Array(12) },
 *     { type: MESSAGE_TYPE.close, body: new Uint8Array([0]), paddingLength: 11 },
 *   ])
 *     .pipeThrough(encoder)
 *     .pipeThrough(new FrameDecoderStream()),
 * );
 * assert.equal(records.length, 2);
 * assert.equal(records[0]!.ciphertext.length, records[1]!.ciphertext.length);
 * ```
 */
export class FrameEncoderStream extends TransformStream<RecordInput, Uint8Array<ArrayBuffer>> {
  readonly #sealer: RecordSealer;

  /**
   * Creates the stream and its sealer.
   *
   * @param options As for {@linkcode RecordSealer}.
   * @throws {TypeError} {RangeError} As {@linkcode RecordSealer}'s constructor.
   */
  constructor(options: RecordSealerOptions) {
    const sealer = new RecordSealer(options);
    super({
      start(controller): void {
        controller.enqueue(sealer.preamble());
      },
      async transform(input, controller): Promise<void> {
        try {
          if (typeof input !== "object" || input === null) {
            throw new TypeError(`Cannot seal record: input must be a RecordInput`);
          }
          controller.enqueue(await sealer.seal(input.type, input.body, input.paddingLength ?? 0));
          if (input.nextCipher !== undefined) sealer.setCipher(input.nextCipher);
        } catch (error) {
          sealer.dispose();
          controller.error(error);
        }
      },
      flush(): void {
        sealer.dispose();
      },
    });
    this.#sealer = sealer;
  }

  /** The epoch of the cipher state used for the next record. */
  get epoch(): number {
    return this.#sealer.epoch;
  }

  /** The largest ciphertext a record may carry. */
  get maxRecordLength(): number {
    return this.#sealer.maxRecordLength;
  }
}

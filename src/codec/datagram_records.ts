/**
 * The record layer on datagram transports (PROTOCOL.md §5.2): one record per datagram, with an explicit epoch and sequence
 * number so that loss and reordering are tolerated.
 *
 * ```
 * datagram = [salt (16)] ‖ maskedHeader (8) ‖ ciphertext
 * header   = u16 epoch ‖ u48 sequence
 * mask     = ChaCha20(headerKey, nonce = ciphertext[0..12])[0..8]
 * ```
 *
 * Epoch-0 datagrams carry the sender's salt in front (any of them may be the
 * first to arrive); later ones do not. The clear header is the AEAD's
 * associated data and the sequence number is the AEAD counter. A receiver
 * keeps a 1,024-record replay window per epoch, and the previous epoch's
 * keys until a grace deadline so that datagrams reordered across a key
 * switch still open.
 *
 * @module
 */

import { chacha20 } from "@noble/ciphers/chacha.js";
import { ErrorCode, FrameError } from "../errors.ts";
import { CipherState } from "../crypto/cipher_state.ts";
import { derivePreKeys, SALT_LENGTH } from "../crypto/key_schedule.ts";
import type { Aead, CryptoBackend, HashFunction, RandomSource } from "../crypto/types.ts";
import { assertBytes, assertInteger, assertLength, ByteReader, equalBytes } from "./_bytes.ts";
import {
  decodePlaintext,
  encodePlaintext,
  PLAINTEXT_HEADER_LENGTH,
  plaintextLength as checkedPlaintextLength,
} from "./messages.ts";
import { ReplayWindow } from "./replay_window.ts";
import { MIN_RECORD_LENGTH } from "./stream_records.ts";
import { preKeyPrimitives } from "./_stream_common.ts";

/** Length of a datagram's (masked) header: u16 epoch ‖ u48 sequence. */
export const DATAGRAM_HEADER_LENGTH = 8;

/** Default `maxDatagramLength`: the largest UDP payload over IPv4. */
export const DEFAULT_MAX_DATAGRAM_LENGTH = 65_507;

/** Default time the previous epoch's keys stay usable after a switch, in milliseconds. */
export const DEFAULT_EPOCH_GRACE_MS = 10_000;

/** The largest epoch a datagram header can carry (u16). */
export const MAX_DATAGRAM_EPOCH = 0xffff;

const TAG_LENGTH = 16;
const MASK_NONCE_LENGTH = 12;
/** The smallest sensible `maxDatagramLength`: a salted record with an empty body. */
const MIN_MAX_DATAGRAM_LENGTH = SALT_LENGTH + DATAGRAM_HEADER_LENGTH + PLAINTEXT_HEADER_LENGTH +
  TAG_LENGTH;

function headerMask(headerKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return chacha20(
    headerKey,
    ciphertext.subarray(0, MASK_NONCE_LENGTH),
    new Uint8Array(DATAGRAM_HEADER_LENGTH),
  );
}

function checkCommon(
  context: string,
  options: { globalSharedSecret?: Uint8Array; maxDatagramLength?: number },
): { gss: Uint8Array | undefined; maxDatagramLength: number } {
  const maxDatagramLength = options.maxDatagramLength ?? DEFAULT_MAX_DATAGRAM_LENGTH;
  assertInteger(
    context,
    "maxDatagramLength",
    maxDatagramLength,
    MIN_MAX_DATAGRAM_LENGTH,
    DEFAULT_MAX_DATAGRAM_LENGTH,
  );
  const gss = options.globalSharedSecret;
  if (gss !== undefined) assertBytes(context, "globalSharedSecret", gss);
  return { gss: gss === undefined ? undefined : Uint8Array.from(gss), maxDatagramLength };
}

function checkNextCipher(context: string, cipher: unknown, currentEpoch: number | undefined): void {
  if (!(cipher instanceof CipherState)) {
    throw new TypeError(`Cannot ${context}: "cipher" must be a CipherState`);
  }
  const min = currentEpoch === undefined ? 0 : currentEpoch + 1;
  if (cipher.epoch < min || cipher.epoch > MAX_DATAGRAM_EPOCH) {
    throw new RangeError(
      `Cannot ${context}: "cipher.epoch" must be in [${min}, ${MAX_DATAGRAM_EPOCH}], got ${cipher.epoch}`,
    );
  }
}

/** Options for {@linkcode DatagramSealer}. */
export interface DatagramSealerOptions {
  /** Supplies ChaCha20-Poly1305 for epoch 0. */
  backend: CryptoBackend;
  /** Draws the 16-byte salt. */
  random: RandomSource;
  /** The Global Shared Secret; both peers must use the same one (or none). */
  globalSharedSecret?: Uint8Array;
  /** The largest datagram to produce; at most 65,507 (the default). */
  maxDatagramLength?: number;
}

/**
 * The sending side of one datagram direction: each `seal()` returns one
 * self-contained datagram.
 *
 * The sequence number is the current cipher state's counter, taken when
 * `seal()` is called.
 *
 * @example Sealing and opening a datagram
 * ```ts
 * import { nobleBackend, seededRandom } from "@qgate/handshake";
 * import { DatagramOpener, DatagramSealer } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const sealer = new DatagramSealer({ backend: nobleBackend, random: seededRandom(new Uint8Array([1])) });
 * const opener = new DatagramOpener({ backend: nobleBackend, now: () => 0 });
 * const datagram = await sealer.seal(0x7f, new Uint8Array([0]));
 * assert.equal(datagram.length, 16 + 8 + 5 + 1 + 16);
 * assert.deepEqual(await opener.open(datagram), {
 *   epoch: 0,
 *   sequence: 0,
 *   type: 0x7f,
 *   body: new Uint8Array([0]),
 * });
 * ```
 */
export class DatagramSealer {
  readonly #salt: Uint8Array<ArrayBuffer>;
  readonly #headerKey: Uint8Array;
  readonly #maxDatagramLength: number;
  #cipher: CipherState;
  /** The epoch before the current one, kept to retransmit a flight sent under it. */
  #previous: CipherState | undefined;

  /**
   * Draws the salt and derives the epoch-0 keys.
   *
   * @param options The backend, random source, GSS and size limit.
   * @throws {TypeError} If the backend lacks ChaCha20-Poly1305, `random` is
   *   not a function or `globalSharedSecret` is not a `Uint8Array`.
   * @throws {RangeError} If `maxDatagramLength` is not an integer in
   *   [45, 65,507] or `random` returns the wrong number of bytes.
   */
  constructor(options: DatagramSealerOptions) {
    const context = "create datagram sealer";
    const { aead, sha256 } = preKeyPrimitives(context, options.backend);
    if (typeof options.random !== "function") {
      throw new TypeError(`Cannot ${context}: "random" must be a function`);
    }
    const { gss, maxDatagramLength } = checkCommon(context, options);
    this.#maxDatagramLength = maxDatagramLength;
    const salt = options.random(SALT_LENGTH);
    assertLength(context, "random(16)", salt, SALT_LENGTH);
    this.#salt = Uint8Array.from(salt);
    const { preKey, headerKey, openingHeaderKey } = derivePreKeys(this.#salt, gss, sha256);
    // The sealer needs the GSS only here: its copy goes at once. Datagrams
    // mask every header with the one header key (PROTOCOL.md §5.2).
    gss?.fill(0);
    openingHeaderKey.fill(0);
    this.#headerKey = headerKey;
    this.#cipher = new CipherState(aead, preKey, 0);
    preKey.fill(0);
  }

  /** The sender's salt (a copy); it prefixes every epoch-0 datagram. */
  get salt(): Uint8Array<ArrayBuffer> {
    return this.#salt.slice();
  }

  /** The epoch of the current cipher state (0 until the first `setCipher()`). */
  get epoch(): number {
    return this.#cipher.epoch;
  }

  /** The sequence number the next datagram will carry. */
  get sequence(): number {
    return this.#cipher.counter;
  }

  /**
   * The largest body a datagram of the current epoch can carry.
   *
   * @param paddingLength Padding bytes the datagram will carry.
   * @returns The largest body length (negative if the padding alone is too large).
   *
   * @example
   * ```ts
   * import { nobleBackend, systemRandom } from "@qgate/handshake";
   * import { DatagramSealer } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const sealer = new DatagramSealer({ backend: nobleBackend, random: systemRandom, maxDatagramLength: 1200 });
   * assert.equal(sealer.maxBodyLength(), 1200 - 16 - 8 - 5 - 16);
   * ```
   */
  maxBodyLength(paddingLength = 0): number {
    return this.#maxDatagramLength - this.#overhead() - paddingLength;
  }

  /**
   * Switches to a later epoch's cipher state; the sealer disposes the previous one.
   *
   * @param cipher The cipher state; its epoch must be above the current one and at most 65,535.
   * @throws {TypeError} If `cipher` is not a `CipherState`.
   * @throws {RangeError} If its epoch is not above the current one or exceeds 65,535.
   *
   * @example
   * ```ts
   * import { nobleBackend, systemRandom } from "@qgate/handshake";
   * import { DatagramSealer } from "@qgate/handshake/codec";
   * import { CipherState } from "@qgate/handshake/crypto";
   * import assert from "node:assert/strict";
   *
   * const sealer = new DatagramSealer({ backend: nobleBackend, random: systemRandom });
   * sealer.setCipher(new CipherState(nobleBackend.aead("AES-256-GCM")!, new Uint8Array(32), 1));
   * assert.equal(sealer.epoch, 1);
   * assert.equal((await sealer.seal(1, new Uint8Array(0))).length, 8 + 5 + 16);
   * ```
   */
  setCipher(cipher: CipherState): void {
    checkNextCipher("set cipher", cipher, this.#cipher.epoch);
    this.#previous?.dispose();
    this.#previous = this.#cipher;
    this.#cipher = cipher;
  }

  /**
   * Seals one datagram.
   *
   * @param type The message type byte.
   * @param body The encoded message body, whole or as parts to concatenate.
   * @param paddingLength Zero bytes to append inside the ciphertext.
   * @param epoch The epoch to seal with: the current one (default) or the
   *   previous one, kept after `setCipher()` so a lost flight can be sent again
   *   under the keys it was first sent with.
   * @returns A fresh datagram: the salt (epoch 0 only), the masked header, the ciphertext.
   * @throws {RangeError} If the datagram would exceed `maxDatagramLength` or an
   *   argument is out of range (the promise rejects).
   * @throws {SessionError} `ERR_NONCE_EXHAUSTED` at the epoch's record limit.
   *
   * @example Later epochs drop the salt
   * ```ts
   * import { nobleBackend, systemRandom } from "@qgate/handshake";
   * import { DatagramSealer } from "@qgate/handshake/codec";
   * import { CipherState } from "@qgate/handshake/crypto";
   * import assert from "node:assert/strict";
   *
   * const sealer = new DatagramSealer({ backend: nobleBackend, random: systemRandom });
   * const first = await sealer.seal(1, new Uint8Array(4));
   * assert.deepEqual(first.subarray(0, 16), sealer.salt);
   * sealer.setCipher(new CipherState(nobleBackend.aead("ChaCha20-Poly1305")!, new Uint8Array(32), 1));
   * assert.equal((await sealer.seal(1, new Uint8Array(4))).length, first.length - 16);
   * ```
   */
  seal(
    type: number,
    body: Uint8Array | readonly Uint8Array[],
    paddingLength = 0,
    epoch?: number,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const context = "seal datagram";
    try {
      const cipher = epoch === undefined || epoch === this.#cipher.epoch
        ? this.#cipher
        : epoch === this.#previous?.epoch
        ? this.#previous
        : undefined;
      if (cipher === undefined) {
        throw new RangeError(
          `Cannot ${context}: epoch ${epoch} is neither the current nor the previous epoch`,
        );
      }
      assertInteger(context, "type", type, 0, 0xff);
      if (body instanceof Uint8Array) assertBytes(context, "body", body);
      assertInteger(context, "paddingLength", paddingLength, 0, DEFAULT_MAX_DATAGRAM_LENGTH);
      const plaintextLength = checkedPlaintextLength(type, body, paddingLength);
      const overhead = (cipher.epoch === 0 ? SALT_LENGTH : 0) + DATAGRAM_HEADER_LENGTH +
        TAG_LENGTH;
      const length = overhead + plaintextLength;
      if (length > this.#maxDatagramLength) {
        throw new RangeError(
          `Cannot ${context}: datagram of ${length} bytes exceeds "maxDatagramLength" ${this.#maxDatagramLength}`,
        );
      }
      const ciphertextLength = plaintextLength + TAG_LENGTH;
      const salted = cipher.epoch === 0;
      const header = new Uint8Array(DATAGRAM_HEADER_LENGTH);
      const view = new DataView(header.buffer);
      const sequence = cipher.counter;
      view.setUint16(0, cipher.epoch);
      view.setUint16(2, Math.floor(sequence / 2 ** 32));
      view.setUint32(4, sequence >>> 0);
      // The counter is taken now, before any await: call order = sequence order.
      const sealing = cipher.seal(encodePlaintext(type, body, paddingLength), header);
      return sealing.then(({ counter, ciphertext }) => {
        if (counter !== sequence || ciphertext.length !== ciphertextLength) {
          throw new TypeError(`Cannot ${context}: the AEAD's tag is not ${TAG_LENGTH} bytes`);
        }
        const datagram = new Uint8Array(length);
        let offset = 0;
        if (salted) {
          datagram.set(this.#salt, 0);
          offset = SALT_LENGTH;
        }
        const mask = headerMask(this.#headerKey, ciphertext);
        for (let i = 0; i < DATAGRAM_HEADER_LENGTH; i++) {
          datagram[offset + i] = header[i]! ^ mask[i]!;
        }
        datagram.set(ciphertext, offset + DATAGRAM_HEADER_LENGTH);
        return datagram;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Disposes the previous epoch's cipher state, kept since `setCipher()` to
   * retransmit a flight sealed under it; sealing under it fails afterwards.
   */
  dropPrevious(): void {
    this.#previous?.dispose();
    this.#previous = undefined;
  }

  /** Forgets the header key and disposes the current cipher state. */
  dispose(): void {
    this.#headerKey.fill(0);
    this.#cipher.dispose();
    this.#previous?.dispose();
  }

  #overhead(): number {
    return (this.#cipher.epoch === 0 ? SALT_LENGTH : 0) + DATAGRAM_HEADER_LENGTH +
      PLAINTEXT_HEADER_LENGTH + TAG_LENGTH;
  }
}

/** Options for {@linkcode DatagramOpener}. */
export interface DatagramOpenerOptions {
  /** Supplies ChaCha20-Poly1305 for epoch 0. */
  backend: CryptoBackend;
  /** The injected clock, in milliseconds; only differences matter. */
  now: () => number;
  /** How long the previous epoch stays usable after `setCipher()`. Default 10,000 ms. */
  graceMs?: number;
  /** The Global Shared Secret; must match the sender's. */
  globalSharedSecret?: Uint8Array;
  /** The largest datagram accepted; at most 65,507 (the default). */
  maxDatagramLength?: number;
}

/** What {@linkcode DatagramOpener.open} returns. */
export interface OpenedDatagram {
  /** The epoch the datagram was sealed in. */
  readonly epoch: number;
  /** Its sequence number in that epoch. */
  readonly sequence: number;
  /** The message type byte. */
  readonly type: number;
  /** The message body (aliases a fresh plaintext buffer). */
  readonly body: Uint8Array;
}

interface EpochSlot {
  readonly cipher: CipherState;
  readonly window: ReplayWindow;
  /** When the slot stops being usable (previous epoch only). */
  deadline: number;
}

/**
 * The receiving side of one datagram direction: opens datagrams in any
 * order, rejecting replays.
 *
 * Before the peer's salt is known, a datagram's first 16 bytes are taken as
 * the salt; the salt is adopted only once a datagram under it
 * authenticates. After that, a datagram that starts with that salt is an
 * epoch-0 datagram, any other one a later epoch's. The opener keeps the
 * current epoch and, after `setCipher()`, the previous one until
 * `now() + graceMs`; each has its own replay window.
 *
 * Errors are per datagram: the opener stays usable after any of them (a
 * datagram receiver drops bad datagrams).
 *
 * @example Reordering is fine, replays are not
 * ```ts
 * import { ErrorCode, FrameError, nobleBackend, seededRandom } from "@qgate/handshake";
 * import { DatagramOpener, DatagramSealer } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const sealer = new DatagramSealer({ backend: nobleBackend, random: seededRandom(new Uint8Array([2])) });
 * const opener = new DatagramOpener({ backend: nobleBackend, now: () => 0 });
 * const a = await sealer.seal(1, new Uint8Array(3));
 * const b = await sealer.seal(1, new Uint8Array(3));
 * assert.equal((await opener.open(b)).sequence, 1);
 * assert.equal((await opener.open(a)).sequence, 0);
 * await assert.rejects(
 *   opener.open(b),
 *   (error) => error instanceof FrameError && error.code === ErrorCode.REPLAYED_RECORD,
 * );
 * ```
 */
export class DatagramOpener {
  readonly #aead: Aead;
  readonly #sha256: HashFunction;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #gss: Uint8Array<ArrayBuffer> | undefined;
  readonly #maxDatagramLength: number;
  #peerSalt: Uint8Array | undefined;
  #headerKey: Uint8Array | undefined;
  #current: EpochSlot | undefined;
  #previous: EpochSlot | undefined;
  /** Set by `setCipher()` before any epoch-0 datagram arrived: epoch 0 then never opens. */
  #epochZeroClosed = false;

  /**
   * Creates an opener waiting for the peer's first datagram.
   *
   * @param options The backend, clock, grace period, GSS and size limit.
   * @throws {TypeError} If the backend lacks ChaCha20-Poly1305, `now` is not a
   *   function or `globalSharedSecret` is not a `Uint8Array`.
   * @throws {RangeError} If `graceMs` is negative or `maxDatagramLength` is out of range.
   */
  constructor(options: DatagramOpenerOptions) {
    const context = "create datagram opener";
    const { aead, sha256 } = preKeyPrimitives(context, options.backend);
    this.#aead = aead;
    this.#sha256 = sha256;
    if (typeof options.now !== "function") {
      throw new TypeError(`Cannot ${context}: "now" must be a function`);
    }
    this.#now = options.now;
    this.#graceMs = options.graceMs ?? DEFAULT_EPOCH_GRACE_MS;
    if (typeof this.#graceMs !== "number" || !(this.#graceMs >= 0)) {
      throw new RangeError(
        `Cannot ${context}: "graceMs" must be a non-negative number, got ${
          String(options.graceMs)
        }`,
      );
    }
    const { gss, maxDatagramLength } = checkCommon(context, options);
    // checkCommon's copy, wiped once a salt is adopted or on dispose: the caller may wipe its own.
    this.#gss = gss as Uint8Array<ArrayBuffer> | undefined;
    this.#maxDatagramLength = maxDatagramLength;
  }

  /** The current epoch (0 until the first `setCipher()`). */
  get epoch(): number {
    return this.#current?.cipher.epoch ?? 0;
  }

  /** Whether an authentic datagram has revealed the peer's salt. */
  get hasSalt(): boolean {
    return this.#peerSalt !== undefined;
  }

  /**
   * Switches to a later epoch's cipher state. The current one becomes the
   * previous one until `now() + graceMs`; the one before is disposed.
   *
   * @param cipher The cipher state; its epoch must be above the current one and at most 65,535.
   * @throws {TypeError} If `cipher` is not a `CipherState`.
   * @throws {RangeError} If its epoch is not above the current one or exceeds 65,535.
   *
   * @example
   * ```ts
   * import { nobleBackend } from "@qgate/handshake";
   * import { DatagramOpener } from "@qgate/handshake/codec";
   * import { CipherState } from "@qgate/handshake/crypto";
   * import assert from "node:assert/strict";
   *
   * const opener = new DatagramOpener({ backend: nobleBackend, now: () => 0 });
   * opener.setCipher(new CipherState(nobleBackend.aead("AES-256-GCM")!, new Uint8Array(32), 1));
   * assert.equal(opener.epoch, 1);
   * ```
   */
  setCipher(cipher: CipherState): void {
    checkNextCipher("set cipher", cipher, this.#current?.cipher.epoch ?? 0);
    this.#previous?.cipher.dispose();
    this.#previous = undefined;
    if (this.#current !== undefined) {
      this.#current.deadline = this.#now() + this.#graceMs;
      this.#previous = this.#current;
    } else {
      this.#epochZeroClosed = true;
    }
    this.#current = { cipher, window: new ReplayWindow(), deadline: Infinity };
  }

  /**
   * Opens one datagram.
   *
   * @param datagram The datagram as received.
   * @returns Its epoch, sequence number, message type and body.
   * @throws {FrameError} `ERR_FRAME_TOO_LARGE` above `maxDatagramLength`;
   *   `ERR_FRAME_TRUNCATED` if it is shorter than any record;
   *   `ERR_REPLAYED_RECORD` if its sequence number was already accepted or is
   *   older than the window; `ERR_DECRYPT_FAILED` if it does not authenticate
   *   or its epoch has no keys (unknown, not yet switched to, or past the
   *   grace deadline) or its header does not unmask to a consistent epoch (a
   *   salted datagram must be epoch 0, an unsalted one must not);
   *   `ERR_MALFORMED_MESSAGE` if the plaintext does not parse.
   * @throws {TypeError} If `datagram` is not a `Uint8Array`.
   *
   * @example The previous epoch until the grace deadline
   * ```ts
   * import { ErrorCode, FrameError, nobleBackend, seededRandom } from "@qgate/handshake";
   * import { DatagramOpener, DatagramSealer } from "@qgate/handshake/codec";
   * import { CipherState } from "@qgate/handshake/crypto";
   * import assert from "node:assert/strict";
   *
   * let time = 0;
   * const sealer = new DatagramSealer({ backend: nobleBackend, random: seededRandom(new Uint8Array([3])) });
   * const opener = new DatagramOpener({ backend: nobleBackend, now: () => time, graceMs: 1000 });
   * const early = await sealer.seal(1, new Uint8Array(1));
   * const late = await sealer.seal(1, new Uint8Array(1));
   * await opener.open(early);
   * const key = () => new CipherState(nobleBackend.aead("ChaCha20-Poly1305")!, new Uint8Array(32), 1);
   * sealer.setCipher(key());
   * opener.setCipher(key());
   * time = 1500;
   * await assert.rejects(
   *   opener.open(late),
   *   (error) => error instanceof FrameError && error.code === ErrorCode.DECRYPT_FAILED,
   * );
   * ```
   */
  async open(datagram: Uint8Array): Promise<OpenedDatagram> {
    assertBytes("open datagram", "datagram", datagram);
    if (datagram.length > this.#maxDatagramLength) {
      throw new FrameError(
        ErrorCode.FRAME_TOO_LARGE,
        `Cannot open datagram: ${datagram.length} bytes exceed ${this.#maxDatagramLength}`,
      );
    }
    const knownSalt = this.#peerSalt;
    const salted = knownSalt === undefined ||
      (datagram.length >= SALT_LENGTH && equalBytes(datagram.subarray(0, SALT_LENGTH), knownSalt));
    const record = salted ? datagram.subarray(SALT_LENGTH) : datagram;
    if (
      datagram.length < SALT_LENGTH || record.length < DATAGRAM_HEADER_LENGTH + MIN_RECORD_LENGTH
    ) {
      throw new FrameError(
        ErrorCode.FRAME_TRUNCATED,
        `Cannot open datagram: ${datagram.length} bytes are too few for a record`,
      );
    }

    // Before the salt is known, try the datagram's own salt without adopting it yet.
    let candidate: { salt: Uint8Array; headerKey: Uint8Array; slot: EpochSlot } | undefined;
    let headerKey = this.#headerKey;
    if (knownSalt === undefined) {
      if (this.#epochZeroClosed) {
        throw new FrameError(
          ErrorCode.DECRYPT_FAILED,
          "Cannot open datagram: epoch 0 was closed before the peer's salt arrived",
        );
      }
      const salt = datagram.slice(0, SALT_LENGTH);
      const keys = derivePreKeys(salt, this.#gss, this.#sha256);
      const cipher = new CipherState(this.#aead, keys.preKey, 0);
      keys.preKey.fill(0);
      keys.openingHeaderKey.fill(0);
      candidate = {
        salt,
        headerKey: keys.headerKey,
        slot: { cipher, window: new ReplayWindow(), deadline: Infinity },
      };
      headerKey = keys.headerKey;
    }

    const ciphertext = record.subarray(DATAGRAM_HEADER_LENGTH);
    const mask = headerMask(headerKey!, ciphertext);
    const header = new Uint8Array(DATAGRAM_HEADER_LENGTH);
    for (let i = 0; i < DATAGRAM_HEADER_LENGTH; i++) header[i] = record[i]! ^ mask[i]!;
    const reader = new ByteReader(header, "datagram header");
    const epoch = reader.u16();
    const sequence = reader.u48();
    if (salted !== (epoch === 0)) {
      // The header did not unmask to a consistent epoch: wrong header key
      // (another GSS), corruption or a forgery.
      candidate?.slot.cipher.dispose();
      throw new FrameError(
        ErrorCode.DECRYPT_FAILED,
        `Cannot open datagram: ${
          salted ? "a salted" : "an unsalted"
        } datagram claims epoch ${epoch}`,
      );
    }

    const slot = candidate?.slot ?? this.#slotFor(epoch);
    if (!slot.window.check(sequence)) {
      candidate?.slot.cipher.dispose();
      throw new FrameError(
        ErrorCode.REPLAYED_RECORD,
        `Cannot open datagram: epoch ${epoch} sequence ${sequence} was replayed`,
      );
    }
    let plaintext: Uint8Array | undefined;
    try {
      plaintext = await slot.cipher.open(sequence, ciphertext, header);
    } catch (error) {
      candidate?.slot.cipher.dispose();
      throw new FrameError(ErrorCode.DECRYPT_FAILED, "Cannot open datagram", { cause: error });
    }
    if (plaintext === undefined) {
      candidate?.slot.cipher.dispose();
      throw new FrameError(
        ErrorCode.DECRYPT_FAILED,
        `Cannot open datagram: epoch ${epoch} sequence ${sequence} does not authenticate`,
      );
    }

    const window = candidate === undefined ? slot.window : this.#adoptSalt(candidate);
    if (!window.tryAccept(sequence)) {
      plaintext.fill(0);
      throw new FrameError(
        ErrorCode.REPLAYED_RECORD,
        `Cannot open datagram: epoch ${epoch} sequence ${sequence} was replayed`,
      );
    }
    try {
      const { type, body } = decodePlaintext(plaintext);
      return { epoch, sequence, type, body };
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
  }

  /**
   * Disposes the previous epoch's keys if their grace deadline has passed
   * (a datagram arriving after it would do the same).
   *
   * @returns `true` when no previous epoch is held any more.
   */
  expire(): boolean {
    const previous = this.#previous;
    if (previous !== undefined && this.#now() >= previous.deadline) {
      previous.cipher.dispose();
      this.#previous = undefined;
    }
    return this.#previous === undefined;
  }

  /** Disposes every cipher state and forgets the header key. */
  dispose(): void {
    this.#gss?.fill(0);
    this.#current?.cipher.dispose();
    this.#previous?.cipher.dispose();
    this.#headerKey?.fill(0);
  }

  /** The slot that holds `epoch`'s keys, or a `DECRYPT_FAILED` throw. */
  #slotFor(epoch: number): EpochSlot {
    const current = this.#current;
    if (current !== undefined && current.cipher.epoch === epoch) return current;
    const previous = this.#previous;
    if (previous !== undefined) {
      if (this.#now() >= previous.deadline) {
        previous.cipher.dispose();
        this.#previous = undefined;
      } else if (previous.cipher.epoch === epoch) {
        return previous;
      }
    }
    throw new FrameError(
      ErrorCode.DECRYPT_FAILED,
      `Cannot open datagram: no keys for epoch ${epoch}`,
    );
  }

  /**
   * Adopts the salt of the first authentic datagram (or defers to one adopted
   * meanwhile) and returns the replay window to record the datagram in.
   */
  #adoptSalt(
    candidate: { salt: Uint8Array; headerKey: Uint8Array; slot: EpochSlot },
  ): ReplayWindow {
    const adopted = this.#peerSalt;
    if (adopted === undefined) {
      this.#peerSalt = candidate.salt;
      this.#headerKey = candidate.headerKey;
      // Only candidate salts need the GSS: once one is adopted, its copy goes.
      this.#gss?.fill(0);
      if (this.#epochZeroClosed) {
        // setCipher() ran while this datagram was opening: keep the salt, not epoch 0's keys.
        candidate.slot.cipher.dispose();
        return candidate.slot.window;
      }
      this.#current = candidate.slot;
      return candidate.slot.window;
    }
    candidate.slot.cipher.dispose();
    if (!equalBytes(adopted, candidate.salt)) {
      throw new FrameError(
        ErrorCode.DECRYPT_FAILED,
        "Cannot open datagram: it carries a salt other than the peer's",
      );
    }
    // Another datagram under the same salt was adopted while this one was opening.
    const slot = this.#current?.cipher.epoch === 0 ? this.#current : this.#previous;
    if (slot === undefined || slot.cipher.epoch !== 0) {
      throw new FrameError(ErrorCode.DECRYPT_FAILED, "Cannot open datagram: no keys for epoch 0");
    }
    return slot.window;
  }
}

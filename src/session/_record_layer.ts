/**
 * One interface over the two record layers, so the session runtime does not
 * care whether it runs over a byte stream or over datagrams.
 *
 * - Streams: the first bytes are the salt, records are cut from any chunking,
 *   opened strictly in order, and any bad record is fatal (`FrameError`).
 * - Datagrams: each chunk is one record with its own epoch and sequence
 *   number; a record that does not open (forged, replayed, too old) is
 *   dropped and counted, because anyone can send a datagram.
 *
 * @module
 */

import type { CipherState } from "../crypto/cipher_state.ts";
import type { CryptoBackend, RandomSource } from "../crypto/types.ts";
import { FrameError } from "../errors.ts";
import { FrameDecoder, RecordOpener, RecordSealer } from "../codec/stream_records.ts";
import { DatagramOpener, DatagramSealer } from "../codec/datagram_records.ts";
import type { Message } from "../codec/message_types.ts";

/** The epoch the session keys start at: records of earlier epochs carry the handshake only. */
const SESSION_EPOCH = 2;

/**
 * The epoch each handshake message is sealed under (PROTOCOL.md §3.3, §5.2).
 * Key-update messages are sealed under the epoch before the one they name.
 */
const HANDSHAKE_EPOCHS: Readonly<Record<string, number>> = {
  beginMetaExchange: 0,
  endMetaExchange: 0,
  beginPrimaryKeyExchange: 0,
  endPrimaryKeyExchange: 0,
  beginSecondaryKeyExchange: 1,
  endSecondaryKeyExchange: 1,
  beginAuthentication: 2,
  endAuthentication: 2,
  beginSessionInit: 2,
  endSessionInit: 2,
};

/**
 * Tells whether a datagram message may be delivered, given the epoch that
 * opened it and the receiver's current receive epoch (PROTOCOL.md §5.2):
 *
 * - a handshake message must be sealed under its own epoch, a key-update
 *   message for epoch `e` under `e - 1`, everything else under a session
 *   epoch (2 or later); noise may come under any epoch;
 * - a handshake message under an epoch older than the current receive epoch,
 *   or a key-update message for an epoch older than it, is delivered only
 *   if it is a copy of one already received (a retransmission); session
 *   traffic (data, extender updates, Close) under the previous epoch is
 *   delivered while the opener still holds its keys (the grace period).
 *
 * So a message forged under epoch 0 (whose keys anyone without the GSS can
 * derive) after the handshake moved on is dropped: never answered, never fatal.
 *
 * @param message The decoded message.
 * @param epoch The epoch whose keys opened it.
 * @param receiveEpoch The receiver's current receive epoch.
 * @param isKnownCopy Tells whether it is a copy of a message already received.
 * @returns Whether to deliver it.
 */
export function isEpochAdmissible(
  message: Message,
  epoch: number,
  receiveEpoch: number,
  isKnownCopy: () => boolean,
): boolean {
  if (message.kind === "noise") return true;
  const own = HANDSHAKE_EPOCHS[message.kind];
  if (own !== undefined) {
    if (epoch !== own) return false;
    return epoch >= receiveEpoch || isKnownCopy();
  }
  if (
    message.kind === "beginKeyUpdate" || message.kind === "endKeyUpdate" ||
    message.kind === "keyUpdateReady"
  ) {
    if (epoch < SESSION_EPOCH || epoch !== message.epoch - 1) return false;
    // The update to the epoch received now or a later one; an older update only as a copy.
    return message.epoch >= receiveEpoch || isKnownCopy();
  }
  return epoch >= SESSION_EPOCH;
}

/** A record cut from the transport, not yet opened. */
export interface CutRecord {
  /** Bytes on the wire. */
  readonly size: number;
  /** Opaque to the session. */
  readonly payload: unknown;
}

/** An opened record. */
export interface OpenedRecord {
  readonly type: number;
  readonly body: Uint8Array;
  /** The epoch whose keys opened it. */
  readonly epoch: number;
}

/** What the session needs from a record layer. */
export interface RecordLayer {
  /** Whether records may be lost, duplicated or reordered. */
  readonly datagram: boolean;
  /** Datagram records that were dropped because they did not open. */
  readonly dropped: number;
  /** Bytes to write before any record, if any. */
  preamble(): Uint8Array | undefined;
  /** The epoch records are sealed with now. */
  readonly sendEpoch: number;
  /**
   * Seals one message into wire bytes (one chunk or one datagram). Datagrams
   * may name the previous epoch, to retransmit a flight under its own keys.
   */
  seal(
    type: number,
    body: Uint8Array | readonly Uint8Array[],
    paddingLength: number,
    epoch?: number,
  ): Promise<Uint8Array>;
  /** The largest body one record can carry with that much padding. */
  maxBodyLength(paddingLength: number): number;
  /** Switches the sending epoch. */
  setSendCipher(cipher: CipherState): void;
  /** Switches the receiving epoch (datagrams keep the previous one for a grace period). */
  setReceiveCipher(cipher: CipherState): void;
  /** Cuts records out of one chunk read from the transport. */
  cut(chunk: Uint8Array): CutRecord[];
  /** Opens a record; `undefined` when a datagram was dropped. */
  open(record: CutRecord): Promise<OpenedRecord | undefined>;
  /**
   * Datagrams: whether an opened message may be delivered given the epoch
   * that opened it (see {@linkcode isEpochAdmissible}); a refused one is
   * dropped and counted. Streams admit everything (their order is exact).
   *
   * @param message The decoded message.
   * @param epoch The epoch whose keys opened it.
   * @param isKnownCopy Tells whether it is a copy of a message already received.
   */
  admit(message: Message, epoch: number, isKnownCopy: () => boolean): boolean;
  /** Called at end of input: a stream must not end inside a record. */
  finish(): void;
  /** Wipes every key. */
  dispose(): void;
}

/** Options shared by both record layers. */
export interface RecordLayerOptions {
  readonly backend: CryptoBackend;
  readonly random: RandomSource;
  readonly globalSharedSecret: Uint8Array | undefined;
  readonly maxRecordLength: number;
  /** Datagrams only: the clock and how long a previous epoch stays usable. */
  readonly now: () => number;
  readonly graceMs: number;
  /**
   * Datagrams only: arms a timer, so the previous epoch's keys go when the
   * grace period ends even if nothing arrives. Without it they go at the next
   * switch or the next datagram after the deadline.
   */
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  /** Cancels a timer `setTimer` armed. */
  readonly clearTimer?: (id: unknown) => void;
}

function gss(options: RecordLayerOptions): { globalSharedSecret?: Uint8Array } {
  return options.globalSharedSecret === undefined
    ? {}
    : { globalSharedSecret: options.globalSharedSecret };
}

class StreamRecordLayer implements RecordLayer {
  readonly datagram = false;
  readonly dropped = 0;
  readonly #sealer: RecordSealer;
  readonly #decoder: FrameDecoder;
  readonly #opener: RecordOpener;

  constructor(options: RecordLayerOptions) {
    this.#sealer = new RecordSealer({
      backend: options.backend,
      random: options.random,
      maxRecordLength: options.maxRecordLength,
      ...gss(options),
    });
    this.#decoder = new FrameDecoder({ maxRecordLength: options.maxRecordLength, ...gss(options) });
    this.#opener = new RecordOpener({ backend: options.backend, decoder: this.#decoder });
  }

  preamble(): Uint8Array {
    return this.#sealer.preamble();
  }

  get sendEpoch(): number {
    return this.#sealer.epoch;
  }

  seal(
    type: number,
    body: Uint8Array | readonly Uint8Array[],
    paddingLength: number,
  ): Promise<Uint8Array> {
    return this.#sealer.seal(type, body, paddingLength);
  }

  maxBodyLength(paddingLength: number): number {
    return this.#sealer.maxBodyLength(paddingLength);
  }

  setSendCipher(cipher: CipherState): void {
    this.#sealer.setCipher(cipher);
  }

  setReceiveCipher(cipher: CipherState): void {
    this.#opener.setCipher(cipher);
  }

  cut(chunk: Uint8Array): CutRecord[] {
    const records = this.#decoder.push(chunk);
    const cut: CutRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      cut[i] = { size: record.header.length + record.ciphertext.length, payload: record };
    }
    return cut;
  }

  open(record: CutRecord): Promise<OpenedRecord> {
    // The opener reports the epoch itself: no promise hop per record here.
    return this.#opener.open(record.payload as Parameters<RecordOpener["open"]>[0]);
  }

  admit(): boolean {
    return true;
  }

  finish(): void {
    this.#decoder.finish();
  }

  dispose(): void {
    this.#sealer.dispose();
    this.#opener.dispose();
  }
}

class DatagramRecordLayer implements RecordLayer {
  readonly datagram = true;
  readonly #sealer: DatagramSealer;
  readonly #opener: DatagramOpener;
  #dropped = 0;
  /** The timer functions and grace period (not the options: they hold the GSS). */
  readonly #options: Pick<RecordLayerOptions, "setTimer" | "clearTimer" | "graceMs">;
  #expiry: unknown;

  constructor(options: RecordLayerOptions) {
    this.#options = {
      graceMs: options.graceMs,
      ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
      ...(options.clearTimer === undefined ? {} : { clearTimer: options.clearTimer }),
    };
    const maxDatagramLength = Math.min(options.maxRecordLength + 64, 65_507);
    this.#sealer = new DatagramSealer({
      backend: options.backend,
      random: options.random,
      maxDatagramLength,
      ...gss(options),
    });
    this.#opener = new DatagramOpener({
      backend: options.backend,
      now: options.now,
      graceMs: options.graceMs,
      maxDatagramLength,
      ...gss(options),
    });
  }

  get dropped(): number {
    return this.#dropped;
  }

  preamble(): undefined {
    return undefined;
  }

  get sendEpoch(): number {
    return this.#sealer.epoch;
  }

  seal(
    type: number,
    body: Uint8Array | readonly Uint8Array[],
    paddingLength: number,
    epoch?: number,
  ): Promise<Uint8Array> {
    return this.#sealer.seal(type, body, paddingLength, epoch);
  }

  maxBodyLength(paddingLength: number): number {
    return this.#sealer.maxBodyLength(paddingLength);
  }

  setSendCipher(cipher: CipherState): void {
    this.#sealer.setCipher(cipher);
    this.#armExpiry();
  }

  setReceiveCipher(cipher: CipherState): void {
    this.#opener.setCipher(cipher);
    this.#armExpiry();
  }

  /**
   * The previous epoch's keys, both directions, go when the grace period
   * after the last switch ends: the opener's (reordered datagrams) and the
   * sealer's (a flight to retransmit under them).
   */
  #armExpiry(): void {
    const { setTimer, clearTimer, graceMs } = this.#options;
    if (setTimer === undefined) return;
    if (this.#expiry !== undefined) clearTimer?.(this.#expiry);
    this.#expiry = setTimer(() => {
      this.#expiry = undefined;
      this.#sealer.dropPrevious();
      if (!this.#opener.expire()) this.#armExpiry();
    }, graceMs);
  }

  cut(chunk: Uint8Array): CutRecord[] {
    return [{ size: chunk.length, payload: chunk }];
  }

  async open(record: CutRecord): Promise<OpenedRecord | undefined> {
    try {
      const { type, body, epoch } = await this.#opener.open(record.payload as Uint8Array);
      return { type, body, epoch };
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.#dropped++;
      return undefined;
    }
  }

  admit(message: Message, epoch: number, isKnownCopy: () => boolean): boolean {
    if (isEpochAdmissible(message, epoch, this.#opener.epoch, isKnownCopy)) return true;
    this.#dropped++;
    return false;
  }

  finish(): void {}

  dispose(): void {
    if (this.#expiry !== undefined) this.#options.clearTimer?.(this.#expiry);
    this.#expiry = undefined;
    this.#sealer.dispose();
    this.#opener.dispose();
  }
}

/**
 * Creates the record layer for a transport kind.
 *
 * @param datagram Whether the transport carries datagrams.
 * @param options Backend, random source, GSS, limits and (datagrams) the clock.
 * @returns The record layer.
 */
export function createRecordLayer(datagram: boolean, options: RecordLayerOptions): RecordLayer {
  return datagram ? new DatagramRecordLayer(options) : new StreamRecordLayer(options);
}

/**
 * The I/O of one session, shared by every phase: the transport's two ends,
 * the record layer, and the order in which records leave and arrive.
 *
 * Outgoing: {@linkcode Connection.send} seals a record at once, in call
 * order (the record index, nonce counter and epoch are taken when it is
 * called), and puts it in an outbox. The outbox is written once per turn of
 * the event loop: the records a phase produces in reaction to one input
 * leave in one write (one packet where the transport allows), and the
 * stream's salt leaves with the first record. At most one write is in
 * flight; the write watchdog (`writeTimeout`) ends a session whose write
 * never completes.
 *
 * Incoming: records are cut from any chunking and opened strictly one after
 * another; each opened message is handed to the current {@linkcode MessageSink}
 * (the handshake driver, then the ready-phase driver). When the sink returns a
 * promise (asynchronous crypto), the next record is opened only once it
 * settles, so a key switch takes effect exactly at a record boundary.
 *
 * Nothing throws out of the read loop: framing and decryption errors, and
 * the end of the transport, are reported to the sink.
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import { ErrorCode, QGateError, SessionError } from "../errors.ts";
import type { RandomSource } from "../crypto/types.ts";
import { publicRandom, systemRandom } from "../crypto/random.ts";
import type { Message } from "../codec/message_types.ts";
import { decodeMessage, encodeMessageParts, messageTypeOf } from "../codec/messages.ts";
import type { OpenedRecord, RecordLayer } from "./_record_layer.ts";
import type { FlightTracker } from "./_flight.ts";
import type { Transport } from "../transport/transport.ts";
import type { Clock } from "./options.ts";
import { type WatchedWrite, type WriteWatch, writeWatchFor } from "./_write_watch.ts";

/** The options of a plain `send()`. */
const NO_OPTIONS: SendOptions = Object.freeze({});

/** An empty chunk. */
const NO_BYTES = new Uint8Array(0);

/** Records smaller than this are joined into one write with their neighbours. */
const JOIN_BELOW = 16_384;

/** A message as it arrived: the decoded message and its record. */
export interface Arrival {
  /** The decoded message. */
  readonly message: Message;
  /** Its wire type. */
  readonly type: number;
  /** Its encoded body (aliases the opened record). */
  readonly body: Uint8Array;
  /** The epoch whose keys opened it. */
  readonly epoch: number;
  /** Bytes on the wire. */
  readonly size: number;
}

/** Whoever interprets the messages of the current phase. */
export interface MessageSink {
  /**
   * One message arrived (never noise). May return a promise: nothing more is
   * opened until it settles.
   */
  onMessage(arrival: Arrival): void | Promise<void>;
  /** A record did not frame, open or parse (`code`); nothing more will arrive. */
  onInvalidInput(code: ErrorCode): void;
  /** The transport ended or failed; nothing more will arrive. */
  onTransportEnd(): void;
  /** Lingering (datagrams, keys wiped): a datagram arrived and was not opened. */
  onUnopened?(): void;
}

/** What a connection reports: records (for traces and traffic counts) and write trouble. */
export interface ConnectionObserver {
  /**
   * A record goes to the transport (`size` bytes on the wire): reported as
   * its write starts, so always before the peer can report its receipt.
   */
  sent(kind: Message["kind"], epoch: number, size: number): void;
  /** A record was opened. */
  received(kind: Message["kind"], epoch: number, size: number): void;
  /** A write outlived `writeTimeout`. */
  writeTimedOut(): void;
  /** A write failed (the transport is gone) or a record could not be sealed. */
  writeFailed(code: ErrorCode): void;
}

/** How {@linkcode Connection.send} treats a record on datagram transports. */
export interface SendOptions {
  /** The body, already encoded (handshake messages are encoded once for the transcript). */
  readonly encoded?: Uint8Array;
  /** Datagrams: record the message in the current flight, to retransmit it. */
  readonly track?: boolean;
  /** Datagrams: seal under this (earlier) epoch, for a retransmission. */
  readonly epoch?: number;
  /** Random padding up to this many bytes (default: the connection's `maxPadding`). */
  readonly maxPadding?: number;
}

/** Settings of a {@linkcode Connection}. */
export interface ConnectionSettings {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** Largest random padding per record. */
  readonly maxPadding: number;
  /** How long one write may take, in ms. */
  readonly writeTimeout: number;
  /** Datagram transports: flights to retransmit and duplicates to recognise. */
  readonly flights: FlightTracker | undefined;
  /** Told about every record sent and received, and about write trouble. */
  readonly observer: ConnectionObserver;
}

interface Outgoing {
  readonly wire: Uint8Array | Promise<Uint8Array>;
  readonly kind: Message["kind"];
  readonly epoch: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A uniform integer in [0, maxInclusive] from the random source, for public
 * values only (padding lengths, delays, noise sizes, intervals). When the
 * source is the system CSPRNG, the bytes come from its pooled variant for
 * public values (`publicRandom`); an injected source is drawn from as is, so
 * seeded runs stay reproducible.
 *
 * @param random The random source.
 * @param maxInclusive The largest value.
 * @returns The integer.
 */
export function randomInt(random: RandomSource, maxInclusive: number): number {
  if (maxInclusive <= 0) return 0;
  if (random === systemRandom) return publicUint32() % (maxInclusive + 1);
  const bytes = random(4);
  const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return value % (maxInclusive + 1);
}

/** Public random integers drawn ahead, 16 per `publicRandom` call; each is wiped as it is handed out. */
const PUBLIC_UINT32 = new Uint32Array(16);
let publicUint32Left = 0;

/** A uniform 32-bit integer from `publicRandom` (public values only). */
function publicUint32(): number {
  if (publicUint32Left === 0) {
    const bytes = publicRandom(PUBLIC_UINT32.byteLength);
    new Uint8Array(PUBLIC_UINT32.buffer).set(bytes);
    bytes.fill(0);
    publicUint32Left = PUBLIC_UINT32.length;
  }
  const index = --publicUint32Left;
  const value = PUBLIC_UINT32[index]!;
  PUBLIC_UINT32[index] = 0;
  return value;
}

/** The transport, record layer and record order of one session. */
export class Connection {
  /** This connection's write as the write watch sees it (one small object, no closure). */
  static readonly #WriteDeadline = class implements WatchedWrite {
    deadline = 0;
    readonly #connection: Connection;

    constructor(connection: Connection) {
      this.#connection = connection;
    }

    expire(): void {
      this.#connection.#onWriteExpired();
    }
  };

  readonly records: RecordLayer;
  readonly #settings: ConnectionSettings;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writeWatch: WriteWatch;
  readonly #watched: WatchedWrite;
  #sink: MessageSink | undefined;
  #outbox: Outgoing[] = [];
  #flushing = false;
  /** Settles when the flush under way ends; made only when someone waits for it. */
  #flushed: Promise<void> | undefined;
  #flushedResolve: (() => void) | undefined;
  /** The write in flight: how to settle it, and its length (at most one at a time). */
  #writeResolve: (() => void) | undefined;
  #writeReject: ((reason: unknown) => void) | undefined;
  #writeLength = 0;
  #writeStalled = false;
  #preamble: Uint8Array | undefined;
  #closed = false;
  /** Set when the connection ends with a code: nothing queued is written any more. */
  #aborted = false;
  /** Datagrams: the keys are wiped; arrivals are only reported, never opened. */
  #lingering = false;
  /** Datagrams: the last datagram that carried a Close, to repeat byte for byte. */
  #lastClose: Uint8Array | undefined;
  #bytesSent = 0;
  #bytesReceived = 0;

  /**
   * Binds a transport and a record layer.
   *
   * @param transport The byte pipe.
   * @param records The record layer for its kind.
   * @param settings Clock, randomness, limits and observers.
   */
  constructor(transport: Transport, records: RecordLayer, settings: ConnectionSettings) {
    this.records = records;
    this.#settings = settings;
    this.#writer = transport.writable.getWriter();
    this.#reader = transport.readable.getReader();
    this.#writeWatch = writeWatchFor(settings.clock);
    this.#watched = new Connection.#WriteDeadline(this);
    // A stream's salt goes out with the first record, in the same write.
    this.#preamble = records.preamble();
  }

  /** Bytes written to the transport so far. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Bytes read from the transport so far. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Whether records may be lost, duplicated or reordered. */
  get datagram(): boolean {
    return this.records.datagram;
  }

  /** Whether records are sealed and not yet written. */
  get busy(): boolean {
    return this.#outbox.length > 0 || this.#flushing;
  }

  /** The flights of a datagram connection. */
  get flights(): FlightTracker | undefined {
    return this.#settings.flights;
  }

  /**
   * Hands incoming messages to `sink` from now on (the phase changed).
   *
   * @param sink The new interpreter.
   */
  attach(sink: MessageSink): void {
    this.#sink = sink;
  }

  /** Starts reading. */
  start(): void {
    void this.#readLoop();
  }

  /**
   * Seals one message now and queues it for writing.
   *
   * @param message The message.
   * @param options Encoded body, flight bookkeeping, padding.
   * @returns Resolves once the record is written to the transport.
   */
  send(message: Message, options: SendOptions = NO_OPTIONS): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed"),
      );
    }
    const body = options.encoded === undefined ? encodeMessageParts(message) : [options.encoded];
    let bodyLength = 0;
    for (const part of body) bodyLength += part.length;
    const records = this.records;
    const room = records.maxBodyLength(0) - bodyLength;
    const padding = Math.min(
      room,
      randomInt(this.#settings.random, options.maxPadding ?? this.#settings.maxPadding),
    );
    const epoch = options.epoch ?? records.sendEpoch;
    if (options.track === true) this.#settings.flights?.sent(message, epoch);
    let wire: Uint8Array | Promise<Uint8Array>;
    try {
      wire = records.seal(messageTypeOf(message.kind), body, padding, epoch);
    } catch (error) {
      return Promise.reject(error);
    }
    // (Not Promise.withResolvers: Node 20 has none.)
    const written = new Promise<void>((resolve, reject) => {
      this.#outbox.push({ wire, kind: message.kind, epoch, resolve, reject });
    });
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(this.#startFlush);
    }
    return written;
  }

  /** Starts the flush the first send of a turn scheduled (one function, made once). */
  readonly #startFlush = (): void => {
    void this.#flush().then(this.#flushEnded, this.#flushEnded);
  };

  /** A flush ended: wakes whoever waits in {@linkcode Connection.drain}. */
  readonly #flushEnded = (): void => {
    const resolve = this.#flushedResolve;
    this.#flushed = undefined;
    this.#flushedResolve = undefined;
    resolve?.();
  };

  /**
   * Resolves once every record queued so far is written (or failed).
   *
   * @returns Resolves, never rejects.
   */
  async drain(): Promise<void> {
    while (this.#flushing) {
      this.#flushed ??= new Promise<void>((resolve) => (this.#flushedResolve = resolve));
      await this.#flushed;
    }
  }

  /**
   * Datagrams: once everything queued is written, wipes every key and from
   * then on only reports arrivals (`onUnopened`), so that a lingering side
   * can answer a peer that missed its Close without holding any key.
   *
   * @returns Resolves once the keys are wiped.
   */
  async linger(): Promise<void> {
    await this.drain();
    if (this.#closed) return;
    this.#lingering = true;
    this.records.dispose();
  }

  /** Datagrams, lingering: writes the datagram that carried our Close again. */
  repeatClose(): void {
    const wire = this.#lastClose;
    if (wire === undefined || this.#closed) return;
    this.#write(wire).catch(() => {});
  }

  /**
   * Ends the connection: refuses further sends, writes what is queued, then
   * closes (orderly) or aborts (with a code) the writable and cancels the readable.
   *
   * @param code `undefined` for an orderly end, otherwise the reason.
   * @returns Resolves once the transport is released.
   */
  async end(code: ErrorCode | undefined): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (code === undefined) {
      await this.drain();
      this.#writeWatch.delete(this.#watched);
      this.#writeWatch.settle();
      await this.#writer.close().catch(() => {});
    } else {
      this.#aborted = true;
      this.#writeWatch.delete(this.#watched);
      this.#writeWatch.settle();
      this.#failQueued(
        new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed"),
      );
      const reason = new SessionError(code, `Session ended: ${code}`);
      const aborted = this.#writer.abort(reason).catch(() => {});
      // A sink stuck in a write may hold the abort back forever: do not wait for it then.
      if (!this.#writeStalled) await aborted;
    }
    // Pending reads end at once; the transport's own cancel may take as long
    // as it likes (or never finish): the session has ended either way.
    void this.#reader.cancel().catch(() => {});
    if (!this.#lingering) this.records.dispose();
  }

  async #flush(): Promise<void> {
    try {
      while (this.#outbox.length > 0) {
        const batch = this.#outbox;
        this.#outbox = [];
        let sealed: Uint8Array[];
        try {
          // One record (the usual case on a busy stream) needs no Promise.all.
          sealed = batch.length === 1
            ? [await batch[0]!.wire]
            : await Promise.all(batch.map((item) => item.wire));
        } catch (error) {
          for (const item of batch) item.reject(error);
          this.#failQueued(error);
          this.#settings.observer.writeFailed(
            error instanceof QGateError ? error.code : ErrorCode.INTERNAL,
          );
          return;
        }
        // On a stream, neighbouring small records leave in one write and a
        // large one alone; on datagrams each record is one datagram.
        const join = !this.records.datagram;
        for (let start = 0; start < batch.length;) {
          let end = start + 1;
          let bytes = sealed[start]!.length;
          while (
            join && end < batch.length && bytes < JOIN_BELOW && sealed[end]!.length < JOIN_BELOW
          ) {
            bytes += sealed[end]!.length;
            end++;
          }
          let chunk: Uint8Array;
          if (this.#preamble === undefined && end === start + 1) {
            chunk = sealed[start]!;
          } else {
            const parts = sealed.slice(start, end);
            if (this.#preamble !== undefined) {
              parts.unshift(this.#preamble);
              this.#preamble = undefined;
            }
            chunk = parts.length === 1 ? parts[0]! : concatBytes(...parts);
          }
          try {
            if (this.#aborted) {
              throw new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed");
            }
            // Reported as they go to the transport: a peer in the same process
            // may open them before the write settles, and a record's sending
            // must be reported before its receipt.
            for (let i = start; i < end; i++) {
              const item = batch[i]!;
              this.#settings.observer.sent(item.kind, item.epoch, sealed[i]!.length);
            }
            await this.#write(chunk);
          } catch (error) {
            for (let i = start; i < end; i++) batch[i]!.reject(error);
            const rest = this.#aborted
              ? new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed")
              : error;
            for (let i = end; i < batch.length; i++) batch[i]!.reject(rest);
            this.#failQueued(rest);
            if (!(error instanceof SessionError) || error.code === ErrorCode.TRANSPORT_CLOSED) {
              this.#settings.observer.writeFailed(ErrorCode.TRANSPORT_CLOSED);
            }
            return;
          }
          for (let i = start; i < end; i++) {
            const item = batch[i]!;
            if (item.kind === "close" && this.records.datagram) this.#lastClose = sealed[i];
            item.resolve();
          }
          start = end;
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /**
   * Writes one chunk under the write watchdog. The watchdog can abandon a
   * write that never completes (a stalled sink may not even let an abort
   * through), releasing the senders; the write's own outcome is then ignored.
   */
  #write(chunk: Uint8Array): Promise<void> {
    if (this.#writeResolve !== undefined || this.#writeStalled) {
      // Only a repeated Close (datagrams, lingering) can meet a write in
      // flight: the writable queues it behind that one, which is watched.
      // After a write was abandoned (the session ends then), a late outcome
      // of that write must not settle a later one: each has its own callbacks.
      return this.#writer.write(chunk).then(() => {
        this.#bytesSent += chunk.length;
      }, (cause) => {
        throw new SessionError(
          ErrorCode.TRANSPORT_CLOSED,
          "Cannot send: the transport is closed",
          { cause },
        );
      });
    }
    this.#watched.deadline = this.#settings.clock.now() + this.#settings.writeTimeout;
    this.#writeWatch.add(this.#watched);
    const written = new Promise<void>((resolve, reject) => {
      this.#writeResolve = resolve;
      this.#writeReject = reject;
    });
    this.#writeLength = chunk.length;
    this.#writer.write(chunk).then(this.#written, this.#writeFailed);
    return written;
  }

  /** The write in flight completed (one function, made once). */
  readonly #written = (): void => {
    const resolve = this.#endWrite();
    if (resolve === undefined) return;
    this.#bytesSent += this.#writeLength;
    resolve();
  };

  /** The write in flight failed (one function, made once). */
  readonly #writeFailed = (cause: unknown): void => {
    this.#abandonWrite(
      new SessionError(ErrorCode.TRANSPORT_CLOSED, "Cannot send: the transport is closed", {
        cause,
      }),
    );
  };

  /** Rejects the write in flight, if any, with `reason`. */
  #abandonWrite(reason: unknown): void {
    const reject = this.#writeReject;
    if (this.#endWrite() !== undefined) reject!(reason);
  }

  /** Stops watching the write in flight; returns its resolver, `undefined` if none. */
  #endWrite(): (() => void) | undefined {
    const resolve = this.#writeResolve;
    if (resolve === undefined) return undefined;
    this.#writeWatch.delete(this.#watched);
    this.#writeResolve = undefined;
    this.#writeReject = undefined;
    return resolve;
  }

  #failQueued(error: unknown): void {
    const queued = this.#outbox;
    this.#outbox = [];
    for (const item of queued) {
      if (item.wire instanceof Promise) item.wire.catch(() => {});
      item.reject(error);
    }
  }

  #onWriteExpired(): void {
    if (this.#closed) return;
    this.#writeStalled = true;
    this.#abandonWrite(
      new SessionError(
        ErrorCode.TIMEOUT,
        `Cannot send: a write took longer than ${this.#settings.writeTimeout} ms`,
      ),
    );
    this.#settings.observer.writeTimedOut();
  }

  async #readLoop(): Promise<void> {
    const records = this.records;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await this.#reader.read();
        } catch {
          // The transport failed; whatever reason it carries is not the peer's word.
          if (!this.#closed) this.#sink?.onTransportEnd();
          return;
        }
        if (this.#closed) return;
        const { value, done } = chunk;
        if (done) {
          records.finish();
          this.#sink?.onTransportEnd();
          return;
        }
        this.#bytesReceived += value.length;
        if (this.#lingering) {
          this.#sink?.onUnopened?.();
          continue;
        }
        for (const record of records.cut(value)) {
          const opened = await records.open(record);
          if (this.#closed) return;
          if (opened === undefined) continue;
          const pending = this.#process(opened, record.size);
          if (pending !== undefined) await pending;
          if (this.#closed) return;
        }
        // A framing error found behind the records just processed surfaces now.
        records.cut(NO_BYTES);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#sink?.onInvalidInput(
          error instanceof QGateError ? error.code : ErrorCode.TRANSPORT_CLOSED,
        );
      }
    }
  }

  /** Hands one opened record to the sink; returns what the sink asks to wait for. */
  #process(opened: OpenedRecord, size: number): void | Promise<void> {
    const { type, body, epoch } = opened;
    const message = this.records.datagram
      ? decodeDatagramMessage(type, body)
      : decodeMessage(type, body);
    if (message === undefined) return;
    // Datagrams: a message must come under its own epoch, and an older epoch
    // only for a retransmission or session traffic (PROTOCOL.md §5.2).
    // (Streams admit everything: no check, no closure per record.)
    if (this.records.datagram) {
      const flights = this.#settings.flights;
      if (!this.records.admit(message, epoch, () => flights?.knows(type, body) ?? false)) return;
    }
    this.#settings.observer.received(message.kind, epoch, size);
    if (message.kind === "noise") return;
    return this.#sink?.onMessage({ message, type, body, epoch, size });
  }
}

/** On datagrams a record that opens but does not parse is dropped like one that does not open. */
function decodeDatagramMessage(type: number, body: Uint8Array): Message | undefined {
  try {
    return decodeMessage(type, body);
  } catch (error) {
    if (error instanceof QGateError) return undefined;
    throw error;
  }
}

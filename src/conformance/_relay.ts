/**
 * A scriptable adversary between an initiator and a responder.
 *
 * Each session runs over its own {@linkcode createMemoryPair}; the relay owns
 * the two far ends and forwards bytes between them. A test scripts it on two
 * levels:
 *
 * - **Records.** Each direction starts with the sender's 16-byte salt, then
 *   records (`maskedLength (3) ‖ ciphertext`). The relay cuts the stream with
 *   the codec's {@linkcode FrameDecoder} (the header key depends on the salt
 *   only, never on the GSS), opens epoch-0 records with the pre-key every
 *   observer can derive without a GSS, and hands every record to
 *   {@linkcode RelayScript.record}, which returns what to emit instead:
 *   the record re-masked at its new index, raw bytes, records sealed by the
 *   relay under the epoch-0 key, or the end of the stream.
 * - **Bytes.** What the scripts emit is queued per direction and delivered
 *   by one loop that follows a {@linkcode DeliveryStep} schedule: chunk sizes
 *   (down to one byte), microtask yields and short real sleeps before each
 *   delivery, and which direction goes next.
 *
 * Endings are forwarded like a proxy forwards them: a sender that closes or
 * aborts ends the other side's stream after what was queued; once a receiver
 * stops reading, the relay drops what it holds for it and keeps draining the
 * sender (whose input ends as soon as the receiver aborts its own output).
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import { chacha20 } from "@noble/ciphers/chacha.js";
import type { AeadCipher } from "../crypto/types.ts";
import { counterNonce } from "../crypto/cipher_state.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import { derivePreKeys, SALT_LENGTH } from "../crypto/key_schedule.ts";
import type { Message } from "../codec/message_types.ts";
import {
  decodeMessage,
  decodePlaintext,
  encodeMessage,
  encodePlaintext,
  messageTypeOf,
} from "../codec/messages.ts";
import {
  FrameDecoder,
  MAX_RECORD_LENGTH,
  PRE_KEY_AEAD,
  RECORD_HEADER_LENGTH,
} from "../codec/stream_records.ts";
import { createMemoryPair } from "../transport/memory.ts";
import type { Transport } from "../transport/transport.ts";
import { initiate, respond, type Session } from "../session/session.ts";
import type { SessionOptions } from "../session/options.ts";
import type { CloseInfo } from "../session/events.ts";
import type { PeerDetails } from "../session/details.ts";

/** A direction of the connection: initiator to responder, or back. */
export type Direction = "i2r" | "r2i";

/** Both directions. */
export const DIRECTIONS: readonly Direction[] = ["i2r", "r2i"];

/** The other direction. */
export function opposite(direction: Direction): Direction {
  return direction === "i2r" ? "r2i" : "i2r";
}

/** The direction `role` sends in. */
export function directionFrom(role: "initiator" | "responder"): Direction {
  return role === "initiator" ? "i2r" : "r2i";
}

/** The role a direction delivers to. */
export function receiverOf(direction: Direction): "initiator" | "responder" {
  return direction === "i2r" ? "responder" : "initiator";
}

/** What the relay read from an epoch-0 record it could open. */
export interface OpenedRecord {
  /** The message type byte. */
  readonly type: number;
  /** The message body. */
  readonly body: Uint8Array;
  /** The decoded message, or `undefined` if the body does not decode. */
  readonly message: Message | undefined;
}

/** One record as the sender wrote it. */
export interface TappedRecord {
  /** Its direction. */
  readonly direction: Direction;
  /** Its index in the sender's stream (0 for the first record after the salt). */
  readonly index: number;
  /** The clear 3-byte length: the AEAD's associated data. */
  readonly header: Uint8Array;
  /** Ciphertext and tag. */
  readonly ciphertext: Uint8Array;
  /** The record exactly as it was on the wire (masked header ‖ ciphertext). */
  readonly wire: Uint8Array;
  /** The plaintext, when it is an epoch-0 record under a pre-key without GSS. */
  readonly opened: OpenedRecord | undefined;
}

/** A record's clear header and ciphertext, not yet masked. */
export interface RecordParts {
  /** The clear 3-byte length. */
  readonly header: Uint8Array;
  /** Ciphertext and tag. */
  readonly ciphertext: Uint8Array;
}

/** What a script emits into one direction. */
export type Emission =
  /** A record, masked with the header key and index of its new position. */
  | { readonly record: RecordParts }
  /** A record's bytes as they are (its mask stays that of its old position); counts as a record. */
  | { readonly wire: Uint8Array }
  /** Bytes that are not counted as a record. */
  | { readonly bytes: Uint8Array }
  /** Ends the stream toward the receiver: a clean close or an abort. */
  | { readonly end: "close" | "abort" };

/** What a script knows and can do in one direction. */
export interface RecordContext {
  /** The direction. */
  readonly direction: Direction;
  /** The index the next emitted record will have on the receiver's side. */
  readonly outIndex: number;
  /** The salt the sender sent. */
  readonly salt: Uint8Array;
  /**
   * Seals a message under the epoch-0 key (no GSS) of the salt the receiver
   * got, at `counter` (default: the next outgoing index).
   */
  seal(
    message: Message | { readonly type: number; readonly body: Uint8Array },
    options?: { readonly counter?: number; readonly padding?: number },
  ): Promise<RecordParts>;
  /** Masks a clear header for record `index` of this direction. */
  mask(header: Uint8Array, index: number): Uint8Array;
}

/** The record-level script; every hook is optional. */
export interface RelayScript {
  /** Returns the salt to forward (default: the sender's). */
  salt?(direction: Direction, salt: Uint8Array): Uint8Array;
  /** Returns what to emit for one record (default: the record, re-masked). */
  record?(record: TappedRecord, context: RecordContext): Emission[] | Promise<Emission[]>;
  /** Returns what to emit once the sender has ended (default: nothing). */
  end?(direction: Direction, context: RecordContext): Emission[];
}

/** One step of the delivery schedule. */
export interface DeliveryStep {
  /** Which direction to serve; the other one is served when it has nothing. */
  readonly direction: Direction | "either";
  /** Most bytes to deliver in one write; 0 for everything queued. */
  readonly size: number;
  /** Microtask yields before the write. */
  readonly yields: number;
  /** Milliseconds to sleep before the write (0 for none). */
  readonly sleep: number;
}

/** Everything at once, directions alternating: the plainest relay. */
export const PASS_THROUGH: readonly DeliveryStep[] = [
  { direction: "either", size: 0, yields: 0, sleep: 0 },
];

/** What a running relay saw. */
export interface RelayObservation {
  /** Resolves once both directions have ended and everything was delivered or dropped. */
  readonly done: Promise<void>;
  /** Every record each sender wrote, in order. */
  readonly records: { readonly [D in Direction]: readonly TappedRecord[] };
  /** Each sender's salt, once it arrived. */
  readonly salts: { readonly [D in Direction]: Uint8Array | undefined };
  /** Bytes handed to each receiver so far. */
  readonly delivered: { readonly [D in Direction]: number };
}

/** The relay's two session-facing transports and what it saw. */
export interface Relay extends RelayObservation {
  /** The transport to give to `initiate()`. */
  readonly initiatorTransport: Transport;
  /** The transport to give to `respond()`. */
  readonly responderTransport: Transport;
}

/** Options of {@linkcode createRelay}. */
export interface RelayOptions {
  /** The record-level script. */
  readonly script?: RelayScript;
  /** Steps played once, before the schedule starts cycling (default none). */
  readonly prelude?: readonly DeliveryStep[];
  /** The delivery schedule, cycled after the prelude (default {@linkcode PASS_THROUGH}). */
  readonly schedule?: readonly DeliveryStep[];
  /**
   * The GSS the peers use, if any: with one, record lengths after each
   * direction's first record are masked with a key that depends on it
   * (PROTOCOL.md §6), so the relay needs it to find record boundaries.
   */
  readonly globalSharedSecret?: Uint8Array | undefined;
}

/**
 * The length mask of record `index`: bytes `4·(index mod 16)` to `+3` of
 * ChaCha20(headerKey, u32 0 ‖ u64 ⌊index / 16⌋) (PROTOCOL.md §5.1).
 */
export function lengthMask(headerKey: Uint8Array, index: number): Uint8Array {
  const block = Math.floor(index / 16);
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, Math.floor(block / 2 ** 32));
  view.setUint32(8, block >>> 0);
  const at = 4 * (index % 16);
  return chacha20(headerKey, nonce, new Uint8Array(64)).slice(at, at + RECORD_HEADER_LENGTH);
}

/** The mask of record `index`: record 0 with the GSS-free opening header key (§6). */
function maskOf(openingKey: Uint8Array, headerKey: Uint8Array, index: number): Uint8Array {
  return lengthMask(index === 0 ? openingKey : headerKey, index);
}

/** A clear 3-byte length header. */
export function lengthHeader(length: number): Uint8Array {
  return new Uint8Array([(length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
}

/** Masks (or unmasks) a 3-byte header. */
export function xorHeader(header: Uint8Array, mask: Uint8Array): Uint8Array {
  return Uint8Array.from(header.subarray(0, RECORD_HEADER_LENGTH), (byte, i) => byte ^ mask[i]!);
}

const PRE_KEY_CIPHER = nobleBackend.aead(PRE_KEY_AEAD)!;

type QueueItem = Uint8Array | { readonly end: "close" | "abort"; readonly reason?: unknown };

/** One direction: the sender's far end, the receiver's far end, and the queue between. */
class Lane {
  readonly direction: Direction;
  readonly #source: ReadableStreamDefaultReader<Uint8Array>;
  readonly #sink: WritableStreamDefaultWriter<Uint8Array>;
  readonly #script: RelayScript;
  readonly #wake: () => void;
  readonly #decoder: FrameDecoder;
  readonly #gss: Uint8Array | undefined;
  readonly records: TappedRecord[] = [];
  readonly queue: QueueItem[] = [];
  readonly #saltBytes: number[] = [];
  salt: Uint8Array | undefined;
  #inHeaderKey: Uint8Array | undefined;
  #inOpeningKey: Uint8Array | undefined;
  /** Opens the sender's epoch-0 records while they open. */
  #inCipher: AeadCipher | undefined;
  /** Seals under the receiver's view of epoch 0. */
  #outCipher: AeadCipher | undefined;
  #outHeaderKey: Uint8Array | undefined;
  #outOpeningKey: Uint8Array | undefined;
  #outIndex = 0;
  #ended = false;
  sourceDone = false;
  sinkDone = false;
  delivered = 0;

  constructor(
    direction: Direction,
    source: ReadableStream<Uint8Array>,
    sink: WritableStream<Uint8Array>,
    script: RelayScript,
    wake: () => void,
    globalSharedSecret?: Uint8Array,
  ) {
    this.direction = direction;
    this.#gss = globalSharedSecret;
    this.#decoder = new FrameDecoder({
      maxRecordLength: MAX_RECORD_LENGTH,
      ...(globalSharedSecret === undefined ? {} : { globalSharedSecret }),
    });
    this.#source = source.getReader();
    this.#sink = sink.getWriter();
    this.#script = script;
    this.#wake = wake;
  }

  get hasWork(): boolean {
    return !this.sinkDone && this.queue.length > 0;
  }

  get finished(): boolean {
    return this.sourceDone && (this.sinkDone || this.queue.length === 0);
  }

  async pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#source.read();
        if (done) break;
        await this.#consume(value);
      }
      this.#finish({ end: "close" });
    } catch (reason) {
      this.#finish({ end: "abort", reason });
    }
  }

  #finish(item: QueueItem): void {
    if (!this.#ended && this.#outHeaderKey !== undefined && this.#script.end !== undefined) {
      this.#emit(this.#script.end(this.direction, this.#context()));
    }
    this.#push(item);
    this.#ended = true;
    this.sourceDone = true;
    this.#wake();
  }

  #push(item: QueueItem): void {
    if (this.#ended || this.sinkDone) return;
    if (!(item instanceof Uint8Array)) this.#ended = true;
    this.queue.push(item);
    this.#wake();
  }

  async #consume(chunk: Uint8Array): Promise<void> {
    if (this.salt === undefined) {
      for (const byte of chunk.subarray(0, SALT_LENGTH - this.#saltBytes.length)) {
        this.#saltBytes.push(byte);
      }
      if (this.#saltBytes.length === SALT_LENGTH) this.#onSalt(Uint8Array.from(this.#saltBytes));
    }
    for (const sealed of this.#decoder.push(chunk)) {
      const header = sealed.header;
      const ciphertext = sealed.ciphertext;
      const wire = concatBytes(...[
        xorHeader(header, maskOf(this.#inOpeningKey!, this.#inHeaderKey!, sealed.index)),
        ciphertext,
      ]);
      const record: TappedRecord = {
        direction: this.direction,
        index: sealed.index,
        header,
        ciphertext,
        wire,
        opened: await this.#open(sealed.index, header, ciphertext),
      };
      this.records.push(record);
      const emissions = this.#script.record === undefined
        ? [{ record }]
        : await this.#script.record(record, this.#context());
      this.#emit(emissions);
    }
  }

  #onSalt(salt: Uint8Array): void {
    this.salt = salt;
    const keys = derivePreKeys(salt, this.#gss);
    this.#inHeaderKey = keys.headerKey;
    this.#inOpeningKey = keys.openingHeaderKey;
    this.#inCipher = PRE_KEY_CIPHER.createCipher(keys.preKey);
    const forwarded = this.#script.salt?.(this.direction, salt) ?? salt;
    const out = derivePreKeys(forwarded, this.#gss);
    this.#outHeaderKey = out.headerKey;
    this.#outOpeningKey = out.openingHeaderKey;
    this.#outCipher = PRE_KEY_CIPHER.createCipher(out.preKey);
    this.#push(forwarded.slice());
  }

  async #open(
    index: number,
    header: Uint8Array,
    ciphertext: Uint8Array,
  ): Promise<OpenedRecord | undefined> {
    const cipher = this.#inCipher;
    if (cipher === undefined) return undefined;
    const plaintext = await cipher.open(counterNonce(index, 12), ciphertext, header);
    if (plaintext === undefined) {
      // Epoch 0 is over (or a GSS protects it): nothing later opens either.
      this.#inCipher = undefined;
      return undefined;
    }
    const { type, body } = decodePlaintext(plaintext);
    let message: Message | undefined;
    try {
      message = decodeMessage(type, body);
    } catch {
      message = undefined;
    }
    return { type, body, message };
  }

  #context(): RecordContext {
    const outCipher = this.#outCipher!;
    const headerKey = this.#outHeaderKey!;
    const openingKey = this.#outOpeningKey!;
    return {
      direction: this.direction,
      outIndex: this.#outIndex,
      salt: this.salt!,
      seal: async (message, options = {}) => {
        const { type, body } = "kind" in message
          ? { type: messageTypeOf(message.kind), body: encodeMessage(message) }
          : message;
        const plaintext = encodePlaintext(type, body, options.padding ?? 0);
        const header = lengthHeader(plaintext.length + 16);
        const counter = options.counter ?? this.#outIndex;
        const ciphertext = await outCipher.seal(counterNonce(counter, 12), plaintext, header);
        return { header, ciphertext };
      },
      mask: (header, index) => xorHeader(header, maskOf(openingKey, headerKey, index)),
    };
  }

  #emit(emissions: readonly Emission[]): void {
    for (const emission of emissions) {
      if ("record" in emission) {
        const mask = maskOf(this.#outOpeningKey!, this.#outHeaderKey!, this.#outIndex++);
        this.#push(
          concatBytes(...[xorHeader(emission.record.header, mask), emission.record.ciphertext]),
        );
      } else if ("wire" in emission) {
        this.#outIndex++;
        this.#push(emission.wire.slice());
      } else if ("bytes" in emission) {
        this.#push(emission.bytes.slice());
      } else {
        this.#push({ end: emission.end });
      }
    }
  }

  /** Delivers up to `size` queued bytes (0: all before the next end), or the end. */
  async deliver(size: number): Promise<void> {
    const head = this.queue[0];
    if (head === undefined || this.sinkDone) return;
    if (!(head instanceof Uint8Array)) {
      this.queue.length = 0;
      this.sinkDone = true;
      if (head.end === "close") await this.#sink.close().catch(() => {});
      else await this.#sink.abort(head.reason).catch(() => {});
      return;
    }
    const parts: Uint8Array[] = [];
    let taken = 0;
    while (this.queue[0] instanceof Uint8Array && (size === 0 || taken < size)) {
      const item = this.queue[0];
      const want = size === 0 ? item.length : Math.min(item.length, size - taken);
      parts.push(item.subarray(0, want));
      taken += want;
      if (want === item.length) this.queue.shift();
      else this.queue[0] = item.subarray(want);
    }
    try {
      await this.#sink.write(concatBytes(...parts));
      this.delivered += taken;
    } catch {
      // The receiver stopped reading. Like a proxy, keep draining the sender
      // (it learns of the end when its own input ends), drop what is queued.
      this.queue.length = 0;
      this.sinkDone = true;
    }
  }
}

/**
 * Creates the relay and starts forwarding.
 *
 * @param options The record script and the delivery schedule.
 * @returns The transports for the two sessions and what the relay observed.
 */
export function createRelay(options: RelayOptions = {}): Relay {
  const [initiatorTransport, initiatorFar] = createMemoryPair();
  const [responderTransport, responderFar] = createMemoryPair();
  return {
    initiatorTransport,
    responderTransport,
    ...startRelay(initiatorFar, responderFar, options),
  };
}

/**
 * Forwards between two byte pipes that are already connected to their peers:
 * `initiatorEnd.readable` carries what the initiator writes and
 * `initiatorEnd.writable` reaches the initiator; the same for the responder
 * (a TCP connection to a remote responder is such an end).
 *
 * @param initiatorEnd The initiator's far end.
 * @param responderEnd The responder's far end.
 * @param options The record script and the delivery schedule.
 * @returns What the relay observes.
 */
export function startRelay(
  initiatorEnd: Transport,
  responderEnd: Transport,
  options: RelayOptions = {},
): RelayObservation {
  const script = options.script ?? {};
  const prelude = options.prelude ?? [];
  const cycle = options.schedule !== undefined && options.schedule.length > 0
    ? options.schedule
    : PASS_THROUGH;
  const stepAt = (step: number): DeliveryStep =>
    step < prelude.length ? prelude[step]! : cycle[(step - prelude.length) % cycle.length]!;
  const initiatorFar = initiatorEnd;
  const responderFar = responderEnd;
  let wakeUp: (() => void) | undefined;
  const wake = (): void => {
    const resolve = wakeUp;
    wakeUp = undefined;
    resolve?.();
  };
  const lanes: Record<Direction, Lane> = {
    i2r: new Lane(
      "i2r",
      initiatorFar.readable,
      responderFar.writable,
      script,
      wake,
      options.globalSharedSecret,
    ),
    r2i: new Lane(
      "r2i",
      responderFar.readable,
      initiatorFar.writable,
      script,
      wake,
      options.globalSharedSecret,
    ),
  };

  const deliverAll = async (): Promise<void> => {
    let last: Direction = "r2i";
    for (let step = 0; !(lanes.i2r.finished && lanes.r2i.finished); step++) {
      const { direction, size, yields, sleep } = stepAt(step);
      for (let i = 0; i < yields; i++) await Promise.resolve();
      if (sleep > 0) await new Promise((resolve) => setTimeout(resolve, sleep));
      const preferred: Direction = direction === "either" ? opposite(last) : direction;
      const lane: Lane | undefined = lanes[preferred].hasWork
        ? lanes[preferred]
        : lanes[opposite(preferred)].hasWork
        ? lanes[opposite(preferred)]
        : undefined;
      if (lane === undefined) {
        if (lanes.i2r.finished && lanes.r2i.finished) break;
        await new Promise<void>((resolve) => (wakeUp = resolve));
        continue;
      }
      last = lane.direction;
      await lane.deliver(size);
    }
  };

  const done = Promise.all([lanes.i2r.pump(), lanes.r2i.pump(), deliverAll()]).then(() => {});
  return {
    done,
    records: {
      get i2r(): readonly TappedRecord[] {
        return lanes.i2r.records;
      },
      get r2i(): readonly TappedRecord[] {
        return lanes.r2i.records;
      },
    },
    salts: {
      get i2r(): Uint8Array | undefined {
        return lanes.i2r.salt;
      },
      get r2i(): Uint8Array | undefined {
        return lanes.r2i.salt;
      },
    },
    delivered: {
      get i2r(): number {
        return lanes.i2r.delivered;
      },
      get r2i(): number {
        return lanes.r2i.delivered;
      },
    },
  };
}

/** What one session did, as a test observes it. */
export interface Observation {
  /** The session. */
  readonly session: Session;
  /** Settles with the peer details, or the failure code. */
  readonly ready: Promise<ReadyOutcome>;
  /** Exporter output captured at the moment the session became ready. */
  keys(): Uint8Array | undefined;
  /** Every state the handshake statechart entered. */
  readonly states: readonly string[];
  /** Resolves with how the session ended. */
  readonly closed: Promise<CloseInfo>;
}

/** The exporter label tests use to compare session keys. */
export const EXPORT_LABEL = "qgate adversarial test";

/**
 * Watches a session from its start: records its states and captures exporter
 * output at the exact moment it reports ready (later it may already be closed).
 */
export function observe(session: Session): Observation {
  let keys: Uint8Array | undefined;
  const states: string[] = [];
  session.on("state", ({ state }) => states.push(state));
  session.on("trace", (event) => {
    if (event.type === "end" && event.outcome === "ready") {
      keys = session.exportKeyingMaterial(EXPORT_LABEL, new Uint8Array([1, 2, 3]), 32);
    }
  });
  return {
    session,
    ready: session.ready.then(
      (details) => ({ details }),
      (error: { code?: string }) => ({ code: error.code ?? `not a QGateError: ${String(error)}` }),
    ),
    keys: () => keys,
    states,
    closed: session.closed,
  };
}

/**
 * Races `promise` against a real-time deadline; the timer never outlives the call.
 *
 * @returns The value, or `undefined` if the deadline passed first.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** How `ready` settled: the details, or the failure code. */
export interface ReadyOutcome {
  readonly details?: PeerDetails;
  readonly code?: string;
}

/** How one side of a run ended. */
export interface SideOutcome {
  /** Whether `ready` settled (resolved or rejected) before the run ended. */
  readonly readySettled: boolean;
  /** The peer details, if the handshake reached ready. */
  readonly details: PeerDetails | undefined;
  /** The code `ready` rejected with, if it did. */
  readonly code: string | undefined;
  /** Exporter output taken at the moment of ready. */
  readonly keys: Uint8Array | undefined;
  /** How the session ended on its own, before the test closed it (if it did). */
  readonly ended: CloseInfo | undefined;
  /** The code the side ended with: the handshake failure, else the close code. */
  readonly finalCode: string | undefined;
  /** Every state the handshake statechart entered. */
  readonly states: readonly string[];
  /** Bytes the session read from its transport. */
  readonly bytesReceived: number;
}

/** The result of {@linkcode runHandshake}. */
export interface HandshakeRun {
  readonly initiator: SideOutcome;
  readonly responder: SideOutcome;
  /** The relay, with the records it saw. */
  readonly relay: Relay;
  /** What did not finish before its deadline; empty when nothing hung. */
  readonly hung: readonly string[];
  /** Milliseconds from start until both `ready` promises settled. */
  readonly settledAfter: number;
}

/** Options of {@linkcode runHandshake}. */
export interface RunOptions {
  /** Options of the initiator (merged over a seeded random source). */
  readonly initiator: SessionOptions;
  /** Options of the responder (merged over a seeded random source). */
  readonly responder: SessionOptions;
  /** The relay's script and schedule. */
  readonly relay?: RelayOptions;
  /** Called right after both sessions were created, before anything ran. */
  readonly onStart?: (initiator: Observation, responder: Observation) => void;
  /** Awaited after both sides settled, before the test closes anything. */
  readonly beforeCleanup?: () => Promise<unknown>;
  /**
   * Whether both sessions must end on their own (a faulty run): the run then
   * waits for both `closed` before the test closes anything.
   */
  readonly expectEnd?: boolean;
  /** Real-time budget for each stage (settling, ending, cleanup), in ms. Default 5,000. */
  readonly deadline?: number;
}

/**
 * Runs a handshake through a relay and reports both sides; always cleans up
 * (closes both sessions, waits for the relay) so that no timer or stream
 * outlives the call.
 */
export async function runHandshake(options: RunOptions): Promise<HandshakeRun> {
  const deadline = options.deadline ?? 5_000;
  // A relay that only schedules delivery (no script) stands for the network:
  // it is given the sessions' GSS so that it can find where records end
  // (PROTOCOL.md §5.1 masks lengths with it). A scripted relay is an outsider
  // and knows only what its options say.
  const gss = options.relay?.script === undefined && options.relay?.globalSharedSecret === undefined
    ? options.initiator.globalSharedSecret
    : undefined;
  const relay = createRelay(
    gss === undefined ? options.relay : { ...options.relay, globalSharedSecret: gss },
  );
  const started = performance.now();
  const initiator = observe(initiate(relay.initiatorTransport, options.initiator));
  const responder = observe(respond(relay.responderTransport, options.responder));
  let cleaning = false;
  const ended: { initiator?: CloseInfo; responder?: CloseInfo } = {};
  void initiator.closed.then((info) => !cleaning && (ended.initiator = info));
  void responder.closed.then((info) => !cleaning && (ended.responder = info));
  options.onStart?.(initiator, responder);

  const hung: string[] = [];
  // A side is settled once `ready` settles, or once it has ended (whatever `ready` did).
  const settledReady: { initiator?: ReadyOutcome; responder?: ReadyOutcome } = {};
  const settle = (observation: Observation, role: "initiator" | "responder") =>
    Promise.race([
      observation.ready.then((outcome) => void (settledReady[role] = outcome)),
      observation.closed.then(() => new Promise((resolve) => setTimeout(resolve, 0))),
    ]);
  const both = Promise.all([settle(initiator, "initiator"), settle(responder, "responder")]);
  const settled = await withDeadline(both.then(() => true), deadline);
  const settledAfter = performance.now() - started;
  if (settled === undefined) hung.push("ready");
  const mine = settledReady.initiator ?? {};
  const theirs = settledReady.responder ?? {};
  const oneSided = (mine.details === undefined) !== (theirs.details === undefined);
  if (settled !== undefined && (options.expectEnd === true || oneSided)) {
    // A side that is ready while its peer failed must learn of it and end.
    const ends = await withDeadline(
      Promise.all([initiator.closed, responder.closed]).then(() => true),
      deadline,
    );
    if (ends === undefined) hung.push("closed");
  }
  if (options.beforeCleanup !== undefined) {
    const finished = await withDeadline(options.beforeCleanup().then(() => true), deadline);
    if (finished === undefined) hung.push("before cleanup");
  }
  // Let the close callbacks above run before the test starts closing.
  await new Promise((resolve) => setTimeout(resolve, 0));
  cleaning = true;
  const cleanup = Promise.all([
    initiator.session.close().catch(() => {}),
    responder.session.close().catch(() => {}),
    relay.done,
  ]).then(() => true);
  if (await withDeadline(cleanup, deadline) === undefined) hung.push("cleanup");

  const side = (
    observation: Observation,
    outcome: ReadyOutcome | undefined,
    end: CloseInfo | undefined,
  ): SideOutcome => ({
    readySettled: outcome !== undefined,
    details: outcome?.details,
    code: outcome?.code,
    keys: observation.keys(),
    ended: end,
    finalCode: outcome?.code ?? end?.code,
    states: observation.states,
    bytesReceived: observation.session.bytesReceived,
  });
  return {
    initiator: side(initiator, settledReady.initiator, ended.initiator),
    responder: side(responder, settledReady.responder, ended.responder),
    relay,
    hung,
    settledAfter,
  };
}

/**
 * The session runtime: binds the handshake statechart to a transport, the
 * record layer, the crypto backend, a clock and a random source.
 *
 * The statechart decides what may happen when; this runtime executes its
 * commands (send a message, offer/answer/finish a key exchange, install
 * keys, sign, verify) one at a time and feeds the results back as events.
 * Incoming records are opened strictly one after another, and only once every
 * command caused by the previous record has run, so key switches happen at
 * exact record boundaries.
 *
 * Nothing throws out of a stream callback: a peer that misbehaves fails the
 * handshake (or closes the session) with a stable code, reported through
 * {@linkcode Session.ready} and {@linkcode Session.closed}.
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import { type Actor, createActor } from "xstate";
import { ErrorCode, HandshakeError, QGateError, SessionError } from "../errors.ts";
import { CipherState } from "../crypto/cipher_state.ts";
import { autoBackend } from "../crypto/auto_backend.ts";
import { systemRandom } from "../crypto/random.ts";
import { KeySchedule } from "../crypto/key_schedule.ts";
import { Transcript } from "../crypto/transcript.ts";
import { derivePeerUuid, formatUuid, randomSessionId } from "../crypto/peer_uuid.ts";
import { authenticationPayload } from "../crypto/authentication.ts";
import {
  type Aead,
  type CryptoBackend,
  type HashFunction,
  type KeyExchange,
  type KeyExchangeOffer,
  type KeyExchangeState,
  type RandomSource,
  type SignatureName,
  SIGNATURES,
} from "../crypto/types.ts";
import {
  type AuthenticationMessage,
  isHandshakeKind,
  type Message,
} from "../codec/message_types.ts";
import {
  decodeMessage,
  encodeMessage,
  encodeMessageParts,
  messageTypeOf,
} from "../codec/messages.ts";
import { createRecordLayer, type CutRecord, type RecordLayer } from "./_record_layer.ts";
import { FlightTracker } from "./_flight.ts";
import { fromWireIds, type NegotiatedSuite, type PeerVerdict } from "../handshake_policy.ts";
import { bytesToHex, hexToBytes } from "../_hex.ts";
import { handshakeMachine } from "../../machines/handshake.ts";
import {
  type KeyUpdateCommand,
  type KeyUpdateEvent,
  keyUpdateMachine,
} from "../../machines/key_update.ts";
import type { HandshakeCommand, HandshakeEvent, KeyExchangeSlot } from "../../machines/_setup.ts";
import { KeyRotation } from "./_key_rotation.ts";
import { SendBudget } from "./limits.ts";
import type { Transport } from "../transport/memory.ts";
import type { PeerDetails, Role } from "./details.ts";
import type { CloseInfo, SessionEventMap, SessionListener, TraceEvent } from "./events.ts";
import { type WatchedWrite, type WriteWatch, writeWatchFor } from "./_write_watch.ts";
import {
  type Clock,
  type ResolvedOptions,
  resolveOptions,
  type SessionOptions,
} from "./options.ts";

type Command = HandshakeCommand | KeyUpdateCommand;

/** How long data for a just-removed extender is dropped instead of failing the session. */
const EXTENDER_GRACE_MS = 60_000;

const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as number),
};

function toCode(error: unknown): ErrorCode {
  return error instanceof QGateError ? error.code : ErrorCode.INTERNAL;
}

function randomInt(random: RandomSource, maxInclusive: number): number {
  if (maxInclusive <= 0) return 0;
  const bytes = random(4);
  const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return value % (maxInclusive + 1);
}

/** The direction labels of one role: what it sends with and what it receives with. */
function directionKeys(
  role: Role,
  keys: { initiatorToResponder: Uint8Array; responderToInitiator: Uint8Array },
): { send: Uint8Array; receive: Uint8Array } {
  return role === "initiator"
    ? { send: keys.initiatorToResponder, receive: keys.responderToInitiator }
    : { send: keys.responderToInitiator, receive: keys.initiatorToResponder };
}

/**
 * One end of a qgate connection: the handshake, then protected application
 * data for extenders, until either side closes.
 *
 * Create one with {@linkcode initiate} or {@linkcode respond}.
 */
export class Session {
  readonly #role: Role;
  readonly #options: ResolvedOptions;
  readonly #random: RandomSource;
  readonly #clock: Clock;
  /** The 16 bytes of each peer extender UUID `send()` has used (never mutated). */
  readonly #extenderIds = new Map<string, Uint8Array>();
  /** When the write in flight started (the write chain allows one at a time). */
  /** One timer per clock watches every write in flight (`writeTimeout`). */
  readonly #writeWatch: WriteWatch;
  /** This session's write in flight, as the watch sees it (the write chain allows one). */
  readonly #watched: WatchedWrite = { deadline: 0, expire: () => this.#onWriteExpired() };
  /** Rejects the write in flight (set while one is). */
  #abandonWrite: ((reason: unknown) => void) | undefined;
  /** Set when a write outlived `writeTimeout`: the transport may never finish it. */
  #writeStalled = false;
  readonly #backend: CryptoBackend;
  readonly #startedAt: number;
  readonly #sessionId: string;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #records: RecordLayer;
  /** Datagram transports only: flights to retransmit and duplicates to recognise. */
  readonly #flights: FlightTracker | undefined;
  readonly #transcript = new Transcript();
  /** The handshake statechart; released once the session is ready. */
  #actor: Actor<typeof handshakeMachine> | undefined;
  readonly #listeners = new Map<keyof SessionEventMap, Set<(event: never) => void>>();
  readonly #ready: Promise<PeerDetails>;
  readonly #closed: Promise<CloseInfo>;
  #resolveReady!: (details: PeerDetails) => void;
  #rejectReady!: (error: HandshakeError) => void;
  #resolveClosed!: (info: CloseInfo) => void;

  #state: "handshaking" | "ready" | "closed" = "handshaking";
  #details: PeerDetails | undefined;
  #suite: NegotiatedSuite | undefined;
  #aead: Aead | undefined;
  #keySchedule: KeySchedule | undefined;
  #kexState: KeyExchangeState | undefined;
  /** Stream transports: the salt, until the first record carries it out. */
  #preamble: Uint8Array | undefined;
  /**
   * The leader's secondary offer, started right after its primary offer so
   * that it is computed while the primary exchange's round trip is under way.
   */
  #nextOffer: Promise<KeyExchangeOffer> | undefined;
  #secret: Uint8Array | undefined;
  #receiveEpoch = 0;
  #sendEpoch = 0;
  /** True while this side, as leader, must send nothing: between an offer and its keys. */
  #quiet = false;
  #quietWaiters: (() => void)[] = [];
  #transcriptBeforeLast: Uint8Array | undefined;
  #commands: Command[] = [];
  #keyUpdate: Actor<typeof keyUpdateMachine> | undefined;
  #keyUpdateTimer: unknown;
  #rotation: KeyRotation | undefined;
  #hash: HashFunction | undefined;
  #receiveSwitched = false;
  #sendSwitched = false;
  #epochBytes = 0;
  #epochRecords = 0;
  #updateWaiters: ((epoch: number) => void)[] = [];
  #noiseTimer: unknown;
  #pendingWrites = 0;
  /** Bytes handed to send()/sendNoise() and not yet written (`maxBufferedBytes`). */
  readonly #budget: SendBudget;
  /** Set once we sent an orderly close: the peer hanging up is then expected. */
  #closing = false;
  /** Whether `ready` has resolved (it can lag behind the state while the last flight is written). */
  #readySettled = false;
  #localExtenders: string[];
  #removedExtenders = new Map<string, number>();
  #pumping = false;
  #idleWaiters: (() => void)[] = [];
  #writeChain: Promise<void> = Promise.resolve();
  #bytesSent = 0;
  #bytesReceived = 0;
  #lastState = "";
  #abortListener: (() => void) | undefined;
  readonly #onTrace: ((event: TraceEvent) => void) | undefined;

  /** Use {@linkcode initiate} or {@linkcode respond}. */
  private constructor(role: Role, transport: Transport, options: ResolvedOptions, inject: {
    random: RandomSource;
    clock: Clock;
    backend: CryptoBackend;
    onTrace: ((event: TraceEvent) => void) | undefined;
  }) {
    this.#role = role;
    this.#options = options;
    this.#onTrace = inject.onTrace;
    this.#random = inject.random;
    this.#clock = inject.clock;
    this.#writeWatch = writeWatchFor(this.#clock);
    this.#backend = inject.backend;
    this.#startedAt = this.#clock.now();
    this.#sessionId = bytesToHex(randomSessionId(this.#random));
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => {});
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));

    const datagram = transport.kind === "datagram";
    this.#records = createRecordLayer(datagram, {
      backend: this.#backend,
      random: this.#random,
      globalSharedSecret: options.globalSharedSecret,
      maxRecordLength: options.maxRecordLength,
      now: () => this.#clock.now(),
      graceMs: options.profile.keyUpdate.gracePeriod,
    });
    this.#flights = datagram ? new FlightTracker() : undefined;
    this.#budget = new SendBudget(options.maxBufferedBytes);
    this.#localExtenders = [...options.extenders];
    this.#writer = transport.writable.getWriter();
    this.#reader = transport.readable.getReader();

    const actor = createActor(handshakeMachine, {
      clock: this.#clock,
      input: {
        role,
        sessionId: this.#sessionId,
        preferences: options.preferences,
        requireAuthentication: options.requireAuthentication,
        extenders: options.extenders.map((uuid) => uuid.replaceAll("-", "")),
        timeouts: options.profile.timeouts,
        transport: datagram ? "datagram" : "stream",
        ...(options.identity === undefined ? {} : { identity: options.identity.algorithm }),
      },
    });
    this.#actor = actor;
    actor.on("*", (command) => this.#enqueue(command));
    actor.subscribe({
      next: (snapshot) => this.#onSnapshot(snapshot.value, snapshot.status),
      error: () => this.#terminate(ErrorCode.INTERNAL, false),
    });

    const signal = options.signal;
    if (signal !== undefined) {
      this.#abortListener = () => this.#abort();
      signal.addEventListener("abort", this.#abortListener, { once: true });
      if (signal.aborted) queueMicrotask(() => this.#abort());
      if (signal.aborted) queueMicrotask(() => this.#abort());
    }
  }

  /** @internal Starts a session; used by {@linkcode initiate} and {@linkcode respond}. */
  static start(role: Role, transport: Transport, options: SessionOptions): Session {
    const resolved = resolveOptions(options);
    const session = new Session(role, transport, resolved, {
      random: options.random ?? systemRandom,
      clock: options.clock ?? SYSTEM_CLOCK,
      backend: options.backend ?? autoBackend,
      onTrace: options.onTrace,
    });
    session.#begin();
    return session;
  }

  /** Resolves with the peer details once the handshake reaches `ready`; rejects with a `HandshakeError`. */
  get ready(): Promise<PeerDetails> {
    return this.#ready;
  }

  /** Resolves once the session has ended, with the reason. Never rejects. */
  get closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  /** The peer details, once ready. */
  get details(): PeerDetails | undefined {
    return this.#details;
  }

  /** Our role. */
  get role(): Role {
    return this.#role;
  }

  /** The epoch of the keys this side currently sends with (0 before the primary exchange). */
  get epoch(): number {
    return this.#sendEpoch;
  }

  /** Bytes written to the transport so far. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Bytes read from the transport so far. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Bytes passed to `send()`/`sendNoise()` and not yet written (at most `maxBufferedBytes`). */
  get bufferedBytes(): number {
    return this.#budget.buffered;
  }

  /** The handshake statechart's active state as a dotted path, e.g. `"authentication.verifying"`. */
  get state(): string {
    return this.#lastState;
  }

  /**
   * Listens for one kind of event.
   *
   * @param type The event name.
   * @param listener Called synchronously; an exception it throws is reported, not propagated.
   * @returns A function that removes the listener.
   */
  on<K extends keyof SessionEventMap>(type: K, listener: SessionListener<K>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /**
   * Sends data to one extender on the peer.
   *
   * @param extender The extender UUID; the peer must have announced it.
   * @param data The bytes; split into records as needed. Each record waits
   *   for room under `maxBufferedBytes` (backpressure) before it is queued.
   * @throws {SessionError} `ERR_SESSION_CLOSED` before ready or after close;
   *   `ERR_UNKNOWN_EXTENDER` if the peer does not run that extender;
   *   `ERR_RESOURCE_LIMIT` if sends that were not awaited already wait for
   *   another `maxBufferedBytes`.
   */
  async send(extender: string, data: Uint8Array): Promise<void> {
    if (this.#state !== "ready") {
      throw new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is not ready");
    }
    await this.#ready;
    const uuid = extender.toLowerCase();
    if (!this.#details!.peerExtenders.includes(uuid)) {
      throw new SessionError(
        ErrorCode.UNKNOWN_EXTENDER,
        `Cannot send: the peer does not run extender ${uuid}`,
      );
    }
    let id = this.#extenderIds.get(uuid);
    if (id === undefined) {
      id = hexToBytes(uuid.replaceAll("-", ""));
      // Bounded: only UUIDs the peer announced get here.
      this.#extenderIds.set(uuid, id);
    }
    const maxChunk = this.#records.maxBodyLength(this.#options.profile.maxPadding) - 16;
    let offset = 0;
    do {
      const chunk = data.subarray(offset, offset + maxChunk);
      offset += chunk.length;
      await this.#sendBudgeted(
        chunk.length,
        () => ({ kind: "extenderData", extender: id, data: chunk }),
      );
    } while (offset < data.length);
  }

  /** The extender UUIDs this side runs now. */
  get extenders(): readonly string[] {
    return [...this.#localExtenders];
  }

  /**
   * Changes the extenders this side runs and tells the peer (an extender
   * update). Data the peer already sent to a removed extender is dropped for
   * a grace period of a minute instead of failing the session.
   *
   * @param extenders The full new list of extender UUIDs.
   * @throws {TypeError} If a UUID is malformed.
   * @throws {SessionError} `ERR_SESSION_CLOSED` if the session is not ready.
   */
  async setExtenders(extenders: readonly string[]): Promise<void> {
    if (this.#state !== "ready") {
      throw new SessionError(
        ErrorCode.SESSION_CLOSED,
        "Cannot change extenders: session is not ready",
      );
    }
    const next = resolveOptions({ requireAuthentication: false, extenders }).extenders;
    await this.#ready;
    const now = this.#clock.now();
    for (const uuid of this.#localExtenders) {
      if (!next.includes(uuid)) this.#removedExtenders.set(uuid, now);
    }
    for (const uuid of next) this.#removedExtenders.delete(uuid);
    this.#localExtenders = [...next];
    await this.#send({
      kind: "extenderUpdate",
      extenders: next.map((uuid) => hexToBytes(uuid.replaceAll("-", ""))),
    });
  }

  /**
   * Sends one noise record: random bytes the peer drops, indistinguishable on
   * the wire from other records of the same length. Allowed at any time, even
   * before the handshake; while the responder waits for its keys it is held
   * back until they are installed.
   *
   * @param length Noise body length in bytes (at most the record limit allows).
   * @throws {RangeError} If `length` is negative or too large for one record.
   * @throws {SessionError} `ERR_SESSION_CLOSED` after close.
   */
  async sendNoise(length: number): Promise<void> {
    const max = this.#records.maxBodyLength(this.#options.profile.maxPadding);
    if (!Number.isSafeInteger(length) || length < 0 || length > max) {
      throw new RangeError(
        `Cannot send noise: "length" must be an integer in [0, ${max}], got ${length}`,
      );
    }
    await this.#whenNoiseMayGo();
    await this.#sendBudgeted(length, () => ({ kind: "noise", data: this.#random(length) }));
  }

  /** Sends an application record once `maxBufferedBytes` has room for it. */
  async #sendBudgeted(bytes: number, message: () => Message): Promise<void> {
    await this.#budget.reserve(bytes);
    try {
      await this.#send(message());
    } finally {
      this.#budget.release(bytes);
    }
  }

  /**
   * Derives keying material for an extender from the session secret.
   *
   * @param label A label that names the purpose.
   * @param context Context bytes bound into the output.
   * @param length Output length in bytes.
   * @returns The same bytes on both peers.
   * @throws {SessionError} `ERR_SESSION_CLOSED` before ready or after close.
   */
  exportKeyingMaterial(label: string, context: Uint8Array, length: number): Uint8Array {
    if (this.#state !== "ready" || this.#keySchedule === undefined) {
      throw new SessionError(ErrorCode.SESSION_CLOSED, "Cannot export keys: session is not ready");
    }
    return this.#keySchedule.exporter(label, context, length);
  }

  /**
   * Closes the session: an orderly close if ready, an abort during the handshake.
   *
   * @returns Resolves once the transport is closed.
   */
  async close(): Promise<CloseInfo> {
    if (this.#state === "ready") {
      this.#closing = true;
      await this.#send({ kind: "close", reason: 0 }).catch(() => {});
      this.#terminate(undefined, true);
    } else if (this.#state === "handshaking") {
      this.#actor?.send({ type: "local.abort" });
    }
    return await this.#closed;
  }

  #begin(): void {
    // A stream's salt goes out with the first record, in the same write.
    this.#preamble = this.#records.preamble();
    this.#actor?.start();
    void this.#readLoop();
    if (this.#records.datagram && this.#role === "initiator") {
      // Over datagrams nothing tells the responder we exist until we send:
      // open with a noise record, as our first flight, resent until it answers.
      const size = randomInt(this.#random, 64);
      this.#send({ kind: "noise", data: this.#random(size) }, "track").catch(() => {});
    }
    const noise = this.#options.profile.noise;
    if (noise.enabled) {
      // The initiator may open with noise, before the responder has said anything.
      if (this.#role === "initiator") this.#noiseTick(false);
      this.#scheduleNoise();
    }
  }

  #scheduleNoise(): void {
    const { minInterval, maxInterval } = this.#options.profile.noise;
    const delay = minInterval + randomInt(this.#random, maxInterval - minInterval);
    this.#noiseTimer = this.#clock.setTimeout(() => this.#noiseTick(true), delay);
  }

  /** Sends one noise record unless real data is waiting (real data always goes first). */
  #noiseTick(reschedule: boolean): void {
    if (this.#state === "closed") return;
    const busy = this.#pumping || this.#commands.length > 0;
    if (this.#pendingWrites === 0 && !this.#quiet && !busy) {
      const { minSize, maxSize } = this.#options.profile.noise;
      const room = this.#records.maxBodyLength(this.#options.profile.maxPadding);
      const size = Math.min(room, minSize + randomInt(this.#random, maxSize - minSize));
      this.#send({ kind: "noise", data: this.#random(size) }).catch(() => {});
    }
    if (reschedule) this.#scheduleNoise();
  }

  #abort(): void {
    if (this.#state === "handshaking") this.#actor?.send({ type: "local.abort" });
    else if (this.#state === "ready") this.#terminate(ErrorCode.ABORTED, true);
  }

  #emit<K extends keyof SessionEventMap>(type: K, event: SessionEventMap[K]): void {
    const set = this.#listeners.get(type);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as SessionListener<K>)(event);
      } catch (error) {
        reportError(error);
      }
    }
  }

  #trace(event: TraceEvent): void {
    if (this.#onTrace !== undefined) {
      try {
        this.#onTrace(event);
      } catch (error) {
        reportError(error);
      }
    }
    this.#emit("trace", event);
  }

  #now(): number {
    return this.#clock.now() - this.#startedAt;
  }

  // ---- statechart plumbing ----

  #onSnapshot(value: unknown, status: string): void {
    const state = stateToString(value);
    if (state !== this.#lastState) {
      this.#lastState = state;
      this.#emit("state", { state });
      this.#trace({ type: "state", at: this.#now(), role: this.#role, state });
    }
    if (status === "done" && this.#state === "handshaking") {
      const output = this.#actor?.getSnapshot().output;
      if (output?.status === "ready") this.#becomeReady();
      else this.#terminate(output?.failure.code ?? ErrorCode.INTERNAL, false);
    }
  }

  #becomeReady(): void {
    const context = this.#actor!.getSnapshot().context;
    const peer = context.peer;
    this.#state = "ready";
    this.#details = {
      role: this.#role,
      algorithms: context.suite!,
      peerUuid: peer.uuid,
      peerSignature: peer.signature,
      authenticated: peer.authenticated,
      localAuthenticated: this.#options.identity !== undefined,
      sessionId: this.#sessionId,
      peerSessionId: peer.sessionId ?? "",
      peerVersion: peer.version ?? { major: 0, minor: 0 },
      peerExtenders: (peer.extenders ?? []).map(formatUuidHex),
      globalSharedSecret: this.#options.globalSharedSecret !== undefined,
    };
    // The initiator's last handshake message is still queued: report ready
    // (and let application data through) only once it is on its way.
    void this.#idle().then(() => {
      if (this.#state !== "ready") return;
      this.#trace({ type: "end", at: this.#now(), role: this.#role, outcome: "ready" });
      // The handshake statechart is done: release it (and its memory).
      this.#actor?.stop();
      this.#actor = undefined;
      this.#startKeyUpdates();
      this.#readySettled = true;
      this.#resolveReady(this.#details!);
    });
  }

  #startKeyUpdates(): void {
    const settings = this.#options.profile.keyUpdate;
    this.#rotation = new KeyRotation({
      role: this.#role,
      primary: this.#keyExchange("primary"),
      secondary: this.#keyExchange("secondary"),
      hash: this.#hash!,
      aead: this.#aead!,
      schedule: this.#keySchedule!,
      random: this.#random,
      recordLimit: Math.max(settings.maxRecords * 2, 2 ** 20),
    });
    // The key-update statechart is created on first need (its first timer,
    // a trigger, a peer's update or updateKeys()): an idle session carries
    // only this timer, not an actor.
    this.#keyUpdateTimer = this.#clock.setTimeout(() => {
      this.#keyUpdateTimer = undefined;
      this.#keyUpdateActor().send({ type: "local.requestUpdate" });
    }, this.#nextUpdateInterval());
  }

  /** The key-update statechart, created and started on first use. */
  #keyUpdateActor(): Actor<typeof keyUpdateMachine> {
    if (this.#keyUpdate !== undefined) return this.#keyUpdate;
    if (this.#keyUpdateTimer !== undefined) this.#clock.clearTimeout(this.#keyUpdateTimer);
    this.#keyUpdateTimer = undefined;
    const actor = createActor(keyUpdateMachine, {
      clock: this.#clock,
      input: {
        role: this.#role,
        epoch: this.#sendEpoch,
        interval: this.#nextUpdateInterval(),
        maxDuration: this.#options.profile.keyUpdate.maxDuration,
        transport: this.#records.datagram ? "datagram" : "stream",
      },
    });
    this.#keyUpdate = actor;
    actor.on("*", (command) => this.#enqueue(command));
    let last = "";
    actor.subscribe((snapshot) => {
      const state = `keyUpdate.${stateToString(snapshot.value)}`;
      if (state === last) return;
      last = state;
      this.#trace({ type: "state", at: this.#now(), role: this.#role, state });
    });
    actor.start();
    return actor;
  }

  #nextUpdateInterval(): number {
    const { minInterval, maxInterval } = this.#options.profile.keyUpdate;
    return minInterval + randomInt(this.#random, maxInterval - minInterval);
  }

  #deliverUpdate(event: KeyUpdateEvent): void {
    if (this.#state === "ready" && this.#rotation !== undefined) this.#keyUpdateActor().send(event);
  }

  /** Counts traffic under the current epoch and asks for an update past the limits. */
  #countTraffic(bytes: number, sealed: boolean): void {
    this.#epochBytes += bytes;
    if (sealed) this.#epochRecords++;
    const { maxBytes, maxRecords } = this.#options.profile.keyUpdate;
    if (
      this.#rotation !== undefined &&
      (this.#epochBytes >= maxBytes || this.#epochRecords >= maxRecords)
    ) {
      this.#keyUpdateActor().send({ type: "local.requestUpdate" });
    }
  }

  /**
   * Rotates the session keys now: a fresh classical and post-quantum exchange
   * mixed into the key schedule. If an update is already running, waits for it.
   *
   * @returns The new epoch, once both directions use it.
   * @throws {SessionError} `ERR_SESSION_CLOSED` if the session is not ready.
   */
  async updateKeys(): Promise<number> {
    if (this.#state !== "ready") {
      throw new SessionError(ErrorCode.SESSION_CLOSED, "Cannot update keys: session is not ready");
    }
    await this.#ready;
    const done = new Promise<number>((resolve, reject) => {
      this.#updateWaiters.push(resolve);
      void this.#closed.then(() =>
        reject(new SessionError(ErrorCode.SESSION_CLOSED, "Key update ended by close"))
      );
    });
    this.#keyUpdateActor().send({ type: "local.requestUpdate" });
    return await done;
  }

  /**
   * Seals and writes one message, in call order.
   *
   * @param message The message.
   * @param flight Datagrams: `"track"` records it in the current flight;
   *   a number re-sends it under that (earlier) epoch.
   */
  #send(message: Message, flight?: "track" | number, encoded?: Uint8Array): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#state === "closed") {
        throw new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed");
      }
      const body = encoded === undefined ? encodeMessageParts(message) : [encoded];
      let bodyLength = 0;
      for (const part of body) bodyLength += part.length;
      const type = messageTypeOf(message.kind);
      const room = this.#records.maxBodyLength(0) - bodyLength;
      const padding = Math.min(room, randomInt(this.#random, this.#options.profile.maxPadding));
      const epoch = typeof flight === "number" ? flight : this.#records.sendEpoch;
      if (flight === "track") this.#flights?.sent(message, epoch);
      const wire = await this.#records.seal(type, body, padding, epoch);
      const preamble = this.#preamble;
      this.#preamble = undefined;
      const chunk = preamble === undefined ? wire : concatBytes(preamble, wire);
      // Writes are chained, so at most one is in flight: the watchdog times it.
      this.#watched.deadline = this.#clock.now() + this.#options.writeTimeout;
      this.#writeWatch.add(this.#watched);
      try {
        // The watchdog can abandon a write that never completes (a stalled sink
        // may not even let an abort through), releasing the chain and the sender.
        await new Promise<void>((resolve, reject) => {
          this.#abandonWrite = reject;
          this.#writer.write(chunk).then(resolve, reject);
        });
      } catch (error) {
        if (error instanceof SessionError && error.code === ErrorCode.TIMEOUT) throw error;
        throw new SessionError(ErrorCode.TRANSPORT_CLOSED, "Cannot send: the transport is closed", {
          cause: error,
        });
      } finally {
        this.#writeWatch.delete(this.#watched);
        this.#abandonWrite = undefined;
      }
      this.#bytesSent += chunk.length;
      if (this.#state === "ready") this.#countTraffic(wire.length, true);
      this.#trace({
        type: "frame",
        at: this.#now(),
        role: this.#role,
        direction: "sent",
        kind: message.kind,
        epoch,
        size: wire.length,
        noise: message.kind === "noise",
      });
    };
    this.#pendingWrites++;
    const result = this.#writeChain.then(run).finally(() => this.#pendingWrites--);
    this.#writeChain = result.catch(() => {});
    return result;
  }

  /** The write in flight outlived `writeTimeout`: fail the session and release its senders. */
  #onWriteExpired(): void {
    if (this.#state === "closed") return;
    this.#writeStalled = true;
    this.#abandonWrite?.(
      new SessionError(
        ErrorCode.TIMEOUT,
        `Cannot send: a write took longer than ${this.#options.writeTimeout} ms`,
      ),
    );
    this.#terminate(ErrorCode.TIMEOUT, true);
  }

  #enqueue(command: Command): void {
    this.#commands.push(command);
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (let command = this.#commands.shift(); command; command = this.#commands.shift()) {
        if (this.#state === "closed") break;
        if (this.#executeInline(command)) continue;
        try {
          await this.#execute(command);
        } catch (error) {
          const failure = { type: "crypto.failed", code: toCode(error) } as const;
          if (this.#state === "handshaking") this.#deliver(failure);
          else this.#deliverUpdate(failure);
        }
      }
    } finally {
      this.#pumping = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #idle(): Promise<void> {
    if (!this.#pumping && this.#commands.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #deliver(event: HandshakeEvent): void {
    if (this.#state === "handshaking") this.#actor?.send(event);
  }

  /**
   * Runs, without yielding, the commands that only append to the write chain
   * after the handshake: a key-update message and the send-key switch that
   * follows it must be adjacent in the chain, with no application record
   * between them, or the peer would open that record with the wrong epoch.
   *
   * @returns `true` if the command was handled here.
   */
  #executeInline(command: Command): boolean {
    if (this.#state === "handshaking") return false;
    if (command.type === "frame.send") {
      this.#send(command.message, "track").catch(() => {});
      return true;
    }
    if (command.type === "flight.retransmit") {
      this.#retransmitFlight();
      return true;
    }
    if (command.type === "keys.activateSend") {
      const cipher = this.#rotation!.takeSend();
      const result = this.#writeChain.then(() => {
        this.#records.setSendCipher(cipher);
        this.#sendEpoch = command.epoch;
        this.#epochBytes = 0;
        this.#epochRecords = 0;
        this.#sendSwitched = true;
        this.#trace({
          type: "keys",
          at: this.#now(),
          role: this.#role,
          epoch: command.epoch,
          direction: "send",
        });
        this.#maybeFinishUpdate(command.epoch);
      });
      this.#writeChain = result.catch(() => {});
      return true;
    }
    return false;
  }

  async #execute(command: Command): Promise<void> {
    switch (command.type) {
      case "frame.send": {
        const { message } = command;
        const encoded = encodeMessage(message);
        this.#transcript.append(messageTypeOf(message.kind), encoded);
        const delay = randomInt(this.#random, this.#options.profile.maxHandshakeDelay);
        if (delay > 0) await this.#sleep(delay);
        await this.#send(message, "track", encoded);
        return;
      }
      case "negotiation.settled":
        return this.#settle(command.suite);
      case "keyExchange.offer": {
        const prepared = command.slot === "secondary" ? this.#nextOffer : undefined;
        this.#nextOffer = undefined;
        const offering = prepared ?? this.#keyExchange(command.slot).offer(this.#random);
        if (command.slot === "primary") this.#prepareSecondaryOffer();
        const { offer, state } = await offering;
        this.#kexState = state;
        // Until its keys are installed the leader sends nothing else, so the
        // follower can switch its receive keys right after its answer.
        this.#quiet = true;
        this.#deliver({ type: "crypto.offered", share: offer });
        return;
      }
      case "keyExchange.answer": {
        const { answer, sharedSecret } = await this.#keyExchange(command.slot).answer(
          command.share,
          this.#random,
        );
        this.#secret = sharedSecret;
        this.#deliver({ type: "crypto.answered", share: answer });
        return;
      }
      case "keyExchange.finish": {
        const state = this.#kexState!;
        this.#kexState = undefined;
        try {
          this.#secret = await this.#keyExchange(command.slot).finish(state, command.share);
        } finally {
          state.dispose();
        }
        this.#deliver({ type: "crypto.finished" });
        return;
      }
      case "keys.install":
        return this.#installKeys(command.stage);
      case "identity.sign":
        return await this.#sign();
      case "identity.verify":
        this.#deliver({ type: "crypto.verified", verdict: await this.#verify(command.message) });
        return;
      case "flight.retransmit":
        return this.#retransmitFlight();
      case "handshake.ready":
      case "handshake.failed":
        return;
      case "keyUpdate.offer": {
        const shares = await this.#rotation!.offer(command.epoch);
        this.#deliverUpdate({ type: "crypto.updateOffered", ...shares });
        return;
      }
      case "keyUpdate.answer": {
        const shares = await this.#rotation!.answer(command.message);
        this.#sendSwitched = false;
        this.#receiveSwitched = false;
        this.#deliverUpdate({
          type: "crypto.updateAnswered",
          ...shares,
          nextInterval: this.#nextUpdateInterval(),
        });
        return;
      }
      case "keyUpdate.finish": {
        await this.#rotation!.finish(command.message);
        this.#sendSwitched = false;
        this.#receiveSwitched = false;
        // The peer already sends with the new keys: switch receiving at once.
        this.#activateReceive(command.message.epoch);
        this.#deliverUpdate({
          type: "crypto.updateFinished",
          nextInterval: this.#nextUpdateInterval(),
        });
        return;
      }
      case "keys.activateReceive":
        this.#activateReceive(command.epoch);
        return;
      case "keyUpdate.failed":
        this.#terminate(command.code, false);
        return;
    }
  }

  #activateReceive(epoch: number): void {
    this.#records.setReceiveCipher(this.#rotation!.takeReceive());
    this.#receiveEpoch = epoch;
    this.#receiveSwitched = true;
    this.#trace({ type: "keys", at: this.#now(), role: this.#role, epoch, direction: "receive" });
    this.#maybeFinishUpdate(epoch);
  }

  #maybeFinishUpdate(epoch: number): void {
    if (!this.#sendSwitched || !this.#receiveSwitched) return;
    this.#emit("keyUpdate", { epoch });
    const waiters = this.#updateWaiters;
    this.#updateWaiters = [];
    for (const resolve of waiters) resolve(epoch);
  }

  #settle(suite: NegotiatedSuite): void {
    const hash = this.#backend.hash(suite.hash);
    const aead = this.#backend.aead(suite.aead);
    if (hash === undefined || aead === undefined) {
      throw new HandshakeError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        `Cannot settle suite: backend "${this.#backend.name}" lacks ${suite.hash} or ${suite.aead}`,
      );
    }
    this.#suite = suite;
    this.#aead = aead;
    this.#hash = hash;
    this.#transcript.setHash(hash);
    this.#keySchedule = new KeySchedule(hash, {
      keyLength: aead.keyLength,
      ...(this.#options.globalSharedSecret === undefined
        ? {}
        : { globalSharedSecret: this.#options.globalSharedSecret }),
    });
    // The key schedule has absorbed the GSS and the record layer keeps its own copy: wipe ours.
    this.#options.globalSharedSecret?.fill(0);
  }

  /**
   * Starts the secondary offer now. It is called after the primary offer, so
   * the key exchanges still run in the order primary, secondary (which is
   * what known-answer vectors fix); a single seeded random source now serves
   * it before, not after, the records of the primary exchange.
   */
  #prepareSecondaryOffer(): void {
    let pending: Promise<KeyExchangeOffer>;
    try {
      pending = this.#keyExchange("secondary").offer(this.#random);
    } catch {
      return; // The secondary phase reports it when it asks for the offer.
    }
    // Failures surface when the secondary phase takes the offer; until then none is unhandled.
    pending.catch(() => {});
    this.#nextOffer = pending;
  }

  /** Wipes a prepared offer the handshake did not use. */
  #discardNextOffer(): void {
    const pending = this.#nextOffer;
    this.#nextOffer = undefined;
    pending?.then(({ state }) => state.dispose(), () => {});
  }

  #keyExchange(slot: KeyExchangeSlot): KeyExchange {
    const name = slot === "primary"
      ? this.#suite!.primaryKeyExchange
      : this.#suite!.secondaryKeyExchange;
    const kex = this.#backend.keyExchange(name);
    if (kex === undefined) {
      throw new HandshakeError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        `Cannot run key exchange: backend "${this.#backend.name}" lacks ${name}`,
      );
    }
    return kex;
  }

  #installKeys(stage: KeyExchangeSlot): void {
    const secret = this.#secret!;
    this.#secret = undefined;
    const transcriptHash = this.#transcript.digest();
    const keys = stage === "primary"
      ? this.#keySchedule!.mixPrimary(secret, transcriptHash)
      : this.#keySchedule!.mixSecondary(secret, transcriptHash);
    secret.fill(0);
    const { send, receive } = directionKeys(this.#role, keys);
    const aead = this.#aead!;
    this.#records.setSendCipher(new CipherState(aead, send, keys.epoch));
    this.#records.setReceiveCipher(new CipherState(aead, receive, keys.epoch));
    send.fill(0);
    receive.fill(0);
    this.#sendEpoch = keys.epoch;
    this.#receiveEpoch = keys.epoch;
    this.#endQuiet();
    for (const direction of ["send", "receive"] as const) {
      this.#trace({
        type: "keys",
        at: this.#now(),
        role: this.#role,
        epoch: keys.epoch,
        direction,
      });
    }
  }

  async #sign(): Promise<void> {
    const identity = this.#options.identity;
    if (identity === undefined) {
      this.#deliver({ type: "crypto.signed", identity: undefined });
      return;
    }
    const scheme = this.#backend.signature(identity.algorithm);
    if (scheme === undefined) {
      throw new HandshakeError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        `Cannot sign: backend "${this.#backend.name}" lacks ${identity.algorithm}`,
      );
    }
    const payload = authenticationPayload(
      this.#role,
      identity.algorithm,
      identity.publicKey,
      this.#transcript.digest(),
    );
    const proof = await scheme.sign(payload, identity.secretKey, this.#random);
    this.#deliver({
      type: "crypto.signed",
      identity: {
        signature: SIGNATURES.find((entry) => entry.name === identity.algorithm)!.id,
        publicKey: identity.publicKey,
        proof,
      },
    });
  }

  async #verify(
    message: AuthenticationMessage<"beginAuthentication" | "endAuthentication">,
  ): Promise<PeerVerdict> {
    const identity = message.identity;
    if (identity === undefined) return { presented: false, signatureValid: false, access: "none" };
    const [name] = fromWireIds(SIGNATURES, [identity.signature]) as (SignatureName | undefined)[];
    if (name === undefined) return { presented: true, signatureValid: false, access: "none" };
    const scheme = this.#options.preferences.signatures.includes(name)
      ? this.#backend.signature(name)
      : undefined;
    const peerRole: Role = this.#role === "initiator" ? "responder" : "initiator";
    const signatureValid = scheme !== undefined &&
      identity.publicKey.length === scheme.publicKeyLength &&
      await scheme.verify(
        identity.proof,
        authenticationPayload(peerRole, name, identity.publicKey, this.#transcriptBeforeLast!),
        identity.publicKey,
      );
    const uuid = formatUuid(derivePeerUuid(name, identity.publicKey));
    const access = this.#options.accessManager?.check(uuid, identity.publicKey) ?? "unknown";
    return { presented: true, signatureValid, access, uuid, signature: name };
  }

  /**
   * Noise must never fall between a message that completes a key exchange and
   * the key switch that follows it: wait until no command is running and the
   * leader is not waiting for its keys.
   */
  async #whenNoiseMayGo(): Promise<void> {
    for (;;) {
      if (this.#quiet) await new Promise<void>((resolve) => this.#quietWaiters.push(resolve));
      await this.#idle();
      if (!this.#quiet || this.#state === "closed") return;
    }
  }

  #endQuiet(): void {
    this.#quiet = false;
    const waiters = this.#quietWaiters;
    this.#quietWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }

  // ---- receiving ----

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await this.#reader.read();
        } catch {
          // The transport failed; whatever reason it carries is not the peer's word.
          this.#onTransportEnd();
          return;
        }
        const { value, done } = chunk;
        if (done) {
          this.#records.finish();
          this.#onTransportEnd();
          return;
        }
        this.#bytesReceived += value.length;
        for (const record of this.#records.cut(value)) {
          await this.#idle();
          if (this.#isClosed()) return;
          await this.#processRecord(record);
        }
        // A framing error found behind the records just processed surfaces now.
        this.#records.cut(new Uint8Array(0));
      }
    } catch (error) {
      this.#onInvalidInput(error instanceof QGateError ? error.code : ErrorCode.TRANSPORT_CLOSED);
    }
  }

  async #processRecord(record: CutRecord): Promise<void> {
    const opened = await this.#records.open(record);
    if (opened === undefined) return;
    const { type, body, epoch } = opened;
    const message = this.#records.datagram
      ? decodeDatagramMessage(type, body)
      : decodeMessage(type, body);
    if (message === undefined) return;
    if (this.#state === "ready") this.#countTraffic(record.size, false);
    this.#trace({
      type: "frame",
      at: this.#now(),
      role: this.#role,
      direction: "received",
      kind: message.kind,
      epoch,
      size: record.size,
      noise: message.kind === "noise",
    });
    if (message.kind === "noise") return;
    if (this.#flights !== undefined && isControlKind(message.kind)) {
      const arrival = this.#flights.received(type, body);
      if (arrival !== "new") return this.#onDuplicate(message, arrival === "duplicateOfTrigger");
    }
    if (this.#state === "handshaking") {
      if (isHandshakeKind(message.kind)) {
        this.#transcriptBeforeLast = this.#transcript.hasHash
          ? this.#transcript.digest()
          : undefined;
        this.#transcript.append(type, body);
        this.#actor?.send({ type: `peer.${message.kind}`, message } as HandshakeEvent);
      } else if (!this.#records.datagram) {
        this.#actor?.send({ type: "peer.other", message });
      }
      // On datagrams the peer's first records after its handshake may overtake
      // its last handshake message: they are dropped like lost datagrams.
      return;
    }
    this.#onReadyMessage(message);
  }

  /**
   * A handshake or key-update message arrived again (datagrams). The active
   * statechart decides; after the handshake, the runtime answers a repeat of
   * the handshake's last trigger with its final flight (the lingering flight).
   */
  #onDuplicate(message: Message, ofLastTrigger: boolean): void {
    if (this.#state === "handshaking") {
      this.#actor?.send({ type: "peer.duplicate", ofLastTrigger });
    } else if (isHandshakeKind(message.kind)) {
      if (ofLastTrigger) this.#retransmitFlight();
    } else {
      this.#deliverUpdate({ type: "peer.duplicate", ofLastTrigger });
    }
  }

  #retransmitFlight(): void {
    for (const { message, epoch } of this.#flights?.flight ?? []) {
      this.#send(message, epoch).catch(() => {});
    }
  }

  #onReadyMessage(message: Message): void {
    switch (message.kind) {
      case "beginKeyUpdate":
      case "endKeyUpdate":
      case "keyUpdateReady":
        this.#deliverUpdate({ type: `peer.${message.kind}`, message } as KeyUpdateEvent);
        return;
      case "extenderData": {
        const extender = formatUuidHex(bytesToHex(message.extender));
        if (!this.#localExtenders.includes(extender)) {
          // Data still in flight for an extender we just removed is dropped;
          // data for one we never announced is the peer's error.
          const removedAt = this.#removedExtenders.get(extender);
          if (removedAt !== undefined && this.#clock.now() - removedAt < EXTENDER_GRACE_MS) return;
          this.#terminate(ErrorCode.UNKNOWN_EXTENDER, false);
          return;
        }
        this.#emit("message", { extender, data: message.data });
        return;
      }
      case "extenderUpdate": {
        const next = message.extenders.map((id) => formatUuidHex(bytesToHex(id)));
        const previous = this.#details!.peerExtenders;
        this.#details = { ...this.#details!, peerExtenders: next };
        this.#emit("extenders", {
          added: next.filter((uuid) => !previous.includes(uuid)),
          removed: previous.filter((uuid) => !next.includes(uuid)),
        });
        return;
      }
      case "close":
        this.#terminate(message.reason === 0 ? undefined : ErrorCode.PEER_ALERT, false);
        return;
      default:
        this.#terminate(ErrorCode.UNEXPECTED_MESSAGE, false);
    }
  }

  /** How many datagrams were dropped because they did not open (forged, replayed, stale). */
  get droppedRecords(): number {
    return this.#records.dropped;
  }

  #onInvalidInput(code: ErrorCode): void {
    if (this.#state === "handshaking") this.#actor?.send({ type: "transport.invalidRecord", code });
    else if (this.#state === "ready") this.#terminate(code, false);
  }

  #onTransportEnd(): void {
    if (this.#state === "handshaking") this.#actor?.send({ type: "transport.closed" });
    else if (this.#state === "ready") {
      if (this.#closing) this.#terminate(undefined, true);
      else this.#terminate(ErrorCode.TRANSPORT_CLOSED, false);
    }
  }

  // ---- teardown ----

  #terminate(code: ErrorCode | undefined, local: boolean): void {
    if (this.#state === "closed") return;
    const wasHandshaking = !this.#readySettled;
    this.#state = "closed";
    this.#actor?.stop();
    this.#keyUpdate?.stop();
    if (this.#keyUpdateTimer !== undefined) this.#clock.clearTimeout(this.#keyUpdateTimer);
    this.#keyUpdateTimer = undefined;
    if (this.#noiseTimer !== undefined) this.#clock.clearTimeout(this.#noiseTimer);
    this.#writeWatch.delete(this.#watched);
    this.#writeWatch.settle();
    this.#rotation?.dispose();
    if (this.#abortListener !== undefined) {
      this.#options.signal?.removeEventListener("abort", this.#abortListener);
    }
    this.#kexState?.dispose();
    this.#discardNextOffer();
    this.#secret?.fill(0);
    this.#options.globalSharedSecret?.fill(0);
    this.#keySchedule?.dispose();
    this.#records.dispose();
    this.#budget.close(
      new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed"),
    );
    this.#commands = [];
    this.#endQuiet();
    const info: CloseInfo = { code, local };
    if (wasHandshaking) {
      const failure = code ?? ErrorCode.ABORTED;
      const context = this.#actor?.getSnapshot().context;
      const phase = context?.failure?.phase ?? context?.phase ?? "handshake";
      this.#rejectReady(new HandshakeError(failure, `Handshake failed in ${phase}: ${failure}`));
    }
    this.#trace({
      type: "end",
      at: this.#now(),
      role: this.#role,
      outcome: wasHandshaking ? "failed" : "closed",
      ...(code === undefined ? {} : { code }),
    });
    void this.#shutdownTransport(code).then(() => {
      this.#emit("close", info);
      this.#resolveClosed(info);
    });
  }

  async #shutdownTransport(code: ErrorCode | undefined): Promise<void> {
    await this.#writeChain;
    if (code === undefined) await this.#writer.close().catch(() => {});
    else {
      const reason = new SessionError(code, `Session ended: ${code}`);
      const aborted = this.#writer.abort(reason).catch(() => {});
      // A sink stuck in a write may hold the abort back forever: do not wait for it then.
      if (!this.#writeStalled) await aborted;
    }
    await this.#reader.cancel().catch(() => {});
  }
}

/** Handshake and key-update messages: the ones that travel in flights. */
function isControlKind(kind: Message["kind"]): boolean {
  return isHandshakeKind(kind) || kind === "beginKeyUpdate" || kind === "endKeyUpdate" ||
    kind === "keyUpdateReady";
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

function formatUuidHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function stateToString(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") {
    const [key, inner] = Object.entries(value)[0] ?? ["", undefined];
    const rest = stateToString(inner);
    return rest === "" ? key : `${key}.${rest}`;
  }
  return "";
}

/**
 * Starts the handshake as the initiator: the side that dialled.
 *
 * @param transport The byte pipe to the responder.
 * @param options Identity, policy, algorithms, security level, injection.
 * @returns The session; await {@linkcode Session.ready}.
 * @throws {TypeError} For a wrong option type or an unknown name.
 * @throws {RangeError} For an option value out of range.
 *
 * @example A handshake over an in-memory pair
 * ```ts
 * import { createMemoryPair, initiate, respond } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = createMemoryPair();
 * const options = { requireAuthentication: false };
 * const client = initiate(a, options);
 * const server = respond(b, options);
 * const [mine, theirs] = await Promise.all([client.ready, server.ready]);
 * assert.equal(mine.algorithms.secondaryKeyExchange, "ML-KEM-768");
 * assert.equal(theirs.role, "responder");
 * await client.close();
 * await server.closed;
 * ```
 */
export function initiate(transport: Transport, options: SessionOptions = {}): Session {
  return Session.start("initiator", transport, options);
}

/**
 * Starts the handshake as the responder: the side that accepted. It leads every phase.
 *
 * @param transport The byte pipe to the initiator.
 * @param options Identity, policy, algorithms, security level, injection.
 * @returns The session; await {@linkcode Session.ready}.
 * @throws {TypeError} For a wrong option type or an unknown name.
 * @throws {RangeError} For an option value out of range.
 *
 * @example
 * ```ts
 * import { createMemoryPair, initiate, respond } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = createMemoryPair();
 * const server = respond(b, { requireAuthentication: false });
 * const client = initiate(a, { requireAuthentication: false });
 * await Promise.all([server.ready, client.ready]);
 * assert.equal(server.epoch, 2);
 * await server.close();
 * await client.closed;
 * ```
 */
export function respond(transport: Transport, options: SessionOptions = {}): Session {
  return Session.start("responder", transport, options);
}

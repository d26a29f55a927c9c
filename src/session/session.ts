/**
 * The public face of one end of a qgate connection: a thin façade over the
 * phase that is running.
 *
 * A session is first a {@linkcode HandshakeDriver} (the handshake
 * statechart and its crypto); when the handshake reaches `ready` it hands one
 * established object over to a {@linkcode ReadyDriver} (application data,
 * extenders, key updates, close), as a Noise implementation turns its
 * handshake state into a transport state. Both share one
 * {@linkcode Connection}: the transport, the record layer and the order in
 * which records leave and arrive.
 *
 * Nothing throws out of a stream callback: a peer that misbehaves fails the
 * handshake (or ends the session) with a stable code, reported through
 * {@linkcode Session.ready} and {@linkcode Session.closed}.
 *
 * @module
 */

import { ErrorCode, HandshakeError, handshakeFailureMessage, SessionError } from "../errors.ts";
import { autoBackend } from "../crypto/auto_backend.ts";
import { systemRandom } from "../crypto/random.ts";
import { randomSessionId } from "../crypto/peer_uuid.ts";
import type { CryptoBackend, RandomSource } from "../crypto/types.ts";
import type {
  ExtenderDataContinuationMessage,
  ExtenderDataMessage,
  Message,
  NoiseMessage,
} from "../codec/message_types.ts";
import { bytesToHex, hexToBytes } from "../_hex.ts";
import type { ReadyOutcome } from "../../machines/_ready_setup.ts";
import { createRecordLayer } from "./_record_layer.ts";
import { FlightTracker } from "./_flight.ts";
import { Connection, type ConnectionObserver, randomInt } from "./_connection.ts";
import { type Established, HandshakeDriver, requiresAuthentication } from "./_handshake_driver.ts";
import { isPostQuantumSuite, judgePeer } from "../handshake_policy.ts";
import { formatUuidHex, ReadyDriver, type ReadyObserver } from "./_ready_driver.ts";
import { SendBudget } from "./limits.ts";
import { type AccessWatcher, unwatchAccess, watchAccess } from "./access_manager.ts";
import { SYSTEM_CLOCK } from "./_system_clock.ts";
import type { Transport } from "../transport/transport.ts";
import type { PeerDetails, Role } from "./details.ts";
import type { CloseInfo, SessionEventMap, SessionListener, TraceEvent } from "./events.ts";
import {
  type Clock,
  type ResolvedOptions,
  resolveOptions,
  type SessionOptions,
} from "./options.ts";

/** The smallest noise body of a datagram initiator's opening record (about 1,200 bytes on the wire). */
const OPENING_NOISE_LENGTH = 1_150;

/**
 * One end of a qgate connection: the handshake, then protected application
 * data for extenders, until either side closes.
 *
 * Create one with {@linkcode initiate} or {@linkcode respond}.
 */
export class Session implements AsyncDisposable {
  readonly #role: Role;
  readonly #options: ResolvedOptions;
  readonly #random: RandomSource;
  readonly #clock: Clock;
  readonly #backend: CryptoBackend;
  readonly #sessionId: string;
  readonly #connection: Connection;
  readonly #budget: SendBudget;
  /** Listeners by event type (made with the first listener: most sessions have none). */
  #listeners: Map<keyof SessionEventMap, Set<(event: never) => void>> | undefined;
  readonly #onTrace: ((event: TraceEvent) => void) | undefined;
  readonly #ready: Promise<PeerDetails>;
  readonly #closed: Promise<CloseInfo>;
  /** Settles `ready`; dropped once the handshake has ended. */
  #settleReady: ReadyResolvers | undefined;
  #resolveClosed!: (info: CloseInfo) => void;
  /** The phase that runs: the handshake, then the ready phase, then nothing. */
  #phase: HandshakeDriver | ReadyDriver | undefined;
  #details: PeerDetails | undefined;
  /** The 16 bytes of each peer extender UUID `send()` has used. */
  #extenderIds: Map<string, Uint8Array> | undefined;
  /** The extender the last send went to, the peer's list it was checked against, and its id. */
  #lastExtender:
    | { readonly extender: string; readonly announced: readonly string[]; readonly id: Uint8Array }
    | undefined;
  /** Settles once every `send()` called so far has sealed its records (set while one waits). */
  #sendTail: Promise<void> | undefined;
  /** Set once `close()` was called: no more sends. */
  #closeCalled = false;
  /** `close()` started an orderly close: it reports a close that did not complete. */
  #orderlyClose = false;
  #ended = false;
  #lastState = "";
  /** The statechart's last state, once the session has ended. */
  #finalState = "";
  #noiseTimer: unknown;
  #abortListener: (() => void) | undefined;
  /** Stops listening to the access manager (set while ready). */
  #accessWatcher: AccessWatcher | undefined;
  /** The peer's proved identity key and whether it authenticated, for access re-checks. */
  #admitted:
    | { readonly publicKey: Uint8Array | undefined; readonly authenticated: boolean }
    | undefined;
  /** The signal's reason once it aborted us: the `cause` of the error that reports the abort. */
  #abortReason: unknown;
  #updateWaiters: ((epoch: number) => void)[] = [];

  /**
   * What the connection reports, delivered to one session. A class rather
   * than an object of closures: an idle session holds one small object.
   */
  static readonly #ConnectionEvents = class implements ConnectionObserver {
    readonly #session: Session;

    constructor(session: Session) {
      this.#session = session;
    }

    sent(kind: Message["kind"], epoch: number, size: number): void {
      this.#session.#onRecord("sent", kind, epoch, size);
    }

    received(kind: Message["kind"], epoch: number, size: number): void {
      this.#session.#onRecord("received", kind, epoch, size);
    }

    writeTimedOut(): void {
      this.#session.#end(ErrorCode.TIMEOUT, true);
    }

    writeFailed(code: ErrorCode): void {
      this.#session.#onWriteFailure(code);
    }
  };

  /**
   * What the ready phase and the access manager report, delivered to one
   * session (one small object, as above).
   */
  static readonly #ReadyEvents = class implements ReadyObserver, AccessWatcher {
    readonly #session: Session;

    constructor(session: Session) {
      this.#session = session;
    }

    /** The ready statechart's states are traced; `state` events are the handshake's. */
    get watching(): boolean {
      return this.#session.#tracing();
    }

    state(state: string): void {
      const session = this.#session;
      session.#trace({ type: "state", at: session.#now(), role: session.#role, state });
    }

    message(extender: string, data: Uint8Array): void {
      this.#session.#emit("message", { extender, data });
    }

    extenders(added: readonly string[], removed: readonly string[]): void {
      const session = this.#session;
      if (session.#details !== undefined && session.#phase instanceof ReadyDriver) {
        session.#details = { ...session.#details, peerExtenders: session.#phase.peerExtenders };
      }
      session.#emit("extenders", { added, removed });
    }

    keys(epoch: number, direction: "send" | "receive"): void {
      const session = this.#session;
      if (session.#tracing()) {
        session.#trace({ type: "keys", at: session.#now(), role: session.#role, epoch, direction });
      }
    }

    keyUpdate(epoch: number): void {
      const session = this.#session;
      // Access is re-checked at every key update (PROTOCOL.md §10).
      if (!session.#recheckAccess()) return;
      session.#emit("keyUpdate", { epoch });
      const waiters = session.#updateWaiters;
      session.#updateWaiters = [];
      for (const resolve of waiters) resolve(epoch);
    }

    settled(outcome: ReadyOutcome): void {
      this.#session.#onReadySettled(outcome);
    }

    ended(outcome: ReadyOutcome): void {
      this.#session.#onReadyEnded(outcome);
    }

    /** Access is re-checked when the peer's entry changes. */
    accessChanged(uuid: string): void {
      const session = this.#session;
      if (uuid === session.#details?.peerUuid) session.#recheckAccess();
    }
  };

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
    this.#backend = inject.backend;
    this.#sessionId = bytesToHex(randomSessionId(this.#random));
    // (Not Promise.withResolvers: Node 20 has none.)
    let settleReady!: ReadyResolvers;
    this.#ready = new Promise((resolve, reject) => (settleReady = { resolve, reject }));
    this.#settleReady = settleReady;
    this.#ready.catch(() => {});
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#budget = new SendBudget(options.maxBufferedBytes);

    const datagram = transport.kind === "datagram";
    const records = createRecordLayer(datagram, {
      backend: this.#backend,
      random: this.#random,
      globalSharedSecret: options.globalSharedSecret,
      maxRecordLength: options.maxRecordLength,
      now: () => this.#clock.now(),
      graceMs: options.profile.keyUpdate.gracePeriod,
      setTimer: (fn, ms) => this.#clock.setTimeout(fn, ms),
      clearTimer: (id) => this.#clock.clearTimeout(id),
    });
    this.#connection = new Connection(transport, records, {
      clock: this.#clock,
      random: this.#random,
      maxPadding: options.profile.maxPadding,
      writeTimeout: options.writeTimeout,
      flights: datagram ? new FlightTracker() : undefined,
      observer: new Session.#ConnectionEvents(this),
    });
    const watching = (): boolean => this.#tracing() || this.#listeners?.has("state") === true;
    const handshake = new HandshakeDriver({
      role,
      sessionId: this.#sessionId,
      options,
      backend: this.#backend,
      random: this.#random,
      clock: this.#clock,
      connection: this.#connection,
      observer: {
        get watching(): boolean {
          return watching();
        },
        state: (state) => this.#onState(state),
        keys: (epoch) => {
          if (this.#tracing()) {
            this.#trace({ type: "keys", at: this.#now(), role, epoch, direction: "send" });
            this.#trace({ type: "keys", at: this.#now(), role, epoch, direction: "receive" });
          }
        },
        ready: (established) => this.#becomeReady(established),
        failed: (error) => this.#end(error.code, error.code === ErrorCode.ABORTED),
      },
    });
    this.#phase = handshake;
    this.#connection.attach(handshake);
  }

  /** @internal Starts a session; used by {@linkcode initiate} and {@linkcode respond}. */
  static start(role: Role, transport: Transport, options: SessionOptions): Session {
    const resolved = resolveOptions(options);
    let session: Session;
    try {
      session = new Session(role, transport, resolved, {
        random: options.random ?? systemRandom,
        clock: options.clock ?? SYSTEM_CLOCK,
        backend: options.backend ?? autoBackend,
        onTrace: options.onTrace,
      });
    } catch (error) {
      // No session to wipe it later: the resolved copy of the GSS goes now.
      resolved.globalSharedSecret?.fill(0);
      throw error;
    }
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
    return this.#phase instanceof ReadyDriver
      ? this.#phase.epoch
      : this.#connection.records.sendEpoch;
  }

  /** Bytes written to the transport so far. */
  get bytesSent(): number {
    return this.#connection.bytesSent;
  }

  /** Bytes read from the transport so far. */
  get bytesReceived(): number {
    return this.#connection.bytesReceived;
  }

  /** Bytes passed to `send()`/`sendNoise()` and not yet written (at most `maxBufferedBytes`). */
  get bufferedBytes(): number {
    return this.#budget.buffered;
  }

  /** How many datagrams were dropped because they did not open (forged, replayed, stale). */
  get droppedRecords(): number {
    return this.#connection.records.dropped;
  }

  /**
   * The handshake statechart's active state as a dotted path, e.g.
   * `"authentication.verifying"`; `"ready"` once the handshake is done (the
   * ready phase's own states appear in traces as `"ready.…"`).
   */
  get state(): string {
    const phase = this.#phase;
    if (phase instanceof HandshakeDriver) return phase.state;
    return phase === undefined ? this.#finalState : "ready";
  }

  /** The extender UUIDs this side runs now. */
  get extenders(): readonly string[] {
    return this.#phase instanceof ReadyDriver
      ? [...this.#phase.localExtenders]
      : [...this.#options.extenders];
  }

  /**
   * Listens for one kind of event.
   *
   * @param type The event name.
   * @param listener Called synchronously; an exception it throws is reported, not propagated.
   * @returns A function that removes the listener.
   */
  on<K extends keyof SessionEventMap>(type: K, listener: SessionListener<K>): () => void {
    const listeners = this.#listeners ??= new Map();
    let set = listeners.get(type);
    if (set === undefined) {
      set = new Set();
      listeners.set(type, set);
    }
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
      if (set.size === 0) listeners.delete(type);
    };
  }

  /**
   * Sends data to one extender on the peer.
   *
   * Records are sealed in call order: data sent before `close()` is written
   * before the Close, and a resolved `send()` means its records were written.
   *
   * @param extender The extender UUID; the peer must have announced it.
   * @param data The bytes: one message, which the peer receives whole (cut
   *   into as many records as it needs). It waits for room under
   *   `maxBufferedBytes` (backpressure) before its records are queued.
   * @returns Resolves once every record is written to the transport.
   * @throws {RangeError} If `data` is longer than the smaller of both sides'
   *   `maxMessageSize` or, on datagrams, than one record holds (nothing is sent).
   * @throws {SessionError} `ERR_SESSION_CLOSED` before ready or after close;
   *   `ERR_UNKNOWN_EXTENDER` if the peer does not run that extender;
   *   `ERR_RESOURCE_LIMIT` if sends that were not awaited already wait for
   *   another `maxBufferedBytes`.
   */
  send(extender: string, data: Uint8Array): Promise<void> {
    let driver: ReadyDriver;
    let id: Uint8Array;
    try {
      driver = this.#writableReady("send");
      id = this.#extenderId(driver, extender);
      if (!(data instanceof Uint8Array)) {
        throw new TypeError(`Cannot send: "data" must be a Uint8Array`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    let parts: ReturnType<ReadyDriver["fragment"]>;
    try {
      const room = this.#connection.records.maxBodyLength(this.#options.profile.maxPadding);
      parts = driver.fragment(id, data, room);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sendInOrder(data.length, parts);
  }

  /**
   * Changes the extenders this side runs and tells the peer (an extender
   * update). Data the peer already sent to a removed extender is dropped for
   * a grace period of a minute instead of failing the session.
   *
   * @param extenders The full new list of extender UUIDs.
   * @returns Resolves once the update is written.
   * @throws {TypeError} If a UUID is malformed.
   * @throws {SessionError} `ERR_SESSION_CLOSED` if the session is not ready.
   */
  async setExtenders(extenders: readonly string[]): Promise<void> {
    const driver = this.#writableReady("change extenders");
    const next = resolveOptions({ requireAuthentication: false, extenders }).extenders;
    if (this.#sendTail !== undefined) await this.#sendTail;
    await driver.setExtenders(next);
  }

  /**
   * Sends one noise record: random bytes the peer drops, indistinguishable on
   * the wire from other records of the same length. Allowed at any time, even
   * before the handshake; while the responder waits for its keys it is held
   * back until they are installed.
   *
   * @param length Noise body length in bytes (at most the record limit allows).
   * @returns Resolves once the record is written.
   * @throws {RangeError} If `length` is negative or too large for one record.
   * @throws {SessionError} `ERR_SESSION_CLOSED` after close.
   */
  async sendNoise(length: number): Promise<void> {
    const max = this.#connection.records.maxBodyLength(this.#options.profile.maxPadding);
    if (!Number.isSafeInteger(length) || length < 0 || length > max) {
      throw new RangeError(
        `Cannot send noise: "length" must be an integer in [0, ${max}], got ${length}`,
      );
    }
    if (this.#ended || this.#closeCalled) {
      throw new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send noise: session is closed");
    }
    if (this.#phase instanceof HandshakeDriver) await this.#phase.whenNoiseMayGo();
    // The noise bytes are drawn when the record is sealed, in sealing order.
    await this.#sendInOrder(length, () => [{ kind: "noise", data: this.#random(length) }]);
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
    const phase = this.#phase;
    if (!(phase instanceof ReadyDriver) || this.#ended) {
      throw new SessionError(ErrorCode.SESSION_CLOSED, "Cannot export keys: session is not ready");
    }
    return phase.exporter(label, context, length);
  }

  /**
   * Rotates the session keys now: a fresh classical and post-quantum exchange
   * mixed into the key schedule. If an update is already running, waits for it.
   *
   * @returns The new epoch, once both directions use it.
   * @throws {SessionError} `ERR_SESSION_CLOSED` if the session is not ready.
   */
  updateKeys(): Promise<number> {
    let driver: ReadyDriver;
    try {
      driver = this.#writableReady("update keys");
    } catch (error) {
      return Promise.reject(error);
    }
    const done = new Promise<number>((resolve, reject) => {
      this.#updateWaiters.push(resolve);
      void this.#closed.then(() =>
        reject(new SessionError(ErrorCode.SESSION_CLOSED, "Key update ended by close"))
      );
    });
    driver.requestUpdate();
    return done;
  }

  /**
   * Closes the session. Once ready, this is an orderly close (PROTOCOL.md
   * §13): the records of every `send()` called before are written first,
   * then this side's Close; it resolves when the peer's Close has arrived,
   * which proves every record the peer sent arrived too (`code` undefined).
   * During the handshake it aborts it (resolving with `ERR_ABORTED`). On a
   * session that already ended it resolves with how it ended.
   *
   * @returns How the session ended.
   * @throws {SessionError} If the orderly close it started did not complete:
   *   `ERR_TIMEOUT` when the peer does not answer within `timeouts.close`,
   *   `ERR_TRANSPORT_CLOSED` when the transport ends first, or the code of a
   *   record that did not open. `closed` resolves with the same code.
   *
   * @example Closing after a handshake
   * ```ts
   * import { createMemoryPair, initiate, respond } from "@qgate/handshake";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = createMemoryPair();
   * const client = initiate(a, { requireAuthentication: false });
   * const server = respond(b, { requireAuthentication: false });
   * await Promise.all([client.ready, server.ready]);
   * assert.deepEqual(await client.close(), { code: undefined, local: true });
   * assert.deepEqual(await server.closed, { code: undefined, local: false });
   * ```
   */
  async close(): Promise<CloseInfo> {
    if (!this.#closeCalled && !this.#ended) {
      this.#closeCalled = true;
      const phase = this.#phase;
      if (phase instanceof HandshakeDriver) phase.abort();
      else if (phase instanceof ReadyDriver) {
        this.#orderlyClose = true;
        if (this.#sendTail !== undefined) await this.#sendTail.catch(() => {});
        if (this.#phase === phase) phase.close();
      }
    }
    const info = await this.#closed;
    if (this.#orderlyClose && info.code !== undefined) {
      throw new SessionError(info.code, `Close did not complete: ${info.code}`);
    }
    return info;
  }

  /**
   * Closes the session when a `using` block ends (`await using session = …`).
   * Unlike {@linkcode Session.close} it never throws: how the session ended
   * is in `closed`.
   *
   * @returns Resolves once the session has ended.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(() => {});
  }

  // ---- internals ----

  #begin(): void {
    const signal = this.#options.signal;
    if (signal !== undefined) {
      this.#abortListener = () => this.#abort(signal.reason);
      signal.addEventListener("abort", this.#abortListener, { once: true });
    }
    (this.#phase as HandshakeDriver).start();
    this.#connection.start();
    if (this.#connection.datagram && this.#role === "initiator") {
      // Over datagrams nothing tells the responder we exist until we send:
      // open with a noise record, as our first flight, resent until it answers.
      // It is padded to about 1,200 bytes: a responder sends an address that
      // has not proved it receives there at most three times what it got
      // (PROTOCOL.md §12.4), and its first flights need that much.
      const room = this.#connection.records.maxBodyLength(0);
      const size = Math.min(room, OPENING_NOISE_LENGTH + randomInt(this.#random, 64));
      this.#connection.send({ kind: "noise", data: this.#random(size) }, { track: true })
        .catch(() => {});
    }
    const noise = this.#options.profile.noise;
    if (noise.enabled) {
      // The initiator may open with noise, before the responder has said anything.
      if (this.#role === "initiator") this.#noiseTick(false);
      this.#scheduleNoise();
    }
    if (signal?.aborted) queueMicrotask(() => this.#abort(signal.reason));
  }

  /** The ready driver, if data may be sent now. */
  #writableReady(what: string): ReadyDriver {
    const phase = this.#phase;
    if (!(phase instanceof ReadyDriver) || this.#closeCalled || this.#ended || phase.closing) {
      throw new SessionError(ErrorCode.SESSION_CLOSED, `Cannot ${what}: session is not ready`);
    }
    return phase;
  }

  #extenderId(driver: ReadyDriver, extender: string): Uint8Array {
    // The extender of the last send, while the peer's list is the same array
    // (an extender update replaces it): a stream of sends to one extender
    // checks it once.
    const last = this.#lastExtender;
    if (
      last !== undefined && last.extender === extender && last.announced === driver.peerExtenders
    ) {
      return last.id;
    }
    const uuid = typeof extender === "string" ? extender.toLowerCase() : "";
    let id = this.#extenderIds?.get(uuid);
    if (id === undefined) {
      if (!driver.peerExtenders.includes(uuid)) {
        throw new SessionError(
          ErrorCode.UNKNOWN_EXTENDER,
          `Cannot send: the peer does not run extender ${String(extender)}`,
        );
      }
      id = hexToBytes(uuid.replaceAll("-", ""));
      // Bounded: only UUIDs the peer announced get here.
      (this.#extenderIds ??= new Map()).set(uuid, id);
    } else if (!driver.peerExtenders.includes(uuid)) {
      throw new SessionError(
        ErrorCode.UNKNOWN_EXTENDER,
        `Cannot send: the peer does not run extender ${uuid}`,
      );
    }
    this.#lastExtender = { extender, announced: driver.peerExtenders, id };
    return id;
  }

  /**
   * Seals one send's records in call order under `maxBufferedBytes`: at once
   * when the budget has room and no earlier send waits, otherwise once the
   * earlier sends are in and room appears. A send's records are sealed
   * together, so they are never interleaved with another send's. Each
   * record's `data` is what it takes from the budget until it is written.
   *
   * @param total The bytes of every record's `data` together.
   * @param records The records, or how to build them when they are sealed.
   * @returns Resolves once every record is written.
   */
  #sendInOrder(total: number, records: Budgeted[] | (() => Budgeted[])): Promise<void> {
    if (this.#budget.tryReserve(total)) return this.#sealAll(records);
    let written: Promise<void> = Promise.resolve();
    const sealed = this.#budget.reserve(total).then(() => {
      written = this.#sealAll(records);
    });
    const tail = sealed.catch(() => {});
    this.#sendTail = tail;
    void tail.then(() => {
      if (this.#sendTail === tail) this.#sendTail = undefined;
    });
    return sealed.then(() => written);
  }

  #sealAll(records: Budgeted[] | (() => Budgeted[])): Promise<void> {
    const list = typeof records === "function" ? records() : records;
    if (list.length === 1) return this.#seal(list[0]!);
    return all(list.map((record) => this.#seal(record)));
  }

  #seal(record: Budgeted): Promise<void> {
    const bytes = record.data.length;
    const budget = this.#budget;
    // Not `finally`: it takes three promises and as many turns where this takes one.
    return this.#connection.send(record).then(() => budget.release(bytes), (error) => {
      budget.release(bytes);
      throw error;
    });
  }

  #scheduleNoise(): void {
    const { minInterval, maxInterval } = this.#options.profile.noise;
    const delay = minInterval + randomInt(this.#random, maxInterval - minInterval);
    this.#noiseTimer = this.#clock.setTimeout(() => this.#noiseTick(true), delay);
  }

  /** Sends one noise record unless real data is waiting (real data always goes first). */
  #noiseTick(reschedule: boolean): void {
    if (this.#ended) return;
    const phase = this.#phase;
    const quiet = phase instanceof HandshakeDriver
      ? phase.quiet || phase.busy
      : phase === undefined || phase.closing || this.#closeCalled;
    if (!quiet && !this.#connection.busy) {
      const { minSize, maxSize } = this.#options.profile.noise;
      const room = this.#connection.records.maxBodyLength(this.#options.profile.maxPadding);
      const size = Math.min(room, minSize + randomInt(this.#random, maxSize - minSize));
      this.#connection.send({ kind: "noise", data: this.#random(size) }).catch(() => {});
    }
    if (reschedule) this.#scheduleNoise();
  }

  #abort(reason: unknown): void {
    if (this.#ended) return;
    this.#abortReason ??= reason;
    const phase = this.#phase;
    if (phase instanceof HandshakeDriver) phase.abort();
    else if (phase instanceof ReadyDriver) phase.abort();
  }

  #onWriteFailure(code: ErrorCode): void {
    const phase = this.#phase;
    if (phase instanceof HandshakeDriver) phase.onInvalidInput(code);
    else if (phase instanceof ReadyDriver) phase.fail(code);
  }

  #becomeReady(established: Established): void {
    const handshake = this.#phase as HandshakeDriver;
    const peer = established.peer;
    const peerExtenders = (peer.extenders ?? []).map(formatUuidHex);
    this.#details = {
      role: this.#role,
      algorithms: established.suite,
      postQuantum: isPostQuantumSuite(established.suite),
      peerUuid: peer.uuid,
      peerSignature: peer.signature,
      authenticated: peer.authenticated,
      localAuthenticated: established.localAuthenticated,
      sessionId: this.#sessionId,
      peerSessionId: peer.sessionId ?? "",
      peerVersion: peer.version ?? { major: 0, minor: 0 },
      peerExtenders,
      globalSharedSecret: this.#options.globalSharedSecret !== undefined,
    };
    handshake.dispose();
    const role = this.#role;
    const events = new Session.#ReadyEvents(this);
    const ready = new ReadyDriver({
      role,
      options: this.#options,
      backend: this.#backend,
      random: this.#random,
      clock: this.#clock,
      connection: this.#connection,
      established,
      peerExtenders,
      observer: events,
    });
    this.#phase = ready;
    this.#connection.attach(ready);
    this.#admitted = { publicKey: established.peerPublicKey, authenticated: peer.authenticated };
    const access = this.#options.accessManager;
    if (access !== undefined) {
      watchAccess(access, events);
      this.#accessWatcher = events;
    }
    if (this.#tracing()) {
      this.#trace({ type: "end", at: this.#now(), role, outcome: "ready" });
    }
    // Ready is reported once this side's last handshake message is written.
    const details = this.#details;
    const settle = this.#settleReady!;
    this.#settleReady = undefined;
    if (!this.#connection.busy) settle.resolve(details);
    else void this.#connection.drain().then(() => settle.resolve(details));
  }

  /**
   * Asks the access manager again whether the peer may stay: an
   * authenticated peer must still be allowed with the same key; any other
   * peer is judged as at the handshake. A peer that may not stay ends the
   * session with `ERR_PEER_NOT_ALLOWED`.
   *
   * @returns Whether the peer may stay.
   */
  #recheckAccess(): boolean {
    const admitted = this.#admitted;
    const details = this.#details;
    const manager = this.#options.accessManager;
    if (admitted === undefined || details === undefined || manager === undefined) return true;
    const presented = admitted.publicKey !== undefined && details.peerUuid !== undefined;
    const access = presented ? manager.check(details.peerUuid!, admitted.publicKey!) : "none";
    const code = admitted.authenticated && access !== "allowed"
      ? ErrorCode.PEER_NOT_ALLOWED
      : judgePeer(
        { presented, signatureValid: presented, access },
        requiresAuthentication(this.#options),
      );
    if (code === undefined) return true;
    const phase = this.#phase;
    if (phase instanceof ReadyDriver) phase.fail(ErrorCode.PEER_NOT_ALLOWED);
    return false;
  }

  #localOutcome(outcome: ReadyOutcome): boolean {
    return outcome.status === "closed"
      ? this.#closeCalled
      : outcome.code === ErrorCode.ABORTED || outcome.code === ErrorCode.TIMEOUT &&
          this.#closeCalled;
  }

  /**
   * The ready phase's outcome is settled while it lingers (datagrams): report
   * it now; the connection stays until the statechart lets go.
   */
  #onReadySettled(outcome: ReadyOutcome): void {
    const info = this.#settle(outcome.code, this.#localOutcome(outcome));
    if (info !== undefined) {
      this.#emit("close", info);
      this.#resolveClosed(info);
    }
  }

  #onReadyEnded(outcome: ReadyOutcome): void {
    this.#end(outcome.code, this.#localOutcome(outcome));
  }

  /** Ends the session: stops the phase, wipes its keys, releases the transport, reports. */
  #end(code: ErrorCode | undefined, local: boolean): void {
    const info = this.#settle(code, local);
    const phase = this.#phase;
    this.#phase = undefined;
    phase?.dispose();
    void this.#connection.end(code).then(() => {
      if (info === undefined) return;
      this.#emit("close", info);
      this.#resolveClosed(info);
    });
  }

  /**
   * Reports the end once: refuses further use, rejects `ready` during the
   * handshake, stops timers and traces it.
   *
   * @returns What `closed` resolves with, or `undefined` if already settled.
   */
  #settle(code: ErrorCode | undefined, local: boolean): CloseInfo | undefined {
    if (this.#ended) return undefined;
    this.#ended = true;
    const phase = this.#phase;
    const wasHandshaking = phase instanceof HandshakeDriver;
    this.#finalState = phase instanceof HandshakeDriver ? phase.state : "ready";
    if (wasHandshaking) {
      const failed = phase.phase;
      const reported = code ?? ErrorCode.ABORTED;
      const aborted = reported === ErrorCode.ABORTED && this.#abortReason !== undefined;
      this.#settleReady?.reject(
        new HandshakeError(reported, handshakeFailureMessage(reported, failed), {
          phase: failed,
          ...(aborted ? { cause: this.#abortReason } : {}),
        }),
      );
    }
    if (this.#noiseTimer !== undefined) this.#clock.clearTimeout(this.#noiseTimer);
    if (this.#accessWatcher !== undefined) {
      unwatchAccess(this.#options.accessManager!, this.#accessWatcher);
      this.#accessWatcher = undefined;
    }
    if (this.#abortListener !== undefined) {
      this.#options.signal?.removeEventListener("abort", this.#abortListener);
    }
    this.#options.globalSharedSecret?.fill(0);
    this.#budget.close(() =>
      new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed")
    );
    if (this.#tracing()) {
      this.#trace({
        type: "end",
        at: this.#now(),
        role: this.#role,
        outcome: wasHandshaking ? "failed" : "closed",
        ...(code === undefined ? {} : { code }),
      });
    }
    return { code, local };
  }

  #onState(state: string): void {
    if (state === this.#lastState) return;
    this.#lastState = state;
    this.#emit("state", { state });
    if (this.#tracing()) this.#trace({ type: "state", at: this.#now(), role: this.#role, state });
  }

  #onRecord(
    direction: "sent" | "received",
    kind: Message["kind"],
    epoch: number,
    size: number,
  ): void {
    const phase = this.#phase;
    if (phase instanceof ReadyDriver) phase.countTraffic(size, direction === "sent");
    if (this.#tracing()) {
      this.#trace({
        type: "frame",
        at: this.#now(),
        role: this.#role,
        direction,
        kind,
        epoch,
        size,
        noise: kind === "noise",
      });
    }
  }

  #tracing(): boolean {
    return this.#onTrace !== undefined || this.#listeners?.has("trace") === true;
  }

  #emit<K extends keyof SessionEventMap>(type: K, event: SessionEventMap[K]): void {
    const set = this.#listeners?.get(type);
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

  /** Trace time: the session clock's own time, shared by every session on that clock. */
  #now(): number {
    return this.#clock.now();
  }
}

/** How `ready` is settled. */
interface ReadyResolvers {
  resolve(details: PeerDetails): void;
  reject(error: HandshakeError): void;
}

/** A record `send()` or `sendNoise()` queues: its `data` counts against `maxBufferedBytes`. */
type Budgeted = ExtenderDataMessage | ExtenderDataContinuationMessage | NoiseMessage;

function all(writes: Promise<void>[]): Promise<void> {
  return Promise.all(writes).then(() => {});
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
 * assert.equal((await client.close()).code, undefined);
 * assert.equal((await server.closed).code, undefined);
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

/**
 * The ready phase of a session: runs the ready statechart
 * (`machines/ready.ts`: application data, extender updates, key updates,
 * close) over what the handshake handed over, and executes its commands.
 *
 * The statechart decides what may arrive and what to send; this driver
 * delivers data, keeps the extender lists, derives new keys when told and
 * switches them where the commands say. Application data is delivered
 * without a statechart step while the statechart is `active` (where the
 * statechart itself does nothing but deliver it; `tests/machines_ready_test.ts`
 * checks that the two agree), so data costs no transition. A message spread
 * over several records is put back together by the codec's
 * `MessageAssembler` (at most one incomplete message, at most
 * `maxMessageSize` bytes) and delivered whole.
 *
 * @module
 */

import type { Actor } from "xstate";
import { ActorHost } from "./_actor_host.ts";
import { CommandQueue, type CommandQueueHooks } from "./_command_queue.ts";
import { ErrorCode, SessionError } from "../errors.ts";
import type { CryptoBackend, KeyExchange, RandomSource } from "../crypto/types.ts";
import {
  type ExtenderDataContinuationMessage,
  type ExtenderDataMessage,
  isHandshakeKind,
  type Message,
} from "../codec/message_types.ts";
import { fragmentMessage, MessageAssembler } from "../codec/message_assembler.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, EXTENDER_DATA_HEADER_LENGTH } from "../codec/messages.ts";
import { datagramReadyMachine, readyMachine } from "../../machines/ready.ts";
import type { ReadyCommand, ReadyEvent, ReadyOutcome } from "../../machines/_ready_setup.ts";
import { KeyRotation } from "./_key_rotation.ts";
import { EPOCH_RECORD_LIMIT } from "../crypto/cipher_state.ts";
import { MAX_DATAGRAM_EPOCH } from "../codec/datagram_records.ts";
import type { Arrival, Connection, MessageSink } from "./_connection.ts";
import { randomInt } from "./_connection.ts";
import { codeOf, type Established, stateToString } from "./_handshake_driver.ts";
import type { Role } from "./details.ts";
import type { Clock, ResolvedOptions } from "./options.ts";
import { bytesToHex } from "../_hex.ts";
import { equalBytes } from "@noble/ciphers/utils.js";

/** How long data for a just-removed extender is dropped instead of failing the session. */
const EXTENDER_GRACE_MS = 60_000;

/** What the ready driver tells its owner. */
export interface ReadyObserver {
  /** Whether anyone listens to states (computing them costs). */
  readonly watching: boolean;
  /** The statechart entered a state (dotted path, prefixed `ready.`). */
  state(state: string): void;
  /** Application data arrived for a local extender. */
  message(extender: string, data: Uint8Array): void;
  /** The peer's extender list changed. */
  extenders(added: readonly string[], removed: readonly string[]): void;
  /** Keys of `epoch` took effect in one direction. */
  keys(epoch: number, direction: "send" | "receive"): void;
  /** A key update finished in both directions. */
  keyUpdate(epoch: number): void;
  /** How the ready phase ends is settled (datagrams then linger a while). */
  settled(outcome: ReadyOutcome): void;
  /** The ready phase ended. */
  ended(outcome: ReadyOutcome): void;
}

/** What the ready driver needs from the session. */
export interface ReadyContextArgs {
  readonly role: Role;
  readonly options: ResolvedOptions;
  readonly backend: CryptoBackend;
  readonly random: RandomSource;
  readonly clock: Clock;
  readonly connection: Connection;
  readonly established: Established;
  /** The peer's extender UUIDs (8-4-4-4-12), ascending. */
  readonly peerExtenders: readonly string[];
  readonly observer: ReadyObserver;
}

/**
 * Formats 32 hex digits as an 8-4-4-4-12 UUID.
 *
 * @param hex The UUID's 16 bytes as hex.
 * @returns The UUID.
 */
export function formatUuidHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** Runs the ready statechart and its commands. */
export class ReadyDriver implements MessageSink {
  /** How the command queue reaches this driver (one small object, no closures). */
  static readonly #QueueHooks = class implements CommandQueueHooks<ReadyCommand> {
    readonly #driver: ReadyDriver;

    constructor(driver: ReadyDriver) {
      this.#driver = driver;
    }

    execute(command: ReadyCommand): void | Promise<void> {
      return this.#driver.#execute(command);
    }

    failed(_: ReadyCommand, error: unknown): void {
      this.#driver.#send({ type: "crypto.failed", code: codeOf(error) });
    }

    stopped(): boolean {
      return this.#driver.#done;
    }
  };

  readonly #args: ReadyContextArgs;
  readonly #actor: Actor<typeof readyMachine>;
  readonly #host: ActorHost;
  /** Made at the first key update: an idle session holds none. */
  #rotation: KeyRotation | undefined;
  readonly #queue: CommandQueue<ReadyCommand> = new CommandQueue(new ReadyDriver.#QueueHooks(this));
  #done = false;
  #disposed = false;
  #lastState = "";
  #localExtenders: string[];
  /** When each extender this side removed went (made with the first removal). */
  #removedExtenders: Map<string, number> | undefined;
  #peerExtenders: readonly string[];
  #sendEpoch: number;
  #epochBytes = 0;
  #epochRecords = 0;
  readonly #assembler: MessageAssembler;
  #lastExtender: { readonly id: Uint8Array; readonly uuid: string } | undefined;

  /**
   * Takes the established session over and starts the ready statechart.
   *
   * @param args What the handshake established and what the session provides.
   */
  constructor(args: ReadyContextArgs) {
    this.#args = args;
    const { established, options, role, connection } = args;
    this.#localExtenders = [...options.extenders];
    this.#peerExtenders = args.peerExtenders;
    this.#sendEpoch = established.epoch;
    this.#assembler = new MessageAssembler({
      maxMessageSize: options.maxMessageSize,
      fragments: !connection.datagram,
    });
    const settings = options.profile.keyUpdate;
    // On streams, the statechart built without retransmission timers.
    const machine = connection.datagram ? datagramReadyMachine : readyMachine;
    this.#host = ActorHost.for(args.clock);
    const actor = this.#host.adopt(machine, {
      role,
      epoch: established.epoch,
      interval: this.#nextUpdateInterval(),
      maxDuration: settings.maxDuration,
      closeTimeout: options.profile.timeouts.close,
      transport: connection.datagram ? "datagram" : "stream",
    });
    this.#actor = actor;
    actor.on("*", (command) => this.#queue.push(command));
    actor.subscribe({
      next: (snapshot) => {
        if (args.observer.watching) {
          const state = `ready.${stateToString(snapshot.value)}`;
          if (state !== this.#lastState) {
            this.#lastState = state;
            args.observer.state(state);
          }
        }
      },
      error: () => this.#end({ status: "failed", code: ErrorCode.INTERNAL }),
    });
    actor.start();
  }

  /** The epoch of the keys this side sends with. */
  get epoch(): number {
    return this.#sendEpoch;
  }

  /** The peer's extender UUIDs. */
  get peerExtenders(): readonly string[] {
    return this.#peerExtenders;
  }

  /** The extender UUIDs this side runs. */
  get localExtenders(): readonly string[] {
    return this.#localExtenders;
  }

  /** The statechart's active state as a dotted path, prefixed `ready.`. */
  get state(): string {
    return `ready.${stateToString(this.#actor.getSnapshot().value)}`;
  }

  /** Whether this side has sent its Close (it sends nothing more). */
  get closing(): boolean {
    return this.#actor.getSnapshot().context.closing;
  }

  /** Derives keying material bound to the session (see `KeySchedule.exporter`). */
  exporter(label: string, context: Uint8Array, length: number): Uint8Array {
    return this.#args.established.schedule.exporter(label, context, length);
  }

  /**
   * Cuts one application message into the messages that carry it, or refuses
   * it before anything is sent.
   *
   * @param extender The 16-byte extender UUID.
   * @param data The whole message.
   * @param room The largest body one record carries.
   * @returns The messages to send, in order, consecutively.
   * @throws {RangeError} If `data` is longer than the smaller of this side's
   *   `maxMessageSize` and the one the peer announced in session init, or (on
   *   datagrams, where records may be lost or reordered) than one record holds.
   */
  fragment(
    extender: Uint8Array,
    data: Uint8Array,
    room: number,
  ): (ExtenderDataMessage | ExtenderDataContinuationMessage)[] {
    const maxMessageSize = this.maxMessageSize;
    if (data.length > maxMessageSize) {
      throw new RangeError(
        `Cannot send: "data" must be at most ${maxMessageSize} bytes (the smaller of both sides' maxMessageSize), got ${data.length}`,
      );
    }
    const single = room - EXTENDER_DATA_HEADER_LENGTH;
    if (this.#args.connection.datagram && data.length > single) {
      throw new RangeError(
        `Cannot send: "data" must fit one datagram record (${single} bytes), got ${data.length}`,
      );
    }
    return fragmentMessage(extender, data, room);
  }

  /** The largest message this side may send: the smaller of both sides' `maxMessageSize`. */
  get maxMessageSize(): number {
    const peer = this.#args.established.peer.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    return Math.min(this.#args.options.maxMessageSize, peer);
  }

  /** Asks for a key update now (one already running is not repeated). */
  requestUpdate(): void {
    this.#send({ type: "local.requestUpdate" });
  }

  /** Starts the orderly close (after a running key update). */
  close(): void {
    this.#send({ type: "local.close" });
  }

  /** Ends the session with `ERR_ABORTED`. */
  abort(): void {
    this.#send({ type: "local.abort" });
  }

  /** Ends the session with `code` (a local limit or fault). */
  fail(code: ErrorCode): void {
    this.#send({ type: "local.fail", code });
  }

  /**
   * Replaces the extenders this side runs and tells the peer.
   *
   * @param next The full new list, normalised.
   * @returns Resolves once the update is written.
   */
  setExtenders(next: readonly string[]): Promise<void> {
    const now = this.#args.clock.now();
    for (const uuid of this.#localExtenders) {
      if (!next.includes(uuid)) (this.#removedExtenders ??= new Map()).set(uuid, now);
    }
    for (const uuid of next) this.#removedExtenders?.delete(uuid);
    this.#localExtenders = [...next];
    return this.#args.connection.send({
      kind: "extenderUpdate",
      extenders: next.map((uuid) => hexToUuidBytes(uuid)),
    });
  }

  /**
   * Counts traffic under the current epoch and asks for an update past the limits.
   *
   * @param bytes Record size on the wire.
   * @param sealed Whether this side sealed it.
   */
  countTraffic(bytes: number, sealed: boolean): void {
    this.#epochBytes += bytes;
    if (sealed) this.#epochRecords++;
    const { maxBytes, maxRecords } = this.#args.options.profile.keyUpdate;
    // Leave room under the protocol's record limit for the update's own messages.
    const records = Math.min(maxRecords, EPOCH_RECORD_LIMIT / 2);
    if (this.#epochBytes >= maxBytes || this.#epochRecords >= records) {
      this.#epochBytes = 0;
      this.#epochRecords = 0;
      this.requestUpdate();
    }
  }

  /** Stops the statechart and wipes every key this phase holds. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#done = true;
    this.#queue.clear();
    this.#host.stop(this.#actor);
    this.#rotation?.dispose();
    this.#args.established.schedule.dispose();
  }

  onMessage(arrival: Arrival): void | Promise<void> {
    if (this.#done) return;
    const message = arrival.message;
    if (message.kind === "extenderData" || message.kind === "extenderDataContinuation") {
      // In every state of `active` (the only compound top-level state) the
      // statechart delivers data and does nothing else: skip the step.
      if (typeof this.#actor.getSnapshot().value === "object") this.#assemble(message);
      else this.#send(eventOf(message));
      return this.#queue.pending;
    }
    const flights = this.#args.connection.flights;
    if (flights !== undefined && isControlKind(message.kind)) {
      const seen = flights.received(arrival.type, arrival.body);
      if (seen !== "new") {
        this.#send({ type: "peer.duplicate", ofLastTrigger: seen === "duplicateOfTrigger" });
        return this.#queue.pending;
      }
    }
    this.#send(eventOf(message));
    return this.#queue.pending;
  }

  onInvalidInput(code: ErrorCode): void {
    this.#send({ type: "transport.invalidRecord", code });
  }

  onTransportEnd(): void {
    this.#send({ type: "transport.closed" });
  }

  onUnopened(): void {
    this.#send({ type: "transport.datagram" });
  }

  #send(event: ReadyEvent): void {
    if (!this.#done) this.#actor.send(event);
  }

  #execute(command: ReadyCommand): void | Promise<void> {
    const { connection } = this.#args;
    switch (command.type) {
      case "frame.send":
        // A failed write ends the session through the connection's own report.
        connection.send(command.message, { track: true }).catch(() => {});
        return;
      case "message.deliver":
        return this.#assemble(command.message);
      case "extenders.record":
        return this.#recordExtenders(command.message.extenders);
      case "flight.retransmit":
        for (const { message, epoch } of connection.flights?.flight ?? []) {
          connection.send(message, { epoch }).catch(() => {});
        }
        return;
      case "keyUpdate.offer":
        return this.#keyRotation().offer(command.epoch).then((shares) =>
          this.#send({ type: "crypto.updateOffered", ...shares })
        );
      case "keyUpdate.answer":
        return this.#keyRotation().answer(command.message).then((shares) =>
          this.#send({
            type: "crypto.updateAnswered",
            ...shares,
            nextInterval: this.#nextUpdateInterval(),
          })
        );
      case "keyUpdate.finish":
        return this.#keyRotation().finish(command.message).then(() =>
          this.#send({ type: "crypto.updateFinished", nextInterval: this.#nextUpdateInterval() })
        );
      case "keys.activateSend":
        connection.records.setSendCipher(this.#keyRotation().takeSend());
        this.#sendEpoch = command.epoch;
        this.#epochBytes = 0;
        this.#epochRecords = 0;
        this.#args.observer.keys(command.epoch, "send");
        return;
      case "keys.activateReceive":
        connection.records.setReceiveCipher(this.#keyRotation().takeReceive());
        this.#args.observer.keys(command.epoch, "receive");
        return;
      case "keyUpdate.done":
        this.#args.observer.keyUpdate(command.epoch);
        return;
      case "session.settled":
        // Datagrams linger: the keys go now, whatever arrives is only reported.
        if (connection.datagram) void connection.linger();
        this.#rotation?.dispose();
        this.#args.established.schedule.dispose();
        return this.#args.observer.settled(command.outcome);
      case "close.repeat":
        return connection.repeatClose();
      case "session.ended":
        return this.#end(command.outcome);
    }
  }

  #end(outcome: ReadyOutcome): void {
    if (this.#done) return;
    this.#done = true;
    this.#queue.clear();
    this.#args.observer.ended(outcome);
  }

  #assemble(message: ExtenderDataMessage | ExtenderDataContinuationMessage): void {
    let whole;
    try {
      whole = this.#assembler.push(message);
    } catch (error) {
      this.#send({ type: "transport.invalidRecord", code: codeOf(error) });
      return;
    }
    if (whole !== undefined) this.#deliver(whole.extender, whole.data);
  }

  /** The UUID of the extender the last message was for, formatted (most messages repeat it). */
  #extenderUuid(id: Uint8Array): string {
    const last = this.#lastExtender;
    if (last !== undefined && equalBytes(last.id, id)) return last.uuid;
    const uuid = formatUuidHex(bytesToHex(id));
    this.#lastExtender = { id: id.slice(), uuid };
    return uuid;
  }

  #deliver(id: Uint8Array, data: Uint8Array): void {
    const extender = this.#extenderUuid(id);
    if (!this.#localExtenders.includes(extender)) {
      // Data still in flight for an extender we just removed is dropped;
      // data for one we never announced is the peer's error.
      const removedAt = this.#removedExtenders?.get(extender);
      if (removedAt !== undefined && this.#args.clock.now() - removedAt < EXTENDER_GRACE_MS) return;
      this.fail(ErrorCode.UNKNOWN_EXTENDER);
      return;
    }
    this.#args.observer.message(extender, data);
  }

  #recordExtenders(ids: readonly Uint8Array[]): void {
    const next = ids.map((id) => formatUuidHex(bytesToHex(id)));
    const previous = this.#peerExtenders;
    this.#peerExtenders = next;
    this.#args.observer.extenders(
      next.filter((uuid) => !previous.includes(uuid)),
      previous.filter((uuid) => !next.includes(uuid)),
    );
  }

  /** The key rotation, made when the first key update needs it. */
  #keyRotation(): KeyRotation {
    if (this.#rotation !== undefined) return this.#rotation;
    const { established, connection, random, clock, role } = this.#args;
    this.#rotation = new KeyRotation({
      role,
      primary: this.#keyExchange(established.suite.primaryKeyExchange),
      secondary: this.#keyExchange(established.suite.secondaryKeyExchange),
      hash: established.hash,
      aead: established.aead,
      schedule: established.schedule,
      random,
      maxEpoch: connection.datagram ? MAX_DATAGRAM_EPOCH : 0xffff_ffff,
      now: () => clock.now(),
    });
    return this.#rotation;
  }

  #nextUpdateInterval(): number {
    const { minInterval, maxInterval } = this.#args.options.profile.keyUpdate;
    return minInterval + randomInt(this.#args.random, maxInterval - minInterval);
  }

  #keyExchange(name: Parameters<CryptoBackend["keyExchange"]>[0]): KeyExchange {
    const kex = this.#args.backend.keyExchange(name);
    if (kex === undefined) {
      throw new SessionError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        `Cannot rotate keys: backend "${this.#args.backend.name}" lacks ${name}`,
      );
    }
    return kex;
  }
}

/**
 * Messages that travel in flights on datagrams: key-update messages, Close,
 * and late copies of the handshake's (its last flight lingers).
 */
function isControlKind(kind: Message["kind"]): boolean {
  return kind === "beginKeyUpdate" || kind === "endKeyUpdate" || kind === "keyUpdateReady" ||
    kind === "close" || isHandshakeKind(kind);
}

function eventOf(message: Message): ReadyEvent {
  switch (message.kind) {
    case "extenderData":
    case "extenderDataContinuation":
    case "extenderUpdate":
    case "close":
    case "beginKeyUpdate":
    case "endKeyUpdate":
    case "keyUpdateReady":
      return { type: `peer.${message.kind}`, message } as ReadyEvent;
    default:
      return { type: "peer.other", message };
  }
}

function hexToUuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll("-", "");
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

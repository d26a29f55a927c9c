/**
 * Deterministic session traces produced by the statecharts themselves.
 *
 * {@linkcode simulateHandshakeTrace} runs the real `handshake` statechart for
 * both roles, then the real `ready` statechart (a key update, then the close
 * handshake: Close answered by Close) on a simulated clock, wired back to
 * back through the stand-in runtime (`_standin.ts`). The runtime's work is
 * stood in for: key shares, proofs and verdicts are zero bytes of the right
 * length and fixed answers, and no key is ever derived. What is real: the
 * order of states, messages and key switches the statecharts decide, and each
 * message's body size from the codec. It exists for tests, for the
 * inspector's replay, and for the sequence diagram in `machines/diagrams/`.
 *
 * The ready statechart's parallel regions are traced one `state` event per
 * region that changed, each a full path (`ready.active.lifecycle.open`,
 * `ready.active.keyUpdate.updating.offering`).
 *
 * @module
 */

import { type AnyActorRef, createActor, SimulatedClock } from "xstate";
import type { ErrorCode } from "../errors.ts";
import { encodeMessage } from "../codec/messages.ts";
import type { Message } from "../codec/message_types.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import type { KeyExchangeName } from "../crypto/types.ts";
import { DEFAULT_PREFERENCES, type NegotiatedSuite } from "../handshake_policy.ts";
import type { KeyExchangeSlot } from "../../machines/_setup.ts";
import { handshakeMachine } from "../../machines/handshake.ts";
import { readyMachine } from "../../machines/ready.ts";
import type { ReadyInput, ReadyOutcome } from "../../machines/_ready_setup.ts";
import type { TraceEvent, TraceRole } from "./trace_types.ts";
import {
  fixedStandIn,
  isReport,
  otherRole,
  STANDIN_SUITE,
  type StandInCommand,
  type StandInCrypto,
  standInEffect,
  standInInput,
} from "./_standin.ts";

/** Which story {@linkcode simulateHandshakeTrace} tells. */
export type SimulationScenario =
  /** Both peers authenticate and reach `ready`. */
  | "ready"
  /** The initiator's AEAD list shares nothing with the responder's: `ERR_NO_COMMON_ALGORITHM`. */
  | "noCommonAlgorithm"
  /** The responder's proof does not verify at the initiator: `ERR_AUTH_FAILED`. */
  | "authFailed";

/** Options of {@linkcode simulateHandshakeTrace}. */
export interface SimulationOptions {
  /** The story (default `"ready"`). */
  readonly scenario?: SimulationScenario;
  /** After `ready`, let the responder run one key update (default `true`). */
  readonly keyUpdate?: boolean;
  /**
   * After `ready` (and the key update), let the initiator close: its Close is
   * answered by the responder's, and both end `closed` (default `true`).
   */
  readonly close?: boolean;
  /** The initiator opens with a noise frame, and noise follows `ready` (default `true`). */
  readonly noise?: boolean;
  /** One-way delivery time in ms (default 2). */
  readonly latency?: number;
}

/** Stand-in durations of the runtime's work, in simulated ms. */
const WORK_MS: Readonly<Record<string, number>> = {
  "keyExchange.offer": 0.6,
  "keyExchange.answer": 0.8,
  "keyExchange.finish": 0.5,
  "identity.prove": 1.2,
  "identity.verify": 1.4,
  "keyUpdate.offer": 0.6,
  "keyUpdate.answer": 0.8,
  "keyUpdate.finish": 0.5,
};
/** Stream record overhead: masked length (3) + plaintext header (5) + AEAD tag (16). */
const RECORD_OVERHEAD = 3 + 5 + 16;
const ED25519 = { id: 0x0001, publicKey: 32, proof: 64 } as const;

interface Peer {
  readonly role: TraceRole;
  readonly crypto: StandInCrypto;
  handshake: AnyActorRef;
  /** The ready statechart, once the handshake is ready. */
  ready: AnyActorRef | undefined;
  sendEpoch: number;
  receiveEpoch: number;
  /** The active leaf states, as traced. */
  states: readonly string[];
  /** The handshake is over. */
  done: boolean;
  /** Commands waiting for the one being executed. */
  readonly commands: StandInCommand[];
  working: boolean;
  /** The session is over (after the handshake failed, or the ready phase ended). */
  ended: boolean;
}

interface Task {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

function shareLength(name: KeyExchangeName, part: "offer" | "answer"): number {
  const exchange = nobleBackend.keyExchange(name);
  if (exchange === undefined) return 32;
  return part === "offer" ? exchange.offerLength : exchange.answerLength;
}

/** Every active leaf of a state value as a dotted path, in document order (one per region). */
function leafPaths(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, child]) => {
      const rest = leafPaths(child);
      return rest.length === 0 ? [key] : rest.map((path) => `${key}.${path}`);
    });
  }
  return [];
}

class Simulation {
  readonly #events: TraceEvent[] = [];
  readonly #tasks: Task[] = [];
  readonly #latency: number;
  readonly #scenario: SimulationScenario;
  readonly #peers: Record<TraceRole, Peer>;
  #now = 0;
  #order = 0;
  #suite: NegotiatedSuite | undefined;

  /** Whether peers go on to the ready statechart once the handshake is ready. */
  readonly #readyPhase: boolean;

  constructor(scenario: SimulationScenario, latency: number, readyPhase: boolean) {
    this.#scenario = scenario;
    this.#latency = latency;
    this.#readyPhase = readyPhase;
    this.#peers = {
      initiator: this.#peer("initiator"),
      responder: this.#peer("responder"),
    };
  }

  get events(): TraceEvent[] {
    return this.#events;
  }

  get now(): number {
    return this.#now;
  }

  peer(role: TraceRole): Peer {
    return this.#peers[role];
  }

  #peer(role: TraceRole): Peer {
    const input = standInInput(role, {
      preferences: this.#scenario === "noCommonAlgorithm" && role === "initiator"
        ? { ...DEFAULT_PREFERENCES, aeads: ["XChaCha20-Poly1305"] }
        : this.#scenario === "noCommonAlgorithm"
        ? { ...DEFAULT_PREFERENCES, aeads: ["ChaCha20-Poly1305", "AES-256-GCM"] }
        : DEFAULT_PREFERENCES,
      requireAuthentication: true,
      identity: "Ed25519",
      extenders: role === "initiator"
        ? ["00000000000000000000000000000001"]
        : ["00000000000000000000000000000001", "00000000000000000000000000000002"],
      timeouts: { phase: 10_000, handshake: 30_000 },
    });
    const actor = createActor(handshakeMachine, { input, clock: new SimulatedClock() });
    // Shares are zero bytes of the negotiated algorithm's length; the
    // initiator rejects the responder's proof in the "authFailed" story.
    const crypto = fixedStandIn({
      share: (slot, part) => new Uint8Array(shareLength(this.#exchange(peer, slot), part)),
      identity: {
        signature: ED25519.id,
        publicKey: new Uint8Array(ED25519.publicKey),
        proof: new Uint8Array(ED25519.proof),
      },
      verdict: {
        presented: true,
        signatureValid: !(this.#scenario === "authFailed" && role === "initiator"),
        access: "allowed",
        uuid: role === "initiator"
          ? "00000000-0000-8000-8000-000000000002"
          : "00000000-0000-8000-8000-000000000001",
        signature: "Ed25519",
      },
      nextInterval: 600_000,
    });
    const peer: Peer = {
      role,
      crypto,
      handshake: actor,
      ready: undefined,
      sendEpoch: 0,
      receiveEpoch: 0,
      states: [],
      done: false,
      commands: [],
      working: false,
      ended: false,
    };
    actor.on("*", (command) => this.#command(peer, command as StandInCommand));
    actor.subscribe((snapshot) => {
      this.#enter(peer, leafPaths(snapshot.value));
      if (snapshot.status === "done" && !peer.done) {
        peer.done = true;
        const output = snapshot.output as
          | { status: "ready"; suite?: NegotiatedSuite }
          | { status: "failed"; failure: { code: ErrorCode } };
        if (output.status === "ready") {
          this.#suite ??= output.suite;
          this.#record({ type: "end", at: this.#now, role, outcome: "ready" });
          if (this.#readyPhase) this.#startReady(peer);
        } else {
          this.#record({
            type: "end",
            at: this.#now,
            role,
            outcome: "failed",
            code: output.failure.code,
          });
          this.#closeTransport(peer);
        }
      }
    });
    return peer;
  }

  #other(peer: Peer): Peer {
    return this.#peers[otherRole(peer.role)];
  }

  /** The runtime closes the transport of an ended session: the other side sees it close. */
  #closeTransport(peer: Peer): void {
    peer.ended = true;
    const other = this.#other(peer);
    this.#later(this.#latency, () => {
      if (other.ended) return;
      (other.ready ?? other.handshake).send({ type: "transport.closed" });
    });
  }

  #record(event: TraceEvent): void {
    // Simulated time is a sum of decimals: keep microseconds, drop float noise.
    this.#events.push({ ...event, at: Math.round(event.at * 1000) / 1000 });
  }

  /** Traces each active leaf that was not active before, in document order. */
  #enter(peer: Peer, states: readonly string[]): void {
    const before = new Set(peer.states);
    peer.states = states;
    for (const state of states) {
      if (!before.has(state)) {
        this.#record({ type: "state", at: this.#now, role: peer.role, state });
      }
    }
  }

  #later(delay: number, run: () => void): void {
    this.#tasks.push({ at: this.#now + delay, order: this.#order++, run });
  }

  /** Runs queued work in time order until nothing is left. */
  run(): void {
    for (;;) {
      this.#tasks.sort((a, b) => a.at - b.at || a.order - b.order);
      const task = this.#tasks.shift();
      if (task === undefined) return;
      this.#now = Math.max(this.#now, task.at);
      task.run();
    }
  }

  start(noise: boolean): void {
    // The initiator may open with noise before the responder's first message.
    this.peer("initiator").handshake.start();
    if (noise) this.sendNoise(this.peer("initiator"), 48);
    this.peer("responder").handshake.start();
  }

  sendNoise(peer: Peer, length: number): void {
    this.#transmit(peer, { kind: "noise", data: new Uint8Array(length) });
  }

  /** Puts a message on the wire now and delivers it after the latency. */
  #transmit(peer: Peer, message: Message): void {
    const size = RECORD_OVERHEAD + encodeMessage(message).length;
    const noise = message.kind === "noise";
    const { role } = peer;
    this.#record({
      type: "frame",
      at: this.#now,
      role,
      direction: "sent",
      kind: message.kind,
      epoch: peer.sendEpoch,
      size,
      noise,
    });
    const epoch = peer.sendEpoch;
    const other = this.#other(peer);
    this.#later(this.#latency, () => {
      this.#record({
        type: "frame",
        at: this.#now,
        role: other.role,
        direction: "received",
        kind: message.kind,
        epoch,
        size,
        noise,
      });
      if (noise || other.ended) return;
      const event = { type: `peer.${message.kind}`, message };
      if (other.ready !== undefined) other.ready.send(event);
      else if (!other.done) other.handshake.send(event);
    });
  }

  #keys(peer: Peer, epoch: number, direction: "send" | "receive"): void {
    if (direction === "send") peer.sendEpoch = epoch;
    else peer.receiveEpoch = epoch;
    this.#record({ type: "keys", at: this.#now, role: peer.role, epoch, direction });
  }

  #exchange(peer: Peer, slot: KeyExchangeSlot): KeyExchangeName {
    const context = peer.handshake.getSnapshot().context as { suite?: NegotiatedSuite };
    const suite = context.suite ?? this.#suite ?? STANDIN_SUITE;
    return slot === "primary" ? suite.primaryKeyExchange : suite.secondaryKeyExchange;
  }

  /** Queues a command: a peer's runtime executes its commands one after another. */
  #command(peer: Peer, command: StandInCommand): void {
    peer.commands.push(command);
    if (!peer.working) this.#work(peer);
  }

  #work(peer: Peer): void {
    peer.working = true;
    for (let command = peer.commands.shift(); command; command = peer.commands.shift()) {
      const delay = this.#execute(peer, command);
      if (delay !== undefined) {
        this.#later(delay, () => this.#work(peer));
        return;
      }
    }
    peer.working = false;
  }

  /** Executes one command; returns its work time when the rest must wait for it. */
  #execute(peer: Peer, command: StandInCommand): number | undefined {
    switch (command.type) {
      case "frame.send":
        this.#transmit(peer, command.message);
        return;
      case "keys.install": {
        const epoch = command.stage === "primary" ? 1 : 2;
        this.#keys(peer, epoch, "send");
        this.#keys(peer, epoch, "receive");
        return;
      }
      case "keys.activateSend":
        this.#keys(peer, command.epoch, "send");
        return;
      case "keys.activateReceive":
        this.#keys(peer, command.epoch, "receive");
        return;
    }
    // `session.ended` among them: the end is traced once the statechart is done.
    if (isReport(command)) return;
    const actor = peer.ready ?? peer.handshake;
    const { send, event } = standInEffect(command, peer.crypto);
    if (send === undefined && event === undefined) return;
    const work = WORK_MS[command.type] ?? 0;
    // The result is there once the work is done; the commands after it wait.
    this.#later(work, () => {
      if (peer.ended) return;
      if (send !== undefined) this.#transmit(peer, send);
      if (event !== undefined) actor.send(event);
    });
    return work;
  }

  /** The ready phase ended: trace it as the runtime does, then let go of the transport. */
  #ended(peer: Peer, outcome: ReadyOutcome): void {
    this.#record({
      type: "end",
      at: this.#now,
      role: peer.role,
      outcome: "closed",
      ...(outcome.code === undefined ? {} : { code: outcome.code }),
    });
    this.#closeTransport(peer);
  }

  /** Hands a peer over to the ready statechart, as the runtime does at `ready`. */
  #startReady(peer: Peer): void {
    const input: ReadyInput = {
      role: peer.role,
      epoch: peer.sendEpoch,
      interval: 600_000,
      maxDuration: 10_000,
    };
    // The simulated clocks never advance: no timer fires, every step is a message.
    const actor = createActor(readyMachine, { input, clock: new SimulatedClock() });
    peer.ready = actor;
    actor.on("*", (command) => this.#command(peer, command as StandInCommand));
    actor.subscribe((snapshot) => {
      this.#enter(peer, leafPaths(snapshot.value).map((path) => `ready.${path}`));
      if (snapshot.status === "done" && !peer.ended) this.#ended(peer, snapshot.output);
    });
    actor.start();
  }

  /** A local request to one peer's ready statechart (`local.requestUpdate`, `local.close`). */
  request(role: TraceRole, type: "local.requestUpdate" | "local.close"): void {
    this.peer(role).ready?.send({ type });
  }

  stop(): void {
    for (const peer of Object.values(this.#peers)) {
      peer.handshake.stop();
      peer.ready?.stop();
    }
  }
}

/**
 * Produces a deterministic trace of both peers by running the real
 * statecharts back to back on a simulated clock (see the module doc for what
 * is stood in for): the handshake, then in the ready phase a key update
 * started by the responder and the close handshake started by the
 * initiator. The same options always give the same events; times count from
 * 0 in simulated milliseconds.
 *
 * @param options The scenario, whether to add a key update, the close and noise, the latency.
 * @returns The events of both peers in the order they happened.
 * @throws {RangeError} If `latency` is negative or not finite.
 * @throws {TypeError} If `scenario` is unknown.
 *
 * @example Both peers reach ready, rotate to epoch 3, then close
 * ```ts
 * import { simulateHandshakeTrace } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const trace = simulateHandshakeTrace();
 * const ends = trace.filter((event) => event.type === "end");
 * assert.deepEqual(ends.map((event) => event.outcome), ["ready", "ready", "closed", "closed"]);
 * assert.ok(trace.some((event) => event.type === "keys" && event.epoch === 3));
 * ```
 */
export function simulateHandshakeTrace(options: SimulationOptions = {}): TraceEvent[] {
  const latency = options.latency ?? 2;
  if (!Number.isFinite(latency) || latency < 0) {
    throw new RangeError(
      `Cannot simulate handshake: "latency" must be a finite number >= 0, got ${latency}`,
    );
  }
  const scenario = options.scenario ?? "ready";
  if (!["ready", "noCommonAlgorithm", "authFailed"].includes(scenario)) {
    throw new TypeError(`Cannot simulate handshake: unknown scenario "${scenario}"`);
  }
  const noise = options.noise ?? true;
  const keyUpdate = options.keyUpdate ?? true;
  const close = options.close ?? true;
  const simulation = new Simulation(scenario, latency, keyUpdate || close);
  try {
    simulation.start(noise);
    simulation.run();
    const ready = simulation.events.filter((event) =>
      event.type === "end" && event.outcome === "ready"
    ).length === 2;
    if (ready && noise) {
      simulation.sendNoise(simulation.peer("responder"), 96);
      simulation.run();
    }
    if (ready && keyUpdate) {
      simulation.request("responder", "local.requestUpdate");
      simulation.run();
    }
    if (ready && close) {
      simulation.request("initiator", "local.close");
      simulation.run();
    }
    return simulation.events;
  } finally {
    simulation.stop();
  }
}

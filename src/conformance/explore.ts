/**
 * Exhaustive, bounded exploration of both peers' handshake statecharts over
 * an adversarial channel.
 *
 * {@linkcode exploreHandshake} runs the real `handshake` statechart of each
 * role through pure `transition()` steps, with a stand-in runtime and a
 * channel the adversary controls, and visits every reachable joint state up
 * to a bound by breadth-first search with state hashing (each side's
 * snapshot value and public context, the stand-in runtime's state, the
 * messages in flight and the adversary's remaining budget).
 *
 * **The stand-in crypto is not cryptography.** It is a cheap deterministic
 * model that keeps exactly the dependencies the protocol relies on:
 *
 * - a key share is a hash of (role, slot); a shared secret is a hash of the
 *   offer and the answer as this side saw them;
 * - the transcript is a running hash of every handshake message as this side
 *   saw it (sent or received);
 * - the chaining key absorbs each secret; the keys of an epoch are a hash of
 *   the chaining key, the direction, the epoch and the transcript at install
 *   time; epoch 0's key is a hash of the direction's salt and the GSS;
 * - a record carries the id of the key and the counter it was sealed with;
 *   a stream receiver accepts it only under its current key and next counter
 *   (else `transport.invalidRecord` with `ERR_DECRYPT_FAILED`), a datagram
 *   receiver drops it unless it holds that epoch's key and has not seen that
 *   counter;
 * - a proof is a hash of the signer's identity, role and transcript; the
 *   verifier recomputes it over its own transcript and asks its access list.
 *
 * The adversary knows every epoch-0 key unless a GSS is set (it cannot
 * derive later keys), and while the receiver is still in epoch 0 it can
 * seal one of its own. Within its budget it drops, duplicates, reorders,
 * injects a well-sealed epoch-0 message of any kind (a wrong-phase message,
 * a second offer) or replaces one with a modified meta exchange or a
 * substituted key share. Any pending timer of either side may fire at any
 * time (an over-approximation of real time); on datagrams, retransmissions
 * are bounded too.
 *
 * Invariants checked in every visited state or step:
 *
 * 1. both ready ⇒ the same keys in both directions, the same exporter and
 *    the same negotiated suite;
 * 2. no application data (extender data, extender update, close) is sent
 *    before ready, and none received before ready is accepted (a stream side
 *    fails, a datagram side drops it);
 * 3. requireAuthentication ⇒ no ready without a verified proof from the peer;
 * 4. every run ends: each terminal joint state is ready/ready or has a
 *    failed side (no deadlock), every side that has not ended keeps its
 *    handshake deadline armed, which is never re-armed (so no cycle
 *    runs forever), the explored graph has no cycle and the exploration
 *    was not cut short by `maxStates`;
 * 5. no nonce reuse: a send key is never installed twice, and within a key
 *    counters only increase;
 * 6. once a modified or forged meta exchange was accepted, neither side
 *    reaches ready.
 *
 * @module
 */

import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  initialTransition,
  transition,
} from "xstate";
import { handshakeMachine } from "../../machines/handshake.ts";
import type {
  HandshakeCommand,
  HandshakeEvent,
  HandshakeInput,
  HandshakeOutput,
  Role,
} from "../../machines/_setup.ts";
import { ErrorCode } from "../errors.ts";
import { isHandshakeKind, type Message, type MessageKind } from "../codec/message_types.ts";
import { encodeMessage } from "../codec/messages.ts";
import { DEFAULT_PREFERENCES, type PeerVerdict } from "../handshake_policy.ts";
import { bytesToHex, hexToBytes as bytesOf } from "../_hex.ts";
import {
  ANONYMOUS,
  commandsOf,
  type ExecutableAction,
  otherRole as other,
  type StandInCrypto,
  standInHash as h,
  standInInput,
  standInResult,
} from "../viz/_standin.ts";
import { exampleMessage } from "./_mutations.ts";

type Direction = "i2r" | "r2i";

/** One configuration the exploration runs. */
export interface ExplorationScenario {
  /** A name for the report. */
  readonly name: string;
  /** Records may be lost, duplicated or reordered, and flights are retransmitted. */
  readonly transport: "stream" | "datagram";
  /** Whether both sides hold a GSS (the adversary then cannot seal epoch 0). */
  readonly gss: boolean;
  /** Each side's identity (a name), whether it requires authentication, whom it allows. */
  readonly initiator: ExplorationSide;
  /** The responder's identity, requirement and allowed peers. */
  readonly responder: ExplorationSide;
}

/** One side of a scenario. */
export interface ExplorationSide {
  /** The identity's name, if this side authenticates. */
  readonly identity?: string;
  /** Whether the peer must authenticate. */
  readonly requireAuthentication: boolean;
  /** Identities the access list allows. */
  readonly allows: readonly string[];
}

/** Options of {@linkcode exploreHandshake}. */
export interface ExplorationOptions {
  /**
   * The bound: the adversary's budget per run on streams (how many drops,
   * duplicates, reorders, injections and replacements in total); datagram
   * scenarios get a budget of `depth - 2` and `depth <= 3 ? 1 : 2`
   * retransmissions per side. Default 2, or `QGATE_EXPLORE_DEPTH` (3 takes a
   * few minutes).
   */
  readonly depth?: number;
  /** The scenarios (default {@linkcode DEFAULT_EXPLORATION_SCENARIOS}). */
  readonly scenarios?: readonly ExplorationScenario[];
  /** Stops a scenario after this many states (default 400,000). */
  readonly maxStates?: number;
}

/** The result of one invariant. */
export interface InvariantResult {
  /** `"1 same keys and suite"` … `"6 modified meta exchange never ready"`. */
  readonly name: string;
  /** Whether no violation was found. */
  readonly holds: boolean;
  /** How many states or steps it was checked in. */
  readonly checked: number;
  /** The first violations, each with the path that leads to it. */
  readonly violations: readonly string[];
}

/** The result of one scenario. */
export interface ScenarioReport {
  /** The scenario's name. */
  readonly name: string;
  /** Stream or datagram semantics for the channel. */
  readonly transport: "stream" | "datagram";
  /** The adversary budget used. */
  readonly budget: number;
  /** Joint states visited. */
  readonly states: number;
  /** Transitions taken (edges of the explored graph). */
  readonly transitions: number;
  /** Terminal joint states, by outcome (`"ready/ready"`, `"failed/ready"`, …). */
  readonly terminals: Readonly<Record<string, number>>;
  /** Whether `maxStates` cut the exploration short. */
  readonly truncated: boolean;
  /** Wall time spent, in ms. */
  readonly durationMs: number;
  /** Each invariant's verdict in this scenario. */
  readonly invariants: readonly InvariantResult[];
}

/** The whole exploration. */
export interface ExplorationReport {
  /** Each scenario's report. */
  readonly scenarios: readonly ScenarioReport[];
  /** Joint states visited over all scenarios. */
  readonly states: number;
  /** Transitions taken over all scenarios. */
  readonly transitions: number;
  /** Wall time spent, in ms. */
  readonly durationMs: number;
  /** Per invariant, over all scenarios. */
  readonly invariants: readonly InvariantResult[];
}

/**
 * The default bound of {@linkcode exploreHandshake} (see {@linkcode ExplorationOptions.depth}).
 *
 * @example Raising the bound for a longer run
 * ```ts
 * import { DEFAULT_EXPLORATION_DEPTH } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * // QGATE_EXPLORE_DEPTH=3 deno task conformance --explore
 * assert.equal(DEFAULT_EXPLORATION_DEPTH, 2);
 * ```
 */
export const DEFAULT_EXPLORATION_DEPTH = 2;

/**
 * The scenarios explored by default: anonymous, mutual authentication with
 * and without a GSS, two configurations that must fail, and two over
 * datagrams.
 *
 * @example Exploring one scenario
 * ```ts
 * import { DEFAULT_EXPLORATION_SCENARIOS, exploreHandshake } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const failing = DEFAULT_EXPLORATION_SCENARIOS.find((s) => s.name.startsWith("required but"))!;
 * const report = exploreHandshake({ depth: 0, scenarios: [failing] });
 * assert.equal(report.scenarios[0]!.terminals["ready/ready"], undefined);
 * ```
 */
export const DEFAULT_EXPLORATION_SCENARIOS: readonly ExplorationScenario[] = [
  {
    name: "anonymous",
    transport: "stream",
    gss: false,
    initiator: { requireAuthentication: false, allows: [] },
    responder: { requireAuthentication: false, allows: [] },
  },
  {
    name: "mutual authentication",
    transport: "stream",
    gss: false,
    initiator: { identity: "alice", requireAuthentication: true, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
  {
    name: "mutual authentication with a GSS",
    transport: "stream",
    gss: true,
    initiator: { identity: "alice", requireAuthentication: true, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
  {
    name: "required but the initiator is anonymous",
    transport: "stream",
    gss: false,
    initiator: { requireAuthentication: false, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
  {
    name: "required but the responder is unknown",
    transport: "stream",
    gss: false,
    initiator: { identity: "alice", requireAuthentication: true, allows: [] },
    responder: { identity: "bob", requireAuthentication: false, allows: [] },
  },
  {
    name: "anonymous over datagrams",
    transport: "datagram",
    gss: false,
    initiator: { requireAuthentication: false, allows: [] },
    responder: { requireAuthentication: false, allows: [] },
  },
  {
    name: "mutual authentication over datagrams",
    transport: "datagram",
    gss: false,
    initiator: { identity: "alice", requireAuthentication: true, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
];

// ---------------------------------------------------------------------------
// The stand-in crypto

const encoder = new TextEncoder();

const APPLICATION_KINDS: ReadonlySet<string> = new Set(["extenderData", "extenderUpdate", "close"]);

const ROLES: readonly Role[] = ["initiator", "responder"];

function outgoing(role: Role): Direction {
  return role === "initiator" ? "i2r" : "r2i";
}

function receiverOf(direction: Direction): Role {
  return direction === "i2r" ? "responder" : "initiator";
}

/** A message in flight. */
interface Packet {
  readonly message: Message;
  /** `kind:hash`, for state keys and duplicate detection. */
  readonly id: string;
  /** The id of the key it was sealed with. */
  readonly key: string;
  readonly epoch: number;
  readonly counter: number;
  /** Set when the adversary made it. */
  readonly forged?: "injected" | "modified";
}

/** The stand-in runtime's state of one side (JSON-serialisable). */
interface Runtime {
  timers: string[];
  transcript: string;
  beforeLast: string;
  chain: string;
  secret: string;
  offer: string;
  send: { key: string; epoch: number };
  /** Next counter per send key (datagrams keep older epochs for retransmission). */
  counters: Record<string, number>;
  /** Send keys by epoch. */
  sendKeys: Record<string, string>;
  /** Receive keys by epoch (a stream only uses the current one). */
  receiveKeys: Record<string, string>;
  receiveEpoch: number;
  receiveCounter: number;
  /** Datagrams: counters seen per key (the replay window). */
  replay: string[];
  installed: string[];
  verified: boolean;
  outcome: "ready" | "failed" | undefined;
  /** This side ended its transport (failed, or closed after ready). */
  closed: boolean;
  /** It received the end of the peer's transport. */
  sawEnd: boolean;
  /** Datagram flight bookkeeping (as `src/session/_flight.ts`). */
  seen: string[];
  lastReceived: string | undefined;
  trigger: string | undefined;
  /** The current flight: message ids (see `World.messages`) and the epoch each was sealed in. */
  flight: { id: string; epoch: number }[];
  flightOpen: boolean;
  retransmits: number;
}

interface Side {
  snapshot: AnyMachineSnapshot;
  runtime: Runtime;
}

/** One joint state. */
interface Joint {
  readonly sides: Record<Role, Side>;
  readonly channel: Record<Direction, Packet[]>;
  budget: number;
  /** A modified or forged meta exchange was accepted by a statechart. */
  tampered: boolean;
}

/** What a step observed, for the invariants checked per step. */
interface StepLog {
  violations: { invariant: number; detail: string }[];
}

function clone(joint: Joint): Joint {
  return {
    sides: {
      initiator: {
        snapshot: joint.sides.initiator.snapshot,
        runtime: structuredClone(joint.sides.initiator.runtime),
      },
      responder: {
        snapshot: joint.sides.responder.snapshot,
        runtime: structuredClone(joint.sides.responder.runtime),
      },
    },
    channel: { i2r: [...joint.channel.i2r], r2i: [...joint.channel.r2i] },
    budget: joint.budget,
    tampered: joint.tampered,
  };
}

function contextKey(snapshot: AnyMachineSnapshot): unknown {
  const { phase, suite, peer, failure, retransmits } = snapshot.context as Record<string, unknown>;
  return [snapshot.status, snapshot.value, phase, suite, peer, failure, retransmits];
}

/** What of a side's stand-in state still matters: nothing but the ending once it has closed. */
function runtimeKey(runtime: Runtime): unknown {
  if (runtime.closed) return [runtime.outcome, runtime.sawEnd];
  if (runtime.outcome === "ready") {
    // Keys and transcript stay (invariant 1); timers are gone.
    return [
      runtime.send,
      runtime.receiveKeys,
      runtime.chain,
      runtime.transcript,
      runtime.sawEnd,
      runtime.seen,
      runtime.trigger,
      runtime.flight,
    ];
  }
  return runtime;
}

function keyOf(joint: Joint): string {
  return JSON.stringify([
    ROLES.map((role) => [
      contextKey(joint.sides[role].snapshot),
      runtimeKey(joint.sides[role].runtime),
    ]),
    joint.channel.i2r.map((packet) => [packet.id, packet.key, packet.counter, packet.forged]),
    joint.channel.r2i.map((packet) => [packet.id, packet.key, packet.counter, packet.forged]),
    joint.budget,
    joint.tampered,
  ]);
}

function messageId(message: Message): string {
  return `${message.kind}:${h(encodeMessage(message))}`;
}

/** The stand-in's scenario-wide facts. */
interface World {
  readonly scenario: ExplorationScenario;
  readonly datagram: boolean;
  readonly retransmits: number;
  /** Every message sent so far, by id (flights refer to them). */
  readonly messages: Map<string, Message>;
  /** The handshake statechart under exploration. */
  readonly machine: AnyStateMachine;
}

function preKey(world: World, direction: Direction, withGss: boolean): string {
  return h("pre", direction, withGss && world.scenario.gss ? "gss" : "");
}

function freshRuntime(world: World, role: Role): Runtime {
  const send = preKey(world, outgoing(role), true);
  const receive = preKey(world, outgoing(other(role)), true);
  return {
    timers: [],
    transcript: h("transcript"),
    beforeLast: "",
    chain: h("ck0", world.scenario.gss ? "gss" : ""),
    secret: "",
    offer: "",
    send: { key: send, epoch: 0 },
    counters: { [send]: 0 },
    sendKeys: { "0": send },
    receiveKeys: { "0": receive },
    receiveEpoch: 0,
    receiveCounter: 0,
    replay: [],
    installed: [send],
    verified: false,
    outcome: undefined,
    closed: false,
    sawEnd: false,
    seen: [],
    lastReceived: undefined,
    trigger: undefined,
    flight: [],
    flightOpen: false,
    retransmits: 0,
  };
}

function input(world: World, role: Role): HandshakeInput {
  const side = world.scenario[role];
  return standInInput(role, {
    preferences: {
      ...DEFAULT_PREFERENCES,
      // Two entries per category, so that a reordered offer differs on the wire.
      primaryKeyExchanges: ["X25519", "X448"],
      secondaryKeyExchanges: ["ML-KEM-768", "ML-KEM-1024"],
      aeads: ["ChaCha20-Poly1305", "AES-256-GCM"],
      hashes: ["SHA-256", "SHA-512"],
      signatures: ["Ed25519"],
    },
    requireAuthentication: side.requireAuthentication,
    transport: world.datagram ? "datagram" : "stream",
    retransmit: { initial: 100, max: 400 },
    ...(side.identity === undefined ? {} : { identity: "Ed25519" as const }),
  });
}

// ---------------------------------------------------------------------------
// The stand-in runtime

/** Applies one statechart step's actions: timers, then commands (which may step again). */
function step(
  world: World,
  joint: Joint,
  role: Role,
  event: HandshakeEvent | { type: string },
  log: StepLog,
): void {
  const side = joint.sides[role];
  const before = side.snapshot;
  const [snapshot, actions] = transition(world.machine, before, event as HandshakeEvent);
  side.snapshot = snapshot;
  afterStep(world, joint, role, actions as ExecutableAction[], log, false);
}

function afterStep(
  world: World,
  joint: Joint,
  role: Role,
  actions: readonly ExecutableAction[],
  log: StepLog,
  initial: boolean,
): void {
  const side = joint.sides[role];
  const runtime = side.runtime;
  for (const action of actions) {
    const params = action.params as Record<string, unknown> | undefined;
    if (action.type === "xstate.raise" && params?.delay !== undefined) {
      const id = String(params.id);
      // On streams a retransmission timer is guarded off: firing it changes nothing.
      if (!world.datagram && id.includes("retransmitDelay")) continue;
      if (id.startsWith("xstate.after.handshakeTimeout") && !initial) {
        log.violations.push({ invariant: 4, detail: `${role} re-armed its handshake deadline` });
      }
      if (!runtime.timers.includes(id)) runtime.timers.push(id);
      runtime.timers.sort();
    } else if (action.type === "xstate.cancel") {
      const id = String(params?.sendId);
      if (id.startsWith("xstate.after.handshakeTimeout") && side.snapshot.status === "active") {
        log.violations.push({ invariant: 4, detail: `${role} cancelled its handshake deadline` });
      }
      runtime.timers = runtime.timers.filter((timer) => timer !== id);
    }
  }
  if (side.snapshot.status === "done") {
    runtime.timers = [];
    const output = side.snapshot.output as HandshakeOutput;
    if (runtime.outcome === undefined) {
      runtime.outcome = output.status;
      if (output.status === "failed") runtime.closed = true;
      if (output.status === "ready") onReady(world, joint, role, log);
    }
  }
  for (const command of commandsOf(actions)) execute(world, joint, role, command, log);
}

function onReady(world: World, joint: Joint, role: Role, log: StepLog): void {
  const runtime = joint.sides[role].runtime;
  const context = joint.sides[role].snapshot.context as {
    requireAuthentication: boolean;
    peer: { authenticated: boolean };
  };
  if (context.requireAuthentication && !(runtime.verified && context.peer.authenticated)) {
    log.violations.push({
      invariant: 3,
      detail: `${role} is ready without a verified proof although it requires authentication`,
    });
  }
  void world;
}

function seal(world: World, joint: Joint, role: Role, message: Message, epoch?: number): Packet {
  const runtime = joint.sides[role].runtime;
  const key = epoch === undefined ? runtime.send.key : runtime.sendKeys[String(epoch)]!;
  const counter = runtime.counters[key] ?? 0;
  runtime.counters[key] = counter + 1;
  void world;
  return {
    message,
    id: messageId(message),
    key,
    epoch: epoch ?? runtime.send.epoch,
    counter,
  };
}

function transmit(world: World, joint: Joint, role: Role, packet: Packet): void {
  if (joint.sides[role].runtime.closed) return;
  joint.channel[outgoing(role)].push(packet);
  void world;
}

function verdict(world: World, role: Role, message: Message, transcript: string): PeerVerdict {
  if (message.kind !== "beginAuthentication" && message.kind !== "endAuthentication") {
    return ANONYMOUS;
  }
  const identity = message.identity;
  if (identity === undefined) return ANONYMOUS;
  const name = new TextDecoder().decode(identity.publicKey);
  const expected = h("proof", name, other(role), transcript);
  const signatureValid = identity.signature === 0x0001 && bytesToHex(identity.proof) === expected;
  const access = world.scenario[role].allows.includes(name) ? "allowed" : "unknown";
  return {
    presented: true,
    signatureValid,
    access,
    uuid: `00000000-0000-8000-8000-${h(name).slice(0, 12)}`,
    signature: "Ed25519",
  };
}

const REFUSED = { code: ErrorCode.INVALID_PEER_KEY } as const;

function isZero(share: Uint8Array): boolean {
  return share.every((byte) => byte === 0);
}

/**
 * The hashing model's answers for one side (see the module documentation);
 * it records the offer, the secret and the verification in `runtime`.
 */
function hashCrypto(world: World, runtime: Runtime, role: Role): StandInCrypto {
  return {
    offer: (slot) => {
      runtime.offer = h("share", role, slot);
      return bytesOf(runtime.offer);
    },
    answer: (slot, peerShare) => {
      const offer = h(peerShare);
      if (isZero(peerShare)) return REFUSED;
      const answer = h("share", role, slot);
      runtime.secret = h("secret", offer, h(bytesOf(answer)));
      return bytesOf(answer);
    },
    finish: (_, peerShare) => {
      if (isZero(peerShare)) return REFUSED;
      runtime.secret = h("secret", h(bytesOf(runtime.offer)), h(peerShare));
      return undefined;
    },
    sign: () => {
      const name = world.scenario[role].identity;
      return name === undefined ? undefined : {
        signature: 0x0001,
        publicKey: encoder.encode(name),
        proof: bytesOf(h("proof", name, role, runtime.transcript)),
      };
    },
    verify: (message) => {
      const found = verdict(world, role, message, runtime.beforeLast);
      runtime.verified = found.signatureValid && found.access === "allowed";
      return found;
    },
    // The handshake statechart never asks for a key update.
    updateShares: (part) => ({
      primaryShare: bytesOf(h("update", role, "primary", part)),
      secondaryShare: bytesOf(h("update", role, "secondary", part)),
    }),
    nextInterval: 60_000,
  };
}

function execute(
  world: World,
  joint: Joint,
  role: Role,
  command: HandshakeCommand,
  log: StepLog,
): void {
  const runtime = joint.sides[role].runtime;
  switch (command.type) {
    case "frame.send": {
      const { message } = command;
      if (APPLICATION_KINDS.has(message.kind)) {
        log.violations.push({ invariant: 2, detail: `${role} sent ${message.kind} before ready` });
      }
      runtime.transcript = h(runtime.transcript, messageId(message));
      if (world.datagram) {
        if (!runtime.flightOpen) {
          runtime.flight = [];
          runtime.trigger = runtime.lastReceived;
          runtime.flightOpen = true;
        }
        const id = messageId(message);
        world.messages.set(id, message);
        runtime.flight.push({ id, epoch: runtime.send.epoch });
      }
      transmit(world, joint, role, seal(world, joint, role, message));
      return;
    }
    case "keys.install": {
      const epoch = command.stage === "primary" ? 1 : 2;
      runtime.chain = h("ck", runtime.chain, runtime.secret);
      const key = (direction: Direction) =>
        h("key", runtime.chain, direction, String(epoch), runtime.transcript);
      const send = key(outgoing(role));
      if (runtime.installed.includes(send)) {
        log.violations.push({ invariant: 5, detail: `${role} installed send key ${send} twice` });
      }
      runtime.installed.push(send);
      runtime.send = { key: send, epoch };
      runtime.sendKeys[String(epoch)] = send;
      runtime.counters[send] ??= 0;
      runtime.receiveKeys[String(epoch)] = key(outgoing(other(role)));
      runtime.receiveEpoch = epoch;
      runtime.receiveCounter = 0;
      return;
    }
    case "flight.retransmit": {
      for (const { id, epoch } of runtime.flight) {
        transmit(world, joint, role, seal(world, joint, role, world.messages.get(id)!, epoch));
      }
      return;
    }
    default: {
      // Crypto work answers at once; the other commands need nothing here.
      const result = standInResult(command, hashCrypto(world, runtime, role));
      if (result !== undefined) step(world, joint, role, result, log);
    }
  }
}

/** Delivers the head (or the `index`-th) packet of a direction to its receiver. */
function deliver(
  world: World,
  joint: Joint,
  direction: Direction,
  index: number,
  log: StepLog,
): void {
  const [packet] = joint.channel[direction].splice(index, 1);
  const role = receiverOf(direction);
  const side = joint.sides[role];
  const runtime = side.runtime;
  if (packet === undefined || runtime.closed) return;
  if (runtime.outcome === "ready") {
    deliverAfterReady(world, joint, role, packet);
    return;
  }
  if (world.datagram) {
    const key = runtime.receiveKeys[String(packet.epoch)];
    const nonce = `${packet.key}#${packet.counter}`;
    if (key !== packet.key || runtime.replay.includes(nonce)) return;
    runtime.replay.push(nonce);
    runtime.replay.sort();
  } else if (
    packet.key !== runtime.receiveKeys[String(runtime.receiveEpoch)] ||
    packet.counter !== runtime.receiveCounter
  ) {
    step(world, joint, role, {
      type: "transport.invalidRecord",
      code: ErrorCode.DECRYPT_FAILED,
    }, log);
    return;
  } else {
    runtime.receiveCounter++;
  }
  const { message } = packet;
  if (!isHandshakeKind(message.kind)) {
    if (world.datagram) return; // dropped like a lost datagram
    step(world, joint, role, { type: "peer.other", message }, log);
    if (APPLICATION_KINDS.has(message.kind) && side.snapshot.status !== "done") {
      log.violations.push({
        invariant: 2,
        detail: `${role} accepted ${message.kind} before ready`,
      });
    }
    return;
  }
  if (world.datagram) {
    if (runtime.seen.includes(packet.id)) {
      const ofLastTrigger = packet.id === runtime.trigger && runtime.flight.length > 0;
      step(world, joint, role, { type: "peer.duplicate", ofLastTrigger }, log);
      return;
    }
    runtime.seen.push(packet.id);
    runtime.lastReceived = packet.id;
    runtime.flightOpen = false;
  }
  runtime.beforeLast = runtime.transcript;
  runtime.transcript = h(runtime.transcript, packet.id);
  const wasActive = side.snapshot.status === "active";
  step(world, joint, role, { type: `peer.${message.kind}`, message } as HandshakeEvent, log);
  if (packet.forged !== undefined && isMeta(message.kind) && wasActive) {
    // The statechart took a forged meta exchange in: from now on it must not get to ready.
    const failure = (side.snapshot.context as { failure?: unknown }).failure;
    if (failure === undefined) joint.tampered = true;
  }
}

function isMeta(kind: MessageKind): boolean {
  return kind === "beginMetaExchange" || kind === "endMetaExchange" ||
    kind === "beginPrimaryKeyExchange" || kind === "endPrimaryKeyExchange";
}

/** After ready: datagrams answer a repeated last trigger with the final flight; else the session ends. */
function deliverAfterReady(world: World, joint: Joint, role: Role, packet: Packet): void {
  const runtime = joint.sides[role].runtime;
  if (world.datagram) {
    const key = runtime.receiveKeys[String(packet.epoch)];
    if (key !== packet.key) return;
    if (runtime.seen.includes(packet.id)) {
      if (packet.id === runtime.trigger && runtime.flight.length > 0) {
        for (const { id, epoch } of runtime.flight) {
          transmit(world, joint, role, seal(world, joint, role, world.messages.get(id)!, epoch));
        }
      }
      return;
    }
  }
  // Anything else after ready (a stale duplicate, an injection) ends the session.
  runtime.closed = true;
}

// ---------------------------------------------------------------------------
// The adversary

/** The messages the adversary may inject: one well-formed example of every kind but noise. */
const INJECTABLE: readonly Message[] = (
  [
    "beginMetaExchange",
    "endMetaExchange",
    "beginPrimaryKeyExchange",
    "endPrimaryKeyExchange",
    "beginSecondaryKeyExchange",
    "beginAuthentication",
    "endSessionInit",
    "beginKeyUpdate",
    "extenderData",
    "close",
  ] as const
).map((kind) => exampleMessage(kind));

/** A modified copy of an epoch-0 message: what a relay that reads epoch 0 can make of it. */
function modified(message: Message): Message | undefined {
  switch (message.kind) {
    case "beginMetaExchange":
      return {
        ...message,
        primaryKeyExchanges: [...message.primaryKeyExchanges].reverse(),
        aeads: [...message.aeads].reverse(),
      };
    case "endMetaExchange":
      return { ...message, sessionId: new Uint8Array(8).fill(0xee) };
    case "beginPrimaryKeyExchange":
    case "endPrimaryKeyExchange":
      return { ...message, share: bytesOf(h("mallory", message.kind)) };
    default:
      return undefined;
  }
}

interface Move {
  readonly label: string;
  readonly apply: (joint: Joint, log: StepLog) => void;
}

function moves(world: World, joint: Joint, options: { retransmits: number }): Move[] {
  const list: Move[] = [];
  for (const direction of ["i2r", "r2i"] as const) {
    const queue = joint.channel[direction];
    const receiver = receiverOf(direction);
    const receiving = joint.sides[receiver].runtime;
    if (queue.length > 0) {
      list.push({
        label: `deliver ${direction} ${queue[0]!.message.kind}`,
        apply: (next, log) => deliver(world, next, direction, 0, log),
      });
    } else if (
      joint.sides[other(receiver)].runtime.closed && !receiving.sawEnd && !receiving.closed &&
      !world.datagram
    ) {
      list.push({
        label: `end ${direction}`,
        apply: (next, log) => {
          const side = next.sides[receiver];
          side.runtime.sawEnd = true;
          if (side.runtime.outcome === "ready") side.runtime.closed = true;
          else step(world, next, receiver, { type: "transport.closed" }, log);
        },
      });
    }
    if (joint.budget <= 0) continue;
    const spend = (label: string, apply: Move["apply"]): void => {
      list.push({
        label,
        apply: (next, log) => {
          next.budget--;
          apply(next, log);
        },
      });
    };
    queue.forEach((packet, index) => {
      spend(`drop ${direction}[${index}] ${packet.message.kind}`, (next) => {
        next.channel[direction].splice(index, 1);
      });
      spend(`duplicate ${direction}[${index}] ${packet.message.kind}`, (next) => {
        next.channel[direction].splice(index + 1, 0, packet);
      });
      if (index > 0) {
        spend(
          `reorder: deliver ${direction}[${index}] ${packet.message.kind} first`,
          (next, log) => deliver(world, next, direction, index, log),
        );
      }
    });
    const head = queue[0];
    const readable = !world.scenario.gss;
    // Sealed under the epoch-0 key an outsider derives, at the receiver's next counter.
    const forge = (message: Message, forged: "injected" | "modified"): Packet => ({
      message,
      id: messageId(message),
      key: preKey(world, direction, !readable),
      epoch: 0,
      counter: world.datagram ? 1_000 + joint.budget : receiving.receiveCounter,
      forged,
    });
    if (head !== undefined && head.epoch === 0 && readable && head.forged === undefined) {
      const changed = modified(head.message);
      if (changed !== undefined) {
        spend(`replace ${direction} ${head.message.kind} by a modified one`, (next) => {
          next.channel[direction][0] = { ...forge(changed, "modified"), counter: head.counter };
        });
      }
    }
    if (receiving.receiveEpoch === 0 && receiving.outcome === undefined) {
      for (const message of INJECTABLE) {
        spend(`inject ${direction} ${message.kind}`, (next) => {
          next.channel[direction].unshift(forge(message, "injected"));
        });
      }
    }
  }
  for (const role of ROLES) {
    const runtime = joint.sides[role].runtime;
    if (runtime.outcome !== undefined) continue;
    for (const timer of runtime.timers) {
      const retransmit = timer.includes("retransmitDelay");
      if (retransmit && runtime.retransmits >= options.retransmits) continue;
      list.push({
        label: `${role} timer ${timer.replace("xstate.after.", "")}`,
        apply: (next, log) => {
          const side = next.sides[role];
          side.runtime.timers = side.runtime.timers.filter((id) => id !== timer);
          if (retransmit) side.runtime.retransmits++;
          step(world, next, role, { type: timer }, log);
        },
      });
    }
  }
  return list;
}

// ---------------------------------------------------------------------------
// The search

const INVARIANTS = [
  "1 both ready: same keys, exporter and suite",
  "2 no application data before ready",
  "3 requireAuthentication: no ready without a verified proof",
  "4 every run ends (no deadlock, no unbounded cycle)",
  "5 no nonce reuse",
  "6 a modified meta exchange never reaches ready",
] as const;

class Tally {
  readonly checked: number[] = INVARIANTS.map(() => 0);
  readonly violations: string[][] = INVARIANTS.map(() => []);

  check(invariant: number, ok: boolean, detail: () => string): void {
    this.checked[invariant - 1]!++;
    if (!ok && this.violations[invariant - 1]!.length < 5) {
      this.violations[invariant - 1]!.push(detail());
    }
  }

  results(): InvariantResult[] {
    return INVARIANTS.map((name, i) => ({
      name,
      holds: this.violations[i]!.length === 0,
      checked: this.checked[i]!,
      violations: this.violations[i]!,
    }));
  }
}

function checkState(joint: Joint, tally: Tally, path: () => string): void {
  const { initiator, responder } = joint.sides;
  const bothReady = initiator.runtime.outcome === "ready" && responder.runtime.outcome === "ready";
  const i = initiator.runtime;
  const r = responder.runtime;
  tally.check(
    1,
    !bothReady || (
      i.send.key === r.receiveKeys[String(r.receiveEpoch)] &&
      r.send.key === i.receiveKeys[String(i.receiveEpoch)] &&
      i.chain === r.chain && i.transcript === r.transcript &&
      JSON.stringify((initiator.snapshot.context as { suite: unknown }).suite) ===
        JSON.stringify((responder.snapshot.context as { suite: unknown }).suite)
    ),
    () => `both ready with different keys or suites after ${path()}`,
  );
  const anyReady = i.outcome === "ready" || r.outcome === "ready";
  tally.check(
    6,
    !(joint.tampered && anyReady),
    () => `ready after a forged meta exchange: ${path()}`,
  );
  for (const role of ROLES) {
    const side = joint.sides[role];
    const ended = side.runtime.outcome !== undefined;
    tally.check(
      4,
      ended ||
        side.runtime.timers.some((timer) => timer.startsWith("xstate.after.handshakeTimeout")),
      () => `${role} is waiting without its handshake deadline after ${path()}`,
    );
  }
}

/**
 * Explores one scenario.
 *
 * @param scenario The configuration.
 * @param options The bounds.
 * @returns The scenario's figures and invariant results.
 */
function exploreScenario(
  machine: AnyStateMachine,
  scenario: ExplorationScenario,
  options: { budget: number; retransmits: number; maxStates: number },
): ScenarioReport {
  const started = performance.now();
  const world: World = {
    scenario,
    datagram: scenario.transport === "datagram",
    retransmits: options.retransmits,
    messages: new Map(),
    machine,
  };
  const tally = new Tally();
  const initialLog: StepLog = { violations: [] };
  const joint: Joint = {
    sides: {} as Record<Role, Side>,
    channel: { i2r: [], r2i: [] },
    budget: options.budget,
    tampered: false,
  };
  for (const role of ROLES) {
    const [snapshot, actions] = initialTransition(machine, input(world, role));
    joint.sides[role] = { snapshot, runtime: freshRuntime(world, role) };
    afterStep(world, joint, role, actions as ExecutableAction[], initialLog, true);
  }
  const index = new Map<string, number>();
  // Expanded nodes are dropped (only their edges and parents stay): memory holds the frontier.
  const nodes: (Joint | undefined)[] = [joint];
  const parents: { parent: number; label: string }[] = [{ parent: -1, label: "start" }];
  const edges: number[][] = [];
  index.set(keyOf(joint), 0);
  const pathTo = (node: number): string => {
    const labels: string[] = [];
    for (let at = node; at > 0; at = parents[at]!.parent) labels.push(parents[at]!.label);
    return labels.reverse().join(" → ") || "start";
  };
  const terminals: Record<string, number> = {};
  let transitions = 0;
  let truncated = false;
  for (let at = 0; at < nodes.length; at++) {
    const current = nodes[at]!;
    nodes[at] = undefined;
    checkState(current, tally, () => pathTo(at));
    const available = moves(world, current, options);
    edges[at] = [];
    if (available.length === 0) {
      const outcome = ROLES.map((role) => current.sides[role].runtime.outcome ?? "waiting").join(
        "/",
      );
      terminals[outcome] = (terminals[outcome] ?? 0) + 1;
      tally.check(
        4,
        outcome === "ready/ready" || outcome.includes("failed"),
        () => `deadlock (${outcome}) after ${pathTo(at)}`,
      );
      continue;
    }
    for (const move of available) {
      const next = clone(current);
      const log: StepLog = { violations: [] };
      move.apply(next, log);
      // Records toward a side that has closed its transport are never read.
      for (const role of ROLES) {
        if (next.sides[role].runtime.closed) next.channel[outgoing(other(role))] = [];
      }
      transitions++;
      for (const invariant of [2, 3, 4, 5]) {
        const mine = log.violations.filter((v) => v.invariant === invariant);
        tally.check(
          invariant,
          mine.length === 0,
          () => `${mine[0]!.detail}: ${pathTo(at)} → ${move.label}`,
        );
      }
      const key = keyOf(next);
      let target = index.get(key);
      if (target === undefined) {
        if (nodes.length >= options.maxStates) {
          truncated = true;
          continue;
        }
        target = nodes.length;
        index.set(key, target);
        nodes.push(next);
        parents.push({ parent: at, label: move.label });
      }
      edges[at]!.push(target);
    }
  }
  const cycle = findCycle(edges);
  tally.check(4, cycle === undefined, () => `a cycle through ${pathTo(cycle!)}`);
  tally.check(
    4,
    !truncated,
    () => `more than ${options.maxStates} states: not explored to the end`,
  );
  return {
    name: scenario.name,
    transport: scenario.transport,
    budget: options.budget,
    states: nodes.length,
    transitions,
    terminals,
    truncated,
    durationMs: Math.round(performance.now() - started),
    invariants: tally.results(),
  };
}

/** A node on a cycle of the graph, or `undefined` (iterative DFS with colours). */
function findCycle(edges: readonly number[][]): number | undefined {
  const colour = new Uint8Array(edges.length);
  for (let root = 0; root < edges.length; root++) {
    if (colour[root] !== 0) continue;
    const stack: [number, number][] = [[root, 0]];
    colour[root] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, next] = top;
      const out = edges[node] ?? [];
      if (next < out.length) {
        top[1]++;
        const child = out[next]!;
        if (colour[child] === 1) return child;
        if (colour[child] === 0) {
          colour[child] = 1;
          stack.push([child, 0]);
        }
      } else {
        colour[node] = 2;
        stack.pop();
      }
    }
  }
  return undefined;
}

function envBound(): number | undefined {
  try {
    const text = Deno.env.get("QGATE_EXPLORE_DEPTH");
    if (text === undefined || text === "") return undefined;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot explore: "QGATE_EXPLORE_DEPTH" must be a non-negative integer, got ${text}`,
      );
    }
    return value;
  } catch (error) {
    if (error instanceof RangeError) throw error;
    return undefined;
  }
}

/**
 * Explores every reachable joint state of both peers' handshake statecharts
 * over an adversarial channel, up to the adversary's budget, and checks the
 * six invariants listed in the module documentation.
 *
 * Pure and deterministic: no I/O, no timers, no randomness. The stand-in
 * crypto is a model (see the module documentation), not cryptography.
 *
 * @param options The bound and the scenarios; `QGATE_EXPLORE_DEPTH` sets the
 *   bound when `options.depth` is not given.
 * @returns States, transitions and each invariant's result, per scenario and overall.
 * @throws {RangeError} If `QGATE_EXPLORE_DEPTH` is not a non-negative integer.
 *
 * @example Exploring the anonymous handshake without an adversary
 * ```ts
 * import { DEFAULT_EXPLORATION_SCENARIOS, exploreHandshake } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const report = exploreHandshake({ depth: 0, scenarios: [DEFAULT_EXPLORATION_SCENARIOS[0]!] });
 * assert.ok(report.states > 10);
 * assert.ok(report.invariants.every((invariant) => invariant.holds));
 * assert.ok((report.scenarios[0]!.terminals["ready/ready"] ?? 0) > 0);
 * ```
 */
export function exploreHandshake(options: ExplorationOptions = {}): ExplorationReport {
  return exploreStatechart(handshakeMachine, options);
}

/**
 * {@linkcode exploreHandshake} over another version of the handshake
 * statechart (for instance one with a guard replaced through
 * `machine.provide()`), to show that the invariants catch a broken machine.
 *
 * @param machine A handshake statechart with the same events and commands.
 * @param options The bound and the scenarios.
 * @returns The report.
 */
export function exploreStatechart(
  machine: AnyStateMachine,
  options: ExplorationOptions = {},
): ExplorationReport {
  const started = performance.now();
  const depth = options.depth ?? envBound() ?? DEFAULT_EXPLORATION_DEPTH;
  const scenarios = (options.scenarios ?? DEFAULT_EXPLORATION_SCENARIOS).map((scenario) =>
    exploreScenario(machine, scenario, {
      budget: scenario.transport === "datagram" ? Math.max(0, depth - 2) : depth,
      retransmits: depth <= 3 ? 1 : 2,
      maxStates: options.maxStates ?? 400_000,
    })
  );
  const invariants = INVARIANTS.map((name, i): InvariantResult => {
    const all = scenarios.map((scenario) => scenario.invariants[i]!);
    return {
      name,
      holds: all.every((result) => result.holds),
      checked: all.reduce((sum, result) => sum + result.checked, 0),
      violations: all.flatMap((result, at) =>
        result.violations.map((violation) => `${scenarios[at]!.name}: ${violation}`)
      ).slice(0, 5),
    };
  });
  return {
    scenarios,
    states: scenarios.reduce((sum, scenario) => sum + scenario.states, 0),
    transitions: scenarios.reduce((sum, scenario) => sum + scenario.transitions, 0),
    durationMs: Math.round(performance.now() - started),
    invariants,
  };
}

/**
 * Formats an exploration report as text: one line per scenario, then one
 * per invariant with its first violations.
 *
 * @param report The report of {@linkcode exploreHandshake}.
 * @returns The text, lines joined with `\n`.
 *
 * @example Printing a report
 * ```ts
 * import { DEFAULT_EXPLORATION_SCENARIOS, exploreHandshake, formatExploration } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const text = formatExploration(exploreHandshake({ depth: 0, scenarios: [DEFAULT_EXPLORATION_SCENARIOS[0]!] }));
 * assert.match(text, /invariant 1 both ready: same keys, exporter and suite: holds/);
 * ```
 */
export function formatExploration(report: ExplorationReport): string {
  const lines = ["exhaustive exploration (stand-in crypto, adversarial channel)"];
  for (const scenario of report.scenarios) {
    const ends = Object.entries(scenario.terminals).map(([k, v]) => `${k} ${v}`).join(", ");
    lines.push(
      `  ${scenario.name} (${scenario.transport}, budget ${scenario.budget}): ${scenario.states} states, ${scenario.transitions} transitions${
        scenario.truncated ? " (truncated)" : ""
      }; terminal: ${ends}`,
    );
  }
  for (const invariant of report.invariants) {
    lines.push(
      `  invariant ${invariant.name}: ${
        invariant.holds ? "holds" : "VIOLATED"
      } (${invariant.checked} checks)`,
    );
    for (const violation of invariant.violations) lines.push(`    ${violation}`);
  }
  lines.push(
    `  total: ${report.states} states, ${report.transitions} transitions in ${
      (report.durationMs / 1000).toFixed(1)
    } s`,
  );
  return lines.join("\n");
}

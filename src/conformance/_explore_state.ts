/**
 * The handshake exploration's joint state: both sides' snapshots and
 * stand-in runtime state, the packets in flight per direction and the
 * adversary's budget, with the key that identifies a joint state for the
 * search. Also what both explorations share about joint states: their
 * shape ({@linkcode JointState}), their copy ({@linkcode cloneJoint}) and
 * the faults a channel may make ({@linkcode channelFaults}).
 *
 * @module
 */

import type { AnyMachineSnapshot, AnyStateMachine } from "xstate";
import type { HandshakeInput, Role } from "../../machines/_setup.ts";
import type { Message } from "../codec/message_types.ts";
import { encodeMessage } from "../codec/messages.ts";
import { DEFAULT_PREFERENCES } from "../handshake_policy.ts";
import { otherRole, ROLES, standInHash as h, standInInput } from "../viz/_standin.ts";
import { type Direction, directionFrom } from "./_relay.ts";
import type { StepLog } from "./_explore_graph.ts";
import type { ExplorationScenario } from "./explore_scenarios.ts";

/** A message in flight. */
export interface Packet {
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
export interface Runtime {
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

/** One side of either exploration: its statechart snapshot and its stand-in runtime state. */
export interface JointSide<R> {
  snapshot: AnyMachineSnapshot;
  runtime: R;
}

/** What every joint state of either exploration holds: both sides, the channel, the budget. */
export interface JointState<R, P> {
  readonly sides: Record<Role, JointSide<R>>;
  readonly channel: Record<Direction, P[]>;
  /** How many faults the channel may still make. */
  budget: number;
}

/** One side of the handshake exploration. */
export type Side = JointSide<Runtime>;

/** One joint state of the handshake exploration. */
export interface Joint extends JointState<Runtime, Packet> {
  /** A modified or forged meta exchange was accepted by a statechart. */
  tampered: boolean;
}

/**
 * A copy of a joint state of either exploration to apply a move to: each
 * side's runtime and the channel are copied, snapshots (immutable) are
 * shared, and the other fields are copied as they are.
 *
 * @param joint The state.
 * @returns The copy.
 */
export function cloneJoint<J extends JointState<object, unknown>>(joint: J): J {
  const side = (role: Role): J["sides"][Role] => ({
    snapshot: joint.sides[role].snapshot,
    runtime: structuredClone(joint.sides[role].runtime),
  });
  return {
    ...joint,
    sides: { initiator: side("initiator"), responder: side("responder") },
    channel: { i2r: [...joint.channel.i2r], r2i: [...joint.channel.r2i] },
  };
}

/**
 * The faults the channel may make to one direction of either exploration,
 * each spent from the budget by `spend`: drop or duplicate any packet in
 * flight, or deliver one ahead of those before it (when `reorder`).
 *
 * @param joint The state the moves start from.
 * @param direction The direction.
 * @param spend Adds a move that costs one unit of the budget.
 * @param deliverAt Delivers the `index`-th packet of the direction.
 * @param reorder Whether a later packet may be delivered first (default `true`).
 */
export function channelFaults<J extends JointState<object, { readonly message: Message }>>(
  joint: J,
  direction: Direction,
  spend: (label: string, apply: (next: J, log: StepLog) => void) => void,
  deliverAt: (next: J, index: number, log: StepLog) => void,
  reorder = true,
): void {
  joint.channel[direction].forEach((packet, index) => {
    const what = `${direction}[${index}] ${packet.message.kind}`;
    spend(`drop ${what}`, (next) => {
      next.channel[direction].splice(index, 1);
    });
    spend(`duplicate ${what}`, (next) => {
      next.channel[direction].splice(index + 1, 0, packet);
    });
    if (index > 0 && reorder) {
      spend(`reorder: deliver ${what} first`, (next, log) => deliverAt(next, index, log));
    }
  });
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

/** The key that identifies a joint state: what can still influence the rest of a run. */
export function keyOf(joint: Joint): string {
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

/** A message's id: its kind and a hash of its encoding. */
export function messageId(message: Message): string {
  return `${message.kind}:${h(encodeMessage(message))}`;
}

/** The stand-in's scenario-wide facts. */
export interface World {
  readonly scenario: ExplorationScenario;
  readonly datagram: boolean;
  readonly retransmits: number;
  /** Every message sent so far, by id (flights refer to them). */
  readonly messages: Map<string, Message>;
  /** The handshake statechart under exploration. */
  readonly machine: AnyStateMachine;
}

/** The epoch-0 key of a direction (with the GSS only when `withGss` and the scenario has one). */
export function preKey(world: World, direction: Direction, withGss: boolean): string {
  return h("pre", direction, withGss && world.scenario.gss ? "gss" : "");
}

/** A side's stand-in runtime state before its first step: epoch-0 keys, nothing sent. */
export function freshRuntime(world: World, role: Role): Runtime {
  const send = preKey(world, directionFrom(role), true);
  const receive = preKey(world, directionFrom(otherRole(role)), true);
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

/** The statechart input of a side in the scenario. */
export function input(world: World, role: Role): HandshakeInput {
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

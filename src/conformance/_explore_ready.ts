/**
 * The exploration past ready (see `explore_ready.ts`): the joint state of
 * both peers' ready statecharts, the stand-in runtime that executes their
 * commands as `src/session/_ready_driver.ts` does, the moves available from
 * a joint state, and the invariants checked per step and per state.
 *
 * @module
 */

import { type AnyStateMachine, initialTransition, transition } from "xstate";
import type { Role } from "../../machines/_setup.ts";
import type {
  ReadyCommand,
  ReadyEvent,
  ReadyInput,
  ReadyOutcome,
} from "../../machines/_ready_setup.ts";
import { ErrorCode } from "../errors.ts";
import type {
  ExtenderDataContinuationMessage,
  ExtenderDataMessage,
  Message,
} from "../codec/message_types.ts";
import { hexToBytes as bytesOf } from "../_hex.ts";
import {
  commandsOf,
  type ExecutableAction,
  fixedStandIn,
  otherRole,
  ROLES,
  type StandInCrypto,
  standInEffect,
  standInHash as h,
} from "../viz/_standin.ts";
import { type Direction, directionFrom, receiverOf } from "./_relay.ts";
import { channelFaults, type JointSide, type JointState, messageId } from "./_explore_state.ts";
import type { SearchMove, StepLog } from "./_explore_graph.ts";

/** The invariants of the exploration past ready, numbered as in `explore_ready.ts`. */
export const READY_INVARIANTS = [
  "1 both idle: both sides' epochs agree",
  "2 no (key, nonce) pair used twice",
  "3 no message delivered twice, nor out of order on a stream",
  "4 every run ends: both closed, or one with a code (both closed if undisturbed)",
  "5 streams: a closed side received everything its peer sent",
] as const;

/** The epoch the ready phase starts in (after the handshake's two). */
export const READY_EPOCH = 2;

/** One configuration of the exploration past ready. */
export interface ReadyScenario {
  /** A name for the report. */
  readonly name: string;
  /** Stream (reliable, in order) or datagram (loss, duplication, reordering) semantics. */
  readonly transport: "stream" | "datagram";
  /** Key updates each side may start (`local.requestUpdate`). */
  readonly updates: Readonly<Record<Role, number>>;
  /** Application messages each side may send. */
  readonly data: Readonly<Record<Role, number>>;
  /** Sides that may ask to close (`local.close`); the other side answers. */
  readonly closers: readonly Role[];
  /**
   * Whether the key-update and close deadlines may fire any time they are
   * armed (default `true`), or only when nothing else can happen.
   */
  readonly deadlines?: boolean;
  /** Datagrams: drops, duplicates and reorders the channel may make at depth 0 (default 0). */
  readonly budget?: number;
}

/** The bounds of one scenario's search. */
export interface ReadyBounds {
  /** Datagrams: how many drops, duplicates and reorders the channel may make. */
  readonly budget: number;
  /** Retransmission timers each side may fire. */
  readonly retransmits: number;
  /**
   * Whether the key-update and close deadlines may fire any time they are
   * armed (`true`), or only when nothing else can happen (`false`).
   */
  readonly deadlines: boolean;
}

/** A record in flight. */
export interface ReadyPacket {
  readonly message: Message;
  /** `kind:hash`: what the flight bookkeeping compares. */
  readonly id: string;
  /** The sender's epoch and counter under that epoch's key: the nonce. */
  readonly epoch: number;
  readonly counter: number;
}

/** The stand-in runtime of one side (JSON-serialisable). */
export interface ReadyRuntime {
  timers: string[];
  /** Commands not yet executed (the driver runs them in order, one crypto step at a time). */
  queue: ReadyCommand[];
  /** The result of the crypto step under way, fed back by a `crypto` move. */
  awaiting: ReadyEvent | undefined;
  sendEpoch: number;
  /** Datagrams: the sender keeps the previous epoch to retransmit a flight sealed under it. */
  previousSend: number | undefined;
  /** Next counter per send epoch. */
  counters: Record<string, number>;
  /** Per send epoch, the counters used so far (one past the highest). */
  used: Record<string, number>;
  receiveEpoch: number;
  /** Datagrams: the previous receive epoch stays open for late records. */
  previousReceive: number | undefined;
  /** Streams: the counter the next record must carry. */
  receiveCounter: number;
  /** Datagrams: `epoch#counter` already opened (the replay window). */
  replay: string[];
  /** Datagrams: the keys are wiped (settled, lingering). */
  wiped: boolean;
  /** Datagrams: the record that carried our Close, repeated byte for byte. */
  lastClose: ReadyPacket | undefined;
  /** Datagram flight bookkeeping (as `src/session/_flight.ts`). */
  seen: string[];
  lastReceived: string | undefined;
  trigger: string | undefined;
  flight: { id: string; message: Message; epoch: number }[];
  flightOpen: boolean;
  retransmits: number;
  /** Local requests left. */
  updatesLeft: number;
  dataSent: number;
  closeAsked: boolean;
  /** Sequence numbers of the peer's data delivered, in delivery order. */
  delivered: number[];
  /** Epochs reported done (`keyUpdate.done`), in order. */
  announced: number[];
  /** The statechart reached a final state: the transport is closed. */
  ended: ReadyOutcome | undefined;
  /** Streams: it read the end of the peer's transport. */
  sawEnd: boolean;
}

/** One side of a joint state. */
export type ReadySide = JointSide<ReadyRuntime>;

/** One joint state. */
export interface ReadyJoint extends JointState<ReadyRuntime, ReadyPacket> {
  /** The channel lost, duplicated or reordered a record, or a deadline fired. */
  disturbed: boolean;
}

/** The scenario-wide facts. */
export interface ReadyWorld {
  readonly scenario: ReadyScenario;
  readonly datagram: boolean;
  readonly bounds: ReadyBounds;
  readonly machine: AnyStateMachine;
  readonly crypto: Record<Role, StandInCrypto>;
}

/** The world of one scenario. */
export function readyWorld(
  machine: AnyStateMachine,
  scenario: ReadyScenario,
  bounds: ReadyBounds,
): ReadyWorld {
  const crypto = {} as Record<Role, StandInCrypto>;
  for (const role of ROLES) {
    // Shares differ per side, so both sides' BeginKeyUpdate of one epoch differ on the wire.
    crypto[role] = fixedStandIn({
      share: (slot, part) => bytesOf(h("update", role, slot, part)),
    });
  }
  return { scenario, datagram: scenario.transport === "datagram", bounds, machine, crypto };
}

/** The ready statechart's input of a side. */
export function readyInput(world: ReadyWorld, role: Role): ReadyInput {
  return {
    role,
    epoch: READY_EPOCH,
    interval: 60_000,
    maxDuration: 10_000,
    closeTimeout: 10_000,
    transport: world.datagram ? "datagram" : "stream",
    retransmit: { initial: 100, max: 400 },
    linger: 800,
  };
}

function freshRuntime(world: ReadyWorld, role: Role): ReadyRuntime {
  return {
    timers: [],
    queue: [],
    awaiting: undefined,
    sendEpoch: READY_EPOCH,
    previousSend: undefined,
    counters: { [READY_EPOCH]: 0 },
    used: { [READY_EPOCH]: 0 },
    receiveEpoch: READY_EPOCH,
    previousReceive: undefined,
    receiveCounter: 0,
    replay: [],
    wiped: false,
    lastClose: undefined,
    seen: [],
    lastReceived: undefined,
    trigger: undefined,
    flight: [],
    flightOpen: false,
    retransmits: 0,
    updatesLeft: world.scenario.updates[role],
    dataSent: 0,
    closeAsked: false,
    delivered: [],
    announced: [],
    ended: undefined,
    sawEnd: false,
  };
}

/** Both sides after their initial steps, nothing in flight. */
export function initialJoint(world: ReadyWorld, log: StepLog): ReadyJoint {
  const joint: ReadyJoint = {
    sides: {} as Record<Role, ReadySide>,
    channel: { i2r: [], r2i: [] },
    budget: world.datagram ? world.bounds.budget : 0,
    disturbed: false,
  };
  for (const role of ROLES) {
    const [snapshot, actions] = initialTransition(world.machine, readyInput(world, role));
    joint.sides[role] = { snapshot, runtime: freshRuntime(world, role) };
    afterStep(world, joint, role, actions as ExecutableAction[], log);
  }
  return joint;
}

function packetKey(packet: ReadyPacket): unknown {
  return [packet.id, packet.epoch, packet.counter];
}

function runtimeKey(runtime: ReadyRuntime): unknown {
  // Once ended, only the ending and what invariants 3 and 5 read still matter.
  if (runtime.ended !== undefined) {
    return [runtime.ended, runtime.delivered, runtime.dataSent, runtime.sawEnd];
  }
  return {
    ...runtime,
    flight: runtime.flight.map(({ id, epoch }) => [id, epoch]),
    lastClose: runtime.lastClose === undefined ? undefined : packetKey(runtime.lastClose),
    queue: runtime.queue.map((command) => JSON.stringify(command, bytesAsHex)),
    awaiting: JSON.stringify(runtime.awaiting, bytesAsHex),
  };
}

function bytesAsHex(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? h(value) : value;
}

/** The key that identifies a joint state for the search. */
export function readyKeyOf(joint: ReadyJoint): string {
  return JSON.stringify([
    ROLES.map((role) => {
      const { snapshot, runtime } = joint.sides[role];
      const { epoch, retransmits, completed, closing, outcome, interval } = snapshot
        .context as Record<string, unknown>;
      return [
        snapshot.status,
        snapshot.value,
        epoch,
        retransmits,
        completed,
        closing,
        outcome,
        interval,
        runtimeKey(runtime),
      ];
    }),
    joint.channel.i2r.map(packetKey),
    joint.channel.r2i.map(packetKey),
    joint.budget,
    joint.disturbed,
  ]);
}

/** Feeds one event to a side's statechart and applies the step's actions. */
export function readyStep(
  world: ReadyWorld,
  joint: ReadyJoint,
  role: Role,
  event: ReadyEvent | { type: string },
  log: StepLog,
): void {
  const side = joint.sides[role];
  if (side.snapshot.status !== "active") return;
  const [snapshot, actions] = transition(world.machine, side.snapshot, event as ReadyEvent);
  side.snapshot = snapshot;
  afterStep(world, joint, role, actions as ExecutableAction[], log);
}

function afterStep(
  world: ReadyWorld,
  joint: ReadyJoint,
  role: Role,
  actions: readonly ExecutableAction[],
  log: StepLog,
): void {
  const runtime = joint.sides[role].runtime;
  for (const action of actions) {
    const params = action.params as Record<string, unknown> | undefined;
    if (action.type === "xstate.raise" && params?.delay !== undefined) {
      const id = String(params.id);
      if (!runtime.timers.includes(id)) runtime.timers.push(id);
      runtime.timers.sort();
    } else if (action.type === "xstate.cancel") {
      runtime.timers = runtime.timers.filter((timer) => timer !== String(params?.sendId));
    }
  }
  runtime.queue.push(...commandsOf<ReadyCommand>(actions));
  run(world, joint, role, log);
}

/** Runs queued commands until one waits for crypto (as the driver does). */
function run(world: ReadyWorld, joint: ReadyJoint, role: Role, log: StepLog): void {
  const runtime = joint.sides[role].runtime;
  while (runtime.awaiting === undefined && runtime.ended === undefined) {
    const command = runtime.queue.shift();
    if (command === undefined) return;
    execute(world, joint, role, command, log);
  }
}

/** Feeds the result of the crypto step under way back, then runs the queue on. */
export function completeCrypto(
  world: ReadyWorld,
  joint: ReadyJoint,
  role: Role,
  log: StepLog,
): void {
  const runtime = joint.sides[role].runtime;
  const event = runtime.awaiting!;
  runtime.awaiting = undefined;
  readyStep(world, joint, role, event, log);
  run(world, joint, role, log);
}

function seal(
  joint: ReadyJoint,
  role: Role,
  message: Message,
  log: StepLog,
  epoch?: number,
): ReadyPacket {
  const runtime = joint.sides[role].runtime;
  const at = epoch ?? runtime.sendEpoch;
  if (at !== runtime.sendEpoch && at !== runtime.previousSend) {
    log.violations.push({
      invariant: 2,
      detail: `${role} sealed ${message.kind} under epoch ${at}, whose key it no longer holds`,
    });
  }
  const counter = runtime.counters[at] ?? 0;
  runtime.counters[at] = counter + 1;
  if (counter < (runtime.used[at] ?? 0)) {
    log.violations.push({
      invariant: 2,
      detail: `${role} sealed ${message.kind} under (epoch ${at}, counter ${counter}) again`,
    });
  }
  runtime.used[at] = Math.max(runtime.used[at] ?? 0, counter + 1);
  return { message, id: messageId(message), epoch: at, counter };
}

function transmit(joint: ReadyJoint, role: Role, packet: ReadyPacket): void {
  if (joint.sides[role].runtime.ended !== undefined) return;
  joint.channel[directionFrom(role)].push(packet);
}

/** Sends application data: the sequence number travels in its first byte. */
export function sendData(world: ReadyWorld, joint: ReadyJoint, role: Role, log: StepLog): void {
  const runtime = joint.sides[role].runtime;
  const message: ExtenderDataMessage = {
    kind: "extenderData",
    extender: new Uint8Array(16).fill(0x11),
    data: new Uint8Array([runtime.dataSent, ROLES.indexOf(role)]),
  };
  runtime.dataSent++;
  transmit(joint, role, seal(joint, role, message, log));
  void world;
}

function execute(
  world: ReadyWorld,
  joint: ReadyJoint,
  role: Role,
  command: ReadyCommand,
  log: StepLog,
): void {
  const runtime = joint.sides[role].runtime;
  switch (command.type) {
    case "frame.send": {
      const packet = seal(joint, role, command.message, log);
      if (world.datagram) {
        if (!runtime.flightOpen) {
          runtime.flight = [];
          runtime.trigger = runtime.lastReceived;
          runtime.flightOpen = true;
        }
        runtime.flight.push({ id: packet.id, message: command.message, epoch: packet.epoch });
        if (command.message.kind === "close") runtime.lastClose = packet;
      }
      return transmit(joint, role, packet);
    }
    case "flight.retransmit":
      for (const { message, epoch } of runtime.flight) {
        transmit(joint, role, seal(joint, role, message, log, epoch));
      }
      return;
    case "close.repeat":
      if (runtime.lastClose !== undefined) transmit(joint, role, runtime.lastClose);
      return;
    case "keys.activateSend":
      if (command.epoch !== runtime.sendEpoch + 1 || (runtime.used[command.epoch] ?? 0) > 0) {
        log.violations.push({
          invariant: 2,
          detail:
            `${role} switched its send keys from epoch ${runtime.sendEpoch} to ${command.epoch}`,
        });
      }
      // A fresh cipher state starts at counter 0.
      runtime.previousSend = world.datagram ? runtime.sendEpoch : undefined;
      runtime.sendEpoch = command.epoch;
      runtime.counters[command.epoch] = 0;
      return;
    case "keys.activateReceive":
      runtime.previousReceive = world.datagram ? runtime.receiveEpoch : undefined;
      runtime.receiveEpoch = command.epoch;
      runtime.receiveCounter = 0;
      return;
    case "message.deliver":
      return deliverData(world, joint, role, command.message, log);
    case "keyUpdate.done":
      runtime.announced.push(command.epoch);
      return;
    case "session.settled":
      // Datagrams wipe the keys and linger; streams end right after.
      if (world.datagram) runtime.wiped = true;
      return;
    case "session.ended":
      runtime.ended = command.outcome;
      runtime.timers = [];
      runtime.queue = [];
      return;
    case "keyUpdate.offer":
    case "keyUpdate.answer":
    case "keyUpdate.finish": {
      const effect = standInEffect(command, world.crypto[role]);
      runtime.awaiting = effect.event as ReadyEvent;
      return;
    }
    default:
      // extenders.record: a report, nothing to model.
      return;
  }
}

function deliverData(
  world: ReadyWorld,
  joint: ReadyJoint,
  role: Role,
  message: ExtenderDataMessage | ExtenderDataContinuationMessage,
  log: StepLog,
): void {
  const runtime = joint.sides[role].runtime;
  // The model's messages are one record each: the first byte numbers them.
  const sequence = message.data[0]!;
  if (runtime.delivered.includes(sequence)) {
    log.violations.push({ invariant: 3, detail: `${role} delivered data #${sequence} twice` });
  } else if (!world.datagram && sequence !== runtime.delivered.length) {
    log.violations.push({
      invariant: 3,
      detail: `${role} delivered data #${sequence} after ${runtime.delivered.length} messages`,
    });
  }
  runtime.delivered.push(sequence);
}

/** Delivers the `index`-th packet of a direction to its receiver (as the connection does). */
export function deliverReady(
  world: ReadyWorld,
  joint: ReadyJoint,
  direction: Direction,
  index: number,
  log: StepLog,
): void {
  const [packet] = joint.channel[direction].splice(index, 1);
  const role = receiverOf(direction);
  const side = joint.sides[role];
  const runtime = side.runtime;
  if (packet === undefined || runtime.ended !== undefined) return;
  if (world.datagram) {
    if (runtime.wiped) return readyStep(world, joint, role, { type: "transport.datagram" }, log);
    const nonce = `${packet.epoch}#${packet.counter}`;
    const open = packet.epoch === runtime.receiveEpoch || packet.epoch === runtime.previousReceive;
    if (!open || runtime.replay.includes(nonce)) return; // dropped like a lost datagram
    runtime.replay.push(nonce);
    runtime.replay.sort();
  } else if (packet.epoch !== runtime.receiveEpoch || packet.counter !== runtime.receiveCounter) {
    return readyStep(world, joint, role, {
      type: "transport.invalidRecord",
      code: ErrorCode.DECRYPT_FAILED,
    }, log);
  } else {
    runtime.receiveCounter++;
  }
  const { message } = packet;
  if (message.kind === "extenderData") {
    // The driver delivers data itself while the statechart is `active`.
    if (typeof side.snapshot.value === "object") {
      return deliverData(world, joint, role, message, log);
    }
    return readyStep(world, joint, role, { type: "peer.extenderData", message }, log);
  }
  if (world.datagram) {
    if (runtime.seen.includes(packet.id)) {
      const ofLastTrigger = packet.id === runtime.trigger && runtime.flight.length > 0;
      return readyStep(world, joint, role, { type: "peer.duplicate", ofLastTrigger }, log);
    }
    runtime.seen.push(packet.id);
    runtime.lastReceived = packet.id;
    runtime.flightOpen = false;
  }
  readyStep(world, joint, role, { type: `peer.${message.kind}`, message } as ReadyEvent, log);
}

/** One move from a joint state: a label for paths, and its effect on a copy. */
export type ReadyMove = SearchMove<ReadyJoint>;

const DEADLINES = ["keyUpdateTimeout", "closeTimeout"];

/** Every move available from `joint`. */
export function readyMoves(world: ReadyWorld, joint: ReadyJoint): ReadyMove[] {
  const list: ReadyMove[] = [];
  const deadlines: ReadyMove[] = [];
  for (const role of ROLES) {
    const { snapshot, runtime } = joint.sides[role];
    if (runtime.ended !== undefined) continue;
    if (runtime.awaiting !== undefined) {
      list.push({
        label: `${role} crypto ${runtime.awaiting.type}`,
        apply: (next, log) => completeCrypto(world, next, role, log),
      });
    }
    const context = snapshot.context as { closing: boolean };
    const open = typeof snapshot.value === "object" && !context.closing;
    if (open && runtime.updatesLeft > 0) {
      list.push({
        label: `${role} requests a key update`,
        apply: (next, log) => {
          next.sides[role].runtime.updatesLeft--;
          readyStep(world, next, role, { type: "local.requestUpdate" }, log);
        },
      });
    }
    if (open && runtime.dataSent < world.scenario.data[role]) {
      list.push({
        label: `${role} sends data #${runtime.dataSent}`,
        apply: (next, log) => sendData(world, next, role, log),
      });
    }
    if (
      typeof snapshot.value === "object" && !runtime.closeAsked &&
      world.scenario.closers.includes(role)
    ) {
      list.push({
        label: `${role} asks to close`,
        apply: (next, log) => {
          next.sides[role].runtime.closeAsked = true;
          readyStep(world, next, role, { type: "local.close" }, log);
        },
      });
    }
    for (const timer of runtime.timers) {
      // Key updates start from the moves above; the interval timer only fires when nothing else
      // can happen (a side whose peer is gone learns it from an update that gets no answer).
      const interval = timer.includes("keyUpdateInterval");
      const retransmit = timer.includes("retransmitDelay");
      if (retransmit && (!world.datagram || runtime.retransmits >= world.bounds.retransmits)) {
        continue;
      }
      const deadline = DEADLINES.some((name) => timer.includes(name));
      (deadline || interval ? deadlines : list).push({
        label: `${role} timer ${timer.replace("xstate.after.", "")}`,
        apply: (next, log) => {
          const side = next.sides[role];
          side.runtime.timers = side.runtime.timers.filter((id) => id !== timer);
          if (retransmit) side.runtime.retransmits++;
          // A deadline that fires early disturbs the run; one that ends a quiet run does not.
          if (deadline && world.bounds.deadlines) next.disturbed = true;
          readyStep(world, next, role, { type: timer }, log);
        },
      });
    }
  }
  for (const direction of ["i2r", "r2i"] as const) {
    const queue = joint.channel[direction];
    const receiver = receiverOf(direction);
    const receiving = joint.sides[receiver].runtime;
    // A side busy with a crypto step reads nothing until it is done (the connection awaits it).
    const reading = receiving.awaiting === undefined && receiving.ended === undefined;
    if (queue.length > 0 && reading) {
      list.push({
        label: `deliver ${direction} ${queue[0]!.message.kind}`,
        apply: (next, log) => deliverReady(world, next, direction, 0, log),
      });
    } else if (
      queue.length === 0 && !world.datagram && reading && !receiving.sawEnd &&
      joint.sides[otherRole(receiver)].runtime.ended !== undefined
    ) {
      list.push({
        label: `end ${direction}`,
        apply: (next, log) => {
          next.sides[receiver].runtime.sawEnd = true;
          readyStep(world, next, receiver, { type: "transport.closed" }, log);
        },
      });
    }
    if (joint.budget <= 0) continue;
    const spend = (label: string, apply: ReadyMove["apply"]): void => {
      list.push({
        label,
        apply: (next, log) => {
          next.budget--;
          next.disturbed = true;
          apply(next, log);
        },
      });
    };
    channelFaults(joint, direction, spend, (next, index, log) => {
      deliverReady(world, next, direction, index, log);
    }, reading);
  }
  // Without early deadlines, time only runs out when nothing else can happen.
  if (list.length === 0) list.push(...deadlines);
  else if (world.bounds.deadlines) {
    list.push(...deadlines.filter((move) => !move.label.includes("keyUpdateInterval")));
  }
  return list;
}

/** Whether a side's key-update region is idle while its session is still active. */
function idle(side: ReadySide): boolean {
  const value = side.snapshot.value as { active?: { keyUpdate?: unknown } } | string;
  return typeof value === "object" && value.active?.keyUpdate === "idle";
}

/**
 * Invariant 1 in one joint state: both idle ⇒ the same epoch everywhere, and
 * each side reported every update up to it done, once, in order.
 */
export function epochsAgree(joint: ReadyJoint): boolean {
  const { initiator, responder } = joint.sides;
  if (!idle(initiator) || !idle(responder)) return true;
  if (initiator.runtime.awaiting !== undefined || responder.runtime.awaiting !== undefined) {
    return true;
  }
  const epoch = (initiator.snapshot.context as { epoch: number }).epoch;
  const done = Array.from({ length: epoch - READY_EPOCH }, (_, i) => READY_EPOCH + 1 + i);
  return [initiator, responder].every((side) =>
    (side.snapshot.context as { epoch: number }).epoch === epoch &&
    side.runtime.sendEpoch === epoch && side.runtime.receiveEpoch === epoch &&
    side.runtime.announced.join() === done.join()
  );
}

/**
 * Invariant 4 in a terminal joint state: both ended, each closed or failed
 * with a code; both closed without a code when nothing was lost, duplicated
 * or reordered and no deadline fired.
 */
export function endedWell(joint: ReadyJoint): boolean {
  return ROLES.every((role) => {
    const ended = joint.sides[role].runtime.ended;
    if (ended === undefined) return false;
    if (!joint.disturbed) return ended.status === "closed" && ended.code === undefined;
    return ended.status === "closed" || ended.code !== undefined;
  });
}

/** Invariant 5 in a terminal joint state: on streams a closed side got all its peer sent. */
export function receivedEverything(world: ReadyWorld, joint: ReadyJoint): boolean {
  if (world.datagram) return true;
  return ROLES.every((role) => {
    const { ended, delivered } = joint.sides[role].runtime;
    return ended?.status !== "closed" ||
      delivered.length === joint.sides[otherRole(role)].runtime.dataSent;
  });
}

/** The outcome label of a terminal joint state, as `closed/failed ERR_TIMEOUT`. */
export function outcomeOf(joint: ReadyJoint): string {
  return ROLES.map((role) => {
    const ended = joint.sides[role].runtime.ended;
    if (ended === undefined) return "waiting";
    return ended.status === "closed"
      ? (ended.code === undefined ? "closed" : `closed ${ended.code}`)
      : `failed ${ended.code}`;
  }).join("/");
}

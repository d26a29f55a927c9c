/**
 * The exploration's stand-in runtime: it applies each statechart step's
 * timers and commands to the joint state, seals and delivers packets with
 * stream or datagram semantics, and logs what the per-step invariants need.
 *
 * @module
 */

import { transition } from "xstate";
import type {
  HandshakeCommand,
  HandshakeEvent,
  HandshakeOutput,
  Role,
} from "../../machines/_setup.ts";
import { ErrorCode } from "../errors.ts";
import { isHandshakeKind, type Message, type MessageKind } from "../codec/message_types.ts";
import {
  commandsOf,
  type ExecutableAction,
  otherRole,
  standInEffect,
  standInHash as h,
} from "../viz/_standin.ts";
import { hashCrypto } from "./_explore_crypto.ts";
import { type Direction, directionFrom, receiverOf } from "./_relay.ts";
import { type Joint, messageId, type Packet, type World } from "./_explore_state.ts";
import type { StepLog } from "./_explore_graph.ts";

const APPLICATION_KINDS: ReadonlySet<string> = new Set(["extenderData", "extenderUpdate", "close"]);

/** Applies one statechart step's actions: timers, then commands (which may step again). */
export function step(
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

/**
 * Applies the actions of a step already taken: arms and cancels timers,
 * records the ending, then executes the commands.
 */
export function afterStep(
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

function seal(
  world: World,
  joint: Joint,
  role: Role,
  message: Message,
  epoch?: number,
): Packet {
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
  joint.channel[directionFrom(role)].push(packet);
  void world;
}

function sendFrame(world: World, joint: Joint, role: Role, message: Message, log: StepLog): void {
  const runtime = joint.sides[role].runtime;
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
    case "frame.send":
      return sendFrame(world, joint, role, command.message, log);
    case "keys.install": {
      const epoch = command.stage === "primary" ? 1 : 2;
      runtime.chain = h("ck", runtime.chain, runtime.secret);
      const key = (direction: Direction) =>
        h("key", runtime.chain, direction, String(epoch), runtime.transcript);
      const send = key(directionFrom(role));
      if (runtime.installed.includes(send)) {
        log.violations.push({ invariant: 5, detail: `${role} installed send key ${send} twice` });
      }
      runtime.installed.push(send);
      runtime.send = { key: send, epoch };
      runtime.sendKeys[String(epoch)] = send;
      runtime.counters[send] ??= 0;
      runtime.receiveKeys[String(epoch)] = key(directionFrom(otherRole(role)));
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
      const effect = standInEffect(command, hashCrypto(world, runtime, role));
      if (effect.send !== undefined) sendFrame(world, joint, role, effect.send, log);
      if (effect.event !== undefined) step(world, joint, role, effect.event, log);
    }
  }
}

/** Delivers the head (or the `index`-th) packet of a direction to its receiver. */
export function deliver(
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

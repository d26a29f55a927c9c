/**
 * The adversary and the clock: every move available from a joint state
 * (deliver, end a stream, drop, duplicate, reorder, replace or inject a
 * packet within the budget, fire a pending timer).
 *
 * @module
 */

import type { Message } from "../codec/message_types.ts";
import { hexToBytes as bytesOf } from "../_hex.ts";
import { otherRole, ROLES, standInHash as h } from "../viz/_standin.ts";
import { exampleMessage } from "./_mutations.ts";
import { receiverOf } from "./_relay.ts";
import {
  channelFaults,
  type Joint,
  messageId,
  type Packet,
  preKey,
  type World,
} from "./_explore_state.ts";
import { deliver, step } from "./_explore_runtime.ts";
import type { SearchMove } from "./_explore_graph.ts";

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

/** One move from a joint state: a label for paths, and its effect on a copy. */
export type Move = SearchMove<Joint>;

/** Every move available from `joint`. */
export function moves(world: World, joint: Joint, options: { retransmits: number }): Move[] {
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
      joint.sides[otherRole(receiver)].runtime.closed && !receiving.sawEnd && !receiving.closed &&
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
    channelFaults(joint, direction, spend, (next, index, log) => {
      deliver(world, next, direction, index, log);
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

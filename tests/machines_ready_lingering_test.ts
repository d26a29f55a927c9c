/**
 * The ready statechart's close on datagrams, step by step: after both Close
 * messages crossed, a side lingers and answers what still arrives with the
 * datagram that carried its Close, at most `LINGER_ANSWERS` times, for
 * `linger` ms (default twice the longest retransmission delay).
 */

import assert from "node:assert/strict";
import { initialTransition, transition } from "xstate";
import { readyMachine } from "../machines/ready.ts";
import {
  createReadyContext,
  LINGER_ANSWERS,
  type ReadyCommand,
  type ReadyEvent,
  type ReadyInput,
} from "../machines/_ready_setup.ts";

type Snapshot = ReturnType<typeof initialTransition<typeof readyMachine>>[0];

const INPUT: ReadyInput = {
  role: "responder",
  epoch: 2,
  interval: 60_000,
  maxDuration: 5_000,
  transport: "datagram",
  retransmit: { initial: 100, max: 400 },
};

function commands(actions: readonly { type: string; params?: unknown }[]): ReadyCommand[] {
  return actions.filter((action) => action.type === "xstate.emit").map((action) =>
    (action.params as { event: ReadyCommand }).event
  );
}

function step(snapshot: Snapshot, event: ReadyEvent): [Snapshot, ReadyCommand[]] {
  const [next, actions] = transition(readyMachine, snapshot, event);
  return [next, commands(actions)];
}

Deno.test("readyMachine lingers after the peer's Close and repeats its own Close a bounded number of times", () => {
  const [start] = initialTransition(readyMachine, INPUT);
  const [lingering, answered] = step(start, {
    type: "peer.close",
    message: { kind: "close", reason: 0 },
  });
  assert.equal(lingering.value, "lingering");
  assert.deepEqual(answered.map((command) => command.type), ["frame.send", "session.settled"]);
  let snapshot = lingering;
  const repeats: string[][] = [];
  for (let i = 0; i < LINGER_ANSWERS + 2; i++) {
    const [next, emitted] = step(snapshot, { type: "transport.datagram" });
    snapshot = next;
    repeats.push(emitted.map((command) => command.type));
  }
  assert.deepEqual(repeats, [
    ...Array.from({ length: LINGER_ANSWERS }, () => ["close.repeat"]),
    [],
    [],
  ]);
  assert.equal(snapshot.value, "lingering");
  const [closed, ended] = step(snapshot, { type: "transport.closed" });
  assert.equal(closed.status, "done");
  assert.deepEqual(closed.output, { status: "closed", code: undefined });
  assert.deepEqual(ended.map((command) => command.type), ["session.ended"]);
});

Deno.test("createReadyContext() lingers twice the longest retransmission delay by default", () => {
  assert.equal(createReadyContext({ input: INPUT }).linger, 800);
  assert.equal(createReadyContext({ input: { ...INPUT, linger: 50 } }).linger, 50);
});

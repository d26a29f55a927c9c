/**
 * The ready statechart's close on datagrams, step by step: after both Close
 * messages crossed, a side lingers and answers what still arrives with the
 * datagram that carried its Close, at most `LINGER_ANSWERS` times, for
 * `linger` ms (default twice the longest retransmission delay).
 */

import assert from "node:assert/strict";
import { initialTransition, transition } from "xstate";
import { datagramReadyMachine, readyMachine } from "../machines/ready.ts";
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

Deno.test("createReadyContext() waits 10 s for the peer's Close unless closeTimeout says otherwise", () => {
  assert.equal(createReadyContext({ input: INPUT }).closeTimeout, 10_000);
  assert.equal(createReadyContext({ input: { ...INPUT, closeTimeout: 25 } }).closeTimeout, 25);
});

Deno.test("createReadyContext() lingers twice the longest retransmission delay by default", () => {
  assert.equal(createReadyContext({ input: INPUT }).linger, 800);
  assert.equal(createReadyContext({ input: { ...INPUT, linger: 50 } }).linger, 50);
});

Deno.test("datagramReadyMachine answers LINGER_ANSWERS times after lingering, however often its Close was retransmitted", () => {
  const [start] = initialTransition(datagramReadyMachine, INPUT);
  let [snapshot, actions] = transition(datagramReadyMachine, start, { type: "local.close" });
  // Let the Close's retransmission timer fire twice before the peer's Close arrives.
  for (let i = 0; i < 2; i++) {
    const timer = actions.find((action) =>
      action.type === "xstate.raise" &&
      String((action.params as { id?: string }).id).startsWith("xstate.after.retransmitDelay.")
    );
    assert.ok(timer, "the closing side schedules a retransmission");
    const event = (timer.params as { event: { type: string } }).event;
    [snapshot, actions] = transition(datagramReadyMachine, snapshot, event as never);
    assert.deepEqual(commands(actions).map((command) => command.type), ["flight.retransmit"]);
  }
  [snapshot] = transition(datagramReadyMachine, snapshot, {
    type: "peer.close",
    message: { kind: "close", reason: 0 },
  });
  assert.equal(snapshot.value, "lingering");
  let answers = 0;
  for (let i = 0; i < LINGER_ANSWERS + 2; i++) {
    [snapshot, actions] = transition(datagramReadyMachine, snapshot, {
      type: "transport.datagram",
    });
    answers += commands(actions).filter((command) => command.type === "close.repeat").length;
  }
  assert.equal(answers, LINGER_ANSWERS);
});

import assert from "node:assert/strict";
import { createActor, initialTransition, SimulatedClock, transition } from "xstate";
import {
  type KeyUpdateCommand,
  type KeyUpdateEvent,
  keyUpdateMachine,
} from "../machines/key_update.ts";
import type { Role } from "../machines/_setup.ts";
import { ErrorCode } from "../src/errors.ts";

type Snapshot = ReturnType<typeof initialTransition<typeof keyUpdateMachine>>[0];

function commands(actions: readonly { type: string; params?: unknown }[]): KeyUpdateCommand[] {
  return actions.filter((action) => action.type === "xstate.emit").map((action) =>
    (action.params as { event: KeyUpdateCommand }).event
  );
}

const input = (role: Role) => ({ role, epoch: 2, interval: 60_000, maxDuration: 5_000 });
const share = new Uint8Array(32);

/**
 * Runs both cycles with a stand-in runtime. `starts` lists who requests an
 * update before any delivery; messages are delivered FIFO per direction.
 */
function cycle(starts: Role[]): {
  snapshots: Record<Role, Snapshot>;
  log: Record<Role, KeyUpdateCommand[]>;
} {
  const snapshots = {} as Record<Role, Snapshot>;
  const log: Record<Role, KeyUpdateCommand[]> = { initiator: [], responder: [] };
  const queue: [Role, KeyUpdateEvent][] = [];
  const other = (role: Role): Role => (role === "initiator" ? "responder" : "initiator");
  const react = (role: Role, emitted: KeyUpdateCommand[]) => {
    for (const command of emitted) {
      log[role].push(command);
      if (command.type === "frame.send") {
        queue.push([other(role), {
          type: `peer.${command.message.kind}`,
          message: command.message,
        } as KeyUpdateEvent]);
      } else if (command.type === "keyUpdate.offer") {
        queue.push([role, {
          type: "crypto.updateOffered",
          primaryShare: share,
          secondaryShare: share,
        }]);
      } else if (command.type === "keyUpdate.answer") {
        queue.push([role, {
          type: "crypto.updateAnswered",
          primaryShare: share,
          secondaryShare: share,
          nextInterval: 60_000,
        }]);
      } else if (command.type === "keyUpdate.finish") {
        queue.push([role, { type: "crypto.updateFinished", nextInterval: 60_000 }]);
      }
    }
  };
  for (const role of ["initiator", "responder"] as const) {
    [snapshots[role]] = initialTransition(keyUpdateMachine, input(role));
  }
  for (const role of starts) {
    const [next, actions] = transition(keyUpdateMachine, snapshots[role], {
      type: "local.requestUpdate",
    });
    snapshots[role] = next;
    react(role, commands(actions));
  }
  for (let step = 0; step < 100 && queue.length > 0; step++) {
    const [role, event] = queue.shift()!;
    const [next, actions] = transition(keyUpdateMachine, snapshots[role], event);
    snapshots[role] = next;
    react(role, commands(actions));
  }
  return { snapshots, log };
}

function switches(log: KeyUpdateCommand[]): string[] {
  return log.flatMap((command) =>
    command.type === "frame.send"
      ? [command.message.kind]
      : command.type === "keys.activateSend"
      ? [`send:${command.epoch}`]
      : command.type === "keys.activateReceive"
      ? [`receive:${command.epoch}`]
      : command.type === "keyUpdate.finish"
      ? ["finish"]
      : []
  );
}

Deno.test("keyUpdateMachine rotates to the next epoch when either side starts", async (t) => {
  for (const starter of ["initiator", "responder"] as const) {
    await t.step(`started by the ${starter}`, () => {
      const { snapshots, log } = cycle([starter]);
      const answerer = starter === "initiator" ? "responder" : "initiator";
      for (const role of ["initiator", "responder"] as const) {
        assert.equal(snapshots[role].value, "idle");
        assert.equal(snapshots[role].context.epoch, 3);
        assert.equal(snapshots[role].context.completed, 1);
      }
      assert.deepEqual(switches(log[starter]), [
        "beginKeyUpdate",
        "finish",
        "receive:3",
        "keyUpdateReady",
        "send:3",
      ]);
      assert.deepEqual(switches(log[answerer]), ["endKeyUpdate", "send:3", "receive:3"]);
    });
  }
});

Deno.test("keyUpdateMachine resolves simultaneous starts in favour of the responder", () => {
  const { snapshots, log } = cycle(["initiator", "responder"]);
  for (const role of ["initiator", "responder"] as const) {
    assert.equal(snapshots[role].value, "idle");
    assert.equal(snapshots[role].context.epoch, 3);
  }
  // The responder finished its own update; the initiator abandoned its own and answered.
  assert.ok(log.responder.some((command) => command.type === "keyUpdate.finish"));
  assert.ok(!log.initiator.some((command) => command.type === "keyUpdate.finish"));
  assert.ok(log.initiator.some((command) => command.type === "keyUpdate.answer"));
});

Deno.test("keyUpdateMachine fails with ERR_UNEXPECTED_MESSAGE for a wrong epoch or an out-of-place message", async (t) => {
  const [idle] = initialTransition(keyUpdateMachine, input("initiator"));
  await t.step("a BeginKeyUpdate that skips an epoch", () => {
    const [next] = transition(keyUpdateMachine, idle, {
      type: "peer.beginKeyUpdate",
      message: { kind: "beginKeyUpdate", epoch: 4, primaryShare: share, secondaryShare: share },
    });
    assert.equal(next.value, "failed");
    assert.equal(next.context.outcome?.code, ErrorCode.UNEXPECTED_MESSAGE);
  });
  await t.step("an EndKeyUpdate nobody asked for", () => {
    const [next] = transition(keyUpdateMachine, idle, {
      type: "peer.endKeyUpdate",
      message: { kind: "endKeyUpdate", epoch: 3, primaryShare: share, secondaryShare: share },
    });
    assert.equal(next.context.outcome?.code, ErrorCode.UNEXPECTED_MESSAGE);
  });
  await t.step("a KeyUpdateReady while idle", () => {
    const [next, actions] = transition(keyUpdateMachine, idle, {
      type: "peer.keyUpdateReady",
      message: { kind: "keyUpdateReady", epoch: 3 },
    });
    assert.equal(next.context.outcome?.code, ErrorCode.UNEXPECTED_MESSAGE);
    assert.deepEqual(commands(actions), [
      {
        type: "session.ended",
        outcome: { status: "failed", code: ErrorCode.UNEXPECTED_MESSAGE },
      },
    ]);
  });
});

Deno.test("keyUpdateMachine starts on its interval and fails with ERR_TIMEOUT after maxDuration", () => {
  const clock = new SimulatedClock();
  const actor = createActor(keyUpdateMachine, {
    clock,
    input: { role: "responder", epoch: 2, interval: 1_000, maxDuration: 500 },
  });
  const seen: string[] = [];
  actor.on("*", (command) => seen.push(command.type));
  actor.start();
  clock.increment(999);
  assert.equal(actor.getSnapshot().value, "idle");
  clock.increment(1);
  assert.deepEqual(actor.getSnapshot().value, { updating: "offering" });
  assert.deepEqual(seen, ["keyUpdate.offer"]);
  clock.increment(500);
  assert.equal(actor.getSnapshot().value, "failed");
  assert.equal(actor.getSnapshot().context.outcome?.code, ErrorCode.TIMEOUT);
  actor.stop();
});

Deno.test("keyUpdateMachine schedules the next update after the interval the runtime returns", async (t) => {
  const offers = (role: Role, drive: (send: (event: KeyUpdateEvent) => void) => void) => {
    const clock = new SimulatedClock();
    const actor = createActor(keyUpdateMachine, { clock, input: input(role) });
    const times: number[] = [];
    const epochs: number[] = [];
    actor.on("keyUpdate.offer", (command) => {
      times.push(clock.now());
      epochs.push(command.epoch);
    });
    actor.start();
    drive((event) => actor.send(event));
    const at = clock.now();
    clock.increment(4_999);
    const before = times.length;
    clock.increment(1);
    actor.stop();
    return { at, before, after: times.length, epochs };
  };

  await t.step("the starter, after crypto.updateFinished", () => {
    const { before, after, epochs } = offers("responder", (send) => {
      send({ type: "local.requestUpdate" });
      send({ type: "crypto.updateOffered", primaryShare: share, secondaryShare: share });
      send({
        type: "peer.endKeyUpdate",
        message: { kind: "endKeyUpdate", epoch: 3, primaryShare: share, secondaryShare: share },
      });
      send({ type: "crypto.updateFinished", nextInterval: 5_000 });
    });
    assert.equal(before, 1, "only the requested update before the new interval");
    assert.equal(after, 2, "the next update 5,000 ms later, not after the input's 60,000");
    // Each offer is for the epoch after the one in use.
    assert.deepEqual(epochs, [3, 4]);
  });

  await t.step("the answering side, after crypto.updateAnswered", () => {
    const { before, after } = offers("initiator", (send) => {
      send({
        type: "peer.beginKeyUpdate",
        message: { kind: "beginKeyUpdate", epoch: 3, primaryShare: share, secondaryShare: share },
      });
      send({
        type: "crypto.updateAnswered",
        primaryShare: share,
        secondaryShare: share,
        nextInterval: 5_000,
      });
      send({ type: "peer.keyUpdateReady", message: { kind: "keyUpdateReady", epoch: 3 } });
    });
    assert.equal(before, 0);
    assert.equal(after, 1);
  });
});

Deno.test("keyUpdateMachine retransmits on datagrams with doubling delays up to the maximum", () => {
  const clock = new SimulatedClock();
  const actor = createActor(keyUpdateMachine, {
    clock,
    input: {
      ...input("responder"),
      transport: "datagram",
      retransmit: { initial: 100, max: 350 },
    } as const,
  });
  const times: number[] = [];
  actor.on("flight.retransmit", () => times.push(clock.now()));
  actor.start();
  actor.send({ type: "local.requestUpdate" });
  actor.send({ type: "crypto.updateOffered", primaryShare: share, secondaryShare: share });
  for (let now = 0; now < 1_000; now += 10) clock.increment(10);
  actor.stop();
  assert.deepEqual(times, [100, 300, 650, 1_000]);
});

Deno.test("keyUpdateMachine fails on a stale key-update message on a stream and ignores it on datagrams", async (t) => {
  const stale = {
    type: "peer.beginKeyUpdate",
    message: { kind: "beginKeyUpdate", epoch: 2, primaryShare: share, secondaryShare: share },
  } as const;
  await t.step("stream", () => {
    const [idle] = initialTransition(keyUpdateMachine, input("initiator"));
    const [next] = transition(keyUpdateMachine, idle, stale);
    assert.equal(next.context.failure?.code, ErrorCode.UNEXPECTED_MESSAGE);
  });
  await t.step("datagram", () => {
    const [idle] = initialTransition(keyUpdateMachine, {
      ...input("initiator"),
      transport: "datagram",
    });
    const [next, actions] = transition(keyUpdateMachine, idle, stale);
    assert.equal(next.value, "idle");
    assert.deepEqual(commands(actions), []);
  });
});

Deno.test("keyUpdateMachine starts each update's retransmissions from the initial delay", () => {
  const clock = new SimulatedClock();
  const actor = createActor(keyUpdateMachine, {
    clock,
    input: { ...input("responder"), transport: "datagram", retransmit: { initial: 100, max: 800 } },
  });
  const times: number[] = [];
  actor.on("flight.retransmit", () => times.push(clock.now()));
  actor.start();
  const update = (epoch: number): void => {
    actor.send({ type: "local.requestUpdate" });
    actor.send({ type: "crypto.updateOffered", primaryShare: share, secondaryShare: share });
    for (let waited = 0; waited < 300; waited += 10) clock.increment(10);
    actor.send({
      type: "peer.endKeyUpdate",
      message: { kind: "endKeyUpdate", epoch, primaryShare: share, secondaryShare: share },
    });
    actor.send({ type: "crypto.updateFinished", nextInterval: 60_000 });
  };
  update(3);
  update(4);
  actor.stop();
  // Two retransmissions in each update, at 100 and 300 ms after its offer.
  assert.deepEqual(times, [100, 300, 400, 600]);
  assert.equal(actor.getSnapshot().context.epoch, 4);
});

Deno.test("keyUpdateMachine on datagrams schedules the next update after the answer's interval", () => {
  const clock = new SimulatedClock();
  const actor = createActor(keyUpdateMachine, {
    clock,
    input: { ...input("initiator"), transport: "datagram" },
  });
  const offers: number[] = [];
  actor.on("keyUpdate.offer", () => offers.push(clock.now()));
  actor.start();
  actor.send({
    type: "peer.beginKeyUpdate",
    message: { kind: "beginKeyUpdate", epoch: 3, primaryShare: share, secondaryShare: share },
  });
  actor.send({
    type: "crypto.updateAnswered",
    primaryShare: share,
    secondaryShare: share,
    nextInterval: 5_000,
  });
  actor.send({ type: "peer.keyUpdateReady", message: { kind: "keyUpdateReady", epoch: 3 } });
  clock.increment(5_000);
  actor.stop();
  assert.deepEqual(offers, [5_000]);
});

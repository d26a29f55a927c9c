/**
 * What a handshake asks of XState and of the clock, per transport kind: the
 * events each statechart takes, the state changes the runtime traces and the
 * timers it schedules. The counts are budgets: a change that adds an event,
 * a transition or a timer to every handshake makes these tests fail, and the
 * budget is then raised on purpose or the change reconsidered.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
  initialTransition,
  setup,
  transition,
} from "xstate";
import {
  type Clock,
  createDatagramPair,
  createMemoryPair,
  initiate,
  respond,
  type SessionOptions,
  type TraceEvent,
  type Transport,
} from "../mod.ts";
import { datagramHandshakeMachine, handshakeMachine } from "../machines/handshake.ts";
import { fixedStandIn, runStandInPair, standInInput } from "../src/viz/_standin.ts";
import { ActorHost, GUESTS_PER_HOST } from "../src/session/_actor_host.ts";
import { randomInt } from "../src/session/_connection.ts";
import { systemRandom } from "../src/crypto/random.ts";

/** A clock that counts what is scheduled on it. */
function countingClock(): { clock: Clock; scheduled: number[] } {
  const scheduled: number[] = [];
  return {
    scheduled,
    clock: {
      now: () => performance.timeOrigin + performance.now(),
      setTimeout: (fn, ms) => {
        scheduled.push(ms);
        return setTimeout(fn, ms);
      },
      clearTimeout: (id) => clearTimeout(id as number),
    },
  };
}

interface SideCost {
  /** Timers scheduled until the event, in order, by delay. */
  readonly timers: number;
  /** State changes traced until the event. */
  readonly states: number;
}

interface RunCost {
  readonly ready: { initiator: SideCost; responder: SideCost };
  readonly closed: { initiator: SideCost; responder: SideCost };
}

/** Runs one handshake and an orderly close, counting per side. */
async function measure(pair: readonly [Transport, Transport]): Promise<RunCost> {
  const clocks = { initiator: countingClock(), responder: countingClock() };
  const traces: Record<"initiator" | "responder", TraceEvent[]> = { initiator: [], responder: [] };
  const options = (role: "initiator" | "responder"): SessionOptions => ({
    requireAuthentication: false,
    noise: { enabled: false },
    maxHandshakeDelay: 0,
    maxPadding: 0,
    clock: clocks[role].clock,
    onTrace: (event) => traces[role].push(event),
  });
  const cost = (role: "initiator" | "responder"): SideCost => ({
    timers: clocks[role].scheduled.length,
    states: traces[role].filter((event) => event.type === "state").length,
  });
  const initiator = initiate(pair[0], options("initiator"));
  const responder = respond(pair[1], options("responder"));
  await Promise.all([initiator.ready, responder.ready]);
  const ready = { initiator: cost("initiator"), responder: cost("responder") };
  await Promise.all([initiator.close(), responder.closed]);
  return { ready, closed: { initiator: cost("initiator"), responder: cost("responder") } };
}

/**
 * Timers every side schedules until ready, whatever the transport: the
 * handshake deadline, one deadline per phase (5), the write watchdog of the
 * first write, and the first key-update interval.
 */
const STREAM_TIMERS_TO_READY = 1 + 5 + 1 + 1;
/**
 * Datagrams add one retransmission timer per state that waits for the peer
 * (5), and one per key switch (epochs 1 and 2, each direction: 4) that ends
 * the previous epoch's grace period.
 */
const DATAGRAM_TIMERS_TO_READY = STREAM_TIMERS_TO_READY + 5 + 4;
/**
 * States traced until ready: one waiting state per phase, `verifying`
 * between the peer's proof and its verdict, and `ready`.
 */
const STATES_TO_READY = 5 + 1 + 1 + 1;

Deno.test("a stream handshake schedules no timer that cannot fire", async () => {
  const cost = await measure(createMemoryPair());
  for (const role of ["initiator", "responder"] as const) {
    assert.deepEqual(cost.ready[role], {
      timers: STREAM_TIMERS_TO_READY,
      states: STATES_TO_READY,
    }, role);
  }
  // Closing: the closer arms its close deadline only (no retransmission on a
  // stream); the side that answers arms nothing.
  assert.equal(cost.closed.initiator.timers, STREAM_TIMERS_TO_READY + 1);
  assert.equal(cost.closed.responder.timers, STREAM_TIMERS_TO_READY);
});

Deno.test("a datagram handshake adds one retransmission timer per waiting state", async () => {
  const cost = await measure(createDatagramPair());
  for (const role of ["initiator", "responder"] as const) {
    assert.deepEqual(cost.ready[role], {
      timers: DATAGRAM_TIMERS_TO_READY,
      states: STATES_TO_READY,
    }, role);
  }
  // Closing on datagrams: the closer's deadline and Close retransmission,
  // then each side's lingering time.
  assert.equal(cost.closed.initiator.timers, DATAGRAM_TIMERS_TO_READY + 3);
  assert.equal(cost.closed.responder.timers, DATAGRAM_TIMERS_TO_READY + 1);
});

/** Events each side's handshake statechart takes in a full run, and how many change its state. */
function statechartSteps(machine: AnyStateMachine): Record<string, { events: number }> {
  const steps: Record<string, { events: number }> = {
    initiator: { events: 0 },
    responder: { events: 0 },
  };
  const transport = machine === datagramHandshakeMachine ? "datagram" : "stream";
  let ready = 0;
  runStandInPair<AnyMachineSnapshot>({
    initial: (role) => initialTransition(machine, standInInput(role, { transport })),
    transition: (role, snapshot, event: EventObject) => {
      steps[role]!.events++;
      const [next, actions] = transition(machine, snapshot, event);
      return [next, actions];
    },
    crypto: () => fixedStandIn(),
    observe: (_, snapshot) => {
      if (snapshot.status === "done") ready++;
    },
    maxSteps: 200,
  });
  assert.equal(ready, 2, "both sides end");
  return steps;
}

Deno.test("a handshake statechart takes six events per side on either transport", () => {
  // Five peer messages and one verdict: every crypto step is a command that
  // reports back only when it fails (the verdict is the one that always does).
  for (const machine of [handshakeMachine, datagramHandshakeMachine]) {
    assert.deepEqual(statechartSteps(machine), {
      initiator: { events: 6 },
      responder: { events: 6 },
    });
  }
});

Deno.test("ActorHost.adopt() puts a clock's statechart actors in one actor system", () => {
  const { clock, scheduled } = countingClock();
  const host = ActorHost.for(clock);
  const input = standInInput("initiator", { transport: "stream" });
  const first = host.adopt(handshakeMachine, input);
  const second = host.adopt(handshakeMachine, input);
  // One system for both: no scheduler, registries and closures per actor.
  assert.equal(first.system, second.system);
  assert.equal(host.live, 2);
  first.start();
  second.start();
  // Each started actor arms its handshake and phase deadlines on the shared clock.
  assert.equal(scheduled.length, 4);
  host.stop(first);
  assert.equal(first.getSnapshot().status, "stopped");
  assert.equal(second.getSnapshot().status, "active");
  host.stop(second);
  assert.equal(host.live, 0);
});

Deno.test("ActorHost.for() starts a new host once one holds GUESTS_PER_HOST live actors", () => {
  const { clock } = countingClock();
  const input = standInInput("initiator", { transport: "stream" });
  const host = ActorHost.for(clock);
  const guests = Array.from({ length: GUESTS_PER_HOST }, () => host.adopt(handshakeMachine, input));
  const next = ActorHost.for(clock);
  assert.notEqual(next, host);
  assert.notEqual(next.adopt(handshakeMachine, input).system, guests[0]!.system);
  // A host with room left keeps taking guests.
  assert.equal(ActorHost.for(clock), next);
  for (const guest of guests) host.stop(guest);
  assert.equal(host.live, 0);
});

Deno.test("randomInt() takes padding lengths from the pooled CSPRNG, not one call per record", () => {
  const original = crypto.getRandomValues;
  let calls = 0;
  crypto.getRandomValues = ((array: Uint8Array) => {
    calls++;
    return original.call(crypto, array);
  }) as typeof crypto.getRandomValues;
  try {
    for (let i = 0; i < 100; i++) {
      const value = randomInt(systemRandom, 63);
      assert.ok(Number.isInteger(value) && value >= 0 && value <= 63);
    }
  } finally {
    crypto.getRandomValues = original;
  }
  // One refill of the pool at most, where one call per draw made 100.
  assert.ok(calls <= 1, `${calls} calls`);
});

Deno.test("ActorHost.stop() still stops guests after another guest failed", () => {
  const { clock } = countingClock();
  // A guest whose action throws on "boom": it ends in error and reports it to its host.
  const fragile = setup({
    types: { events: {} as { type: "boom" } },
    actions: {
      explode: () => {
        throw new Error("planted failure");
      },
    },
  }).createMachine({ on: { boom: { actions: "explode" } } });
  const host = ActorHost.for(clock);
  const failing = host.adopt(fragile, undefined);
  const healthy = host.adopt(fragile, undefined);
  failing.subscribe({ error: () => {} });
  failing.start();
  healthy.start();
  failing.send({ type: "boom" });
  assert.equal(failing.getSnapshot().status, "error");
  host.stop(failing);
  host.stop(healthy);
  assert.equal(healthy.getSnapshot().status, "stopped");
  assert.equal(host.live, 0);
});

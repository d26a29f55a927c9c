import assert from "node:assert/strict";
import { TimerQueue } from "../src/session/_system_clock.ts";
import { waitFor } from "./_session_helpers.ts";

Deno.test("TimerQueue runs timers in deadline order, then arming order", async () => {
  const clock = new TimerQueue();
  const ran: string[] = [];
  clock.setTimeout(() => ran.push("c"), 30);
  clock.setTimeout(() => ran.push("a"), 5);
  clock.setTimeout(() => ran.push("b1"), 15);
  clock.setTimeout(() => ran.push("b2"), 15);
  await waitFor(() => ran.length === 4, { what: "four timers" });
  assert.deepEqual(ran, ["a", "b1", "b2", "c"]);
  assert.equal(clock.pending, 0);
});

Deno.test("TimerQueue.clearTimeout() cancels once and ignores unknown or spent ids", async () => {
  const clock = new TimerQueue();
  const ran: string[] = [];
  const cancelled = clock.setTimeout(() => ran.push("cancelled"), 1);
  const kept = clock.setTimeout(() => ran.push("kept"), 10);
  clock.clearTimeout(cancelled);
  clock.clearTimeout(cancelled);
  clock.clearTimeout(undefined);
  assert.equal(clock.pending, 1);
  await waitFor(() => ran.length === 1, { what: "the kept timer" });
  clock.clearTimeout(kept);
  assert.deepEqual(ran, ["kept"]);
  assert.equal(clock.pending, 0);
});

Deno.test("TimerQueue keeps its heap bounded when timers are armed and cancelled forever", () => {
  const clock = new TimerQueue();
  const idle = clock.setTimeout(() => {}, 60_000);
  for (let i = 0; i < 10_000; i++) clock.clearTimeout(clock.setTimeout(() => {}, 30_000));
  assert.equal(clock.pending, 1);
  // Cancelled entries are compacted away, so memory follows live timers.
  assert.ok(clock.held <= 64, `${clock.held} entries held`);
  const ran: number[] = [];
  clock.setTimeout(() => ran.push(1), 0);
  clock.clearTimeout(idle);
  assert.equal(clock.pending, 1);
  return waitFor(() => ran.length === 1, { what: "the last timer" });
});

Deno.test("TimerQueue reports an exception from a timer and runs the others", async () => {
  const clock = new TimerQueue();
  const ran: string[] = [];
  const reported: unknown[] = [];
  const original = globalThis.reportError;
  globalThis.reportError = (error: unknown) => void reported.push(error);
  try {
    clock.setTimeout(() => {
      throw new Error("boom");
    }, 1);
    clock.setTimeout(() => ran.push("after"), 1);
    await waitFor(() => ran.length === 1, { what: "the second timer" });
  } finally {
    globalThis.reportError = original;
  }
  assert.equal(reported.length, 1);
});

Deno.test("TimerQueue runs each timer in a task of its own: promise jobs settle in between", async () => {
  const clock = new TimerQueue();
  const seen: string[] = [];
  // Both due at once: the first one's promise job must run before the second timer.
  clock.setTimeout(() => void Promise.resolve().then(() => seen.push("job of first")), 0);
  clock.setTimeout(() => seen.push("second"), 0);
  await waitFor(() => seen.length === 2, { what: "both timers" });
  assert.deepEqual(seen, ["job of first", "second"]);
});

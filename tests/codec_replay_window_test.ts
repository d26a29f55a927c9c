import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_SEQUENCE, REPLAY_WINDOW_SIZE, ReplayWindow } from "../src/codec/replay_window.ts";
import { propertyConfig } from "./_property.ts";

/** The obvious model: a set of accepted numbers and the highest one. */
function modelAccepts(accepted: Set<number>, highest: number, sequence: number): boolean {
  if (accepted.has(sequence)) return false;
  return sequence > highest || highest - sequence < REPLAY_WINDOW_SIZE;
}

Deno.test("ReplayWindow behaviour", async (t) => {
  await t.step("accepts each number once, in any order inside the window", () => {
    const window = new ReplayWindow();
    assert.equal(window.highest, -1);
    for (const sequence of [0, 2, 1, 10, 5, 3, 4]) assert.equal(window.tryAccept(sequence), true);
    for (const sequence of [0, 1, 2, 3, 4, 5, 10]) assert.equal(window.tryAccept(sequence), false);
    assert.equal(window.highest, 10);
  });

  await t.step("keeps exactly 1,024 numbers below the highest", () => {
    const window = new ReplayWindow();
    assert.equal(window.tryAccept(2000), true);
    assert.equal(window.check(2000 - 1023), true);
    assert.equal(window.check(2000 - 1024), false);
    assert.equal(window.tryAccept(2000 - 1023), true);
    assert.equal(window.tryAccept(2000 - 1023), false);
  });

  await t.step("forgets nothing inside the window when it slides by one word", () => {
    const window = new ReplayWindow();
    for (let sequence = 0; sequence < 1100; sequence += 2) window.tryAccept(sequence);
    for (let sequence = 1099 - 1023; sequence < 1100; sequence++) {
      assert.equal(window.check(sequence), sequence % 2 === 1, String(sequence));
    }
  });

  await t.step("clears stale bits after a long jump", () => {
    const window = new ReplayWindow();
    for (let sequence = 0; sequence < 1024; sequence++) window.tryAccept(sequence);
    assert.equal(window.tryAccept(1024 + 5 * 1056), true);
    for (let back = 1; back < REPLAY_WINDOW_SIZE; back++) {
      assert.equal(window.check(1024 + 5 * 1056 - back), true);
    }
  });

  await t.step("rejects numbers outside [0, 2^48 - 1] and non-integers", () => {
    const window = new ReplayWindow();
    for (const sequence of [-1, 0.5, Number.NaN, MAX_SEQUENCE + 1, Infinity]) {
      assert.equal(window.check(sequence), false);
      assert.equal(window.tryAccept(sequence), false);
    }
    assert.equal(window.tryAccept(MAX_SEQUENCE), true);
    assert.equal(window.tryAccept(MAX_SEQUENCE), false);
    assert.equal(window.tryAccept(MAX_SEQUENCE - 1), true);
  });

  await t.step("check() never changes the window", () => {
    const window = new ReplayWindow();
    assert.equal(window.check(7), true);
    assert.equal(window.check(7), true);
    assert.equal(window.highest, -1);
  });

  await t.step("agrees with a set-based model (property)", () => {
    const sequence = fc.oneof(
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: 0, max: 70 }),
      fc.integer({ min: MAX_SEQUENCE - 3000, max: MAX_SEQUENCE }),
    );
    fc.assert(
      fc.property(fc.array(sequence, { maxLength: 300 }), (sequences) => {
        const window = new ReplayWindow();
        const accepted = new Set<number>();
        let highest = -1;
        for (const value of sequences) {
          const expected = modelAccepts(accepted, highest, value);
          assert.equal(window.check(value), expected);
          assert.equal(window.tryAccept(value), expected);
          if (expected) {
            accepted.add(value);
            highest = Math.max(highest, value);
          }
          assert.equal(window.highest, highest);
        }
      }),
      propertyConfig(300),
    );
  });
});

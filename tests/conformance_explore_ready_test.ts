/**
 * Exhaustive bounded exploration of both peers' ready statecharts: key
 * updates started by both sides, data, and the close handshake, over a
 * stream and over a lossy datagram channel. Every invariant holds for the
 * real statechart, and broken versions of it (an action replaced through
 * `provide()`) are caught with a path to the violation.
 *
 * The default bound finishes in seconds; `QGATE_EXPLORE_READY_DEPTH=2`
 * explores deeper: more loss on datagrams, more retransmissions, a second key
 * update per side.
 */

import assert from "node:assert/strict";
import { assign, emit } from "xstate";
import { readyMachine } from "../machines/ready.ts";
import {
  DEFAULT_READY_SCENARIOS,
  exploreReady,
  exploreReadyStatechart,
  type ReadyScenario,
} from "../src/conformance/explore_ready.ts";
import type { ExplorationReport } from "../src/conformance/explore_report.ts";
import { formatExploration } from "../src/conformance/explore_text.ts";

function invariant(
  report: ExplorationReport,
  number: number,
): ExplorationReport["invariants"][number] {
  return report.invariants.find((item) => item.name.startsWith(`${number} `))!;
}

/** A small scenario for broken machines: one update from the initiator, then its close. */
const SMALL: ReadyScenario = {
  name: "one update, one close",
  transport: "stream",
  updates: { initiator: 1, responder: 0 },
  data: { initiator: 1, responder: 0 },
  closers: ["initiator"],
  deadlines: false,
};

Deno.test("exploreReady() finds every invariant holding within the default bound", () => {
  const report = exploreReady();
  console.log(formatExploration(report));
  assert.equal(report.invariants.length, 5);
  for (const result of report.invariants) {
    assert.ok(result.holds, `${result.name}: ${result.violations.join("\n")}`);
    assert.ok(result.checked > 0, result.name);
  }
  assert.equal(report.scenarios.length, DEFAULT_READY_SCENARIOS.length);
  for (const scenario of report.scenarios) {
    assert.equal(scenario.truncated, false, scenario.name);
    assert.ok(scenario.states > 1_000 && scenario.transitions > scenario.states, scenario.name);
    assert.ok((scenario.terminals["closed/closed"] ?? 0) > 0, scenario.name);
  }
  // Both transports, and deadlines that really end runs with a code.
  assert.deepEqual(report.scenarios.map((scenario) => scenario.transport), [
    "stream",
    "datagram",
    "datagram",
  ]);
  // The lossy channel really disturbs runs: some end with a code.
  const lossy = report.scenarios[2]!;
  assert.equal(lossy.budget, 1);
  assert.ok(Object.keys(lossy.terminals).some((outcome) => outcome.includes("failed")));
  const stream = report.scenarios[0]!.terminals;
  assert.ok(Object.keys(stream).some((outcome) => outcome.includes("failed ERR_TIMEOUT")));
});

Deno.test("exploreReadyStatechart() catches a Close that does not record how the session ended", () => {
  const broken = readyMachine.provide({ actions: { closeWith: assign({}) } });
  const report = exploreReadyStatechart(broken, { depth: 0, scenarios: [SMALL] });
  const fourth = invariant(report, 4);
  assert.equal(fourth.holds, false);
  assert.match(fourth.violations[0]!, /stuck \(/);
  assert.match(fourth.violations[0]!, /asks to close/);
});

Deno.test("exploreReadyStatechart() catches a send key switched on for the current epoch again", () => {
  const broken = readyMachine.provide({
    actions: {
      activateSend: emit(({ context }) => ({
        type: "keys.activateSend" as const,
        epoch: context.epoch,
      })),
    },
  });
  const report = exploreReadyStatechart(broken, { depth: 0, scenarios: [SMALL] });
  const second = invariant(report, 2);
  assert.equal(second.holds, false);
  assert.match(second.violations[0]!, /switched its send keys from epoch 2 to 2/);
});

Deno.test("exploreReadyStatechart() catches receive keys that never switch", () => {
  const broken = readyMachine.provide({ actions: { activateReceive: () => {} } });
  const report = exploreReadyStatechart(broken, { depth: 0, scenarios: [SMALL] });
  assert.equal(invariant(report, 4).holds, false);
  assert.match(invariant(report, 4).violations.join("\n"), /ERR_DECRYPT_FAILED|stuck/);
});

Deno.test("exploreReadyStatechart() catches an epoch that does not advance", () => {
  const broken = readyMachine.provide({
    actions: { advanceEpoch: assign(({ context }) => ({ completed: context.completed + 1 })) },
  });
  const report = exploreReadyStatechart(broken, { depth: 0, scenarios: [SMALL] });
  const first = invariant(report, 1);
  assert.equal(first.holds, false);
  assert.match(first.violations[0]!, /epochs differ while idle/);
});

Deno.test("exploreReady() rejects a malformed QGATE_EXPLORE_READY_DEPTH", () => {
  const previous = Deno.env.get("QGATE_EXPLORE_READY_DEPTH");
  Deno.env.set("QGATE_EXPLORE_READY_DEPTH", "deep");
  try {
    assert.throws(() => exploreReady({ scenarios: [] }), RangeError);
  } finally {
    if (previous === undefined) Deno.env.delete("QGATE_EXPLORE_READY_DEPTH");
    else Deno.env.set("QGATE_EXPLORE_READY_DEPTH", previous);
  }
});

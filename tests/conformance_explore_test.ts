/**
 * Exhaustive bounded exploration of both peers' handshake statecharts over
 * an adversarial channel: every invariant holds for the real statecharts,
 * and broken versions of them (a guard replaced through `provide()`) are
 * caught with a path to the violation.
 *
 * The default bound finishes in seconds; `QGATE_EXPLORE_DEPTH=3` explores
 * deeper (minutes).
 */

import assert from "node:assert/strict";
import { emit } from "xstate";
import {
  DEFAULT_EXPLORATION_SCENARIOS,
  type ExplorationReport,
  exploreHandshake,
  formatExploration,
} from "../src/conformance/mod.ts";
import { exploreStatechart } from "../src/conformance/explore.ts";
import { handshakeMachine } from "../machines/handshake.ts";

function invariant(
  report: ExplorationReport,
  number: number,
): ExplorationReport["invariants"][number] {
  return report.invariants.find((item) => item.name.startsWith(`${number} `))!;
}

Deno.test("exploreHandshake() finds every invariant holding within the default bound", () => {
  const report = exploreHandshake();
  console.log(formatExploration(report));
  assert.equal(report.invariants.length, 6);
  for (const result of report.invariants) {
    assert.ok(result.holds, `${result.name}: ${result.violations.join("\n")}`);
    assert.ok(result.checked > 0, result.name);
  }
  assert.equal(report.scenarios.length, DEFAULT_EXPLORATION_SCENARIOS.length);
  for (const scenario of report.scenarios) {
    assert.equal(scenario.truncated, false, scenario.name);
    assert.ok(scenario.states > 100 && scenario.transitions > scenario.states, scenario.name);
    const ready = scenario.terminals["ready/ready"] ?? 0;
    // Configurations that must fail never end ready/ready; the others can.
    if (scenario.name.startsWith("required but")) assert.equal(ready, 0, scenario.name);
    else assert.ok(ready > 0, scenario.name);
  }
  // Datagram scenarios really retransmit and see duplicates.
  assert.ok(report.scenarios.some((scenario) => scenario.transport === "datagram"));
  assert.ok(report.states > 10_000);
});

Deno.test("exploreStatechart() catches a responder that accepts an anonymous peer it requires", () => {
  const broken = handshakeMachine.provide({
    guards: { cannotSatisfyPeer: () => false, isPeerRejected: () => false },
  });
  const scenario = DEFAULT_EXPLORATION_SCENARIOS.find((item) =>
    item.name === "required but the initiator is anonymous"
  )!;
  const report = exploreStatechart(broken, { depth: 0, scenarios: [scenario] });
  const third = invariant(report, 3);
  assert.equal(third.holds, false);
  assert.match(third.violations[0]!, /responder is ready without a verified proof/);
  assert.match(third.violations[0]!, /deliver i2r endSessionInit/);
});

Deno.test("exploreStatechart() catches application data sent before ready", () => {
  const broken = handshakeMachine.provide({
    actions: {
      sendExtenders: emit({
        type: "frame.send" as const,
        message: { kind: "extenderData", extender: new Uint8Array(16), data: new Uint8Array(1) },
      }),
    },
  });
  const report = exploreStatechart(broken, {
    depth: 0,
    scenarios: [DEFAULT_EXPLORATION_SCENARIOS[0]!],
  });
  const second = invariant(report, 2);
  assert.equal(second.holds, false);
  assert.match(second.violations.join("\n"), /responder sent extenderData before ready/);
});

Deno.test("exploreHandshake() rejects a malformed QGATE_EXPLORE_DEPTH", () => {
  const previous = Deno.env.get("QGATE_EXPLORE_DEPTH");
  Deno.env.set("QGATE_EXPLORE_DEPTH", "deep");
  try {
    assert.throws(() => exploreHandshake({ scenarios: [] }), RangeError);
  } finally {
    if (previous === undefined) Deno.env.delete("QGATE_EXPLORE_DEPTH");
    else Deno.env.set("QGATE_EXPLORE_DEPTH", previous);
  }
});

/**
 * Transition coverage of every statechart: the handshake, each phase machine
 * on its own, the handshake over datagrams, and the ready phase.
 *
 * Each machine is driven only through pure steps (`src/conformance/coverage.ts`,
 * the same drivers `deno task conformance` reports from): both
 * roles to the end with a stand-in runtime, then from every snapshot visited
 * on the way every event the machine knows (each peer message, crafted ones
 * that trip each failure guard, every crypto result and verdict, transport
 * and local events, and each active delayed event) is tried once. Every
 * transition must be taken at least once; one that cannot be is a machine bug.
 */

import assert from "node:assert/strict";
import { sessionInitMachine } from "../machines/session_init.ts";
import {
  measureStatechartCoverage,
  takeSuccessPaths,
  TransitionCoverage,
} from "../src/conformance/coverage.ts";

Deno.test("every transition of every statechart is taken by a pure scenario", () => {
  const reports = measureStatechartCoverage();
  assert.equal(reports.length, 9);
  for (const report of reports) {
    console.log(`${report.name}: transitions covered: ${report.covered}/${report.total}`);
    for (const label of report.uncovered) console.log(`  uncovered: ${label}`);
    assert.ok(report.total > 0, report.name);
    assert.deepEqual(report.uncovered, [], `${report.name} has transitions no scenario takes`);
    assert.equal(report.covered, report.total, report.name);
  }
});

Deno.test("TransitionCoverage() enumerates transitions from the machine definition", () => {
  const coverage = new TransitionCoverage("sessionInit", sessionInitMachine);
  const labels = coverage.labels;
  // Root-level transitions shared by every phase machine.
  for (const event of ["peer.*", "transport.closed", "local.abort", "crypto.failed"]) {
    assert.ok(labels.some((label) => label.startsWith(`#sessionInit --${event}`)), event);
  }
  // Eventless, guarded, delayed and done transitions.
  assert.ok(
    labels.includes(
      "#sessionInit.sessionInit.start --always [isResponder]--> #sessionInit.sessionInit.awaitingPeerExtenders",
    ),
  );
  assert.ok(labels.some((label) => label.includes("--after phaseTimeout--> #failed")));
  assert.ok(
    labels.some((label) =>
      label.includes("--xstate.done.state.sessionInit.sessionInit--> #sessionInit.completed")
    ),
  );
  // Nothing taken yet.
  assert.equal(coverage.report().covered, 0);
});

Deno.test("TransitionCoverage() reports the transitions a scenario leaves out", () => {
  const coverage = new TransitionCoverage("sessionInit", sessionInitMachine);
  // Only the success path of both roles, no exploration.
  takeSuccessPaths(coverage);
  const report = coverage.report();
  assert.ok(report.covered > 0 && report.covered < report.total, JSON.stringify(report));
  for (
    const taken of [
      "--always [isResponder]",
      "--always[1] [isInitiator]",
      "--peer.beginSessionInit [isInitiator]",
      "--peer.endSessionInit [isResponder]",
      "--xstate.done.state.sessionInit.sessionInit",
    ]
  ) {
    assert.ok(!report.uncovered.some((label) => label.includes(taken)), `${taken} not recorded`);
  }
  for (const missed of ["--peer.*-->", "--transport.closed-->", "--after phaseTimeout-->"]) {
    assert.ok(report.uncovered.some((label) => label.includes(missed)), `${missed} recorded`);
  }
  assert.equal(report.covered + report.uncovered.length, report.total);
});

/**
 * The conformance suite, for qgate and for any other implementation of the
 * protocol: the suite of handshake cases run through an adapter
 * ({@linkcode runConformance}, {@linkcode qgateAdapter} as the reference),
 * statechart coverage, the exhaustive exploration of both peers' machines,
 * the hostile peer for black-box tests over TCP, and the handshake
 * known-answer vectors with their runner contract
 * ({@linkcode loadHandshakeVectors}, {@linkcode RUNNER_CONTRACT_URL},
 * {@linkcode runHandshakeVectors}, {@linkcode serveVectorRunner}). Everything
 * ships with the package: no clone of the repository is needed.
 *
 * @example qgate's reference runner passes one positive vector
 * ```ts
 * import {
 *   loadHandshakeVectors,
 *   runHandshakeVectors,
 *   serveVectorRunner,
 * } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const { positive } = await loadHandshakeVectors();
 * const toRunner = new TransformStream<Uint8Array, Uint8Array>();
 * const fromRunner = new TransformStream<Uint8Array, Uint8Array>();
 * const runner = serveVectorRunner(toRunner.readable, fromRunner.writable);
 * const results = await runHandshakeVectors(
 *   { writable: toRunner.writable, readable: fromRunner.readable },
 *   [{ ...positive, numberOfTests: 1, tests: positive.tests.slice(0, 1) }],
 * );
 * await runner;
 * assert.deepEqual(results.map((result) => result.status), ["pass", "pass"]);
 * ```
 *
 * @module
 */

// the suite
export { DEFAULT_CONFORMANCE_SEED, runConformance } from "./src/conformance/suite.ts";
export type { ConformanceOptions } from "./src/conformance/suite.ts";
export { CONFORMANCE_CATEGORIES } from "./src/conformance/suite_report.ts";
export type {
  ConformanceCategory,
  ConformanceReport,
  ConformanceResult,
} from "./src/conformance/suite_report.ts";
export { formatConformanceTable } from "./src/conformance/suite_table.ts";

// the adapter contract
export { qgateAdapter } from "./src/conformance/adapter.ts";
export type {
  AccessEntry,
  ConformanceAdapter,
  ConformanceEndpoint,
  ConformanceEndpointSpec,
  ConformanceRole,
  EndpointOutcome,
  HandshakePhase,
} from "./src/conformance/adapter.ts";

// coverage and exploration
export { measureStatechartCoverage } from "./src/conformance/coverage.ts";
export type { StatechartCoverage } from "./src/conformance/coverage.ts";
export { DEFAULT_EXPLORATION_DEPTH, exploreHandshake } from "./src/conformance/explore.ts";
export type { ExplorationOptions } from "./src/conformance/explore.ts";
export { DEFAULT_EXPLORATION_SCENARIOS } from "./src/conformance/explore_scenarios.ts";
export type { ExplorationScenario, ExplorationSide } from "./src/conformance/explore_scenarios.ts";
export type {
  ExplorationReport,
  InvariantResult,
  ScenarioReport,
} from "./src/conformance/explore_report.ts";
export { formatExploration } from "./src/conformance/explore_text.ts";

// the hostile peer
export { formatHostileReport, runHostilePeer } from "./src/conformance/hostile_peer.ts";
export type {
  HostileCaseResult,
  HostilePeerOptions,
  HostileReport,
} from "./src/conformance/hostile_peer.ts";

// the known-answer vectors and their runner contract
export { loadHandshakeVectors, RUNNER_CONTRACT_URL } from "./src/conformance/vector_files.ts";
export type { HandshakeVectors } from "./src/conformance/vector_files.ts";
export { runHandshakeVectors } from "./src/conformance/vector_harness.ts";
export type {
  RunnerConnection,
  VectorHarnessOptions,
  VectorResult,
} from "./src/conformance/vector_harness.ts";
export { serveVectorRunner } from "./src/conformance/runner.ts";
export type {
  NegativeSide,
  NegativeVector,
  PositiveVector,
  VectorEndpointConfig,
  VectorFile,
  VectorInputs,
  VectorOutcome,
  VectorRecord,
} from "./src/conformance/vectors.ts";

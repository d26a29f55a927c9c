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
export { DEFAULT_CONFORMANCE_SEED, runConformance } from "./suite.ts";
export type { ConformanceOptions } from "./suite.ts";
export { CONFORMANCE_CATEGORIES } from "./suite_report.ts";
export type { ConformanceCategory, ConformanceReport, ConformanceResult } from "./suite_report.ts";
export { formatConformanceTable } from "./suite_table.ts";

// the adapter contract
export { ENDPOINT_CAPABILITIES, qgateAdapter } from "./adapter.ts";
export type {
  AccessEntry,
  ConformanceAdapter,
  ConformanceEndpoint,
  ConformanceEndpointSpec,
  ConformanceMessage,
  ConformanceRole,
  EndpointCapability,
  EndpointOutcome,
  HandshakePhase,
} from "./adapter.ts";

// coverage and exploration
export { measureStatechartCoverage } from "./coverage.ts";
export type { StatechartCoverage } from "./coverage.ts";
export { DEFAULT_EXPLORATION_DEPTH, exploreHandshake } from "./explore.ts";
export type { ExplorationOptions } from "./explore.ts";
export { DEFAULT_EXPLORATION_SCENARIOS } from "./explore_scenarios.ts";
export type { ExplorationScenario, ExplorationSide } from "./explore_scenarios.ts";
export type { ExplorationReport, InvariantResult, ScenarioReport } from "./explore_report.ts";
export { formatExploration } from "./explore_text.ts";
export { DEFAULT_READY_EXPLORATION_DEPTH, exploreReady } from "./explore_ready.ts";
export type { ReadyExplorationOptions, ReadyScenario } from "./explore_ready.ts";

// the hostile peer
export { formatHostileReport, runHostilePeer } from "./hostile_peer.ts";
export type {
  HostileCaseResult,
  HostileHandshakeEnd,
  HostilePeerOptions,
  HostileReport,
} from "./hostile_peer.ts";

// the known-answer vectors and their runner contract
export { loadHandshakeVectors, RUNNER_CONTRACT_URL } from "./vector_files.ts";
export type { HandshakeVectors } from "./vector_files.ts";
export { runHandshakeVectors } from "./vector_harness.ts";
export type { RunnerConnection, VectorHarnessOptions, VectorResult } from "./vector_harness.ts";
export { serveVectorRunner } from "./runner.ts";
export type {
  NegativeSide,
  NegativeVector,
  PositiveVector,
  VectorClose,
  VectorEnding,
  VectorEndpointConfig,
  VectorFile,
  VectorInputs,
  VectorOutcome,
  VectorRecord,
} from "./vectors.ts";

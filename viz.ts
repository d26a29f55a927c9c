/**
 * The statecharts as data and pictures, and handshakes as traces: export any
 * statechart as JSON, Mermaid, DOT or SVG (SVG renders DOT with Graphviz
 * compiled to WebAssembly, loaded on first use), record a session's trace
 * events, turn a trace into a Mermaid sequence diagram, simulate a handshake
 * without crypto, and serve the live inspector.
 *
 * @example A statechart as Mermaid
 * ```ts
 * import { listStatecharts, statechartToMermaid } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * assert.ok(listStatecharts().some((chart) => chart.id === "metaExchange"));
 * assert.match(statechartToMermaid("metaExchange"), /stateDiagram-v2/);
 * ```
 *
 * @module
 */

// statechart export
export {
  listStatecharts,
  renderDotToSvg,
  statechartDiagramFiles,
  statechartToDot,
  statechartToJson,
  statechartToMermaid,
  statechartToSvg,
} from "./src/viz/export.ts";
export type { DiagramFile } from "./src/viz/export.ts";
export type {
  StatechartAction,
  StatechartFailure,
  StatechartFormat,
  StatechartInfo,
  StatechartJson,
  StatechartParamValue,
  StatechartState,
  StatechartStateType,
  StatechartTransition,
  StatechartTrigger,
} from "./src/viz/statechart_types.ts";

// traces
export type {
  TraceEndEvent,
  TraceEvent,
  TraceFrameEvent,
  TraceKeysEvent,
  TraceRole,
  TraceStateEvent,
} from "./src/viz/trace_types.ts";
export { parseTrace, TraceRecorder, traceToMermaidSequence } from "./src/viz/trace.ts";
export type {
  MermaidSequenceOptions,
  TraceFormat,
  TraceJson,
  TraceRecorderOptions,
} from "./src/viz/trace.ts";
export { simulateHandshakeTrace } from "./src/viz/simulate.ts";
export type { SimulationOptions, SimulationScenario } from "./src/viz/simulate.ts";

// the inspector
export { defaultTraceSources, replayTrace, startLiveHandshake } from "./src/viz/trace_sources.ts";
export type { LiveHandshakeOptions, ReplayOptions, TraceSource } from "./src/viz/trace_sources.ts";
export { serveInspector } from "./src/viz/inspector.ts";
export type { InspectorOptions, InspectorPace, InspectorServer } from "./src/viz/inspector.ts";

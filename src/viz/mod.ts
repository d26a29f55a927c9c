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
} from "./export.ts";
export type { DiagramFile } from "./export.ts";
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
} from "./statechart_types.ts";

// traces
export type {
  TraceEndEvent,
  TraceEvent,
  TraceFrameEvent,
  TraceKeysEvent,
  TraceRole,
  TraceStateEvent,
} from "./trace_types.ts";
export { parseTrace, TraceRecorder, traceToMermaidSequence } from "./trace.ts";
export type {
  MermaidSequenceOptions,
  TraceFormat,
  TraceJson,
  TraceRecorderOptions,
} from "./trace.ts";
export { simulateHandshakeTrace } from "./simulate.ts";
export type { SimulationOptions, SimulationScenario } from "./simulate.ts";

// the inspector
export { defaultTraceSources, replayTrace, startLiveHandshake } from "./trace_sources.ts";
export type { LiveHandshakeOptions, ReplayOptions, TraceSource } from "./trace_sources.ts";
export { serveInspector } from "./inspector.ts";
export type { InspectorOptions, InspectorPace, InspectorServer } from "./inspector.ts";

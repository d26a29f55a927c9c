/**
 * Statecharts as data and diagrams: JSON, Mermaid `stateDiagram-v2`,
 * Graphviz DOT and SVG, all generated from the machine definitions in
 * `machines/` (never drawn by hand).
 *
 * Statecharts are named, not passed: every function takes a name from
 * {@linkcode listStatecharts} (`"handshake"`, `"metaExchange"`, …) and
 * returns plain data or text, so no XState type is part of the public API.
 * `deno task viz` writes every format to `machines/diagrams/`.
 *
 * What the diagrams show: states (compound states as clusters, the
 * handshake's phases numbered in order; a parallel state's regions as dashed
 * clusters side by side, entered together through a fork bar, or separated by
 * `--` in Mermaid), events, guards in `[brackets]`,
 * named timeouts (`after phaseTimeout`), the reason code of every failure
 * transition, and each message a transition puts on the wire (`⇢ kind`).
 * Failure transitions of a state end in a red "failed" marker beside it that
 * stands for the machine's single `failed` state; transitions valid in every
 * state are listed on a note beside `failed`.
 *
 * @module
 */

import { Graphviz } from "@hpcc-js/wasm-graphviz";
import { findStatechart, STATECHARTS } from "./_registry.ts";
import { describeStatechart } from "./_model.ts";
import { statechartDot } from "./_dot.ts";
import { statechartMermaid } from "./_mermaid.ts";
import type { StatechartInfo, StatechartJson } from "./statechart_types.ts";

/** Where `deno task viz` writes the diagrams, relative to the repository root. */
export const DIAGRAM_DIRECTORY = "machines/diagrams";

/** One generated diagram file. */
export interface DiagramFile {
  /** The path relative to the repository root, e.g. `"machines/diagrams/handshake.svg"`. */
  readonly path: string;
  /** The file's text. */
  readonly content: string;
}

/**
 * Lists the statecharts that can be exported, phases first in protocol
 * order, then the handshake that composes them.
 *
 * @returns One entry per statechart: its name, a sentence and its source file.
 *
 * @example Names to pass to the export functions
 * ```ts
 * import { listStatecharts } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const names = listStatecharts().map((chart) => chart.id);
 * assert.ok(names.includes("handshake"));
 * assert.ok(names.indexOf("metaExchange") < names.indexOf("sessionInit"));
 * ```
 */
export function listStatecharts(): StatechartInfo[] {
  return STATECHARTS.map(({ id, description, source }) => ({ id, description, source }));
}

/**
 * Exports a statechart as plain data (the shape of `machines/diagrams/<name>.json`).
 *
 * @param name A statechart name from {@linkcode listStatecharts}.
 * @returns States, transitions (event, guard, targets, actions, delay,
 *   messages sent, failure code) and the delays used.
 * @throws {RangeError} If no statechart has that name.
 *
 * @example Failure transitions carry their reason code
 * ```ts
 * import { statechartToJson } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const chart = statechartToJson("metaExchange");
 * const timeout = chart.transitions.find((t) =>
 *   t.source === "metaExchange" && t.delay === "phaseTimeout"
 * );
 * assert.equal(timeout?.delay, "phaseTimeout");
 * assert.equal(timeout?.failure?.code, "ERR_TIMEOUT");
 * assert.deepEqual(timeout?.targets, ["failed"]);
 * ```
 */
export function statechartToJson(name: string): StatechartJson {
  return describeStatechart(findStatechart(name, "export statechart"));
}

/**
 * Exports a statechart as a Mermaid `stateDiagram-v2`.
 *
 * @param name A statechart name from {@linkcode listStatecharts}.
 * @returns The Mermaid source, ending in a newline.
 * @throws {RangeError} If no statechart has that name.
 *
 * @example The handshake's phases as composite states
 * ```ts
 * import { statechartToMermaid } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const mermaid = statechartToMermaid("handshake");
 * assert.match(mermaid, /^---\ntitle: /);
 * assert.match(mermaid, /stateDiagram-v2/);
 * assert.match(mermaid, /state "1 · metaExchange" as metaExchange \{/);
 * ```
 */
export function statechartToMermaid(name: string): string {
  return statechartMermaid(statechartToJson(name));
}

/**
 * Exports a statechart as a Graphviz `digraph`, top to bottom, compound
 * states as clusters. Nodes and clusters carry `id="state:<path>"` (the
 * same path a trace's `state` event names), so a page can highlight them in
 * the rendered SVG.
 *
 * @param name A statechart name from {@linkcode listStatecharts}.
 * @returns The DOT source, ending in a newline.
 * @throws {RangeError} If no statechart has that name.
 *
 * @example Every state is addressable
 * ```ts
 * import { statechartToDot } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const dot = statechartToDot("handshake");
 * assert.match(dot, /^\/\/ handshake: /);
 * assert.ok(dot.includes('id="state:primaryKeyExchange.awaitingAnswer"'));
 * ```
 */
export function statechartToDot(name: string): string {
  return statechartDot(statechartToJson(name));
}

let graphviz: Promise<Graphviz> | undefined;

/**
 * Renders Graphviz DOT to SVG with Graphviz compiled to WebAssembly: offline,
 * no browser, no external program. The output depends only on the input and
 * the pinned Graphviz version.
 *
 * @param dot Graphviz source.
 * @returns The SVG document.
 * @throws {SyntaxError} If Graphviz cannot lay out the input.
 *
 * @example Render a tiny graph
 * ```ts
 * import { renderDotToSvg } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const svg = await renderDotToSvg('digraph { a -> b [label="go"] }');
 * assert.match(svg, /<svg /);
 * assert.match(svg, />go</);
 * ```
 */
export async function renderDotToSvg(dot: string): Promise<string> {
  if (typeof dot !== "string") {
    throw new TypeError(`Cannot render DOT: "dot" must be a string, got ${typeof dot}`);
  }
  graphviz ??= Graphviz.load();
  const engine = await graphviz;
  try {
    return engine.dot(dot, "svg");
  } catch (cause) {
    throw new SyntaxError("Cannot render DOT: Graphviz rejected the input", { cause });
  }
}

/**
 * Renders a statechart to SVG (its DOT through {@linkcode renderDotToSvg}).
 *
 * @param name A statechart name from {@linkcode listStatecharts}.
 * @returns The SVG document.
 * @throws {RangeError} If no statechart has that name.
 *
 * @example The active state can be found by id
 * ```ts
 * import { statechartToSvg } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const svg = await statechartToSvg("sessionInit");
 * assert.ok(svg.includes('id="state:sessionInit.awaitingPeerExtenders"'));
 * ```
 */
export function statechartToSvg(name: string): Promise<string> {
  return renderDotToSvg(statechartToDot(name));
}

/**
 * Prepares an SVG for committing: drops the optional XML declaration and
 * DOCTYPE so the file can open with a comment that keeps `deno fmt` from
 * re-wrapping generated markup (which would make the staleness check fail).
 */
function svgFile(svg: string): string {
  const start = svg.indexOf("<!--");
  const body = start === -1 ? svg : svg.slice(start);
  return `<!-- deno-fmt-ignore-file -->\n<!-- Generated by \`deno task viz\`; do not edit. -->\n${body}`;
}

/**
 * Generates every diagram file `deno task viz` writes: for each statechart,
 * `<name>.json`, `<name>.mmd`, `<name>.dot` and `<name>.svg` under
 * {@linkcode DIAGRAM_DIRECTORY}.
 *
 * @returns The files, sorted by path.
 *
 * @example Four files per statechart
 * ```ts
 * import { listStatecharts, statechartDiagramFiles } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const files = await statechartDiagramFiles();
 * assert.equal(files.length, 4 * listStatecharts().length);
 * assert.ok(files.some((file) => file.path === "machines/diagrams/handshake.mmd"));
 * ```
 */
export async function statechartDiagramFiles(): Promise<DiagramFile[]> {
  const files: DiagramFile[] = [];
  for (const { id } of STATECHARTS) {
    const json = statechartToJson(id);
    const dot = statechartDot(json);
    const base = `${DIAGRAM_DIRECTORY}/${id}`;
    files.push({ path: `${base}.json`, content: `${JSON.stringify(json, null, 2)}\n` });
    files.push({ path: `${base}.mmd`, content: statechartMermaid(json) });
    files.push({ path: `${base}.dot`, content: dot });
    files.push({ path: `${base}.svg`, content: svgFile(await renderDotToSvg(dot)) });
  }
  return files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

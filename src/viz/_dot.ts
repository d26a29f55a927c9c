/**
 * Writes a {@linkcode StatechartJson} as a Graphviz `digraph`, top to
 * bottom, compound states as clusters. Every node and cluster carries
 * `id="state:<path>"` and a `class`, so the SVG can be styled and the
 * inspector can highlight the active state.
 *
 * @module
 */

import {
  actionText,
  type ChartView,
  chartView,
  isChoice,
  isFailedState,
  isIgnore,
  otherActionTexts,
  reasonText,
  whenText,
} from "./_chart_view.ts";
import type { StatechartJson, StatechartState, StatechartTransition } from "./statechart_types.ts";

const FONT = "Helvetica";
const INK = "#1e293b";
const MUTED = "#64748b";
const GUARD = "#6d28d9";
const SEND = "#1d4ed8";
const FAIL = "#b91c1c";
const FAIL_LINE = "#dc2626";

/** Escapes text for a Graphviz HTML-like label. */
function html(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** Quotes a Graphviz id. */
function quote(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function nodeName(path: string): string {
  return quote(`state:${path}`);
}

function initialName(path: string): string {
  return quote(`initial:${path}`);
}

function failName(path: string): string {
  return quote(`fail:${path}`);
}

function clusterName(path: string): string {
  return quote(`cluster_${path}`);
}

function attributes(entries: Record<string, string>): string {
  return `[${Object.entries(entries).map(([key, value]) => `${key}=${value}`).join(", ")}]`;
}

function small(text: string, color: string, bold = false): string {
  const inner = bold ? `<b>${html(text)}</b>` : html(text);
  return `<font point-size="9" color="${color}">${inner}</font>`;
}

function isCluster(state: StatechartState): boolean {
  return state.type === "compound" || state.type === "parallel";
}

/** A region of a parallel state: one of the children that run side by side. */
function isRegion(view: ChartView, state: StatechartState): boolean {
  return state.parent !== null && view.states.get(state.parent)?.type === "parallel";
}

function stateLabel(view: ChartView, state: StatechartState): string {
  const title = view.titles.get(state.path) ?? state.key;
  const lines = [`<b>${html(isRegion(view, state) ? `‖ ${title}` : title)}</b>`];
  if (state.type === "parallel") {
    const regions = (view.children.get(state.path) ?? []).map((child) => child.key);
    lines.push(small(`parallel: ${regions.join(" ‖ ")}`, MUTED));
  }
  for (const action of state.entry) {
    lines.push(
      action.sends === null
        ? small(`entry / ${actionText(action)}`, MUTED)
        : small(`entry ⇢ ${action.sends}`, SEND, true),
    );
  }
  for (const action of state.exit) lines.push(small(`exit / ${actionText(action)}`, MUTED));
  for (const transition of view.outgoing.get(state.path) ?? []) {
    if (isIgnore(transition)) lines.push(small(`ignores ${whenText(transition)}`, MUTED));
    else if (isCluster(state) && isInternal(transition)) {
      // A loop on a cluster has no node to attach to: list it like an entry action.
      const sends = transition.sends.map((kind) => ` ⇢ ${kind}`).join("");
      const others = otherActionTexts(transition);
      const actions = others.length === 0 ? "" : ` / ${others.join(", ")}`;
      lines.push(small(`${whenText(transition)}${actions}${sends}`, MUTED));
    }
  }
  return `<${lines.join("<br/>")}>`;
}

/** A targetless transition that does something (an internal transition). */
function isInternal(transition: StatechartTransition): boolean {
  return transition.targets.length === 0 && transition.failure === null && !isIgnore(transition);
}

function transitionLabel(transition: StatechartTransition): string {
  const lines: string[] = [];
  const when = whenText(transition);
  const trigger = when.replace(/ ?\[.*\]$/, "");
  if (trigger !== "") lines.push(`<b>${html(trigger)}</b>`);
  if (transition.guard !== null) lines.push(small(`[${transition.guard}]`, GUARD));
  const others = otherActionTexts(transition);
  if (others.length > 0) lines.push(small(`/ ${others.join(", ")}`, MUTED));
  for (const kind of transition.sends) lines.push(small(`⇢ ${kind}`, SEND, true));
  return lines.length === 0 ? '""' : `<${lines.join("<br/>")}>`;
}

function failureLabel(transitions: readonly StatechartTransition[]): string {
  const rows = transitions.map((transition) => {
    const when = whenText(transition) || "always";
    return `<tr><td align="left">${small(when, INK)}</td>` +
      `<td align="left">${small(reasonText(transition), FAIL, true)}</td></tr>`;
  });
  return `<<table border="0" cellspacing="0" cellpadding="1">` +
    `<tr><td align="left" colspan="2">${small("→ failed", FAIL, true)}</td></tr>` +
    `${rows.join("")}</table>>`;
}

/**
 * Where an edge into a state ends: the node, or a compound state's initial
 * marker (a parallel state's fork bar), clipped at the cluster.
 */
function headOf(view: ChartView, path: string): { node: string; lhead?: string } {
  const state = view.states.get(path);
  if (state !== undefined && isCluster(state)) {
    return { node: initialName(path), lhead: clusterName(path) };
  }
  return { node: nodeName(path) };
}

/** Where an edge out of a state starts: the node, or a compound state's final child. */
function tailOf(view: ChartView, state: StatechartState): { node: string; ltail?: string } {
  if (!isCluster(state)) return { node: nodeName(state.path) };
  const final = (view.children.get(state.path) ?? []).find((child) => child.type === "final");
  return final === undefined
    ? { node: initialName(state.path), ltail: clusterName(state.path) }
    : { node: nodeName(final.path) };
}

class DotWriter {
  readonly #view: ChartView;
  readonly #lines: string[] = [];
  readonly #edges: string[] = [];

  constructor(view: ChartView) {
    this.#view = view;
  }

  write(): string {
    const { chart, root } = this.#view;
    this.#line(0, `// ${chart.id}: ${chart.description}`);
    this.#line(0, `// Generated by \`deno task viz\` from ${chart.source}; do not edit.`);
    this.#line(
      0,
      "// Conventions: failure transitions of a state end in a red 'failed' marker beside it",
    );
    this.#line(
      0,
      "// (it stands for the machine's one final state 'failed'); the note beside 'failed' lists",
    );
    this.#line(
      0,
      "// the transitions declared on the root, valid in every state; ⇢ = message sent.",
    );
    this.#line(0, `digraph ${quote(chart.id)} {`);
    this.#line(
      1,
      `graph ${
        attributes({
          rankdir: "TB",
          compound: "true",
          newrank: "true",
          nodesep: "0.3",
          ranksep: "0.32",
          pad: "0.25",
          bgcolor: quote("white"),
          fontname: quote(FONT),
          fontsize: "11",
          labelloc: "t",
          labeljust: "l",
          label: `<<font point-size="16"><b>${html(chart.id)}</b></font><br/>${
            small(chart.description, MUTED)
          }<br/>${small(`from ${chart.source}`, MUTED)}>`,
        })
      };`,
    );
    this.#line(
      1,
      `node ${
        attributes({
          shape: "box",
          style: quote("rounded,filled"),
          fillcolor: quote("white"),
          color: quote("#475569"),
          fontcolor: quote(INK),
          fontname: quote(FONT),
          fontsize: "11",
          penwidth: "1.2",
          margin: quote("0.14,0.06"),
        })
      };`,
    );
    this.#line(
      1,
      `edge ${
        attributes({
          color: quote("#475569"),
          fontcolor: quote(INK),
          fontname: quote(FONT),
          fontsize: "10",
          arrowsize: "0.7",
          penwidth: "1.1",
        })
      };`,
    );
    this.#initialMarker(1, root);
    for (const child of this.#view.children.get(root.path) ?? []) this.#state(1, child);
    this.#rootNote();
    for (const transition of this.#view.outgoing.get(root.path) ?? []) {
      if (transition.failure === null) this.#edge(this.#anyStateNode(), transition);
    }
    this.#lines.push(...this.#edges);
    this.#line(0, "}");
    return this.#lines.join("\n") + "\n";
  }

  #line(depth: number, text: string): void {
    this.#lines.push(`${"  ".repeat(depth)}${text}`);
  }

  #initialMarker(depth: number, parent: StatechartState): void {
    if (parent.type === "parallel") {
      this.#fork(depth, parent);
      return;
    }
    if (parent.initial === null) return;
    const marker = initialName(parent.path);
    this.#line(
      depth,
      `${marker} ${
        attributes({
          id: marker,
          class: quote("initial"),
          shape: "point",
          width: "0.14",
          label: '""',
          fillcolor: quote(INK),
          color: quote(INK),
        })
      };`,
    );
    const head = headOf(this.#view, parent.initial);
    const extra = head.lhead === undefined ? "" : `, lhead=${head.lhead}`;
    this.#edges.push(`  ${marker} -> ${head.node} [arrowsize=0.6${extra}];`);
  }

  /**
   * A parallel state is entered through a fork bar: one edge from it into
   * each region, which all start together.
   */
  #fork(depth: number, parallel: StatechartState): void {
    const marker = initialName(parallel.path);
    this.#line(
      depth,
      `${marker} ${
        attributes({
          id: marker,
          class: quote("initial fork"),
          shape: "box",
          style: quote("filled"),
          width: "0.9",
          height: "0.05",
          fixedsize: "true",
          label: '""',
          fillcolor: quote(INK),
          color: quote(INK),
        })
      };`,
    );
    for (const region of this.#view.children.get(parallel.path) ?? []) {
      const head = headOf(this.#view, region.path);
      const extra = head.lhead === undefined ? "" : `, lhead=${head.lhead}`;
      this.#edges.push(`  ${marker} -> ${head.node} [arrowsize=0.6${extra}];`);
    }
  }

  #state(depth: number, state: StatechartState): void {
    if (isCluster(state)) {
      this.#cluster(depth, state);
    } else {
      this.#leaf(depth, state);
    }
    this.#transitions(depth, state);
  }

  #cluster(depth: number, state: StatechartState): void {
    this.#line(depth, `subgraph ${clusterName(state.path)} {`);
    this.#line(depth + 1, `id=${nodeName(state.path)};`);
    const region = isRegion(this.#view, state);
    const classes = ["phase", ...(state.type === "parallel" ? ["parallel"] : [])];
    if (region) classes.push("region");
    this.#line(depth + 1, `class=${quote(classes.join(" "))};`);
    this.#line(depth + 1, `label=${stateLabel(this.#view, state)};`);
    if (region) {
      // Regions of a parallel state run side by side: dashed, like UML's region separators.
      this.#line(depth + 1, `labeljust="l"; style="rounded,dashed,filled"; penwidth=1.2;`);
      this.#line(depth + 1, `fillcolor="white"; color="#64748b"; fontsize=12;`);
    } else {
      this.#line(depth + 1, `labeljust="l"; style="rounded,filled"; penwidth=1.2;`);
      this.#line(depth + 1, `fillcolor="#f8fafc"; color="#94a3b8"; fontsize=12;`);
    }
    this.#initialMarker(depth + 1, state);
    for (const child of this.#view.children.get(state.path) ?? []) this.#state(depth + 1, child);
    this.#line(depth, "}");
  }

  #leaf(depth: number, state: StatechartState): void {
    const name = nodeName(state.path);
    const top = state.parent === this.#view.root.path;
    let style: Record<string, string>;
    if (isChoice(this.#view, state)) {
      style = {
        class: quote("state choice"),
        shape: "diamond",
        width: "0.3",
        height: "0.3",
        fixedsize: "true",
        label: '""',
        xlabel: `<${small(state.key, MUTED)}>`,
        style: quote("filled"),
        fillcolor: quote("#e2e8f0"),
      };
    } else if (state.type === "final" && isFailedState(state)) {
      style = {
        class: quote("state final failed"),
        label: stateLabel(this.#view, state),
        fillcolor: quote("#fee2e2"),
        color: quote(FAIL_LINE),
        penwidth: "2",
      };
    } else if (state.type === "final" && top) {
      style = {
        class: quote("state final"),
        label: stateLabel(this.#view, state),
        fillcolor: quote("#dcfce7"),
        color: quote("#16a34a"),
        penwidth: "2",
      };
    } else if (state.type === "final") {
      style = {
        class: quote("state final"),
        shape: "doublecircle",
        width: "0.16",
        fixedsize: "true",
        label: '""',
        xlabel: `<${small(state.key, MUTED)}>`,
        style: quote("filled"),
        fillcolor: quote(INK),
      };
    } else {
      style = { class: quote("state"), label: stateLabel(this.#view, state) };
    }
    this.#line(depth, `${name} ${attributes({ id: name, ...style })};`);
  }

  #transitions(depth: number, state: StatechartState): void {
    const outgoing = this.#view.outgoing.get(state.path) ?? [];
    const failures = outgoing.filter((transition) => transition.failure !== null);
    if (failures.length > 0) {
      const marker = failName(state.path);
      this.#line(
        depth,
        `${marker} ${
          attributes({
            id: marker,
            class: quote("failure"),
            label: failureLabel(failures),
            style: quote("rounded,filled,dashed"),
            fillcolor: quote("#fef2f2"),
            color: quote(FAIL_LINE),
            margin: quote("0.08,0.04"),
          })
        };`,
      );
      if (!isCluster(state)) {
        this.#line(depth, `{ rank=same; ${nodeName(state.path)}; ${marker}; }`);
      }
      const tail = tailOf(this.#view, state);
      const ltail = tail.ltail === undefined ? "" : `, ltail=${tail.ltail}`;
      this.#edges.push(
        `  ${tail.node} -> ${marker} [color="${FAIL_LINE}", style=dashed, arrowhead=vee${ltail}];`,
      );
    }
    for (const transition of outgoing) {
      if (transition.failure !== null || isIgnore(transition)) continue;
      if (isCluster(state) && isInternal(transition)) continue; // in the cluster's label
      this.#edge(tailOf(this.#view, state), transition);
    }
  }

  #edge(tail: { node: string; ltail?: string }, transition: StatechartTransition): void {
    const targets = transition.targets.length === 0 ? [] : transition.targets;
    const label = transitionLabel(transition);
    const style = transition.trigger === "done"
      ? `, penwidth=1.8, color="${INK}"`
      : transition.trigger === "always"
      ? `, style=solid, color="${MUTED}"`
      : "";
    const ltail = tail.ltail === undefined ? "" : `, ltail=${tail.ltail}`;
    if (targets.length === 0) {
      this.#edges.push(`  ${tail.node} -> ${tail.node} [label=${label}${style}${ltail}];`);
      return;
    }
    for (const target of targets) {
      const head = headOf(this.#view, target);
      const lhead = head.lhead === undefined ? "" : `, lhead=${head.lhead}`;
      this.#edges.push(`  ${tail.node} -> ${head.node} [label=${label}${style}${ltail}${lhead}];`);
    }
  }

  #anyStateNode(): { node: string } {
    return { node: quote("any:") };
  }

  /**
   * The note listing root transitions (valid in every state), beside
   * `failed`, on the last row with the outcomes.
   */
  #rootNote(): void {
    const { root } = this.#view;
    const outgoing = this.#view.outgoing.get(root.path) ?? [];
    const failed = (this.#view.children.get(root.path) ?? []).find(isFailedState);
    const outcome = (this.#view.children.get(root.path) ?? []).find((state) =>
      state.type === "final" && !isFailedState(state)
    );
    if (outgoing.length === 0) {
      // No note: the two outcomes still share the last row.
      if (failed !== undefined && outcome !== undefined) {
        this.#line(1, `{ rank=same; ${nodeName(outcome.path)}; ${nodeName(failed.path)}; }`);
      }
      return;
    }
    const failures = outgoing.filter((transition) => transition.failure !== null);
    const rows = [
      `<tr><td align="left" colspan="2">${small("in any state", INK, true)}</td></tr>`,
      ...outgoing.map((transition) => {
        const outcome = transition.failure !== null
          ? small(`→ ${reasonText(transition)}`, FAIL, true)
          : small(`→ ${transition.targets.join(", ")}`, INK);
        return `<tr><td align="left">${small(whenText(transition) || "always", INK)}</td>` +
          `<td align="left">${outcome}</td></tr>`;
      }),
    ];
    const note = this.#anyStateNode().node;
    this.#line(
      1,
      `${note} ${
        attributes({
          id: quote("any:"),
          class: quote("note"),
          shape: "note",
          style: quote("filled"),
          fillcolor: quote("#fff7ed"),
          color: quote("#fdba74"),
          margin: quote("0.1,0.05"),
          label: `<<table border="0" cellspacing="0" cellpadding="1">${rows.join("")}</table>>`,
        })
      };`,
    );
    if (failed !== undefined && failures.length > 0) {
      // The outcomes share the last row: the note, `failed`, and the other final state.
      const peers = outcome === undefined ? "" : ` ${nodeName(outcome.path)};`;
      this.#line(1, `{ rank=same; ${note}; ${nodeName(failed.path)};${peers} }`);
      this.#edges.push(
        `  ${note} -> ${
          nodeName(failed.path)
        } [color="${FAIL_LINE}", style=dashed, arrowhead=vee];`,
      );
    }
  }
}

/**
 * Writes the Graphviz source of a statechart.
 *
 * @param chart The statechart.
 * @returns The DOT text, ending in a newline.
 */
export function statechartDot(chart: StatechartJson): string {
  return new DotWriter(chartView(chart)).write();
}

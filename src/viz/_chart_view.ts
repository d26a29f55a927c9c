/**
 * Helpers both diagram writers share: an index over a
 * {@linkcode StatechartJson} and the wording of labels, so that the Mermaid
 * and the Graphviz diagrams say the same things in the same words.
 *
 * Drawing conventions (documented in each diagram's header):
 * - top-level states are numbered in document order when the statechart
 *   composes several phases (`1 · metaExchange` … `6 · ready`);
 * - an atomic state that only has guarded `always` transitions is a choice;
 * - failure transitions of one state end in a red "failed" marker next to
 *   it that stands for the machine's `failed` state, labelled with the
 *   trigger, the guard and the reason code; transitions declared on the
 *   root (valid in any state) are listed on a note next to `failed`;
 * - a message the transition puts on the wire is shown as `⇢ kind`.
 *
 * @module
 */

import type {
  StatechartAction,
  StatechartJson,
  StatechartState,
  StatechartTransition,
} from "./statechart_types.ts";

/** An index over one statechart for the diagram writers. */
export interface ChartView {
  readonly chart: StatechartJson;
  readonly root: StatechartState;
  /** Every state by path. */
  readonly states: ReadonlyMap<string, StatechartState>;
  /** Children paths per parent path, in document order. */
  readonly children: ReadonlyMap<string, readonly StatechartState[]>;
  /** Transitions per source path, in document order. */
  readonly outgoing: ReadonlyMap<string, readonly StatechartTransition[]>;
  /** Display titles of top-level states (`"1 · metaExchange"`). */
  readonly titles: ReadonlyMap<string, string>;
}

/**
 * Builds the index.
 *
 * @param chart The statechart.
 * @returns The view.
 */
export function chartView(chart: StatechartJson): ChartView {
  const root = chart.states[0];
  if (root === undefined || root.parent !== null) {
    throw new TypeError(`Cannot draw statechart "${chart.id}": the first state must be the root`);
  }
  const states = new Map(chart.states.map((state) => [state.path, state]));
  const children = new Map<string, StatechartState[]>();
  for (const state of chart.states) {
    if (state.parent === null) continue;
    const list = children.get(state.parent) ?? [];
    list.push(state);
    children.set(state.parent, list);
  }
  const outgoing = new Map<string, StatechartTransition[]>();
  for (const transition of chart.transitions) {
    const list = outgoing.get(transition.source) ?? [];
    list.push(transition);
    outgoing.set(transition.source, list);
  }
  const titles = new Map<string, string>();
  const top = children.get(root.path) ?? [];
  const numbered = top.filter((state) => state.type === "compound").length > 1;
  let phase = 0;
  for (const state of top) {
    if (numbered && !isFailedState(state)) {
      phase += 1;
      titles.set(state.path, `${phase} · ${state.key}`);
    } else {
      titles.set(state.path, state.key);
    }
  }
  return { chart, root, states, children, outgoing, titles };
}

/**
 * Tells whether a state is the machine's failure state (a final state named `failed`).
 *
 * @param state The state.
 * @returns `true` for `failed`.
 */
export function isFailedState(state: StatechartState): boolean {
  return state.type === "final" && state.key === "failed";
}

/**
 * Tells whether a state is a pure choice: atomic, no entry or exit actions,
 * and only guarded `always` transitions.
 *
 * @param view The view.
 * @param state The state.
 * @returns `true` for a choice pseudo-state.
 */
export function isChoice(view: ChartView, state: StatechartState): boolean {
  if (state.type !== "atomic" || state.entry.length > 0 || state.exit.length > 0) return false;
  const outgoing = view.outgoing.get(state.path) ?? [];
  return outgoing.length > 0 &&
    outgoing.every((transition) => transition.trigger === "always" && transition.guard !== null);
}

/**
 * Tells whether a transition fails the machine.
 *
 * @param transition The transition.
 * @returns `true` when it records a failure.
 */
export function isFailure(transition: StatechartTransition): boolean {
  return transition.failure !== null;
}

/**
 * The trigger in words: `peer.beginMetaExchange`, `after phaseTimeout`, `done`, or `""` for `always`.
 *
 * @param transition The transition.
 * @returns The wording.
 */
export function triggerText(transition: StatechartTransition): string {
  switch (transition.trigger) {
    case "event":
      return transition.event ?? "";
    case "after":
      return `after ${transition.delay ?? "?"}`;
    case "done":
      return "done";
    case "always":
      return "";
  }
}

/**
 * An action in words: `installKeys(stage=primary)`.
 *
 * @param action The action.
 * @returns The wording.
 */
export function actionText(action: StatechartAction): string {
  if (action.params === null) return action.type;
  const params = Object.entries(action.params).map(([key, value]) => `${key}=${String(value)}`);
  return `${action.type}(${params.join(", ")})`;
}

/**
 * The actions worth printing on a transition: everything except those that
 * send a message (shown as `⇢ kind`) and the failure bookkeeping (shown as
 * the reason code).
 *
 * @param transition The transition.
 * @returns The wordings, in order.
 */
export function otherActionTexts(transition: StatechartTransition): string[] {
  return transition.actions
    .filter((action) => action.sends === null && action.type !== transition.failure?.action)
    .map(actionText);
}

/**
 * The reason code in words: the code, or where it comes from.
 *
 * @param transition A failure transition.
 * @returns `ERR_TIMEOUT`, or `code from event` / `code from verdict`-style wording.
 */
export function reasonText(transition: StatechartTransition): string {
  const failure = transition.failure;
  if (failure === null) return "";
  if (failure.code !== null) return failure.code;
  const origin = failure.action.replace(/^failWith/, "").replace(/Code$/, "");
  const words = origin.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words === "" ? "code from event" : `code from ${words}`;
}

/**
 * Tells whether a transition only ignores its event: no target, no actions.
 * Diagrams list these inside the state instead of drawing a loop.
 *
 * @param transition The transition.
 * @returns `true` for an ignore rule.
 */
export function isIgnore(transition: StatechartTransition): boolean {
  return transition.targets.length === 0 && transition.actions.length === 0;
}

/**
 * Trigger and guard in words: `peer.endMetaExchange [isChoiceNotOffered]`.
 *
 * @param transition The transition.
 * @returns The wording, possibly empty.
 */
export function whenText(transition: StatechartTransition): string {
  const trigger = triggerText(transition);
  const guard = transition.guard === null ? "" : `[${transition.guard}]`;
  return [trigger, guard].filter((part) => part !== "").join(" ");
}

/**
 * The search both explorations share (`explore.ts` over the handshake,
 * `explore_ready.ts` past ready): breadth-first over joint states, each
 * identified by a canonical key, with the invariants' tally, the state and
 * transition counts, a bound on the states kept, and for every violation
 * the path of move labels that leads to it.
 *
 * What a joint state is, which moves it has and what each invariant reads
 * belong to the exploration; the search only decides the order of visits,
 * when a state is new, and what counts as an end:
 *
 * - a state with no move is terminal: its outcome label is counted;
 * - after the search, a cycle in the explored graph (a run that may go on
 *   forever) and a search cut short by `maxStates` both violate the
 *   exploration's "every run ends" invariant.
 *
 * @module
 */

import type { InvariantResult, ScenarioReport } from "./explore_report.ts";

/** Per invariant: how often it was checked, and its first five violations. */
export class Tally {
  readonly names: readonly string[];
  readonly checked: number[];
  readonly violations: string[][];

  /** @param names The invariants' names, numbered from 1. */
  constructor(names: readonly string[]) {
    this.names = names;
    this.checked = names.map(() => 0);
    this.violations = names.map(() => []);
  }

  /**
   * Counts one check of an invariant, and keeps its detail if it failed.
   *
   * @param invariant The invariant's number (from 1).
   * @param ok Whether it held.
   * @param detail The violation's description, built only when it is kept.
   */
  check(invariant: number, ok: boolean, detail: () => string): void {
    this.checked[invariant - 1]!++;
    if (!ok && this.violations[invariant - 1]!.length < 5) {
      this.violations[invariant - 1]!.push(detail());
    }
  }

  /** @returns Each invariant's verdict, in the order of the names. */
  results(): InvariantResult[] {
    return this.names.map((name, i) => ({
      name,
      holds: this.violations[i]!.length === 0,
      checked: this.checked[i]!,
      violations: this.violations[i]!,
    }));
  }
}

/** What one step observed, for the invariants checked per step. */
export interface StepLog {
  violations: { invariant: number; detail: string }[];
}

/** One move from a joint state: a label for paths, and its effect on a copy of the state. */
export interface SearchMove<S> {
  readonly label: string;
  readonly apply: (state: S, log: StepLog) => void;
}

/** An exploration's joint states as the search sees them. */
export interface StateSpace<S> {
  /** The first state (already past both sides' initial steps). */
  readonly initial: S;
  /** What the initial steps observed: each violation counts as a failed check. */
  readonly initialLog: StepLog;
  /** The key that identifies a state: equal keys, same future. */
  readonly keyOf: (state: S) => string;
  /** A copy to apply a move to. */
  readonly clone: (state: S) => S;
  /** Every move available from a state; none makes it terminal. */
  readonly moves: (state: S) => readonly SearchMove<S>[];
  /** Tidies a state after a move, before it is keyed (for instance drops what is never read). */
  readonly settle: (state: S) => void;
  /** Checks the per-state invariants of a state about to be expanded. */
  readonly checkState: (state: S, path: () => string) => void;
  /** Checks the end-state invariants of a terminal state and returns its outcome label. */
  readonly checkTerminal: (state: S, path: () => string) => string;
  /** The invariants checked against each step's log, in this order. */
  readonly stepInvariants: readonly number[];
  /** The "every run ends" invariant: no cycle, not cut short. */
  readonly endsInvariant: number;
}

/** What a search counted. */
export interface SearchFigures {
  /** Joint states visited. */
  readonly states: number;
  /** Transitions taken (edges of the explored graph, repeats of a state included). */
  readonly transitions: number;
  /** Terminal states, by outcome label. */
  readonly terminals: Record<string, number>;
  /** Whether `maxStates` cut the search short. */
  readonly truncated: boolean;
}

/**
 * Visits every state reachable from `space.initial`, breadth first, and
 * checks the invariants into `tally`.
 *
 * Expanded states are dropped (only the edges and each state's parent
 * stay): memory holds the frontier and the keys.
 *
 * @param space The states, their moves and their invariants.
 * @param tally Where the checks go.
 * @param maxStates The number of states after which new ones are not kept.
 * @returns The counts.
 */
export function searchStates<S>(
  space: StateSpace<S>,
  tally: Tally,
  maxStates: number,
): SearchFigures {
  const nodes: (S | undefined)[] = [space.initial];
  const parents: { parent: number; label: string }[] = [{ parent: -1, label: "start" }];
  const edges: number[][] = [];
  const index = new Map<string, number>([[space.keyOf(space.initial), 0]]);
  const pathTo = (node: number): string => {
    const labels: string[] = [];
    for (let at = node; at > 0; at = parents[at]!.parent) labels.push(parents[at]!.label);
    return labels.reverse().join(" → ") || "start";
  };
  for (const violation of space.initialLog.violations) {
    tally.check(violation.invariant, false, () => `${violation.detail} at the start`);
  }
  const terminals: Record<string, number> = {};
  let transitions = 0;
  let truncated = false;
  for (let at = 0; at < nodes.length; at++) {
    const current = nodes[at]!;
    nodes[at] = undefined;
    const path = (): string => pathTo(at);
    space.checkState(current, path);
    const available = space.moves(current);
    edges[at] = [];
    if (available.length === 0) {
      const outcome = space.checkTerminal(current, path);
      terminals[outcome] = (terminals[outcome] ?? 0) + 1;
      continue;
    }
    for (const move of available) {
      const next = space.clone(current);
      const log: StepLog = { violations: [] };
      move.apply(next, log);
      space.settle(next);
      transitions++;
      for (const invariant of space.stepInvariants) {
        const mine = log.violations.filter((v) => v.invariant === invariant);
        tally.check(
          invariant,
          mine.length === 0,
          () => `${mine[0]!.detail}: ${pathTo(at)} → ${move.label}`,
        );
      }
      const key = space.keyOf(next);
      let target = index.get(key);
      if (target === undefined) {
        if (nodes.length >= maxStates) {
          truncated = true;
          continue;
        }
        target = nodes.length;
        index.set(key, target);
        nodes.push(next);
        parents.push({ parent: at, label: move.label });
      }
      edges[at]!.push(target);
    }
  }
  const cycle = findCycle(edges);
  tally.check(space.endsInvariant, cycle === undefined, () => `a cycle through ${pathTo(cycle!)}`);
  tally.check(
    space.endsInvariant,
    !truncated,
    () => `more than ${maxStates} states: not explored to the end`,
  );
  return { states: nodes.length, transitions, terminals, truncated };
}

/**
 * One scenario's report from its search.
 *
 * @param scenario The scenario's name, transport and budget as reported.
 * @param figures What the search counted.
 * @param tally The scenario's invariant checks.
 * @param started When the scenario started (`performance.now()`).
 * @returns The report.
 */
export function scenarioReport(
  scenario: Pick<ScenarioReport, "name" | "transport" | "budget">,
  figures: SearchFigures,
  tally: Tally,
  started: number,
): ScenarioReport {
  return {
    name: scenario.name,
    transport: scenario.transport,
    budget: scenario.budget,
    ...figures,
    durationMs: Math.round(performance.now() - started),
    invariants: tally.results(),
  };
}

/** A node on a cycle of the graph, or `undefined` (iterative DFS with colours). */
export function findCycle(edges: readonly number[][]): number | undefined {
  const colour = new Uint8Array(edges.length);
  for (let root = 0; root < edges.length; root++) {
    if (colour[root] !== 0) continue;
    const stack: [number, number][] = [[root, 0]];
    colour[root] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, next] = top;
      const out = edges[node] ?? [];
      if (next < out.length) {
        top[1]++;
        const child = out[next]!;
        if (colour[child] === 1) return child;
        if (colour[child] === 0) {
          colour[child] = 1;
          stack.push([child, 0]);
        }
      } else {
        colour[node] = 2;
        stack.pop();
      }
    }
  }
  return undefined;
}

/**
 * The depth bound of an exploration from an environment variable.
 *
 * @param name The variable (`QGATE_EXPLORE_DEPTH`, `QGATE_EXPLORE_READY_DEPTH`).
 * @returns Its value, or `undefined` when it is unset, empty or not readable.
 * @throws {RangeError} If it is set to anything but a non-negative integer.
 */
export function envDepth(name: string): number | undefined {
  let text: string | undefined;
  try {
    text = Deno.env.get(name);
  } catch {
    return undefined;
  }
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot explore: "${name}" must be a non-negative integer, got ${text}`,
    );
  }
  return value;
}

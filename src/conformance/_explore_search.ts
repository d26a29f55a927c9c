/**
 * The breadth-first search over joint states of one scenario, with state
 * hashing, the terminal states, and a cycle check over the explored graph.
 *
 * @module
 */

import { type AnyStateMachine, initialTransition } from "xstate";
import type { Role } from "../../machines/_setup.ts";
import { type ExecutableAction, otherRole, ROLES } from "../viz/_standin.ts";
import type { ScenarioReport } from "./explore_report.ts";
import type { ExplorationScenario } from "./explore_scenarios.ts";
import { directionFrom } from "./_relay.ts";
import {
  clone,
  freshRuntime,
  input,
  type Joint,
  keyOf,
  type Side,
  type StepLog,
  type World,
} from "./_explore_state.ts";
import { afterStep } from "./_explore_runtime.ts";
import { moves } from "./_explore_adversary.ts";
import { checkState, Tally } from "./_explore_invariants.ts";

/**
 * Explores one scenario.
 *
 * @param scenario The configuration.
 * @param options The bounds.
 * @returns The scenario's figures and invariant results.
 */
export function exploreScenario(
  machine: AnyStateMachine,
  scenario: ExplorationScenario,
  options: { budget: number; retransmits: number; maxStates: number },
): ScenarioReport {
  const started = performance.now();
  const world: World = {
    scenario,
    datagram: scenario.transport === "datagram",
    retransmits: options.retransmits,
    messages: new Map(),
    machine,
  };
  const tally = new Tally();
  const initialLog: StepLog = { violations: [] };
  const joint: Joint = {
    sides: {} as Record<Role, Side>,
    channel: { i2r: [], r2i: [] },
    budget: options.budget,
    tampered: false,
  };
  for (const role of ROLES) {
    const [snapshot, actions] = initialTransition(machine, input(world, role));
    joint.sides[role] = { snapshot, runtime: freshRuntime(world, role) };
    afterStep(world, joint, role, actions as ExecutableAction[], initialLog, true);
  }
  const index = new Map<string, number>();
  // Expanded nodes are dropped (only their edges and parents stay): memory holds the frontier.
  const nodes: (Joint | undefined)[] = [joint];
  const parents: { parent: number; label: string }[] = [{ parent: -1, label: "start" }];
  const edges: number[][] = [];
  index.set(keyOf(joint), 0);
  const pathTo = (node: number): string => {
    const labels: string[] = [];
    for (let at = node; at > 0; at = parents[at]!.parent) labels.push(parents[at]!.label);
    return labels.reverse().join(" → ") || "start";
  };
  const terminals: Record<string, number> = {};
  let transitions = 0;
  let truncated = false;
  for (let at = 0; at < nodes.length; at++) {
    const current = nodes[at]!;
    nodes[at] = undefined;
    checkState(current, tally, () => pathTo(at));
    const available = moves(world, current, options);
    edges[at] = [];
    if (available.length === 0) {
      const outcome = ROLES.map((role) => current.sides[role].runtime.outcome ?? "waiting").join(
        "/",
      );
      terminals[outcome] = (terminals[outcome] ?? 0) + 1;
      tally.check(
        4,
        outcome === "ready/ready" || outcome.includes("failed"),
        () => `deadlock (${outcome}) after ${pathTo(at)}`,
      );
      continue;
    }
    for (const move of available) {
      const next = clone(current);
      const log: StepLog = { violations: [] };
      move.apply(next, log);
      // Records toward a side that has closed its transport are never read.
      for (const role of ROLES) {
        if (next.sides[role].runtime.closed) next.channel[directionFrom(otherRole(role))] = [];
      }
      transitions++;
      for (const invariant of [2, 3, 4, 5]) {
        const mine = log.violations.filter((v) => v.invariant === invariant);
        tally.check(
          invariant,
          mine.length === 0,
          () => `${mine[0]!.detail}: ${pathTo(at)} → ${move.label}`,
        );
      }
      const key = keyOf(next);
      let target = index.get(key);
      if (target === undefined) {
        if (nodes.length >= options.maxStates) {
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
  tally.check(4, cycle === undefined, () => `a cycle through ${pathTo(cycle!)}`);
  tally.check(
    4,
    !truncated,
    () => `more than ${options.maxStates} states: not explored to the end`,
  );
  return {
    name: scenario.name,
    transport: scenario.transport,
    budget: options.budget,
    states: nodes.length,
    transitions,
    terminals,
    truncated,
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

/**
 * One scenario of the handshake exploration (see `explore.ts`): its first
 * joint state, and its moves, step checks and end states handed to the
 * shared search (`_explore_graph.ts`).
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
  cloneJoint,
  freshRuntime,
  input,
  type Joint,
  keyOf,
  type Side,
  type World,
} from "./_explore_state.ts";
import { afterStep } from "./_explore_runtime.ts";
import { moves } from "./_explore_adversary.ts";
import { checkState, INVARIANTS } from "./_explore_invariants.ts";
import { scenarioReport, searchStates, type StepLog, Tally } from "./_explore_graph.ts";

/**
 * Explores one scenario.
 *
 * @param machine The handshake statechart of the scenario's transport.
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
  const tally = new Tally(INVARIANTS);
  const initialLog: StepLog = { violations: [] };
  const initial: Joint = {
    sides: {} as Record<Role, Side>,
    channel: { i2r: [], r2i: [] },
    budget: options.budget,
    tampered: false,
  };
  for (const role of ROLES) {
    const [snapshot, actions] = initialTransition(machine, input(world, role));
    initial.sides[role] = { snapshot, runtime: freshRuntime(world, role) };
    afterStep(world, initial, role, actions as ExecutableAction[], initialLog, true);
  }
  const figures = searchStates<Joint>(
    {
      initial,
      initialLog,
      keyOf,
      clone: cloneJoint,
      moves: (joint) => moves(world, joint, options),
      settle: (joint) => {
        // Records toward a side that has closed its transport are never read.
        for (const role of ROLES) {
          if (joint.sides[role].runtime.closed) joint.channel[directionFrom(otherRole(role))] = [];
        }
      },
      checkState: (joint, path) => checkState(joint, tally, path),
      checkTerminal: (joint, path) => {
        const outcome = ROLES.map((role) => joint.sides[role].runtime.outcome ?? "waiting").join(
          "/",
        );
        tally.check(
          4,
          outcome === "ready/ready" || outcome.includes("failed"),
          () => `deadlock (${outcome}) after ${path()}`,
        );
        return outcome;
      },
      stepInvariants: [2, 3, 4, 5],
      endsInvariant: 4,
    },
    tally,
    options.maxStates,
  );
  return scenarioReport({ ...scenario, budget: options.budget }, figures, tally, started);
}

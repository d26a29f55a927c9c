/**
 * Exhaustive, bounded exploration of both peers' ready statecharts
 * (`machines/ready.ts`): the key-update cycle with both sides starting,
 * application data, and the close handshake, over a stream or over
 * datagrams that the channel may lose, duplicate and reorder.
 *
 * {@linkcode exploreReady} starts both sides in the ready phase at epoch 2
 * (where the handshake leaves them) and visits every reachable joint state
 * by breadth-first search with state hashing, as {@linkcode exploreHandshake}
 * does for the handshake. The stand-in runtime executes the commands as the
 * session's ready driver does: in order, one crypto step at a time (a
 * `crypto` move feeds its result back, and the side reads no record
 * meanwhile), switching send and receive keys where `keys.activateSend` and
 * `keys.activateReceive` say. A record carries its epoch and counter; a
 * stream receiver accepts only its current epoch and next counter (else
 * `transport.invalidRecord`), a datagram receiver opens the current and the
 * previous epoch once per (epoch, counter) and drops the rest; a datagram
 * side whose session is settled has wiped its keys and reports arrivals as
 * `transport.datagram`.
 *
 * The moves: each side may request a key update (up to the scenario's
 * count), send application data, and ask to close; records are delivered in
 * order; on datagrams, within the budget, any record in flight may be
 * dropped, duplicated or delivered ahead of the others; retransmission
 * timers fire up to a bound per side; the key-update and close deadlines
 * fire whenever they are armed (a scenario may instead let them fire only
 * when nothing else can happen); the key-update interval timer fires only
 * when nothing else can happen (a requested update stands for it
 * otherwise), which is how a datagram side whose peer is gone learns it.
 *
 * Invariants:
 *
 * 1. both key-update regions idle (and no crypto step under way) ⇒ both
 *    sides' statechart epochs, send epochs and receive epochs are equal,
 *    and each side reported every update up to that epoch done
 *    (`keyUpdate.done`), once and in order;
 * 2. no (key, nonce) pair is used twice: a send key is switched on only for
 *    the next epoch and only before it sealed anything, counters only grow
 *    within a key, and nothing is sealed under an epoch whose key is gone
 *    (a repeated Close is the same datagram, not a new seal);
 * 3. no application message is delivered twice, and on a stream none out
 *    of order or after a gap;
 * 4. every run ends: in every terminal joint state both sides ended, each
 *    closed or failed with a code, and both closed (without a code) when
 *    the channel lost, duplicated and reordered nothing and no deadline
 *    fired; the graph has no cycle and the search was not cut short;
 * 5. on a stream, a side that ended closed delivered every message its peer
 *    sent (the Close proves nothing was dropped).
 *
 * @module
 */

import type { AnyStateMachine } from "xstate";
import { datagramReadyMachine, readyMachine } from "../../machines/ready.ts";
import {
  type ExplorationReport,
  type ScenarioReport,
  summarizeExploration,
} from "./explore_report.ts";
import { envDepth, scenarioReport, searchStates, type StepLog, Tally } from "./_explore_graph.ts";
import { cloneJoint } from "./_explore_state.ts";
import {
  endedWell,
  epochsAgree,
  initialJoint,
  outcomeOf,
  READY_INVARIANTS,
  type ReadyJoint,
  readyKeyOf,
  readyMoves,
  type ReadyScenario,
  readyWorld,
  receivedEverything,
} from "./_explore_ready.ts";
import { directionFrom } from "./_relay.ts";
import { otherRole, ROLES } from "../viz/_standin.ts";

export type { ReadyScenario } from "./_explore_ready.ts";
export { READY_INVARIANTS } from "./_explore_ready.ts";

/** Options of {@linkcode exploreReady}. */
export interface ReadyExplorationOptions {
  /**
   * The bound: on datagrams `depth` more drops, duplicates and reorders
   * than the scenario's own budget, and `max(1, depth)` retransmissions per
   * side; from 2 on each side that starts a key update may start a second.
   * Default 0, or `QGATE_EXPLORE_READY_DEPTH`.
   */
  readonly depth?: number;
  /** The scenarios (default {@linkcode DEFAULT_READY_SCENARIOS}). */
  readonly scenarios?: readonly ReadyScenario[];
  /** Stops a scenario after this many states (default 400,000). */
  readonly maxStates?: number;
  /** Whether the key-update and close deadlines may fire (default `true`). */
  readonly deadlines?: boolean;
}

/** The default bound of {@linkcode exploreReady}. */
export const DEFAULT_READY_EXPLORATION_DEPTH = 0;

/**
 * The scenarios explored by default: both sides start a key update, send
 * data and may close, over a stream and over datagrams.
 */
export const DEFAULT_READY_SCENARIOS: readonly ReadyScenario[] = [
  {
    name: "key update from both sides, data, close from both sides",
    transport: "stream",
    updates: { initiator: 1, responder: 1 },
    data: { initiator: 1, responder: 0 },
    closers: ["initiator", "responder"],
  },
  {
    name: "key update from both sides and close over datagrams",
    transport: "datagram",
    updates: { initiator: 1, responder: 1 },
    data: { initiator: 0, responder: 0 },
    closers: ["initiator"],
    deadlines: false,
  },
  {
    name: "key update and close over datagrams that may be lost, duplicated or reordered",
    transport: "datagram",
    updates: { initiator: 1, responder: 0 },
    data: { initiator: 0, responder: 0 },
    closers: ["initiator"],
    deadlines: false,
    budget: 1,
  },
];

/**
 * Explores every reachable joint state of both peers' ready statecharts up
 * to the bound and checks the five invariants listed in the module
 * documentation.
 *
 * Pure and deterministic: no I/O, no timers, no randomness.
 *
 * @param options The bound and the scenarios; `QGATE_EXPLORE_READY_DEPTH`
 *   sets the bound when `options.depth` is not given.
 * @returns States, transitions, terminal outcomes and each invariant's result.
 * @throws {RangeError} If `QGATE_EXPLORE_READY_DEPTH` is not a non-negative integer.
 *
 * @example Exploring the ready phase over a stream
 * ```ts
 * import { DEFAULT_READY_SCENARIOS, exploreReady } from "./explore_ready.ts";
 * import assert from "node:assert/strict";
 *
 * const report = exploreReady({ depth: 0, scenarios: [DEFAULT_READY_SCENARIOS[0]!] });
 * assert.ok(report.invariants.every((invariant) => invariant.holds));
 * assert.ok((report.scenarios[0]!.terminals["closed/closed"] ?? 0) > 0);
 * ```
 */
export function exploreReady(options: ReadyExplorationOptions = {}): ExplorationReport {
  return exploreReadyStatechart({ stream: readyMachine, datagram: datagramReadyMachine }, options);
}

/**
 * {@linkcode exploreReady} over another version of the ready statechart (a
 * guard or action replaced through `machine.provide()`), to show that the
 * invariants catch a broken machine.
 *
 * @param machine A ready statechart with the same events and commands, or
 *   one per transport (the stream statechart schedules no retransmission).
 * @param options The bound and the scenarios.
 * @returns The report.
 */
export function exploreReadyStatechart(
  machine: AnyStateMachine | { stream: AnyStateMachine; datagram: AnyStateMachine },
  options: ReadyExplorationOptions = {},
): ExplorationReport {
  const machineFor = (transport: "stream" | "datagram"): AnyStateMachine =>
    "stream" in machine && "datagram" in machine
      ? (machine as { stream: AnyStateMachine; datagram: AnyStateMachine })[transport]
      : machine as AnyStateMachine;
  const started = performance.now();
  const depth = options.depth ?? envDepth("QGATE_EXPLORE_READY_DEPTH") ??
    DEFAULT_READY_EXPLORATION_DEPTH;
  const scenarios = (options.scenarios ?? DEFAULT_READY_SCENARIOS).map((scenario) =>
    exploreReadyScenario(machineFor(scenario.transport), widen(scenario, depth), {
      budget: (scenario.budget ?? 0) + depth,
      retransmits: Math.max(1, depth),
      deadlines: options.deadlines ?? scenario.deadlines ?? true,
    }, options.maxStates ?? 400_000)
  );
  return summarizeExploration(READY_INVARIANTS, scenarios, started);
}

/** From depth 2 on, each side that starts an update may start one more. */
function widen(scenario: ReadyScenario, depth: number): ReadyScenario {
  if (depth < 2) return scenario;
  return {
    ...scenario,
    updates: {
      initiator: scenario.updates.initiator + (scenario.updates.initiator > 0 ? 1 : 0),
      responder: scenario.updates.responder + (scenario.updates.responder > 0 ? 1 : 0),
    },
  };
}

function exploreReadyScenario(
  machine: AnyStateMachine,
  scenario: ReadyScenario,
  bounds: { budget: number; retransmits: number; deadlines: boolean },
  maxStates: number,
): ScenarioReport {
  const started = performance.now();
  const world = readyWorld(machine, scenario, bounds);
  const tally = new Tally(READY_INVARIANTS);
  const initialLog: StepLog = { violations: [] };
  const initial = initialJoint(world, initialLog);
  const figures = searchStates<ReadyJoint>(
    {
      initial,
      initialLog,
      keyOf: readyKeyOf,
      clone: cloneJoint,
      moves: (joint) => readyMoves(world, joint),
      settle: (joint) => {
        // Records toward a side that has ended are never read.
        for (const role of ROLES) {
          if (joint.sides[role].runtime.ended !== undefined) {
            joint.channel[directionFrom(otherRole(role))] = [];
          }
        }
      },
      checkState: (joint, path) => {
        tally.check(1, epochsAgree(joint), () => `epochs differ while idle after ${path()}`);
      },
      checkTerminal: (joint, path) => {
        const outcome = outcomeOf(joint);
        tally.check(4, endedWell(joint), () => `stuck (${outcome}) after ${path()}`);
        tally.check(
          5,
          receivedEverything(world, joint),
          () => `closed without the peer's data after ${path()}`,
        );
        return outcome;
      },
      stepInvariants: [2, 3],
      endsInvariant: 4,
    },
    tally,
    maxStates,
  );
  const budget = world.datagram ? bounds.budget : 0;
  return scenarioReport({ ...scenario, budget }, figures, tally, started);
}

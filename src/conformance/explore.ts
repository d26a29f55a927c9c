/**
 * Exhaustive, bounded exploration of both peers' handshake statecharts over
 * an adversarial channel.
 *
 * {@linkcode exploreHandshake} runs the real `handshake` statechart of each
 * role through pure `transition()` steps, with a stand-in runtime and a
 * channel the adversary controls, and visits every reachable joint state up
 * to a bound by breadth-first search with state hashing (each side's
 * snapshot value and public context, the stand-in runtime's state, the
 * messages in flight and the adversary's remaining budget).
 *
 * **The stand-in crypto is not cryptography.** It is a cheap deterministic
 * model that keeps exactly the dependencies the protocol relies on:
 *
 * - a key share is a hash of (role, slot); a shared secret is a hash of the
 *   offer and the answer as this side saw them;
 * - the transcript is a running hash of every handshake message as this side
 *   saw it (sent or received);
 * - the chaining key absorbs each secret; the keys of an epoch are a hash of
 *   the chaining key, the direction, the epoch and the transcript at install
 *   time; epoch 0's key is a hash of the direction's salt and the GSS;
 * - a record carries the id of the key and the counter it was sealed with;
 *   a stream receiver accepts it only under its current key and next counter
 *   (else `transport.invalidRecord` with `ERR_DECRYPT_FAILED`), a datagram
 *   receiver drops it unless it holds that epoch's key and has not seen that
 *   counter;
 * - a proof is a hash of the signer's identity, role and transcript; the
 *   verifier recomputes it over its own transcript and asks its access list.
 *
 * The adversary knows every epoch-0 key unless a GSS is set (it cannot
 * derive later keys), and while the receiver is still in epoch 0 it can
 * seal one of its own. Within its budget it drops, duplicates, reorders,
 * injects a well-sealed epoch-0 message of any kind (a wrong-phase message,
 * a second offer) or replaces one with a modified meta exchange or a
 * substituted key share. Any pending timer of either side may fire at any
 * time (an over-approximation of real time); on datagrams, retransmissions
 * are bounded too.
 *
 * Invariants checked in every visited state or step:
 *
 * 1. both ready ⇒ the same keys in both directions, the same exporter and
 *    the same negotiated suite;
 * 2. no application data (extender data, extender update, close) is sent
 *    before ready, and none received before ready is accepted (a stream side
 *    fails, a datagram side drops it);
 * 3. requireAuthentication ⇒ no ready without a verified proof from the peer;
 * 4. every run ends: each terminal joint state is ready/ready or has a
 *    failed side (no deadlock), every side that has not ended keeps its
 *    handshake deadline armed, which is never re-armed (so no cycle
 *    runs forever), the explored graph has no cycle and the exploration
 *    was not cut short by `maxStates`;
 * 5. no nonce reuse: a send key is never installed twice, and within a key
 *    counters only increase;
 * 6. once a modified or forged meta exchange was accepted, neither side
 *    reaches ready.
 *
 * @module
 */

import type { AnyStateMachine } from "xstate";
import { datagramHandshakeMachine, handshakeMachine } from "../../machines/handshake.ts";
import { type ExplorationReport, summarizeExploration } from "./explore_report.ts";
import { DEFAULT_EXPLORATION_SCENARIOS, type ExplorationScenario } from "./explore_scenarios.ts";
import { INVARIANTS } from "./_explore_invariants.ts";
import { exploreScenario } from "./_explore_search.ts";
import { envDepth } from "./_explore_graph.ts";

/** Options of {@linkcode exploreHandshake}. */
export interface ExplorationOptions {
  /**
   * The bound: the adversary's budget per run on streams (how many drops,
   * duplicates, reorders, injections and replacements in total); datagram
   * scenarios get a budget of `depth - 2` and `depth <= 3 ? 1 : 2`
   * retransmissions per side. Default 2, or `QGATE_EXPLORE_DEPTH` (3 takes a
   * few minutes).
   */
  readonly depth?: number;
  /** The scenarios (default {@linkcode DEFAULT_EXPLORATION_SCENARIOS}). */
  readonly scenarios?: readonly ExplorationScenario[];
  /** Stops a scenario after this many states (default 400,000). */
  readonly maxStates?: number;
}

/**
 * The default bound of {@linkcode exploreHandshake} (see {@linkcode ExplorationOptions.depth}).
 *
 * @example Raising the bound for a longer run
 * ```ts
 * import { DEFAULT_EXPLORATION_DEPTH } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * // QGATE_EXPLORE_DEPTH=3 deno task conformance --explore
 * assert.equal(DEFAULT_EXPLORATION_DEPTH, 2);
 * ```
 */
export const DEFAULT_EXPLORATION_DEPTH = 2;

/**
 * Explores every reachable joint state of both peers' handshake statecharts
 * over an adversarial channel, up to the adversary's budget, and checks the
 * six invariants listed in the module documentation.
 *
 * Pure and deterministic: no I/O, no timers, no randomness. The stand-in
 * crypto is a model (see the module documentation), not cryptography.
 *
 * @param options The bound and the scenarios; `QGATE_EXPLORE_DEPTH` sets the
 *   bound when `options.depth` is not given.
 * @returns States, transitions and each invariant's result, per scenario and overall.
 * @throws {RangeError} If `QGATE_EXPLORE_DEPTH` is not a non-negative integer.
 *
 * @example Exploring the anonymous handshake without an adversary
 * ```ts
 * import { DEFAULT_EXPLORATION_SCENARIOS, exploreHandshake } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const report = exploreHandshake({ depth: 0, scenarios: [DEFAULT_EXPLORATION_SCENARIOS[0]!] });
 * assert.ok(report.states > 10);
 * assert.ok(report.invariants.every((invariant) => invariant.holds));
 * assert.ok((report.scenarios[0]!.terminals["ready/ready"] ?? 0) > 0);
 * ```
 */
export function exploreHandshake(options: ExplorationOptions = {}): ExplorationReport {
  return exploreStatechart(
    { stream: handshakeMachine, datagram: datagramHandshakeMachine },
    options,
  );
}

/**
 * {@linkcode exploreHandshake} over another version of the handshake
 * statechart (for instance one with a guard replaced through
 * `machine.provide()`), to show that the invariants catch a broken machine.
 *
 * @param machine A handshake statechart with the same events and commands,
 *   or one per transport (`{ stream, datagram }`); a single one serves both.
 * @param options The bound and the scenarios.
 * @returns The report.
 */
export function exploreStatechart(
  machine: AnyStateMachine | {
    readonly stream: AnyStateMachine;
    readonly datagram: AnyStateMachine;
  },
  options: ExplorationOptions = {},
): ExplorationReport {
  const started = performance.now();
  const depth = options.depth ?? envDepth("QGATE_EXPLORE_DEPTH") ?? DEFAULT_EXPLORATION_DEPTH;
  const variants = "stream" in machine ? machine : { stream: machine, datagram: machine };
  const scenarios = (options.scenarios ?? DEFAULT_EXPLORATION_SCENARIOS).map((scenario) =>
    exploreScenario(variants[scenario.transport ?? "stream"], scenario, {
      budget: scenario.transport === "datagram" ? Math.max(0, depth - 2) : depth,
      retransmits: depth <= 3 ? 1 : 2,
      maxStates: options.maxStates ?? 400_000,
    })
  );
  return summarizeExploration(INVARIANTS, scenarios, started);
}

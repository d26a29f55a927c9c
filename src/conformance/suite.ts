/**
 * The conformance suite: {@linkcode runConformance} runs an implementation
 * under test (through a {@linkcode ConformanceAdapter}) against qgate's
 * reference peer, in both roles, and checks every outcome and reason code
 * PROTOCOL.md prescribes.
 *
 * Categories:
 *
 * - `positive`: algorithm combinations (a covering sample by default, the
 *   full matrix with `long`), each authentication mode and signature
 *   scheme, with and without a Global Shared Secret. Both sides must reach
 *   ready with the suite the negotiation rule gives, the same exporter
 *   output and the right peer identity; the close exchange either side
 *   starts (`close/…`), which must end both sessions without a code; an
 *   honest handshake over datagrams (`datagram/handshake`); and a peer whose
 *   small `maxRecords` makes it update keys every few records
 *   (`ready/peer-with-small-max-records`).
 * - `negative`: the record-level attack catalogue (tampering, framing,
 *   truncation, drops, duplicates, replays, wrong-phase messages, invalid key
 *   shares, forged proofs), each with the exact code for the side that meets
 *   it and for the other side; a close that cannot complete (the peer's
 *   Close never arrives, a record lost before it), which must end with a
 *   code; datagrams of past epochs, forged or replayed, which must be dropped,
 *   and a small opening that must not be answered with more than 3x its size
 *   (`datagram/…`); and key updates started faster than the rate limit
 *   (`ready/key-update-rate-limit`).
 * - `mitm`: downgrades, key substitution and modified meta exchanges by a
 *   relay, and a man in the middle with her own or a borrowed identity.
 * - `policy`: configurations that must fail (nothing in common,
 *   authentication required but impossible, unknown or denied peers, GSS
 *   mismatch) and one that must succeed unauthenticated.
 * - `property`: fast-check properties over delivery orderings and
 *   chunkings, noise, random attacks from the catalogue, length and bit
 *   flips, truncations at any byte and replays of earlier records. Each row
 *   reports its seed, and a failure its path, to reproduce it.
 *
 * A case that needs what the adapter does not offer (datagram transports)
 * is reported "not run", with the reason, and never counted as passed.
 *
 * @module
 */

import type { ConformanceAdapter, ConformanceRole } from "./adapter.ts";
import {
  CONFORMANCE_CATEGORIES,
  type ConformanceCategory,
  type ConformanceReport,
  type ConformanceResult,
} from "./suite_report.ts";
import type { Case, Context } from "./_case.ts";
import { ROLES } from "../viz/_standin.ts";
import { makeIdentities } from "./_fixtures.ts";
import type { Finding, PropertyFinding } from "./_findings.ts";
import { positiveCases } from "./_positive_cases.ts";
import { closeCases } from "./_close_cases.ts";
import { policyCases } from "./_policy_cases.ts";
import { mutationCases } from "./_mutation_cases.ts";
import { impersonationCases } from "./_impersonation_cases.ts";
import { propertyCases } from "./_property_cases.ts";
import { messageCases } from "./_message_cases.ts";
import { deliveryCases } from "./_delivery_cases.ts";
import { revocationCases } from "./_revocation_cases.ts";
import { datagramCases } from "./_datagram_cases.ts";
import { readyCases } from "./_ready_cases.ts";

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** The long mode: every algorithm combination and more property runs (default `false`). */
  readonly long?: boolean;
  /** Algorithm combinations outside the long mode (default 8, each algorithm at least once). */
  readonly sample?: number;
  /** Which categories to run (default all). */
  readonly categories?: readonly ConformanceCategory[];
  /** Which roles the implementation plays (default both). */
  readonly roles?: readonly ConformanceRole[];
  /** Runs only the cases whose id starts with this. */
  readonly only?: string;
  /** The fast-check seed of the properties (default a fixed number). */
  readonly seed?: number;
  /** Replays one property run: the path fast-check reported with the seed. */
  readonly path?: string;
  /** Runs per property (default 12, or 100 in the long mode). */
  readonly numRuns?: number;
  /** The implementation's handshake timeouts where a case does not time out on purpose. */
  readonly timeouts?: { readonly phase: number; readonly handshake: number };
  /** The shortened phase timeout of cases that end in a timeout (default 300 ms). */
  readonly shortPhase?: number;
  /** Real-time budget of one run, in ms (default 15,000). */
  readonly caseDeadline?: number;
  /** Called after each case, for progress output. */
  readonly onResult?: (result: ConformanceResult) => void;
}

/**
 * The default fast-check seed of the properties.
 *
 * @example Reproducing a property run
 * ```ts
 * import { DEFAULT_CONFORMANCE_SEED } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * // deno task conformance --only property/noise-anywhere --seed 1363624276
 * assert.equal(DEFAULT_CONFORMANCE_SEED, 1363624276);
 * ```
 */
export const DEFAULT_CONFORMANCE_SEED = 0x5147_4154;

/**
 * Runs the conformance suite against an implementation.
 *
 * Every case runs the implementation against qgate's reference peer over an
 * in-memory pipe through an adversarial relay; nothing touches the network.
 * A case passes when both sides end as PROTOCOL.md prescribes:
 * the outcome, and for a failure the exact reason code (and the phase, when
 * the adapter reports one).
 *
 * @param adapter Starts endpoints of the implementation under test.
 * @param options Mode, categories, roles, seed and budgets.
 * @returns The report: one row per case and role (one per property).
 *
 * @example A quick subset against qgate itself
 * ```ts
 * import {
 *   formatConformanceTable,
 *   qgateAdapter,
 *   runConformance,
 * } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const report = await runConformance(qgateAdapter, {
 *   categories: ["policy"],
 *   roles: ["initiator"],
 * });
 * assert.equal(report.failed, 0);
 * assert.match(formatConformanceTable(report), /policy\/nothing-in-common/);
 * ```
 */
export async function runConformance(
  adapter: ConformanceAdapter,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const long = options.long ?? false;
  const roles = options.roles ?? ROLES;
  if (roles.length === 0) throw new RangeError(`Cannot run conformance: "roles" must not be empty`);
  const context: Context = {
    adapter,
    identities: await makeIdentities(),
    timeouts: options.timeouts ?? { phase: 5_000, handshake: 10_000 },
    shortPhase: options.shortPhase ?? 300,
    deadline: options.caseDeadline ?? 15_000,
    seed: options.seed ?? DEFAULT_CONFORMANCE_SEED,
    numRuns: options.numRuns ?? (long ? 100 : 12),
    path: options.path,
    roles,
    foreign: undefined,
  };
  const categories = options.categories ?? CONFORMANCE_CATEGORIES;
  const all: Case[] = [
    ...positiveCases(context, long, options.sample ?? 8),
    ...policyCases(context),
    ...mutationCases(context),
    ...impersonationCases(context),
    ...messageCases(context),
    ...propertyCases(context),
    ...closeCases(context),
    ...deliveryCases(context),
    ...revocationCases(context),
    ...datagramCases(context),
    ...readyCases(context),
  ].filter((item) =>
    categories.includes(item.category) &&
    (options.only === undefined || item.id.startsWith(options.only))
  );
  const order = (category: ConformanceCategory) => CONFORMANCE_CATEGORIES.indexOf(category);
  all.sort((a, b) => order(a.category) - order(b.category));
  const results: ConformanceResult[] = [];
  for (const item of all) {
    const begun = performance.now();
    let finding: Finding | PropertyFinding;
    try {
      finding = await item.run();
    } catch (error) {
      finding = {
        expected: "a result",
        actual: "error",
        problems: [`the case threw: ${error instanceof Error ? error.message : String(error)}`],
      };
    }
    const status = finding.problems.length > 0
      ? "fail"
      : finding.notRun === undefined
      ? "pass"
      : "not run";
    const detail = status === "fail"
      ? finding.problems.join("; ")
      : status === "not run"
      ? finding.notRun
      : undefined;
    const result: ConformanceResult = {
      id: item.id,
      category: item.category,
      role: item.role,
      status,
      expected: finding.expected,
      actual: status === "not run" ? "not run" : finding.actual,
      ...(detail === undefined ? {} : { detail }),
      durationMs: Math.round(performance.now() - begun),
      ...("runs" in finding
        ? {
          runs: finding.runs,
          seed: finding.seed,
          ...(finding.path === undefined ? {} : { path: finding.path }),
          ...(finding.counterexample === undefined
            ? {}
            : { counterexample: finding.counterexample }),
        }
        : {}),
    };
    results.push(result);
    options.onResult?.(result);
  }
  const count = (status: ConformanceResult["status"]): number =>
    results.filter((result) => result.status === status).length;
  return {
    implementation: adapter.name,
    mode: long ? "long" : "quick",
    seed: context.seed,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    passed: count("pass"),
    failed: count("fail"),
    notRun: count("not run"),
    results,
  };
}

/**
 * What a conformance case found: each side's outcome against what the
 * protocol prescribes, described for the report.
 *
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import type { SignatureKeyPair } from "../crypto/types.ts";
import type { NegotiatedSuite } from "../handshake_policy.ts";
import type { EndpointOutcome, HandshakePhase } from "./adapter.ts";
import type { DuelResult } from "./_duel.ts";
import type { Expectation } from "./_mutations.ts";
import { equalBytes } from "../viz/_standin.ts";
import { uuidOf } from "./_fixtures.ts";

/** An outcome for the report: `ready`, `CODE` or `CODE@phase`. */
export function describeOutcome(outcome: EndpointOutcome | undefined): string {
  if (outcome === undefined) return "no outcome";
  if (outcome.status === "ready") return "ready";
  return outcome.phase === undefined ? outcome.code : `${outcome.code}@${outcome.phase}`;
}

function describeExpectation(expectation: Expectation): string {
  if (expectation.status === "ready") return "ready";
  return expectation.phase === undefined
    ? expectation.code
    : `${expectation.code}@${expectation.phase}`;
}

/** Why `outcome` does not meet `expectation`, or `undefined` if it does. */
function mismatch(
  outcome: EndpointOutcome | undefined,
  expectation: Expectation,
): string | undefined {
  if (outcome === undefined) return "the handshake never ended";
  if (expectation.status === "ready") {
    return outcome.status === "ready" ? undefined : `failed with ${describeOutcome(outcome)}`;
  }
  if (outcome.status === "ready") return "reached ready";
  if (outcome.code !== expectation.code) {
    return `failed with ${outcome.code}, not ${expectation.code}`;
  }
  if (
    expectation.phase !== undefined && outcome.phase !== undefined &&
    outcome.phase !== expectation.phase
  ) {
    return `failed in ${outcome.phase}, not ${expectation.phase}`;
  }
  return undefined;
}

/** What a case found. */
export interface Finding {
  readonly expected: string;
  readonly actual: string;
  readonly problems: readonly string[];
  /**
   * Why the case could not test what it tests (the implementation's adapter
   * lacks a capability it needs): the case is reported as not run, never
   * passed, unless `problems` says it failed before getting there.
   */
  readonly notRun?: string;
}

/** A case that could not run against this adapter, and why; never a pass. */
export function notRun(expected: string, reason: string): Finding {
  return { expected, actual: "not run", problems: [], notRun: reason };
}

/** Checks a duel that both sides must finish ready. */
export function checkReady(
  result: DuelResult,
  expectations: {
    suite: NegotiatedSuite;
    /** The identity the IUT must report for its peer, or `undefined` for none. */
    peer: SignatureKeyPair | undefined;
    /** Whether the IUT must count its peer as authenticated. */
    authenticated: boolean;
  },
): Finding {
  const problems = [...result.problems];
  const { iut, reference } = result;
  if (iut?.status !== "ready") problems.push(`implementation ${describeOutcome(iut)}`);
  if (reference?.status !== "ready") problems.push(`reference ${describeOutcome(reference)}`);
  if (iut?.status === "ready") {
    const suite = JSON.stringify(iut.suite);
    if (suite !== JSON.stringify(expectations.suite)) {
      problems.push(`negotiated ${suite}, expected ${JSON.stringify(expectations.suite)}`);
    }
    const uuid = expectations.peer === undefined ? undefined : uuidOf(expectations.peer);
    if (iut.peerUuid !== uuid) problems.push(`peer UUID ${iut.peerUuid}, expected ${uuid}`);
    if (iut.authenticated !== expectations.authenticated) {
      problems.push(`authenticated ${iut.authenticated}, expected ${expectations.authenticated}`);
    }
    if (iut.exporter !== undefined && reference?.status === "ready") {
      if (!equalBytes(iut.exporter, reference.exporter)) problems.push("exporter outputs differ");
    }
  }
  return { expected: "ready", actual: describeOutcome(iut), problems };
}

/** Checks a duel against the expectation of each side. */
export function checkEnds(
  result: DuelResult,
  expected: { iut: Expectation; reference: Expectation },
): Finding {
  const problems = [...result.problems];
  const mine = mismatch(result.iut, expected.iut);
  if (mine !== undefined) problems.push(`implementation ${mine}`);
  const theirs = mismatch(result.reference, expected.reference);
  if (theirs !== undefined) problems.push(`reference ${theirs}`);
  if (
    result.iut?.status === "ready" && result.reference?.status === "ready" &&
    expected.iut.status !== "ready"
  ) {
    problems.push("both sides reached ready");
  }
  return {
    expected: describeExpectation(expected.iut),
    actual: describeOutcome(result.iut),
    problems,
  };
}

/** What a property found, with what reproduces it. */
export interface PropertyFinding extends Finding {
  readonly runs: number;
  readonly seed: number;
  readonly path?: string;
  readonly counterexample?: string;
}

/** The expectation of a failure with `code` (in `phase`, when given). */
export function fail(code: ErrorCode, phase?: HandshakePhase): Expectation {
  return phase === undefined ? { status: "failed", code } : { status: "failed", code, phase };
}

/** The expectation of ready. */
export const READY: Expectation = { status: "ready" };

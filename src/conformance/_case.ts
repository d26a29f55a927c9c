/**
 * The shape of a conformance case, the context every case family builds
 * from, and {@linkcode play}: one duel of the implementation against the
 * reference peer.
 *
 * @module
 */

import type {
  ConformanceAdapter,
  ConformanceEndpoint,
  ConformanceRole,
  EndpointCapability,
} from "./adapter.ts";
import { duel, type DuelResult } from "./_duel.ts";
import type { Expectation, MutationEnvironment } from "./_mutations.ts";
import type { RelayOptions } from "./_relay.ts";
import type { RecordTracker } from "./_record_tracker.ts";
import type { ConformanceCategory } from "./suite_report.ts";
import { otherRole } from "../viz/_standin.ts";
import { type Identities, type Side, spec } from "./_fixtures.ts";
import type { Finding, PropertyFinding } from "./_findings.ts";

/** A case: an id, a category, the IUT's role, and how to run it. */
export interface Case {
  readonly id: string;
  readonly category: ConformanceCategory;
  readonly role: ConformanceRole | "both";
  readonly run: () => Promise<Finding | PropertyFinding>;
}

/** Everything the case builders share. */
export interface Context {
  readonly adapter: ConformanceAdapter;
  readonly identities: Identities;
  readonly timeouts: { phase: number; handshake: number };
  readonly shortPhase: number;
  readonly deadline: number;
  readonly seed: number;
  readonly numRuns: number;
  readonly path: string | undefined;
  readonly roles: readonly ConformanceRole[];
  /** Another session's records, for replays (made once, lazily). */
  foreign: MutationEnvironment["foreign"] | undefined;
}

/** Runs a duel with the IUT in `role`, the sides described per protocol role. */
export function play(
  context: Context,
  role: ConformanceRole,
  sides: { initiator: Side; responder: Side },
  seed: string,
  extra: {
    relay?: (tracker: RecordTracker) => RelayOptions;
    onReference?: Parameters<typeof duel>[0]["onReference"];
  } = {},
): Promise<DuelResult> {
  return duel({
    adapter: context.adapter,
    iut: spec(role, sides[role], seed, context.timeouts),
    reference: spec(otherRole(role), sides[otherRole(role)], seed, context.timeouts),
    deadline: context.deadline,
    ...(extra.relay === undefined ? {} : { relay: extra.relay }),
    ...(extra.onReference === undefined ? {} : { onReference: extra.onReference }),
  });
}

/** A configuration and the end each protocol role must reach. */
export interface ConfiguredCase {
  readonly name: string;
  readonly sides: (identities: Identities) => { initiator: Side; responder: Side };
  readonly expect: { initiator: Expectation; responder: Expectation };
}

/**
 * The capabilities among `needed` that `endpoint` lacks, as the reason a
 * case is not run, or `undefined` when it has them all.
 */
export function lacking(
  endpoint: ConformanceEndpoint,
  needed: readonly EndpointCapability[],
): string | undefined {
  const missing = needed.filter((name) => endpoint[name] === undefined);
  if (missing.length === 0) return undefined;
  return `the adapter's endpoint does not offer ${
    missing.map((name) => `\`${name}\``).join(", ")
  } (ConformanceEndpoint)`;
}

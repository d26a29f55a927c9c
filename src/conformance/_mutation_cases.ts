/**
 * The `negative` and `mitm` cases of the record-level attack catalogue
 * (`_mutations.ts`): each mutation run through the relay with the
 * implementation in either role, with the exact code for the side that meets
 * it and for the other side.
 *
 * @module
 */

import { DEFAULT_PREFERENCES } from "../handshake_policy.ts";
import { type ConformanceRole, startQgateEndpoint } from "./adapter.ts";
import {
  directionOfKind,
  type Mutation,
  type MutationConfig,
  type MutationEnvironment,
  MUTATIONS,
  mutationScript,
} from "./_mutations.ts";
import { createRelay, type DeliveryStep, receiverOf } from "./_relay.ts";
import type { ConformanceCategory } from "./suite_report.ts";
import { type Case, type Context, play } from "./_case.ts";
import { authenticationSides, type Identities, type Side, spec } from "./_fixtures.ts";
import { checkEnds, type Finding } from "./_findings.ts";

/** The base configurations mutations run on: mutual Ed25519 authentication, without and with a GSS. */
function mutationSides(identities: Identities, gss: boolean): { initiator: Side; responder: Side } {
  const sides = authenticationSides(identities, "mutual");
  const secret = gss ? new Uint8Array(32).fill(0x47) : undefined;
  return {
    initiator: { ...sides.initiator, gss: secret },
    responder: { ...sides.responder, gss: secret },
  };
}

function mutationConfig(sides: { initiator: Side; responder: Side }): MutationConfig {
  return {
    initiator: {
      identity: sides.initiator.identity?.algorithm,
      requireAuthentication: sides.initiator.requireAuthentication,
    },
    responder: {
      identity: sides.responder.identity?.algorithm,
      requireAuthentication: sides.responder.requireAuthentication,
    },
    gss: sides.initiator.gss !== undefined,
    primaryKeyExchange: DEFAULT_PREFERENCES.primaryKeyExchanges[0]!,
  };
}

/** Records of a qgate–qgate session with the mutation configuration: replay material. */
async function captureForeign(
  context: Context,
): Promise<NonNullable<MutationEnvironment["foreign"]>> {
  if (context.foreign !== undefined) return context.foreign;
  const sides = mutationSides(context.identities, false);
  const relay = createRelay();
  const initiator = startQgateEndpoint(
    relay.initiatorTransport,
    spec("initiator", sides.initiator, "foreign", context.timeouts),
  );
  const responder = startQgateEndpoint(
    relay.responderTransport,
    spec("responder", sides.responder, "foreign", context.timeouts),
  );
  await Promise.all([initiator.outcome, responder.outcome]);
  await Promise.all([initiator.close(), responder.close()]);
  await relay.done;
  context.foreign = {
    salts: { i2r: relay.salts.i2r!, r2i: relay.salts.r2i! },
    records: { i2r: [...relay.records.i2r], r2i: [...relay.records.r2i] },
  };
  return context.foreign;
}

function categoryOf(mutation: Mutation): ConformanceCategory {
  return mutation.flags.some((flag) =>
      flag === "Downgrade" || flag === "KeySubstitution" || flag === "ModifiedMetaExchange"
    )
    ? "mitm"
    : "negative";
}

/** Runs one mutation with the IUT in `role`; the expectation for each side follows the direction. */
export async function runMutation(
  context: Context,
  mutation: Mutation,
  role: ConformanceRole,
  schedule?: { prelude: DeliveryStep[]; schedule: DeliveryStep[] },
): Promise<Finding> {
  const gss =
    !(mutation.applies?.(mutationConfig(mutationSides(context.identities, false))) ?? true);
  const sides = mutationSides(context.identities, gss);
  const config = mutationConfig(sides);
  const receiver = receiverOf(directionOfKind(mutation.target));
  if (mutation.timing === "receiverTimesOut") {
    (sides as { [R in ConformanceRole]: Side })[receiver] = {
      ...sides[receiver],
      phase: context.shortPhase,
    };
  }
  const foreign = await captureForeign(context);
  let applied = () => false;
  const result = await play(context, role, sides, mutation.id, {
    relay: (tracker) => {
      const built = mutationScript(mutation, { tracker, foreign });
      applied = built.applied;
      return { script: built.script, ...schedule };
    },
  });
  // Asked after the run: some mutations decide their outcome from the record they damaged.
  const expected = mutation.expect(config);
  const finding = checkEnds(result, {
    iut: role === receiver ? expected.receiver : expected.sender,
    reference: role === receiver ? expected.sender : expected.receiver,
  });
  return applied()
    ? finding
    : { ...finding, problems: [...finding.problems, "the mutation was never applied"] };
}

/** The mutations that apply without a GSS or with one. */
export function usableMutations(identities: Identities): Mutation[] {
  const base = mutationConfig(mutationSides(identities, false));
  const withGss = mutationConfig(mutationSides(identities, true));
  return MUTATIONS.filter((mutation) =>
    (mutation.applies?.(base) ?? true) || (mutation.applies?.(withGss) ?? true)
  );
}

/** One case per usable mutation and role, in the `negative` or the `mitm` category. */
export function mutationCases(context: Context): Case[] {
  return usableMutations(context.identities).flatMap((mutation) =>
    context.roles.map((role): Case => ({
      id: `${categoryOf(mutation)}/${mutation.id}`,
      category: categoryOf(mutation),
      role,
      run: () => runMutation(context, mutation, role),
    }))
  );
}

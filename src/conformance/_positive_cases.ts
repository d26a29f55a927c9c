/**
 * The `positive` cases: algorithm combinations, each authentication mode and
 * signature scheme, with and without a Global Shared Secret. Both sides must
 * reach ready with the suite the negotiation rule gives, the same exporter
 * output and the right peer identity.
 *
 * @module
 */

import { type SignatureName, SIGNATURES } from "../crypto/types.ts";
import { DEFAULT_PREFERENCES } from "../handshake_policy.ts";
import { type Case, type Context, play } from "./_case.ts";
import { allCombinations, only, sampledCombinations } from "./_combinations.ts";
import { otherRole } from "../viz/_standin.ts";
import { type AuthenticationMode, authenticationSides, expectedSuite } from "./_fixtures.ts";
import { checkReady } from "./_findings.ts";

/** The positive cases: every combination (or a sample), then each authentication mode. */
export function positiveCases(context: Context, long: boolean, sample: number): Case[] {
  const cases: Case[] = [];
  const combinations = long ? allCombinations() : sampledCombinations(sample, context.seed);
  for (const combination of combinations) {
    const name =
      `${combination.primaryKeyExchange}+${combination.secondaryKeyExchange}+${combination.aead}+${combination.hash}`;
    for (const role of context.roles) {
      cases.push({
        id: `positive/algorithms/${name}`,
        category: "positive",
        role,
        run: async () => {
          const sides = authenticationSides(context.identities, "none");
          const algorithms = only(combination);
          const result = await play(context, role, {
            initiator: { ...sides.initiator, algorithms },
            responder: { ...sides.responder, algorithms },
          }, name);
          return checkReady(result, { suite: combination, peer: undefined, authenticated: false });
        },
      });
    }
  }
  const modes: [AuthenticationMode, SignatureName][] = [
    ["none", "Ed25519"],
    ["responder", "Ed25519"],
    ["initiator", "Ed25519"],
    ...SIGNATURES.map(({ name }) => ["mutual", name] as [AuthenticationMode, SignatureName]),
  ];
  for (const gss of [false, true]) {
    for (
      const [mode, scheme] of gss
        ? modes.filter(([m]) => m === "none" || m === "mutual").slice(0, 2)
        : modes
    ) {
      for (const role of context.roles) {
        cases.push({
          id: `positive/authentication/${mode}/${scheme}${gss ? "/gss" : ""}`,
          category: "positive",
          role,
          run: async () => {
            const sides = authenticationSides(context.identities, mode, scheme);
            const secret = gss ? new Uint8Array(32).fill(0x47) : undefined;
            const result = await play(context, role, {
              initiator: { ...sides.initiator, gss: secret },
              responder: { ...sides.responder, gss: secret },
            }, `${mode} ${scheme} ${gss}`);
            const peerSide = sides[otherRole(role)];
            return checkReady(result, {
              suite: expectedSuite(DEFAULT_PREFERENCES, DEFAULT_PREFERENCES),
              peer: peerSide.identity,
              authenticated: peerSide.identity !== undefined,
            });
          },
        });
      }
    }
  }
  return cases;
}

/**
 * The `revocation/…` cases (PROTOCOL.md §8.2, "Revocation"): after a
 * mutually authenticated handshake, an access list that stops admitting the
 * peer ends the live session.
 *
 * - `implementation-denies` / `implementation-removes`: the implementation's
 *   access list denies the reference (`setAllowed(uuid, false)`) or forgets
 *   it (`removePeer(uuid)`, with authentication required an unknown peer is
 *   refused): the implementation must end the session with
 *   `ERR_PEER_NOT_ALLOWED` and tell the peer nothing (§14.4), so the
 *   reference sees the stream end, `ERR_TRANSPORT_CLOSED`.
 * - `peer-denies`: the reference denies the implementation; the reference
 *   ends with `ERR_PEER_NOT_ALLOWED`, and the implementation must see its
 *   session end with `ERR_TRANSPORT_CLOSED` (the stream ended between
 *   records, no Close: never an orderly close).
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import type { ConformanceRole, EndpointCapability } from "./adapter.ts";
import { type Case, type Context, lacking } from "./_case.ts";
import { duel } from "./_duel.ts";
import { authenticationSides, spec, uuidOf } from "./_fixtures.ts";
import type { Finding } from "./_findings.ts";
import { withDeadline } from "./_relay.ts";
import { otherRole } from "../viz/_standin.ts";

interface RevocationCase {
  readonly name: string;
  readonly needs: readonly EndpointCapability[];
  /** Who changes its access list. */
  readonly revoker: "implementation" | "reference";
  /** What the change is. */
  readonly change: "setAllowed" | "removePeer";
  /** The code each side's session must end with. */
  readonly ends: { readonly implementation: ErrorCode; readonly reference: ErrorCode };
}

const CASES: readonly RevocationCase[] = [
  {
    name: "implementation-denies",
    needs: ["setAllowed", "closed"],
    revoker: "implementation",
    change: "setAllowed",
    ends: { implementation: ErrorCode.PEER_NOT_ALLOWED, reference: ErrorCode.TRANSPORT_CLOSED },
  },
  {
    name: "implementation-removes",
    needs: ["removePeer", "closed"],
    revoker: "implementation",
    change: "removePeer",
    ends: { implementation: ErrorCode.PEER_NOT_ALLOWED, reference: ErrorCode.TRANSPORT_CLOSED },
  },
  {
    name: "peer-denies",
    needs: ["closed"],
    revoker: "reference",
    change: "setAllowed",
    ends: { implementation: ErrorCode.TRANSPORT_CLOSED, reference: ErrorCode.PEER_NOT_ALLOWED },
  },
];

function describe(code: string | undefined): string {
  return code ?? "an orderly close";
}

async function runRevocation(
  context: Context,
  role: ConformanceRole,
  item: RevocationCase,
): Promise<Finding> {
  const sides = authenticationSides(context.identities, "mutual");
  const referenceRole = otherRole(role);
  const seed = `revocation ${item.name}`;
  const problems: string[] = [];
  let notRun: string | undefined;
  let ended: { implementation?: string | undefined; reference?: string | undefined } | undefined;
  const result = await duel({
    adapter: context.adapter,
    iut: spec(role, sides[role], seed, context.timeouts),
    reference: spec(referenceRole, sides[referenceRole], seed, context.timeouts),
    deadline: context.deadline,
    afterReady: async ({ iut, reference, referenceEndpoint }) => {
      notRun = lacking(iut, item.needs);
      if (notRun !== undefined) return;
      // The revoker denies or forgets the other side's identity.
      const [revoker, revoked] = item.revoker === "implementation"
        ? [iut, sides[referenceRole].identity!]
        : [referenceEndpoint, sides[role].identity!];
      if (item.change === "setAllowed") await revoker.setAllowed!(uuidOf(revoked), false);
      else await revoker.removePeer!(uuidOf(revoked));
      // Revocation reaches the live session at once (§15.1): well within the case's budget.
      const both = await withDeadline(
        Promise.all([iut.closed!, reference.closed]),
        context.deadline / 2,
      );
      if (both === undefined) {
        problems.push(
          `the session outlived the revocation (${
            item.revoker === "implementation" ? "its" : "the peer's"
          } ` +
            `${item.change}: the ${item.revoker} should end it with ${ErrorCode.PEER_NOT_ALLOWED})`,
        );
        return;
      }
      ended = { implementation: both[0].code, reference: both[1].code };
    },
  });
  problems.unshift(...result.problems);
  if (result.iut?.status !== "ready" || result.reference?.status !== "ready") {
    problems.push("both sides must reach ready first");
  }
  if (ended !== undefined) {
    for (const side of ["implementation", "reference"] as const) {
      if (ended[side] !== item.ends[side]) {
        problems.push(`the ${side} ended with ${describe(ended[side])}, not ${item.ends[side]}`);
      }
    }
  }
  return {
    expected: `${item.ends.implementation} (the reference: ${item.ends.reference})`,
    actual: ended === undefined ? "no end" : describe(ended.implementation),
    problems,
    ...(notRun === undefined ? {} : { notRun }),
  };
}

/** One case per revocation and role, in the `policy` category. */
export function revocationCases(context: Context): Case[] {
  return CASES.flatMap((item) =>
    context.roles.map((role): Case => ({
      id: `revocation/${item.name}`,
      category: "policy",
      role,
      run: () => runRevocation(context, role, item),
    }))
  );
}

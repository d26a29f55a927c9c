/**
 * The `mitm` cases of a man in the middle seen from one victim: Mallory, the
 * reference peer, presents her own identity or borrows the victim's peer's
 * public key.
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import type { ConformanceRole } from "./adapter.ts";
import { type Case, type ConfiguredCase, type Context, play } from "./_case.ts";
import { otherRole } from "../viz/_standin.ts";
import { checkEnds, fail } from "./_findings.ts";

const { AUTH_FAILED, PEER_NOT_ALLOWED, TRANSPORT_CLOSED } = ErrorCode;

/** A man in the middle seen from one victim: the reference peer is Mallory. */
export function impersonationCases(context: Context): Case[] {
  const cases: ConfiguredCase[] = [
    {
      name: "mallory-as-responder-with-her-own-identity",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        return {
          initiator: { identity: a, knows: [b], requireAuthentication: true },
          responder: { identity: ids.mallory, knows: [a], requireAuthentication: false },
        };
      },
      expect: {
        initiator: fail(PEER_NOT_ALLOWED, "authentication"),
        responder: fail(TRANSPORT_CLOSED),
      },
    },
    {
      name: "mallory-as-initiator-with-her-own-identity",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        return {
          initiator: { identity: ids.mallory, knows: [b], requireAuthentication: false },
          responder: { identity: b, knows: [a], requireAuthentication: true },
        };
      },
      expect: {
        initiator: fail(TRANSPORT_CLOSED),
        responder: fail(PEER_NOT_ALLOWED, "authentication"),
      },
    },
    {
      name: "mallory-as-responder-borrowing-the-peer-key",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        const borrowed = { ...ids.mallory, publicKey: b.publicKey };
        return {
          initiator: { identity: a, knows: [b], requireAuthentication: true },
          responder: { identity: borrowed, knows: [a], requireAuthentication: false },
        };
      },
      expect: { initiator: fail(AUTH_FAILED, "authentication"), responder: fail(TRANSPORT_CLOSED) },
    },
    {
      name: "mallory-as-initiator-borrowing-the-peer-key",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        const borrowed = { ...ids.mallory, publicKey: a.publicKey };
        return {
          initiator: { identity: borrowed, knows: [b], requireAuthentication: false },
          responder: { identity: b, knows: [a], requireAuthentication: true },
        };
      },
      expect: { initiator: fail(TRANSPORT_CLOSED), responder: fail(AUTH_FAILED, "authentication") },
    },
  ];
  return cases.flatMap((mitm) => {
    // Each scenario puts the implementation in the victim's role only.
    const victim: ConformanceRole = mitm.name.includes("as-responder") ? "initiator" : "responder";
    return context.roles.includes(victim)
      ? [{
        id: `mitm/${mitm.name}`,
        category: "mitm" as const,
        role: victim,
        run: async () => {
          const result = await play(context, victim, mitm.sides(context.identities), mitm.name);
          return checkEnds(result, {
            iut: mitm.expect[victim],
            reference: mitm.expect[otherRole(victim)],
          });
        },
      }]
      : [];
  });
}

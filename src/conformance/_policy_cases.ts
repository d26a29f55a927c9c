/**
 * The `policy` cases: configurations that must fail (nothing in common,
 * authentication required but impossible, unknown or denied peers, GSS
 * mismatch) and one that must succeed unauthenticated.
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import { type Case, type ConfiguredCase, type Context, play } from "./_case.ts";
import { otherRole } from "../viz/_standin.ts";
import { checkEnds, fail, READY } from "./_findings.ts";

const {
  AUTH_REQUIRED,
  DECRYPT_FAILED,
  NO_COMMON_ALGORITHM,
  PEER_NOT_ALLOWED,
  TRANSPORT_CLOSED,
} = ErrorCode;

const POLICY_CASES: readonly ConfiguredCase[] = [
  {
    name: "nothing-in-common",
    sides: () => ({
      initiator: { requireAuthentication: false, algorithms: { aeads: ["ChaCha20-Poly1305"] } },
      responder: { requireAuthentication: false, algorithms: { aeads: ["AES-256-GCM"] } },
    }),
    expect: {
      initiator: fail(NO_COMMON_ALGORITHM, "metaExchange"),
      responder: fail(TRANSPORT_CLOSED),
    },
  },
  {
    // An implementation must not fall back to a classical secondary exchange
    // its user did not allow: the default secondary slot is post-quantum only.
    name: "classical-secondary-not-allowed",
    sides: () => ({
      initiator: {
        requireAuthentication: false,
        algorithms: { secondaryKeyExchanges: ["X25519"], allowClassicalSecondary: true },
      },
      responder: { requireAuthentication: false },
    }),
    expect: {
      initiator: fail(NO_COMMON_ALGORITHM, "metaExchange"),
      responder: fail(TRANSPORT_CLOSED),
    },
  },
  {
    name: "responder-requires-anonymous-initiator",
    sides: (ids) => {
      const { b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { requireAuthentication: false, knows: [b] },
        responder: { identity: b, requireAuthentication: true },
      };
    },
    expect: { initiator: fail(AUTH_REQUIRED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
  {
    name: "initiator-requires-anonymous-responder",
    sides: (ids) => {
      const { a } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: true },
        responder: { requireAuthentication: false, knows: [a] },
      };
    },
    expect: { initiator: fail(TRANSPORT_CLOSED), responder: fail(AUTH_REQUIRED, "metaExchange") },
  },
  {
    name: "unaccepted-signature-scheme",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: {
          identity: a,
          knows: [b],
          requireAuthentication: true,
          algorithms: { signatures: ["ML-DSA-65"] },
        },
        responder: { identity: b, knows: [a], requireAuthentication: true },
      };
    },
    expect: { initiator: fail(TRANSPORT_CLOSED), responder: fail(AUTH_REQUIRED, "metaExchange") },
  },
  {
    // An identity the peer cannot verify is withheld when the peer does not
    // require authentication: the handshake completes unauthenticated
    // instead of failing on a proof the peer would reject.
    name: "unaccepted-scheme-without-requirement",
    sides: (ids) => {
      const { a } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: false },
        responder: { requireAuthentication: false, algorithms: { signatures: ["ML-DSA-65"] } },
      };
    },
    expect: { initiator: READY, responder: READY },
  },
  {
    name: "unknown-responder",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: true, knows: [] },
        responder: { identity: b, requireAuthentication: false },
      };
    },
    expect: {
      initiator: fail(PEER_NOT_ALLOWED, "authentication"),
      responder: fail(TRANSPORT_CLOSED),
    },
  },
  {
    name: "denied-initiator",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: true, knows: [b] },
        responder: { identity: b, requireAuthentication: true, denies: [a] },
      };
    },
    expect: {
      initiator: fail(TRANSPORT_CLOSED),
      responder: fail(PEER_NOT_ALLOWED, "authentication"),
    },
  },
  {
    name: "denied-without-requirement",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: false, denies: [b] },
        responder: { identity: b, requireAuthentication: false },
      };
    },
    expect: {
      initiator: fail(PEER_NOT_ALLOWED, "authentication"),
      responder: fail(TRANSPORT_CLOSED),
    },
  },
  {
    name: "unknown-without-requirement",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: false },
        responder: { identity: b, requireAuthentication: false },
      };
    },
    expect: { initiator: READY, responder: READY },
  },
  {
    name: "gss-mismatch",
    sides: () => ({
      initiator: { requireAuthentication: false, gss: new Uint8Array(32).fill(1) },
      responder: { requireAuthentication: false, gss: new Uint8Array(32).fill(2) },
    }),
    expect: { initiator: fail(DECRYPT_FAILED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
  {
    name: "gss-on-responder-only",
    sides: () => ({
      initiator: { requireAuthentication: false },
      responder: { requireAuthentication: false, gss: new Uint8Array(32).fill(2) },
    }),
    expect: { initiator: fail(DECRYPT_FAILED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
  {
    name: "gss-on-initiator-only",
    sides: () => ({
      initiator: { requireAuthentication: false, gss: new Uint8Array(32).fill(1) },
      responder: { requireAuthentication: false },
    }),
    expect: { initiator: fail(DECRYPT_FAILED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
];

/** One case per policy configuration and role. */
export function policyCases(context: Context): Case[] {
  return POLICY_CASES.flatMap((policy) =>
    context.roles.map((role): Case => ({
      id: `policy/${policy.name}`,
      category: "policy",
      role,
      run: async () => {
        const result = await play(context, role, policy.sides(context.identities), policy.name);
        return checkEnds(result, {
          iut: policy.expect[role],
          reference: policy.expect[otherRole(role)],
        });
      },
    }))
  );
}

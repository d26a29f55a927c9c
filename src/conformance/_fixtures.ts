/**
 * What the conformance cases are built from: the identities of the honest
 * peers and of Mallory, one side's setup and the endpoint spec it becomes,
 * the suite the negotiation rule gives, and the authentication modes.
 *
 * @module
 */

import { nobleBackend } from "../crypto/noble_backend.ts";
import { type SignatureKeyPair, type SignatureName, SIGNATURES } from "../crypto/types.ts";
import { derivePeerUuid, formatUuid } from "../crypto/peer_uuid.ts";
import {
  type AlgorithmPreferences,
  DEFAULT_PREFERENCES,
  type NegotiatedSuite,
} from "../handshake_policy.ts";
import type { AccessEntry, ConformanceEndpointSpec, ConformanceRole } from "./adapter.ts";

/** The exporter both sides of every case derive, compared after ready. */
export const EXPORTER = {
  label: "qgate conformance",
  context: new TextEncoder().encode("exporter context"),
  length: 32,
};

/**
 * The extender each role runs in every case (8-4-4-4-12 hex): the messages
 * of the message cases go to the receiver's.
 */
export const EXTENDERS: { readonly [R in ConformanceRole]: string } = {
  initiator: "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10",
  responder: "9b2d4c7e-61a0-4e58-b3f1-2c6d8e0a4f17",
};

/** The identities of every case, made once per run. */
export interface Identities {
  /** Per scheme: the two honest peers and a stranger. */
  readonly byScheme: ReadonlyMap<SignatureName, { a: SignatureKeyPair; b: SignatureKeyPair }>;
  readonly mallory: SignatureKeyPair;
}

/** Deterministic identities: per scheme `a` and `b`, and Mallory's Ed25519 key. */
export async function makeIdentities(): Promise<Identities> {
  const byScheme = new Map<SignatureName, { a: SignatureKeyPair; b: SignatureKeyPair }>();
  for (const { name } of SIGNATURES) {
    const scheme = nobleBackend.signature(name)!;
    const pair = (fill: number) =>
      scheme.generateKeyPair({ seed: new Uint8Array(scheme.seedLength).fill(fill) });
    byScheme.set(name, { a: await pair(0xa1), b: await pair(0xb0) });
  }
  const ed25519 = nobleBackend.signature("Ed25519")!;
  const mallory = await ed25519.generateKeyPair({ seed: new Uint8Array(32).fill(0x4d) });
  return { byScheme, mallory };
}

/** The PeerUUID an identity's public key gives. */
export function uuidOf(identity: SignatureKeyPair): string {
  return formatUuid(derivePeerUuid(identity.algorithm, identity.publicKey));
}

function entry(identity: SignatureKeyPair, allowed = true): AccessEntry {
  return { uuid: uuidOf(identity), publicKey: identity.publicKey, allowed };
}

/** One side's setup in a case. */
export interface Side {
  readonly identity?: SignatureKeyPair | undefined;
  readonly knows?: readonly SignatureKeyPair[];
  readonly denies?: readonly SignatureKeyPair[];
  readonly requireAuthentication: boolean;
  readonly algorithms?: Partial<AlgorithmPreferences>;
  readonly gss?: Uint8Array | undefined;
  readonly phase?: number;
  /** The largest message the side accepts (default: the implementation's). */
  readonly maxMessageSize?: number;
}

/** The endpoint spec of one side, seeded per case and role. */
export function spec(
  role: ConformanceRole,
  side: Side,
  seed: string,
  timeouts: { phase: number; handshake: number },
): ConformanceEndpointSpec {
  return {
    role,
    algorithms: { ...DEFAULT_PREFERENCES, ...side.algorithms },
    identity: side.identity,
    accessList: [
      ...(side.knows ?? []).map((identity) => entry(identity)),
      ...(side.denies ?? []).map((identity) => entry(identity, false)),
    ],
    requireAuthentication: side.requireAuthentication,
    globalSharedSecret: side.gss,
    timeouts: side.phase === undefined ? timeouts : { ...timeouts, phase: side.phase },
    exporter: EXPORTER,
    seed: new TextEncoder().encode(`qgate conformance ${seed} ${role}`),
    extenders: [EXTENDERS[role]],
    ...(side.maxMessageSize === undefined ? {} : { maxMessageSize: side.maxMessageSize }),
  };
}

/** The suite PROTOCOL.md §3.4's rule gives: the responder's first entry the initiator also lists. */
export function expectedSuite(
  initiator: AlgorithmPreferences,
  responder: AlgorithmPreferences,
): NegotiatedSuite {
  const pick = <N extends string>(theirs: readonly N[], mine: readonly N[]): N =>
    theirs.find((name) => mine.includes(name))!;
  return {
    primaryKeyExchange: pick(responder.primaryKeyExchanges, initiator.primaryKeyExchanges),
    secondaryKeyExchange: pick(responder.secondaryKeyExchanges, initiator.secondaryKeyExchanges),
    aead: pick(responder.aeads, initiator.aeads),
    hash: pick(responder.hashes, initiator.hashes),
  };
}

/** Who proves an identity. */
export type AuthenticationMode = "none" | "responder" | "initiator" | "mutual";

/** Both sides for an authentication mode: whoever proves is known to the other, who requires it. */
export function authenticationSides(
  identities: Identities,
  mode: AuthenticationMode,
  scheme: SignatureName = "Ed25519",
): { initiator: Side; responder: Side } {
  const { a, b } = identities.byScheme.get(scheme)!;
  const initiatorProves = mode === "initiator" || mode === "mutual";
  const responderProves = mode === "responder" || mode === "mutual";
  return {
    initiator: {
      identity: initiatorProves ? a : undefined,
      knows: responderProves ? [b] : [],
      requireAuthentication: responderProves,
    },
    responder: {
      identity: responderProves ? b : undefined,
      knows: initiatorProves ? [a] : [],
      requireAuthentication: initiatorProves,
    },
  };
}

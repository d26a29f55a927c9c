/**
 * Pure policy functions the handshake statecharts call: version
 * compatibility, algorithm negotiation and the verdict on a peer's identity.
 *
 * Nothing here touches secrets or I/O; every function is deterministic, so
 * the machines stay pure under `transition()`.
 *
 * @module
 */

import { ErrorCode } from "./errors.ts";
import {
  type AeadName,
  AEADS,
  type AlgorithmInfo,
  HASHES,
  type HashName,
  KEY_EXCHANGES,
  type KeyExchangeName,
  type SignatureName,
  SIGNATURES,
} from "./crypto/types.ts";
import {
  type BeginMetaExchangeMessage,
  type EndMetaExchangeMessage,
  PROTOCOL_VERSION,
} from "./codec/message_types.ts";

/** Ordered algorithm preferences of one peer, most preferred first. */
export interface AlgorithmPreferences {
  /** Key exchanges allowed in the primary (classical) slot. */
  readonly primaryKeyExchanges: readonly KeyExchangeName[];
  /** Key exchanges allowed in the secondary (post-quantum) slot. */
  readonly secondaryKeyExchanges: readonly KeyExchangeName[];
  /** AEAD ciphers for records after the primary key exchange. */
  readonly aeads: readonly AeadName[];
  /** Hashes for the transcript, HMAC and HKDF. */
  readonly hashes: readonly HashName[];
  /** Identity signature schemes this peer accepts from the other side. */
  readonly signatures: readonly SignatureName[];
  /**
   * Allows classical exchanges in `secondaryKeyExchanges` (default `false`:
   * such a configuration is refused, since the secondary slot is what makes
   * a session post-quantum).
   */
  readonly allowClassicalSecondary?: boolean;
}

/** The algorithms both peers use for one session. */
export interface NegotiatedSuite {
  /** The classical key exchange. */
  readonly primaryKeyExchange: KeyExchangeName;
  /** The post-quantum key exchange. */
  readonly secondaryKeyExchange: KeyExchangeName;
  /** The record AEAD. */
  readonly aead: AeadName;
  /** The transcript and key-schedule hash. */
  readonly hash: HashName;
}

/**
 * The default preferences: every algorithm enabled, fast and conservative
 * choices first, only post-quantum KEMs in the secondary slot.
 */
export const DEFAULT_PREFERENCES: AlgorithmPreferences = {
  primaryKeyExchanges: ["X25519", "X448", "P-256", "P-384", "P-521"],
  secondaryKeyExchanges: ["ML-KEM-768", "ML-KEM-1024", "ML-KEM-512"],
  aeads: ["ChaCha20-Poly1305", "AES-256-GCM", "XChaCha20-Poly1305"],
  hashes: ["SHA-256", "SHA-512", "BLAKE2b", "SHA3-256"],
  signatures: ["Ed25519", "Ed448", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87", "Ed25519+ML-DSA-65"],
};

/**
 * Tells whether a key exchange resists a quantum adversary (the ML-KEM family).
 *
 * @param name A key exchange name.
 * @returns `true` for a post-quantum KEM.
 *
 * @example
 * ```ts
 * import { isPostQuantumKeyExchange } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isPostQuantumKeyExchange("ML-KEM-768"), true);
 * assert.equal(isPostQuantumKeyExchange("X25519"), false);
 * ```
 */
export function isPostQuantumKeyExchange(name: KeyExchangeName): boolean {
  return name.startsWith("ML-KEM-");
}

/**
 * Tells whether a negotiated suite is post-quantum: its keys depend on a
 * post-quantum shared secret (in either slot, §7.2 of PROTOCOL.md).
 *
 * @param suite The negotiated algorithms.
 * @returns `true` when either key exchange is post-quantum.
 *
 * @example
 * ```ts
 * import { isPostQuantumSuite } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * const suite = {
 *   primaryKeyExchange: "X25519",
 *   secondaryKeyExchange: "X448",
 *   aead: "ChaCha20-Poly1305",
 *   hash: "SHA-256",
 * } as const;
 * assert.equal(isPostQuantumSuite(suite), false);
 * ```
 */
export function isPostQuantumSuite(suite: NegotiatedSuite): boolean {
  return isPostQuantumKeyExchange(suite.primaryKeyExchange) ||
    isPostQuantumKeyExchange(suite.secondaryKeyExchange);
}

/**
 * The classical exchanges a configuration lists in the secondary slot, when
 * it did not opt in to them with `allowClassicalSecondary`.
 *
 * @param preferences The local preferences.
 * @returns The offending names; empty when the configuration is acceptable.
 *
 * @example
 * ```ts
 * import { refusedSecondaries } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(refusedSecondaries({ secondaryKeyExchanges: ["ML-KEM-768", "X448"] }), ["X448"]);
 * assert.deepEqual(
 *   refusedSecondaries({ secondaryKeyExchanges: ["X448"], allowClassicalSecondary: true }),
 *   [],
 * );
 * ```
 */
export function refusedSecondaries(
  preferences: Pick<AlgorithmPreferences, "secondaryKeyExchanges" | "allowClassicalSecondary">,
): KeyExchangeName[] {
  if (preferences.allowClassicalSecondary === true) return [];
  return preferences.secondaryKeyExchanges.filter((name) => !isPostQuantumKeyExchange(name));
}

/**
 * Tells whether a peer's protocol version can talk to ours (same major).
 *
 * @param version The peer's announced version.
 * @returns `true` when the majors match.
 *
 * @example
 * ```ts
 * import { isCompatibleVersion } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isCompatibleVersion({ major: 1, minor: 7 }), true);
 * assert.equal(isCompatibleVersion({ major: 2, minor: 0 }), false);
 * ```
 */
export function isCompatibleVersion(
  version: { readonly major: number; readonly minor: number },
): boolean {
  return version.major === PROTOCOL_VERSION.major;
}

/**
 * Maps algorithm names to their wire ids, keeping the order.
 *
 * @param table The registry table of one category.
 * @param names The names, most preferred first.
 * @returns The wire ids in the same order.
 *
 * @example
 * ```ts
 * import { KEY_EXCHANGES } from "@qgate/handshake/crypto";
 * import { toWireIds } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(toWireIds(KEY_EXCHANGES, ["X25519", "ML-KEM-768"]), [0x0001, 0x0102]);
 * ```
 */
export function toWireIds<Name extends string>(
  table: readonly AlgorithmInfo<Name>[],
  names: readonly Name[],
): number[] {
  return names.map((name) => {
    const info = table.find((entry) => entry.name === name);
    if (info === undefined) throw new TypeError(`Cannot encode algorithm: unknown name "${name}"`);
    return info.id;
  });
}

/**
 * Maps wire ids to names, dropping ids this implementation does not know.
 *
 * @param table The registry table of one category.
 * @param ids Wire ids as received.
 * @returns The known names in the same order.
 *
 * @example
 * ```ts
 * import { HASHES } from "@qgate/handshake/crypto";
 * import { fromWireIds } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(fromWireIds(HASHES, [0x0004, 0x7777, 0x0001]), ["BLAKE2b", "SHA-256"]);
 * ```
 */
export function fromWireIds<Name extends string>(
  table: readonly AlgorithmInfo<Name>[],
  ids: readonly number[],
): Name[] {
  const names: Name[] = [];
  for (const id of ids) {
    const info = table.find((entry) => entry.id === id);
    if (info !== undefined) names.push(info.name);
  }
  return names;
}

function firstShared<Name extends string>(
  table: readonly AlgorithmInfo<Name>[],
  offered: readonly number[],
  supported: readonly Name[],
): Name | undefined {
  return fromWireIds(table, offered).find((name) => supported.includes(name));
}

/**
 * The initiator's choice: per category, the first entry of the responder's
 * ordered list that the initiator also supports.
 *
 * @param offer The responder's meta exchange message.
 * @param local The initiator's preferences.
 * @returns The suite, or `undefined` if some category has nothing in common.
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "@qgate/handshake/codec";
 * import { chooseSuite, DEFAULT_PREFERENCES } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * const suite = chooseSuite({
 *   kind: "beginMetaExchange",
 *   version: PROTOCOL_VERSION,
 *   sessionId: new Uint8Array(8),
 *   requireAuthentication: false,
 *   primaryKeyExchanges: [0x0002, 0x0001],
 *   secondaryKeyExchanges: [0x0103],
 *   aeads: [0x0003],
 *   hashes: [0x0002],
 *   signatures: [0x0001],
 * }, DEFAULT_PREFERENCES);
 * assert.equal(suite?.primaryKeyExchange, "X448");
 * assert.equal(suite?.secondaryKeyExchange, "ML-KEM-1024");
 * ```
 */
export function chooseSuite(
  offer: BeginMetaExchangeMessage,
  local: AlgorithmPreferences,
): NegotiatedSuite | undefined {
  const primaryKeyExchange = firstShared(
    KEY_EXCHANGES,
    offer.primaryKeyExchanges,
    local.primaryKeyExchanges,
  );
  const secondaryKeyExchange = firstShared(
    KEY_EXCHANGES,
    offer.secondaryKeyExchanges,
    local.secondaryKeyExchanges,
  );
  const aead = firstShared(AEADS, offer.aeads, local.aeads);
  const hash = firstShared(HASHES, offer.hashes, local.hashes);
  if (
    primaryKeyExchange === undefined || secondaryKeyExchange === undefined ||
    aead === undefined || hash === undefined
  ) {
    return undefined;
  }
  return { primaryKeyExchange, secondaryKeyExchange, aead, hash };
}

/**
 * The responder's check of the initiator's choice: every chosen algorithm
 * must be one the responder offered for that category.
 *
 * @param choice The initiator's meta exchange message.
 * @param local The responder's preferences (what it offered).
 * @returns The suite, or `undefined` if any choice was not offered.
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "@qgate/handshake/codec";
 * import { acceptedSuite, DEFAULT_PREFERENCES } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * const choice = {
 *   kind: "endMetaExchange" as const,
 *   version: PROTOCOL_VERSION,
 *   sessionId: new Uint8Array(8),
 *   requireAuthentication: false,
 *   primaryKeyExchange: 0x0001,
 *   secondaryKeyExchange: 0x0102,
 *   aead: 0x0001,
 *   hash: 0x0001,
 *   signatures: [0x0001],
 * };
 * assert.equal(acceptedSuite(choice, DEFAULT_PREFERENCES)?.aead, "ChaCha20-Poly1305");
 * assert.equal(acceptedSuite({ ...choice, hash: 0x7777 }, DEFAULT_PREFERENCES), undefined);
 * ```
 */
export function acceptedSuite(
  choice: EndMetaExchangeMessage,
  local: AlgorithmPreferences,
): NegotiatedSuite | undefined {
  const [primaryKeyExchange] = fromWireIds(KEY_EXCHANGES, [choice.primaryKeyExchange]);
  const [secondaryKeyExchange] = fromWireIds(KEY_EXCHANGES, [choice.secondaryKeyExchange]);
  const [aead] = fromWireIds(AEADS, [choice.aead]);
  const [hash] = fromWireIds(HASHES, [choice.hash]);
  if (
    primaryKeyExchange === undefined || !local.primaryKeyExchanges.includes(primaryKeyExchange) ||
    secondaryKeyExchange === undefined ||
    !local.secondaryKeyExchanges.includes(secondaryKeyExchange) ||
    aead === undefined || !local.aeads.includes(aead) ||
    hash === undefined || !local.hashes.includes(hash)
  ) {
    return undefined;
  }
  return { primaryKeyExchange, secondaryKeyExchange, aead, hash };
}

/**
 * Tells whether this side can satisfy a peer that requires authentication:
 * it needs an identity whose scheme the peer accepts.
 *
 * @param peerRequires Whether the peer requires us to authenticate.
 * @param identity Our identity scheme, if we have an identity.
 * @param peerAccepts The signature ids the peer can verify.
 * @returns `true` when the handshake cannot satisfy the peer.
 *
 * @example
 * ```ts
 * import { cannotSatisfyPeer } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cannotSatisfyPeer(true, undefined, [0x0001]), true);
 * assert.equal(cannotSatisfyPeer(true, "Ed25519", [0x0001]), false);
 * assert.equal(cannotSatisfyPeer(false, undefined, [0x0001]), false);
 * ```
 */
export function cannotSatisfyPeer(
  peerRequires: boolean,
  identity: SignatureName | undefined,
  peerAccepts: readonly number[],
): boolean {
  if (!peerRequires) return false;
  if (identity === undefined) return true;
  return !fromWireIds(SIGNATURES, peerAccepts).includes(identity);
}

/**
 * When a side with an identity reveals it in the authentication phase:
 * `"always"` (default, QuantumGate's behaviour: the responder proves first),
 * `"whenRequired"` only when the peer requires authentication, `"afterPeer"`
 * only to a peer that has already authenticated (so a responder, which goes
 * first, never reveals it).
 */
export type IdentityDisclosure = "always" | "whenRequired" | "afterPeer";

/**
 * Decides whether this side reveals its identity now. Whatever the mode, an
 * identity whose scheme the peer does not accept is withheld: the peer could
 * only fail it, so a peer that does not require authentication gets an
 * anonymous side instead (and one that requires it gave up in the meta
 * exchange already, see {@linkcode cannotSatisfyPeer}).
 *
 * @param mode The local disclosure policy.
 * @param facts What is known of the peer so far.
 * @returns `true` to send the identity and its proof.
 *
 * @example
 * ```ts
 * import { shouldDiscloseIdentity } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * const facts = { accepts: true, requires: false, authenticated: false };
 * assert.equal(shouldDiscloseIdentity("always", facts), true);
 * assert.equal(shouldDiscloseIdentity("whenRequired", facts), false);
 * assert.equal(shouldDiscloseIdentity("always", { ...facts, accepts: false }), false);
 * ```
 */
export function shouldDiscloseIdentity(
  mode: IdentityDisclosure,
  facts: {
    /** The peer accepts our identity scheme (its meta-exchange list). */
    readonly accepts: boolean;
    /** The peer requires us to authenticate. */
    readonly requires: boolean;
    /** The peer has already authenticated to us. */
    readonly authenticated: boolean;
  },
): boolean {
  if (!facts.accepts) return false;
  switch (mode) {
    case "always":
      return true;
    case "whenRequired":
      return facts.requires;
    case "afterPeer":
      return facts.authenticated;
  }
}

/** What the runtime found when it checked a peer's authentication message. */
export interface PeerVerdict {
  /** The peer sent an identity (public key and proof). */
  readonly presented: boolean;
  /** The proof verifies over the transcript with a scheme we accept. */
  readonly signatureValid: boolean;
  /** The access manager's answer for the peer's UUID and key. */
  readonly access: "allowed" | "denied" | "unknown" | "none";
  /** The peer's UUID, derived from its public key, when presented. */
  readonly uuid?: string;
  /** The peer's identity scheme, when presented. */
  readonly signature?: SignatureName;
}

/**
 * Decides what a verdict means under a local policy.
 *
 * - a proof that does not verify always fails (`ERR_AUTH_FAILED`);
 * - a peer the access manager denies always fails (`ERR_PEER_NOT_ALLOWED`);
 * - with `requireAuthentication`, a peer without identity fails
 *   (`ERR_AUTH_REQUIRED`) and an unknown peer fails (`ERR_PEER_NOT_ALLOWED`);
 * - otherwise the peer is accepted, authenticated only if known and allowed.
 *
 * @param verdict The runtime's findings.
 * @param requireAuthentication The local policy.
 * @returns The failure code, or `undefined` when the peer is accepted.
 *
 * @example
 * ```ts
 * import { judgePeer } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * const anonymous = { presented: false, signatureValid: false, access: "none" } as const;
 * assert.equal(judgePeer(anonymous, false), undefined);
 * assert.equal(judgePeer(anonymous, true), "ERR_AUTH_REQUIRED");
 * ```
 */
export function judgePeer(
  verdict: PeerVerdict,
  requireAuthentication: boolean,
): ErrorCode | undefined {
  if (verdict.presented && !verdict.signatureValid) return ErrorCode.AUTH_FAILED;
  if (verdict.access === "denied") return ErrorCode.PEER_NOT_ALLOWED;
  if (requireAuthentication) {
    if (!verdict.presented) return ErrorCode.AUTH_REQUIRED;
    if (verdict.access !== "allowed") return ErrorCode.PEER_NOT_ALLOWED;
  }
  return undefined;
}

/**
 * Tells whether an accepted verdict makes the peer authenticated.
 *
 * @param verdict The runtime's findings.
 * @returns `true` when the peer proved an identity the access manager allows.
 *
 * @example
 * ```ts
 * import { isPeerAuthenticated } from "./handshake_policy.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   isPeerAuthenticated({ presented: true, signatureValid: true, access: "allowed" }),
 *   true,
 * );
 * ```
 */
export function isPeerAuthenticated(verdict: PeerVerdict): boolean {
  return verdict.presented && verdict.signatureValid && verdict.access === "allowed";
}

/**
 * The catalogue of record-level attacks on a handshake in flight, each with
 * the outcome PROTOCOL.md prescribes for both sides.
 *
 * A mutation damages one record of one direction (the first record carrying
 * a given message kind) through the relay of `_relay.ts`, reading and sealing
 * records with a {@linkcode RecordTracker}. The same catalogue drives the
 * conformance suite's negative cases (live, against any implementation) and
 * the negative known-answer vectors (recorded from qgate, replayed through
 * the runner contract).
 *
 * Expectations name the side that receives the damaged direction (the
 * receiver) and the side that sent it (the sender). The receiver's phase is
 * the phase in which it meets the damage; the sender's phase is left open
 * (it depends on when the close reaches it).
 *
 * @module
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ErrorCode } from "../errors.ts";
import type { Message, MessageKind } from "../codec/message_types.ts";
import { HANDSHAKE_KINDS, type HandshakeKind, PROTOCOL_VERSION } from "../codec/message_types.ts";

export { HANDSHAKE_KINDS, type HandshakeKind };
import { encodeMessage, messageTypeOf } from "../codec/messages.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import { seededRandom } from "../crypto/random.ts";
import type { KeyExchangeName, SignatureName } from "../crypto/types.ts";
import { equalBytes } from "../viz/_standin.ts";
import type { Direction, Emission, RecordContext, RelayScript, TappedRecord } from "./_relay.ts";
import { lengthHeader } from "./_relay.ts";
import { preKeysOf, type RecordTracker, type TrackedRecord } from "./_record_tracker.ts";

/** The five phases before `ready`. */
export type PhaseName =
  | "metaExchange"
  | "primaryKeyExchange"
  | "secondaryKeyExchange"
  | "authentication"
  | "sessionInit";

/** How one side must end. */
export type Expectation =
  | { readonly status: "ready" }
  | { readonly status: "failed"; readonly code: ErrorCode; readonly phase?: PhaseName };

/** The five phases, in protocol order. */
const PHASE_NAMES: readonly PhaseName[] = [
  "metaExchange",
  "primaryKeyExchange",
  "secondaryKeyExchange",
  "authentication",
  "sessionInit",
];

/** The phase a handshake message belongs to. */
export function phaseOfKind(kind: HandshakeKind): PhaseName {
  return PHASE_NAMES[HANDSHAKE_KINDS.indexOf(kind) >> 1]!;
}

/**
 * The phase a statechart state belongs to (`"authentication.verifying"` is
 * in `"authentication"`), or `undefined` outside the five phases.
 */
export function phaseOfState(state: string): PhaseName | undefined {
  const first = state.split(".")[0]!;
  return PHASE_NAMES.find((phase) => phase === first);
}

/** The direction a handshake message travels in (the responder sends every `begin…`). */
export function directionOfKind(kind: HandshakeKind): Direction {
  return kind.startsWith("begin") ? "r2i" : "i2r";
}

/** What a mutation needs to know about a run's configuration. */
export interface MutationConfig {
  readonly initiator: SideConfig;
  readonly responder: SideConfig;
  /** Whether both sides use a Global Shared Secret. */
  readonly gss: boolean;
  /** The suite the run negotiates. */
  readonly primaryKeyExchange: KeyExchangeName;
}

/** One side's policy, as far as mutations care. */
export interface SideConfig {
  readonly identity: SignatureName | undefined;
  readonly requireAuthentication: boolean;
}

/** Material a mutation may use besides the record itself. */
export interface MutationEnvironment {
  /** Reads and seals both directions. */
  readonly tracker: RecordTracker;
  /** Another session with the same configuration: what a replay sends. */
  readonly foreign?: {
    readonly salts: { readonly [D in Direction]: Uint8Array };
    readonly records: { readonly [D in Direction]: readonly TappedRecord[] };
  };
}

/** The damaged record as the mutation sees it. */
export interface MutationTarget {
  readonly record: TappedRecord;
  readonly tracked: TrackedRecord;
  readonly context: RecordContext;
  readonly environment: MutationEnvironment;
}

/** One attack of the catalogue. */
export interface Mutation {
  /** A stable identifier, e.g. `"flip-ciphertext/beginMetaExchange"`. */
  readonly id: string;
  /** What it does, in a sentence. */
  readonly comment: string;
  /** Wycheproof-style flags (the kind of attack). */
  readonly flags: readonly string[];
  /** The message whose record is damaged (its direction follows). */
  readonly target: HandshakeKind;
  /** Whether the mutation applies to a configuration (default: always). */
  readonly applies?: (config: MutationConfig) => boolean;
  /** The receiver waits for the sender's timeout to be longer than its own. */
  readonly timing?: "receiverTimesOut";
  /** What to forward instead of the sender's salt. */
  readonly salt?: (salt: Uint8Array, environment: MutationEnvironment) => Uint8Array;
  /** What happens to the direction's records after the target (default: forwarded). */
  readonly after?: "forward" | "drop";
  /** Sees every record of the damaged direction before the target. */
  readonly observe?: (record: TappedRecord) => void;
  /** What the relay emits instead of the target record. */
  apply(target: MutationTarget): Emission[] | Promise<Emission[]>;
  /** How each side must end. */
  expect(config: MutationConfig): { readonly receiver: Expectation; readonly sender: Expectation };
}

const { DECRYPT_FAILED, TRANSPORT_CLOSED } = ErrorCode;

function failed(code: ErrorCode, phase?: PhaseName): Expectation {
  return phase === undefined ? { status: "failed", code } : { status: "failed", code, phase };
}

/** The sender of the damaged record, when the receiver fails: ready only after its last message. */
function senderEnd(kind: HandshakeKind): Expectation {
  return kind === "endSessionInit" ? { status: "ready" } : failed(TRANSPORT_CLOSED);
}

/** The receiver fails with `code` in the target's phase; the sender learns it from the close. */
function receiverFails(
  kind: HandshakeKind,
  code: ErrorCode,
): () => { receiver: Expectation; sender: Expectation } {
  return (): { receiver: Expectation; sender: Expectation } => ({
    receiver: failed(code, phaseOfKind(kind)),
    sender: senderEnd(kind),
  });
}

/** Valid example messages of every kind but noise: what a wrong-phase attack sends. */
export function exampleMessage(kind: Exclude<MessageKind, "noise">): Message {
  const share = new Uint8Array(32).fill(0x42);
  const id = new Uint8Array(16).fill(0x11);
  switch (kind) {
    case "beginMetaExchange":
      return {
        kind,
        version: { ...PROTOCOL_VERSION },
        sessionId: new Uint8Array(8).fill(3),
        requireAuthentication: false,
        primaryKeyExchanges: [0x0001],
        secondaryKeyExchanges: [0x0102],
        aeads: [0x0001],
        hashes: [0x0001],
        signatures: [0x0001],
      };
    case "endMetaExchange":
      return {
        kind,
        version: { ...PROTOCOL_VERSION },
        sessionId: new Uint8Array(8).fill(4),
        requireAuthentication: false,
        primaryKeyExchange: 0x0001,
        secondaryKeyExchange: 0x0102,
        aead: 0x0001,
        hash: 0x0001,
        signatures: [0x0001],
      };
    case "beginPrimaryKeyExchange":
    case "endPrimaryKeyExchange":
    case "beginSecondaryKeyExchange":
    case "endSecondaryKeyExchange":
      return { kind, share };
    case "beginAuthentication":
    case "endAuthentication":
      return { kind };
    case "beginSessionInit":
    case "endSessionInit":
      return { kind, extenders: [] };
    case "beginKeyUpdate":
    case "endKeyUpdate":
      return { kind, epoch: 3, primaryShare: share, secondaryShare: share };
    case "keyUpdateReady":
      return { kind, epoch: 3 };
    case "extenderData":
      return { kind, extender: id, data: new TextEncoder().encode("early") };
    case "extenderDataContinuation":
      return { kind, data: new TextEncoder().encode("early") };
    case "extenderUpdate":
      return { kind, extenders: [id] };
    case "close":
      return { kind, reason: 0 };
  }
}

/** Seals `message` in place of the target: same direction, epoch and counter. */
function inPlace(
  target: MutationTarget,
  message: Message | { type: number; body: Uint8Array },
): Emission[] {
  const { tracked, environment } = target;
  const parts = environment.tracker.seal(tracked.direction, message, {
    epoch: tracked.epoch,
    counter: tracked.counter,
  });
  return [{ record: parts }];
}

function flipCiphertext(kind: HandshakeKind): Mutation {
  return {
    id: `flip-ciphertext/${kind}`,
    comment: `one bit of the ${kind} ciphertext is flipped`,
    flags: ["Tampering"],
    target: kind,
    apply: ({ record }) => {
      const ciphertext = record.ciphertext.slice();
      ciphertext[ciphertext.length >> 1]! ^= 0x01;
      return [{ record: { header: record.header, ciphertext } }];
    },
    expect: receiverFails(kind, DECRYPT_FAILED),
  };
}

function wrongPhase(kind: HandshakeKind, sent: Exclude<MessageKind, "noise">): Mutation {
  const early = sent === "extenderData" || sent === "extenderUpdate" || sent === "close";
  return {
    id: `wrong-phase/${kind}/${sent}`,
    comment: `a well-sealed ${sent} arrives where ${kind} belongs`,
    flags: early ? ["WrongPhase", "ApplicationDataBeforeReady"] : ["WrongPhase"],
    target: kind,
    apply: (target) => inPlace(target, exampleMessage(sent)),
    expect: receiverFails(kind, ErrorCode.UNEXPECTED_MESSAGE),
  };
}

/** A key share of the run's primary algorithm that is not the sender's. */
async function foreignShare(
  name: KeyExchangeName,
  offer: Uint8Array | undefined,
): Promise<Uint8Array> {
  const exchange = nobleBackend.keyExchange(name)!;
  const random = seededRandom(new TextEncoder().encode(`conformance substitute ${name}`));
  if (offer === undefined || exchange.kind === "dh") {
    const { offer: share, state } = await exchange.offer(random);
    state.dispose();
    return share;
  }
  return (await exchange.answer(offer, random)).answer;
}

function metaRewrite(
  kind: "beginMetaExchange" | "endMetaExchange",
  id: string,
  comment: string,
  flags: readonly string[],
  rewrite: (message: Message) => Message,
  expect: Mutation["expect"],
  applies?: Mutation["applies"],
): Mutation {
  return {
    id,
    comment,
    flags,
    target: kind,
    ...(applies === undefined ? {} : { applies }),
    apply: (target) => {
      const message = target.tracked.message;
      if (message === undefined) return [{ record: target.record }];
      return inPlace(target, rewrite(message));
    },
    expect,
  };
}

/** A key share one byte short: its receiver must refuse it as an invalid peer key. */
function shortShare(
  kind: "beginPrimaryKeyExchange" | "endSecondaryKeyExchange",
  comment: string,
): Mutation {
  return {
    id: `short-share/${kind}`,
    comment,
    flags: ["InvalidKeyShare"],
    target: kind,
    apply: (target) => {
      const message = target.tracked.message;
      const share = message?.kind === kind ? message.share : new Uint8Array(33);
      return inPlace(target, { kind, share: share.subarray(1) });
    },
    expect: receiverFails(kind, ErrorCode.INVALID_PEER_KEY),
  };
}

const NO_GSS = (config: MutationConfig): boolean => !config.gss;

/** Reverses every list of an offer; if that changes nothing, appends an unknown hash id. */
function reversed(message: Message): Message {
  if (message.kind !== "beginMetaExchange") return message;
  const flip = (list: readonly number[]) => [...list].reverse();
  const next = {
    ...message,
    primaryKeyExchanges: flip(message.primaryKeyExchanges),
    secondaryKeyExchanges: flip(message.secondaryKeyExchanges),
    aeads: flip(message.aeads),
    hashes: flip(message.hashes),
  };
  return equalBytes(encodeMessage(next), encodeMessage(message))
    ? { ...next, hashes: [...next.hashes, 0x7777] }
    : next;
}

/** Signs the authentication payload (PROTOCOL.md §8.1) for a stranger's Ed25519 identity. */
function strangerProof(
  role: "initiator" | "responder",
  transcriptHash: Uint8Array,
): { signature: number; publicKey: Uint8Array; proof: Uint8Array } {
  const secretKey = new Uint8Array(32).fill(0x4d);
  const publicKey = ed25519.getPublicKey(secretKey);
  const label = new TextEncoder().encode("qgate/1 authentication");
  const payload = new Uint8Array([
    ...label,
    role === "responder" ? 1 : 2,
    0x00,
    0x01,
    ...publicKey,
    ...transcriptHash,
  ]);
  return { signature: 0x0001, publicKey, proof: ed25519.sign(payload, secretKey) };
}

/**
 * The catalogue, in a stable order. Each entry is deterministic: the same
 * mutation of the same recorded handshake gives the same bytes.
 */
export const MUTATIONS: readonly Mutation[] = [
  ...HANDSHAKE_KINDS.map(flipCiphertext),
  {
    id: "length-too-large/beginMetaExchange",
    comment: "the record's length field is set to 2^23 + its length (above any maximum)",
    flags: ["Framing"],
    target: "beginMetaExchange",
    apply: ({ record }) => {
      const header = record.header.slice();
      header[0]! |= 0x80;
      return [{ record: { header, ciphertext: record.ciphertext } }];
    },
    expect: receiverFails("beginMetaExchange", ErrorCode.FRAME_TOO_LARGE),
  },
  {
    id: "length-too-small/endMetaExchange",
    comment: "the record's length field says 5, below the 17-byte minimum",
    flags: ["Framing"],
    target: "endMetaExchange",
    apply: ({ record }) => [{ record: { header: lengthHeader(5), ciphertext: record.ciphertext } }],
    expect: receiverFails("endMetaExchange", ErrorCode.MALFORMED_MESSAGE),
  },
  {
    id: "truncated/beginPrimaryKeyExchange",
    comment: "half of the record arrives, then the stream ends",
    flags: ["Truncation"],
    target: "beginPrimaryKeyExchange",
    apply: ({ record, context }) => {
      const wire = new Uint8Array([
        ...context.mask(record.header, context.outIndex),
        ...record.ciphertext,
      ]);
      return [{ bytes: wire.subarray(0, wire.length >> 1) }, { end: "close" }];
    },
    expect: receiverFails("beginPrimaryKeyExchange", ErrorCode.FRAME_TRUNCATED),
  },
  {
    id: "closed/endPrimaryKeyExchange",
    comment: "the stream ends cleanly where the record should start",
    flags: ["Truncation", "HalfClosed"],
    target: "endPrimaryKeyExchange",
    apply: () => [{ end: "close" }],
    expect: receiverFails("endPrimaryKeyExchange", TRANSPORT_CLOSED),
  },
  {
    id: "dropped/endAuthentication",
    comment: "the record never arrives; the receiver's phase deadline ends the handshake",
    flags: ["Drop", "Timeout"],
    target: "endAuthentication",
    timing: "receiverTimesOut",
    after: "drop",
    apply: () => [],
    expect: receiverFails("endAuthentication", ErrorCode.TIMEOUT),
  },
  {
    id: "duplicated/beginSecondaryKeyExchange",
    comment: "the record arrives twice; the copy fails under the next counter and epoch",
    flags: ["Replay", "Duplicate"],
    target: "beginSecondaryKeyExchange",
    apply: ({ record }) => [{ record }, { record }],
    expect: () => ({
      receiver: failed(DECRYPT_FAILED, "authentication"),
      sender: failed(TRANSPORT_CLOSED),
    }),
  },
  {
    id: "replayed-stream/beginMetaExchange",
    comment: "the responder's whole direction (salt and records) is replayed from another session",
    flags: ["Replay"],
    target: "beginMetaExchange",
    applies: NO_GSS,
    salt: (salt, environment) => environment.foreign?.salts.r2i ?? salt,
    after: "drop",
    apply: ({ environment, record }) =>
      environment.foreign === undefined
        ? [{ record }]
        : environment.foreign.records.r2i.map((old) => ({ record: old })),
    expect: () => ({
      receiver: failed(DECRYPT_FAILED, "secondaryKeyExchange"),
      sender: failed(TRANSPORT_CLOSED),
    }),
  },
  {
    id: "replayed-record/endPrimaryKeyExchange",
    comment: "the record is replaced by the same record of another session",
    flags: ["Replay"],
    target: "endPrimaryKeyExchange",
    apply: ({ environment, record }) => {
      const records = environment.foreign?.records.i2r ?? [];
      const old = records[Math.min(record.index, records.length - 1)];
      return [{ record: old ?? record }];
    },
    expect: receiverFails("endPrimaryKeyExchange", DECRYPT_FAILED),
  },
  wrongPhase("beginMetaExchange", "beginPrimaryKeyExchange"),
  wrongPhase("beginMetaExchange", "extenderData"),
  wrongPhase("endMetaExchange", "endPrimaryKeyExchange"),
  wrongPhase("endMetaExchange", "close"),
  wrongPhase("beginPrimaryKeyExchange", "beginMetaExchange"),
  wrongPhase("endPrimaryKeyExchange", "endMetaExchange"),
  wrongPhase("beginSecondaryKeyExchange", "beginPrimaryKeyExchange"),
  wrongPhase("endSecondaryKeyExchange", "keyUpdateReady"),
  wrongPhase("beginAuthentication", "beginSessionInit"),
  wrongPhase("endAuthentication", "extenderData"),
  wrongPhase("beginSessionInit", "beginKeyUpdate"),
  wrongPhase("endSessionInit", "extenderData"),
  metaRewrite(
    "beginMetaExchange",
    "downgrade/beginMetaExchange",
    "every preference list of the offer is reversed (weakest first) and re-sealed under the pre-key",
    ["Downgrade", "ModifiedMetaExchange"],
    reversed,
    () => ({
      receiver: failed(DECRYPT_FAILED, "secondaryKeyExchange"),
      sender: failed(TRANSPORT_CLOSED),
    }),
    NO_GSS,
  ),
  metaRewrite(
    "endMetaExchange",
    "session-id/endMetaExchange",
    "the initiator's session id is changed and the choice re-sealed under the pre-key",
    ["ModifiedMetaExchange"],
    (message) => ({ ...message, sessionId: new Uint8Array(8).fill(0xee) }) as Message,
    // The responder goes on; the initiator meets the diverged transcript first.
    () => ({
      receiver: failed(TRANSPORT_CLOSED),
      sender: failed(DECRYPT_FAILED, "secondaryKeyExchange"),
    }),
    NO_GSS,
  ),
  metaRewrite(
    "beginMetaExchange",
    "version/beginMetaExchange",
    "the offer announces protocol version 2.0",
    ["Version", "ModifiedMetaExchange"],
    (message) => ({ ...message, version: { major: 2, minor: 0 } }) as Message,
    receiverFails("beginMetaExchange", ErrorCode.VERSION_MISMATCH),
    NO_GSS,
  ),
  metaRewrite(
    "endMetaExchange",
    "version/endMetaExchange",
    "the choice announces protocol version 0.9",
    ["Version", "ModifiedMetaExchange"],
    (message) => ({ ...message, version: { major: 0, minor: 9 } }) as Message,
    receiverFails("endMetaExchange", ErrorCode.VERSION_MISMATCH),
    NO_GSS,
  ),
  metaRewrite(
    "beginMetaExchange",
    "nothing-in-common/beginMetaExchange",
    "the offer lists only an unknown AEAD",
    ["Negotiation", "ModifiedMetaExchange"],
    (message) => ({ ...message, aeads: [0x7777] }) as Message,
    receiverFails("beginMetaExchange", ErrorCode.NO_COMMON_ALGORITHM),
    NO_GSS,
  ),
  metaRewrite(
    "endMetaExchange",
    "unoffered-choice/endMetaExchange",
    "the choice names a hash that was never offered",
    ["Negotiation", "ModifiedMetaExchange"],
    (message) => ({ ...message, hash: 0x7777 }) as Message,
    receiverFails("endMetaExchange", ErrorCode.NO_COMMON_ALGORITHM),
    NO_GSS,
  ),
  {
    id: "substituted-share/beginPrimaryKeyExchange",
    comment: "the primary offer is replaced by a valid share of the relay's own",
    flags: ["KeySubstitution"],
    target: "beginPrimaryKeyExchange",
    applies: NO_GSS,
    apply: async (target) =>
      inPlace(target, {
        kind: "beginPrimaryKeyExchange",
        share: await foreignShare(targetPrimary(target), undefined),
      }),
    expect: () => ({
      receiver: failed(DECRYPT_FAILED, "secondaryKeyExchange"),
      sender: failed(TRANSPORT_CLOSED),
    }),
  },
  {
    id: "substituted-share/endPrimaryKeyExchange",
    comment: "the primary answer is replaced by a valid share of the relay's own",
    flags: ["KeySubstitution"],
    target: "endPrimaryKeyExchange",
    applies: NO_GSS,
    apply: async (target) => {
      const offer = target.environment.tracker.opened.find((record) =>
        record.message?.kind === "beginPrimaryKeyExchange"
      )?.message;
      const share = await foreignShare(
        targetPrimary(target),
        offer?.kind === "beginPrimaryKeyExchange" ? offer.share : undefined,
      );
      return inPlace(target, { kind: "endPrimaryKeyExchange", share });
    },
    // The responder finishes with a different secret; the initiator cannot open its next record.
    expect: () => ({
      receiver: failed(TRANSPORT_CLOSED),
      sender: failed(DECRYPT_FAILED, "secondaryKeyExchange"),
    }),
  },
  shortShare("beginPrimaryKeyExchange", "the primary offer is one byte short"),
  {
    id: "zero-share/beginPrimaryKeyExchange",
    comment: "the primary offer is the all-zero (low-order or invalid) point",
    flags: ["InvalidKeyShare"],
    target: "beginPrimaryKeyExchange",
    applies: (config) => nobleBackend.keyExchange(config.primaryKeyExchange)?.kind === "dh",
    apply: (target) => {
      const message = target.tracked.message;
      const length = message?.kind === "beginPrimaryKeyExchange" ? message.share.length : 32;
      return inPlace(target, { kind: "beginPrimaryKeyExchange", share: new Uint8Array(length) });
    },
    expect: receiverFails("beginPrimaryKeyExchange", ErrorCode.INVALID_PEER_KEY),
  },
  shortShare("endSecondaryKeyExchange", "the secondary answer is one byte short"),
  {
    id: "forged-signature/beginAuthentication",
    comment: "one bit of the responder's signature is flipped (sealed with the session keys)",
    flags: ["Authentication"],
    target: "beginAuthentication",
    applies: (config) => config.responder.identity !== undefined,
    apply: (target) => {
      const message = target.tracked.message;
      if (message?.kind !== "beginAuthentication" || message.identity === undefined) {
        return [{ record: target.record }];
      }
      const proof = message.identity.proof.slice();
      proof[0]! ^= 0x01;
      return inPlace(target, { ...message, identity: { ...message.identity, proof } });
    },
    expect: receiverFails("beginAuthentication", ErrorCode.AUTH_FAILED),
  },
  {
    id: "unknown-scheme/beginAuthentication",
    comment:
      "the responder's identity names a signature scheme id nobody assigned (sealed with the session keys)",
    flags: ["Authentication"],
    target: "beginAuthentication",
    applies: (config) => config.responder.identity !== undefined,
    apply: (target) => {
      const message = target.tracked.message;
      if (message?.kind !== "beginAuthentication" || message.identity === undefined) {
        return [{ record: target.record }];
      }
      return inPlace(target, { ...message, identity: { ...message.identity, signature: 0x7f7f } });
    },
    expect: receiverFails("beginAuthentication", ErrorCode.AUTH_FAILED),
  },
  {
    id: "stranger-identity/beginAuthentication",
    comment:
      "the responder's proof is replaced by a valid proof of an identity the initiator does not know",
    flags: ["Authentication", "AccessControl"],
    target: "beginAuthentication",
    applies: (config) => config.initiator.requireAuthentication,
    apply: (target) => {
      const { tracker } = target.environment;
      const transcriptHash = tracker.transcriptHash(tracker.transcriptLength - 1);
      return inPlace(target, {
        kind: "beginAuthentication",
        identity: strangerProof("responder", transcriptHash),
      });
    },
    expect: receiverFails("beginAuthentication", ErrorCode.PEER_NOT_ALLOWED),
  },
  {
    id: "anonymous-proof/endAuthentication",
    comment: "the initiator's proof is replaced by an empty (anonymous) authentication message",
    flags: ["Authentication"],
    target: "endAuthentication",
    applies: (config) => config.responder.requireAuthentication,
    apply: (target) => inPlace(target, { kind: "endAuthentication" }),
    expect: receiverFails("endAuthentication", ErrorCode.AUTH_REQUIRED),
  },
  {
    id: "blind-forgery/beginMetaExchange",
    comment: "an offer sealed under the pre-key of an outsider without the GSS",
    flags: ["Gss", "ModifiedMetaExchange"],
    target: "beginMetaExchange",
    applies: (config) => config.gss,
    apply: ({ context }) => {
      const { preKey } = preKeysOf(context.salt, undefined);
      const body = encodeMessage(exampleMessage("beginMetaExchange"));
      const plaintext = new Uint8Array([
        messageTypeOf("beginMetaExchange"),
        0,
        0,
        0,
        body.length,
        ...body,
      ]);
      const header = lengthHeader(plaintext.length + 16);
      const ciphertext = chacha20poly1305(preKey, new Uint8Array(12), header).encrypt(plaintext);
      return [{ record: { header, ciphertext } }];
    },
    expect: receiverFails("beginMetaExchange", DECRYPT_FAILED),
  },
];

function targetPrimary(target: MutationTarget): KeyExchangeName {
  return target.environment.tracker.suite?.primaryKeyExchange ?? "X25519";
}

/**
 * The relay script that applies one mutation while a tracker reads both
 * directions.
 *
 * @param mutation The mutation.
 * @param environment The tracker and replay material.
 * @returns The script, and a function telling whether the mutation was applied.
 */
export function mutationScript(
  mutation: Mutation,
  environment: MutationEnvironment,
): { script: RelayScript; applied: () => boolean } {
  const direction = directionOfKind(mutation.target);
  let applied = false;
  const script: RelayScript = {
    salt: (lane, salt) => {
      environment.tracker.setSalt(lane, salt);
      return lane === direction && mutation.salt !== undefined
        ? mutation.salt(salt, environment)
        : salt;
    },
    record: async (record, context) => {
      const tracked = environment.tracker.open(record.direction, record.header, record.ciphertext);
      if (record.direction !== direction) return [{ record }];
      if (applied) return mutation.after === "drop" ? [] : [{ record }];
      if (tracked?.message?.kind !== mutation.target) {
        mutation.observe?.(record);
        return [{ record }];
      }
      applied = true;
      return await mutation.apply({ record, tracked, context, environment });
    },
  };
  return { script, applied: () => applied };
}

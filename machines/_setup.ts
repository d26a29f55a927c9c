/**
 * The vocabulary and the named implementations shared by every handshake
 * statechart: context, events, emitted commands, guards, actions, delays.
 *
 * Every phase file builds its states with {@linkcode handshakeSetup}, so one
 * phase can run as a machine of its own or as a child state of the handshake.
 * Machines hold no secret bytes and do no I/O: they consume events and emit
 * commands that the session runtime executes.
 *
 * @module
 */

import { assertEvent, assign, emit, setup } from "xstate";
import { type ErrorCode, ErrorCode as Codes } from "../src/errors.ts";
import {
  AEADS,
  HASHES,
  KEY_EXCHANGES,
  type SignatureName,
  SIGNATURES,
} from "../src/crypto/types.ts";
import {
  type AuthenticationMessage,
  type BeginMetaExchangeMessage,
  type EndMetaExchangeMessage,
  type KeyShareMessage,
  type Message,
  PROTOCOL_VERSION,
  type SessionInitMessage,
} from "../src/codec/message_types.ts";
import {
  acceptedSuite,
  type AlgorithmPreferences,
  cannotSatisfyPeer,
  chooseSuite,
  isCompatibleVersion,
  isPeerAuthenticated,
  judgePeer,
  type NegotiatedSuite,
  type PeerVerdict,
  toWireIds,
} from "../src/handshake_policy.ts";
import { bytesToHex, hexToBytes } from "../src/_hex.ts";

/** Which end of the connection a peer is. The responder leads every phase. */
export type Role = "initiator" | "responder";

/** The five phases before `ready`. */
export type PhaseName =
  | "metaExchange"
  | "primaryKeyExchange"
  | "secondaryKeyExchange"
  | "authentication"
  | "sessionInit";

/** The key-exchange slots. */
export type KeyExchangeSlot = "primary" | "secondary";

/** What a peer learned about the other side; public facts only. */
export interface PeerFacts {
  /** The peer's UUID, when it presented an identity. */
  readonly uuid?: string;
  /** The peer's identity scheme, when it presented an identity. */
  readonly signature?: SignatureName;
  /** The peer presented an identity whose proof verified. */
  readonly presentedIdentity: boolean;
  /** The peer is authenticated: valid proof and allowed by the access manager. */
  readonly authenticated: boolean;
  /** The peer's session id as hex. */
  readonly sessionId?: string;
  /** The peer requires us to authenticate. */
  readonly requiresAuthentication?: boolean;
  /** The peer's protocol version. */
  readonly version?: { readonly major: number; readonly minor: number };
  /** The peer's extender UUIDs as hex, ascending. */
  readonly extenders?: readonly string[];
  /** The largest application message the peer accepts, as it announced in session init. */
  readonly maxMessageSize?: number;
}

/** Timeouts in milliseconds. */
export interface HandshakeTimeouts {
  /** How long any one waiting state may last. */
  readonly phase: number;
  /** How long the whole handshake may last. */
  readonly handshake: number;
}

/** The input every handshake statechart takes. Public data only. */
export interface HandshakeInput {
  /** This peer's role. */
  readonly role: Role;
  /** This peer's random 8-byte session id, as hex. */
  readonly sessionId: string;
  /** Ordered algorithm preferences. */
  readonly preferences: AlgorithmPreferences;
  /** Whether the peer must authenticate. */
  readonly requireAuthentication: boolean;
  /** Our identity scheme, if we have an identity. */
  readonly identity?: SignatureName;
  /** Our extender UUIDs as hex, ascending. */
  readonly extenders: readonly string[];
  /** The largest application message we accept, announced in session init (default 1 MiB). */
  readonly maxMessageSize?: number;
  /** Timeouts. */
  readonly timeouts: HandshakeTimeouts;
  /** Set when a phase machine runs alone after an earlier phase (tests, exploration). */
  readonly suite?: NegotiatedSuite;
  /**
   * `"datagram"` when records can be lost or reordered: waiting states then
   * retransmit this side's last flight with exponential backoff. Default `"stream"`.
   */
  readonly transport?: "stream" | "datagram";
  /** First and longest retransmission delay in ms on datagram transports (default 250 / 4,000). */
  readonly retransmit?: { readonly initial: number; readonly max: number };
}

/** Default retransmission backoff on datagram transports, in ms. */
export const DEFAULT_RETRANSMIT: { readonly initial: number; readonly max: number } = {
  initial: 250,
  max: 4_000,
};

/** Why a handshake failed. */
export interface HandshakeFailure {
  /** The stable code. */
  readonly code: ErrorCode;
  /** The phase that was active. */
  readonly phase: PhaseName;
}

/** The statechart's context: public protocol state only, JSON-serialisable. */
export interface HandshakeContext {
  readonly role: Role;
  readonly sessionId: string;
  readonly preferences: AlgorithmPreferences;
  readonly requireAuthentication: boolean;
  readonly identity: SignatureName | undefined;
  readonly extenders: readonly string[];
  /** What session init announces as our largest application message; `undefined`: the default. */
  readonly maxMessageSize: number | undefined;
  readonly timeouts: HandshakeTimeouts;
  /** Whether records can be lost or reordered (datagram transports). */
  readonly datagram: boolean;
  /** Retransmission backoff bounds in ms. */
  readonly retransmit: { readonly initial: number; readonly max: number };
  /** Retransmissions so far in the current phase. */
  readonly retransmits: number;
  /** The phase currently running. */
  readonly phase: PhaseName;
  /** The negotiated suite, once the meta exchange settled it. */
  readonly suite: NegotiatedSuite | undefined;
  /** Facts about the peer. */
  readonly peer: PeerFacts;
  /** Set when the handshake failed. */
  readonly failure: HandshakeFailure | undefined;
}

/** A decoded handshake message from the peer, as an event `peer.<kind>`. */
export type PeerEvent =
  | { readonly type: "peer.beginMetaExchange"; readonly message: BeginMetaExchangeMessage }
  | { readonly type: "peer.endMetaExchange"; readonly message: EndMetaExchangeMessage }
  | {
    readonly type: "peer.beginPrimaryKeyExchange";
    readonly message: KeyShareMessage<"beginPrimaryKeyExchange">;
  }
  | {
    readonly type: "peer.endPrimaryKeyExchange";
    readonly message: KeyShareMessage<"endPrimaryKeyExchange">;
  }
  | {
    readonly type: "peer.beginSecondaryKeyExchange";
    readonly message: KeyShareMessage<"beginSecondaryKeyExchange">;
  }
  | {
    readonly type: "peer.endSecondaryKeyExchange";
    readonly message: KeyShareMessage<"endSecondaryKeyExchange">;
  }
  | {
    readonly type: "peer.beginAuthentication";
    readonly message: AuthenticationMessage<"beginAuthentication">;
  }
  | {
    readonly type: "peer.endAuthentication";
    readonly message: AuthenticationMessage<"endAuthentication">;
  }
  | {
    readonly type: "peer.beginSessionInit";
    readonly message: SessionInitMessage<"beginSessionInit">;
  }
  | { readonly type: "peer.endSessionInit"; readonly message: SessionInitMessage<"endSessionInit"> }
  | { readonly type: "peer.other"; readonly message: Message };

/**
 * Results of work the runtime did on the machine's request. Work whose
 * result the statechart does not need to decide anything (an offer, an
 * answer, a proof to send) reports only its failure.
 */
export type CryptoEvent =
  | { readonly type: "crypto.verified"; readonly verdict: PeerVerdict }
  | {
    readonly type: "crypto.failed";
    readonly code: ErrorCode;
    /** The phase whose command failed, when the statechart has moved on since. */
    readonly phase?: PhaseName;
  };

/** Events from the transport and the local API. */
export type ControlEvent =
  | {
    /**
     * A handshake message arrived again (datagram transports only).
     * `ofLastTrigger`: it is the message our last flight answered, so the peer
     * has not received that flight.
     */
    readonly type: "peer.duplicate";
    readonly ofLastTrigger: boolean;
  }
  | { readonly type: "transport.closed" }
  | { readonly type: "transport.invalidRecord"; readonly code: ErrorCode }
  | { readonly type: "local.abort" };

/** Every event a handshake statechart accepts. */
export type HandshakeEvent = PeerEvent | CryptoEvent | ControlEvent;

/**
 * Commands the statechart emits for the runtime, in the order they must run.
 * A command that fails stops the ones after it; the runtime then reports
 * `crypto.failed`.
 */
export type HandshakeCommand =
  | { readonly type: "frame.send"; readonly message: Message }
  | { readonly type: "negotiation.settled"; readonly suite: NegotiatedSuite }
  | {
    /** Make a fresh offer (or take the prepared one) and send it as `kind`. */
    readonly type: "keyExchange.offer";
    readonly slot: KeyExchangeSlot;
    readonly kind: "beginPrimaryKeyExchange" | "beginSecondaryKeyExchange";
  }
  | {
    /**
     * Start computing the offer of a later exchange now (an optimisation:
     * asynchronous crypto then overlaps the round trip in between).
     */
    readonly type: "keyExchange.prepare";
    readonly slot: KeyExchangeSlot;
  }
  | {
    /** Answer the peer's offer `share` and send the answer as `kind`. */
    readonly type: "keyExchange.answer";
    readonly slot: KeyExchangeSlot;
    readonly share: Uint8Array;
    readonly kind: "endPrimaryKeyExchange" | "endSecondaryKeyExchange";
  }
  | {
    /** Derive the shared secret from the peer's answer `share`. */
    readonly type: "keyExchange.finish";
    readonly slot: KeyExchangeSlot;
    readonly share: Uint8Array;
  }
  | { readonly type: "keys.install"; readonly stage: KeyExchangeSlot }
  | {
    /** Send `kind`: with a proof over the transcript if this side has an identity, empty if not. */
    readonly type: "identity.prove";
    readonly kind: "beginAuthentication" | "endAuthentication";
  }
  | {
    readonly type: "identity.verify";
    readonly message: AuthenticationMessage<"beginAuthentication" | "endAuthentication">;
  }
  | { readonly type: "flight.retransmit" }
  | { readonly type: "handshake.ready" }
  | { readonly type: "handshake.failed"; readonly failure: HandshakeFailure };

/** A statechart's output when it reaches a final state. */
export type HandshakeOutput =
  | {
    readonly status: "ready";
    readonly suite: NegotiatedSuite | undefined;
    readonly peer: PeerFacts;
  }
  | { readonly status: "failed"; readonly failure: HandshakeFailure };

const KEY_SHARE_KINDS = {
  primary: { begin: "beginPrimaryKeyExchange", end: "endPrimaryKeyExchange" },
  secondary: { begin: "beginSecondaryKeyExchange", end: "endSecondaryKeyExchange" },
} as const;

function metaFields(context: HandshakeContext): {
  version: { major: number; minor: number };
  sessionId: Uint8Array;
  requireAuthentication: boolean;
  signatures: number[];
} {
  return {
    version: { ...PROTOCOL_VERSION },
    sessionId: hexToBytes(context.sessionId),
    requireAuthentication: context.requireAuthentication,
    signatures: toWireIds(SIGNATURES, context.preferences.signatures),
  };
}

function metaPeerFacts(
  peer: PeerFacts,
  message: BeginMetaExchangeMessage | EndMetaExchangeMessage,
): PeerFacts {
  return {
    ...peer,
    sessionId: bytesToHex(message.sessionId),
    requiresAuthentication: message.requireAuthentication,
    version: { major: message.version.major, minor: message.version.minor },
  };
}

type MetaEvent = Extract<
  HandshakeEvent,
  { type: "peer.beginMetaExchange" | "peer.endMetaExchange" }
>;

function isMetaEvent(event: HandshakeEvent): event is MetaEvent {
  return event.type === "peer.beginMetaExchange" || event.type === "peer.endMetaExchange";
}

/**
 * The one `setup()` every handshake statechart is built from. Guards are
 * pure; actions only assign public facts or emit commands.
 */
export const handshakeSetup = setup({
  types: {
    context: {} as HandshakeContext,
    events: {} as HandshakeEvent,
    input: {} as HandshakeInput,
    output: {} as HandshakeOutput,
    emitted: {} as HandshakeCommand,
  },
  delays: {
    phaseTimeout: ({ context }: { context: HandshakeContext }) => context.timeouts.phase,
    handshakeTimeout: ({ context }: { context: HandshakeContext }) => context.timeouts.handshake,
    retransmitDelay: ({ context }: { context: HandshakeContext }) =>
      Math.min(context.retransmit.initial * 2 ** context.retransmits, context.retransmit.max),
  },
  guards: {
    isResponder: ({ context }) => context.role === "responder",
    isInitiator: ({ context }) => context.role === "initiator",
    isDatagram: ({ context }) => context.datagram,
    isRetransmitRequest: ({ context, event }) =>
      context.datagram && event.type === "peer.duplicate" && event.ofLastTrigger,
    isVersionIncompatible: ({ event }) =>
      isMetaEvent(event) && !isCompatibleVersion(event.message.version),
    hasNoCommonSuite: ({ context, event }) =>
      event.type === "peer.beginMetaExchange" &&
      chooseSuite(event.message, context.preferences) === undefined,
    isChoiceNotOffered: ({ context, event }) =>
      event.type === "peer.endMetaExchange" &&
      acceptedSuite(event.message, context.preferences) === undefined,
    cannotSatisfyPeer: ({ context, event }) =>
      isMetaEvent(event) &&
      cannotSatisfyPeer(
        event.message.requireAuthentication,
        context.identity,
        event.message.signatures,
      ),
    isPeerRejected: ({ context, event }) =>
      event.type === "crypto.verified" &&
      judgePeer(event.verdict, context.requireAuthentication) !== undefined,
  },
  actions: {
    enterPhase: assign((_, params: { phase: PhaseName }) => ({
      phase: params.phase,
      retransmits: 0,
    })),
    retransmitFlight: emit({ type: "flight.retransmit" as const }),
    countRetransmit: assign(({ context }) => ({ retransmits: context.retransmits + 1 })),
    failWith: assign(({ context }, params: { code: ErrorCode }) => ({
      failure: { code: params.code, phase: context.phase },
    })),
    failWithEventCode: assign(({ context, event }) => {
      assertEvent(event, ["crypto.failed", "transport.invalidRecord"]);
      const phase = event.type === "crypto.failed" ? event.phase ?? context.phase : context.phase;
      return { failure: { code: event.code, phase } };
    }),
    failWithPeerVerdict: assign(({ context, event }) => {
      assertEvent(event, "crypto.verified");
      const code = judgePeer(event.verdict, context.requireAuthentication) ?? Codes.AUTH_FAILED;
      return { failure: { code, phase: context.phase } };
    }),
    announceFailure: emit(({ context }) => ({
      type: "handshake.failed" as const,
      failure: context.failure ?? { code: Codes.UNEXPECTED_MESSAGE, phase: context.phase },
    })),
    announceReady: emit({ type: "handshake.ready" as const }),

    sendBeginMetaExchange: emit(({ context }) => ({
      type: "frame.send" as const,
      message: {
        kind: "beginMetaExchange",
        ...metaFields(context),
        primaryKeyExchanges: toWireIds(KEY_EXCHANGES, context.preferences.primaryKeyExchanges),
        secondaryKeyExchanges: toWireIds(KEY_EXCHANGES, context.preferences.secondaryKeyExchanges),
        aeads: toWireIds(AEADS, context.preferences.aeads),
        hashes: toWireIds(HASHES, context.preferences.hashes),
      } satisfies BeginMetaExchangeMessage,
    })),
    chooseSuite: assign(({ context, event }) => {
      assertEvent(event, "peer.beginMetaExchange");
      return {
        suite: chooseSuite(event.message, context.preferences),
        peer: metaPeerFacts(context.peer, event.message),
      };
    }),
    sendEndMetaExchange: emit(({ context }) => {
      const suite = context.suite!;
      return {
        type: "frame.send" as const,
        message: {
          kind: "endMetaExchange",
          ...metaFields(context),
          primaryKeyExchange: toWireIds(KEY_EXCHANGES, [suite.primaryKeyExchange])[0]!,
          secondaryKeyExchange: toWireIds(KEY_EXCHANGES, [suite.secondaryKeyExchange])[0]!,
          aead: toWireIds(AEADS, [suite.aead])[0]!,
          hash: toWireIds(HASHES, [suite.hash])[0]!,
        } satisfies EndMetaExchangeMessage,
      };
    }),
    acceptChoice: assign(({ context, event }) => {
      assertEvent(event, "peer.endMetaExchange");
      return {
        suite: acceptedSuite(event.message, context.preferences),
        peer: metaPeerFacts(context.peer, event.message),
      };
    }),
    settleNegotiation: emit(({ context }) => ({
      type: "negotiation.settled" as const,
      suite: context.suite!,
    })),

    requestOffer: emit((_, params: { slot: KeyExchangeSlot }) => ({
      type: "keyExchange.offer" as const,
      slot: params.slot,
      kind: KEY_SHARE_KINDS[params.slot].begin,
    })),
    prepareOffer: emit((_, params: { slot: KeyExchangeSlot }) => ({
      type: "keyExchange.prepare" as const,
      slot: params.slot,
    })),
    requestAnswer: emit(({ event }, params: { slot: KeyExchangeSlot }) => {
      assertEvent(event, ["peer.beginPrimaryKeyExchange", "peer.beginSecondaryKeyExchange"]);
      return {
        type: "keyExchange.answer" as const,
        slot: params.slot,
        share: event.message.share,
        kind: KEY_SHARE_KINDS[params.slot].end,
      };
    }),
    requestFinish: emit(({ event }, params: { slot: KeyExchangeSlot }) => {
      assertEvent(event, ["peer.endPrimaryKeyExchange", "peer.endSecondaryKeyExchange"]);
      return { type: "keyExchange.finish" as const, slot: params.slot, share: event.message.share };
    }),
    installKeys: emit((_, params: { stage: KeyExchangeSlot }) => ({
      type: "keys.install" as const,
      stage: params.stage,
    })),

    sendProof: emit((_, params: { kind: "beginAuthentication" | "endAuthentication" }) => ({
      type: "identity.prove" as const,
      kind: params.kind,
    })),
    requestVerification: emit(({ event }) => {
      assertEvent(event, ["peer.beginAuthentication", "peer.endAuthentication"]);
      return { type: "identity.verify" as const, message: event.message };
    }),
    recordPeerVerdict: assign(({ context, event }) => {
      assertEvent(event, "crypto.verified");
      const { verdict } = event;
      const facts: PeerFacts = {
        ...context.peer,
        presentedIdentity: verdict.presented && verdict.signatureValid,
        authenticated: isPeerAuthenticated(verdict),
      };
      return {
        peer: {
          ...facts,
          ...(verdict.uuid === undefined ? {} : { uuid: verdict.uuid }),
          ...(verdict.signature === undefined ? {} : { signature: verdict.signature }),
        },
      };
    }),

    sendExtenders: emit(({ context }, params: { kind: "beginSessionInit" | "endSessionInit" }) => ({
      type: "frame.send" as const,
      message: {
        kind: params.kind,
        extenders: context.extenders.map(hexToBytes),
        ...(context.maxMessageSize === undefined ? {} : { maxMessageSize: context.maxMessageSize }),
      } satisfies SessionInitMessage<typeof params.kind>,
    })),
    recordPeerExtenders: assign(({ context, event }) => {
      assertEvent(event, ["peer.beginSessionInit", "peer.endSessionInit"]);
      const { maxMessageSize } = event.message;
      return {
        peer: {
          ...context.peer,
          extenders: event.message.extenders.map(bytesToHex),
          ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
        },
      };
    }),
  },
});

/**
 * Builds the initial context from the input.
 *
 * @param input The machine input.
 * @returns The context.
 */
export function createHandshakeContext({ input }: { input: HandshakeInput }): HandshakeContext {
  return {
    role: input.role,
    sessionId: input.sessionId,
    preferences: input.preferences,
    requireAuthentication: input.requireAuthentication,
    identity: input.identity,
    extenders: input.extenders,
    maxMessageSize: input.maxMessageSize,
    timeouts: input.timeouts,
    datagram: input.transport === "datagram",
    retransmit: input.retransmit ?? DEFAULT_RETRANSMIT,
    retransmits: 0,
    phase: "metaExchange",
    suite: input.suite,
    peer: { presentedIdentity: false, authenticated: false },
    failure: undefined,
  };
}

/**
 * Builds the output of a final state.
 *
 * @param args The final context.
 * @returns `ready` with the suite and peer facts, or `failed` with the reason.
 */
export function handshakeOutput({ context }: { context: HandshakeContext }): HandshakeOutput {
  return context.failure === undefined
    ? { status: "ready", suite: context.suite, peer: context.peer }
    : { status: "failed", failure: context.failure };
}

/** A failure transition target with its reason code, for `on` and `after` blocks. */
export function failTo(code: ErrorCode): {
  readonly target: "#failed";
  readonly actions: { readonly type: "failWith"; readonly params: { readonly code: ErrorCode } };
} {
  return { target: "#failed", actions: { type: "failWith", params: { code } } };
}

/**
 * How a statechart is built for its transport: streams deliver every record
 * once and in order, so nothing there retransmits (no timer that cannot fire
 * is ever scheduled); datagrams may lose, repeat and reorder records.
 */
export type TransportVariant = "stream" | "datagram";

const COMMON_ROOT = {
  "peer.*": failTo(Codes.UNEXPECTED_MESSAGE),
  "transport.closed": failTo(Codes.TRANSPORT_CLOSED),
  "local.abort": failTo(Codes.ABORTED),
  "transport.invalidRecord": { target: "#failed", actions: "failWithEventCode" },
  "crypto.failed": { target: "#failed", actions: "failWithEventCode" },
} as const;

const DATAGRAM_ROOT = {
  // On datagram transports a repeated message is normal: answer it with our
  // last flight when it shows the peer missed that flight, ignore it otherwise.
  "peer.duplicate": [
    { guard: "isRetransmitRequest", actions: "retransmitFlight" },
    { guard: "isDatagram" },
    failTo(Codes.UNEXPECTED_MESSAGE),
  ],
  ...COMMON_ROOT,
} as const;

/**
 * The root-level transitions every handshake statechart shares: any peer
 * message no state handles is unexpected; transport trouble, crypto failures
 * and aborts end the handshake; on datagrams a repeated message may ask for
 * this side's last flight again.
 *
 * @param variant The transport the statechart is built for.
 * @returns An `on` block.
 */
export function rootTransitions(
  variant: TransportVariant,
): typeof COMMON_ROOT | typeof DATAGRAM_ROOT {
  return variant === "datagram" ? DATAGRAM_ROOT : COMMON_ROOT;
}

/** The `after` block of a waiting state on datagrams. */
interface RetransmitAfter<State extends string> {
  readonly retransmitDelay: {
    readonly guard: "isDatagram";
    readonly target: State;
    readonly reenter: true;
    readonly actions: readonly ["retransmitFlight", "countRetransmit"];
  };
}

/**
 * The `after` block of a state that waits for the peer: on datagram
 * transports it re-sends this side's last flight with exponential backoff;
 * on streams it is empty.
 *
 * @param state The waiting state's own name (it re-enters itself).
 * @param variant The transport the statechart is built for.
 * @returns An `after` block.
 */
export function retransmitWhileWaiting<const State extends string>(
  state: State,
  variant: TransportVariant,
): Partial<RetransmitAfter<State>> {
  if (variant === "stream") return {};
  return {
    retransmitDelay: {
      guard: "isDatagram",
      target: state,
      reenter: true,
      actions: ["retransmitFlight", "countRetransmit"],
    },
  };
}

/** The phase-level deadline every phase shares. */
export const PHASE_TIMEOUT = { phaseTimeout: failTo(Codes.TIMEOUT) } as const;

/** The failed final state every handshake statechart shares. */
export const FAILED_STATE = {
  id: "failed",
  type: "final",
  entry: "announceFailure",
} as const;

/** One phase's states, as built with {@linkcode handshakeSetup}'s `createStateConfig`. */
type PhaseConfig = Parameters<typeof handshakeSetup.createStateConfig>[0];

/**
 * Wraps one phase into a statechart of its own that ends in `completed` or
 * `failed`, for tests, diagrams and exploration of that phase alone.
 *
 * @param id The phase name, also the machine id.
 * @param phase The phase's states, built for `variant`.
 * @param variant The transport the phase was built for (streams by default).
 * @returns The standalone statechart.
 */
// deno-lint-ignore explicit-function-return-type
export function standalonePhase(
  id: PhaseName,
  phase: PhaseConfig,
  variant: TransportVariant = "stream",
) {
  return handshakeSetup.createMachine({
    id,
    context: createHandshakeContext,
    initial: id,
    on: rootTransitions(variant),
    output: handshakeOutput,
    states: {
      [id]: { ...phase, onDone: "completed" },
      completed: { type: "final" },
      failed: FAILED_STATE,
    },
  });
}

/**
 * The vocabulary and the named implementations shared by the statecharts of
 * the ready phase: the session after the handshake (`ready.ts`) and the
 * key-update cycle it runs (`key_update.ts`).
 *
 * Like the handshake statecharts, they hold no secrets and do no I/O: they
 * consume events (decoded messages, crypto results, timers, local requests)
 * and emit commands that the runtime executes.
 *
 * @module
 */

import { and, assertEvent, assign, emit, not, setup, stateIn } from "xstate";
import { type ErrorCode, ErrorCode as Codes } from "../src/errors.ts";
import type {
  BeginKeyUpdateMessage,
  CloseMessage,
  EndKeyUpdateMessage,
  ExtenderDataContinuationMessage,
  ExtenderDataMessage,
  ExtenderUpdateMessage,
  KeyUpdateReadyMessage,
  Message,
} from "../src/codec/message_types.ts";
import { DEFAULT_RETRANSMIT, type Role, type TransportVariant } from "./_setup.ts";

/** Input of the ready-phase statecharts. */
export interface ReadyInput {
  /** This peer's role; it breaks ties between simultaneous key updates. */
  readonly role: Role;
  /** The epoch in use when the ready phase starts (2 after the handshake). */
  readonly epoch: number;
  /** Milliseconds until the first timed key update. */
  readonly interval: number;
  /** Longest a key update may take, in ms. */
  readonly maxDuration: number;
  /** Longest this side waits for the peer's Close after sending its own, in ms. */
  readonly closeTimeout?: number;
  /**
   * `"datagram"` when records can be lost or reordered: waiting states
   * retransmit, and the answering side of a key update keeps sending with the
   * old keys until `KeyUpdateReady` proves the starter holds the new ones.
   * Default `"stream"`.
   */
  readonly transport?: "stream" | "datagram";
  /** Retransmission backoff bounds in ms on datagram transports. */
  readonly retransmit?: { readonly initial: number; readonly max: number };
  /**
   * Datagrams: how long, after both Close messages crossed, this side still
   * answers a repeated Close (its own may have been lost), in ms. Default
   * twice the longest retransmission delay.
   */
  readonly linger?: number;
}

/** Public state of the ready phase. */
export interface ReadyContext {
  readonly role: Role;
  /** The epoch both directions use when no key update runs. */
  readonly epoch: number;
  /** Milliseconds until the next timed key update. */
  readonly interval: number;
  readonly maxDuration: number;
  readonly closeTimeout: number;
  readonly linger: number;
  readonly datagram: boolean;
  readonly retransmit: { readonly initial: number; readonly max: number };
  /** Retransmissions during the current key update or close. */
  readonly retransmits: number;
  /** Key updates completed so far. */
  readonly completed: number;
  /** Set once this side has sent its Close: it sends nothing more. */
  readonly closing: boolean;
  /** How the session ended, once it did. */
  readonly outcome: ReadyOutcome | undefined;
}

/** How the ready phase ended. */
export type ReadyOutcome =
  | {
    /** Both Close messages crossed; `code` is `ERR_PEER_ALERT` if the peer's said "error". */
    readonly status: "closed";
    readonly code: ErrorCode | undefined;
  }
  | { readonly status: "failed"; readonly code: ErrorCode };

/** How many times a lingering side answers a repeated message with its Close. */
export const LINGER_ANSWERS = 3;

/** Default wait for the peer's Close, in ms. */
export const DEFAULT_CLOSE_TIMEOUT = 10_000;

/** Events the ready-phase statecharts accept. */
export type ReadyEvent =
  | { readonly type: "peer.extenderData"; readonly message: ExtenderDataMessage }
  | {
    /** The next chunk of the application message an `extenderData` started. */
    readonly type: "peer.extenderDataContinuation";
    readonly message: ExtenderDataContinuationMessage;
  }
  | { readonly type: "peer.extenderUpdate"; readonly message: ExtenderUpdateMessage }
  | { readonly type: "peer.close"; readonly message: CloseMessage }
  | { readonly type: "peer.beginKeyUpdate"; readonly message: BeginKeyUpdateMessage }
  | { readonly type: "peer.endKeyUpdate"; readonly message: EndKeyUpdateMessage }
  | { readonly type: "peer.keyUpdateReady"; readonly message: KeyUpdateReadyMessage }
  | { readonly type: "peer.other"; readonly message: Message }
  | { readonly type: "peer.duplicate"; readonly ofLastTrigger: boolean }
  | { readonly type: "local.requestUpdate" }
  | { readonly type: "local.close" }
  | { readonly type: "local.abort" }
  | { readonly type: "local.fail"; readonly code: ErrorCode }
  | {
    readonly type: "crypto.updateOffered";
    readonly primaryShare: Uint8Array;
    readonly secondaryShare: Uint8Array;
  }
  | {
    readonly type: "crypto.updateAnswered";
    readonly primaryShare: Uint8Array;
    readonly secondaryShare: Uint8Array;
    readonly nextInterval: number;
  }
  | { readonly type: "crypto.updateFinished"; readonly nextInterval: number }
  | { readonly type: "crypto.failed"; readonly code: ErrorCode }
  | { readonly type: "transport.closed" }
  | { readonly type: "transport.invalidRecord"; readonly code: ErrorCode }
  | {
    /** Lingering on datagrams, with the keys wiped: something arrived from the peer. */
    readonly type: "transport.datagram";
  };

/** Commands the ready-phase statecharts emit, in the order they must run. */
export type ReadyCommand =
  | { readonly type: "frame.send"; readonly message: Message }
  | {
    /** Application data (whole, or a chunk the runtime puts together with the others). */
    readonly type: "message.deliver";
    readonly message: ExtenderDataMessage | ExtenderDataContinuationMessage;
  }
  | { readonly type: "extenders.record"; readonly message: ExtenderUpdateMessage }
  | { readonly type: "keyUpdate.offer"; readonly epoch: number }
  | { readonly type: "keyUpdate.answer"; readonly message: BeginKeyUpdateMessage }
  | { readonly type: "keyUpdate.finish"; readonly message: EndKeyUpdateMessage }
  | { readonly type: "keys.activateSend"; readonly epoch: number }
  | { readonly type: "keys.activateReceive"; readonly epoch: number }
  | { readonly type: "keyUpdate.done"; readonly epoch: number }
  | { readonly type: "flight.retransmit" }
  | {
    /** Send the datagram that carried our Close again, byte for byte (no key needed). */
    readonly type: "close.repeat";
  }
  | {
    /** How the session ended is settled; datagrams may still linger to answer a lost Close. */
    readonly type: "session.settled";
    readonly outcome: ReadyOutcome;
  }
  | { readonly type: "session.ended"; readonly outcome: ReadyOutcome };

/** The ready phase's output: how it ended. */
export type ReadyOutput = ReadyOutcome;

const KEY_UPDATE_KINDS: ReadonlySet<string> = new Set([
  "peer.beginKeyUpdate",
  "peer.endKeyUpdate",
  "peer.keyUpdateReady",
]);

function updateEpochOf(event: ReadyEvent): number | undefined {
  return KEY_UPDATE_KINDS.has(event.type)
    ? (event as { message: { epoch: number } }).message.epoch
    : undefined;
}

/**
 * The one `setup()` the ready-phase statecharts are built from. Guards are
 * pure; actions only assign public facts or emit commands.
 */
export const readySetup = setup({
  types: {
    context: {} as ReadyContext,
    events: {} as ReadyEvent,
    input: {} as ReadyInput,
    output: {} as ReadyOutput,
    emitted: {} as ReadyCommand,
  },
  delays: {
    keyUpdateInterval: ({ context }: { context: ReadyContext }) => context.interval,
    keyUpdateTimeout: ({ context }: { context: ReadyContext }) => context.maxDuration,
    closeTimeout: ({ context }: { context: ReadyContext }) => context.closeTimeout,
    lingerTime: ({ context }: { context: ReadyContext }) => context.linger,
    retransmitDelay: ({ context }: { context: ReadyContext }) =>
      Math.min(context.retransmit.initial * 2 ** context.retransmits, context.retransmit.max),
  },
  guards: {
    isForNextEpoch: ({ context, event }) => updateEpochOf(event) === context.epoch + 1,
    isResponder: ({ context }) => context.role === "responder",
    isDatagram: ({ context }) => context.datagram,
    /** New key updates start only before this side has sent its Close. */
    isOpen: ({ context }) => !context.closing,
    isStale: ({ context, event }) => {
      const epoch = updateEpochOf(event);
      return context.datagram && epoch !== undefined && epoch <= context.epoch;
    },
    isRetransmitRequest: ({ context, event }) =>
      context.datagram && event.type === "peer.duplicate" && event.ofLastTrigger,
    isUpdateIdle: stateIn("#keyUpdateIdle"),
    hasAnswersLeft: ({ context }) => context.retransmits < LINGER_ANSWERS,
  },
  actions: {
    requestOffer: emit(({ context }) => ({
      type: "keyUpdate.offer" as const,
      epoch: context.epoch + 1,
    })),
    sendBegin: emit(({ context, event }) => {
      assertEvent(event, "crypto.updateOffered");
      return {
        type: "frame.send" as const,
        message: {
          kind: "beginKeyUpdate",
          epoch: context.epoch + 1,
          primaryShare: event.primaryShare,
          secondaryShare: event.secondaryShare,
        } satisfies BeginKeyUpdateMessage,
      };
    }),
    requestAnswer: emit(({ event }) => {
      assertEvent(event, "peer.beginKeyUpdate");
      return { type: "keyUpdate.answer" as const, message: event.message };
    }),
    sendEnd: emit(({ context, event }) => {
      assertEvent(event, "crypto.updateAnswered");
      return {
        type: "frame.send" as const,
        message: {
          kind: "endKeyUpdate",
          epoch: context.epoch + 1,
          primaryShare: event.primaryShare,
          secondaryShare: event.secondaryShare,
        } satisfies EndKeyUpdateMessage,
      };
    }),
    requestFinish: emit(({ event }) => {
      assertEvent(event, "peer.endKeyUpdate");
      return { type: "keyUpdate.finish" as const, message: event.message };
    }),
    sendReady: emit(({ context }) => ({
      type: "frame.send" as const,
      message: { kind: "keyUpdateReady", epoch: context.epoch + 1 } satisfies KeyUpdateReadyMessage,
    })),
    activateSend: emit(({ context }) => ({
      type: "keys.activateSend" as const,
      epoch: context.epoch + 1,
    })),
    activateReceive: emit(({ context }) => ({
      type: "keys.activateReceive" as const,
      epoch: context.epoch + 1,
    })),
    announceUpdate: emit(({ context }) => ({
      type: "keyUpdate.done" as const,
      epoch: context.epoch + 1,
    })),
    advanceEpoch: assign(({ context }) => ({
      epoch: context.epoch + 1,
      completed: context.completed + 1,
      retransmits: 0,
    })),
    retransmitFlight: emit({ type: "flight.retransmit" as const }),
    repeatClose: emit({ type: "close.repeat" as const }),
    countRetransmit: assign(({ context }) => ({ retransmits: context.retransmits + 1 })),
    resetRetransmits: assign({ retransmits: 0 }),
    scheduleNext: assign(({ event }) => {
      assertEvent(event, ["crypto.updateFinished", "crypto.updateAnswered"]);
      return { interval: event.nextInterval };
    }),

    deliverMessage: emit(({ event }) => {
      assertEvent(event, ["peer.extenderData", "peer.extenderDataContinuation"]);
      return { type: "message.deliver" as const, message: event.message };
    }),
    recordExtenders: emit(({ event }) => {
      assertEvent(event, "peer.extenderUpdate");
      return { type: "extenders.record" as const, message: event.message };
    }),
    sendClose: emit({
      type: "frame.send" as const,
      message: { kind: "close", reason: 0 } satisfies CloseMessage,
    }),
    markClosing: assign({ closing: true }),
    closeWith: assign(({ event }) => {
      assertEvent(event, "peer.close");
      return {
        outcome: {
          status: "closed",
          code: event.message.reason === 0 ? undefined : Codes.PEER_ALERT,
        } as const,
      };
    }),
    failWith: assign((_, params: { code: ErrorCode }) => ({
      outcome: { status: "failed", code: params.code } as const,
    })),
    failWithEventCode: assign(({ event }) => {
      assertEvent(event, ["crypto.failed", "transport.invalidRecord", "local.fail"]);
      return { outcome: { status: "failed", code: event.code } as const };
    }),
    announceSettled: emit(({ context }) => ({
      type: "session.settled" as const,
      outcome: context.outcome ?? { status: "failed", code: Codes.UNEXPECTED_MESSAGE },
    })),
    announceEnd: emit(({ context }) => ({
      type: "session.ended" as const,
      outcome: context.outcome ?? { status: "failed", code: Codes.UNEXPECTED_MESSAGE },
    })),
  },
});

export { and, not };

/**
 * Builds the initial context from the input.
 *
 * @param args The machine input.
 * @returns The context.
 */
export function createReadyContext({ input }: { input: ReadyInput }): ReadyContext {
  const retransmit = input.retransmit ?? DEFAULT_RETRANSMIT;
  return {
    role: input.role,
    epoch: input.epoch,
    interval: input.interval,
    maxDuration: input.maxDuration,
    closeTimeout: input.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    linger: input.linger ?? 2 * retransmit.max,
    datagram: input.transport === "datagram",
    retransmit,
    retransmits: 0,
    completed: 0,
    closing: false,
    outcome: undefined,
  };
}

/**
 * Builds the output of a final state.
 *
 * @param args The final context.
 * @returns How the phase ended.
 */
export function readyOutput({ context }: { context: ReadyContext }): ReadyOutput {
  return context.outcome ?? { status: "failed", code: Codes.UNEXPECTED_MESSAGE };
}

/** A failure transition target with its reason code, for `on` and `after` blocks. */
export function failTo(code: ErrorCode): {
  readonly target: "#readyFailed";
  readonly actions: { readonly type: "failWith"; readonly params: { readonly code: ErrorCode } };
} {
  return { target: "#readyFailed", actions: { type: "failWith", params: { code } } };
}

/** The failed final state every ready-phase statechart shares. */
export const FAILED_STATE = {
  id: "readyFailed",
  type: "final",
  entry: "announceEnd",
} as const;

/**
 * The transitions every ready-phase statechart shares at its root: repeated
 * messages on datagrams, late copies of finished key updates, anything
 * unexpected, and the ends that do not come from the peer's Close.
 */
export const READY_ROOT_TRANSITIONS = {
  // On datagram transports a repeated message is normal: answer it with our
  // last flight when it shows the peer missed that flight, ignore it otherwise.
  "peer.duplicate": [
    { guard: "isRetransmitRequest", actions: "retransmitFlight" },
    { guard: "isDatagram" },
    failTo(Codes.UNEXPECTED_MESSAGE),
  ],
  // A late copy of a key update that is already over (a loser's start that was
  // retransmitted, reordered datagrams) is ignored on datagrams.
  "peer.*": [{ guard: "isStale" }, failTo(Codes.UNEXPECTED_MESSAGE)],
  "crypto.failed": { target: "#readyFailed", actions: "failWithEventCode" },
  "transport.invalidRecord": { target: "#readyFailed", actions: "failWithEventCode" },
  "transport.closed": failTo(Codes.TRANSPORT_CLOSED),
  "local.abort": failTo(Codes.ABORTED),
  "local.fail": { target: "#readyFailed", actions: "failWithEventCode" },
} as const;

/**
 * The `after` block of a waiting state that retransmits on datagrams. On a
 * stream nothing is lost, so no retransmission timer is scheduled at all.
 *
 * @param target The waiting state, re-entered after each retransmission.
 * @param variant The transport the statechart is built for.
 * @returns The `after` block: empty on streams.
 */
export function retransmitAfter<const Target extends string>(
  target: Target,
  variant: TransportVariant,
): {
  retransmitDelay?: {
    readonly guard: "isDatagram";
    readonly target: Target;
    readonly reenter: true;
    readonly actions: readonly ["retransmitFlight", "countRetransmit"];
  };
} {
  if (variant === "stream") return {};
  return {
    retransmitDelay: {
      guard: "isDatagram",
      target,
      reenter: true,
      actions: ["retransmitFlight", "countRetransmit"],
    },
  };
}

/** Shorthand guards built from the named ones. */
export const GUARDS = {
  nextEpochWhileOpen: and(["isForNextEpoch", "isOpen"]),
  datagramNextEpoch: and(["isDatagram", "isForNextEpoch"]),
  closingOnly: not("isOpen"),
} as const;

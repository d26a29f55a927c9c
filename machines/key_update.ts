/**
 * The key-update cycle that runs once the handshake is ready: either side
 * rotates the session keys by mixing a fresh classical AND a fresh
 * post-quantum secret into the chaining key, so no window is ever protected
 * by classical keys alone.
 *
 * ```
 * starter -> BeginKeyUpdate(epoch, classical offer, post-quantum offer)   old keys
 * other   -> EndKeyUpdate(epoch, classical answer, post-quantum answer)   old keys; other now sends new
 * starter -> KeyUpdateReady(epoch)                                        old keys; starter now sends new
 * ```
 *
 * Each side switches its receive keys exactly where the peer switched its
 * send keys: the starter right after reading `EndKeyUpdate`, the other
 * right after reading `KeyUpdateReady`.
 *
 * Simultaneous starts are resolved deterministically: the responder's
 * update wins. A responder that receives the initiator's `BeginKeyUpdate`
 * while waiting for its own answer ignores it; the initiator abandons its
 * own update and answers the responder's.
 *
 * An update that does not finish within `maxDuration` fails with
 * `ERR_TIMEOUT`; a key-update message out of place or for the wrong epoch
 * fails with `ERR_UNEXPECTED_MESSAGE`.
 *
 * @module
 */

import { and, assertEvent, assign, emit, setup } from "xstate";
import { type ErrorCode, ErrorCode as Codes } from "../src/errors.ts";
import type {
  BeginKeyUpdateMessage,
  EndKeyUpdateMessage,
  KeyUpdateReadyMessage,
  Message,
} from "../src/codec/message_types.ts";
import { DEFAULT_RETRANSMIT, type Role } from "./_setup.ts";

/** Input of the key-update statechart. */
export interface KeyUpdateInput {
  /** This peer's role; it breaks ties between simultaneous updates. */
  readonly role: Role;
  /** The epoch in use when the cycle starts (2 after the handshake). */
  readonly epoch: number;
  /** Milliseconds until the first timed update. */
  readonly interval: number;
  /** Longest an update may take, in ms. */
  readonly maxDuration: number;
  /**
   * `"datagram"` when records can be lost or reordered: waiting states
   * retransmit, and the answering side keeps sending with the old keys until
   * `KeyUpdateReady` proves the starter holds the new ones. Default `"stream"`.
   */
  readonly transport?: "stream" | "datagram";
  /** Retransmission backoff bounds in ms on datagram transports. */
  readonly retransmit?: { readonly initial: number; readonly max: number };
}

/** Public state of the key-update cycle. */
export interface KeyUpdateContext {
  readonly role: Role;
  /** The epoch both directions use when idle. */
  readonly epoch: number;
  /** Milliseconds until the next timed update. */
  readonly interval: number;
  readonly maxDuration: number;
  readonly datagram: boolean;
  readonly retransmit: { readonly initial: number; readonly max: number };
  /** Retransmissions during the current update. */
  readonly retransmits: number;
  /** Updates completed so far. */
  readonly completed: number;
  /** Set when the cycle failed. */
  readonly failure: { readonly code: ErrorCode } | undefined;
}

/** Events the key-update statechart accepts. */
export type KeyUpdateEvent =
  | { readonly type: "peer.beginKeyUpdate"; readonly message: BeginKeyUpdateMessage }
  | { readonly type: "peer.endKeyUpdate"; readonly message: EndKeyUpdateMessage }
  | { readonly type: "peer.keyUpdateReady"; readonly message: KeyUpdateReadyMessage }
  | { readonly type: "local.requestUpdate" }
  | { readonly type: "peer.duplicate"; readonly ofLastTrigger: boolean }
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
  | { readonly type: "crypto.failed"; readonly code: ErrorCode };

/** Commands the key-update statechart emits, in order. */
export type KeyUpdateCommand =
  | { readonly type: "frame.send"; readonly message: Message }
  | { readonly type: "keyUpdate.offer"; readonly epoch: number }
  | { readonly type: "keyUpdate.answer"; readonly message: BeginKeyUpdateMessage }
  | { readonly type: "keyUpdate.finish"; readonly message: EndKeyUpdateMessage }
  | { readonly type: "keys.activateSend"; readonly epoch: number }
  | { readonly type: "keys.activateReceive"; readonly epoch: number }
  | { readonly type: "flight.retransmit" }
  | { readonly type: "keyUpdate.failed"; readonly code: ErrorCode };

function isForNextEpoch(context: KeyUpdateContext, event: KeyUpdateEvent): boolean {
  return (
    (event.type === "peer.beginKeyUpdate" || event.type === "peer.endKeyUpdate" ||
      event.type === "peer.keyUpdateReady") &&
    event.message.epoch === context.epoch + 1
  );
}

const keyUpdateSetup = setup({
  types: {
    context: {} as KeyUpdateContext,
    events: {} as KeyUpdateEvent,
    input: {} as KeyUpdateInput,
    emitted: {} as KeyUpdateCommand,
  },
  delays: {
    keyUpdateInterval: ({ context }: { context: KeyUpdateContext }) => context.interval,
    keyUpdateTimeout: ({ context }: { context: KeyUpdateContext }) => context.maxDuration,
    retransmitDelay: ({ context }: { context: KeyUpdateContext }) =>
      Math.min(context.retransmit.initial * 2 ** context.retransmits, context.retransmit.max),
  },
  guards: {
    isForNextEpoch: ({ context, event }) => isForNextEpoch(context, event),
    isResponder: ({ context }) => context.role === "responder",
    isDatagram: ({ context }) => context.datagram,
    isStale: ({ context, event }) =>
      context.datagram &&
      (event.type === "peer.beginKeyUpdate" || event.type === "peer.endKeyUpdate" ||
        event.type === "peer.keyUpdateReady") &&
      event.message.epoch <= context.epoch,
    isRetransmitRequest: ({ context, event }) =>
      context.datagram && event.type === "peer.duplicate" && event.ofLastTrigger,
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
    advanceEpoch: assign(({ context }) => ({
      epoch: context.epoch + 1,
      completed: context.completed + 1,
      retransmits: 0,
    })),
    retransmitFlight: emit({ type: "flight.retransmit" as const }),
    countRetransmit: assign(({ context }) => ({ retransmits: context.retransmits + 1 })),
    scheduleNext: assign(({ event }) => {
      assertEvent(event, ["crypto.updateFinished", "crypto.updateAnswered"]);
      return { interval: event.nextInterval };
    }),
    failWith: assign((_, params: { code: ErrorCode }) => ({ failure: { code: params.code } })),
    failWithEventCode: assign(({ event }) => {
      assertEvent(event, "crypto.failed");
      return { failure: { code: event.code } };
    }),
    announceFailure: emit(({ context }) => ({
      type: "keyUpdate.failed" as const,
      code: context.failure?.code ?? Codes.UNEXPECTED_MESSAGE,
    })),
  },
});

function failTo(code: ErrorCode): {
  readonly target: "#keyUpdateFailed";
  readonly actions: { readonly type: "failWith"; readonly params: { readonly code: ErrorCode } };
} {
  return { target: "#keyUpdateFailed", actions: { type: "failWith", params: { code } } };
}

/** The key-update cycle; `idle` between updates, `failed` (final) on error. */
const RETRANSMIT = {
  retransmitDelay: {
    guard: "isDatagram",
    reenter: true,
    actions: ["retransmitFlight", "countRetransmit"],
  },
} as const;

/** The key-update cycle; `idle` between updates, `failed` (final) on error. */
export const keyUpdateMachine = keyUpdateSetup.createMachine({
  id: "keyUpdate",
  context: ({ input }) => ({
    role: input.role,
    epoch: input.epoch,
    interval: input.interval,
    maxDuration: input.maxDuration,
    datagram: input.transport === "datagram",
    retransmit: input.retransmit ?? DEFAULT_RETRANSMIT,
    retransmits: 0,
    completed: 0,
    failure: undefined,
  }),
  initial: "idle",
  on: {
    // On datagram transports a repeated message is normal: answer it with our
    // last flight when it shows the peer missed that flight, ignore it otherwise.
    "peer.duplicate": [
      { guard: "isRetransmitRequest", actions: "retransmitFlight" },
      { guard: "isDatagram" },
      failTo(Codes.UNEXPECTED_MESSAGE),
    ],
    // A late copy of an update that is already over (a loser's start that was
    // retransmitted, reordered datagrams) is ignored on datagrams.
    "peer.*": [{ guard: "isStale" }, failTo(Codes.UNEXPECTED_MESSAGE)],
    "crypto.failed": { target: "#keyUpdateFailed", actions: "failWithEventCode" },
  },
  states: {
    idle: {
      id: "keyUpdateIdle",
      on: {
        "local.requestUpdate": "updating",
        "peer.beginKeyUpdate": { guard: "isForNextEpoch", target: "updating.answering" },
      },
      after: { keyUpdateInterval: "updating" },
    },
    updating: {
      initial: "offering",
      on: { "local.requestUpdate": {} },
      after: { keyUpdateTimeout: failTo(Codes.TIMEOUT) },
      states: {
        offering: {
          entry: "requestOffer",
          on: {
            "crypto.updateOffered": { target: "awaitingAnswer", actions: "sendBegin" },
            // The peer started first and has not seen an offer from us: answer it.
            "peer.beginKeyUpdate": { guard: "isForNextEpoch", target: "answering" },
          },
        },
        awaitingAnswer: {
          on: {
            "peer.endKeyUpdate": {
              guard: "isForNextEpoch",
              target: "finishing",
              actions: "requestFinish",
            },
            "peer.beginKeyUpdate": [
              // Both started: the responder's update wins, the initiator answers it.
              { guard: "isResponder" },
              { guard: "isForNextEpoch", target: "answering" },
            ],
          },
          after: { retransmitDelay: { ...RETRANSMIT.retransmitDelay, target: "awaitingAnswer" } },
        },
        finishing: {
          on: {
            "crypto.updateFinished": {
              target: "#keyUpdateIdle",
              actions: ["sendReady", "activateSend", "scheduleNext", "advanceEpoch"],
            },
          },
        },
        answering: {
          entry: "requestAnswer",
          on: {
            "crypto.updateAnswered": [
              {
                // Datagrams: receive the new epoch at once, keep sending the old
                // one until the starter proves it holds the new keys.
                guard: "isDatagram",
                target: "awaitingReady",
                actions: ["sendEnd", "activateReceive", "scheduleNext"],
              },
              { target: "awaitingReady", actions: ["sendEnd", "activateSend", "scheduleNext"] },
            ],
          },
        },
        awaitingReady: {
          on: {
            "peer.keyUpdateReady": [
              {
                guard: and(["isDatagram", "isForNextEpoch"]),
                target: "#keyUpdateIdle",
                actions: ["activateSend", "advanceEpoch"],
              },
              {
                guard: "isForNextEpoch",
                target: "#keyUpdateIdle",
                actions: ["activateReceive", "advanceEpoch"],
              },
            ],
          },
          after: { retransmitDelay: { ...RETRANSMIT.retransmitDelay, target: "awaitingReady" } },
        },
      },
    },
    failed: { id: "keyUpdateFailed", type: "final", entry: "announceFailure" },
  },
});

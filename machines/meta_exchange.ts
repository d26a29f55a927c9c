/**
 * Phase 1, meta exchange: protocol version, session ids, authentication
 * policy and algorithm negotiation.
 *
 * ```
 * responder -> BeginMetaExchange(version, sessionId, requireAuth, ordered lists)
 * initiator -> EndMetaExchange(version, sessionId, requireAuth, chosen suite, accepted signatures)
 * ```
 *
 * The responder states its preferences in order; the initiator picks, per
 * category, the first it also supports. Both messages enter the transcript,
 * which feeds every key and signature, so a rewritten list cannot go
 * unnoticed. Ends in `completed` with the suite settled, or `failed` with
 * `ERR_VERSION_MISMATCH`, `ERR_NO_COMMON_ALGORITHM`, `ERR_AUTH_REQUIRED`
 * (the peer requires an identity we cannot present), `ERR_TIMEOUT` or
 * `ERR_UNEXPECTED_MESSAGE`.
 *
 * @module
 */

import { ErrorCode } from "../src/errors.ts";
import {
  failTo,
  handshakeSetup,
  PHASE_TIMEOUT,
  retransmitWhileWaiting,
  standalonePhase,
  type TransportVariant,
} from "./_setup.ts";

/**
 * The meta exchange as a state that the handshake statechart composes.
 *
 * @param variant The transport the statechart is built for.
 * @returns The phase's states.
 */
// deno-lint-ignore explicit-function-return-type
export function metaExchangePhase(variant: TransportVariant) {
  return handshakeSetup.createStateConfig({
    initial: "start",
    entry: { type: "enterPhase", params: { phase: "metaExchange" } },
    after: PHASE_TIMEOUT,
    states: {
      start: {
        always: [
          { guard: "isResponder", target: "awaitingChoice", actions: "sendBeginMetaExchange" },
          { guard: "isInitiator", target: "awaitingOffer" },
        ],
      },
      awaitingOffer: {
        on: {
          "peer.beginMetaExchange": [
            { guard: "isVersionIncompatible", ...failTo(ErrorCode.VERSION_MISMATCH) },
            { guard: "hasNoCommonSuite", ...failTo(ErrorCode.NO_COMMON_ALGORITHM) },
            { guard: "cannotSatisfyPeer", ...failTo(ErrorCode.AUTH_REQUIRED) },
            {
              target: "completed",
              actions: ["chooseSuite", "sendEndMetaExchange", "settleNegotiation"],
            },
          ],
        },
        after: retransmitWhileWaiting("awaitingOffer", variant),
      },
      awaitingChoice: {
        on: {
          "peer.endMetaExchange": [
            { guard: "isVersionIncompatible", ...failTo(ErrorCode.VERSION_MISMATCH) },
            { guard: "isChoiceNotOffered", ...failTo(ErrorCode.NO_COMMON_ALGORITHM) },
            { guard: "cannotSatisfyPeer", ...failTo(ErrorCode.AUTH_REQUIRED) },
            { target: "completed", actions: ["acceptChoice", "settleNegotiation"] },
          ],
        },
        after: retransmitWhileWaiting("awaitingChoice", variant),
      },
      completed: { type: "final" },
    },
  });
}

/** The meta exchange alone (streams), ending in `completed` or `failed`. */
export const metaExchangeMachine = standalonePhase("metaExchange", metaExchangePhase("stream"));

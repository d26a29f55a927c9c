/**
 * Phase 5, session init: each side announces the extenders it runs.
 *
 * ```
 * responder -> BeginSessionInit(extender UUIDs)
 * initiator -> EndSessionInit(extender UUIDs)
 * ```
 *
 * Ends in `completed` (the handshake is then ready) or `failed`
 * (`ERR_TIMEOUT`, `ERR_UNEXPECTED_MESSAGE`).
 *
 * @module
 */

import {
  handshakeSetup,
  PHASE_TIMEOUT,
  retransmitWhileWaiting,
  standalonePhase,
  type TransportVariant,
} from "./_setup.ts";

/**
 * Session init as a state that the handshake statechart composes.
 *
 * @param variant The transport the statechart is built for.
 * @returns The phase's states.
 */
// deno-lint-ignore explicit-function-return-type
export function sessionInitPhase(variant: TransportVariant) {
  return handshakeSetup.createStateConfig({
    initial: "start",
    entry: { type: "enterPhase", params: { phase: "sessionInit" } },
    after: PHASE_TIMEOUT,
    states: {
      start: {
        always: [
          {
            guard: "isResponder",
            target: "awaitingPeerExtenders",
            actions: { type: "sendExtenders", params: { kind: "beginSessionInit" } },
          },
          { guard: "isInitiator", target: "awaitingPeerExtenders" },
        ],
      },
      awaitingPeerExtenders: {
        on: {
          "peer.beginSessionInit": {
            guard: "isInitiator",
            target: "completed",
            actions: [
              "recordPeerExtenders",
              { type: "sendExtenders", params: { kind: "endSessionInit" } },
            ],
          },
          "peer.endSessionInit": {
            guard: "isResponder",
            target: "completed",
            actions: "recordPeerExtenders",
          },
        },
        after: retransmitWhileWaiting("awaitingPeerExtenders", variant),
      },
      completed: { type: "final" },
    },
  });
}

/** Session init alone (streams), ending in `completed` or `failed`. */
export const sessionInitMachine = standalonePhase("sessionInit", sessionInitPhase("stream"));

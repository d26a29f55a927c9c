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
} from "./_setup.ts";

/** Session init as a state that the handshake statechart composes. */
export const sessionInitPhase = handshakeSetup.createStateConfig({
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
      after: retransmitWhileWaiting("awaitingPeerExtenders"),
    },
    completed: { type: "final" },
  },
});

/** Session init alone, ending in `completed` or `failed`. */
export const sessionInitMachine = standalonePhase("sessionInit", sessionInitPhase);

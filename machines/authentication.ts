/**
 * Phase 4, authentication, under the session keys (epoch 2).
 *
 * ```
 * responder -> BeginAuthentication(identity?: scheme, publicKey, sign(role ‖ key ‖ transcript))
 * initiator -> EndAuthentication(identity?: scheme, publicKey, sign(role ‖ key ‖ transcript))
 * ```
 *
 * Each side that has an identity signs a role label and the transcript hash;
 * the initiator's transcript already holds the responder's proof. A side
 * without an identity sends an empty message, which a peer that requires
 * authentication rejects. The verdict is decided here from the runtime's
 * findings: a proof that does not verify is `ERR_AUTH_FAILED`; a peer the
 * access manager denies, or an unknown one when authentication is required,
 * is `ERR_PEER_NOT_ALLOWED`; a missing identity when required is
 * `ERR_AUTH_REQUIRED`.
 *
 * @module
 */

import {
  handshakeSetup,
  PHASE_TIMEOUT,
  retransmitWhileWaiting,
  standalonePhase,
} from "./_setup.ts";

/** Authentication as a state that the handshake statechart composes. */
export const authenticationPhase = handshakeSetup.createStateConfig({
  initial: "start",
  entry: { type: "enterPhase", params: { phase: "authentication" } },
  after: PHASE_TIMEOUT,
  states: {
    start: {
      always: [
        { guard: "isResponder", target: "proving" },
        { guard: "isInitiator", target: "awaitingPeerProof" },
      ],
    },
    proving: {
      entry: "requestSignature",
      on: {
        "crypto.signed": [
          {
            guard: "isResponder",
            target: "awaitingPeerProof",
            actions: { type: "sendProof", params: { kind: "beginAuthentication" } },
          },
          {
            guard: "isInitiator",
            target: "completed",
            actions: { type: "sendProof", params: { kind: "endAuthentication" } },
          },
        ],
      },
    },
    awaitingPeerProof: {
      on: {
        "peer.beginAuthentication": {
          guard: "isInitiator",
          target: "verifying",
          actions: "requestVerification",
        },
        "peer.endAuthentication": {
          guard: "isResponder",
          target: "verifying",
          actions: "requestVerification",
        },
      },
      after: retransmitWhileWaiting("awaitingPeerProof"),
    },
    verifying: {
      on: {
        "crypto.verified": [
          { guard: "isPeerRejected", target: "#failed", actions: "failWithPeerVerdict" },
          { guard: "isResponder", target: "completed", actions: "recordPeerVerdict" },
          { guard: "isInitiator", target: "proving", actions: "recordPeerVerdict" },
        ],
      },
    },
    completed: { type: "final" },
  },
});

/** Authentication alone, ending in `completed` or `failed`. */
export const authenticationMachine = standalonePhase("authentication", authenticationPhase);

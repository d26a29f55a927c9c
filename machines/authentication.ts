/**
 * Phase 4, authentication, under the session keys (epoch 2).
 *
 * ```
 * responder -> BeginAuthentication(identity?: scheme, publicKey, sign(role ‖ key ‖ transcript))
 * initiator -> EndAuthentication(identity?: scheme, publicKey, sign(role ‖ key ‖ transcript))
 * ```
 *
 * Each side that has an identity signs a role label and the transcript hash;
 * the initiator proves only after it has checked the responder's proof, so
 * its transcript already holds that proof. A side without an identity sends
 * an empty message, which a peer that requires authentication rejects. The
 * verdict is decided here from the runtime's findings: a proof that does not
 * verify is `ERR_AUTH_FAILED`; a peer the access manager denies, or an
 * unknown one when authentication is required, is `ERR_PEER_NOT_ALLOWED`; a
 * missing identity when required is `ERR_AUTH_REQUIRED`.
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
 * Authentication as a state that the handshake statechart composes.
 *
 * @param variant The transport the statechart is built for.
 * @returns The phase's states.
 */
// deno-lint-ignore explicit-function-return-type
export function authenticationPhase(variant: TransportVariant) {
  return handshakeSetup.createStateConfig({
    initial: "start",
    entry: { type: "enterPhase", params: { phase: "authentication" } },
    after: PHASE_TIMEOUT,
    states: {
      start: {
        always: [
          {
            guard: "isResponder",
            target: "awaitingPeerProof",
            actions: { type: "sendProof", params: { kind: "beginAuthentication" } },
          },
          { guard: "isInitiator", target: "awaitingPeerProof" },
        ],
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
        after: retransmitWhileWaiting("awaitingPeerProof", variant),
      },
      verifying: {
        on: {
          "crypto.verified": [
            { guard: "isPeerRejected", target: "#failed", actions: "failWithPeerVerdict" },
            { guard: "isResponder", target: "completed", actions: "recordPeerVerdict" },
            {
              guard: "isInitiator",
              target: "completed",
              actions: [
                "recordPeerVerdict",
                { type: "sendProof", params: { kind: "endAuthentication" } },
              ],
            },
          ],
        },
      },
      completed: { type: "final" },
    },
  });
}

/** Authentication alone (streams), ending in `completed` or `failed`. */
export const authenticationMachine = standalonePhase(
  "authentication",
  authenticationPhase("stream"),
);

/**
 * The shape both key-exchange phases share: the responder offers, the
 * initiator answers, both derive the same secret and switch keys.
 *
 * ```
 * responder -> Begin<Slot>KeyExchange(offer)     DH public key or KEM encapsulation key
 * initiator -> End<Slot>KeyExchange(answer)      DH public key or KEM ciphertext
 * ```
 *
 * The initiator installs the new keys right after sending its answer; the
 * responder right after finishing with the answer. Secrets stay in the
 * runtime: the statechart only says when to offer, answer, finish and
 * install.
 *
 * @module
 */

import {
  handshakeSetup,
  type KeyExchangeSlot,
  PHASE_TIMEOUT,
  retransmitWhileWaiting,
} from "./_setup.ts";

type KeyExchangePhaseName = "primaryKeyExchange" | "secondaryKeyExchange";

const PEER_EVENTS = {
  primary: { begin: "peer.beginPrimaryKeyExchange", end: "peer.endPrimaryKeyExchange" },
  secondary: { begin: "peer.beginSecondaryKeyExchange", end: "peer.endSecondaryKeyExchange" },
} as const;

/**
 * Builds the states of one key-exchange phase.
 *
 * @param phase The phase name.
 * @param slot The key-exchange slot the phase fills.
 * @returns A state config for {@linkcode handshakeSetup}.
 */
// deno-lint-ignore explicit-function-return-type
export function keyExchangePhase(phase: KeyExchangePhaseName, slot: KeyExchangeSlot) {
  const { begin, end } = PEER_EVENTS[slot];
  const params = { slot } as const;
  return handshakeSetup.createStateConfig({
    initial: "start",
    entry: { type: "enterPhase", params: { phase } },
    after: PHASE_TIMEOUT,
    states: {
      start: {
        always: [
          { guard: "isResponder", target: "offering" },
          { guard: "isInitiator", target: "awaitingOffer" },
        ],
      },
      offering: {
        entry: { type: "requestOffer", params },
        on: {
          "crypto.offered": { target: "awaitingAnswer", actions: { type: "sendOffer", params } },
        },
      },
      awaitingAnswer: {
        on: { [end]: { target: "finishing", actions: { type: "requestFinish", params } } },
        after: retransmitWhileWaiting("awaitingAnswer"),
      },
      finishing: {
        on: {
          "crypto.finished": {
            target: "completed",
            actions: { type: "installKeys", params: { stage: slot } },
          },
        },
      },
      awaitingOffer: {
        on: { [begin]: { target: "answering", actions: { type: "requestAnswer", params } } },
        after: retransmitWhileWaiting("awaitingOffer"),
      },
      answering: {
        on: {
          "crypto.answered": {
            target: "completed",
            actions: [
              { type: "sendAnswer", params },
              { type: "installKeys", params: { stage: slot } },
            ],
          },
        },
      },
      completed: { type: "final" },
    },
  });
}

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
 * responder right after finishing with the answer. Between its offer and its
 * keys the responder sends nothing at all (`awaitingAnswer` carries the tag
 * `quiet`, which holds noise back), so the initiator can switch its receive
 * keys right after its answer. Secrets stay in the runtime: the statechart
 * only says when to offer, answer, finish and install; offers and answers
 * are sent by the command that makes them, and only a failure comes back.
 *
 * @module
 */

import {
  handshakeSetup,
  type KeyExchangeSlot,
  PHASE_TIMEOUT,
  retransmitWhileWaiting,
  type TransportVariant,
} from "./_setup.ts";

type KeyExchangePhaseName = "primaryKeyExchange" | "secondaryKeyExchange";

const PEER_EVENTS = {
  primary: { begin: "peer.beginPrimaryKeyExchange", end: "peer.endPrimaryKeyExchange" },
  secondary: { begin: "peer.beginSecondaryKeyExchange", end: "peer.endSecondaryKeyExchange" },
} as const;

/** How to build one key-exchange phase. */
export interface KeyExchangePhaseOptions {
  /** The phase name. */
  readonly phase: KeyExchangePhaseName;
  /** The key-exchange slot the phase fills. */
  readonly slot: KeyExchangeSlot;
  /**
   * The slot of a later exchange whose offer the leader starts right after
   * this one's, so that asynchronous crypto overlaps the round trip.
   */
  readonly prepare?: KeyExchangeSlot;
  /** The transport the statechart is built for. */
  readonly variant: TransportVariant;
}

/**
 * Builds the states of one key-exchange phase.
 *
 * @param options The phase, its slot, what to prepare, the transport.
 * @returns A state config for {@linkcode handshakeSetup}.
 */
// deno-lint-ignore explicit-function-return-type
export function keyExchangePhase(options: KeyExchangePhaseOptions) {
  const { phase, slot, prepare, variant } = options;
  const { begin, end } = PEER_EVENTS[slot];
  const params = { slot } as const;
  const offer = prepare === undefined ? [{ type: "requestOffer", params } as const] : [
    { type: "requestOffer", params } as const,
    { type: "prepareOffer", params: { slot: prepare } } as const,
  ];
  return handshakeSetup.createStateConfig({
    initial: "start",
    entry: { type: "enterPhase", params: { phase } },
    after: PHASE_TIMEOUT,
    states: {
      start: {
        always: [
          { guard: "isResponder", target: "awaitingAnswer", actions: offer },
          { guard: "isInitiator", target: "awaitingOffer" },
        ],
      },
      awaitingAnswer: {
        tags: ["quiet"],
        on: {
          [end]: {
            target: "completed",
            actions: [
              { type: "requestFinish", params },
              { type: "installKeys", params: { stage: slot } },
            ],
          },
        },
        after: retransmitWhileWaiting("awaitingAnswer", variant),
      },
      awaitingOffer: {
        on: {
          [begin]: {
            target: "completed",
            actions: [
              { type: "requestAnswer", params },
              { type: "installKeys", params: { stage: slot } },
            ],
          },
        },
        after: retransmitWhileWaiting("awaitingOffer", variant),
      },
      completed: { type: "final" },
    },
  });
}

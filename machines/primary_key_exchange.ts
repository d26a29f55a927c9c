/**
 * Phase 2, primary key exchange: the classical exchange (X25519, X448 or a NIST curve by default).
 *
 * ```
 * responder -> BeginPrimaryKeyExchange(offer)
 * initiator -> EndPrimaryKeyExchange(answer)
 * ```
 *
 * Records switch from the pre-key epoch 0 to epoch 1, keyed from the primary
 * secret and the transcript so far.
 * The leader also starts the secondary exchange's offer here (`prepareOffer`).
 * Ends in `completed` or `failed` (`ERR_INVALID_PEER_KEY`,
 * `ERR_TIMEOUT`, `ERR_UNEXPECTED_MESSAGE`).
 *
 * @module
 */

import { keyExchangePhase } from "./_key_exchange_phase.ts";
import { standalonePhase, type TransportVariant } from "./_setup.ts";

/**
 * The primary key exchange as a state that the handshake statechart composes.
 *
 * @param variant The transport the statechart is built for.
 * @returns The phase's states.
 */
// deno-lint-ignore explicit-function-return-type
export function primaryKeyExchangePhase(variant: TransportVariant) {
  return keyExchangePhase({
    phase: "primaryKeyExchange",
    slot: "primary",
    prepare: "secondary",
    variant,
  });
}

/** The primary key exchange alone (streams), ending in `completed` or `failed`. */
export const primaryKeyExchangeMachine = standalonePhase(
  "primaryKeyExchange",
  primaryKeyExchangePhase("stream"),
);

/**
 * Phase 3, secondary key exchange: the post-quantum exchange (ML-KEM by default), sent under the primary keys.
 *
 * ```
 * responder -> BeginSecondaryKeyExchange(offer)
 * initiator -> EndSecondaryKeyExchange(answer)
 * ```
 *
 * Records switch to epoch 2, the session keys, keyed from the chaining key
 * (which already holds the primary secret), the secondary secret and the
 * transcript: they depend on both secrets.
 * Ends in `completed` or `failed` (`ERR_INVALID_PEER_KEY`,
 * `ERR_TIMEOUT`, `ERR_UNEXPECTED_MESSAGE`).
 *
 * @module
 */

import { keyExchangePhase } from "./_key_exchange_phase.ts";
import { standalonePhase, type TransportVariant } from "./_setup.ts";

/**
 * The secondary key exchange as a state that the handshake statechart composes.
 *
 * @param variant The transport the statechart is built for.
 * @returns The phase's states.
 */
// deno-lint-ignore explicit-function-return-type
export function secondaryKeyExchangePhase(variant: TransportVariant) {
  return keyExchangePhase({ phase: "secondaryKeyExchange", slot: "secondary", variant });
}

/** The secondary key exchange alone (streams), ending in `completed` or `failed`. */
export const secondaryKeyExchangeMachine = standalonePhase(
  "secondaryKeyExchange",
  secondaryKeyExchangePhase("stream"),
);

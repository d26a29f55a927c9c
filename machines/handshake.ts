/**
 * The handshake: the five phases in order, then `ready`.
 *
 * ```
 * metaExchange -> primaryKeyExchange -> secondaryKeyExchange -> authentication -> sessionInit -> ready
 *        \_______________________________ any failure ______________________________/ -> failed
 * ```
 *
 * Every phase is a child state built from its own phase file, so this
 * statechart is the composition of the phase statecharts, not a copy. The
 * whole handshake has its own deadline (`handshakeTimeout`) on top of each
 * phase's `phaseTimeout`. It is built twice from the same phases: for
 * streams, where nothing retransmits, and for datagrams. A peer message that the active state does
 * not handle fails the handshake with `ERR_UNEXPECTED_MESSAGE`; noise never
 * reaches the statechart (the runtime drops it).
 *
 * @module
 */

import { ErrorCode } from "../src/errors.ts";
import {
  createHandshakeContext,
  FAILED_STATE,
  failTo,
  handshakeOutput,
  handshakeSetup,
  rootTransitions,
  type TransportVariant,
} from "./_setup.ts";
import { metaExchangePhase } from "./meta_exchange.ts";
import { primaryKeyExchangePhase } from "./primary_key_exchange.ts";
import { secondaryKeyExchangePhase } from "./secondary_key_exchange.ts";
import { authenticationPhase } from "./authentication.ts";
import { sessionInitPhase } from "./session_init.ts";

/**
 * Builds the handshake statechart for a transport.
 *
 * @param variant `"stream"` (no retransmission) or `"datagram"`.
 * @returns The statechart.
 */
// deno-lint-ignore explicit-function-return-type
export function createHandshakeMachine(variant: TransportVariant) {
  return handshakeSetup.createMachine({
    id: "handshake",
    context: createHandshakeContext,
    initial: "metaExchange",
    on: rootTransitions(variant),
    after: { handshakeTimeout: failTo(ErrorCode.TIMEOUT) },
    output: handshakeOutput,
    states: {
      metaExchange: { ...metaExchangePhase(variant), onDone: "primaryKeyExchange" },
      primaryKeyExchange: { ...primaryKeyExchangePhase(variant), onDone: "secondaryKeyExchange" },
      secondaryKeyExchange: { ...secondaryKeyExchangePhase(variant), onDone: "authentication" },
      authentication: { ...authenticationPhase(variant), onDone: "sessionInit" },
      sessionInit: { ...sessionInitPhase(variant), onDone: "ready" },
      ready: { type: "final", entry: "announceReady" },
      failed: FAILED_STATE,
    },
  });
}

/** The full handshake statechart over streams, ending in `ready` or `failed`. */
export const handshakeMachine = createHandshakeMachine("stream");

/**
 * The handshake statechart over datagrams: every waiting state retransmits
 * this side's last flight, and a repeated message may ask for it again.
 */
export const datagramHandshakeMachine = createHandshakeMachine("datagram");

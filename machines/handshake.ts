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
 * waiting state's `phaseTimeout`. A peer message that the active state does
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
  ROOT_TRANSITIONS,
} from "./_setup.ts";
import { metaExchangePhase } from "./meta_exchange.ts";
import { primaryKeyExchangePhase } from "./primary_key_exchange.ts";
import { secondaryKeyExchangePhase } from "./secondary_key_exchange.ts";
import { authenticationPhase } from "./authentication.ts";
import { sessionInitPhase } from "./session_init.ts";

/** The full handshake statechart, ending in `ready` or `failed`. */
export const handshakeMachine = handshakeSetup.createMachine({
  id: "handshake",
  context: createHandshakeContext,
  initial: "metaExchange",
  on: ROOT_TRANSITIONS,
  after: { handshakeTimeout: failTo(ErrorCode.TIMEOUT) },
  output: handshakeOutput,
  states: {
    metaExchange: { ...metaExchangePhase, onDone: "primaryKeyExchange" },
    primaryKeyExchange: { ...primaryKeyExchangePhase, onDone: "secondaryKeyExchange" },
    secondaryKeyExchange: { ...secondaryKeyExchangePhase, onDone: "authentication" },
    authentication: { ...authenticationPhase, onDone: "sessionInit" },
    sessionInit: { ...sessionInitPhase, onDone: "ready" },
    ready: { type: "final", entry: "announceReady" },
    failed: FAILED_STATE,
  },
});

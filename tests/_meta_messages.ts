/**
 * A valid meta-exchange offer and choice, for tests that change one field:
 * the conformance suite's example messages, typed as their kinds.
 */

import type {
  BeginMetaExchangeMessage,
  EndMetaExchangeMessage,
} from "../src/codec/message_types.ts";
import { exampleMessage } from "../src/conformance/_mutations.ts";

/** A `BeginMetaExchange` offering one algorithm of each kind. */
export const OFFER = exampleMessage("beginMetaExchange") as BeginMetaExchangeMessage;

/** The `EndMetaExchange` that chooses them. */
export const CHOICE = exampleMessage("endMetaExchange") as EndMetaExchangeMessage;

/**
 * A valid meta-exchange offer and choice, for tests that change one field.
 */

import {
  type BeginMetaExchangeMessage,
  type EndMetaExchangeMessage,
  PROTOCOL_VERSION,
} from "../src/codec/message_types.ts";

/** A `BeginMetaExchange` offering one algorithm of each kind. */
export const OFFER: BeginMetaExchangeMessage = {
  kind: "beginMetaExchange",
  version: PROTOCOL_VERSION,
  sessionId: new Uint8Array(8),
  requireAuthentication: false,
  primaryKeyExchanges: [0x0001],
  secondaryKeyExchanges: [0x0102],
  aeads: [0x0001],
  hashes: [0x0001],
  signatures: [0x0001],
};

/** The `EndMetaExchange` that chooses them. */
export const CHOICE: EndMetaExchangeMessage = {
  kind: "endMetaExchange",
  version: PROTOCOL_VERSION,
  sessionId: new Uint8Array(8),
  requireAuthentication: false,
  primaryKeyExchange: 0x0001,
  secondaryKeyExchange: 0x0102,
  aead: 0x0001,
  hash: 0x0001,
  signatures: [0x0001],
};

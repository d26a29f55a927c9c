/**
 * The wire format of qgate: message bodies and their one-byte types, the
 * plaintext of a record, stream records (a salt, then length-protected
 * sealed records) with their `TransformStream`s, datagram records with their
 * replay window. A session does all of this itself; this entry point is for
 * tools, other implementations and tests that work on bytes.
 *
 * @example Encoding and decoding a message body
 * ```ts
 * import { decodeMessage, encodeMessage, MESSAGE_TYPE } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const body = encodeMessage({ kind: "close", reason: 1 });
 * assert.deepEqual(body, new Uint8Array([1]));
 * assert.deepEqual(decodeMessage(MESSAGE_TYPE.close, body), { kind: "close", reason: 1 });
 * ```
 *
 * @module
 */

// messages
export { MESSAGE_TYPE, PROTOCOL_VERSION } from "./message_types.ts";
export type {
  AuthenticationMessage,
  BeginKeyUpdateMessage,
  BeginMetaExchangeMessage,
  CloseMessage,
  EndKeyUpdateMessage,
  EndMetaExchangeMessage,
  ExtenderDataContinuationMessage,
  ExtenderDataMessage,
  ExtenderUpdateMessage,
  KeyShareMessage,
  KeyUpdateReadyMessage,
  Message,
  MessageKind,
  NoiseMessage,
  SessionInitMessage,
} from "./message_types.ts";
export {
  decodeMessage,
  decodePlaintext,
  encodeMessage,
  encodePlaintext,
  EXTENDER_DATA_HEADER_LENGTH,
  MAX_ALGORITHM_LIST_LENGTH,
  MAX_SHARE_LENGTH,
  messageKindOf,
  messageTypeOf,
  PLAINTEXT_HEADER_LENGTH,
  SESSION_ID_LENGTH,
  UUID_LENGTH,
} from "./messages.ts";

// application messages over several records
export {
  DEFAULT_MAX_MESSAGE_SIZE,
  fragmentMessage,
  MAX_MAX_MESSAGE_SIZE,
  MessageAssembler,
  MIN_MAX_MESSAGE_SIZE,
} from "./message_assembler.ts";
export type { AssembledMessage, MessageAssemblerOptions } from "./message_assembler.ts";

// stream records
export {
  DEFAULT_MAX_RECORD_LENGTH,
  FrameDecoder,
  FrameDecoderStream,
  FrameEncoderStream,
  MAX_RECORD_LENGTH,
  MIN_RECORD_LENGTH,
  PRE_KEY_AEAD,
  RECORD_HEADER_LENGTH,
  RecordOpener,
  RecordSealer,
} from "./stream_records.ts";
export type {
  FrameDecoderOptions,
  OpenedStreamRecord,
  RecordInput,
  RecordOpenerOptions,
  RecordSealerOptions,
  SealedRecord,
} from "./stream_records.ts";

// datagram records
export {
  DATAGRAM_HEADER_LENGTH,
  DatagramOpener,
  DatagramSealer,
  DEFAULT_EPOCH_GRACE_MS,
  DEFAULT_MAX_DATAGRAM_LENGTH,
  MAX_DATAGRAM_EPOCH,
} from "./datagram_records.ts";
export type {
  DatagramOpenerOptions,
  DatagramSealerOptions,
  OpenedDatagram,
} from "./datagram_records.ts";
export { MAX_SEQUENCE, REPLAY_WINDOW_SIZE, ReplayWindow } from "./replay_window.ts";

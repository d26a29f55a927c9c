/**
 * Canonical encoders and decoders for every message body and for the record
 * plaintext that carries them (PROTOCOL.md §4 messages and
 * encodings, §5.3 record plaintext).
 *
 * Every decoder is canonical: a body that decodes re-encodes to exactly the
 * same bytes, and `decodeMessage(type, encodeMessage(m))` deep-equals `m`.
 * Peer input that does not follow the format (wrong lengths, trailing bytes,
 * unknown flag bits, duplicate ids, empty or oversized lists, unsorted UUID
 * lists, unknown types) throws {@linkcode FrameError} with code
 * `ERR_MALFORMED_MESSAGE`. A message object the caller built wrongly throws
 * `TypeError`/`RangeError` from the encoder instead, so the encoder never
 * produces bytes the decoder would reject.
 *
 * Decoded byte fields (session ids, key shares, public keys, proofs, UUIDs,
 * noise and extender data) are `subarray` views that alias the input body;
 * copy them before reusing the input buffer.
 *
 * @module
 */

import { ErrorCode, FrameError } from "../errors.ts";
import {
  assertBytes,
  assertInteger,
  assertLength,
  assertLengthIn,
  ByteReader,
  ByteWriter,
  compareBytes,
  malformed,
} from "./_bytes.ts";
import {
  type AuthenticationMessage,
  type BeginMetaExchangeMessage,
  type EndMetaExchangeMessage,
  type KeyShareMessage,
  type Message,
  MESSAGE_TYPE,
  type MessageKind,
  type SessionInitMessage,
} from "./message_types.ts";

/** Length of a session id in bytes. */
export const SESSION_ID_LENGTH = 8;

/** Length of an extender UUID in bytes. */
export const UUID_LENGTH = 16;

/** Bytes in front of the data in an ExtenderData body: `uuid extender ‖ u32 total`. */
export const EXTENDER_DATA_HEADER_LENGTH = 20;

/** The default largest application message, in bytes (1 MiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = 1_048_576;

/** The smallest `maxMessageSize` a side may have or announce, in bytes. */
export const MIN_MAX_MESSAGE_SIZE = 1_024;

/** Largest key share, public key or proof the codec carries (a u16 length). */
export const MAX_SHARE_LENGTH = 0xffff;

/** Largest number of ids in an algorithm list (a u8 count). */
export const MAX_ALGORITHM_LIST_LENGTH = 255;

/** Bytes in front of the body in a record plaintext: u8 type ‖ u32 bodyLength. */
export const PLAINTEXT_HEADER_LENGTH = 5;

const MAX_UUID_LIST_LENGTH = 0xffff;
const MAX_U32 = 0xffff_ffff;
const FLAG_REQUIRE_AUTHENTICATION = 0x01;

const KIND_BY_TYPE: ReadonlyMap<number, MessageKind> = new Map(
  (Object.entries(MESSAGE_TYPE) as [MessageKind, number][]).map(([kind, type]) => [type, kind]),
);

/**
 * Returns the one-byte wire number of a message kind.
 *
 * @param kind A message kind such as `"close"`.
 * @returns The wire number, e.g. `0x7f`.
 * @throws {TypeError} If `kind` is not a message kind.
 *
 * @example Kinds and wire numbers
 * ```ts
 * import { messageKindOf, messageTypeOf } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * assert.equal(messageTypeOf("beginMetaExchange"), 0x10);
 * assert.equal(messageKindOf(0x10), "beginMetaExchange");
 * ```
 */
export function messageTypeOf(kind: MessageKind): number {
  if (!Object.hasOwn(MESSAGE_TYPE, kind)) {
    throw new TypeError(`Cannot find message type: unknown kind "${String(kind)}"`);
  }
  return MESSAGE_TYPE[kind];
}

/**
 * Returns the message kind of a one-byte wire number.
 *
 * @param type A wire number.
 * @returns The kind, or `undefined` for a number no message uses.
 *
 * @example Unknown numbers
 * ```ts
 * import { messageKindOf } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * assert.equal(messageKindOf(0x7f), "close");
 * assert.equal(messageKindOf(0x02), undefined);
 * ```
 */
export function messageKindOf(type: number): MessageKind | undefined {
  return KIND_BY_TYPE.get(type);
}

// ---------------------------------------------------------------------------
// Field helpers shared by encoders (caller misuse → TypeError/RangeError) and
// decoders (peer input → FrameError(ERR_MALFORMED_MESSAGE)).

const ENCODE = "encode message";

function assertAlgorithmList(name: string, ids: unknown): asserts ids is readonly number[] {
  if (!Array.isArray(ids)) {
    throw new TypeError(`Cannot ${ENCODE}: "${name}" must be an array of algorithm ids`);
  }
  if (ids.length < 1 || ids.length > MAX_ALGORITHM_LIST_LENGTH) {
    throw new RangeError(
      `Cannot ${ENCODE}: "${name}" must hold 1 to ${MAX_ALGORITHM_LIST_LENGTH} ids, got ${ids.length}`,
    );
  }
  const seen = new Set<number>();
  for (const id of ids) {
    assertInteger(ENCODE, name, id, 0, 0xffff);
    if (seen.has(id)) {
      throw new RangeError(`Cannot ${ENCODE}: "${name}" lists id ${id} twice`);
    }
    seen.add(id);
  }
}

function writeAlgorithmList(writer: ByteWriter, ids: readonly number[]): void {
  writer.u8(ids.length);
  for (const id of ids) writer.u16(id);
}

function readAlgorithmList(reader: ByteReader, what: string): number[] {
  const count = reader.u8();
  if (count === 0) malformed(`Cannot decode ${what}: empty algorithm list`);
  const ids: number[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const id = reader.u16();
    if (seen.has(id)) malformed(`Cannot decode ${what}: algorithm id ${id} listed twice`);
    seen.add(id);
    ids.push(id);
  }
  return ids;
}

function assertUuidList(name: string, uuids: unknown): asserts uuids is readonly Uint8Array[] {
  if (!Array.isArray(uuids)) {
    throw new TypeError(`Cannot ${ENCODE}: "${name}" must be an array of 16-byte UUIDs`);
  }
  if (uuids.length > MAX_UUID_LIST_LENGTH) {
    throw new RangeError(
      `Cannot ${ENCODE}: "${name}" must hold at most ${MAX_UUID_LIST_LENGTH} UUIDs, got ${uuids.length}`,
    );
  }
  for (let i = 0; i < uuids.length; i++) {
    assertLength(ENCODE, `${name}[${i}]`, uuids[i], UUID_LENGTH);
    if (i > 0 && compareBytes(uuids[i - 1], uuids[i]) >= 0) {
      throw new RangeError(`Cannot ${ENCODE}: "${name}" must be strictly ascending`);
    }
  }
}

function writeUuidList(writer: ByteWriter, uuids: readonly Uint8Array[]): void {
  writer.u16(uuids.length);
  for (const uuid of uuids) writer.bytes(uuid);
}

function readUuidList(reader: ByteReader, what: string): Uint8Array[] {
  const count = reader.u16();
  if (reader.remaining < count * UUID_LENGTH) malformed(`Cannot decode ${what}: body is truncated`);
  const uuids: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const uuid = reader.bytes(UUID_LENGTH);
    const previous = uuids[i - 1];
    if (previous !== undefined && compareBytes(previous, uuid) >= 0) {
      malformed(`Cannot decode ${what}: extender UUIDs are not strictly ascending`);
    }
    uuids.push(uuid);
  }
  return uuids;
}

function assertVersion(version: unknown): asserts version is { major: number; minor: number } {
  if (typeof version !== "object" || version === null) {
    throw new TypeError(`Cannot ${ENCODE}: "version" must be an object`);
  }
  const { major, minor } = version as { major?: unknown; minor?: unknown };
  assertInteger(ENCODE, "version.major", major, 0, 0xff);
  assertInteger(ENCODE, "version.minor", minor, 0, 0xff);
}

function assertBoolean(name: string, value: unknown): asserts value is boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`Cannot ${ENCODE}: "${name}" must be a boolean`);
  }
}

function readFlags(reader: ByteReader, what: string): boolean {
  const flags = reader.u8();
  if ((flags & ~FLAG_REQUIRE_AUTHENTICATION) !== 0) {
    malformed(`Cannot decode ${what}: unknown flag bits 0x${flags.toString(16)}`);
  }
  return (flags & FLAG_REQUIRE_AUTHENTICATION) !== 0;
}

function readShare(reader: ByteReader, what: string, field: string): Uint8Array {
  const share = reader.u16Bytes();
  if (share.length === 0) malformed(`Cannot decode ${what}: empty ${field}`);
  return share;
}

function assertShare(name: string, value: unknown): asserts value is Uint8Array {
  assertLengthIn(ENCODE, name, value, 1, MAX_SHARE_LENGTH);
}

// ---------------------------------------------------------------------------
// Encoders

type MetaCommon = BeginMetaExchangeMessage | EndMetaExchangeMessage;

function metaPrefixLength(): number {
  return 2 + SESSION_ID_LENGTH + 1;
}

function writeMetaPrefix(writer: ByteWriter, message: MetaCommon): void {
  writer
    .u8(message.version.major)
    .u8(message.version.minor)
    .bytes(message.sessionId)
    .u8(message.requireAuthentication ? FLAG_REQUIRE_AUTHENTICATION : 0);
}

function assertMetaPrefix(message: MetaCommon): void {
  assertVersion(message.version);
  assertLength(ENCODE, "sessionId", message.sessionId, SESSION_ID_LENGTH);
  assertBoolean("requireAuthentication", message.requireAuthentication);
}

function encodeBeginMeta(message: BeginMetaExchangeMessage): Uint8Array<ArrayBuffer> {
  assertMetaPrefix(message);
  const lists = [
    message.primaryKeyExchanges,
    message.secondaryKeyExchanges,
    message.aeads,
    message.hashes,
    message.signatures,
  ];
  const names = ["primaryKeyExchanges", "secondaryKeyExchanges", "aeads", "hashes", "signatures"];
  lists.forEach((list, i) => assertAlgorithmList(names[i]!, list));
  const length = metaPrefixLength() + lists.reduce((sum, list) => sum + 1 + 2 * list.length, 0);
  const writer = new ByteWriter(length);
  writeMetaPrefix(writer, message);
  for (const list of lists) writeAlgorithmList(writer, list);
  return writer.finish();
}

function encodeEndMeta(message: EndMetaExchangeMessage): Uint8Array<ArrayBuffer> {
  assertMetaPrefix(message);
  assertInteger(ENCODE, "primaryKeyExchange", message.primaryKeyExchange, 0, 0xffff);
  assertInteger(ENCODE, "secondaryKeyExchange", message.secondaryKeyExchange, 0, 0xffff);
  assertInteger(ENCODE, "aead", message.aead, 0, 0xffff);
  assertInteger(ENCODE, "hash", message.hash, 0, 0xffff);
  assertAlgorithmList("signatures", message.signatures);
  const writer = new ByteWriter(metaPrefixLength() + 8 + 1 + 2 * message.signatures.length);
  writeMetaPrefix(writer, message);
  writer
    .u16(message.primaryKeyExchange)
    .u16(message.secondaryKeyExchange)
    .u16(message.aead)
    .u16(message.hash);
  writeAlgorithmList(writer, message.signatures);
  return writer.finish();
}

function encodeAuthentication(
  message: AuthenticationMessage<"beginAuthentication" | "endAuthentication">,
): Uint8Array<ArrayBuffer> {
  const identity = message.identity;
  if (identity === undefined) return new Uint8Array([0]);
  if (typeof identity !== "object" || identity === null) {
    throw new TypeError(`Cannot ${ENCODE}: "identity" must be an object or undefined`);
  }
  assertInteger(ENCODE, "identity.signature", identity.signature, 0, 0xffff);
  assertShare("identity.publicKey", identity.publicKey);
  assertShare("identity.proof", identity.proof);
  return new ByteWriter(1 + 2 + 2 + identity.publicKey.length + 2 + identity.proof.length)
    .u8(1)
    .u16(identity.signature)
    .u16Bytes(identity.publicKey)
    .u16Bytes(identity.proof)
    .finish();
}

function encodeUuidList(extenders: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  assertUuidList("extenders", extenders);
  const writer = new ByteWriter(2 + UUID_LENGTH * extenders.length);
  writeUuidList(writer, extenders);
  return writer.finish();
}

function encodeKeyUpdate(
  epoch: number,
  primaryShare: Uint8Array,
  secondaryShare: Uint8Array,
): Uint8Array<ArrayBuffer> {
  assertInteger(ENCODE, "epoch", epoch, 0, MAX_U32);
  assertShare("primaryShare", primaryShare);
  assertShare("secondaryShare", secondaryShare);
  return new ByteWriter(4 + 2 + primaryShare.length + 2 + secondaryShare.length)
    .u32(epoch)
    .u16Bytes(primaryShare)
    .u16Bytes(secondaryShare)
    .finish();
}

/**
 * Encodes a message body as parts whose concatenation is
 * {@linkcode encodeMessage}'s result. Application data is not copied: an
 * extender data message is `[extender, data]`, which the record sealers copy
 * once, straight into the record (internal).
 */
export function encodeMessageParts(message: Message): readonly Uint8Array[] {
  if (message.kind === "extenderDataContinuation") {
    assertContinuation(message.data);
    return [message.data];
  }
  if (message.kind !== "extenderData") return [encodeMessage(message)];
  return [extenderDataHeader(message), message.data];
}

/** The fixed fields of an ExtenderData body: `uuid extender ‖ u32 total`. */
function extenderDataHeader(
  message: { readonly extender: Uint8Array; readonly total?: number; readonly data: Uint8Array },
): Uint8Array<ArrayBuffer> {
  assertLength(ENCODE, "extender", message.extender, UUID_LENGTH);
  assertBytes(ENCODE, "data", message.data);
  const total = message.total ?? message.data.length;
  assertInteger(ENCODE, "total", total, message.data.length, MAX_U32);
  return new ByteWriter(EXTENDER_DATA_HEADER_LENGTH).bytes(message.extender).u32(total).finish();
}

function assertContinuation(data: Uint8Array): void {
  assertBytes(ENCODE, "data", data);
  if (data.length === 0) {
    throw new RangeError(`Cannot ${ENCODE}: continuation "data" must not be empty`);
  }
}

/**
 * Encodes a message body (without the record plaintext header).
 *
 * @param message The message.
 * @returns A fresh array holding the canonical body.
 * @throws {TypeError} If `message.kind` is unknown or a field has the wrong type.
 * @throws {RangeError} If a field is out of range: a session id that is not 8
 *   bytes, an algorithm list with 0 or more than 255 ids or a duplicate, a
 *   key share, public key or proof outside 1 to 65,535 bytes, UUIDs that are
 *   not 16 bytes or not strictly ascending, a close reason other than 0 or 1,
 *   an extender data `total` below its chunk's length or above 2^32 - 1, an
 *   empty continuation chunk, a session init `maxMessageSize` below 1,024 or
 *   above 2^32 - 1.
 *
 * @example Encoding and decoding a close message
 * ```ts
 * import { decodeMessage, encodeMessage, MESSAGE_TYPE } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const body = encodeMessage({ kind: "close", reason: 1 });
 * assert.deepEqual(body, new Uint8Array([1]));
 * assert.deepEqual(decodeMessage(MESSAGE_TYPE.close, body), { kind: "close", reason: 1 });
 * ```
 */
export function encodeMessage(message: Message): Uint8Array<ArrayBuffer> {
  if (typeof message !== "object" || message === null) {
    throw new TypeError(`Cannot ${ENCODE}: "message" must be an object`);
  }
  switch (message.kind) {
    case "noise":
      assertBytes(ENCODE, "data", message.data);
      return message.data.slice();
    case "beginMetaExchange":
      return encodeBeginMeta(message);
    case "endMetaExchange":
      return encodeEndMeta(message);
    case "beginPrimaryKeyExchange":
    case "endPrimaryKeyExchange":
    case "beginSecondaryKeyExchange":
    case "endSecondaryKeyExchange":
      assertShare("share", message.share);
      return message.share.slice();
    case "beginAuthentication":
    case "endAuthentication":
      return encodeAuthentication(message);
    case "beginSessionInit":
    case "endSessionInit": {
      const max = message.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
      assertInteger(ENCODE, "maxMessageSize", max, MIN_MAX_MESSAGE_SIZE, MAX_U32);
      const list = encodeUuidList(message.extenders);
      return new ByteWriter(list.length + 4).bytes(list).u32(max).finish();
    }
    case "extenderUpdate":
      return encodeUuidList(message.extenders);
    case "beginKeyUpdate":
    case "endKeyUpdate":
      return encodeKeyUpdate(message.epoch, message.primaryShare, message.secondaryShare);
    case "keyUpdateReady":
      assertInteger(ENCODE, "epoch", message.epoch, 0, MAX_U32);
      return new ByteWriter(4).u32(message.epoch).finish();
    case "extenderData": {
      const header = extenderDataHeader(message);
      return new ByteWriter(header.length + message.data.length)
        .bytes(header)
        .bytes(message.data)
        .finish();
    }
    case "extenderDataContinuation":
      assertContinuation(message.data);
      return message.data.slice();
    case "close":
      assertInteger(ENCODE, "reason", message.reason, 0, 1);
      return new Uint8Array([message.reason]);
    default:
      throw new TypeError(
        `Cannot ${ENCODE}: unknown kind "${String((message as { kind?: unknown }).kind)}"`,
      );
  }
}

// ---------------------------------------------------------------------------
// Decoders

function decodeBeginMeta(reader: ByteReader): BeginMetaExchangeMessage {
  const what = "BeginMetaExchange";
  const major = reader.u8();
  const minor = reader.u8();
  const sessionId = reader.bytes(SESSION_ID_LENGTH);
  const requireAuthentication = readFlags(reader, what);
  return {
    kind: "beginMetaExchange",
    version: { major, minor },
    sessionId,
    requireAuthentication,
    primaryKeyExchanges: readAlgorithmList(reader, what),
    secondaryKeyExchanges: readAlgorithmList(reader, what),
    aeads: readAlgorithmList(reader, what),
    hashes: readAlgorithmList(reader, what),
    signatures: readAlgorithmList(reader, what),
  };
}

function decodeEndMeta(reader: ByteReader): EndMetaExchangeMessage {
  const what = "EndMetaExchange";
  const major = reader.u8();
  const minor = reader.u8();
  const sessionId = reader.bytes(SESSION_ID_LENGTH);
  const requireAuthentication = readFlags(reader, what);
  return {
    kind: "endMetaExchange",
    version: { major, minor },
    sessionId,
    requireAuthentication,
    primaryKeyExchange: reader.u16(),
    secondaryKeyExchange: reader.u16(),
    aead: reader.u16(),
    hash: reader.u16(),
    signatures: readAlgorithmList(reader, what),
  };
}

function decodeAuthentication<Kind extends "beginAuthentication" | "endAuthentication">(
  kind: Kind,
  reader: ByteReader,
): AuthenticationMessage<Kind> {
  const what = kind === "beginAuthentication" ? "BeginAuthentication" : "EndAuthentication";
  const present = reader.u8();
  if (present === 0) return { kind };
  if (present !== 1) malformed(`Cannot decode ${what}: identity marker must be 0 or 1`);
  const signature = reader.u16();
  const publicKey = readShare(reader, what, "public key");
  const proof = readShare(reader, what, "proof");
  return { kind, identity: { signature, publicKey, proof } };
}

function decodeKeyShare<
  Kind extends
    | "beginPrimaryKeyExchange"
    | "endPrimaryKeyExchange"
    | "beginSecondaryKeyExchange"
    | "endSecondaryKeyExchange",
>(kind: Kind, body: Uint8Array): KeyShareMessage<Kind> {
  if (body.length < 1 || body.length > MAX_SHARE_LENGTH) {
    malformed(`Cannot decode ${kind}: key share must be 1 to ${MAX_SHARE_LENGTH} bytes`);
  }
  return { kind, share: body };
}

function decodeSessionInit<Kind extends "beginSessionInit" | "endSessionInit">(
  kind: Kind,
  reader: ByteReader,
): SessionInitMessage<Kind> {
  const extenders = readUuidList(reader, kind);
  const maxMessageSize = reader.u32();
  if (maxMessageSize < MIN_MAX_MESSAGE_SIZE) {
    malformed(
      `Cannot decode ${kind}: maxMessageSize ${maxMessageSize} is below ${MIN_MAX_MESSAGE_SIZE}`,
    );
  }
  return maxMessageSize === DEFAULT_MAX_MESSAGE_SIZE
    ? { kind, extenders }
    : { kind, extenders, maxMessageSize };
}

function decodeBody(kind: MessageKind, body: Uint8Array): Message {
  const reader = new ByteReader(body, kind);
  let message: Message;
  switch (kind) {
    case "noise":
      return { kind, data: body };
    case "beginPrimaryKeyExchange":
    case "endPrimaryKeyExchange":
    case "beginSecondaryKeyExchange":
    case "endSecondaryKeyExchange":
      return decodeKeyShare(kind, body);
    case "beginMetaExchange":
      message = decodeBeginMeta(reader);
      break;
    case "endMetaExchange":
      message = decodeEndMeta(reader);
      break;
    case "beginAuthentication":
    case "endAuthentication":
      message = decodeAuthentication(kind, reader);
      break;
    case "beginSessionInit":
    case "endSessionInit":
      message = decodeSessionInit(kind, reader);
      break;
    case "extenderUpdate":
      message = { kind, extenders: readUuidList(reader, kind) };
      break;
    case "beginKeyUpdate":
    case "endKeyUpdate": {
      const epoch = reader.u32();
      const primaryShare = readShare(reader, kind, "classical share");
      const secondaryShare = readShare(reader, kind, "post-quantum share");
      message = { kind, epoch, primaryShare, secondaryShare };
      break;
    }
    case "keyUpdateReady":
      message = { kind, epoch: reader.u32() };
      break;
    case "extenderData": {
      const extender = reader.bytes(UUID_LENGTH);
      const total = reader.u32();
      const data = reader.rest();
      if (total < data.length) {
        malformed(`Cannot decode extenderData: total ${total} is below the chunk's length`);
      }
      message = total === data.length ? { kind, extender, data } : { kind, extender, total, data };
      break;
    }
    case "extenderDataContinuation":
      if (body.length === 0) malformed(`Cannot decode extenderDataContinuation: empty chunk`);
      return { kind, data: body };
    case "close": {
      const reason = reader.u8();
      if (reason > 1) malformed(`Cannot decode close: unknown reason ${reason}`);
      message = { kind, reason };
      break;
    }
  }
  reader.end();
  return message;
}

/**
 * Decodes a message body received with wire number `type`.
 *
 * Byte fields of the result alias `body` (they are `subarray` views).
 *
 * @param type The one-byte message type from the record plaintext.
 * @param body The body.
 * @returns The message; `encodeMessage` of it returns bytes equal to `body`.
 * @throws {FrameError} `ERR_MALFORMED_MESSAGE` for an unknown type, a wrong
 *   length, trailing bytes, unknown flag bits, duplicate algorithm ids, an
 *   algorithm list of 0 entries, an empty key share, UUIDs not strictly
 *   ascending, an unknown close reason, an extender data total below its
 *   chunk's length, an empty continuation chunk or a session init
 *   `maxMessageSize` below 1,024.
 *
 * @example Rejecting trailing bytes
 * ```ts
 * import { ErrorCode, FrameError } from "@qgate/handshake";
 * import { decodeMessage, MESSAGE_TYPE } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(decodeMessage(MESSAGE_TYPE.keyUpdateReady, new Uint8Array([0, 0, 0, 3])), {
 *   kind: "keyUpdateReady",
 *   epoch: 3,
 * });
 * assert.throws(
 *   () => decodeMessage(MESSAGE_TYPE.keyUpdateReady, new Uint8Array([0, 0, 0, 3, 0])),
 *   (error) => error instanceof FrameError && error.code === ErrorCode.MALFORMED_MESSAGE,
 * );
 * ```
 */
export function decodeMessage(type: number, body: Uint8Array): Message {
  assertBytes("decode message", "body", body);
  const kind = messageKindOf(type);
  if (kind === undefined) {
    throw new FrameError(
      ErrorCode.MALFORMED_MESSAGE,
      `Cannot decode message: unknown type 0x${Number(type).toString(16)}`,
    );
  }
  return decodeBody(kind, body);
}

/**
 * Builds a record plaintext: `u8 type ‖ u32 bodyLength ‖ body ‖ zero padding`.
 *
 * @param type The message type (0 to 255).
 * @param body The encoded message body, whole or as parts to concatenate.
 * @param paddingLength How many zero bytes to append.
 * @returns A fresh array of `5 + body length + paddingLength` bytes.
 * @throws {RangeError} If `type` is not a byte, `body` is longer than 2^32 - 1
 *   bytes or `paddingLength` is not a non-negative integer.
 *
 * @example Padding is zero bytes
 * ```ts
 * import { decodePlaintext, encodePlaintext } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const plaintext = encodePlaintext(0x7f, new Uint8Array([0]), 2);
 * assert.deepEqual(plaintext, new Uint8Array([0x7f, 0, 0, 0, 1, 0, 0, 0]));
 * const { type, body } = decodePlaintext(plaintext);
 * assert.equal(type, 0x7f);
 * assert.deepEqual(body, new Uint8Array([0]));
 * ```
 */
export function encodePlaintext(
  type: number,
  body: Uint8Array | readonly Uint8Array[],
  paddingLength: number,
): Uint8Array<ArrayBuffer> {
  const length = plaintextLength(type, body, paddingLength);
  const plaintext = new Uint8Array(length);
  writePlaintext(plaintext, type, body);
  return plaintext;
}

/**
 * Checks the arguments of a plaintext and returns its length (internal).
 *
 * @throws {RangeError} As {@linkcode encodePlaintext}.
 */
export function plaintextLength(
  type: number,
  body: Uint8Array | readonly Uint8Array[],
  paddingLength: number,
): number {
  const context = "encode plaintext";
  assertInteger(context, "type", type, 0, 0xff);
  let bodyLength = 0;
  if (body instanceof Uint8Array) {
    bodyLength = body.length;
  } else {
    if (!Array.isArray(body)) {
      throw new TypeError(`Cannot ${context}: "body" must be a Uint8Array or an array of them`);
    }
    for (const part of body) {
      assertBytes(context, "body part", part);
      bodyLength += part.length;
    }
  }
  if (bodyLength > MAX_U32) {
    throw new RangeError(
      `Cannot ${context}: "body" must be 0 to ${MAX_U32} bytes, got ${bodyLength}`,
    );
  }
  assertInteger(context, "paddingLength", paddingLength, 0, Number.MAX_SAFE_INTEGER);
  return PLAINTEXT_HEADER_LENGTH + bodyLength + paddingLength;
}

/**
 * Writes type, body length and body into `target`, which must be zeroed and
 * exactly as long as {@linkcode plaintextLength} said; the rest stays zero
 * (the padding). Internal: the record sealers build plaintexts in place with it.
 */
export function writePlaintext(
  target: Uint8Array,
  type: number,
  body: Uint8Array | readonly Uint8Array[],
): void {
  const parts = body instanceof Uint8Array ? [body] : body;
  let bodyLength = 0;
  for (const part of parts) bodyLength += part.length;
  target[0] = type;
  target[1] = bodyLength >>> 24;
  target[2] = (bodyLength >>> 16) & 0xff;
  target[3] = (bodyLength >>> 8) & 0xff;
  target[4] = bodyLength & 0xff;
  let offset = PLAINTEXT_HEADER_LENGTH;
  for (const part of parts) {
    target.set(part, offset);
    offset += part.length;
  }
}

/**
 * Splits a decrypted record plaintext into its type and body.
 *
 * The type is not checked here (see {@linkcode decodeMessage}). The body
 * aliases `plaintext`.
 *
 * @param plaintext A decrypted record plaintext.
 * @returns The message type and body.
 * @throws {FrameError} `ERR_MALFORMED_MESSAGE` if the plaintext is shorter
 *   than 5 bytes, the body length runs past its end or the padding is not all
 *   zero.
 *
 * @example Non-zero padding is rejected
 * ```ts
 * import { ErrorCode, FrameError } from "@qgate/handshake";
 * import { decodePlaintext } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => decodePlaintext(new Uint8Array([1, 0, 0, 0, 0, 9])),
 *   (error) => error instanceof FrameError && error.code === ErrorCode.MALFORMED_MESSAGE,
 * );
 * ```
 */
export function decodePlaintext(plaintext: Uint8Array): { type: number; body: Uint8Array } {
  assertBytes("decode plaintext", "plaintext", plaintext);
  const reader = new ByteReader(plaintext, "record plaintext");
  const type = reader.u8();
  const bodyLength = reader.u32();
  if (bodyLength > reader.remaining) {
    malformed("Cannot decode record plaintext: body length exceeds the record");
  }
  const body = reader.bytes(bodyLength);
  const padding = reader.rest();
  let nonZero = 0;
  for (const byte of padding) nonZero |= byte;
  if (nonZero !== 0) malformed("Cannot decode record plaintext: padding is not all zero");
  return { type, body };
}

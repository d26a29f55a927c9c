/**
 * Application messages larger than one record (PROTOCOL.md §9.2): a sender
 * cuts one message into an `ExtenderData` record that names the extender and
 * the message's total length, followed by `ExtenderDataContinuation` records
 * with the rest; a receiver puts them back together.
 *
 * ```
 * ExtenderData(extender, total, first chunk)
 * ExtenderDataContinuation(next chunk)        until total bytes have arrived
 * ```
 *
 * The chunks of one message are consecutive among the sender's data records;
 * noise, key-update and other control records may come between them. The
 * receiver holds at most one incomplete message, whose buffer is allocated
 * only once its announced total is known to be within `maxMessageSize`: a
 * hostile peer cannot make it hold more.
 *
 * @module
 */

import { ErrorCode, FrameError } from "../errors.ts";
import type { ExtenderDataContinuationMessage, ExtenderDataMessage } from "./message_types.ts";
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  EXTENDER_DATA_HEADER_LENGTH,
  MIN_MAX_MESSAGE_SIZE,
  UUID_LENGTH,
} from "./messages.ts";

export { DEFAULT_MAX_MESSAGE_SIZE, MIN_MAX_MESSAGE_SIZE };

/** The largest `maxMessageSize` a session accepts, in bytes (16 MiB). */
export const MAX_MAX_MESSAGE_SIZE = 16_777_216;

/** One whole application message, put back together. */
export interface AssembledMessage {
  /** The 16-byte extender UUID. */
  readonly extender: Uint8Array;
  /** The message; aliases the record's body when it came whole in one record. */
  readonly data: Uint8Array;
}

/** Options of {@linkcode MessageAssembler}. */
export interface MessageAssemblerOptions {
  /** The largest message accepted (default {@linkcode DEFAULT_MAX_MESSAGE_SIZE}). */
  readonly maxMessageSize?: number;
  /**
   * Whether a message may span several records (default `true`). Datagram
   * transports set `false`: their records may be lost or reordered, so each
   * message must be whole in one record.
   */
  readonly fragments?: boolean;
}

/**
 * Cuts one application message into the messages that carry it: an
 * `extenderData` message, then as many `extenderDataContinuation` messages
 * as needed, each body at most `room` bytes. A message that fits one body is
 * one `extenderData` message without `total`.
 *
 * The chunks are `subarray` views of `data`; nothing is copied.
 *
 * @param extender The 16-byte extender UUID.
 * @param data The application message.
 * @param room The largest message body one record carries, in bytes (more
 *   than {@linkcode EXTENDER_DATA_HEADER_LENGTH}).
 * @returns The messages, in the order they must be sent.
 * @throws {RangeError} If `extender` is not 16 bytes, `room` is too small, or
 *   `data` is longer than 2^32 - 1 bytes.
 *
 * @example A message cut into three records
 * ```ts
 * import { fragmentMessage } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const parts = fragmentMessage(new Uint8Array(16), new Uint8Array(100), 50);
 * assert.deepEqual(parts.map((part) => part.kind), [
 *   "extenderData",
 *   "extenderDataContinuation",
 *   "extenderDataContinuation",
 * ]);
 * assert.deepEqual(parts.map((part) => part.data.length), [30, 50, 20]);
 * ```
 */
export function fragmentMessage(
  extender: Uint8Array,
  data: Uint8Array,
  room: number,
): (ExtenderDataMessage | ExtenderDataContinuationMessage)[] {
  if (!(extender instanceof Uint8Array) || extender.length !== UUID_LENGTH) {
    throw new RangeError(`Cannot fragment message: "extender" must be ${UUID_LENGTH} bytes`);
  }
  if (!Number.isSafeInteger(room) || room <= EXTENDER_DATA_HEADER_LENGTH) {
    throw new RangeError(
      `Cannot fragment message: "room" must be an integer above ${EXTENDER_DATA_HEADER_LENGTH}, got ${room}`,
    );
  }
  if (data.length > 0xffff_ffff) {
    throw new RangeError(`Cannot fragment message: "data" must be at most 2^32 - 1 bytes`);
  }
  const first = room - EXTENDER_DATA_HEADER_LENGTH;
  if (data.length <= first) return [{ kind: "extenderData", extender, data }];
  const parts: (ExtenderDataMessage | ExtenderDataContinuationMessage)[] = [{
    kind: "extenderData",
    extender,
    total: data.length,
    data: data.subarray(0, first),
  }];
  for (let offset = first; offset < data.length; offset += room) {
    parts.push({ kind: "extenderDataContinuation", data: data.subarray(offset, offset + room) });
  }
  return parts;
}

/**
 * Puts application messages back together from `extenderData` and
 * `extenderDataContinuation` messages, in arrival order, holding at most one
 * incomplete message of at most `maxMessageSize` bytes.
 *
 * A peer that breaks the rules makes {@linkcode MessageAssembler.push} throw
 * a {@linkcode FrameError}: `ERR_FRAME_TOO_LARGE` for a total above
 * `maxMessageSize`; `ERR_UNEXPECTED_MESSAGE` for a continuation without a
 * started message, a new message before the previous one is complete, or any
 * fragment when fragments are off; `ERR_MALFORMED_MESSAGE` for a
 * continuation that runs past the announced total. The incomplete message is
 * dropped then.
 *
 * @example Two records, one message
 * ```ts
 * import { fragmentMessage, MessageAssembler } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const data = new Uint8Array(100).map((_, i) => i);
 * const assembler = new MessageAssembler();
 * const [start, rest] = fragmentMessage(new Uint8Array(16), data, 90);
 * assert.equal(assembler.push(start!), undefined);
 * assert.equal(assembler.pending, 30);
 * assert.deepEqual(assembler.push(rest!)?.data, data);
 * ```
 */
export class MessageAssembler {
  readonly #maxMessageSize: number;
  readonly #fragments: boolean;
  #extender: Uint8Array | undefined;
  #buffer: Uint8Array | undefined;
  #filled = 0;

  /**
   * Creates an assembler holding nothing.
   *
   * @param options The largest message and whether fragments are allowed.
   * @throws {RangeError} If `maxMessageSize` is not an integer in
   *   [{@linkcode MIN_MAX_MESSAGE_SIZE}, {@linkcode MAX_MAX_MESSAGE_SIZE}].
   */
  constructor(options: MessageAssemblerOptions = {}) {
    const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (!Number.isSafeInteger(max) || max < MIN_MAX_MESSAGE_SIZE || max > MAX_MAX_MESSAGE_SIZE) {
      throw new RangeError(
        `Cannot create message assembler: "maxMessageSize" must be an integer in [${MIN_MAX_MESSAGE_SIZE}, ${MAX_MAX_MESSAGE_SIZE}], got ${max}`,
      );
    }
    this.#maxMessageSize = max;
    this.#fragments = options.fragments ?? true;
  }

  /** The largest message accepted, in bytes. */
  get maxMessageSize(): number {
    return this.#maxMessageSize;
  }

  /** How many bytes the incomplete message still needs (0 when none is started). */
  get pending(): number {
    return this.#buffer === undefined ? 0 : this.#buffer.length - this.#filled;
  }

  /** How many bytes this assembler holds (the incomplete message's buffer). */
  get buffered(): number {
    return this.#buffer?.length ?? 0;
  }

  /**
   * Takes the next data message of the peer.
   *
   * @param message An `extenderData` or `extenderDataContinuation` message.
   * @returns The whole message once its last chunk arrived, else `undefined`.
   * @throws {FrameError} As described on the class; the assembler is empty afterwards.
   */
  push(
    message: ExtenderDataMessage | ExtenderDataContinuationMessage,
  ): AssembledMessage | undefined {
    if (message.kind === "extenderData") {
      if (this.#buffer !== undefined) {
        this.#fail(
          ErrorCode.UNEXPECTED_MESSAGE,
          "a new message started before the previous one was complete",
        );
      }
      const total = message.total ?? message.data.length;
      if (total > this.#maxMessageSize) {
        this.#fail(
          ErrorCode.FRAME_TOO_LARGE,
          `a message of ${total} bytes exceeds maxMessageSize ${this.#maxMessageSize}`,
        );
      }
      if (total === message.data.length) return { extender: message.extender, data: message.data };
      if (!this.#fragments) {
        this.#fail(ErrorCode.UNEXPECTED_MESSAGE, "a message spans several datagrams");
      }
      const buffer = new Uint8Array(total);
      buffer.set(message.data);
      this.#extender = message.extender.slice();
      this.#buffer = buffer;
      this.#filled = message.data.length;
      return undefined;
    }
    const buffer = this.#buffer;
    if (buffer === undefined) {
      this.#fail(
        ErrorCode.UNEXPECTED_MESSAGE,
        this.#fragments
          ? "a continuation without a started message"
          : "a continuation on datagrams",
      );
    }
    if (message.data.length > buffer.length - this.#filled) {
      this.#fail(ErrorCode.MALFORMED_MESSAGE, "a continuation runs past the announced total");
    }
    buffer.set(message.data, this.#filled);
    this.#filled += message.data.length;
    if (this.#filled < buffer.length) return undefined;
    const extender = this.#extender as Uint8Array;
    this.#reset();
    return { extender, data: buffer };
  }

  /** Drops the incomplete message, if any. */
  reset(): void {
    this.#reset();
  }

  #reset(): void {
    this.#extender = undefined;
    this.#buffer = undefined;
    this.#filled = 0;
  }

  #fail(code: ErrorCode, detail: string): never {
    this.#reset();
    throw new FrameError(code, `Cannot assemble message: ${detail}`);
  }
}

/**
 * Byte reader/writer and boundary asserts shared by the codec. Private to `src/codec/`.
 *
 * The reader throws {@linkcode FrameError} `ERR_MALFORMED_MESSAGE` when peer
 * input runs short; the asserts throw `TypeError`/`RangeError` for caller
 * misuse, worded std-style.
 *
 * @module
 */

import { ErrorCode, FrameError } from "../errors.ts";

/** Throws `FrameError(ERR_MALFORMED_MESSAGE)` with `message`. */
export function malformed(message: string): never {
  throw new FrameError(ErrorCode.MALFORMED_MESSAGE, message);
}

/** Asserts that `value` is a `Uint8Array`. */
export function assertBytes(
  context: string,
  name: string,
  value: unknown,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${context}: "${name}" must be a Uint8Array`);
  }
}

/** Asserts that `value` is a `Uint8Array` of exactly `length` bytes. */
export function assertLength(
  context: string,
  name: string,
  value: unknown,
  length: number,
): asserts value is Uint8Array {
  assertBytes(context, name, value);
  if (value.length !== length) {
    throw new RangeError(
      `Cannot ${context}: "${name}" must be ${length} bytes, got ${value.length}`,
    );
  }
}

/** Asserts that `value` is a `Uint8Array` whose length lies in `[min, max]`. */
export function assertLengthIn(
  context: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
): asserts value is Uint8Array {
  assertBytes(context, name, value);
  if (value.length < min || value.length > max) {
    throw new RangeError(
      `Cannot ${context}: "${name}" must be ${min} to ${max} bytes, got ${value.length}`,
    );
  }
}

/** Asserts that `value` is an integer in `[min, max]`. */
export function assertInteger(
  context: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot ${context}: "${name}" must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
}

/** Lexicographic comparison of two byte strings of any length. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = a[i]! - b[i]!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/** Whether two byte strings are equal (not constant-time; for public data only). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/**
 * Appends big-endian integers and byte strings to a buffer of known final length.
 *
 * Integers are written byte by byte (no `DataView`: one fewer object per
 * message on the record path); each is taken modulo its width, as
 * `DataView` would.
 */
export class ByteWriter {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  #offset = 0;

  /** Allocates exactly `length` bytes. */
  constructor(length: number) {
    this.#bytes = new Uint8Array(length);
  }

  /** Writes one byte. */
  u8(value: number): this {
    this.#bytes[this.#offset++] = value;
    return this;
  }

  /** Writes a big-endian u16. */
  u16(value: number): this {
    const bytes = this.#bytes;
    const at = this.#offset;
    bytes[at] = value >>> 8;
    bytes[at + 1] = value;
    this.#offset = at + 2;
    return this;
  }

  /** Writes a big-endian u32. */
  u32(value: number): this {
    const bytes = this.#bytes;
    const at = this.#offset;
    bytes[at] = value >>> 24;
    bytes[at + 1] = value >>> 16;
    bytes[at + 2] = value >>> 8;
    bytes[at + 3] = value;
    this.#offset = at + 4;
    return this;
  }

  /** Writes a big-endian u48 (a safe integer below 2^48). */
  u48(value: number): this {
    return this.u16(Math.floor(value / 2 ** 32)).u32(value >>> 0);
  }

  /** Copies `bytes`. */
  bytes(bytes: Uint8Array): this {
    this.#bytes.set(bytes, this.#offset);
    this.#offset += bytes.length;
    return this;
  }

  /** Writes a u16 length prefix followed by `bytes`. */
  u16Bytes(bytes: Uint8Array): this {
    return this.u16(bytes.length).bytes(bytes);
  }

  /** Skips `length` bytes, leaving them zero. */
  zeros(length: number): this {
    this.#offset += length;
    return this;
  }

  /** Returns the buffer; throws if it was not filled exactly (an internal bug). */
  finish(): Uint8Array<ArrayBuffer> {
    if (this.#offset !== this.#bytes.length) {
      throw new Error(`Internal error: wrote ${this.#offset} of ${this.#bytes.length} bytes`);
    }
    return this.#bytes;
  }
}

/**
 * Reads big-endian integers and byte strings from peer input.
 *
 * Byte strings are returned as `subarray`s: they alias the input.
 * Every read past the end throws `FrameError(ERR_MALFORMED_MESSAGE)`.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  #offset = 0;

  /** Reads `bytes`; `what` names the structure in error messages. */
  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #need(length: number): number {
    if (this.remaining < length) {
      malformed(`Cannot decode ${this.#what}: body is truncated`);
    }
    const offset = this.#offset;
    this.#offset += length;
    return offset;
  }

  /** Reads one byte. */
  u8(): number {
    return this.#bytes[this.#need(1)]!;
  }

  /** Reads a big-endian u16. */
  u16(): number {
    const at = this.#need(2);
    const bytes = this.#bytes;
    return (bytes[at]! << 8) | bytes[at + 1]!;
  }

  /** Reads a big-endian u32. */
  u32(): number {
    const at = this.#need(4);
    const bytes = this.#bytes;
    return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) |
      bytes[at + 3]!) >>>
      0;
  }

  /** Reads a big-endian u48. */
  u48(): number {
    const high = this.u16();
    return high * 2 ** 32 + this.u32();
  }

  /** Reads `length` bytes (aliasing the input). */
  bytes(length: number): Uint8Array {
    const offset = this.#need(length);
    return this.#bytes.subarray(offset, offset + length);
  }

  /** Reads a u16 length prefix and that many bytes (aliasing the input). */
  u16Bytes(): Uint8Array {
    return this.bytes(this.u16());
  }

  /** Reads everything left (aliasing the input). */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  /** Throws `ERR_MALFORMED_MESSAGE` if bytes are left. */
  end(): void {
    if (this.remaining !== 0) {
      malformed(`Cannot decode ${this.#what}: ${this.remaining} trailing bytes`);
    }
  }
}

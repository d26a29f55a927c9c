/**
 * The errors the contract layer raises, worded once.
 *
 * - A peer's unusable public key or ciphertext: `HandshakeError`
 *   `ERR_INVALID_PEER_KEY` (never a raw library exception).
 * - A backend that fails where it should not (a native key import, a seal):
 *   `QGateError` `ERR_INTERNAL`, with the native exception as `cause`.
 * - Caller misuse (wrong lengths, wrong types) stays `TypeError`/`RangeError`.
 *
 * @module
 */

import { ErrorCode, HandshakeError, QGateError } from "../errors.ts";

/** `ERR_INVALID_PEER_KEY` for `algorithm`, saying what is wrong (no key bytes in the text). */
export function invalidPeerKey(algorithm: string, what: string, cause?: unknown): HandshakeError {
  return new HandshakeError(
    ErrorCode.INVALID_PEER_KEY,
    `Invalid peer key for ${algorithm}: ${what}`,
    cause === undefined ? {} : { cause },
  );
}

/** `ERR_INTERNAL`: a backend failed at something that cannot fail for valid input. */
export function internalFailure(what: string, cause: unknown): QGateError {
  return new QGateError(ErrorCode.INTERNAL, `Cannot ${what}: the backend failed`, { cause });
}

/** Typed errors pass through; anything else a backend throws becomes `ERR_INTERNAL`. */
export function asTyped(what: string, cause: unknown): Error {
  return cause instanceof QGateError || cause instanceof TypeError || cause instanceof RangeError
    ? cause
    : internalFailure(what, cause);
}

/** A value's length for a message, or its type if it is not bytes. */
export function describe(value: unknown): string | number {
  return value instanceof Uint8Array ? value.length : typeof value;
}

/** Whether `value` is a `Uint8Array` of exactly `length` bytes. */
export function isBytes(value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length === length;
}

/** Whether every byte is zero (in time independent of where a non-zero byte is). */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/** Whether two byte strings are equal (public values only: not constant-time in length). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}

/**
 * `bytes` as an array that owns its whole `ArrayBuffer`: handed over as is
 * when it already does (a library's fresh result), copied otherwise.
 */
export function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
}

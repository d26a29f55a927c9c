/**
 * Typed errors with stable codes.
 *
 * Codes are API: they are added, never renamed. Tests and callers match on
 * {@linkcode QGateError.code}, never on message text. Messages never contain
 * key material, shared secrets or plaintext.
 *
 * Caller misuse (a wrong option, a wrong key length) raises the built-in
 * `TypeError` or `RangeError` instead; these classes are for conditions a
 * caller is expected to catch: a peer that misbehaves, a record that does not
 * parse, a session used after close.
 *
 * @module
 */

/**
 * Every stable error code qgate can report.
 *
 * @example Matching on a code
 * ```ts
 * import { ErrorCode, FrameError } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const error = new FrameError(ErrorCode.FRAME_TOO_LARGE, "Cannot decode record: too large");
 * assert.equal(error.code, "ERR_FRAME_TOO_LARGE");
 * ```
 */
export const ErrorCode: {
  /** A record's length field exceeds the configured maximum record length. */
  readonly FRAME_TOO_LARGE: "ERR_FRAME_TOO_LARGE";
  /** The byte stream ended inside a record, or a datagram is shorter than a record can be. */
  readonly FRAME_TRUNCATED: "ERR_FRAME_TRUNCATED";
  /** A decrypted record or message body does not follow the wire format. */
  readonly MALFORMED_MESSAGE: "ERR_MALFORMED_MESSAGE";
  /** A record failed authenticated decryption (forged, corrupted, wrong key). */
  readonly DECRYPT_FAILED: "ERR_DECRYPT_FAILED";
  /** A datagram record was already received or is older than the replay window. */
  readonly REPLAYED_RECORD: "ERR_REPLAYED_RECORD";
  /** A peer's public key share or KEM ciphertext is invalid (wrong length, off-curve, low order). */
  readonly INVALID_PEER_KEY: "ERR_INVALID_PEER_KEY";
  /** An algorithm id or name is unknown or not enabled. */
  readonly UNSUPPORTED_ALGORITHM: "ERR_UNSUPPORTED_ALGORITHM";
  /** A message arrived that the current state does not accept. */
  readonly UNEXPECTED_MESSAGE: "ERR_UNEXPECTED_MESSAGE";
  /** The peer speaks an incompatible protocol major version. */
  readonly VERSION_MISMATCH: "ERR_VERSION_MISMATCH";
  /** The peers share no algorithm in at least one category. */
  readonly NO_COMMON_ALGORITHM: "ERR_NO_COMMON_ALGORITHM";
  /** The peer's signature over the transcript does not verify. */
  readonly AUTH_FAILED: "ERR_AUTH_FAILED";
  /** Authentication is required but the peer did not authenticate. */
  readonly AUTH_REQUIRED: "ERR_AUTH_REQUIRED";
  /** The access manager denies the peer (unknown, disallowed, or a different key). */
  readonly PEER_NOT_ALLOWED: "ERR_PEER_NOT_ALLOWED";
  /** A phase, the handshake or a key update did not finish in time. */
  readonly TIMEOUT: "ERR_TIMEOUT";
  /** A cipher state reached its record limit; a key update must happen first. */
  readonly NONCE_EXHAUSTED: "ERR_NONCE_EXHAUSTED";
  /** The transport closed or failed before the session ended normally. */
  readonly TRANSPORT_CLOSED: "ERR_TRANSPORT_CLOSED";
  /** The session is closed; no more data can be sent or received. */
  readonly SESSION_CLOSED: "ERR_SESSION_CLOSED";
  /** The peer closed the session with an error alert. */
  readonly PEER_ALERT: "ERR_PEER_ALERT";
  /** Data arrived for an extender the peer never announced, or is sent to one it does not run. */
  readonly UNKNOWN_EXTENDER: "ERR_UNKNOWN_EXTENDER";
  /** The session was aborted through its `AbortSignal`. */
  readonly ABORTED: "ERR_ABORTED";
  /** A configured resource limit was exceeded (buffers, connections, rates). */
  readonly RESOURCE_LIMIT: "ERR_RESOURCE_LIMIT";
  /** A bug in qgate or in an injected component (backend, clock, random source). */
  readonly INTERNAL: "ERR_INTERNAL";
  /**
   * A runtime permission is missing (Deno's `--allow-net`); the message names
   * the flag that grants it, e.g. `--allow-net=127.0.0.1:4433`.
   */
  readonly PERMISSION_DENIED: "ERR_PERMISSION_DENIED";
} = {
  FRAME_TOO_LARGE: "ERR_FRAME_TOO_LARGE",
  FRAME_TRUNCATED: "ERR_FRAME_TRUNCATED",
  MALFORMED_MESSAGE: "ERR_MALFORMED_MESSAGE",
  DECRYPT_FAILED: "ERR_DECRYPT_FAILED",
  REPLAYED_RECORD: "ERR_REPLAYED_RECORD",
  INVALID_PEER_KEY: "ERR_INVALID_PEER_KEY",
  UNSUPPORTED_ALGORITHM: "ERR_UNSUPPORTED_ALGORITHM",
  UNEXPECTED_MESSAGE: "ERR_UNEXPECTED_MESSAGE",
  VERSION_MISMATCH: "ERR_VERSION_MISMATCH",
  NO_COMMON_ALGORITHM: "ERR_NO_COMMON_ALGORITHM",
  AUTH_FAILED: "ERR_AUTH_FAILED",
  AUTH_REQUIRED: "ERR_AUTH_REQUIRED",
  PEER_NOT_ALLOWED: "ERR_PEER_NOT_ALLOWED",
  TIMEOUT: "ERR_TIMEOUT",
  NONCE_EXHAUSTED: "ERR_NONCE_EXHAUSTED",
  TRANSPORT_CLOSED: "ERR_TRANSPORT_CLOSED",
  SESSION_CLOSED: "ERR_SESSION_CLOSED",
  PEER_ALERT: "ERR_PEER_ALERT",
  UNKNOWN_EXTENDER: "ERR_UNKNOWN_EXTENDER",
  ABORTED: "ERR_ABORTED",
  RESOURCE_LIMIT: "ERR_RESOURCE_LIMIT",
  INTERNAL: "ERR_INTERNAL",
  PERMISSION_DENIED: "ERR_PERMISSION_DENIED",
};

/** The union of every stable error code. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** Options accepted by every qgate error constructor. */
export interface QGateErrorOptions {
  /** The underlying error. Never a value that holds secret bytes. */
  cause?: unknown;
}

/**
 * Base class of every error qgate expects callers to catch.
 *
 * @example Narrowing by class and code
 * ```ts
 * import { ErrorCode, HandshakeError, QGateError } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const error: unknown = new HandshakeError(ErrorCode.TIMEOUT, "Handshake timed out");
 * assert.ok(error instanceof QGateError);
 * assert.equal(error.code, ErrorCode.TIMEOUT);
 * ```
 */
export class QGateError extends Error {
  /** The stable code; match on this, never on the message. */
  readonly code: ErrorCode;

  /**
   * Creates an error with a stable code.
   *
   * @param code The stable code.
   * @param message A sentence-case message without secrets.
   * @param options The cause, if any.
   */
  constructor(code: ErrorCode, message: string, options?: QGateErrorOptions) {
    super(message, options);
    this.name = "QGateError";
    this.code = code;
  }
}

/**
 * The wire format was violated: a record or message that does not parse or
 * does not authenticate.
 *
 * @example
 * ```ts
 * import { ErrorCode, FrameError } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const error = new FrameError(ErrorCode.DECRYPT_FAILED, "Cannot open record");
 * assert.equal(error.name, "FrameError");
 * ```
 */
export class FrameError extends QGateError {
  /**
   * Creates a wire-format error.
   *
   * @param code The stable code.
   * @param message A sentence-case message without secrets.
   * @param options The cause, if any.
   */
  constructor(code: ErrorCode, message: string, options?: QGateErrorOptions) {
    super(code, message, options);
    this.name = "FrameError";
  }
}

/**
 * The handshake failed: negotiation, key exchange, authentication, access
 * control or a timeout.
 *
 * @example
 * ```ts
 * import { ErrorCode, HandshakeError } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const error = new HandshakeError(ErrorCode.AUTH_FAILED, "Peer signature does not verify");
 * assert.equal(error.code, "ERR_AUTH_FAILED");
 * ```
 */
export class HandshakeError extends QGateError {
  /** The phase the handshake failed in, when known (`"metaExchange"` … `"sessionInit"`). */
  readonly phase: HandshakePhase | undefined;

  /**
   * Creates a handshake error.
   *
   * @param code The stable code.
   * @param message A sentence-case message without secrets.
   * @param options The cause and the phase, if any.
   */
  constructor(
    code: ErrorCode,
    message: string,
    options?: QGateErrorOptions & { phase?: HandshakePhase | undefined },
  ) {
    super(code, message, options);
    this.name = "HandshakeError";
    this.phase = options?.phase;
  }
}

/** The five phases before `ready`, as a {@linkcode HandshakeError} names them. */
export type HandshakePhase =
  | "metaExchange"
  | "primaryKeyExchange"
  | "secondaryKeyExchange"
  | "authentication"
  | "sessionInit";

/**
 * An established session failed or was used wrongly: use after close, nonce
 * exhaustion, a key update that timed out, an unknown extender.
 *
 * @example
 * ```ts
 * import { ErrorCode, SessionError } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const error = new SessionError(ErrorCode.SESSION_CLOSED, "Cannot send: session is closed");
 * assert.equal(error.name, "SessionError");
 * ```
 */
export class SessionError extends QGateError {
  /**
   * Creates a session error.
   *
   * @param code The stable code.
   * @param message A sentence-case message without secrets.
   * @param options The cause, if any.
   */
  constructor(code: ErrorCode, message: string, options?: QGateErrorOptions) {
    super(code, message, options);
    this.name = "SessionError";
  }
}

const REFUSED_BY_PEER =
  "the peer does not allow this side's identity (its access manager lacks this side's PeerUUID, " +
  "lists it with allowed: false, or lists another public key for it); the peer requires " +
  "authentication and this side presented no identity, or one whose scheme the peer does not " +
  "accept";

/**
 * The message of a {@linkcode HandshakeError}: the phase and code, and for the
 * codes a refusal produces, the likely causes. A peer that refuses us (denied,
 * unknown or unauthenticated: `ERR_PEER_NOT_ALLOWED` or `ERR_AUTH_REQUIRED` on
 * its side) only closes the connection, so the wire does not say which; on
 * this side that is `ERR_TRANSPORT_CLOSED`, and the message lists what may
 * have happened. The text is for people; match on `code`.
 *
 * @param code The handshake's failure code.
 * @param phase The phase it failed in, if known.
 * @returns A sentence-case message without secrets.
 *
 * @example A closed connection during authentication lists the likely causes
 * ```ts
 * import { ErrorCode, handshakeFailureMessage } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const message = handshakeFailureMessage(ErrorCode.TRANSPORT_CLOSED, "authentication");
 * assert.match(message, /^Handshake failed in authentication: ERR_TRANSPORT_CLOSED/);
 * assert.match(message, /access manager/);
 * ```
 */
export function handshakeFailureMessage(
  code: ErrorCode,
  phase: HandshakePhase | undefined,
): string {
  const head = `Handshake failed in ${phase ?? "an unknown phase"}: ${code}`;
  switch (code) {
    case ErrorCode.PEER_NOT_ALLOWED:
      return `${head}: the access manager does not allow the peer. Likely causes: the peer's ` +
        `PeerUUID is not registered (addPeer(uuid, publicKey)); it is registered with ` +
        `allowed: false; it is registered with another public key (the peer changed identity)`;
    case ErrorCode.AUTH_REQUIRED:
      return `${head}: authentication is required but cannot happen. Likely causes: this side ` +
        `requires authentication and the peer presents no identity, or one whose scheme is not ` +
        `in "algorithms.signatures"; the peer requires authentication and this side has no ` +
        `"identity", or one whose scheme the peer does not accept`;
    case ErrorCode.TRANSPORT_CLOSED:
      if (phase === "authentication" || phase === "sessionInit") {
        return `${head}: the peer closed the connection without saying why (a refusal looks ` +
          `the same on the wire). Likely causes: ${REFUSED_BY_PEER}; the peer stopped or the ` +
          `network failed`;
      }
      if (phase === "metaExchange") {
        return `${head}: the peer closed the connection without saying why. Likely causes: ` +
          `the peer requires authentication and this side has no identity whose scheme it ` +
          `accepts; no common algorithm or protocol version; a different "globalSharedSecret" ` +
          `(or one side has none); the peer is not a qgate peer; the peer stopped or the ` +
          `network failed`;
      }
      return head;
    default:
      return head;
  }
}

/**
 * PeerUUIDs and session ids.
 *
 * A PeerUUID is the first 16 bytes of
 * `SHA-256("qgate/1 peer uuid" ‖ u16 signature ‖ publicKey)` with the UUID
 * version set to 8 and the variant to RFC 9562's, so it is bound to the
 * identity key: a peer cannot claim another peer's UUID without its key.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "../_hex.ts";
import { findAlgorithm } from "./registry.ts";
import type { RandomSource, SignatureName } from "./types.ts";

/** PeerUUID length in bytes. */
const UUID_LENGTH = 16;

/** Session id length in bytes. */
const SESSION_ID_LENGTH = 8;

const PEER_UUID_LABEL = new TextEncoder().encode("qgate/1 peer uuid");
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function signatureId(signature: SignatureName, what: string): number {
  const info = findAlgorithm("signature", signature);
  if (info === undefined) {
    throw new TypeError(`Cannot ${what}: unknown signature algorithm "${String(signature)}"`);
  }
  return info.id;
}

/**
 * Derives the PeerUUID of an identity public key.
 *
 * @param signature The identity's signature scheme.
 * @param publicKey The identity public key.
 * @returns 16 bytes: a version-8, RFC 9562-variant UUID.
 * @throws {TypeError} If `signature` is unknown or `publicKey` is not a non-empty `Uint8Array`.
 *
 * @example Deriving and formatting a PeerUUID
 * ```ts
 * import { derivePeerUuid, formatUuid } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const uuid = derivePeerUuid("Ed25519", new Uint8Array(32).fill(1));
 * assert.equal(uuid.length, 16);
 * assert.equal(uuid[6]! >> 4, 8); // version 8
 * assert.equal(uuid[8]! >> 6, 0b10); // RFC 9562 variant
 * assert.match(formatUuid(uuid), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
 * ```
 */
export function derivePeerUuid(
  signature: SignatureName,
  publicKey: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const id = signatureId(signature, "derive PeerUUID");
  if (!(publicKey instanceof Uint8Array) || publicKey.length === 0) {
    throw new TypeError(`Cannot derive PeerUUID: "publicKey" must be a non-empty Uint8Array`);
  }
  const input = new Uint8Array(PEER_UUID_LABEL.length + 2 + publicKey.length);
  input.set(PEER_UUID_LABEL, 0);
  new DataView(input.buffer).setUint16(PEER_UUID_LABEL.length, id);
  input.set(publicKey, PEER_UUID_LABEL.length + 2);
  const uuid = sha256(input).slice(0, UUID_LENGTH);
  uuid[6] = (uuid[6]! & 0x0f) | 0x80; // version 8
  uuid[8] = (uuid[8]! & 0x3f) | 0x80; // variant 10xx (RFC 9562)
  return uuid;
}

/**
 * Checks that `uuid` is the PeerUUID of `publicKey` (constant-time compare).
 *
 * @param uuid The claimed PeerUUID (16 bytes).
 * @param signature The identity's signature scheme.
 * @param publicKey The identity public key.
 * @returns `true` if they match; `false` for a mismatch or malformed input (never throws).
 *
 * @example Checking a claimed PeerUUID
 * ```ts
 * import { derivePeerUuid } from "@qgate/handshake/crypto";
 * import { verifyPeerUuid } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const key = new Uint8Array(32).fill(2);
 * const uuid = derivePeerUuid("Ed25519", key);
 * assert.equal(verifyPeerUuid(uuid, "Ed25519", key), true);
 * assert.equal(verifyPeerUuid(uuid, "Ed448", key), false);
 * assert.equal(verifyPeerUuid(uuid, "Ed25519", new Uint8Array(32).fill(3)), false);
 * ```
 */
export function verifyPeerUuid(
  uuid: Uint8Array,
  signature: SignatureName,
  publicKey: Uint8Array,
): boolean {
  if (!(uuid instanceof Uint8Array) || uuid.length !== UUID_LENGTH) return false;
  let expected: Uint8Array;
  try {
    expected = derivePeerUuid(signature, publicKey);
  } catch {
    return false;
  }
  let difference = 0;
  for (let i = 0; i < UUID_LENGTH; i++) difference |= uuid[i]! ^ expected[i]!;
  return difference === 0;
}

/**
 * Formats 16 bytes as a lowercase hyphenated UUID string (8-4-4-4-12).
 *
 * @param bytes The 16 UUID bytes.
 * @returns The canonical text form.
 * @throws {RangeError} If `bytes` is not 16 bytes.
 *
 * @example Formatting bytes
 * ```ts
 * import { formatUuid } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const bytes = Uint8Array.from({ length: 16 }, (_, i) => i);
 * assert.equal(formatUuid(bytes), "00010203-0405-0607-0809-0a0b0c0d0e0f");
 * ```
 */
export function formatUuid(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array) || bytes.length !== UUID_LENGTH) {
    throw new RangeError(
      `Cannot format UUID: "bytes" must be ${UUID_LENGTH} bytes, got ${
        bytes instanceof Uint8Array ? bytes.length : typeof bytes
      }`,
    );
  }
  const hex = bytesToHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/**
 * Parses a hyphenated UUID string (either case) into 16 bytes.
 *
 * Any version and variant is accepted: extender UUIDs are not PeerUUIDs.
 *
 * @param text The UUID text, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
 * @returns The 16 bytes.
 * @throws {TypeError} If `text` is not a string.
 * @throws {RangeError} If `text` is not in 8-4-4-4-12 hex form.
 *
 * @example A round trip
 * ```ts
 * import { formatUuid } from "@qgate/handshake/crypto";
 * import { parseUuid } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const text = "6ba7b810-9dad-81d1-80b4-00c04fd430c8";
 * assert.equal(formatUuid(parseUuid(text.toUpperCase())), text);
 * assert.throws(() => parseUuid("6ba7b8109dad81d180b400c04fd430c8"), RangeError);
 * ```
 */
export function parseUuid(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse UUID: "text" must be a string, got ${typeof text}`);
  }
  if (!UUID_PATTERN.test(text)) {
    throw new RangeError(
      `Cannot parse UUID: "text" must be 8-4-4-4-12 hexadecimal digits, got "${text.slice(0, 40)}"`,
    );
  }
  const hex = text.replaceAll("-", "");
  return Uint8Array.from(
    { length: UUID_LENGTH },
    (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
}

/**
 * Draws a fresh 8-byte session id.
 *
 * @param random The random source.
 * @returns 8 random bytes (a copy; the source's buffer is not aliased).
 * @throws {RangeError} If `random` returns a wrong number of bytes.
 *
 * @example A reproducible session id
 * ```ts
 * import { seededRandom } from "@qgate/handshake";
 * import { randomSessionId } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const id = randomSessionId(seededRandom(new Uint8Array([1])));
 * assert.equal(id.length, 8);
 * assert.deepEqual(id, randomSessionId(seededRandom(new Uint8Array([1]))));
 * ```
 */
export function randomSessionId(random: RandomSource): Uint8Array<ArrayBuffer> {
  const bytes = random(SESSION_ID_LENGTH);
  if (!(bytes instanceof Uint8Array) || bytes.length !== SESSION_ID_LENGTH) {
    throw new RangeError(
      `Cannot create session id: "random" must return ${SESSION_ID_LENGTH} bytes, got ${
        bytes instanceof Uint8Array ? bytes.length : typeof bytes
      }`,
    );
  }
  return Uint8Array.from(bytes);
}

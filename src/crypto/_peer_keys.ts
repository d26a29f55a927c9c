/**
 * Structural checks of a peer's DH public key, the same for every backend,
 * made before any randomness is drawn for an answer.
 *
 * - X25519 / X448: every string of the right length is a u-coordinate
 *   (RFC 7748); low-order points are caught when the shared secret is
 *   computed (the backend throws, or the secret is all zero).
 * - P-256 / P-384 / P-521: an uncompressed SEC1 point (`0x04 ‖ x ‖ y`) on
 *   the curve, decoded with noble: the identity and off-curve points are
 *   rejected here, so no backend draws a key for an answer it will refuse.
 *
 * It also says when two public keys are the same key share, for the
 * contract's refusal of a leader's own offer reflected back as the answer:
 * X25519 ignores the top bit of a u-coordinate (RFC 7748 §5), so two
 * encodings that differ only there are the same share.
 *
 * @module
 */

import { p256, p384, p521 } from "@noble/curves/nist.js";
import type { KeyExchangeName } from "./types.ts";

/** Throws for a peer public key of the right length that is not a usable point. */
export type PeerKeyCheck = (publicKey: Uint8Array) => void;

interface NistCurve {
  Point: { fromBytes(bytes: Uint8Array): { assertValidity(): void } };
}

function sec1Uncompressed(curve: NistCurve): PeerKeyCheck {
  return (publicKey) => {
    if (publicKey[0] !== 0x04) throw new TypeError("not an uncompressed SEC1 point");
    curve.Point.fromBytes(publicKey).assertValidity();
  };
}

const NONE: PeerKeyCheck = () => {};

const CHECKS: Partial<Record<KeyExchangeName, PeerKeyCheck>> = {
  "X25519": NONE,
  "X448": NONE,
  "P-256": sec1Uncompressed(p256),
  "P-384": sec1Uncompressed(p384),
  "P-521": sec1Uncompressed(p521),
};

/** Whether two public keys of the right length are the same key share. */
export type SameShare = (a: Uint8Array, b: Uint8Array) => boolean;

function sameBytes(a: Uint8Array, b: Uint8Array, last: number): boolean {
  let acc = 0;
  for (let i = 0; i < a.length - 1; i++) acc |= a[i]! ^ b[i]!;
  return (acc | ((a[a.length - 1]! ^ b[b.length - 1]!) & last)) === 0;
}

/**
 * How to compare two key shares of a DH algorithm.
 *
 * @param name A DH key exchange.
 * @returns The comparison (equal bytes, except X25519's ignored top bit).
 */
export function sameShare(name: KeyExchangeName): SameShare {
  return name === "X25519"
    ? (a, b) => sameBytes(a, b, 0x7f)
    : (a, b) => a.length === b.length && sameBytes(a, b, 0xff);
}

/**
 * The check for a DH algorithm's peer public keys.
 *
 * @param name A DH key exchange.
 * @returns The check (a no-op for the Montgomery curves).
 */
export function peerKeyCheck(name: KeyExchangeName): PeerKeyCheck {
  return CHECKS[name] ?? NONE;
}

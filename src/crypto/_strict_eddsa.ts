/**
 * Strict EdDSA verification rules, applied by the contract on every backend.
 *
 * RFC 8032 verifiers disagree on edge cases: OpenSSL (`node:crypto`) and
 * WebCrypto check the cofactorless equation `[S]B = R + [k]A` and accept a
 * small-order public key (the identity with `R` = identity, `S` = 0 verifies
 * for every message), while noble checks the cofactored equation
 * `[8][S]B = [8]R + [8][k]A` and rejects small-order keys. So that every
 * backend accepts exactly the same signatures, the contract rejects, before
 * any backend sees them:
 *
 * - a public key `A` or commitment `R` whose encoding is not canonical
 *   (`y >= p`, or `x = 0` with the sign bit set);
 * - an `A` or `R` of small order (the 8 points of Ed25519's torsion
 *   subgroup, the 4 of Ed448's);
 * - `S >= L`.
 *
 * and, for Ed25519, after the backend accepted:
 *
 * - an `A` with a torsion component (`[L]A ≠ 0`), checked once per key;
 * - for a backend with the cofactored equation, an `R` with a torsion
 *   component. Given a torsion-free `A`, the cofactored equation with a
 *   torsion-free `R` holds exactly when the cofactorless one does, so noble
 *   and the native verifiers then agree on every input.
 *
 * Honest keys and signatures never meet these cases: a key pair's `A` and a
 * signature's `R` are multiples of the base point. Ed448 has no native
 * backend (noble only), so its verdicts need no reconciling: it gets the
 * encoding, small-order and scalar rules and keeps noble's cofactored check.
 *
 * @module
 */

import { ed25519, ED25519_TORSION_SUBGROUP } from "@noble/curves/ed25519.js";
import { ed448, ED448_TORSION_SUBGROUP } from "@noble/curves/ed448.js";
import { bytesEqual } from "./_failures.ts";

/** The strict rules of one EdDSA curve. */
export interface EdwardsRules {
  /** Length of an encoded point. */
  readonly pointLength: number;
  /**
   * Cheap checks on the encodings of `signature = R ‖ S` and `publicKey = A`:
   * `false` for a non-canonical or small-order `A` or `R`, or `S >= L`.
   */
  wellFormed(signature: Uint8Array, publicKey: Uint8Array): boolean;
  /**
   * Checks after the backend accepted: `A` (and, for a cofactored backend,
   * `R`) in the prime-order subgroup. `undefined` where no check is needed.
   */
  readonly torsionFree?: (
    signature: Uint8Array,
    publicKey: Uint8Array,
    cofactored: boolean,
  ) => boolean;
}

function toLittleEndian(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

/**
 * Whether the little-endian integer in `bytes` (its top bit ignored when
 * `clearTop`) is below `limit` (little-endian, same length). Public data
 * only: the loop stops at the first differing byte.
 */
function below(bytes: Uint8Array, limit: Uint8Array, clearTop: boolean): boolean {
  const last = bytes.length - 1;
  for (let i = last; i >= 0; i--) {
    const byte = i === last && clearTop ? bytes[i]! & 0x7f : bytes[i]!;
    if (byte !== limit[i]) return byte < limit[i]!;
  }
  return false;
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

interface EdwardsCurve {
  Point: {
    Fp: { ORDER: bigint };
    Fn: { ORDER: bigint };
    fromBytes(bytes: Uint8Array, zip215?: boolean): { isTorsionFree(): boolean };
  };
}

function rules(
  curve: EdwardsCurve,
  pointLength: number,
  torsion: readonly string[],
  checkTorsion: boolean,
): EdwardsRules {
  const p = curve.Point.Fp.ORDER;
  const fieldPrime = toLittleEndian(p, pointLength);
  const groupOrder = toLittleEndian(curve.Point.Fn.ORDER, pointLength);
  // x = 0 exactly when y = ±1: these two encodings with the sign bit set are "negative zero".
  const negativeZeros = [1n, p - 1n].map((y) => {
    const encoded = toLittleEndian(y, pointLength);
    encoded[pointLength - 1]! |= 0x80;
    return encoded;
  });
  const rejected = [...torsion.map(fromHex), ...negativeZeros];

  /** Canonical (y < p, no "negative zero") and not of small order. */
  function acceptablePoint(encoded: Uint8Array): boolean {
    if (!below(encoded, fieldPrime, true)) return false;
    for (const point of rejected) {
      if (point[0] === encoded[0] && bytesEqual(encoded, point)) return false;
    }
    return true;
  }

  /** Keys already found torsion-free (or not), bounded; public data only. */
  const keyVerdicts = new Map<string, boolean>();
  const MAX_CACHED_KEYS = 1_024;

  function pointTorsionFree(encoded: Uint8Array): boolean {
    try {
      return curve.Point.fromBytes(encoded, false).isTorsionFree();
    } catch {
      return false;
    }
  }

  function keyTorsionFree(publicKey: Uint8Array): boolean {
    const id = String.fromCharCode(...publicKey);
    let verdict = keyVerdicts.get(id);
    if (verdict === undefined) {
      verdict = pointTorsionFree(publicKey);
      if (keyVerdicts.size >= MAX_CACHED_KEYS) {
        keyVerdicts.delete(keyVerdicts.keys().next().value!);
      }
      keyVerdicts.set(id, verdict);
    }
    return verdict;
  }

  return Object.freeze({
    pointLength,
    wellFormed(signature: Uint8Array, publicKey: Uint8Array): boolean {
      return acceptablePoint(publicKey) &&
        acceptablePoint(signature.subarray(0, pointLength)) &&
        below(signature.subarray(pointLength), groupOrder, false);
    },
    ...(checkTorsion
      ? {
        torsionFree(signature: Uint8Array, publicKey: Uint8Array, cofactored: boolean): boolean {
          return keyTorsionFree(publicKey) &&
            (!cofactored || pointTorsionFree(signature.subarray(0, pointLength)));
        },
      }
      : {}),
  });
}

/** Ed25519: encodings, small order, `S < L`, and torsion-free `A` and `R`. */
export const ED25519_RULES: EdwardsRules = rules(ed25519, 32, ED25519_TORSION_SUBGROUP, true);

/** Ed448: encodings, small order and `S < L` (noble only; no torsion reconciling needed). */
export const ED448_RULES: EdwardsRules = rules(ed448, 57, ED448_TORSION_SUBGROUP, false);

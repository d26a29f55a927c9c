/**
 * Strict signature verification, differentially: every edge case gives the
 * same verdict on noble, node:crypto, WebCrypto and the auto backend (where
 * each offers the scheme), and that verdict is the strict one.
 *
 * EdDSA cases (RFC 8032 §5.1.7, "Taming the many EdDSAs", Chalkias et al.
 * 2020): the small-order points as A and as R, non-canonical encodings of A
 * and R (y >= p, and x = 0 with the sign bit), S = L, L + 1, S + L, 2^253,
 * wrong lengths, one flipped bit; and signatures only a key holder can craft,
 * on which the cofactored (noble) and cofactorless (OpenSSL, WebCrypto)
 * equations disagree: a small-order R, a mixed-order R, a mixed-order A.
 * ML-DSA and the hybrid: wrong lengths, flipped bits, and a hybrid where only
 * one half verifies (including the identity-key forgery as the Ed25519 half).
 */

import assert from "node:assert/strict";
import { ed25519, ED25519_TORSION_SUBGROUP } from "@noble/curves/ed25519.js";
import { ed448, ED448_TORSION_SUBGROUP } from "@noble/curves/ed448.js";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  autoBackend,
  nobleBackend,
  nodeCryptoBackend,
  seededRandom,
  webCryptoBackend,
} from "../mod.ts";
import {
  type CryptoBackend,
  type SignatureName,
  SIGNATURES,
  type SignatureScheme,
} from "../src/crypto/mod.ts";
import { flipBit } from "./_bytes.ts";

const BACKENDS: readonly CryptoBackend[] = [
  nobleBackend,
  nodeCryptoBackend,
  webCryptoBackend,
  autoBackend,
];

const MESSAGE = new TextEncoder().encode("qgate strict verification");

/** One input to `verify` and the verdict every backend must give. */
interface Case {
  readonly label: string;
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly expected: boolean;
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function toLittleEndian(value: bigint, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function resized(bytes: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, Math.min(length, bytes.length)));
  return out;
}

/** The parts of a noble EdDSA curve the cases are built from. */
interface Curve {
  Point: {
    Fp: { ORDER: bigint };
    Fn: { ORDER: bigint };
    fromBytes(bytes: Uint8Array, zip215?: boolean): unknown;
  };
}

/**
 * Non-canonical encodings: y + p for small y (all there are for Ed25519,
 * where y + p < 2^255 leaves y < 19) where that decodes, and "negative zero".
 */
function nonCanonicalPoints(curve: Curve, length: number): Uint8Array[] {
  const p = curve.Point.Fp.ORDER;
  const top = 1n << BigInt(8 * length - 1);
  const out: Uint8Array[] = [];
  for (let y = 0n; y < 19n && y + p < top; y++) {
    for (const sign of [0, 0x80]) {
      const encoded = toLittleEndian(y + p, length);
      encoded[length - 1]! |= sign;
      try {
        curve.Point.fromBytes(encoded, true); // on the curve, read leniently (ZIP-215)
        out.push(encoded);
      } catch {
        // y + p is not the y of a curve point: no decoder accepts it anyway.
      }
    }
  }
  for (const y of [1n, p - 1n]) {
    const negativeZero = toLittleEndian(y, length);
    negativeZero[length - 1]! |= 0x80;
    out.push(negativeZero);
  }
  return out;
}

/** Cases for one EdDSA scheme around a valid signature of `publicKey`. */
function edwardsCases(
  curve: Curve,
  torsion: readonly string[],
  signature: Uint8Array,
  publicKey: Uint8Array,
  sBytes: number,
): Case[] {
  const length = publicKey.length;
  const order = curve.Point.Fn.ORDER;
  const r = signature.subarray(0, length);
  const s = signature.subarray(length);
  const cases: Case[] = [
    { label: "valid", signature, message: MESSAGE, publicKey, expected: true },
  ];
  const bad = (label: string, sig: Uint8Array, key: Uint8Array, message = MESSAGE): void => {
    cases.push({ label, signature: sig, message, publicKey: key, expected: false });
  };
  const identity = fromHex(torsion[0]!);
  const zeroS = new Uint8Array(sBytes);
  torsion.forEach((hex, i) => {
    const point = fromHex(hex);
    bad(`small-order A #${i}`, signature, point);
    bad(`small-order R #${i}`, concat(point, s), publicKey);
    // The forgery native verifiers accept for the identity: R = identity, S = 0.
    bad(`small-order A #${i}, R = identity, S = 0`, concat(identity, zeroS), point);
    bad(`small-order A #${i} and R #${i}, S = 0`, concat(point, zeroS), point);
  });
  nonCanonicalPoints(curve, length).forEach((point, i) => {
    bad(`non-canonical A #${i}`, signature, point);
    bad(`non-canonical R #${i}`, concat(point, s), publicKey);
  });
  const sValue = fromLittleEndian(s);
  for (
    const [label, value] of [
      ["S = L", order],
      ["S = L + 1", order + 1n],
      ["S + L", sValue + order],
      ["S = 2^253", 1n << 253n],
      ["S all ones", (1n << BigInt(8 * sBytes)) - 1n],
    ] as const
  ) {
    bad(label, concat(r, toLittleEndian(value, sBytes)), publicKey);
  }
  for (const delta of [-1, 1]) {
    bad(`signature length ${delta}`, resized(signature, signature.length + delta), publicKey);
    bad(`public key length ${delta}`, signature, resized(publicKey, length + delta));
  }
  bad("empty signature", new Uint8Array(0), publicKey);
  for (const bit of [0, 8 * length - 1, 8 * length, signature.length * 8 - 9]) {
    bad(`signature bit ${bit} flipped`, flipBit(signature, bit), publicKey);
  }
  bad("public key bit 3 flipped", signature, flipBit(publicKey, 3));
  bad("message bit 0 flipped", signature, publicKey, flipBit(MESSAGE, 0));
  return cases;
}

// ---------------------------------------------------------------------------
// Signatures only a key holder can craft: valid under noble's cofactored
// equation, invalid under the cofactorless one (or valid under both only by
// chance), so raw libraries disagree. Built from noble's point arithmetic.

type EdPoint = ReturnType<typeof ed25519.Point.fromBytes>;

const L = ed25519.Point.Fn.ORDER;
const B = ed25519.Point.BASE;
const ORDER_8 = ed25519.Point.fromBytes(fromHex(ED25519_TORSION_SUBGROUP[3]!)); // generates the torsion

function challenge(r: Uint8Array, a: Uint8Array, message: Uint8Array): bigint {
  return fromLittleEndian(sha512(concat(r, a, message))) % L;
}

/** R ‖ S with S = r + k·a for a chosen R (any point) and the signer's scalar a. */
function crafted(
  rPoint: EdPoint,
  rScalar: bigint,
  a: bigint,
  publicKey: Uint8Array,
  message: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const rBytes = rPoint.toBytes();
  const k = challenge(rBytes, publicKey, message);
  return concat(rBytes, toLittleEndian((rScalar + k * a) % L, 32));
}

function keyHolderCases(secretKey: Uint8Array, publicKey: Uint8Array): Case[] {
  const { scalar: a } = ed25519.utils.getExtendedPublicKey(secretKey);
  const r = 0x1234_5678_9abc_def0n;
  const cases: Case[] = [];
  // R of order 8 (pure torsion, r = 0).
  cases.push({
    label: "key holder: R of small order, S = k·a",
    signature: crafted(ORDER_8, 0n, a, publicKey, MESSAGE),
    message: MESSAGE,
    publicKey,
    expected: false,
  });
  // R with a torsion component.
  cases.push({
    label: "key holder: R = rB + T (mixed order)",
    signature: crafted(B.multiply(r).add(ORDER_8), r, a, publicKey, MESSAGE),
    message: MESSAGE,
    publicKey,
    expected: false,
  });
  // A with a torsion component, signed honestly with a: whether a cofactorless
  // verifier accepts depends on k mod 8, so find a message for either outcome.
  const mixedKey = ed25519.Point.fromBytes(publicKey).add(ORDER_8).toBytes();
  const found = new Set<boolean>();
  for (let i = 0; found.size < 2; i++) {
    const message = concat(MESSAGE, Uint8Array.of(i));
    const signature = crafted(B.multiply(r), r, a, mixedKey, message);
    const divisible = challenge(signature.subarray(0, 32), mixedKey, message) % 8n === 0n;
    if (found.has(divisible)) continue;
    found.add(divisible);
    cases.push({
      label: `key holder: A = aB + T (mixed order), k ${divisible ? "≡" : "≢"} 0 mod 8`,
      signature,
      message,
      publicKey: mixedKey,
      expected: false,
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------

function offered(name: SignatureName): { backend: CryptoBackend; scheme: SignatureScheme }[] {
  return BACKENDS.flatMap((backend) => {
    const scheme = backend.signature(name);
    return scheme === undefined ? [] : [{ backend, scheme }];
  });
}

async function assertVerdicts(name: SignatureName, cases: readonly Case[]): Promise<void> {
  const schemes = offered(name);
  assert.ok(schemes.length > 0);
  for (const entry of cases) {
    for (const { backend, scheme } of schemes) {
      assert.equal(
        await scheme.verify(entry.signature, entry.message, entry.publicKey),
        entry.expected,
        `${name} on ${backend.name}: ${entry.label}`,
      );
    }
  }
}

async function validPair(
  name: SignatureName,
  seedByte: number,
): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array; signature: Uint8Array }> {
  const scheme = nobleBackend.signature(name)!;
  const pair = await scheme.generateKeyPair({
    seed: new Uint8Array(scheme.seedLength).fill(seedByte),
  });
  const signature = await scheme.sign(
    MESSAGE,
    pair.secretKey,
    seededRandom(Uint8Array.of(seedByte)),
  );
  return { secretKey: pair.secretKey, publicKey: pair.publicKey, signature };
}

Deno.test("SignatureScheme.verify() offers every scheme on noble and the native backends as expected", () => {
  for (const { name } of SIGNATURES) assert.ok(nobleBackend.signature(name), name);
  assert.ok(nodeCryptoBackend.signature("Ed25519"));
  for (const name of ["Ed25519", "ML-DSA-65", "Ed25519+ML-DSA-65"] as const) {
    assert.ok(webCryptoBackend.signature(name), name);
  }
});

Deno.test("SignatureScheme.verify() Ed25519 gives the strict verdict on every backend for edge cases", async () => {
  const { secretKey, publicKey, signature } = await validPair("Ed25519", 1);
  const cases = [
    ...edwardsCases(ed25519, ED25519_TORSION_SUBGROUP, signature, publicKey, 32),
    ...keyHolderCases(secretKey, publicKey),
  ];
  assert.ok(cases.length > 60);
  await assertVerdicts("Ed25519", cases);
});

Deno.test("SignatureScheme.verify() Ed25519 key-holder cases are ones raw noble accepts", () => {
  const { secretKey, publicKey } = ed25519.keygen(new Uint8Array(32).fill(1));
  for (const entry of keyHolderCases(secretKey, publicKey)) {
    // The cofactored equation holds: only the contract's rules reject these.
    assert.equal(
      ed25519.verify(entry.signature, entry.message, entry.publicKey, { zip215: false }),
      true,
      entry.label,
    );
  }
});

Deno.test("SignatureScheme.verify() Ed448 gives the strict verdict for edge cases", async () => {
  const { publicKey, signature } = await validPair("Ed448", 2);
  await assertVerdicts(
    "Ed448",
    edwardsCases(ed448, ED448_TORSION_SUBGROUP, signature, publicKey, 57),
  );
});

Deno.test("SignatureScheme.verify() ML-DSA agrees on every backend for malformed and flipped input", async () => {
  for (const name of ["ML-DSA-44", "ML-DSA-65", "ML-DSA-87"] as const) {
    const { publicKey, signature } = await validPair(name, 3);
    const cases: Case[] = [
      { label: "valid", signature, message: MESSAGE, publicKey, expected: true },
    ];
    const bad = (label: string, sig: Uint8Array, key: Uint8Array, message = MESSAGE): void => {
      cases.push({ label, signature: sig, message, publicKey: key, expected: false });
    };
    for (const delta of [-1, 1]) {
      bad(`signature length ${delta}`, resized(signature, signature.length + delta), publicKey);
      bad(`public key length ${delta}`, signature, resized(publicKey, publicKey.length + delta));
    }
    for (const bit of [0, 100, signature.length * 4, signature.length * 8 - 1]) {
      bad(`signature bit ${bit} flipped`, flipBit(signature, bit), publicKey);
    }
    for (const bit of [0, 300, publicKey.length * 8 - 1]) {
      bad(`public key bit ${bit} flipped`, signature, flipBit(publicKey, bit));
    }
    bad("message bit 7 flipped", signature, publicKey, flipBit(MESSAGE, 7));
    bad("all-zero signature", new Uint8Array(signature.length), publicKey);
    bad("all-ones public key", signature, new Uint8Array(publicKey.length).fill(0xff));
    await assertVerdicts(name, cases);
  }
});

Deno.test("SignatureScheme.verify() Ed25519+ML-DSA-65 fails on every backend when only one half verifies", async () => {
  const name = "Ed25519+ML-DSA-65";
  const { publicKey, signature } = await validPair(name, 4);
  const ed = nobleBackend.signature("Ed25519")!;
  const edSig = signature.subarray(0, ed.signatureLength);
  const pqSig = signature.subarray(ed.signatureLength);
  const edKey = publicKey.subarray(0, ed.publicKeyLength);
  const pqKey = publicKey.subarray(ed.publicKeyLength);
  const cases: Case[] = [
    { label: "valid", signature, message: MESSAGE, publicKey, expected: true },
  ];
  const bad = (label: string, sig: Uint8Array, key: Uint8Array): void => {
    cases.push({ label, signature: sig, message: MESSAGE, publicKey: key, expected: false });
  };
  bad("Ed25519 half flipped", concat(flipBit(edSig, 5), pqSig), publicKey);
  bad("ML-DSA half flipped", concat(edSig, flipBit(pqSig, 5)), publicKey);
  for (const delta of [-1, 1]) {
    bad(`signature length ${delta}`, resized(signature, signature.length + delta), publicKey);
    bad(`public key length ${delta}`, signature, resized(publicKey, publicKey.length + delta));
  }
  // An attacker's own ML-DSA key and signature, with the identity as the Ed25519 half:
  // the ML-DSA half verifies, the Ed25519 half is the small-order forgery.
  const attacker = await validPair("ML-DSA-65", 5);
  const identity = fromHex(ED25519_TORSION_SUBGROUP[0]!);
  bad(
    "identity Ed25519 half (R = identity, S = 0), valid ML-DSA half",
    concat(identity, new Uint8Array(32), attacker.signature),
    concat(identity, attacker.publicKey),
  );
  // Every Ed25519 edge case as the first half of an otherwise valid hybrid.
  const inner = edwardsCases(ed25519, ED25519_TORSION_SUBGROUP, edSig, edKey, 32)
    .filter((entry) =>
      !entry.expected && entry.signature.length === edSig.length &&
      entry.publicKey.length === edKey.length && entry.message === MESSAGE
    );
  assert.ok(inner.length > 40);
  for (const entry of inner) {
    bad(
      `Ed25519 half: ${entry.label}`,
      concat(entry.signature, pqSig),
      concat(entry.publicKey, pqKey),
    );
  }
  await assertVerdicts(name, cases);
});

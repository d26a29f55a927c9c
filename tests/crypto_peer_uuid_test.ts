import assert from "node:assert/strict";
import fc from "fast-check";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  derivePeerUuid,
  formatUuid,
  parseUuid,
  randomSessionId,
  verifyPeerUuid,
} from "../src/crypto/peer_uuid.ts";
import { seededRandom } from "../src/crypto/random.ts";
import { SIGNATURES } from "../src/crypto/types.ts";
import type { SignatureName } from "../src/crypto/types.ts";
import { propertyConfig } from "./_property.ts";

Deno.test("derivePeerUuid() sets version 8 and the RFC 9562 variant", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SIGNATURES.map((info) => info.name)),
      fc.uint8Array({ minLength: 1, maxLength: 100 }),
      (signature, publicKey) => {
        const uuid = derivePeerUuid(signature, publicKey);
        assert.equal(uuid.length, 16);
        assert.equal(uuid[6]! >> 4, 8);
        assert.equal(uuid[8]! >> 6, 0b10);
        assert.equal(verifyPeerUuid(uuid, signature, publicKey), true);
      },
    ),
    propertyConfig(100),
  );
});

Deno.test("derivePeerUuid() is SHA-256(label ‖ u16 id ‖ key) with version/variant bits", () => {
  const publicKey = new Uint8Array(32).fill(0xab);
  const input = new Uint8Array([
    ...new TextEncoder().encode("qgate/1 peer uuid"),
    0x02,
    0x01,
    ...publicKey,
  ]);
  const expected = sha256(input).slice(0, 16);
  expected[6] = (expected[6]! & 0x0f) | 0x80;
  expected[8] = (expected[8]! & 0x3f) | 0x80;
  assert.deepEqual(derivePeerUuid("Ed25519+ML-DSA-65", publicKey), expected);
});

Deno.test("derivePeerUuid() binds the signature scheme and the key", () => {
  const key = new Uint8Array(32).fill(1);
  assert.notDeepEqual(derivePeerUuid("Ed25519", key), derivePeerUuid("ML-DSA-44", key));
  assert.notDeepEqual(
    derivePeerUuid("Ed25519", key),
    derivePeerUuid("Ed25519", new Uint8Array(32).fill(2)),
  );
  assert.throws(() => derivePeerUuid("RSA" as SignatureName, key), TypeError);
  assert.throws(() => derivePeerUuid("Ed25519", new Uint8Array(0)), TypeError);
});

Deno.test("verifyPeerUuid() returns false for any mismatch or malformed input", () => {
  const key = new Uint8Array(32).fill(1);
  const uuid = derivePeerUuid("Ed25519", key);
  for (let bit = 0; bit < 128; bit++) {
    const tampered = Uint8Array.from(uuid);
    tampered[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(verifyPeerUuid(tampered, "Ed25519", key), false, `bit ${bit}`);
  }
  assert.equal(verifyPeerUuid(uuid.subarray(1), "Ed25519", key), false);
  assert.equal(verifyPeerUuid(new Uint8Array([...uuid, 0]), "Ed25519", key), false);
  assert.equal(verifyPeerUuid(uuid, "RSA" as SignatureName, key), false);
  assert.equal(verifyPeerUuid(uuid, "Ed25519", new Uint8Array(0)), false);
});

Deno.test("formatUuid() and parseUuid() round-trip", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const text = formatUuid(bytes);
      assert.match(text, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.deepEqual(parseUuid(text), bytes);
      assert.deepEqual(parseUuid(text.toUpperCase()), bytes);
    }),
    propertyConfig(100),
  );
});

Deno.test("formatUuid() and parseUuid() reject bad input", () => {
  for (const length of [0, 15, 17]) {
    assert.throws(() => formatUuid(new Uint8Array(length)), RangeError);
  }
  const wrong = [
    "",
    "6ba7b810-9dad-81d1-80b4-00c04fd430c",
    "6ba7b810-9dad-81d1-80b4-00c04fd430c8a",
    "6ba7b8109dad81d180b400c04fd430c8",
    "{6ba7b810-9dad-81d1-80b4-00c04fd430c8}",
    "6ba7b810-9dad-81d1-80b4-00c04fd430cg",
    "6ba7b810_9dad_81d1_80b4_00c04fd430c8",
    " 6ba7b810-9dad-81d1-80b4-00c04fd430c8",
  ];
  for (const text of wrong) assert.throws(() => parseUuid(text), RangeError, text);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => parseUuid(42 as any), TypeError);
});

Deno.test("randomSessionId() draws 8 bytes from the injected source", () => {
  const id = randomSessionId(seededRandom(new Uint8Array([1])));
  assert.deepEqual(id, seededRandom(new Uint8Array([1]))(8));
  assert.notDeepEqual(randomSessionId(seededRandom(new Uint8Array([2]))), id);
  assert.throws(() => randomSessionId(() => new Uint8Array(7)), RangeError);
  const shared = new Uint8Array(8).fill(3);
  const copy = randomSessionId(() => shared);
  shared.fill(0);
  assert.deepEqual(copy, new Uint8Array(8).fill(3));
});

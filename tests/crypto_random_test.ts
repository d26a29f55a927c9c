import assert from "node:assert/strict";
import fc from "fast-check";
import { seededRandom, systemRandom } from "../src/crypto/random.ts";
import { propertyConfig } from "./_property.ts";

Deno.test("systemRandom() returns the requested number of bytes", () => {
  for (const length of [0, 1, 32, 65_536, 65_537, 200_000]) {
    assert.equal(systemRandom(length).length, length);
  }
  // Bytes past the first 65,536-byte chunk are filled too.
  const big = systemRandom(3 * 65_536);
  assert.ok(big.subarray(2 * 65_536).some((byte) => byte !== 0));
  assert.notDeepEqual(systemRandom(32), systemRandom(32));
});

Deno.test("systemRandom() hands out small draws once each, in arrays of their own", () => {
  const seen = new Set<string>();
  // Enough 8..64-byte draws to refill the 4 KiB buffer many times, across its boundaries.
  for (let i = 0; i < 3_000; i++) {
    const length = 8 + (i % 57);
    const bytes = systemRandom(length);
    assert.equal(bytes.length, length);
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, length, "not a view of a shared buffer");
    const key = Array.from(bytes.subarray(0, 8)).join(",");
    assert.ok(!seen.has(key), `draw ${i} repeats an earlier one`);
    seen.add(key);
    bytes.fill(0); // a caller wiping its bytes touches nothing else
  }
  // Zero bytes in a row would be a tell of handing out wiped pool bytes.
  const zeros = Array.from({ length: 200 }, () => systemRandom(16))
    .filter((bytes) => bytes.every((byte) => byte === 0)).length;
  assert.equal(zeros, 0);
});

Deno.test("systemRandom() and seededRandom() reject a bad length with RangeError", () => {
  const seeded = seededRandom(new Uint8Array(0));
  for (const length of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => systemRandom(length), RangeError);
    assert.throws(() => seeded(length), RangeError);
  }
});

Deno.test("seededRandom() rejects a non-Uint8Array seed with TypeError", () => {
  // deno-lint-ignore no-explicit-any
  assert.throws(() => seededRandom("seed" as any), TypeError);
});

Deno.test("seededRandom() is the ChaCha20 keystream under SHA-256(label ‖ seed)", async () => {
  // Independent recomputation: ChaCha20 of zeros with WebCrypto-free reference
  // through noble's chacha20 and sha256.
  const { chacha20 } = await import("@noble/ciphers/chacha.js");
  const { sha256 } = await import("@noble/hashes/sha2.js");
  const seed = new Uint8Array([1, 2, 3]);
  const label = new TextEncoder().encode("qgate/1 seeded random");
  const key = sha256(new Uint8Array([...label, ...seed]));
  const expected = chacha20(key, new Uint8Array(12), new Uint8Array(200));
  assert.deepEqual(seededRandom(seed)(200), expected);
});

Deno.test("seededRandom() gives one continuous stream however reads are split (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.nat({ max: 150 }), { maxLength: 12 }),
      (seed, reads) => {
        const total = reads.reduce((sum, n) => sum + n, 0);
        const whole = seededRandom(seed)(total);
        const split = seededRandom(seed);
        let offset = 0;
        for (const n of reads) {
          assert.deepEqual(split(n), whole.subarray(offset, offset + n));
          offset += n;
        }
      },
    ),
    propertyConfig(100),
  );
});

Deno.test("seededRandom() differs for different seeds and copies its seed", () => {
  const seed = new Uint8Array([7]);
  const a = seededRandom(seed);
  seed[0] = 8;
  assert.deepEqual(a(32), seededRandom(new Uint8Array([7]))(32));
  assert.notDeepEqual(seededRandom(new Uint8Array([7]))(32), seededRandom(new Uint8Array([8]))(32));
  assert.notDeepEqual(seededRandom(new Uint8Array(0))(32), seededRandom(new Uint8Array(1))(32));
});

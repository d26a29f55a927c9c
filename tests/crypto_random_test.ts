import assert from "node:assert/strict";
import fc from "fast-check";
import { publicRandom, seededRandom, systemRandom } from "../src/crypto/random.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { nodeCryptoBackend } from "../src/crypto/node_backend.ts";
import { webCryptoBackend } from "../src/crypto/webcrypto_backend.ts";
import { autoBackend } from "../src/crypto/auto_backend.ts";
import { KEY_EXCHANGES, SIGNATURES } from "../src/crypto/types.ts";
import type { RandomSource } from "../src/crypto/types.ts";
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

Deno.test("systemRandom() and publicRandom() hand out small draws once each, in arrays of their own", () => {
  for (const source of [systemRandom, publicRandom]) {
    drawsOnceEach(source);
  }
});

function drawsOnceEach(source: RandomSource): void {
  const seen = new Set<string>();
  // Enough 8..64-byte draws to refill the 4 KiB buffer many times, across its boundaries.
  for (let i = 0; i < 3_000; i++) {
    const length = 8 + (i % 57);
    const bytes = source(length);
    assert.equal(bytes.length, length);
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, length, "not a view of a shared buffer");
    const key = Array.from(bytes.subarray(0, 8)).join(",");
    assert.ok(!seen.has(key), `draw ${i} repeats an earlier one`);
    seen.add(key);
    bytes.fill(0); // a caller wiping its bytes touches nothing else
  }
  // Zero bytes in a row would be a tell of handing out wiped pool bytes.
  const zeros = Array.from({ length: 200 }, () => source(16))
    .filter((bytes) => bytes.every((byte) => byte === 0)).length;
  assert.equal(zeros, 0);
}

Deno.test("systemRandom(), publicRandom() and seededRandom() reject a bad length with RangeError", () => {
  const seeded = seededRandom(new Uint8Array(0));
  for (const length of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => systemRandom(length), RangeError);
    assert.throws(() => publicRandom(length), RangeError);
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

// ---------------------------------------------------------------------------
// Key material never comes from the public pool.

/** Every `crypto.getRandomValues` call while `run` runs; pool refills get a known stream. */
async function instrumented(
  run: (calls: number[], pool: Uint8Array[]) => Promise<void>,
): Promise<void> {
  const original = crypto.getRandomValues;
  const known = seededRandom(new TextEncoder().encode("pool contents"));
  const calls: number[] = [];
  const pool: Uint8Array[] = [];
  const stub = (array: ArrayBufferView): ArrayBufferView => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    calls.push(bytes.length);
    if (bytes.length === 4_096) {
      bytes.set(known(bytes.length)); // a pool refill: contents the test can recognise
      pool.push(Uint8Array.from(bytes));
      return array;
    }
    return original.call(crypto, array);
  };
  Object.defineProperty(crypto, "getRandomValues", { value: stub, configurable: true });
  try {
    await run(calls, pool);
  } finally {
    delete (crypto as { getRandomValues?: unknown }).getRandomValues;
  }
  assert.equal(crypto.getRandomValues, original);
}

/** Whether any 8-byte window of `bytes` occurs in the pool contents. */
function fromPool(bytes: Uint8Array, pool: readonly Uint8Array[]): boolean {
  const windows = new Set<string>();
  for (const block of pool) {
    for (let i = 0; i + 8 <= block.length; i++) windows.add(block.subarray(i, i + 8).join());
  }
  for (let i = 0; i + 8 <= bytes.length; i++) {
    if (windows.has(bytes.subarray(i, i + 8).join())) return true;
  }
  return false;
}

Deno.test("publicRandom() serves small draws from a pool that key generation never touches", async () => {
  await instrumented(async (calls, pool) => {
    // Run the pool dry so that the next small draw refills it with known bytes.
    for (let i = 0; pool.length === 0; i++) {
      assert.ok(i <= 65, "the pool never refilled");
      publicRandom(64);
    }
    const refill = pool[0]!;
    assert.deepEqual(publicRandom(8), refill.subarray(64, 72), "publicRandom() reads the pool");

    const secrets: Uint8Array[] = [];
    for (const source of [systemRandom, publicRandom]) {
      for (const backend of [nobleBackend, nodeCryptoBackend, webCryptoBackend, autoBackend]) {
        for (const { name } of SIGNATURES) {
          const scheme = backend.signature(name);
          if (scheme === undefined) continue;
          const before = calls.length;
          const pair = await scheme.generateKeyPair({ random: source });
          // The seed is one direct CSPRNG call of exactly its length (noble may
          // then draw its own scalar-blinding bytes, also directly).
          assert.equal(calls[before], scheme.seedLength, `${backend.name} ${name}`);
          secrets.push(pair.secretKey);
          const signature = await scheme.sign(new Uint8Array(3), pair.secretKey, source);
          if (name.includes("ML-DSA")) secrets.push(signature); // hedged
        }
        for (const { name } of KEY_EXCHANGES) {
          const kx = backend.keyExchange(name);
          if (kx === undefined) continue;
          const { offer, state } = await kx.offer(source);
          const { answer, sharedSecret } = await kx.answer(offer, source);
          assert.deepEqual(await kx.finish(state, answer), sharedSecret);
          state.dispose();
        }
      }
    }
    // Not one byte was taken from the pool: it continues where it was.
    assert.equal(pool.length, 1, "no refill happened");
    assert.deepEqual(publicRandom(8), refill.subarray(72, 80));
    for (const secret of secrets) assert.ok(!fromPool(secret, pool));
    // Sanity: the check does see pool bytes when they are there.
    assert.ok(fromPool(publicRandom(16), pool));
  });
});

import assert from "node:assert/strict";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import { SIGNATURES } from "../src/crypto/types.ts";
import type { SignatureName, SignatureScheme } from "../src/crypto/types.ts";
import { flipBit } from "./_bytes.ts";

function scheme(name: SignatureName): SignatureScheme {
  const found = nobleBackend.signature(name);
  assert.ok(found, `nobleBackend lacks ${name}`);
  return found;
}

/** Bit positions to flip: first, second byte, middle, last. */
function positions(length: number): number[] {
  return [0, 9, length * 4 + 3, length * 8 - 1];
}

const NAMES = SIGNATURES.map((info) => info.name);
const MESSAGE = new TextEncoder().encode("qgate/1 authentication test message");

Deno.test("nobleBackend.signature() offers every registered scheme", () => {
  for (const info of SIGNATURES) {
    const s = scheme(info.name);
    assert.equal(s.name, info.name);
    assert.equal(s.id, info.id);
  }
});

Deno.test("SignatureScheme signs and verifies", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const s = scheme(name);
      const random = seededRandom(new Uint8Array([1]));
      const pair = await s.generateKeyPair({ seed: random(s.seedLength) });
      assert.equal(pair.algorithm, name);
      assert.equal(pair.publicKey.length, s.publicKeyLength);
      assert.equal(pair.secretKey.length, s.secretKeyLength);
      const signature = await s.sign(MESSAGE, pair.secretKey, random);
      assert.equal(signature.length, s.signatureLength);
      assert.equal(await s.verify(signature, MESSAGE, pair.publicKey), true);
      assert.equal(await s.verify(signature, new Uint8Array(0), pair.publicKey), false);
    });
  }
});

Deno.test("SignatureScheme.verify() returns false for a flipped bit in signature, message or key", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const s = scheme(name);
      const random = seededRandom(new Uint8Array([2]));
      const pair = await s.generateKeyPair({ seed: random(s.seedLength) });
      const signature = await s.sign(MESSAGE, pair.secretKey, random);
      for (const bit of positions(signature.length)) {
        assert.equal(
          await s.verify(flipBit(signature, bit), MESSAGE, pair.publicKey),
          false,
          `sig ${bit}`,
        );
      }
      for (const bit of positions(MESSAGE.length)) {
        assert.equal(
          await s.verify(signature, flipBit(MESSAGE, bit), pair.publicKey),
          false,
          `msg ${bit}`,
        );
      }
      for (const bit of positions(pair.publicKey.length)) {
        assert.equal(
          await s.verify(signature, MESSAGE, flipBit(pair.publicKey, bit)),
          false,
          `pk ${bit}`,
        );
      }
    });
  }
});

Deno.test("SignatureScheme.verify() returns false for malformed input and never throws", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const s = scheme(name);
      const random = seededRandom(new Uint8Array([3]));
      const pair = await s.generateKeyPair({ seed: random(s.seedLength) });
      const signature = await s.sign(MESSAGE, pair.secretKey, random);
      // The honest signature truncated or extended: every wrong length fails.
      for (
        const length of [0, s.signatureLength - 1, s.signatureLength + 1, s.signatureLength + 32]
      ) {
        const resized = new Uint8Array(length);
        resized.set(signature.subarray(0, Math.min(length, signature.length)));
        assert.equal(await s.verify(resized, MESSAGE, pair.publicKey), false, `length ${length}`);
      }
      for (const delta of [-s.publicKeyLength, -1, 1]) {
        assert.equal(
          await s.verify(signature, MESSAGE, new Uint8Array(s.publicKeyLength + delta)),
          false,
        );
      }
      assert.equal(
        await s.verify(new Uint8Array(s.signatureLength), MESSAGE, pair.publicKey),
        false,
      );
      assert.equal(
        await s.verify(new Uint8Array(s.signatureLength).fill(0xff), MESSAGE, pair.publicKey),
        false,
      );
      assert.equal(
        await s.verify(signature, MESSAGE, new Uint8Array(s.publicKeyLength).fill(0xff)),
        false,
      );
      // deno-lint-ignore no-explicit-any
      const notBytes = "not bytes" as any;
      assert.equal(await s.verify(notBytes, MESSAGE, pair.publicKey), false);
      assert.equal(await s.verify(signature, notBytes, pair.publicKey), false);
      assert.equal(await s.verify(signature, MESSAGE, notBytes), false);
    });
  }
});

Deno.test("SignatureScheme.generateKeyPair() is deterministic for a seed", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const s = scheme(name);
      const seed = new Uint8Array(s.seedLength).fill(42);
      const a = await s.generateKeyPair({ seed });
      const b = await s.generateKeyPair({ seed: Uint8Array.from(seed) });
      assert.deepEqual(a.publicKey, b.publicKey);
      assert.deepEqual(a.secretKey, b.secretKey);
      assert.deepEqual(
        seed,
        new Uint8Array(s.seedLength).fill(42),
        "the caller's seed is not wiped",
      );
      const c = await s.generateKeyPair({ seed: new Uint8Array(s.seedLength).fill(43) });
      assert.notDeepEqual(a.publicKey, c.publicKey);
      const fromRandom = await s.generateKeyPair({ random: seededRandom(new Uint8Array([5])) });
      assert.deepEqual(
        fromRandom.publicKey,
        (await s.generateKeyPair({ random: seededRandom(new Uint8Array([5])) })).publicKey,
      );
      const fresh = await s.generateKeyPair({});
      assert.notDeepEqual(fresh.publicKey, a.publicKey);
    });
  }
});

Deno.test("SignatureScheme rejects caller misuse with RangeError", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const s = scheme(name);
      const random = seededRandom(new Uint8Array([6]));
      await assert.rejects(
        s.generateKeyPair({ seed: new Uint8Array(s.seedLength - 1) }),
        RangeError,
      );
      await assert.rejects(
        s.generateKeyPair({ seed: new Uint8Array(s.seedLength + 1) }),
        RangeError,
      );
      await assert.rejects(
        s.sign(MESSAGE, new Uint8Array(s.secretKeyLength - 1), random),
        RangeError,
      );
    });
  }
});

Deno.test("SignatureScheme ML-DSA hedges with the injected random; EdDSA is deterministic", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const s = scheme(name);
      const pair = await s.generateKeyPair({ seed: new Uint8Array(s.seedLength).fill(7) });
      const one = await s.sign(MESSAGE, pair.secretKey, seededRandom(new Uint8Array([1])));
      const same = await s.sign(MESSAGE, pair.secretKey, seededRandom(new Uint8Array([1])));
      const other = await s.sign(MESSAGE, pair.secretKey, seededRandom(new Uint8Array([2])));
      assert.deepEqual(one, same);
      if (name.includes("ML-DSA")) assert.notDeepEqual(one, other);
      else assert.deepEqual(one, other);
      assert.equal(await s.verify(other, MESSAGE, pair.publicKey), true);
    });
  }
});

Deno.test("SignatureScheme Ed25519+ML-DSA-65 fails when either half is wrong", async () => {
  const hybrid = scheme("Ed25519+ML-DSA-65");
  const ed = scheme("Ed25519");
  const mldsa = scheme("ML-DSA-65");
  const random = seededRandom(new Uint8Array([8]));
  const pair = await hybrid.generateKeyPair({ seed: random(hybrid.seedLength) });
  const signature = await hybrid.sign(MESSAGE, pair.secretKey, random);
  const edSig = signature.subarray(0, ed.signatureLength);
  const pqSig = signature.subarray(ed.signatureLength);
  const edPk = pair.publicKey.subarray(0, ed.publicKeyLength);
  const pqPk = pair.publicKey.subarray(ed.publicKeyLength);
  // Each half is a valid signature of its own scheme.
  assert.equal(await ed.verify(edSig, MESSAGE, edPk), true);
  assert.equal(await mldsa.verify(pqSig, MESSAGE, pqPk), true);
  // Replace one half with a valid signature from a different key: the whole fails.
  const strangerEd = await ed.generateKeyPair({ seed: random(ed.seedLength) });
  const strangerPq = await mldsa.generateKeyPair({ seed: random(mldsa.seedLength) });
  const foreignEd = await ed.sign(MESSAGE, strangerEd.secretKey, random);
  const foreignPq = await mldsa.sign(MESSAGE, strangerPq.secretKey, random);
  assert.equal(
    await hybrid.verify(new Uint8Array([...foreignEd, ...pqSig]), MESSAGE, pair.publicKey),
    false,
  );
  assert.equal(
    await hybrid.verify(new Uint8Array([...edSig, ...foreignPq]), MESSAGE, pair.publicKey),
    false,
  );
  // Swap one public-key half for the stranger's and sign matching halves: still fails.
  const mixedPk = new Uint8Array([...strangerEd.publicKey, ...pqPk]);
  assert.equal(
    await hybrid.verify(new Uint8Array([...foreignEd, ...pqSig]), MESSAGE, mixedPk),
    true,
  );
  assert.equal(await hybrid.verify(signature, MESSAGE, mixedPk), false);
  // The hybrid's keys are the two halves in order, Ed25519 first.
  const seed = new Uint8Array(hybrid.seedLength).fill(9);
  const whole = await hybrid.generateKeyPair({ seed });
  const first = await ed.generateKeyPair({ seed: seed.subarray(0, ed.seedLength) });
  const second = await mldsa.generateKeyPair({ seed: seed.subarray(ed.seedLength) });
  assert.deepEqual(whole.publicKey, new Uint8Array([...first.publicKey, ...second.publicKey]));
  assert.deepEqual(whole.secretKey, new Uint8Array([...first.secretKey, ...second.secretKey]));
});

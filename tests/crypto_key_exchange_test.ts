import assert from "node:assert/strict";
import fc from "fast-check";
import { ErrorCode, HandshakeError } from "../src/errors.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { nodeCryptoBackend } from "../src/crypto/node_backend.ts";
import { webCryptoBackend } from "../src/crypto/webcrypto_backend.ts";
import { autoBackend } from "../src/crypto/auto_backend.ts";
import { seededRandom, systemRandom } from "../src/crypto/random.ts";
import { KEY_EXCHANGES } from "../src/crypto/types.ts";
import type { KeyExchange, KeyExchangeName } from "../src/crypto/types.ts";
import { propertyConfig } from "./_property.ts";
import { flipBit } from "./_bytes.ts";

interface InvalidKeyVectors {
  lengthDeltas: number[];
  keys: Partial<Record<KeyExchangeName, { hex: string; note: string }[]>>;
}

const vectors: InvalidKeyVectors = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/crypto_invalid_keys.json", import.meta.url)),
);

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function exchange(name: KeyExchangeName): KeyExchange {
  const kx = nobleBackend.keyExchange(name);
  assert.ok(kx, `nobleBackend lacks ${name}`);
  return kx;
}

function seed(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}

function isInvalidPeerKey(error: unknown): boolean {
  return error instanceof HandshakeError && error.code === ErrorCode.INVALID_PEER_KEY;
}

/** Wrong lengths for an exact length, from the shared list of deltas (plus empty). */
function wrongLengths(length: number): number[] {
  return [0, ...vectors.lengthDeltas.map((delta) => length + delta)].filter((n) => n >= 0);
}

const NAMES = KEY_EXCHANGES.map((info) => info.name);
const DH_NAMES = NAMES.filter((name) => exchange(name).kind === "dh");
const KEM_NAMES = NAMES.filter((name) => exchange(name).kind === "kem");

Deno.test("nobleBackend.keyExchange() offers every registered key exchange", () => {
  assert.equal(vectors.lengthDeltas.length > 0, true);
  for (const info of KEY_EXCHANGES) {
    const kx = exchange(info.name);
    assert.equal(kx.name, info.name);
    assert.equal(kx.id, info.id);
    assert.equal(kx.kind, info.name.startsWith("ML-KEM") ? "kem" : "dh");
  }
});

Deno.test("KeyExchange agrees on both sides with a seeded random", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const kx = exchange(name);
      const leader = seededRandom(seed(1, 2, 3));
      const follower = seededRandom(seed(4, 5, 6));
      const { offer, state } = await kx.offer(leader);
      assert.equal(offer.length, kx.offerLength);
      const { answer, sharedSecret } = await kx.answer(offer, follower);
      assert.equal(answer.length, kx.answerLength);
      const finished = await kx.finish(state, answer);
      assert.deepEqual(finished, sharedSecret);
      assert.ok(sharedSecret.some((byte) => byte !== 0));
      state.dispose();
      state.dispose(); // idempotent
    });
  }
});

Deno.test("KeyExchange is deterministic for a seeded random", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const kx = exchange(name);
      async function run(leaderSeed: number): Promise<Uint8Array[]> {
        const { offer, state } = await kx.offer(seededRandom(seed(leaderSeed)));
        const { answer, sharedSecret } = await kx.answer(offer, seededRandom(seed(9)));
        state.dispose();
        return [offer, answer, sharedSecret];
      }
      assert.deepEqual(await run(1), await run(1));
      const [offerA, , secretA] = await run(1);
      const [offerB, , secretB] = await run(2);
      assert.notDeepEqual(offerA, offerB);
      assert.notDeepEqual(secretA, secretB);
    });
  }
});

Deno.test("KeyExchange catches a flipped bit in the offer or the answer", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const kx = exchange(name);
      const { offer, state } = await kx.offer(seededRandom(seed(7)));
      const honest = await kx.answer(offer, seededRandom(seed(8)));
      const leaderSecret = await kx.finish(state, honest.answer);
      // X25519 ignores the top bit of u (RFC 7748 §5); the transcript hash covers it instead.
      const lastBit = (length: number): number =>
        name === "X25519" ? length * 8 - 2 : length * 8 - 1;
      const offerBits = [0, 9, Math.floor(kx.offerLength * 4), lastBit(kx.offerLength)];
      for (const bit of offerBits) {
        const tampered = flipBit(offer, bit);
        const outcome = await kx.answer(tampered, seededRandom(seed(8))).then(
          (result) => result.sharedSecret,
          (error: unknown) => error,
        );
        if (outcome instanceof Uint8Array) {
          assert.notDeepEqual(outcome, leaderSecret, `offer bit ${bit} not caught`);
        } else {
          assert.ok(isInvalidPeerKey(outcome), `offer bit ${bit}: ${outcome}`);
        }
      }
      const answerBits = [0, 9, Math.floor(kx.answerLength * 4), lastBit(kx.answerLength)];
      for (const bit of answerBits) {
        const outcome = await kx.finish(state, flipBit(honest.answer, bit)).then(
          (secret) => secret,
          (error: unknown) => error,
        );
        if (outcome instanceof Uint8Array) {
          assert.notDeepEqual(outcome, honest.sharedSecret, `answer bit ${bit} not caught`);
        } else {
          assert.ok(isInvalidPeerKey(outcome), `answer bit ${bit}: ${outcome}`);
        }
      }
      state.dispose();
    });
  }
});

Deno.test("KeyExchange X25519 ignores the top bit of a public key (RFC 7748)", async () => {
  const kx = exchange("X25519");
  const { offer, state } = await kx.offer(seededRandom(seed(7)));
  const { answer, sharedSecret } = await kx.answer(offer, seededRandom(seed(8)));
  assert.deepEqual(await kx.finish(state, flipBit(answer, 255)), sharedSecret);
});

Deno.test("KeyExchange rejects a wrong-length offer or answer with ERR_INVALID_PEER_KEY", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const kx = exchange(name);
      const random = seededRandom(seed(3));
      const { state } = await kx.offer(random);
      for (const length of wrongLengths(kx.offerLength)) {
        await assert.rejects(kx.answer(new Uint8Array(length).fill(4), random), isInvalidPeerKey);
      }
      for (const length of wrongLengths(kx.answerLength)) {
        await assert.rejects(kx.finish(state, new Uint8Array(length).fill(4)), isInvalidPeerKey);
      }
      state.dispose();
    });
  }
});

Deno.test("KeyExchange rejects invalid DH public keys with ERR_INVALID_PEER_KEY", async (t) => {
  for (const name of DH_NAMES) {
    const invalid = vectors.keys[name] ?? [];
    await t.step(name, async () => {
      assert.ok(invalid.length > 0, `no invalid-key vectors for ${name}`);
      const kx = exchange(name);
      const { state } = await kx.offer(seededRandom(seed(5)));
      for (const { hex, note } of invalid) {
        const key = fromHex(hex);
        assert.equal(key.length, kx.offerLength, note);
        await assert.rejects(kx.answer(key, seededRandom(seed(6))), isInvalidPeerKey, note);
        await assert.rejects(kx.finish(state, key), isInvalidPeerKey, note);
      }
      state.dispose();
    });
  }
});

Deno.test("KeyExchange rejects an off-curve NIST point with ERR_INVALID_PEER_KEY", async (t) => {
  for (const name of ["P-256", "P-384", "P-521"] as const) {
    await t.step(name, async () => {
      const kx = exchange(name);
      const { offer, state } = await kx.offer(seededRandom(seed(11)));
      const offCurve = Uint8Array.from(offer);
      offCurve[offCurve.length - 1]! ^= 1; // y changes, x stays: no longer on the curve
      await assert.rejects(kx.answer(offCurve, seededRandom(seed(12))), isInvalidPeerKey);
      await assert.rejects(kx.finish(state, offCurve), isInvalidPeerKey);
      const compressed = Uint8Array.from(offer.subarray(0, 1 + (offer.length - 1) / 2));
      compressed[0] = 0x02 | (offer[offer.length - 1]! & 1);
      await assert.rejects(kx.answer(compressed, seededRandom(seed(12))), isInvalidPeerKey);
      state.dispose();
    });
  }
});

Deno.test("KeyExchange rejects an ML-KEM encapsulation key out of range with ERR_INVALID_PEER_KEY", async (t) => {
  for (const name of KEM_NAMES) {
    await t.step(name, async () => {
      const kx = exchange(name);
      const { offer, state } = await kx.offer(seededRandom(seed(13)));
      const bad = Uint8Array.from(offer);
      bad[0] = 0xff;
      bad[1]! |= 0x0f; // first 12-bit coefficient = 0xfff >= q = 3329
      await assert.rejects(kx.answer(bad, seededRandom(seed(14))), isInvalidPeerKey);
      state.dispose();
    });
  }
});

Deno.test("KeyExchange ML-KEM yields an unrelated secret for a wrong ciphertext (implicit rejection)", async (t) => {
  for (const name of KEM_NAMES) {
    await t.step(name, async () => {
      const kx = exchange(name);
      const { offer, state } = await kx.offer(seededRandom(seed(15)));
      const { answer, sharedSecret } = await kx.answer(offer, seededRandom(seed(16)));
      const wrong = Uint8Array.from(answer).reverse();
      const secret = await kx.finish(state, wrong);
      assert.equal(secret.length, sharedSecret.length);
      assert.notDeepEqual(secret, sharedSecret);
      // finish() does not consume the state: the right answer still works.
      assert.deepEqual(await kx.finish(state, answer), sharedSecret);
      state.dispose();
    });
  }
});

Deno.test("KeyExchange.finish() rejects a disposed or foreign state with TypeError", async () => {
  const x25519 = exchange("X25519");
  const x448 = exchange("X448");
  const { offer, state } = await x25519.offer(seededRandom(seed(1)));
  const { answer } = await x25519.answer(offer, seededRandom(seed(2)));
  await assert.rejects(x448.finish(state, new Uint8Array(56)), TypeError);
  await assert.rejects(x25519.finish({ dispose(): void {} }, answer), TypeError);
  state.dispose();
  await assert.rejects(x25519.finish(state, answer), TypeError);
});

Deno.test("KeyExchange.offer() rejects a random source that returns too few bytes", async () => {
  for (const name of NAMES) {
    await assert.rejects(exchange(name).offer(() => new Uint8Array(1)), RangeError);
  }
});

Deno.test("KeyExchange agrees on both sides for any seeds (property)", async (t) => {
  for (const name of NAMES) {
    await t.step(name, async () => {
      const kx = exchange(name);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 1, maxLength: 32 }),
          fc.uint8Array({ minLength: 1, maxLength: 32 }),
          async (leaderSeed, followerSeed) => {
            const { offer, state } = await kx.offer(seededRandom(leaderSeed));
            const { answer, sharedSecret } = await kx.answer(offer, seededRandom(followerSeed));
            const finished = await kx.finish(state, answer);
            state.dispose();
            assert.deepEqual(finished, sharedSecret);
          },
        ),
        propertyConfig(kx.kind === "kem" ? 8 : 12),
      );
    });
  }
});

Deno.test("KeyExchange.finish() rejects the leader's own offer reflected as the answer with ERR_INVALID_PEER_KEY", async (t) => {
  for (const backend of [nobleBackend, nodeCryptoBackend, webCryptoBackend, autoBackend]) {
    for (const name of DH_NAMES) {
      const kx = backend.keyExchange(name);
      if (kx === undefined) continue;
      await t.step(`${backend.name} ${name}`, async () => {
        for (const random of [seededRandom(seed(21)), systemRandom]) {
          const { offer, state } = await kx.offer(random);
          // The peer sends our own key share back: DH(a, aG) would "succeed".
          await assert.rejects(kx.finish(state, offer), isInvalidPeerKey);
          await assert.rejects(kx.finish(state, Uint8Array.from(offer)), isInvalidPeerKey);
          if (name === "X25519") {
            // The same u-coordinate: X25519 ignores the top bit (RFC 7748 §5).
            await assert.rejects(kx.finish(state, flipBit(offer, 255)), isInvalidPeerKey);
          }
          // The state is still usable for an honest answer.
          const honest = await kx.answer(offer, seededRandom(seed(22)));
          assert.deepEqual(await kx.finish(state, honest.answer), honest.sharedSecret);
          state.dispose();
        }
      });
    }
  }
});

import assert from "node:assert/strict";
import {
  ErrorCode,
  generateIdentity,
  HandshakeError,
  nobleBackend,
  peerUuidOf,
  seededRandom,
} from "../mod.ts";
import { type CryptoBackend, derivePeerUuid, formatUuid, SIGNATURES } from "../src/crypto/mod.ts";

Deno.test("generateIdentity() takes a scheme name in any case and returns the canonical key pair", async () => {
  for (const { name } of SIGNATURES) {
    const scheme = nobleBackend.signature(name)!;
    const seed = new Uint8Array(scheme.seedLength).fill(9);
    const lower = await generateIdentity(name.toLowerCase(), { seed });
    const upper = await generateIdentity(name.toUpperCase(), { seed, backend: nobleBackend });
    const reference = await scheme.generateKeyPair({ seed });
    for (const pair of [lower, upper]) {
      assert.equal(pair.algorithm, name);
      assert.deepEqual(pair.publicKey, reference.publicKey);
      assert.deepEqual(pair.secretKey, reference.secretKey);
    }
    assert.deepEqual(seed, new Uint8Array(scheme.seedLength).fill(9), "the seed is not wiped");
  }
});

Deno.test("generateIdentity() draws a fresh key pair, or a reproducible one from options.random", async () => {
  const a = await generateIdentity("Ed25519");
  const b = await generateIdentity("Ed25519");
  assert.notDeepEqual(a.publicKey, b.publicKey);
  const c = await generateIdentity("ML-DSA-44", { random: seededRandom(Uint8Array.of(1)) });
  const d = await generateIdentity("ml-dsa-44", { random: seededRandom(Uint8Array.of(1)) });
  assert.deepEqual(c.publicKey, d.publicKey);
});

Deno.test("generateIdentity() rejects an unknown scheme, a wrong seed and a backend without the scheme", async () => {
  await assert.rejects(generateIdentity("RSA"), TypeError);
  await assert.rejects(generateIdentity("Ed25519", { seed: new Uint8Array(31) }), RangeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(generateIdentity("Ed25519", null as any), TypeError);
  const withoutEd448: CryptoBackend = {
    ...nobleBackend,
    name: "without Ed448",
    signature: (name) => name === "Ed448" ? undefined : nobleBackend.signature(name),
  };
  await assert.rejects(
    generateIdentity("ed448", { backend: withoutEd448 }),
    (error) => error instanceof HandshakeError && error.code === ErrorCode.UNSUPPORTED_ALGORITHM,
  );
});

Deno.test("peerUuidOf() is formatUuid(derivePeerUuid()) with the scheme in any case", async () => {
  for (const { name } of SIGNATURES) {
    const pair = await generateIdentity(name, { random: seededRandom(Uint8Array.of(2)) });
    const expected = formatUuid(derivePeerUuid(name, pair.publicKey));
    assert.equal(peerUuidOf(name, pair.publicKey), expected);
    assert.equal(peerUuidOf(name.toLowerCase(), pair.publicKey), expected);
  }
  assert.throws(() => peerUuidOf("RSA", new Uint8Array(32)), TypeError);
  assert.throws(() => peerUuidOf("Ed25519", new Uint8Array(0)), TypeError);
});

/**
 * Differential tests: the native WebCrypto backend against noble, byte for
 * byte, plus the composite auto backend and a mixed-backend handshake.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AeadName,
  AEADS,
  createWebCryptoBackend,
  type CryptoBackend,
  DEFAULT_NATIVE_AEAD_THRESHOLDS,
  KEY_EXCHANGES,
  type KeyExchange,
  type KeyExchangeName,
  type RandomSource,
  type SignatureName,
  SIGNATURES,
  type SignatureScheme,
} from "../src/crypto/mod.ts";
import {
  AccessManager,
  autoBackend,
  createAutoBackend,
  createMemoryPair,
  ErrorCode,
  HandshakeError,
  initiate,
  nobleBackend,
  nodeCryptoBackend,
  peerUuidOf,
  QGateError,
  respond,
  seededRandom,
  type Session,
  type SessionOptions,
  systemRandom,
  webCryptoBackend,
} from "../mod.ts";
import { propertyConfig } from "./_property.ts";

interface InvalidKeyVectors {
  lengthDeltas: number[];
  keys: Partial<Record<KeyExchangeName, { hex: string; note: string }[]>>;
}

const vectors: InvalidKeyVectors = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/crypto_invalid_keys.json", import.meta.url)),
);

/** What Deno 2.9's WebCrypto offers (the test runs on Deno 2.9.6). */
const NATIVE_KEY_EXCHANGES: readonly KeyExchangeName[] = [
  "X25519",
  "X448",
  "P-256",
  "P-384",
  "P-521",
  "ML-KEM-512",
  "ML-KEM-768",
  "ML-KEM-1024",
];
const NATIVE_SIGNATURES: readonly SignatureName[] = [
  "Ed25519",
  "ML-DSA-44",
  "ML-DSA-65",
  "ML-DSA-87",
  "Ed25519+ML-DSA-65",
];
const NATIVE_AEADS: readonly AeadName[] = ["ChaCha20-Poly1305", "AES-256-GCM"];

/** Each native backend with what it offers on Deno 2.9; the differential tests run on both. */
const NATIVE_BACKENDS: readonly {
  backend: CryptoBackend;
  keyExchanges: readonly KeyExchangeName[];
  signatures: readonly SignatureName[];
  aeads: readonly AeadName[];
}[] = [
  {
    backend: webCryptoBackend,
    keyExchanges: NATIVE_KEY_EXCHANGES,
    signatures: NATIVE_SIGNATURES,
    aeads: NATIVE_AEADS,
  },
  {
    backend: nodeCryptoBackend,
    keyExchanges: ["X25519", "X448"],
    signatures: ["Ed25519"],
    aeads: NATIVE_AEADS,
  },
];

const MESSAGE = new TextEncoder().encode("qgate differential");

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function native(name: KeyExchangeName, backend: CryptoBackend = webCryptoBackend): KeyExchange {
  const kx = backend.keyExchange(name);
  assert.ok(kx, `${backend.name} lacks ${name}`);
  return kx;
}

function noble(name: KeyExchangeName): KeyExchange {
  return nobleBackend.keyExchange(name)!;
}

function nativeScheme(
  name: SignatureName,
  backend: CryptoBackend = webCryptoBackend,
): SignatureScheme {
  const scheme = backend.signature(name);
  assert.ok(scheme, `${backend.name} lacks ${name}`);
  return scheme;
}

function isInvalidPeerKey(error: unknown): boolean {
  return error instanceof HandshakeError && error.code === ErrorCode.INVALID_PEER_KEY;
}

/** The outcome of a promise as data: bytes as hex, or the error code / class. */
async function outcomeOf(promise: Promise<Uint8Array>): Promise<string> {
  try {
    return Array.from(await promise, (b) => b.toString(16).padStart(2, "0")).join("");
  } catch (error) {
    return error instanceof QGateError ? error.code : `${(error as Error).name}`;
  }
}

/** Two seeded sources from one seed: one for each backend. */
function twin(seed: Uint8Array): [RandomSource, RandomSource] {
  return [seededRandom(seed), seededRandom(seed)];
}

Deno.test("webCryptoBackend offers what Deno's WebCrypto has, and nothing else", () => {
  for (const { name } of KEY_EXCHANGES) {
    assert.equal(
      webCryptoBackend.keyExchange(name) !== undefined,
      NATIVE_KEY_EXCHANGES.includes(name),
      name,
    );
  }
  for (const { name } of SIGNATURES) {
    assert.equal(
      webCryptoBackend.signature(name) !== undefined,
      NATIVE_SIGNATURES.includes(name),
      name,
    );
  }
  for (const { name } of AEADS) {
    assert.equal(webCryptoBackend.aead(name) !== undefined, NATIVE_AEADS.includes(name), name);
  }
  assert.equal(webCryptoBackend.hash("SHA-256"), undefined);
  assert.equal(webCryptoBackend.name, "webcrypto");
  // Lookups are memoised: one adapter per algorithm.
  assert.equal(webCryptoBackend.keyExchange("X25519"), webCryptoBackend.keyExchange("X25519"));
  for (const name of NATIVE_KEY_EXCHANGES) {
    const kx = native(name);
    const reference = noble(name);
    assert.deepEqual(
      [kx.id, kx.kind, kx.offerLength, kx.answerLength],
      [reference.id, reference.kind, reference.offerLength, reference.answerLength],
      name,
    );
  }
  for (const name of NATIVE_SIGNATURES) {
    const scheme = nativeScheme(name);
    const reference = nobleBackend.signature(name)!;
    assert.deepEqual(
      [
        scheme.id,
        scheme.seedLength,
        scheme.publicKeyLength,
        scheme.secretKeyLength,
        scheme.signatureLength,
      ],
      [
        reference.id,
        reference.seedLength,
        reference.publicKeyLength,
        reference.secretKeyLength,
        reference.signatureLength,
      ],
      name,
    );
  }
});

Deno.test("nodeCryptoBackend offers X25519, X448, Ed25519 and two AEADs from node:crypto, nothing else", () => {
  const offered = NATIVE_BACKENDS[1]!;
  for (const { name } of KEY_EXCHANGES) {
    assert.equal(
      nodeCryptoBackend.keyExchange(name) !== undefined,
      offered.keyExchanges.includes(name),
      name,
    );
  }
  for (const { name } of SIGNATURES) {
    assert.equal(
      nodeCryptoBackend.signature(name) !== undefined,
      offered.signatures.includes(name),
      name,
    );
  }
  for (const { name } of AEADS) {
    assert.equal(nodeCryptoBackend.aead(name) !== undefined, offered.aeads.includes(name), name);
  }
  assert.equal(nodeCryptoBackend.hash("SHA-256"), undefined);
  assert.equal(nodeCryptoBackend.name, "node");
  assert.equal(nodeCryptoBackend.keyExchange("X25519"), nodeCryptoBackend.keyExchange("X25519"));
});

Deno.test("createWebCryptoBackend() probes the same algorithms with real operations", async (t) => {
  await t.step("on the platform's WebCrypto", async () => {
    const probed = await createWebCryptoBackend();
    for (const { name } of KEY_EXCHANGES) {
      assert.equal(probed.keyExchange(name) !== undefined, NATIVE_KEY_EXCHANGES.includes(name));
    }
    for (const { name } of SIGNATURES) {
      assert.equal(probed.signature(name) !== undefined, NATIVE_SIGNATURES.includes(name));
    }
    for (const { name } of AEADS) {
      assert.equal(probed.aead(name) !== undefined, NATIVE_AEADS.includes(name));
    }
    assert.equal(probed.hash("SHA-256"), undefined);
  });
  await t.step("on a WebCrypto without anything, nothing", async () => {
    const empty = await createWebCryptoBackend({ subtle: {} as SubtleCrypto });
    for (const { name } of KEY_EXCHANGES) assert.equal(empty.keyExchange(name), undefined);
    for (const { name } of SIGNATURES) assert.equal(empty.signature(name), undefined);
    for (const { name } of AEADS) assert.equal(empty.aead(name), undefined);
  });
  await t.step("rejects options that are not an object", async () => {
    // deno-lint-ignore no-explicit-any
    await assert.rejects(createWebCryptoBackend(null as any), TypeError);
  });
});

Deno.test("KeyExchange native and noble give identical offers, answers and secrets for a seed (property)", async (t) => {
  for (const { backend, keyExchanges } of NATIVE_BACKENDS) {
    for (const name of keyExchanges) {
      await t.step(`${backend.name} ${name}`, async () => {
        const [mine, reference] = [native(name, backend), noble(name)];
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ minLength: 1, maxLength: 32 }),
            fc.uint8Array({ minLength: 1, maxLength: 32 }),
            async (leaderSeed, followerSeed) => {
              const [leaderA, leaderB] = twin(leaderSeed);
              const [followerA, followerB] = twin(followerSeed);
              const a = await mine.offer(leaderA);
              const b = await reference.offer(leaderB);
              assert.deepEqual(a.offer, b.offer);
              const answerA = await mine.answer(a.offer, followerA);
              const answerB = await reference.answer(b.offer, followerB);
              assert.deepEqual(answerA.answer, answerB.answer);
              assert.deepEqual(answerA.sharedSecret, answerB.sharedSecret);
              // Cross: each side finishes the other backend's answer.
              assert.deepEqual(await mine.finish(a.state, answerB.answer), answerB.sharedSecret);
              assert.deepEqual(
                await reference.finish(b.state, answerA.answer),
                answerA.sharedSecret,
              );
              // Both drew exactly the same number of bytes.
              assert.deepEqual(leaderA(8), leaderB(8));
              assert.deepEqual(followerA(8), followerB(8));
              a.state.dispose();
              b.state.dispose();
            },
          ),
          propertyConfig(name.startsWith("P-5") || name.startsWith("ML-KEM") ? 4 : 8),
        );
      });
    }
  }
});

Deno.test("KeyExchange ML-KEM native encapsulation decapsulates with noble and vice versa", async (t) => {
  for (const name of NATIVE_KEY_EXCHANGES.filter((n) => n.startsWith("ML-KEM"))) {
    await t.step(name, async () => {
      const [mine, reference] = [native(name), noble(name)];
      const [leaderA, leaderB] = twin(new Uint8Array([5]));
      const a = await mine.offer(leaderA);
      const b = await reference.offer(leaderB);
      // systemRandom: the native side encapsulates with WebCrypto's own randomness.
      const toNoble = await mine.answer(b.offer, systemRandom);
      assert.deepEqual(await reference.finish(b.state, toNoble.answer), toNoble.sharedSecret);
      const toNative = await reference.answer(a.offer, systemRandom);
      assert.deepEqual(await mine.finish(a.state, toNative.answer), toNative.sharedSecret);
      // Implicit rejection: a wrong ciphertext gives the same unrelated secret on both.
      const wrong = Uint8Array.from(toNoble.answer).reverse();
      const fromNative = await mine.finish(a.state, wrong);
      assert.deepEqual(fromNative, await reference.finish(b.state, wrong));
      assert.notDeepEqual(fromNative, toNoble.sharedSecret);
      a.state.dispose();
      b.state.dispose();
    });
  }
});

Deno.test("KeyExchange native rejects what noble rejects with ERR_INVALID_PEER_KEY", async (t) => {
  const follower = (): RandomSource => seededRandom(new Uint8Array([9]));
  for (const { backend, keyExchanges } of NATIVE_BACKENDS) {
    for (const name of keyExchanges) {
      await t.step(`${backend.name} ${name}`, async () => {
        const [mine, reference] = [native(name, backend), noble(name)];
        const leader = await mine.offer(seededRandom(new Uint8Array([8])));
        const bad = (vectors.keys[name] ?? []).map((entry) => fromHex(entry.hex));
        for (const length of [0, ...vectors.lengthDeltas.map((d) => mine.offerLength + d)]) {
          if (length >= 0) bad.push(new Uint8Array(length));
        }
        if (name.startsWith("ML-KEM")) {
          const outOfRange = Uint8Array.from(leader.offer);
          outOfRange[0] = 0xff;
          outOfRange[1]! |= 0x0f; // first 12-bit coefficient 0xfff >= q
          bad.push(outOfRange);
        }
        assert.ok(bad.length > 0);
        for (const key of bad) {
          for (const random of [follower(), systemRandom]) {
            await assert.rejects(
              mine.answer(key, random),
              isInvalidPeerKey,
              `answer ${key.length}`,
            );
            await assert.rejects(reference.answer(key, follower()), isInvalidPeerKey);
          }
          if (key.length !== mine.answerLength || mine.kind === "dh") {
            await assert.rejects(mine.finish(leader.state, key), isInvalidPeerKey);
          }
        }
        leader.state.dispose();
      });
    }
  }
});

Deno.test("KeyExchange X25519 and X448 native agree with noble on any peer key bytes (property)", async (t) => {
  for (const { backend } of NATIVE_BACKENDS) {
    for (const name of ["X25519", "X448"] as const) {
      await t.step(`${backend.name} ${name}`, async () => {
        const [mine, reference] = [native(name, backend), noble(name)];
        const length = mine.offerLength;
        // Random strings, plus non-canonical u >= p (all-ones with a few low bits varied).
        const peerKey = fc.oneof(
          fc.uint8Array({ minLength: length, maxLength: length }),
          fc.integer({ min: 0, max: 255 }).map((low) => {
            const key = new Uint8Array(length).fill(0xff);
            key[0] = low;
            if (name === "X25519") key[length - 1] = 0x7f;
            return key;
          }),
        );
        await fc.assert(
          fc.asyncProperty(peerKey, async (key) => {
            const [a, b] = twin(new Uint8Array([3]));
            const viaNative = await outcomeOf(mine.answer(key, a).then((r) => r.sharedSecret));
            const viaNoble = await outcomeOf(reference.answer(key, b).then((r) => r.sharedSecret));
            assert.equal(viaNative, viaNoble);
          }),
          propertyConfig(24),
        );
      });
    }
  }
});

Deno.test("KeyExchange native rejects misuse with the same errors as noble", async (t) => {
  for (const { backend, keyExchanges } of NATIVE_BACKENDS) {
    await t.step(backend.name, async () => {
      const x25519 = native("X25519", backend);
      const x448 = native("X448", backend);
      const { offer, state } = await x25519.offer(seededRandom(new Uint8Array([1])));
      const { answer } = await x25519.answer(offer, seededRandom(new Uint8Array([2])));
      await assert.rejects(x448.finish(state, new Uint8Array(56)), TypeError);
      await assert.rejects(x25519.finish({ dispose(): void {} }, answer), TypeError);
      const nobleState = (await noble("X25519").offer(seededRandom(new Uint8Array([1])))).state;
      await assert.rejects(x25519.finish(nobleState, answer), TypeError);
      state.dispose();
      state.dispose(); // idempotent
      await assert.rejects(x25519.finish(state, answer), TypeError);
      for (const name of keyExchanges) {
        await assert.rejects(
          native(name, backend).offer(() => new Uint8Array(1)),
          RangeError,
          name,
        );
      }
    });
  }
});

Deno.test("SignatureScheme native gives noble's keys and verifies noble's signatures both ways", async (t) => {
  for (const { backend, signatures } of NATIVE_BACKENDS) {
    for (const name of signatures) {
      await t.step(`${backend.name} ${name}`, async () => {
        const [mine, reference] = [nativeScheme(name, backend), nobleBackend.signature(name)!];
        const seed = seededRandom(new Uint8Array([4]))(mine.seedLength);
        const pair = await mine.generateKeyPair({ seed });
        const referencePair = await reference.generateKeyPair({ seed });
        assert.deepEqual(pair.publicKey, referencePair.publicKey);
        assert.deepEqual(pair.secretKey, referencePair.secretKey);
        assert.equal(pair.algorithm, name);
        const [randomA, randomB] = twin(new Uint8Array([6]));
        const signature = await mine.sign(MESSAGE, pair.secretKey, randomA);
        const referenceSignature = await reference.sign(MESSAGE, referencePair.secretKey, randomB);
        // EdDSA is deterministic and ML-DSA signs with noble: identical bytes, same draws.
        assert.deepEqual(signature, referenceSignature);
        assert.deepEqual(randomA(8), randomB(8));
        assert.equal(await mine.verify(referenceSignature, MESSAGE, pair.publicKey), true);
        assert.equal(await reference.verify(signature, MESSAGE, pair.publicKey), true);
        // The same verdicts on corrupted inputs.
        const corrupted = [
          [Uint8Array.from(signature, (b, i) => i === 0 ? b ^ 1 : b), MESSAGE, pair.publicKey],
          [signature, Uint8Array.from(MESSAGE, (b, i) => i === 0 ? b ^ 1 : b), pair.publicKey],
          [signature, MESSAGE, Uint8Array.from(pair.publicKey, (b, i) => i === 1 ? b ^ 1 : b)],
          [signature.subarray(1), MESSAGE, pair.publicKey],
          [signature, MESSAGE, pair.publicKey.subarray(1)],
          [new Uint8Array(mine.signatureLength), MESSAGE, pair.publicKey],
          [signature, MESSAGE, new Uint8Array(mine.publicKeyLength)],
          [signature, MESSAGE, new Uint8Array(mine.publicKeyLength).fill(0xff)],
        ] as const;
        for (const [sig, message, key] of corrupted) {
          assert.equal(await mine.verify(sig, message, key), false);
          assert.equal(await reference.verify(sig, message, key), false);
        }
        // deno-lint-ignore no-explicit-any
        const notBytes = "not bytes" as any;
        assert.equal(await mine.verify(notBytes, MESSAGE, pair.publicKey), false);
        await assert.rejects(mine.sign(MESSAGE, pair.secretKey.subarray(1), randomA), RangeError);
        await assert.rejects(mine.sign(notBytes, pair.secretKey, randomA), TypeError);
        await assert.rejects(mine.generateKeyPair({ seed: seed.subarray(1) }), RangeError);
      });
    }
  }
});

Deno.test("SignatureScheme Ed25519 native and noble agree on edge-case signatures", async (t) => {
  for (const { backend } of NATIVE_BACKENDS) {
    await t.step(backend.name, async () => {
      const [mine, reference] = [
        nativeScheme("Ed25519", backend),
        nobleBackend.signature("Ed25519")!,
      ];
      const pair = await mine.generateKeyPair({ seed: new Uint8Array(32).fill(1) });
      const signature = await mine.sign(MESSAGE, pair.secretKey, systemRandom);
      // S + L: the same point equation, a non-canonical scalar (RFC 8032 rejects it).
      const order = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
      const nonCanonical = Uint8Array.from(signature);
      let carry = 0;
      for (let i = 0; i < 32; i++) {
        const sum = nonCanonical[32 + i]! + order[i]! + carry;
        nonCanonical[32 + i] = sum & 0xff;
        carry = sum >> 8;
      }
      const cases: [Uint8Array, Uint8Array][] = [
        [nonCanonical, pair.publicKey],
        // Small-order public keys (identity, order 2, order 4) and a non-canonical encoding of y.
        [signature, fromHex("0100000000000000000000000000000000000000000000000000000000000000")],
        [signature, fromHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")],
        [signature, fromHex("0000000000000000000000000000000000000000000000000000000000000080")],
        [signature, fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")],
        [
          new Uint8Array(64),
          fromHex("0100000000000000000000000000000000000000000000000000000000000000"),
        ],
      ];
      for (const [sig, key] of cases) {
        assert.equal(
          await mine.verify(sig, MESSAGE, key),
          await reference.verify(sig, MESSAGE, key),
          `signature ${sig.subarray(0, 4)} key ${key.subarray(0, 4)}`,
        );
      }
      assert.equal(await mine.verify(nonCanonical, MESSAGE, pair.publicKey), false);
    });
  }
});

Deno.test("SignatureScheme Ed25519 native signs exactly like noble for any seed and message (property)", async (t) => {
  for (const { backend } of NATIVE_BACKENDS) {
    await t.step(backend.name, async () => {
      const [mine, reference] = [
        nativeScheme("Ed25519", backend),
        nobleBackend.signature("Ed25519")!,
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ maxLength: 300 }),
          async (seed, message) => {
            const pair = await mine.generateKeyPair({ seed });
            assert.deepEqual(pair.publicKey, (await reference.generateKeyPair({ seed })).publicKey);
            const signature = await mine.sign(message, pair.secretKey, systemRandom);
            assert.deepEqual(
              signature,
              await reference.sign(message, pair.secretKey, systemRandom),
            );
            assert.equal(await mine.verify(signature, message, pair.publicKey), true);
          },
        ),
        propertyConfig(16),
      );
    });
  }
});

Deno.test("SignatureScheme Ed25519 native signs with a secret key array's bytes at the call, however often it is reused or changed (property)", async (t) => {
  for (const { backend } of NATIVE_BACKENDS) {
    await t.step(backend.name, async () => {
      const [mine, reference] = [
        nativeScheme("Ed25519", backend),
        nobleBackend.signature("Ed25519")!,
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 4 }),
          fc.uint8Array({ maxLength: 64 }),
          async (contents, message) => {
            // One array, signed with twice, then changed in place; finally wiped.
            const secretKey = new Uint8Array(32);
            for (const bytes of [...contents, new Uint8Array(32)]) {
              secretKey.set(bytes);
              const expected = await reference.sign(message, secretKey, systemRandom);
              assert.deepEqual(await mine.sign(message, secretKey, systemRandom), expected);
              assert.deepEqual(await mine.sign(message, secretKey, systemRandom), expected);
            }
          },
        ),
        propertyConfig(16),
      );
    });
  }
});

Deno.test("Aead native seals exactly like noble and opens noble's records (property)", async (t) => {
  for (const { backend, aeads } of NATIVE_BACKENDS) {
    for (const name of aeads) {
      await t.step(`${backend.name} ${name}`, async () => {
        const mine = backend.aead(name)!;
        const reference = nobleBackend.aead(name)!;
        assert.deepEqual(
          [mine.id, mine.keyLength, mine.nonceLength, mine.tagLength],
          [reference.id, reference.keyLength, reference.nonceLength, reference.tagLength],
        );
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
            fc.uint8Array({ minLength: 12, maxLength: 12 }),
            fc.uint8Array({ maxLength: 40 }),
            fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 5000 })),
            async (key, nonce, aad, plaintext) => {
              const a = mine.createCipher(key);
              const b = reference.createCipher(key);
              const sealed = await a.seal(nonce, plaintext, aad);
              assert.deepEqual(sealed, await b.seal(nonce, plaintext, aad));
              assert.deepEqual(await a.open(nonce, sealed, aad), plaintext);
              const tampered = Uint8Array.from(sealed);
              tampered[tampered.length - 1]! ^= 0x80;
              assert.equal(await a.open(nonce, tampered, aad), undefined);
              assert.equal(await b.open(nonce, tampered, aad), undefined);
              a.dispose();
              b.dispose();
            },
          ),
          propertyConfig(20),
        );
      });
    }
  }
});

Deno.test("Aead seal(output) writes the same bytes into the caller's buffer, also in place (property)", async (t) => {
  for (const backend of [nobleBackend, webCryptoBackend, nodeCryptoBackend, autoBackend]) {
    for (const { name } of AEADS) {
      const aead = backend.aead(name);
      if (aead === undefined) continue;
      await t.step(`${backend.name} ${name}`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
            fc.uint8Array({ maxLength: 20 }),
            fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 5000 })),
            fc.integer({ min: 0, max: 7 }),
            async (key, aad, plaintext, offset) => {
              const nonce = new Uint8Array(aead.nonceLength).fill(3);
              const cipher = aead.createCipher(key);
              const expected = await cipher.seal(nonce, plaintext, aad);
              // A separate buffer at any offset.
              const separate = new Uint8Array(offset + expected.length).subarray(offset);
              assert.equal(await cipher.seal(nonce, plaintext, aad, separate), separate);
              assert.deepEqual(separate, expected);
              // In place: the plaintext sits where the ciphertext goes.
              const buffer = new Uint8Array(offset + expected.length);
              const inPlace = buffer.subarray(offset);
              inPlace.set(plaintext);
              const result = await cipher.seal(
                nonce,
                inPlace.subarray(0, plaintext.length),
                aad,
                inPlace,
              );
              assert.equal(result, inPlace);
              assert.deepEqual(inPlace, expected);
              assert.deepEqual(await cipher.open(nonce, inPlace, aad), plaintext);
              await assert.rejects(
                cipher.seal(nonce, plaintext, aad, new Uint8Array(expected.length - 1)),
                RangeError,
              );
              cipher.dispose();
            },
          ),
          propertyConfig(15),
        );
      });
    }
  }
});

Deno.test("Aead native fails like noble: undefined on open, typed errors on seal", async () => {
  for (const { backend, aeads } of NATIVE_BACKENDS) {
    for (const name of aeads) {
      const aead = backend.aead(name)!;
      assert.throws(() => aead.createCipher(new Uint8Array(31)), RangeError);
      const cipher = aead.createCipher(new Uint8Array(32).fill(2));
      const nonce = new Uint8Array(12);
      const sealed = await cipher.seal(nonce, new Uint8Array(3), new Uint8Array(0));
      assert.equal(await cipher.open(new Uint8Array(8), sealed, new Uint8Array(0)), undefined);
      assert.equal(await cipher.open(nonce, sealed.subarray(0, 15), new Uint8Array(0)), undefined);
      assert.equal(await cipher.open(nonce, sealed, new Uint8Array(1)), undefined);
      await assert.rejects(
        cipher.seal(new Uint8Array(8), new Uint8Array(1), new Uint8Array(0)),
        RangeError,
      );
      cipher.dispose();
      cipher.dispose(); // idempotent
      await assert.rejects(cipher.seal(nonce, new Uint8Array(1), new Uint8Array(0)), TypeError);
      assert.equal(await cipher.open(nonce, sealed, new Uint8Array(0)), undefined);
    }
  }
});

Deno.test("createAutoBackend() takes native where offered, noble otherwise, and splits AEAD by size", async (t) => {
  await t.step("picks per algorithm", () => {
    for (const { name } of KEY_EXCHANGES) {
      assert.equal(
        autoBackend.keyExchange(name),
        nodeCryptoBackend.keyExchange(name) ?? webCryptoBackend.keyExchange(name) ??
          nobleBackend.keyExchange(name),
      );
    }
    for (const { name } of SIGNATURES) {
      assert.equal(
        autoBackend.signature(name),
        nodeCryptoBackend.signature(name) ?? webCryptoBackend.signature(name) ??
          nobleBackend.signature(name),
      );
    }
    assert.equal(autoBackend.aead("XChaCha20-Poly1305"), nobleBackend.aead("XChaCha20-Poly1305"));
    assert.equal(autoBackend.hash("BLAKE2b"), nobleBackend.hash("BLAKE2b"));
    assert.equal(autoBackend.name, "auto(node+webcrypto+noble)");
  });

  await t.step("node:crypto's ciphers take every size; WebCrypto's only from the threshold", () => {
    for (const name of NATIVE_AEADS) {
      assert.equal(autoBackend.aead(name), nodeCryptoBackend.aead(name));
      const overWebCrypto = createAutoBackend({ native: webCryptoBackend }).aead(name);
      assert.notEqual(overWebCrypto, webCryptoBackend.aead(name));
      assert.notEqual(overWebCrypto, nobleBackend.aead(name));
    }
  });

  await t.step("small and large AEAD inputs give noble's bytes and cross-open", async () => {
    const overWebCrypto = createAutoBackend({ native: webCryptoBackend });
    for (const name of NATIVE_AEADS) {
      const threshold = DEFAULT_NATIVE_AEAD_THRESHOLDS[name];
      const key = new Uint8Array(32).fill(3);
      const split = overWebCrypto.aead(name)!.createCipher(key);
      const reference = nobleBackend.aead(name)!.createCipher(key);
      for (const size of [0, 1, threshold - 1, threshold, threshold + 1]) {
        const nonce = new Uint8Array(12).fill(size & 0xff);
        const plaintext = seededRandom(new Uint8Array([size & 0xff]))(size);
        const sealed = await split.seal(nonce, plaintext, MESSAGE);
        assert.deepEqual(sealed, await reference.seal(nonce, plaintext, MESSAGE), `${size}`);
        assert.deepEqual(await split.open(nonce, sealed, MESSAGE), plaintext);
        sealed[0]! ^= 1;
        assert.equal(await split.open(nonce, sealed, MESSAGE), undefined);
      }
      split.dispose();
      reference.dispose();
      await assert.rejects(split.seal(new Uint8Array(12), new Uint8Array(1), MESSAGE), TypeError);
      await assert.rejects(
        split.seal(new Uint8Array(12), new Uint8Array(threshold), MESSAGE),
        TypeError,
      );
    }
  });

  await t.step("honours options", () => {
    const nobleOnly = createAutoBackend({ native: nobleBackend });
    assert.equal(nobleOnly.name, "auto(noble+noble)");
    const never = createAutoBackend({ aeadThresholds: { "AES-256-GCM": Infinity } });
    assert.equal(never.aead("AES-256-GCM"), nobleBackend.aead("AES-256-GCM"));
    const always = createAutoBackend({
      native: webCryptoBackend,
      aeadThresholds: { "AES-256-GCM": 0 },
    });
    assert.equal(always.aead("AES-256-GCM"), webCryptoBackend.aead("AES-256-GCM"));
    const ordered = createAutoBackend({ native: [webCryptoBackend, nodeCryptoBackend] });
    assert.equal(ordered.name, "auto(webcrypto+node+noble)");
    assert.equal(ordered.keyExchange("X25519"), webCryptoBackend.keyExchange("X25519"));
    assert.throws(
      () => createAutoBackend({ native: [nobleBackend, {} as CryptoBackend] }),
      TypeError,
    );
    assert.throws(() => createAutoBackend({ aeadThresholds: { "AES-256-GCM": -1 } }), RangeError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => createAutoBackend({ native: {} as any }), TypeError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => createAutoBackend(null as any), TypeError);
  });
});

// ---------------------------------------------------------------------------
// A whole handshake with one side native and the other noble.

async function identities(): Promise<{
  alice: Awaited<ReturnType<SignatureScheme["generateKeyPair"]>>;
  bob: Awaited<ReturnType<SignatureScheme["generateKeyPair"]>>;
  access: AccessManager;
}> {
  const scheme = nobleBackend.signature("Ed25519")!;
  const alice = await scheme.generateKeyPair({ seed: new Uint8Array(32).fill(21) });
  const bob = await scheme.generateKeyPair({ seed: new Uint8Array(32).fill(22) });
  const access = new AccessManager();
  for (const pair of [alice, bob]) {
    access.addPeer(peerUuidOf(pair.algorithm, pair.publicKey), pair.publicKey);
  }
  return { alice, bob, access };
}

interface Run {
  initiator: Session;
  responder: Session;
  frames: string[];
}

async function handshake(
  initiatorBackend: CryptoBackend,
  responderBackend: CryptoBackend,
  extra: Partial<SessionOptions>,
  seeded: boolean,
): Promise<Run> {
  const { alice, bob, access } = await identities();
  const [a, b] = createMemoryPair();
  const frames: string[] = [];
  const common = { accessManager: access, ...extra };
  const initiator = initiate(a, {
    ...common,
    identity: alice,
    backend: initiatorBackend,
    random: seeded ? seededRandom(new Uint8Array([31])) : systemRandom,
  });
  const responder = respond(b, {
    ...common,
    identity: bob,
    backend: responderBackend,
    random: seeded ? seededRandom(new Uint8Array([32])) : systemRandom,
  });
  initiator.on("trace", (event) => {
    if (event.type === "frame") frames.push(`${event.direction} ${event.kind} ${event.size}`);
  });
  await Promise.all([initiator.ready, responder.ready]);
  return { initiator, responder, frames };
}

/**
 * The native side of a session: every algorithm WebCrypto has, every AEAD call
 * native too; hashes stay noble (the contract's hashes are synchronous).
 */
const allNative = createAutoBackend({
  aeadThresholds: { "AES-256-GCM": 0, "ChaCha20-Poly1305": 0 },
});

function exported(session: Session): Uint8Array {
  return session.exportKeyingMaterial("differential", MESSAGE, 32);
}

async function close(run: Run): Promise<void> {
  await run.initiator.close();
  await Promise.all([run.initiator.closed, run.responder.closed]);
}

Deno.test("initiate() and respond() on noble and native backends derive identical keys", async (t) => {
  const suites: Partial<SessionOptions>[] = [
    {},
    {
      algorithms: {
        primaryKeyExchanges: ["P-256"],
        secondaryKeyExchanges: ["ML-KEM-1024"],
        aeads: ["AES-256-GCM"],
        hashes: ["SHA-512"],
      },
    },
    { algorithms: { primaryKeyExchanges: ["X448"], secondaryKeyExchanges: ["ML-KEM-512"] } },
  ];
  for (const extra of suites) {
    const label = JSON.stringify(extra.algorithms ?? "defaults");
    await t.step(`seeded, ${label}: the same transcript as an all-noble run`, async () => {
      const reference = await handshake(nobleBackend, nobleBackend, extra, true);
      const expected = exported(reference.initiator);
      assert.deepEqual(exported(reference.responder), expected);
      for (
        const [left, right] of [
          [nobleBackend, allNative],
          [allNative, nobleBackend],
          [autoBackend, autoBackend],
        ] as const
      ) {
        const run = await handshake(left, right, extra, true);
        assert.deepEqual(exported(run.initiator), expected, `${left.name}/${right.name}`);
        assert.deepEqual(exported(run.responder), expected, `${left.name}/${right.name}`);
        assert.deepEqual(run.frames, reference.frames);
        await close(run);
      }
      await close(reference);
    });
  }
  await t.step("system random, native encapsulation: both ends agree", async () => {
    for (
      const [left, right] of [
        [nobleBackend, allNative],
        [allNative, nobleBackend],
        [autoBackend, autoBackend],
      ] as const
    ) {
      const run = await handshake(left, right, {}, false);
      assert.deepEqual(exported(run.initiator), exported(run.responder));
      assert.equal((await run.initiator.ready).authenticated, true);
      assert.equal((await run.responder.ready).authenticated, true);
      await close(run);
    }
  });
});

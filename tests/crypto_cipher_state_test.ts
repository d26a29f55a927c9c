import assert from "node:assert/strict";
import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { gcm } from "@noble/ciphers/aes.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { ErrorCode, SessionError } from "../src/errors.ts";
import {
  CipherState,
  counterNonce,
  DEFAULT_RECORD_LIMIT,
  EPOCH_RECORD_LIMIT,
  MAX_RECORD_LIMIT,
} from "../src/crypto/cipher_state.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import type { AeadName } from "../src/crypto/types.ts";

/**
 * Counters at the edges of every 16- and 32-bit boundary and the largest
 * datagram sequence, with the 64-bit big-endian nonce tail written out by hand.
 */
const BOUNDARIES: readonly { readonly counter: number; readonly tail: string }[] = [
  { counter: 0, tail: "0000000000000000" },
  { counter: 1, tail: "0000000000000001" },
  { counter: 0xff, tail: "00000000000000ff" },
  { counter: 0x100, tail: "0000000000000100" },
  { counter: 2 ** 16 - 1, tail: "000000000000ffff" },
  { counter: 2 ** 16, tail: "0000000000010000" },
  { counter: 2 ** 32 - 1, tail: "00000000ffffffff" },
  { counter: 2 ** 32, tail: "0000000100000000" },
  { counter: 2 ** 32 + 2 ** 16 + 1, tail: "0000000100010001" },
  { counter: 2 ** 48 - 1, tail: "0000ffffffffffff" },
];

const NOBLE: Readonly<
  Record<
    AeadName,
    (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) => {
      encrypt(plaintext: Uint8Array): Uint8Array;
    }
  >
> = {
  "ChaCha20-Poly1305": chacha20poly1305,
  "XChaCha20-Poly1305": xchacha20poly1305,
  "AES-256-GCM": gcm,
};

const KEY = hexToBytes("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const PLAINTEXT = new TextEncoder().encode("counter nonce known answer");
const AAD = hexToBytes("c0ffee");

Deno.test("counterNonce() writes the counter as 64-bit big-endian after zeros", async (t) => {
  for (const length of [12, 24]) {
    for (const { counter, tail } of BOUNDARIES) {
      await t.step(`${length} bytes, counter ${counter}`, () => {
        assert.deepEqual(
          counterNonce(counter, length),
          hexToBytes("00".repeat(length - 8) + tail),
        );
      });
    }
  }
});

Deno.test("counterNonce() gives distinct nonces across the 16- and 32-bit boundaries", () => {
  const nonces = BOUNDARIES.map(({ counter }) => counterNonce(counter, 12).join());
  assert.equal(new Set(nonces).size, nonces.length);
});

Deno.test("an AEAD sealed with counterNonce() matches noble called with the expected nonce", async (t) => {
  for (const name of Object.keys(NOBLE) as AeadName[]) {
    const aead = nobleBackend.aead(name)!;
    const cipher = aead.createCipher(KEY);
    for (const { counter, tail } of BOUNDARIES) {
      await t.step(`${name}, counter ${counter}`, async () => {
        const nonce = hexToBytes("00".repeat(aead.nonceLength - 8) + tail);
        const expected = NOBLE[name](KEY, nonce, AAD).encrypt(PLAINTEXT);
        const sealed = await cipher.seal(counterNonce(counter, aead.nonceLength), PLAINTEXT, AAD);
        assert.deepEqual(sealed, expected);
      });
    }
    cipher.dispose();
  }
});

Deno.test("CipherState seals record n with the nonce of counter n, across 2^16", async () => {
  // CipherState starts at counter 0; advance() is the only way forward, so the
  // boundaries beyond 2^16 are covered by the counterNonce() tests above.
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  const state = new CipherState(aead, KEY, 1);
  for (let i = 0; i < 2 ** 16 - 1; i++) state.advance();
  for (const counter of [2 ** 16 - 1, 2 ** 16]) {
    const sealed = await state.seal(PLAINTEXT, AAD);
    assert.equal(sealed.counter, counter);
    const nonce = hexToBytes("00000000" + BOUNDARIES.find((b) => b.counter === counter)!.tail);
    assert.deepEqual(sealed.ciphertext, chacha20poly1305(KEY, nonce, AAD).encrypt(PLAINTEXT));
    const receiver = new CipherState(aead, KEY, 1);
    assert.deepEqual(await receiver.open(counter, sealed.ciphertext, AAD), PLAINTEXT);
    assert.equal(await receiver.open(counter - 1, sealed.ciphertext, AAD), undefined);
  }
  assert.equal(state.counter, 2 ** 16 + 1);
  assert.equal(state.remaining, DEFAULT_RECORD_LIMIT - 2 ** 16 - 1);
});

Deno.test("CipherState opens a record sealed at counter 2^48 - 1 and refuses counters past its limit", async () => {
  const aead = nobleBackend.aead("AES-256-GCM")!;
  const counter = MAX_RECORD_LIMIT - 1;
  const nonce = hexToBytes("00000000" + "0000ffffffffffff");
  const ciphertext = gcm(KEY, nonce, AAD).encrypt(PLAINTEXT);
  const wide = new CipherState(aead, KEY, 1, { limit: MAX_RECORD_LIMIT });
  assert.deepEqual(await wide.open(counter, ciphertext, AAD), PLAINTEXT);
  assert.equal(await wide.open(MAX_RECORD_LIMIT, ciphertext, AAD), undefined);
  const narrow = new CipherState(aead, KEY, 1);
  assert.equal(await narrow.open(counter, ciphertext, AAD), undefined);
  assert.equal(await narrow.open(-1, ciphertext, AAD), undefined);
  assert.equal(await narrow.open(0.5, ciphertext, AAD), undefined);
});

Deno.test("CipherState refuses to seal or advance at its limit with ERR_NONCE_EXHAUSTED", async () => {
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  const state = new CipherState(aead, KEY, 3, { limit: 2 });
  assert.equal((await state.seal(PLAINTEXT, AAD)).counter, 0);
  state.advance();
  assert.equal(state.remaining, 0);
  const exhausted = (error: unknown): boolean =>
    error instanceof SessionError && error.code === ErrorCode.NONCE_EXHAUSTED;
  await assert.rejects(state.seal(PLAINTEXT, AAD), exhausted);
  assert.throws(() => state.advance(), exhausted);
  assert.equal(state.counter, 2);
  assert.equal(state.epoch, 3);
});

Deno.test("CipherState rejects a wrong key length or limit with RangeError", () => {
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  assert.throws(() => new CipherState(aead, new Uint8Array(31), 1), RangeError);
  assert.throws(() => new CipherState(aead, new Uint8Array(33), 1), RangeError);
  for (const limit of [0, -1, 1.5, MAX_RECORD_LIMIT + 1, Number.NaN]) {
    assert.throws(() => new CipherState(aead, KEY, 1, { limit }), RangeError, String(limit));
  }
  assert.equal(new CipherState(aead, KEY, 1, { limit: 1 }).remaining, 1);
  assert.equal(new CipherState(aead, KEY, 1, { limit: MAX_RECORD_LIMIT }).remaining, 2 ** 48);
});

Deno.test("CipherState after dispose(): advance() and seal() fail with ERR_SESSION_CLOSED", async () => {
  const state = new CipherState(nobleBackend.aead("ChaCha20-Poly1305")!, KEY, 4);
  // The default limit is 2^32 records per key and direction.
  assert.equal(state.remaining, 2 ** 32);
  assert.equal(DEFAULT_RECORD_LIMIT, 2 ** 32);
  state.dispose();
  const closed = (error: unknown): boolean =>
    error instanceof SessionError && error.code === ErrorCode.SESSION_CLOSED;
  assert.throws(() => state.advance(), closed);
  await assert.rejects(state.seal(PLAINTEXT, AAD), closed);
  assert.equal(state.counter, 0);
});

Deno.test("CipherState.open() refuses an authentic record after dispose() or at its limit", async () => {
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  const sender = new CipherState(aead, KEY, 1);
  const sealed = [];
  for (let i = 0; i < 3; i++) sealed.push(await sender.seal(PLAINTEXT, AAD));
  const receiver = new CipherState(aead, KEY, 1, { limit: 2 });
  assert.deepEqual(await receiver.open(1, sealed[1]!.ciphertext, AAD), PLAINTEXT);
  assert.equal(await receiver.open(2, sealed[2]!.ciphertext, AAD), undefined);
  receiver.dispose();
  assert.equal(await receiver.open(0, sealed[0]!.ciphertext, AAD), undefined);
});

Deno.test("CipherState({ counter }) seals from that counter with its nonce, across 2^32 and up to 2^48 - 1", async () => {
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  for (const { counter, tail } of BOUNDARIES) {
    const state = new CipherState(aead, KEY, 1, { counter, limit: MAX_RECORD_LIMIT });
    assert.equal(state.counter, counter);
    assert.equal(state.remaining, MAX_RECORD_LIMIT - counter);
    const sealed = await state.seal(PLAINTEXT, AAD);
    assert.equal(sealed.counter, counter, `counter ${counter}`);
    const nonce = hexToBytes("00000000" + tail);
    assert.deepEqual(sealed.ciphertext, chacha20poly1305(KEY, nonce, AAD).encrypt(PLAINTEXT));
    assert.equal(state.counter, counter + 1);
  }
});

Deno.test("CipherState({ counter }) at its limit is exhausted; out-of-range first counters are a RangeError", async () => {
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  const last = new CipherState(aead, KEY, 1, { counter: DEFAULT_RECORD_LIMIT - 1 });
  assert.equal((await last.seal(PLAINTEXT, AAD)).counter, DEFAULT_RECORD_LIMIT - 1);
  const exhausted = (error: unknown): boolean =>
    error instanceof SessionError && error.code === ErrorCode.NONCE_EXHAUSTED;
  await assert.rejects(last.seal(PLAINTEXT, AAD), exhausted);
  const full = new CipherState(aead, KEY, 1, { counter: 5, limit: 5 });
  assert.equal(full.remaining, 0);
  assert.throws(() => full.advance(), exhausted);
  for (const counter of [-1, 0.5, 6, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new CipherState(aead, KEY, 1, { counter, limit: 5 }),
      RangeError,
      String(counter),
    );
  }
});

Deno.test("EPOCH_RECORD_LIMIT is the protocol's 2^32 records per key and direction (PROTOCOL.md §5.4)", () => {
  // A wire literal, not the constant: a peer that opened fewer would fail honest peers.
  assert.equal(EPOCH_RECORD_LIMIT, 4_294_967_296);
  const state = new CipherState(nobleBackend.aead("AES-256-GCM")!, KEY, 2, {
    limit: EPOCH_RECORD_LIMIT,
  });
  assert.equal(state.remaining, 4_294_967_296);
});

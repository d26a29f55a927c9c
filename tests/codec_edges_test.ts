/**
 * The edges of the codec's documented ranges: the largest value each field
 * accepts, the first it rejects, and arguments of the wrong type.
 */

import assert from "node:assert/strict";
import { CipherState } from "../src/crypto/cipher_state.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import { keyUpdateTranscript } from "../src/crypto/key_schedule.ts";
import { MESSAGE_TYPE, PROTOCOL_VERSION } from "../src/codec/message_types.ts";
import {
  decodeMessage,
  decodePlaintext,
  encodeMessage,
  encodeMessageParts,
  encodePlaintext,
} from "../src/codec/messages.ts";
import { MAX_SEQUENCE, ReplayWindow } from "../src/codec/replay_window.ts";
import { RecordSealer } from "../src/codec/stream_records.ts";
import {
  DatagramOpener,
  DatagramSealer,
  MAX_DATAGRAM_EPOCH,
} from "../src/codec/datagram_records.ts";
import { CHOICE, OFFER } from "./_meta_messages.ts";

/** Passes when `run` throws `type` synchronously or returns a promise that rejects with it. */
async function fails(
  run: () => unknown,
  type: typeof TypeError | typeof RangeError,
): Promise<void> {
  await assert.rejects(async () => await run(), type);
}

Deno.test("encodeMessage() accepts each field's largest value and rejects the next", async (t) => {
  await t.step("version.minor", async () => {
    encodeMessage({ ...OFFER, version: { major: PROTOCOL_VERSION.major, minor: 0xff } });
    await fails(
      () => encodeMessage({ ...OFFER, version: { major: PROTOCOL_VERSION.major, minor: 0x100 } }),
      RangeError,
    );
  });
  await t.step("the chosen hash id", async () => {
    encodeMessage({ ...CHOICE, hash: 0xffff });
    await fails(() => encodeMessage({ ...CHOICE, hash: 0x10000 }), RangeError);
  });
  await t.step("every offered list", async () => {
    for (
      const list of [
        "primaryKeyExchanges",
        "secondaryKeyExchanges",
        "aeads",
        "hashes",
        "signatures",
      ] as const
    ) {
      encodeMessage({ ...OFFER, [list]: [0xffff] });
      await fails(() => encodeMessage({ ...OFFER, [list]: [0x10000] }), RangeError);
      await fails(() => encodeMessage({ ...OFFER, [list]: "ids" as never }), TypeError);
    }
  });
  await t.step("the chosen version and key exchange ids", async () => {
    await fails(
      () => encodeMessage({ ...CHOICE, version: { major: PROTOCOL_VERSION.major, minor: 0x100 } }),
      RangeError,
    );
    encodeMessage({ ...CHOICE, primaryKeyExchange: 0xffff, secondaryKeyExchange: 0xffff });
    await fails(() => encodeMessage({ ...CHOICE, primaryKeyExchange: 0x10000 }), RangeError);
    await fails(() => encodeMessage({ ...CHOICE, secondaryKeyExchange: 0x10000 }), RangeError);
  });
  await t.step("the offered and chosen session id", async () => {
    await fails(() => encodeMessage({ ...OFFER, sessionId: new Uint8Array(7) }), RangeError);
    await fails(() => encodeMessage({ ...CHOICE, sessionId: new Uint8Array(9) }), RangeError);
  });
});

Deno.test("encodeMessageParts() gives the bytes of encodeMessage() for data and its continuation", () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const messages = [
    { kind: "extenderData", extender: new Uint8Array(16).fill(3), total: 900, data },
    { kind: "extenderDataContinuation", data },
  ] as const;
  for (const message of messages) {
    const parts = encodeMessageParts(message);
    const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    assert.deepEqual(joined, encodeMessage(message), message.kind);
    assert.deepEqual(decodeMessage(MESSAGE_TYPE[message.kind], joined), message, message.kind);
  }
});

Deno.test("encodeMessage() and the decoders reject bytes that are not a Uint8Array", async () => {
  await fails(
    () => encodeMessage({ kind: "extenderData", extender: new Uint8Array(16), data: "x" as never }),
    TypeError,
  );
  await fails(
    () =>
      encodeMessage({
        kind: "beginKeyUpdate",
        epoch: 3,
        primaryShare: [1, 2, 3] as never,
        secondaryShare: new Uint8Array(3),
      }),
    TypeError,
  );
  await fails(() => decodeMessage(MESSAGE_TYPE.close, [0] as never), TypeError);
  await fails(() => decodePlaintext([MESSAGE_TYPE.close, 0, 0, 1, 0] as never), TypeError);
});

Deno.test("ReplayWindow accepts sequence numbers up to MAX_SEQUENCE = 2^48 - 1", () => {
  assert.equal(MAX_SEQUENCE, 2 ** 48 - 1);
  const window = new ReplayWindow();
  assert.equal(window.check(2 ** 48), false);
  assert.equal(window.check(MAX_SEQUENCE), true);
  assert.equal(window.tryAccept(MAX_SEQUENCE), true);
  assert.equal(window.check(MAX_SEQUENCE), false);
  assert.equal(window.check(MAX_SEQUENCE - 1), true);
});

Deno.test("RecordSealer rejects a short salt and a type byte above 0xff", async () => {
  await fails(
    () => new RecordSealer({ backend: nobleBackend, random: () => new Uint8Array(15) }),
    RangeError,
  );
  const sealer = new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array(1)),
  });
  await sealer.seal(0xff, new Uint8Array(0));
  await fails(() => sealer.seal(0x100, new Uint8Array(0)), RangeError);
  await fails(() => sealer.seal(-1, new Uint8Array(0)), RangeError);
});

Deno.test("datagram setCipher() accepts epochs up to MAX_DATAGRAM_EPOCH and graceMs from 0", async () => {
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  const state = (epoch: number): CipherState => new CipherState(aead, new Uint8Array(32), epoch);
  const sealer = new DatagramSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array(2)),
  });
  sealer.setCipher(state(MAX_DATAGRAM_EPOCH));
  assert.equal(sealer.epoch, MAX_DATAGRAM_EPOCH);
  await fails(() => sealer.setCipher(state(MAX_DATAGRAM_EPOCH + 1)), RangeError);
  const opener = new DatagramOpener({ backend: nobleBackend, now: () => 0, graceMs: 0 });
  await fails(() => opener.setCipher(state(0)), RangeError);
  opener.setCipher(state(1));
  assert.equal(opener.epoch, 1);
  await fails(
    () => new DatagramOpener({ backend: nobleBackend, now: () => 0, graceMs: -1 }),
    RangeError,
  );
});

Deno.test("keyUpdateTranscript() accepts epochs 0 to 2^32 - 1 and byte bodies only", async () => {
  const sha256 = nobleBackend.hash("SHA-256")!;
  const body = new Uint8Array(4);
  assert.equal(keyUpdateTranscript(sha256, 0, body, body).length, 32);
  assert.equal(keyUpdateTranscript(sha256, 2 ** 32 - 1, body, body).length, 32);
  await fails(() => keyUpdateTranscript(sha256, -1, body, body), RangeError);
  await fails(() => keyUpdateTranscript(sha256, 2 ** 32, body, body), RangeError);
  await fails(() => keyUpdateTranscript(sha256, 3, [1, 2] as never, body), TypeError);
  await fails(() => keyUpdateTranscript(sha256, 3, body, [1, 2] as never), TypeError);
});

Deno.test("encodePlaintext() and decodePlaintext() carry a body above 65,535 bytes", () => {
  const body = new Uint8Array(0x1_0203).map((_, i) => i % 251);
  const decoded = decodePlaintext(encodePlaintext(MESSAGE_TYPE.extenderData, body, 3));
  assert.equal(decoded.type, MESSAGE_TYPE.extenderData);
  assert.deepEqual(decoded.body, body);
});

Deno.test("encodeMessage() accepts 65,535 extender UUIDs and rejects 65,536", async () => {
  const uuids = (count: number): Uint8Array[] =>
    Array.from({ length: count }, (_, i) => {
      const uuid = new Uint8Array(16);
      new DataView(uuid.buffer).setUint32(12, i);
      return uuid;
    });
  assert.equal(
    encodeMessage({ kind: "beginSessionInit", extenders: uuids(0xffff) }).length,
    2 + 16 * 0xffff + 4, // the UUID list, then u32 maxMessageSize
  );
  await fails(
    () => encodeMessage({ kind: "beginSessionInit", extenders: uuids(0x10000) }),
    RangeError,
  );
});

Deno.test("ReplayWindow forgets the bits of a word when the window reuses it", () => {
  // 33 words of 32 bits: sequence s and s + 1056 share a word and a bit.
  const window = new ReplayWindow();
  assert.equal(window.tryAccept(4), true);
  assert.equal(window.tryAccept(5), true);
  assert.equal(window.tryAccept(5 + 1056), true);
  assert.equal(window.tryAccept(5 + 1056), false);
  // 4 + 1056 was never seen, though 4 was, in the same bit of the same word.
  assert.equal(window.tryAccept(4 + 1056), true);
});

Deno.test("DatagramSealer seals with the current or the previous epoch, no other", async () => {
  const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
  const key = new Uint8Array(32).fill(9);
  const sealer = new DatagramSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array(4)),
    maxDatagramLength: 1200,
  });
  assert.equal(sealer.maxBodyLength(), 1200 - 16 - 8 - 5 - 16);
  const opener = new DatagramOpener({ backend: nobleBackend, now: () => 0 });
  assert.equal(opener.epoch, 0);
  await opener.open(await sealer.seal(1, new Uint8Array(1)));
  sealer.setCipher(new CipherState(aead, key, 1));
  opener.setCipher(new CipherState(aead, key, 1));
  // Without the salt from epoch 1 on.
  assert.equal(sealer.maxBodyLength(), 1200 - 8 - 5 - 16);
  assert.equal((await opener.open(await sealer.seal(1, new Uint8Array(1), 0, 0))).epoch, 0);
  assert.equal((await opener.open(await sealer.seal(1, new Uint8Array(1), 0, 1))).epoch, 1);
  await fails(() => sealer.seal(1, new Uint8Array(1), 0, 2), RangeError);
});

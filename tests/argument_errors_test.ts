/**
 * Argument errors name what failed. A `TypeError` or `RangeError` carries no
 * code, so its message is its only content: it starts with `Cannot <what was
 * being done>:` and quotes the parameter (STYLE.md, "small boundary
 * asserts"). These tests pin that for the boundary checks whose removal a
 * later check would hide behind an error of the same class but with a
 * message about something else.
 */

import assert from "node:assert/strict";
import { derivePreKeys, KeySchedule } from "../src/crypto/key_schedule.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import {
  decodeMessage,
  decodePlaintext,
  encodeMessage,
  encodeMessageParts,
  MAX_SHARE_LENGTH,
  plaintextLength,
  writePlaintext,
} from "../src/codec/messages.ts";
import { Transcript } from "../src/crypto/transcript.ts";
import { MESSAGE_TYPE } from "../src/codec/message_types.ts";
import { DatagramOpener, DatagramSealer } from "../src/codec/datagram_records.ts";
import {
  FrameDecoder,
  FrameDecoderStream,
  FrameEncoderStream,
  RecordOpener,
  RecordSealer,
} from "../src/codec/stream_records.ts";
import { concatBytes } from "@noble/hashes/utils.js";
import { ErrorCode, FrameError } from "../src/errors.ts";
import { CHOICE, OFFER } from "./_meta_messages.ts";

/** Passes when `run` throws (or rejects with) `type` whose message starts with `prefix`. */
async function failsNaming(
  run: () => unknown,
  type: typeof TypeError | typeof RangeError,
  prefix: string,
): Promise<void> {
  await assert.rejects(async () => await run(), (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.ok(
      error.message.startsWith(prefix),
      `expected a message starting ${JSON.stringify(prefix)}, got ${JSON.stringify(error.message)}`,
    );
    return true;
  });
}

Deno.test("encodeMessage() names the field it refuses", async (t) => {
  await t.step("version", async () => {
    await failsNaming(
      () => encodeMessage({ ...OFFER, version: null as never }),
      TypeError,
      'Cannot encode message: "version"',
    );
  });
  await t.step("each offered list", async () => {
    for (
      const name of [
        "primaryKeyExchanges",
        "secondaryKeyExchanges",
        "aeads",
        "hashes",
        "signatures",
      ] as const
    ) {
      await failsNaming(
        () => encodeMessage({ ...OFFER, [name]: "none" as never }),
        TypeError,
        `Cannot encode message: "${name}"`,
      );
    }
  });
  await t.step("each chosen id, from 0 to 0xffff", async () => {
    for (const name of ["primaryKeyExchange", "secondaryKeyExchange", "aead", "hash"] as const) {
      encodeMessage({ ...CHOICE, [name]: 0 });
      encodeMessage({ ...CHOICE, [name]: 0xffff });
      for (const value of [-1, 0x10000]) {
        await failsNaming(
          () => encodeMessage({ ...CHOICE, [name]: value }),
          RangeError,
          `Cannot encode message: "${name}"`,
        );
      }
    }
  });
  await t.step("maxMessageSize", async () => {
    await failsNaming(
      () => encodeMessage({ kind: "beginSessionInit", extenders: [], maxMessageSize: 5 }),
      RangeError,
      'Cannot encode message: "maxMessageSize"',
    );
  });
});

Deno.test("decodeMessage() takes a key share of exactly MAX_SHARE_LENGTH bytes", () => {
  const share = new Uint8Array(MAX_SHARE_LENGTH).fill(1);
  const decoded = decodeMessage(MESSAGE_TYPE.beginPrimaryKeyExchange, share);
  assert.equal(decoded.kind, "beginPrimaryKeyExchange");
  assert.equal((decoded as { share: Uint8Array }).share.length, MAX_SHARE_LENGTH);
});

Deno.test("the datagram codec names the argument it refuses", async () => {
  await failsNaming(
    () => new DatagramSealer({ backend: nobleBackend, random: () => new Uint8Array(15) }),
    RangeError,
    'Cannot create datagram sealer: "random(16)"',
  );
  const sealer = new DatagramSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([0xae, 1])),
  });
  await failsNaming(
    () => sealer.seal(0x100, new Uint8Array(0)),
    RangeError,
    'Cannot seal datagram: "type"',
  );
  const opener = new DatagramOpener({ backend: nobleBackend, now: () => 0 });
  await failsNaming(
    () => opener.open("datagram" as never),
    TypeError,
    'Cannot open datagram: "datagram"',
  );
});

Deno.test("DatagramOpener takes a datagram of exactly maxDatagramLength bytes", async () => {
  const sealer = new DatagramSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([0xae, 2])),
  });
  const datagram = await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(100));
  const exact = new DatagramOpener({
    backend: nobleBackend,
    now: () => 0,
    maxDatagramLength: datagram.length,
  });
  assert.equal((await exact.open(datagram)).body.length, 100);
  const smaller = new DatagramOpener({
    backend: nobleBackend,
    now: () => 0,
    maxDatagramLength: datagram.length - 1,
  });
  await assert.rejects(smaller.open(datagram));
});

Deno.test("the stream encoder names a wrong input", async () => {
  const encoder = new FrameEncoderStream({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([0xae, 3])),
  });
  const reading = new Response(encoder.readable).arrayBuffer().catch((error) => error);
  const writer = encoder.writable.getWriter();
  await writer.write(null as never).catch(() => {});
  const error = await reading;
  assert.ok(error instanceof TypeError, String(error));
  assert.ok(error.message.startsWith("Cannot seal record: input"), error.message);
});

Deno.test("the key schedule names the argument it refuses", async () => {
  const sha256 = nobleBackend.hash("SHA-256")!;
  await failsNaming(
    () => derivePreKeys(new Uint8Array(16), "secret" as never),
    TypeError,
    'Cannot derive pre-keys: "globalSharedSecret"',
  );
  const schedule = new KeySchedule(sha256);
  schedule.mixPrimary(new Uint8Array(32).fill(1), new Uint8Array(32));
  schedule.mixSecondary(new Uint8Array(32).fill(2), new Uint8Array(32));
  for (const length of [0, -1, 255 * 32 + 1]) {
    await failsNaming(
      () => schedule.exporter("label", new Uint8Array(0), length),
      RangeError,
      'Cannot export keying material: "length"',
    );
  }
  assert.equal(schedule.exporter("label", new Uint8Array(0), 1).length, 1);
});

Deno.test("the record codecs name a backend that is not one", async () => {
  const noHash = { ...nobleBackend, hash: undefined } as never;
  for (const backend of [null, {}, noHash] as never[]) {
    await failsNaming(
      () => new DatagramSealer({ backend, random: seededRandom(new Uint8Array([0xae, 4])) }),
      TypeError,
      'Cannot create datagram sealer: "backend"',
    );
    await failsNaming(
      () => new DatagramOpener({ backend, now: () => 0 }),
      TypeError,
      'Cannot create datagram opener: "backend"',
    );
  }
});

Deno.test("KeySchedule takes traffic keys up to 255 hash lengths and no longer", async () => {
  const sha256 = nobleBackend.hash("SHA-256")!;
  const schedule = new KeySchedule(sha256, { keyLength: 255 * 32 });
  const keys = schedule.mixPrimary(new Uint8Array(32).fill(1), new Uint8Array(32));
  assert.equal(keys.initiatorToResponder.length, 255 * 32);
  await failsNaming(
    () => new KeySchedule(sha256, { keyLength: 255 * 32 + 1 }),
    RangeError,
    'Cannot create key schedule: "keyLength"',
  );
});

Deno.test("derivePreKeys() mixes a GSS of any length, one byte too, into the header key", () => {
  const salt = new Uint8Array(16).fill(4);
  const keys = derivePreKeys(salt, new Uint8Array([1]));
  assert.notDeepEqual(keys.headerKey, keys.openingHeaderKey);
  assert.notDeepEqual(keys.preKey, derivePreKeys(salt).preKey);
});

/**
 * A three-byte array that claims another length: the boundary checks of
 * 4 GiB limits read `length`, so they can be tested without 4 GiB. Only code
 * that never reads the bytes by that length may be handed one.
 */
function claimingLength(length: number): Uint8Array {
  const bytes = new Uint8Array([1, 2, 3]);
  Object.defineProperty(bytes, "length", { value: length });
  return bytes;
}

Deno.test("the 2^32 - 1 byte limits of a transcript entry and a record body, at their edge", async () => {
  const transcript = new Transcript();
  // Before the hash is known the transcript copies what it is given, by its real length.
  transcript.append(1, claimingLength(2 ** 32 - 1));
  await failsNaming(
    () => transcript.append(1, claimingLength(2 ** 32)),
    RangeError,
    'Cannot append to transcript: "body"',
  );
  // A plaintext is type (1 byte) ‖ body length (4 bytes) ‖ body ‖ padding.
  assert.equal(plaintextLength(1, claimingLength(2 ** 32 - 1), 0), 5 + 2 ** 32 - 1);
  assert.equal(
    plaintextLength(1, [claimingLength(2 ** 32 - 2), new Uint8Array(1)], 0),
    5 + 2 ** 32 - 1,
  );
  await failsNaming(
    () => plaintextLength(1, claimingLength(2 ** 32), 0),
    RangeError,
    'Cannot encode plaintext: "body"',
  );
});

Deno.test("writePlaintext() writes the body length big-endian in four bytes, past 2^24", () => {
  const length = 2 ** 24 + 0x0203;
  const body = new Uint8Array(length).fill(9);
  const target = new Uint8Array(5 + length);
  writePlaintext(target, 0x70, body);
  assert.deepEqual([...target.subarray(0, 6)], [0x70, 1, 0, 2, 3, 9]);
  assert.equal(target[target.length - 1], 9);
});

Deno.test("RecordSealer names a record type that is not a byte", async () => {
  const sealer = new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([0xae, 5])),
  });
  await failsNaming(
    () => sealer.seal(0x100, new Uint8Array(0)),
    RangeError,
    'Cannot seal record: "type"',
  );
  assert.ok((await sealer.seal(0xff, new Uint8Array(0))).length > 0);
});

Deno.test("encodeMessage() names an identity that is not an object", async () => {
  for (const identity of [null, "key"]) {
    await failsNaming(
      () => encodeMessage({ kind: "beginAuthentication", identity: identity as never }),
      TypeError,
      'Cannot encode message: "identity"',
    );
  }
});

Deno.test("RecordOpener names a record header of the wrong length", async () => {
  const decoder = new FrameDecoder();
  const opener = new RecordOpener({ decoder, backend: nobleBackend });
  await failsNaming(
    () =>
      opener.open({
        index: 0,
        header: new Uint8Array(2),
        ciphertext: new Uint8Array(17),
      } as never),
    RangeError,
    'Cannot open record: "record.header"',
  );
});

Deno.test("FrameDecoderStream errors at a framing error, not at the end of the stream", async () => {
  const stream = new FrameDecoderStream({ maxRecordLength: 1000 });
  const sealer = new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([0xae, 6])),
    maxRecordLength: 4096,
  });
  const large = await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(2000));
  const reading = stream.readable.pipeTo(new WritableStream()).catch((error) => error);
  const writer = stream.writable.getWriter();
  await writer.write(concatBytes(sealer.preamble(), large)).catch(() => {});
  // The stream is errored now: the next write fails, and the reader saw the code.
  const tooLarge = (error: unknown): boolean =>
    error instanceof FrameError && error.code === ErrorCode.FRAME_TOO_LARGE;
  await assert.rejects(writer.write(new Uint8Array(1)), tooLarge);
  assert.ok(tooLarge(await reading));
});

Deno.test("RecordOpener, decodePlaintext() and encodeMessageParts() name what they refuse", async () => {
  const opener = new RecordOpener({ decoder: new FrameDecoder(), backend: nobleBackend });
  await failsNaming(() => opener.open(null as never), TypeError, 'Cannot open record: "record"');
  await failsNaming(
    () => decodePlaintext("plaintext" as never),
    TypeError,
    'Cannot decode plaintext: "plaintext"',
  );
  await failsNaming(
    () => encodeMessageParts({ kind: "extenderDataContinuation", data: new Uint8Array(0) }),
    RangeError,
    'Cannot encode message: continuation "data"',
  );
});

Deno.test("the stream codec and decodeMessage() name the argument they refuse", async () => {
  await failsNaming(
    () => new RecordSealer({ backend: nobleBackend, random: () => new Uint8Array(15) }),
    RangeError,
    'Cannot create record sealer: "random(16)"',
  );
  const sealer = new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([0xae, 7])),
  });
  await failsNaming(
    () => sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(0), -1),
    RangeError,
    'Cannot seal record: "paddingLength"',
  );
  const opener = new RecordOpener({ decoder: new FrameDecoder(), backend: nobleBackend });
  await failsNaming(
    () => opener.open({ index: 0, header: new Uint8Array(3), ciphertext: "x" } as never),
    TypeError,
    'Cannot open record: "record.ciphertext"',
  );
  await failsNaming(
    () => decodeMessage(MESSAGE_TYPE.noise, "body" as never),
    TypeError,
    'Cannot decode message: "body"',
  );
});

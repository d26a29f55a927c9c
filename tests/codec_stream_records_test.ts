import assert from "node:assert/strict";
import fc from "fast-check";
import { chacha20, chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import { ErrorCode, FrameError, SessionError } from "../src/errors.ts";
import { CipherState } from "../src/crypto/cipher_state.ts";
import { derivePreKeys } from "../src/crypto/key_schedule.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import type { Aead, AeadCipher, AeadName, CryptoBackend } from "../src/crypto/types.ts";
import { MESSAGE_TYPE } from "../src/codec/message_types.ts";
import {
  encodeMessage,
  encodeMessageParts,
  encodePlaintext,
  messageTypeOf,
} from "../src/codec/messages.ts";
import {
  DEFAULT_MAX_RECORD_LENGTH,
  FrameDecoder,
  FrameDecoderStream,
  FrameEncoderStream,
  MIN_RECORD_LENGTH,
  RecordOpener,
  RecordSealer,
  type RecordSealerOptions,
  type SealedRecord,
} from "../src/codec/stream_records.ts";
import { lengthMask, LengthMasks, SEAL_OFFSET } from "../src/codec/_stream_common.ts";
import {
  cipherLog,
  copiesMadeOf,
  countOf,
  hkdfRecorder,
  isWiped,
  recordingBackend,
} from "./_recording_backend.ts";
import {
  chunk,
  messageRecordInputArbitrary,
  type RecordInput,
  recordInputArbitrary,
  splitPointsArbitrary,
} from "./_arbitraries.ts";
import { propertyConfig } from "./_property.ts";

const STREAM_CODES: readonly string[] = [
  ErrorCode.FRAME_TOO_LARGE,
  ErrorCode.MALFORMED_MESSAGE,
  ErrorCode.DECRYPT_FAILED,
  ErrorCode.FRAME_TRUNCATED,
];

function seed(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}

function newSealer(
  seedByte: number,
  options: Partial<RecordSealerOptions> = {},
): RecordSealer {
  return new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(seed(0x51, seedByte)),
    ...options,
  });
}

function cipher(name: AeadName, keyByte: number, epoch: number): CipherState {
  return new CipherState(nobleBackend.aead(name)!, new Uint8Array(32).fill(keyByte), epoch);
}

/** Bytes of one sealed record on the wire. */
function recordLength(input: RecordInput): number {
  return 3 + 5 + input.body.length + input.paddingLength + 16;
}

/** Bytes of a whole sealed stream: the salt, then every record. */
function wireLength(inputs: readonly RecordInput[]): number {
  return inputs.reduce((sum, input) => sum + recordLength(input), 16);
}

/** A switch to a new epoch before record `at`, on both sides. */
interface EpochSwitch {
  at: number;
  aead: AeadName;
  keyByte: number;
}

async function sealAll(
  sealer: RecordSealer,
  inputs: readonly RecordInput[],
  switches: readonly EpochSwitch[] = [],
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [sealer.preamble()];
  for (const [i, input] of inputs.entries()) {
    for (const s of switches.filter((s) => s.at === i)) {
      sealer.setCipher(cipher(s.aead, s.keyByte, sealer.epoch + 1));
    }
    parts.push(await sealer.seal(input.type, input.body, input.paddingLength));
  }
  return concatBytes(...parts);
}

interface Received {
  records: SealedRecord[];
  opened: { type: number; body: Uint8Array; epoch: number }[];
  error?: unknown;
}

/** Feeds `chunks` to a fresh decoder, finishes it, then opens every record in order. */
async function receive(
  chunks: readonly Uint8Array[],
  options: { globalSharedSecret?: Uint8Array; maxRecordLength?: number } = {},
  switches: readonly EpochSwitch[] = [],
): Promise<Received> {
  const decoder = new FrameDecoder(options);
  const opener = new RecordOpener({ decoder, backend: nobleBackend });
  const records: SealedRecord[] = [];
  const opened: { type: number; body: Uint8Array; epoch: number }[] = [];
  try {
    for (const part of chunks) records.push(...decoder.push(part));
    decoder.finish();
  } catch (error) {
    return { records, opened, error };
  }
  try {
    for (const [i, record] of records.entries()) {
      for (const s of switches.filter((s) => s.at === i)) {
        opener.setCipher(cipher(s.aead, s.keyByte, opener.epoch + 1));
      }
      opened.push(await opener.open(record));
    }
  } catch (error) {
    return { records, opened, error };
  }
  return { records, opened };
}

function assertStreamError(error: unknown): void {
  assert.ok(error instanceof FrameError, `expected a FrameError, got ${String(error)}`);
  assert.ok(STREAM_CODES.includes(error.code), error.code);
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error) => error instanceof FrameError && error.code === code;
}

const switchesArbitrary = (records: number): fc.Arbitrary<EpochSwitch[]> =>
  fc.uniqueArray(
    fc.record({
      at: fc.integer({ min: 0, max: Math.max(0, records - 1) }),
      aead: fc.constantFrom<AeadName>("ChaCha20-Poly1305", "XChaCha20-Poly1305", "AES-256-GCM"),
      keyByte: fc.integer({ min: 0, max: 255 }),
    }),
    { maxLength: 3, selector: (s) => s.at },
  ).map((switches) => [...switches].sort((a, b) => a.at - b.at));

Deno.test("RecordSealer behaviour", async (t) => {
  await t.step("preamble() is the 16 bytes drawn from random", () => {
    const sealer = newSealer(1);
    assert.deepEqual(sealer.preamble(), seededRandom(seed(0x51, 1))(16));
    assert.notEqual(sealer.preamble(), sealer.preamble());
  });

  await t.step("seals records exactly as the PROTOCOL.md §5.1 layout says", async () => {
    const gss = new TextEncoder().encode("gss");
    const sealer = newSealer(2, { globalSharedSecret: gss });
    const salt = sealer.preamble();
    const { preKey, headerKey, openingHeaderKey } = derivePreKeys(salt, gss);
    // Records 0 to 17: the masks of records 16 and 17 come from the second keystream block.
    for (let index = 0; index < 18; index++) {
      const body = new Uint8Array(index * 7).fill(index + 1);
      const padding = index * 3;
      const wire = await sealer.seal(0x70, body, padding);
      const length = 5 + body.length + padding + 16;
      const header = new Uint8Array([length >> 16, (length >> 8) & 0xff, length & 0xff]);
      const nonce = new Uint8Array(12);
      new DataView(nonce.buffer).setUint32(8, index);
      // Record 0 is masked with the GSS-free opening header key (PROTOCOL.md §6). Record i's
      // mask is 4·(i mod 16) bytes into keystream block ⌊i / 16⌋ (nonce u32 0 ‖ u64 block).
      const blockNonce = new Uint8Array(12);
      new DataView(blockNonce.buffer).setUint32(8, Math.floor(index / 16));
      const block = chacha20(
        index === 0 ? openingHeaderKey : headerKey,
        blockNonce,
        new Uint8Array(64),
      );
      const at = 4 * (index % 16);
      const mask = block.subarray(at, at + 3);
      const ciphertext = chacha20poly1305(preKey, nonce, header).encrypt(
        encodePlaintext(0x70, body, padding),
      );
      const expected = concatBytes(...[header.map((byte, i) => byte ^ mask[i]!), ciphertext]);
      assert.equal(bytesToHex(wire), bytesToHex(expected), `record ${index}`);
    }
  });

  await t.step("rejects a record above maxRecordLength with RangeError", async () => {
    const sealer = newSealer(3, { maxRecordLength: 100 });
    assert.equal(sealer.maxBodyLength(), 79);
    assert.equal((await sealer.seal(1, new Uint8Array(79))).length, 103);
    await assert.rejects(sealer.seal(1, new Uint8Array(80)), RangeError);
    await assert.rejects(sealer.seal(1, new Uint8Array(70), 10), RangeError);
    assert.equal(sealer.recordIndex, 1);
    const big = newSealer(3);
    assert.equal(
      (await big.seal(1, new Uint8Array(DEFAULT_MAX_RECORD_LENGTH - 21))).length,
      65_539,
    );
    await assert.rejects(big.seal(1, new Uint8Array(DEFAULT_MAX_RECORD_LENGTH - 20)), RangeError);
  });

  await t.step("rejects bad arguments with TypeError/RangeError", async () => {
    const sealer = newSealer(4);
    await assert.rejects(sealer.seal(256, new Uint8Array(0)), RangeError);
    await assert.rejects(sealer.seal(1, new Uint8Array(0), -1), RangeError);
    await assert.rejects(sealer.seal(1, "x" as unknown as Uint8Array), TypeError);
    assert.throws(() => sealer.setCipher({} as CipherState), TypeError);
    const random = seededRandom(seed(4));
    assert.throws(
      () => new RecordSealer({ backend: nobleBackend, random, maxRecordLength: 20 }),
      RangeError,
    );
    assert.throws(
      () => new RecordSealer({ backend: nobleBackend, random, maxRecordLength: 2 ** 24 }),
      RangeError,
    );
    assert.throws(
      () => new RecordSealer({ backend: nobleBackend, random: (n) => new Uint8Array(n - 1) }),
      RangeError,
    );
    assert.throws(
      () => new RecordSealer({ backend: nobleBackend, random: null as never }),
      TypeError,
    );
    assert.throws(
      () => new RecordSealer({ backend: { ...nobleBackend, aead: () => undefined }, random }),
      TypeError,
    );
    assert.throws(
      () => new RecordSealer({ backend: nobleBackend, random, globalSharedSecret: "x" as never }),
      TypeError,
    );
  });

  await t.step("setCipher() switches epochs and disposes the previous cipher state", async () => {
    const sealer = newSealer(5);
    const first = cipher("AES-256-GCM", 1, 1);
    sealer.setCipher(first);
    assert.equal(sealer.epoch, 1);
    await sealer.seal(1, new Uint8Array(1));
    assert.equal(first.counter, 1);
    sealer.setCipher(cipher("XChaCha20-Poly1305", 2, 2));
    assert.equal(sealer.epoch, 2);
    await assert.rejects(first.seal(new Uint8Array(1), new Uint8Array(0)), SessionError);
  });

  await t.step("surfaces ERR_NONCE_EXHAUSTED from the cipher state", async () => {
    const sealer = newSealer(6);
    const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
    sealer.setCipher(new CipherState(aead, new Uint8Array(32), 1, { limit: 1 }));
    await sealer.seal(1, new Uint8Array(1));
    await assert.rejects(
      sealer.seal(1, new Uint8Array(1)),
      (error) => error instanceof SessionError && error.code === ErrorCode.NONCE_EXHAUSTED,
    );
  });

  await t.step("keeps call order when seal() calls overlap", async () => {
    const sealer = newSealer(7);
    const bytes = await Promise.all(
      [1, 2, 3, 4].map((n) => sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(n).fill(n))),
    );
    const { opened, error } = await receive([sealer.preamble(), ...bytes]);
    assert.equal(error, undefined);
    assert.deepEqual(opened.map(({ body }) => body.length), [1, 2, 3, 4]);
  });

  await t.step("noise and data records of the same length look alike on the wire", async () => {
    const sealer = newSealer(8);
    const random = seededRandom(seed(8, 8));
    const records: Uint8Array[] = [];
    for (let i = 0; i < 64; i++) {
      records.push(
        i % 2 === 0
          ? await sealer.seal(MESSAGE_TYPE.noise, random(24))
          : await sealer.seal(MESSAGE_TYPE.close, encodeMessage({ kind: "close", reason: 0 }), 23),
      );
    }
    assert.ok(records.every((record) => record.length === records[0]!.length));
    for (let position = 0; position < records[0]!.length; position++) {
      const values = new Set(records.map((record) => record[position]));
      assert.ok(values.size > 8, `byte ${position} takes only ${values.size} values`);
    }
  });
});

Deno.test("RecordSealer seals a body given in parts exactly like the whole body (property)", async (t) => {
  /** noble's AEAD behind a wrapper that ignores `output`, as a third-party AEAD may. */
  const ignoringOutput = recordingBackend(nobleBackend, {}, {
    name: "ignores-output",
    passOutput: false,
  });
  for (const backend of [nobleBackend, ignoringOutput]) {
    await t.step(backend.name, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 255 }),
          fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }),
          fc.integer({ min: 0, max: 40 }),
          async (seedByte, parts, padding) => {
            const whole = concatBytes(...parts);
            const a = newSealer(seedByte);
            const b = newSealer(seedByte, { backend });
            assert.deepEqual(b.preamble(), a.preamble());
            for (let i = 0; i < 2; i++) {
              assert.deepEqual(await b.seal(7, parts, padding), await a.seal(7, whole, padding));
            }
          },
        ),
        propertyConfig(40),
      );
    });
  }
  await t.step("rejects parts that are not byte arrays", async () => {
    await assert.rejects(newSealer(1).seal(1, [new Uint8Array(1), [2] as never]), TypeError);
  });
});

Deno.test("encodeMessageParts() concatenates to encodeMessage() without copying data", () => {
  const data = new Uint8Array(1000).fill(5);
  const extender = new Uint8Array(16).fill(1);
  const parts = encodeMessageParts({ kind: "extenderData", extender, data });
  assert.equal(parts[1], data);
  assert.deepEqual(
    concatBytes(...[...parts]),
    encodeMessage({ kind: "extenderData", extender, data }),
  );
  const close = encodeMessageParts({ kind: "close", reason: 1 });
  assert.deepEqual(close, [encodeMessage({ kind: "close", reason: 1 })]);
  assert.throws(
    () => encodeMessageParts({ kind: "extenderData", extender: new Uint8Array(3), data }),
    RangeError,
  );
});

Deno.test("FrameDecoder behaviour", async (t) => {
  await t.step("returns nothing for an empty stream and for the salt alone", () => {
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(new Uint8Array(0)), []);
    decoder.finish();
    const salted = new FrameDecoder();
    assert.deepEqual(salted.push(new Uint8Array(16)), []);
    assert.equal(salted.hasSalt, true);
    salted.finish();
  });

  await t.step("finish() reports FRAME_TRUNCATED inside the salt, a header or a body", async () => {
    const sealer = newSealer(10);
    const wire = concatBytes(...[sealer.preamble(), await sealer.seal(1, new Uint8Array(4))]);
    for (const cut of [1, 15, 17, 18, 19, wire.length - 1]) {
      const decoder = new FrameDecoder();
      assert.deepEqual(decoder.push(wire.subarray(0, cut)), []);
      assert.throws(() => decoder.finish(), hasCode(ErrorCode.FRAME_TRUNCATED), String(cut));
      assert.throws(() => decoder.finish(), hasCode(ErrorCode.FRAME_TRUNCATED));
      assert.throws(() => decoder.push(new Uint8Array(1)), hasCode(ErrorCode.FRAME_TRUNCATED));
    }
  });

  await t.step("rejects lengths below 17 with MALFORMED_MESSAGE and lets 17 through", () => {
    const salt = new Uint8Array(16).fill(3);
    const { headerKey } = derivePreKeys(salt);
    const mask = chacha20(headerKey, new Uint8Array(12), new Uint8Array(3));
    for (const length of [0, 1, 16, 17, 65_536, 65_537, 0xffffff]) {
      const decoder = new FrameDecoder();
      decoder.push(salt);
      const header = new Uint8Array([length >> 16, (length >> 8) & 0xff, length & 0xff])
        .map((byte, i) => byte ^ mask[i]!);
      if (length < MIN_RECORD_LENGTH) {
        assert.throws(() => decoder.push(header), hasCode(ErrorCode.MALFORMED_MESSAGE));
      } else if (length > DEFAULT_MAX_RECORD_LENGTH) {
        assert.throws(() => decoder.push(header), hasCode(ErrorCode.FRAME_TOO_LARGE));
        assert.equal(decoder.bufferedBytes, 0, "a failed decoder releases its buffer");
      } else {
        assert.deepEqual(decoder.push(header), []);
        assert.equal(decoder.bufferedBytes, 3);
      }
    }
  });

  await t.step("stays failed: every later call throws the same code", async () => {
    const decoder = new FrameDecoder({ maxRecordLength: 40 });
    const sealer = newSealer(11);
    decoder.push(sealer.preamble());
    const big = await sealer.seal(1, new Uint8Array(40));
    assert.throws(() => decoder.push(big), hasCode(ErrorCode.FRAME_TOO_LARGE));
    assert.throws(() => decoder.push(new Uint8Array(0)), hasCode(ErrorCode.FRAME_TOO_LARGE));
    assert.throws(() => decoder.finish(), hasCode(ErrorCode.FRAME_TOO_LARGE));
  });

  await t.step("rejects misuse with TypeError/RangeError", () => {
    const decoder = new FrameDecoder();
    assert.throws(() => decoder.push([1, 2] as unknown as Uint8Array), TypeError);
    decoder.finish();
    assert.throws(() => decoder.push(new Uint8Array(1)), TypeError);
    assert.throws(() => new FrameDecoder({ maxRecordLength: 0 }), RangeError);
    assert.throws(() => new FrameDecoder({ maxRecordLength: 1.5 }), RangeError);
    assert.throws(() => new FrameDecoder({ globalSharedSecret: [] as never }), TypeError);
  });

  await t.step("takes a whole record as a view of its chunk, assembles a split one", async () => {
    const sealer = newSealer(12);
    const wire = concatBytes(...[sealer.preamble(), await sealer.seal(1, new Uint8Array(4))]);
    const [whole] = new FrameDecoder().push(wire);
    assert.equal(whole!.ciphertext.buffer, wire.buffer, "no copy when the record is in one chunk");
    assert.equal(whole!.ciphertext.byteOffset, 16 + 3);

    const decoder = new FrameDecoder();
    const first = wire.slice(0, 25);
    const second = wire.slice(25);
    const [split] = [...decoder.push(first), ...decoder.push(second)];
    assert.notEqual(split!.ciphertext.buffer, first.buffer);
    assert.notEqual(split!.ciphertext.buffer, second.buffer);
    first.fill(0);
    second.fill(0);
    assert.deepEqual(split!.ciphertext, whole!.ciphertext);
  });

  await t.step("gives the same records under every chunking (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 255 }),
        fc.array(recordInputArbitrary(48, 8), { maxLength: 6 }),
        async (seedByte, inputs) => {
          const wire = await sealAll(newSealer(seedByte), inputs);
          const whole = new FrameDecoder().push(wire);
          await fc.assert(
            fc.property(splitPointsArbitrary(wire.length), (points) => {
              const decoder = new FrameDecoder();
              const records = chunk(wire, points).flatMap((part) => decoder.push(part));
              decoder.finish();
              assert.deepEqual(records, whole);
            }),
            // A fixed inner count: QGATE_PROPERTY_RUNS scales the outer property only.
            { numRuns: 10, seed: seedByte },
          );
        },
      ),
      propertyConfig(40),
    );
  });

  await t.step(
    "never buffers more than one maximum record plus its header (property)",
    async () => {
      const maxRecordLength = 64;
      await fc.assert(
        fc.asyncProperty(
          fc.array(recordInputArbitrary(40, 3), { minLength: 1, maxLength: 8 }),
          fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 50 }),
          async (inputs, sizes) => {
            const sealer = newSealer(13, { maxRecordLength });
            const wire = await sealAll(sealer, inputs);
            const decoder = new FrameDecoder({ maxRecordLength });
            let offset = 0;
            let count = 0;
            for (let i = 0; offset < wire.length; i++) {
              const size = sizes[i % sizes.length]!;
              count += decoder.push(wire.subarray(offset, offset + size)).length;
              offset += size;
              assert.ok(
                decoder.bufferedBytes <= maxRecordLength + 3,
                String(decoder.bufferedBytes),
              );
            }
            assert.equal(decoder.bufferedBytes, 0);
            assert.equal(count, inputs.length);
          },
        ),
        propertyConfig(100),
      );
    },
  );

  await t.step("handles a long stream pushed one byte at a time in linear time", async () => {
    const sealer = newSealer(14);
    const record = await sealer.seal(1, new Uint8Array(60_000));
    const decoder = new FrameDecoder();
    decoder.push(sealer.preamble());
    let records = 0;
    for (let i = 0; i < record.length; i++) {
      records += decoder.push(record.subarray(i, i + 1)).length;
    }
    assert.equal(records, 1);
  });
});

Deno.test("RecordOpener behaviour", async (t) => {
  await t.step(
    "round-trips messages across epoch switches under any chunking (property)",
    async () => {
      const scenario = fc
        .array(messageRecordInputArbitrary, { minLength: 1, maxLength: 6 })
        .map((messages) =>
          messages.map(({ message, paddingLength }) => ({
            type: messageTypeOf(message.kind),
            body: encodeMessage(message),
            paddingLength,
          }))
        )
        .chain((inputs) =>
          fc.record({
            inputs: fc.constant(inputs),
            switches: switchesArbitrary(inputs.length),
            points: splitPointsArbitrary(wireLength(inputs)),
          })
        );
      await fc.assert(
        fc.asyncProperty(
          scenario,
          fc.integer({ min: 0, max: 255 }),
          fc.option(fc.uint8Array({ maxLength: 32 }), { nil: undefined }),
          async ({ inputs, switches, points }, seedByte, gss) => {
            const options = gss === undefined ? {} : { globalSharedSecret: gss };
            const wire = await sealAll(newSealer(seedByte, options), inputs, switches);
            assert.equal(wire.length, wireLength(inputs));
            const { opened, error } = await receive(chunk(wire, points), options, switches);
            assert.equal(error, undefined);
            assert.deepEqual(
              opened.map(({ type, body }) => ({ type, body: bytesToHex(body) })),
              inputs.map(({ type, body }) => ({ type, body: bytesToHex(body) })),
            );
            // Each record reports the epoch that opened it: one more per switch before it.
            assert.deepEqual(
              opened.map(({ epoch }) => epoch),
              inputs.map((_, i) => switches.filter((s) => s.at <= i).length),
            );
          },
        ),
        propertyConfig(100),
      );
    },
  );

  await t.step(
    "rejects every single-byte mutation of a sealed record with a stable code",
    async () => {
      const sealer = newSealer(20);
      const wire = concatBytes(...[
        sealer.preamble(),
        await sealer.seal(0x70, new Uint8Array(12).fill(1), 3),
      ]);
      const codes = new Set<string>();
      for (let position = 0; position < wire.length; position++) {
        for (const xor of [0x01, 0x80, 0xff]) {
          const mutated = wire.slice();
          mutated[position]! ^= xor;
          const { opened, error } = await receive([mutated]);
          assertStreamError(error);
          assert.deepEqual(opened, [], `position ${position} produced plaintext`);
          codes.add((error as FrameError).code);
        }
      }
      assert.ok(codes.has(ErrorCode.DECRYPT_FAILED));
      assert.ok(codes.has(ErrorCode.FRAME_TOO_LARGE));
    },
  );

  await t.step("rejects every truncation and extension of a sealed record", async () => {
    const sealer = newSealer(21);
    const wire = concatBytes(...[
      sealer.preamble(),
      await sealer.seal(0x7f, new Uint8Array([0]), 5),
    ]);
    for (let cut = 1; cut < wire.length; cut++) {
      if (cut === 16) continue; // the salt alone is a complete, empty stream
      const { opened, error } = await receive([wire.subarray(0, cut)]);
      assert.ok(hasCode(ErrorCode.FRAME_TRUNCATED)(error), `cut at ${cut}`);
      assert.deepEqual(opened, []);
    }
    const random = seededRandom(seed(21));
    for (let extra = 1; extra < 40; extra++) {
      const { opened, error } = await receive([wire, random(extra)]);
      assertStreamError(error);
      assert.ok(opened.length <= 1);
      assert.ok(!hasCode(ErrorCode.DECRYPT_FAILED)(error) || opened.length === 1);
    }
  });

  await t.step(
    "rejects random mutations of multi-record streams, never escaping (property)",
    async () => {
      const mutation = fc.oneof(
        fc.record({
          op: fc.constant("xor" as const),
          at: fc.nat(),
          value: fc.integer({ min: 1, max: 255 }),
        }),
        fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
        fc.record({
          op: fc.constant("insert" as const),
          at: fc.nat(),
          value: fc.integer({ min: 0, max: 255 }),
        }),
        fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(recordInputArbitrary(32, 4), { minLength: 1, maxLength: 4 }),
          mutation,
          async (inputs, op) => {
            const wire = await sealAll(newSealer(22), inputs);
            const at = op.at % wire.length;
            let mutated: Uint8Array;
            if (op.op === "xor") {
              mutated = wire.slice();
              mutated[at]! ^= op.value;
            } else if (op.op === "delete") {
              mutated = concatBytes(...[wire.subarray(0, at), wire.subarray(at + 1)]);
            } else if (op.op === "insert") {
              mutated = concatBytes(...[
                wire.subarray(0, at),
                new Uint8Array([op.value]),
                wire.subarray(at),
              ]);
            } else {
              mutated = wire.subarray(0, at);
            }
            const { opened, error } = await receive([mutated]);
            // Record boundaries: cutting there leaves a shorter but valid stream.
            const boundaries = [0, 16];
            for (const input of inputs) boundaries.push(boundaries.at(-1)! + recordLength(input));
            if (op.op === "truncate" && boundaries.includes(at)) {
              assert.equal(error, undefined);
              assert.equal(opened.length, Math.max(0, boundaries.indexOf(at) - 1));
              return;
            }
            assertStreamError(error);
            // Records wholly before the damage may open; the damaged one never does.
            const intact = boundaries.slice(2).filter((end) => end <= at).length;
            assert.ok(opened.length <= intact, `${opened.length} opened, ${intact} intact`);
          },
        ),
        propertyConfig(300),
      );
    },
  );

  await t.step(
    "reports MALFORMED_MESSAGE for authentic records whose plaintext does not parse",
    async () => {
      const salt = new Uint8Array(16).fill(9);
      const { preKey, headerKey } = derivePreKeys(salt);
      const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
      const plaintexts = [
        new Uint8Array([1]), // shorter than the plaintext header
        new Uint8Array([1, 0, 0, 0, 9, 0]), // body length past the end
        new Uint8Array([1, 0, 0, 0, 0, 0, 1]), // non-zero padding
      ];
      for (const plaintext of plaintexts) {
        const length = plaintext.length + 16;
        const header = new Uint8Array([0, 0, length]);
        const { ciphertext } = await new CipherState(aead, preKey, 0).seal(plaintext, header);
        const mask = chacha20(headerKey, new Uint8Array(12), new Uint8Array(3));
        const wire = concatBytes(...[salt, header.map((byte, i) => byte ^ mask[i]!), ciphertext]);
        const { opened, error } = await receive([wire]);
        assert.ok(hasCode(ErrorCode.MALFORMED_MESSAGE)(error), bytesToHex(plaintext));
        assert.deepEqual(opened, []);
      }
    },
  );

  await t.step("stays failed after an error and refuses records out of order", async () => {
    const sealer = newSealer(23);
    const wire = await sealAll(sealer, [
      { type: 1, body: new Uint8Array(3), paddingLength: 0 },
      { type: 1, body: new Uint8Array(3), paddingLength: 0 },
      { type: 1, body: new Uint8Array(3), paddingLength: 0 },
    ]);
    const decoder = new FrameDecoder();
    const opener = new RecordOpener({ decoder, backend: nobleBackend });
    const records = decoder.push(wire);
    await assert.rejects(opener.open(records[1]!), RangeError);
    await opener.open(records[0]!);
    const damaged = { ...records[1]!, ciphertext: records[1]!.ciphertext.map((b) => b ^ 1) };
    await assert.rejects(opener.open(damaged), hasCode(ErrorCode.DECRYPT_FAILED));
    await assert.rejects(opener.open(records[2]!), hasCode(ErrorCode.DECRYPT_FAILED));
  });

  await t.step("rejects misuse with TypeError", async () => {
    assert.throws(
      () => new RecordOpener({ decoder: {} as FrameDecoder, backend: nobleBackend }),
      TypeError,
    );
    const decoder = new FrameDecoder();
    const opener = new RecordOpener({ decoder, backend: nobleBackend });
    const record = { index: 0, header: new Uint8Array(3), ciphertext: new Uint8Array(17) };
    await assert.rejects(opener.open(record), TypeError);
    await assert.rejects(opener.open(null as never), TypeError);
    assert.throws(() => opener.setCipher("key" as never), TypeError);
  });

  await t.step(
    "without a GSS, and with an empty one, both sides derive the same keys",
    async () => {
      for (
        const [send, receiveWith] of [
          [undefined, undefined],
          [new Uint8Array(0), undefined],
          [undefined, new Uint8Array(0)],
        ] as const
      ) {
        const sealer = newSealer(24, send === undefined ? {} : { globalSharedSecret: send });
        const wire = await sealAll(sealer, [{
          type: 0x7f,
          body: new Uint8Array([0]),
          paddingLength: 0,
        }]);
        const { opened, error } = await receive(
          [wire],
          receiveWith === undefined ? {} : { globalSharedSecret: receiveWith },
        );
        assert.equal(error, undefined);
        assert.equal(opened.length, 1);
      }
    },
  );

  await t.step("with different GSSs the first record fails before any plaintext", async () => {
    const one = new TextEncoder().encode("one");
    const two = new TextEncoder().encode("two");
    for (let seedByte = 0; seedByte < 256; seedByte++) {
      const sealer = new RecordSealer({
        backend: nobleBackend,
        random: seededRandom(seed(0x99, seedByte)),
        globalSharedSecret: one,
      });
      const wire = await sealAll(sealer, [{
        type: 0x10,
        body: new Uint8Array(40),
        paddingLength: 0,
      }]);
      const { opened, error } = await receive([wire], { globalSharedSecret: two });
      // The header key depends on the GSS too, so a mismatch usually fails the
      // framing already (a wrong length); whenever a record frames, the AEAD
      // rejects it (next step).
      assertStreamError(error);
      assert.deepEqual(opened, []);
    }
  });

  await t.step(
    "records sealed with one GSS fail DECRYPT_FAILED when framed correctly",
    async () => {
      // Frame with the sender's header key (as an on-path observer with the GSS
      // would) but open with a pre-key from another GSS.
      const one = new TextEncoder().encode("one");
      const sealer = newSealer(25, { globalSharedSecret: one });
      const wire = await sealAll(sealer, [{
        type: 0x10,
        body: new Uint8Array(40),
        paddingLength: 0,
      }]);
      const [record] = new FrameDecoder({ globalSharedSecret: one }).push(wire);
      const wrong = new FrameDecoder({ globalSharedSecret: new TextEncoder().encode("two") });
      wrong.push(wire.subarray(0, 16));
      const opener = new RecordOpener({ decoder: wrong, backend: nobleBackend });
      await assert.rejects(opener.open(record!), hasCode(ErrorCode.DECRYPT_FAILED));
    },
  );
});

Deno.test("FrameEncoderStream behaviour", async (t) => {
  await t.step(
    "emits the preamble, then records, and switches ciphers after a record",
    async () => {
      const key = cipher("AES-256-GCM", 5, 1);
      const encoder = new FrameEncoderStream({
        backend: nobleBackend,
        random: seededRandom(seed(30)),
      });
      const chunks = await Array.fromAsync(
        ReadableStream.from([
          { type: 0x10, body: new Uint8Array([1]), nextCipher: key },
          { type: 0x11, body: new Uint8Array([2]), paddingLength: 4 },
        ]).pipeThrough(encoder),
      );
      assert.equal(chunks.length, 3);
      assert.deepEqual(chunks[0], seededRandom(seed(30))(16));
      assert.equal(encoder.epoch, 1);
      const { opened, error } = await receive(chunks, {}, [{
        at: 1,
        aead: "AES-256-GCM",
        keyByte: 5,
      }]);
      assert.equal(error, undefined);
      assert.deepEqual(opened.map(({ type }) => type), [0x10, 0x11]);
    },
  );

  await t.step("errors the stream instead of throwing out of a callback", async () => {
    const encoder = new FrameEncoderStream({
      backend: nobleBackend,
      random: seededRandom(seed(31)),
      maxRecordLength: 30,
    });
    await assert.rejects(
      Array.fromAsync(
        ReadableStream.from([{ type: 1, body: new Uint8Array(100) }]).pipeThrough(encoder),
      ),
      RangeError,
    );
    const bad = new FrameEncoderStream({ backend: nobleBackend, random: seededRandom(seed(31)) });
    await assert.rejects(
      Array.fromAsync(ReadableStream.from([null as never]).pipeThrough(bad)),
      TypeError,
    );
  });
});

Deno.test("FrameDecoderStream behaviour", async (t) => {
  await t.step("decodes a chunked stream and pairs with a RecordOpener", async () => {
    const wire = await sealAll(newSealer(40), [
      { type: 1, body: new Uint8Array(30), paddingLength: 2 },
      { type: 0x7f, body: new Uint8Array([0]), paddingLength: 0 },
    ]);
    const stream = new FrameDecoderStream();
    const opener = new RecordOpener({ decoder: stream, backend: nobleBackend });
    const chunks = chunk(wire, [1, 2, 17, 18, 40, 70]);
    const records = await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(stream));
    assert.equal(stream.bufferedBytes, 0);
    const types = [];
    for (const record of records) types.push((await opener.open(record)).type);
    assert.deepEqual(types, [1, 0x7f]);
  });

  await t.step("errors the stream on framing errors and truncation", async () => {
    const wire = await sealAll(newSealer(41), [{
      type: 1,
      body: new Uint8Array(100),
      paddingLength: 0,
    }]);
    await assert.rejects(
      Array.fromAsync(
        ReadableStream.from([wire]).pipeThrough(new FrameDecoderStream({ maxRecordLength: 50 })),
      ),
      hasCode(ErrorCode.FRAME_TOO_LARGE),
    );
    await assert.rejects(
      Array.fromAsync(
        ReadableStream.from([wire.subarray(0, 50)]).pipeThrough(new FrameDecoderStream()),
      ),
      hasCode(ErrorCode.FRAME_TRUNCATED),
    );
  });
});

Deno.test("RecordSealer matches the known-answer vectors", async (t) => {
  const file = JSON.parse(
    await Deno.readTextFile(new URL("./vectors/codec_records.json", import.meta.url)),
  ) as {
    stream: {
      name: string;
      seed: string;
      globalSharedSecret?: string;
      maxRecordLength?: number;
      records: {
        type: number;
        body: string;
        paddingLength: number;
        nextCipher?: { aead: AeadName; key: string; epoch: number };
      }[];
      wire: string;
    }[];
  };

  await t.step("the vector file is not empty", () => {
    assert.ok(
      Array.isArray(file.stream) && file.stream.length > 0,
      "codec_records.json has no stream vectors",
    );
  });

  await t.step("every vector seals and opens byte for byte", async () => {
    for (const vector of file.stream) {
      const gss = vector.globalSharedSecret === undefined
        ? undefined
        : hexToBytes(vector.globalSharedSecret);
      const sealer = new RecordSealer({
        backend: nobleBackend,
        random: seededRandom(hexToBytes(vector.seed)),
        ...(gss === undefined ? {} : { globalSharedSecret: gss }),
        ...(vector.maxRecordLength === undefined
          ? {}
          : { maxRecordLength: vector.maxRecordLength }),
      });
      const parts = [sealer.preamble()];
      for (const record of vector.records) {
        parts.push(await sealer.seal(record.type, hexToBytes(record.body), record.paddingLength));
        const next = record.nextCipher;
        if (next !== undefined) {
          sealer.setCipher(
            new CipherState(nobleBackend.aead(next.aead)!, hexToBytes(next.key), next.epoch),
          );
        }
      }
      assert.equal(bytesToHex(concatBytes(...parts)), vector.wire, vector.name);

      const decoder = new FrameDecoder({
        ...(gss === undefined ? {} : { globalSharedSecret: gss }),
        ...(vector.maxRecordLength === undefined
          ? {}
          : { maxRecordLength: vector.maxRecordLength }),
      });
      const opener = new RecordOpener({ decoder, backend: nobleBackend });
      const records = decoder.push(hexToBytes(vector.wire));
      decoder.finish();
      assert.equal(records.length, vector.records.length);
      for (const [i, expected] of vector.records.entries()) {
        const { type, body } = await opener.open(records[i]!);
        assert.equal(type, expected.type);
        assert.equal(bytesToHex(body), expected.body);
        const next = expected.nextCipher;
        if (next !== undefined) {
          opener.setCipher(
            new CipherState(nobleBackend.aead(next.aead)!, hexToBytes(next.key), next.epoch),
          );
        }
      }
    }
  });
});

Deno.test("setCipher() disposes the superseded cipher in the backend", async (t) => {
  const key = new Uint8Array(32).fill(3);

  await t.step("RecordSealer: the pre-key cipher, then each replaced epoch, once", () => {
    const { backend, log } = cipherLog();
    const aead = backend.aead("ChaCha20-Poly1305")!;
    const sealer = new RecordSealer({ backend, random: seededRandom(seed(0x51, 40)) });
    assert.deepEqual(log, ["create 0"]);
    const first = new CipherState(aead, key, 1);
    sealer.setCipher(first);
    assert.deepEqual(log, ["create 0", "create 1", "dispose 0"]);
    sealer.setCipher(first);
    assert.deepEqual(log, ["create 0", "create 1", "dispose 0"]);
    sealer.setCipher(new CipherState(aead, key, 2));
    assert.deepEqual(log, ["create 0", "create 1", "dispose 0", "create 2", "dispose 1"]);
    sealer.dispose();
    assert.deepEqual(log.slice(5), ["dispose 2"]);
  });

  await t.step("RecordOpener: each replaced epoch, once", () => {
    const { backend, log } = cipherLog();
    const aead = backend.aead("ChaCha20-Poly1305")!;
    const opener = new RecordOpener({ decoder: new FrameDecoder(), backend });
    const first = new CipherState(aead, key, 1);
    opener.setCipher(first);
    assert.equal(countOf(log, "dispose"), countOf(log, "create") - 1);
    opener.setCipher(first);
    const second = new CipherState(aead, key, 2);
    const secondId = log.at(-1)!.slice("create ".length);
    opener.setCipher(second);
    const firstId = String(Number(secondId) - 1);
    assert.equal(log.filter((entry) => entry === `dispose ${firstId}`).length, 1);
    assert.ok(!log.includes(`dispose ${secondId}`));
    opener.dispose();
    assert.ok(log.includes(`dispose ${secondId}`));
  });

  await t.step("the pre-keys of both directions are wiped once a cipher holds them", async () => {
    const { backend, keys } = cipherLog();
    const sealer = new RecordSealer({ backend, random: seededRandom(seed(0x51, 41)) });
    const decoder = new FrameDecoder();
    const opener = new RecordOpener({ decoder, backend });
    const [record] = decoder.push(
      concatBytes(sealer.preamble(), await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(3))),
    );
    await opener.open(record!);
    assert.equal(keys.length, 2);
    keys.forEach((key, index) => {
      assert.ok(key.every((byte) => byte === 0), `pre-key ${index} is not wiped`);
    });
  });

  await t.step("CipherState.dispose() releases the backend cipher once", async () => {
    const { backend, log } = cipherLog();
    const state = new CipherState(backend.aead("AES-256-GCM")!, key, 1);
    state.dispose();
    state.dispose();
    assert.deepEqual(log, ["create 0", "dispose 0"]);
    await assert.rejects(
      state.seal(new Uint8Array(1), new Uint8Array(0)),
      (error) => error instanceof SessionError && error.code === ErrorCode.SESSION_CLOSED,
    );
    assert.equal(await state.open(0, new Uint8Array(17), new Uint8Array(0)), undefined);
  });
});

Deno.test("RecordSealer with an AEAD that ignores `output` seals records any opener opens", async (t) => {
  // A third-party AEAD may return its own array instead of writing into the
  // one offered, at any offset of its own buffer (here the offset the sealer
  // offers, so only the buffer tells them apart).
  const returningOwnArray = (offset: number): CryptoBackend => ({
    ...nobleBackend,
    name: `ignores-output-at-${offset}`,
    aead(name): Aead {
      const aead = nobleBackend.aead(name)!;
      return {
        ...aead,
        createCipher(key): AeadCipher {
          const inner = aead.createCipher(key);
          return {
            seal: async (nonce, plaintext, aad) => {
              const sealed = await inner.seal(nonce, plaintext, aad);
              const own = new Uint8Array(offset + sealed.length).subarray(offset);
              own.set(sealed);
              return own;
            },
            open: (nonce, ciphertext, aad) => inner.open(nonce, ciphertext, aad),
            dispose: () => inner.dispose(),
          };
        },
      };
    },
    keyExchange: (name) => nobleBackend.keyExchange(name),
    signature: (name) => nobleBackend.signature(name),
    hash: (name) => nobleBackend.hash(name),
  });
  for (const offset of [0, SEAL_OFFSET]) {
    await t.step(`own array at offset ${offset}`, async () => {
      const backend = returningOwnArray(offset);
      const sealer = new RecordSealer({ backend, random: seededRandom(seed(0x51, 44)) });
      const bodies = [new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7)];
      const bytes = [sealer.preamble()];
      for (const body of bodies) bytes.push(await sealer.seal(MESSAGE_TYPE.noise, body, 2));
      const { opened, error } = await receive(bytes);
      assert.equal(error, undefined);
      assert.deepEqual(opened.map(({ body }) => body), bodies);
    });
  }
});

Deno.test("RecordOpener fails a record opened alongside one that failed before it", async () => {
  const sealer = newSealer(45);
  const first = await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(2));
  const second = await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(3));
  first[first.length - 1]! ^= 1;
  const decoder = new FrameDecoder();
  const opener = new RecordOpener({ decoder, backend: nobleBackend });
  const records = decoder.push(concatBytes(sealer.preamble(), first, second));
  assert.equal(records.length, 2);
  // Both opens start before the first one's tag is checked.
  const results = await Promise.allSettled(records.map((record) => opener.open(record)));
  for (const result of results) {
    assert.equal(result.status, "rejected");
    const error = (result as PromiseRejectedResult).reason;
    assert.ok(
      error instanceof FrameError && error.code === ErrorCode.DECRYPT_FAILED,
      String(error),
    );
  }
});

Deno.test("lengthMask() is bytes 4·(i mod 16) of ChaCha20 under the header key with nonce u32 0 ‖ u64 ⌊i/16⌋, across 2^32 blocks", () => {
  const headerKey = new Uint8Array(32).map((_, i) => i * 7 + 1);
  // [record index, nonce of its block, where its mask starts in the block]
  const cases: readonly [number, string, number][] = [
    [0, "000000000000000000000000", 0],
    [1, "000000000000000000000000", 4],
    [15, "000000000000000000000000", 60],
    [16, "000000000000000000000001", 0],
    [16 * (2 ** 32 - 1) + 5, "0000000000000000ffffffff", 20],
    [16 * 2 ** 32, "000000000000000100000000", 0],
    [16 * (2 ** 32 + 2 ** 16 + 3) + 15, "000000000000000100010003", 60],
    [2 ** 52 - 1, "000000000000ffffffffffff", 60],
  ];
  for (const [index, nonceHex, at] of cases) {
    const block = chacha20(headerKey, hexToBytes(nonceHex), new Uint8Array(64));
    assert.deepEqual(lengthMask(headerKey, index), block.slice(at, at + 3), `record ${index}`);
  }
});

Deno.test("LengthMasks XORs the same mask as lengthMask() into each record, across block boundaries and back", () => {
  const headerKey = new Uint8Array(32).map((_, i) => 255 - i);
  const masks = new LengthMasks(headerKey);
  for (const index of [0, 1, 15, 16, 17, 47, 3, 2 ** 40 + 9, 31]) {
    const target = Uint8Array.of(0xaa, 0x12, 0x34, 0x56, 0xbb);
    masks.apply(index, target, 1);
    const mask = lengthMask(headerKey, index);
    assert.deepEqual(
      target,
      Uint8Array.of(0xaa, 0x12 ^ mask[0]!, 0x34 ^ mask[1]!, 0x56 ^ mask[2]!, 0xbb),
      `record ${index}`,
    );
  }
  masks.dispose();
});

Deno.test("RecordSealer wipes its pre-key at once, the opening header key after the first record, the header key at dispose()", async () => {
  const { backend, record } = hkdfRecorder();
  const sealer = new RecordSealer({
    backend,
    random: seededRandom(seed(0x51, 46)),
    globalSharedSecret: new Uint8Array(32).fill(0x47),
  });
  // Expanded in this order: preKey, openingHeaderKey, headerKey.
  assert.deepEqual(record.outputs.map(isWiped), [true, false, false]);
  await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(4));
  assert.deepEqual(record.outputs.map(isWiped), [true, true, false]);
  sealer.dispose();
  assert.deepEqual(record.outputs.map(isWiped), [true, true, true]);
  assert.ok(record.prks.every(isWiped));
  // Disposed before its first record, it wipes the opening header key too.
  const unused = hkdfRecorder();
  new RecordSealer({
    backend: unused.backend,
    random: seededRandom(seed(0x51, 47)),
    globalSharedSecret: new Uint8Array(32).fill(0x47),
  }).dispose();
  assert.deepEqual(unused.record.outputs.map(isWiped), [true, true, true]);
});

Deno.test("FrameDecoder wipes its copy of the GSS once the pre-keys are derived, or when the salt never arrives", async (t) => {
  const gss = new Uint8Array(32).fill(0x5e);
  /** Builds a decoder and returns it with the copies of `gss` it made. */
  const decoderWithCopies = (): { decoder: FrameDecoder; copies: Uint8Array[] } => {
    const { value: decoder, copies } = copiesMadeOf(
      gss,
      () => new FrameDecoder({ globalSharedSecret: gss }),
    );
    return { decoder, copies };
  };
  await t.step("when the opener is disposed", () => {
    const { decoder, copies } = decoderWithCopies();
    assert.equal(copies.length, 1);
    const opener = new RecordOpener({ decoder, backend: nobleBackend });
    decoder.push(new Uint8Array(5));
    assert.ok(!isWiped(copies[0]!));
    opener.dispose();
    assert.ok(isWiped(copies[0]!), "the decoder's GSS copy is left");
  });
  await t.step("once the salt has arrived and the pre-keys are derived", () => {
    const { decoder, copies } = decoderWithCopies();
    decoder.push(new Uint8Array(16).fill(2));
    assert.ok(decoder.hasSalt);
    assert.ok(isWiped(copies[0]!), "the decoder's GSS copy outlives the pre-keys");
  });
  await t.step("when the stream ends inside the salt", () => {
    const { decoder, copies } = decoderWithCopies();
    decoder.push(new Uint8Array(5));
    assert.throws(() => decoder.finish(), FrameError);
    assert.ok(isWiped(copies[0]!), "the decoder's GSS copy is left");
  });
  assert.ok(gss.every((byte) => byte === 0x5e), "the caller's GSS was changed");
});

Deno.test("FrameDecoder holds no buffered bytes once it has reported its failure", async () => {
  const sealer = newSealer(48, { maxRecordLength: 4096 });
  const small = await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(10));
  const large = await sealer.seal(MESSAGE_TYPE.noise, new Uint8Array(2000));
  const isTooLarge = (error: unknown) =>
    error instanceof FrameError && error.code === ErrorCode.FRAME_TOO_LARGE;
  // The large record's header arrives split: its first byte is held until the rest comes.
  const split = new FrameDecoder({ maxRecordLength: 1000 });
  assert.equal(split.push(concatBytes(sealer.preamble(), small, large.subarray(0, 1))).length, 1);
  assert.equal(split.bufferedBytes, 1);
  assert.throws(() => split.push(large.subarray(1, 3)), isTooLarge);
  assert.equal(split.bufferedBytes, 0);
  // The small record comes back; the large one's header fails, reported by the next call.
  const deferred = new FrameDecoder({ maxRecordLength: 1000 });
  const records = deferred.push(concatBytes(sealer.preamble(), small, large.subarray(0, 3)));
  assert.equal(records.length, 1);
  assert.throws(() => deferred.push(new Uint8Array(1)), isTooLarge);
  assert.equal(deferred.bufferedBytes, 0);
});

Deno.test("RecordOpener wipes an authentic plaintext that does not parse", async () => {
  const opened: Uint8Array[] = [];
  const backend = recordingBackend(nobleBackend, {
    opened: (_, plaintext) => opened.push(plaintext),
  });
  const sealer = newSealer(49);
  const decoder = new FrameDecoder();
  const opener = new RecordOpener({ decoder, backend });
  const [first] = decoder.push(
    concatBytes(sealer.preamble(), await sealer.seal(0x70, Uint8Array.of(1))),
  );
  await opener.open(first!);
  const key = new Uint8Array(32).fill(0x3c);
  opener.setCipher(new CipherState(backend.aead("ChaCha20-Poly1305")!, key, 1));
  // Epoch 1, counter 0, and a plaintext whose padding is not zero (PROTOCOL.md §5.3).
  const plaintext = encodePlaintext(0x70, Uint8Array.of(9), 2);
  plaintext[plaintext.length - 1] = 1;
  const header = Uint8Array.of(0, 0, plaintext.length + 16);
  const ciphertext = chacha20poly1305(key, new Uint8Array(12), header).encrypt(plaintext);
  opened.length = 0;
  await assert.rejects(
    opener.open({ index: 1, header, ciphertext }),
    hasCode(ErrorCode.MALFORMED_MESSAGE),
  );
  assert.equal(opened.length, 1);
  assert.ok(isWiped(opened[0]!), "the plaintext that did not parse is left");
});

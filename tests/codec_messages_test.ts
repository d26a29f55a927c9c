import assert from "node:assert/strict";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { ErrorCode, FrameError } from "../src/errors.ts";
import { MESSAGE_TYPE } from "../src/codec/message_types.ts";
import type { Message, MessageKind } from "../src/codec/message_types.ts";
import {
  decodeMessage,
  decodePlaintext,
  encodeMessage,
  encodePlaintext,
  messageKindOf,
  messageTypeOf,
} from "../src/codec/messages.ts";
import { MESSAGE_KINDS, MESSAGE_TYPES, messageArbitrary } from "./_arbitraries.ts";
import { propertyConfig } from "./_property.ts";
import { type Json, messageFromJson } from "./vectors/_generate_codec_shared.ts";

function isMalformed(error: unknown): boolean {
  return error instanceof FrameError && error.code === ErrorCode.MALFORMED_MESSAGE;
}

function hex(text: string): Uint8Array {
  return hexToBytes(text.replaceAll(" ", ""));
}

/** Decode either rejects with MALFORMED_MESSAGE or re-encodes to the same bytes. */
function assertCanonical(type: number, body: Uint8Array): void {
  let message: Message;
  try {
    message = decodeMessage(type, body);
  } catch (error) {
    if (isMalformed(error)) return;
    throw error;
  }
  assert.equal(bytesToHex(encodeMessage(message)), bytesToHex(body));
}

const UUID_A = hex("00000000000000000000000000000001");
const UUID_B = hex("00000000000000000000000000000002");
const SESSION_ID = hex("0102030405060708");

/** One message per kind with its body spelled out by hand from PROTOCOL.md §4. */
const HAND_WRITTEN: { message: Message; body: string }[] = [
  { message: { kind: "noise", data: hex("abcd") }, body: "abcd" },
  { message: { kind: "noise", data: new Uint8Array(0) }, body: "" },
  {
    message: {
      kind: "beginMetaExchange",
      version: { major: 1, minor: 0 },
      sessionId: SESSION_ID,
      requireAuthentication: true,
      primaryKeyExchanges: [0x0001, 0x0003],
      secondaryKeyExchanges: [0x0102],
      aeads: [0x0001],
      hashes: [0x0001, 0x0004],
      signatures: [0x0201],
    },
    body: "01 00 0102030405060708 01 02 0001 0003 01 0102 01 0001 02 0001 0004 01 0201",
  },
  {
    message: {
      kind: "endMetaExchange",
      version: { major: 1, minor: 2 },
      sessionId: SESSION_ID,
      requireAuthentication: false,
      primaryKeyExchange: 0x0001,
      secondaryKeyExchange: 0x0102,
      aead: 0x0003,
      hash: 0x0002,
      signatures: [0x0001, 0x0101],
    },
    body: "01 02 0102030405060708 00 0001 0102 0003 0002 02 0001 0101",
  },
  { message: { kind: "beginPrimaryKeyExchange", share: hex("0909") }, body: "0909" },
  { message: { kind: "endPrimaryKeyExchange", share: hex("08") }, body: "08" },
  { message: { kind: "beginSecondaryKeyExchange", share: hex("0706") }, body: "0706" },
  { message: { kind: "endSecondaryKeyExchange", share: hex("05") }, body: "05" },
  { message: { kind: "beginAuthentication" }, body: "00" },
  {
    message: {
      kind: "endAuthentication",
      identity: { signature: 0x0001, publicKey: hex("aabb"), proof: hex("ccddee") },
    },
    body: "01 0001 0002 aabb 0003 ccddee",
  },
  { message: { kind: "beginSessionInit", extenders: [] }, body: "0000 00100000" },
  {
    message: { kind: "endSessionInit", extenders: [UUID_A, UUID_B], maxMessageSize: 4_096 },
    body: "0002 00000000000000000000000000000001 00000000000000000000000000000002 00001000",
  },
  {
    message: {
      kind: "beginKeyUpdate",
      epoch: 3,
      primaryShare: hex("11"),
      secondaryShare: hex("2222"),
    },
    body: "00000003 0001 11 0002 2222",
  },
  {
    message: {
      kind: "endKeyUpdate",
      epoch: 0xffffffff,
      primaryShare: hex("33"),
      secondaryShare: hex("44"),
    },
    body: "ffffffff 0001 33 0001 44",
  },
  { message: { kind: "keyUpdateReady", epoch: 258 }, body: "00000102" },
  {
    message: { kind: "extenderData", extender: UUID_B, data: hex("68690a") },
    body: "00000000000000000000000000000002 00000003 68690a",
  },
  {
    message: { kind: "extenderData", extender: UUID_B, total: 0x010000, data: hex("68") },
    body: "00000000000000000000000000000002 00010000 68",
  },
  { message: { kind: "extenderDataContinuation", data: hex("690a") }, body: "690a" },
  {
    message: { kind: "extenderUpdate", extenders: [UUID_A] },
    body: "0001 00000000000000000000000000000001",
  },
  { message: { kind: "close", reason: 0 }, body: "00" },
];

/** Bodies the decoder must reject with ERR_MALFORMED_MESSAGE. */
const MALFORMED: { name: string; type: number; body: string }[] = [
  { name: "unknown type 0x00", type: 0x00, body: "" },
  { name: "unknown type 0x02", type: 0x02, body: "00" },
  { name: "unknown type 0xff", type: 0xff, body: "00" },
  { name: "truncated meta", type: 0x10, body: "01 00 01020304050607" },
  {
    name: "meta with unknown flag bit",
    type: 0x10,
    body: "01 00 0102030405060708 02 01 0001 01 0001 01 0001 01 0001 01 0001",
  },
  {
    name: "meta with empty list",
    type: 0x10,
    body: "01 00 0102030405060708 00 00 01 0001 01 0001 01 0001 01 0001",
  },
  {
    name: "meta with duplicate id",
    type: 0x10,
    body: "01 00 0102030405060708 00 02 0001 0001 01 0001 01 0001 01 0001 01 0001",
  },
  {
    name: "meta missing the fifth list",
    type: 0x10,
    body: "01 00 0102030405060708 00 01 0001 01 0001 01 0001 01 0001",
  },
  {
    name: "meta with trailing byte",
    type: 0x10,
    body: "01 00 0102030405060708 00 01 0001 01 0001 01 0001 01 0001 01 0001 00",
  },
  {
    name: "end meta with flags 0x80",
    type: 0x11,
    body: "01 00 0102030405060708 80 0001 0001 0001 0001 01 0001",
  },
  {
    name: "end meta with empty list",
    type: 0x11,
    body: "01 00 0102030405060708 00 0001 0001 0001 0001 00",
  },
  {
    name: "end meta list longer than body",
    type: 0x11,
    body: "01 00 0102030405060708 00 0001 0001 0001 0001 02 0001",
  },
  { name: "empty key share", type: 0x20, body: "" },
  { name: "empty secondary answer", type: 0x31, body: "" },
  { name: "empty authentication", type: 0x40, body: "" },
  { name: "identity marker 2", type: 0x40, body: "02" },
  { name: "no identity with trailing byte", type: 0x41, body: "00 00" },
  { name: "identity with empty public key", type: 0x40, body: "01 0001 0000 0001 aa" },
  { name: "identity with empty proof", type: 0x40, body: "01 0001 0001 aa 0000" },
  { name: "identity proof truncated", type: 0x41, body: "01 0001 0001 aa 0002 bb" },
  { name: "identity with trailing byte", type: 0x41, body: "01 0001 0001 aa 0001 bb cc" },
  { name: "session init count too large", type: 0x50, body: "0001" },
  {
    name: "session init duplicate UUIDs",
    type: 0x50,
    body: "0002 00000000000000000000000000000001 00000000000000000000000000000001",
  },
  {
    name: "session init descending UUIDs",
    type: 0x51,
    body: "0002 00000000000000000000000000000002 00000000000000000000000000000001",
  },
  { name: "session init trailing byte", type: 0x51, body: "0000 00100000 00" },
  { name: "session init without maxMessageSize", type: 0x51, body: "0000" },
  { name: "session init maxMessageSize below 1,024", type: 0x51, body: "0000 000003ff" },
  { name: "session init one-byte count", type: 0x51, body: "00" },
  { name: "key update empty classical share", type: 0x60, body: "00000001 0000 0001 aa" },
  { name: "key update empty post-quantum share", type: 0x61, body: "00000001 0001 aa 0000" },
  { name: "key update trailing byte", type: 0x61, body: "00000001 0001 aa 0001 bb 00" },
  { name: "key update ready too short", type: 0x62, body: "000001" },
  { name: "key update ready too long", type: 0x62, body: "0000000100" },
  { name: "extender data without full UUID", type: 0x70, body: "000000000000000000000000000000" },
  {
    name: "extender update descending",
    type: 0x71,
    body: "0002 00000000000000000000000000000002 00000000000000000000000000000001",
  },
  { name: "close reason 2", type: 0x7f, body: "02" },
  { name: "close empty", type: 0x7f, body: "" },
  { name: "extender data without total", type: 0x70, body: "00000000000000000000000000000002" },
  {
    name: "extender data total below its chunk",
    type: 0x70,
    body: "00000000000000000000000000000002 00000001 6869",
  },
  { name: "empty continuation", type: 0x72, body: "" },
  { name: "close trailing byte", type: 0x7f, body: "00 00" },
];

Deno.test("encodeMessage() behaviour", async (t) => {
  await t.step("encodes every kind as PROTOCOL.md §4 says", () => {
    const covered = new Set<MessageKind>();
    for (const { message, body } of HAND_WRITTEN) {
      covered.add(message.kind);
      assert.equal(bytesToHex(encodeMessage(message)), body.replaceAll(" ", ""), message.kind);
    }
    assert.deepEqual([...covered].sort(), [...MESSAGE_KINDS].sort());
  });

  await t.step("returns a fresh array, never a view of the input", () => {
    const share = hex("010203");
    const body = encodeMessage({ kind: "beginPrimaryKeyExchange", share });
    share[0] = 9;
    assert.deepEqual(body, hex("010203"));
  });

  await t.step("rejects message objects the decoder would reject", () => {
    const base = HAND_WRITTEN[2]!.message as Extract<Message, { kind: "beginMetaExchange" }>;
    const end = HAND_WRITTEN[3]!.message as Extract<Message, { kind: "endMetaExchange" }>;
    const wrong: [unknown, typeof RangeError | typeof TypeError][] = [
      [null, TypeError],
      [{ kind: "nope" }, TypeError],
      [{ ...base, sessionId: new Uint8Array(7) }, RangeError],
      [{ ...base, sessionId: "0102030405060708" }, TypeError],
      [{ ...base, aeads: [] }, RangeError],
      [{ ...base, aeads: Array.from({ length: 256 }, (_, i) => i) }, RangeError],
      [{ ...base, hashes: [1, 1] }, RangeError],
      [{ ...base, hashes: [0x10000] }, RangeError],
      [{ ...base, hashes: [1.5] }, RangeError],
      [{ ...base, signatures: "x" }, TypeError],
      [{ ...base, version: { major: 256, minor: 0 } }, RangeError],
      [{ ...base, version: null }, TypeError],
      [{ ...base, requireAuthentication: 1 }, TypeError],
      [{ ...end, aead: -1 }, RangeError],
      [{ ...end, signatures: [] }, RangeError],
      [{ kind: "beginPrimaryKeyExchange", share: new Uint8Array(0) }, RangeError],
      [{ kind: "endSecondaryKeyExchange", share: new Uint8Array(65_536) }, RangeError],
      [{
        kind: "beginAuthentication",
        identity: { signature: 1, publicKey: new Uint8Array(0), proof: hex("01") },
      }, RangeError],
      [{
        kind: "beginAuthentication",
        identity: { signature: 1, publicKey: hex("01"), proof: new Uint8Array(0) },
      }, RangeError],
      [{
        kind: "endAuthentication",
        identity: { signature: 0x10000, publicKey: hex("01"), proof: hex("01") },
      }, RangeError],
      [{ kind: "endAuthentication", identity: null }, TypeError],
      [{ kind: "beginSessionInit", extenders: [UUID_B, UUID_A] }, RangeError],
      [{ kind: "beginSessionInit", extenders: [UUID_A, UUID_A] }, RangeError],
      [{ kind: "endSessionInit", extenders: [new Uint8Array(15)] }, RangeError],
      [{ kind: "extenderUpdate", extenders: {} }, TypeError],
      [
        { kind: "beginKeyUpdate", epoch: -1, primaryShare: hex("01"), secondaryShare: hex("01") },
        RangeError,
      ],
      [
        {
          kind: "endKeyUpdate",
          epoch: 2 ** 32,
          primaryShare: hex("01"),
          secondaryShare: hex("01"),
        },
        RangeError,
      ],
      [{
        kind: "endKeyUpdate",
        epoch: 1,
        primaryShare: hex("01"),
        secondaryShare: new Uint8Array(0),
      }, RangeError],
      [{ kind: "keyUpdateReady", epoch: Number.NaN }, RangeError],
      [{ kind: "extenderData", extender: new Uint8Array(17), data: hex("") }, RangeError],
      [{ kind: "extenderData", extender: UUID_A, data: [1] }, TypeError],
      [{ kind: "close", reason: 2 }, RangeError],
      [{ kind: "noise", data: "abc" }, TypeError],
    ];
    for (const [message, errorClass] of wrong) {
      assert.throws(() => encodeMessage(message as Message), errorClass, JSON.stringify(message));
    }
  });
});

Deno.test("decodeMessage() behaviour", async (t) => {
  await t.step("decodes the hand-written bodies", () => {
    for (const { message, body } of HAND_WRITTEN) {
      assert.deepEqual(decodeMessage(messageTypeOf(message.kind), hex(body)), message);
    }
  });

  await t.step("rejects malformed bodies with ERR_MALFORMED_MESSAGE", () => {
    for (const { name, type, body } of MALFORMED) {
      assert.throws(() => decodeMessage(type, hex(body)), isMalformed, name);
    }
  });

  await t.step("rejects a list of more than 255 ids (a u8 count cannot say 256)", () => {
    // 255 ids is the most a body can carry; the count byte wraps, so 256 ids leave trailing bytes.
    const ids = Array.from({ length: 255 }, (_, i) => i);
    const body = encodeMessage({
      ...(HAND_WRITTEN[3]!.message as Extract<Message, { kind: "endMetaExchange" }>),
      signatures: ids,
    });
    assert.equal(body[19], 255);
    const extended = new Uint8Array([...body, 0x01, 0x00]);
    assert.throws(() => decodeMessage(MESSAGE_TYPE.endMetaExchange, extended), isMalformed);
  });

  await t.step("returns byte fields that alias the body", () => {
    const body = hex("00000000000000000000000000000002 00000003 68690a");
    const message = decodeMessage(MESSAGE_TYPE.extenderData, body);
    assert.equal(message.kind, "extenderData");
    if (message.kind !== "extenderData") return;
    assert.equal(message.data.buffer, body.buffer);
    body[20] = 0;
    assert.equal(message.data[0], 0);
  });

  await t.step("rejects a body that is not a Uint8Array with TypeError", () => {
    assert.throws(() => decodeMessage(0x7f, [0] as unknown as Uint8Array), TypeError);
  });

  await t.step("round-trips every message (property)", () => {
    fc.assert(
      fc.property(messageArbitrary, (message) => {
        const body = encodeMessage(message);
        const decoded = decodeMessage(messageTypeOf(message.kind), body);
        assert.deepEqual(decoded, message);
        assert.deepEqual(encodeMessage(decoded), body);
      }),
      propertyConfig(500),
    );
  });

  await t.step("accepts only canonical bodies: random bytes (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...MESSAGE_TYPES), fc.integer({ min: 0, max: 255 })),
        fc.uint8Array({ maxLength: 64 }),
        (type, body) => assertCanonical(type, body),
      ),
      propertyConfig(2000),
    );
  });

  await t.step("accepts only canonical bodies: mutated valid bodies (property)", () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant("flip"), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ op: fc.constant("set"), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant("truncate"), at: fc.nat() }),
      fc.record({ op: fc.constant("extend"), tail: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
      fc.record({
        op: fc.constant("insert"),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
    );
    fc.assert(
      fc.property(
        messageArbitrary,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (message, ops) => {
          let body: Uint8Array = encodeMessage(message);
          for (const op of ops) {
            const at = body.length === 0 ? 0 : ("at" in op ? op.at % body.length : 0);
            if (op.op === "flip" && body.length > 0) body[at]! ^= 1 << op.bit;
            if (op.op === "set" && body.length > 0) body[at] = op.value;
            if (op.op === "truncate") body = body.slice(0, at);
            if (op.op === "extend") body = new Uint8Array([...body, ...op.tail]);
            if (op.op === "insert") {
              body = new Uint8Array([...body.subarray(0, at), op.value, ...body.subarray(at)]);
            }
          }
          assertCanonical(messageTypeOf(message.kind), body);
        },
      ),
      propertyConfig(2000),
    );
  });
});

Deno.test("decodeMessage() matches the known-answer vectors", async (t) => {
  const file = JSON.parse(
    await Deno.readTextFile(new URL("./vectors/codec_messages.json", import.meta.url)),
  ) as { vectors: { kind: MessageKind; type: number; message: Json; body: string }[] };
  const vectors = file.vectors;

  await t.step("the vector file is not empty and covers every kind", () => {
    assert.ok(Array.isArray(vectors) && vectors.length > 0, "codec_messages.json has no vectors");
    assert.deepEqual([...new Set(vectors.map((v) => v.kind))].sort(), [...MESSAGE_KINDS].sort());
  });

  await t.step("every vector encodes and decodes byte for byte", () => {
    for (const vector of vectors) {
      const message = messageFromJson(vector.message);
      assert.equal(messageTypeOf(vector.kind), vector.type);
      assert.equal(bytesToHex(encodeMessage(message)), vector.body, vector.kind);
      assert.deepEqual(decodeMessage(vector.type, hexToBytes(vector.body)), message);
    }
  });
});

Deno.test("messageTypeOf() behaviour", async (t) => {
  await t.step("maps every kind to its wire number and back", () => {
    for (const kind of MESSAGE_KINDS) {
      assert.equal(messageTypeOf(kind), MESSAGE_TYPE[kind]);
      assert.equal(messageKindOf(messageTypeOf(kind)), kind);
    }
  });

  await t.step("rejects an unknown kind with TypeError", () => {
    assert.throws(() => messageTypeOf("nope" as MessageKind), TypeError);
    assert.throws(() => messageTypeOf("toString" as MessageKind), TypeError);
  });
});

Deno.test("messageKindOf() behaviour", async (t) => {
  await t.step("returns undefined for numbers no message uses", () => {
    const used = new Set(MESSAGE_TYPES);
    for (let type = 0; type < 256; type++) {
      if (!used.has(type)) assert.equal(messageKindOf(type), undefined);
    }
    assert.equal(messageKindOf(-1), undefined);
    assert.equal(messageKindOf(0x101), undefined);
  });
});

Deno.test("encodePlaintext() behaviour", async (t) => {
  await t.step("lays out type, body length, body and zero padding", () => {
    assert.equal(bytesToHex(encodePlaintext(0x70, hex("aabb"), 3)), "7000000002aabb000000");
    assert.equal(bytesToHex(encodePlaintext(0x01, new Uint8Array(0), 0)), "0100000000");
  });

  await t.step("rejects misuse with RangeError", () => {
    assert.throws(() => encodePlaintext(256, new Uint8Array(0), 0), RangeError);
    assert.throws(() => encodePlaintext(-1, new Uint8Array(0), 0), RangeError);
    assert.throws(() => encodePlaintext(1, new Uint8Array(0), -1), RangeError);
    assert.throws(() => encodePlaintext(1, new Uint8Array(0), 0.5), RangeError);
    assert.throws(() => encodePlaintext(1, "x" as unknown as Uint8Array, 0), TypeError);
  });

  await t.step("round-trips through decodePlaintext() (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 64 }),
        (type, body, paddingLength) => {
          const plaintext = encodePlaintext(type, body, paddingLength);
          assert.equal(plaintext.length, 5 + body.length + paddingLength);
          const decoded = decodePlaintext(plaintext);
          assert.equal(decoded.type, type);
          assert.deepEqual(decoded.body, body);
        },
      ),
      propertyConfig(300),
    );
  });
});

Deno.test("decodePlaintext() behaviour", async (t) => {
  await t.step("rejects short plaintexts, overlong bodies and non-zero padding", () => {
    for (
      const text of [
        "",
        "01",
        "01000000",
        "0100000001",
        "01000000020a",
        "0100000000 01",
        "0100000001 aa 0000 80",
      ]
    ) {
      assert.throws(() => decodePlaintext(hex(text)), isMalformed, text);
    }
    assert.throws(() => decodePlaintext(hex("01ffffffff 00")), isMalformed);
  });

  await t.step("returns a body that aliases the plaintext", () => {
    const plaintext = hex("7f00000001 00 0000");
    const { body } = decodePlaintext(plaintext);
    assert.equal(body.buffer, plaintext.buffer);
    assert.equal(body.byteOffset, 5);
  });

  await t.step("rejects a plaintext that is not a Uint8Array with TypeError", () => {
    assert.throws(() => decodePlaintext(null as unknown as Uint8Array), TypeError);
  });
});

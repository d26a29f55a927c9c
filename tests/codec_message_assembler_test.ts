import assert from "node:assert/strict";
import fc from "fast-check";
import { ErrorCode, FrameError } from "../src/errors.ts";
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  fragmentMessage,
  MAX_MAX_MESSAGE_SIZE,
  MessageAssembler,
  MIN_MAX_MESSAGE_SIZE,
} from "../src/codec/message_assembler.ts";
import type {
  ExtenderDataContinuationMessage,
  ExtenderDataMessage,
} from "../src/codec/message_types.ts";
import { decodeMessage, encodeMessage, messageTypeOf } from "../src/codec/messages.ts";
import { propertyConfig } from "./_property.ts";

type DataMessage = ExtenderDataMessage | ExtenderDataContinuationMessage;

const EXTENDER = new Uint8Array(16).fill(7);

function codeIs(code: ErrorCode): (error: unknown) => boolean {
  return (error) => error instanceof FrameError && error.code === code;
}

function pattern(length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + 7) & 0xff);
}

Deno.test("fragmentMessage() behaviour", async (t) => {
  await t.step("keeps a message that fits one body whole, without total", () => {
    const data = pattern(80);
    assert.deepEqual(fragmentMessage(EXTENDER, data, 100), [
      { kind: "extenderData", extender: EXTENDER, data },
    ]);
  });

  await t.step("cuts a larger message into a start and continuations of at most room", () => {
    const data = pattern(200_000);
    const room = 65_000;
    const parts = fragmentMessage(EXTENDER, data, room);
    assert.equal(parts[0]?.kind, "extenderData");
    assert.equal((parts[0] as ExtenderDataMessage).total, 200_000);
    for (const part of parts.slice(1)) assert.equal(part.kind, "extenderDataContinuation");
    for (const part of parts) assert.ok(encodeMessage(part).length <= room);
    const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.data.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part.data, offset);
      offset += part.data.length;
    }
    assert.deepEqual(joined, data);
  });

  await t.step("rejects a room that cannot hold the start's fixed fields", () => {
    assert.throws(() => fragmentMessage(EXTENDER, pattern(3), 20), RangeError);
    assert.throws(() => fragmentMessage(new Uint8Array(15), pattern(3), 100), RangeError);
  });
});

Deno.test("MessageAssembler() behaviour", async (t) => {
  await t.step("delivers a whole message without copying it", () => {
    const assembler = new MessageAssembler();
    const data = pattern(10);
    const whole = assembler.push({ kind: "extenderData", extender: EXTENDER, data });
    assert.equal(whole?.data, data);
    assert.equal(assembler.buffered, 0);
  });

  await t.step("puts fragments back together, through the wire encoding", () => {
    const assembler = new MessageAssembler();
    const data = pattern(5_000);
    const parts = fragmentMessage(EXTENDER, data, 700);
    const results = parts.map((part) =>
      assembler.push(
        decodeMessage(messageTypeOf(part.kind), encodeMessage(part)) as DataMessage,
      )
    );
    assert.deepEqual(results.slice(0, -1), parts.slice(0, -1).map(() => undefined));
    assert.deepEqual(results.at(-1)?.data, data);
    assert.deepEqual(results.at(-1)?.extender, EXTENDER);
    assert.equal(assembler.pending, 0);
  });

  await t.step(
    "fails ERR_FRAME_TOO_LARGE for a total above maxMessageSize, holding nothing",
    () => {
      const assembler = new MessageAssembler({ maxMessageSize: 4_096 });
      assert.throws(
        () =>
          assembler.push({
            kind: "extenderData",
            extender: EXTENDER,
            total: 0xffff_ffff,
            data: pattern(1),
          }),
        codeIs(ErrorCode.FRAME_TOO_LARGE),
      );
      assert.equal(assembler.buffered, 0);
      assert.throws(
        () => assembler.push({ kind: "extenderData", extender: EXTENDER, data: pattern(4_097) }),
        codeIs(ErrorCode.FRAME_TOO_LARGE),
      );
    },
  );

  await t.step("fails ERR_UNEXPECTED_MESSAGE for a continuation without a start", () => {
    const assembler = new MessageAssembler();
    assert.throws(
      () => assembler.push({ kind: "extenderDataContinuation", data: pattern(3) }),
      codeIs(ErrorCode.UNEXPECTED_MESSAGE),
    );
  });

  await t.step("fails ERR_UNEXPECTED_MESSAGE for a new start before the last is complete", () => {
    const assembler = new MessageAssembler();
    assembler.push({ kind: "extenderData", extender: EXTENDER, total: 10, data: pattern(4) });
    assert.throws(
      () => assembler.push({ kind: "extenderData", extender: EXTENDER, data: pattern(2) }),
      codeIs(ErrorCode.UNEXPECTED_MESSAGE),
    );
    assert.equal(assembler.buffered, 0);
  });

  await t.step("fails ERR_MALFORMED_MESSAGE for more bytes than the announced total", () => {
    const assembler = new MessageAssembler();
    assembler.push({ kind: "extenderData", extender: EXTENDER, total: 10, data: pattern(4) });
    assert.throws(
      () => assembler.push({ kind: "extenderDataContinuation", data: pattern(7) }),
      codeIs(ErrorCode.MALFORMED_MESSAGE),
    );
  });

  await t.step(
    "without fragments (datagrams) fails ERR_UNEXPECTED_MESSAGE for any fragment",
    () => {
      const assembler = new MessageAssembler({ fragments: false });
      assert.throws(
        () =>
          assembler.push({ kind: "extenderData", extender: EXTENDER, total: 10, data: pattern(4) }),
        codeIs(ErrorCode.UNEXPECTED_MESSAGE),
      );
      assert.throws(
        () => assembler.push({ kind: "extenderDataContinuation", data: pattern(4) }),
        codeIs(ErrorCode.UNEXPECTED_MESSAGE),
      );
      assert.equal(
        assembler.push({ kind: "extenderData", extender: EXTENDER, data: pattern(4) })?.data.length,
        4,
      );
    },
  );

  await t.step("rejects a maxMessageSize outside its range with RangeError", () => {
    assert.equal(new MessageAssembler().maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE);
    assert.throws(
      () => new MessageAssembler({ maxMessageSize: MIN_MAX_MESSAGE_SIZE - 1 }),
      RangeError,
    );
    assert.throws(
      () => new MessageAssembler({ maxMessageSize: MAX_MAX_MESSAGE_SIZE + 1 }),
      RangeError,
    );
    assert.throws(() => new MessageAssembler({ maxMessageSize: 2_000.5 }), RangeError);
  });

  await t.step("holds at most maxMessageSize bytes whatever a hostile peer sends", () => {
    const max = 8_192;
    const hostile: fc.Arbitrary<DataMessage> = fc.oneof(
      fc.record({
        total: fc.oneof(fc.nat({ max: 2 * max }), fc.constant(0xffff_ffff)),
        chunk: fc.nat({ max: 300 }),
      }).map(({ total, chunk }): DataMessage => {
        const data = pattern(Math.min(total, chunk));
        return data.length === total
          ? { kind: "extenderData", extender: EXTENDER, data }
          : { kind: "extenderData", extender: EXTENDER, total, data };
      }),
      fc.integer({ min: 1, max: 3_000 }).map((length): DataMessage => ({
        kind: "extenderDataContinuation",
        data: pattern(length),
      })),
    );
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 60 }), (messages) => {
        const assembler = new MessageAssembler({ maxMessageSize: max });
        for (const message of messages) {
          let whole;
          try {
            whole = assembler.push(message);
          } catch (error) {
            assert.ok(error instanceof FrameError);
            assert.ok(
              [
                ErrorCode.FRAME_TOO_LARGE,
                ErrorCode.UNEXPECTED_MESSAGE,
                ErrorCode.MALFORMED_MESSAGE,
              ].includes(error.code as never),
            );
            assert.equal(assembler.buffered, 0);
            continue;
          }
          assert.ok(assembler.buffered <= max);
          if (whole !== undefined) assert.ok(whole.data.length <= max);
        }
      }),
      propertyConfig(200),
    );
  });

  await t.step("delivers exactly the messages a sender cut, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 3_000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 21, max: 900 }),
        (lengths, room) => {
          const assembler = new MessageAssembler({ maxMessageSize: MIN_MAX_MESSAGE_SIZE * 3 });
          const sent = lengths.map((length, i) => pattern(length).map((byte) => byte ^ i));
          const received: Uint8Array[] = [];
          for (const data of sent) {
            for (const part of fragmentMessage(EXTENDER, data, room)) {
              const whole = assembler.push(part);
              if (whole !== undefined) received.push(whole.data);
            }
          }
          assert.deepEqual(received, sent);
        },
      ),
      propertyConfig(100),
    );
  });
});

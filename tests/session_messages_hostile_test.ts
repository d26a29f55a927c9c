import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ErrorCode,
  initiate,
  nobleBackend,
  respond,
  seededRandom,
  type Session,
  type SessionOptions,
} from "../mod.ts";
import type { Message } from "../src/codec/message_types.ts";
import { RecordTracker } from "../src/conformance/_record_tracker.ts";
import { createRelay } from "../src/conformance/_relay.ts";
import { instrumentBackend } from "../src/conformance/_instrumented_backend.ts";
import {
  HOSTILE_MESSAGES,
  type Planned,
  type RewritePlan,
  rewriteScript,
} from "../src/conformance/_message_cases.ts";
import { waitFor } from "./_session_helpers.ts";
import { propertyConfig } from "./_property.ts";

const EXTENDER = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";
const EXTENDER_ID = Uint8Array.from(
  EXTENDER.replaceAll("-", "").match(/../g)!,
  (hex) => parseInt(hex, 16),
);
const OPEN: SessionOptions = { requireAuthentication: false, extenders: [EXTENDER] };

interface HostilePair {
  sender: Session;
  receiver: Session;
  /** The message kinds the receiver opened after ready, in order. */
  kinds: string[];
  received: Uint8Array[];
}

/** An initiator whose records to the responder pass through `plan`, both sides ready. */
async function hostilePair(
  plan: RewritePlan,
  receiverOptions: SessionOptions = {},
): Promise<HostilePair> {
  const secrets: Uint8Array[] = [];
  const tracker = new RecordTracker({
    secrets: () => ({ primary: secrets[0], secondary: secrets[1] }),
  });
  const relay = createRelay({ script: rewriteScript(tracker, "i2r", plan) });
  const kinds: string[] = [];
  let ready = false;
  const sender = initiate(relay.initiatorTransport, {
    ...OPEN,
    random: seededRandom(new Uint8Array([7])),
    backend: instrumentBackend(nobleBackend, { onSecret: (secret) => secrets.push(secret) }),
  });
  const receiver = respond(relay.responderTransport, {
    ...OPEN,
    ...receiverOptions,
    random: seededRandom(new Uint8Array([8])),
    onTrace: (event) => {
      if (ready && event.type === "frame" && event.direction === "received") kinds.push(event.kind);
    },
  });
  const received: Uint8Array[] = [];
  receiver.on("message", ({ data }) => received.push(data.slice()));
  await Promise.all([sender.ready, receiver.ready]);
  ready = true;
  return { sender, receiver, kinds, received };
}

function bytes(length: number, seed: number): Uint8Array {
  return seededRandom(new Uint8Array([seed, 0x68]))(length);
}

Deno.test("Session message reassembly: fragments interleaved with noise and a key update arrive as one message", async () => {
  let started = false;
  let bodies = 0;
  let updating = false;
  const held: Planned[] = [];
  const pair = await hostilePair((tracked) => {
    const message = tracked.message;
    if (message?.kind === "extenderData" && message.total !== undefined) {
      started = true;
      return [tracked, { kind: "noise", data: new Uint8Array(32) }];
    }
    if (message?.kind === "extenderDataContinuation" && started && !updating && ++bodies > 1) {
      // Hold the rest of the message back until the key update starts.
      held.push(tracked);
      return [];
    }
    if (message?.kind === "beginKeyUpdate") {
      updating = true;
      return [tracked, ...held.splice(0)];
    }
    return undefined;
  });
  const data = bytes(200_000, 1);
  const sent = pair.sender.send(EXTENDER, data);
  const updated = pair.sender.updateKeys();
  await sent;
  assert.equal(await updated, 3);
  await waitFor(() => pair.received.length === 1, { what: "the message" });
  await pair.sender.send(EXTENDER, bytes(100_000, 2));
  await waitFor(() => pair.received.length === 2, { what: "the next message, under epoch 3" });
  await pair.sender.close();
  assert.equal((await pair.receiver.closed).code, undefined);
  assert.deepEqual(pair.received, [data, bytes(100_000, 2)]);
  // The records really were interleaved.
  const first = pair.kinds.indexOf("extenderData");
  assert.deepEqual(pair.kinds.slice(first, first + 6), [
    "extenderData",
    "noise",
    "extenderDataContinuation",
    "beginKeyUpdate",
    "extenderDataContinuation",
    "extenderDataContinuation",
  ]);
});

Deno.test("Session message reassembly: a hostile sequence fails the session with its code", async (t) => {
  for (const hostile of HOSTILE_MESSAGES) {
    await t.step(`${hostile.id}: ${hostile.code}`, async () => {
      let done = false;
      const pair = await hostilePair((tracked) => {
        if (done) return [];
        if (tracked.message?.kind !== "noise") return undefined;
        done = true;
        return hostile.records(4_096);
      }, { maxMessageSize: 4_096 });
      await pair.sender.sendNoise(1);
      assert.equal((await pair.receiver.closed).code, hostile.code);
      assert.deepEqual(pair.received, []);
      await pair.sender.closed;
    });
  }
});

Deno.test("Session message reassembly: a hostile peer cannot make the receiver deliver more than maxMessageSize (property)", async () => {
  const max = 4_096;
  const record: fc.Arbitrary<Message> = fc.oneof(
    fc.record({ total: fc.nat({ max: 2 * max }), chunk: fc.nat({ max: 1_500 }) }).map((
      { total, chunk },
    ): Message => {
      const data = new Uint8Array(Math.min(total, chunk)).fill(0x33);
      return data.length === total
        ? { kind: "extenderData", extender: EXTENDER_ID, data }
        : { kind: "extenderData", extender: EXTENDER_ID, total, data };
    }),
    fc.integer({ min: 1, max: 3_000 }).map((length): Message => ({
      kind: "extenderDataContinuation",
      data: new Uint8Array(length).fill(0x44),
    })),
    fc.constant<Message>({ kind: "noise", data: new Uint8Array(8) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 12 }), async (records) => {
      let injected = false;
      const pair = await hostilePair((tracked) => {
        if (injected || tracked.message?.kind !== "noise") return undefined;
        injected = true;
        return records;
      }, { maxMessageSize: max });
      await pair.sender.sendNoise(1);
      // A marker message: it arrives unless the session failed first.
      const marker = new Uint8Array([0xee]);
      await pair.sender.send(EXTENDER, marker).catch(() => {});
      let end: { code: string | undefined } | undefined;
      void pair.receiver.closed.then((info) => (end = info));
      await waitFor(
        () => end !== undefined || pair.received.some((data) => data.length === 1),
        { what: "the marker or the end" },
      );
      for (const data of pair.received) assert.ok(data.length <= max);
      if (end !== undefined) {
        assert.ok(
          [ErrorCode.FRAME_TOO_LARGE, ErrorCode.UNEXPECTED_MESSAGE, ErrorCode.MALFORMED_MESSAGE]
            .includes(end.code as never),
          String(end.code),
        );
      }
      await pair.sender.close();
      await pair.receiver.closed;
    }),
    propertyConfig(10),
  );
});

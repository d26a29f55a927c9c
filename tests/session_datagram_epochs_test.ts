/**
 * Old epochs on datagrams: each handshake and key-update message belongs to
 * one epoch, and an older epoch is accepted only for a retransmission or for
 * session traffic within the grace period. Epoch 0's keys are derived from a
 * salt anyone sees (without a GSS), so a message forged under epoch 0 once the
 * handshake moved on must be dropped: not answered, not fatal.
 */

import assert from "node:assert/strict";
import {
  createDatagramPair,
  type DatagramTransport,
  initiate,
  nobleBackend,
  respond,
  seededRandom,
} from "../mod.ts";
import { DatagramSealer } from "../src/codec/datagram_records.ts";
import { encodeMessage, messageTypeOf } from "../src/codec/messages.ts";
import type { Message } from "../src/codec/message_types.ts";
import { OFFER } from "./_meta_messages.ts";
import { isEpochAdmissible } from "../src/session/_record_layer.ts";

const META: Message = OFFER;
const DATA: Message = {
  kind: "extenderData",
  extender: new Uint8Array(16),
  data: new Uint8Array(1),
};
const READY_4: Message = { kind: "keyUpdateReady", epoch: 4 };

Deno.test("isEpochAdmissible() ties messages to their epochs", async (t) => {
  const copy = () => true;
  const fresh = () => false;
  await t.step("a handshake message only under its own epoch", () => {
    assert.equal(isEpochAdmissible(META, 0, 0, fresh), true);
    assert.equal(isEpochAdmissible(META, 1, 1, fresh), false);
    assert.equal(isEpochAdmissible(META, 2, 2, fresh), false);
  });
  await t.step("an older epoch only for a known copy", () => {
    assert.equal(isEpochAdmissible(META, 0, 1, fresh), false);
    assert.equal(isEpochAdmissible(META, 0, 1, copy), true);
  });
  await t.step("a key-update message under the epoch before the one it names", () => {
    assert.equal(isEpochAdmissible(READY_4, 3, 3, fresh), true);
    // The other side switched its receiving keys already (datagrams, §10.4).
    assert.equal(isEpochAdmissible(READY_4, 3, 4, fresh), true);
    assert.equal(isEpochAdmissible(READY_4, 2, 2, fresh), false);
    assert.equal(isEpochAdmissible(READY_4, 3, 5, fresh), false);
    assert.equal(isEpochAdmissible(READY_4, 3, 5, copy), true);
  });
  await t.step("session traffic under a session epoch, the previous one included", () => {
    assert.equal(isEpochAdmissible(DATA, 2, 3, fresh), true);
    assert.equal(isEpochAdmissible(DATA, 0, 1, fresh), false);
    assert.equal(isEpochAdmissible(DATA, 1, 1, fresh), false);
  });
});

/**
 * Wraps the initiator's side of a datagram pair: once the responder's first
 * unsalted datagram (epoch 1: the initiator has moved on) comes by, a message
 * forged under the responder's epoch-0 keys is delivered just before it.
 */
function forgingInitiatorSide(inner: DatagramTransport, forged: Message): {
  transport: DatagramTransport;
  injected: () => boolean;
} {
  let salt: Uint8Array | undefined;
  let injected = false;
  const readable = inner.readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller): Promise<void> {
        if (salt === undefined) salt = chunk.slice(0, 16);
        const salted = salt.every((byte, i) => chunk[i] === byte);
        if (!salted && !injected) {
          injected = true;
          const sealer = new DatagramSealer({ backend: nobleBackend, random: () => salt!.slice() });
          // Move past every sequence number the responder used under epoch 0.
          for (let i = 0; i < 64; i++) await sealer.seal(0, new Uint8Array(0), 0);
          controller.enqueue(
            await sealer.seal(messageTypeOf(forged.kind), encodeMessage(forged), 0),
          );
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return {
    transport: { kind: "datagram", readable, writable: inner.writable },
    injected: () => injected,
  };
}

Deno.test("initiate() over datagrams drops a message forged under epoch 0 once the handshake moved on", async (t) => {
  const forgeries: Message[] = [
    META,
    { kind: "beginPrimaryKeyExchange", share: new Uint8Array(32).fill(9) } as Message,
  ];
  for (const forged of forgeries) {
    await t.step(forged.kind, async () => {
      const [a, b] = createDatagramPair();
      const { transport, injected } = forgingInitiatorSide(a, forged);
      const options = { requireAuthentication: false, maxHandshakeDelay: 0 } as const;
      const client = initiate(transport, { ...options, random: seededRandom(new Uint8Array([1])) });
      const server = respond(b, { ...options, random: seededRandom(new Uint8Array([2])) });
      await Promise.all([client.ready, server.ready]);
      assert.equal(injected(), true);
      assert.ok(client.droppedRecords >= 1);
      await Promise.all([client.close(), server.close()]);
    });
  }
});

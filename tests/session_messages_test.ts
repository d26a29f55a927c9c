import assert from "node:assert/strict";
import {
  connTransport,
  createDatagramPair,
  createMemoryPair,
  initiate,
  Local,
  respond,
  seededRandom,
  type Session,
  type SessionOptions,
  type Transport,
} from "../mod.ts";
import { DEFAULT_MAX_MESSAGE_SIZE } from "../src/codec/message_assembler.ts";
import { closePair, type Pair, startPair, waitFor } from "./_session_helpers.ts";

const EXTENDER = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";
const OPEN: SessionOptions = { requireAuthentication: false, extenders: [EXTENDER] };

function pattern(length: number, seed = 1): Uint8Array {
  return seededRandom(new Uint8Array([seed, 0x6d]))(length);
}

/** Collects the "message" events of a session. */
function inbox(session: Session): Uint8Array[] {
  const received: Uint8Array[] = [];
  session.on("message", ({ data }) => received.push(data.slice()));
  return received;
}

async function readyPair(
  transports: [Transport, Transport],
  options: SessionOptions = OPEN,
): Promise<Pair> {
  const pair = startPair(options, options, transports);
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  return pair;
}

async function oneMessageArrives(pair: Pair, length: number): Promise<void> {
  const received = inbox(pair.responder);
  const data = pattern(length);
  await pair.initiator.send(EXTENDER, data);
  await waitFor(() => received.length > 0, { what: "the message" });
  await closePair(pair);
  assert.equal(received.length, 1);
  assert.deepEqual(received[0], data);
}

Deno.test("Session.send() behaviour: one send is one message", async (t) => {
  await t.step("over the memory pair, 200,000 bytes arrive as one message", async () => {
    await oneMessageArrives(await readyPair(createMemoryPair()), 200_000);
  });

  await t.step("over the memory pair, a message of exactly maxMessageSize arrives", async () => {
    await oneMessageArrives(await readyPair(createMemoryPair()), DEFAULT_MAX_MESSAGE_SIZE);
  });

  await t.step("messages stay apart and in order, with key updates between them", async () => {
    const pair = await readyPair(createMemoryPair());
    const received = inbox(pair.responder);
    const sent = [70_000, 0, 1, 131_072, 65_000].map((length, i) => pattern(length, i + 2));
    const sends = sent.map((data) => pair.initiator.send(EXTENDER, data));
    const updates = [pair.initiator.updateKeys(), pair.responder.updateKeys()];
    await Promise.all([...sends, ...updates]);
    await waitFor(() => received.length === sent.length, { what: "every message" });
    await closePair(pair);
    assert.deepEqual(received, sent);
  });

  await t.step("over TCP, 200,000 bytes arrive as one message", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const accepting = listener.accept();
      const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      const server = await accepting;
      await oneMessageArrives(
        await readyPair([connTransport(client), connTransport(server)]),
        200_000,
      );
    } finally {
      listener.close();
    }
  });

  await t.step("Extender.messages() yields a large message as one chunk", async () => {
    const alice = new Local();
    const bob = new Local();
    alice.register(EXTENDER);
    const files = bob.register(EXTENDER);
    const [a, b] = createMemoryPair();
    const client = initiate(a, alice.sessionOptions({ requireAuthentication: false }));
    const server = respond(b, bob.sessionOptions({ requireAuthentication: false }));
    alice.attach(client);
    bob.attach(server);
    await Promise.all([client.ready, server.ready]);
    await Promise.all([alice.settled(), bob.settled()]);
    const stream = files.messages(server);
    const data = pattern(200_000, 9);
    await client.send(EXTENDER, data);
    await client.close();
    const chunks = await Array.fromAsync(stream);
    assert.deepEqual(chunks, [data]);
    await server.closed;
  });
});

Deno.test("Session.send() behaviour: a message above maxMessageSize is a RangeError, nothing written", async (t) => {
  await t.step("with the default limit", async () => {
    const pair = await readyPair(createMemoryPair());
    const received = inbox(pair.responder);
    const before = pair.initiator.bytesSent;
    await assert.rejects(
      pair.initiator.send(EXTENDER, new Uint8Array(DEFAULT_MAX_MESSAGE_SIZE + 1)),
      RangeError,
    );
    assert.equal(pair.initiator.bytesSent, before);
    // The session goes on: the next message is whole, nothing of the refused one arrives.
    await pair.initiator.send(EXTENDER, pattern(10));
    await waitFor(() => received.length === 1, { what: "the next message" });
    await closePair(pair);
    assert.deepEqual(received, [pattern(10)]);
  });

  await t.step("with a lowered limit", async () => {
    const pair = await readyPair(createMemoryPair(), { ...OPEN, maxMessageSize: 4_096 });
    const before = pair.initiator.bytesSent;
    await assert.rejects(pair.initiator.send(EXTENDER, new Uint8Array(4_097)), RangeError);
    assert.equal(pair.initiator.bytesSent, before);
    await closePair(pair);
  });

  await t.step("maxMessageSize outside [1,024, 16 MiB] is a RangeError", () => {
    const [a] = createMemoryPair();
    assert.throws(() => initiate(a, { ...OPEN, maxMessageSize: 1_023 }), RangeError);
    assert.throws(() => initiate(a, { ...OPEN, maxMessageSize: 2 ** 24 + 1 }), RangeError);
  });

  await t.step("above the peer's announced maxMessageSize, on either side", async () => {
    const [a, b] = createMemoryPair();
    const pair = {
      initiator: initiate(a, { ...OPEN, random: seededRandom(new Uint8Array([1])) }),
      responder: respond(b, {
        ...OPEN,
        maxMessageSize: 4_096,
        random: seededRandom(new Uint8Array([2])),
      }),
    };
    await Promise.all([pair.initiator.ready, pair.responder.ready]);
    const received = inbox(pair.responder);
    const before = pair.initiator.bytesSent;
    await assert.rejects(pair.initiator.send(EXTENDER, new Uint8Array(4_097)), RangeError);
    assert.equal(pair.initiator.bytesSent, before);
    await pair.initiator.send(EXTENDER, pattern(4_096));
    await waitFor(() => received.length === 1, { what: "the message" });
    await closePair(pair);
    assert.deepEqual(received, [pattern(4_096)]);
  });
});

Deno.test("Session.send() behaviour: on datagrams a message must fit one record", async (t) => {
  await t.step("a message that fills one record arrives whole", async () => {
    const pair = await readyPair(createDatagramPair());
    const received = inbox(pair.responder);
    const data = pattern(60_000);
    await pair.initiator.send(EXTENDER, data);
    await waitFor(() => received.length > 0, { what: "the message" });
    await closePair(pair);
    assert.deepEqual(received, [data]);
  });

  await t.step("200,000 bytes are a RangeError with nothing written", async () => {
    const pair = await readyPair(createDatagramPair());
    const before = pair.initiator.bytesSent;
    await assert.rejects(pair.initiator.send(EXTENDER, pattern(200_000)), RangeError);
    assert.equal(pair.initiator.bytesSent, before);
    await closePair(pair);
  });

  await t.step("over lossy datagrams, what arrives is whole", async () => {
    const random = seededRandom(new Uint8Array([0x10, 0x55]));
    const options = { ...OPEN, keyUpdate: { maxDuration: 30_000 } };
    const pair = await readyPair(
      createDatagramPair({ loss: 0.2, duplicate: 0.1, reorder: 0.2, random }),
      options,
    );
    const received = inbox(pair.responder);
    const sent = Array.from({ length: 12 }, (_, i) => pattern(20_000 + i, i + 1));
    for (const data of sent) await pair.initiator.send(EXTENDER, data);
    await pair.initiator.send(EXTENDER, new Uint8Array([0xff]));
    await closePair(pair);
    for (const data of received) {
      if (data.length === 1) continue;
      assert.ok(
        sent.some((one) => one.length === data.length && one.every((b, i) => b === data[i])),
      );
    }
  });
});

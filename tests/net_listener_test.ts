import assert from "node:assert/strict";
import {
  createMemoryPair,
  ErrorCode,
  initiate,
  Listener,
  seededRandom,
  type Session,
  type Transport,
} from "../mod.ts";
import { failuresOf } from "./_listener_helpers.ts";

const OPEN = { requireAuthentication: false } as const;

/** Starts an initiator on a fresh memory pair whose other end the listener accepts. */
function dial(listener: Listener, label: string): { client: Session; server: Session | undefined } {
  const [a, b] = createMemoryPair();
  const server = listener.accept(b, label);
  const client = initiate(a, { ...OPEN, random: seededRandom(new TextEncoder().encode(label)) });
  return { client, server };
}

/** A peer that connects and then never says anything: the responder's bytes are drained. */
function silentPeer(listener: Listener, label: string): {
  server: Session | undefined;
  hangUp: () => Promise<void>;
} {
  const [a, b] = createMemoryPair();
  const server = listener.accept(b, label);
  const drained = Array.fromAsync(a.readable).catch(() => []);
  return {
    server,
    hangUp: async () => {
      await a.writable.close().catch(() => {});
      await drained;
    },
  };
}

Deno.test("Listener() rejects invalid options", () => {
  assert.throws(() => new Listener(), TypeError, "accessManager");
  assert.throws(() => new Listener({ ...OPEN, maxHandshakes: 0 }), RangeError, "maxHandshakes");
  assert.throws(() => new Listener({ ...OPEN, maxSessions: 1.5 }), RangeError, "maxSessions");
  assert.throws(() => new Listener({ ...OPEN, maxPadding: -1 }), RangeError, "maxPadding");
  const reason = new Error("stopped before it started");
  assert.throws(
    () => new Listener({ ...OPEN, signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
});

Deno.test("Listener.accept() runs many handshakes at once and yields each ready session", async (t) => {
  await t.step("through the async iterator", async () => {
    const listener = new Listener(OPEN);
    const ready: string[] = [];
    listener.on("session", ({ remoteAddress }) => ready.push(remoteAddress));
    const peers = Array.from({ length: 8 }, (_, i) => dial(listener, `peer-${i}`));
    assert.equal(listener.handshakes, 8);
    const details = await Promise.all(peers.map(({ client }) => client.ready));
    const accepted: Session[] = [];
    for await (const session of listener) {
      accepted.push(session);
      if (accepted.length === peers.length) break;
    }
    assert.equal(listener.handshakes, 0);
    assert.equal(listener.sessions.length, 8);
    assert.deepEqual(ready.toSorted(), peers.map((_, i) => `peer-${i}`).toSorted());
    // Every accepted session is the responder end of one of the clients.
    assert.deepEqual(
      accepted.map((session) => session.details!.peerSessionId).toSorted(),
      details.map((detail) => detail.sessionId).toSorted(),
    );
    await listener.close();
    const endings = await Promise.all(peers.map(({ client }) => client.closed));
    assert.ok(endings.every((info) => info.code === undefined && !info.local));
    assert.equal(listener.sessions.length, 0);
  });

  await t.step("through the onSession callback, and not the iterator", async () => {
    const seen: [Session, string][] = [];
    const listener = new Listener(OPEN, (session, remoteAddress) => {
      seen.push([session, remoteAddress]);
    });
    const { client, server } = dial(listener, "callback");
    await Promise.all([client.ready, server!.ready]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]![0], server);
    assert.equal(seen[0]![1], "callback");
    await listener.close();
    await client.closed;
    // The callback took every session: the iterator ends with nothing.
    assert.deepEqual(await Array.fromAsync(listener), []);
  });
});

Deno.test("Listener.accept() refuses connections beyond maxHandshakes with ERR_RESOURCE_LIMIT", async () => {
  const listener = new Listener({ ...OPEN, maxHandshakes: 2 });
  const failures = failuresOf(listener);
  const first = silentPeer(listener, "stall-1");
  const second = silentPeer(listener, "stall-2");
  assert.ok(first.server && second.server);
  assert.equal(listener.handshakes, 2);

  const [a, b] = createMemoryPair();
  assert.equal(listener.accept(b, "third"), undefined);
  // The refused pipe is closed at once.
  await assert.rejects(
    a.readable.getReader().read(),
    (error: { code?: string }) => error.code === ErrorCode.RESOURCE_LIMIT,
  );
  assert.deepEqual(
    failures.map(({ code, remoteAddress, stage, session }) => ({
      code,
      remoteAddress,
      stage,
      session,
    })),
    [{
      code: ErrorCode.RESOURCE_LIMIT,
      remoteAddress: "third",
      stage: "refused",
      session: undefined,
    }],
  );

  // Once a stalled peer hangs up, there is room again.
  await first.hangUp();
  await first.server.closed;
  assert.equal(listener.handshakes, 1);
  const { client } = dial(listener, "honest");
  await client.ready;
  await listener.close();
  await Promise.all([second.hangUp(), client.closed]);
  assert.deepEqual(
    failures.slice(1).map(({ code, remoteAddress, stage }) => [
      remoteAddress,
      stage,
      code,
    ]),
    [
      ["stall-1", "handshake", ErrorCode.TRANSPORT_CLOSED],
      ["stall-2", "handshake", ErrorCode.ABORTED],
    ],
  );
});

Deno.test("Listener.accept() refuses connections beyond maxSessions", async () => {
  const listener = new Listener({ ...OPEN, maxSessions: 1 });
  const failures = failuresOf(listener);
  const { client } = dial(listener, "one");
  await client.ready;
  const refused = dial(listener, "two");
  assert.equal(refused.server, undefined);
  await assert.rejects(refused.client.ready, (error: { code?: string }) => {
    return error.code === ErrorCode.TRANSPORT_CLOSED;
  });
  assert.deepEqual(failures.map((failure) => [failure.remoteAddress, failure.code]), [[
    "two",
    ErrorCode.RESOURCE_LIMIT,
  ]]);
  await listener.close();
  await client.closed;
});

Deno.test("Listener reports a failed handshake with its code and leaves other peers alone", async () => {
  const listener = new Listener({ ...OPEN, timeouts: { phase: 200, handshake: 1_000 } });
  const failures = failuresOf(listener);
  const stalled = silentPeer(listener, "stalled");
  const peers = [dial(listener, "a"), dial(listener, "b")];
  await Promise.all(peers.map(({ client }) => client.ready));
  await stalled.server!.closed;
  await stalled.hangUp();
  assert.deepEqual(
    failures.map((failure) => [failure.remoteAddress, failure.stage, failure.code]),
    [
      ["stalled", "handshake", ErrorCode.TIMEOUT],
    ],
  );
  assert.equal(failures[0]!.session, stalled.server);
  await listener.close();
  await Promise.all(peers.map(({ client }) => client.closed));
});

Deno.test("Listener reports how ready sessions end", async () => {
  const listener = new Listener(OPEN);
  const failures = failuresOf(listener);
  const closedEvents: [string, string | undefined][] = [];
  listener.on("sessionClosed", ({ remoteAddress, info }) => {
    closedEvents.push([remoteAddress, info.code]);
  });
  const orderly = dial(listener, "orderly");
  const [a, b] = createMemoryPair();
  let cut!: TransformStreamDefaultController<Uint8Array>;
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    start(controller): void {
      cut = controller;
    },
  });
  const rude = listener.accept(
    { readable: b.readable.pipeThrough(tap), writable: b.writable },
    "rude",
  )!;
  const rudeClient = initiate(a, OPEN);
  await Promise.all([orderly.client.ready, orderly.server!.ready, rudeClient.ready, rude.ready]);

  await orderly.client.close();
  await orderly.server!.closed;
  // The pipe fails under the responder without a close message.
  cut.error(new Error("cable cut"));
  await rude.closed;
  assert.deepEqual(closedEvents, [["orderly", undefined], ["rude", ErrorCode.TRANSPORT_CLOSED]]);
  assert.deepEqual(
    failures.map((failure) => [failure.remoteAddress, failure.stage, failure.code]),
    [
      ["rude", "session", ErrorCode.TRANSPORT_CLOSED],
    ],
  );
  await rudeClient.closed;
  await listener.close();
});

Deno.test("Listener.close() stops accepting, closes sessions and ends iterators", async () => {
  const listener = new Listener(OPEN);
  const { client, server } = dial(listener, "ready");
  await Promise.all([client.ready, server!.ready]);
  const iterator = listener[Symbol.asyncIterator]();
  assert.equal((await iterator.next()).value, server);
  const pending = iterator.next();
  const closing = listener.close();
  assert.equal(listener.closing, true);
  assert.equal(listener.close(), closing, "close() is idempotent");
  await closing;
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.deepEqual(await client.closed, { code: undefined, local: false });
  // After close, a new connection is closed at once, with no failure reported.
  const failures = failuresOf(listener);
  const late = dial(listener, "late");
  assert.equal(late.server, undefined);
  await assert.rejects(late.client.ready);
  assert.deepEqual(failures, []);
});

Deno.test("Listener with an AbortSignal aborts every session with ERR_ABORTED", async () => {
  const controller = new AbortController();
  const listener = new Listener({ ...OPEN, signal: controller.signal });
  const ready = dial(listener, "ready");
  await Promise.all([ready.client.ready, ready.server!.ready]);
  const stalled = silentPeer(listener, "stalled");
  controller.abort();
  assert.equal(listener.closing, true);
  await listener.close();
  assert.equal((await ready.server!.closed).code, ErrorCode.ABORTED);
  assert.equal((await stalled.server!.closed).code, ErrorCode.ABORTED);
  assert.equal((await ready.client.closed).code, ErrorCode.TRANSPORT_CLOSED);
  await stalled.hangUp();
});

Deno.test("Listener.accept() closes a transport it cannot use", async () => {
  const listener = new Listener(OPEN);
  const failures = failuresOf(listener);
  const [a, b] = createMemoryPair();
  // Someone else already reads this pipe: respond() cannot take it.
  const reader = b.readable.getReader();
  assert.equal(listener.accept(b as Transport, "locked"), undefined);
  assert.deepEqual(failures.map((failure) => [failure.stage, failure.code]), [[
    "refused",
    ErrorCode.TRANSPORT_CLOSED,
  ]]);
  reader.releaseLock();
  await a.writable.close().catch(() => {});
  await listener.close();
});

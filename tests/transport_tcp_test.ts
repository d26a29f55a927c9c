import assert from "node:assert/strict";
import {
  connectTcp,
  type ConnLike,
  connTransport,
  ErrorCode,
  HandshakeError,
  initiate,
  listenTcp,
  type PeerDetails,
  respond,
  seededRandom,
  type Session,
  SessionError,
  type TcpListener,
} from "../mod.ts";
import { failuresOf, failuresReached } from "./_listener_helpers.ts";
import { accessFor, identityFor, uuidOf } from "./_session_helpers.ts";

const OPEN = { requireAuthentication: false } as const;
const ECHO = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

/** Resolves with the next `count` sessions the listener accepts. */
async function accepted(listener: TcpListener, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  if (count === 0) return sessions;
  for await (const session of listener) {
    sessions.push(session);
    if (sessions.length === count) break;
  }
  return sessions;
}

/** Fixed pseudo-random bytes: hostile input must be reproducible. */
function junk(length: number, seed: number): Uint8Array {
  return seededRandom(new Uint8Array([seed]))(length);
}

/** The listener-side address of a raw client connection. */
function addressOf(conn: Deno.TcpConn): string {
  return `${conn.localAddr.hostname}:${conn.localAddr.port}`;
}

Deno.test("connectTcp() and listenTcp() authenticate both peers over loopback TCP", async () => {
  const alice = await identityFor("Ed25519", 21);
  const bob = await identityFor("Ed25519+ML-DSA-65", 22);
  const access = accessFor(alice, bob);
  const listener = listenTcp({}, { identity: bob, accessManager: access });
  assert.equal(listener.addr.hostname, "127.0.0.1");
  assert.ok(listener.addr.port > 0);
  const client = await connectTcp(
    { hostname: "127.0.0.1", port: listener.addr.port },
    { identity: alice, accessManager: access },
  );
  const [[server], mine] = await Promise.all([accepted(listener, 1), client.ready]);
  const theirs = await server!.ready;
  assert.equal(mine.authenticated, true);
  assert.equal(mine.peerUuid, uuidOf(bob));
  assert.equal(mine.peerSignature, "Ed25519+ML-DSA-65");
  assert.equal(theirs.peerUuid, uuidOf(alice));
  assert.equal(theirs.authenticated, true);
  assert.deepEqual(mine.algorithms, theirs.algorithms);
  const context = new TextEncoder().encode("tcp");
  assert.deepEqual(
    client.exportKeyingMaterial("test", context, 32),
    server!.exportKeyingMaterial("test", context, 32),
  );
  await client.close();
  assert.deepEqual(await server!.closed, { code: undefined, local: false });
  await listener.close();
});

Deno.test("connectTcp() sessions carry extender data and update keys over TCP", async () => {
  const options = { ...OPEN, extenders: [ECHO] };
  const listener = listenTcp({}, options);
  const client = await connectTcp({ port: listener.addr.port }, options);
  const [[server]] = await Promise.all([accepted(listener, 1), client.ready]);
  // The responder echoes every message back.
  server!.on("message", ({ extender, data }) => void server!.send(extender, data).catch(() => {}));
  const chunks: Uint8Array[] = [];
  let received = 0;
  const { promise: allBack, resolve } = Promise.withResolvers<void>();
  client.on("message", ({ data }) => {
    chunks.push(data);
    received += data.length;
    if (received === 250_000) resolve();
  });
  const payload = junk(250_000, 7);
  await client.send(ECHO, payload);
  await allBack;
  const echoed = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    echoed.set(chunk, offset);
    offset += chunk.length;
  }
  assert.deepEqual(echoed, payload);

  assert.equal(client.epoch, 2);
  const epochs = await Promise.all([client.updateKeys(), server!.updateKeys()]);
  assert.deepEqual(epochs, [3, 3]);
  assert.equal(await client.updateKeys(), 4);
  // Data still flows under the new keys.
  const hello = new Promise<string>((done) => {
    const off = client.on("message", ({ data }) => {
      off();
      done(new TextDecoder().decode(data));
    });
  });
  await client.send(ECHO, new TextEncoder().encode("after update"));
  assert.equal(await hello, "after update");
  assert.ok(client.bytesSent > 250_000 && client.bytesReceived > 250_000);
  await server!.close();
  assert.deepEqual(await client.closed, { code: undefined, local: false });
  await listener.close();
});

Deno.test("listenTcp() serves many concurrent peers", async () => {
  const peers = 24;
  const listener = listenTcp({}, OPEN);
  const clients = await Promise.all(
    Array.from({ length: peers }, () => connectTcp({ port: listener.addr.port }, OPEN)),
  );
  const [servers, details] = await Promise.all([
    accepted(listener, peers),
    Promise.all(clients.map((client) => client.ready)),
  ]);
  assert.equal(listener.sessions.length, peers);
  assert.equal(listener.handshakes, 0);
  // Each server session is paired with exactly one client, with the same keys.
  const byId = new Map(servers.map((server) => [server.details!.peerSessionId, server]));
  assert.equal(byId.size, peers);
  const context = new Uint8Array(0);
  details.forEach((detail: PeerDetails, i) => {
    const server = byId.get(detail.sessionId);
    assert.ok(server);
    assert.deepEqual(
      server.exportKeyingMaterial("pair", context, 16),
      clients[i]!.exportKeyingMaterial("pair", context, 16),
    );
  });
  await listener.close();
  const endings = await Promise.all(clients.map((client) => client.closed));
  assert.ok(endings.every((info) => info.code === undefined));
  assert.equal(listener.sessions.length, 0);
});

Deno.test("listenTcp({ reusePort }) lets listeners share a port and the kernel spread peers", async () => {
  const served = [0, 0];
  const { promise: allServed, resolve } = Promise.withResolvers<void>();
  const onSession = (which: number) => (): void => {
    served[which]!++;
    if (served[0]! + served[1]! === 24) resolve();
  };
  const first = listenTcp({ reusePort: true }, OPEN, onSession(0));
  const port = first.addr.port;
  assert.throws(() => listenTcp({ port }, OPEN), Deno.errors.AddrInUse);
  const second = listenTcp({ port, reusePort: true }, OPEN, onSession(1));
  const clients = await Promise.all(
    Array.from({ length: 24 }, () => connectTcp({ port }, OPEN)),
  );
  await Promise.all([allServed, ...clients.map((client) => client.ready)]);
  // Every peer was served by one of the two; with 24 peers, both got some
  // (all on one side has probability 2^-23 under the kernel's hash).
  assert.equal(first.sessions.length + second.sessions.length, 24);
  assert.ok(served[0]! > 0 && served[1]! > 0, `split ${served}`);
  await Promise.all([first.close(), second.close()]);
  await Promise.all(clients.map((client) => client.closed));
  assert.throws(() => listenTcp({ reusePort: "yes" as never }, OPEN), TypeError);
});

Deno.test("listenTcp() isolates hostile peers: each fails alone while honest ones complete", async () => {
  const listener = listenTcp({}, { ...OPEN, timeouts: { phase: 1_500, handshake: 3_000 } });
  const failures = failuresOf(listener);
  const port = listener.addr.port;
  const raw = async (): Promise<Deno.TcpConn> =>
    await Deno.connect({ hostname: "127.0.0.1", port });

  // Garbage: a fixed burst of random bytes, then nothing.
  const garbage = await raw();
  await garbage.write(junk(300, 1));
  // Stall: connects, never sends a byte.
  const stall = await raw();
  // Disconnect mid-handshake: reads the responder's first record, then hangs up.
  const quitter = await raw();
  const firstBytes = new Uint8Array(64);
  assert.ok((await quitter.read(firstBytes) ?? 0) > 0);
  quitter.close();
  // Flood: writes megabytes as fast as it can until the responder gives up.
  const flood = await raw();
  const flooding = (async (): Promise<number> => {
    const block = junk(65_536, 2);
    let sent = 0;
    try {
      for (let i = 0; i < 128; i++) {
        await flood.write(block);
        sent += block.length;
      }
    } catch {
      // The listener closed the connection: expected.
    }
    return sent;
  })();

  const honest = await Promise.all(
    Array.from({ length: 5 }, () => connectTcp({ port }, OPEN)),
  );
  const details = await Promise.all(honest.map((client) => client.ready));
  assert.equal(details.length, 5);

  await failuresReached(listener, failures, 4);
  const flooded = await flooding;
  assert.ok(flooded < 128 * 65_536, "the flood was cut off");
  const stageAndCode = new Map(
    failures.map((failure) => [failure.remoteAddress, `${failure.stage} ${failure.code}`]),
  );
  assert.equal(stageAndCode.get(addressOf(garbage)), `handshake ${ErrorCode.FRAME_TOO_LARGE}`);
  assert.equal(stageAndCode.get(addressOf(flood)), `handshake ${ErrorCode.FRAME_TOO_LARGE}`);
  assert.equal(stageAndCode.get(addressOf(stall)), `handshake ${ErrorCode.TIMEOUT}`);
  // The quitter's address is gone with its socket; its failure is the one left.
  const others = new Set([addressOf(garbage), addressOf(flood), addressOf(stall)]);
  const quit = failures.filter((failure) => !others.has(failure.remoteAddress));
  assert.deepEqual(quit.map((failure) => `${failure.stage} ${failure.code}`), [
    `handshake ${ErrorCode.TRANSPORT_CLOSED}`,
  ]);
  assert.equal(failures.length, 4);

  // Honest sessions were never disturbed.
  assert.equal(listener.sessions.length, 5);
  for (const conn of [garbage, stall, flood]) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  await listener.close();
  const endings = await Promise.all(honest.map((client) => client.closed));
  assert.ok(endings.every((info) => info.code === undefined));
});

Deno.test("listenTcp() refuses connections beyond maxHandshakes with ERR_RESOURCE_LIMIT", async () => {
  const listener = listenTcp({}, { ...OPEN, maxHandshakes: 2 });
  const failures = failuresOf(listener);
  const port = listener.addr.port;
  const stalled: Deno.TcpConn[] = [];
  for (let i = 0; i < 2; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // The responder speaks first: once it has, the connection is accepted.
    assert.ok((await conn.read(new Uint8Array(16))) !== null);
    stalled.push(conn);
  }
  assert.equal(listener.handshakes, 2);

  const refused = await Deno.connect({ hostname: "127.0.0.1", port });
  let end: number | null | string;
  try {
    end = await refused.read(new Uint8Array(16));
  } catch (error) {
    end = (error as Error).name;
  }
  assert.ok(end === null || end === "ConnectionReset", `refused connection ends, got ${end}`);
  refused.close();
  await failuresReached(listener, failures, 1);
  assert.deepEqual(
    failures.map((failure) => [failure.remoteAddress, failure.stage, failure.code]),
    [
      [addressOf(refused), "refused", ErrorCode.RESOURCE_LIMIT],
    ],
  );

  // A stalled peer leaves, an honest one gets its place.
  stalled.shift()!.close();
  await failuresReached(listener, failures, 2);
  assert.equal(failures[1]!.code, ErrorCode.TRANSPORT_CLOSED);
  const client = await connectTcp({ port }, OPEN);
  await client.ready;
  for (const conn of stalled) conn.close();
  await listener.close();
  await client.closed;
});

Deno.test("connectTcp() reports what goes wrong before and while dialling", async (t) => {
  await t.step("a port nobody listens on is ERR_TRANSPORT_CLOSED", async () => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    await assert.rejects(
      connectTcp({ port }, OPEN),
      (error) => error instanceof SessionError && error.code === ErrorCode.TRANSPORT_CLOSED,
    );
  });

  await t.step("wrong arguments throw before any socket opens", async () => {
    await assert.rejects(connectTcp({ port: 0 }, OPEN), RangeError);
    await assert.rejects(connectTcp({ port: 70_000 }, OPEN), RangeError);
    await assert.rejects(connectTcp({ port: 1 }), TypeError);
    await assert.rejects(connectTcp(null as unknown as { port: number }, OPEN), TypeError);
  });

  await t.step("an aborted signal is ERR_ABORTED", async () => {
    await assert.rejects(
      connectTcp({ port: 1 }, { ...OPEN, signal: AbortSignal.abort() }),
      (error) => error instanceof SessionError && error.code === ErrorCode.ABORTED,
    );
  });

  await t.step("the peer hanging up mid-handshake is ERR_TRANSPORT_CLOSED", async () => {
    const socket = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepting = socket.accept();
    const client = await connectTcp({ port: socket.addr.port }, OPEN);
    const conn = await accepting;
    conn.close();
    socket.close();
    await assert.rejects(
      client.ready,
      (error) => error instanceof HandshakeError && error.code === ErrorCode.TRANSPORT_CLOSED,
    );
    await client.closed;
  });
});

Deno.test("listenTcp() rejects invalid options and gives the port back", async () => {
  assert.throws(() => listenTcp({}, {}), TypeError, "accessManager");
  assert.throws(() => listenTcp({ port: -1 }, OPEN), RangeError);
  assert.throws(() => listenTcp({}, { ...OPEN, maxHandshakes: 0 }), RangeError);
  const reason = new Error("never");
  assert.throws(
    () => listenTcp({}, { ...OPEN, signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  // The port of a listener that failed its options is free again.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  assert.throws(() => listenTcp({ port }, { ...OPEN, maxSessions: 0 }), RangeError);
  const listener = listenTcp({ port }, OPEN);
  assert.equal(listener.addr.port, port);
  await listener.close();
});

Deno.test("listenTcp() with an AbortSignal stops accepting and aborts its sessions", async () => {
  const controller = new AbortController();
  const listener = listenTcp({}, { ...OPEN, signal: controller.signal });
  const client = await connectTcp({ port: listener.addr.port }, OPEN);
  const [[server]] = await Promise.all([accepted(listener, 1), client.ready]);
  controller.abort();
  assert.equal((await server!.closed).code, ErrorCode.ABORTED);
  assert.equal((await client.closed).code, ErrorCode.TRANSPORT_CLOSED);
  await listener.close();
  await assert.rejects(
    connectTcp({ port: listener.addr.port }, OPEN),
    (error) => error instanceof SessionError && error.code === ErrorCode.TRANSPORT_CLOSED,
  );
});

/** A scripted connection: each read takes the next scripted length (or `null` for EOF). */
function scriptedConn(reads: (number | null)[], writes: number[] = []): {
  conn: ConnLike;
  sizes: number[];
  written: number[][];
  closes: () => number;
} {
  const sizes: number[] = [];
  const written: number[][] = [];
  let closes = 0;
  let next = 0;
  const conn: ConnLike = {
    read(buffer: Uint8Array): Promise<number | null> {
      sizes.push(buffer.length);
      const length = reads.shift();
      if (length === undefined || length === null) return Promise.resolve(null);
      if (length > buffer.length) {
        throw new RangeError(`script reads ${length} into ${buffer.length}`);
      }
      for (let i = 0; i < length; i++) buffer[i] = next++ & 0xff;
      return Promise.resolve(length);
    },
    write(chunk: Uint8Array): Promise<number> {
      const take = Math.min(writes.shift() ?? chunk.length, chunk.length);
      written.push([...chunk.subarray(0, take)]);
      return Promise.resolve(take);
    },
    close(): void {
      closes++;
    },
  };
  return { conn, sizes, written, closes: () => closes };
}

Deno.test("connTransport() reads into buffers sized to the traffic, each owned by the session", async () => {
  const reads = [2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 65_536, 100, 2_048, 3_000, 9, null];
  const { conn, sizes } = scriptedConn([...reads]);
  const reader = connTransport(conn).readable.getReader();
  // Nothing is read before the session asks.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(sizes, []);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  // Doubles while reads fill the buffer (up to 64 KiB), then follows the last read.
  assert.deepEqual(sizes, [
    2_048,
    4_096,
    8_192,
    16_384,
    32_768,
    65_536,
    65_536,
    65_536,
    2_048,
    4_096,
    4_096,
    2_048,
  ]);
  assert.deepEqual(chunks.map((chunk) => chunk.length), reads.slice(0, -1));
  // Bytes arrive in order, and no two chunks share memory.
  const all = chunks.flatMap((chunk) => [...chunk]);
  assert.ok(all.every((byte, i) => byte === (i & 0xff)));
  assert.equal(new Set(chunks.map((chunk) => chunk.buffer)).size, chunks.length);
});

Deno.test("connTransport() writes every byte across partial writes and closes the connection once done", async () => {
  const { conn, written, closes } = scriptedConn([], [3, 1]);
  const writer = connTransport(conn).writable.getWriter();
  await writer.write(new Uint8Array([1, 2, 3, 4, 5, 6]));
  assert.deepEqual(written, [[1, 2, 3], [4], [5, 6]]);
  assert.equal(closes(), 0);
  await writer.close();
  assert.equal(closes(), 1);

  const aborted = scriptedConn([]);
  await connTransport(aborted.conn).writable.abort(new Error("stop"));
  assert.equal(aborted.closes(), 1);
  const cancelled = scriptedConn([]);
  await connTransport(cancelled.conn).readable.cancel();
  assert.equal(cancelled.closes(), 1);

  const stuck = scriptedConn([], [0]);
  await assert.rejects(
    connTransport(stuck.conn).writable.getWriter().write(new Uint8Array(4)),
    (error: SessionError) => error.code === ErrorCode.TRANSPORT_CLOSED,
  );
});

Deno.test("connTransport() over real sockets: a session on each side, the connection closed after", async () => {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addr;
  const [dialled, accepted] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port }),
    server.accept(),
  ]);
  const initiator = initiate(connTransport(dialled), { ...OPEN, extenders: [ECHO] });
  const responder = respond(connTransport(accepted), { ...OPEN, extenders: [ECHO] });
  await Promise.all([initiator.ready, responder.ready]);
  // Data larger than a record arrives in pieces, in order.
  let received = 0;
  const all = new Promise<void>((resolve) => {
    responder.on("message", ({ data }) => {
      assert.ok(data.every((byte) => byte === 7));
      received += data.length;
      if (received >= 100_000) resolve();
    });
  });
  await initiator.send(ECHO, new Uint8Array(100_000).fill(7));
  await all;
  assert.equal(received, 100_000);
  await initiator.close();
  assert.deepEqual(await responder.closed, { code: undefined, local: false });
  // Both connections were closed by their transports: their resources are gone.
  await assert.rejects(dialled.write(new Uint8Array(1)), Deno.errors.BadResource);
  await assert.rejects(accepted.write(new Uint8Array(1)), Deno.errors.BadResource);
  server.close();
});

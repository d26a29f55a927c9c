import assert from "node:assert/strict";
import {
  connectWebSocket,
  ErrorCode,
  listenWebSocket,
  respond,
  seededRandom,
  type Session,
  SessionError,
  type WebSocketListener,
  type WebSocketTransport,
  webSocketTransport,
} from "../mod.ts";
import { WEBSOCKET_ABORT_CLOSURE } from "../src/transport/websocket.ts";
import { failuresOf, failuresReached } from "./_listener_helpers.ts";
import { accessFor, identityFor, uuidOf } from "./_session_helpers.ts";

const OPEN = { requireAuthentication: false } as const;
const ECHO = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

function urlOf(listener: WebSocketListener, path = "/"): string {
  return `ws://127.0.0.1:${listener.addr.port}${path}`;
}

async function firstSession(listener: WebSocketListener): Promise<Session> {
  for await (const session of listener) return session;
  throw new Error("listener closed before a session was ready");
}

/**
 * A raw client WebSocket, open. `spoke` resolves with the server's first
 * message, which may arrive together with the upgrade (so it is watched from
 * the start, not from `open`).
 */
async function rawSocket(
  url: string,
): Promise<{ socket: WebSocket; closed: Promise<number>; spoke: Promise<unknown> }> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const closed = new Promise<number>((resolve) => {
    socket.addEventListener("close", (event) => resolve(event.code), { once: true });
  });
  const spoke = new Promise((resolve) => {
    socket.addEventListener("message", (event) => resolve(event.data), { once: true });
  });
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  return { socket, closed, spoke };
}

/** A Deno.serve server that hands each upgraded socket's transport to `use`. */
function rawServer(
  use: (transport: WebSocketTransport) => void,
  options: { maxReceiveBuffer?: number; maxSendBuffer?: number } = {},
): { server: Deno.HttpServer<Deno.NetAddr>; transports: WebSocketTransport[] } {
  const transports: WebSocketTransport[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen(): void {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    const transport = webSocketTransport(socket, options);
    transports.push(transport);
    use(transport);
    return response;
  });
  return { server, transports };
}

Deno.test("connectWebSocket() and listenWebSocket() authenticate, exchange data and update keys", async () => {
  const alice = await identityFor("Ed25519", 31);
  const bob = await identityFor("ML-DSA-44", 32);
  const access = accessFor(alice, bob);
  const listener = listenWebSocket({ path: "/qgate" }, {
    identity: bob,
    accessManager: access,
    extenders: [ECHO],
  });
  const client = await connectWebSocket(urlOf(listener, "/qgate"), {
    identity: alice,
    accessManager: access,
    extenders: [ECHO],
  });
  const [server, mine] = await Promise.all([firstSession(listener), client.ready]);
  assert.equal(mine.peerUuid, uuidOf(bob));
  assert.equal(server.details!.peerUuid, uuidOf(alice));
  assert.ok(mine.authenticated && server.details!.authenticated);

  let received = 0;
  const { promise: all, resolve } = Promise.withResolvers<void>();
  server.on("message", ({ data }) => {
    received += data.length;
    if (received === 300_000) resolve();
  });
  await client.send(ECHO, new Uint8Array(300_000).fill(7));
  await all;
  assert.deepEqual(await Promise.all([client.updateKeys(), server.updateKeys()]), [3, 3]);
  const after = new Promise<string>((done) => {
    server.on("message", ({ data }) => done(new TextDecoder().decode(data)));
  });
  await client.send(ECHO, new TextEncoder().encode("epoch 3"));
  assert.equal(await after, "epoch 3");

  await client.close();
  assert.deepEqual(await server.closed, { code: undefined, local: false });
  await listener.close();
});

Deno.test("listenWebSocket() sessions end cleanly when either side closes", async (t) => {
  await t.step("the server closes one session", async () => {
    const listener = listenWebSocket({}, OPEN);
    const client = await connectWebSocket(urlOf(listener), OPEN);
    const [server] = await Promise.all([firstSession(listener), client.ready]);
    await server.close();
    assert.deepEqual(await client.closed, { code: undefined, local: false });
    await listener.close();
  });

  await t.step("the listener closes every session", async () => {
    const listener = listenWebSocket({}, OPEN);
    const clients = await Promise.all([1, 2, 3].map(() => connectWebSocket(urlOf(listener), OPEN)));
    await Promise.all(clients.map((client) => client.ready));
    let ready = 0;
    for await (const _ of listener) if (++ready === 3) break;
    await listener.close();
    const endings = await Promise.all(clients.map((client) => client.closed));
    assert.ok(endings.every((info) => info.code === undefined && !info.local));
  });

  await t.step("an aborted listener ends clients with ERR_TRANSPORT_CLOSED", async () => {
    const controller = new AbortController();
    const listener = listenWebSocket({}, { ...OPEN, signal: controller.signal });
    const client = await connectWebSocket(urlOf(listener), OPEN);
    const [server] = await Promise.all([firstSession(listener), client.ready]);
    controller.abort();
    assert.equal((await server.closed).code, ErrorCode.ABORTED);
    assert.equal((await client.closed).code, ErrorCode.TRANSPORT_CLOSED);
    await listener.close();
  });
});

Deno.test("listenWebSocket() isolates hostile peers while honest ones complete", async () => {
  const listener = listenWebSocket({}, { ...OPEN, timeouts: { phase: 1_000, handshake: 2_000 } });
  const failures = failuresOf(listener);
  const url = urlOf(listener);

  const text = await rawSocket(url);
  text.socket.send("not binary");
  const garbage = await rawSocket(url);
  garbage.socket.send(seededRandom(new Uint8Array([1]))(300));
  const stall = await rawSocket(url);
  const quitter = await rawSocket(url);
  quitter.socket.close(1000);

  const honest = await Promise.all([1, 2, 3, 4].map(() => connectWebSocket(url, OPEN)));
  await Promise.all(honest.map((client) => client.ready));
  await failuresReached(listener, failures, 4);
  assert.deepEqual(
    failures.map((failure) => `${failure.stage} ${failure.code}`).toSorted(),
    [
      `handshake ${ErrorCode.FRAME_TOO_LARGE}`,
      `handshake ${ErrorCode.TIMEOUT}`,
      `handshake ${ErrorCode.TRANSPORT_CLOSED}`,
      `handshake ${ErrorCode.TRANSPORT_CLOSED}`,
    ],
  );
  // Each hostile socket was closed by the listener (or by itself).
  assert.equal(await text.closed, 1003);
  assert.equal(await garbage.closed, WEBSOCKET_ABORT_CLOSURE);
  assert.equal(await stall.closed, WEBSOCKET_ABORT_CLOSURE);
  assert.equal(await quitter.closed, 1000);
  assert.equal(listener.sessions.length, 4);
  await listener.close();
  const endings = await Promise.all(honest.map((client) => client.closed));
  assert.ok(endings.every((info) => info.code === undefined));
});

Deno.test("listenWebSocket() refuses upgrades beyond maxHandshakes with ERR_RESOURCE_LIMIT", async () => {
  const listener = listenWebSocket({}, { ...OPEN, maxHandshakes: 1 });
  const failures = failuresOf(listener);
  const stall = await rawSocket(urlOf(listener));
  // Once the responder has spoken, the first connection holds the only slot.
  await stall.spoke;
  const refused = await rawSocket(urlOf(listener));
  assert.equal(await refused.closed, WEBSOCKET_ABORT_CLOSURE);
  assert.deepEqual(failures.map((failure) => [failure.stage, failure.code]), [
    ["refused", ErrorCode.RESOURCE_LIMIT],
  ]);
  stall.socket.close(1000);
  await stall.closed;
  await failuresReached(listener, failures, 2);
  const client = await connectWebSocket(urlOf(listener), OPEN);
  await client.ready;
  await listener.close();
  await client.closed;
});

Deno.test("listenWebSocket() answers plain HTTP, unknown paths and broken upgrades without upgrading", async () => {
  const listener = listenWebSocket({ path: "/qgate" }, OPEN);
  const plain = await fetch(`http://127.0.0.1:${listener.addr.port}/qgate`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  await plain.body?.cancel();
  const elsewhere = await fetch(`http://127.0.0.1:${listener.addr.port}/other`);
  assert.equal(elsewhere.status, 404);
  await elsewhere.body?.cancel();
  const broken = await fetch(`http://127.0.0.1:${listener.addr.port}/qgate`, {
    headers: { upgrade: "websocket", connection: "upgrade" },
  });
  assert.equal(broken.status, 400);
  await broken.body?.cancel();
  assert.equal(listener.handshakes, 0);
  await listener.close();
});

Deno.test("connectWebSocket() reports what goes wrong before and while dialling", async (t) => {
  await t.step("nobody listening is ERR_TRANSPORT_CLOSED", async () => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    await assert.rejects(
      connectWebSocket(`ws://127.0.0.1:${port}/`, OPEN),
      (error) => error instanceof SessionError && error.code === ErrorCode.TRANSPORT_CLOSED,
    );
  });

  await t.step("wrong options throw before a socket opens", async () => {
    await assert.rejects(connectWebSocket("ws://127.0.0.1:1/"), TypeError);
    await assert.rejects(
      connectWebSocket("ws://127.0.0.1:1/", { ...OPEN, transport: { maxReceiveBuffer: 0 } }),
      RangeError,
    );
    await assert.rejects(
      connectWebSocket("not a url", OPEN),
      (error) => error instanceof DOMException && error.name === "SyntaxError",
    );
  });

  await t.step("an aborted signal is ERR_ABORTED", async () => {
    const reason = new Error("before");
    await assert.rejects(
      connectWebSocket("ws://127.0.0.1:1/", { ...OPEN, signal: AbortSignal.abort(reason) }),
      (error) =>
        error instanceof SessionError && error.code === ErrorCode.ABORTED && error.cause === reason,
    );
    const listener = listenWebSocket({}, OPEN);
    const controller = new AbortController();
    const dialling = connectWebSocket(urlOf(listener), { ...OPEN, signal: controller.signal });
    controller.abort();
    await assert.rejects(
      dialling,
      (error) => error instanceof SessionError && error.code === ErrorCode.ABORTED,
    );
    await listener.close();
  });
});

Deno.test("webSocketTransport() carries bytes both ways and closes cleanly", async () => {
  const { server, transports } = rawServer((transport) => {
    // Echo every chunk back, then close when the client does.
    void transport.readable.pipeTo(transport.writable).catch(() => {});
  }, { maxSendBuffer: 1 });
  const client = webSocketTransport(new WebSocket(`ws://127.0.0.1:${server.addr.port}/`), {
    maxSendBuffer: 1,
  });
  const writer = client.writable.getWriter();
  const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array(100_000).fill(9), new Uint8Array([4])];
  // Writing before the socket is open waits for it.
  for (const chunk of chunks) await writer.write(chunk);
  const reader = client.readable.getReader();
  let total = 0;
  while (total < 100_004) {
    const { value, done } = await reader.read();
    assert.equal(done, false);
    total += value!.length;
  }
  assert.equal(total, 100_004);
  await writer.close();
  assert.equal((await reader.read()).done, true);
  assert.deepEqual(await client.closed, { code: 1000, reason: "", wasClean: true });
  await transports[0]!.closed;
  await server.shutdown();
});

Deno.test("webSocketTransport() errors its readable on text, a full buffer, or an abnormal close", async (t) => {
  await t.step("more unread bytes than maxReceiveBuffer is ERR_RESOURCE_LIMIT", async () => {
    const { server, transports } = rawServer(() => {}, { maxReceiveBuffer: 1_000 });
    const peer = await rawSocket(`ws://127.0.0.1:${server.addr.port}/`);
    peer.socket.send(new Uint8Array(600));
    peer.socket.send(new Uint8Array(600));
    assert.equal(await peer.closed, 1009);
    const reader = transports[0]!.readable.getReader();
    await assert.rejects(
      async () => {
        for (;;) if ((await reader.read()).done) return;
      },
      (error: { code?: string }) => error.code === ErrorCode.RESOURCE_LIMIT,
    );
    await transports[0]!.closed;
    await server.shutdown();
  });

  await t.step("a text message is ERR_TRANSPORT_CLOSED", async () => {
    const { server, transports } = rawServer(() => {});
    const peer = await rawSocket(`ws://127.0.0.1:${server.addr.port}/`);
    peer.socket.send("hello");
    assert.equal(await peer.closed, 1003);
    await assert.rejects(
      transports[0]!.readable.getReader().read(),
      (error: { code?: string }) => error.code === ErrorCode.TRANSPORT_CLOSED,
    );
    await server.shutdown();
  });

  await t.step("an aborted session closes with 4000 and its code", async () => {
    const sessions: Session[] = [];
    const { server, transports } = rawServer((transport) => {
      sessions.push(respond(transport, { ...OPEN, timeouts: { phase: 50, handshake: 100 } }));
    });
    const peer = await rawSocket(`ws://127.0.0.1:${server.addr.port}/`);
    const reason = new Promise<string>((resolve) => {
      peer.socket.addEventListener("close", (event) => resolve(event.reason), { once: true });
    });
    assert.equal(await peer.closed, WEBSOCKET_ABORT_CLOSURE);
    assert.equal(await reason, ErrorCode.TIMEOUT);
    assert.equal((await sessions[0]!.closed).code, ErrorCode.TIMEOUT);
    assert.equal((await transports[0]!.closed).code, WEBSOCKET_ABORT_CLOSURE);
    await server.shutdown();
  });
});

Deno.test("webSocketTransport() of an already closed socket ends at once", async () => {
  const { server, transports } = rawServer(() => {});
  const peer = await rawSocket(`ws://127.0.0.1:${server.addr.port}/`);
  peer.socket.close(1000);
  await peer.closed;
  const late = webSocketTransport(peer.socket);
  assert.equal((await late.closed).code, 1006);
  await assert.rejects(
    late.readable.getReader().read(),
    (error: { code?: string }) => error.code === ErrorCode.TRANSPORT_CLOSED,
  );
  await assert.rejects(late.writable.getWriter().write(new Uint8Array(1)));
  await transports[0]!.closed;
  await server.shutdown();
});

Deno.test("webSocketTransport() rejects invalid limits", () => {
  const socket = new EventTarget() as unknown as WebSocket;
  assert.throws(() => webSocketTransport(socket, { maxReceiveBuffer: 0 }), RangeError);
  assert.throws(() => webSocketTransport(socket, { maxSendBuffer: 0.5 }), RangeError);
  assert.throws(
    () => listenWebSocket({}, { ...OPEN, transport: { maxSendBuffer: -1 } }),
    RangeError,
  );
});

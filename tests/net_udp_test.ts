import assert from "node:assert/strict";
import { connectUdp, listenUdp, type Session } from "../mod.ts";
import { accessFor, identityFor } from "./_session_helpers.ts";

const ECHO = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

Deno.test("connectUdp() and listenUdp() run authenticated handshakes, data and key updates on 127.0.0.1", async () => {
  const server = await identityFor("Ed25519", 31);
  const clients = await Promise.all([32, 33, 34].map((seed) => identityFor("Ed25519", seed)));
  const access = accessFor(server, ...clients);
  const served: Session[] = [];
  const listener = listenUdp(
    {},
    { identity: server, accessManager: access, extenders: [ECHO] },
    (session) => {
      served.push(session);
      session.on(
        "message",
        ({ extender, data }) => void session.send(extender, data).catch(() => {}),
      );
    },
  );
  const sessions = await Promise.all(
    clients.map((identity) =>
      connectUdp({ port: listener.addr.port }, {
        identity,
        accessManager: access,
        extenders: [ECHO],
      })
    ),
  );
  const details = await Promise.all(sessions.map((session) => session.ready));
  for (const detail of details) {
    assert.ok(detail.authenticated);
    assert.equal(detail.peerExtenders[0], ECHO);
  }
  const client = sessions[0]!;
  const echoed = new Promise<string>((resolve) =>
    client.on("message", ({ data }) => resolve(new TextDecoder().decode(data)))
  );
  await client.send(ECHO, new TextEncoder().encode("over udp"));
  assert.equal(await echoed, "over udp");
  assert.equal(await client.updateKeys(), 3);
  assert.equal(listener.peers, 3);
  await Promise.all(sessions.map((session) => session.close()));
  await listener.close();
  assert.equal(served.length, 3);
});

Deno.test("listenUdp() keeps serving when a sender sends garbage", async () => {
  const options = { requireAuthentication: false };
  const listener = listenUdp({}, options);
  const noisy = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  for (let i = 0; i < 20; i++) {
    await noisy.send(new Uint8Array(64).fill(i), listener.addr);
  }
  const client = await connectUdp({ port: listener.addr.port }, options);
  assert.equal((await client.ready).role, "initiator");
  await client.close();
  noisy.close();
  await listener.close();
});

Deno.test("connectUdp() returns a promise, like connectTcp() and connectWebSocket()", async () => {
  const options = { requireAuthentication: false };
  const listener = listenUdp({}, options);
  const pending = connectUdp({ port: listener.addr.port }, options);
  assert.ok(pending instanceof Promise);
  const client = await pending;
  assert.equal((await client.ready).role, "initiator");
  await client.close();
  await listener.close();
});

Deno.test("connectUdp() rejects a bad port or option before opening a socket", async () => {
  // Rejections, not throws: the call itself always returns a promise.
  const badPort = connectUdp({ port: 0 }, { requireAuthentication: false });
  const badOptions = connectUdp({ port: 1 });
  await assert.rejects(badPort, RangeError);
  await assert.rejects(badOptions, TypeError);
});

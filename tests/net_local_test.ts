import assert from "node:assert/strict";
import {
  createMemoryPair,
  ErrorCode,
  initiate,
  Local,
  respond,
  type Session,
  type SessionOptions,
} from "../mod.ts";

const CHAT = "0b8c3a64-5f1e-4c2a-9d7b-1e2f3a4b5c6d";
const FILES = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d";
const OPEN = { requireAuthentication: false } as const;

/** Records what one extender hears, as readable strings. */
function journal(): {
  log: string[];
  callbacks: {
    onPeerReady(peer: Session): void;
    onPeerGone(peer: Session): void;
    onMessage(peer: Session, data: Uint8Array): void;
  };
} {
  const log: string[] = [];
  return {
    log,
    callbacks: {
      onPeerReady: (peer) => log.push(`ready ${peer.role}`),
      onPeerGone: (peer) => log.push(`gone ${peer.role}`),
      onMessage: (peer, data) => log.push(`message ${peer.role} ${new TextDecoder().decode(data)}`),
    },
  };
}

/** Two locals, one session pair between them, attached on both sides. */
async function connect(
  alice: Local,
  bob: Local,
  options: SessionOptions = OPEN,
): Promise<{ client: Session; server: Session }> {
  const [a, b] = createMemoryPair();
  const client = initiate(a, alice.sessionOptions(options));
  const server = respond(b, bob.sessionOptions(options));
  alice.attach(client);
  bob.attach(server);
  await Promise.all([client.ready, server.ready]);
  await Promise.all([alice.settled(), bob.settled()]);
  return { client, server };
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** Waits until `log` has `count` entries (events arrive asynchronously). */
async function entries(log: string[], count: number): Promise<void> {
  for (let i = 0; i < 1_000 && log.length < count; i++) {
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    if (log.length < count) await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(log.length >= count, `expected ${count} entries, got ${JSON.stringify(log)}`);
}

Deno.test("Local.attach() tells extenders about peers that run them too", async () => {
  const alice = new Local();
  const bob = new Local();
  const aliceChat = journal();
  const bobChat = journal();
  const bobFiles = journal();
  const chat = alice.register(CHAT, aliceChat.callbacks);
  bob.register(CHAT, bobChat.callbacks);
  bob.register(FILES, bobFiles.callbacks);
  assert.deepEqual(bob.extenders, [CHAT, FILES].toSorted());

  const { client, server } = await connect(alice, bob);
  assert.deepEqual(aliceChat.log, ["ready initiator"]);
  assert.deepEqual(bobChat.log, ["ready responder"]);
  // Alice does not run FILES: Bob's FILES extender has no peer.
  assert.deepEqual(bobFiles.log, []);
  assert.deepEqual(chat.peers, [client]);
  assert.deepEqual(bob.get(FILES)!.peers, []);

  await chat.send(client, text("hello"));
  await bob.get(CHAT)!.send(server, text("hi"));
  await entries(bobChat.log, 2);
  await entries(aliceChat.log, 2);
  await assert.rejects(
    bob.get(FILES)!.send(server, text("nobody")),
    (error: { code?: string }) => error.code === ErrorCode.UNKNOWN_EXTENDER,
  );

  await client.close();
  await server.closed;
  assert.deepEqual(aliceChat.log, ["ready initiator", "message initiator hi", "gone initiator"]);
  assert.deepEqual(bobChat.log, ["ready responder", "message responder hello", "gone responder"]);
  assert.deepEqual(chat.peers, []);
  assert.deepEqual(alice.sessions, []);
});

Deno.test("Local.register() and unregister() at run time reach both sides", async () => {
  const alice = new Local();
  const bob = new Local();
  const aliceFiles = journal();
  const bobFiles = journal();
  alice.register(FILES, aliceFiles.callbacks);
  const { client, server } = await connect(alice, bob);
  assert.deepEqual(aliceFiles.log, []);

  // Bob adds FILES: Alice's extender hears of Bob, Bob's of Alice.
  const files = bob.register(FILES, bobFiles.callbacks);
  await bob.settled();
  await entries(aliceFiles.log, 1);
  assert.deepEqual(bobFiles.log, ["ready responder"]);
  assert.deepEqual(aliceFiles.log, ["ready initiator"]);
  assert.deepEqual(server.extenders, [FILES]);
  await files.send(server, text("file"));
  await entries(aliceFiles.log, 2);

  // Alice removes FILES: both hear that the peer is gone.
  assert.equal(await alice.unregister(FILES), true);
  assert.equal(await alice.unregister(FILES), false);
  await entries(bobFiles.log, 2);
  assert.deepEqual(aliceFiles.log, ["ready initiator", "message initiator file", "gone initiator"]);
  assert.deepEqual(bobFiles.log, ["ready responder", "gone responder"]);
  assert.deepEqual(client.extenders, []);
  assert.deepEqual(files.peers, []);

  await client.close();
  await server.closed;
  // Already gone: no second notice.
  assert.deepEqual(bobFiles.log, ["ready responder", "gone responder"]);
});

Deno.test("Local.attach() announces extenders registered while the handshake ran", async () => {
  const alice = new Local();
  const bob = new Local();
  const aliceChat = journal();
  const bobChat = journal();
  alice.register(CHAT, aliceChat.callbacks);
  const [a, b] = createMemoryPair();
  const client = initiate(a, alice.sessionOptions(OPEN));
  const server = respond(b, bob.sessionOptions(OPEN));
  alice.attach(client);
  bob.attach(server);
  // Registered after the session started: not in its handshake.
  bob.register(CHAT, bobChat.callbacks);
  await Promise.all([client.ready, server.ready]);
  await bob.settled();
  await entries(aliceChat.log, 1);
  assert.deepEqual(server.extenders, [CHAT]);
  assert.deepEqual(aliceChat.log, ["ready initiator"]);
  assert.deepEqual(bobChat.log, ["ready responder"]);
  await client.close();
  await server.closed;
});

Deno.test("Local serves one extender to many peers", async () => {
  const hub = new Local();
  const hubChat = journal();
  const chat = hub.register(CHAT, hubChat.callbacks);
  const clients: Session[] = [];
  const heard: string[] = [];
  for (let i = 0; i < 3; i++) {
    const peer = new Local();
    peer.register(CHAT, {
      onMessage: (_session, data) => heard.push(`${i}:${new TextDecoder().decode(data)}`),
    });
    const { client } = await connect(peer, hub);
    clients.push(client);
  }
  assert.equal(chat.peers.length, 3);
  assert.equal(hub.sessions.length, 3);
  assert.equal(await chat.broadcast(text("all")), 3);
  await Promise.all(clients.map((client) => client.close()));
  assert.deepEqual(heard.toSorted(), ["0:all", "1:all", "2:all"]);
  await entries(hubChat.log, 6);
  assert.equal(hubChat.log.filter((line) => line === "gone responder").length, 3);
  assert.deepEqual(chat.peers, []);
});

Deno.test("Local.register() validates UUIDs and replaces callbacks for the same UUID", async () => {
  const local = new Local();
  assert.throws(() => local.register("not-a-uuid"), TypeError);
  assert.throws(() => local.get("nope"), TypeError);
  const first = journal();
  const second = journal();
  local.register(CHAT.toUpperCase(), first.callbacks);
  assert.deepEqual(local.extenders, [CHAT]);
  const other = new Local();
  other.register(CHAT);
  const { client, server } = await connect(local, other);
  assert.deepEqual(first.log, ["ready initiator"]);
  const replaced = local.register(CHAT, second.callbacks);
  assert.deepEqual(first.log, ["ready initiator", "gone initiator"]);
  assert.deepEqual(second.log, ["ready initiator"]);
  assert.deepEqual(replaced.peers, [client]);
  assert.equal(local.get(CHAT), replaced);
  await client.close();
  await server.closed;
});

Deno.test("Local.attach() returns a detach function and ignores failed handshakes", async () => {
  const local = new Local();
  const chat = journal();
  local.register(CHAT, chat.callbacks);
  const [a, b] = createMemoryPair();
  const client = initiate(a, local.sessionOptions(OPEN));
  const detach = local.attach(client);
  assert.equal(local.attach(client), detach, "attaching twice is one attachment");
  assert.deepEqual(local.sessions, [client]);
  await b.writable.close();
  await client.closed;
  await Promise.allSettled([client.ready]);
  assert.deepEqual(local.sessions, []);
  assert.deepEqual(chat.log, []);
  detach();
});

Deno.test("Extender.messages() streams one peer's messages until it goes", async (t) => {
  await t.step("ends when the peer removes the extender", async () => {
    const alice = new Local();
    const bob = new Local();
    alice.register(FILES);
    const files = bob.register(FILES);
    const { client, server } = await connect(alice, bob);
    const stream = files.messages(server);
    await client.send(FILES, text("part 1"));
    await client.send(FILES, text("part 2"));
    await alice.unregister(FILES);
    const parts = await Array.fromAsync(stream, (data) => new TextDecoder().decode(data));
    assert.deepEqual(parts, ["part 1", "part 2"]);
    assert.throws(
      () => files.messages(server),
      (error: { code?: string }) => error.code === ErrorCode.UNKNOWN_EXTENDER,
    );
    await client.close();
    await server.closed;
  });

  await t.step("errors with ERR_RESOURCE_LIMIT when nobody reads", async () => {
    const alice = new Local();
    const bob = new Local();
    alice.register(FILES);
    const { promise: bothArrived, resolve } = Promise.withResolvers<void>();
    let count = 0;
    const files = bob.register(FILES, { onMessage: () => ++count === 2 && resolve() });
    const { client, server } = await connect(alice, bob);
    assert.throws(() => files.messages(server, { maxQueuedBytes: 0 }), RangeError);
    const stream = files.messages(server, { maxQueuedBytes: 10 });
    await client.send(FILES, text("123456"));
    await client.send(FILES, text("7890ab"));
    await bothArrived;
    await assert.rejects(
      stream.getReader().read(),
      (error: { code?: string }) => error.code === ErrorCode.RESOURCE_LIMIT,
    );
    await client.close();
    await server.closed;
  });
});

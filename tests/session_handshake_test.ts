import assert from "node:assert/strict";
import { AEADS, HASHES, KEY_EXCHANGES, SIGNATURES } from "../src/crypto/mod.ts";
import {
  createMemoryPair,
  ErrorCode,
  HandshakeError,
  initiate,
  type PeerDetails,
  respond,
  seededRandom,
  type Transport,
} from "../mod.ts";
import type { TraceEvent } from "../src/viz/mod.ts";
import {
  accessFor,
  closePair,
  identityFor,
  outcome,
  startPair,
  uuidOf,
} from "./_session_helpers.ts";

const CLASSICAL = KEY_EXCHANGES.filter((entry) => !entry.name.startsWith("ML-KEM"));
const POST_QUANTUM = KEY_EXCHANGES.filter((entry) => entry.name.startsWith("ML-KEM"));

function isDetails(value: PeerDetails | string): value is PeerDetails {
  return typeof value === "object";
}

Deno.test("initiate() and respond() reach ready with identical keys for every algorithm combination", async () => {
  const identities = new Map(
    await Promise.all(
      SIGNATURES.map(async ({ name }) =>
        [name, [await identityFor(name, 1), await identityFor(name, 2)]] as const
      ),
    ),
  );
  let combinations = 0;
  for (const primary of CLASSICAL) {
    for (const secondary of POST_QUANTUM) {
      for (const aead of AEADS) {
        for (const hash of HASHES) {
          for (const signature of SIGNATURES) {
            const [mine, theirs] = identities.get(signature.name)!;
            const access = accessFor(mine, theirs);
            const algorithms = {
              primaryKeyExchanges: [primary.name],
              secondaryKeyExchanges: [secondary.name],
              aeads: [aead.name],
              hashes: [hash.name],
              signatures: [signature.name],
            };
            const pair = startPair(
              { identity: mine, accessManager: access, algorithms },
              { identity: theirs, accessManager: access, algorithms },
            );
            const result = await outcome(pair);
            const label =
              `${primary.name}/${secondary.name}/${aead.name}/${hash.name}/${signature.name}`;
            assert.ok(isDetails(result.initiator), `${label}: initiator ${result.initiator}`);
            assert.ok(isDetails(result.responder), `${label}: responder ${result.responder}`);
            assert.deepEqual(result.initiator.algorithms, {
              primaryKeyExchange: primary.name,
              secondaryKeyExchange: secondary.name,
              aead: aead.name,
              hash: hash.name,
            }, label);
            assert.deepEqual(result.initiator.algorithms, result.responder.algorithms, label);
            assert.equal(result.initiator.peerUuid, uuidOf(theirs), label);
            assert.equal(result.responder.peerUuid, uuidOf(mine), label);
            assert.ok(result.initiator.authenticated && result.responder.authenticated, label);
            const context = new TextEncoder().encode(label);
            assert.deepEqual(
              pair.initiator.exportKeyingMaterial("combination", context, 32),
              pair.responder.exportKeyingMaterial("combination", context, 32),
              label,
            );
            await closePair(pair);
            combinations++;
          }
        }
      }
    }
  }
  assert.equal(
    combinations,
    CLASSICAL.length * POST_QUANTUM.length * AEADS.length * HASHES.length * SIGNATURES.length,
  );
});

Deno.test("initiate() over a DH or KEM in either slot reaches ready", async () => {
  const pair = startPair(
    {
      requireAuthentication: false,
      algorithms: {
        primaryKeyExchanges: ["ML-KEM-512"],
        secondaryKeyExchanges: ["X448"],
        allowClassicalSecondary: true,
      },
    },
    {
      requireAuthentication: false,
      algorithms: {
        primaryKeyExchanges: ["ML-KEM-512"],
        secondaryKeyExchanges: ["X448"],
        allowClassicalSecondary: true,
      },
    },
  );
  const { initiator } = await outcome(pair);
  assert.ok(isDetails(initiator));
  assert.equal(initiator.algorithms.primaryKeyExchange, "ML-KEM-512");
  assert.equal(initiator.algorithms.secondaryKeyExchange, "X448");
  await closePair(pair);
});

Deno.test("initiate() authenticates one side or none as each side requires", async (t) => {
  const alice = await identityFor("Ed25519", 11);
  const bob = await identityFor("Ed25519", 12);

  await t.step("neither side authenticates", async () => {
    const pair = startPair({ requireAuthentication: false }, { requireAuthentication: false });
    const result = await outcome(pair);
    assert.ok(isDetails(result.initiator) && isDetails(result.responder));
    assert.equal(result.initiator.authenticated, false);
    assert.equal(result.responder.peerUuid, undefined);
    await closePair(pair);
  });

  await t.step("only the responder authenticates, to an initiator that requires it", async () => {
    const pair = startPair(
      { accessManager: accessFor(bob) },
      { identity: bob, requireAuthentication: false },
    );
    const result = await outcome(pair);
    assert.ok(isDetails(result.initiator) && isDetails(result.responder));
    assert.equal(result.initiator.authenticated, true);
    assert.equal(result.initiator.peerUuid, uuidOf(bob));
    assert.equal(result.responder.authenticated, false);
    assert.equal(result.responder.localAuthenticated, true);
    await closePair(pair);
  });

  await t.step(
    "a verified but unknown peer is accepted, unauthenticated, when not required",
    async () => {
      const pair = startPair(
        { identity: alice, requireAuthentication: false },
        { identity: bob, requireAuthentication: false },
      );
      const result = await outcome(pair);
      assert.ok(isDetails(result.responder));
      assert.equal(result.responder.peerUuid, uuidOf(alice));
      assert.equal(result.responder.authenticated, false);
      await closePair(pair);
    },
  );

  await t.step(
    "an anonymous initiator fails against a responder that requires authentication",
    async () => {
      const pair = startPair(
        { requireAuthentication: false },
        { identity: bob, accessManager: accessFor(alice) },
      );
      const result = await outcome(pair);
      // The initiator sees the requirement in the meta exchange and gives up at once.
      assert.equal(result.initiator, ErrorCode.AUTH_REQUIRED);
      assert.equal(result.responder, ErrorCode.TRANSPORT_CLOSED);
    },
  );

  await t.step("an unknown initiator is refused with ERR_PEER_NOT_ALLOWED", async () => {
    const mallory = await identityFor("Ed25519", 13);
    const pair = startPair(
      { identity: mallory, requireAuthentication: false },
      { identity: bob, accessManager: accessFor(alice) },
    );
    const result = await outcome(pair);
    assert.equal(result.responder, ErrorCode.PEER_NOT_ALLOWED);
    assert.equal(result.initiator, ErrorCode.TRANSPORT_CLOSED);
  });

  await t.step(
    "a peer the access manager disallows is refused even when not required",
    async () => {
      const access = accessFor(alice);
      access.setAllowed(uuidOf(alice), false);
      const pair = startPair(
        { identity: alice, requireAuthentication: false },
        { identity: bob, accessManager: access, requireAuthentication: false },
      );
      const result = await outcome(pair);
      assert.equal(result.responder, ErrorCode.PEER_NOT_ALLOWED);
    },
  );
});

Deno.test("initiate() with a Global Shared Secret", async (t) => {
  const secret = new Uint8Array(32).fill(9);
  await t.step("reaches ready when both hold the same secret", async () => {
    const options = { requireAuthentication: false, globalSharedSecret: secret };
    const pair = startPair(options, options);
    const result = await outcome(pair);
    assert.ok(isDetails(result.initiator));
    assert.equal(result.initiator.globalSharedSecret, true);
    await closePair(pair);
  });
  await t.step("fails on the first record with another secret", async () => {
    const pair = startPair(
      { requireAuthentication: false, globalSharedSecret: new Uint8Array(32).fill(8) },
      { requireAuthentication: false, globalSharedSecret: secret },
    );
    const result = await outcome(pair);
    assert.equal(result.initiator, ErrorCode.DECRYPT_FAILED);
    assert.equal(result.responder, ErrorCode.TRANSPORT_CLOSED);
  });
  await t.step("fails when only one side has a secret", async () => {
    const pair = startPair(
      { requireAuthentication: false },
      { requireAuthentication: false, globalSharedSecret: secret },
    );
    const result = await outcome(pair);
    assert.equal(result.initiator, ErrorCode.DECRYPT_FAILED);
  });
});

Deno.test("initiate() rejects invalid options before a byte is sent", () => {
  const [a] = createMemoryPair();
  assert.throws(() => initiate(a), TypeError, "accessManager");
  assert.throws(
    () => initiate(a, { requireAuthentication: false, globalSharedSecret: new Uint8Array(8) }),
    RangeError,
  );
  assert.throws(
    () =>
      initiate(a, {
        requireAuthentication: false,
        algorithms: { aeads: ["ROT13" as "AES-256-GCM"] },
      }),
    TypeError,
  );
  assert.throws(
    () => initiate(a, { requireAuthentication: false, algorithms: { hashes: [] } }),
    RangeError,
  );
  assert.throws(
    () => initiate(a, { requireAuthentication: false, extenders: ["not-a-uuid"] }),
    TypeError,
  );
});

Deno.test("respond() fails with ERR_TIMEOUT when the initiator never answers", async () => {
  const [a, b] = createMemoryPair();
  const session = respond(b, {
    requireAuthentication: false,
    timeouts: { phase: 50, handshake: 1_000 },
    random: seededRandom(new Uint8Array([3])),
  });
  // Drain what the responder writes, never answer.
  const drained = Array.fromAsync(a.readable).catch((error) => error);
  await assert.rejects(
    session.ready,
    (error) => error instanceof HandshakeError && error.code === ErrorCode.TIMEOUT,
  );
  const closed = await session.closed;
  assert.equal(closed.code, ErrorCode.TIMEOUT);
  // The responder aborted its side and cancelled ours: the pipe is gone both ways.
  await assert.rejects(a.writable.getWriter().write(new Uint8Array(1)));
  const ended = await drained;
  assert.ok(ended instanceof Error && (ended as { code?: string }).code === ErrorCode.TIMEOUT);
});

Deno.test("initiate() fails with ERR_TRANSPORT_CLOSED when the peer disconnects mid-handshake", async () => {
  const [a, b] = createMemoryPair();
  const session = initiate(a, {
    requireAuthentication: false,
    random: seededRandom(new Uint8Array([4])),
  });
  await b.writable.close();
  await assert.rejects(
    session.ready,
    (error) => error instanceof HandshakeError && error.code === ErrorCode.TRANSPORT_CLOSED,
  );
  assert.equal((await session.closed).code, ErrorCode.TRANSPORT_CLOSED);
  // The initiator aborted its writable: our readable reports the reason.
  await assert.rejects(
    b.readable.getReader().read(),
    (error: { code?: string }) => error.code === ErrorCode.TRANSPORT_CLOSED,
  );
});

Deno.test("Session.send() delivers extender data both ways after ready", async () => {
  const echo = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";
  const pair = startPair(
    { requireAuthentication: false, extenders: [echo] },
    { requireAuthentication: false, extenders: [echo] },
  );
  const received: string[] = [];
  pair.responder.on("message", ({ extender, data }) => {
    received.push(`${extender}:${new TextDecoder().decode(data)}`);
  });
  const [details] = await Promise.all([pair.initiator.ready, pair.responder.ready]);
  assert.deepEqual(details.peerExtenders, [echo]);
  await pair.initiator.send(echo, new TextEncoder().encode("hello"));
  const big = new Uint8Array(200_000).fill(65);
  await pair.initiator.send(echo, big);
  await closePair(pair);
  assert.equal(received[0], `${echo}:hello`);
  // One send is one message, however many records it took.
  assert.equal(received.length, 2);
  assert.equal(received[1], `${echo}:${"A".repeat(200_000)}`);
  await assert.rejects(
    pair.initiator.send(echo, new Uint8Array(1)),
    (error: { code?: string }) => error.code === ErrorCode.SESSION_CLOSED,
  );
});

Deno.test("Session.send() refuses an extender the peer does not run", async () => {
  const pair = startPair({ requireAuthentication: false }, { requireAuthentication: false });
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  await assert.rejects(
    pair.initiator.send("5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10", new Uint8Array(1)),
    (error: { code?: string }) => error.code === ErrorCode.UNKNOWN_EXTENDER,
  );
  await closePair(pair);
});

Deno.test("each side's salt leaves with its first record, in one write per record", async () => {
  const [a, b] = createMemoryPair();
  /** Wraps a transport's writable so every chunk written through it is counted. */
  const spied = (transport: Transport): { transport: Transport; chunks: number[] } => {
    const chunks: number[] = [];
    const writer = transport.writable.getWriter();
    const writable = new WritableStream<Uint8Array>({
      write(chunk): Promise<void> {
        chunks.push(chunk.length);
        return writer.write(chunk);
      },
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    });
    return { transport: { readable: transport.readable, writable }, chunks };
  };
  const initiatorSide = spied(a);
  const responderSide = spied(b);
  const frames = { initiator: [] as number[], responder: [] as number[] };
  const onTrace = (event: TraceEvent): void => {
    if (event.type === "frame" && event.direction === "sent") frames[event.role].push(event.size);
  };
  const open = { requireAuthentication: false, onTrace };
  const initiator = initiate(initiatorSide.transport, open);
  const responder = respond(responderSide.transport, open);
  await Promise.all([initiator.ready, responder.ready]);
  await initiator.close();
  await responder.closed;
  for (
    const [side, { chunks }] of [["initiator", initiatorSide], [
      "responder",
      responderSide,
    ]] as const
  ) {
    const sent = frames[side];
    assert.ok(sent.length >= 5, side);
    // One write per record; the first carries the 16-byte salt in front of the record.
    assert.deepEqual(chunks, [16 + sent[0]!, ...sent.slice(1)], side);
  }
  assert.equal(initiator.bytesSent, initiatorSide.chunks.reduce((sum, n) => sum + n, 0));
  assert.equal(responder.bytesSent, responderSide.chunks.reduce((sum, n) => sum + n, 0));
});

Deno.test("initiate() refuses a classical exchange in the secondary slot unless allowed", async (t) => {
  for (const secondary of ["X25519", "P-256"] as const) {
    await t.step(secondary, () => {
      assert.throws(
        () =>
          initiate(createMemoryPair()[0], {
            requireAuthentication: false,
            algorithms: { secondaryKeyExchanges: ["ML-KEM-768", secondary] },
          }),
        TypeError,
      );
    });
  }
});

Deno.test("PeerDetails.postQuantum tells whether the session's keys depend on a post-quantum secret", async (t) => {
  const cases = [
    { primary: "X25519", secondary: "ML-KEM-768", postQuantum: true },
    { primary: "X25519", secondary: "X448", postQuantum: false },
    { primary: "ML-KEM-512", secondary: "X25519", postQuantum: true },
  ] as const;
  for (const { primary, secondary, postQuantum } of cases) {
    await t.step(`${primary} + ${secondary}`, async () => {
      const algorithms = {
        primaryKeyExchanges: [primary],
        secondaryKeyExchanges: [secondary],
        allowClassicalSecondary: true,
      };
      const pair = startPair(
        { requireAuthentication: false, algorithms },
        { requireAuthentication: false, algorithms },
      );
      const { initiator, responder } = await outcome(pair);
      assert.ok(isDetails(initiator) && isDetails(responder));
      assert.equal(initiator.postQuantum, postQuantum);
      assert.equal(responder.postQuantum, postQuantum);
      await closePair(pair);
    });
  }
});

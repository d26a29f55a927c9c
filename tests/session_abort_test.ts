/**
 * An abort's reason is the `cause` of the error that reports it, wherever the
 * abort lands: before `initiate()`/`respond()` start, during the handshake,
 * while a dial helper connects, and through a listener's signal. A peer that
 * refuses us is reported with the likely causes, since the wire does not say
 * which refusal it was.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  connectTcp,
  connectWebSocket,
  ErrorCode,
  HandshakeError,
  type ListenerFailure,
  listenTcp,
  listenUdp,
  listenWebSocket,
  type Session,
  SessionError,
} from "../mod.ts";
import { accessFor, closePair, identityFor, startPair, waitFor } from "./_session_helpers.ts";
import { AccessManager } from "../src/session/access_manager.ts";

const OPEN = { requireAuthentication: false } as const;

function abortedBy(reason: unknown): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assert.ok(error instanceof HandshakeError || error instanceof SessionError, String(error));
    assert.equal(error.code, ErrorCode.ABORTED);
    assert.equal(error.cause, reason);
    return true;
  };
}

Deno.test("initiate() and respond() with an aborted signal reject ready with the reason as cause", async (t) => {
  for (const role of ["initiator", "responder"] as const) {
    await t.step(`${role}, aborted before start`, async () => {
      const reason = new Error(`${role} cancelled before start`);
      const aborted = { ...OPEN, signal: AbortSignal.abort(reason) };
      const pair = role === "initiator" ? startPair(aborted, OPEN) : startPair(OPEN, aborted);
      await assert.rejects(pair[role].ready, abortedBy(reason));
      await closePair(pair);
    });
    await t.step(`${role}, aborted during the handshake`, async () => {
      const reason = { why: `${role} cancelled mid-handshake` };
      const controller = new AbortController();
      const aborting = {
        ...OPEN,
        signal: controller.signal,
        // Abort once the first handshake frame has arrived from the peer.
        onTrace: (event: { type: string; direction?: string; noise?: boolean }): void => {
          if (event.type === "frame" && event.direction === "received" && !event.noise) {
            controller.abort(reason);
          }
        },
      };
      const pair = role === "initiator" ? startPair(aborting, OPEN) : startPair(OPEN, aborting);
      await assert.rejects(pair[role].ready, abortedBy(reason));
      const other = role === "initiator" ? pair.responder : pair.initiator;
      await assert.rejects(other.ready, HandshakeError);
      await closePair(pair);
    });
  }
});

Deno.test("connectTcp() and connectWebSocket() carry the abort reason as cause", async (t) => {
  await t.step("connectTcp(), aborted before dialling", async () => {
    const reason = new Error("tcp before");
    await assert.rejects(
      connectTcp({ port: 1 }, { ...OPEN, signal: AbortSignal.abort(reason) }),
      abortedBy(reason),
    );
  });

  await t.step("connectTcp(), aborted during the handshake", async () => {
    const listener = listenTcp({}, OPEN);
    const controller = new AbortController();
    const reason = new Error("tcp during");
    const client = await connectTcp({ port: listener.addr.port }, {
      ...OPEN,
      signal: controller.signal,
    });
    controller.abort(reason);
    await assert.rejects(client.ready, abortedBy(reason));
    await client.closed;
    await listener.close();
  });

  await t.step("connectWebSocket(), aborted before and while opening", async () => {
    const before = new Error("ws before");
    await assert.rejects(
      connectWebSocket("ws://127.0.0.1:1/", { ...OPEN, signal: AbortSignal.abort(before) }),
      abortedBy(before),
    );
    const listener = listenWebSocket({}, OPEN);
    const controller = new AbortController();
    const opening = connectWebSocket(`ws://127.0.0.1:${listener.addr.port}/`, {
      ...OPEN,
      signal: controller.signal,
    });
    const during = new Error("ws while opening");
    controller.abort(during);
    await assert.rejects(opening, abortedBy(during));
    await listener.close();
  });
});

Deno.test("listenUdp() with an aborted signal throws ERR_ABORTED with the reason as cause", () => {
  const reason = new Error("udp before");
  assert.throws(
    () => listenUdp({}, { ...OPEN, signal: AbortSignal.abort(reason) }),
    abortedBy(reason),
  );
});

Deno.test("Listener with an aborted signal fails handshakes with the reason as cause", async () => {
  const controller = new AbortController();
  const reason = new Error("listener stopped");
  const listener = listenTcp({}, { ...OPEN, signal: controller.signal });
  const failures: ListenerFailure[] = [];
  listener.on("failure", (failure) => failures.push(failure));
  // The server side waits for a peer that never answers: a raw socket.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await waitFor(() => listener.handshakes > 0, { what: "the handshake to start" });
  controller.abort(reason);
  await waitFor(() => failures.length > 0, { what: "the listener's failure event" });
  const session = failures[0]!.session as Session;
  assert.equal(failures[0]!.code, ErrorCode.ABORTED);
  await assert.rejects(session.ready, abortedBy(reason));
  conn.close();
  await listener.close();
});

Deno.test("initiate() and respond() report a refused peer with its likely causes", async (t) => {
  const alice = await identityFor("Ed25519", 1);
  const bob = await identityFor("Ed25519", 2);
  await t.step("the refused side sees ERR_TRANSPORT_CLOSED during authentication", async () => {
    const pair = startPair(
      { identity: alice, requireAuthentication: false },
      { identity: bob, accessManager: new AccessManager() },
    );
    await assert.rejects(pair.responder.ready, { code: ErrorCode.PEER_NOT_ALLOWED });
    await assert.rejects(pair.initiator.ready, (error: unknown) => {
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, ErrorCode.TRANSPORT_CLOSED);
      assert.ok(error.phase === "authentication" || error.phase === "sessionInit");
      // The message is the point here: the wire cannot tell a refusal from a hang-up.
      assert.match(error.message, /Likely causes/);
      assert.match(error.message, /access manager/);
      assert.match(error.message, /requires authentication/);
      return true;
    });
    await closePair(pair);
  });
  await t.step("the refusing side names what its access manager lacks", async () => {
    const pair = startPair(
      { identity: alice, accessManager: accessFor(bob) },
      { identity: bob, accessManager: new AccessManager() },
    );
    await assert.rejects(pair.responder.ready, (error: unknown) => {
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, ErrorCode.PEER_NOT_ALLOWED);
      assert.match(error.message, /Likely causes/);
      assert.match(error.message, /addPeer/);
      return true;
    });
    await assert.rejects(pair.initiator.ready, HandshakeError);
    await closePair(pair);
  });
  await t.step("an anonymous side facing a peer that requires authentication", async () => {
    const pair = startPair(OPEN, { identity: bob, accessManager: accessFor(alice) });
    await assert.rejects(pair.initiator.ready, (error: unknown) => {
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, ErrorCode.AUTH_REQUIRED);
      assert.match(error.message, /Likely causes/);
      assert.match(error.message, /"identity"/);
      return true;
    });
    await assert.rejects(pair.responder.ready, (error: unknown) => {
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, ErrorCode.TRANSPORT_CLOSED);
      assert.match(error.message, /Likely causes/);
      return true;
    });
    await closePair(pair);
  });
});

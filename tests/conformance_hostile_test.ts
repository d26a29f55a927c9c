/**
 * The black-box adversarial peer against qgate targets on 127.0.0.1: a
 * `listenTcp` responder it dials, an initiator that dials it, and a broken
 * target that never hangs up (which the hostile peer must report).
 *
 * Needs `--allow-net=127.0.0.1`.
 */

import assert from "node:assert/strict";
import { formatHostileReport, type HostileReport, runHostilePeer } from "../src/conformance/mod.ts";
import {
  AccessManager,
  connectTcp,
  generateIdentity,
  type ListenerFailure,
  listenTcp,
  peerUuidOf,
  type Session,
} from "../mod.ts";

const TARGET_TIMEOUTS = { phase: 300, handshake: 2_000 };

function failures(report: HostileReport): string[] {
  return report.results.filter((result) => result.verdict !== "pass")
    .map((result) => `${result.id}: ${result.verdict} ${result.detail}`);
}

Deno.test("runHostilePeer() finds a listenTcp() target closing every hostile connection and staying up", async () => {
  const seen: ListenerFailure[] = [];
  const listener = listenTcp({}, { requireAuthentication: false, timeouts: TARGET_TIMEOUTS });
  listener.on("failure", (failure) => seen.push(failure));
  const report = await runHostilePeer({ target: { port: listener.addr.port }, timeout: 3_000 });
  console.log(formatHostileReport(report));
  assert.deepEqual(failures(report), []);
  assert.equal(report.role, "initiator");
  const ids = report.results.map((result) => result.id);
  for (
    const id of [
      "honest-handshake",
      "silence",
      "salt-only",
      "half-closed",
      "garbage",
      "flood-length",
      "wrong-role",
      "wrong-phase/endMetaExchange/close",
      "replayed-record/endPrimaryKeyExchange",
      "session-id/endMetaExchange",
      "flip-ciphertext/endSessionInit",
    ]
  ) {
    assert.ok(ids.includes(id), `${id} did not run`);
  }
  for (const result of report.results) {
    assert.equal(result.aliveAfter, true, result.id);
    if (result.id !== "honest-handshake") {
      assert.equal(result.closed, true, result.id);
      assert.equal(result.reachedReady, false, result.id);
    }
  }
  // The stalls ended on the target's phase deadline, not on ours.
  const silence = report.results.find((result) => result.id === "silence")!;
  assert.ok(silence.closedAfterMs! < 2_000, `${silence.closedAfterMs} ms`);
  // The listener saw the attacks as per-connection failures with codes.
  const codes = new Set(seen.map((failure) => failure.code));
  for (
    const code of [
      "ERR_TIMEOUT",
      "ERR_DECRYPT_FAILED",
      "ERR_UNEXPECTED_MESSAGE",
      "ERR_FRAME_TOO_LARGE",
    ]
  ) {
    assert.ok(codes.has(code as ListenerFailure["code"]), `${code} not among ${[...codes]}`);
  }
  await listener.close();
});

Deno.test("runHostilePeer() plays a hostile responder to an initiator that dials it", async () => {
  let stop = false;
  const sessions: Session[] = [];
  let address: { hostname: string; port: number } | undefined;
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const dialler = (async () => {
    await listening;
    while (!stop) {
      try {
        const session = await connectTcp(address!, {
          requireAuthentication: false,
          timeouts: TARGET_TIMEOUTS,
        });
        sessions.push(session);
        await session.closed;
      } catch {
        await new Promise((done) => setTimeout(done, 20));
      }
    }
  })();
  const report = await runHostilePeer({
    listen: { port: 0 },
    timeout: 3_000,
    onListening: (bound) => {
      address = bound;
      resolve();
    },
  });
  stop = true;
  await Promise.all(sessions.map((session) => session.close()));
  await dialler;
  assert.equal(report.role, "responder");
  assert.deepEqual(failures(report), []);
  const ids = report.results.map((result) => result.id);
  for (
    const id of [
      "silence",
      "wrong-role",
      "truncated/beginPrimaryKeyExchange",
      "wrong-phase/beginAuthentication/beginSessionInit",
      "downgrade/beginMetaExchange",
      "version/beginMetaExchange",
      "zero-share/beginPrimaryKeyExchange",
      "replayed-stream/beginMetaExchange",
    ]
  ) {
    assert.ok(ids.includes(id), `${id} did not run`);
  }
  // Listening, the hostile peer cannot probe the target: nothing says otherwise.
  assert.ok(report.results.every((result) => result.aliveAfter === undefined));
});

Deno.test("runHostilePeer() reports a target that never hangs up", async () => {
  // A broken target: accepts, reads everything, never answers, never closes.
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of server) {
      held.push(conn);
      void conn.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  })().catch(() => {});
  const report = await runHostilePeer({
    target: { port: server.addr.port },
    only: "silence",
    timeout: 400,
  });
  server.close();
  for (const conn of held) {
    try {
      conn.close();
    } catch {
      // Closed by the hostile peer's side already.
    }
  }
  await accepting;
  const silence = report.results.find((result) => result.id === "silence")!;
  assert.equal(silence.verdict, "fail");
  assert.equal(silence.closed, false);
  assert.match(formatHostileReport(report), /silence +fail +stayed open/);
  assert.equal(report.failed, 1);
});

Deno.test("runHostilePeer() needs a target or a port to listen on", async () => {
  await assert.rejects(runHostilePeer({}), TypeError);
});

Deno.test("runHostilePeer() told that the target requires authentication runs the attacks that need it", async (t) => {
  const target = await generateIdentity("Ed25519");
  const guest = await generateIdentity("Ed25519");
  const access = new AccessManager();
  access.addPeer(peerUuidOf(guest.algorithm, guest.publicKey), guest.publicKey);
  const listener = listenTcp({}, {
    identity: target,
    accessManager: access,
    requireAuthentication: true,
    timeouts: TARGET_TIMEOUTS,
  });
  const base = { target: { port: listener.addr.port }, timeout: 3_000, identity: guest };
  try {
    await t.step("an anonymous proof where the target requires one is refused", async () => {
      const report = await runHostilePeer({
        ...base,
        targetRequiresAuthentication: true,
        only: "anonymous-proof/endAuthentication",
      });
      const [result] = report.results;
      assert.equal(report.results.length, 1);
      assert.equal(result?.verdict, "pass", result?.detail);
      assert.equal(result?.closed, true);
      assert.equal(result?.damages, "endAuthentication");
      // The hostile side's own handshake ended as a structured outcome: the target closed.
      assert.equal(result?.ownHandshake?.status, "failed");
    });
    await t.step("not told, the attack is left out", async () => {
      const report = await runHostilePeer({ ...base, only: "anonymous-proof/endAuthentication" });
      assert.deepEqual(report.results, []);
    });
    await t.step("the honest baseline reports how its handshake ended", async () => {
      const report = await runHostilePeer({
        ...base,
        targetRequiresAuthentication: true,
        only: "honest-handshake",
      });
      assert.deepEqual(report.results[0]?.ownHandshake, { status: "ready" });
    });
    await t.step("a refused baseline reports the code and phase, not text", async () => {
      const report = await runHostilePeer({
        target: base.target,
        timeout: 3_000,
        only: "honest-handshake",
      });
      assert.deepEqual(report.results[0]?.ownHandshake, {
        status: "failed",
        code: "ERR_AUTH_REQUIRED",
        phase: "metaExchange",
      });
    });
    await t.step("without an identity it is a usage error", async () => {
      await assert.rejects(
        runHostilePeer({ target: base.target, targetRequiresAuthentication: true }),
        TypeError,
      );
    });
  } finally {
    await listener.close();
  }
});

import assert from "node:assert/strict";
import {
  connectUdp,
  ErrorCode,
  listenUdp,
  nobleBackend,
  seededRandom,
  type Session,
} from "../mod.ts";
import {
  MAX_COOKIE_REPLY_LENGTH,
  MIN_COOKIE_ECHO_LENGTH,
  MIN_COOKIE_REPLY_LENGTH,
  UdpCookieInitiator,
  UdpCookieResponder,
} from "../src/net/udp_cookie.ts";
import { waitFor } from "./_session_helpers.ts";

const OPEN = { requireAuthentication: false } as const;

/** Fixed pseudo-random bytes: hostile input must be reproducible. */
function junk(length: number, seed: number): Uint8Array {
  return seededRandom(new Uint8Array([seed, length & 0xff, length >> 8]))(length);
}

/** Whether two byte strings share any run of `window` bytes. */
function shareWindow(a: Uint8Array, b: Uint8Array, window: number): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + window <= a.length; i++) seen.add(a.subarray(i, i + window).join());
  for (let i = 0; i + window <= b.length; i++) {
    if (seen.has(b.subarray(i, i + window).join())) return true;
  }
  return false;
}

function replyTo(
  responder: UdpCookieResponder,
  datagram: Uint8Array,
  address: string,
): Uint8Array {
  const verdict = responder.inspect(datagram, address);
  assert.equal(verdict.kind, "reply");
  return (verdict as { datagram: Uint8Array }).datagram;
}

Deno.test("UdpCookieResponder and UdpCookieInitiator behaviour", async (t) => {
  const address = "192.0.2.10:40000";

  await t.step("replies are never longer than their trigger; short triggers get none", () => {
    const responder = new UdpCookieResponder({ backend: nobleBackend });
    for (let length = 0; length < 300; length++) {
      const verdict = responder.inspect(junk(length, 1), address);
      if (length < MIN_COOKIE_REPLY_LENGTH) {
        assert.equal(verdict.kind, "drop");
        continue;
      }
      assert.equal(verdict.kind, "reply");
      const reply = (verdict as { datagram: Uint8Array }).datagram;
      assert.ok(reply.length <= length, `${reply.length} > ${length}`);
      assert.ok(reply.length >= MIN_COOKIE_REPLY_LENGTH);
      assert.ok(reply.length <= MAX_COOKIE_REPLY_LENGTH);
    }
    assert.deepEqual(responder.stats, {
      replies: 300 - MIN_COOKIE_REPLY_LENGTH,
      echoes: 0,
      dropped: MIN_COOKIE_REPLY_LENGTH,
    });
    responder.dispose();
  });

  await t.step("an echo is valid only from the address the cookie was made for", () => {
    const responder = new UdpCookieResponder();
    const initiator = new UdpCookieInitiator();
    const first = junk(120, 2);
    initiator.sent(first);
    const echo = initiator.received(replyTo(responder, first, address));
    assert.ok(echo !== undefined && echo.length >= MIN_COOKIE_ECHO_LENGTH);
    assert.equal((responder.inspect(echo, address)).kind, "echo");
    assert.equal((responder.inspect(echo, "192.0.2.10:40001")).kind, "reply");
    assert.equal((responder.inspect(echo, "192.0.2.11:40000")).kind, "reply");
    // A forged echo (flipped bit) is just another unsolicited datagram.
    const forged = echo.slice();
    forged[20]! ^= 1;
    assert.equal((responder.inspect(forged, address)).kind, "reply");
    assert.equal(responder.stats.echoes, 1);
  });

  await t.step("the initiator accepts only replies bound to its own first datagram", () => {
    const responder = new UdpCookieResponder();
    const initiator = new UdpCookieInitiator();
    initiator.sent(junk(100, 3));
    const reply = replyTo(responder, junk(100, 4), address); // someone else's trigger
    assert.equal(initiator.received(reply), undefined);
    const silent = new UdpCookieInitiator(); // has sent nothing yet
    assert.equal(silent.received(reply), undefined);
  });

  await t.step("with a GSS only its holders read cookies", () => {
    const gss = new Uint8Array(32).fill(9);
    const responder = new UdpCookieResponder({ globalSharedSecret: gss });
    const outsider = new UdpCookieInitiator();
    const member = new UdpCookieInitiator({ globalSharedSecret: gss });
    const first = junk(90, 5);
    outsider.sent(first);
    member.sent(first);
    const reply = replyTo(responder, first, address);
    assert.equal(outsider.received(reply), undefined);
    const echo = member.received(reply);
    assert.equal((responder.inspect(echo!, address)).kind, "echo");
  });

  await t.step("a replayed reply is answered once", () => {
    const responder = new UdpCookieResponder();
    const initiator = new UdpCookieInitiator();
    const first = junk(100, 6);
    initiator.sent(first);
    const reply = replyTo(responder, first, address);
    assert.ok((initiator.received(reply))!.length > 0);
    assert.equal((initiator.received(reply))!.length, 0);
  });

  await t.step("cookies outlive one secret rotation, not two", () => {
    let time = 0;
    const responder = new UdpCookieResponder({ now: () => time, secretLifetime: 1_000 });
    const initiator = new UdpCookieInitiator();
    const first = junk(100, 7);
    initiator.sent(first);
    const echo = (initiator.received(replyTo(responder, first, address)))!;
    time = 1_500;
    assert.equal((responder.inspect(echo, address)).kind, "echo");
    time = 2_600;
    assert.equal((responder.inspect(echo, address)).kind, "reply");
    time = 10_000; // a long quiet spell: both secrets are gone
    const stale = new UdpCookieInitiator();
    stale.sent(first);
    const late = (stale.received(replyTo(responder, first, address)))!;
    time = 10_500;
    assert.equal((responder.inspect(late, address)).kind, "echo");
  });

  await t.step("replies and echoes share no bytes with each other or their trigger", () => {
    const responder = new UdpCookieResponder();
    const initiator = new UdpCookieInitiator();
    const first = junk(108, 8);
    initiator.sent(first);
    const replies = [
      replyTo(responder, first, address),
      replyTo(responder, first, address),
    ];
    const echoes = [
      (initiator.received(replies[0]!))!,
      (initiator.received(replies[1]!))!,
    ];
    const all = [first, ...replies, ...echoes];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        assert.ok(!shareWindow(all[i]!, all[j]!, 8), `datagrams ${i} and ${j} share 8 bytes`);
      }
    }
  });

  await t.step("rejects misuse with TypeError/RangeError", () => {
    const noHash = { ...nobleBackend, hash: () => undefined };
    assert.throws(() => new UdpCookieResponder({ backend: noHash }), TypeError);
    assert.throws(() => new UdpCookieInitiator({ backend: noHash }), TypeError);
    assert.throws(() => new UdpCookieResponder({ secretLifetime: 0 }), RangeError);
    assert.throws(
      () => new UdpCookieResponder({ globalSharedSecret: "x" as unknown as Uint8Array }),
      TypeError,
    );
  });
});

/**
 * Sockets that each send a few datagrams and never read: spoofed senders that
 * cannot echo. `seen` counts the datagrams the listener has handled so far.
 */
async function flood(
  target: Deno.NetAddr,
  sockets: number,
  perSocket: number,
  seen: () => number,
): Promise<number> {
  const before = seen();
  let sent = 0;
  const opened: Deno.DatagramConn[] = [];
  for (let i = 0; i < sockets; i++) {
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    opened.push(socket);
    for (let j = 0; j < perSocket; j++) {
      await socket.send(junk(20 + ((i * 7 + j * 13) % 140), i + j), target);
      sent++;
    }
  }
  // The sockets stay open until the listener has seen every datagram.
  await waitFor(() => seen() - before >= sent, { what: `the listener to see ${sent} datagrams` });
  for (const socket of opened) socket.close();
  return sent;
}

Deno.test("listenUdp() under a spoofed flood keeps no per-sender state while honest peers connect through cookies", async () => {
  const listener = listenUdp({}, {
    ...OPEN,
    cookieThreshold: 2,
    timeouts: { phase: 3_000, handshake: 6_000 },
  });
  let peakPeers = 0;
  let peakHandshakes = 0;
  const sample = setInterval(() => {
    peakPeers = Math.max(peakPeers, listener.peers);
    peakHandshakes = Math.max(peakHandshakes, listener.handshakes);
  }, 1);

  // Two senders arrive before the load: they get sessions (that will time out).
  const early = await flood(listener.addr, 2, 1, () => listener.handshakes);
  assert.equal(listener.handshakes, 2);

  // Now 150 more senders, 4 datagrams each, while 5 honest peers connect. Under
  // load each datagram from a stranger gets a cookie reply or is dropped.
  const [flooded, details] = await Promise.all([
    flood(listener.addr, 150, 4, () => {
      const { replies, dropped } = listener.cookieStats;
      return replies + dropped;
    }),
    Promise.all([1, 2, 3, 4, 5].map(async () => {
      const client: Session = await connectUdp({ port: listener.addr.port }, OPEN);
      const detail = await client.ready;
      return { client, detail };
    })),
  ]);
  clearInterval(sample);
  peakPeers = Math.max(peakPeers, listener.peers);

  assert.equal(details.length, 5);
  assert.ok(details.every(({ detail }) => detail.role === "initiator"));
  // State exists for the two early senders and the five honest peers, nobody else.
  assert.equal(listener.peers, 7);
  assert.ok(peakPeers <= 7, `peak ${peakPeers}`);
  assert.ok(peakHandshakes <= 7, `peak handshakes ${peakHandshakes}`);
  const stats = listener.cookieStats;
  assert.equal(stats.echoes, 5);
  // Every flood datagram was answered with a cookie or dropped (too short), nothing more.
  assert.ok(stats.replies + stats.dropped >= flooded, JSON.stringify(stats));
  assert.ok(stats.dropped > 0 && stats.replies > 0);
  assert.equal(early, 2);

  await Promise.all(details.map(({ client }) => client.close()));
  await listener.close();
});

Deno.test("listenUdp() without cookies lets a flood take every handshake slot (what cookies prevent)", async () => {
  const listener = listenUdp({}, {
    ...OPEN,
    cookieThreshold: Infinity,
    maxHandshakes: 4,
    timeouts: { phase: 1_500, handshake: 3_000 },
  });
  const refused: string[] = [];
  listener.on("failure", (failure) => {
    if (failure.stage === "refused") refused.push(`${failure.code} ${failure.limit}`);
  });
  // Four open a handshake, the other two are refused.
  await flood(listener.addr, 6, 1, () => listener.handshakes + refused.length);
  assert.equal(listener.handshakes, 4);
  assert.equal(listener.cookieStats.replies, 0);
  const client = await connectUdp({ port: listener.addr.port }, {
    ...OPEN,
    timeouts: { phase: 500, handshake: 800 },
  });
  await assert.rejects(
    client.ready,
    (error: { code?: string }) => error.code === ErrorCode.TIMEOUT,
  );
  assert.ok(refused.includes(`${ErrorCode.RESOURCE_LIMIT} handshakes`), refused.join());
  await listener.close();
});

Deno.test("listenUdp() rejects a bad cookieThreshold and gives the port back", () => {
  for (const cookieThreshold of [-1, 1.5, NaN]) {
    assert.throws(() => listenUdp({}, { ...OPEN, cookieThreshold }), RangeError);
  }
  assert.throws(() => listenUdp({}, { ...OPEN, cookieSecretLifetime: 0 }), RangeError);
});

Deno.test("listenUdp() refuses a host over maxConnectionsPerAddress with ERR_RESOURCE_LIMIT", async () => {
  const listener = listenUdp({}, { ...OPEN, maxConnectionsPerAddress: 2, cookieThreshold: 0 });
  const limits: string[] = [];
  listener.on("failure", (failure) => {
    if (failure.stage === "refused") limits.push(`${failure.code} ${failure.limit}`);
  });
  const options = { ...OPEN, timeouts: { phase: 600, handshake: 900 } };
  const clients = await Promise.all(
    [1, 2, 3].map(() => connectUdp({ port: listener.addr.port }, options)),
  );
  const outcomes = await Promise.all(
    clients.map((client) => client.ready.then(() => "ready", (error) => error.code)),
  );
  assert.deepEqual(outcomes.toSorted(), [ErrorCode.TIMEOUT, "ready", "ready"]);
  assert.ok(
    limits.length > 0 &&
      limits.every((limit) => limit === `${ErrorCode.RESOURCE_LIMIT} perAddress`),
  );
  assert.equal(listener.peers, 2);
  await Promise.all(clients.map((client) => client.close()));
  await listener.close();
});

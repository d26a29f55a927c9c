import assert from "node:assert/strict";
import fc from "fast-check";
import { SimulatedClock } from "xstate";
import {
  connectTcp,
  connectWebSocket,
  createMemoryPair,
  ErrorCode,
  initiate,
  Listener,
  type ListenerFailure,
  listenTcp,
  listenWebSocket,
  nobleBackend,
  respond,
  type Session,
  type Transport,
} from "../mod.ts";
import { DEFAULT_PREFERENCES } from "../src/handshake_policy.ts";
import {
  addressHost,
  addressKey,
  AddressRateLimiter,
  DEFAULT_MAX_BUFFERED_BYTES,
  largestOutgoingRecord,
  SendBudget,
} from "../src/session/limits.ts";
import { resolveOptions } from "../src/session/options.ts";
import { identityFor, idle, waitFor } from "./_session_helpers.ts";
import { propertyConfig } from "./_property.ts";

const OPEN = { requireAuthentication: false } as const;
const CHAT = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/**
 * A transport whose writes can be held back: a peer that stops reading.
 * `stalled` counts the writes that found the gate closed.
 */
function gated(
  transport: Transport,
): { transport: Transport; hold(): void; release(): void; readonly stalled: number } {
  const writer = transport.writable.getWriter();
  let gate: PromiseWithResolvers<void> | undefined;
  let stalled = 0;
  const writable = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      if (gate !== undefined) stalled++;
      while (gate !== undefined) await gate.promise;
      await writer.write(chunk);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  }, { highWaterMark: 1 });
  return {
    transport: { readable: transport.readable, writable },
    hold(): void {
      gate ??= Promise.withResolvers<void>();
    },
    release(): void {
      const open = gate;
      gate = undefined;
      open?.resolve();
    },
    get stalled(): number {
      return stalled;
    },
  };
}

async function readyPair(
  clientTransport: Transport,
  serverTransport: Transport,
  clientOptions: Record<string, unknown> = {},
  serverOptions: Record<string, unknown> = {},
): Promise<{ client: Session; server: Session }> {
  const client = initiate(clientTransport, { ...OPEN, extenders: [CHAT], ...clientOptions });
  const server = respond(serverTransport, { ...OPEN, extenders: [CHAT], ...serverOptions });
  await Promise.all([client.ready, server.ready]);
  return { client, server };
}

Deno.test("SendBudget behaviour", async (t) => {
  await t.step("grants reservations in call order as room appears", async () => {
    const budget = new SendBudget(100);
    const order: number[] = [];
    await budget.reserve(60);
    const a = budget.reserve(50).then(() => order.push(1));
    const b = budget.reserve(10).then(() => order.push(2)); // would fit, but must not overtake
    await Promise.resolve();
    assert.deepEqual(order, []);
    assert.equal(budget.waiting, 60);
    budget.release(60);
    await Promise.all([a, b]);
    assert.deepEqual(order, [1, 2]);
    assert.equal(budget.buffered, 60);
    assert.equal(budget.waiting, 0);
  });

  await t.step("lets a reservation above the limit through when nothing is buffered", async () => {
    const budget = new SendBudget(10);
    await budget.reserve(1_000);
    assert.equal(budget.buffered, 1_000);
    const next = budget.reserve(1_000);
    budget.release(1_000);
    await next;
    assert.equal(budget.buffered, 1_000);
  });

  await t.step("refuses with ERR_RESOURCE_LIMIT once a limit's worth is waiting", async () => {
    const budget = new SendBudget(100);
    await budget.reserve(100);
    const waiting = [budget.reserve(40), budget.reserve(60)];
    await assert.rejects(budget.reserve(1), (error) => codeOf(error) === ErrorCode.RESOURCE_LIMIT);
    assert.equal(budget.waiting, 100);
    budget.release(100);
    await Promise.all(waiting);
  });

  await t.step("close() rejects waiting and later reservations with its reason", async () => {
    const budget = new SendBudget(10);
    await budget.reserve(10);
    const waiting = budget.reserve(5);
    const reason = new Error("closed");
    budget.close(reason);
    await assert.rejects(waiting, (error) => error === reason);
    await assert.rejects(budget.reserve(1), (error) => error === reason);
    assert.equal(budget.waiting, 0);
  });

  await t.step("rejects a limit that is not a positive integer with RangeError", () => {
    for (const value of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => new SendBudget(value), RangeError);
    }
  });
});

Deno.test("AddressRateLimiter behaviour", async (t) => {
  await t.step("addressHost() strips the port of IPv4, IPv6 and names", () => {
    assert.equal(addressHost("192.0.2.1:80"), "192.0.2.1");
    assert.equal(addressHost("[2001:db8::1]:80"), "2001:db8::1");
    assert.equal(addressHost("example.org:443"), "example.org");
    assert.equal(addressHost("2001:db8::1"), "2001:db8::1");
    assert.equal(addressHost("unknown"), "unknown");
  });

  await t.step("refills the allowance evenly over the interval", () => {
    let time = 0;
    const limiter = new AddressRateLimiter({ limit: 2, interval: 1_000, now: () => time });
    assert.deepEqual([1, 2, 3].map(() => limiter.tryAcquire("192.0.2.1:1")), [
      true,
      true,
      false,
    ]);
    time = 499;
    assert.equal(limiter.tryAcquire("192.0.2.1:2"), false);
    time = 500;
    assert.equal(limiter.tryAcquire("192.0.2.1:3"), true);
    assert.equal(limiter.tryAcquire("192.0.2.1:4"), false);
    time = 100_000; // never more than the limit at once after a long pause
    assert.deepEqual([1, 2, 3].map(() => limiter.tryAcquire("192.0.2.1:5")), [
      true,
      true,
      false,
    ]);
  });

  await t.step("keeps its table bounded and forgets hosts whose allowance is full again", () => {
    let time = 0;
    const limiter = new AddressRateLimiter({
      limit: 1,
      interval: 1_000,
      now: () => time,
      maxTracked: 8,
    });
    for (let i = 0; i < 1_000; i++) assert.equal(limiter.tryAcquire(`10.0.${i >> 8}.${i}:1`), true);
    assert.ok(limiter.tracked <= 8, String(limiter.tracked));
    time = 5_000;
    for (let i = 0; i < 20; i++) limiter.tryAcquire(`10.1.0.${i}:1`);
    assert.ok(limiter.tracked <= 8);
  });

  await t.step("addressKey() counts IPv6 hosts by prefix and mapped IPv4 as IPv4", () => {
    assert.equal(addressKey("192.0.2.1:80"), "192.0.2.1");
    assert.equal(addressKey("[::ffff:192.0.2.1]:80"), "192.0.2.1");
    assert.equal(addressKey("[::FFFF:c000:0201]:80"), "192.0.2.1");
    assert.equal(addressKey("[2001:db8:1:2:aaaa::1]:80"), "2001:db8:1:2::/64");
    assert.equal(addressKey("[2001:DB8:1:2::ffff]:9"), "2001:db8:1:2::/64");
    assert.notEqual(addressKey("[2001:db8:1:3::1]:80"), addressKey("[2001:db8:1:2::1]:80"));
    assert.equal(addressKey("[2001:db8:1:ff::1]:1", 48), "2001:db8:1::/48");
    assert.equal(addressKey("[2001:db8:1:ff::1]:1", 56), addressKey("[2001:db8:1:aa::]:1", 56));
    assert.notEqual(addressKey("[2001:db8:1:ff::1]:1", 56), addressKey("[2001:db8:1:1ff::]:1", 56));
    assert.equal(addressKey("[1:2:3:4:5:6:1.2.3.4]:4", 128), "1:2:3:4:5:6:102:304/128");
    assert.equal(addressKey("[fe80::1%eth0]:5"), addressKey("[fe80::2]:5"));
    // Not IP addresses: counted as they are.
    for (const label of ["unknown", "example.org:443", "[1::2::3]:1", "[1:2:3:4:5:6:7:8:9]:1"]) {
      assert.equal(addressKey(label), addressHost(label));
    }
    for (const bad of [0, 129, 1.5, NaN]) {
      assert.throws(() => addressKey("[::1]:1", bad), RangeError);
    }
  });

  await t.step(
    "addressKey() agrees for every spelling of one /64 and splits others (property)",
    () => {
      const group = fc.integer({ min: 0, max: 0xffff });
      const address = fc.array(group, { minLength: 8, maxLength: 8 });
      /** One address spelled with "::" over its longest zero run, groups in random case. */
      const spell = (groups: number[], upper: boolean): string => {
        let best = [-1, 0];
        for (let i = 0; i < 8; i++) {
          let j = i;
          while (j < 8 && groups[j] === 0) j++;
          if (j - i > best[1]!) best = [i, j - i];
        }
        const hex = groups.map((g) => (upper ? g.toString(16).toUpperCase() : g.toString(16)));
        if (best[1]! < 2) return hex.join(":");
        return `${hex.slice(0, best[0]).join(":")}::${hex.slice(best[0]! + best[1]!).join(":")}`;
      };
      fc.assert(
        fc.property(address, address, fc.boolean(), (a, b, upper) => {
          // Skip IPv4-mapped addresses: they key as IPv4 by design.
          fc.pre(!(a.slice(0, 5).every((g) => g === 0) && a[5] === 0xffff));
          fc.pre(!(b.slice(0, 5).every((g) => g === 0) && b[5] === 0xffff));
          const sameNet = [...a.slice(0, 4), ...b.slice(4)];
          const key = addressKey(`[${spell(a, upper)}]:1`);
          assert.equal(addressKey(`[${spell(a, !upper)}]:2`), key);
          assert.equal(addressKey(`[${spell(sameNet, upper)}]:3`), key);
          const otherNet = a.slice(0, 4).join() !== b.slice(0, 4).join();
          assert.equal(addressKey(`[${spell(b, upper)}]:4`) !== key, otherNet);
        }),
        propertyConfig(200),
      );
    },
  );

  await t.step("an IPv6 /64 shares one allowance unless ipv6Prefix says otherwise", () => {
    const now = (): number => 0;
    const per64 = new AddressRateLimiter({ limit: 2, interval: 1_000, now });
    assert.deepEqual(
      ["[2001:db8::1]:1", "[2001:db8::2]:1", "[2001:db8::3]:1", "[2001:db8:0:1::1]:1"].map((a) =>
        per64.tryAcquire(a)
      ),
      [true, true, false, true],
    );
    const perAddress = new AddressRateLimiter({ limit: 1, interval: 1_000, now, ipv6Prefix: 128 });
    assert.ok(perAddress.tryAcquire("[2001:db8::1]:1"));
    assert.ok(perAddress.tryAcquire("[2001:db8::2]:1"));
    assert.ok(!perAddress.tryAcquire("[2001:db8::1]:2"));
    assert.throws(
      () => new AddressRateLimiter({ limit: 1, interval: 1, now, ipv6Prefix: 0 }),
      RangeError,
    );
    assert.throws(
      () => new Listener({ requireAuthentication: false, ipv6Prefix: 129 }),
      RangeError,
    );
  });

  await t.step("Infinity turns the limit off and bad values are RangeErrors", () => {
    const limiter = new AddressRateLimiter({ limit: Infinity, interval: 1, now: () => 0 });
    for (let i = 0; i < 100; i++) assert.ok(limiter.tryAcquire("192.0.2.1:1"));
    assert.equal(limiter.tracked, 0);
    const now = (): number => 0;
    assert.throws(() => new AddressRateLimiter({ limit: 0, interval: 1, now }), RangeError);
    assert.throws(() => new AddressRateLimiter({ limit: 1.5, interval: 1, now }), RangeError);
    assert.throws(() => new AddressRateLimiter({ limit: 1, interval: 0, now }), RangeError);
    assert.throws(
      () => new AddressRateLimiter({ limit: 1, interval: 1, now, maxTracked: 0 }),
      RangeError,
    );
  });
});

Deno.test("Session maxBufferedBytes applies backpressure and refuses a pile-up with ERR_RESOURCE_LIMIT", async () => {
  const [a, b] = createMemoryPair();
  const stalled = gated(a);
  const { client, server } = await readyPair(stalled.transport, b, {
    maxBufferedBytes: 200_000,
  });
  const received: number[] = [];
  server.on("message", ({ data }) => received.push(data[0]!));

  stalled.hold(); // the peer stops reading
  const sends = Array.from(
    { length: 10 },
    (_, i) =>
      client.send(CHAT, new Uint8Array(60_000).fill(i)).then(
        () => "sent",
        (error) => codeOf(error),
      ),
  );
  // Three records fit under the limit; three more may wait for room; the rest are refused.
  // Sends reserve room in call order: once the last four are refused, the
  // first six hold their room or wait for it.
  const refused = await Promise.all(sends.slice(6));
  assert.deepEqual(refused, Array(4).fill(ErrorCode.RESOURCE_LIMIT));
  assert.equal(client.bufferedBytes, 180_000);

  stalled.release(); // the peer reads again: everything accepted is delivered, in order
  assert.deepEqual(await Promise.all(sends.slice(0, 6)), Array(6).fill("sent"));
  await waitFor(() => received.length === 6, { what: "six messages" });
  assert.deepEqual(received, [0, 1, 2, 3, 4, 5]);
  assert.equal(client.bufferedBytes, 0);
  await client.close();
  await server.closed;
});

Deno.test("Session maxBufferedBytes never fails an awaited send, however large", async () => {
  const [a, b] = createMemoryPair({ highWaterMark: 1 });
  const { client, server } = await readyPair(a, b, { maxBufferedBytes: 1_024 });
  let received = 0;
  server.on("message", ({ data }) => void (received += data.length));
  const payload = new Uint8Array(1_000_000).fill(7);
  await client.send(CHAT, payload);
  await client.send(CHAT, payload);
  assert.ok(client.bufferedBytes <= 65_536);
  await client.close();
  await server.closed;
  assert.equal(received, 2_000_000);
});

Deno.test("Session waiting sends end with ERR_SESSION_CLOSED when the session ends", async () => {
  const [a, b] = createMemoryPair();
  const stalled = gated(a);
  const controller = new AbortController();
  const { client, server } = await readyPair(stalled.transport, b, {
    maxBufferedBytes: 130_000,
    signal: controller.signal,
  });
  stalled.hold();
  // Two records are buffered (the first one stuck in the transport), two wait for room.
  const sends = [1, 2, 3, 4].map(() =>
    client.send(CHAT, new Uint8Array(60_000)).then(() => "sent", (error) => codeOf(error))
  );
  await waitFor(() => client.bufferedBytes === 120_000, { what: "two records buffered" });
  controller.abort();
  assert.deepEqual(await Promise.all(sends.slice(2)), [
    ErrorCode.SESSION_CLOSED,
    ErrorCode.SESSION_CLOSED,
  ]);
  stalled.release();
  assert.equal((await client.closed).code, ErrorCode.ABORTED);
  await server.closed;
  assert.equal(await sends[1], ErrorCode.SESSION_CLOSED);
  await sends[0];
});

Deno.test("resolveOptions() checks maxBufferedBytes and maxRecordLength", async (t) => {
  await t.step("maxBufferedBytes defaults to 4 MiB and must be an integer in [1024, 2^32]", () => {
    assert.equal(resolveOptions(OPEN).maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES);
    assert.equal(resolveOptions({ ...OPEN, maxBufferedBytes: 1_024 }).maxBufferedBytes, 1_024);
    for (const value of [1_023, 1_500.5, 2 ** 32 + 1, NaN]) {
      assert.throws(() => resolveOptions({ ...OPEN, maxBufferedBytes: value }), RangeError);
    }
  });

  await t.step("maxRecordLength must hold the largest message this side may send", async () => {
    assert.throws(
      () => resolveOptions({ ...OPEN, maxRecordLength: 1_024 }),
      /"maxRecordLength" must be at least 1730 for the key update/,
    );
    const small = {
      ...OPEN,
      algorithms: { primaryKeyExchanges: ["X25519"], secondaryKeyExchanges: ["ML-KEM-512"] },
      maxRecordLength: 1_024,
    } as const;
    assert.equal(resolveOptions(small).maxRecordLength, 1_024);
    const identity = await identityFor("ML-DSA-87", 3);
    assert.throws(
      () => resolveOptions({ ...OPEN, identity, maxRecordLength: 4_096 }),
      /at least 7247 for the ML-DSA-87 authentication/,
    );
    assert.deepEqual(
      largestOutgoingRecord({ ...DEFAULT_PREFERENCES, extenders: 1_000, backend: nobleBackend }),
      { length: 2 + 16_000 + 4 + 21, message: "session init" },
    );
  });
});

Deno.test("Session enforces maxRecordLength when sending and when receiving", async (t) => {
  await t.step("send() cuts data into records no longer than maxRecordLength", async () => {
    const [a, b] = createMemoryPair();
    const sizes: number[] = [];
    const { client, server } = await readyPair(a, b, {
      maxRecordLength: 4_096,
      onTrace: (event: { type: string; direction?: string; size?: number }) => {
        if (event.type === "frame" && event.direction === "sent") sizes.push(event.size!);
      },
    }, { maxRecordLength: 4_096 });
    let received = 0;
    server.on("message", ({ data }) => void (received += data.length));
    sizes.length = 0;
    await client.send(CHAT, new Uint8Array(50_000));
    await client.close();
    await server.closed;
    assert.equal(received, 50_000);
    assert.ok(sizes.length >= 13, String(sizes.length));
    // 3 bytes of masked length, then at most maxRecordLength bytes of ciphertext.
    assert.ok(sizes.every((size) => size <= 3 + 4_096), String(sizes));
  });

  await t.step(
    "a record above the receiver's limit fails it with ERR_FRAME_TOO_LARGE",
    async () => {
      const [a, b] = createMemoryPair();
      const { client, server } = await readyPair(a, b, { maxRecordLength: 65_536 }, {
        maxRecordLength: 4_096,
      });
      let delivered = 0;
      server.on("message", () => delivered++);
      await client.send(CHAT, new Uint8Array(10_000));
      assert.equal((await server.closed).code, ErrorCode.FRAME_TOO_LARGE);
      assert.equal(delivered, 0);
      await client.closed;
    },
  );
});

Deno.test("Session writeTimeout fails a session whose writes stall, and only then", async (t) => {
  await t.step("a write held past writeTimeout ends the session with ERR_TIMEOUT", async () => {
    const clock = new SimulatedClock();
    const [a, b] = createMemoryPair();
    const held = gated(a);
    const { client, server } = await readyPair(held.transport, b, { clock, writeTimeout: 500 });
    held.hold();
    let ended = false;
    void client.closed.then(() => (ended = true));
    let outcome: string | undefined;
    client.send(CHAT, new Uint8Array(100)).then(
      () => (outcome = "sent"),
      (error) => (outcome = codeOf(error)),
    );
    await waitFor(() => held.stalled === 1, { what: "the write to stall" });
    clock.increment(499);
    await idle();
    assert.equal(outcome, undefined);
    assert.equal(ended, false);
    clock.increment(1);
    await waitFor(() => ended, { what: "the watchdog to end the session" });
    assert.equal(ended, true, "the watchdog ended the session at 500 ms");
    const info = await client.closed;
    assert.deepEqual(info, { code: ErrorCode.TIMEOUT, local: true });
    await waitFor(() => outcome !== undefined, { what: "the waiting send to settle" });
    assert.equal(outcome, ErrorCode.TIMEOUT, "the waiting send learns why");
    // A stream's abort waits for the write in its sink; once the sink gives
    // way, the abort goes through and the peer learns the transport is gone.
    held.release();
    assert.equal((await server.closed).code, ErrorCode.TRANSPORT_CLOSED);
  });

  await t.step("slow writes that each finish in time do not", async () => {
    const clock = new SimulatedClock();
    const [a, b] = createMemoryPair();
    const held = gated(a);
    const { client, server } = await readyPair(held.transport, b, { clock, writeTimeout: 500 });
    let received = 0;
    server.on("message", () => received++);
    for (let i = 0; i < 4; i++) {
      held.hold();
      const sent = client.send(CHAT, new Uint8Array(10));
      await waitFor(() => held.stalled === i + 1, { what: `write ${i + 1} to stall` });
      clock.increment(400); // 1,600 ms in all, but never 500 for one write
      held.release();
      await sent;
    }
    await waitFor(() => received === 4, { what: "four messages" });
    assert.equal(received, 4);
    assert.equal(client.state, "ready");
    await client.close();
    await server.closed;
  });

  await t.step("is validated", () => {
    for (const writeTimeout of [0, 3_600_001, Number.NaN]) {
      assert.throws(() => initiate(createMemoryPair()[0], { ...OPEN, writeTimeout }), RangeError);
    }
  });
});

Deno.test("respond() fails with ERR_TIMEOUT at timeouts.handshake even when no phase timed out", async () => {
  const clock = new SimulatedClock();
  const [a, b] = createMemoryPair();
  const server = respond(b, {
    ...OPEN,
    clock,
    timeouts: { phase: 10_000, handshake: 300 },
  });
  // The initiator reads but never answers: every wait is a stall.
  a.readable.pipeTo(new WritableStream()).catch(() => {});
  let settled: string | undefined;
  server.ready.then(() => (settled = "ready"), (error) => (settled = codeOf(error)));
  // The statechart runs from respond() on: its deadlines are armed on the clock.
  await waitFor(() => server.state !== "", { what: "the responder's statechart to start" });
  clock.increment(299);
  await idle();
  assert.equal(settled, undefined);
  clock.increment(1);
  await waitFor(() => settled !== undefined, { what: "ready to settle" });
  assert.equal(settled, ErrorCode.TIMEOUT);
  assert.equal((await server.closed).code, ErrorCode.TIMEOUT);
});

Deno.test("Listener refuses beyond maxHandshakes, maxSessions and maxConnectionsPerAddress, naming the limit", async (t) => {
  await t.step("maxHandshakes and maxSessions", async () => {
    const listener = new Listener({ ...OPEN, maxHandshakes: 2, maxSessions: 3 });
    const failures: ListenerFailure[] = [];
    listener.on("failure", (failure) => failures.push(failure));
    const clients: Session[] = [];
    const dial = (i: number): Session | undefined => {
      const [a, b] = createMemoryPair();
      const accepted = listener.accept(b, `10.0.0.${i}:1`);
      if (accepted !== undefined) clients.push(initiate(a, OPEN));
      return accepted;
    };
    assert.ok(dial(1) && dial(2));
    assert.equal(dial(3), undefined);
    assert.deepEqual(failures.map((f) => [f.code, f.stage, f.limit]), [
      [ErrorCode.RESOURCE_LIMIT, "refused", "handshakes"],
    ]);
    await Promise.all(clients.map((client) => client.ready));
    assert.ok(dial(4));
    await clients.at(-1)!.ready;
    assert.equal(dial(5), undefined);
    assert.equal(failures.at(-1)?.limit, "sessions");
    await listener.close();
  });

  await t.step("maxConnectionsPerAddress per host, refilled over perAddressInterval", async () => {
    const clock = new SimulatedClock();
    const listener = new Listener({
      ...OPEN,
      clock,
      maxConnectionsPerAddress: 2,
      perAddressInterval: 1_000,
    });
    const failures: ListenerFailure[] = [];
    listener.on("failure", (failure) => failures.push(failure));
    const clients: Session[] = [];
    const dial = (address: string): boolean => {
      const [a, b] = createMemoryPair();
      const accepted = listener.accept(b, address) !== undefined;
      if (accepted) clients.push(initiate(a, { ...OPEN, clock }));
      return accepted;
    };
    assert.deepEqual(
      ["192.0.2.1:1", "192.0.2.1:2", "192.0.2.1:3", "192.0.2.2:1", "[2001:db8::1]:1"].map(dial),
      [true, true, false, true, true],
    );
    assert.deepEqual(failures.map((f) => [f.remoteAddress, f.code, f.limit]), [
      ["192.0.2.1:3", ErrorCode.RESOURCE_LIMIT, "perAddress"],
    ]);
    clock.increment(500);
    assert.deepEqual(["192.0.2.1:4", "192.0.2.1:5"].map(dial), [true, false]);
    await Promise.all(clients.map((client) => client.ready));
    await listener.close();
  });

  await t.step("rejects bad per-address options with RangeError", () => {
    for (const value of [0, -1, 1.5, NaN]) {
      assert.throws(
        () => new Listener({ ...OPEN, maxConnectionsPerAddress: value }),
        RangeError,
        "maxConnectionsPerAddress",
      );
    }
    for (const value of [0, -5, Infinity, NaN]) {
      assert.throws(
        () => new Listener({ ...OPEN, perAddressInterval: value }),
        RangeError,
        "perAddressInterval",
      );
    }
    void new Listener({ ...OPEN, maxConnectionsPerAddress: Infinity }).close();
  });
});

Deno.test("listenTcp() and listenWebSocket() refuse a host over maxConnectionsPerAddress with ERR_RESOURCE_LIMIT", async () => {
  const tcp = listenTcp({}, { ...OPEN, maxConnectionsPerAddress: 2 });
  const ws = listenWebSocket({}, { ...OPEN, maxConnectionsPerAddress: 1 });
  const failures: ListenerFailure[] = [];
  tcp.on("failure", (failure) => failures.push(failure));
  ws.on("failure", (failure) => failures.push(failure));

  const tcpClients = await Promise.all(
    [1, 2, 3].map(() => connectTcp({ port: tcp.addr.port }, OPEN)),
  );
  const tcpOutcomes = await Promise.all(
    tcpClients.map((client) => client.ready.then(() => "ready", (error) => codeOf(error))),
  );
  assert.deepEqual(tcpOutcomes.filter((outcome) => outcome === "ready").length, 2);
  const url = `ws://127.0.0.1:${ws.addr.port}/`;
  const wsClients = [await connectWebSocket(url, OPEN), await connectWebSocket(url, OPEN)];
  const wsOutcomes = await Promise.all(
    wsClients.map((client) => client.ready.then(() => "ready", (error) => codeOf(error))),
  );
  assert.equal(wsOutcomes[0], "ready");
  assert.notEqual(wsOutcomes[1], "ready");
  assert.deepEqual(
    failures.map((f) => [addressHost(f.remoteAddress), f.code, f.stage, f.limit]),
    [
      ["127.0.0.1", ErrorCode.RESOURCE_LIMIT, "refused", "perAddress"],
      ["127.0.0.1", ErrorCode.RESOURCE_LIMIT, "refused", "perAddress"],
    ],
  );
  await Promise.all([...tcpClients, ...wsClients].map((client) => client.close()));
  await Promise.all([tcp.close(), ws.close()]);
});

/**
 * A bounded load test on 127.0.0.1: many honest TCP handshakes in flight at
 * once while a tenth of the connections are hostile.
 *
 * One TCP listener (an Ed25519 identity, anonymous clients) takes 1,000
 * honest clients, all dialled at once and kept open until every one is
 * ready, and about 111 hostile connections mixed in among them (10% of all):
 *
 * - `garbage`: a few KiB of random bytes, then waits;
 * - `stall`: connects and says nothing;
 * - `flood`: random bytes as fast as the socket takes them (at most 8 MiB);
 * - `slowDrip`: a real initiator whose bytes leave one at a time, 200 ms apart;
 * - `disconnect`: a real initiator that hangs up in the middle of the handshake.
 *
 * It prints how many honest handshakes completed, how the listener rejected
 * each hostile connection (by reason code, from its `failure` events), the
 * peak memory (RSS and V8 heap, sampled every 50 ms, and the heap left after
 * everything closed and a GC), the peak of concurrent handshakes and the
 * duration, then exits: 0 if every honest handshake completed and every
 * hostile connection was rejected within the heap budget, 1 otherwise. It
 * gives up after two minutes.
 *
 * Run:
 *
 * ```sh
 * deno task stress
 * QGATE_STRESS_HONEST=60 deno run --allow-net=127.0.0.1 --allow-env --v8-flags=--expose-gc examples/stress.ts
 * ```
 *
 * Knobs (environment): `QGATE_STRESS_HONEST` (honest clients, default
 * 1000), `QGATE_STRESS_HOSTILE_PERCENT` (share of hostile connections,
 * default 10), `QGATE_STRESS_PHASE_TIMEOUT` (the listener's phase timeout in
 * ms, default 10000; the handshake timeout is twice that),
 * `QGATE_STRESS_CLIENT_TIMEOUT` (the honest clients' handshake timeout in
 * ms, default 60000), `QGATE_STRESS_MAX_HEAP_MB` (the heap budget, default
 * 2048).
 *
 * @module
 */

import {
  AccessManager,
  connectTcp,
  derivePeerUuid,
  formatUuid,
  initiate,
  type ListenerFailure,
  listenTcp,
  nobleBackend,
  seededRandom,
  type Session,
  type TcpListener,
} from "../mod.ts";

/** The kinds of hostile connection. */
export type HostileKind = "garbage" | "stall" | "flood" | "slowDrip" | "disconnect";

const HOSTILE_KINDS: readonly HostileKind[] = [
  "garbage",
  "stall",
  "flood",
  "slowDrip",
  "disconnect",
];

/** What to run. */
export interface StressOptions {
  /** Honest clients. */
  readonly honest: number;
  /** Share of all connections that are hostile, in percent. */
  readonly hostilePercent: number;
  /** The listener's phase timeout in ms (its handshake timeout is twice that). */
  readonly phaseTimeout: number;
  /** The honest clients' handshake timeout in ms. */
  readonly clientTimeout: number;
  /** Heap budget in MiB. */
  readonly maxHeapMb: number;
  /** Gives up after this many ms. */
  readonly deadline: number;
}

/** What happened. */
export interface StressReport {
  readonly honestTotal: number;
  readonly honestCompleted: number;
  /** Honest failures by reason code. */
  readonly honestFailures: Record<string, number>;
  readonly hostileTotal: number;
  /** Hostile connections by kind, then the listener's reason codes. */
  readonly hostile: Record<HostileKind, { total: number; codes: Record<string, number> }>;
  readonly hostileRejected: number;
  readonly peakHandshakes: number;
  readonly peakRssMb: number;
  readonly peakHeapMb: number;
  /** Heap after a GC before the test (`undefined` without `--expose-gc`). */
  readonly heapBeforeMb: number | undefined;
  /** Heap after everything closed and a GC (`undefined` without `--expose-gc`). */
  readonly heapAfterMb: number | undefined;
  readonly durationMs: number;
  /** Honest handshake times, ms: median and 99th percentile. */
  readonly handshakeP50: number;
  readonly handshakeP99: number;
  readonly timedOut: boolean;
  /** Whether every check passed. */
  readonly ok: boolean;
}

const MIB = 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tally(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed by the peer or a session.
  }
}

/** Reads until the peer closes; a hostile client never writes a byte more than it means to. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  try {
    while ((await conn.read(buffer)) !== null) {
      // Discard.
    }
  } catch {
    // Reset by the listener.
  }
}

/** One hostile connection; resolves once the listener has dropped it. */
async function hostile(kind: HostileKind, port: number, seed: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const address = `127.0.0.1:${conn.localAddr.port}`;
  const random = seededRandom(new Uint8Array([seed & 0xff, seed >> 8, 7]));
  const done = (async (): Promise<void> => {
    switch (kind) {
      case "garbage": {
        const reading = drain(conn);
        await conn.write(random(4_096)).catch(() => {});
        await reading;
        break;
      }
      case "stall":
        await drain(conn);
        break;
      case "flood": {
        const reading = drain(conn);
        const chunk = random(64 * 1024);
        for (let sent = 0; sent < 8 * MIB; sent += chunk.length) {
          try {
            await conn.write(chunk);
          } catch {
            break;
          }
        }
        await reading;
        break;
      }
      case "slowDrip":
      case "disconnect": {
        const writer = new WritableStream<Uint8Array>({
          async write(chunk): Promise<void> {
            if (kind === "disconnect") {
              await conn.write(chunk);
              return;
            }
            for (const byte of chunk) {
              await sleep(200);
              await conn.write(new Uint8Array([byte]));
            }
          },
        });
        const session = initiate({ readable: conn.readable, writable: writer }, {
          requireAuthentication: false,
          random,
          backend: nobleBackend,
        });
        if (kind === "disconnect") {
          session.on("state", ({ state }) => {
            if (state.startsWith("primaryKeyExchange")) closeQuietly(conn);
          });
        }
        await session.closed;
        break;
      }
    }
  })();
  await done.catch(() => {});
  closeQuietly(conn);
  return address;
}

/**
 * Runs the load test.
 *
 * @param options Sizes, timeouts and budgets.
 * @param log Where progress lines go.
 * @returns The figures.
 */
export async function runStress(
  options: StressOptions,
  log: (line: string) => void = () => {},
): Promise<StressReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = gc === undefined ? undefined : Deno.memoryUsage().heapUsed;
  const started = performance.now();
  const hostileTotal = Math.round(
    (options.honest * options.hostilePercent) / (100 - options.hostilePercent),
  );
  const serverIdentity = await nobleBackend.signature("Ed25519")!.generateKeyPair({
    seed: new Uint8Array(32).fill(42),
  });
  const knowsServer = new AccessManager();
  knowsServer.addPeer(
    formatUuid(derivePeerUuid("Ed25519", serverIdentity.publicKey)),
    serverIdentity.publicKey,
  );

  // Limits sized for the test: every honest client is admitted at once, all from 127.0.0.1.
  const total = options.honest + hostileTotal;
  const listener: TcpListener = listenTcp({}, {
    identity: serverIdentity,
    requireAuthentication: false,
    maxHandshakes: total + 64,
    maxSessions: total + 64,
    maxConnectionsPerAddress: Infinity,
    timeouts: { phase: options.phaseTimeout, handshake: 2 * options.phaseTimeout },
  });
  const port = listener.addr.port;
  const failures = new Map<string, ListenerFailure[]>();
  listener.on("failure", (failure) => {
    const list = failures.get(failure.remoteAddress) ?? [];
    list.push(failure);
    failures.set(failure.remoteAddress, list);
  });

  let peakRss = 0;
  let peakHeap = 0;
  let peakHandshakes = 0;
  const sample = (): void => {
    const usage = Deno.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakHandshakes = Math.max(peakHandshakes, listener.handshakes);
  };
  const sampler = setInterval(sample, 50);

  // Hostile connections are spread evenly among the honest ones.
  const order: ("honest" | HostileKind)[] = [];
  for (let i = 0, h = 0; i < total; i++) {
    const dueHostile = Math.floor(((i + 1) * hostileTotal) / total) > h;
    order.push(dueHostile ? HOSTILE_KINDS[h++ % HOSTILE_KINDS.length]! : "honest");
  }

  const honestFailures: Record<string, number> = {};
  const times: number[] = [];
  const sessions: Session[] = [];
  const hostileRuns: Promise<{ kind: HostileKind; address: string }>[] = [];
  const honestRuns: Promise<void>[] = [];
  log(
    `qgate stress: ${options.honest} honest + ${hostileTotal} hostile TCP connections on 127.0.0.1 (${
      ((100 * hostileTotal) / total).toFixed(1)
    }% hostile)`,
  );
  order.forEach((kind, index) => {
    if (kind !== "honest") {
      hostileRuns.push(
        hostile(kind, port, index).then(
          (address) => ({ kind, address }),
          () => ({ kind, address: "unconnected" }),
        ),
      );
      return;
    }
    const start = performance.now();
    honestRuns.push((async () => {
      try {
        const session = await connectTcp({ port }, {
          requireAuthentication: true,
          accessManager: knowsServer,
          timeouts: { phase: options.clientTimeout, handshake: options.clientTimeout },
        });
        sessions.push(session);
        await session.ready;
        times.push(performance.now() - start);
      } catch (error) {
        tally(honestFailures, (error as { code?: string }).code ?? String(error));
      }
    })());
  });

  let timedOut = false;
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    deadlineTimer = setTimeout(() => {
      timedOut = true;
      resolve();
    }, options.deadline);
  });
  await Promise.race([Promise.all(honestRuns), deadline]);
  const honestDone = performance.now();
  log(`honest clients settled after ${((honestDone - started) / 1000).toFixed(1)} s`);
  const hostileResults = await Promise.race([Promise.all(hostileRuns), deadline.then(() => [])]);
  // Every hostile connection has been dropped; its failure event has fired by then.
  await sleep(100);

  clearTimeout(deadlineTimer);
  await Promise.all(sessions.map((session) => session.close()));
  await listener.close();
  clearInterval(sampler);
  sample();
  let heapAfter: number | undefined;
  if (gc !== undefined) {
    await sleep(50);
    gc();
    gc();
    heapAfter = Deno.memoryUsage().heapUsed;
  }

  const byKind = Object.fromEntries(
    HOSTILE_KINDS.map((kind) => [kind, { total: 0, codes: {} as Record<string, number> }]),
  ) as Record<HostileKind, { total: number; codes: Record<string, number> }>;
  let hostileRejected = 0;
  for (const { kind, address } of hostileResults) {
    byKind[kind].total++;
    const failure = failures.get(address)?.[0];
    if (failure !== undefined) {
      hostileRejected++;
      tally(byKind[kind].codes, failure.code);
    } else {
      tally(byKind[kind].codes, "not rejected");
    }
  }
  times.sort((a, b) => a - b);
  const honestCompleted = times.length;
  const report: StressReport = {
    honestTotal: options.honest,
    honestCompleted,
    honestFailures,
    hostileTotal,
    hostile: byKind,
    hostileRejected,
    peakHandshakes,
    peakRssMb: peakRss / MIB,
    peakHeapMb: peakHeap / MIB,
    heapBeforeMb: heapBefore === undefined ? undefined : heapBefore / MIB,
    heapAfterMb: heapAfter === undefined ? undefined : heapAfter / MIB,
    durationMs: performance.now() - started,
    handshakeP50: percentile(times, 50),
    handshakeP99: percentile(times, 99),
    timedOut,
    ok: !timedOut && honestCompleted === options.honest && hostileRejected === hostileTotal &&
      peakHeap / MIB <= options.maxHeapMb,
  };
  return report;
}

/**
 * Formats a report as the lines the task prints.
 *
 * @param report The figures.
 * @returns The lines.
 */
export function formatReport(report: StressReport): string[] {
  const codes = (counts: Record<string, number>): string =>
    Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code} ${n}`)
      .join(", ") || "none";
  const lines = [
    `honest handshakes completed: ${report.honestCompleted}/${report.honestTotal} (failed: ${
      codes(report.honestFailures)
    })`,
    `handshake time: p50 ${(report.handshakeP50 / 1000).toFixed(2)} s, p99 ${
      (report.handshakeP99 / 1000).toFixed(2)
    } s`,
    `hostile connections rejected: ${report.hostileRejected}/${report.hostileTotal}`,
  ];
  for (const [kind, { total, codes: byCode }] of Object.entries(report.hostile)) {
    lines.push(`  ${kind.padEnd(10)} ${String(total).padStart(4)}: ${codes(byCode)}`);
  }
  lines.push(
    `peak concurrent handshakes (listener): ${report.peakHandshakes}`,
    `peak memory: RSS ${report.peakRssMb.toFixed(1)} MiB, heap ${
      report.peakHeapMb.toFixed(1)
    } MiB; heap after GC, before/after: ${
      report.heapAfterMb === undefined || report.heapBeforeMb === undefined
        ? "n/a (no --expose-gc)"
        : `${report.heapBeforeMb.toFixed(1)}/${report.heapAfterMb.toFixed(1)} MiB`
    }`,
    `duration: ${(report.durationMs / 1000).toFixed(1)} s${report.timedOut ? " (gave up)" : ""}`,
    `result: ${report.ok ? "ok" : "FAILED"}`,
  );
  return lines;
}

function envNumber(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot run stress test: "${name}" must be a positive number, got ${text}`,
    );
  }
  return value;
}

if (import.meta.main) {
  const options: StressOptions = {
    honest: Math.floor(envNumber("QGATE_STRESS_HONEST", 1_000)),
    hostilePercent: Math.min(90, envNumber("QGATE_STRESS_HOSTILE_PERCENT", 10)),
    phaseTimeout: envNumber("QGATE_STRESS_PHASE_TIMEOUT", 10_000),
    clientTimeout: envNumber("QGATE_STRESS_CLIENT_TIMEOUT", 60_000),
    maxHeapMb: envNumber("QGATE_STRESS_MAX_HEAP_MB", 2_048),
    deadline: 120_000,
  };
  const report = await runStress(options, (line) => console.log(line));
  for (const line of formatReport(report)) console.log(line);
  Deno.exit(report.ok ? 0 : 1);
}

/**
 * A bounded load test on 127.0.0.1: many honest TCP handshakes in flight at
 * once while a tenth of the connections are hostile.
 *
 * One TCP listener (an Ed25519 identity, anonymous clients, limits raised so
 * that every connection is admitted at once) takes 1,000 honest clients, all
 * dialled at once and kept open until every one is ready, and about 111
 * hostile connections mixed in among them (10% of all). With `--allow-read`
 * the clients run in a worker, on their own event loop and core, so the
 * listener's event loop serves only the listener; without it they share the
 * listener's event loop. The hostile kinds:
 *
 * - `garbage`: a few KiB of random bytes, then waits;
 * - `stall`: connects and says nothing;
 * - `flood`: random bytes as fast as the socket takes them (at most 8 MiB);
 * - `slowDrip`: a real initiator whose bytes leave one at a time, a second apart;
 * - `disconnect`: a real initiator that hangs up in the middle of the handshake.
 *
 * It prints how many honest handshakes completed, how the listener rejected
 * each hostile connection (by reason code, from its `failure` events), the
 * peak memory (the process's RSS and each side's V8 heap, sampled every
 * 50 ms, and the listener's heap after everything closed and a GC), the
 * peak of concurrent handshakes and the duration, then exits: 0 if every
 * honest handshake completed and every hostile connection was rejected within
 * the heap budget, 1 otherwise. It gives up after two minutes.
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
 * ms, default 30000, twice security level 1's: a thousand handshakes at once
 * on one event loop take about 10 s of CPU, more on a busy machine; stalled
 * peers are rejected when it expires, and the handshake timeout is twice
 * it), `QGATE_STRESS_CLIENT_TIMEOUT` (the honest clients' handshake timeout
 * in ms, default 60000), `QGATE_STRESS_MAX_HEAP_MB` (the budget for each
 * side's heap, default 1024).
 *
 * `deno task stress` grants no read access, so its clients share the
 * listener's event loop; `deno run --allow-read=. --allow-net=127.0.0.1
 * --allow-env --v8-flags=--expose-gc examples/stress.ts` runs them in a
 * worker.
 *
 * @module
 */

import {
  AccessManager,
  connectTcp,
  initiate,
  type ListenerFailure,
  listenTcp,
  nobleBackend,
  peerUuidOf,
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
  /** The whole process (listener and clients). */
  readonly peakRssMb: number;
  /** The listener's isolate. */
  readonly peakHeapMb: number;
  /** The clients' isolate (the worker), if they ran in one. */
  readonly clientPeakHeapMb: number | undefined;
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
              await sleep(1_000);
              await conn.write(new Uint8Array([byte]));
            }
          },
        });
        const session = initiate({ readable: conn.readable, writable: writer }, {
          requireAuthentication: false,
          random,
          backend: nobleBackend,
          // Patient: it is the listener that must give up on it.
          timeouts: { phase: 600_000, handshake: 600_000 },
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

/** The worker that runs the clients is this module, under this name. */
const WORKER_NAME = "qgate-stress-clients";

/** What the listener side asks the clients' worker to do. */
interface ClientPlan {
  readonly port: number;
  readonly order: readonly ("honest" | HostileKind)[];
  readonly serverPublicKey: Uint8Array;
  readonly clientTimeout: number;
}

/** What the clients' worker reports back. */
interface ClientResults {
  readonly times: number[];
  readonly honestFailures: Record<string, number>;
  readonly hostile: { kind: HostileKind; address: string }[];
  readonly peakHeap: number;
}

/** Runs every client of the plan; resolves once all honest ones are ready and all hostile ones dropped. */
async function runClients(
  plan: ClientPlan,
): Promise<{ results: ClientResults; close: () => Promise<void> }> {
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, Deno.memoryUsage().heapUsed);
  }, 50);
  const knowsServer = new AccessManager();
  knowsServer.addPeer(
    peerUuidOf("Ed25519", plan.serverPublicKey),
    plan.serverPublicKey,
  );
  const honestFailures: Record<string, number> = {};
  const times: number[] = [];
  const sessions: Session[] = [];
  const hostileRuns: Promise<{ kind: HostileKind; address: string }>[] = [];
  const honestRuns: Promise<void>[] = [];
  plan.order.forEach((kind, index) => {
    if (kind !== "honest") {
      hostileRuns.push(
        hostile(kind, plan.port, index).then(
          (address) => ({ kind, address }),
          () => ({ kind, address: "unconnected" }),
        ),
      );
      return;
    }
    const start = performance.now();
    honestRuns.push((async () => {
      let stage = "connect";
      try {
        const session = await connectTcp({ port: plan.port }, {
          requireAuthentication: true,
          accessManager: knowsServer,
          timeouts: { phase: plan.clientTimeout, handshake: plan.clientTimeout },
        });
        stage = "handshake";
        sessions.push(session);
        await session.ready;
        times.push(performance.now() - start);
      } catch (error) {
        const code = (error as { code?: string }).code ?? String(error);
        tally(honestFailures, `${code} (${stage})`);
      }
    })());
  });
  await Promise.all(honestRuns);
  const hostileResults = await Promise.all(hostileRuns);
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, Deno.memoryUsage().heapUsed);
  return {
    results: { times, honestFailures, hostile: hostileResults, peakHeap },
    close: async () => {
      await Promise.all(sessions.map((session) => session.close().catch(() => {})));
    },
  };
}

/** The worker's side: runs the plan it is sent, reports, closes its sessions when told. */
function serveAsClientWorker(): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
    close(): void;
  };
  let close: (() => Promise<void>) | undefined;
  scope.onmessage = async (event: MessageEvent): Promise<void> => {
    if (event.data === "close") {
      await close?.();
      scope.postMessage("closed");
      return;
    }
    const ran = await runClients(event.data as ClientPlan);
    close = ran.close;
    scope.postMessage(ran.results);
  };
}

/** Where the clients run: in a worker, or on the caller's event loop. */
interface Clients {
  run(plan: ClientPlan): Promise<ClientResults>;
  close(): Promise<void>;
  dispose(): void;
}

function workerClients(): Clients {
  const worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
  const messages: ((data: unknown) => void)[] = [];
  worker.onmessage = (event: MessageEvent): void => messages.shift()?.(event.data);
  const ask = (message: unknown): Promise<unknown> => {
    const answer = new Promise<unknown>((resolve) => messages.push(resolve));
    worker.postMessage(message);
    return answer;
  };
  return {
    run: async (plan) => (await ask(plan)) as ClientResults,
    close: async () => void (await ask("close")),
    dispose: () => worker.terminate(),
  };
}

function inlineClients(): Clients {
  let close: (() => Promise<void>) | undefined;
  return {
    run: async (plan) => {
      const ran = await runClients(plan);
      close = ran.close;
      return ran.results;
    },
    close: async () => await close?.(),
    dispose: () => {},
  };
}

/**
 * Runs the load test: the listener here, the clients in a worker (or, without
 * read permission, on the same event loop).
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
  log(
    `qgate stress: ${options.honest} honest + ${hostileTotal} hostile TCP connections on 127.0.0.1 (${
      ((100 * hostileTotal) / total).toFixed(1)
    }% hostile)`,
  );

  // A worker needs read access to this module graph; without it the clients share our loop.
  const inWorker = Deno.permissions.querySync({
    name: "read",
    path: new URL("../", import.meta.url),
  }).state === "granted";
  log(
    inWorker
      ? "clients: in a worker (their own event loop)"
      : "clients: on the listener's event loop (grant --allow-read to run them in a worker)",
  );
  const clients = inWorker ? workerClients() : inlineClients();
  let timedOut = false;
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    deadlineTimer = setTimeout(() => {
      timedOut = true;
      resolve(undefined);
    }, options.deadline);
  });
  const plan: ClientPlan = {
    port: listener.addr.port,
    order,
    serverPublicKey: serverIdentity.publicKey,
    clientTimeout: options.clientTimeout,
  };
  const results = await Promise.race([clients.run(plan), deadline]);
  log(`clients settled after ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // Every hostile connection has been dropped; its failure event has fired by then.
  await sleep(100);
  clearTimeout(deadlineTimer);
  if (results !== undefined) await Promise.race([clients.close(), sleep(10_000)]);
  clients.dispose();
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
  for (const { kind, address } of results?.hostile ?? []) {
    byKind[kind].total++;
    const failure = failures.get(address)?.[0];
    if (failure !== undefined) {
      hostileRejected++;
      tally(byKind[kind].codes, failure.code);
    } else {
      tally(byKind[kind].codes, "not rejected");
    }
  }
  const times = [...(results?.times ?? [])].sort((a, b) => a - b);
  const honestCompleted = times.length;
  const clientPeakHeap = results?.peakHeap ?? 0;
  const report: StressReport = {
    honestTotal: options.honest,
    honestCompleted,
    honestFailures: results?.honestFailures ?? {},
    hostileTotal,
    hostile: byKind,
    hostileRejected,
    peakHandshakes,
    peakRssMb: peakRss / MIB,
    peakHeapMb: peakHeap / MIB,
    clientPeakHeapMb: inWorker ? clientPeakHeap / MIB : undefined,
    heapBeforeMb: heapBefore === undefined ? undefined : heapBefore / MIB,
    heapAfterMb: heapAfter === undefined ? undefined : heapAfter / MIB,
    durationMs: performance.now() - started,
    handshakeP50: percentile(times, 50),
    handshakeP99: percentile(times, 99),
    timedOut,
    ok: !timedOut && honestCompleted === options.honest && hostileRejected === hostileTotal &&
      peakHeap / MIB <= options.maxHeapMb &&
      (!inWorker || clientPeakHeap / MIB <= options.maxHeapMb),
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
    `peak memory: RSS ${report.peakRssMb.toFixed(1)} MiB (whole process), heap ${
      report.peakHeapMb.toFixed(1)
    } MiB (${
      report.clientPeakHeapMb === undefined
        ? "listener and clients"
        : `listener) + ${report.clientPeakHeapMb.toFixed(1)} MiB (clients`
    })`,
    `listener heap after GC, before/after: ${
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

if ((globalThis as { name?: string }).name === WORKER_NAME) {
  serveAsClientWorker();
} else if (import.meta.main) {
  const options: StressOptions = {
    honest: Math.floor(envNumber("QGATE_STRESS_HONEST", 1_000)),
    hostilePercent: Math.min(90, envNumber("QGATE_STRESS_HOSTILE_PERCENT", 10)),
    phaseTimeout: envNumber("QGATE_STRESS_PHASE_TIMEOUT", 30_000),
    clientTimeout: envNumber("QGATE_STRESS_CLIENT_TIMEOUT", 60_000),
    maxHeapMb: envNumber("QGATE_STRESS_MAX_HEAP_MB", 1_024),
    deadline: 120_000,
  };
  const report = await runStress(options, (line) => console.log(line));
  for (const line of formatReport(report)) console.log(line);
  Deno.exit(report.ok ? 0 : 1);
}

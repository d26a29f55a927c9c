/**
 * The benchmark summary: every comparison the performance targets name,
 * measured in one run with interleaved rounds, printed side by side with the
 * ratio and the target.
 *
 * Each comparison alternates its baseline and its subject for several
 * rounds and reports aggregate rates over all rounds, so a burst of load from
 * other processes falls on both sides of a ratio alike.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read --allow-env --v8-flags=--expose-gc tests/bench/summary.ts`
 * (`--quick` for a short, noisier run).
 */

import type { CryptoBackend } from "../../src/crypto/mod.ts";
import { libp2pNoiseHandshake } from "./_libp2p_noise.ts";
import { autoBackend, nobleBackend } from "../../mod.ts";
import {
  concurrentHandshakes,
  cryptoFloor,
  freeCryptoBackend,
  memoryHandshake,
  memoryPerSession,
  type MemoryReport,
  ONE_RECORD,
  type Peers,
  peers,
  protocolFloor,
  rawAead,
  recordTransfer,
  type Scenario,
  tcpHandshake,
  tlsHandshake,
} from "./_scenarios.ts";

/** How long and how thoroughly to measure. */
export interface SummaryOptions {
  /** Time per scenario per round, in ms. */
  readonly slice: number;
  /** Interleaved rounds per comparison. */
  readonly rounds: number;
  /** Sessions held for the memory measurement. */
  readonly memorySessions: number;
  /** Sessions held for the TCP memory measurement (each holds a socket: mind `ulimit -n`). */
  readonly tcpMemorySessions: number;
  /** Record sizes in bytes. */
  readonly recordSizes: readonly number[];
  /** Concurrency levels for the handshake rate. */
  readonly concurrency: readonly number[];
}

/** The full run: about two minutes on a quiet 2-core machine. */
export const FULL: SummaryOptions = {
  slice: 400,
  rounds: 5,
  memorySessions: 10_000,
  tcpMemorySessions: 600,
  recordSizes: [64, 1024, 16_384, ONE_RECORD],
  concurrency: [1, 10, 100],
};

/** A short run for a quick look (noisier). */
export const QUICK: SummaryOptions = {
  slice: 150,
  rounds: 3,
  memorySessions: 1_000,
  tcpMemorySessions: 200,
  recordSizes: [64, 1024, 16_384, ONE_RECORD],
  concurrency: [1, 10, 100],
};

/** One line of the summary. */
export interface SummaryRow {
  /** The section. */
  readonly group: string;
  /** What was measured. */
  readonly subject: string;
  /** Its rate (operations per second) or, for memory, bytes per session. */
  readonly value: number;
  /** The unit of `value`. */
  readonly unit: string;
  /** What it is compared with, if anything. */
  readonly baseline?: string;
  /** The baseline's rate. */
  readonly baselineValue?: number;
  /** subject / baseline (aggregate rates over the interleaved rounds). */
  readonly ratio?: number;
  /** The target, as text, and whether it is met. */
  readonly target?: { readonly text: string; readonly met: boolean };
}

const DRAIN_KEY = crypto.subtle.importKey("raw", new Uint8Array(32), "AES-GCM", false, [
  "encrypt",
]);

/**
 * Waits until the runtime's blocking pool is idle. Every closed Deno TLS
 * connection leaves about 2 ms of waiting there (no CPU) and WebCrypto calls
 * queue behind it; one untimed WebCrypto call absorbs that wait, so the
 * native backend is not charged for the TLS baseline's leftovers.
 */
async function drain(): Promise<void> {
  await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: new Uint8Array(12) },
    await DRAIN_KEY,
    new Uint8Array(0),
  );
}

/** Runs `scenario` for about `ms` milliseconds; returns runs and elapsed ms. */
async function timed(scenario: Scenario, ms: number): Promise<{ runs: number; elapsed: number }> {
  let runs = 0;
  const start = performance.now();
  do {
    await scenario.run();
    runs++;
  } while (performance.now() - start < ms);
  return { runs, elapsed: performance.now() - start };
}

/**
 * Alternates baseline and subject for `rounds` rounds of `slice` ms each and
 * returns both aggregate rates (operations per second over all rounds) and
 * their ratio. `perRun` is how many operations one `run()` performs.
 */
async function compare(
  subject: Scenario,
  baseline: Scenario,
  options: SummaryOptions,
  perRun: { subject: number; baseline: number } = { subject: 1, baseline: 1 },
): Promise<{ subject: number; baseline: number; ratio: number }> {
  await subject.run(); // warm up both (JIT, first-use costs)
  await baseline.run();
  const totals = { subject: { runs: 0, elapsed: 0 }, baseline: { runs: 0, elapsed: 0 } };
  for (let round = 0; round < options.rounds; round++) {
    for (const [key, scenario] of [["baseline", baseline], ["subject", subject]] as const) {
      await drain();
      const { runs, elapsed } = await timed(scenario, options.slice);
      totals[key].runs += runs;
      totals[key].elapsed += elapsed;
    }
  }
  const rateOf = (key: "subject" | "baseline"): number =>
    (totals[key].runs * perRun[key] * 1000) / totals[key].elapsed;
  const result = { subject: rateOf("subject"), baseline: rateOf("baseline") };
  return { ...result, ratio: result.subject / result.baseline };
}

function backendLabel(backend: CryptoBackend): string {
  return backend === nobleBackend ? "noble" : "native (autoBackend)";
}

/**
 * The protocol's own work, as a ratio to the native crypto floor. The target
 * is <= 0.8 ms per handshake (both sides) on a machine whose native floor is
 * ~1,600 handshakes/s (0.625 ms): a rate >= 0.625 / 0.8 = 0.78x that floor,
 * which holds on any machine as a ratio measured in one run.
 */
const FREE_CRYPTO_TARGET = 0.625 / 0.8;

async function handshakeRows(ids: Peers, options: SummaryOptions): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  for (const [backend, target] of [[nobleBackend, 0.8], [autoBackend, 0.5]] as const) {
    const label = backendLabel(backend);
    const result = await compare(
      memoryHandshake(backend, ids),
      cryptoFloor(backend, ids),
      options,
    );
    rows.push({
      group: "handshake in memory vs crypto floor",
      subject: `qgate handshake, ${label}`,
      value: result.subject,
      unit: "handshakes/s",
      baseline: `crypto floor, ${label}`,
      baselineValue: result.baseline,
      ratio: result.ratio,
      target: { text: `>= ${target}x`, met: result.ratio >= target },
    });
  }
  const free = await compare(
    memoryHandshake(freeCryptoBackend(autoBackend), ids),
    cryptoFloor(autoBackend, ids),
    options,
  );
  rows.push({
    group: "handshake with free key exchanges and signatures (the protocol's own work)",
    subject: `qgate handshake, ${(1000 / free.subject).toFixed(2)} ms`,
    value: free.subject,
    unit: "handshakes/s",
    baseline: "crypto floor, native (autoBackend)",
    baselineValue: free.baseline,
    ratio: free.ratio,
    target: {
      text: `>= ${FREE_CRYPTO_TARGET.toFixed(2)}x (<= 0.8 ms at a 1,600/s floor)`,
      met: free.ratio >= FREE_CRYPTO_TARGET,
    },
  });
  const libp2p = await libp2pNoiseHandshake();
  try {
    const versus = await compare(memoryHandshake(autoBackend, ids), libp2p, options);
    rows.push({
      group: "handshake in memory vs js-libp2p-noise XX (both sides and close)",
      subject: "qgate handshake, native (autoBackend)",
      value: versus.subject,
      unit: "handshakes/s",
      baseline: "libp2p Noise XX (X25519, ChaChaPoly, Ed25519 ids)",
      baselineValue: versus.baseline,
      ratio: versus.ratio,
      target: { text: "> 1x", met: versus.ratio > 1 },
    });
  } finally {
    await libp2p.close();
  }
  // For reference, no target: the floor of every primitive a handshake calls,
  // so the ratio shows what the protocol machinery alone costs.
  for (const backend of [nobleBackend, autoBackend]) {
    const label = backendLabel(backend);
    const result = await compare(
      memoryHandshake(backend, ids),
      await protocolFloor(backend, ids),
      options,
    );
    rows.push({
      group: "handshake in memory vs every primitive it calls (for reference)",
      subject: `qgate handshake, ${label}`,
      value: result.subject,
      unit: "handshakes/s",
      baseline: `all its crypto, ${label}`,
      baselineValue: result.baseline,
      ratio: result.ratio,
    });
  }
  return rows;
}

async function tcpRows(ids: Peers, options: SummaryOptions): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  const tls = await tlsHandshake();
  try {
    for (const backend of [autoBackend, nobleBackend]) {
      const qgate = tcpHandshake(backend, ids);
      try {
        const result = await compare(qgate, tls, options);
        rows.push({
          group: "handshake over loopback TCP vs Deno TLS 1.3",
          subject: `qgate over TCP, ${backendLabel(backend)}`,
          value: result.subject,
          unit: "handshakes/s",
          baseline: "Deno.startTls (rustls, P-256 cert)",
          baselineValue: result.baseline,
          ratio: result.ratio,
          target: { text: ">= 0.33x", met: result.ratio >= 1 / 3 },
        });
      } finally {
        await qgate.close();
      }
    }
  } finally {
    await tls.close();
  }
  return rows;
}

async function recordRows(ids: Peers, options: SummaryOptions): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  for (const backend of [autoBackend, nobleBackend]) {
    for (const size of options.recordSizes) {
      const transfer = await recordTransfer(backend, ids, size);
      const raw = rawAead(backend, size);
      try {
        const result = await compare(transfer, raw, options);
        const target = size >= 16_384 ? 0.9 : size >= 1024 ? 0.6 : undefined;
        rows.push({
          group: "record throughput vs raw AEAD (ChaCha20-Poly1305)",
          subject: `${size} B records${size === ONE_RECORD ? " (one record)" : ""}, ${
            backendLabel(backend)
          }`,
          value: (result.subject * size) / 1_048_576,
          unit: "MiB/s",
          baseline: "seal + open",
          baselineValue: (result.baseline * size) / 1_048_576,
          ratio: result.ratio,
          ...(target === undefined || backend !== autoBackend
            ? {}
            : { target: { text: `>= ${target}x`, met: result.ratio >= target } }),
        });
      } finally {
        await transfer.close();
        await raw.close();
      }
    }
  }
  return rows;
}

async function concurrencyRows(ids: Peers, options: SummaryOptions): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  for (const backend of [autoBackend, nobleBackend]) {
    const one = concurrentHandshakes(backend, ids, 1);
    for (const count of options.concurrency) {
      const scenario = concurrentHandshakes(backend, ids, count);
      // Each round runs at least one full batch, so the slice stretches for 100 at a time.
      const result = await compare(scenario, one, options, { subject: count, baseline: 1 });
      rows.push({
        group: "handshakes/s by concurrency (in memory)",
        subject: `${count} concurrent, ${backendLabel(backend)}`,
        value: result.subject,
        unit: "handshakes/s",
        baseline: "1 at a time",
        baselineValue: result.baseline,
        ratio: result.ratio,
      });
    }
  }
  return rows;
}

function memoryRows(report: MemoryReport): SummaryRow[] {
  const group = `memory per idle established session (${report.sessions} sessions, ${
    report.gcForced ? "after forced GC" : "NO forced GC: run with --v8-flags=--expose-gc"
  })`;
  const total = report.heapPerSession + report.externalPerSession;
  return [
    {
      group,
      subject: "JS heap + external per session",
      value: total,
      unit: "bytes",
      target: { text: "<= 16 KiB", met: total <= 16_384 },
    },
    { group, subject: "JS heap per session", value: report.heapPerSession, unit: "bytes" },
    { group, subject: "external per session", value: report.externalPerSession, unit: "bytes" },
    { group, subject: "RSS growth per session", value: report.rssPerSession, unit: "bytes" },
  ];
}

/**
 * Idle sessions over loopback TCP: wrapped by `connTransport` vs handed over
 * as `Deno.Conn` (whose pending read holds a 64 KiB buffer). JS heap +
 * external only: the resident set grows by whatever the allocator does not
 * reuse from the sections before, which says little per session.
 */
function tcpMemoryRows(wrapped: MemoryReport, conn: MemoryReport): SummaryRow[] {
  const group = `memory per idle TCP session (${wrapped.sessions} sessions, sockets included${
    wrapped.gcForced ? "" : ", NO forced GC"
  })`;
  const total = (report: MemoryReport): number => report.heapPerSession + report.externalPerSession;
  return [
    {
      group,
      subject: "connTransport(conn) (connectTcp)",
      value: total(wrapped),
      unit: "bytes",
      baseline: "the Deno.Conn itself",
      baselineValue: total(conn),
      ratio: total(wrapped) / total(conn),
    },
    {
      group,
      subject: "external, connTransport(conn)",
      value: wrapped.externalPerSession,
      unit: "bytes",
    },
    {
      group,
      subject: "external, the Deno.Conn itself",
      value: conn.externalPerSession,
      unit: "bytes",
    },
  ];
}

/**
 * Measures every comparison and returns the rows (the printer formats them).
 *
 * @param options Budget and sizes.
 * @param progress Called with each finished section, e.g. to print as it goes.
 * @returns All rows in order.
 */
export async function summarize(
  options: SummaryOptions,
  progress: (rows: SummaryRow[]) => void = () => {},
): Promise<SummaryRow[]> {
  const ids = await peers();
  const all: SummaryRow[] = [];
  const sections = [
    () => handshakeRows(ids, options),
    () => tcpRows(ids, options),
    () => recordRows(ids, options),
    () => concurrencyRows(ids, options),
    async () => memoryRows(await memoryPerSession(autoBackend, ids, options.memorySessions)),
    async () =>
      tcpMemoryRows(
        await memoryPerSession(autoBackend, ids, options.tcpMemorySessions, "tcp"),
        await memoryPerSession(autoBackend, ids, options.tcpMemorySessions, "tcp-conn"),
      ),
  ];
  for (const section of sections) {
    const rows = await section();
    all.push(...rows);
    progress(rows);
  }
  return all;
}

function format(value: number, unit: string): string {
  if (unit === "bytes") return `${(value / 1024).toFixed(1)} KiB`;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
}

/**
 * Formats rows as a plain-text table, one section per group.
 *
 * @param rows The rows of one or more sections.
 * @returns The table.
 */
export function formatRows(rows: readonly SummaryRow[]): string {
  const lines: string[] = [];
  let group = "";
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      lines.push("", `## ${group}`);
    }
    const parts = [row.subject.padEnd(36), format(row.value, row.unit).padStart(18)];
    if (row.baseline !== undefined && row.baselineValue !== undefined) {
      parts.push(
        `  vs ${row.baseline}: ${format(row.baselineValue, row.unit)}`.padEnd(52),
        `ratio ${row.ratio!.toFixed(2)}x`,
      );
    }
    if (row.target !== undefined) {
      parts.push(`  target ${row.target.text}: ${row.target.met ? "met" : "NOT met"}`);
    }
    lines.push(parts.join(" "));
  }
  return lines.join("\n");
}

/** The 1/5/15-minute load average (other processes skew every rate), if permitted. */
function loadAverage(): string {
  try {
    return Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
  } catch {
    return "unavailable (grant --allow-sys=loadavg)";
  }
}

if (import.meta.main) {
  const options = Deno.args.includes("--quick") ? QUICK : FULL;
  console.log(
    `qgate benchmark summary — Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${
      Deno.args.includes("--quick") ? "quick" : "full"
    } run (${options.rounds} interleaved rounds of ${options.slice} ms per scenario)`,
  );
  console.log(`load average at start: ${loadAverage()}`);
  await summarize(options, (rows) => console.log(formatRows(rows)));
  console.log(`\nload average at end: ${loadAverage()}`);
}

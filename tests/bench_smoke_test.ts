/**
 * The benchmark scenarios load and run once each. Not a timing test: it only
 * checks that `deno task bench` has working scenarios, a valid TLS
 * certificate and a working summary printer. Needs --allow-net=127.0.0.1.
 */

import assert from "node:assert/strict";
import { autoBackend, nobleBackend } from "../mod.ts";
import {
  concurrentHandshakes,
  cryptoFloor,
  memoryHandshake,
  memoryPerSession,
  peers,
  protocolFloor,
  rawAead,
  recordTransfer,
  tcpHandshake,
  tlsHandshake,
} from "./bench/_scenarios.ts";
import { selfSignedCertificate } from "./bench/_certs.ts";
import { formatRows, summarize } from "./bench/summary.ts";
import { recordingBackend } from "./_recording_backend.ts";

const ids = await peers();

Deno.test("bench scenarios run once on both backends", async (t) => {
  for (const backend of [nobleBackend, autoBackend]) {
    await t.step(backend.name, async () => {
      const scenarios = [
        cryptoFloor(backend, ids),
        await protocolFloor(backend, ids),
        memoryHandshake(backend, ids),
        concurrentHandshakes(backend, ids, 3),
        tcpHandshake(backend, ids),
        rawAead(backend, 100),
        await recordTransfer(backend, ids, 70_000),
      ];
      for (const scenario of scenarios) {
        await scenario.run();
        await scenario.run();
        await scenario.close();
      }
    });
  }
});

Deno.test("protocolFloor() replays the symmetric calls one handshake makes", async () => {
  // A backend whose AEAD counts seals: the replay must seal as often as a handshake does.
  let seals = 0;
  const counting = recordingBackend(autoBackend, { seal: () => seals++ }, { name: "counting" });
  await memoryHandshake(counting, ids).run();
  const perHandshake = seals;
  assert.ok(perHandshake >= 10, `${perHandshake} seals`);
  const floor = await protocolFloor(counting, ids);
  seals = 0;
  await floor.run();
  assert.equal(seals, perHandshake, "every record of one handshake sealed once");
});

Deno.test("selfSignedCertificate() makes a certificate Deno's TLS accepts for 127.0.0.1", async () => {
  const { cert, key } = await selfSignedCertificate();
  assert.match(cert, /^-----BEGIN CERTIFICATE-----\n/);
  assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
  const tls = await tlsHandshake();
  await tls.run();
  await tls.close();
});

Deno.test("memoryPerSession() holds and releases established sessions on every transport", async () => {
  for (const transport of ["memory", "tcp", "tcp-conn"] as const) {
    const report = await memoryPerSession(autoBackend, ids, 20, transport, 5);
    assert.equal(report.sessions, 20, transport);
    assert.ok(Number.isFinite(report.heapPerSession), transport);
    assert.ok(Number.isFinite(report.externalPerSession), transport);
  }
});

Deno.test("summarize() measures every section and formatRows() prints targets", async () => {
  const rows = await summarize({
    slice: 1,
    rounds: 1,
    memorySessions: 4,
    tcpMemorySessions: 4,
    recordSizes: [64, 16_384],
    concurrency: [1, 2],
  });
  const groups = new Set(rows.map((row) => row.group.split(" (")[0]));
  assert.deepEqual([...groups], [
    "handshake in memory vs crypto floor",
    "handshake with free key exchanges and signatures",
    "handshake in memory vs js-libp2p-noise XX",
    "handshake in memory vs every primitive it calls",
    "handshake over loopback TCP vs Deno TLS 1.3",
    "record throughput vs raw AEAD",
    "handshakes/s by concurrency",
    "memory per idle established session",
    "memory per idle TCP session",
  ]);
  for (const row of rows) {
    assert.ok(Number.isFinite(row.value), row.subject);
    // Rates are positive; memory figures of four sessions may be anything (GC).
    if (row.ratio !== undefined && row.unit !== "bytes") assert.ok(row.ratio > 0, row.subject);
  }
  const table = formatRows(rows);
  assert.match(table, /target >= 0\.9x: (met|NOT met)/);
  assert.match(table, /target >= 0\.78x \(<= 0\.8 ms at a 1,600\/s floor\): (met|NOT met)/);
  assert.match(table, /target <= 16 KiB: (met|NOT met)/);
});

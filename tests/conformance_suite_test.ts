/**
 * The conformance suite run against qgate (every case passes, with the
 * exact codes) and against broken adapters (the suite catches them, names
 * the case and, for properties, the seed and path that reproduce it).
 */

import assert from "node:assert/strict";
import {
  type ConformanceAdapter,
  type ConformanceResult,
  formatConformanceTable,
  measureStatechartCoverage,
  qgateAdapter,
  runConformance,
} from "../src/conformance/mod.ts";
import { startQgateEndpoint } from "../src/conformance/adapter.ts";
import { propertyConfig } from "./_property.ts";

Deno.test("runConformance() passes qgate in both roles with the exact reason codes", async () => {
  const { seed, numRuns } = propertyConfig(12);
  const report = await runConformance(qgateAdapter, { seed, numRuns });
  const failures = report.results.filter((result) => result.status === "fail");
  assert.deepEqual(failures.map((result) => `${result.id} (${result.role}): ${result.detail}`), []);
  assert.equal(report.implementation, "qgate");
  assert.equal(report.failed, 0);
  assert.equal(report.passed, report.results.length);
  // Every category ran, in both roles where the category has roles.
  for (const category of ["positive", "policy", "negative", "mitm", "property"] as const) {
    const rows = report.results.filter((result) => result.category === category);
    assert.ok(rows.length > 0, category);
  }
  const roles = new Set(report.results.map((result) => result.role));
  assert.ok(roles.has("initiator") && roles.has("responder") && roles.has("both"));
  // The covering sample names every algorithm of every category at least once.
  const names = report.results.filter((result) => result.id.startsWith("positive/algorithms/"))
    .map((result) => result.id);
  for (
    const algorithm of [
      "X25519",
      "X448",
      "P-256",
      "P-384",
      "P-521",
      "ML-KEM-512",
      "ML-KEM-768",
      "ML-KEM-1024",
      "ChaCha20-Poly1305",
      "XChaCha20-Poly1305",
      "AES-256-GCM",
      "SHA-256",
      "SHA-512",
      "SHA3-256",
      "BLAKE2b",
    ]
  ) {
    assert.ok(names.some((id) => id.includes(algorithm)), algorithm);
  }
  // Negative rows name the exact code the implementation had to end with.
  const tampered = report.results.find((result) =>
    result.id === "negative/flip-ciphertext/beginMetaExchange" && result.role === "initiator"
  )!;
  assert.equal(tampered.expected, "ERR_DECRYPT_FAILED@metaExchange");
  assert.equal(tampered.actual, "ERR_DECRYPT_FAILED@metaExchange");
  const properties = report.results.filter((result) => result.category === "property");
  assert.ok(properties.every((result) => result.seed === seed && result.runs === numRuns));
  // The datagram and ready-phase cases ran in both roles (none "not run").
  assert.equal(report.notRun, 0);
  for (
    const id of [
      "datagram/handshake",
      "datagram/epoch-0-forgery-in-handshake",
      "datagram/old-epochs-after-key-update",
      "ready/key-update-rate-limit",
      "ready/peer-with-small-max-records",
    ]
  ) {
    for (const role of ["initiator", "responder"]) {
      assert.equal(byId(report.results, id, role).status, "pass");
    }
  }
  assert.equal(byId(report.results, "datagram/amplification", "responder").status, "pass");
  const table = formatConformanceTable(report);
  assert.match(table, /^conformance of qgate \(quick mode/);
  assert.match(table, /negative +\d+ passed, 0 failed/);
  // The report is plain JSON.
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
});

/** qgate, but every failure is reported with the wrong code. */
const wrongCodes: ConformanceAdapter = {
  name: "wrong codes",
  start: (transport, spec) => {
    const endpoint = qgateAdapter.start(transport, spec) as Awaited<
      ReturnType<ConformanceAdapter["start"]>
    >;
    return {
      outcome: endpoint.outcome.then((outcome) =>
        outcome.status === "failed" ? { status: "failed", code: "ERR_INTERNAL" } : outcome
      ),
      close: () => endpoint.close(),
    };
  },
};

/** An adapter whose endpoint never answers and never ends. */
const silent: ConformanceAdapter = {
  name: "silent",
  start: (transport) => ({
    outcome: new Promise(() => {}),
    close: async () => {
      await transport.writable.abort().catch(() => {});
      await transport.readable.cancel().catch(() => {});
    },
  }),
};

function byId(results: readonly ConformanceResult[], id: string, role: string): ConformanceResult {
  const found = results.find((result) => result.id === id && result.role === role);
  assert.ok(found, `${id} (${role}) did not run`);
  return found;
}

Deno.test("runConformance() fails an implementation that reports the wrong reason code", async () => {
  const report = await runConformance(wrongCodes, { categories: ["policy", "negative"] });
  const rejected = byId(report.results, "policy/nothing-in-common", "initiator");
  assert.equal(rejected.status, "fail");
  assert.match(rejected.detail!, /failed with ERR_INTERNAL, not ERR_NO_COMMON_ALGORITHM/);
  // Where only ready was expected, the wrong codes do not matter.
  assert.equal(
    byId(report.results, "policy/unknown-without-requirement", "responder").status,
    "pass",
  );
  assert.equal(
    byId(report.results, "negative/flip-ciphertext/endSessionInit", "initiator").status,
    "pass",
  );
  assert.ok(report.failed > 40);
});

Deno.test("runConformance() fails an implementation that never ends, within the case budget", async () => {
  const report = await runConformance(silent, {
    categories: ["positive"],
    only: "positive/authentication/none/Ed25519",
    roles: ["responder"],
    caseDeadline: 300,
  });
  assert.equal(report.results.length, 2);
  for (const result of report.results) {
    assert.equal(result.status, "fail");
    assert.match(result.detail!, /outcome/);
  }
});

Deno.test("runConformance() reports the seed and path of a failing property", async () => {
  const report = await runConformance(wrongCodes, {
    categories: ["property"],
    only: "property/wrong-phase-messages",
    seed: 42,
    numRuns: 5,
  });
  const [result] = report.results;
  assert.equal(result?.status, "fail");
  assert.equal(result?.seed, 42);
  assert.match(result?.path ?? "", /^\d+(:\d+)*$/);
  assert.match(result?.counterexample ?? "", /"target"/);
  assert.match(
    formatConformanceTable(report),
    /reproduce: deno task conformance --only property\/wrong-phase-messages --seed 42 --path/,
  );
});

Deno.test("runConformance() reports the datagram cases as not run for an adapter without datagram transports", async () => {
  const streamsOnly: ConformanceAdapter = { name: "streams only", start: qgateAdapter.start };
  const report = await runConformance(streamsOnly, { only: "datagram/" });
  assert.equal(report.results.length, 7);
  for (const result of report.results) {
    assert.equal(result.status, "not run");
    assert.match(result.detail!, /datagram transports/);
  }
  assert.deepEqual([report.passed, report.failed, report.notRun], [0, 0, 7]);
  const table = formatConformanceTable(report);
  assert.match(table, /negative +0 passed, 0 failed, 5 not run/);
  assert.match(table, /0 passed, 0 failed, 7 not run in/);
});

/** qgate, but a datagram responder is a bare session: no listener, no anti-amplification budget. */
const unbudgeted: ConformanceAdapter = {
  name: "unbudgeted",
  datagram: true,
  start: (transport, spec) => {
    const { outcome, close, closed } = startQgateEndpoint(transport, spec);
    return { outcome, close, closed };
  },
};

Deno.test("runConformance() fails a datagram responder that sends an unproved address more than 3x", async () => {
  const report = await runConformance(unbudgeted, { only: "datagram/", roles: ["responder"] });
  const amplification = byId(report.results, "datagram/amplification", "responder");
  assert.equal(amplification.status, "fail");
  assert.match(amplification.detail!, /more than 135/);
  // The budget is all it lacks: the other datagram cases pass.
  for (const result of report.results.filter((row) => row !== amplification)) {
    assert.equal(result.status, "pass", result.id);
  }
});

Deno.test("runConformance() rejects an empty role list", async () => {
  await assert.rejects(runConformance(qgateAdapter, { roles: [] }), RangeError);
});

Deno.test("measureStatechartCoverage() takes every transition of every statechart", () => {
  const coverage = measureStatechartCoverage();
  assert.deepEqual(coverage.map((chart) => chart.name), [
    "handshake",
    "datagramHandshake",
    "metaExchange",
    "primaryKeyExchange",
    "secondaryKeyExchange",
    "authentication",
    "sessionInit",
    "ready",
    "datagramReady",
  ]);
  for (const chart of coverage) {
    assert.ok(chart.total > 10, chart.name);
    assert.deepEqual(chart.uncovered, [], chart.name);
    assert.equal(chart.covered, chart.total, chart.name);
  }
});

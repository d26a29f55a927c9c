/**
 * The conformance suite run against qgate (every case passes, with the
 * exact codes) and against broken adapters (the suite catches them, names
 * the case and, for properties, the seed and path that reproduce it).
 */

import assert from "node:assert/strict";
import {
  type ConformanceAdapter,
  type ConformanceEndpoint,
  type ConformanceResult,
  formatConformanceTable,
  measureStatechartCoverage,
  qgateAdapter,
  runConformance,
} from "../src/conformance/mod.ts";
import { startQgateEndpoint } from "../src/conformance/adapter.ts";
import { propertyConfig } from "./_property.ts";
import { initiate, nobleBackend, respond, seededRandom, type SessionOptions } from "../mod.ts";
import { RecordTracker, secretsInOrder } from "../src/conformance/_record_tracker.ts";
import { instrumentBackend } from "../src/conformance/_instrumented_backend.ts";
import { straddleScript } from "../src/conformance/_delivery_cases.ts";
import { createRelay } from "../src/conformance/_relay.ts";
import { waitFor } from "./_session_helpers.ts";

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
  // The established-session cases ran in both roles, the key update across a message.
  for (
    const id of [
      "message/fragmented/implementation-sends",
      "message/fragmented/implementation-receives",
      "message/key-update/implementation-starts",
      "message/key-update/peer-starts",
      "message/limit/above-peer-limit",
      "message/limit/own-limit",
      "revocation/implementation-denies",
      "revocation/implementation-removes",
      "revocation/peer-denies",
    ]
  ) {
    for (const role of ["initiator", "responder"]) {
      assert.equal(byId(report.results, id, role).status, "pass");
    }
  }
  assert.match(
    byId(report.results, "message/key-update/peer-starts", "initiator").actual,
    /[1-9]\d* records moved past the switch/,
  );
  assert.equal(report.notRun, 0);
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

/** qgate behind its adapter, with only the handshake: every optional capability left out. */
const handshakeOnly: ConformanceAdapter = {
  name: "handshake only",
  start: async (transport, spec) => {
    const { outcome, close } = await qgateAdapter.start(transport, spec);
    return { outcome, close };
  },
};

Deno.test("runConformance() reports cases an adapter cannot take part in as not run, never passed", async () => {
  const report = await runConformance(handshakeOnly, {
    categories: ["positive", "policy"],
    roles: ["initiator"],
    sample: 1,
  });
  const notRun = report.results.filter((result) => result.status === "not run");
  assert.deepEqual(notRun.map((result) => result.id).sort(), [
    "close/implementation-closes",
    "close/peer-closes",
    // Without `datagram: true` the adapter takes no datagram transport.
    "datagram/handshake",
    "message/fragmented/implementation-receives",
    "message/fragmented/implementation-sends",
    "message/key-update/implementation-starts",
    "message/key-update/peer-starts",
    "message/limit/above-peer-limit",
    "message/limit/own-limit",
    "revocation/implementation-denies",
    "revocation/implementation-removes",
    "revocation/peer-denies",
  ]);
  assert.equal(report.notRun, notRun.length);
  assert.equal(report.failed, 0);
  assert.equal(report.passed + report.notRun, report.results.length);
  assert.match(
    byId(report.results, "message/key-update/implementation-starts", "initiator").detail!,
    /`send`, `receive`, `updateKeys`/,
  );
  assert.match(byId(report.results, "revocation/peer-denies", "initiator").detail!, /`closed`/);
  const table = formatConformanceTable(report);
  assert.match(table, /^message\/limit\/own-limit +initiator .* not run$/m);
  assert.match(table, /^policy +\d+ passed, 0 failed, 3 not run$/m);
  assert.match(table, /^not run \(never counted as passed\):$/m);
  assert.match(table, /\d+ passed, 0 failed, 12 not run in/);
});

/** qgate behind its adapter with one capability replaced. */
function brokenAdapter(
  name: string,
  change: (endpoint: ConformanceEndpoint) => Partial<ConformanceEndpoint>,
): ConformanceAdapter {
  return {
    name,
    start: async (transport, spec) => {
      const endpoint = await qgateAdapter.start(transport, spec);
      return { ...endpoint, ...change(endpoint) };
    },
  };
}

const BROKEN: readonly { adapter: ConformanceAdapter; only: string; fails: readonly string[] }[] = [
  {
    // The second message is delivered before the first.
    adapter: brokenAdapter("reordering", (endpoint) => {
      let first: ReturnType<NonNullable<ConformanceEndpoint["receive"]>> | undefined;
      let count = 0;
      return {
        receive: async () => {
          count++;
          if (count === 1) {
            first = endpoint.receive!();
            await first;
            return endpoint.receive!();
          }
          return count === 2 ? first! : endpoint.receive!();
        },
      };
    }),
    only: "message/fragmented/implementation-receives",
    fails: ["message 1 (200,000-byte) to the implementation arrived as 10 bytes that differ"],
  },
  {
    // A message goes out as two.
    adapter: brokenAdapter("splitting", (endpoint) => ({
      send: async (extender, data) => {
        const half = data.length >> 1;
        await endpoint.send!(extender, data.subarray(0, half));
        await endpoint.send!(extender, data.subarray(half));
      },
    })),
    only: "message/fragmented/implementation-sends",
    fails: ["message 1 (200,000-byte) to the reference arrived as 100,000 bytes that differ"],
  },
  {
    // A message above the peer's limit goes out in parts instead of being refused.
    adapter: brokenAdapter("limitless", (endpoint) => ({
      send: (extender, data) =>
        endpoint.send!(extender, data).catch(async () => {
          await endpoint.send!(extender, data.subarray(0, 16));
          await endpoint.send!(extender, data.subarray(16));
        }),
    })),
    only: "message/limit/above-peer-limit",
    fails: ["send() of 4097 bytes resolved although the peer announced 4096"],
  },
  {
    // The first key update is reported as epoch 4.
    adapter: brokenAdapter("miscounting", (endpoint) => ({
      updateKeys: () => endpoint.updateKeys!().then((epoch) => epoch + 1),
    })),
    only: "message/key-update/implementation-starts",
    fails: ["updateKeys() resolved with epoch 4, not 3"],
  },
  {
    // Access changes never reach the live session.
    adapter: brokenAdapter("deaf", () => ({
      setAllowed: () => Promise.resolve(),
      removePeer: () => Promise.resolve(),
    })),
    only: "revocation/implementation-",
    fails: ["the session outlived the revocation"],
  },
  {
    // Every end after ready is reported with one catch-all code.
    adapter: brokenAdapter("vague", (endpoint) => ({
      closed: endpoint.closed!.then(() => ({ code: "ERR_INTERNAL" })),
    })),
    only: "negative/message/",
    fails: ["the implementation ended with ERR_INTERNAL, not ERR_"],
  },
  {
    // A connection that ends after ready is reported as an orderly close.
    adapter: brokenAdapter("orderly", (endpoint) => ({
      closed: endpoint.closed!.then(({ code }) => ({
        code: code === "ERR_TRANSPORT_CLOSED" ? undefined : code,
      })),
    })),
    only: "revocation/peer-denies",
    fails: ["the implementation ended with an orderly close, not ERR_TRANSPORT_CLOSED"],
  },
];

Deno.test("runConformance() fails an implementation whose messages, key updates, revocations or end codes are broken", async (t) => {
  for (const { adapter, only, fails } of BROKEN) {
    await t.step(adapter.name, async () => {
      const report = await runConformance(adapter, { only, caseDeadline: 3_000 });
      assert.ok(report.results.length >= 2, only);
      for (const result of report.results) {
        assert.equal(result.status, "fail", `${result.id} (${result.role})`);
        for (const text of fails) assert.ok(result.detail!.includes(text), result.detail);
      }
    });
  }
});

const EXTENDER = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

Deno.test("straddleScript() moves a message across its sender's key switch, which the receiver still delivers whole", async (t) => {
  for (const starter of ["sender", "receiver"] as const) {
    await t.step(`the ${starter} starts the update`, async () => {
      const secrets: Uint8Array[] = [];
      const tracker = new RecordTracker({ secrets: () => secretsInOrder(secrets) });
      const straddle = straddleScript(tracker, "i2r");
      const relay = createRelay({ script: straddle.script });
      const options: SessionOptions = { requireAuthentication: false, extenders: [EXTENDER] };
      const frames: string[] = [];
      let ready = false;
      const sender = initiate(relay.initiatorTransport, {
        ...options,
        random: seededRandom(new Uint8Array([1])),
        backend: instrumentBackend(nobleBackend, { onSecret: (secret) => secrets.push(secret) }),
      });
      const receiver = respond(relay.responderTransport, {
        ...options,
        random: seededRandom(new Uint8Array([2])),
        onTrace: (event) => {
          if (ready && event.type === "frame" && event.direction === "received") {
            frames.push(`${event.kind}@${event.epoch}`);
          }
        },
      });
      const received: Uint8Array[] = [];
      receiver.on("message", ({ data }) => received.push(data.slice()));
      await Promise.all([sender.ready, receiver.ready]);
      ready = true;
      const data = seededRandom(new Uint8Array([3]))(200_000);
      const sent = sender.send(EXTENDER, data);
      const epoch = await (starter === "sender" ? sender : receiver).updateKeys();
      await sent;
      assert.equal(epoch, 3);
      await waitFor(() => received.length === 1, { what: "the message" });
      assert.deepEqual(received, [data]);
      assert.equal(straddle.moved(), 2);
      // The message's records span the sender's switch, a key-update message between them.
      const data3 = frames.filter((frame) => frame.startsWith("extenderData"));
      assert.deepEqual(data3, [
        "extenderData@2",
        "extenderDataContinuation@2",
        "extenderDataContinuation@3",
        "extenderDataContinuation@3",
      ]);
      await sender.close();
      assert.equal((await receiver.closed).code, undefined);
    });
  }
});

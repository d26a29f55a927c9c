/**
 * The handshake known-answer vectors: the files are complete and agree
 * with an independent reading of the specification, and qgate's reference
 * runner, driven as a subprocess through the JSON-lines contract of
 * `src/conformance/RUNNER.md`, passes every vector in both roles.
 *
 * Needs `--allow-run` (the runner subprocess) besides `--allow-read`.
 */

import assert from "node:assert/strict";
import { hexToBytes } from "../src/_hex.ts";
import { bytesToHex } from "../src/_hex.ts";
import { RecordTracker } from "../src/conformance/_record_tracker.ts";
import { receiverOf } from "../src/conformance/_relay.ts";
import { runHandshakeVectors, type VectorResult } from "../src/conformance/vector_harness.ts";
import { serveVectorRunner } from "../src/conformance/runner.ts";
import { loadHandshakeVectors } from "../src/conformance/vector_files.ts";
import type { NegativeVector, PositiveVector } from "../src/conformance/vectors.ts";

const { positive: POSITIVE, negative: NEGATIVE } = await loadHandshakeVectors();

/** Cuts a direction's stream (salt ‖ records) into clear headers and ciphertexts. */
function cut(
  stream: Uint8Array,
  maskOf: (index: number) => Uint8Array,
): { header: Uint8Array; ciphertext: Uint8Array }[] {
  const records: { header: Uint8Array; ciphertext: Uint8Array }[] = [];
  let offset = 16;
  for (let index = 0; offset < stream.length; index++) {
    const mask = maskOf(index);
    const header = stream.slice(offset, offset + 3).map((byte, i) => byte ^ mask[i]!);
    const length = (header[0]! << 16) | (header[1]! << 8) | header[2]!;
    records.push({ header, ciphertext: stream.slice(offset + 3, offset + 3 + length) });
    offset += 3 + length;
  }
  assert.equal(offset, stream.length, "the stream ends on a record boundary");
  return records;
}

Deno.test("handshake vector files hold tests, each with what the runner contract needs", async (t) => {
  for (const [name, file] of [["positive", POSITIVE], ["negative", NEGATIVE]] as const) {
    await t.step(name, () => {
      assert.ok(file.tests.length > 0, `${name}: no test`);
      assert.equal(file.numberOfTests, file.tests.length);
      assert.deepEqual(
        file.tests.map((test) => test.tcId),
        file.tests.map((_, i) => i + 1),
      );
      for (const test of file.tests) {
        for (const role of ["initiator", "responder"] as const) {
          assert.equal(test.config[role].role, role);
          assert.equal(hexToBytes(test.inputs[role].salt).length, 16);
          assert.equal(hexToBytes(test.inputs[role].sessionId).length, 8);
          assert.equal(test.inputs[role].keyExchange.length, 2);
        }
      }
    });
  }
  await t.step("negative vectors name a positive base and an invalid result", () => {
    const ids = new Set(POSITIVE.tests.map((test) => test.id));
    for (const test of NEGATIVE.tests) {
      assert.equal(test.result, "invalid");
      assert.ok(ids.has(test.base), test.id);
      const receiver = receiverOf(test.mutation.direction);
      assert.equal(test.sides[receiver].expected.status, "failed", test.id);
      assert.ok(test.flags.length > 0, test.id);
    }
  });
  await t.step("a vector records a close exchange: each direction ends with its Close(0)", () => {
    const closing = POSITIVE.tests.filter((test) => test.close !== undefined);
    assert.ok(closing.length > 0, "no vector with a close exchange");
    for (const test of closing) {
      const close = test.close!;
      assert.ok(close.closer === "initiator" || close.closer === "responder", test.id);
      for (const direction of ["i2r", "r2i"] as const) {
        const records = test.records[direction];
        const last = records.at(-1)!;
        assert.deepEqual([last.kind, last.body], ["close", "00"], `${test.id} ${direction}`);
        // The offset is where the last record starts: after the salt and every other record.
        const before = records.slice(0, -1).reduce((sum, record) => sum + record.wire.length, 0);
        assert.equal(close.offsets[direction], 16 + before / 2, `${test.id} ${direction}`);
        assert.equal(test.streams[direction].slice(2 * close.offsets[direction]), last.wire);
      }
      // The closer's Close is written before the answer.
      const closes = test.order.filter((position) => {
        const [direction, index] = position.split(":") as ["i2r" | "r2i", string];
        return test.records[direction][Number(index)]!.kind === "close";
      });
      assert.deepEqual(closes.map((position) => position.slice(0, 3)), [
        close.closer === "initiator" ? "i2r" : "r2i",
        close.closer === "initiator" ? "r2i" : "i2r",
      ]);
      assert.deepEqual(close.final, { initiator: { code: null }, responder: { code: null } });
    }
  });
  await t.step("the suites, authentication modes and GSS cases are all there", () => {
    const flags = new Set(POSITIVE.tests.flatMap((test) => test.flags));
    assert.ok(flags.has("Gss") && flags.has("MutualAuthentication") && flags.has("Negotiation"));
    const suites = new Set(POSITIVE.tests.map((test) => JSON.stringify(test.suite)));
    assert.ok(suites.size >= 5);
  });
});

Deno.test("positive handshake vectors agree with an independent reading of PROTOCOL.md", () => {
  for (const test of POSITIVE.tests) {
    const gss = test.config.initiator.globalSharedSecret;
    const tracker = new RecordTracker({
      ...(gss === undefined ? {} : { globalSharedSecret: hexToBytes(gss) }),
      secrets: () => ({
        primary: hexToBytes(test.sharedSecrets.primary),
        secondary: hexToBytes(test.sharedSecrets.secondary),
      }),
    });
    const streams = { i2r: hexToBytes(test.streams.i2r), r2i: hexToBytes(test.streams.r2i) };
    const records = {} as Record<"i2r" | "r2i", { header: Uint8Array; ciphertext: Uint8Array }[]>;
    for (const direction of ["i2r", "r2i"] as const) {
      tracker.setSalt(direction, streams[direction].subarray(0, 16));
      records[direction] = cut(
        streams[direction],
        (index) => tracker.recordMask(direction, index)!,
      );
      assert.equal(records[direction].length, test.records[direction].length, test.id);
    }
    for (const position of test.order) {
      const [direction, index] = position.split(":") as ["i2r" | "r2i", string];
      const record = records[direction][Number(index)]!;
      const opened = tracker.open(direction, record.header, record.ciphertext);
      assert.ok(opened !== undefined, `${test.id}: ${position} does not open`);
      const expected = test.records[direction][Number(index)]!;
      assert.equal(bytesToHex(opened.body), expected.body, `${test.id}: ${position}`);
      assert.deepEqual([opened.epoch, opened.counter, opened.type], [
        expected.epoch,
        expected.counter,
        expected.type,
      ]);
    }
    assert.equal(bytesToHex(tracker.th1!), test.transcriptHashes.th1, test.id);
    assert.equal(bytesToHex(tracker.th2!), test.transcriptHashes.th2, test.id);
    const exporter = tracker.exporter(
      test.exporter.label,
      hexToBytes(test.exporter.context),
      test.exporter.length,
    );
    assert.equal(bytesToHex(exporter!), test.exporter.output, test.id);
    assert.deepEqual(tracker.suite, test.suite);
  }
});

function describeFailures(results: readonly VectorResult[]): string {
  return results.filter((result) => result.status === "fail")
    .map((result) => `${result.id} (${result.role}): ${result.detail}`).join("\n");
}

Deno.test("runHandshakeVectors() drives the reference runner subprocess through every vector in both roles", async () => {
  const runner = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", new URL("../src/conformance/runner.ts", import.meta.url).pathname],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const results = await runHandshakeVectors(
    { writable: runner.stdin, readable: runner.stdout },
    [POSITIVE, NEGATIVE],
  );
  const status = await runner.status;
  assert.equal(status.code, 0);
  const total = POSITIVE.tests.length + NEGATIVE.tests.length;
  assert.equal(results.length, 2 * total, "every vector ran in both roles: nothing skipped");
  assert.equal(describeFailures(results), "");
});

Deno.test("runHandshakeVectors() fails a runner whose bytes or outcome differ from a vector", async () => {
  const original = POSITIVE.tests[0]!;
  // The recorded responder stream wrong in one byte, and a wrong expected exporter output.
  const stream = original.streams.r2i;
  const flipped = stream.slice(0, -2) + (stream.slice(-2) === "00" ? "01" : "00");
  const tampered: PositiveVector = {
    ...original,
    streams: { ...original.streams, r2i: flipped },
    final: {
      ...original.final,
      responder: {
        ...original.final.responder,
        exporter: "00".repeat(32),
      } as PositiveVector["final"]["responder"],
    },
  };
  const negative = NEGATIVE.tests[0]!;
  const wrongCode: NegativeVector = {
    ...negative,
    sides: {
      ...negative.sides,
      initiator: {
        ...negative.sides.initiator,
        expected: { status: "failed", code: "ERR_TIMEOUT" },
      },
    },
  };
  const toRunner = new TransformStream<Uint8Array, Uint8Array>();
  const fromRunner = new TransformStream<Uint8Array, Uint8Array>();
  const served = serveVectorRunner(toRunner.readable, fromRunner.writable);
  const results = await runHandshakeVectors(
    { writable: toRunner.writable, readable: fromRunner.readable },
    [{ ...POSITIVE, numberOfTests: 1, tests: [tampered] }, {
      ...NEGATIVE,
      numberOfTests: 1,
      tests: [wrongCode],
    }],
    { deadline: 5_000 },
  );
  await served;
  const byKey = new Map(results.map((result) => [`${result.id}/${result.role}`, result]));
  // The initiator receives the damaged responder stream: it fails instead of matching.
  assert.equal(byKey.get(`${original.id}/initiator`)?.status, "fail");
  // The responder writes bytes that no longer match the recorded stream, and its exporter differs.
  assert.match(byKey.get(`${original.id}/responder`)?.detail ?? "", /differ/);
  assert.match(
    byKey.get(`${negative.id}/initiator`)?.detail ?? "",
    /ERR_DECRYPT_FAILED, expected ERR_TIMEOUT/,
  );
  assert.equal(byKey.get(`${negative.id}/responder`)?.status, "pass");
});

Deno.test("runHandshakeVectors() fails a runner whose close exchange differs from a vector", async () => {
  const original = POSITIVE.tests.find((test) => test.close !== undefined)!;
  const close = original.close!;
  const answerer = close.closer === "initiator" ? "responder" : "initiator";
  // The answerer is expected to end with a code, though the exchange is orderly.
  const wrongEnding: PositiveVector = {
    ...original,
    id: "wrong-ending",
    close: { ...close, final: { ...close.final, [answerer]: { code: "ERR_TIMEOUT" } } },
  };
  // The closer's Close never reaches the answerer: the recording stops before it.
  const closerDirection = close.closer === "initiator" ? "i2r" : "r2i";
  const noClose: PositiveVector = {
    ...original,
    id: "no-close",
    streams: {
      ...original.streams,
      [closerDirection]: original.streams[closerDirection].slice(
        0,
        2 * close.offsets[closerDirection],
      ),
    },
  };
  const toRunner = new TransformStream<Uint8Array, Uint8Array>();
  const fromRunner = new TransformStream<Uint8Array, Uint8Array>();
  const served = serveVectorRunner(toRunner.readable, fromRunner.writable);
  const results = await runHandshakeVectors(
    { writable: toRunner.writable, readable: fromRunner.readable },
    [{ ...POSITIVE, numberOfTests: 3, tests: [original, wrongEnding, noClose] }],
    { deadline: 2_000 },
  );
  await served;
  const byKey = new Map(results.map((result) => [`${result.id}/${result.role}`, result]));
  assert.equal(byKey.get(`${original.id}/initiator`)?.status, "pass");
  assert.equal(byKey.get(`${original.id}/responder`)?.status, "pass");
  assert.match(
    byKey.get(`wrong-ending/${answerer}`)?.detail ?? "",
    /closed with no code, expected ERR_TIMEOUT/,
  );
  assert.equal(byKey.get(`wrong-ending/${close.closer}`)?.status, "pass");
  // The answerer waits for a Close that never comes; the closer writes one the recording lacks.
  assert.match(byKey.get(`no-close/${answerer}`)?.detail ?? "", /no end of the session/);
  assert.match(byKey.get(`no-close/${close.closer}`)?.detail ?? "", /differ/);
});

Deno.test("runHandshakeVectors() rejects an empty vector file", async () => {
  const toRunner = new TransformStream<Uint8Array, Uint8Array>();
  const fromRunner = new TransformStream<Uint8Array, Uint8Array>();
  const served = serveVectorRunner(toRunner.readable, fromRunner.writable);
  await assert.rejects(
    runHandshakeVectors({ writable: toRunner.writable, readable: fromRunner.readable }, [
      { ...POSITIVE, numberOfTests: 0, tests: [] },
    ]),
    TypeError,
  );
  await served;
});

Deno.test("loadHandshakeVectors() and RUNNER_CONTRACT_URL work when the package is loaded from a URL", async () => {
  // The repository served over HTTP stands for the published package.
  const root = new URL("../", import.meta.url);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen(): void {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      try {
        const body = await Deno.readFile(new URL(`.${path}`, root));
        const type = path.endsWith(".json")
          ? "application/json"
          : path.endsWith(".md")
          ? "text/markdown"
          : "application/typescript";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("Not found\n", { status: 404 });
      }
    },
  );
  const origin = `127.0.0.1:${server.addr.port}`;
  const script = `
    const m = await import("http://${origin}/src/conformance/vector_files.ts");
    const { positive, negative } = await m.loadHandshakeVectors();
    const contract = await fetch(m.RUNNER_CONTRACT_URL);
    console.log(JSON.stringify({
      positive: positive.tests.length,
      negative: negative.tests.length,
      contract: m.RUNNER_CONTRACT_URL,
      status: contract.status,
      mentionsRunner: (await contract.text()).includes("runner"),
    }));`;
  const output = await new Deno.Command(Deno.execPath(), {
    // --reload: Deno caches remote modules by host and port, and a port this
    // test had in an earlier run may be handed out again, with older files cached.
    args: [
      "eval",
      "--no-config",
      `--reload=http://${origin}`,
      `--allow-import=${origin}`,
      `--allow-net=${origin}`,
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await server.shutdown();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), {
    positive: POSITIVE.tests.length,
    negative: NEGATIVE.tests.length,
    contract: `http://${origin}/src/conformance/RUNNER.md`,
    status: 200,
    mentionsRunner: true,
  });
});

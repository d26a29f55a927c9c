/**
 * Runs `examples/stress.ts` scaled down, as its own process with the flags of
 * `deno task stress`: every honest handshake completes, every hostile
 * connection is rejected with a reason code, and a failing run exits 1.
 *
 * Needs `--allow-run` and `--allow-read` (to start Deno).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const TASK_FLAGS = ["--allow-net=127.0.0.1", "--allow-env", "--v8-flags=--expose-gc"];

async function stress(
  env: Record<string, string>,
  extraFlags: string[] = [],
): Promise<{ code: number; stdout: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...TASK_FLAGS, ...extraFlags, "examples/stress.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

const SMALL = {
  QGATE_STRESS_HONEST: "60",
  QGATE_STRESS_PHASE_TIMEOUT: "2000",
  QGATE_STRESS_MAX_HEAP_MB: "512",
};

function assertFigures(stdout: string): void {
  assert.match(stdout, /^qgate stress: 60 honest \+ 7 hostile TCP connections/m);
  assert.match(stdout, /^honest handshakes completed: 60\/60 \(failed: none\)$/m);
  assert.match(stdout, /^handshake time: p50 [\d.]+ s, p99 [\d.]+ s$/m);
  assert.match(stdout, /^hostile connections rejected: 7\/7$/m);
  for (const kind of ["garbage", "stall", "flood", "slowDrip", "disconnect"]) {
    assert.match(stdout, new RegExp(`^ {2}${kind} +\\d+: ERR_[A-Z_]+ \\d+`, "m"));
  }
  assert.match(stdout, /^ {2}stall +2: ERR_TIMEOUT 2$/m);
  assert.match(stdout, /^ {2}slowDrip +1: ERR_TIMEOUT 1$/m);
  assert.match(stdout, /^ {2}disconnect +1: ERR_TRANSPORT_CLOSED 1$/m);
  assert.match(stdout, /^peak concurrent handshakes \(listener\): \d+$/m);
  assert.match(stdout, /^listener heap after GC, before\/after: [\d.]+\/[\d.]+ MiB$/m);
  assert.match(stdout, /^duration: [\d.]+ s$/m);
  assert.match(stdout, /^result: ok$/m);
}

Deno.test("examples/stress.ts completes 60 honest handshakes among hostile connections and reports the figures", async () => {
  const { code, stdout } = await stress(SMALL);
  assert.equal(code, 0, stdout);
  assertFigures(stdout);
  assert.match(stdout, /^clients: on the listener's event loop/m);
  assert.match(
    stdout,
    /^peak memory: RSS [\d.]+ MiB \(whole process\), heap [\d.]+ MiB \(listener and clients\)$/m,
  );
});

Deno.test("examples/stress.ts runs its clients in a worker when it may read its modules", async () => {
  const { code, stdout } = await stress(SMALL, ["--allow-read=."]);
  assert.equal(code, 0, stdout);
  assertFigures(stdout);
  assert.match(stdout, /^clients: in a worker/m);
  assert.match(
    stdout,
    /^peak memory: RSS [\d.]+ MiB \(whole process\), heap [\d.]+ MiB \(listener\) \+ [\d.]+ MiB \(clients\)$/m,
  );
});

Deno.test("examples/stress.ts exits 1 when an honest handshake fails", async () => {
  const { code, stdout } = await stress({
    QGATE_STRESS_HONEST: "10",
    QGATE_STRESS_PHASE_TIMEOUT: "1000",
    QGATE_STRESS_CLIENT_TIMEOUT: "1",
  });
  assert.equal(code, 1, stdout);
  assert.match(
    stdout,
    /^honest handshakes completed: 0\/10 \(failed: ERR_TIMEOUT \(handshake\) 10\)$/m,
  );
  assert.match(stdout, /^result: FAILED$/m);
});

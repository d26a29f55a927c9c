/**
 * `deno task conformance` as a user runs it: `--adapter` with a module that
 * wraps this implementation (and a broken variant whose reproduce line must
 * reproduce), `--runner "deno …"` with no `deno` on PATH, and `--target`
 * against a peer that requires authentication, whose unreachable cases are
 * "not run", never passed.
 *
 * Needs `--allow-run`, `--allow-read`, `--allow-env` and `--allow-net=127.0.0.1`.
 */

import assert from "node:assert/strict";
import {
  classifyTargetResults,
  runnerCommand,
  suiteProgress,
} from "../src/conformance/_cli_support.ts";
import type { HostileCaseResult, HostileReport } from "../src/conformance/hostile_peer.ts";
import { AccessManager, generateIdentity, listenTcp } from "../mod.ts";

const ROOT = new URL("../", import.meta.url);
const ADAPTER = "tests/fixtures/qgate_conformance_adapter.ts";
const FLAGS = [
  "run",
  "--allow-net=127.0.0.1",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "src/conformance/cli.ts",
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...FLAGS, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function show(run: Run): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

Deno.test("conformance CLI --adapter runs the suite against an adapter module", async (t) => {
  await t.step("a conforming adapter passes, with progress on stderr", async () => {
    const run = await cli([
      "--adapter",
      ADAPTER,
      "--categories",
      "policy",
      "--roles",
      "initiator",
      "--only",
      "policy/nothing-in-common",
    ]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /^conformance of fixture \(quick mode/m);
    assert.match(run.stdout, /policy\/nothing-in-common +initiator .* pass$/m);
    assert.match(run.stderr, /^policy: 1 passed, 0 failed/m);
  });

  await t.step("a failing case's reproduce line names the adapter and reproduces", async () => {
    const env = { QGATE_FIXTURE_BREAK: "1" };
    const run = await cli(["--adapter", ADAPTER, "--only", "property/noise-anywhere"], env);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stdout, /^conformance of broken-fixture/m);
    assert.match(run.stderr, /^FAIL property\/noise-anywhere/m);
    const line = run.stdout.match(/reproduce: deno task conformance (.+)$/m);
    assert.ok(line !== null, show(run));
    const args = line[1]!.split(" ");
    assert.deepEqual(args.slice(0, 2), ["--adapter", ADAPTER]);
    const again = await cli(args, env);
    assert.equal(again.code, 1, show(again));
    assert.match(again.stdout, /^conformance of broken-fixture/m);
    assert.match(again.stdout, /property\/noise-anywhere +both .*FAIL$/m);
  });

  await t.step("a module without an adapter is a usage error", async () => {
    const run = await cli(["--adapter", "src/_hex.ts"]);
    assert.equal(run.code, 2, show(run));
    assert.match(run.stderr, /ConformanceAdapter/);
  });
});

Deno.test("runnerCommand() runs this Deno for a command starting with deno", () => {
  assert.deepEqual(runnerCommand("deno run src/conformance/runner.ts", "/opt/x/deno"), [
    "/opt/x/deno",
    "run",
    "src/conformance/runner.ts",
  ]);
  assert.deepEqual(runnerCommand(`node 'my runner.js' "--a b"`, "/opt/x/deno"), [
    "node",
    "my runner.js",
    "--a b",
  ]);
  assert.deepEqual(runnerCommand("./denort", "/opt/x/deno"), ["./denort"]);
  assert.throws(() => runnerCommand("  ", "/opt/x/deno"), TypeError);
});

Deno.test("conformance CLI --runner deno works without deno on PATH", async () => {
  const run = await cli(["--runner", "deno run src/conformance/runner.ts"], {
    PATH: "/nonexistent",
  });
  assert.equal(run.code, 0, show(run));
  assert.match(run.stdout, /^\d+ passed, 0 failed \(\d+ vectors, both roles\)$/m);
  assert.match(run.stderr, /… 20 vector runs/);
});

function hostile(
  id: string,
  verdict: HostileCaseResult["verdict"],
  fields: Partial<HostileCaseResult> = {},
): HostileCaseResult {
  return {
    id,
    description: id,
    verdict,
    closed: true,
    reachedReady: false,
    detail: "free text for people",
    ...fields,
  };
}

const ANONYMOUS = { identity: false, requireAuthentication: false, globalSharedSecret: false };

Deno.test("classifyTargetResults() reports unreachable cases as not run, never passed", () => {
  const report: HostileReport = {
    target: "127.0.0.1:1",
    role: "initiator",
    passed: 2,
    failed: 1,
    notApplicable: 1,
    results: [
      hostile("honest-handshake", "pass", {
        ownHandshake: { status: "failed", code: "ERR_AUTH_REQUIRED", phase: "metaExchange" },
      }),
      hostile("silence", "pass", { detail: "closed" }),
      hostile("garbage", "fail", { detail: "the target kept the connection open" }),
      hostile("dropped/endAuthentication", "n/a", {
        ownHandshake: { status: "failed", code: "ERR_DECRYPT_FAILED", phase: "metaExchange" },
        damages: "endAuthentication",
      }),
    ],
  };
  const rows = classifyTargetResults(report, ANONYMOUS);
  assert.deepEqual(rows.map((row) => row.status), ["not run", "pass", "fail", "not run"]);
  assert.match(rows[0]!.reason, /ERR_AUTH_REQUIRED in metaExchange.*--identity FILE/);
  assert.match(
    rows[3]!.reason,
    /ended with ERR_DECRYPT_FAILED in metaExchange before endAuthentication.*--gss/,
  );
  const ready = classifyTargetResults(
    {
      ...report,
      results: [hostile("honest-handshake", "pass", {
        reachedReady: true,
        ownHandshake: { status: "ready" },
      })],
    },
    ANONYMOUS,
  );
  assert.equal(ready[0]!.status, "pass");
});

Deno.test("classifyTargetResults() judges a refusal by its code and phase, never by its text", () => {
  // The text names another code than the fields: the fields win.
  const misleading = "not reached: the handshake ended with ERR_DECRYPT_FAILED before x";
  const rows = classifyTargetResults(
    {
      target: "127.0.0.1:1",
      role: "initiator",
      passed: 0,
      failed: 0,
      notApplicable: 2,
      results: [
        hostile("dropped/endAuthentication", "n/a", {
          detail: misleading,
          ownHandshake: { status: "failed", code: "ERR_TRANSPORT_CLOSED", phase: "authentication" },
          damages: "endAuthentication",
        }),
        hostile("dropped/beginSessionInit", "n/a", {
          detail: misleading,
          ownHandshake: {
            status: "failed",
            code: "ERR_NO_COMMON_ALGORITHM",
            phase: "metaExchange",
          },
          damages: "beginSessionInit",
        }),
      ],
    },
    { identity: true, requireAuthentication: true, globalSharedSecret: false },
  );
  assert.deepEqual(rows.map((row) => row.status), ["not run", "not run"]);
  assert.match(rows[0]!.reason, /ERR_TRANSPORT_CLOSED in authentication/);
  assert.match(rows[0]!.reason, /refused our identity/);
  assert.doesNotMatch(rows[0]!.reason, /--gss|ERR_DECRYPT_FAILED/);
  assert.match(rows[1]!.reason, /shares no algorithm/);
});

Deno.test("conformance CLI --target reports cases a refusing target blocks as not run", async (t) => {
  const target = await generateIdentity("Ed25519");
  const guest = await generateIdentity("Ed25519");
  const access = new AccessManager();
  const { peerUuidOf } = await import("../mod.ts");
  access.addPeer(peerUuidOf(guest.algorithm, guest.publicKey), guest.publicKey);
  const listener = listenTcp({}, { identity: target, accessManager: access });
  const dir = await Deno.makeTempDir({ prefix: "qgate-conformance-" });
  const hex = (bytes: Uint8Array): string =>
    Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  const identityFile = `${dir}/guest.json`;
  await Deno.writeTextFile(
    identityFile,
    JSON.stringify({
      algorithm: guest.algorithm,
      publicKey: hex(guest.publicKey),
      secretKey: hex(guest.secretKey),
    }),
  );
  const base = [
    "--target",
    `127.0.0.1:${listener.addr.port}`,
    "--only",
    "dropped/endAuthentication",
    "--timeout",
    "5000",
  ];
  try {
    await t.step("anonymous: not run, with the reason, and not a success", async () => {
      const run = await cli(base);
      assert.equal(run.code, 1, show(run));
      assert.match(
        run.stdout,
        /^dropped\/endAuthentication +not run +.*ERR_AUTH_REQUIRED.*--identity FILE/m,
      );
      assert.match(run.stdout, /^0 passed, 0 failed, 1 not run$/m);
      assert.match(run.stderr, /nothing was tested/);
    });
    await t.step("--require-authentication without --identity is a usage error", async () => {
      const run = await cli([...base, "--require-authentication"]);
      assert.equal(run.code, 2, show(run));
      assert.match(run.stderr, /--identity/);
    });
    await t.step("with an identity the target allows, the case runs", async () => {
      const run = await cli([...base, "--identity", identityFile, "--require-authentication"]);
      assert.equal(run.code, 0, show(run));
      assert.match(run.stdout, /^dropped\/endAuthentication +pass /m);
      assert.match(run.stdout, /^1 passed, 0 failed, 0 not run$/m);
    });
    await t.step("--require-authentication adds the attacks that need it", async () => {
      const run = await cli([
        ...base.slice(0, 2),
        "--only",
        "anonymous-proof/endAuthentication",
        "--identity",
        identityFile,
        "--require-authentication",
      ]);
      assert.equal(run.code, 0, show(run));
      assert.match(run.stdout, /^anonymous-proof\/endAuthentication +pass /m);
    });
  } finally {
    await listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("suiteProgress() prints a line per category and every failure", () => {
  const lines: string[] = [];
  const progress = suiteProgress((line) => lines.push(line), 2);
  const result = (category: "policy" | "negative", status: "pass" | "fail") => ({
    id: `${category}/x`,
    category,
    role: "initiator" as const,
    status,
    expected: "",
    actual: "",
    durationMs: 500,
  });
  progress.onResult(result("policy", "pass"));
  progress.onResult(result("policy", "fail"));
  progress.onResult(result("negative", "pass"));
  progress.finish();
  assert.deepEqual(lines, [
    "FAIL policy/x (initiator): ",
    "… 2 cases run",
    "policy: 1 passed, 1 failed (1.0 s)",
    "negative: 1 passed, 0 failed (0.5 s)",
  ]);
});

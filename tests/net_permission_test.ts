/**
 * A missing Deno permission, from any dial or listen helper, is reported as
 * `ERR_PERMISSION_DENIED` naming the `--allow-net` flag to pass, with Deno's
 * own error as `cause`; and that flag is indeed enough. Each case runs in a
 * subprocess (`tests/_net_permission_probe.ts`), since permissions are fixed
 * per process.
 *
 * Needs `--allow-run`, `--allow-read` and `--allow-net=127.0.0.1` (to find a
 * closed port).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ErrorCode } from "../mod.ts";

const ROOT = new URL("../", import.meta.url);

interface Outcome {
  code: string | null;
  message?: string;
  cause?: string | null;
}

async function probe(name: string, port: number, allowNet?: string): Promise<Outcome> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...(allowNet === undefined ? [] : [allowNet]),
      "tests/_net_permission_probe.ts",
      name,
      String(port),
    ],
    cwd: new URL(".", ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.ok(output.success && text !== "", new TextDecoder().decode(output.stderr));
  return JSON.parse(text) as Outcome;
}

/** A port nobody listens on: dialling it fails, but only after the permission check. */
async function closedPort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  await Promise.resolve();
  return port;
}

Deno.test("connect*() and listen*() without --allow-net fail with ERR_PERMISSION_DENIED naming the flag", async (t) => {
  const port = await closedPort();
  const cases: [name: string, port: number, flag: string][] = [
    ["connectTcp", port, `--allow-net=127.0.0.1:${port}`],
    ["connectUdp", port, "--allow-net=127.0.0.1"],
    ["connectWebSocket", port, `--allow-net=127.0.0.1:${port}`],
    ["listenTcp", 0, "--allow-net=127.0.0.1"],
    ["listenUdp", 0, "--allow-net=127.0.0.1"],
    ["listenWebSocket", 0, "--allow-net=127.0.0.1"],
  ];
  for (const [name, casePort, flag] of cases) {
    await t.step(`${name}() names ${flag}, and ${flag} is enough`, async () => {
      const denied = await probe(name, casePort);
      assert.equal(denied.code, ErrorCode.PERMISSION_DENIED, JSON.stringify(denied));
      assert.equal(denied.cause, "NotCapable");
      // The flag is what this error is for: it must be in the message, word for word.
      assert.ok(denied.message?.includes(flag), `${denied.message} does not say ${flag}`);
      const granted = await probe(name, casePort, flag);
      assert.notEqual(granted.code, ErrorCode.PERMISSION_DENIED, JSON.stringify(granted));
    });
  }
});

Deno.test("connectUdp() with only its local socket allowed fails before sending, with a flag that covers the peer", async () => {
  const port = await closedPort();
  const outcome = await probe("connectUdp", port, "--allow-net=127.0.0.1:0");
  assert.equal(outcome.code, ErrorCode.PERMISSION_DENIED, JSON.stringify(outcome));
  assert.equal(outcome.cause, "NotCapable");
  assert.ok(outcome.message?.includes("--allow-net=127.0.0.1"), outcome.message);
});

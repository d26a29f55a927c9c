/**
 * Runs one dial or listen helper and prints how it went, as one JSON line:
 * `{ "code", "message", "cause" }` when it throws, `{ "code": null }` when it
 * works (the process then exits, which closes what it opened). `tests/net_permission_test.ts` runs
 * it in a subprocess with and without `--allow-net`.
 *
 * Usage: deno run [--allow-net=…] tests/_net_permission_probe.ts <case> <port>
 *
 * @module
 */

import {
  connectTcp,
  connectUdp,
  connectWebSocket,
  listenTcp,
  listenUdp,
  listenWebSocket,
} from "../mod.ts";

const OPTIONS = { requireAuthentication: false } as const;

/** Each case opens something; the process exits right after, closing it. */
const CASES: Record<string, (port: number) => Promise<unknown>> = {
  connectTcp: (port) => connectTcp({ port }, OPTIONS),
  connectUdp: (port) => connectUdp({ port }, OPTIONS),
  connectWebSocket: (port) => connectWebSocket(`ws://127.0.0.1:${port}/`, OPTIONS),
  listenTcp: (port) => Promise.resolve().then(() => listenTcp({ port }, OPTIONS)),
  listenUdp: (port) => Promise.resolve().then(() => listenUdp({ port }, OPTIONS)),
  listenWebSocket: (port) => Promise.resolve().then(() => listenWebSocket({ port }, OPTIONS)),
};

const [name = "", port = "0"] = Deno.args;
const run = CASES[name];
if (run === undefined) throw new TypeError(`Unknown case "${name}"`);
try {
  await run(Number(port));
  console.log(JSON.stringify({ code: null }));
} catch (error) {
  const { code, message, cause } = error as { code?: string; message?: string; cause?: unknown };
  console.log(JSON.stringify({
    code: code ?? null,
    message: message ?? String(error),
    cause: cause instanceof Error ? cause.name : null,
  }));
}
Deno.exit(0);

/**
 * One port, one listener per core: each `Worker` runs its own `listenTcp`
 * with `reusePort: true`, and the Linux kernel spreads the connections across
 * them, so handshakes run on every core. Sessions live in the worker that
 * accepted them; anything the workers share goes through messages.
 *
 * This file is both the main program and the worker module. The main program
 * starts the workers, then connects twenty clients that each send "ping";
 * every worker answers with its own name, so the output shows who served
 * whom.
 *
 * Run (Linux; `SO_REUSEPORT` needs Deno's `--unstable-net`):
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --unstable-net examples/multicore_listener.ts [workers]
 * ```
 *
 * Prints (the split varies from run to run):
 *
 * ```text
 * 2 listeners on 127.0.0.1:41873
 * 20 clients ready
 * listener-1 served 11 sessions
 * listener-2 served 9 sessions
 * closed cleanly
 * ```
 *
 * @module
 */

import { connectTcp, listenTcp, type TcpListener } from "@qgate/handshake";

const ECHO = "3d1f7a52-9c84-4e6b-a0f3-5b2e8c7d1a90";
// Authentication is off to keep the example short; see mutual_authentication.ts.
const options = { requireAuthentication: false, extenders: [ECHO] };

/** What the main program asks of a worker. */
type Command = { type: "listen"; port: number } | { type: "close" };
/** What a worker answers. */
type Reply = { type: "listening"; port: number } | { type: "closed" };

/** The worker side: one listener on the shared port, echoing with its own name. */
function runWorker(scope: { name: string; postMessage(reply: Reply): void }): void {
  let listener: TcpListener | undefined;
  const label = new TextEncoder().encode(`${scope.name}:`);
  globalThis.addEventListener("message", async (event) => {
    const { data } = event as MessageEvent<Command>;
    if (data.type === "listen") {
      listener = listenTcp({ port: data.port, reusePort: true }, options, (session) => {
        session.on("message", ({ extender, data }) => {
          void session.send(extender, new Uint8Array([...label, ...data])).catch(() => {});
        });
      });
      scope.postMessage({ type: "listening", port: listener.addr.port });
    } else {
      await listener?.close();
      scope.postMessage({ type: "closed" });
    }
  });
}

/** Sends `command` to `worker` and waits for its reply. */
function ask(worker: Worker, command: Command): Promise<Reply> {
  return new Promise((resolve) => {
    worker.onmessage = ({ data }: MessageEvent<Reply>) => resolve(data);
    worker.postMessage(command);
  });
}

async function main(): Promise<void> {
  const count = Math.max(1, Number(Deno.args[0] ?? navigator.hardwareConcurrency));
  if (!Number.isSafeInteger(count)) throw new RangeError("usage: multicore_listener.ts [workers]");
  const workers = Array.from(
    { length: count },
    (_, i) => new Worker(import.meta.url, { type: "module", name: `listener-${i + 1}` }),
  );
  // The first listener picks a free port; the others join it.
  const first = await ask(workers[0]!, { type: "listen", port: 0 });
  const port = first.type === "listening" ? first.port : 0;
  for (const worker of workers.slice(1)) await ask(worker, { type: "listen", port });
  console.log(`${count} listeners on 127.0.0.1:${port}`);

  const clients = await Promise.all(
    Array.from({ length: 20 }, () => connectTcp({ port }, options)),
  );
  await Promise.all(clients.map((client) => client.ready));
  console.log(`${clients.length} clients ready`);
  const servedBy = await Promise.all(clients.map((client) => {
    const answer = new Promise<string>((resolve) =>
      client.on("message", ({ data }) => resolve(new TextDecoder().decode(data)))
    );
    void client.send(ECHO, new TextEncoder().encode("ping"));
    return answer.then((text) => text.slice(0, text.indexOf(":")));
  }));
  for (let i = 1; i <= count; i++) {
    const name = `listener-${i}`;
    console.log(`${name} served ${servedBy.filter((served) => served === name).length} sessions`);
  }

  await Promise.all(clients.map((client) => client.close()));
  for (const worker of workers) {
    await ask(worker, { type: "close" });
    worker.terminate();
  }
  console.log("closed cleanly");
}

const scope = globalThis as unknown as { name?: string; postMessage?: (reply: Reply) => void };
if (typeof scope.name === "string" && scope.name.startsWith("listener-")) {
  runWorker(scope as { name: string; postMessage(reply: Reply): void });
} else {
  await main();
}

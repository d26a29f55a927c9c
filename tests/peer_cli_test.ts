/**
 * `deno task peer` (examples/peer.ts) as a user runs it: two processes, one
 * listening on 127.0.0.1 port 0 (the bound port is read from its stdout),
 * one dialling it; both must reach ready and exchange a message. Every wait
 * is for a line of output, never for a fixed time.
 *
 * Needs `--allow-run`, `--allow-read` and `--allow-write` (identity files in a
 * temporary directory).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const TIME_LIMIT_MS = 60_000;

/** A running CLI process whose stdout lines can be awaited. */
class Peer {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly done: Promise<{ code: number; stdout: string; stderr: string }>;
  #ended = false;

  constructor(args: readonly string[], stdin: "null" | "piped" = "null") {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-read", "--allow-write", "examples/peer.ts", ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(this.#child.stderr).text();
    const stdout = this.#read();
    this.done = Promise.all([this.#child.status, stdout, stderr]).then(([status, , err]) => ({
      code: status.code,
      stdout: this.#lines.join("\n"),
      stderr: err,
    }));
  }

  async #read(): Promise<void> {
    let buffer = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        this.#lines.push(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        for (const wake of this.#waiters) wake();
      }
    }
    if (buffer !== "") this.#lines.push(buffer);
    this.#ended = true;
    for (const wake of this.#waiters) wake();
  }

  /** Resolves with the first stdout line matching `pattern` (fails if the process ends first). */
  line(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of this.#lines) {
          const match = line.match(pattern);
          if (match !== null) {
            this.#waiters.delete(check);
            clearTimeout(timer);
            resolve(match);
            return;
          }
        }
        if (this.#ended) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          void this.done.then((result) =>
            reject(new Error(`no line matches ${pattern}:\n${result.stdout}\n${result.stderr}`))
          );
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${pattern}:\n${this.#lines.join("\n")}`));
      }, TIME_LIMIT_MS);
      this.#waiters.add(check);
      check();
    });
  }

  get stdin(): WritableStream<Uint8Array> {
    return this.#child.stdin;
  }

  kill(): void {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }
}

Deno.test("examples/peer.ts listens and dials over TCP, both reach ready and exchange a message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qgate-peer-" });
  const alice = `${dir}/alice.json`;
  const bob = `${dir}/bob.json`;
  try {
    for (const [file, scheme] of [[alice, "Ed25519"], [bob, "ML-DSA-44"]]) {
      const made = await new Peer(["identity", "--new-identity", scheme!, "--save-identity", file!])
        .done;
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, new RegExp(`^identity [0-9a-f-]{36} ${scheme} public key `, "m"));
    }
    const listener = new Peer([
      "listen",
      "--port",
      "0",
      "--identity",
      alice,
      "--allow",
      bob,
      "--require-auth",
      "--echo",
      "--once",
    ]);
    try {
      const [, port] = await listener.line(/^listening tcp 127\.0\.0\.1:(\d+)$/);
      const dialler = new Peer([
        "dial",
        "--port",
        port!,
        "--identity",
        bob,
        "--allow",
        alice,
        "--send",
        "hello over qgate",
      ]);
      const dialled = await dialler.done;
      assert.equal(dialled.code, 0, `${dialled.stdout}\n${dialled.stderr}`);
      // The timeline shows the handshake, then ready, then the echoed message.
      assert.match(dialled.stdout, /^\[initiator \+ *[\d.]+ ms\] recv +beginMetaExchange /m);
      assert.match(
        dialled.stdout,
        /^\[initiator \+ *[\d.]+ ms\] ready +peer [0-9a-f-]{36} \(authenticated\) · /m,
      );
      assert.match(dialled.stdout, /^\[initiator \+ *[\d.]+ ms\] message +"hello over qgate"$/m);
      const listened = await listener.done;
      assert.equal(listened.code, 0, `${listened.stdout}\n${listened.stderr}`);
      assert.match(
        listened.stdout,
        /^\[responder \+ *[\d.]+ ms\] ready +peer [0-9a-f-]{36} \(authenticated\)/m,
      );
      assert.match(listened.stdout, /^\[responder \+ *[\d.]+ ms\] message +"hello over qgate"$/m);
      assert.match(listened.stdout, /^\[responder \+ *[\d.]+ ms\] closed +orderly$/m);
    } finally {
      listener.kill();
      await listener.done;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/peer.ts sends stdin lines and reports a refused peer", async () => {
  const listener = new Peer(["listen", "--port", "0", "--no-require-auth", "--echo", "--once"]);
  try {
    const [, port] = await listener.line(/^listening tcp 127\.0\.0\.1:(\d+)$/);
    const dialler = new Peer(["dial", "--port", port!, "--no-require-auth", "--no-trace"], "piped");
    await dialler.line(/ ready +peer anonymous/);
    const writer = dialler.stdin.getWriter();
    await writer.write(new TextEncoder().encode("first line\n"));
    await dialler.line(/ message +"first line"$/);
    await writer.close();
    const dialled = await dialler.done;
    assert.equal(dialled.code, 0, `${dialled.stdout}\n${dialled.stderr}`);
    assert.equal((await listener.done).code, 0);
  } finally {
    listener.kill();
    await listener.done;
  }

  // An anonymous dialler facing a listener that requires authentication.
  const strict = new Peer(["listen", "--port", "0", "--new-identity", "Ed25519", "--once"]);
  try {
    const [, port] = await strict.line(/^listening tcp 127\.0\.0\.1:(\d+)$/);
    const refused = await new Peer(["dial", "--port", port!, "--no-require-auth", "--send", "x"])
      .done;
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stdout, / failed +ERR_AUTH_REQUIRED .*Likely causes/);
    assert.equal((await strict.done).code, 1);
  } finally {
    strict.kill();
    await strict.done;
  }
});

Deno.test("examples/peer.ts refuses a misspelt option with a usage error", async () => {
  const result = await new Peer(["dial", "--port", "1", "--no-require-auth", "--aeads", "x"]).done;
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown argument --aeads/);
  const help = await new Peer(["--help"]).done;
  assert.equal(help.code, 0);
  assert.match(help.stdout, /deno task peer listen/);
});

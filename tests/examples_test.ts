/**
 * Runs every example as its own `deno run` process, exactly as its header
 * says, and checks that it exits 0 and prints what it promises.
 *
 * Needs `--allow-run` (to start Deno) and `--allow-read --allow-write` (for
 * the demo's trace file in a temporary directory).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const TIME_LIMIT_MS = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(example: string, flags: string[], args: string[] = []): Promise<Run> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIME_LIMIT_MS);
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, `examples/${example}`, ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

function assertSuccess(result: Run): void {
  assert.equal(result.code, 0, `exit code ${result.code}\n${result.stdout}\n${result.stderr}`);
  assert.ok(!result.stdout.includes("\u001b["), "no colours when NO_COLOR is set");
}

const NET = ["--allow-net=127.0.0.1"];

Deno.test("examples/loopback_handshake.ts authenticates in memory, sends, updates keys", async () => {
  const result = await run("loopback_handshake.ts", []);
  assertSuccess(result);
  assert.match(result.stdout, /^algorithms: X25519 \+ ML-KEM-768, ChaCha20-Poly1305, SHA-256$/m);
  assert.match(result.stdout, /^client sees server [0-9a-f-]{36} {2}authenticated: true$/m);
  assert.match(result.stdout, /^server sees client [0-9a-f-]{36} {2}authenticated: true$/m);
  assert.match(result.stdout, /^server got: hello$/m);
  assert.match(result.stdout, /^keys updated: epoch 3$/m);
  assert.match(result.stdout, /^closed: orderly$/m);
});

Deno.test("examples/custom_transport.ts completes over a one-byte-at-a-time pipe", async () => {
  const result = await run("custom_transport.ts", []);
  assertSuccess(result);
  assert.match(result.stdout, /^handshake over a one-byte-at-a-time pipe: ready$/m);
  // Every byte travelled as its own chunk, in both directions.
  const counts = [...result.stdout.matchAll(/: (\d+) bytes in (\d+) chunks$/gm)];
  assert.equal(counts.length, 2);
  for (const [, bytes, chunks] of counts) {
    assert.equal(bytes, chunks);
    assert.ok(Number(bytes) > 500);
  }
  assert.match(result.stdout, /^echo: one byte at a time$/m);
  assert.match(result.stdout, /^closed: orderly$/m);
});

Deno.test("examples/mutual_authentication.ts accepts Alice twice and refuses Mallory", async () => {
  const result = await run("mutual_authentication.ts", NET);
  assertSuccess(result);
  const lines = result.stdout.trimEnd().split("\n");
  assert.match(
    lines[0]!,
    /^server 127\.0\.0\.1:\d+ knows: alice \(Ed25519\), alice \(ML-DSA-65\)$/,
  );
  assert.match(
    lines[1]!,
    /^alice +\(Ed25519\) +accepted: server [0-9a-f-]{36} {2}authenticated: true$/,
  );
  assert.match(lines[2]!, /^mallory \(Ed25519\) +refused: ERR_TRANSPORT_CLOSED/);
  assert.match(
    lines[3]!,
    /^alice +\(ML-DSA-65\) accepted: server [0-9a-f-]{36} {2}authenticated: true$/,
  );
  assert.equal(lines[4], "server verdicts:");
  assert.match(lines[5]!, /^ {2}accepted [0-9a-f-]{36} \(Ed25519\)$/);
  assert.match(lines[6]!, /^ {2}refused {2}127\.0\.0\.1:\d+ ERR_PEER_NOT_ALLOWED$/);
  assert.match(lines[7]!, /^ {2}accepted [0-9a-f-]{36} \(ML-DSA-65\)$/);
  assert.equal(lines.length, 8);
});

Deno.test("examples/websocket.ts relays chat between two members through the hub", async () => {
  const result = await run("websocket.ts", NET);
  assertSuccess(result);
  assert.match(result.stdout, /^hub listening on ws:\/\/127\.0\.0\.1:\d+\/qgate$/m);
  assert.match(result.stdout, /^hub: member 127\.0\.0\.1:\d+ joined \(2 online\)$/m);
  assert.match(result.stdout, /^ada hears: grace: hello ada$/m);
  assert.match(result.stdout, /^grace hears: ada: hi grace, over WebSocket$/m);
  assert.match(result.stdout, /^hub: a member left \(0 online\)$/m);
  assert.match(result.stdout, /^closed cleanly$/m);
});

Deno.test("examples/demo.ts prints the whole story and writes a Mermaid trace", async () => {
  const directory = await Deno.makeTempDir({ prefix: "qgate-demo-" });
  try {
    const trace = `${directory}/trace.md`;
    const result = await run("demo.ts", [...NET, `--allow-write=${directory}`], [
      "--trace",
      trace,
    ]);
    assertSuccess(result);
    assert.equal(result.stderr, "");
    const out = result.stdout;
    assert.match(out, /^ {2}alice +initiator +Ed25519 +[0-9a-f-]{36}$/m);
    assert.match(out, /^ {2}bob +responder +Ed25519\+ML-DSA-65 +[0-9a-f-]{36}$/m);
    for (
      const phase of [
        "meta exchange",
        "primary key exchange",
        "secondary key exchange (PQ)",
        "authentication",
        "session init",
      ]
    ) {
      assert.match(out, new RegExp(`^ {2}${phase.replace(/[()]/g, "\\$&")} +alice `, "m"), phase);
    }
    assert.match(out, /^ {2}ready +alice at [\d.]+ ms, bob at [\d.]+ ms$/m);
    // The ten handshake messages, each from the right sender under the right epoch.
    const expected = [
      ["bob", "alice", "beginMetaExchange", 0],
      ["alice", "bob", "endMetaExchange", 0],
      ["bob", "alice", "beginPrimaryKeyExchange", 0],
      ["alice", "bob", "endPrimaryKeyExchange", 0],
      ["bob", "alice", "beginSecondaryKeyExchange", 1],
      ["alice", "bob", "endSecondaryKeyExchange", 1],
      ["bob", "alice", "beginAuthentication", 2],
      ["alice", "bob", "endAuthentication", 2],
      ["bob", "alice", "beginSessionInit", 2],
      ["alice", "bob", "endSessionInit", 2],
    ] as const;
    const wire = [...out.matchAll(/^ +[\d.]+ ms {2}(\w+) +→ (\w+) +(\w+) +epoch (\d+) +\d+ B$/gm)]
      .map(([, from, to, kind, epoch]) => [from, to, kind, Number(epoch)]);
    assert.deepEqual(wire.slice(0, 10), expected);
    assert.match(out, /^ {2}primary key exchange +X25519$/m);
    assert.match(out, /^ {2}secondary \(post-quantum\) +ML-KEM-768$/m);
    assert.match(out, /^ {2}authenticated +yes +yes$/m);
    assert.match(out, /^ {2}alice → bob +"Hello Bob, this is Alice\." {2}\(epoch 2\)$/m);
    assert.match(out, /^ {2}bob +→ alice {2}"Hi Alice! Bob here/m);
    assert.match(out, /^ {2}alice asked for fresh keys: epoch 2 → 3 in [\d.]+ ms/m);
    assert.match(out, /^ {2}bob is at epoch 3 too$/m);
    assert.match(out, /^ {2}alice → bob +"Still here, under the new keys\." {2}\(epoch 3\)$/m);
    assert.match(out, /^ {2}alice: orderly \(closed it\); bob: orderly \(peer closed\)$/m);
    assert.match(out, /^Trace: \d+ events written to .*trace\.md as a Mermaid sequence diagram$/m);

    const markdown = await Deno.readTextFile(trace);
    assert.match(
      markdown,
      /```mermaid\n---\ntitle: "qgate demo: X25519 \+ ML-KEM-768"\n---\nsequenceDiagram\n/,
    );
    assert.match(markdown, /R->>I: beginMetaExchange · epoch 0/);
    assert.match(markdown, /I->>R: endSessionInit · epoch 2/);
    assert.match(markdown, /I->>R: beginKeyUpdate/);
    assert.ok(markdown.trimEnd().endsWith("```"));
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("examples/demo.ts rejects unknown arguments with its usage", async () => {
  const result = await run("demo.ts", NET, ["--bogus"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^usage: deno run .*examples\/demo\.ts \[--trace FILE\.md\]/);
  assert.equal(result.stdout, "");
});

Deno.test("examples/multicore_listener.ts spreads twenty clients over two worker listeners", async () => {
  const result = await run(
    "multicore_listener.ts",
    [...NET, "--allow-read", "--unstable-net"],
    ["2"],
  );
  assertSuccess(result);
  assert.match(result.stdout, /^2 listeners on 127\.0\.0\.1:\d+$/m);
  assert.match(result.stdout, /^20 clients ready$/m);
  const served = [...result.stdout.matchAll(/^listener-\d served (\d+) sessions$/gm)]
    .map((match) => Number(match[1]));
  assert.equal(served.length, 2);
  assert.equal(served[0]! + served[1]!, 20);
  assert.match(result.stdout, /^closed cleanly$/m);
});

Deno.test("examples/udp.ts handshakes over UDP and over a lossy datagram pair", async () => {
  const result = await run("udp.ts", [...NET, "--unstable-net"]);
  assertSuccess(result);
  assert.match(
    result.stdout,
    /^udp: ready in \d+ ms, ML-KEM-768 over X25519, authenticated: false$/m,
  );
  assert.match(result.stdout, /^udp: echo "ping over udp"$/m);
  assert.match(result.stdout, /^udp: keys updated: epoch 3$/m);
  assert.match(result.stdout, /^lossy: ready in \d+ ms despite 20% loss/m);
  assert.match(result.stdout, /^closed cleanly$/m);
});

/**
 * The qgate demo: two peers, Alice and Bob, on one loopback TCP connection,
 * through the whole QuantumGate handshake and a bit of life afterwards.
 *
 * Bob listens on 127.0.0.1 (any free port) and Alice dials. Both hold
 * freshly generated identities (Alice Ed25519, Bob the hybrid
 * Ed25519+ML-DSA-65) and an access manager that lists the other, so each
 * side authenticates the other. The demo prints:
 *
 * - the identities and PeerUUIDs;
 * - a timeline of the six phases on both sides, from their statechart
 *   `state` trace events, with timings;
 * - every handshake message as it crossed the wire (sender, kind, key
 *   epoch, size);
 * - the negotiated algorithms and each side's view of its peer;
 * - a "chat" extender conversation (both sides run it from a `Local`
 *   registry);
 * - a key update (`updateKeys()`: epoch 2 → 3, fresh classical and
 *   post-quantum secrets) and a message under the new keys;
 * - an orderly close, with traffic counters.
 *
 * Run:
 *
 * ```sh
 * deno task demo
 * deno run --allow-net=127.0.0.1 --allow-write examples/demo.ts --trace trace.md
 * ```
 *
 * With `--trace FILE.md` it also writes the recorded trace of both peers as
 * a Mermaid sequence diagram (GitHub renders it). Colours are used only on
 * a terminal, and never when `NO_COLOR` is set.
 *
 * @module
 */

import {
  AccessManager,
  connectTcp,
  listenTcp,
  Local,
  nobleBackend,
  type PeerDetails,
  peerUuidOf,
  type Role,
  type Session,
} from "@qgate/handshake";
import type { SignatureKeyPair, SignatureName } from "@qgate/handshake/crypto";
import { type TraceEvent, traceToMermaidSequence } from "@qgate/handshake/viz";

// ---- command line ----

function usage(): never {
  console.error(
    "usage: deno run --allow-net=127.0.0.1 --allow-write examples/demo.ts [--trace FILE.md]",
  );
  Deno.exit(2);
}

let traceFile: string | undefined;
for (let i = 0; i < Deno.args.length; i++) {
  const arg = Deno.args[i]!;
  if (arg === "--trace") traceFile = Deno.args[++i] ?? usage();
  else if (arg.startsWith("--trace=")) traceFile = arg.slice("--trace=".length) || usage();
  else usage();
}

// ---- presentation ----

const colour = Deno.stdout.isTerminal() && !Deno.noColor;
const paint = (code: string) => (text: string): string =>
  colour ? `\x1b[${code}m${text}\x1b[0m` : text;
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const ROLE_PAINT: Record<Role, (text: string) => string> = {
  initiator: paint("36"),
  responder: paint("35"),
};
const NAME: Record<Role, string> = { initiator: "alice", responder: "bob" };
/** A peer's name, coloured; padded for tables. */
const who = (role: Role): string => ROLE_PAINT[role](NAME[role].padEnd(5));
const nameOf = (role: Role): string => ROLE_PAINT[role](NAME[role]);
const ms = (value: number): string => `${value.toFixed(1)} ms`;
const heading = (text: string): void => console.log(`\n${bold(text)}`);
/** Colour codes: they take no room on screen. */
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** Pads to a visible width. */
const pad = (text: string, width: number): string =>
  text + " ".repeat(Math.max(0, width - text.replace(ANSI, "").length));
const row = (label: string, ...cells: string[]): void =>
  console.log(`  ${pad(label, 28)}${cells.map((cell) => pad(cell, 44)).join("")}`.trimEnd());

const PHASES = [
  ["metaExchange", "meta exchange"],
  ["primaryKeyExchange", "primary key exchange"],
  ["secondaryKeyExchange", "secondary key exchange (PQ)"],
  ["authentication", "authentication"],
  ["sessionInit", "session init"],
] as const;

// ---- recording: every trace event of both peers, stamped on one clock ----

let t0 = performance.now();
const events: TraceEvent[] = [];
const stamped: { at: number; event: TraceEvent }[] = [];
function record(event: TraceEvent): void {
  events.push(event);
  stamped.push({ at: performance.now() - t0, event });
}
let printedFrames = 0;

/** Prints the non-noise records sent since the last call. */
function printWire(): void {
  for (const { at, event } of stamped.slice(printedFrames)) {
    if (event.type !== "frame" || event.direction !== "sent" || event.noise) continue;
    const to = event.role === "initiator" ? "responder" : "initiator";
    console.log(
      `  ${ms(at).padStart(9)}  ${who(event.role)} → ${who(to)}  ${event.kind.padEnd(26)}` +
        `${dim(`epoch ${event.epoch}`)}  ${String(event.size).padStart(5)} B`,
    );
  }
  printedFrames = stamped.length;
}

// ---- identities and policy ----

async function identity(name: SignatureName): Promise<SignatureKeyPair> {
  return await nobleBackend.signature(name)!.generateKeyPair({});
}
const uuidOf = (pair: SignatureKeyPair): string => peerUuidOf(pair.algorithm, pair.publicKey);

console.log(
  bold("qgate demo") + ": two peers, one TCP connection on 127.0.0.1, the full handshake",
);

const alice = await identity("Ed25519");
const bob = await identity("Ed25519+ML-DSA-65");
const aliceAccess = new AccessManager();
aliceAccess.addPeer(uuidOf(bob), bob.publicKey);
const bobAccess = new AccessManager();
bobAccess.addPeer(uuidOf(alice), alice.publicKey);

heading("Identities (generated just now; each access manager lists the other peer)");
row(`${who("initiator")}  initiator`, alice.algorithm.padEnd(20) + uuidOf(alice));
row(`${who("responder")}  responder`, bob.algorithm.padEnd(20) + uuidOf(bob));

// ---- extenders: a chat extender on both sides ----

const CHAT = "6a1f9c2e-4b7d-4e58-9f03-2c5d8e7a1b60";
const chatLog: string[] = [];
const aliceLocal = new Local();
const bobLocal = new Local();
const { promise: aliceHeard, resolve: aliceHears } = Promise.withResolvers<string>();
const aliceChat = aliceLocal.register(CHAT, {
  onMessage: (_peer, data) => aliceHears(new TextDecoder().decode(data)),
});
let bobReceived = 0;
const { promise: bobGotSecond, resolve: bobGetsSecond } = Promise.withResolvers<void>();
const bobChat = bobLocal.register(CHAT, {
  onPeerReady: (peer) => chatLog.push(`bob's chat extender: ${peer.details?.peerUuid} is here`),
  onMessage: (peer, data) => {
    const text = new TextDecoder().decode(data);
    bobReceived++;
    console.log(
      `  ${who("initiator")} → ${who("responder")}  "${text}"  ${dim(`(epoch ${peer.epoch})`)}`,
    );
    if (bobReceived === 2) bobGetsSecond();
    if (bobReceived === 1) {
      const reply = `Hi Alice! Bob here; your key is ${peer.details?.peerUuid?.slice(0, 8)}…`;
      void bobChat.send(peer, new TextEncoder().encode(reply)).catch(() => {});
    }
  },
});

// ---- the connection ----

const { promise: bobReady, resolve: bobIsReady } = Promise.withResolvers<Session>();
const listener = listenTcp(
  {},
  bobLocal.sessionOptions({ identity: bob, accessManager: bobAccess, onTrace: record }),
  (session) => {
    bobLocal.attach(session);
    bobIsReady(session);
  },
);
listener.on(
  "failure",
  ({ code, remoteAddress }) => console.log(`  bob: ${remoteAddress} failed: ${code}`),
);
heading(`Bob listens on ${listener.addr.hostname}:${listener.addr.port}; Alice dials`);

t0 = performance.now();
const client = await connectTcp(
  { port: listener.addr.port },
  aliceLocal.sessionOptions({ identity: alice, accessManager: aliceAccess, onTrace: record }),
);
aliceLocal.attach(client);
const [aliceDetails, server] = await Promise.all([client.ready, bobReady]);
const bobDetails = server.details!;

// ---- timeline ----

interface Span {
  start: number;
  end: number;
}

/** Each role's phases, from its statechart state events, on the shared clock. */
function phaseSpans(role: Role): { spans: Map<string, Span>; ready: number } {
  const spans = new Map<string, Span>();
  let ready = Number.NaN;
  let current: string | undefined;
  for (const { at, event } of stamped) {
    if (event.role !== role) continue;
    if (event.type === "end" && event.outcome === "ready") ready = at;
    if (event.type !== "state") continue;
    const phase = event.state.split(".")[0]!;
    if (phase === current) continue;
    if (current !== undefined && spans.has(current)) spans.get(current)!.end = at;
    if (phase === "ready" || phase === "keyUpdate") {
      if (Number.isNaN(ready)) ready = at;
      break;
    }
    current = phase;
    if (!spans.has(phase)) spans.set(phase, { start: at, end: at });
  }
  return { spans, ready };
}

const views = { initiator: phaseSpans("initiator"), responder: phaseSpans("responder") };
const total = Math.max(views.initiator.ready, views.responder.ready);
const WIDTH = 40;
const column = (at: number): number => Math.min(WIDTH, Math.round((at / total) * WIDTH));
function bar(role: Role, span: Span): string {
  const from = Math.min(WIDTH - 1, column(span.start));
  const to = Math.max(from + 1, column(span.end));
  const cells = " ".repeat(from) + "█".repeat(to - from);
  return `▕${ROLE_PAINT[role](cells)}${" ".repeat(WIDTH - to)}▏`;
}

heading(
  `Handshake timeline ${dim("(ms since Alice dialled; from each side's statechart states)")}`,
);
for (const [phase, label] of PHASES) {
  for (const role of ["initiator", "responder"] as const) {
    const span = views[role].spans.get(phase);
    if (span === undefined) continue;
    const times = `${span.start.toFixed(1).padStart(6)} → ${span.end.toFixed(1).padStart(6)}` +
      `  ${dim(`(${ms(span.end - span.start)})`)}`;
    console.log(
      `  ${pad(role === "initiator" ? label : "", 28)}${who(role)} ${bar(role, span)} ${times}`,
    );
  }
}
console.log(
  `  ${pad("ready", 28)}${nameOf("initiator")} at ${ms(views.initiator.ready)}, ` +
    `${nameOf("responder")} at ${ms(views.responder.ready)}`,
);

heading("Handshake messages on the wire (noise excluded)");
printWire();

// ---- negotiation and peer details ----

heading("Negotiated (Bob proposed his preferences in order, Alice picked)");
const { algorithms } = aliceDetails;
row("primary key exchange", algorithms.primaryKeyExchange);
row("secondary (post-quantum)", algorithms.secondaryKeyExchange);
row("record AEAD", algorithms.aead);
row("transcript / KDF hash", algorithms.hash);

heading("Peer details");
const side = (details: PeerDetails): string[] => [
  details.peerUuid ?? "(anonymous)",
  details.peerSignature ?? "-",
  details.authenticated ? green("yes") : "no",
  details.sessionId,
  details.peerExtenders.map((uuid) => (uuid === CHAT ? "chat" : uuid)).join(", ") || "-",
];
const [a, b] = [side(aliceDetails), side(bobDetails)];
row("", `${nameOf("initiator")} sees Bob`, `${nameOf("responder")} sees Alice`);
const LABELS = ["peer UUID", "peer signature", "authenticated", "own session id", "peer extenders"];
LABELS.forEach((label, i) => row(label, a[i]!, b[i]!));

// ---- extender messages ----

heading(`Extender "chat" ${dim(CHAT)}`);
for (const line of chatLog) console.log(`  ${dim(line)}`);
await aliceChat.send(client, new TextEncoder().encode("Hello Bob, this is Alice."));
const reply = await aliceHeard;
console.log(
  `  ${who("responder")} → ${who("initiator")}  "${reply}"  ${dim(`(epoch ${server.epoch})`)}`,
);
printWire();

// ---- key update ----

heading("Key update");
const before = client.epoch;
const bobUpdated = new Promise<number>((resolve) => {
  const off = server.on("keyUpdate", ({ epoch }) => {
    off();
    resolve(epoch);
  });
});
const started = performance.now();
const epoch = await client.updateKeys();
const took = performance.now() - started;
console.log(
  `  ${nameOf("initiator")} asked for fresh keys: epoch ${before} → ${bold(String(epoch))} in ${
    ms(took)
  }` +
    ` ${
      dim(`(new ${algorithms.primaryKeyExchange} + ${algorithms.secondaryKeyExchange} secrets)`)
    }`,
);
console.log(`  ${nameOf("responder")} is at epoch ${await bobUpdated} too`);
printWire();
await aliceChat.send(client, new TextEncoder().encode("Still here, under the new keys."));
await bobGotSecond;
printWire();

// ---- close ----

heading("Close");
const aliceClosed = await client.close();
const bobClosed = await server.closed;
await listener.close();
printWire();
const how = (info: { code: string | undefined; local: boolean }): string =>
  info.code === undefined
    ? green(`orderly (${info.local ? "closed it" : "peer closed"})`)
    : `${info.code}`;
console.log(
  `  ${nameOf("initiator")}: ${how(aliceClosed)}; ${nameOf("responder")}: ${how(bobClosed)}`,
);
console.log(
  `  traffic: ${
    who("initiator")
  } sent ${client.bytesSent} B, received ${client.bytesReceived} B; ` +
    `${nameOf("responder")} sent ${server.bytesSent} B, received ${server.bytesReceived} B`,
);

if (traceFile !== undefined) {
  const mermaid = traceToMermaidSequence(events, {
    title: `qgate demo: ${algorithms.primaryKeyExchange} + ${algorithms.secondaryKeyExchange}`,
  });
  const markdown =
    `# qgate demo trace\n\nBoth peers' trace events (alice is the initiator, bob the ` +
    `responder), recorded by \`examples/demo.ts\`.\n\n\`\`\`mermaid\n${mermaid}\`\`\`\n`;
  await Deno.writeTextFile(traceFile, markdown);
  console.log(
    `\n${
      bold("Trace")
    }: ${events.length} events written to ${traceFile} as a Mermaid sequence diagram`,
  );
}
console.log(`\n${green("done")} in ${ms(performance.now() - t0)}`);

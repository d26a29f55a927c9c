import assert from "node:assert/strict";
import fc from "fast-check";
import {
  mergeTraces,
  parseTrace,
  TraceRecorder,
  traceToMermaidSequence,
} from "../src/viz/trace.ts";
import { initiate, respond } from "../src/session/session.ts";
import { createMemoryPair } from "../src/transport/memory.ts";
import { simulateHandshakeTrace } from "../src/viz/simulate.ts";
import type { TraceEvent } from "../src/viz/trace_types.ts";
import { statechartToJson } from "../src/viz/export.ts";
import { propertyConfig } from "./_property.ts";

const HANDSHAKE_ORDER = [
  "responder:beginMetaExchange",
  "initiator:endMetaExchange",
  "responder:beginPrimaryKeyExchange",
  "initiator:endPrimaryKeyExchange",
  "responder:beginSecondaryKeyExchange",
  "initiator:endSecondaryKeyExchange",
  "responder:beginAuthentication",
  "initiator:endAuthentication",
  "responder:beginSessionInit",
  "initiator:endSessionInit",
];

const KEY_UPDATE_ORDER = [
  "responder:beginKeyUpdate",
  "initiator:endKeyUpdate",
  "responder:keyUpdateReady",
];

const CLOSE_ORDER = ["initiator:close", "responder:close"];

function sentKinds(events: readonly TraceEvent[]): string[] {
  return events.flatMap((event) =>
    event.type === "frame" && event.direction === "sent" && !event.noise
      ? [`${event.role}:${event.kind}`]
      : []
  );
}

const SAMPLE: TraceEvent[] = [
  { type: "state", at: 0, role: "initiator", state: "metaExchange.awaitingOffer" },
  {
    type: "frame",
    at: 0.1,
    role: "initiator",
    direction: "sent",
    kind: "noise",
    epoch: 0,
    size: 72,
    noise: true,
  },
  {
    type: "frame",
    at: 0.2,
    role: "responder",
    direction: "sent",
    kind: "beginMetaExchange",
    epoch: 0,
    size: 82,
    noise: false,
  },
  {
    type: "frame",
    at: 2.2,
    role: "initiator",
    direction: "received",
    kind: "beginMetaExchange",
    epoch: 0,
    size: 82,
    noise: false,
  },
  { type: "keys", at: 3, role: "initiator", epoch: 1, direction: "send" },
  { type: "keys", at: 3, role: "initiator", epoch: 1, direction: "receive" },
  {
    type: "frame",
    at: 4,
    role: "responder",
    direction: "received",
    kind: "endPrimaryKeyExchange",
    epoch: 0,
    size: 56,
    noise: false,
  },
  { type: "end", at: 5, role: "responder", outcome: "failed", code: "ERR_TIMEOUT" },
];

Deno.test("TraceRecorder behaviour", async (t) => {
  await t.step("records copies of events in order and saves them as JSON", () => {
    const recorder = new TraceRecorder();
    for (const event of SAMPLE) recorder.record(event);
    assert.deepEqual(recorder.events, SAMPLE);
    assert.notEqual(recorder.events[0], SAMPLE[0]);
    const saved = JSON.parse(JSON.stringify(recorder));
    assert.equal(saved.format, "qgate.trace/1");
    assert.equal(saved.dropped, 0);
    assert.deepEqual(parseTrace(saved), SAMPLE);
  });

  await t.step("keeps at most maxEvents and counts the rest as dropped", () => {
    const recorder = new TraceRecorder({ maxEvents: 3 });
    for (const event of SAMPLE) recorder.record(event);
    assert.equal(recorder.events.length, 3);
    assert.equal(recorder.dropped, SAMPLE.length - 3);
    assert.deepEqual(recorder.events, SAMPLE.slice(0, 3));
    recorder.clear();
    assert.deepEqual(recorder.toJSON(), { format: "qgate.trace/1", dropped: 0, events: [] });
  });

  await t.step("rejects a maxEvents that is not a positive integer with RangeError", () => {
    for (const maxEvents of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new TraceRecorder({ maxEvents }), RangeError);
    }
  });

  await t.step("rejects values that are not trace events with TypeError", () => {
    const recorder = new TraceRecorder();
    const wrong: unknown[] = [
      null,
      42,
      { type: "state", at: -1, role: "initiator", state: "x" },
      { type: "state", at: 0, role: "observer", state: "x" },
      { type: "state", at: 0, role: "initiator" },
      { type: "keys", at: 0, role: "initiator", epoch: 1.5, direction: "send" },
      { type: "end", at: 0, role: "initiator", outcome: "done" },
      { type: "end", at: 0, role: "initiator", outcome: "failed", code: "ERR_NOPE" },
      {
        type: "frame",
        at: 0,
        role: "initiator",
        direction: "up",
        kind: "noise",
        epoch: 0,
        size: 1,
        noise: true,
      },
      { type: "secret", at: 0, role: "initiator" },
    ];
    for (const value of wrong) {
      assert.throws(() => recorder.record(value as TraceEvent), TypeError, JSON.stringify(value));
    }
    assert.equal(recorder.events.length, 0);
  });
});

Deno.test("parseTrace() behaviour", async (t) => {
  await t.step("reads a bare array and a saved recorder", () => {
    assert.deepEqual(parseTrace(JSON.stringify(SAMPLE)), SAMPLE);
    assert.deepEqual(
      parseTrace({ format: "qgate.trace/1", dropped: 0, events: SAMPLE }),
      SAMPLE,
    );
  });

  await t.step("rejects text that is not JSON with SyntaxError", () => {
    assert.throws(() => parseTrace("{"), SyntaxError);
  });

  await t.step("rejects other shapes with TypeError naming the event", () => {
    assert.throws(() => parseTrace({ events: [] }), TypeError);
    assert.throws(() => parseTrace({ format: "qgate.trace/1", events: 3 }), TypeError);
    assert.throws(
      () => parseTrace([SAMPLE[0], { type: "state", at: "soon" }]),
      /event 1: "at" must be a finite number/,
    );
  });
});

Deno.test("traceToMermaidSequence() behaviour", async (t) => {
  const mermaid = traceToMermaidSequence(SAMPLE, { title: "sample" });

  await t.step("puts the initiator left and the responder right", () => {
    assert.match(
      mermaid,
      /^---\ntitle: "sample"\n---\nsequenceDiagram\n {2}participant I as initiator\n {2}participant R as responder\n/,
    );
  });

  await t.step("draws a frame traced on both ends once, when sent", () => {
    assert.equal(mermaid.match(/beginMetaExchange/g)?.length, 1);
    assert.match(mermaid, /R->>I: beginMetaExchange · epoch 0 · 82 B · 0\.2 ms\n/);
  });

  await t.step("draws a frame only traced on receipt, marked as such", () => {
    assert.match(mermaid, /I->>R: endPrimaryKeyExchange · epoch 0 · 56 B · 4\.0 ms \(received\)/);
  });

  await t.step("marks noise visibly with a dotted arrow", () => {
    assert.match(mermaid, /I--\)R: ~ noise ~ · epoch 0 · 72 B · 0\.1 ms/);
  });

  await t.step("shows states, key switches and outcomes as notes", () => {
    assert.match(mermaid, /Note left of I: metaExchange\.awaitingOffer · 0\.0 ms/);
    assert.match(mermaid, /Note left of I: keys: send \+ receive → epoch 1\n/);
    assert.match(mermaid, /Note over R: responder failed ERR_TIMEOUT · 5\.0 ms/);
    const quiet = traceToMermaidSequence(SAMPLE, { states: false });
    assert.doesNotMatch(quiet, /awaitingOffer/);
  });

  await t.step("rejects an element that is not a trace event with TypeError", () => {
    assert.throws(
      () => traceToMermaidSequence([{ type: "nope" } as unknown as TraceEvent]),
      TypeError,
    );
    assert.throws(() => traceToMermaidSequence(SAMPLE, { origin: Number.NaN }), TypeError);
  });

  await t.step("shows times relative to the first event, on any time base", () => {
    const base = 1_767_225_600_000.25;
    const shifted = SAMPLE.map((event) => ({ ...event, at: event.at + base }));
    assert.equal(traceToMermaidSequence(shifted, { title: "sample" }), mermaid);
    assert.match(
      traceToMermaidSequence(SAMPLE, { origin: -1 }),
      /R->>I: beginMetaExchange · epoch 0 · 82 B · 1\.2 ms\n/,
    );
  });

  await t.step("merges both peers' events in time order, whatever order they come in", () => {
    const responder = SAMPLE.filter((event) => event.role === "responder");
    const initiator = SAMPLE.filter((event) => event.role === "initiator");
    assert.equal(
      traceToMermaidSequence([...responder, ...initiator], { title: "sample" }),
      mermaid,
    );
  });

  await t.step("draws a frame received before it was sent (clocks apart) once", () => {
    const [sent, received] = [SAMPLE[2]!, SAMPLE[3]!];
    const skewed = traceToMermaidSequence([{ ...received, at: 0.1 }, sent]);
    assert.equal(skewed.match(/beginMetaExchange/g)?.length, 1);
    assert.doesNotMatch(skewed, /\(received\)/);
  });
});

Deno.test("mergeTraces() behaviour", async (t) => {
  await t.step("orders by at and keeps the order of ties", () => {
    const a: TraceEvent = { type: "state", at: 2, role: "initiator", state: "a" };
    const b: TraceEvent = { type: "state", at: 1, role: "responder", state: "b" };
    const c: TraceEvent = { type: "state", at: 2, role: "responder", state: "c" };
    const d: TraceEvent = { type: "state", at: 2, role: "initiator", state: "d" };
    assert.deepEqual(mergeTraces([a, d], [b, c]), [b, a, d, c]);
    assert.deepEqual(mergeTraces(), []);
  });

  await t.step("rejects an element that is not a trace event with TypeError", () => {
    assert.throws(
      () => mergeTraces([{ type: "state", at: "now" } as unknown as TraceEvent]),
      TypeError,
    );
  });
});

/**
 * Pairs the n-th frame of a kind one side sent with the n-th of that kind the
 * other side received, whatever their order in the trace.
 *
 * @returns [index sent, index received] pairs.
 */
function framePairs(events: readonly TraceEvent[]): [number, number][] {
  const indexes = new Map<string, { sent: number[]; received: number[] }>();
  events.forEach((event, index) => {
    if (event.type !== "frame") return;
    const sender = event.direction === "sent"
      ? event.role
      : event.role === "initiator"
      ? "responder"
      : "initiator";
    const key = `${sender} ${event.kind}`;
    const entry = indexes.get(key) ?? { sent: [], received: [] };
    entry[event.direction].push(index);
    indexes.set(key, entry);
  });
  return [...indexes].flatMap(([key, { sent, received }]) => {
    assert.equal(received.length, sent.length, `${key}: every frame sent is received once`);
    return sent.map((index, n) => [index, received[n]!] as [number, number]);
  });
}

Deno.test("mergeTraces() puts every frame of a recorded two-peer session after it was sent", async () => {
  // Each peer records its own trace, saved apart as a user would.
  const recorders = { initiator: new TraceRecorder(), responder: new TraceRecorder() };
  const [a, b] = createMemoryPair();
  const options = { requireAuthentication: false } as const;
  const initiator = initiate(a, {
    ...options,
    onTrace: (event) => recorders.initiator.record(event),
  });
  const responder = respond(b, {
    ...options,
    onTrace: (event) => recorders.responder.record(event),
  });
  await Promise.all([initiator.ready, responder.ready]);
  await responder.updateKeys();
  await initiator.close();
  await responder.closed;
  const saved = [JSON.stringify(recorders.responder), JSON.stringify(recorders.initiator)];

  const merged = mergeTraces(...saved.map((text) => parseTrace(text)));
  const pairs = framePairs(merged);
  const kinds = pairs.map(([sent]) => (merged[sent] as { kind: string }).kind);
  for (const kind of ["beginMetaExchange", "endSessionInit", "keyUpdateReady", "close"]) {
    assert.ok(kinds.includes(kind), kind);
  }
  assert.equal(kinds.filter((kind) => kind === "close").length, 2, "Close answered by Close");
  for (const [sent, received] of pairs) {
    const [out, back] = [merged[sent]!, merged[received]!];
    assert.ok(
      back.at >= out.at && received > sent,
      `${back.role} received ${(back as { kind: string }).kind} at ${back.at}, sent at ${out.at}`,
    );
  }
  const mermaid = traceToMermaidSequence(merged);
  assert.match(mermaid, /Note (left of I|right of R): metaExchange\.\w+ · 0\.0 ms\n/);
  assert.doesNotMatch(mermaid, /\(received\)/, "every received frame is paired with its sending");
});

Deno.test("simulateHandshakeTrace() behaviour", async (t) => {
  const trace = simulateHandshakeTrace();

  await t.step("is deterministic", () => {
    assert.deepEqual(simulateHandshakeTrace(), trace);
  });

  await t.step("sends the handshake messages in protocol order, a key update, then Close", () => {
    assert.deepEqual(sentKinds(trace), [...HANDSHAKE_ORDER, ...KEY_UPDATE_ORDER, ...CLOSE_ORDER]);
    assert.deepEqual(
      sentKinds(simulateHandshakeTrace({ keyUpdate: false, close: false, noise: false })),
      HANDSHAKE_ORDER,
    );
    assert.deepEqual(
      sentKinds(simulateHandshakeTrace({ keyUpdate: false })),
      [...HANDSHAKE_ORDER, ...CLOSE_ORDER],
    );
  });

  await t.step("answers the initiator's Close with the responder's, then both are closed", () => {
    const tail = trace.filter((event) =>
      (event.type === "frame" && event.kind === "close") || event.type === "end" ||
      (event.type === "state" && event.state.includes("lifecycle.closing"))
    ).map((event) =>
      event.type === "frame"
        ? `${event.role} ${event.direction} close`
        : event.type === "end"
        ? `${event.role} ${event.outcome}`
        : `${event.role} closing`
    );
    assert.deepEqual(tail, [
      "initiator ready",
      "responder ready",
      "initiator sent close",
      "initiator closing",
      "responder received close",
      "responder sent close",
      "responder closed",
      "initiator received close",
      "initiator closed",
    ]);
  });

  await t.step("traces the ready statechart's regions one state event each", () => {
    const states = (role: string): string[] =>
      trace.flatMap((event) =>
        event.type === "state" && event.role === role && event.state.startsWith("ready.")
          ? [event.state]
          : []
      );
    // The close may go on in states nested in `closing`.
    const initiator = states("initiator").map((state) =>
      state.replace(/(lifecycle\.closing)\..*$/, "$1")
    );
    assert.deepEqual(initiator, [
      "ready.active.lifecycle.open",
      "ready.active.keyUpdate.idle",
      "ready.active.keyUpdate.updating.answering",
      "ready.active.keyUpdate.updating.awaitingReady",
      "ready.active.keyUpdate.idle",
      "ready.active.lifecycle.closing",
      "ready.closed",
    ]);
    assert.deepEqual(states("responder").slice(2, 6), [
      "ready.active.keyUpdate.updating.offering",
      "ready.active.keyUpdate.updating.awaitingAnswer",
      "ready.active.keyUpdate.updating.finishing",
      "ready.active.keyUpdate.idle",
    ]);
  });

  await t.step("opens with the initiator's noise and receives every frame once", () => {
    const first = trace.find((event) => event.type === "frame");
    assert.deepEqual(
      first?.type === "frame" ? [first.role, first.kind, first.noise] : [],
      ["initiator", "noise", true],
    );
    const sent = trace.filter((event) => event.type === "frame" && event.direction === "sent");
    const received = trace.filter((event) =>
      event.type === "frame" && event.direction === "received"
    );
    assert.equal(sent.length, received.length);
  });

  await t.step("sends under the epoch the keys switched to", () => {
    const epochs = new Map(
      trace.flatMap((event) =>
        event.type === "frame" && event.direction === "sent" && !event.noise
          ? [[event.kind, event.epoch] as const]
          : []
      ),
    );
    assert.equal(epochs.get("endPrimaryKeyExchange"), 0);
    assert.equal(epochs.get("beginSecondaryKeyExchange"), 1);
    assert.equal(epochs.get("beginAuthentication"), 2);
    assert.equal(epochs.get("keyUpdateReady"), 2);
    const keys = trace.filter((event) => event.type === "keys");
    assert.deepEqual(
      [...new Set(keys.map((event) => event.type === "keys" ? event.epoch : -1))],
      [1, 2, 3],
    );
  });

  await t.step("names only states the exported statecharts have", () => {
    const handshake = new Set(statechartToJson("handshake").states.map((state) => state.path));
    const ready = new Set(statechartToJson("ready").states.map((state) => state.path));
    for (const event of trace) {
      if (event.type !== "state") continue;
      const known = event.state.startsWith("ready.")
        ? ready.has(event.state.slice("ready.".length))
        : handshake.has(event.state);
      assert.ok(known, event.state);
    }
  });

  await t.step("reaches ready on both sides, then closed", () => {
    const ends = trace.filter((event) => event.type === "end");
    assert.deepEqual(ends.map((event) => [event.role, event.outcome, event.code]), [
      ["initiator", "ready", undefined],
      ["responder", "ready", undefined],
      ["responder", "closed", undefined],
      ["initiator", "closed", undefined],
    ]);
  });

  await t.step("tells the failure scenarios with their codes", () => {
    const codes = (scenario: "noCommonAlgorithm" | "authFailed"): unknown[] =>
      simulateHandshakeTrace({ scenario }).flatMap((event) =>
        event.type === "end" ? [[event.role, event.outcome, event.code]] : []
      );
    assert.deepEqual(codes("noCommonAlgorithm"), [
      ["initiator", "failed", "ERR_NO_COMMON_ALGORITHM"],
      ["responder", "failed", "ERR_TRANSPORT_CLOSED"],
    ]);
    assert.deepEqual(codes("authFailed"), [
      ["initiator", "failed", "ERR_AUTH_FAILED"],
      ["responder", "failed", "ERR_TRANSPORT_CLOSED"],
    ]);
  });

  await t.step("rejects a bad latency with RangeError and a bad scenario with TypeError", () => {
    assert.throws(() => simulateHandshakeTrace({ latency: -1 }), RangeError);
    assert.throws(() => simulateHandshakeTrace({ latency: Infinity }), RangeError);
    assert.throws(
      () => simulateHandshakeTrace({ scenario: "other" as unknown as "ready" }),
      TypeError,
    );
  });

  await t.step("keeps the message order and time order for any latency", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.boolean(), (tenths, noise) => {
        const events = simulateHandshakeTrace({ latency: tenths / 10, noise });
        assert.deepEqual(sentKinds(events), [
          ...HANDSHAKE_ORDER,
          ...KEY_UPDATE_ORDER,
          ...CLOSE_ORDER,
        ]);
        for (let index = 1; index < events.length; index++) {
          assert.ok(events[index]!.at >= events[index - 1]!.at);
        }
        const recorder = new TraceRecorder();
        for (const event of events) recorder.record(event);
        assert.equal(parseTrace(JSON.stringify(recorder)).length, events.length);
      }),
      propertyConfig(25),
    );
  });
});

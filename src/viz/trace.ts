/**
 * Handshake traces: a bounded recorder for {@linkcode TraceEvent}s, a
 * parser for saved traces, a merge of both peers' traces, and a Mermaid
 * `sequenceDiagram` of a trace.
 *
 * ```ts ignore
 * const recorder = new TraceRecorder();
 * session.on("trace", (event) => recorder.record(event));
 * await session.ready;
 * await Deno.writeTextFile("trace.json", JSON.stringify(recorder));
 * ```
 *
 * Times: a session stamps `at` with its clock's time (with the system clock,
 * milliseconds since the Unix epoch), so the traces of two peers share one
 * time base and merge by `at` ({@linkcode mergeTraces}). What this module
 * shows counts from the first event (`0.0 ms`), so hand-written or simulated
 * traces that count from 0 read the same.
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import type { TraceEvent, TraceFrameEvent, TraceRole } from "./trace_types.ts";

/** The format tag of a saved trace. */
export type TraceFormat = "qgate.trace/1";

/** A trace as saved by {@linkcode TraceRecorder.toJSON}. */
export interface TraceJson {
  /** `"qgate.trace/1"`. */
  readonly format: TraceFormat;
  /** Events that did not fit under the recorder's limit. */
  readonly dropped: number;
  /** The events in the order they were recorded. */
  readonly events: readonly TraceEvent[];
}

/** Options of {@linkcode TraceRecorder}. */
export interface TraceRecorderOptions {
  /**
   * How many events to keep (default 10,000). Later events are counted in
   * {@linkcode TraceRecorder.dropped} and not stored, so memory stays bounded.
   */
  readonly maxEvents?: number;
}

const ROLES: ReadonlySet<string> = new Set(["initiator", "responder"]);
const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `"${value.slice(0, 40)}"`;
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}

/** Returns why `value` is not a trace event, or `undefined` when it is one. */
function traceEventProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) {
    return `expected an object, got ${describe(value)}`;
  }
  const event = value as Record<string, unknown>;
  const at = event["at"];
  if (typeof at !== "number" || !Number.isFinite(at) || at < 0) {
    return `"at" must be a finite number >= 0, got ${describe(at)}`;
  }
  if (!ROLES.has(event["role"] as string)) {
    return `"role" must be "initiator" or "responder", got ${describe(event["role"])}`;
  }
  const isEpoch = (epoch: unknown): boolean =>
    typeof epoch === "number" && Number.isSafeInteger(epoch) && epoch >= 0;
  switch (event["type"]) {
    case "frame":
      if (event["direction"] !== "sent" && event["direction"] !== "received") {
        return `"direction" must be "sent" or "received", got ${describe(event["direction"])}`;
      }
      if (typeof event["kind"] !== "string") return `"kind" must be a string`;
      if (!isEpoch(event["epoch"])) return `"epoch" must be an integer >= 0`;
      if (!isEpoch(event["size"])) return `"size" must be an integer >= 0`;
      if (typeof event["noise"] !== "boolean") return `"noise" must be a boolean`;
      return undefined;
    case "state":
      return typeof event["state"] === "string" ? undefined : `"state" must be a string`;
    case "keys":
      if (!isEpoch(event["epoch"])) return `"epoch" must be an integer >= 0`;
      return event["direction"] === "send" || event["direction"] === "receive"
        ? undefined
        : `"direction" must be "send" or "receive", got ${describe(event["direction"])}`;
    case "end":
      if (!["ready", "failed", "closed"].includes(event["outcome"] as string)) {
        return `"outcome" must be "ready", "failed" or "closed", got ${describe(event["outcome"])}`;
      }
      if (event["code"] !== undefined && !CODES.has(event["code"] as string)) {
        return `"code" must be an error code, got ${describe(event["code"])}`;
      }
      return undefined;
    default:
      return `unknown type ${describe(event["type"])}`;
  }
}

/**
 * Collects the trace events of one or both peers, bounded in memory.
 *
 * The session runtime calls {@linkcode TraceRecorder.record} for every
 * event; `JSON.stringify(recorder)` saves the trace in the shape
 * {@linkcode parseTrace} reads back. Events hold no secret bytes.
 *
 * @example Record, save and read back
 * ```ts
 * import { parseTrace, TraceRecorder } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const recorder = new TraceRecorder();
 * recorder.record({ type: "state", at: 0, role: "responder", state: "metaExchange.awaitingChoice" });
 * recorder.record({
 *   type: "frame", at: 0.4, role: "responder", direction: "sent",
 *   kind: "beginMetaExchange", epoch: 0, size: 83, noise: false,
 * });
 * const saved = JSON.stringify(recorder);
 * assert.deepEqual(parseTrace(saved), recorder.events);
 * ```
 */
export class TraceRecorder {
  readonly #events: TraceEvent[] = [];
  readonly #maxEvents: number;
  #dropped = 0;

  /**
   * Creates an empty recorder.
   *
   * @param options The event limit.
   * @throws {RangeError} If `maxEvents` is not a positive integer.
   */
  constructor(options: TraceRecorderOptions = {}) {
    const maxEvents = options.maxEvents ?? 10_000;
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw new RangeError(
        `Cannot create trace recorder: "maxEvents" must be a positive integer, got ${maxEvents}`,
      );
    }
    this.#maxEvents = maxEvents;
  }

  /**
   * Records one event (a shallow copy), or counts it as dropped when the
   * recorder is full.
   *
   * @param event The event.
   * @throws {TypeError} If `event` is not a trace event.
   */
  record(event: TraceEvent): void {
    const problem = traceEventProblem(event);
    if (problem !== undefined) throw new TypeError(`Cannot record trace event: ${problem}`);
    if (this.#events.length >= this.#maxEvents) {
      this.#dropped += 1;
      return;
    }
    this.#events.push({ ...event });
  }

  /** A copy of the recorded events, in recording order. */
  get events(): TraceEvent[] {
    return [...this.#events];
  }

  /** How many events arrived after the recorder was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Forgets every event and the dropped count. */
  clear(): void {
    this.#events.length = 0;
    this.#dropped = 0;
  }

  /**
   * The trace as plain data, for `JSON.stringify`.
   *
   * @returns The format tag, the dropped count and the events.
   */
  toJSON(): TraceJson {
    return { format: "qgate.trace/1", dropped: this.#dropped, events: this.events };
  }
}

/**
 * Reads a saved trace: the JSON text (or parsed value) of
 * {@linkcode TraceRecorder.toJSON}, or a bare array of events.
 *
 * @param input JSON text, or the value it parses to.
 * @returns The events, validated.
 * @throws {SyntaxError} If `input` is text that is not JSON.
 * @throws {TypeError} If the value is not a trace, naming the first bad event.
 *
 * @example A bare array of events is accepted too
 * ```ts
 * import { parseTrace } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const events = parseTrace('[{"type":"end","at":3,"role":"initiator","outcome":"ready"}]');
 * assert.equal(events[0]?.type, "end");
 * assert.throws(() => parseTrace('[{"type":"end","at":-1}]'), TypeError);
 * ```
 */
export function parseTrace(input: unknown): TraceEvent[] {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new SyntaxError("Cannot parse trace: not JSON", { cause });
    }
  }
  let events: unknown = value;
  if (!Array.isArray(value)) {
    const saved = value as Partial<Record<keyof TraceJson, unknown>> | null;
    if (typeof saved !== "object" || saved === null || saved.format !== "qgate.trace/1") {
      throw new TypeError(
        `Cannot parse trace: expected an array of events or a "qgate.trace/1" object, got ${
          describe(value)
        }`,
      );
    }
    events = saved.events;
  }
  if (!Array.isArray(events)) throw new TypeError(`Cannot parse trace: "events" must be an array`);
  return events.map((event: unknown, index) => {
    const problem = traceEventProblem(event);
    if (problem !== undefined) {
      throw new TypeError(`Cannot parse trace: event ${index}: ${problem}`);
    }
    return { ...(event as TraceEvent) };
  });
}

/**
 * Merges traces (each peer's, or several recordings) into one, in `at`
 * order. Events with the same `at` keep their order: the order of the
 * arguments, then each trace's own order. The traces must share a time base,
 * as the traces of sessions on one clock do.
 *
 * @param traces The traces, each in recording order.
 * @returns A new array of the same event objects, earliest first.
 * @throws {TypeError} If an element is not a trace event.
 *
 * @example Two peers recorded apart, merged
 * ```ts
 * import type { TraceEvent } from "@qgate/handshake/viz";
 * import { mergeTraces } from "./trace.ts";
 * import assert from "node:assert/strict";
 *
 * const responder: TraceEvent[] = [
 *   { type: "frame", at: 1_000.2, role: "responder", direction: "sent", kind: "beginMetaExchange", epoch: 0, size: 83, noise: false },
 * ];
 * const initiator: TraceEvent[] = [
 *   { type: "state", at: 1_000, role: "initiator", state: "metaExchange.awaitingOffer" },
 *   { type: "frame", at: 1_000.9, role: "initiator", direction: "received", kind: "beginMetaExchange", epoch: 0, size: 83, noise: false },
 * ];
 * const merged = mergeTraces(initiator, responder);
 * assert.deepEqual(merged.map((event) => event.at), [1_000, 1_000.2, 1_000.9]);
 * ```
 */
export function mergeTraces(...traces: readonly (readonly TraceEvent[])[]): TraceEvent[] {
  const all = traces.flat();
  all.forEach((event, index) => {
    const problem = traceEventProblem(event);
    if (problem !== undefined) {
      throw new TypeError(`Cannot merge traces: event ${index}: ${problem}`);
    }
  });
  // Array.prototype.sort is stable: ties keep their order.
  return all.sort((a, b) => a.at - b.at);
}

/** Options of {@linkcode traceToMermaidSequence}. */
export interface MermaidSequenceOptions {
  /** A title above the diagram. */
  readonly title?: string;
  /** Show state changes as notes (default `true`). */
  readonly states?: boolean;
  /**
   * The time shown as `0.0 ms`, on the trace's time base (default: the
   * earliest event's `at`).
   */
  readonly origin?: number;
}

const PEER: Readonly<Record<TraceRole, { id: string; side: string }>> = {
  initiator: { id: "I", side: "left of I" },
  responder: { id: "R", side: "right of R" },
};

function milliseconds(at: number): string {
  return `${at.toFixed(1)} ms`;
}

/** Mermaid message and note text: no statement separators, comments or entity codes. */
function safe(text: string): string {
  return text.replaceAll(";", ",").replaceAll("#", "").replaceAll("%%", "%")
    .replaceAll("\n", " ");
}

function frameLabel(frame: TraceFrameEvent, origin: number, unmatched: boolean): string {
  const kind = frame.noise ? `~ noise ~` : frame.kind;
  const seen = unmatched && frame.direction === "received" ? " (received)" : "";
  return safe(
    `${kind} · epoch ${frame.epoch} · ${frame.size} B · ${milliseconds(frame.at - origin)}${seen}`,
  );
}

/**
 * Pairs each received frame with the frame the other side sent: per
 * direction, the n-th `kind` received with the n-th `kind` sent, whatever
 * their order in the trace.
 *
 * @returns The indexes of received frames that have a sent one.
 */
function pairedReceipts(events: readonly TraceEvent[]): Set<number> {
  const key = (role: TraceRole, kind: string): string => `${role}\u0000${kind}`;
  const sent = new Map<string, number>();
  for (const event of events) {
    if (event.type === "frame" && event.direction === "sent") {
      const k = key(event.role, event.kind);
      sent.set(k, (sent.get(k) ?? 0) + 1);
    }
  }
  const paired = new Set<number>();
  events.forEach((event, index) => {
    if (event.type !== "frame" || event.direction !== "received") return;
    const k = key(event.role === "initiator" ? "responder" : "initiator", event.kind);
    const left = sent.get(k) ?? 0;
    if (left === 0) return;
    sent.set(k, left - 1);
    paired.add(index);
  });
  return paired;
}

/**
 * Draws a trace as a Mermaid `sequenceDiagram`: the initiator on the left,
 * the responder on the right, every frame as an arrow labelled with its
 * kind, epoch, size and time (noise as a dotted arrow marked `~ noise ~`),
 * state changes and key switches as notes beside their peer, outcomes as
 * notes over both.
 *
 * Events are drawn in `at` order ({@linkcode mergeTraces}), so both peers'
 * events may be given in any order, one peer's after the other's; times
 * count from the earliest event (or `origin`). A frame traced on both ends is
 * drawn once, when it was sent (the n-th frame of a kind one side sent is the
 * n-th of that kind the other received); a received frame without a sent one
 * (a one-sided trace) is drawn on its own.
 *
 * @param events The trace: one or both peers' events.
 * @param options Title, whether to show state notes, the time origin.
 * @returns The Mermaid source, ending in a newline.
 * @throws {TypeError} If an element is not a trace event.
 *
 * @example Two frames and an outcome
 * ```ts
 * import { type TraceEvent, traceToMermaidSequence } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const events: TraceEvent[] = [
 *   { type: "frame", at: 0, role: "initiator", direction: "sent", kind: "noise", epoch: 0, size: 77, noise: true },
 *   { type: "frame", at: 0.2, role: "responder", direction: "sent", kind: "beginMetaExchange", epoch: 0, size: 83, noise: false },
 *   { type: "frame", at: 1.1, role: "initiator", direction: "received", kind: "beginMetaExchange", epoch: 0, size: 83, noise: false },
 *   { type: "end", at: 9, role: "initiator", outcome: "ready" },
 * ];
 * const mermaid = traceToMermaidSequence(events);
 * assert.match(mermaid, /I--\)R: ~ noise ~ · epoch 0 · 77 B/);
 * assert.match(mermaid, /R->>I: beginMetaExchange · epoch 0 · 83 B · 0\.2 ms/);
 * assert.equal(mermaid.match(/beginMetaExchange/g)?.length, 1);
 * ```
 */
export function traceToMermaidSequence(
  trace: readonly TraceEvent[],
  options: MermaidSequenceOptions = {},
): string {
  trace.forEach((event, index) => {
    const problem = traceEventProblem(event);
    if (problem !== undefined) throw new TypeError(`Cannot draw trace: event ${index}: ${problem}`);
  });
  const events = mergeTraces(trace);
  const origin = options.origin ?? events[0]?.at ?? 0;
  if (!Number.isFinite(origin)) {
    throw new TypeError(`Cannot draw trace: "origin" must be a finite number, got ${origin}`);
  }
  const paired = pairedReceipts(events);
  const lines: string[] = [];
  if (options.title !== undefined) {
    lines.push("---", `title: ${JSON.stringify(safe(options.title))}`, "---");
  }
  lines.push("sequenceDiagram");
  lines.push("  participant I as initiator");
  lines.push("  participant R as responder");
  const showStates = options.states ?? true;
  const merged = new Set<number>();
  events.forEach((event, index) => {
    const peer = PEER[event.role];
    const other = PEER[event.role === "initiator" ? "responder" : "initiator"];
    switch (event.type) {
      case "frame": {
        if (event.direction === "sent") {
          const arrow = event.noise ? "--)" : "->>";
          lines.push(`  ${peer.id}${arrow}${other.id}: ${frameLabel(event, origin, false)}`);
          return;
        }
        if (paired.has(index)) return;
        const arrow = event.noise ? "--)" : "->>";
        lines.push(`  ${other.id}${arrow}${peer.id}: ${frameLabel(event, origin, true)}`);
        return;
      }
      case "state":
        if (showStates) {
          lines.push(
            `  Note ${peer.side}: ${safe(`${event.state} · ${milliseconds(event.at - origin)}`)}`,
          );
        }
        return;
      case "keys": {
        // A send and a receive switch at the same moment read as one note.
        const previous = index > 0 ? events[index - 1] : undefined;
        if (
          previous?.type === "keys" && previous.role === event.role &&
          previous.epoch === event.epoch && previous.at === event.at &&
          previous.direction !== event.direction && !merged.has(index - 1)
        ) {
          merged.add(index);
          lines[lines.length - 1] = `  Note ${peer.side}: ${
            safe(`keys: send + receive → epoch ${event.epoch}`)
          }`;
          return;
        }
        lines.push(
          `  Note ${peer.side}: ${safe(`keys: ${event.direction} → epoch ${event.epoch}`)}`,
        );
        return;
      }
      case "end": {
        const code = event.code === undefined ? "" : ` ${event.code}`;
        lines.push(
          `  Note over ${peer.id}: ${
            safe(`${event.role} ${event.outcome}${code} · ${milliseconds(event.at - origin)}`)
          }`,
        );
        return;
      }
    }
  });
  return lines.join("\n") + "\n";
}

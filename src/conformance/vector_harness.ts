/**
 * The vector harness: drives a runner (any process that speaks the
 * JSON-lines contract of `RUNNER.md`) through every handshake vector, in
 * every role, and checks its bytes and its outcome.
 *
 * - A positive vector is run once per role: the runner gets the peer's
 *   recorded stream and must write exactly its own recorded stream and end
 *   ready with the recorded suite, peer and exporter output. A vector with
 *   a close goes on: the closer is told to close once ready, the peer's
 *   Close follows (after the closer wrote its own), and the session must
 *   end as recorded (an orderly close).
 * - A negative vector is run once per role: the runner gets what that side
 *   received in the recorded attack (and the end of input, if it came), must
 *   end as expected (the code, and the phase where given), and what it
 *   writes must be a prefix of what that side wrote.
 *
 * A runner that answers `error` for a vector fails it: nothing is skipped.
 *
 * @module
 */

import type {
  NegativeVector,
  PositiveVector,
  VectorClose,
  VectorEnding,
  VectorEndpointConfig,
  VectorFile,
  VectorInputs,
  VectorOutcome,
} from "./vectors.ts";

/** One check of one vector in one role. */
export interface VectorResult {
  /** The vector's test case number. */
  readonly tcId: number;
  /** The vector's name. */
  readonly id: string;
  /** The side the implementation played. */
  readonly role: "initiator" | "responder";
  /** The vector's verdict (`valid` must succeed, `invalid` must fail). */
  readonly result: "valid" | "invalid";
  /** Whether the implementation behaved as the vector requires. */
  readonly status: "pass" | "fail";
  /** Why it failed. */
  readonly detail?: string;
}

/** Options of {@linkcode runHandshakeVectors}. */
export interface VectorHarnessOptions {
  /** Real-time budget per vector and role, in ms (default 10,000). */
  readonly deadline?: number;
  /** Called after each check, for progress output. */
  readonly onResult?: (result: VectorResult) => void;
}

/** The runner's side of the pipe: its stdin and stdout. */
export interface RunnerConnection {
  /** JSON lines to the runner (its stdin). */
  readonly writable: WritableStream<Uint8Array>;
  /** JSON lines from the runner (its stdout). */
  readonly readable: ReadableStream<Uint8Array>;
}

type Event =
  | { readonly type: "started" }
  | { readonly type: "bytes"; readonly hex: string }
  | ({ readonly type: "outcome" } & VectorOutcome)
  | ({ readonly type: "closed" } & VectorEnding)
  | { readonly type: "stopped" }
  | { readonly type: "error"; readonly message: string };

class Lines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #queue: Event[] = [];

  constructor(readable: ReadableStream<Uint8Array>) {
    this.#reader = readable.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event, or `undefined` when the deadline passes or the runner's output ends. */
  async next(deadline: number): Promise<Event | undefined> {
    for (;;) {
      const queued = this.#queue.shift();
      if (queued !== undefined) return queued;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<"expired">((resolve) => {
        timer = setTimeout(() => resolve("expired"), left);
      });
      const read = this.#pending ??= this.#reader.read();
      const result = await Promise.race([read, expired]);
      clearTimeout(timer);
      if (result === "expired") return undefined;
      this.#pending = undefined;
      if (result.done) return undefined;
      this.#buffer += result.value;
      let newline = this.#buffer.indexOf("\n");
      while (newline >= 0) {
        const line = this.#buffer.slice(0, newline).trim();
        this.#buffer = this.#buffer.slice(newline + 1);
        newline = this.#buffer.indexOf("\n");
        if (line === "") continue;
        try {
          this.#queue.push(JSON.parse(line) as Event);
        } catch {
          this.#queue.push({ type: "error", message: `not JSON: ${line.slice(0, 80)}` });
        }
      }
    }
  }

  #pending: Promise<ReadableStreamReadResult<string>> | undefined;

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

interface Run {
  readonly outcome: VectorOutcome | undefined;
  /** How the session ended after ready, if the runner said (`closed`). */
  readonly ending: VectorEnding | undefined;
  readonly output: string;
  readonly problems: string[];
}

/** A close exchange after ready, as one side plays it. */
interface CloseStep {
  /** Whether this side is told to close (else it answers). */
  readonly closes: boolean;
  /** How many hex digits this side writes up to and including its Close. */
  readonly written: number;
  /** The peer's bytes from its Close on. */
  readonly incoming: string;
}

async function play(
  send: (line: Record<string, unknown>) => Promise<void>,
  lines: Lines,
  start: { id: string; config: VectorEndpointConfig; inputs: VectorInputs },
  incoming: string,
  end: boolean,
  deadlineMs: number,
  close?: CloseStep,
): Promise<Run> {
  const problems: string[] = [];
  const deadline = performance.now() + deadlineMs;
  let output = "";
  let outcome: VectorOutcome | undefined;
  let ending: VectorEnding | undefined;
  await send({ type: "start", ...start });
  // Everything before `started` belongs to nobody (a previous endpoint's stragglers).
  for (;;) {
    const event = await lines.next(deadline);
    if (event === undefined) {
      return { outcome, ending, output, problems: ["the runner never started"] };
    }
    if (event.type === "started") break;
    if (event.type === "error") {
      return { outcome, ending, output, problems: [`runner error: ${event.message}`] };
    }
  }
  if (incoming.length > 0) await send({ type: "bytes", hex: incoming });
  if (end) await send({ type: "end" });
  const collect = (event: Event): void => {
    if (event.type === "bytes") output += event.hex;
    else if (event.type === "outcome" && outcome === undefined) {
      const { type: _type, ...rest } = event;
      outcome = rest as VectorOutcome;
    } else if (event.type === "closed" && ending === undefined) {
      ending = { code: event.code ?? null };
    } else if (event.type === "error") problems.push(`runner error: ${event.message}`);
  };
  /** Collects events until `done` holds; false if the deadline passed first. */
  const until = async (done: () => boolean, what: string): Promise<boolean> => {
    while (!done()) {
      const event = await lines.next(deadline);
      if (event === undefined) {
        problems.push(`no ${what} before the deadline`);
        return false;
      }
      collect(event);
    }
    return true;
  };
  let going = await until(() => outcome !== undefined, "outcome");
  if (close !== undefined && going && outcome?.status === "ready") {
    if (close.closes) {
      await send({ type: "close" });
      // The peer's Close answers ours: it comes once ours is out.
      going = await until(
        () => output.length >= close.written || ending !== undefined,
        "Close record",
      );
    }
    if (going && close.incoming.length > 0) await send({ type: "bytes", hex: close.incoming });
    if (going) await until(() => ending !== undefined, "end of the session (closed)");
  }
  await send({ type: "stop" });
  for (;;) {
    const event = await lines.next(performance.now() + deadlineMs);
    if (event === undefined) {
      problems.push("the runner never stopped");
      break;
    }
    if (event.type === "stopped") break;
    collect(event);
  }
  return { outcome, ending, output, problems };
}

/** How a side ended after ready, against the vector's close exchange. */
function compareEnding(actual: VectorEnding | undefined, expected: VectorEnding): string[] {
  if (actual === undefined || actual.code === expected.code) return [];
  const said = (ending: VectorEnding): string => ending.code ?? "no code";
  return [`closed with ${said(actual)}, expected ${said(expected)}`];
}

/** One side's part in a positive vector: the peer's bytes before and after its Close. */
function closeStep(
  close: VectorClose,
  role: "initiator" | "responder",
  streams: PositiveVector["streams"],
): { before: string; step: CloseStep } {
  const peer = role === "initiator" ? "r2i" : "i2r";
  const mine = role === "initiator" ? "i2r" : "r2i";
  const at = 2 * close.offsets[peer];
  return {
    before: streams[peer].slice(0, at),
    step: {
      closes: close.closer === role,
      written: streams[mine].length,
      incoming: streams[peer].slice(at),
    },
  };
}

function compareOutcome(actual: VectorOutcome | undefined, expected: VectorOutcome): string[] {
  if (actual === undefined) return [];
  if (expected.status === "ready") {
    if (actual.status !== "ready") return [`failed with ${actual.code}, expected ready`];
    const problems: string[] = [];
    if (
      expected.suite !== undefined &&
      JSON.stringify(actual.suite) !== JSON.stringify(expected.suite)
    ) {
      problems.push(
        `suite ${JSON.stringify(actual.suite)}, expected ${JSON.stringify(expected.suite)}`,
      );
    }
    if (expected.peerUuid !== undefined && (actual.peerUuid ?? null) !== expected.peerUuid) {
      problems.push(`peer ${actual.peerUuid}, expected ${expected.peerUuid}`);
    }
    if (expected.authenticated !== undefined && actual.authenticated !== expected.authenticated) {
      problems.push(`authenticated ${actual.authenticated}, expected ${expected.authenticated}`);
    }
    if (expected.exporter !== undefined && actual.exporter !== expected.exporter) {
      problems.push("exporter output differs");
    }
    return problems;
  }
  if (actual.status === "ready") return [`reached ready, expected ${expected.code}`];
  if (actual.code !== expected.code) {
    return [`failed with ${actual.code}, expected ${expected.code}`];
  }
  if (
    expected.phase !== undefined && actual.phase !== undefined && actual.phase !== expected.phase
  ) {
    return [`failed in ${actual.phase}, expected ${expected.phase}`];
  }
  return [];
}

/**
 * Drives a runner through vector files: each positive and each negative
 * vector once per role.
 *
 * @param runner The runner's stdin and stdout.
 * @param files The vector files (positive and negative tests may be mixed).
 * @param options Budget and progress.
 * @returns One result per vector and role.
 * @throws {TypeError} If a file holds no test (an empty file is an error, never a pass).
 *
 * @example Driving qgate's reference runner in process
 * ```ts
 * import { runHandshakeVectors, serveVectorRunner } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const toRunner = new TransformStream<Uint8Array, Uint8Array>();
 * const fromRunner = new TransformStream<Uint8Array, Uint8Array>();
 * const served = serveVectorRunner(toRunner.readable, fromRunner.writable);
 * await assert.rejects(
 *   runHandshakeVectors({ writable: toRunner.writable, readable: fromRunner.readable }, [
 *     { description: "", source: "", runner: "", notes: {}, numberOfTests: 0, tests: [] },
 *   ]),
 *   TypeError,
 * );
 * await served;
 * ```
 */
export async function runHandshakeVectors(
  runner: RunnerConnection,
  files: readonly VectorFile<PositiveVector | NegativeVector>[],
  options: VectorHarnessOptions = {},
): Promise<VectorResult[]> {
  const writer = runner.writable.getWriter();
  const lines = new Lines(runner.readable);
  const encoder = new TextEncoder();
  const send = (line: Record<string, unknown>) =>
    writer.write(encoder.encode(JSON.stringify(line) + "\n"));
  const deadline = options.deadline ?? 10_000;
  const results: VectorResult[] = [];
  try {
    for (const file of files) {
      if (!Array.isArray(file.tests) || file.tests.length === 0) {
        throw new TypeError(`Cannot run vectors: a file holds no test ("${file.description}")`);
      }
      if (file.numberOfTests !== file.tests.length) {
        throw new TypeError(
          `Cannot run vectors: "numberOfTests" says ${file.numberOfTests}, the file holds ${file.tests.length}`,
        );
      }
      for (const test of file.tests) {
        for (const role of ["initiator", "responder"] as const) {
          const peer = role === "initiator" ? "r2i" : "i2r";
          const mine = role === "initiator" ? "i2r" : "r2i";
          const start = {
            id: `${test.id}/${role}`,
            config: test.config[role],
            inputs: test.inputs[role],
          };
          let problems: string[];
          if (test.result === "valid") {
            const close = test.close === undefined
              ? undefined
              : closeStep(test.close, role, test.streams);
            const incoming = close?.before ?? test.streams[peer];
            const run = await play(send, lines, start, incoming, false, deadline, close?.step);
            problems = [...run.problems, ...compareOutcome(run.outcome, test.final[role])];
            if (test.close !== undefined) {
              problems.push(...compareEnding(run.ending, test.close.final[role]));
            }
            if (run.output !== test.streams[mine]) {
              problems.push(
                `wrote ${run.output.length / 2} bytes that differ from the ${
                  test.streams[mine].length / 2
                } recorded`,
              );
            }
          } else {
            const side = test.sides[role];
            const run = await play(send, lines, start, side.incoming, side.end, deadline);
            problems = [...run.problems, ...compareOutcome(run.outcome, side.expected)];
            // The recorded side may have stopped before writing its next flight,
            // or may have written it before it saw the end: the two agree as far
            // as both go.
            if (!side.outgoing.startsWith(run.output) && !run.output.startsWith(side.outgoing)) {
              problems.push("wrote bytes the recorded run did not write");
            }
          }
          const result: VectorResult = {
            tcId: test.tcId,
            id: test.id,
            role,
            result: test.result,
            status: problems.length === 0 ? "pass" : "fail",
            ...(problems.length === 0 ? {} : { detail: problems.join("; ") }),
          };
          results.push(result);
          options.onResult?.(result);
        }
      }
    }
  } finally {
    await send({ type: "quit" }).catch(() => {});
    await writer.close().catch(() => {});
    await lines.cancel();
  }
  return results;
}

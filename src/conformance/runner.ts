/**
 * The reference runner: qgate behind the JSON-lines runner contract of
 * `RUNNER.md`, so the vector harness drives it exactly as it drives an
 * implementation in another language.
 *
 * Run it as a subprocess: `deno run src/conformance/runner.ts` (it needs no
 * permission: it only reads stdin and writes stdout).
 *
 * @module
 */

import { bytesToHex, hexToBytes } from "../_hex.ts";
import { startVectorEndpoint, type VectorEndpointConfig, type VectorInputs } from "./vectors.ts";

/** A line the harness sends. */
type Command =
  | {
    readonly type: "start";
    readonly id?: string;
    readonly config: VectorEndpointConfig;
    readonly inputs: VectorInputs;
  }
  | { readonly type: "bytes"; readonly hex: string }
  | { readonly type: "end" }
  | { readonly type: "close" }
  | { readonly type: "stop" }
  | { readonly type: "quit" };

function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Serves the runner contract on a pair of byte streams until the input
 * ends or a `quit` line arrives: one vector endpoint at a time.
 *
 * @param input JSON lines from the harness.
 * @param output JSON lines to the harness.
 * @returns Resolves when the input ended.
 *
 * @example Driving the reference runner in process
 * ```ts
 * import { serveVectorRunner } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const toRunner = new TransformStream<Uint8Array, Uint8Array>();
 * const fromRunner = new TransformStream<Uint8Array, Uint8Array>();
 * const served = serveVectorRunner(toRunner.readable, fromRunner.writable);
 * const output = Array.fromAsync(fromRunner.readable.pipeThrough(new TextDecoderStream()));
 * const writer = toRunner.writable.getWriter();
 * await writer.write(new TextEncoder().encode('{"type":"nonsense"}\n'));
 * await writer.close();
 * await served;
 * const text = (await output).join("");
 * assert.match(text, /"type":"error"/);
 * ```
 */
export async function serveVectorRunner(
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
): Promise<void> {
  const writer = output.getWriter();
  const encoder = new TextEncoder();
  let chain = Promise.resolve();
  const emit = (line: Record<string, unknown>): Promise<void> => {
    chain = chain.then(() => writer.write(encoder.encode(JSON.stringify(line) + "\n")));
    return chain;
  };
  let current: {
    far: WritableStreamDefaultWriter<Uint8Array>;
    close: () => void;
    stop: () => Promise<void>;
  } | undefined;

  const start = (config: VectorEndpointConfig, inputs: VectorInputs, id: string | undefined) => {
    // Once stopped, nothing of this endpoint reaches the harness any more.
    let muted = false;
    const incoming = new TransformStream<Uint8Array, Uint8Array>(
      {},
      new CountQueuingStrategy({ highWaterMark: 1_024 }),
      new CountQueuingStrategy({ highWaterMark: 1_024 }),
    );
    // A write of the endpoint completes only once its bytes went to the harness, so
    // everything it wrote before an outcome is reported before that outcome.
    const outgoing = new WritableStream<Uint8Array>({
      write: async (chunk): Promise<void> => {
        if (!muted) await emit({ type: "bytes", hex: bytesToHex(chunk) });
      },
    });
    const endpoint = startVectorEndpoint(
      { readable: incoming.readable, writable: outgoing },
      config,
      inputs,
    );
    const reported = endpoint.outcome.then(async (outcome) => {
      await macrotask();
      if (!muted) await emit({ type: "outcome", ...outcome });
    });
    // A session that reached ready and then ended (a close exchange) says how, after its outcome.
    void Promise.all([endpoint.ended, reported]).then(async ([ending]) => {
      await macrotask();
      if (!muted) await emit({ type: "closed", ...ending });
    });
    current = {
      far: incoming.writable.getWriter(),
      close: () => void endpoint.close(),
      stop: async () => {
        await macrotask();
        muted = true;
        await emit({ type: "stopped" });
        await endpoint.abort();
      },
    };
    return emit({ type: "started", ...(id === undefined ? {} : { id }) });
  };

  const handle = async (command: Command): Promise<boolean> => {
    switch (command.type) {
      case "start":
        if (current !== undefined) await current.stop();
        try {
          await start(command.config, command.inputs, command.id);
        } catch (error) {
          current = undefined;
          await emit({
            type: "error",
            message: `Cannot start: ${error instanceof Error ? error.message : String(error)}`,
          });
        }
        return true;
      case "bytes":
        await current?.far.write(hexToBytes(command.hex)).catch(() => {});
        return true;
      case "end":
        await current?.far.close().catch(() => {});
        return true;
      case "close":
        current?.close();
        return true;
      case "stop":
        if (current === undefined) await emit({ type: "stopped" });
        else await current.stop();
        current = undefined;
        return true;
      case "quit":
        return false;
      default:
        await emit({ type: "error", message: `Cannot handle line: unknown type` });
        return true;
    }
  };

  const lines = input.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let running = true;
  while (running) {
    const { value, done } = await lines.read();
    if (done) break;
    buffered += value;
    let newline = buffered.indexOf("\n");
    while (newline >= 0 && running) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
      if (line === "") continue;
      let command: Command;
      try {
        command = JSON.parse(line) as Command;
      } catch {
        await emit({ type: "error", message: "Cannot parse line: not JSON" });
        continue;
      }
      running = await handle(command);
    }
  }
  if (current !== undefined) await current.stop();
  await lines.cancel().catch(() => {});
  await chain;
  await writer.close().catch(() => {});
}

if (import.meta.main) {
  await serveVectorRunner(Deno.stdin.readable, Deno.stdout.writable);
}

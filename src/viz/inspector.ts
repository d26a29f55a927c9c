/**
 * The live inspector: a local web page that shows both peers' statecharts
 * side by side with the active state highlighted (the handshake's, then the
 * ready phase's, one active state per parallel region), and the frame
 * sequence growing while a handshake, a key update and the close run. Each
 * statechart zooms and pans (wheel or pinch around the pointer, drag, the
 * keys `+ - 0 f` and arrows, the buttons fit and focus), and by default
 * follows the active phase. Times count from the run's first event.
 *
 * ```sh
 * deno task inspect                 # random free port, printed
 * deno task inspect --port 8080     # or QGATE_INSPECT_PORT=8080
 * deno task inspect --trace t.json  # also offer a saved trace for replay
 * ```
 *
 * Everything is served from this module on 127.0.0.1: the page, its script
 * and styles, and the statechart SVGs (rendered by WebAssembly Graphviz);
 * nothing is fetched from a CDN, so it works offline. Events reach the page
 * as server-sent events from a {@linkcode TraceSource}.
 *
 * @module
 */

import { listStatecharts, statechartToJson, statechartToSvg } from "./export.ts";
import { parseTrace } from "./trace.ts";
import type { TraceEvent } from "./trace_types.ts";
import { defaultTraceSources, replayTrace, type TraceSource } from "./trace_sources.ts";

/** How fast the inspector plays events: slow enough to watch, or fast for tests. */
export type InspectorPace = "watch" | "fast" | "instant";

/** Options of {@linkcode serveInspector}. */
export interface InspectorOptions {
  /** The TCP port on 127.0.0.1; `0` (default) picks a free one. */
  readonly port?: number;
  /** The sources the page offers, the first selected (default {@linkcode defaultTraceSources}). */
  readonly sources?: readonly TraceSource[];
  /** Stops the server when aborted. */
  readonly signal?: AbortSignal;
}

/** A running inspector. */
export interface InspectorServer {
  /** The page's address, e.g. `"http://127.0.0.1:41234/"`. */
  readonly url: string;
  /** Settles once the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops the server and every run in progress. */
  shutdown(): Promise<void>;
}

const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "inspector.html", type: "text/html; charset=utf-8" },
  "/inspector.css": { file: "inspector.css", type: "text/css; charset=utf-8" },
  "/inspector.js": { file: "inspector.js", type: "text/javascript; charset=utf-8" },
};

/** Milliseconds to wait before showing each kind of event, per pace. */
const PACE_MS: Readonly<Record<InspectorPace, Readonly<Record<TraceEvent["type"], number>>>> = {
  watch: { frame: 520, state: 140, keys: 260, end: 400 },
  fast: { frame: 12, state: 4, keys: 4, end: 4 },
  instant: { frame: 0, state: 0, keys: 0, end: 0 },
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function respond(body: BodyInit | null, status: number, type: string): Response {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, "content-type": type } });
}

async function readStatic(file: string): Promise<string> {
  const url = new URL(`./static/${file}`, import.meta.url);
  if (url.protocol === "file:") return await Deno.readTextFile(url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Cannot load inspector asset ${file}: ${response.status}`);
  return await response.text();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function isPace(value: string | null): value is InspectorPace {
  return value === "watch" || value === "fast" || value === "instant";
}

/** Streams one run of a source as server-sent events: `trace`, then `done` or `failure`. */
function runStream(source: TraceSource, pace: InspectorPace, stop: AbortSignal): Response {
  const encoder = new TextEncoder();
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  stop.addEventListener("abort", abort, { once: true });
  const signal = controller.signal;
  const body = new ReadableStream<Uint8Array>({
    async start(stream): Promise<void> {
      const send = (event: string, data: unknown): void => {
        stream.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      };
      try {
        send("source", { id: source.id, label: source.label, note: source.note });
        for await (const event of source.open(signal)) {
          await sleep(PACE_MS[pace][event.type], signal);
          if (signal.aborted) break;
          send("trace", event);
        }
        if (!signal.aborted) send("done", {});
      } catch (error) {
        if (!signal.aborted) {
          send("failure", { message: error instanceof Error ? error.message : String(error) });
        }
      } finally {
        stop.removeEventListener("abort", abort);
        try {
          stream.close();
        } catch {
          // The page went away and cancelled the stream already.
        }
      }
    },
    cancel(): void {
      controller.abort();
    },
  });
  return new Response(body, {
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      "x-accel-buffering": "no",
    },
  });
}

/**
 * Serves the inspector on 127.0.0.1.
 *
 * Routes: `/` (the page), `/inspector.js`, `/inspector.css`,
 * `/api/statecharts` (every statechart as JSON), `/api/statechart/<name>.svg`,
 * `/api/sources`, and `/api/run?source=<id>&pace=watch|fast|instant`
 * (server-sent events: `source`, then one `trace` per event, then `done`,
 * or `failure` with a message). Requests whose `Host` is not this loopback
 * address are refused, so other web pages cannot reach it through DNS
 * rebinding.
 *
 * @param options The port, the sources and an abort signal.
 * @returns The running server and its URL.
 * @throws {RangeError} If `port` is not an integer in [0, 65535].
 * @throws {TypeError} If no source is given or two share an id.
 *
 * @example Start, fetch the page, stop
 * ```ts
 * import { serveInspector } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const inspector = serveInspector();
 * const page = await fetch(inspector.url);
 * assert.match(await page.text(), /qgate inspector/);
 * await inspector.shutdown();
 * ```
 */
export function serveInspector(options: InspectorOptions = {}): InspectorServer {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `Cannot serve inspector: "port" must be an integer in [0, 65535], got ${port}`,
    );
  }
  const sources = [...(options.sources ?? defaultTraceSources())];
  if (sources.length === 0) throw new TypeError(`Cannot serve inspector: "sources" is empty`);
  if (new Set(sources.map((source) => source.id)).size !== sources.length) {
    throw new TypeError(`Cannot serve inspector: two sources share an id`);
  }
  const stopping = new AbortController();
  const svgCache = new Map<string, Promise<string>>();
  let allowedHosts = new Set<string>();

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const host = request.headers.get("host") ?? "";
    if (!allowedHosts.has(host)) return respond("Forbidden host\n", 403, "text/plain");
    if (request.method !== "GET") return respond("Method not allowed\n", 405, "text/plain");
    const asset = STATIC_FILES[url.pathname];
    if (asset !== undefined) return respond(await readStatic(asset.file), 200, asset.type);
    if (url.pathname === "/api/statecharts") {
      const charts = listStatecharts().map((info) => statechartToJson(info.id));
      return respond(JSON.stringify({ charts }), 200, "application/json");
    }
    const svg = /^\/api\/statechart\/([A-Za-z]+)\.svg$/.exec(url.pathname);
    if (svg !== null) {
      const name = svg[1]!;
      if (!listStatecharts().some((info) => info.id === name)) {
        return respond("Unknown statechart\n", 404, "text/plain");
      }
      if (!svgCache.has(name)) svgCache.set(name, statechartToSvg(name));
      return respond(await svgCache.get(name)!, 200, "image/svg+xml");
    }
    if (url.pathname === "/api/sources") {
      const list = sources.map(({ id, label, note }) => ({ id, label, note }));
      return respond(JSON.stringify({ sources: list }), 200, "application/json");
    }
    if (url.pathname === "/api/run") {
      const source = sources.find((entry) => entry.id === url.searchParams.get("source"));
      if (source === undefined) return respond("Unknown source\n", 404, "text/plain");
      const pace = url.searchParams.get("pace");
      // A page that goes away cancels the stream, which stops the run.
      return runStream(source, isPace(pace) ? pace : "watch", stopping.signal);
    }
    return respond("Not found\n", 404, "text/plain");
  };

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    signal: stopping.signal,
    onListen: () => {},
  }, handler);
  const actualPort = server.addr.port;
  allowedHosts = new Set([`127.0.0.1:${actualPort}`, `localhost:${actualPort}`]);
  const shutdown = async (): Promise<void> => {
    stopping.abort();
    await server.finished;
  };
  options.signal?.addEventListener("abort", () => void shutdown(), { once: true });
  return { url: `http://127.0.0.1:${actualPort}/`, finished: server.finished, shutdown };
}

function readPort(args: readonly string[]): number {
  const index = args.findIndex((arg) => arg === "--port" || arg.startsWith("--port="));
  let text: string | undefined;
  if (index !== -1) {
    const arg = args[index]!;
    text = arg === "--port" ? args[index + 1] : arg.slice("--port=".length);
  } else {
    try {
      text = Deno.env.get("QGATE_INSPECT_PORT");
    } catch {
      text = undefined;
    }
  }
  if (text === undefined || text === "") return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Cannot serve inspector: port must be in [0, 65535], got "${text}"`);
  }
  return port;
}

function readTracePath(args: readonly string[]): string | undefined {
  const index = args.findIndex((arg) => arg === "--trace" || arg.startsWith("--trace="));
  if (index === -1) return undefined;
  const arg = args[index]!;
  return arg === "--trace" ? args[index + 1] : arg.slice("--trace=".length);
}

/**
 * Runs the command line: serves the inspector and prints its URL.
 *
 * @param args `--port N` (or env `QGATE_INSPECT_PORT`), `--trace file.json`.
 * @returns The running server.
 * @throws {RangeError} For a bad port.
 */
export async function main(args: readonly string[]): Promise<InspectorServer> {
  const sources = defaultTraceSources();
  const tracePath = readTracePath(args);
  if (tracePath !== undefined) {
    const events = parseTrace(await Deno.readTextFile(tracePath));
    sources.push(replayTrace(events, {
      id: "file",
      label: `Replay ${tracePath}`,
      note: `A recorded trace from ${tracePath}.`,
    }));
  }
  const inspector = serveInspector({ port: readPort(args), sources });
  console.log(`qgate inspector: ${inspector.url}`);
  return inspector;
}

if (import.meta.main) await main(Deno.args);

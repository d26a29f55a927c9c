import assert from "node:assert/strict";
import { serveInspector } from "../src/viz/inspector.ts";
import { replayTrace, type TraceSource } from "../src/viz/trace_sources.ts";
import { simulateHandshakeTrace } from "../src/viz/simulate.ts";
import type { TraceEvent } from "../src/viz/trace_types.ts";

/** Reads a server-sent event stream to its end. */
async function readEvents(response: Response): Promise<{ event: string; data: unknown }[]> {
  const text = await response.text();
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    const lines = block.split("\n");
    const event = lines.find((line) => line.startsWith("event: "))?.slice(7) ?? "";
    const data = lines.find((line) => line.startsWith("data: "))?.slice(6) ?? "null";
    return { event, data: JSON.parse(data) };
  });
}

Deno.test("serveInspector() behaviour", async (t) => {
  const simulated = simulateHandshakeTrace();
  const sources: TraceSource[] = [
    replayTrace(simulated, { id: "sim", label: "Simulated", note: "test" }),
    {
      id: "broken",
      label: "Broken",
      note: "throws",
      // deno-lint-ignore require-yield
      async *open(): AsyncGenerator<TraceEvent> {
        throw new Error("source exploded");
      },
    },
  ];
  const inspector = serveInspector({ sources });
  const base = new URL(inspector.url);

  await t.step("listens on 127.0.0.1 and serves the page and its assets", async () => {
    assert.equal(base.hostname, "127.0.0.1");
    const page = await fetch(base);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const html = await page.text();
    assert.match(html, /qgate inspector/);
    assert.doesNotMatch(html, /https?:\/\//, "the page must not load anything remote");
    for (const asset of ["inspector.js", "inspector.css"]) {
      const response = await fetch(new URL(asset, base));
      assert.equal(response.status, 200, asset);
      assert.doesNotMatch(await response.text(), /https?:\/\//, `${asset} loads nothing remote`);
    }
  });

  await t.step("serves statecharts as JSON and SVG", async () => {
    const { charts } = await (await fetch(new URL("api/statecharts", base))).json();
    assert.ok(charts.some((chart: { id: string }) => chart.id === "handshake"));
    const svg = await fetch(new URL("api/statechart/handshake.svg", base));
    assert.equal(svg.headers.get("content-type"), "image/svg+xml");
    assert.match(await svg.text(), /id="state:ready"/);
    const unknown = await fetch(new URL("api/statechart/nope.svg", base));
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  });

  await t.step("streams a run as server-sent events in order", async () => {
    const { sources: listed } = await (await fetch(new URL("api/sources", base))).json();
    assert.deepEqual(listed.map((source: { id: string }) => source.id), ["sim", "broken"]);
    const events = await readEvents(await fetch(new URL("api/run?source=sim&pace=instant", base)));
    assert.equal(events[0]?.event, "source");
    assert.equal(events.at(-1)?.event, "done");
    const traced = events.filter((event) => event.event === "trace").map((event) => event.data);
    assert.deepEqual(traced, simulated);
  });

  await t.step("reports a failing source as a failure event", async () => {
    const events = await readEvents(
      await fetch(new URL("api/run?source=broken&pace=instant", base)),
    );
    assert.deepEqual(events.at(-1), { event: "failure", data: { message: "source exploded" } });
  });

  await t.step("answers 404 for unknown paths and sources, 405 for other methods", async () => {
    for (const path of ["nope", "api/run?source=nope"]) {
      const response = await fetch(new URL(path, base));
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
    const post = await fetch(base, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });

  await t.step("refuses a foreign Host header (DNS rebinding)", async () => {
    // fetch() does not let a caller set Host: speak HTTP over a raw connection.
    const status = async (host: string): Promise<string> => {
      const connection = await Deno.connect({ hostname: "127.0.0.1", port: Number(base.port) });
      try {
        const request = `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
        await connection.write(new TextEncoder().encode(request));
        const buffer = new Uint8Array(64);
        const read = await connection.read(buffer);
        return new TextDecoder().decode(buffer.subarray(0, read ?? 0)).split("\r\n")[0] ?? "";
      } finally {
        connection.close();
      }
    };
    assert.match(await status("attacker.example"), / 403 /);
    assert.match(await status(`localhost:${base.port}`), / 200 /);
  });

  await inspector.shutdown();

  await t.step("rejects a bad port with RangeError and bad sources with TypeError", () => {
    for (const port of [-1, 65_536, 1.5]) {
      assert.throws(() => serveInspector({ port }), RangeError);
    }
    assert.throws(() => serveInspector({ sources: [] }), TypeError);
    assert.throws(() => serveInspector({ sources: [sources[0]!, sources[0]!] }), TypeError);
  });
});

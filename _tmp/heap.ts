import { Session as InspectorSession } from "node:inspector";
import { autoBackend } from "../mod.ts";
import { handshakeOver, peers } from "../tests/bench/_scenarios.ts";
import { createMemoryPair } from "../mod.ts";

const ids = await peers();
async function snapshot(): Promise<Map<string, { count: number; size: number }>> {
  (globalThis as { gc?: () => void }).gc?.();
  const s = new InspectorSession();
  s.connect();
  let chunks = "";
  s.on("HeapProfiler.addHeapSnapshotChunk", (m: { params: { chunk: string } }) => (chunks += m.params.chunk));
  await new Promise<void>((res, rej) => s.post("HeapProfiler.takeHeapSnapshot", { reportProgress: false }, (e: unknown) => e ? rej(e) : res()));
  s.disconnect();
  const snap = JSON.parse(chunks);
  const f = snap.snapshot.meta.node_fields as string[];
  const types = snap.snapshot.meta.node_types[0] as string[];
  const nf = f.length, ti = f.indexOf("type"), ni = f.indexOf("name"), si = f.indexOf("self_size");
  const strings = snap.strings as string[];
  const nodes = snap.nodes as number[];
  const agg = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < nodes.length; i += nf) {
    const type = types[nodes[i + ti]!]!;
    const name = type === "object" || type === "closure" ? `${type}:${strings[nodes[i + ni]!]}` : type;
    const e = agg.get(name) ?? { count: 0, size: 0 };
    e.count++; e.size += nodes[i + si]!;
    agg.set(name, e);
  }
  return agg;
}
const N = 200;
const before = await snapshot();
const pairs = [];
for (let i = 0; i < N / 2; i++) pairs.push(await handshakeOver(createMemoryPair(), ids, autoBackend));
await new Promise((r) => setTimeout(r, 100));
const after = await snapshot();
const diff: [string, number, number][] = [];
for (const [k, v] of after) {
  const b = before.get(k) ?? { count: 0, size: 0 };
  diff.push([k, (v.count - b.count) / N, (v.size - b.size) / N]);
}
diff.sort((a, b) => b[2] - a[2]);
let total = 0;
for (const d of diff) total += d[2];
console.log("total bytes/session", total.toFixed(0));
for (const [k, c, s] of diff.slice(0, 45)) console.log(s.toFixed(0).padStart(7), c.toFixed(2).padStart(7), k);
Deno.exit(0);

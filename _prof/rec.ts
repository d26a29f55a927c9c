import { Session as Insp } from "node:inspector";
import { EXTENDER, peers, rawAead, recordTransfer } from "../tests/bench/_scenarios.ts";
import { autoBackend } from "../mod.ts";
const ids = await peers();
const size = Number(Deno.args[0] ?? 16384);
const t = await recordTransfer(autoBackend, ids, size);
const raw = rawAead(autoBackend, size);
for (let k = 0; k < 300; k++) {
  await t.run();
  await raw.run();
}
const s = new Insp();
s.connect();
const post = (m: string, p?: object) =>
  new Promise((res, rej) => s.post(m, p ?? {}, (e: unknown, r: unknown) => e ? rej(e) : res(r)));
const N = 3000;
let t0 = performance.now();
for (let k = 0; k < N; k++) await raw.run();
const rawMs = (performance.now() - t0) / N;
await post("Profiler.enable");
await post("Profiler.setSamplingInterval", { interval: 50 });
await post("Profiler.start");
t0 = performance.now();
for (let k = 0; k < N; k++) await t.run();
const recMs = (performance.now() - t0) / N;
const { profile } = await post("Profiler.stop") as { profile: unknown };
Deno.writeTextFileSync("/tmp/qg/rec.cpuprofile", JSON.stringify(profile));
console.log(
  `size ${size}: record ${recMs.toFixed(4)} ms, raw ${rawMs.toFixed(4)} ms, ratio ${
    (rawMs / recMs).toFixed(2)
  }`,
);
await t.close();
await raw.close();
Deno.exit(0);

import { freeCryptoBackend, handshakeOver, peers } from "../tests/bench/_scenarios.ts";
import { autoBackend, createMemoryPair } from "../mod.ts";
const ids = await peers();
const backend = freeCryptoBackend(autoBackend);
import process from "node:process";
let hs = 0, cl = 0, crT = 0;
let cpu0 = 0;
for (let k = 0; k < 300; k++) {
  const t0 = performance.now();
  const [i, r] = await handshakeOver(createMemoryPair(), ids, backend);
  const t1 = performance.now();
  await i.close();
  const t2 = performance.now();
  await r.closed;
  const t3 = performance.now();
  if (k === 100) cpu0 = process.cpuUsage().user + process.cpuUsage().system;
  if (k >= 100) {
    hs += t1 - t0;
    cl += t2 - t1;
    crT += t3 - t2;
  }
}
const cu = process.cpuUsage();
console.log("cpu per run ms", ((cu.user + cu.system - cpu0) / 1000 / 200).toFixed(3));
console.log(
  `handshake ${(hs / 200).toFixed(3)} ms, close ${
    (cl / 200).toFixed(3)
  } ms, responder closed after ${(crT / 200).toFixed(3)} ms`,
);
Deno.exit(0);

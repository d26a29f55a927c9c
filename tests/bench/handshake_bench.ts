/**
 * `deno bench` handshake rates: each group's baseline is what the target
 * compares with, so `deno bench` prints the ratios. The summary printer
 * (`summary.ts`) measures the same scenarios interleaved and adds memory.
 * The TCP and TLS comparison is in `tcp_bench.ts`, which runs last.
 *
 * Every `fn` is an `async function`: `deno bench` awaits only those, and
 * would otherwise start the next iteration while one is still running.
 */

import { autoBackend, nobleBackend } from "../../mod.ts";
import { concurrentHandshakes, cryptoFloor, memoryHandshake, peers } from "./_scenarios.ts";

const ids = await peers();

for (const [backend, label] of [[nobleBackend, "noble"], [autoBackend, "native"]] as const) {
  const floor = cryptoFloor(backend, ids);
  const handshake = memoryHandshake(backend, ids);
  Deno.bench({
    name: `crypto floor (${label})`,
    group: `handshake in memory, ${label}`,
    baseline: true,
    async fn(): Promise<void> {
      await floor.run();
    },
  });
  Deno.bench({
    name: `qgate handshake (${label})`,
    group: `handshake in memory, ${label}`,
    async fn(): Promise<void> {
      await handshake.run();
    },
  });
}

for (const [backend, label] of [[autoBackend, "native"], [nobleBackend, "noble"]] as const) {
  for (const count of [1, 10, 100]) {
    const batch = concurrentHandshakes(backend, ids, count);
    Deno.bench({
      name: `${count} concurrent handshakes, one batch (${label})`,
      group: `concurrency, ${label} (handshakes/s = count / time)`,
      baseline: count === 1,
      async fn(): Promise<void> {
        await batch.run();
      },
    });
  }
}

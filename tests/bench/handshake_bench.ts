/**
 * `deno bench` handshake rates: each group's baseline is what the target
 * compares with, so `deno bench` prints the ratios. The summary printer
 * (`summary.ts`) measures the same scenarios interleaved and adds memory.
 *
 * Every `fn` is an `async function`: `deno bench` awaits only those, and
 * would otherwise start the next iteration while one is still running.
 */

import { autoBackend, nobleBackend } from "../../mod.ts";
import {
  concurrentHandshakes,
  cryptoFloor,
  memoryHandshake,
  peers,
  tcpHandshake,
  tlsHandshake,
} from "./_scenarios.ts";

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

const tls = await tlsHandshake();
const tcpNative = tcpHandshake(autoBackend, ids);
const tcpNoble = tcpHandshake(nobleBackend, ids);
Deno.bench({
  name: "Deno TLS 1.3 handshake",
  group: "handshake over loopback TCP",
  baseline: true,
  async fn(): Promise<void> {
    await tls.run();
  },
});
Deno.bench({
  name: "qgate over TCP (native)",
  group: "handshake over loopback TCP",
  async fn(): Promise<void> {
    await tcpNative.run();
  },
});
Deno.bench({
  name: "qgate over TCP (noble)",
  group: "handshake over loopback TCP",
  async fn(): Promise<void> {
    await tcpNoble.run();
  },
});

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

globalThis.addEventListener("unload", () => {
  void tls.close();
  void tcpNative.close();
  void tcpNoble.close();
});

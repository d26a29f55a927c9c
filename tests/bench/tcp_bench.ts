/**
 * `deno bench` handshakes over loopback TCP against Deno's native TLS 1.3.
 *
 * This file runs last, and TLS last within it: every closed Deno TLS
 * connection leaves about 2 ms of waiting in the runtime's blocking pool
 * (no CPU), and WebCrypto operations queue behind it, so a native-backend
 * benchmark measured after many TLS handshakes would include that wait.
 *
 * Every `fn` is an `async function`: `deno bench` awaits only those.
 */

import { autoBackend, nobleBackend } from "../../mod.ts";
import { peers, tcpHandshake, tlsHandshake } from "./_scenarios.ts";

const ids = await peers();
const tcpNative = tcpHandshake(autoBackend, ids);
const tcpNoble = tcpHandshake(nobleBackend, ids);
const tls = await tlsHandshake();

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
Deno.bench({
  name: "Deno TLS 1.3 handshake",
  group: "handshake over loopback TCP",
  baseline: true,
  async fn(): Promise<void> {
    await tls.run();
  },
});

globalThis.addEventListener("unload", () => {
  void tls.close();
  void tcpNative.close();
  void tcpNoble.close();
});

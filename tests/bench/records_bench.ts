/**
 * `deno bench` record throughput: one application message of each size
 * through an established session (in memory, sealed, framed, opened,
 * delivered), against the raw AEAD sealing and opening the same bytes.
 */

import { autoBackend, nobleBackend } from "../../mod.ts";
import { peers, rawAead, recordTransfer } from "./_scenarios.ts";

const ids = await peers();
const open: { close(): Promise<void> }[] = [];

for (const [backend, label] of [[autoBackend, "native"], [nobleBackend, "noble"]] as const) {
  for (const size of [64, 1024, 16_384, 65_536]) {
    const group = `records of ${size} B, ${label}`;
    const raw = rawAead(backend, size);
    const transfer = await recordTransfer(backend, ids, size);
    open.push(raw, transfer);
    Deno.bench({
      name: `raw AEAD seal + open (${label})`,
      group,
      baseline: true,
      async fn(): Promise<void> {
        await raw.run();
      },
    });
    Deno.bench({
      name: `qgate send → message (${label})`,
      group,
      async fn(): Promise<void> {
        await transfer.run();
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  for (const scenario of open) void scenario.close();
});

/**
 * Secrets that outlive their use on datagrams: the GSS copies of the sealer
 * and opener are wiped once no longer needed, the previous epoch's keys go
 * when the grace period ends (both directions: the opener's and the
 * sealer's, kept to retransmit a flight), whether or not anything arrives.
 * A recording backend numbers every cipher it creates and logs each dispose.
 */

import assert from "node:assert/strict";
import { nobleBackend, seededRandom } from "../mod.ts";
import { CipherState } from "../src/crypto/cipher_state.ts";
import { DatagramOpener, DatagramSealer } from "../src/codec/datagram_records.ts";
import { createRecordLayer } from "../src/session/_record_layer.ts";
import { cipherLog } from "./_recording_backend.ts";

/** Runs `body` while recording every array `Uint8Array.from` copies out of `secret`. */
async function copiesOf(secret: Uint8Array, body: () => Promise<void>): Promise<Uint8Array[]> {
  const copies: Uint8Array[] = [];
  const original = Uint8Array.from;
  const hex = secret.toString();
  // deno-lint-ignore no-explicit-any
  (Uint8Array as any).from = function (...args: unknown[]): Uint8Array {
    // deno-lint-ignore no-explicit-any
    const copy = (original as any).apply(Uint8Array, args) as Uint8Array;
    if (copy.toString() === hex) copies.push(copy);
    return copy;
  };
  try {
    await body();
  } finally {
    Uint8Array.from = original;
  }
  return copies;
}

const GSS = new Uint8Array(32).fill(0x5a);

Deno.test("DatagramSealer and DatagramOpener wipe their GSS copies once no longer needed", async (t) => {
  await t.step("the sealer right after deriving its pre-keys", async () => {
    const copies = await copiesOf(GSS, async () => {
      new DatagramSealer({
        backend: nobleBackend,
        random: seededRandom(new Uint8Array([1])),
        globalSharedSecret: GSS,
      });
      await Promise.resolve();
    });
    assert.ok(copies.length >= 1);
    for (const copy of copies) assert.ok(copy.every((byte) => byte === 0));
  });
  await t.step("the opener once it has adopted the peer's salt", async () => {
    let opener: DatagramOpener | undefined;
    const copies = await copiesOf(GSS, async () => {
      const sealer = new DatagramSealer({
        backend: nobleBackend,
        random: seededRandom(new Uint8Array([2])),
        globalSharedSecret: GSS,
      });
      opener = new DatagramOpener({ backend: nobleBackend, now: () => 0, globalSharedSecret: GSS });
      await opener.open(await sealer.seal(0, new Uint8Array(1), 0));
    });
    assert.ok(copies.length >= 2);
    for (const copy of copies) assert.ok(copy.every((byte) => byte === 0));
    opener!.dispose();
  });
});

Deno.test("createRecordLayer() on datagrams drops both previous epochs' keys when the grace period ends", () => {
  const { backend, log } = cipherLog();
  let now = 0;
  const timers: { fn: () => void; at: number }[] = [];
  const layer = createRecordLayer(true, {
    backend,
    random: seededRandom(new Uint8Array([3])),
    globalSharedSecret: undefined,
    maxRecordLength: 65_536,
    now: () => now,
    graceMs: 1_000,
    setTimer: (fn, ms) => timers.push({ fn, at: now + ms }),
    clearTimer: () => {},
  });
  // Epoch 0 of the sender is cipher 0; the opener creates no epoch-0 cipher before a datagram.
  const aead = backend.aead("ChaCha20-Poly1305")!;
  const key = new Uint8Array(32).fill(1);
  layer.setSendCipher(new CipherState(aead, key, 1));
  layer.setReceiveCipher(new CipherState(aead, key, 1));
  layer.setReceiveCipher(new CipherState(aead, key, 2));
  const receivePrevious = log.at(-1)!.replace("create", "dispose");
  assert.ok(!log.includes("dispose 0"), "the sender keeps epoch 0 to retransmit");
  assert.ok(!log.includes(receivePrevious));
  now += 1_000;
  for (const timer of timers.splice(0)) if (timer.at <= now) timer.fn();
  assert.ok(log.includes("dispose 0"), "the sender's previous key is gone");
  assert.ok(log.includes(receivePrevious.replace(/\d+$/, (id) => String(Number(id) - 1))));
  layer.dispose();
});

/**
 * Receive limits are protocol constants: the record limit of a key-update
 * epoch does not follow any local setting, the epoch space of the transport
 * ends loudly, and key updates the peer starts are rate-limited.
 */

import assert from "node:assert/strict";
import { EPOCH_RECORD_LIMIT } from "../src/crypto/cipher_state.ts";
import { KeySchedule } from "../src/crypto/key_schedule.ts";
import { nobleBackend, seededRandom } from "../mod.ts";
import { KeyRotation, PEER_UPDATE_BURST, PEER_UPDATE_RATE } from "../src/session/_key_rotation.ts";
import { ErrorCode } from "../src/errors.ts";
import type { Role } from "../src/session/details.ts";
import { outcome, startPair, waitFor } from "./_session_helpers.ts";

const HASH = nobleBackend.hash("SHA-256")!;
const AEAD = nobleBackend.aead("ChaCha20-Poly1305")!;

function rotation(
  role: Role,
  options: { maxEpoch?: number; now?: () => number } = {},
): KeyRotation {
  const schedule = new KeySchedule(HASH);
  schedule.mixPrimary(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
  schedule.mixSecondary(new Uint8Array(32).fill(3), new Uint8Array(32).fill(4));
  return new KeyRotation({
    role,
    primary: nobleBackend.keyExchange("X25519")!,
    secondary: nobleBackend.keyExchange("ML-KEM-512")!,
    hash: HASH,
    aead: AEAD,
    schedule,
    random: seededRandom(new Uint8Array([role === "initiator" ? 1 : 2])),
    maxEpoch: options.maxEpoch ?? 0xffff_ffff,
    now: options.now ?? (() => 0),
  });
}

async function update(starter: KeyRotation, other: KeyRotation, epoch: number): Promise<void> {
  const offer = await starter.offer(epoch);
  const answer = await other.answer({ kind: "beginKeyUpdate", epoch, ...offer });
  await starter.finish({ kind: "endKeyUpdate", epoch, ...answer });
}

Deno.test("KeyRotation opens and seals up to EPOCH_RECORD_LIMIT records in every new epoch", async () => {
  const [initiator, responder] = [rotation("initiator"), rotation("responder")];
  await update(initiator, responder, 3);
  for (const side of [initiator, responder]) {
    assert.equal(side.takeReceive().remaining, EPOCH_RECORD_LIMIT);
    assert.equal(side.takeSend().remaining, EPOCH_RECORD_LIMIT);
  }
});

Deno.test("KeyRotation fails with ERR_NONCE_EXHAUSTED past the last epoch the transport carries", async () => {
  const [initiator, responder] = [
    rotation("initiator", { maxEpoch: 0xffff }),
    rotation("responder", { maxEpoch: 0xffff }),
  ];
  await update(initiator, responder, 0xffff);
  await assert.rejects(initiator.offer(0x1_0000), { code: ErrorCode.NONCE_EXHAUSTED });
  const offer = await rotation("initiator").offer(0x1_0000);
  await assert.rejects(
    responder.answer({ kind: "beginKeyUpdate", epoch: 0x1_0000, ...offer }),
    { code: ErrorCode.NONCE_EXHAUSTED },
  );
});

Deno.test("KeyRotation.answer() fails with ERR_RESOURCE_LIMIT once the peer exceeds its update budget", async () => {
  let now = 0;
  const initiator = rotation("initiator");
  const responder = rotation("responder", { now: () => now });
  let epoch = 3;
  for (let i = 0; i < PEER_UPDATE_BURST; i++) await update(initiator, responder, epoch++);
  await assert.rejects(update(initiator, responder, epoch), { code: ErrorCode.RESOURCE_LIMIT });
  // The budget refills at PEER_UPDATE_RATE per second.
  now += 1_000 / PEER_UPDATE_RATE;
  await update(initiator, responder, epoch++);
  await assert.rejects(update(initiator, responder, epoch), { code: ErrorCode.RESOURCE_LIMIT });
});

Deno.test("Session fails a peer that starts key updates faster than the rate limit with ERR_RESOURCE_LIMIT", async () => {
  const pair = startPair({ requireAuthentication: false }, { requireAuthentication: false });
  await outcome(pair);
  let ended: { code?: string | undefined } | undefined;
  void pair.responder.closed.then((info) => (ended = info));
  for (let i = 0; i <= PEER_UPDATE_BURST && ended === undefined; i++) {
    await pair.initiator.updateKeys().catch(() => {});
  }
  await waitFor(() => ended !== undefined, { what: "the responder to end" });
  assert.equal(ended!.code, ErrorCode.RESOURCE_LIMIT);
  await pair.initiator.closed;
});

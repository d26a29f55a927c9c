import assert from "node:assert/strict";
import { createMemoryPair, ErrorCode, respond, seededRandom } from "../mod.ts";
import { runHandshake } from "./_adversarial_channel.ts";

const quick = (seed: number) => ({
  requireAuthentication: false,
  timeouts: { phase: 300, handshake: 2_000 },
  random: seededRandom(new Uint8Array([seed])),
});

Deno.test("Session.ready settles when the transport ends while the initiator sends its last message", async () => {
  const run = await runHandshake({
    initiator: quick(1),
    responder: quick(2),
    // BeginSessionInit reaches the initiator, then the responder's side is aborted at once.
    relay: {
      script: {
        record: (record) =>
          record.direction === "r2i" && record.index === 4
            ? [{ record }, { end: "abort" }]
            : [{ record }],
      },
    },
    expectEnd: true,
  });
  assert.equal(run.initiator.ended?.code, ErrorCode.TRANSPORT_CLOSED);
  assert.equal(
    run.initiator.readySettled,
    true,
    "initiator.ready neither resolved nor rejected",
  );
});

Deno.test("respond() fails with ERR_TRANSPORT_CLOSED, not ERR_INTERNAL, when the peer stops reading", async () => {
  for (let yields = 0; yields < 8; yields++) {
    const [a, b] = createMemoryPair();
    const session = respond(b, quick(2));
    const reader = a.readable.getReader();
    for (let i = 0; i < yields; i++) await Promise.resolve();
    await reader.cancel();
    const code = await session.ready.then(
      () => "ready",
      (error: { code?: string }) => error.code,
    );
    await a.writable.abort().catch(() => {});
    assert.notEqual(code, ErrorCode.INTERNAL, `after ${yields} yields`);
  }
});

Deno.test("Session.sendNoise() right after the initiator's EndPrimaryKeyExchange keeps the handshake intact", async () => {
  const noise: Promise<unknown>[] = [];
  const run = await runHandshake({
    initiator: quick(1),
    responder: quick(2),
    onStart: (initiator) => {
      initiator.session.on("trace", (event) => {
        if (
          event.type === "frame" && event.direction === "sent" &&
          event.kind === "endPrimaryKeyExchange"
        ) {
          noise.push(initiator.session.sendNoise(5));
        }
      });
    },
    beforeCleanup: () => Promise.allSettled(noise),
  });
  assert.equal(
    run.responder.code,
    undefined,
    "the responder could not open the noise record",
  );
  assert.deepEqual(run.initiator.keys, run.responder.keys);
});

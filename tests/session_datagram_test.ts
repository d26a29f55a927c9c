import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createDatagramPair,
  type DatagramTransport,
  ErrorCode,
  initiate,
  respond,
  seededRandom,
  type Session,
} from "../mod.ts";
import { accessFor, identityFor, skippingClock, waitFor } from "./_session_helpers.ts";
import { propertyConfig } from "./_property.ts";

const EXTENDER = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

async function end(sessions: Session[]): Promise<void> {
  await Promise.all(sessions.map((session) => session.close()));
}

Deno.test("initiate() over datagrams reaches ready despite loss, duplication and reordering (property)", async () => {
  const alice = await identityFor("Ed25519", 21);
  const bob = await identityFor("Ed25519", 22);
  const access = accessFor(alice, bob);
  await fc.assert(
    fc.asyncProperty(
      fc.nat(1_000_000),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      async (seed, loss, duplicate, reorder) => {
        const random = seededRandom(new Uint8Array(new Uint32Array([seed]).buffer));
        const [a, b] = createDatagramPair({ loss, duplicate, reorder, random });
        const common = {
          accessManager: access,
          extenders: [EXTENDER],
          timeouts: { phase: 20_000, handshake: 30_000 },
          keyUpdate: { maxDuration: 30_000 },
        };
        const client = initiate(a, {
          ...common,
          identity: alice,
          random: seededRandom(new Uint8Array([1, seed & 255])),
        });
        const server = respond(b, {
          ...common,
          identity: bob,
          random: seededRandom(new Uint8Array([2, seed & 255])),
        });
        const [mine, theirs] = await Promise.all([client.ready, server.ready]);
        assert.ok(mine.authenticated && theirs.authenticated);
        assert.deepEqual(
          client.exportKeyingMaterial("datagram", new Uint8Array(0), 16),
          server.exportKeyingMaterial("datagram", new Uint8Array(0), 16),
        );
        // Application data is unreliable like UDP itself: whatever arrives is intact.
        const received: number[] = [];
        server.on("message", ({ data }) => received.push(data[0]!));
        for (let i = 0; i < 20; i++) await client.send(EXTENDER, new Uint8Array([i]));
        const epochs = await Promise.all([client.updateKeys(), server.updateKeys()]);
        assert.deepEqual(epochs, [3, 3]);
        await client.send(EXTENDER, new Uint8Array([99]));
        await end([client, server]);
        assert.ok(received.every((value) => value === 99 || value < 20));
        assert.ok(new Set(received).size === received.length || duplicate > 0);
      },
    ),
    propertyConfig(12),
  );
});

Deno.test("initiate() over datagrams drops forged and replayed datagrams instead of failing", async () => {
  const [a, b] = createDatagramPair();
  // A relay in front of the responder that also injects garbage and replays.
  const [relayOut, toResponder] = createDatagramPair();
  const options = { requireAuthentication: false, extenders: [EXTENDER] };
  const client = initiate(a, { ...options, random: seededRandom(new Uint8Array([5])) });
  const server = respond(toResponder, { ...options, random: seededRandom(new Uint8Array([6])) });
  const forward = async () => {
    const writer = relayOut.writable.getWriter();
    const seen: Uint8Array[] = [];
    for await (const datagram of b.readable) {
      await writer.write(new Uint8Array(40).fill(seen.length)); // garbage
      if (seen.length > 0) await writer.write(seen[seen.length - 1]!); // replay
      await writer.write(datagram);
      seen.push(datagram);
    }
    await writer.close();
  };
  const backward = async () => {
    const writer = b.writable.getWriter();
    for await (const datagram of relayOut.readable) await writer.write(datagram);
    await writer.close();
  };
  const relaying = Promise.all([forward(), backward()]);
  await Promise.all([client.ready, server.ready]);
  // Every garbage datagram and every replay was dropped, none was fatal.
  assert.ok(server.droppedRecords >= 5, `dropped only ${server.droppedRecords}`);
  await client.send(EXTENDER, new Uint8Array([1]));
  await end([client, server]);
  await relaying.catch(() => {});
});

Deno.test("respond() over datagrams fails with ERR_TIMEOUT when every datagram is lost", async () => {
  const [a, b] = createDatagramPair({ loss: 0.999999, random: seededRandom(new Uint8Array([7])) });
  const options = {
    requireAuthentication: false,
    timeouts: { phase: 400, handshake: 1_000 },
  };
  const client = initiate(a, { ...options, random: seededRandom(new Uint8Array([8])) });
  const server = respond(b, { ...options, random: seededRandom(new Uint8Array([9])) });
  const results = await Promise.allSettled([client.ready, server.ready]);
  const codes = results.map((result) =>
    result.status === "rejected" ? (result.reason as { code?: string }).code : "ready"
  );
  // The first to time out closes the in-memory pipe, which the other may see first.
  assert.ok(codes.includes(ErrorCode.TIMEOUT), codes.join());
  for (const code of codes) {
    assert.ok(code === ErrorCode.TIMEOUT || code === ErrorCode.TRANSPORT_CLOSED, codes.join());
  }
  await Promise.all([client.closed, server.closed]);
});

/** Two datagram pairs joined by a relay that can stash one initiator-to-responder datagram. */
function stashingRelay(): {
  transports: [DatagramTransport, DatagramTransport];
  stashNext: () => void;
  /** Whether a datagram is stashed. */
  holding: () => boolean;
  deliverStash: () => Promise<void>;
} {
  const [initiatorSide, relayA] = createDatagramPair();
  const [relayB, responderSide] = createDatagramPair();
  let stashNext = false;
  let stash: Uint8Array | undefined;
  const toResponder = relayB.writable.getWriter();
  const pump = async (
    from: DatagramTransport,
    to: WritableStreamDefaultWriter<Uint8Array>,
    stashable: boolean,
  ): Promise<void> => {
    try {
      for await (const datagram of from.readable) {
        if (stashable && stashNext) {
          stash = datagram;
          stashNext = false;
        } else await to.write(datagram);
      }
      await to.close();
    } catch {
      await to.abort().catch(() => {});
    }
  };
  void pump(relayA, toResponder, true);
  void pump(relayB, relayA.writable.getWriter(), false);
  return {
    transports: [initiatorSide, responderSide],
    stashNext: () => void (stashNext = true),
    holding: () => stash !== undefined,
    deliverStash: async () => {
      if (stash !== undefined) await toResponder.write(stash);
      stash = undefined;
    },
  };
}

Deno.test("Session over datagrams opens the previous epoch's records only within the grace period", async (t) => {
  for (
    const [name, elapsed, delivered] of [
      ["within the grace period", 1_000, true],
      ["not after it: the old keys are gone", 60_000, false],
    ] as const
  ) {
    await t.step(name, async () => {
      const { clock, skip } = skippingClock();
      const relay = stashingRelay();
      const options = {
        requireAuthentication: false,
        extenders: [EXTENDER],
        keyUpdate: { gracePeriod: 30_000 },
      };
      const client = initiate(relay.transports[0], {
        ...options,
        random: seededRandom(new Uint8Array([11])),
      });
      const server = respond(relay.transports[1], {
        ...options,
        clock,
        random: seededRandom(new Uint8Array([12])),
      });
      await Promise.all([client.ready, server.ready]);
      const received: number[] = [];
      server.on("message", ({ data }) => received.push(data[0]!));
      // A record sealed under epoch 2 is held back in flight...
      relay.stashNext();
      await client.send(EXTENDER, new Uint8Array([7]));
      await waitFor(relay.holding, { what: "the record to be held back" });
      // ...while the keys move on to epoch 3.
      assert.equal(await server.updateKeys(), 3);
      const dropped = server.droppedRecords;
      skip(elapsed);
      await relay.deliverStash();
      await waitFor(() => received.length > 0 || server.droppedRecords > dropped, {
        what: "the held-back record to be opened or dropped",
      });
      if (delivered) {
        assert.deepEqual(received, [7]);
        assert.equal(server.droppedRecords, dropped);
      } else {
        assert.deepEqual(received, []);
        assert.equal(server.droppedRecords, dropped + 1);
      }
      await Promise.all([client.close(), server.close()]);
    });
  }
});

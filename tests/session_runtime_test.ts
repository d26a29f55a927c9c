import assert from "node:assert/strict";
import fc from "fast-check";
import type { CryptoBackend } from "../src/crypto/mod.ts";
import {
  createDatagramPair,
  createMemoryPair,
  ErrorCode,
  nobleBackend,
  seededRandom,
  type Session,
  type SessionOptions,
  type Transport,
} from "../mod.ts";
import { closePair, type Pair, skippingClock, startPair, waitFor } from "./_session_helpers.ts";
import { propertyConfig } from "./_property.ts";
import { recordingBackend } from "./_recording_backend.ts";
import { bytesToHex } from "../src/_hex.ts";

const EXTENDER = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

/**
 * A backend whose AEADs remember every (key, nonce) pair they seal with, so a
 * test can prove no nonce is ever reused under one key.
 */
function auditingBackend(): {
  backend: CryptoBackend;
  reused: () => string[];
  sealed: () => number;
} {
  const seen = new Set<string>();
  const reused: string[] = [];
  // The key as it was when the cipher was created (the caller may wipe its array afterwards).
  const keyIds: string[] = [];
  let sealed = 0;
  const backend = recordingBackend(nobleBackend, {
    createCipher: (key, id) => {
      keyIds[id] = bytesToHex(key);
    },
    seal: (id, nonce) => {
      const pair = `${keyIds[id]}/${bytesToHex(nonce)}`;
      if (seen.has(pair)) reused.push(pair);
      seen.add(pair);
      sealed++;
    },
  }, { name: "auditing noble" });
  return { backend, reused: () => reused, sealed: () => sealed };
}

function options(backend: CryptoBackend, seed: number): SessionOptions {
  return {
    requireAuthentication: false,
    extenders: [EXTENDER],
    backend,
    random: seededRandom(new Uint8Array([seed])),
  };
}

Deno.test("Session.updateKeys() rotates both directions and keeps data flowing", async () => {
  const audit = auditingBackend();
  const pair = startPair(options(audit.backend, 1), options(audit.backend, 2));
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  const received: string[] = [];
  pair.responder.on("message", ({ data }) => received.push(new TextDecoder().decode(data)));
  const updates: number[] = [];
  pair.initiator.on("keyUpdate", ({ epoch }) => updates.push(epoch));
  const before = pair.initiator.exportKeyingMaterial("x", new Uint8Array(0), 16);

  await pair.initiator.send(EXTENDER, new TextEncoder().encode("epoch 2"));
  assert.equal(await pair.initiator.updateKeys(), 3);
  await pair.initiator.send(EXTENDER, new TextEncoder().encode("epoch 3"));
  assert.equal(await pair.responder.updateKeys(), 4);
  await pair.initiator.send(EXTENDER, new TextEncoder().encode("epoch 4"));
  // Both at once: one update, the responder's, wins; both end in the same epoch.
  const [a, b] = await Promise.all([pair.initiator.updateKeys(), pair.responder.updateKeys()]);
  assert.equal(a, 5);
  assert.equal(b, 5);
  await pair.initiator.send(EXTENDER, new TextEncoder().encode("epoch 5"));
  assert.equal(pair.initiator.epoch, 5);
  assert.equal(pair.responder.epoch, 5);
  assert.deepEqual(updates, [3, 4, 5]);
  // The exporter is fixed at the handshake; key updates do not change it.
  assert.deepEqual(pair.initiator.exportKeyingMaterial("x", new Uint8Array(0), 16), before);
  await closePair(pair);
  assert.deepEqual(received, ["epoch 2", "epoch 3", "epoch 4", "epoch 5"]);
  assert.deepEqual(audit.reused(), []);
});

Deno.test("Session rotates keys by itself once an epoch carried maxRecords records", async () => {
  const audit = auditingBackend();
  const settings = { keyUpdate: { maxRecords: 8 } };
  const pair = startPair(
    { ...options(audit.backend, 3), ...settings },
    { ...options(audit.backend, 4), ...settings },
  );
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  const rotated = new Promise<number>((resolve) =>
    pair.responder.on("keyUpdate", ({ epoch }) => resolve(epoch))
  );
  for (let i = 0; i < 10; i++) await pair.initiator.send(EXTENDER, new Uint8Array([i]));
  assert.equal(await rotated, 3);
  await closePair(pair);
  assert.deepEqual(audit.reused(), []);
});

Deno.test("Session sends noise at random intervals by security level and the peer drops it", async () => {
  const noisy = {
    requireAuthentication: false,
    securityLevel: 5 as const,
    maxHandshakeDelay: 0,
    noise: { minInterval: 1, maxInterval: 2 },
  };
  const pair = startPair(noisy, noisy);
  let noiseReceived = 0;
  let firstFrame: string | undefined;
  pair.responder.on("trace", (event) => {
    if (event.type !== "frame" || event.direction !== "received") return;
    firstFrame ??= event.kind;
    if (event.noise) noiseReceived++;
  });
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  await waitFor(() => noiseReceived >= 3, { what: "three noise records" });
  await closePair(pair);
  // The initiator opens with noise before the responder said anything.
  assert.equal(firstFrame, "noise");
  assert.ok(noiseReceived >= 3, `only ${noiseReceived} noise records arrived`);
});

Deno.test("Session.setExtenders() tells the peer, which reports the change", async () => {
  const other = "8b0c1d2e-3f40-4152-8364-758697a8b9ca";
  const pair = startPair(
    { requireAuthentication: false, extenders: [EXTENDER] },
    { requireAuthentication: false, extenders: [EXTENDER] },
  );
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  // A send before the change: the extender it went to is not taken as still announced after it.
  await pair.responder.send(EXTENDER, new Uint8Array(1));
  const changed = new Promise((resolve) => pair.responder.on("extenders", resolve));
  await pair.initiator.setExtenders([other]);
  assert.deepEqual(await changed, { added: [other], removed: [EXTENDER] });
  assert.deepEqual(pair.responder.details?.peerExtenders, [other]);
  await assert.rejects(
    pair.responder.send(EXTENDER, new Uint8Array(1)),
    (error: { code?: string }) => error.code === ErrorCode.UNKNOWN_EXTENDER,
  );
  await closePair(pair);
});

/** Two transports joined by a relay whose responder-to-initiator direction can be held. */
function holdableRelay(): {
  transports: [Transport, Transport];
  hold: () => void;
  release: () => void;
} {
  const [initiatorSide, relayToInitiator] = createMemoryPair();
  const [relayToResponder, responderSide] = createMemoryPair();
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  const pipe = async (from: Transport, to: Transport, held: boolean) => {
    const writer = to.writable.getWriter();
    try {
      for await (const chunk of from.readable) {
        if (held) await gate;
        await writer.write(chunk);
      }
      await writer.close();
    } catch {
      await writer.abort().catch(() => {});
    }
  };
  void pipe(relayToInitiator, relayToResponder, false);
  void pipe(relayToResponder, relayToInitiator, true);
  return {
    transports: [initiatorSide, responderSide],
    hold: () => {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => open(),
  };
}

Deno.test("Session drops data for a just-removed extender, then fails with ERR_UNKNOWN_EXTENDER", async (t) => {
  for (
    const [name, elapsed, expected] of [
      ["within the grace period", 1_000, undefined],
      ["after the grace period", 120_000, ErrorCode.UNKNOWN_EXTENDER],
    ] as const
  ) {
    await t.step(name, async () => {
      const { clock, skip } = skippingClock();
      const relay = holdableRelay();
      const pair = startPair(
        { requireAuthentication: false, extenders: [EXTENDER] },
        { requireAuthentication: false, extenders: [EXTENDER], clock },
        relay.transports,
      );
      await Promise.all([pair.initiator.ready, pair.responder.ready]);
      // The responder removes the extender; its update is held back, so the
      // initiator still believes the extender runs and sends to it.
      relay.hold();
      await pair.responder.setExtenders([]);
      skip(elapsed);
      await pair.initiator.send(EXTENDER, new Uint8Array([1]));
      relay.release();
      if (expected === undefined) {
        const changed = new Promise((resolve) => pair.initiator.on("extenders", resolve));
        await changed;
        await closePair(pair);
        assert.equal((await pair.responder.closed).code, undefined);
      } else {
        assert.equal((await pair.responder.closed).code, expected);
        await pair.initiator.closed;
      }
    });
  }
});

Deno.test("Session.close() during the handshake fails it with ERR_ABORTED; an AbortSignal does the same", async () => {
  const pair = startPair({ requireAuthentication: false }, { requireAuthentication: false });
  const closing = pair.initiator.close();
  await assert.rejects(
    pair.initiator.ready,
    (error: { code?: string }) => error.code === ErrorCode.ABORTED,
  );
  await closing;
  await pair.responder.closed;

  const controller = new AbortController();
  const aborted = startPair(
    { requireAuthentication: false },
    { requireAuthentication: false, signal: controller.signal },
  );
  await Promise.all([aborted.initiator.ready, aborted.responder.ready]);
  controller.abort();
  assert.equal((await aborted.responder.closed).code, ErrorCode.ABORTED);
  await aborted.initiator.closed;
});

type Side = "initiator" | "responder";

interface ReadyModel {
  sent: Record<Side, string[]>;
}

interface ReadyReal {
  pair: Pair;
  received: Record<Side, string[]>;
  failures: string[];
}

/** Records what each side of a ready pair receives and every failure. */
function observe(pair: Pair): ReadyReal {
  const real: ReadyReal = { pair, received: { initiator: [], responder: [] }, failures: [] };
  for (const s of ["initiator", "responder"] as const) {
    pair[s].on("message", ({ data }) => real.received[s].push(new TextDecoder().decode(data)));
    pair[s].on("close", ({ code }) => code !== undefined && real.failures.push(code));
  }
  return real;
}

/** One more key update from each side, which flushes every record in flight. */
async function flushWithUpdates(real: ReadyReal): Promise<void> {
  for (const s of ["initiator", "responder"] as const) {
    await real.pair[s].updateKeys().catch((error) => real.failures.push(String(error)));
  }
}

const peerOf = (side: Side): Side => (side === "initiator" ? "responder" : "initiator");

class SendData implements fc.AsyncCommand<ReadyModel, ReadyReal> {
  constructor(readonly side: Side, readonly size: number, readonly id: number) {}
  check(): boolean {
    return true;
  }
  async run(model: ReadyModel, real: ReadyReal): Promise<void> {
    // The position makes every message unique, so loss and duplication are visible.
    const text = `${this.side}#${model.sent[this.side].length}/${this.id}:${"x".repeat(this.size)}`;
    model.sent[this.side].push(text);
    await real.pair[this.side].send(EXTENDER, new TextEncoder().encode(text));
  }
  toString(): string {
    return `SendData(${this.side}, ${this.size})`;
  }
}

class UpdateKeys implements fc.AsyncCommand<ReadyModel, ReadyReal> {
  constructor(readonly side: Side) {}
  check(): boolean {
    return true;
  }
  async run(_: ReadyModel, real: ReadyReal): Promise<void> {
    const session: Session = real.pair[this.side];
    // Do not wait: data keeps flowing while the update runs.
    void session.updateKeys().catch((error) => real.failures.push(String(error)));
    await Promise.resolve();
  }
  toString(): string {
    return `UpdateKeys(${this.side})`;
  }
}

class SendNoise implements fc.AsyncCommand<ReadyModel, ReadyReal> {
  constructor(readonly side: Side, readonly size: number) {}
  check(): boolean {
    return true;
  }
  async run(_: ReadyModel, real: ReadyReal): Promise<void> {
    await real.pair[this.side].sendNoise(this.size);
  }
  toString(): string {
    return `SendNoise(${this.side}, ${this.size})`;
  }
}

Deno.test("Session keeps data in order with no nonce reuse while key updates and noise interleave (model-based)", async () => {
  const side = fc.constantFrom<Side>("initiator", "responder");
  const commands = [
    fc.tuple(side, fc.nat({ max: 3_000 }), fc.nat()).map(([s, size, id]) =>
      new SendData(s, size, id)
    ),
    side.map((s) => new UpdateKeys(s)),
    fc.tuple(side, fc.nat({ max: 512 })).map(([s, size]) => new SendNoise(s, size)),
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.commands(commands, { maxCommands: 25 }),
      fc.nat(255),
      async (cmds, seed) => {
        const audit = auditingBackend();
        const pair = startPair(options(audit.backend, seed), options(audit.backend, seed + 1));
        await Promise.all([pair.initiator.ready, pair.responder.ready]);
        const real = observe(pair);
        const model: ReadyModel = { sent: { initiator: [], responder: [] } };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await flushWithUpdates(real);
        await closePair(pair);
        assert.deepEqual(real.failures, []);
        for (const s of ["initiator", "responder"] as const) {
          assert.deepEqual(real.received[peerOf(s)], model.sent[s]);
        }
        assert.deepEqual(audit.reused(), []);
        assert.ok(audit.sealed() > 0);
      },
    ),
    propertyConfig(25),
  );
});

Deno.test("Session over lossy datagrams never fails or reuses a nonce while data, key updates and noise interleave (model-based)", async () => {
  const side = fc.constantFrom<Side>("initiator", "responder");
  const commands = [
    fc.tuple(side, fc.nat({ max: 1_000 }), fc.nat()).map(([s, size, id]) =>
      new SendData(s, size, id)
    ),
    side.map((s) => new UpdateKeys(s)),
    fc.tuple(side, fc.nat({ max: 256 })).map(([s, size]) => new SendNoise(s, size)),
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.commands(commands, { maxCommands: 15 }),
      fc.nat(255),
      fc.double({ min: 0, max: 0.15, noNaN: true }),
      async (cmds, seed, impairment) => {
        const audit = auditingBackend();
        const transports = createDatagramPair({
          loss: impairment,
          duplicate: impairment,
          reorder: impairment,
          random: seededRandom(new Uint8Array([seed, 7])),
        });
        const generous = {
          timeouts: { phase: 20_000, handshake: 30_000 },
          keyUpdate: { maxDuration: 30_000 },
        };
        const pair = startPair(
          { ...options(audit.backend, seed), ...generous },
          { ...options(audit.backend, seed + 1), ...generous },
          transports,
        );
        await Promise.all([pair.initiator.ready, pair.responder.ready]);
        const real = observe(pair);
        const model: ReadyModel = { sent: { initiator: [], responder: [] } };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await flushWithUpdates(real);
        await Promise.all([pair.initiator.close(), pair.responder.close()]);
        assert.deepEqual(real.failures, []);
        // Datagrams may lose or reorder data, never forge or duplicate it.
        for (const s of ["initiator", "responder"] as const) {
          const sent = new Set(model.sent[s]);
          for (const message of real.received[peerOf(s)]) assert.ok(sent.has(message), message);
          assert.equal(new Set(real.received[peerOf(s)]).size, real.received[peerOf(s)].length);
        }
        // (No epoch equality here: over lossy datagrams one side may finish an update
        // before the peer has seen its last message.)
        assert.deepEqual(audit.reused(), []);
      },
    ),
    propertyConfig(10),
  );
});

/**
 * What a man in the middle can and cannot do to a qgate handshake.
 *
 * Without a GSS, epoch 0 (the meta exchange and the primary key shares) is
 * obfuscation only: a relay can read and re-seal it. Everything it changes
 * enters the transcript hash on one side only, so the two sides derive
 * different epoch-1 keys and the first epoch-1 record fails to open. A full
 * man in the middle (two honest handshakes, one with each side) succeeds
 * unless authentication is required, and then only the unauthenticated
 * status tells the victims; a GSS keeps out whoever lacks it.
 */

import assert from "node:assert/strict";
import { type BeginMetaExchangeMessage, PROTOCOL_VERSION } from "../src/codec/mod.ts";
import { KEY_EXCHANGES, type KeyExchangeName } from "../src/crypto/mod.ts";
import { ErrorCode, seededRandom, type Session, type SessionOptions } from "../mod.ts";
import { toWireIds } from "../src/handshake_policy.ts";
import { type HandshakeRun, runHandshake } from "./_adversarial_channel.ts";
import {
  blindForgeryScript,
  type Downgrade,
  downgradeScript,
  keySubstitutionScript,
  type ManInTheMiddle,
  startManInTheMiddle,
} from "./_mitm.ts";
import { accessFor, identityFor, uuidOf } from "./_session_helpers.ts";

const { AUTH_FAILED, AUTH_REQUIRED, DECRYPT_FAILED, PEER_NOT_ALLOWED, TRANSPORT_CLOSED } =
  ErrorCode;

const ALICE = await identityFor("Ed25519", 31);
const BOB = await identityFor("Ed25519", 32);
const MALLORY = await identityFor("Ed25519", 33);
const GSS = new Uint8Array(32).fill(0x47);
const TIMEOUTS = { phase: 1_000, handshake: 3_000 };

/** Both sides prefer the strongest algorithms and accept the weakest. */
const STRONG_FIRST = {
  primaryKeyExchanges: ["X448", "P-521", "P-384", "X25519"],
  secondaryKeyExchanges: ["ML-KEM-1024", "ML-KEM-768", "ML-KEM-512"],
  aeads: ["AES-256-GCM", "XChaCha20-Poly1305", "ChaCha20-Poly1305"],
  hashes: ["SHA-512", "BLAKE2b", "SHA3-256", "SHA-256"],
} as const satisfies SessionOptions["algorithms"];

/** What the downgrading relay leaves in the offer: the weakest of each list. */
const WEAKEST: Downgrade = {
  primaryKeyExchanges: ["X25519"],
  secondaryKeyExchanges: ["ML-KEM-512"],
  aeads: ["ChaCha20-Poly1305"],
  hashes: ["SHA-256"],
};

type Mode = "anonymous" | "mutual";

function options(mode: Mode, extra: SessionOptions = {}): {
  initiator: SessionOptions;
  responder: SessionOptions;
} {
  const common = { algorithms: STRONG_FIRST, timeouts: TIMEOUTS, ...extra };
  return mode === "anonymous"
    ? {
      initiator: {
        ...common,
        requireAuthentication: false,
        random: seededRandom(Uint8Array.of(41)),
      },
      responder: {
        ...common,
        requireAuthentication: false,
        random: seededRandom(Uint8Array.of(42)),
      },
    }
    : {
      initiator: {
        ...common,
        identity: ALICE,
        accessManager: accessFor(BOB),
        random: seededRandom(Uint8Array.of(43)),
      },
      responder: {
        ...common,
        identity: BOB,
        accessManager: accessFor(ALICE),
        random: seededRandom(Uint8Array.of(44)),
      },
    };
}

function neverBothReady(run: HandshakeRun, label: string): void {
  assert.deepEqual(run.hung, [], `${label}: did not finish`);
  assert.ok(
    run.initiator.details === undefined || run.responder.details === undefined,
    `${label}: both sides reached ready`,
  );
}

function codes(
  run: HandshakeRun,
): { initiator: string | undefined; responder: string | undefined } {
  return { initiator: run.initiator.finalCode, responder: run.responder.finalCode };
}

Deno.test("a downgrading relay never gets both sides to ready", async (t) => {
  for (const mode of ["anonymous", "mutual"] as const) {
    await t.step(`${mode}: the first epoch-1 record fails to open`, async () => {
      // Without tampering both sides settle on the strongest suite.
      const honest = await runHandshake(options(mode));
      assert.deepEqual(honest.initiator.details?.algorithms, {
        primaryKeyExchange: "X448",
        secondaryKeyExchange: "ML-KEM-1024",
        aead: "AES-256-GCM",
        hash: "SHA-512",
      });

      const { script, log } = downgradeScript(WEAKEST);
      const run = await runHandshake({ ...options(mode), relay: { script }, expectEnd: true });
      neverBothReady(run, mode);
      assert.equal(log.rewritten, 1);
      // The downgrade "worked" on the wire: the initiator chose the weakest
      // suite and the responder, which also accepts it, went on with it.
      const choice = log.read.i2r.find((message) => message.kind === "endMetaExchange");
      assert.ok(choice?.kind === "endMetaExchange");
      assert.deepEqual(
        [choice.primaryKeyExchange, choice.secondaryKeyExchange, choice.aead, choice.hash],
        [0x0001, 0x0101, 0x0001, 0x0001],
      );
      const offer = log.read.r2i.find((message) => message.kind === "beginPrimaryKeyExchange");
      assert.equal(offer?.kind === "beginPrimaryKeyExchange" && offer.share.length, 32);
      // But the two transcripts differ in BeginMetaExchange, so do the epoch-1
      // keys: the initiator cannot open the responder's BeginSecondaryKeyExchange,
      // long before authentication.
      assert.deepEqual(codes(run), { initiator: DECRYPT_FAILED, responder: TRANSPORT_CLOSED });
      assert.equal(run.initiator.states.at(-2), "secondaryKeyExchange.awaitingOffer");
    });
  }

  await t.step("with a GSS the relay cannot read epoch 0, nor find where records end", async () => {
    const withGss = options("anonymous", { globalSharedSecret: GSS });
    const { script, log } = downgradeScript(WEAKEST);
    const run = await runHandshake({ ...withGss, relay: { script }, expectEnd: true });
    // Nothing opened under the pre-key an outsider derives: nothing to rewrite.
    assert.equal(log.rewritten, 0);
    assert.deepEqual(log.read, { i2r: [], r2i: [] });
    // With the GSS in the header key (PROTOCOL.md §5.1) an outsider finds the
    // end of each direction's first record only (its length is masked with the
    // GSS-free key so that a wrong GSS fails deterministically); the next
    // length does not unmask, so a relay that re-frames records stalls there.
    assert.deepEqual(
      { i2r: run.relay.records.i2r.length, r2i: run.relay.records.r2i.length },
      { i2r: 1, r2i: 1 },
    );
    assert.equal(log.unreadable, 2);
    assert.equal(run.initiator.details, undefined);
  });

  await t.step("with a GSS a blindly forged offer fails on the first record", async () => {
    const withGss = options("anonymous", { globalSharedSecret: GSS });
    const forged: BeginMetaExchangeMessage = {
      kind: "beginMetaExchange",
      version: PROTOCOL_VERSION,
      sessionId: new Uint8Array(8),
      requireAuthentication: false,
      primaryKeyExchanges: toWireIds(KEY_EXCHANGES, WEAKEST.primaryKeyExchanges),
      secondaryKeyExchanges: toWireIds(KEY_EXCHANGES, WEAKEST.secondaryKeyExchanges),
      aeads: [0x0001],
      hashes: [0x0001],
      signatures: [0x0001],
    };
    const { script, log } = blindForgeryScript(forged);
    const run = await runHandshake({ ...withGss, relay: { script }, expectEnd: true });
    neverBothReady(run, "blind forgery");
    assert.equal(log.rewritten, 1);
    assert.deepEqual(codes(run), { initiator: DECRYPT_FAILED, responder: TRANSPORT_CLOSED });
    assert.equal(run.initiator.states.length, 1, "the initiator failed in its first state");
  });
});

Deno.test("a relay that substitutes one primary key share never gets both sides to ready", async (t) => {
  const algorithms: KeyExchangeName[] = ["X25519", "X448", "P-256", "P-384", "P-521", "ML-KEM-512"];
  for (const algorithm of algorithms) {
    for (const direction of ["r2i", "i2r"] as const) {
      const share = direction === "r2i" ? "the offer" : "the answer";
      await t.step(`${algorithm}: ${share}`, async () => {
        const { script, log } = keySubstitutionScript({ direction, algorithm });
        const run = await runHandshake({
          ...options("anonymous", { algorithms: { primaryKeyExchanges: [algorithm] } }),
          relay: { script },
          expectEnd: true,
        });
        neverBothReady(run, `${algorithm} ${direction}`);
        assert.equal(log.rewritten, 1);
        // Different secrets (and transcripts): the responder's first epoch-1
        // record, BeginSecondaryKeyExchange, does not open at the initiator.
        assert.deepEqual(codes(run), { initiator: DECRYPT_FAILED, responder: TRANSPORT_CLOSED });
      });
    }
  }

  await t.step("an invalid X25519 share fails the side that uses it", async () => {
    for (const direction of ["r2i", "i2r"] as const) {
      const { script } = keySubstitutionScript({ direction, algorithm: "X25519", invalid: true });
      const run = await runHandshake({
        ...options("anonymous", { algorithms: { primaryKeyExchanges: ["X25519"] } }),
        relay: { script },
        expectEnd: true,
      });
      neverBothReady(run, direction);
      assert.deepEqual(
        codes(run),
        direction === "r2i"
          ? { initiator: ErrorCode.INVALID_PEER_KEY, responder: TRANSPORT_CLOSED }
          : { initiator: TRANSPORT_CLOSED, responder: ErrorCode.INVALID_PEER_KEY },
      );
    }
  });
});

/** Settles `ready` of each session: the details, or the error code. */
async function settle(
  sessions: Record<string, Session>,
): Promise<Record<string, { authenticated: boolean; peerUuid?: string } | string>> {
  const entries = await Promise.all(
    Object.entries(sessions).map(async ([name, session]) =>
      [
        name,
        await session.ready.then(
          (details) => ({
            authenticated: details.authenticated,
            ...(details.peerUuid === undefined ? {} : { peerUuid: details.peerUuid }),
          }),
          (error: { code?: string }) => error.code ?? String(error),
        ),
      ] as const
    ),
  );
  return Object.fromEntries(entries);
}

function sessionsOf(mitm: ManInTheMiddle): Record<string, Session> {
  const { alice, bob, malloryToAlice, malloryToBob } = mitm;
  return { alice, bob, malloryToAlice, malloryToBob };
}

async function closeAll(sessions: readonly Session[]): Promise<void> {
  await Promise.all(sessions.map((session) => session.close()));
  await Promise.all(sessions.map((session) => session.closed));
}

const ECHO = "6d69746d-0000-4000-8000-000000000001";

Deno.test("a full man in the middle", async (t) => {
  await t.step(
    "without authentication succeeds, reads everything, and is visible only as unauthenticated",
    async () => {
      const open = { requireAuthentication: false, extenders: [ECHO], timeouts: TIMEOUTS };
      const mitm = startManInTheMiddle({
        alice: open,
        bob: { ...open, identity: BOB },
        malloryToAlice: open,
        malloryToBob: open,
      });
      const { alice, bob, malloryToAlice, malloryToBob } = mitm;
      const [aliceSees, bobSees] = await Promise.all([alice.ready, bob.ready]);
      await Promise.all([malloryToAlice.ready, malloryToBob.ready]);
      // Neither victim can tell Mallory from its peer, except that the peer is unauthenticated.
      assert.equal(aliceSees.authenticated, false);
      assert.equal(aliceSees.peerUuid, undefined, "Bob's identity never reached Alice");
      assert.equal(bobSees.authenticated, false);
      assert.equal(aliceSees.peerSessionId, malloryToAlice.details?.sessionId);
      assert.notEqual(aliceSees.peerSessionId, bobSees.sessionId);
      // Mallory reads and relays the application data in the clear.
      const received: string[] = [];
      bob.on("message", ({ data }) => received.push(new TextDecoder().decode(data)));
      await alice.send(ECHO, new TextEncoder().encode("attack at dawn"));
      while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      assert.deepEqual(received, ["attack at dawn"]);
      assert.deepEqual(mitm.intercepted, ["attack at dawn"]);
      // The two victims hold different keys: comparing exporter output exposes Mallory.
      const label = "channel binding";
      assert.notDeepEqual(
        alice.exportKeyingMaterial(label, new Uint8Array(), 32),
        bob.exportKeyingMaterial(label, new Uint8Array(), 32),
      );
      await closeAll([alice, malloryToAlice, malloryToBob, bob]);
    },
  );

  const alice = { identity: ALICE, accessManager: accessFor(BOB), timeouts: TIMEOUTS };
  const bob = { identity: BOB, accessManager: accessFor(ALICE), timeouts: TIMEOUTS };

  await t.step(
    "without an identity, against peers that require one, gives up itself with ERR_AUTH_REQUIRED",
    async () => {
      const anonymous = { requireAuthentication: false, timeouts: TIMEOUTS };
      const mitm = startManInTheMiddle({
        alice,
        bob,
        malloryToAlice: anonymous,
        malloryToBob: anonymous,
      });
      // Alice's EndMetaExchange and Bob's BeginMetaExchange demand an identity
      // that Mallory cannot present: her sessions stop in the meta exchange and
      // the victims only see the connection drop.
      assert.deepEqual(await settle(sessionsOf(mitm)), {
        alice: TRANSPORT_CLOSED,
        bob: TRANSPORT_CLOSED,
        malloryToAlice: AUTH_REQUIRED,
        malloryToBob: AUTH_REQUIRED,
      });
      assert.equal(mitm.malloryToAlice.state, "failed");
    },
  );

  await t.step("with her own identity is refused with ERR_PEER_NOT_ALLOWED", async () => {
    const own = { identity: MALLORY, requireAuthentication: false, timeouts: TIMEOUTS };
    const mitm = startManInTheMiddle({ alice, bob, malloryToAlice: own, malloryToBob: own });
    // Her proofs verify, but her PeerUUID is in neither access manager.
    assert.deepEqual(await settle({ alice: mitm.alice, bob: mitm.bob }), {
      alice: PEER_NOT_ALLOWED,
      bob: PEER_NOT_ALLOWED,
    });
    assert.notEqual(uuidOf(MALLORY), uuidOf(BOB));
    await closeAll([mitm.malloryToAlice, mitm.malloryToBob]);
  });

  await t.step("claiming the victims' public keys fails with ERR_AUTH_FAILED", async () => {
    // She knows the public keys but not the secret keys: her signatures over
    // the transcripts of her own handshakes do not verify under them.
    const asBob = {
      identity: { ...BOB, secretKey: MALLORY.secretKey },
      requireAuthentication: false,
      timeouts: TIMEOUTS,
    };
    const asAlice = {
      identity: { ...ALICE, secretKey: MALLORY.secretKey },
      requireAuthentication: false,
      timeouts: TIMEOUTS,
    };
    const mitm = startManInTheMiddle({ alice, bob, malloryToAlice: asBob, malloryToBob: asAlice });
    assert.deepEqual(await settle({ alice: mitm.alice, bob: mitm.bob }), {
      alice: AUTH_FAILED,
      bob: AUTH_FAILED,
    });
    await closeAll([mitm.malloryToAlice, mitm.malloryToBob]);
  });

  await t.step(
    "without the victims' GSS fails with ERR_DECRYPT_FAILED on the first record",
    async () => {
      for (const mallorysSecret of [undefined, new Uint8Array(32).fill(0x66)]) {
        const open = { requireAuthentication: false, timeouts: TIMEOUTS };
        const mallory = mallorysSecret === undefined
          ? open
          : { ...open, globalSharedSecret: mallorysSecret };
        const mitm = startManInTheMiddle({
          alice: { ...open, globalSharedSecret: GSS },
          bob: { ...open, globalSharedSecret: GSS },
          malloryToAlice: mallory,
          malloryToBob: mallory,
        });
        // Alice cannot open Mallory's BeginMetaExchange; Mallory cannot open Bob's.
        assert.deepEqual(await settle(sessionsOf(mitm)), {
          alice: DECRYPT_FAILED,
          bob: TRANSPORT_CLOSED,
          malloryToAlice: TRANSPORT_CLOSED,
          malloryToBob: DECRYPT_FAILED,
        });
      }
    },
  );
});

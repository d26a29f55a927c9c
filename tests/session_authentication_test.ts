/**
 * The runtime's verification of a peer's proof, through the public API only:
 * a proof made with a signature scheme the local side does not accept
 * (`algorithms.signatures`) never authenticates the peer, even when the
 * access manager knows the peer's key.
 */

import assert from "node:assert/strict";
import type { SignatureName } from "../src/crypto/mod.ts";
import { ErrorCode, type PeerDetails, type SessionOptions } from "../mod.ts";
import { accessFor, closePair, identityFor, outcome, startPair } from "./_session_helpers.ts";

/** The local side accepts Ed25519 only; the peer proves an identity of another scheme. */
const LOCAL_SCHEMES: readonly SignatureName[] = ["Ed25519"];

async function run(
  localRole: "initiator" | "responder",
  peerScheme: SignatureName,
  requireAuthentication: boolean,
): Promise<{ local: PeerDetails | string; peer: PeerDetails | string }> {
  const peerIdentity = await identityFor(peerScheme, 9);
  const localIdentity = await identityFor("Ed25519", 8);
  const local: SessionOptions = {
    identity: localIdentity,
    algorithms: { signatures: [...LOCAL_SCHEMES] },
    requireAuthentication,
    // The access manager would allow the peer: only the scheme can keep it out.
    accessManager: accessFor(peerIdentity),
  };
  const peer: SessionOptions = { identity: peerIdentity, requireAuthentication: false };
  const pair = localRole === "initiator" ? startPair(local, peer) : startPair(peer, local);
  const result = await outcome(pair);
  await closePair(pair);
  return localRole === "initiator"
    ? { local: result.initiator, peer: result.responder }
    : { local: result.responder, peer: result.initiator };
}

const ROLES = ["initiator", "responder"] as const;
const FOREIGN_SCHEMES: readonly SignatureName[] = ["Ed448", "ML-DSA-44"];

Deno.test("initiate() and respond() authenticate a known peer whose scheme is accepted", async (t) => {
  // The control case: the same setup with an accepted scheme authenticates, so
  // only the scheme makes the difference in the tests below.
  for (const role of ROLES) {
    await t.step(`local ${role}`, async () => {
      const { local, peer } = await run(role, "Ed25519", true);
      assert.equal(typeof local, "object", String(local));
      assert.equal((local as PeerDetails).authenticated, true);
      assert.equal(typeof peer, "object", String(peer));
    });
  }
});

Deno.test("initiate() and respond() continue unauthenticated when the peer's scheme is not accepted and authentication is not required", async (t) => {
  for (const role of ROLES) {
    for (const scheme of FOREIGN_SCHEMES) {
      await t.step(`local ${role}, peer ${scheme}, authentication not required`, async () => {
        const { local, peer } = await run(role, scheme, false);
        // The peer sees in the meta exchange that we cannot verify its scheme
        // and withholds its identity instead of sending a proof we would fail.
        assert.equal(typeof local, "object", String(local));
        assert.equal((local as PeerDetails).authenticated, false);
        assert.equal((local as PeerDetails).peerUuid, undefined);
        assert.equal(typeof peer, "object", String(peer));
        assert.equal((peer as PeerDetails).localAuthenticated, false);
      });
    }
  }
});

Deno.test("initiate() and respond() never reach ready when authentication is required and the peer's scheme is not accepted", async (t) => {
  for (const role of ROLES) {
    await t.step(`local ${role}, peer Ed448`, async () => {
      const { local, peer } = await run(role, "Ed448", true);
      assert.equal(typeof local, "string", "the local side must not be ready");
      // The peer sees our accepted schemes in the meta exchange and gives up first.
      assert.equal(peer, ErrorCode.AUTH_REQUIRED);
    });
  }
});

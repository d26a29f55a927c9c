/**
 * Identity disclosure: `identityDisclosure` lets a side reveal its identity
 * only when the peer requires it, or only to a peer that authenticated
 * first; QuantumGate's responder-first disclosure stays the default, and
 * `localAuthenticated` says whether this side really proved its identity.
 */

import assert from "node:assert/strict";
import type { PeerDetails, SessionOptions } from "../mod.ts";
import {
  accessFor,
  closePair,
  identityFor,
  outcome,
  startPair,
  uuidOf,
} from "./_session_helpers.ts";

async function both(
  initiator: SessionOptions,
  responder: SessionOptions,
): Promise<{ initiator: PeerDetails; responder: PeerDetails }> {
  const pair = startPair(initiator, responder);
  const result = await outcome(pair);
  assert.equal(typeof result.initiator, "object", String(result.initiator));
  assert.equal(typeof result.responder, "object", String(result.responder));
  await closePair(pair);
  return result as { initiator: PeerDetails; responder: PeerDetails };
}

Deno.test('identityDisclosure "always" (default): the responder proves first to anyone', async () => {
  const bob = await identityFor("Ed25519", 41);
  const { initiator, responder } = await both(
    { requireAuthentication: false },
    { identity: bob, requireAuthentication: false },
  );
  assert.equal(initiator.peerUuid, uuidOf(bob));
  assert.equal(responder.localAuthenticated, true);
});

Deno.test('identityDisclosure "whenRequired" reveals the identity only to a peer that requires it', async (t) => {
  const bob = await identityFor("Ed25519", 42);
  const responder = { identity: bob, identityDisclosure: "whenRequired" as const };
  await t.step("the peer does not require it", async () => {
    const result = await both(
      { requireAuthentication: false },
      { ...responder, requireAuthentication: false },
    );
    assert.equal(result.initiator.peerUuid, undefined);
    assert.equal(result.responder.localAuthenticated, false);
  });
  await t.step("the peer requires it", async () => {
    const result = await both(
      { requireAuthentication: true, accessManager: accessFor(bob) },
      { ...responder, requireAuthentication: false },
    );
    assert.equal(result.initiator.authenticated, true);
    assert.equal(result.responder.localAuthenticated, true);
  });
});

Deno.test('identityDisclosure "afterPeer" reveals the identity only to a peer that authenticated first', async (t) => {
  const alice = await identityFor("Ed25519", 43);
  const bob = await identityFor("Ed25519", 44);
  const initiator = {
    identity: alice,
    identityDisclosure: "afterPeer" as const,
    requireAuthentication: false,
    accessManager: accessFor(bob),
  };
  await t.step("an anonymous responder does not learn who we are", async () => {
    const result = await both(initiator, { requireAuthentication: false });
    assert.equal(result.responder.peerUuid, undefined);
    assert.equal(result.initiator.localAuthenticated, false);
  });
  await t.step("a responder that authenticated first does", async () => {
    const result = await both(initiator, {
      identity: bob,
      requireAuthentication: false,
      accessManager: accessFor(alice),
    });
    assert.equal(result.initiator.authenticated, true);
    assert.equal(result.responder.authenticated, true);
    assert.equal(result.initiator.localAuthenticated, true);
  });
});

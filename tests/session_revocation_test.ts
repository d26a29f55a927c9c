/**
 * Revocation reaches established sessions: a change of the access manager
 * that no longer admits a live session's peer ends that session with
 * `ERR_PEER_NOT_ALLOWED`, access is re-checked at every key update, and
 * `unauthenticated: "deny"` refuses peers that do not authenticate.
 */

import assert from "node:assert/strict";
import {
  AccessManager,
  ErrorCode,
  type PeerDetails,
  type Session,
  type SessionOptions,
} from "../mod.ts";
import {
  accessFor,
  closePair,
  identityFor,
  outcome,
  type Pair,
  startPair,
  uuidOf,
  waitFor,
} from "./_session_helpers.ts";

async function authenticatedPair(): Promise<
  { pair: Pair; responderAccess: AccessManager; initiatorUuid: string }
> {
  const initiatorIdentity = await identityFor("Ed25519", 3);
  const responderIdentity = await identityFor("Ed25519", 4);
  const responderAccess = accessFor(initiatorIdentity);
  const pair = startPair(
    { identity: initiatorIdentity, accessManager: accessFor(responderIdentity) },
    { identity: responderIdentity, accessManager: responderAccess },
  );
  const result = await outcome(pair);
  assert.equal((result.responder as PeerDetails).authenticated, true);
  return { pair, responderAccess, initiatorUuid: uuidOf(initiatorIdentity) };
}

/** The code `session` ends with; fails the test if it is still running after 10 s. */
async function endCode(session: Session): Promise<string | undefined> {
  let ended: { code?: string | undefined } | undefined;
  void session.closed.then((info) => (ended = info));
  await waitFor(() => ended !== undefined, { what: "the session to end" });
  return ended!.code;
}

const REVOCATIONS: Record<string, (access: AccessManager, uuid: string) => void> = {
  "removePeer()": (access, uuid) => access.removePeer(uuid),
  "setAllowed(false)": (access, uuid) => access.setAllowed(uuid, false),
  "addPeer() with another key": (access, uuid) => access.addPeer(uuid, new Uint8Array(32)),
};

Deno.test("AccessManager revocation ends the peer's established session with ERR_PEER_NOT_ALLOWED", async (t) => {
  for (const [name, revoke] of Object.entries(REVOCATIONS)) {
    await t.step(name, async () => {
      const { pair, responderAccess, initiatorUuid } = await authenticatedPair();
      revoke(responderAccess, initiatorUuid);
      assert.equal(await endCode(pair.responder), ErrorCode.PEER_NOT_ALLOWED);
      await pair.initiator.close();
      await pair.initiator.closed;
    });
  }
});

Deno.test("AccessManager changes to other peers leave an established session running", async () => {
  const { pair, responderAccess } = await authenticatedPair();
  const other = await identityFor("Ed25519", 5);
  responderAccess.addPeer(uuidOf(other), other.publicKey);
  responderAccess.removePeer(uuidOf(other));
  // Still alive: a key update completes in both directions.
  const epoch = await pair.responder.updateKeys();
  assert.ok(epoch > 2);
  await closePair(pair);
});

Deno.test("Session.updateKeys() re-checks access at every key update", async () => {
  // An access manager whose answer changes without a notification: only the
  // re-check at the key update can see it.
  const initiatorIdentity = await identityFor("Ed25519", 3);
  const responderIdentity = await identityFor("Ed25519", 4);
  const responderAccess = accessFor(initiatorIdentity);
  let revoked = false;
  const check = responderAccess.check.bind(responderAccess);
  responderAccess.check = (uuid, key) => revoked ? "denied" : check(uuid, key);
  const pair = startPair(
    { identity: initiatorIdentity, accessManager: accessFor(responderIdentity) },
    { identity: responderIdentity, accessManager: responderAccess },
  );
  await outcome(pair);
  revoked = true;
  // The initiator's side of the update may finish first: whatever it reports,
  // the responder's re-check ends the session.
  await pair.initiator.updateKeys().catch(() => {});
  assert.equal(await endCode(pair.responder), ErrorCode.PEER_NOT_ALLOWED);
  await pair.initiator.closed;
});

Deno.test('AccessManager with unauthenticated: "deny" refuses peers that do not authenticate', async (t) => {
  const known = await identityFor("Ed25519", 6);
  const stranger = await identityFor("Ed25519", 7);
  const deny = (): SessionOptions => ({
    requireAuthentication: false,
    accessManager: (() => {
      const access = new AccessManager({ unauthenticated: "deny" });
      access.addPeer(uuidOf(known), known.publicKey);
      return access;
    })(),
  });
  await t.step("a peer without identity", async () => {
    const pair = startPair({ requireAuthentication: false }, deny());
    const result = await outcome(pair);
    // Told that authentication is required, the initiator gives up first.
    assert.equal(result.initiator, ErrorCode.AUTH_REQUIRED);
    assert.equal(typeof result.responder, "string");
  });
  await t.step("a peer with an unknown identity", async () => {
    const pair = startPair({ identity: stranger, requireAuthentication: false }, deny());
    const result = await outcome(pair);
    assert.equal(result.responder, ErrorCode.PEER_NOT_ALLOWED);
  });
  await t.step("a known peer is admitted", async () => {
    const pair = startPair({ identity: known, requireAuthentication: false }, deny());
    const result = await outcome(pair);
    assert.equal((result.responder as PeerDetails).authenticated, true);
    await closePair(pair);
  });
  await t.step("removing the known peer ends its session", async () => {
    const options = deny();
    const pair = startPair({ identity: known, requireAuthentication: false }, options);
    await outcome(pair);
    options.accessManager!.removePeer(uuidOf(known));
    assert.equal(await endCode(pair.responder), ErrorCode.PEER_NOT_ALLOWED);
    await pair.initiator.closed;
  });
});

Deno.test("AccessManager() rejects an unknown unauthenticated policy", () => {
  assert.throws(
    () => new AccessManager({ unauthenticated: "maybe" as "deny" }),
    TypeError,
  );
});

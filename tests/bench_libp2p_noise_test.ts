/**
 * Smoke test of the libp2p Noise comparison scenario: it completes, and it
 * fails when a peer is not the one expected.
 *
 * @module
 */

import assert from "node:assert/strict";
import { libp2pNoiseHandshake, noiseHandshake, noisePeer } from "./bench/_libp2p_noise.ts";

Deno.test("libp2pNoiseHandshake() completes three handshakes and closes", async () => {
  const scenario = await libp2pNoiseHandshake();
  try {
    for (let i = 0; i < 3; i++) await scenario.run();
  } finally {
    await scenario.close();
  }
});

Deno.test("noiseHandshake() leaves both secured connections closed", async () => {
  const [alice, bob] = await Promise.all([noisePeer(), noisePeer()]);
  const connections = await noiseHandshake(alice, bob);
  assert.deepEqual(connections.map((connection) => connection.status), ["closed", "closed"]);
});

Deno.test("noiseHandshake() rejects a responder that is not the expected peer", async () => {
  const [alice, bob, mallory] = await Promise.all([noisePeer(), noisePeer(), noisePeer()]);
  await assert.rejects(
    noiseHandshake(alice, bob, { byInitiator: mallory.peerId }),
    { name: "UnexpectedPeerError" },
  );
});

Deno.test("noiseHandshake() rejects an initiator that is not the expected peer", async () => {
  const [alice, bob, mallory] = await Promise.all([noisePeer(), noisePeer(), noisePeer()]);
  await assert.rejects(
    noiseHandshake(alice, bob, { byResponder: mallory.peerId }),
    { name: "UnexpectedPeerError" },
  );
});

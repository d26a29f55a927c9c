/**
 * The smallest complete qgate program: two peers in one process, joined by
 * an in-memory byte pipe, authenticate each other, exchange a message on an
 * extender, rotate their keys and close.
 *
 * Run:
 *
 * ```sh
 * deno run examples/loopback_handshake.ts
 * ```
 *
 * Prints the negotiated algorithms, both PeerUUIDs, the message the server
 * received, the epoch after the key update, and how the server saw the close:
 *
 * ```text
 * algorithms: X25519 + ML-KEM-768, ChaCha20-Poly1305, SHA-256
 * client sees server 3f1c…  authenticated: true
 * server sees client 9a0e…  authenticated: true
 * server got: hello
 * keys updated: epoch 3
 * closed: orderly
 * ```
 *
 * @module
 */

import {
  AccessManager,
  createMemoryPair,
  initiate,
  nobleBackend,
  peerUuidOf,
  respond,
} from "@qgate/handshake";

// Each peer has an identity key pair; its PeerUUID is derived from the public key.
const ed25519 = nobleBackend.signature("Ed25519")!;
const alice = await ed25519.generateKeyPair({});
const bob = await ed25519.generateKeyPair({});
const access = new AccessManager();
access.addPeer(peerUuidOf("Ed25519", alice.publicKey), alice.publicKey);
access.addPeer(peerUuidOf("Ed25519", bob.publicKey), bob.publicKey);

const chat = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10"; // an extender UUID both peers run
const [a, b] = createMemoryPair(); // or a Deno.Conn, a WebSocket, anything with readable/writable
const client = initiate(a, { identity: alice, accessManager: access, extenders: [chat] });
const server = respond(b, { identity: bob, accessManager: access, extenders: [chat] });

const received = new Promise<string>((resolve) => {
  server.on("message", ({ data }) => resolve(new TextDecoder().decode(data)));
});
const [mine, theirs] = await Promise.all([client.ready, server.ready]);
const { primaryKeyExchange, secondaryKeyExchange, aead, hash } = mine.algorithms;
console.log(`algorithms: ${primaryKeyExchange} + ${secondaryKeyExchange}, ${aead}, ${hash}`);
console.log(`client sees server ${mine.peerUuid}  authenticated: ${mine.authenticated}`);
console.log(`server sees client ${theirs.peerUuid}  authenticated: ${theirs.authenticated}`);

await client.send(chat, new TextEncoder().encode("hello"));
console.log(`server got: ${await received}`);

const epoch = await client.updateKeys(); // fresh X25519 + ML-KEM secrets mixed in
console.log(`keys updated: epoch ${epoch}`);

await client.close();
const { code } = await server.closed;
console.log(`closed: ${code ?? "orderly"}`);

/**
 * Mutual authentication with access managers, over loopback TCP.
 *
 * A server knows exactly one client, Alice, by her PeerUUID and public key.
 * Alice connects and both sides authenticate. Mallory, whose key the server
 * does not know, is refused with `ERR_PEER_NOT_ALLOWED`; she learns nothing
 * but a closed connection. Alice then presents a post-quantum identity
 * (ML-DSA-65), which the server allows too.
 *
 * Run:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/mutual_authentication.ts
 * ```
 *
 * Prints one line per attempt and the server's verdicts:
 *
 * ```text
 * server 127.0.0.1:40123 knows: alice (Ed25519), alice (ML-DSA-65)
 * alice   (Ed25519)   accepted: server 5b0e…  authenticated: true
 * mallory (Ed25519)   refused: ERR_TRANSPORT_CLOSED (the server said nothing)
 * alice   (ML-DSA-65) accepted: server 5b0e…  authenticated: true
 * server verdicts:
 *   accepted 7d2c… (Ed25519)
 *   refused  127.0.0.1:50312 ERR_PEER_NOT_ALLOWED
 *   accepted 1e9f… (ML-DSA-65)
 * ```
 *
 * @module
 */

import {
  AccessManager,
  connectTcp,
  HandshakeError,
  listenTcp,
  nobleBackend,
  peerUuidOf,
} from "@qgate/handshake";
import type { SignatureKeyPair, SignatureName } from "@qgate/handshake/crypto";

async function identity(name: SignatureName): Promise<SignatureKeyPair> {
  return await nobleBackend.signature(name)!.generateKeyPair({});
}

function uuidOf(pair: SignatureKeyPair): string {
  return peerUuidOf(pair.algorithm, pair.publicKey);
}

const server = await identity("Ed25519");
const alice = await identity("Ed25519");
const alicePq = await identity("ML-DSA-65");
const mallory = await identity("Ed25519");

// The server knows Alice's two identities; Alice knows the server.
const serverAccess = new AccessManager();
serverAccess.addPeer(uuidOf(alice), alice.publicKey);
serverAccess.addPeer(uuidOf(alicePq), alicePq.publicKey);
const clientAccess = new AccessManager();
clientAccess.addPeer(uuidOf(server), server.publicKey);

const verdicts: string[] = [];
const listener = listenTcp({}, { identity: server, accessManager: serverAccess }, (session) => {
  const { peerUuid, peerSignature } = session.details!;
  verdicts.push(`  accepted ${peerUuid} (${peerSignature})`);
});
listener.on("failure", ({ remoteAddress, code, stage }) => {
  if (stage === "handshake") verdicts.push(`  refused  ${remoteAddress} ${code}`);
});
const { hostname, port } = listener.addr;
console.log(`server ${hostname}:${port} knows: alice (Ed25519), alice (ML-DSA-65)`);

/** Resolves once the server is done with its current peer: refused, or closed after ready. */
function serverDone(): Promise<void> {
  return new Promise((resolve) => {
    const offs = [
      listener.on("sessionClosed", () => finish()),
      listener.on("failure", ({ stage }) => stage === "handshake" && finish()),
    ];
    const finish = (): void => {
      for (const off of offs) off();
      resolve();
    };
  });
}

async function attempt(name: string, pair: SignatureKeyPair): Promise<void> {
  const label = `${name.padEnd(7)} (${pair.algorithm})`.padEnd(19);
  const done = serverDone();
  const session = await connectTcp({ port }, { identity: pair, accessManager: clientAccess });
  try {
    const details = await session.ready;
    console.log(
      `${label} accepted: server ${details.peerUuid}  authenticated: ${details.authenticated}`,
    );
    await session.close();
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    console.log(`${label} refused: ${error.code} (the server said nothing)`);
  }
  // Let the server finish with this peer before the next one, so verdicts stay in order.
  await done;
}

await attempt("alice", alice);
await attempt("mallory", mallory);
await attempt("alice", alicePq);
await listener.close();
console.log("server verdicts:");
for (const line of verdicts) console.log(line);

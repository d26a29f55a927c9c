/**
 * A comparison scenario: one libp2p Noise XX handshake
 * (`@chainsafe/libp2p-noise`, its default X25519 + ChaCha20-Poly1305 +
 * SHA-256 suite, Ed25519 identities) between two peers over an in-memory
 * connection pair, both sides, followed by both sides closing.
 *
 * Bench-only: nothing under `mod.ts` or `src/` may import this file or its
 * npm packages.
 *
 * @module
 */

import { noise } from "@chainsafe/libp2p-noise";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type {
  ConnectionEncrypter,
  MessageStream,
  PeerId,
  PrivateKey,
  SecureConnectionOptions,
  Upgrader,
} from "@libp2p/interface";
import { defaultLogger } from "@libp2p/logger";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddrConnectionPair } from "@libp2p/utils";
import type { Scenario } from "./_scenarios.ts";

/** One side of a libp2p Noise handshake: its identity and its encrypter. */
export interface NoisePeer {
  /** The peer id derived from the Ed25519 identity. */
  readonly peerId: PeerId;
  /** The connection encrypter, holding this peer's static X25519 key. */
  readonly encrypter: ConnectionEncrypter;
}

/**
 * An upgrader that offers no stream muxers: Noise only asks it which muxers
 * it could negotiate early, and the benchmark negotiates none.
 */
const NO_MUXERS = { getStreamMuxers: () => new Map() } as unknown as Upgrader;

/**
 * Creates one Noise peer: a fresh Ed25519 identity and an encrypter with a
 * fresh static X25519 key, both made once and reused by every handshake.
 *
 * @returns the peer
 */
export async function noisePeer(): Promise<NoisePeer> {
  const privateKey: PrivateKey = await generateKeyPair("Ed25519");
  const peerId = peerIdFromPrivateKey(privateKey);
  const encrypter = noise()({
    peerId,
    privateKey,
    logger: defaultLogger(),
    upgrader: NO_MUXERS,
  });
  return { peerId, encrypter };
}

/**
 * Runs one handshake between `initiator` and `responder` over a new
 * in-memory connection pair, each side expecting the given remote peer,
 * then closes both secured connections.
 *
 * @param initiator the side that secures outbound
 * @param responder the side that secures inbound
 * @param expected the peer ids each side expects of the other (the defaults: each other's)
 * @returns the two secured connections (initiator's, responder's), closed
 * @throws {Error} when either side rejects the handshake (a `name` such as
 *   `UnexpectedPeerError` tells why); both connections are aborted first
 */
export async function noiseHandshake(
  initiator: NoisePeer,
  responder: NoisePeer,
  expected: { byInitiator?: PeerId; byResponder?: PeerId } = {},
): Promise<[MessageStream, MessageStream]> {
  const [inbound, outbound] = multiaddrConnectionPair();
  const outboundOptions: SecureConnectionOptions = {
    remotePeer: expected.byInitiator ?? responder.peerId,
  };
  const inboundOptions: SecureConnectionOptions = {
    remotePeer: expected.byResponder ?? initiator.peerId,
  };
  let secured;
  try {
    secured = await Promise.all([
      initiator.encrypter.secureOutbound(outbound, outboundOptions),
      responder.encrypter.secureInbound(inbound, inboundOptions),
    ]);
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    outbound.abort(reason);
    inbound.abort(reason);
    throw error;
  }
  const connections: [MessageStream, MessageStream] = [
    secured[0].connection,
    secured[1].connection,
  ];
  await Promise.all(connections.map((connection) => connection.close()));
  return connections;
}

/**
 * The libp2p Noise XX handshake as a benchmark scenario: both peers'
 * identities and static keys are made once; each `run()` is one full
 * handshake, both sides, in memory, ending with both sides closing.
 *
 * @returns the scenario (its `close()` has nothing to release)
 */
export async function libp2pNoiseHandshake(): Promise<Scenario> {
  const alice = await noisePeer();
  const bob = await noisePeer();
  return {
    async run(): Promise<void> {
      await noiseHandshake(alice, bob);
    },
    close: (): Promise<void> => Promise.resolve(),
  };
}

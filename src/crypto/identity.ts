/**
 * Identities in one call: a signature key pair for a scheme name, and the
 * PeerUUID string of a public key.
 *
 * @module
 */

import { autoBackend } from "./auto_backend.ts";
import { systemRandom } from "./random.ts";
import { canonicalAlgorithmName, resolveSignature } from "./registry.ts";
import { derivePeerUuid, formatUuid } from "./peer_uuid.ts";
import type { CryptoBackend, RandomSource, SignatureKeyPair } from "./types.ts";

/** Options for {@linkcode generateIdentity}. */
export interface GenerateIdentityOptions {
  /**
   * A seed of the scheme's `seedLength` bytes (32 for Ed25519, 57 for Ed448,
   * 32 for ML-DSA, 64 for `Ed25519+ML-DSA-65`): the same seed always gives
   * the same key pair. Absent: a fresh key pair from `random`.
   */
  seed?: Uint8Array;
  /** The random source for a fresh key pair (default {@linkcode systemRandom}). */
  random?: RandomSource;
  /** The backend that computes the key pair (default `autoBackend`). */
  backend?: CryptoBackend;
}

/**
 * Creates an identity key pair for a signature scheme given by name in any
 * letter case: deterministic from `options.seed`, otherwise fresh from the
 * system CSPRNG (or `options.random`). The result's `algorithm` is the
 * canonical name, ready for the `identity` option of a session.
 *
 * The secret key is returned to the caller, who keeps it private; nothing
 * else holds a copy (the seed is copied and the copy wiped).
 *
 * @param scheme A signature scheme name, any case (`"Ed25519"`, `"ml-dsa-65"`, …).
 * @param options A seed, a random source, a backend.
 * @returns The key pair.
 * @throws {TypeError} If `scheme` is not a qgate signature scheme (the message lists them).
 * @throws {RangeError} If `seed` is not the scheme's seed length.
 * @throws {HandshakeError} `ERR_UNSUPPORTED_ALGORITHM` if `backend` lacks the scheme.
 *
 * @example A fresh identity and its PeerUUID
 * ```ts
 * import { generateIdentity, peerUuidOf } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const alice = await generateIdentity("ed25519");
 * assert.equal(alice.algorithm, "Ed25519");
 * assert.equal(alice.publicKey.length, 32);
 * assert.match(peerUuidOf(alice.algorithm, alice.publicKey), /^[0-9a-f]{8}-[0-9a-f]{4}-8/);
 * ```
 *
 * @example The same seed, the same identity
 * ```ts
 * import { generateIdentity, nobleBackend } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const seed = new Uint8Array(64).fill(7);
 * const a = await generateIdentity("Ed25519+ML-DSA-65", { seed });
 * const b = await generateIdentity("ED25519+ML-DSA-65", { seed, backend: nobleBackend });
 * assert.deepEqual(a.publicKey, b.publicKey);
 * ```
 */
export async function generateIdentity(
  scheme: string,
  options: GenerateIdentityOptions = {},
): Promise<SignatureKeyPair> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot generate identity: "options" must be an object`);
  }
  const name = canonicalAlgorithmName("signature", scheme);
  const implementation = resolveSignature(options.backend ?? autoBackend, name);
  return await implementation.generateKeyPair(
    options.seed !== undefined
      ? { seed: options.seed }
      : { random: options.random ?? systemRandom },
  );
}

/**
 * The PeerUUID, as a UUID string, of an identity public key: what an
 * access manager's `addPeer(uuid, publicKey)` and a session's peer details
 * use. The same as `formatUuid(derivePeerUuid(scheme, publicKey))`, with the
 * scheme name in any letter case.
 *
 * @param scheme The identity's signature scheme, any case.
 * @param publicKey The identity public key.
 * @returns The lowercase hyphenated PeerUUID (version 8).
 * @throws {TypeError} If `scheme` is not a qgate signature scheme, or `publicKey` is not a
 *   non-empty `Uint8Array`.
 *
 * @example Registering a known peer
 * ```ts
 * import { AccessManager, generateIdentity, peerUuidOf } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const bob = await generateIdentity("Ed25519", { seed: new Uint8Array(32).fill(2) });
 * const uuid = peerUuidOf("ed25519", bob.publicKey);
 * const access = new AccessManager();
 * access.addPeer(uuid, bob.publicKey);
 * assert.equal(uuid, peerUuidOf(bob.algorithm, bob.publicKey));
 * ```
 */
export function peerUuidOf(scheme: string, publicKey: Uint8Array): string {
  return formatUuid(derivePeerUuid(canonicalAlgorithmName("signature", scheme), publicKey));
}

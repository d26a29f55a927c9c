/**
 * What an identity signs in the authentication phase.
 *
 * `"qgate/1 authentication" ‖ u8 role (1 responder, 2 initiator) ‖ u16 signature ‖ publicKey ‖ th`,
 * where `th` is the transcript hash before the signer's own authentication
 * message, so the initiator's signature also covers the responder's. The
 * role byte stops a signature from being reflected back to its signer, and
 * the transcript hash binds it to this connection's negotiation, keys and
 * session ids.
 *
 * @module
 */

import { findAlgorithm } from "./registry.ts";
import type { SignatureName } from "./types.ts";

/** Which side of the handshake signs. */
export type AuthenticationRole = "initiator" | "responder";

const AUTHENTICATION_LABEL = new TextEncoder().encode("qgate/1 authentication");
const ROLE_BYTE: Readonly<Record<AuthenticationRole, number>> = { responder: 1, initiator: 2 };

/**
 * Builds the exact bytes a peer signs (and its peer verifies) in authentication.
 *
 * @param role The signer's role.
 * @param signature The signer's signature scheme.
 * @param publicKey The signer's identity public key (as sent in the message).
 * @param transcriptHash The transcript hash before the signer's own authentication message.
 * @returns A fresh payload array.
 * @throws {TypeError} If `role` or `signature` is unknown, or a byte argument is not a `Uint8Array`.
 *
 * @example Signing and verifying the payload
 * ```ts
 * import { nobleBackend, systemRandom } from "@qgate/handshake";
 * import { authenticationPayload } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const ed25519 = nobleBackend.signature("Ed25519")!;
 * const identity = await ed25519.generateKeyPair({ seed: new Uint8Array(32).fill(1) });
 * const th = new Uint8Array(32).fill(9);
 * const payload = authenticationPayload("responder", "Ed25519", identity.publicKey, th);
 * const signature = await ed25519.sign(payload, identity.secretKey, systemRandom);
 * assert.equal(await ed25519.verify(signature, payload, identity.publicKey), true);
 * // The same signature does not verify for the other role.
 * const reflected = authenticationPayload("initiator", "Ed25519", identity.publicKey, th);
 * assert.equal(await ed25519.verify(signature, reflected, identity.publicKey), false);
 * ```
 */
export function authenticationPayload(
  role: AuthenticationRole,
  signature: SignatureName,
  publicKey: Uint8Array,
  transcriptHash: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const roleByte = Object.hasOwn(ROLE_BYTE, role) ? ROLE_BYTE[role] : undefined;
  if (roleByte === undefined) {
    throw new TypeError(
      `Cannot build authentication payload: "role" must be "initiator" or "responder", got "${
        String(role)
      }"`,
    );
  }
  const info = findAlgorithm("signature", signature);
  if (info === undefined) {
    throw new TypeError(
      `Cannot build authentication payload: unknown signature algorithm "${String(signature)}"`,
    );
  }
  if (!(publicKey instanceof Uint8Array) || !(transcriptHash instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot build authentication payload: "publicKey" and "transcriptHash" must be Uint8Arrays`,
    );
  }
  const label = AUTHENTICATION_LABEL.length;
  const payload = new Uint8Array(label + 3 + publicKey.length + transcriptHash.length);
  payload.set(AUTHENTICATION_LABEL, 0);
  payload[label] = roleByte;
  new DataView(payload.buffer).setUint16(label + 1, info.id);
  payload.set(publicKey, label + 3);
  payload.set(transcriptHash, label + 3 + publicKey.length);
  return payload;
}

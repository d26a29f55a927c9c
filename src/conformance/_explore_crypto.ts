/**
 * The exploration's hashing model of the crypto (see `explore.ts`): key
 * shares and secrets, proofs over the transcript, and the verdict an access
 * list gives.
 *
 * @module
 */

import type { Role } from "../../machines/_setup.ts";
import { ErrorCode } from "../errors.ts";
import type { Message } from "../codec/message_types.ts";
import type { PeerVerdict } from "../handshake_policy.ts";
import { bytesToHex, hexToBytes as bytesOf } from "../_hex.ts";
import { ANONYMOUS, otherRole, type StandInCrypto, standInHash as h } from "../viz/_standin.ts";
import type { Runtime, World } from "./_explore_state.ts";

const encoder = new TextEncoder();

function verdict(world: World, role: Role, message: Message, transcript: string): PeerVerdict {
  if (message.kind !== "beginAuthentication" && message.kind !== "endAuthentication") {
    return ANONYMOUS;
  }
  const identity = message.identity;
  if (identity === undefined) return ANONYMOUS;
  const name = new TextDecoder().decode(identity.publicKey);
  const expected = h("proof", name, otherRole(role), transcript);
  const signatureValid = identity.signature === 0x0001 && bytesToHex(identity.proof) === expected;
  const access = world.scenario[role].allows.includes(name) ? "allowed" : "unknown";
  return {
    presented: true,
    signatureValid,
    access,
    uuid: `00000000-0000-8000-8000-${h(name).slice(0, 12)}`,
    signature: "Ed25519",
  };
}

const REFUSED = { code: ErrorCode.INVALID_PEER_KEY } as const;

function isZero(share: Uint8Array): boolean {
  return share.every((byte) => byte === 0);
}

/**
 * The hashing model's answers for one side (see the module documentation);
 * it records the offer, the secret and the verification in `runtime`.
 */
export function hashCrypto(world: World, runtime: Runtime, role: Role): StandInCrypto {
  return {
    offer: (slot) => {
      runtime.offer = h("share", role, slot);
      return bytesOf(runtime.offer);
    },
    answer: (slot, peerShare) => {
      const offer = h(peerShare);
      if (isZero(peerShare)) return REFUSED;
      const answer = h("share", role, slot);
      runtime.secret = h("secret", offer, h(bytesOf(answer)));
      return bytesOf(answer);
    },
    finish: (_, peerShare) => {
      if (isZero(peerShare)) return REFUSED;
      runtime.secret = h("secret", h(bytesOf(runtime.offer)), h(peerShare));
      return undefined;
    },
    sign: () => {
      const name = world.scenario[role].identity;
      return name === undefined ? undefined : {
        signature: 0x0001,
        publicKey: encoder.encode(name),
        proof: bytesOf(h("proof", name, role, runtime.transcript)),
      };
    },
    verify: (message) => {
      const found = verdict(world, role, message, runtime.beforeLast);
      runtime.verified = found.signatureValid && found.access === "allowed";
      return found;
    },
    // The handshake statechart never asks for a key update.
    updateShares: (part) => ({
      primaryShare: bytesOf(h("update", role, "primary", part)),
      secondaryShare: bytesOf(h("update", role, "secondary", part)),
    }),
    nextInterval: 60_000,
  };
}

/**
 * Peer details: what a session knows about the other side once the
 * handshake is done, in the spirit of QuantumGate's `GetPeerDetails`.
 *
 * @module
 */

import type { SignatureName } from "../crypto/types.ts";
import type { NegotiatedSuite } from "../handshake_policy.ts";
import type { Role } from "../../machines/_setup.ts";

export type { Role };

/** What a session knows about its peer and itself. Public data only. */
export interface PeerDetails {
  /** Our role. */
  readonly role: Role;
  /** The negotiated algorithms. */
  readonly algorithms: NegotiatedSuite;
  /** The peer's UUID, when it presented an identity. */
  readonly peerUuid: string | undefined;
  /** The peer's identity scheme, when it presented an identity. */
  readonly peerSignature: SignatureName | undefined;
  /** The peer proved an identity that our access manager allows. */
  readonly authenticated: boolean;
  /**
   * We proved our identity to the peer: we sent it (see `identityDisclosure`;
   * an identity whose scheme the peer does not accept is never sent) and the
   * handshake completed, so the peer verified the proof. Whether the peer's
   * access manager knows us is the peer's to report.
   */
  readonly localAuthenticated: boolean;
  /** Our session id as hex. */
  readonly sessionId: string;
  /** The peer's session id as hex. */
  readonly peerSessionId: string;
  /** The peer's protocol version. */
  readonly peerVersion: { readonly major: number; readonly minor: number };
  /** The extender UUIDs the peer runs. */
  readonly peerExtenders: readonly string[];
  /**
   * Whether the session's keys depend on a post-quantum shared secret (a
   * post-quantum exchange in either slot). `false` only when both negotiated
   * exchanges are classical, which needs `algorithms.allowClassicalSecondary`.
   */
  readonly postQuantum: boolean;
  /** Whether a Global Shared Secret protected the connection. */
  readonly globalSharedSecret: boolean;
}

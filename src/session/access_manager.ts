/**
 * The access manager: which peers, identified by PeerUUID and public key,
 * may connect.
 *
 * @module
 */

/** The access manager's answer for one peer. */
export type AccessDecision = "allowed" | "denied" | "unknown";

interface PeerEntry {
  readonly publicKey: Uint8Array;
  readonly allowed: boolean;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function normaliseUuid(uuid: string): string {
  const text = uuid.toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text)) {
    throw new TypeError(`Cannot use peer UUID: expected the 8-4-4-4-12 hex form, got "${uuid}"`);
  }
  return text;
}

/**
 * Known peers and whether each may connect. A peer that presents an identity
 * is allowed only if its UUID is listed as allowed with exactly the same
 * public key. Unknown peers are denied whenever authentication is required.
 *
 * @example Allowing one peer
 * ```ts
 * import { AccessManager } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const access = new AccessManager();
 * const uuid = "0c2f4a8e-1b3d-8e5f-9a7b-0c1d2e3f4a5b";
 * const key = new Uint8Array(32).fill(1);
 * access.addPeer(uuid, key);
 * assert.equal(access.check(uuid, key), "allowed");
 * assert.equal(access.check(uuid, new Uint8Array(32)), "denied");
 * access.removePeer(uuid);
 * assert.equal(access.check(uuid, key), "unknown");
 * ```
 */
export class AccessManager {
  readonly #peers = new Map<string, PeerEntry>();

  /**
   * Adds a peer, or replaces its entry.
   *
   * @param uuid The peer's UUID (8-4-4-4-12 hex form).
   * @param publicKey The peer's identity public key; copied.
   * @param allowed Whether the peer may connect (default `true`).
   * @throws {TypeError} If the UUID is not in UUID form.
   */
  addPeer(uuid: string, publicKey: Uint8Array, allowed = true): void {
    this.#peers.set(normaliseUuid(uuid), { publicKey: publicKey.slice(), allowed });
  }

  /**
   * Changes whether a known peer may connect.
   *
   * @param uuid The peer's UUID.
   * @param allowed The new permission.
   * @returns `false` if the peer is unknown.
   */
  setAllowed(uuid: string, allowed: boolean): boolean {
    const key = normaliseUuid(uuid);
    const entry = this.#peers.get(key);
    if (entry === undefined) return false;
    this.#peers.set(key, { publicKey: entry.publicKey, allowed });
    return true;
  }

  /**
   * Forgets a peer.
   *
   * @param uuid The peer's UUID.
   * @returns `true` if the peer was known.
   */
  removePeer(uuid: string): boolean {
    return this.#peers.delete(normaliseUuid(uuid));
  }

  /**
   * Tells whether a peer presenting `publicKey` under `uuid` may connect.
   *
   * @param uuid The UUID the peer's key derives.
   * @param publicKey The key the peer proved it holds.
   * @returns `"allowed"`, `"denied"` (disallowed, or a different key), or `"unknown"`.
   */
  check(uuid: string, publicKey: Uint8Array): AccessDecision {
    const entry = this.#peers.get(normaliseUuid(uuid));
    if (entry === undefined) return "unknown";
    return entry.allowed && equalBytes(entry.publicKey, publicKey) ? "allowed" : "denied";
  }

  /** The number of known peers. */
  get size(): number {
    return this.#peers.size;
  }
}

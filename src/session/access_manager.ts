/**
 * The access manager: which peers, identified by PeerUUID and public key,
 * may connect, and may stay connected.
 *
 * Changes take effect on live sessions too: every session that uses an
 * access manager listens to it, and a change that no longer admits its peer
 * (`removePeer`, `setAllowed(uuid, false)`, `addPeer` with another key)
 * ends that session with `ERR_PEER_NOT_ALLOWED`. Sessions also re-check their
 * peer at every key update (PROTOCOL.md §10).
 *
 * @module
 */

import { equalBytes } from "@noble/ciphers/utils.js";

/** The access manager's answer for one peer. */
export type AccessDecision = "allowed" | "denied" | "unknown";

/** What happens to a peer that does not authenticate (no identity, or an unknown one). */
export type UnauthenticatedPolicy = "allow" | "deny";

/** Options for {@linkcode AccessManager}. */
export interface AccessManagerOptions {
  /**
   * What happens to a peer that does not authenticate: presents no identity,
   * or one this manager does not list. `"allow"` (default) lets it connect
   * unauthenticated unless `requireAuthentication` is set; `"deny"` refuses
   * it with `ERR_PEER_NOT_ALLOWED` whatever `requireAuthentication` says
   * (default-deny): a session using this manager requires authentication
   * as if `requireAuthentication` were set, tells its peer so in the meta
   * exchange (a peer without identity gives up early with
   * `ERR_AUTH_REQUIRED`), and applies it again at every re-check.
   */
  readonly unauthenticated?: "allow" | "deny";
}

interface PeerEntry {
  readonly publicKey: Uint8Array;
  readonly allowed: boolean;
}

function normaliseUuid(uuid: string): string {
  const text = uuid.toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text)) {
    throw new TypeError(`Cannot use peer UUID: expected the 8-4-4-4-12 hex form, got "${uuid}"`);
  }
  return text;
}

/** Reaches a manager's watchers (set by the class's static block). */
let watchersOf: (manager: AccessManager) => Set<AccessWatcher>;

/**
 * Known peers and whether each may connect. A peer that presents an identity
 * is allowed only if its UUID is listed as allowed with exactly the same
 * public key. Unknown peers are denied whenever authentication is required.
 *
 * @example Allowing one peer
 * ```ts
import { AccessManager } from "@qgate/handshake";
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
  readonly #listeners = new Set<(uuid: string) => void>();
  /** Sessions that hear of changes (see {@linkcode watchAccess}). */
  readonly #watchers = new Set<AccessWatcher>();

  static {
    watchersOf = (manager) => manager.#watchers;
  }
  readonly #unauthenticated: UnauthenticatedPolicy;

  /**
   * Creates an empty access manager.
   *
   * @param options `unauthenticated: "deny"` refuses every peer that does not
   * authenticate (default `"allow"`).
   * @throws {TypeError} If `unauthenticated` is neither `"allow"` nor `"deny"`.
   */
  constructor(options: AccessManagerOptions = {}) {
    const policy = options.unauthenticated ?? "allow";
    if (policy !== "allow" && policy !== "deny") {
      throw new TypeError(
        `Cannot create access manager: "unauthenticated" must be "allow" or "deny", got "${
          String(policy)
        }"`,
      );
    }
    this.#unauthenticated = policy;
  }

  /** What happens to a peer that does not authenticate: `"allow"` or `"deny"`. */
  get unauthenticated(): "allow" | "deny" {
    return this.#unauthenticated;
  }

  /**
   * Listens to changes: `listener` is called with the normalised UUID of
   * every peer added, changed or removed. Sessions use it to end a
   * connection whose peer is no longer allowed.
   *
   * @param listener Called synchronously after each change.
   * @returns A function that stops listening.
   *
   * @example Watching a revocation
   * ```ts
   * import { AccessManager } from "@qgate/handshake";
   * import assert from "node:assert/strict";
   *
   * const access = new AccessManager();
   * const seen: string[] = [];
   * const stop = access.watch((uuid) => seen.push(uuid));
   * access.addPeer("0c2f4a8e-1b3d-8e5f-9a7b-0c1d2e3f4a5b", new Uint8Array(32));
   * access.removePeer("0c2f4a8e-1b3d-8e5f-9a7b-0c1d2e3f4a5b");
   * stop();
   * assert.equal(seen.length, 2);
   * ```
   */
  watch(listener: (uuid: string) => void): () => void {
    const own = (uuid: string): void => listener(uuid);
    this.#listeners.add(own);
    return () => this.#listeners.delete(own);
  }

  #changed(uuid: string): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(uuid);
      } catch {
        // A listener's fault must not stop the others from hearing of a revocation.
      }
    }
    for (const watcher of [...this.#watchers]) {
      try {
        watcher.accessChanged(uuid);
      } catch {
        // As above.
      }
    }
  }

  /**
   * Adds a peer, or replaces its entry.
   *
   * @param uuid The peer's UUID (8-4-4-4-12 hex form).
   * @param publicKey The peer's identity public key; copied.
   * @param allowed Whether the peer may connect (default `true`).
   * @throws {TypeError} If the UUID is not in UUID form.
   */
  addPeer(uuid: string, publicKey: Uint8Array, allowed = true): void {
    const key = normaliseUuid(uuid);
    this.#peers.set(key, { publicKey: publicKey.slice(), allowed });
    this.#changed(key);
  }

  /**
   * Changes whether a known peer may connect. Revoking (`false`) ends the
   * peer's live sessions with `ERR_PEER_NOT_ALLOWED`.
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
    this.#changed(key);
    return true;
  }

  /**
   * Forgets a peer. Its live authenticated sessions end with
   * `ERR_PEER_NOT_ALLOWED`.
   *
   * @param uuid The peer's UUID.
   * @returns `true` if the peer was known.
   */
  removePeer(uuid: string): boolean {
    const key = normaliseUuid(uuid);
    const known = this.#peers.delete(key);
    if (known) this.#changed(key);
    return known;
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

/** What a session registers with {@linkcode watchAccess}: one object it already has, no closures. */
export interface AccessWatcher {
  /** A peer was added, changed or removed (its normalised UUID). */
  accessChanged(uuid: string): void;
}

/**
 * Lets `watcher` hear of every change to `manager`, like
 * {@linkcode AccessManager.watch} but without a closure per session (an idle
 * session holds nothing for it). Internal: sessions use it.
 *
 * @param manager The access manager.
 * @param watcher Told after each change, until {@linkcode unwatchAccess}.
 */
export function watchAccess(manager: AccessManager, watcher: AccessWatcher): void {
  watchersOf(manager).add(watcher);
}

/**
 * Stops `watcher` hearing of changes.
 *
 * @param manager The access manager.
 * @param watcher What {@linkcode watchAccess} registered.
 */
export function unwatchAccess(manager: AccessManager, watcher: AccessWatcher): void {
  watchersOf(manager).delete(watcher);
}

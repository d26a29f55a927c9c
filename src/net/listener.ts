/**
 * A listener: runs {@linkcode respond} on every incoming byte pipe, many at
 * once, and keeps one peer's trouble away from the others.
 *
 * A transport source (the TCP accept loop of `listenTcp`, the WebSocket
 * upgrades of `listenWebSocket`, or your own code) hands each new
 * connection to {@linkcode Listener.accept}. Each connection gets its own
 * session; a peer that stalls, sends garbage, floods or disconnects fails
 * only its own session, with its own reason code, reported through the
 * `failure` event together with the remote address. A cap on concurrent
 * handshakes, on sessions and on new connections per remote host and
 * interval refuses extra connections with `ERR_RESOURCE_LIMIT` before any
 * work is done for them.
 *
 * Nothing here uses a Deno-only API: the listener works wherever the session
 * runtime does.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import type { Transport } from "../transport/transport.ts";
import type { CloseInfo } from "../session/events.ts";
import { type SessionOptions, validateOptions } from "../session/options.ts";
import { respond, type Session } from "../session/session.ts";
import {
  AddressRateLimiter,
  checkIpv6Prefix,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_PER_ADDRESS_INTERVAL,
} from "../session/limits.ts";

/** The default cap on handshakes in progress at once. */
export const DEFAULT_MAX_HANDSHAKES = 64;

/** The default cap on sessions (handshaking and ready) at once. */
export const DEFAULT_MAX_SESSIONS = 1_024;

/** Options of a {@linkcode Listener}: the session options every peer gets, plus limits. */
export interface ListenerOptions extends SessionOptions {
  /**
   * The most handshakes in progress at once (default 64). A connection
   * beyond it is closed at once and reported as `ERR_RESOURCE_LIMIT`.
   */
  maxHandshakes?: number;
  /**
   * The most sessions, handshaking or ready, at once (default 1,024). A
   * connection beyond it is closed at once and reported as `ERR_RESOURCE_LIMIT`.
   */
  maxSessions?: number;
  /**
   * The most new connections one remote host (the address without its port)
   * may open per `perAddressInterval` (default 256; `Infinity` turns the
   * limit off). The allowance refills evenly over the interval (a token
   * bucket), so a host may open 256 at once and then about 26 per second.
   * A connection beyond it is closed at once and reported as
   * `ERR_RESOURCE_LIMIT` with `limit: "perAddress"`. An IPv6 host counts by
   * its prefix of `ipv6Prefix` bits (default /64: one subscriber or LAN
   * usually holds a whole /64); an IPv4-mapped address counts as IPv4.
   */
  maxConnectionsPerAddress?: number;
  /** The IPv6 prefix length, in bits (1–128, default 64), that `maxConnectionsPerAddress` counts by. */
  ipv6Prefix?: number;
  /** The interval of `maxConnectionsPerAddress`, in ms (default 10,000). */
  perAddressInterval?: number;
  /**
   * Stops the listener: no more connections are accepted and every session
   * ends with `ERR_ABORTED`.
   */
  signal?: AbortSignal;
}

/** Where in its life a connection failed. */
export type ListenerFailureStage = "refused" | "handshake" | "session";

/** Which listener limit refused a connection. */
export type ListenerLimit = "handshakes" | "sessions" | "perAddress";

/** A connection that ended with a reason code. */
export interface ListenerFailure {
  /** The reason code, e.g. `ERR_TIMEOUT`, `ERR_DECRYPT_FAILED`, `ERR_RESOURCE_LIMIT`. */
  readonly code: ErrorCode;
  /** The peer's address as the transport source described it, e.g. `"127.0.0.1:50312"`. */
  readonly remoteAddress: string;
  /**
   * `"refused"`: closed on arrival (a limit, or the listener is closing);
   * `"handshake"`: the handshake failed; `"session"`: a ready session ended with an error.
   */
  readonly stage: ListenerFailureStage;
  /** The session, unless the connection was refused. */
  readonly session: Session | undefined;
  /** For a connection refused with `ERR_RESOURCE_LIMIT`: the limit it hit. */
  readonly limit?: ListenerLimit;
}

/** Events a {@linkcode Listener} emits, by name. */
export interface ListenerEventMap {
  /** A peer finished the handshake. */
  session: { readonly session: Session; readonly remoteAddress: string };
  /** A ready session ended, orderly or not. */
  sessionClosed: {
    readonly session: Session;
    readonly remoteAddress: string;
    readonly info: CloseInfo;
  };
  /** A connection was refused, failed its handshake, or a ready session ended with an error. */
  failure: ListenerFailure;
}

/** A listener for one {@linkcode Listener} event. */
export type ListenerEventListener<K extends keyof ListenerEventMap> = (
  event: ListenerEventMap[K],
) => void;

/** Called with each session once it is ready; a returned promise is awaited for errors only. */
export type SessionHandler = (
  session: Session,
  remoteAddress: string,
) => void | Promise<void>;

interface Entry {
  readonly remoteAddress: string;
  handshaking: boolean;
  ready: boolean;
}

function checkLimit(
  option: string,
  value: number | undefined,
  fallback: number,
  infinite = false,
): number {
  const limit = value ?? fallback;
  if (!(Number.isSafeInteger(limit) && limit >= 1) && !(infinite && limit === Infinity)) {
    throw new RangeError(
      `Cannot create listener: "${option}" must be a positive integer${
        infinite ? " or Infinity" : ""
      }, got ${String(value)}`,
    );
  }
  return limit;
}

/** Closes a transport we will not use, writable first (so its reason goes out); never throws. */
function discard(transport: Transport, reason: unknown): void {
  const cancel = (): void => {
    try {
      transport.readable.cancel(reason).catch(() => {});
    } catch {
      // Already locked or closed.
    }
  };
  try {
    transport.writable.abort(reason).catch(() => {}).finally(cancel);
  } catch {
    cancel();
  }
}

/**
 * Accepts many peers at once: each transport handed to
 * {@linkcode Listener.accept} runs {@linkcode respond} with the listener's
 * session options. Ready sessions arrive through the `onSession` callback,
 * or, without one, through `for await (const session of listener)`.
 *
 * Every peer is isolated: its failure ends only its own session and is
 * reported as a `failure` event with the reason code and remote address.
 * Nothing throws out of the listener, and {@linkcode Listener.close} leaves no
 * timer or transport behind.
 *
 * @example Accepting peers over in-memory pipes
 * ```ts
 * import { createMemoryPair, initiate, Listener } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const listener = new Listener({ requireAuthentication: false });
 * const clients = [];
 * for (let i = 0; i < 3; i++) {
 *   const [a, b] = createMemoryPair();
 *   listener.accept(b, `memory:${i}`);
 *   clients.push(initiate(a, { requireAuthentication: false }));
 * }
 * await Promise.all(clients.map((client) => client.ready));
 * let accepted = 0;
 * for await (const session of listener) {
 *   assert.equal(session.role, "responder");
 *   if (++accepted === 3) break;
 * }
 * assert.equal(listener.sessions.length, 3);
 * await listener.close();
 * await Promise.all(clients.map((client) => client.closed));
 * assert.equal(listener.sessions.length, 0);
 * ```
 */
export class Listener implements AsyncIterable<Session> {
  readonly #options: SessionOptions;
  readonly #maxHandshakes: number;
  readonly #maxSessions: number;
  readonly #perAddress: AddressRateLimiter;
  readonly #onSession: SessionHandler | undefined;
  readonly #controller = new AbortController();
  readonly #entries = new Map<Session, Entry>();
  readonly #listeners = new Map<keyof ListenerEventMap, Set<(event: never) => void>>();
  readonly #queue: Session[] = [];
  readonly #waiters: ((result: IteratorResult<Session, undefined>) => void)[] = [];
  readonly #signal: AbortSignal | undefined;
  readonly #abortListener: () => void;
  #handshakes = 0;
  #closing: Promise<void> | undefined;

  /**
   * Creates a listener. It accepts nothing by itself: a transport source
   * calls {@linkcode Listener.accept}.
   *
   * @param options Session options for every peer, plus limits and an abort signal.
   * @param onSession Called with each ready session; without it, iterate the listener.
   * @throws {TypeError} For a wrong session option (checked once, here).
   * @throws {RangeError} For a limit or option value out of range.
   * @throws The signal's reason if `options.signal` is already aborted.
   */
  constructor(options: ListenerOptions = {}, onSession?: SessionHandler) {
    const {
      maxHandshakes,
      maxSessions,
      maxConnectionsPerAddress,
      perAddressInterval = DEFAULT_PER_ADDRESS_INTERVAL,
      ipv6Prefix = 64,
      signal,
      ...sessionOptions
    } = options;
    validateOptions(sessionOptions);
    this.#maxHandshakes = checkLimit("maxHandshakes", maxHandshakes, DEFAULT_MAX_HANDSHAKES);
    this.#maxSessions = checkLimit("maxSessions", maxSessions, DEFAULT_MAX_SESSIONS);
    const perAddress = checkLimit(
      "maxConnectionsPerAddress",
      maxConnectionsPerAddress,
      DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
      true,
    );
    if (
      typeof perAddressInterval !== "number" || !Number.isFinite(perAddressInterval) ||
      perAddressInterval <= 0 || perAddressInterval > 86_400_000
    ) {
      throw new RangeError(
        `Cannot create listener: "perAddressInterval" must be a number in (0, 86400000], got ${
          String(perAddressInterval)
        }`,
      );
    }
    checkIpv6Prefix("create listener", ipv6Prefix);
    const clock = sessionOptions.clock;
    this.#perAddress = new AddressRateLimiter({
      limit: perAddress,
      interval: perAddressInterval,
      now: clock === undefined ? () => performance.now() : () => clock.now(),
      ipv6Prefix,
    });
    this.#options = { ...sessionOptions, signal: this.#controller.signal };
    this.#onSession = onSession;
    this.#signal = signal;
    this.#abortListener = () => {
      // The caller's reason becomes the cause of every session's ERR_ABORTED.
      this.#controller.abort(signal?.reason);
      void this.close();
    };
    signal?.throwIfAborted();
    signal?.addEventListener("abort", this.#abortListener, { once: true });
  }

  /** The ready sessions that have not ended yet. */
  get sessions(): readonly Session[] {
    const ready: Session[] = [];
    for (const [session, entry] of this.#entries) if (entry.ready) ready.push(session);
    return ready;
  }

  /** The number of handshakes in progress. */
  get handshakes(): number {
    return this.#handshakes;
  }

  /** Whether {@linkcode Listener.close} was called or the signal aborted. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Listens for one kind of event.
   *
   * @param type The event name.
   * @param listener Called synchronously; an exception it throws is reported, not propagated.
   * @returns A function that removes the listener.
   */
  on<K extends keyof ListenerEventMap>(type: K, listener: ListenerEventListener<K>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /**
   * Runs the responder side of a handshake over a new connection, unless a
   * limit is reached or the listener is closing: then the transport is
   * closed at once (reported as a `"refused"` failure with
   * `ERR_RESOURCE_LIMIT` and the limit it hit, or silently while closing).
   * The limits are checked in this order: connections per remote host,
   * handshakes in progress, sessions.
   *
   * @param transport The byte pipe to the new peer; the listener owns it from now on.
   * @param remoteAddress A label for the peer in events (default `"unknown"`).
   * @returns The session, or `undefined` if the connection was refused.
   */
  accept(transport: Transport, remoteAddress = "unknown"): Session | undefined {
    if (this.#closing !== undefined) {
      discard(transport, new SessionError(ErrorCode.SESSION_CLOSED, "Listener is closing"));
      return undefined;
    }
    const limit = this.#limitReached(remoteAddress);
    if (limit !== undefined) {
      discard(
        transport,
        new SessionError(ErrorCode.RESOURCE_LIMIT, `Listener is at its limit: ${limit}`),
      );
      this.#emit("failure", {
        code: ErrorCode.RESOURCE_LIMIT,
        remoteAddress,
        stage: "refused",
        session: undefined,
        limit,
      });
      return undefined;
    }
    let session: Session;
    try {
      session = respond(transport, this.#options);
    } catch (error) {
      // The options were validated in the constructor; this is a transport that cannot be used.
      discard(transport, error);
      this.#emit("failure", {
        code: ErrorCode.TRANSPORT_CLOSED,
        remoteAddress,
        stage: "refused",
        session: undefined,
      });
      return undefined;
    }
    const entry: Entry = { remoteAddress, handshaking: true, ready: false };
    this.#entries.set(session, entry);
    this.#handshakes++;
    session.ready.then(
      () => {
        this.#endHandshake(entry);
        entry.ready = true;
        this.#onReady(session, remoteAddress);
      },
      () => this.#endHandshake(entry),
    );
    void session.closed.then((info) => this.#onClosed(session, entry, info));
    return session;
  }

  /**
   * Stops accepting, closes every session (orderly when ready, an abort
   * during the handshake) and ends every iterator. Idempotent.
   *
   * @returns Resolves once every session has ended.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /**
   * Stops the transport source. Subclasses that own one (a socket, a server)
   * override this; it runs once, before the sessions are closed.
   *
   * @returns Resolves once the source accepts nothing more.
   */
  protected stopAccepting(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Yields each session as it becomes ready (only when the listener was
   * created without an `onSession` callback); ends when the listener closes.
   * Sessions that end before they are taken are skipped.
   *
   * @returns An iterator of ready sessions.
   */
  [Symbol.asyncIterator](): AsyncIterator<Session, undefined> {
    return {
      next: (): Promise<IteratorResult<Session, undefined>> => {
        const session = this.#queue.shift();
        if (session !== undefined) return Promise.resolve({ value: session, done: false });
        if (this.#closing !== undefined) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: (): Promise<IteratorResult<Session, undefined>> =>
        Promise.resolve({ value: undefined, done: true }),
    };
  }

  /** The first limit a new connection from `remoteAddress` would exceed, if any. */
  #limitReached(remoteAddress: string): ListenerLimit | undefined {
    // Checked (and its allowance taken) first: a host over its rate never
    // learns whether the listener is also busy.
    if (!this.#perAddress.tryAcquire(remoteAddress)) return "perAddress";
    if (this.#handshakes >= this.#maxHandshakes) return "handshakes";
    if (this.#entries.size >= this.#maxSessions) return "sessions";
    return undefined;
  }

  #onReady(session: Session, remoteAddress: string): void {
    this.#emit("session", { session, remoteAddress });
    if (this.#onSession !== undefined) {
      try {
        const result = this.#onSession(session, remoteAddress);
        if (result instanceof Promise) result.catch((error) => reportError(error));
      } catch (error) {
        reportError(error);
      }
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter({ value: session, done: false });
    else this.#queue.push(session);
  }

  #endHandshake(entry: Entry): void {
    if (!entry.handshaking) return;
    entry.handshaking = false;
    this.#handshakes--;
  }

  #onClosed(session: Session, entry: Entry, info: CloseInfo): void {
    this.#endHandshake(entry);
    this.#entries.delete(session);
    const queued = this.#queue.indexOf(session);
    if (queued !== -1) this.#queue.splice(queued, 1);
    const { remoteAddress } = entry;
    if (entry.ready) this.#emit("sessionClosed", { session, remoteAddress, info });
    const code = info.code ?? (entry.ready ? undefined : ErrorCode.ABORTED);
    if (code !== undefined) {
      this.#emit("failure", {
        code,
        remoteAddress,
        stage: entry.ready ? "session" : "handshake",
        session,
      });
    }
  }

  async #shutdown(): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#abortListener);
    try {
      await this.stopAccepting();
    } catch {
      // The source is gone either way.
    }
    const sessions = [...this.#entries.keys()];
    // After an abort every session is already ending with ERR_ABORTED.
    if (!this.#controller.signal.aborted) {
      // How each close went is in its `closed`; shutting down goes on regardless.
      await Promise.all(sessions.map((session) => session.close().catch(() => {})));
    }
    await Promise.all(sessions.map((session) => session.closed));
    this.#queue.length = 0;
    for (const waiter of this.#waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  #emit<K extends keyof ListenerEventMap>(type: K, event: ListenerEventMap[K]): void {
    const set = this.#listeners.get(type);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as ListenerEventListener<K>)(event);
      } catch (error) {
        reportError(error);
      }
    }
  }
}

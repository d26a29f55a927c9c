/**
 * TCP for Deno: these helpers dial and initiate, or listen and respond to
 * many peers at once, each connection wrapped by {@linkcode connTransport}.
 *
 * This file uses Deno's socket API (`Deno.connect`, `Deno.listen`) and needs
 * `--allow-net`.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import { Listener, type ListenerOptions, type SessionHandler } from "./listener.ts";
import { type SessionOptions, validateOptions } from "../session/options.ts";
import { initiate, type Session } from "../session/session.ts";
import { closeQuietly, connTransport } from "../transport/conn.ts";
import { explainPermission, netEntry } from "./_permission.ts";

/** Where to dial. */
export interface TcpAddress {
  /** Host name or IP address (default `"127.0.0.1"`). */
  hostname?: string;
  /** Port number. */
  port: number;
}

/** Where to listen. */
export interface TcpListenAddress {
  /** Interface to bind (default `"127.0.0.1"`, loopback only). */
  hostname?: string;
  /** Port (default 0: any free port; read it back from {@linkcode TcpListener.addr}). */
  port?: number;
  /**
   * Linux: set `SO_REUSEPORT`, so that several listeners share the port and
   * the kernel spreads connections across them, e.g. one listener per
   * `Worker` to use every core (`examples/multicore_listener.ts`). Needs
   * Deno's `--unstable-net`; ignored on other systems. Default `false`.
   */
  reusePort?: boolean;
}

function describe(addr: Deno.Addr): string {
  return addr.transport === "tcp" || addr.transport === "udp"
    ? `${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`
    : addr.transport;
}

/**
 * Dials a TCP peer and starts the handshake as the initiator.
 *
 * The returned session is not ready yet: await {@linkcode Session.ready}.
 * Its `signal` option also cancels the dial.
 *
 * @param address Host (default `"127.0.0.1"`) and port of the responder.
 * @param options Session options.
 * @returns The session, once the connection is established.
 * @throws {TypeError} For a wrong option type (nothing is dialled).
 * @throws {RangeError} For an option value out of range (nothing is dialled).
 * @throws {SessionError} `ERR_TRANSPORT_CLOSED` if the connection cannot be
 *   made; `ERR_ABORTED` if the signal aborts the dial (its reason is the error's
 *   `cause`); `ERR_PERMISSION_DENIED`
 *   without Deno's `--allow-net` for the address (the message names the flag).
 *
 * @example Dialling a listener on loopback
 * ```ts
 * import { connectTcp, listenTcp } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const listener = listenTcp({}, options);
 * const client = await connectTcp({ port: listener.addr.port }, options);
 * const details = await client.ready;
 * assert.equal(details.role, "initiator");
 * await client.close();
 * await listener.close();
 * ```
 */
export async function connectTcp(
  address: TcpAddress,
  options: SessionOptions = {},
): Promise<Session> {
  if (typeof address !== "object" || address === null) {
    throw new TypeError(`Cannot connect: "address" must be an object`);
  }
  const { hostname = "127.0.0.1", port } = address;
  if (!Number.isSafeInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`Cannot connect: "port" must be an integer in [1, 65535], got ${port}`);
  }
  // Validate before dialling: a wrong option never opens a socket.
  validateOptions(options);
  const signal = options.signal;
  let conn: Deno.TcpConn;
  try {
    signal?.throwIfAborted();
    conn = await Deno.connect({
      hostname,
      port,
      transport: "tcp",
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    if (signal?.aborted) {
      throw new SessionError(ErrorCode.ABORTED, "Cannot connect: aborted", {
        cause: signal.reason,
      });
    }
    const explained = explainPermission(`connect to ${netEntry(hostname, port)}`, error, [
      netEntry(hostname, port),
    ]);
    if (explained !== error) throw explained;
    throw new SessionError(
      ErrorCode.TRANSPORT_CLOSED,
      `Cannot connect to ${hostname}:${port}: ${error instanceof Error ? error.name : "error"}`,
      { cause: error },
    );
  }
  try {
    conn.setNoDelay(true);
  } catch {
    // Not fatal: only latency.
  }
  let session: Session;
  try {
    session = initiate(connTransport(conn), options);
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
  void session.closed.then(() => closeQuietly(conn));
  return session;
}

/**
 * A {@linkcode Listener} bound to a TCP port: every accepted connection runs
 * the responder side of a handshake. Create one with {@linkcode listenTcp}.
 */
export class TcpListener extends Listener {
  readonly #socket: Deno.TcpListener;
  readonly #addr: Deno.NetAddr;
  #stopped = false;

  /**
   * Wraps a bound socket and starts accepting. Prefer {@linkcode listenTcp}.
   *
   * @param socket The bound TCP socket; the listener owns it from now on.
   * @param options Session options for every peer, limits and an abort signal.
   * @param onSession Called with each ready session.
   */
  constructor(socket: Deno.TcpListener, options: ListenerOptions, onSession?: SessionHandler) {
    super(options, onSession);
    this.#socket = socket;
    this.#addr = socket.addr;
    void this.#acceptLoop();
  }

  /** The address the listener is bound to; `addr.port` is the real port when 0 was asked. */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  /**
   * Closes the listening socket.
   *
   * @returns Resolves at once.
   */
  protected override stopAccepting(): Promise<void> {
    this.#stopped = true;
    closeQuietly(this.#socket);
    return Promise.resolve();
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#stopped) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#socket.accept();
      } catch {
        // Closed by stopAccepting(), or the socket failed: either way, stop.
        if (!this.#stopped) void this.close();
        return;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // Not fatal: only latency.
      }
      const session = this.accept(connTransport(conn), describe(conn.remoteAddr));
      if (session === undefined) closeQuietly(conn);
      else void session.closed.then(() => closeQuietly(conn));
    }
  }
}

/**
 * Listens on a TCP port and runs the responder side of a handshake for every
 * peer that connects, many at once. Each peer is isolated: a stalled,
 * garbled, flooding or vanished peer fails only its own session, reported
 * through the listener's `failure` event with its code and address.
 *
 * @param address Interface (default `"127.0.0.1"`) and port (default 0, any free port).
 * @param options Session options for every peer, the limits (`maxHandshakes`, `maxSessions`,
 *   `maxConnectionsPerAddress`, `perAddressInterval`; see {@linkcode ListenerOptions}) and `signal`.
 * @param onSession Called with each ready session; without it, iterate the listener.
 * @returns The listener, already accepting.
 * @throws {TypeError} For a wrong option type (the port is released again).
 * @throws {RangeError} For an option value out of range (the port is released again).
 * @throws The signal's reason if `options.signal` is already aborted.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {SessionError} `ERR_PERMISSION_DENIED` without Deno's `--allow-net`
 *   for the address (the message names the flag).
 *
 * @example Many peers on one port
 * ```ts
 * import { connectTcp, listenTcp } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const peers: string[] = [];
 * const { promise: allReady, resolve } = Promise.withResolvers<void>();
 * const listener = listenTcp({}, options, (session, remoteAddress) => {
 *   peers.push(remoteAddress);
 *   if (peers.length === 3) resolve();
 * });
 * const clients = await Promise.all(
 *   [1, 2, 3].map(() => connectTcp({ port: listener.addr.port }, options)),
 * );
 * await allReady;
 * assert.equal(listener.sessions.length, 3);
 * await listener.close();
 * const endings = await Promise.all(clients.map((client) => client.closed));
 * assert.ok(endings.every((info) => info.code === undefined));
 * ```
 */
export function listenTcp(
  address: TcpListenAddress = {},
  options: ListenerOptions = {},
  onSession?: SessionHandler,
): TcpListener {
  const { hostname = "127.0.0.1", port = 0, reusePort = false } = address;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Cannot listen: "port" must be an integer in [0, 65535], got ${port}`);
  }
  if (typeof reusePort !== "boolean") {
    throw new TypeError(`Cannot listen: "reusePort" must be a boolean, got ${typeof reusePort}`);
  }
  options.signal?.throwIfAborted();
  let socket: Deno.TcpListener;
  try {
    socket = Deno.listen({ hostname, port, transport: "tcp", reusePort });
  } catch (error) {
    throw explainPermission(`listen on ${netEntry(hostname, port)}`, error, [
      netEntry(hostname, port),
    ]);
  }
  try {
    return new TcpListener(socket, options, onSession);
  } catch (error) {
    // A wrong option: give the port back before reporting it.
    closeQuietly(socket);
    throw error;
  }
}

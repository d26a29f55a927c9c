/**
 * Sessions over WebSocket: {@linkcode connectWebSocket} dials and initiates
 * (browsers, Deno, Node, workers: only the standard `WebSocket` API), and
 * {@linkcode listenWebSocket} serves with Deno's HTTP server
 * (`Deno.serve`, `Deno.upgradeWebSocket`), running the responder side of a
 * handshake for every upgrade. Both need `--allow-net` under Deno. The byte
 * pipe itself is `webSocketTransport` in `src/transport/websocket.ts`.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import { type SessionOptions, validateOptions } from "../session/options.ts";
import { initiate, type Session } from "../session/session.ts";
import {
  checkWebSocketTransportOptions,
  WEBSOCKET_NORMAL_CLOSURE,
  type WebSocketCloseInfo,
  webSocketTransport,
  type WebSocketTransportOptions,
} from "../transport/websocket.ts";
import { Listener, type ListenerOptions, type SessionHandler } from "./listener.ts";
import { explainPermission, netEntry } from "./_permission.ts";

/** The `--allow-net` entry a WebSocket URL needs: its host and (default) port. */
function webSocketEntry(url: string | URL): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port === "" ? (parsed.protocol === "wss:" ? 443 : 80) : Number(parsed.port);
    return netEntry(parsed.hostname, port);
  } catch {
    return String(url);
  }
}

/** Options of {@linkcode connectWebSocket}: session options plus transport limits. */
export interface ConnectWebSocketOptions extends SessionOptions {
  /** Buffer limits of the transport. */
  transport?: WebSocketTransportOptions;
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
}

/**
 * Opens a WebSocket to `url` and starts the handshake as the initiator.
 * Works in browsers and Deno.
 *
 * @param url A `ws:` or `wss:` URL, e.g. `ws://127.0.0.1:8080/`.
 * @param options Session options, transport buffer limits, subprotocols.
 * @returns The session, once the socket is open; await {@linkcode Session.ready}.
 * @throws {TypeError} For a wrong option type (nothing is opened).
 * @throws {DOMException} `SyntaxError` for an invalid URL (nothing is opened).
 * @throws {RangeError} For an option value out of range (nothing is opened).
 * @throws {SessionError} `ERR_TRANSPORT_CLOSED` if the socket cannot be
 *   opened; `ERR_ABORTED` if the signal aborts first (its reason is the error's
 *   `cause`); `ERR_PERMISSION_DENIED`
 *   without Deno's `--allow-net` for the server's address (the message names the flag).
 *
 * @example Dialling a qgate WebSocket server
 * ```ts
 * import { connectWebSocket, listenWebSocket } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const listener = listenWebSocket({}, options);
 * const client = await connectWebSocket(`ws://127.0.0.1:${listener.addr.port}/`, options);
 * assert.equal((await client.ready).role, "initiator");
 * await client.close();
 * await listener.close();
 * ```
 */
export async function connectWebSocket(
  url: string | URL,
  options: ConnectWebSocketOptions = {},
): Promise<Session> {
  const { transport: transportOptions, protocols, ...sessionOptions } = options;
  validateOptions(sessionOptions);
  const signal = sessionOptions.signal;
  if (signal?.aborted) {
    throw new SessionError(ErrorCode.ABORTED, "Cannot connect: aborted", { cause: signal.reason });
  }
  // Checked first: a wrong limit never opens a socket.
  const limits = checkWebSocketTransportOptions(transportOptions ?? {});
  let socket: WebSocket;
  try {
    socket = new WebSocket(url, protocols);
  } catch (error) {
    throw explainPermission(`connect to ${String(url)}`, error, [webSocketEntry(url)]);
  }
  const transport = webSocketTransport(socket, limits);
  try {
    await new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        signal?.removeEventListener("abort", onAbort);
        socket.removeEventListener("open", onOpen);
      };
      const onOpen = (): void => {
        settle();
        resolve();
      };
      const onAbort = (): void => {
        settle();
        try {
          // A dialling socket may be closed before it opens.
          socket.close(WEBSOCKET_NORMAL_CLOSURE);
        } catch {
          // It is failing already.
        }
        reject(
          new SessionError(ErrorCode.ABORTED, "Cannot connect: aborted", {
            cause: signal?.reason,
          }),
        );
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.addEventListener("open", onOpen);
      void transport.closed.then((info) => {
        settle();
        reject(
          new SessionError(
            ErrorCode.TRANSPORT_CLOSED,
            `Cannot connect to ${String(url)}: WebSocket closed with code ${info.code}`,
          ),
        );
      });
    });
  } catch (error) {
    // Let the socket finish closing, so nothing is left behind.
    await transport.closed;
    throw error;
  }
  return initiate(transport, sessionOptions);
}

/** Where to listen for WebSocket upgrades. */
export interface WebSocketListenAddress {
  /** Interface to bind (default `"127.0.0.1"`, loopback only). */
  hostname?: string;
  /** Port (default 0: any free port; read it back from {@linkcode WebSocketListener.addr}). */
  port?: number;
  /** Only upgrade requests for this path (default: any path). */
  path?: string;
}

/** Options of {@linkcode listenWebSocket}: listener options plus transport limits. */
export interface WebSocketListenerOptions extends ListenerOptions {
  /** Buffer limits of each connection's transport. */
  transport?: WebSocketTransportOptions;
}

function describe(addr: Deno.Addr): string {
  return addr.transport === "tcp" || addr.transport === "udp"
    ? `${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`
    : addr.transport;
}

/**
 * A {@linkcode Listener} behind `Deno.serve`: every WebSocket upgrade runs
 * the responder side of a handshake. Plain HTTP requests get
 * `426 Upgrade Required`. Create one with {@linkcode listenWebSocket}.
 */
export class WebSocketListener extends Listener {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #sockets = new Set<Promise<WebSocketCloseInfo>>();
  #shutdown: Promise<void> | undefined;

  /**
   * Starts a server. Prefer {@linkcode listenWebSocket}.
   *
   * @param address Interface, port and path.
   * @param options Session options for every peer, limits, transport limits, an abort signal.
   * @param onSession Called with each ready session.
   * @throws {TypeError} For a wrong option type (nothing is bound).
   * @throws {RangeError} For an option value out of range (nothing is bound).
   * @throws {SessionError} `ERR_PERMISSION_DENIED` without Deno's `--allow-net`
   *   for the address (nothing is bound).
   */
  constructor(
    address: WebSocketListenAddress,
    options: WebSocketListenerOptions,
    onSession?: SessionHandler,
  ) {
    const { transport: transportOptions = {}, ...listenerOptions } = options;
    super(listenerOptions, onSession);
    checkWebSocketTransportOptions(transportOptions);
    const { hostname = "127.0.0.1", port = 0, path } = address;
    try {
      this.#server = this.#serve(hostname, port, path, transportOptions);
    } catch (error) {
      // Nothing was bound: release the listener (its abort listener) and say why.
      void super.close();
      throw explainPermission(`listen on ${netEntry(hostname, port)}`, error, [
        netEntry(hostname, port),
      ]);
    }
  }

  #serve(
    hostname: string,
    port: number,
    path: string | undefined,
    transportOptions: WebSocketTransportOptions,
  ): Deno.HttpServer<Deno.NetAddr> {
    return Deno.serve({
      hostname,
      port,
      onListen(): void {},
    }, (request, info): Response => {
      if (path !== undefined && new URL(request.url).pathname !== path) {
        return new Response("Not found\n", { status: 404 });
      }
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("qgate WebSocket endpoint: upgrade required\n", {
          status: 426,
          headers: { upgrade: "websocket" },
        });
      }
      if (this.closing) return new Response("Shutting down\n", { status: 503 });
      // Read the address first: the request is consumed by the upgrade.
      const remoteAddress = describe(info.remoteAddr);
      let upgrade: Deno.WebSocketUpgrade;
      try {
        upgrade = Deno.upgradeWebSocket(request);
      } catch {
        // Not a valid WebSocket handshake (a missing key, a wrong method).
        return new Response("Bad WebSocket upgrade\n", { status: 400 });
      }
      const { socket, response } = upgrade;
      const transport = webSocketTransport(socket, transportOptions);
      const closed = transport.closed;
      this.#sockets.add(closed);
      void closed.then(() => this.#sockets.delete(closed));
      this.accept(transport, remoteAddress);
      return response;
    });
  }

  /** The address the server is bound to; `addr.port` is the real port when 0 was asked. */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /**
   * Closes every session, waits for their sockets to close, then shuts the
   * HTTP server down. Idempotent.
   *
   * @returns Resolves once the server has stopped.
   */
  override async close(): Promise<void> {
    await super.close();
    await Promise.all(this.#sockets);
    this.#shutdown ??= this.#server.shutdown();
    await this.#shutdown;
  }
}

/**
 * Serves qgate over WebSocket with `Deno.serve`: each upgrade runs the
 * responder side of a handshake, many at once, each peer isolated as with
 * {@linkcode listenTcp}.
 *
 * @param address Interface (default `"127.0.0.1"`), port (default 0) and optional path.
 * @param options Session options for every peer, limits, transport buffer limits, `signal`.
 * @param onSession Called with each ready session; without it, iterate the listener.
 * @returns The listener, already serving.
 * @throws {TypeError} For a wrong option type (nothing is bound).
 * @throws {RangeError} For an option value out of range (nothing is bound).
 * @throws The signal's reason if `options.signal` is already aborted.
 * @throws {SessionError} `ERR_PERMISSION_DENIED` without Deno's `--allow-net`
 *   for the address (the message names the flag).
 *
 * @example Serving and dialling on loopback
 * ```ts
 * import { connectWebSocket, listenWebSocket } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const listener = listenWebSocket({ path: "/qgate" }, options);
 * const url = `ws://127.0.0.1:${listener.addr.port}/qgate`;
 * const client = await connectWebSocket(url, options);
 * await client.ready;
 * for await (const session of listener) {
 *   assert.equal(session.role, "responder");
 *   break;
 * }
 * await listener.close();
 * assert.equal((await client.closed).code, undefined);
 * ```
 */
export function listenWebSocket(
  address: WebSocketListenAddress = {},
  options: WebSocketListenerOptions = {},
  onSession?: SessionHandler,
): WebSocketListener {
  return new WebSocketListener(address, options, onSession);
}

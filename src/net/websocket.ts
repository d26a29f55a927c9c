/**
 * A qgate WebSocket server for Deno: `Deno.serve` upgrades each request and
 * runs the responder side of a handshake over it.
 *
 * This file uses Deno's HTTP server (`Deno.serve`, `Deno.upgradeWebSocket`)
 * and needs `--allow-net`. The transport itself, in `websocket.ts`, runs
 * anywhere.
 *
 * @module
 */

import { Listener, type ListenerOptions, type SessionHandler } from "../session/listener.ts";
import {
  checkWebSocketTransportOptions,
  type WebSocketCloseInfo,
  webSocketTransport,
  type WebSocketTransportOptions,
} from "./websocket.ts";

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
    this.#server = Deno.serve({
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

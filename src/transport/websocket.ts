/**
 * WebSocket as a byte pipe: binary frames in, bytes out, and back.
 *
 * Only the standard `WebSocket` API is used here, so the same code runs in
 * browsers, Deno, Node and workers. Dialling and serving sessions over it is
 * `src/net/websocket.ts`.
 *
 * A WebSocket keeps message boundaries, a qgate stream does not need them:
 * each write becomes one binary message, and messages are read back as a
 * plain byte stream. A text message is a protocol violation and ends the
 * pipe. Incoming messages are buffered up to a limit (a WebSocket has no
 * receive backpressure); a peer that floods past it is disconnected.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import type { Transport } from "./transport.ts";

/** The default limit on received bytes waiting to be read: 4 MiB. */
export const DEFAULT_WEBSOCKET_RECEIVE_BUFFER = 4 * 1024 * 1024;

/** The default limit on sent bytes waiting in the socket before a write waits: 1 MiB. */
export const DEFAULT_WEBSOCKET_SEND_BUFFER = 1024 * 1024;

/** The WebSocket close code for an orderly close. */
export const WEBSOCKET_NORMAL_CLOSURE = 1000;

/** The application close code qgate sends when a pipe is aborted; the reason is the error code. */
export const WEBSOCKET_ABORT_CLOSURE = 4000;

/** How long closing the writable waits for the peer to confirm the close, in ms. */
export const WEBSOCKET_CLOSE_TIMEOUT = 3_000;

/** Options of {@linkcode webSocketTransport}. */
export interface WebSocketTransportOptions {
  /** Received bytes that may wait to be read before the peer is disconnected (default 4 MiB). */
  maxReceiveBuffer?: number;
  /** Sent bytes the socket may hold before a write waits (default 1 MiB). */
  maxSendBuffer?: number;
}

/** How a WebSocket pipe ended. */
export interface WebSocketCloseInfo {
  /** The close code (1000 orderly, 4000 aborted by qgate, 1006 lost). */
  readonly code: number;
  /** The close reason; qgate puts the error code there when it aborts. */
  readonly reason: string;
  /** Whether the closing handshake completed. */
  readonly wasClean: boolean;
}

/** A {@linkcode Transport} over a WebSocket, plus when the socket is fully closed. */
export interface WebSocketTransport extends Transport {
  /** Resolves once the socket has closed. Never rejects. */
  readonly closed: Promise<WebSocketCloseInfo>;
}

function checkBuffer(option: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(
      `Cannot create WebSocket transport: "${option}" must be a positive integer, got ${
        String(value)
      }`,
    );
  }
  return limit;
}

/**
 * Checks transport limits and fills in the defaults.
 *
 * @internal Used by the dial and serve helpers to fail before they open anything.
 * @param options The limits.
 * @returns The limits with defaults.
 * @throws {RangeError} If a limit is not a positive integer.
 */
export function checkWebSocketTransportOptions(
  options: WebSocketTransportOptions,
): Required<WebSocketTransportOptions> {
  return {
    maxReceiveBuffer: checkBuffer(
      "maxReceiveBuffer",
      options.maxReceiveBuffer,
      DEFAULT_WEBSOCKET_RECEIVE_BUFFER,
    ),
    maxSendBuffer: checkBuffer(
      "maxSendBuffer",
      options.maxSendBuffer,
      DEFAULT_WEBSOCKET_SEND_BUFFER,
    ),
  };
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return undefined;
}

function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) return;
  if (socket.readyState === WebSocket.CONNECTING) {
    // A server-side socket ignores close() until it is open: close it then.
    socket.addEventListener("open", () => closeSocket(socket, code, reason), { once: true });
    return;
  }
  try {
    socket.close(code, reason);
  } catch {
    // Closing an already failing socket: it ends either way.
  }
}

/** Up to 123 bytes of close reason: the error code when there is one. */
function reasonOf(reason: unknown): string {
  const code = (reason as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code.slice(0, 123) : "";
}

/**
 * Turns a WebSocket into a {@linkcode Transport}: every write is sent as one
 * binary message, every binary message received is read as bytes. The socket
 * may still be connecting; writes wait until it is open.
 *
 * Closing the writable closes the socket with code 1000; aborting it closes
 * with 4000 and the error code as reason; both wait for the peer to confirm
 * the close (at most {@linkcode WEBSOCKET_CLOSE_TIMEOUT} ms). A close code other than 1000 from
 * the peer, a text message, or more than `maxReceiveBuffer` unread bytes
 * errors the readable with `ERR_TRANSPORT_CLOSED` (`ERR_RESOURCE_LIMIT` for
 * the buffer), which a session reports as `ERR_TRANSPORT_CLOSED`.
 *
 * @param socket An open or connecting WebSocket; the transport owns it from now on.
 * @param options Receive and send buffer limits.
 * @returns The transport, with a `closed` promise for the socket itself.
 * @throws {RangeError} If a buffer limit is not a positive integer.
 *
 * @example A handshake over a WebSocket served by Deno
 * ```ts
 * import { initiate, respond, webSocketTransport } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const responders: Promise<unknown>[] = [];
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   const transport = webSocketTransport(socket);
 *   responders.push(respond(transport, options).closed, transport.closed);
 *   return response;
 * });
 * const transport = webSocketTransport(new WebSocket(`ws://127.0.0.1:${server.addr.port}/`));
 * const client = initiate(transport, options);
 * const details = await client.ready;
 * assert.equal(details.role, "initiator");
 * await client.close();
 * await transport.closed;
 * await Promise.all(responders);
 * await server.shutdown();
 * ```
 */
export function webSocketTransport(
  socket: WebSocket,
  options: WebSocketTransportOptions = {},
): WebSocketTransport {
  const { maxReceiveBuffer: maxReceive, maxSendBuffer: maxSend } = checkWebSocketTransportOptions(
    options,
  );
  socket.binaryType = "arraybuffer";

  let resolveClosed!: (info: WebSocketCloseInfo) => void;
  const closed = new Promise<WebSocketCloseInfo>((resolve) => (resolveClosed = resolve));
  let readController!: ReadableStreamDefaultController<Uint8Array>;
  let readDone = false;
  let resolveOpen: (() => void) | undefined;
  let rejectOpen: ((error: unknown) => void) | undefined;
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveDrain: (() => void) | undefined;

  const failRead = (error: unknown): void => {
    if (readDone) return;
    readDone = true;
    readController.error(error);
  };
  const endRead = (): void => {
    if (readDone) return;
    readDone = true;
    readController.close();
  };
  const stopDrain = (): void => {
    if (drainTimer !== undefined) clearTimeout(drainTimer);
    drainTimer = undefined;
    const resolve = resolveDrain;
    resolveDrain = undefined;
    resolve?.();
  };

  const onMessage = (event: MessageEvent): void => {
    if (readDone) return;
    const bytes = toBytes(event.data);
    if (bytes === undefined) {
      failRead(new SessionError(ErrorCode.TRANSPORT_CLOSED, "WebSocket sent a text message"));
      closeSocket(socket, 1003, "binary only");
      return;
    }
    if (bytes.length === 0) return;
    // The queue counts bytes and wants none: -desiredSize is what waits unread.
    const waiting = -(readController.desiredSize ?? 0);
    if (waiting + bytes.length > maxReceive) {
      failRead(new SessionError(ErrorCode.RESOURCE_LIMIT, "WebSocket receive buffer is full"));
      closeSocket(socket, 1009, ErrorCode.RESOURCE_LIMIT);
      return;
    }
    readController.enqueue(bytes);
  };
  const onOpen = (): void => {
    resolveOpen?.();
    resolveOpen = rejectOpen = undefined;
  };
  const onError = (): void => {
    // A close event always follows; it carries the outcome.
  };
  const onClose = (event: CloseEvent): void => {
    socket.removeEventListener("message", onMessage);
    socket.removeEventListener("open", onOpen);
    socket.removeEventListener("error", onError);
    socket.removeEventListener("close", onClose);
    const error = new SessionError(
      ErrorCode.TRANSPORT_CLOSED,
      `WebSocket closed: ${event.code}${event.reason === "" ? "" : ` ${event.reason}`}`,
    );
    rejectOpen?.(error);
    resolveOpen = rejectOpen = undefined;
    stopDrain();
    if (event.code === WEBSOCKET_NORMAL_CLOSURE) endRead();
    else failRead(error);
    resolveClosed({ code: event.code, reason: event.reason, wasClean: event.wasClean });
  };
  socket.addEventListener("message", onMessage);
  socket.addEventListener("open", onOpen);
  socket.addEventListener("error", onError);
  socket.addEventListener("close", onClose);
  if (socket.readyState === WebSocket.CLOSED) {
    // Closed before we were handed it: no close event will come.
    queueMicrotask(() =>
      onClose(new CloseEvent("close", { code: 1006, reason: "", wasClean: false }))
    );
  }

  const readable = new ReadableStream<Uint8Array>({
    start(controller): void {
      readController = controller;
    },
    cancel(): void {
      readDone = true;
      closeSocket(socket, WEBSOCKET_NORMAL_CLOSURE, "");
    },
  }, { highWaterMark: 0, size: (chunk) => chunk.byteLength });

  const whenOpen = (): Promise<void> => {
    if (socket.readyState === WebSocket.OPEN) return Promise.resolve();
    if (socket.readyState !== WebSocket.CONNECTING) {
      return Promise.reject(
        new SessionError(ErrorCode.TRANSPORT_CLOSED, "WebSocket is closing or closed"),
      );
    }
    return new Promise<void>((resolve, reject) => {
      resolveOpen = resolve;
      rejectOpen = reject;
    });
  };
  const whenDrained = (): Promise<void> => {
    if (socket.bufferedAmount <= maxSend) return Promise.resolve();
    // WebSocket has no drain event: poll until the socket has sent enough.
    return new Promise<void>((resolve) => {
      resolveDrain = resolve;
      const poll = (): void => {
        if (socket.readyState !== WebSocket.OPEN || socket.bufferedAmount <= maxSend) stopDrain();
        else drainTimer = setTimeout(poll, 5);
      };
      drainTimer = setTimeout(poll, 5);
    });
  };

  /** Waits for the closing handshake, at most {@linkcode WEBSOCKET_CLOSE_TIMEOUT} ms. */
  const settled = async (): Promise<void> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, WEBSOCKET_CLOSE_TIMEOUT);
    });
    await Promise.race([closed, timeout]);
    clearTimeout(timer);
  };

  const writable = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      await whenOpen();
      if (socket.readyState !== WebSocket.OPEN) {
        throw new SessionError(ErrorCode.TRANSPORT_CLOSED, "WebSocket is closing or closed");
      }
      socket.send(chunk);
      await whenDrained();
    },
    async close(): Promise<void> {
      stopDrain();
      closeSocket(socket, WEBSOCKET_NORMAL_CLOSURE, "");
      await settled();
    },
    async abort(reason): Promise<void> {
      stopDrain();
      closeSocket(socket, WEBSOCKET_ABORT_CLOSURE, reasonOf(reason));
      await settled();
    },
  });

  return { readable, writable, closed };
}

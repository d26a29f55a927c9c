/**
 * A `node:net` socket (TCP, Unix socket, or a `node:tls` socket over one) as
 * a {@linkcode Transport}, for qgate under Node, and under Deno or Bun
 * through their `node:net`.
 *
 * A socket is an event emitter that pushes data as fast as the peer sends
 * it; a qgate session pulls. {@linkcode nodeSocketTransport} keeps the
 * socket paused, resumes it when the session reads and pauses it again at
 * the first chunk, so unread bytes wait in the socket's own bounded buffer
 * and the kernel, which makes the peer's writes wait: memory stays bounded
 * however fast the peer sends. Writes wait for `'drain'` when the socket's
 * write buffer is full.
 *
 * Nothing here imports `node:net`: the socket is taken as the structural
 * type {@linkcode NodeSocketLike}, so the module loads in Deno, Node and
 * browsers alike (where there are no sockets to pass).
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import type { Transport } from "./transport.ts";

/**
 * The part of a `node:net` `Socket` that {@linkcode nodeSocketTransport}
 * uses. A `net.Socket` or `tls.TLSSocket` fits, from Node, Deno or Bun.
 */
export interface NodeSocketLike {
  /** Whether the socket was destroyed (it can neither read nor write). */
  readonly destroyed: boolean;
  /** Stops `'data'` events; received bytes wait in the socket and the kernel. */
  pause(): unknown;
  /** Starts `'data'` events again. */
  resume(): unknown;
  /**
   * Queues bytes; `false` when the write buffer is full (wait for `'drain'`).
   * The callback reports whether the bytes were handed to the kernel.
   */
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  /** Sends what is queued, then a FIN; `'finish'` follows. */
  end(): unknown;
  /** Closes the socket now; `'close'` follows (after `'error'` with an error). */
  destroy(error?: Error): unknown;
  /** Received bytes (a string only if someone set an encoding). */
  on(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  /** `'end'`: the peer sent FIN; `'drain'`: the write buffer emptied; `'finish'`: FIN sent. */
  on(event: "end" | "drain" | "finish", listener: () => void): unknown;
  /** The socket failed. */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** The socket is closed, for any reason. */
  on(event: "close", listener: () => void): unknown;
}

/** How long closing the writable waits for the queued bytes to go out, in ms. */
export const NODE_SOCKET_CLOSE_TIMEOUT = 3_000;

/** The longest delay a timer holds (2^31 - 1 ms); a longer one fires at once. */
const MAX_TIMEOUT = 2_147_483_647;

/** Options of {@linkcode nodeSocketTransport}. */
export interface NodeSocketTransportOptions {
  /**
   * How long closing the writable waits for the queued bytes to go out
   * before it destroys the socket and fails, in ms (default
   * {@linkcode NODE_SOCKET_CLOSE_TIMEOUT}): a peer that stops reading must
   * not hold a closing session forever.
   */
  closeTimeout?: number;
}

function closedError(message: string, cause?: unknown): SessionError {
  return new SessionError(
    ErrorCode.TRANSPORT_CLOSED,
    message,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Wraps a `node:net` socket as a {@linkcode Transport}: a byte stream that
 * reads only when the session reads, and writes that wait for `'drain'`.
 *
 * - Reading: the socket is paused at once; each read of the readable resumes
 *   it until one `'data'` chunk arrives, which is handed over as a plain
 *   `Uint8Array` view of the socket's buffer (no copy: the socket allocates
 *   one per chunk and never reuses it, so the session owns it). A FIN from
 *   the peer ends the readable. A socket error, or a close without a FIN,
 *   errors it with `ERR_TRANSPORT_CLOSED` (the socket's error as `cause`).
 * - Writing: a write resolves once the socket took the bytes into its
 *   buffer, or, when that buffer is full, at the next `'drain'`. It rejects
 *   with `ERR_TRANSPORT_CLOSED` once the socket is closed or failed.
 * - Closing: closing the writable ends the socket's sending half (`end()`:
 *   the queued bytes, then a FIN) and resolves once they are out, so a
 *   later destroy cannot drop them (after `closeTimeout` ms without that, it
 *   destroys the socket and rejects); the readable goes on until the peer's
 *   FIN, as with an in-memory pair. The socket closes once both
 *   halves are done: the readable read to its end, or cancelled (a session
 *   always does one or the other). Aborting the writable or cancelling the
 *   readable destroys the socket at once, even while a write waits for
 *   `'drain'`. The transport ends the socket at most once and destroys it
 *   at most once.
 *
 * The transport listens for `'error'` for the socket's whole life, so a
 * socket error never becomes an uncaught exception, and nothing throws out
 * of a socket callback. Do not read from the socket yourself, set an
 * encoding on it or pass an `onread` option when you create it: the
 * transport must be the socket's only reader.
 *
 * @param socket A connected or connecting socket; the transport owns it from now on.
 * @param options How long a close may wait for the bytes to go out.
 * @returns The transport to hand to `initiate` or `respond`.
 * @throws {RangeError} If `closeTimeout` is not a positive number of ms that a timer can hold.
 *
 * @example A session over `node:net`
 * ```ts
 * import { initiate, nodeSocketTransport, respond, type Session } from "@qgate/handshake";
 * import { createConnection, createServer, type Socket } from "node:net";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const accepted = Promise.withResolvers<Session>();
 * const server = createServer((socket: Socket) => {
 *   accepted.resolve(respond(nodeSocketTransport(socket), options));
 * });
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as { port: number };
 * const client = initiate(nodeSocketTransport(createConnection(port, "127.0.0.1")), options);
 * const responder = await accepted.promise;
 * await Promise.all([client.ready, responder.ready]);
 * assert.equal(responder.state, "ready");
 * await client.close();
 * assert.deepEqual(await responder.closed, { code: undefined, local: false });
 * await new Promise((resolve) => server.close(resolve));
 * ```
 */
export function nodeSocketTransport(
  socket: NodeSocketLike,
  options: NodeSocketTransportOptions = {},
): Transport {
  const closeTimeout = options.closeTimeout ?? NODE_SOCKET_CLOSE_TIMEOUT;
  if (!(closeTimeout > 0 && closeTimeout <= MAX_TIMEOUT)) {
    throw new RangeError(
      `Cannot create node socket transport: "closeTimeout" must be a positive number of ms up to ${MAX_TIMEOUT}, got ${
        String(options.closeTimeout)
      }`,
    );
  }
  let readController!: ReadableStreamDefaultController<Uint8Array>;
  /** Set once the readable is closed, errored or cancelled: nothing more is enqueued. */
  let readDone = false;
  /** Settles the pull in flight when a chunk, the end or a failure arrives. */
  let settlePull: (() => void) | undefined;
  /** Settles the write waiting for `'drain'` (with an error if the socket closed first). */
  let settleDrain: ((error?: SessionError) => void) | undefined;
  /** Settles the writable's close once the FIN is out (with an error if the socket closed first). */
  let settleFinish: ((error?: SessionError) => void) | undefined;
  /** Set once the writable is closed or aborted, or the socket is destroyed: no more writes. */
  let writeDone = false;
  /** Set once this transport called `destroy()`, or the socket closed: never destroy twice. */
  let destroyed = socket.destroyed;
  /** Set once the socket emitted `'finish'`: everything written is out, then the FIN. */
  let finished = false;
  /** The socket's error, if it failed: the cause of what fails next. */
  let failure: Error | undefined;

  const wakePull = (): void => {
    const settle = settlePull;
    settlePull = undefined;
    settle?.();
  };
  const failRead = (error: SessionError): void => {
    if (readDone) return;
    readDone = true;
    readController.error(error);
    wakePull();
  };
  const destroy = (): void => {
    writeDone = true;
    if (destroyed) return;
    destroyed = true;
    try {
      socket.destroy();
    } catch {
      // A real socket never throws here; a broken stand-in must not throw out of a callback.
    }
  };

  socket.on("error", (error) => {
    failure = error;
    writeDone = true;
    failRead(closedError("The socket failed", error));
  });
  socket.on("data", (chunk) => {
    if (readDone) return;
    if (typeof chunk === "string") {
      failRead(closedError("The socket delivers text: an encoding was set on it"));
      destroy();
      return;
    }
    if (chunk.length === 0) return;
    // Paused until the next read: unread bytes wait in the socket's buffer and the kernel.
    socket.pause();
    readController.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    wakePull();
  });
  socket.on("end", () => {
    if (readDone) return;
    readDone = true;
    readController.close();
    wakePull();
  });
  socket.on("drain", () => {
    const settle = settleDrain;
    settleDrain = undefined;
    settle?.();
  });
  socket.on("finish", () => {
    finished = true;
    const settle = settleFinish;
    settleFinish = undefined;
    settle?.();
  });
  socket.on("close", () => {
    destroyed = writeDone = true;
    const error = closedError("The socket closed", failure);
    failRead(error);
    const drain = settleDrain;
    const finish = settleFinish;
    settleDrain = settleFinish = undefined;
    drain?.(error);
    finish?.(finished ? undefined : error);
  });
  socket.pause();

  const readable = new ReadableStream<Uint8Array>({
    start(controller): void {
      readController = controller;
      if (destroyed) failRead(closedError("The socket is closed"));
    },
    pull(): Promise<void> | undefined {
      if (readDone) return undefined;
      const arrived = new Promise<void>((resolve) => (settlePull = resolve));
      socket.resume();
      return arrived;
    },
    cancel(): void {
      readDone = true;
      wakePull();
      destroy();
    },
  }, { highWaterMark: 0 });

  const writable = new WritableStream<Uint8Array>({
    start(controller): void {
      // An abort waits for the write in flight, which may wait for a 'drain' that never
      // comes: destroying the socket at once settles that write.
      controller.signal.addEventListener("abort", destroy, { once: true });
    },
    write(chunk): Promise<void> | undefined {
      if (writeDone) throw closedError("Cannot write: the socket is closed", failure);
      if (chunk.length === 0) return undefined;
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        const settle = (error?: SessionError): void => {
          if (settled) return;
          settled = true;
          if (settleDrain === settle) settleDrain = undefined;
          if (error === undefined) resolve();
          else reject(error);
        };
        const roomLeft = socket.write(chunk, (error) => {
          // Called once the bytes reached the kernel; only a failure matters here.
          if (error) settle(closedError("Cannot write: the socket failed", error));
        });
        if (roomLeft) settle();
        else if (!settled) settleDrain = settle;
      });
    },
    close(): Promise<void> | undefined {
      if (writeDone) {
        if (failure !== undefined) throw closedError("Cannot close: the socket failed", failure);
        return undefined;
      }
      writeDone = true;
      if (finished) return undefined;
      // Destroying settles the close through 'close', with ERR_TRANSPORT_CLOSED.
      const timer = setTimeout(destroy, closeTimeout);
      const flushed = new Promise<void>((resolve, reject) => {
        settleFinish = (error): void => {
          clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(error);
        };
      });
      socket.end();
      return flushed;
    },
    abort(): void {
      destroy();
    },
  });
  return { readable, writable, kind: "stream" };
}

/**
 * A `Deno.Conn` (TCP, TLS, Unix socket) as a {@linkcode Transport} that
 * reads into buffers sized to the traffic.
 *
 * A `Deno.Conn` already has `readable` and `writable`, but its `readable`
 * allocates a 64 KiB buffer for every read and holds it while the read
 * waits: an idle connection pins 64 KiB, and each small handshake message
 * costs a 64 KiB allocation. {@linkcode connTransport} reads into a buffer of
 * 2 KiB that grows (up to 64 KiB) while reads fill it and follows the size
 * of the last read otherwise.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import type { Transport } from "./transport.ts";

/** Smallest read buffer: what an idle connection holds. */
const MIN_READ = 2_048;
/** Largest read buffer: Deno's own chunk size. */
const MAX_READ = 65_536;

/** The read-buffer size after a read of `read` bytes into `size` bytes. */
function nextReadSize(read: number, size: number): number {
  if (read === size) return Math.min(size * 2, MAX_READ);
  let next = MIN_READ;
  while (next < read) next *= 2;
  return next;
}

/** The connection's own half: enough of `Deno.Conn` to move bytes and close it. */
export type ConnLike = Pick<Deno.Conn, "read" | "write" | "close">;

/** Closes `closer`, ignoring that it may be closed already (by the other half, or its owner). */
export function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // Already closed.
  }
}

/**
 * Wraps a connection as a {@linkcode Transport}. Reads are pulled on demand
 * (nothing is read ahead of the session), each into a fresh buffer that the
 * session owns; writes complete once the connection took every byte.
 * Closing or aborting the writable, or cancelling the readable, closes the
 * connection, as Deno's own streams do. {@linkcode connectTcp} and
 * {@linkcode listenTcp} use it; use it yourself when you dial or accept.
 *
 * @param conn An open connection, read and written only through the result.
 * @returns The transport to hand to `initiate` or `respond`.
 *
 * @example A session over a connection you accepted yourself
 * ```ts
 * import { connectTcp, connTransport, respond } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const dialled = connectTcp({ port: server.addr.port }, { requireAuthentication: false });
 * const accepted = respond(connTransport(await server.accept()), { requireAuthentication: false });
 * const client = await dialled;
 * await Promise.all([client.ready, accepted.ready]);
 * assert.equal(accepted.state, "ready");
 * await client.close();
 * await accepted.closed;
 * server.close();
 * ```
 */
export function connTransport(conn: ConnLike): Transport {
  let size = MIN_READ;
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      const buffer = new Uint8Array(size);
      const read = await conn.read(buffer);
      if (read === null) {
        controller.close();
        return;
      }
      size = nextReadSize(read, buffer.length);
      controller.enqueue(buffer.subarray(0, read));
    },
    cancel(): void {
      closeQuietly(conn);
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      for (let written = 0; written < chunk.length;) {
        const taken = await conn.write(chunk.subarray(written));
        if (taken <= 0) {
          throw new SessionError(
            ErrorCode.TRANSPORT_CLOSED,
            "Cannot write: the connection took no bytes",
          );
        }
        written += taken;
      }
    },
    close(): void {
      closeQuietly(conn);
    },
    abort(): void {
      closeQuietly(conn);
    },
  });
  return { readable, writable };
}

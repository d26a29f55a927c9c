/**
 * One peer's view of a shared UDP socket, as a datagram transport:
 * a UDP dialler or listener sorts received datagrams by sender and hands each
 * sender's to its {@linkcode UdpPeer}; what the session writes goes to that
 * sender's address. Each peer's queue of received datagrams is bounded
 * (256 datagrams, 1 MiB): newer datagrams are dropped when it is full, as a
 * full socket buffer would.
 *
 * @module
 */

import type { DatagramTransport } from "./datagram.ts";

/** Datagrams queued per peer before newer ones are dropped (as a full socket buffer would). */
const PEER_QUEUE = 256;

/** Bytes queued per peer before newer datagrams are dropped. */
const PEER_QUEUE_BYTES = 1024 * 1024;

/**
 * Counts a datagram as at least 1/256 of the byte budget, so the queue holds at
 * most 256 datagrams and at most 1 MiB (one larger datagram always fits).
 */
const PEER_QUEUE_STRATEGY: QueuingStrategy<Uint8Array> = {
  highWaterMark: PEER_QUEUE_BYTES,
  size: (datagram) => Math.max(datagram.byteLength, PEER_QUEUE_BYTES / PEER_QUEUE),
};

/**
 * One peer's view of a shared UDP socket, as a datagram transport. The owner
 * of the socket receives, and calls {@linkcode UdpPeer.deliver} with what
 * this peer sent; writes go to the peer's address.
 *
 * @example A pipe between two UDP sockets on loopback
 * ```ts
 * import { UdpPeer } from "./udp_socket.ts";
 * import assert from "node:assert/strict";
 *
 * const a = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * const b = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * const peer = new UdpPeer(a, b.addr as Deno.NetAddr, () => a.close());
 * const writer = peer.transport.writable.getWriter();
 * await writer.write(new Uint8Array([1, 2, 3]));
 * const [datagram] = await b.receive();
 * assert.deepEqual(datagram, new Uint8Array([1, 2, 3]));
 * await writer.close();
 * b.close();
 * ```
 */
export class UdpPeer {
  /** The datagram transport a session runs over. */
  readonly transport: DatagramTransport;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #open = true;

  /**
   * Wraps one peer of a socket; the socket stays the caller's.
   *
   * @param socket The socket to send from.
   * @param remote The peer's address.
   * @param onClose Called when the session closes, aborts or cancels the pipe.
   * @param onSent Called with each datagram before it is sent.
   */
  constructor(
    socket: Deno.DatagramConn,
    remote: Deno.NetAddr,
    onClose: () => void,
    onSent?: (datagram: Uint8Array) => void,
  ) {
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#open = false;
        onClose();
      },
    }, PEER_QUEUE_STRATEGY);
    const writable = new WritableStream<Uint8Array>({
      write: async (datagram) => {
        onSent?.(datagram);
        await socket.send(datagram, remote);
      },
      close: () => {
        this.end();
        onClose();
      },
      abort: () => {
        this.end();
        onClose();
      },
    });
    this.transport = { kind: "datagram", readable, writable };
  }

  /**
   * Queues one received datagram; drops it when the peer's queue is full or
   * the pipe has ended. The datagram belongs to the session from now on.
   *
   * @param datagram What the peer sent.
   */
  deliver(datagram: Uint8Array): void {
    if (!this.#open) return;
    if ((this.#controller.desiredSize ?? 0) < Math.max(datagram.byteLength, 1)) return;
    this.#controller.enqueue(datagram);
  }

  /** Ends the peer's readable side. */
  end(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      this.#controller.close();
    } catch {
      // Already errored or closed.
    }
  }
}

/**
 * An in-memory byte pipe: two connected transports, as if a socket joined them.
 *
 * @module
 */

import type { Transport } from "./transport.ts";

/** Options for {@linkcode createMemoryPair}. */
export interface MemoryPairOptions {
  /** Chunks buffered per direction before a write waits for the reader (default 16). */
  highWaterMark?: number;
}

/**
 * Creates two transports joined back to back: what one writes, the other reads.
 * Closing or aborting one side's writable ends the other side's readable.
 *
 * @param options Buffering per direction.
 * @returns The two ends, `[a, b]`.
 *
 * @example A round trip through the pipe
 * ```ts
 * import { createMemoryPair } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = createMemoryPair();
 * const writer = a.writable.getWriter();
 * await writer.write(new Uint8Array([1, 2, 3]));
 * await writer.close();
 * const chunks = await Array.fromAsync(b.readable);
 * assert.deepEqual(chunks, [new Uint8Array([1, 2, 3])]);
 * ```
 */
export function createMemoryPair(options: MemoryPairOptions = {}): [Transport, Transport] {
  const highWaterMark = options.highWaterMark ?? 16;
  if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
    throw new RangeError(
      `Cannot create memory pair: "highWaterMark" must be a positive integer, got ${highWaterMark}`,
    );
  }
  const aToB = pipe(highWaterMark);
  const bToA = pipe(highWaterMark);
  return [
    { readable: bToA.readable, writable: aToB.writable },
    { readable: aToB.readable, writable: bToA.writable },
  ];
}

/**
 * One direction: a writable whose chunks go straight into a readable's queue
 * (one hop, where a `TransformStream` takes two). A write waits while the
 * reader has `highWaterMark` chunks unread; cancelling the readable errors
 * the writable, and closing or aborting the writable ends the readable.
 */
function pipe(highWaterMark: number): {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
} {
  let reading!: ReadableStreamDefaultController<Uint8Array>;
  let writing: WritableStreamDefaultController | undefined;
  let room: (() => void) | undefined;
  let done = false;
  const readable = new ReadableStream<Uint8Array>({
    start(controller): void {
      reading = controller;
    },
    pull(): void {
      const wake = room;
      room = undefined;
      wake?.();
    },
    cancel(reason): void {
      done = true;
      writing?.error(reason);
      const wake = room;
      room = undefined;
      wake?.();
    },
  }, new CountQueuingStrategy({ highWaterMark }));
  const writable = new WritableStream<Uint8Array>({
    start(controller): void {
      writing = controller;
    },
    write(chunk): Promise<void> | void {
      if (done) throw new TypeError("Cannot write: the reading end was cancelled");
      reading.enqueue(chunk);
      if ((reading.desiredSize ?? 1) > 0) return;
      return new Promise<void>((resolve) => (room = resolve));
    },
    close(): void {
      if (done) return;
      done = true;
      reading.close();
    },
    abort(reason): void {
      if (done) return;
      done = true;
      reading.error(reason);
    },
  });
  return { readable, writable };
}

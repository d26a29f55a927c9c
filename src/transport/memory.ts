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
  const strategy = new CountQueuingStrategy({ highWaterMark });
  const aToB = new TransformStream<Uint8Array, Uint8Array>({}, strategy, strategy);
  const bToA = new TransformStream<Uint8Array, Uint8Array>({}, strategy, strategy);
  return [
    { readable: bToA.readable, writable: aToB.writable },
    { readable: aToB.readable, writable: bToA.writable },
  ];
}

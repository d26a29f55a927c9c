/**
 * Datagram transports: each chunk is one datagram that may be lost,
 * duplicated or reordered. `createDatagramPair` joins two in memory, with an
 * optional seeded impairment (loss, duplication, reordering) for tests and
 * simulations.
 *
 * @module
 */

import type { RandomSource } from "../crypto/types.ts";
import { seededRandom, systemRandom } from "../crypto/random.ts";
import type { Transport } from "./transport.ts";

/** A transport whose chunks are datagrams. */
export interface DatagramTransport extends Transport {
  /** Always `"datagram"`. */
  readonly kind: "datagram";
}

/** Seeded impairments of a datagram pair, as probabilities in [0, 1). */
export interface DatagramImpairment {
  /** Probability that a datagram is lost. */
  readonly loss?: number;
  /** Probability that a datagram arrives twice. */
  readonly duplicate?: number;
  /** Probability that a datagram is held back and delivered after the next one. */
  readonly reorder?: number;
  /** The randomness that decides (inject a seeded source for reproducible runs). */
  readonly random?: RandomSource;
}

function probability(name: string, value: number | undefined): number {
  const p = value ?? 0;
  if (typeof p !== "number" || !(p >= 0 && p < 1)) {
    throw new RangeError(`Cannot create datagram pair: "${name}" must be in [0, 1), got ${p}`);
  }
  return p;
}

function direction(
  impairment: DatagramImpairment,
  random: RandomSource,
): TransformStream<Uint8Array, Uint8Array> {
  const loss = probability("loss", impairment.loss);
  const duplicate = probability("duplicate", impairment.duplicate);
  const reorder = probability("reorder", impairment.reorder);
  const draw = (): number => {
    const [a = 0, b = 0] = random(2);
    return (a * 256 + b) / 65_536;
  };
  let held: Uint8Array | undefined;
  return new TransformStream<Uint8Array, Uint8Array>(
    {
      transform(datagram, controller): void {
        const copy = datagram.slice();
        if (draw() < loss) return;
        if (held === undefined && draw() < reorder) {
          held = copy;
          return;
        }
        controller.enqueue(copy);
        if (draw() < duplicate) controller.enqueue(copy.slice());
        if (held !== undefined) {
          controller.enqueue(held);
          held = undefined;
        }
      },
      flush(controller): void {
        if (held !== undefined) controller.enqueue(held);
      },
    },
    new CountQueuingStrategy({ highWaterMark: 64 }),
    new CountQueuingStrategy({ highWaterMark: 64 }),
  );
}

/**
 * Creates two datagram transports joined back to back, optionally impaired.
 *
 * @param impairment Loss, duplication and reordering probabilities, with their random source.
 * @returns The two ends, `[a, b]`.
 * @throws {RangeError} If a probability is outside [0, 1).
 *
 * @example A lossless pair
 * ```ts
 * import { createDatagramPair } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = createDatagramPair();
 * assert.equal(a.kind, "datagram");
 * const writer = a.writable.getWriter();
 * await writer.write(new Uint8Array([7]));
 * await writer.close();
 * assert.deepEqual(await Array.fromAsync(b.readable), [new Uint8Array([7])]);
 * ```
 */
export function createDatagramPair(
  impairment: DatagramImpairment = {},
): [DatagramTransport, DatagramTransport] {
  // Each direction draws from its own stream, so that timing never changes
  // which datagrams a seed drops.
  const source = impairment.random ?? systemRandom;
  const aToB = direction(impairment, seededRandom(source(32)));
  const bToA = direction(impairment, seededRandom(source(32)));
  return [
    { kind: "datagram", readable: bToA.readable, writable: aToB.writable },
    { kind: "datagram", readable: aToB.readable, writable: bToA.writable },
  ];
}

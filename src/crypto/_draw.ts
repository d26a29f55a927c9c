/**
 * How the contract layer draws randomness, the same way for every backend.
 *
 * Key material (key generation seeds, encapsulation messages, signing
 * hedges) is drawn in exactly the amounts and order noble needs, from the
 * injected source, so a seeded source reproduces every key byte for byte on
 * every backend. When the injected source is the system CSPRNG
 * (`systemRandom`, or the pooled `publicRandom`), the bytes come straight
 * from `crypto.getRandomValues` for this one draw: never from a buffer of
 * earlier output.
 *
 * @module
 */

import { publicRandom, systemRandom } from "./random.ts";
import type { RandomSource } from "./types.ts";
import { describe } from "./_failures.ts";

/** Whether `random` is the operating system's CSPRNG (pooled or not). */
export function isSystemRandom(random: RandomSource): boolean {
  return random === systemRandom || random === publicRandom;
}

/**
 * Draws `length` bytes of key material into an array the caller owns (and
 * wipes): straight from the CSPRNG for the system sources, else from
 * `random`, checked and copied.
 *
 * @throws {RangeError} If `random` returns anything but `length` bytes.
 */
export function drawSecret(
  random: RandomSource,
  length: number,
  what: string,
): Uint8Array<ArrayBuffer> {
  if (isSystemRandom(random)) {
    const bytes = new Uint8Array(length);
    crypto.getRandomValues(bytes); // key material is at most a few hundred bytes
    return bytes;
  }
  const bytes = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(
      `Cannot ${what}: "random" must return ${length} bytes, got ${describe(bytes)}`,
    );
  }
  return Uint8Array.from(bytes);
}

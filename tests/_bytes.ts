/** Byte helpers for tests. */

/**
 * A copy of `bytes` with one bit flipped.
 *
 * @param bytes The input (left as it is).
 * @param bit The bit to flip, counted from the least significant bit of byte 0.
 * @returns The copy.
 */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array<ArrayBuffer> {
  const copy = Uint8Array.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/**
 * Random sources: the system CSPRNG for secrets, a pooled view of it for
 * public values, and a seeded deterministic generator for reproducible tests
 * and simulations.
 *
 * Every qgate component that needs randomness takes a {@linkcode RandomSource}
 * (`(length) => bytes`) instead of calling the CSPRNG itself, so a seed
 * reproduces a whole run byte for byte.
 *
 * @module
 */

import { chacha20 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { RandomSource } from "./types.ts";

/** `crypto.getRandomValues` fills at most this many bytes per call. */
const MAX_GET_RANDOM_VALUES = 65_536;

const SEEDED_LABEL = new TextEncoder().encode("qgate/1 seeded random");
const CHACHA_BLOCK = 64;
const MAX_CHACHA_BLOCKS = 2 ** 32;

function checkLength(length: number, what: string): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(
      `Cannot draw ${what} bytes: "length" must be a non-negative integer, got ${length}`,
    );
  }
}

/**
 * The operating system's CSPRNG (`crypto.getRandomValues`), in chunks of at
 * most 65,536 bytes so that any length works. Every call asks the CSPRNG
 * for exactly the bytes it returns: nothing is buffered, so no future key
 * material sits in memory before it is used. This is the source for keys,
 * nonces of secrets, seeds and anything else secret; the contract layer of
 * every backend draws key material this way whenever it is handed
 * `systemRandom` (or {@linkcode publicRandom}).
 *
 * @param length The number of bytes to return.
 * @returns `length` fresh random bytes in an array of their own.
 * @throws {RangeError} If `length` is not a non-negative safe integer.
 *
 * @example Drawing bytes
 * ```ts
 * import { systemRandom } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const bytes = systemRandom(100_000);
 * assert.equal(bytes.length, 100_000);
 * assert.notDeepEqual(systemRandom(16), systemRandom(16));
 * ```
 */
export const systemRandom: RandomSource = function systemRandom(
  length: number,
): Uint8Array<ArrayBuffer> {
  checkLength(length, "random");
  const bytes = new Uint8Array(length);
  // The usual draw (a few bytes) fills the array itself, without a view of it.
  if (length <= MAX_GET_RANDOM_VALUES) return crypto.getRandomValues(bytes);
  for (let offset = 0; offset < length; offset += MAX_GET_RANDOM_VALUES) {
    crypto.getRandomValues(bytes.subarray(offset, offset + MAX_GET_RANDOM_VALUES));
  }
  return bytes;
};

/** Requests up to this many bytes are served from {@linkcode POOL}. */
const POOLED_MAX = 64;
/**
 * Fresh CSPRNG output for small public draws (a record's padding length
 * draws 4 bytes): one `getRandomValues` call per 4 KiB instead of one per
 * request. Bytes are handed out once, front to back, and zeroed as they
 * leave. It holds output that later draws will return, which is why only
 * {@linkcode publicRandom} uses it and never a key.
 */
const POOL = new Uint8Array(4_096);
let poolOffset = POOL.length;

/**
 * The operating system's CSPRNG for PUBLIC values only (padding lengths,
 * noise bytes, anything sent in the clear): requests of at most 64 bytes are
 * served from a 4 KiB buffer of fresh CSPRNG output, each byte handed out
 * once and wiped from the buffer as it is; larger requests go to
 * {@linkcode systemRandom}.
 *
 * Never draw secrets from it: the buffer holds output that later draws will
 * return, so a memory disclosure would reveal them in advance. Key
 * generation, encapsulation and signing never take bytes from the buffer
 * even when handed `publicRandom`: the contract layer of every backend draws
 * key material straight from the CSPRNG.
 *
 * @param length The number of bytes to return.
 * @returns `length` fresh random bytes in an array of their own.
 * @throws {RangeError} If `length` is not a non-negative safe integer.
 *
 * @example Random padding for a record
 * ```ts
 * import { publicRandom } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const [low = 0, high = 0] = publicRandom(2);
 * const padding = ((high << 8) | low) % 64;
 * assert.ok(padding >= 0 && padding < 64);
 * assert.equal(publicRandom(4).length, 4);
 * ```
 */
export const publicRandom: RandomSource = function publicRandom(
  length: number,
): Uint8Array<ArrayBuffer> {
  checkLength(length, "public random");
  if (length > POOLED_MAX) return systemRandom(length) as Uint8Array<ArrayBuffer>;
  if (POOL.length - poolOffset < length) {
    crypto.getRandomValues(POOL);
    poolOffset = 0;
  }
  const taken = POOL.subarray(poolOffset, poolOffset + length);
  const bytes = taken.slice();
  taken.fill(0);
  poolOffset += length;
  return bytes;
};

/**
 * A deterministic random source for reproducible tests and simulations ONLY.
 *
 * It is the ChaCha20 keystream (noble) under `key = SHA-256("qgate/1 seeded
 * random" ‖ seed)` with a zero nonce, read sequentially: the same seed yields
 * the same bytes however the reads are split. Anyone who knows the seed knows
 * every output, so never use it for real keys; use {@linkcode systemRandom}.
 * The stream ends after 2^32 blocks (256 GiB); reading past that throws.
 *
 * @param seed Any bytes (a test's fixed seed). Copied; later changes to it have no effect.
 * @returns A random source that replays the same stream for the same seed.
 * @throws {TypeError} If `seed` is not a `Uint8Array`.
 *
 * @example Reproducible bytes
 * ```ts
 * import { seededRandom } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const seed = new Uint8Array([1, 2, 3]);
 * const a = seededRandom(seed);
 * const b = seededRandom(seed);
 * const first = a(10);
 * assert.deepEqual(first, b(10));
 * // Reads are one continuous stream: 4 + 6 bytes equal one 10-byte read.
 * const c = seededRandom(seed);
 * assert.deepEqual(new Uint8Array([...c(4), ...c(6)]), first);
 * assert.notDeepEqual(seededRandom(new Uint8Array([9]))(10), first);
 * ```
 */
export function seededRandom(seed: Uint8Array): RandomSource {
  if (!(seed instanceof Uint8Array)) {
    throw new TypeError(`Cannot create seeded random: "seed" must be a Uint8Array`);
  }
  const input = new Uint8Array(SEEDED_LABEL.length + seed.length);
  input.set(SEEDED_LABEL, 0);
  input.set(seed, SEEDED_LABEL.length);
  const key = sha256(input);
  const nonce = new Uint8Array(12);
  let nextBlock = 0;
  let pending: Uint8Array = new Uint8Array(0);

  return function seeded(length: number): Uint8Array<ArrayBuffer> {
    checkLength(length, "seeded random");
    const out = new Uint8Array(length);
    const fromPending = Math.min(length, pending.length);
    out.set(pending.subarray(0, fromPending), 0);
    pending = pending.subarray(fromPending);
    let written = fromPending;
    if (written < length) {
      const blocks = Math.ceil((length - written) / CHACHA_BLOCK);
      if (nextBlock + blocks > MAX_CHACHA_BLOCKS) {
        throw new RangeError("Cannot draw seeded random bytes: the stream is exhausted");
      }
      const stream = chacha20(
        key,
        nonce,
        new Uint8Array(blocks * CHACHA_BLOCK),
        undefined,
        nextBlock,
      );
      nextBlock += blocks;
      const take = length - written;
      out.set(stream.subarray(0, take), written);
      written += take;
      pending = stream.subarray(take);
    }
    return out;
  };
}

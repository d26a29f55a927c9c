/**
 * A sliding replay window for datagram records (PROTOCOL.md §5.5: a
 * 1,024-record replay window per epoch).
 *
 * @module
 */

/** How many sequence numbers below the highest one a replay window remembers. */
export const REPLAY_WINDOW_SIZE = 1024;

/** The largest sequence number a datagram header can carry (u48). */
export const MAX_SEQUENCE = 2 ** 48 - 1;

const WORD_BITS = 32;
// One spare word so that the word holding the highest sequence number never
// shares bits with the oldest one still inside the window.
const WORDS = REPLAY_WINDOW_SIZE / WORD_BITS + 1;

/**
 * Remembers which sequence numbers of one epoch were accepted, as a bitmap
 * over the 1,024 numbers ending at the highest accepted one.
 *
 * A number is fresh when it is above the highest accepted number, or inside
 * the window and not yet accepted. Numbers older than the window are treated
 * as replays. Each call costs O(1) (at most 33 words are touched when the
 * window slides).
 *
 * Call {@linkcode ReplayWindow.check} before authenticating a record (cheap
 * rejection) and {@linkcode ReplayWindow.tryAccept} only after it
 * authenticated, so forged records cannot move the window.
 *
 * @example Rejecting a replay
 * ```ts
 * import { ReplayWindow } from "@qgate/handshake/codec";
 * import assert from "node:assert/strict";
 *
 * const window = new ReplayWindow();
 * assert.equal(window.tryAccept(5), true);
 * assert.equal(window.tryAccept(3), true); // late but new
 * assert.equal(window.tryAccept(5), false); // replay
 * assert.equal(window.tryAccept(5000), true);
 * assert.equal(window.check(3), false); // now older than the window
 * ```
 */
export class ReplayWindow {
  readonly #bits = new Uint32Array(WORDS);
  #highest = -1;

  /** The highest accepted sequence number, or -1 before the first. */
  get highest(): number {
    return this.#highest;
  }

  /**
   * Whether `sequence` would be accepted now. Does not change the window.
   *
   * @param sequence A sequence number.
   * @returns `false` for a number already accepted, older than the window or
   *   not an integer in `[0, 2^48 - 1]`.
   *
   * @example
   * ```ts
   * import { ReplayWindow } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const window = new ReplayWindow();
   * assert.equal(window.check(0), true);
   * assert.equal(window.check(0), true); // check alone accepts nothing
   * ```
   */
  check(sequence: number): boolean {
    if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) return false;
    if (sequence > this.#highest) return true;
    if (this.#highest - sequence >= REPLAY_WINDOW_SIZE) return false;
    return (this.#bits[wordOf(sequence)]! & bitOf(sequence)) === 0;
  }

  /**
   * Accepts `sequence` if it is fresh.
   *
   * @param sequence A sequence number of an authenticated record.
   * @returns `true` if it was fresh (and is now remembered), `false` for a replay.
   *
   * @example
   * ```ts
   * import { ReplayWindow } from "@qgate/handshake/codec";
   * import assert from "node:assert/strict";
   *
   * const window = new ReplayWindow();
   * assert.equal(window.tryAccept(1), true);
   * assert.equal(window.tryAccept(1), false);
   * ```
   */
  tryAccept(sequence: number): boolean {
    if (!this.check(sequence)) return false;
    if (sequence > this.#highest) this.#slideTo(sequence);
    this.#bits[wordOf(sequence)]! |= bitOf(sequence);
    return true;
  }

  #slideTo(sequence: number): void {
    const fromWord = this.#highest < 0 ? -1 : Math.floor(this.#highest / WORD_BITS);
    const toWord = Math.floor(sequence / WORD_BITS);
    // Clear every word that enters the window; all of them once it jumps far.
    const clear = Math.min(toWord - fromWord, WORDS);
    for (let i = 0; i < clear; i++) this.#bits[(toWord - i) % WORDS] = 0;
    this.#highest = sequence;
  }
}

function wordOf(sequence: number): number {
  return Math.floor(sequence / WORD_BITS) % WORDS;
}

function bitOf(sequence: number): number {
  return 1 << (sequence % WORD_BITS);
}

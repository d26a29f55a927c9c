/**
 * The write watchdog behind `writeTimeout`: one timer per clock for every
 * write in flight, so that a record write that never completes (a peer that
 * stopped reading, a stalled transport) ends its session instead of holding
 * it, and its senders, forever.
 *
 * Sessions add their write when it starts and delete it when it ends: a Set
 * operation per record, no timer per record, and no timer per idle session.
 * The timer is armed for the earliest deadline and left armed when writes
 * finish (cancelling it per record would cost a timer call per record); when
 * it fires it expires what is overdue and re-arms for the next deadline, if
 * any. A closing session calls {@linkcode WriteWatch.settle}, which disarms
 * the timer once no write is in flight, so nothing outlives the sessions.
 *
 * @module
 */

import type { Clock } from "./options.ts";

/** A write in flight, as the watch sees it. */
export interface WatchedWrite {
  /** When the write must have finished, on the watch's clock. */
  deadline: number;
  /** Called once, if the write is still in flight at its deadline. */
  expire(): void;
}

/** Every write in flight on one clock, under one timer. */
export class WriteWatch {
  readonly #clock: Clock;
  readonly #writes = new Set<WatchedWrite>();
  #timer: unknown;
  #armedFor = Infinity;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Watches `write` until {@linkcode WriteWatch.delete}. */
  add(write: WatchedWrite): void {
    this.#writes.add(write);
    if (write.deadline < this.#armedFor) this.#arm(write.deadline);
  }

  /** Stops watching `write` (it finished or failed). The timer stays armed. */
  delete(write: WatchedWrite): void {
    this.#writes.delete(write);
  }

  /** Disarms the timer if no write is in flight (a session closed). */
  settle(): void {
    if (this.#writes.size === 0) this.#disarm();
  }

  #arm(at: number): void {
    this.#disarm();
    this.#armedFor = at;
    this.#timer = this.#clock.setTimeout(() => this.#check(), Math.max(0, at - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #check(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.#clock.now();
    let next = Infinity;
    for (const write of [...this.#writes]) {
      if (write.deadline <= now) {
        this.#writes.delete(write);
        write.expire();
      } else if (write.deadline < next) {
        next = write.deadline;
      }
    }
    if (next !== Infinity && next < this.#armedFor) this.#arm(next);
  }
}

const WATCHES = new WeakMap<Clock, WriteWatch>();

/** The watch of `clock`, shared by every session on it. */
export function writeWatchFor(clock: Clock): WriteWatch {
  let watch = WATCHES.get(clock);
  if (watch === undefined) {
    watch = new WriteWatch(clock);
    WATCHES.set(clock, watch);
  }
  return watch;
}

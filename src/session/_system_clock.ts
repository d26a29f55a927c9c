/**
 * The system clock every session uses unless one is injected, and the timer
 * queue behind it.
 *
 * A handshake arms and cancels a dozen timers (phase and handshake
 * deadlines, key-update intervals, close deadlines, write deadlines) that
 * almost never fire: each would cost a runtime timer to create and another
 * call to cancel. Instead, every timer of every session lives in one binary
 * heap, and a single runtime timer is armed for the earliest deadline.
 * Cancelling only marks the entry; arming a later deadline touches no
 * runtime timer at all. When the runtime timer fires it runs the earliest
 * entry (deadline order, then arming order) and re-arms for the next live
 * one, so each timer still runs in a task of its own, and
 * a process with idle sessions holds one runtime timer, not one per session.
 *
 * `now()` is milliseconds since the Unix epoch with sub-millisecond
 * precision (monotonic within a process), so that the traces of two peers,
 * even in two processes on one host, share one time base.
 *
 * @module
 */

import type { Clock } from "./options.ts";

interface Entry {
  readonly at: number;
  readonly order: number;
  fn: (() => void) | undefined;
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/** A timer queue under one runtime timer. */
export class TimerQueue implements Clock {
  readonly #heap: Entry[] = [];
  #order = 0;
  #live = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  /** Milliseconds since the Unix epoch, sub-millisecond, monotonic within the process. */
  now(): number {
    return performance.timeOrigin + performance.now();
  }

  /** Runs `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): unknown {
    const entry: Entry = { at: this.now() + Math.max(0, ms), order: this.#order++, fn };
    this.#push(entry);
    this.#live++;
    if (entry.at < this.#armedFor) this.#arm(entry.at);
    return entry;
  }

  /** Cancels a timer; a timer that ran or was cancelled is ignored. */
  clearTimeout(id: unknown): void {
    const entry = id as Entry | undefined;
    if (entry === undefined || entry.fn === undefined) return;
    entry.fn = undefined;
    this.#live--;
    if (this.#live === 0) {
      // Nothing left to run: let the process go, drop the cancelled entries.
      this.#heap.length = 0;
      this.#disarm();
    } else if (this.#heap.length > 64 && this.#heap.length > 4 * this.#live) {
      // Cancelled entries wait in the heap until they are due: keep them bounded.
      const live = this.#heap.filter((each) => each.fn !== undefined);
      this.#heap.length = 0;
      for (const each of live) this.#push(each);
    }
  }

  /** Entries held, live or cancelled: at most 64 or four times {@linkcode TimerQueue.pending}. */
  get held(): number {
    return this.#heap.length;
  }

  /** Timers armed and not yet run or cancelled (for tests). */
  get pending(): number {
    return this.#live;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - this.now()));
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.now();
    // One timer per runtime task, as separate runtime timers would run: the
    // promise jobs a timer starts settle before the next timer runs.
    for (let head = this.#heap[0]; head !== undefined && head.at <= now; head = this.#heap[0]) {
      this.#pop();
      const fn = head.fn;
      if (fn === undefined) continue;
      head.fn = undefined;
      this.#live--;
      try {
        fn();
      } catch (error) {
        reportError(error);
      }
      break;
    }
    while (this.#heap.length > 0 && this.#heap[0]!.fn === undefined) this.#pop();
    const next = this.#heap[0];
    if (next !== undefined) this.#arm(next.at);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

/** The clock of every session without an injected one. */
export const SYSTEM_CLOCK: TimerQueue = new TimerQueue();

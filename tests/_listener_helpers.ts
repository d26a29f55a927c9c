/**
 * Helpers for listener tests: collect a listener's `failure` events, and
 * wait (without sleeping) until enough of them are in.
 */

import type { Listener, ListenerFailure } from "../mod.ts";

/** Starts collecting the listener's `failure` events; the array fills as they come. */
export function failuresOf(listener: Listener): ListenerFailure[] {
  const failures: ListenerFailure[] = [];
  listener.on("failure", (failure) => failures.push(failure));
  return failures;
}

/** Resolves once `failures` (from {@linkcode failuresOf} on `listener`) holds `count` entries. */
export async function failuresReached(
  listener: Listener,
  failures: ListenerFailure[],
  count: number,
): Promise<void> {
  if (failures.length >= count) return;
  await new Promise<void>((resolve) => {
    const off = listener.on("failure", () => {
      if (failures.length < count) return;
      off();
      resolve();
    });
  });
}

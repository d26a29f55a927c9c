/**
 * The six invariants of the exploration (see `explore.ts`): their names and
 * the checks made in every joint state.
 *
 * @module
 */

import type { Tally } from "./_explore_graph.ts";
import { ROLES } from "../viz/_standin.ts";
import type { Joint } from "./_explore_state.ts";

/** The invariants' names, numbered as in `explore.ts`. */
export const INVARIANTS = [
  "1 both ready: same keys, exporter and suite",
  "2 no application data before ready",
  "3 requireAuthentication: no ready without a verified proof",
  "4 every run ends (no deadlock, no unbounded cycle)",
  "5 no nonce reuse",
  "6 a modified meta exchange never reaches ready",
] as const;

/** Checks invariants 1, 4 and 6 in one joint state. */
export function checkState(joint: Joint, tally: Tally, path: () => string): void {
  const { initiator, responder } = joint.sides;
  const bothReady = initiator.runtime.outcome === "ready" && responder.runtime.outcome === "ready";
  const i = initiator.runtime;
  const r = responder.runtime;
  tally.check(
    1,
    !bothReady || (
      i.send.key === r.receiveKeys[String(r.receiveEpoch)] &&
      r.send.key === i.receiveKeys[String(i.receiveEpoch)] &&
      i.chain === r.chain && i.transcript === r.transcript &&
      JSON.stringify((initiator.snapshot.context as { suite: unknown }).suite) ===
        JSON.stringify((responder.snapshot.context as { suite: unknown }).suite)
    ),
    () => `both ready with different keys or suites after ${path()}`,
  );
  const anyReady = i.outcome === "ready" || r.outcome === "ready";
  tally.check(
    6,
    !(joint.tampered && anyReady),
    () => `ready after a forged meta exchange: ${path()}`,
  );
  for (const role of ROLES) {
    const side = joint.sides[role];
    const ended = side.runtime.outcome !== undefined;
    tally.check(
      4,
      ended ||
        side.runtime.timers.some((timer) => timer.startsWith("xstate.after.handshakeTimeout")),
      () => `${role} is waiting without its handshake deadline after ${path()}`,
    );
  }
}

/**
 * The `ready/*` cases: limits that hold once both sides are ready, over a
 * stream through the plain relay.
 *
 * - `ready/key-update-rate-limit` (negative): the reference starts key
 *   updates back to back. The implementation answers the peer's first 32
 *   and then one per second (PROTOCOL.md §10.5, a token bucket); once the
 *   reference has started more than that, it must have failed the session
 *   with `ERR_RESOURCE_LIMIT`, which on a stream drops the connection
 *   without a Close (§14.1: the reference ends with `ERR_TRANSPORT_CLOSED`).
 * - `ready/peer-with-small-max-records` (positive): the reference's local
 *   `keyUpdate.maxRecords` is small, so it starts a key update every few
 *   records while it keeps sending (§10.1, §10.2: data flows during an
 *   update). Local limits only decide when a side starts an update; a
 *   receiver opens up to the protocol's 2^32 records per key whatever the
 *   peer's or its own settings (§5.4), so the implementation keeps the
 *   session, which ends with an orderly close.
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import { otherRole } from "../viz/_standin.ts";
import type { ConformanceRole } from "./adapter.ts";
import type { Case, Context } from "./_case.ts";
import { type AfterReady, duel } from "./_duel.ts";
import { authenticationSides, spec } from "./_fixtures.ts";
import type { Finding } from "./_findings.ts";
import type { ReferenceExtras } from "./adapter.ts";
import { withDeadline } from "./_relay.ts";

/** PROTOCOL.md §10.5: the updates a peer may start at once, and how many more per second. */
const UPDATE_BURST = 32;
const UPDATES_PER_SECOND = 1;

/** The reference's local record trigger in the small-maxRecords case, and what it sends. */
const SMALL_MAX_RECORDS = 16;
const RECORDS_SENT = 160;

/** Runs one ready case: an anonymous duel, then `afterReady`; reports what it found. */
async function readyDuel(
  context: Context,
  role: ConformanceRole,
  seed: string,
  expected: string,
  afterReady: (ready: AfterReady, problems: string[]) => Promise<void>,
  referenceExtras?: ReferenceExtras,
): Promise<Finding> {
  const anonymous = authenticationSides(context.identities, "none");
  // The cheapest post-quantum exchange: these cases run dozens of key updates.
  const algorithms = { secondaryKeyExchanges: ["ML-KEM-512"] } as const;
  const sides = {
    initiator: { ...anonymous.initiator, algorithms },
    responder: { ...anonymous.responder, algorithms },
  };
  const referenceRole = otherRole(role);
  const problems: string[] = [];
  let reached = false;
  const result = await duel({
    adapter: context.adapter,
    iut: spec(role, sides[role], seed, context.timeouts),
    reference: spec(referenceRole, sides[referenceRole], seed, context.timeouts),
    ...(referenceExtras === undefined ? {} : { referenceExtras }),
    deadline: context.deadline,
    afterReady: async (ready) => {
      reached = true;
      await afterReady(ready, problems);
    },
  });
  if (!reached) problems.push("both sides must reach ready first");
  problems.push(...result.problems);
  return { expected, actual: problems.length === 0 ? expected : problems[0]!, problems };
}

/** `ready/key-update-rate-limit`. */
function runRateLimit(context: Context, role: ConformanceRole): Promise<Finding> {
  const expected =
    `${UPDATE_BURST} updates answered, then ${ErrorCode.RESOURCE_LIMIT}: connection dropped`;
  return readyDuel(context, role, "ready rate limit", expected, async (ready, problems) => {
    const { iut, reference } = ready;
    const started = performance.now();
    let answered = 0;
    let refused = false;
    // Until the reference has started more than the bucket allows by now (one spare).
    const allowed = () =>
      UPDATE_BURST + Math.floor((performance.now() - started) / 1_000) * UPDATES_PER_SECOND + 1;
    while (answered <= allowed()) {
      if (!await reference.updateKeys().then(() => true, () => false)) {
        refused = true;
        break;
      }
      answered++;
    }
    if (!refused) {
      problems.push(`it answered ${answered} updates started back to back and kept the session`);
      return;
    }
    if (answered < UPDATE_BURST) {
      problems.push(
        `it ended the session after ${answered} updates, within the peer's burst of ${UPDATE_BURST}`,
      );
    }
    const end = await withDeadline(reference.closed, context.deadline);
    if (end?.code !== ErrorCode.TRANSPORT_CLOSED) {
      problems.push(
        `the reference ended with ${
          end?.code ?? "an orderly close"
        }, not ${ErrorCode.TRANSPORT_CLOSED}`,
      );
    }
    const mine = iut.closed === undefined
      ? undefined
      : await withDeadline(iut.closed, context.deadline);
    if (mine !== undefined && mine.code !== ErrorCode.RESOURCE_LIMIT) {
      problems.push(`the implementation ended with ${mine.code ?? "an orderly close"}`);
    }
  });
}

/** `ready/peer-with-small-max-records`. */
function runSmallMaxRecords(context: Context, role: ConformanceRole): Promise<Finding> {
  const expected =
    `${RECORDS_SENT} records, a key update every ${SMALL_MAX_RECORDS}: session kept, orderly close`;
  return readyDuel(
    context,
    role,
    "ready small maxRecords",
    expected,
    async ({ iut, reference }, problems) => {
      for (let i = 0; i < RECORDS_SENT; i++) {
        if (!await reference.sendNoise(16).then(() => true, () => false)) {
          problems.push(`the session ended after ${i} records`);
          break;
        }
      }
      if (reference.epoch < 3) problems.push("the reference never updated its keys");
      void reference.close().catch(() => {});
      const ends = await withDeadline(
        Promise.all([reference.closed, iut.closed ?? Promise.resolve(undefined)]),
        context.deadline,
      );
      if (ends === undefined) {
        problems.push("the close did not complete");
        return;
      }
      const [theirs, mine] = ends;
      if (theirs.code !== undefined) problems.push(`the reference ended with ${theirs.code}`);
      if (mine !== undefined && mine.code !== undefined) {
        problems.push(`the implementation ended with ${mine.code}`);
      }
    },
    { options: { keyUpdate: { maxRecords: SMALL_MAX_RECORDS } } },
  );
}

/** The ready cases, per role. */
export function readyCases(context: Context): Case[] {
  const all: [string, "positive" | "negative", typeof runRateLimit][] = [
    ["key-update-rate-limit", "negative", runRateLimit],
    ["peer-with-small-max-records", "positive", runSmallMaxRecords],
  ];
  return all.flatMap(([name, category, run]) =>
    context.roles.map((role): Case => ({
      id: `ready/${name}`,
      category,
      role,
      run: () => run(context, role),
    }))
  );
}

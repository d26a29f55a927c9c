/**
 * The `negative/message/*` cases: application messages cut into records
 * (PROTOCOL.md §9.4) that break the rules, sent once both sides are ready.
 *
 * The reference peer sends one noise record after ready; the relay puts
 * crafted `ExtenderData` / `ExtenderDataContinuation` records in its place,
 * sealed under the session keys (epoch 2) with the {@linkcode RecordTracker},
 * and drops whatever the reference sends after them. The case judges what
 * the wire shows: a conforming implementation fails the session, which on a
 * stream means it drops the connection without a Close (§14.1); the
 * reference then ends with `ERR_TRANSPORT_CLOSED`. When the adapter's
 * endpoint reports how its session ended (`closed`), the code it reports
 * locally must be the one §9.4 gives (`ERR_FRAME_TOO_LARGE`,
 * `ERR_UNEXPECTED_MESSAGE`, `ERR_MALFORMED_MESSAGE`); without `closed` that
 * code is only in the case's expectation.
 *
 * {@linkcode rewriteScript} is the relay script behind them; it also serves
 * tests that interleave noise and key-update messages with the records of a
 * real message.
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import type { Message } from "../codec/message_types.ts";
import type { ConformanceRole } from "./adapter.ts";
import { duel } from "./_duel.ts";
import type { RecordTracker, TrackedRecord } from "./_record_tracker.ts";
import {
  type Direction,
  directionFrom,
  type Emission,
  type RelayScript,
  withDeadline,
} from "./_relay.ts";
import { otherRole } from "../viz/_standin.ts";
import type { Case, Context } from "./_case.ts";
import { authenticationSides, spec } from "./_fixtures.ts";
import { describeOutcome, type Finding } from "./_findings.ts";

/** A message to seal, decoded or as a raw type and body. */
export type Planned = Message | { readonly type: number; readonly body: Uint8Array };

/**
 * Decides what replaces one record of the rewritten direction: `undefined`
 * passes it on (sealed again if an earlier record was replaced), an array
 * is sealed in its place (empty: held back or dropped).
 */
export type RewritePlan = (tracked: TrackedRecord) => readonly Planned[] | undefined;

/**
 * A relay script that rewrites one direction's records under the session
 * keys (epoch 2): every record from the first replaced one on is sealed
 * again at the counter the receiver expects. Records of other epochs pass
 * unchanged (their counters start at 0 in each epoch). The tracker reads
 * both directions, so it must be fed the handshake's shared secrets.
 *
 * @param tracker Reads and seals the records.
 * @param direction The direction to rewrite.
 * @param plan What to put in place of each epoch-2 record.
 * @returns The script.
 */
export function rewriteScript(
  tracker: RecordTracker,
  direction: Direction,
  plan: RewritePlan,
): RelayScript {
  let shifted = false;
  let next = 0;
  return {
    salt: (lane, salt) => {
      tracker.setSalt(lane, salt);
      return salt;
    },
    record: (record) => {
      const tracked = tracker.open(record.direction, record.header, record.ciphertext);
      if (record.direction !== direction || tracked === undefined || tracked.epoch !== 2) {
        return [{ record }];
      }
      if (!shifted) next = tracked.counter;
      let planned = plan(tracked);
      if (planned === undefined) {
        if (!shifted) {
          next = tracked.counter + 1;
          return [{ record }];
        }
        planned = [{ type: tracked.type, body: tracked.body }];
      }
      shifted = true;
      return planned.map((message): Emission => ({
        record: tracker.seal(direction, message, { epoch: 2, counter: next++ }),
      }));
    },
  };
}

/** One hostile message sequence and what a conforming receiver reports. */
export interface HostileMessage {
  /** A stable id (the case id's last part). */
  readonly id: string;
  /** What the sequence breaks. */
  readonly comment: string;
  /** The code the receiver fails the session with. */
  readonly code: ErrorCode;
  /**
   * The records to send, given the largest message the receiver announced
   * in session init.
   */
  readonly records: (announced: number) => readonly Message[];
}

const EXTENDER = new Uint8Array(16).fill(0x5a);

function chunk(length: number): Uint8Array {
  return new Uint8Array(length).fill(0x61);
}

/** The hostile sequences of §9.4, with the receiver's code for each. */
export const HOSTILE_MESSAGES: readonly HostileMessage[] = [
  {
    id: "oversize-total",
    comment: "an ExtenderData announces one byte more than the receiver's maxMessageSize",
    code: ErrorCode.FRAME_TOO_LARGE,
    records: (announced) => [
      { kind: "extenderData", extender: EXTENDER, total: announced + 1, data: chunk(64) },
    ],
  },
  {
    id: "continuation-without-start",
    comment: "an ExtenderDataContinuation with no message started",
    code: ErrorCode.UNEXPECTED_MESSAGE,
    records: () => [{ kind: "extenderDataContinuation", data: chunk(64) }],
  },
  {
    id: "new-start-after-truncated-message",
    comment: "a message cut short (100 of 1,000 bytes), then a new ExtenderData",
    code: ErrorCode.UNEXPECTED_MESSAGE,
    records: () => [
      { kind: "extenderData", extender: EXTENDER, total: 1_000, data: chunk(100) },
      { kind: "extenderData", extender: EXTENDER, data: chunk(10) },
    ],
  },
  {
    id: "continuation-past-total",
    comment: "a continuation carries more bytes than the message still needs",
    code: ErrorCode.MALFORMED_MESSAGE,
    records: () => [
      { kind: "extenderData", extender: EXTENDER, total: 100, data: chunk(60) },
      { kind: "extenderDataContinuation", data: chunk(50) },
    ],
  },
];

/** The largest message a side announced in its session init (1 MiB when absent). */
export function announcedMaxMessageSize(tracker: RecordTracker, direction: Direction): number {
  for (const record of tracker.opened) {
    const message = record.message;
    if (
      record.direction === direction &&
      (message?.kind === "beginSessionInit" || message?.kind === "endSessionInit")
    ) {
      return message.maxMessageSize ?? 1_048_576;
    }
  }
  return 1_048_576;
}

/**
 * Runs one hostile sequence against the implementation in `role`: both
 * sides reach ready, the reference's noise record is replaced by the
 * sequence, and the implementation must drop the connection.
 *
 * @param context The suite's context.
 * @param hostile The sequence.
 * @param role The implementation's role.
 * @returns What the run showed.
 */
export async function runHostileMessage(
  context: Context,
  hostile: HostileMessage,
  role: ConformanceRole,
): Promise<Finding> {
  const expected =
    `ready, then fails with ${hostile.code}: drops the connection without a Close (§9.4)`;
  const sides = authenticationSides(context.identities, "mutual");
  const referenceRole = otherRole(role);
  const direction = directionFrom(referenceRole);
  let applied = false;
  let done = false;
  const problems: string[] = [];
  const seed = `message ${hostile.id}`;
  const result = await duel({
    adapter: context.adapter,
    iut: spec(role, sides[role], seed, context.timeouts),
    reference: spec(referenceRole, sides[referenceRole], seed, context.timeouts),
    relay: (tracker) => ({
      script: rewriteScript(tracker, direction, (tracked) => {
        if (done) return [];
        if (tracked.message?.kind !== "noise") return undefined;
        applied = done = true;
        return hostile.records(announcedMaxMessageSize(tracker, directionFrom(role)));
      }),
    }),
    deadline: context.deadline,
    afterReady: async ({ iut, reference }) => {
      await reference.sendNoise(1).catch(() => {});
      const end = await withDeadline(reference.closed, context.deadline);
      const mine = end === undefined || iut.closed === undefined
        ? undefined
        : await withDeadline(iut.closed, context.deadline / 2);
      if (iut.closed !== undefined && end !== undefined && mine?.code !== hostile.code) {
        problems.push(
          `the implementation ${
            mine === undefined ? "never reported the end" : `ended with ${mine.code ?? "no code"}`
          }, not ${hostile.code}`,
        );
      }
      if (!applied) problems.push("the sequence was never sent");
      if (end === undefined) {
        problems.push(`the implementation kept the session after: ${hostile.comment}`);
      } else if (end.code !== ErrorCode.TRANSPORT_CLOSED) {
        problems.push(
          `the reference ended with ${
            end.code ?? "an orderly close"
          }, not ${ErrorCode.TRANSPORT_CLOSED}`,
        );
      }
    },
  });
  if (result.iut?.status !== "ready" || result.reference?.status !== "ready") {
    problems.push("both sides must reach ready first");
  }
  problems.push(...result.problems);
  return {
    expected,
    actual: problems.length === 0 ? expected : describeOutcome(result.iut),
    problems,
  };
}

/** One case per hostile sequence and role, in the `negative` category. */
export function messageCases(context: Context): Case[] {
  return HOSTILE_MESSAGES.flatMap((hostile) =>
    context.roles.map((role): Case => ({
      id: `negative/message/${hostile.id}`,
      category: "negative",
      role,
      run: () => runHostileMessage(context, hostile, role),
    }))
  );
}

/**
 * The `message/…` cases: application messages through an established
 * session (PROTOCOL.md §9.4), through the endpoint's optional `send` and
 * `receive` (and `updateKeys`), in both directions.
 *
 * - `fragmented/…`: a message larger than one record (an `ExtenderData`
 *   with its first chunk, then `ExtenderDataContinuation`s), a small one and
 *   a middling one arrive whole, in order, at the right extender.
 * - `key-update/…`: the same while a key update runs, started by the
 *   implementation or by the reference. The relay moves the reference's
 *   message across the reference's key switch: of its first message, every
 *   record after the first continuation is held back until the reference's
 *   last record under the old epoch (its `EndKeyUpdate` when it answers, its
 *   `KeyUpdateReady` when it started) and then sealed under the new epoch,
 *   so the implementation must switch its receiving keys in the middle of a
 *   message and still deliver it whole (§10.2: the switch points apply record
 *   by record). The implementation's own messages interleave as it writes
 *   them; a message after the update goes each way too.
 * - `limit/…`: a message one byte above the peer's announced
 *   `maxMessageSize` is refused by the sender with a `RangeError` before
 *   anything is written, and one at the limit arrives; the implementation
 *   announces the spec's `maxMessageSize` (the reference refuses one byte
 *   more) and accepts a message at it.
 *
 * An adapter whose endpoint lacks a capability a case needs leaves that case
 * not run.
 *
 * @module
 */

import type { TraceEvent } from "../session/events.ts";
import { seededRandom } from "../crypto/random.ts";
import type { ConformanceEndpoint, ConformanceRole, EndpointCapability } from "./adapter.ts";
import { type Case, type Context, lacking } from "./_case.ts";
import { duel } from "./_duel.ts";
import { EXTENDERS, type Side, spec } from "./_fixtures.ts";
import type { Finding } from "./_findings.ts";
import type { RecordTracker } from "./_record_tracker.ts";
import {
  type Direction,
  directionFrom,
  type Emission,
  type RelayScript,
  withDeadline,
} from "./_relay.ts";
import { equalBytes, otherRole } from "../viz/_standin.ts";

/** The smallest `maxMessageSize` a side may announce, which the limit cases use. */
const LIMIT = 4_096;

/** The messages each side sends: one over three records, a small one, one over two. */
const SIZES = [200_000, 10, 70_000] as const;

/** Who starts the key update in a `key-update/…` case. */
type Starter = "implementation" | "peer";

interface DeliveryCase {
  readonly name: string;
  readonly needs: readonly EndpointCapability[];
  readonly expected: string;
  readonly sides?: { readonly iut?: Partial<Side>; readonly reference?: Partial<Side> };
  readonly run: (run: DeliveryRun) => Promise<string>;
}

/** What one case run has at hand once both sides are ready. */
interface DeliveryRun {
  readonly context: Context;
  readonly role: ConformanceRole;
  readonly iut: ConformanceEndpoint;
  readonly reference: ConformanceEndpoint;
  readonly problems: string[];
  /** Message kinds and epochs of the records the reference received after ready. */
  readonly received: readonly { readonly kind: string; readonly epoch: number }[];
  /** The straddling relay's count of records it moved across the key switch. */
  readonly moved: () => number;
  /** The reference session's epoch now. */
  readonly referenceEpoch: () => number;
}

function message(size: number, label: string): Uint8Array {
  return seededRandom(new TextEncoder().encode(`qgate conformance message ${label}`))(size);
}

function describeSize(size: number): string {
  return `${size.toLocaleString("en-US")}-byte`;
}

/**
 * Takes `count` messages from `endpoint` within the deadline; a message
 * missing or wrong becomes a problem.
 */
async function expectMessages(
  run: DeliveryRun,
  who: "implementation" | "reference",
  expected: readonly Uint8Array[],
  extender: string,
): Promise<void> {
  const endpoint = who === "implementation" ? run.iut : run.reference;
  for (const [index, data] of expected.entries()) {
    const got = await withDeadline(
      endpoint.receive!().then((received) => received ?? "ended" as const),
      run.context.deadline,
    );
    const what = `message ${index + 1} (${describeSize(data.length)}) to the ${who}`;
    if (got === undefined || got === "ended") {
      run.problems.push(`${what} never arrived${got === "ended" ? ": the session ended" : ""}`);
      return;
    }
    if (got.extender.toLowerCase() !== extender) {
      run.problems.push(`${what} arrived for extender ${got.extender}, not ${extender}`);
    }
    if (!equalBytes(got.data, data)) {
      run.problems.push(
        `${what} arrived as ${
          got.data.length.toLocaleString("en-US")
        } bytes that differ (cut, joined or reordered)`,
      );
    }
  }
}

function sends(
  endpoint: ConformanceEndpoint,
  extender: string,
  messages: readonly Uint8Array[],
): Promise<void>[] {
  return messages.map((data) => endpoint.send!(extender, data));
}

function fragmented(run: DeliveryRun): boolean {
  return run.received.some((record) => record.kind === "extenderDataContinuation");
}

const CASES: readonly DeliveryCase[] = [
  {
    name: "fragmented/implementation-sends",
    needs: ["send"],
    expected: "the reference receives 200,000, 10 and 70,000 bytes whole, in order",
    run: async (run) => {
      const peer = EXTENDERS[otherRole(run.role)];
      const data = SIZES.map((size) => message(size, `iut ${size}`));
      await Promise.all(sends(run.iut, peer, data));
      await expectMessages(run, "reference", data, peer);
      if (!fragmented(run)) {
        run.problems.push("no ExtenderDataContinuation arrived: the large message was not cut");
      }
      return "whole, in order";
    },
  },
  {
    name: "fragmented/implementation-receives",
    needs: ["receive"],
    expected: "receives 200,000, 10 and 70,000 bytes whole, in order",
    run: async (run) => {
      const own = EXTENDERS[run.role];
      const data = SIZES.map((size) => message(size, `reference ${size}`));
      await Promise.all(sends(run.reference, own, data));
      await expectMessages(run, "implementation", data, own);
      return "whole, in order";
    },
  },
  keyUpdateCase("implementation"),
  keyUpdateCase("peer"),
  {
    name: "limit/above-peer-limit",
    needs: ["send"],
    sides: { reference: { maxMessageSize: LIMIT } },
    expected: `RangeError for ${LIMIT + 1} bytes (nothing written), ${LIMIT} bytes arrive`,
    run: async (run) => {
      const peer = EXTENDERS[otherRole(run.role)];
      let refusal = "accepted";
      try {
        await run.iut.send!(peer, message(LIMIT + 1, "above"));
        run.problems.push(
          `send() of ${LIMIT + 1} bytes resolved although the peer announced ${LIMIT}`,
        );
      } catch (error) {
        const name = error instanceof Error ? error.name : typeof error;
        refusal = name;
        if (name !== "RangeError") {
          run.problems.push(`send() of ${LIMIT + 1} bytes rejected with ${name}, not RangeError`);
        }
      }
      const atLimit = message(LIMIT, "at");
      await run.iut.send!(peer, atLimit).catch((error: unknown) =>
        run.problems.push(
          `send() of ${LIMIT} bytes failed: ${error instanceof Error ? error.name : error}`,
        )
      );
      // Nothing of the refused message may have reached the wire: the first
      // message the reference receives is the one at the limit.
      await expectMessages(run, "reference", [atLimit], peer);
      return refusal;
    },
  },
  {
    name: "limit/own-limit",
    needs: ["receive"],
    sides: { iut: { maxMessageSize: LIMIT } },
    expected: `announces maxMessageSize ${LIMIT}, receives ${LIMIT} bytes whole`,
    run: async (run) => {
      const own = EXTENDERS[run.role];
      const above = await run.reference.send!(own, message(LIMIT + 1, "above")).then(
        () => "sent",
        (error: unknown) => error instanceof Error ? error.name : String(error),
      );
      if (above !== "RangeError") {
        run.problems.push(
          `the reference could send ${LIMIT + 1} bytes (${above}): the implementation did not ` +
            `announce maxMessageSize ${LIMIT}`,
        );
      }
      const atLimit = message(LIMIT, "at");
      await run.reference.send!(own, atLimit);
      await expectMessages(run, "implementation", [atLimit], own);
      return "whole";
    },
  },
];

function keyUpdateCase(starter: Starter): DeliveryCase {
  return {
    name: `key-update/${starter === "implementation" ? "implementation-starts" : "peer-starts"}`,
    needs: starter === "implementation" ? ["send", "receive", "updateKeys"] : ["send", "receive"],
    expected: "epoch 3; every message whole and in order both ways, " +
      "one split across the implementation's receiving key switch",
    run: async (run) => {
      const own = EXTENDERS[run.role];
      const peer = EXTENDERS[otherRole(run.role)];
      const toIut = SIZES.map((size) => message(size, `reference ${size}`));
      const toReference = SIZES.map((size) => message(size, `iut ${size}`));
      // Both sides' messages are under way when the update starts.
      const sent = [
        ...sends(run.reference, own, toIut.slice(0, 2)),
        ...sends(run.iut, peer, toReference.slice(0, 2)),
      ];
      const updated = (starter === "implementation" ? run.iut : run.reference).updateKeys!()
        .catch((error: unknown) => {
          run.problems.push(
            `the key update failed: ${error instanceof Error ? error.message : String(error)}`,
          );
          return undefined;
        });
      await Promise.all(sent);
      const epoch = await updated;
      if (epoch !== undefined && epoch !== 3) {
        run.problems.push(`updateKeys() resolved with epoch ${epoch}, not 3`);
      }
      // One more message each way, under the new keys.
      await Promise.all([
        ...sends(run.reference, own, toIut.slice(2)),
        ...sends(run.iut, peer, toReference.slice(2)),
      ]);
      await Promise.all([
        expectMessages(run, "implementation", toIut, own),
        expectMessages(run, "reference", toReference, peer),
      ]);
      if (run.referenceEpoch() !== 3) {
        run.problems.push(`the reference is at epoch ${run.referenceEpoch()}, not 3`);
      }
      if (run.moved() === 0) {
        run.problems.push("the relay could not split a message across the key switch");
      }
      const epochs = new Set(
        run.received.filter((record) => record.kind.startsWith("extenderData"))
          .map((record) => record.epoch),
      );
      return `whole, in order; ${run.moved()} records moved past the switch; ` +
        `the implementation's data came under epochs ${[...epochs].join(", ")}`;
    },
  };
}

/** Kinds that belong to the sender's data stream: their order must be kept. */
const CONTROL = new Set(["noise", "beginKeyUpdate", "endKeyUpdate", "keyUpdateReady"]);

/**
 * The relay script of the key-update cases: reads both directions, and in
 * `direction` moves the records of the first message after its first
 * continuation (and every data record behind them) past the sender's key
 * switch, sealed under the new epoch; every later record of the direction
 * is sealed again one position on.
 *
 * @param tracker Reads and seals the records (it follows the key update).
 * @param direction The reference's direction.
 * @returns The script and how many records it moved.
 */
export function straddleScript(
  tracker: RecordTracker,
  direction: Direction,
): { script: RelayScript; moved: () => number } {
  let stage: "before" | "started" | "holding" | "released" = "before";
  const held: { type: number; body: Uint8Array }[] = [];
  let moved = 0;
  let shifted = false;
  const next = new Map<number, number>();
  const seal = (epoch: number, type: number, body: Uint8Array): Emission => {
    const counter = next.get(epoch) ?? 0;
    next.set(epoch, counter + 1);
    return { record: tracker.seal(direction, { type, body }, { epoch, counter }) };
  };
  return {
    moved: () => moved,
    script: {
      salt: (lane, salt) => {
        tracker.setSalt(lane, salt);
        return salt;
      },
      record: (record) => {
        const tracked = tracker.open(record.direction, record.header, record.ciphertext);
        const pass: Emission[] = [{ record }];
        if (record.direction !== direction || tracked === undefined || tracked.epoch < 2) {
          return pass;
        }
        const kind = tracked.message?.kind ?? "unknown";
        // Until a record is held back, the next position is this record's own.
        if (!shifted) next.set(tracked.epoch, tracked.counter);
        if (stage === "before" && tracked.message?.kind === "extenderData") {
          const { total, data } = tracked.message;
          if (total !== undefined && total > data.length) stage = "started";
        } else if (stage === "started" && kind === "extenderDataContinuation") {
          stage = "holding";
        } else if (stage === "holding") {
          if (!CONTROL.has(kind)) {
            held.push({ type: tracked.type, body: tracked.body });
            shifted = true;
            return [];
          }
          const emitted = [seal(tracked.epoch, tracked.type, tracked.body)];
          if (kind === "endKeyUpdate" || kind === "keyUpdateReady") {
            // The sender's last record under this epoch: the held ones follow under the next.
            stage = "released";
            moved = held.length;
            for (const item of held.splice(0)) {
              emitted.push(seal(tracked.epoch + 1, item.type, item.body));
            }
          }
          return emitted;
        }
        if (shifted) return [seal(tracked.epoch, tracked.type, tracked.body)];
        next.set(tracked.epoch, tracked.counter + 1);
        return pass;
      },
    },
  };
}

async function runDelivery(
  context: Context,
  role: ConformanceRole,
  item: DeliveryCase,
): Promise<Finding> {
  const referenceRole = otherRole(role);
  const base: Side = { requireAuthentication: false };
  const seed = `message ${item.name}`;
  const problems: string[] = [];
  const received: { kind: string; epoch: number }[] = [];
  let ready = false;
  let notRun: string | undefined;
  let actual = "not ready";
  let moved = (): number => 0;
  const onTrace = (event: TraceEvent): void => {
    if (ready && event.type === "frame" && event.direction === "received") {
      received.push({ kind: event.kind, epoch: event.epoch });
    }
  };
  const result = await duel({
    adapter: context.adapter,
    iut: spec(role, { ...base, ...item.sides?.iut }, seed, context.timeouts),
    reference: spec(referenceRole, { ...base, ...item.sides?.reference }, seed, context.timeouts),
    referenceExtras: { options: { onTrace } },
    ...(item.name.startsWith("key-update/")
      ? {
        relay: (tracker: RecordTracker) => {
          const straddle = straddleScript(tracker, directionFrom(referenceRole));
          moved = straddle.moved;
          return { script: straddle.script };
        },
      }
      : {}),
    deadline: context.deadline,
    afterReady: async ({ iut, reference, referenceEndpoint }) => {
      ready = true;
      notRun = lacking(iut, item.needs);
      if (notRun !== undefined) return;
      // Neither session may end while messages flow; how one ended explains a failure.
      const ended: string[] = [];
      const watch = (who: string) => ({ code }: { readonly code: string | undefined }) =>
        void ended.push(`the ${who}'s session ended with ${code ?? "an orderly close"}`);
      void reference.closed.then(watch("reference"));
      void iut.closed?.then(watch("implementation"));
      const running = item.run({
        context,
        role,
        iut,
        reference: referenceEndpoint,
        problems,
        received,
        moved: () => moved(),
        referenceEpoch: () => reference.epoch,
      });
      actual = await running.catch((error: unknown) => {
        problems.push(`stopped: ${error instanceof Error ? error.message : String(error)}`);
        return "stopped";
      });
      problems.push(...ended);
    },
  });
  problems.unshift(...result.problems);
  if (result.iut?.status !== "ready" || result.reference?.status !== "ready") {
    problems.push("both sides must reach ready first");
  }
  return {
    expected: item.expected,
    actual: problems.length === 0 ? actual : "failed",
    problems,
    ...(notRun === undefined ? {} : { notRun }),
  };
}

/** One case per message scenario and role, in the `positive` category. */
export function deliveryCases(context: Context): Case[] {
  return CASES.flatMap((item) =>
    context.roles.map((role): Case => ({
      id: `message/${item.name}`,
      category: "positive",
      role,
      run: () => runDelivery(context, role, item),
    }))
  );
}

/**
 * The close cases (PROTOCOL.md §13): after an honest handshake, the close
 * exchange in both directions, a peer whose Close never arrives, and a Close
 * that follows a lost record. An orderly end (`code` undefined) is only
 * right when both Close messages crossed intact.
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import { type Case, type Context, lacking } from "./_case.ts";
import { duel } from "./_duel.ts";
import { spec } from "./_fixtures.ts";
import type { Finding } from "./_findings.ts";
import type { Direction, RelayOptions } from "./_relay.ts";
import type { ConformanceEndpoint, ConformanceRole } from "./adapter.ts";

/** How long the implementation waits for the peer's Close in these cases, in ms. */
const CLOSE_TIMEOUT = 1_000;

/** What the relay does to the reference peer's records once both sides are ready. */
type Interference = "none" | "drop-all" | "drop-first";

interface CloseCase {
  readonly name: string;
  readonly category: "positive" | "negative";
  /** Who closes: the implementation or the reference peer. */
  readonly closer: "iut" | "reference";
  readonly interference: Interference;
  /** Before closing, the reference sends a noise record (so that there is one to lose). */
  readonly noiseFirst?: boolean;
  /** The codes the implementation's session may end with (`undefined`: orderly). */
  readonly iut: readonly (string | undefined)[];
  /** The code the reference's session must end with, when it is checked. */
  readonly reference?: string | undefined;
  readonly expected: string;
}

const CLOSE_CASES: readonly CloseCase[] = [
  {
    name: "implementation-closes",
    category: "positive",
    closer: "iut",
    interference: "none",
    iut: [undefined],
    reference: undefined,
    expected: "both closed, no code",
  },
  {
    name: "peer-closes",
    category: "positive",
    closer: "reference",
    interference: "none",
    iut: [undefined],
    reference: undefined,
    expected: "both closed, no code (the implementation answered the Close)",
  },
  {
    // The reference answers, but nothing it sends arrives: the implementation
    // must not take the missing answer for an orderly close.
    name: "peer-close-never-arrives",
    category: "negative",
    closer: "iut",
    interference: "drop-all",
    iut: [ErrorCode.TIMEOUT, ErrorCode.TRANSPORT_CLOSED],
    expected: `${ErrorCode.TIMEOUT} or ${ErrorCode.TRANSPORT_CLOSED}`,
  },
  {
    // A record of the peer is lost on the way; its Close, re-framed at the
    // next position, then opens under the wrong counter.
    name: "record-lost-before-close",
    category: "negative",
    closer: "reference",
    interference: "drop-first",
    noiseFirst: true,
    iut: [ErrorCode.DECRYPT_FAILED],
    expected: ErrorCode.DECRYPT_FAILED,
  },
];

/** The relay script: pass everything until armed, then interfere with the reference's records. */
function interfering(
  from: Direction,
  interference: Interference,
  armed: () => boolean,
): RelayOptions {
  let dropped = 0;
  return {
    script: {
      record: (record) => {
        if (record.direction !== from || !armed() || interference === "none") {
          return [{ record: { header: record.header, ciphertext: record.ciphertext } }];
        }
        if (interference === "drop-first" && dropped > 0) {
          return [{ record: { header: record.header, ciphertext: record.ciphertext } }];
        }
        dropped++;
        return [];
      },
    },
  };
}

function describeCode(code: string | undefined): string {
  return code ?? "no code";
}

async function runCloseCase(
  context: Context,
  role: ConformanceRole,
  item: CloseCase,
): Promise<Finding> {
  const sides = { requireAuthentication: false } as const;
  const iutSpec = spec(role, sides, `close ${item.name}`, {
    ...context.timeouts,
  });
  const other: ConformanceRole = role === "initiator" ? "responder" : "initiator";
  let armed = false;
  let ended: { iut?: string | undefined; reference?: string | undefined } | undefined;
  let notRun: string | undefined;
  const problems: string[] = [];
  const result = await duel({
    adapter: context.adapter,
    iut: { ...iutSpec, timeouts: { ...iutSpec.timeouts, close: CLOSE_TIMEOUT } },
    reference: spec(other, sides, `close ${item.name}`, context.timeouts),
    relay: () => interfering(role === "initiator" ? "r2i" : "i2r", item.interference, () => armed),
    deadline: context.deadline,
    afterReady: async ({ iut, reference }) => {
      notRun = lacking(iut, ["closed"]);
      const closed = (iut as ConformanceEndpoint).closed;
      if (closed === undefined) return;
      armed = true;
      if (item.noiseFirst) await reference.sendNoise(16);
      if (item.closer === "iut") void iut.close();
      else void reference.close().catch(() => {});
      const [mine, theirs] = await Promise.all([closed, reference.closed]);
      ended = { iut: mine.code, reference: theirs.code };
    },
  });
  problems.push(...result.problems);
  if (result.iut?.status !== "ready" || result.reference?.status !== "ready") {
    problems.push("the handshake before the close did not reach ready");
  }
  if (ended !== undefined) {
    if (!item.iut.includes(ended.iut)) {
      problems.push(`implementation ended with ${describeCode(ended.iut)}`);
    }
    if ("reference" in item && ended.reference !== item.reference) {
      problems.push(
        `reference ended with ${describeCode(ended.reference)}, not ${
          describeCode(item.reference)
        }`,
      );
    }
  } else if (problems.length === 0 && notRun === undefined) {
    problems.push("the sessions did not end");
  }
  return {
    expected: item.expected,
    actual: ended === undefined ? "no end" : describeCode(ended.iut),
    problems,
    ...(notRun === undefined ? {} : { notRun }),
  };
}

/** One case per close scenario and role. */
export function closeCases(context: Context): Case[] {
  return CLOSE_CASES.flatMap((item) =>
    context.roles.map((role): Case => ({
      id: `close/${item.name}`,
      category: item.category,
      role,
      run: () => runCloseCase(context, role, item),
    }))
  );
}

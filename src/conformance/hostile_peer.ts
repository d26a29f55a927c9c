/**
 * A black-box adversarial peer over TCP: it dials a target (or, listening,
 * waits for the target to dial) and plays a hostile counterpart, one
 * connection per case — silence, a lone salt, a half-closed connection,
 * garbage, floods, the wrong role, and every record-level attack of the
 * conformance catalogue on its own direction (wrong-phase messages,
 * truncations, tampering, replays of an earlier session with the same
 * target, downgraded or modified meta exchanges, invalid key shares).
 *
 * For each case it reports whether the target did the right thing: it
 * closed the connection (within the time budget), it did not reach ready
 * (a target that stays connected after the damage is counted as ready), and,
 * when dialling, it still accepts another connection afterwards.
 *
 * The hostile side of the protocol is a qgate session of its own behind the
 * adversarial relay, so the attacks are sealed with the real keys of the
 * handshake in progress. It presents no identity and uses no GSS unless
 * told to; a target that requires authentication refuses it early, and the
 * attacks on later messages then report "not reached". Told that the target
 * requires authentication (`targetRequiresAuthentication`, with an identity
 * the target allows), it also runs the attacks whose outcome depends on that
 * (an anonymous proof, a stranger's proof). Every result says, as fields, how
 * the hostile side's own handshake ended (`ownHandshake`: the code and phase
 * of its error) and which message an attack needed (`damages`), so a caller
 * can tell a refusal from a pass without reading any text.
 *
 * @module
 */

import { nobleBackend } from "../crypto/noble_backend.ts";
import { seededRandom } from "../crypto/random.ts";
import { createMemoryPair } from "../transport/memory.ts";
import type { Transport } from "../transport/transport.ts";
import { initiate, respond, type Session } from "../session/session.ts";
import type { SessionOptions } from "../session/options.ts";
import { AccessManager } from "../session/access_manager.ts";
import type { SignatureKeyPair } from "../crypto/types.ts";
import { ErrorCode, HandshakeError, type HandshakePhase, QGateError } from "../errors.ts";
import { DEFAULT_PREFERENCES } from "../handshake_policy.ts";
import { instrumentBackend } from "./_instrumented_backend.ts";
import { RecordTracker } from "./_record_tracker.ts";
import {
  type Direction,
  directionFrom,
  lengthHeader,
  type RelayScript,
  startRelay,
  type TappedRecord,
  withDeadline,
} from "./_relay.ts";
import {
  directionOfKind,
  type MutationConfig,
  type MutationEnvironment,
  MUTATIONS,
  mutationScript,
} from "./_mutations.ts";

/** Options of {@linkcode runHostilePeer}. */
export interface HostilePeerOptions {
  /** Dial this target (a listening qgate responder, or any implementation). */
  readonly target?: { readonly hostname?: string; readonly port: number };
  /** Or listen here and wait for the target to dial, once per case. */
  readonly listen?: { readonly hostname?: string; readonly port?: number };
  /** Called once the listener is bound (to tell the target where to dial). */
  readonly onListening?: (address: { hostname: string; port: number }) => void;
  /** The role the hostile peer plays (default initiator when dialling, responder when listening). */
  readonly role?: "initiator" | "responder";
  /** How long the target may take to close after the damage, in ms (default 20,000). */
  readonly timeout?: number;
  /** Runs only the cases whose id starts with this. */
  readonly only?: string;
  /** An identity for the hostile peer's own handshakes (default: anonymous). */
  readonly identity?: SignatureKeyPair;
  /**
   * The target requires its peer to authenticate (default `false`): the
   * attacks whose outcome depends on that run too. Needs `identity`, a key
   * the target allows.
   */
  readonly targetRequiresAuthentication?: boolean;
  /** A GSS, when the target requires one. */
  readonly globalSharedSecret?: Uint8Array;
  /** Called after each case. */
  readonly onResult?: (result: HostileCaseResult) => void;
}

/**
 * How the hostile side's own handshake with the target ended: ready, or
 * failed with a qgate error's `code` and, when known, its `phase`.
 */
export type HostileHandshakeEnd =
  | { readonly status: "ready" }
  | {
    readonly status: "failed";
    readonly code: ErrorCode;
    readonly phase?: HandshakePhase | undefined;
  };

/** What one case observed. */
export interface HostileCaseResult {
  /** A stable id, e.g. `"silence"` or `"wrong-phase/endMetaExchange/close"`. */
  readonly id: string;
  /** What the hostile peer did. */
  readonly description: string;
  /** `"pass"`: the target did the right thing; `"n/a"`: the attack was never reached. */
  readonly verdict: "pass" | "fail" | "n/a";
  /** Whether the target closed the connection within the budget. */
  readonly closed: boolean;
  /** Milliseconds from the damage to the close. */
  readonly closedAfterMs?: number;
  /** Whether the target looked ready (stayed connected after the handshake ended). */
  readonly reachedReady: boolean;
  /** Dial mode: whether the target accepted another connection afterwards. */
  readonly aliveAfter?: boolean;
  /** Why it failed or was not applicable, for people (match on the fields, never on this). */
  readonly detail: string;
  /** How the hostile side's own handshake ended, when the case ran one. */
  readonly ownHandshake?: HostileHandshakeEnd;
  /** The handshake message the attack damages (its `"n/a"` means it never came). */
  readonly damages?: string;
}

/** The whole run. */
export interface HostileReport {
  /** `host:port` of the target, or `listening on host:port`. */
  readonly target: string;
  /** The role the hostile peer played against the target. */
  readonly role: "initiator" | "responder";
  /** One result per attack case. */
  readonly results: readonly HostileCaseResult[];
  /** Cases the target handled as required. */
  readonly passed: number;
  /** Cases it did not. */
  readonly failed: number;
  /** Cases that do not apply to this role. */
  readonly notApplicable: number;
}

/** A TCP connection seen as a transport, with the moment the target ended its side. */
interface Connection {
  readonly transport: Transport;
  /** Resolves with the time the target's stream ended (closed or reset). */
  readonly ended: Promise<number>;
  close(): void;
}

function wrap(conn: Deno.Conn): Connection {
  const { promise: ended, resolve } = Promise.withResolvers<number>();
  const reader = conn.readable.getReader();
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      try {
        const { value, done } = await reader.read();
        if (done) {
          resolve(performance.now());
          controller.close();
          return;
        }
        controller.enqueue(value);
      } catch (error) {
        resolve(performance.now());
        controller.error(error);
      }
    },
    cancel: (reason) => reader.cancel(reason).catch(() => {}),
  });
  return {
    transport: { readable, writable: conn.writable },
    ended,
    close: () => {
      try {
        conn.close();
      } catch {
        // Already closed by its streams.
      }
    },
  };
}

/** Reads and discards until the target ends its side. */
async function drain(connection: Connection): Promise<void> {
  const reader = connection.transport.readable.getReader();
  try {
    for (;;) if ((await reader.read()).done) return;
  } catch {
    // A reset is an end too.
  } finally {
    reader.releaseLock();
  }
}

interface CaseContext {
  readonly connect: () => Promise<Connection>;
  readonly role: "initiator" | "responder";
  readonly timeout: number;
  readonly options: HostilePeerOptions;
  /** The honest run's records with this target: replay material. */
  foreign: MutationEnvironment["foreign"] | undefined;
  /** Whether an honest handshake with the target reached ready (else later attacks are not reached). */
  honestReady: boolean | undefined;
}

interface HostileCase {
  readonly id: string;
  readonly description: string;
  readonly run: (
    context: CaseContext,
  ) => Promise<Omit<HostileCaseResult, "id" | "description" | "aliveAfter">>;
}

/** A raw case: bytes written straight to the socket, then wait for the target to close. */
function raw(
  id: string,
  description: string,
  write: (writer: WritableStreamDefaultWriter<Uint8Array>, conn: Connection) => Promise<void>,
): HostileCase {
  return {
    id,
    description,
    run: async (context) => {
      const connection = await context.connect();
      const begun = performance.now();
      const drained = drain(connection);
      const writer = connection.transport.writable.getWriter();
      // A write the target never reads must not hold the case: the deadline is on the close.
      const writing = write(writer, connection).catch(() => {});
      const end = await withDeadline(connection.ended, context.timeout);
      connection.close();
      await withDeadline(Promise.all([writing, drained]), 1_000);
      return end === undefined
        ? {
          verdict: "fail",
          closed: false,
          reachedReady: false,
          detail: "the target kept the connection open",
        }
        : {
          verdict: "pass",
          closed: true,
          closedAfterMs: Math.round(end - begun),
          reachedReady: false,
          detail: "closed",
        };
    },
  };
}

const FLOOD = new Uint8Array(4 * 1024 * 1024).fill(0xa5);

function localOptions(
  context: CaseContext,
  seed: string,
  onSecret: (secret: Uint8Array) => void,
): SessionOptions {
  const access = new AccessManager();
  return {
    requireAuthentication: false,
    accessManager: access,
    // Each case its own randomness: a replayed record must not happen to be the same bytes.
    random: seededRandom(new TextEncoder().encode(`hostile ${context.role} ${seed}`)),
    backend: instrumentBackend(nobleBackend, { onSecret }),
    timeouts: { phase: context.timeout, handshake: context.timeout * 2 },
    ...(context.options.identity === undefined ? {} : { identity: context.options.identity }),
    ...(context.options.globalSharedSecret === undefined
      ? {}
      : { globalSharedSecret: context.options.globalSharedSecret }),
  };
}

/**
 * Runs a qgate session in `role` against the target through the relay,
 * with `script` on the relay, and watches the target.
 */
async function play(
  context: CaseContext,
  seed: string,
  script: ((tracker: RecordTracker) => { script: RelayScript; applied: () => boolean }) | undefined,
  extra: (session: Session) => void = () => {},
): Promise<{
  outcome: string;
  end: HostileHandshakeEnd;
  applied: boolean;
  appliedAt: number | undefined;
  ended: number | undefined;
  records: {
    salts: Record<Direction, Uint8Array | undefined>;
    records: Record<Direction, readonly TappedRecord[]>;
  };
}> {
  const connection = await context.connect();
  const secrets: Uint8Array[] = [];
  const tracker = new RecordTracker({
    globalSharedSecret: context.options.globalSharedSecret,
    secrets: () => ({ primary: secrets[0], secondary: secrets[1] }),
  });
  const built = script?.(tracker);
  let appliedAt: number | undefined;
  const relayScript: RelayScript | undefined = built === undefined ? undefined : {
    ...built.script,
    record: async (record, relay) => {
      const emissions = await built.script.record!(record, relay);
      if (appliedAt === undefined && built.applied()) appliedAt = performance.now();
      return emissions;
    },
  };
  const [local, far] = createMemoryPair();
  const relay = context.role === "initiator"
    ? startRelay(
      far,
      connection.transport,
      relayScript === undefined ? {} : { script: relayScript },
    )
    : startRelay(
      connection.transport,
      far,
      relayScript === undefined ? {} : { script: relayScript },
    );
  const options = localOptions(context, seed, (secret) => secrets.push(secret));
  const session = context.role === "initiator" ? initiate(local, options) : respond(local, options);
  extra(session);
  const end = await session.ready.then(
    (): HostileHandshakeEnd => ({ status: "ready" }),
    (error: unknown): HostileHandshakeEnd => ({
      status: "failed",
      code: error instanceof QGateError ? error.code : ErrorCode.INTERNAL,
      phase: error instanceof HandshakeError ? error.phase : undefined,
    }),
  );
  const outcome = end.status === "ready" ? "ready" : end.code;
  const damaged = built === undefined || built.applied();
  // After the damage the target must close; an honest run lets the target keep the session.
  const ended = damaged && built !== undefined
    ? await withDeadline(connection.ended, context.timeout)
    : await withDeadline(connection.ended, 200);
  // The target may have ended the session first: how the close went is not the finding.
  await session.close().catch(() => {});
  connection.close();
  await withDeadline(relay.done, 2_000);
  return {
    outcome,
    end,
    applied: built?.applied() ?? false,
    appliedAt,
    ended,
    records: {
      salts: { i2r: relay.salts.i2r, r2i: relay.salts.r2i },
      records: { i2r: [...relay.records.i2r], r2i: [...relay.records.r2i] },
    },
  };
}

function honest(): HostileCase {
  return {
    id: "honest-handshake",
    description:
      "an honest anonymous handshake (the baseline: later attacks need it to get that far)",
    run: async (context) => {
      const run = await play(context, "honest", undefined);
      context.honestReady = run.outcome === "ready";
      if (run.records.salts.i2r !== undefined && run.records.salts.r2i !== undefined) {
        context.foreign = {
          salts: { i2r: run.records.salts.i2r, r2i: run.records.salts.r2i },
          records: run.records.records,
        };
      }
      const refused: readonly string[] = [
        ErrorCode.AUTH_REQUIRED,
        ErrorCode.PEER_NOT_ALLOWED,
        ErrorCode.DECRYPT_FAILED,
      ];
      const ok = run.outcome === "ready" || refused.includes(run.outcome);
      return {
        verdict: ok ? "pass" : "fail",
        closed: run.ended !== undefined,
        reachedReady: run.outcome === "ready",
        ownHandshake: run.end,
        detail: run.outcome === "ready"
          ? "ready (the target accepts anonymous peers)"
          : `the target refused an honest handshake: ${run.outcome}`,
      };
    },
  };
}

function attack(mutation: (typeof MUTATIONS)[number]): HostileCase {
  return {
    id: mutation.id,
    description: mutation.comment,
    run: async (context) => {
      const run = await play(
        context,
        mutation.id,
        (tracker) =>
          mutationScript(mutation, {
            tracker,
            ...(context.foreign === undefined ? {} : { foreign: context.foreign }),
          }),
      );
      if (!run.applied) {
        return {
          verdict: "n/a",
          closed: run.ended !== undefined,
          reachedReady: false,
          ownHandshake: run.end,
          damages: mutation.target,
          detail: `not reached: the handshake ended with ${run.outcome} before ${mutation.target}`,
        };
      }
      const closed = run.ended !== undefined;
      const after = run.ended !== undefined && run.appliedAt !== undefined
        ? Math.max(0, Math.round(run.ended - run.appliedAt))
        : undefined;
      return {
        verdict: closed ? "pass" : "fail",
        closed,
        ...(after === undefined ? {} : { closedAfterMs: after }),
        reachedReady: !closed,
        ownHandshake: run.end,
        damages: mutation.target,
        detail: closed
          ? `closed; the hostile side ended with ${run.outcome}`
          : "the target kept the connection open after the damage",
      };
    },
  };
}

function cases(role: "initiator" | "responder", options: HostilePeerOptions): HostileCase[] {
  const ours: Direction = directionFrom(role);
  // What the hostile side knows: its own policy, and whether the target requires
  // authentication when told. Otherwise the target's policy is assumed to be the least
  // demanding, so attacks whose outcome hangs on it are left out.
  const mine = { identity: options.identity?.algorithm, requireAuthentication: false };
  const theirs = {
    identity: undefined,
    requireAuthentication: options.targetRequiresAuthentication ?? false,
  };
  const assumed: MutationConfig = {
    initiator: role === "initiator" ? mine : theirs,
    responder: role === "responder" ? mine : theirs,
    gss: options.globalSharedSecret !== undefined,
    primaryKeyExchange: DEFAULT_PREFERENCES.primaryKeyExchanges[0]!,
  };
  const salt = new Uint8Array(16).fill(0x5a);
  return [
    honest(),
    raw("silence", "connects and sends nothing (stall)", () => Promise.resolve()),
    raw("salt-only", "sends its salt, then nothing (stall)", (writer) => writer.write(salt)),
    raw("half-closed", "sends its salt, then closes its sending side", async (writer) => {
      await writer.write(salt);
      await writer.close();
    }),
    raw(
      "garbage",
      "sends 4 KiB of random bytes",
      (writer) => writer.write(seededRandom(new TextEncoder().encode("garbage"))(4_096)),
    ),
    raw("flood-length", "a salt, a length claim of 16 MiB, then a 4 MiB flood", async (writer) => {
      await writer.write(new Uint8Array([...salt, 0xff, 0xff, 0xff]));
      await writer.write(FLOOD);
    }),
    raw(
      "flood-tiny-length",
      "a salt, a length claim of 5 (below the minimum), then a 4 MiB flood",
      async (writer) => {
        await writer.write(new Uint8Array([...salt, ...lengthHeader(5)]));
        await writer.write(FLOOD);
      },
    ),
    {
      id: "wrong-role",
      description: `plays the ${
        role === "initiator" ? "responder" : "initiator"
      } on a ${role}'s connection`,
      run: async (context) => {
        const run = await play(
          {
            ...context,
            role: role === "initiator" ? "responder" : "initiator",
          },
          "wrong role",
          () => ({
            script: {},
            applied: () => true,
          }),
        );
        const closed = run.ended !== undefined;
        return {
          verdict: closed && run.outcome !== "ready" ? "pass" : "fail",
          closed,
          reachedReady: run.outcome === "ready",
          ownHandshake: run.end,
          detail: `the hostile side ended with ${run.outcome}`,
        };
      },
    },
    ...MUTATIONS.filter((mutation) =>
      directionOfKind(mutation.target) === ours && (mutation.applies?.(assumed) ?? true)
    ).map(attack),
  ];
}

async function probe(target: { hostname: string; port: number }, budget: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: target.hostname, port: target.port });
    const reader = conn.readable.getReader();
    let received = 0;
    const enough = (async () => {
      while (received < 16 + 3 + 17) {
        const { value, done } = await reader.read();
        if (done) return false;
        received += value.length;
      }
      return true;
    })().catch(() => false);
    const alive = (await withDeadline(enough, budget)) === true;
    try {
      conn.close();
    } catch {
      // Closed already.
    }
    return alive;
  } catch {
    return false;
  }
}

/**
 * Runs every hostile case against a target and reports what the target did.
 *
 * @param options The target (or where to listen), the role to play, the
 *   time budget and a case filter.
 * @returns One result per case.
 * @throws {TypeError} If neither `target` nor `listen` is given, or if
 *   `targetRequiresAuthentication` comes without an `identity`.
 *
 * @example Against a qgate listener on loopback
 * ```ts
 * import { listenTcp } from "@qgate/handshake";
 * import { runHostilePeer } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const listener = listenTcp({}, {
 *   requireAuthentication: false,
 *   timeouts: { phase: 300, handshake: 2_000 },
 * });
 * const report = await runHostilePeer({
 *   target: { port: listener.addr.port },
 *   only: "silence",
 *   timeout: 3_000,
 * });
 * assert.equal(report.results[0]!.verdict, "pass");
 * await listener.close();
 * ```
 */
export async function runHostilePeer(options: HostilePeerOptions): Promise<HostileReport> {
  if (options.target === undefined && options.listen === undefined) {
    throw new TypeError(`Cannot run the hostile peer: give "target" or "listen"`);
  }
  if (options.targetRequiresAuthentication === true && options.identity === undefined) {
    throw new TypeError(
      `Cannot run the hostile peer: "targetRequiresAuthentication" needs an "identity" the ` +
        `target allows`,
    );
  }
  const role = options.role ?? (options.target !== undefined ? "initiator" : "responder");
  const timeout = options.timeout ?? 20_000;
  let listener: Deno.TcpListener | undefined;
  let connect: () => Promise<Connection>;
  let label: string;
  const target = options.target === undefined
    ? undefined
    : { hostname: options.target.hostname ?? "127.0.0.1", port: options.target.port };
  if (target !== undefined) {
    connect = async () => wrap(await Deno.connect({ ...target, transport: "tcp" }));
    label = `${target.hostname}:${target.port}`;
  } else {
    const bound = Deno.listen({
      hostname: options.listen!.hostname ?? "127.0.0.1",
      port: options.listen!.port ?? 0,
      transport: "tcp",
    });
    listener = bound;
    label = `listening on ${bound.addr.hostname}:${bound.addr.port}`;
    options.onListening?.({ hostname: bound.addr.hostname, port: bound.addr.port });
    connect = async () => {
      const accepted = await withDeadline(bound.accept(), timeout);
      if (accepted === undefined) throw new Error("the target did not dial in time");
      return wrap(accepted);
    };
  }
  const context: CaseContext = {
    connect,
    role,
    timeout,
    options,
    foreign: undefined,
    honestReady: undefined,
  };
  const results: HostileCaseResult[] = [];
  try {
    for (const item of cases(role, options)) {
      if (
        options.only !== undefined && !item.id.startsWith(options.only) &&
        item.id !== "honest-handshake"
      ) {
        continue;
      }
      let outcome: Omit<HostileCaseResult, "id" | "description" | "aliveAfter">;
      try {
        outcome = await item.run(context);
      } catch (error) {
        outcome = {
          verdict: "fail",
          closed: false,
          reachedReady: false,
          detail: `could not run: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
      const aliveAfter = target === undefined
        ? undefined
        : await probe(target, Math.min(3_000, timeout));
      const result: HostileCaseResult = {
        id: item.id,
        description: item.description,
        ...outcome,
        ...(aliveAfter === undefined ? {} : { aliveAfter }),
        ...(aliveAfter === false
          ? {
            verdict: "fail" as const,
            detail: `${outcome.detail}; the target no longer accepts connections`,
          }
          : {}),
      };
      if (options.only === undefined || item.id.startsWith(options.only)) {
        results.push(result);
        options.onResult?.(result);
      }
    }
  } finally {
    try {
      listener?.close();
    } catch {
      // Closed already.
    }
  }
  return {
    target: label,
    role,
    results,
    passed: results.filter((result) => result.verdict === "pass").length,
    failed: results.filter((result) => result.verdict === "fail").length,
    notApplicable: results.filter((result) => result.verdict === "n/a").length,
  };
}

/**
 * Formats a hostile-peer report as a table.
 *
 * @param report The report of {@linkcode runHostilePeer}.
 * @returns The table, lines joined with `\n`.
 *
 * @example Formatting a one-case report
 * ```ts
 * import { formatHostileReport } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const text = formatHostileReport({
 *   target: "127.0.0.1:4433",
 *   role: "initiator",
 *   passed: 1,
 *   failed: 0,
 *   notApplicable: 0,
 *   results: [{
 *     id: "silence",
 *     description: "connects and sends nothing (stall)",
 *     verdict: "pass",
 *     closed: true,
 *     closedAfterMs: 310,
 *     reachedReady: false,
 *     aliveAfter: true,
 *     detail: "closed",
 *   }],
 * });
 * assert.match(text, /silence +pass +closed after 310 ms +no +yes/);
 * ```
 */
export function formatHostileReport(report: HostileReport): string {
  const header = ["case", "verdict", "target closed", "ready", "alive after", "detail"];
  const rows = report.results.map((result) => [
    result.id,
    result.verdict,
    result.closed
      ? result.closedAfterMs === undefined ? "closed" : `closed after ${result.closedAfterMs} ms`
      : "stayed open",
    result.reachedReady ? "YES" : "no",
    result.aliveAfter === undefined ? "-" : result.aliveAfter ? "yes" : "NO",
    result.detail,
  ]);
  const widths = header.map((title, column) =>
    Math.min(64, Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  return [
    `hostile ${report.role} against ${report.target}`,
    line(header),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map(line),
    "",
    `${report.passed} passed, ${report.failed} failed, ${report.notApplicable} not reached`,
  ].join("\n");
}

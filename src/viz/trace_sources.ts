/**
 * Where the inspector gets its events: any {@linkcode TraceSource}, i.e. an
 * async iterable of {@linkcode TraceEvent}s opened on demand.
 *
 * - {@linkcode startLiveHandshake} runs a real handshake, key update and
 *   close between two sessions over the in-memory pipe and yields both
 *   peers' events as they happen. **This is the hook to the session
 *   runtime**: change it (not the inspector) when the runtime gains features.
 * - {@linkcode replayTrace} replays a recorded or simulated trace.
 *
 * Both peers' events share one time base (the sessions' clock), and every
 * source yields them in `at` order; the page shows times relative to the
 * first event of the run.
 *
 * @module
 */

import { ErrorCode } from "../errors.ts";
import { createMemoryPair } from "../transport/memory.ts";
import { initiate, respond, type Session } from "../session/session.ts";
import type { SessionOptions } from "../session/options.ts";
import { AccessManager } from "../session/access_manager.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import { derivePeerUuid, formatUuid } from "../crypto/peer_uuid.ts";
import type { SignatureKeyPair } from "../crypto/types.ts";
import { simulateHandshakeTrace } from "./simulate.ts";
import { mergeTraces } from "./trace.ts";
import type { TraceEvent, TraceRole } from "./trace_types.ts";

/** A named, restartable stream of trace events for the inspector. */
export interface TraceSource {
  /** A short id used in URLs (`"live"`). */
  readonly id: string;
  /** The name shown on the page. */
  readonly label: string;
  /** One sentence on where the events come from, shown on the page. */
  readonly note: string;
  /**
   * Starts a new run. The iterable ends when the run is over; aborting the
   * signal ends it early and releases what the run holds.
   */
  open(signal: AbortSignal): AsyncIterable<TraceEvent>;
}

/** Options of {@linkcode startLiveHandshake}. */
export interface LiveHandshakeOptions {
  /** Ends the run early: both sessions are closed. */
  readonly signal?: AbortSignal;
  /** After `ready`, the responder rotates the keys once (`session.updateKeys()`). Default `true`. */
  readonly keyUpdate?: boolean;
  /**
   * Then the initiator closes (`session.close()`): its Close is answered by
   * the responder's and both sessions end `closed`. Default `true`.
   */
  readonly close?: boolean;
  /** Extra options for both sessions (identities and access are set up unless given). */
  readonly sessionOptions?: SessionOptions;
}

/** A bounded single-consumer queue between session listeners and an async generator. */
class EventQueue {
  readonly #items: TraceEvent[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #overflow = false;

  push(event: TraceEvent): void {
    if (this.#closed) return;
    if (this.#items.length >= 10_000) {
      this.#overflow = true;
      return;
    }
    this.#items.push(event);
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  get overflow(): boolean {
    return this.#overflow;
  }

  async *drain(): AsyncGenerator<TraceEvent> {
    for (;;) {
      const next = this.#items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

async function identity(): Promise<SignatureKeyPair> {
  const scheme = nobleBackend.signature("Ed25519");
  if (scheme === undefined) throw new TypeError("Cannot start live handshake: no Ed25519 backend");
  return await scheme.generateKeyPair({});
}

function settled(session: Session): Promise<boolean> {
  return session.ready.then(() => true, () => false);
}

function nextKeyUpdate(session: Session): Promise<void> {
  return new Promise((resolve) => {
    const stop = session.on("keyUpdate", () => {
      stop();
      resolve();
    });
  });
}

/**
 * Runs a real handshake between an initiator and a responder over the
 * in-memory pipe, both with fresh Ed25519 identities that the other's access
 * manager allows, and yields both peers' trace events as they happen. The
 * initiator opens with a noise frame; after `ready` the responder rotates the
 * keys once, then the initiator closes. Both sessions are closed when the
 * iterable ends or is abandoned.
 *
 * This is the inspector's hook to the session runtime: what the runtime
 * traces (through `onTrace`, from each session's first state on) is what the
 * page shows. Both sessions run on one clock (`sessionOptions.clock`, or the
 * system clock), so their events share its time base.
 *
 * @param options The abort signal, whether to rotate keys and close, session options.
 * @returns The events of both peers, in the order they happened.
 *
 * @example Both peers reach ready, then epoch 3, then close
 * ```ts
 * import { startLiveHandshake } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const outcomes: string[] = [];
 * let epoch = 0;
 * for await (const event of startLiveHandshake()) {
 *   if (event.type === "end") outcomes.push(`${event.role} ${event.outcome}`);
 *   if (event.type === "keys") epoch = Math.max(epoch, event.epoch);
 * }
 * assert.deepEqual(outcomes.sort(), [
 *   "initiator closed",
 *   "initiator ready",
 *   "responder closed",
 *   "responder ready",
 * ]);
 * assert.equal(epoch, 3);
 * ```
 */
export async function* startLiveHandshake(
  options: LiveHandshakeOptions = {},
): AsyncGenerator<TraceEvent, void, undefined> {
  const signal = options.signal;
  if (signal?.aborted) return;
  const [initiatorIdentity, responderIdentity] = await Promise.all([identity(), identity()]);
  const access = new AccessManager();
  for (const key of [initiatorIdentity, responderIdentity]) {
    access.addPeer(formatUuid(derivePeerUuid(key.algorithm, key.publicKey)), key.publicKey);
  }
  const queue = new EventQueue();
  let lastAt = 0;
  const userTrace = options.sessionOptions?.onTrace;
  const common: SessionOptions = {
    requireAuthentication: true,
    accessManager: access,
    extenders: ["7c9e6679-7425-40de-944b-e07fc1f90ae7"],
    ...options.sessionOptions,
    // From each session's first state on, stamped by the sessions' one clock.
    onTrace: (event) => {
      userTrace?.(event);
      lastAt = Math.max(lastAt, event.at);
      queue.push(event);
    },
  };
  const [a, b] = createMemoryPair();
  const sessions: Record<TraceRole, Session> = {
    initiator: initiate(a, { identity: initiatorIdentity, ...common }),
    responder: respond(b, { identity: responderIdentity, ...common }),
  };
  const abort = (): void => queue.close();
  signal?.addEventListener("abort", abort, { once: true });
  // The initiator may open with noise before the responder's first message.
  sessions.initiator.sendNoise(48).catch(() => {});
  const driver = (async (): Promise<void> => {
    const ready = (await Promise.all([settled(sessions.initiator), settled(sessions.responder)]))
      .every(Boolean);
    if (ready && (options.keyUpdate ?? true) && !(signal?.aborted ?? false)) {
      const rotated = Promise.all([
        nextKeyUpdate(sessions.initiator),
        nextKeyUpdate(sessions.responder),
      ]);
      await sessions.responder.updateKeys().catch(() => {});
      await Promise.race([rotated, sessions.initiator.closed, sessions.responder.closed]);
    }
    if (ready && (options.close ?? true) && !(signal?.aborted ?? false)) {
      // The initiator's Close is answered by the responder's: both end `closed`.
      await sessions.initiator.close();
      await sessions.responder.closed;
    }
    queue.close();
  })();
  try {
    for await (const event of queue.drain()) yield event;
    await driver;
    if (queue.overflow) {
      yield {
        type: "end",
        at: lastAt,
        role: "initiator",
        outcome: "failed",
        code: ErrorCode.RESOURCE_LIMIT,
      };
    }
  } finally {
    queue.close();
    signal?.removeEventListener("abort", abort);
    await Promise.all([sessions.initiator.close(), sessions.responder.close()]);
    await driver;
  }
}

/** Options of {@linkcode replayTrace}. */
export interface ReplayOptions {
  /** The id (default `"replay"`). */
  readonly id?: string;
  /** The name shown on the page (default `"Replay"`). */
  readonly label?: string;
  /** Where the events come from (default: a generic sentence). */
  readonly note?: string;
}

/**
 * A source that replays a fixed list of events, for recorded traces
 * ({@linkcode parseTrace}) and simulated ones ({@linkcode simulateHandshakeTrace}).
 * The events are replayed in `at` order ({@linkcode mergeTraces}), so both
 * peers' recordings may simply be concatenated.
 *
 * @param events The events of one or both peers.
 * @param options Id, label and note.
 * @returns The source; every `open` replays the whole list.
 * @throws {TypeError} If an element is not a trace event.
 *
 * @example Replaying a simulated failure
 * ```ts
 * import { replayTrace, simulateHandshakeTrace } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * const source = replayTrace(simulateHandshakeTrace({ scenario: "authFailed" }), { id: "forged" });
 * const events = await Array.fromAsync(source.open(new AbortController().signal));
 * assert.equal(events.at(-1)?.type, "end");
 * ```
 */
export function replayTrace(
  events: readonly TraceEvent[],
  options: ReplayOptions = {},
): TraceSource {
  const copy = mergeTraces(events).map((event) => ({ ...event }));
  return {
    id: options.id ?? "replay",
    label: options.label ?? "Replay",
    note: options.note ?? "A recorded trace, replayed.",
    async *open(signal: AbortSignal): AsyncGenerator<TraceEvent> {
      for (const event of copy) {
        if (signal.aborted) return;
        yield event;
      }
    },
  };
}

/**
 * The sources the inspector offers by default: the live handshake, then
 * simulated runs of the statecharts (a full run and two failures).
 *
 * @returns The sources, the live one first.
 *
 * @example The live handshake is the default
 * ```ts
 * import { defaultTraceSources } from "@qgate/handshake/viz";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultTraceSources()[0]?.id, "live");
 * ```
 */
export function defaultTraceSources(): TraceSource[] {
  return [
    {
      id: "live",
      label: "Live handshake + key update + close",
      note: "Two real sessions over an in-memory pipe (Ed25519 identities, default " +
        "algorithms); after ready the responder rotates the keys once, then the initiator closes.",
      open: (signal) => startLiveHandshake({ signal }),
    },
    replayTrace(simulateHandshakeTrace(), {
      id: "simulated",
      label: "Statecharts only: ready + key update + close",
      note: "Both peers' statecharts wired back to back with stand-in crypto on a simulated clock.",
    }),
    replayTrace(simulateHandshakeTrace({ scenario: "authFailed" }), {
      id: "authFailed",
      label: "Statecharts only: forged proof",
      note: "The responder's proof does not verify: the initiator fails with ERR_AUTH_FAILED.",
    }),
    replayTrace(simulateHandshakeTrace({ scenario: "noCommonAlgorithm" }), {
      id: "noCommonAlgorithm",
      label: "Statecharts only: no common AEAD",
      note: "The peers share no AEAD: the initiator fails with ERR_NO_COMMON_ALGORITHM.",
    }),
  ];
}

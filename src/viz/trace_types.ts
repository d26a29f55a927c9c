/**
 * The trace event vocabulary the viz tooling consumes.
 *
 * The session runtime emits {@linkcode TraceEvent}s (`session.on("trace",
 * …)`), so the type lives next to it in `src/session/events.ts` and is
 * re-exported here: the viz layer sits above the runtime and imports from
 * it, never the other way round. No trace event ever holds secret bytes.
 *
 * Conventions the viz tooling relies on:
 * - `at` is milliseconds on the session's clock: with the system clock,
 *   since the Unix epoch, so both peers' events share one time base and
 *   merge by `at`. The tools show times relative to the first event, so a
 *   hand-written or simulated trace may count from 0 instead;
 * - a `state` event's `state` is a dotted path in the handshake statechart
 *   (`"primaryKeyExchange.awaitingAnswer"`); states of another statechart
 *   are prefixed with its id (`"ready.active.lifecycle.open"`, and in older
 *   traces `"keyUpdate.awaitingAnswer"`). A parallel state's regions may be
 *   traced one event per region, each naming a full path; a region's state
 *   replaces only the previous state of that region;
 * - every frame appears once as `sent` by one role and once as `received`
 *   by the other when both ends are traced: the n-th frame of a kind one
 *   side sent is the n-th frame of that kind the other side received.
 *
 * @module
 */

import type { TraceEvent } from "../session/events.ts";

export type { TraceEvent };

/** Which end of the connection an event belongs to. */
export type TraceRole = TraceEvent["role"];

/** A record put on or taken off the wire. */
export type TraceFrameEvent = Extract<TraceEvent, { readonly type: "frame" }>;

/** The active state of a statechart changed. */
export type TraceStateEvent = Extract<TraceEvent, { readonly type: "state" }>;

/** One direction switched to the keys of a new epoch. */
export type TraceKeysEvent = Extract<TraceEvent, { readonly type: "keys" }>;

/** The handshake reached its outcome, or the session closed. */
export type TraceEndEvent = Extract<TraceEvent, { readonly type: "end" }>;

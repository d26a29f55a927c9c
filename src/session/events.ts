/**
 * What a session reports while it runs: typed events for listeners, and the
 * trace events that recorders and the inspector consume. No event ever holds
 * secret bytes.
 *
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import type { Role } from "./details.ts";

/** One step of a handshake or session, as recorded for traces and the inspector. */
export type TraceEvent =
  | {
    readonly type: "frame";
    /**
     * When, in milliseconds on the session's clock: with the system clock,
     * since the Unix epoch, so both peers' traces share one time base.
     */
    readonly at: number;
    readonly role: Role;
    readonly direction: "sent" | "received";
    /** The message kind, e.g. `"beginMetaExchange"` or `"noise"`. */
    readonly kind: string;
    /** The epoch of the keys that protected the record. */
    readonly epoch: number;
    /** Bytes on the wire. */
    readonly size: number;
    readonly noise: boolean;
  }
  | {
    readonly type: "state";
    readonly at: number;
    readonly role: Role;
    /** The active state as a dotted path, e.g. `"primaryKeyExchange.awaitingAnswer"`. */
    readonly state: string;
  }
  | {
    readonly type: "keys";
    readonly at: number;
    readonly role: Role;
    readonly epoch: number;
    readonly direction: "send" | "receive";
  }
  | {
    readonly type: "end";
    readonly at: number;
    readonly role: Role;
    readonly outcome: "ready" | "failed" | "closed";
    readonly code?: ErrorCode;
  };

/** How a session ended. */
export interface CloseInfo {
  /** `undefined` for an orderly close by either side; otherwise the reason. */
  readonly code: ErrorCode | undefined;
  /** Whether this side started the close. */
  readonly local: boolean;
}

/** Events a session emits, by name. */
export interface SessionEventMap {
  /** Any trace step. */
  trace: TraceEvent;
  /** The handshake statechart entered a new state. */
  state: { readonly state: string };
  /** Application data arrived for a local extender. */
  message: { readonly extender: string; readonly data: Uint8Array };
  /** The peer's extender list changed. */
  extenders: { readonly added: readonly string[]; readonly removed: readonly string[] };
  /** Keys rotated to a new epoch in both directions. */
  keyUpdate: { readonly epoch: number };
  /** The session ended. */
  close: CloseInfo;
}

/** A listener for one session event. */
export type SessionListener<K extends keyof SessionEventMap> = (event: SessionEventMap[K]) => void;

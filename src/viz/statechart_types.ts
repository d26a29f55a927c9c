/**
 * The plain-data shape of an exported statechart (`machines/diagrams/*.json`).
 *
 * The shape is versioned by {@linkcode StatechartJson.format}; fields are
 * added, never renamed or removed, within one format version. Every field is
 * derived from the machine definition itself, never written by hand.
 *
 * - A state is named by its **path**: the keys from the root joined with
 *   `"."` (`"metaExchange.awaitingOffer"`), the same string a trace's
 *   `state` event carries. The root's path is `""`.
 * - A transition lists its trigger (`event`, `always`, `after`, `done`),
 *   its guard, its targets as paths, its actions with static `params`, the
 *   message kinds it puts on the wire (`sends`) and, when it fails the
 *   machine, the reason code (`failure`).
 *
 * @module
 */

/** The format tag of {@linkcode StatechartJson}. */
export type StatechartFormat = "qgate.statechart/1";

/** The kind of a state node, as XState names it. */
export type StatechartStateType = "atomic" | "compound" | "parallel" | "final" | "history";

/** What makes a transition fire. */
export type StatechartTrigger =
  /** An event named in `on` (`event` holds its name, wildcards included). */
  | "event"
  /** An eventless `always` transition, taken as soon as its guard holds. */
  | "always"
  /** A timeout from `after` (`delay` holds the delay's name or milliseconds). */
  | "after"
  /** `onDone`: the source compound state reached a final child. */
  | "done";

/** A static parameter value of an action or guard. */
export type StatechartParamValue = string | number | boolean | null;

/** One action of a transition or of a state's entry/exit. */
export interface StatechartAction {
  /** The action's name in `setup({ actions })`, e.g. `"sendOffer"`. */
  readonly type: string;
  /** Static `params` from the machine config, or `null`. */
  readonly params: Readonly<Record<string, StatechartParamValue>> | null;
  /** The type of the command the action emits for the runtime (`"frame.send"`), or `null`. */
  readonly emits: string | null;
  /** The message kind when the action emits `frame.send` (`"beginMetaExchange"`), or `null`. */
  readonly sends: string | null;
}

/** Why a transition fails the machine. */
export interface StatechartFailure {
  /** The stable error code (`"ERR_TIMEOUT"`), or `null` when the event or verdict carries it. */
  readonly code: string | null;
  /** The action that records the failure (`"failWith"`, `"failWithEventCode"`, …). */
  readonly action: string;
}

/** One state node. */
export interface StatechartState {
  /** The state's path (`"metaExchange.awaitingOffer"`); `""` for the root. */
  readonly path: string;
  /** The state's own key (`"awaitingOffer"`); the machine id for the root. */
  readonly key: string;
  /** The parent's path, or `null` for the root. */
  readonly parent: string | null;
  /** The node kind. */
  readonly type: StatechartStateType;
  /** The path of the initial child of a compound state, or `null`. */
  readonly initial: string | null;
  /** Entry actions (XState's internal timer bookkeeping left out). */
  readonly entry: readonly StatechartAction[];
  /** Exit actions (XState's internal timer bookkeeping left out). */
  readonly exit: readonly StatechartAction[];
}

/** One transition. */
export interface StatechartTransition {
  /** The path of the state that declares the transition (`""` = any state of the machine). */
  readonly source: string;
  /** What makes it fire. */
  readonly trigger: StatechartTrigger;
  /** The event name for `trigger: "event"`, else `null`. */
  readonly event: string | null;
  /** The delay's name (`"phaseTimeout"`) or milliseconds for `trigger: "after"`, else `null`. */
  readonly delay: string | null;
  /** The guard's name (`"isResponder"`, `"not(isX)"`), or `null`. */
  readonly guard: string | null;
  /** Target paths; empty for a targetless transition. */
  readonly targets: readonly string[];
  /** The actions, in the order they run. */
  readonly actions: readonly StatechartAction[];
  /** Message kinds the actions put on the wire, in order. */
  readonly sends: readonly string[];
  /** Set when the transition fails the machine. */
  readonly failure: StatechartFailure | null;
}

/** A whole statechart as plain data, the content of `machines/diagrams/<id>.json`. */
export interface StatechartJson {
  /** The format tag, `"qgate.statechart/1"`. */
  readonly format: StatechartFormat;
  /** The statechart's name, as accepted by the export functions. */
  readonly id: string;
  /** One sentence about it. */
  readonly description: string;
  /** The defining file, relative to the repository root. */
  readonly source: string;
  /** Named delays the statechart uses, sorted. */
  readonly delays: readonly string[];
  /** Every state node in document order, the root first. */
  readonly states: readonly StatechartState[];
  /** Every transition in document order (per state: `on`, `after`, `onDone`, then `always`). */
  readonly transitions: readonly StatechartTransition[];
}

/** A statechart the viz tooling can export. */
export interface StatechartInfo {
  /** The name to pass to the export functions (`"handshake"`). */
  readonly id: string;
  /** One sentence about it. */
  readonly description: string;
  /** The defining file, relative to the repository root. */
  readonly source: string;
}

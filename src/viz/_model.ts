/**
 * Turns a machine definition into {@linkcode StatechartJson} by walking
 * `machine.root`. Nothing here is written per machine: states, triggers,
 * guards, targets and action params come from the definition, and the
 * message kind of each `send…` action is learnt by evaluating the action's
 * `emit` expression against the machine's own initial context.
 *
 * @module
 */

import { type AnyStateMachine, type AnyStateNode, initialTransition } from "xstate";
import type { RegisteredStatechart } from "./_registry.ts";
import type {
  StatechartAction,
  StatechartFailure,
  StatechartJson,
  StatechartParamValue,
  StatechartState,
  StatechartTransition,
  StatechartTrigger,
} from "./statechart_types.ts";

/** What a transition definition looks like at run time (the parts we read). */
interface TransitionShape {
  readonly eventType: string;
  readonly target?: readonly AnyStateNode[] | undefined;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly delay?: string | number | undefined;
}

/** Evaluates emitted-command expressions of one machine, with a cache. */
class EmitProbe {
  #implementations: Readonly<Record<string, unknown>>;
  #context: unknown;
  #cache = new Map<string, { emits: string | null; sends: string | null }>();

  constructor(machine: AnyStateMachine, sampleInput: unknown) {
    this.#implementations =
      (machine.implementations as { actions?: Readonly<Record<string, unknown>> }).actions ?? {};
    try {
      this.#context = initialTransition(machine, sampleInput)[0].context;
    } catch {
      this.#context = undefined;
    }
  }

  /** The emitted command type and message kind of an action, when it emits one. */
  resolve(
    type: string,
    params: Readonly<Record<string, StatechartParamValue>> | null,
    eventType: string,
  ): { emits: string | null; sends: string | null } {
    const cacheKey = `${type}\u0000${JSON.stringify(params)}\u0000${eventType}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const result = this.#evaluate(type, params, eventType);
    this.#cache.set(cacheKey, result);
    return result;
  }

  #evaluate(
    type: string,
    params: Readonly<Record<string, StatechartParamValue>> | null,
    eventType: string,
  ): { emits: string | null; sends: string | null } {
    const implementation = this.#implementations[type] as
      | { readonly type?: unknown; readonly event?: unknown }
      | undefined;
    if (implementation === undefined || implementation.type !== "xstate.emit") {
      return { emits: null, sends: null };
    }
    let emitted: unknown = implementation.event;
    if (typeof emitted === "function") {
      try {
        emitted = emitted(
          { context: this.#context, event: probeEvent(eventType), self: undefined },
          params ?? undefined,
        );
      } catch {
        emitted = undefined;
      }
    }
    if (typeof emitted !== "object" || emitted === null) return { emits: null, sends: null };
    const command = emitted as {
      readonly type?: unknown;
      readonly kind?: unknown;
      readonly message?: { kind?: unknown };
    };
    const emits = typeof command.type === "string" ? command.type : null;
    const kind = command.message?.kind ?? command.kind;
    if (emits !== null && SENDING_COMMANDS.has(emits)) {
      return { emits, sends: typeof kind === "string" ? kind : sendsFromParams(params) };
    }
    return { emits, sends: null };
  }
}

/**
 * The commands that put a handshake message on the wire: `frame.send`, and
 * the crypto commands that make a share or proof and send it in one step.
 */
const SENDING_COMMANDS: ReadonlySet<string> = new Set([
  "frame.send",
  "keyExchange.offer",
  "keyExchange.answer",
  "identity.prove",
]);

/**
 * A stand-in event of the given type for evaluating emit expressions: it
 * carries empty public payloads under the field names the handshake events
 * use. It never reaches a machine.
 */
function probeEvent(eventType: string): Record<string, unknown> {
  return {
    type: eventType,
    share: new Uint8Array(0),
    identity: undefined,
    message: { kind: "noise", share: new Uint8Array(0), extenders: [] },
  };
}

function sendsFromParams(
  params: Readonly<Record<string, StatechartParamValue>> | null,
): string | null {
  const kind = params?.["kind"];
  return typeof kind === "string" ? kind : null;
}

function pathOf(node: AnyStateNode): string {
  return node.path.join(".");
}

function toParamValue(value: unknown): StatechartParamValue {
  if (
    value === null || typeof value === "string" || typeof value === "number" ||
    typeof value === "boolean"
  ) {
    return value;
  }
  return JSON.stringify(value) ?? null;
}

function toParams(value: unknown): Readonly<Record<string, StatechartParamValue>> | null {
  if (typeof value !== "object" || value === null) return null;
  const params: Record<string, StatechartParamValue> = {};
  for (const [key, entry] of Object.entries(value)) params[key] = toParamValue(entry);
  return params;
}

/** Returns `{ type, params }` of a user action, or `undefined` for XState's own bookkeeping. */
function actionRef(
  action: unknown,
): { type: string; params: Readonly<Record<string, StatechartParamValue>> | null } | undefined {
  if (typeof action === "string") return { type: action, params: null };
  if (typeof action === "function") {
    const builtin = (action as { type?: unknown }).type;
    if (typeof builtin === "string" && builtin.startsWith("xstate.")) return undefined;
    return { type: "(inline)", params: null };
  }
  if (typeof action === "object" && action !== null) {
    const { type, params } = action as { type?: unknown; params?: unknown };
    if (typeof type !== "string") return { type: "(inline)", params: null };
    return { type, params: toParams(params) };
  }
  return undefined;
}

function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === "string") return guard;
  if (typeof guard === "object") {
    const type = (guard as { type?: unknown }).type;
    return typeof type === "string" ? type : "(inline)";
  }
  if (typeof guard === "function") {
    const { type, guards, guard: inner } = guard as {
      type?: unknown;
      guards?: unknown;
      guard?: unknown;
    };
    // XState marks its combinators by `type` in some versions, by the function's name in others.
    const combinator = typeof type === "string" ? type.replace(/^xstate\./, "") : guard.name;
    if (combinator === "not") {
      const operand = inner ?? (Array.isArray(guards) ? guards[0] : undefined);
      return `not(${guardName(operand) ?? "?"})`;
    }
    if ((combinator === "and" || combinator === "or") && Array.isArray(guards)) {
      return `${combinator}(${guards.map((entry) => guardName(entry) ?? "?").join(", ")})`;
    }
    return "(inline)";
  }
  return "(inline)";
}

function describeActions(
  actions: readonly unknown[],
  probe: EmitProbe,
  eventType: string,
): StatechartAction[] {
  const described: StatechartAction[] = [];
  for (const action of actions) {
    const ref = actionRef(action);
    if (ref === undefined) continue;
    const { emits, sends } = probe.resolve(ref.type, ref.params, eventType);
    described.push({ type: ref.type, params: ref.params, emits, sends });
  }
  return described;
}

function failureOf(actions: readonly StatechartAction[]): StatechartFailure | null {
  const action = actions.find((entry) => entry.type.startsWith("failWith"));
  if (action === undefined) return null;
  const code = action.params?.["code"];
  return { code: typeof code === "string" ? code : null, action: action.type };
}

function triggerOf(transition: TransitionShape): {
  trigger: StatechartTrigger;
  event: string | null;
  delay: string | null;
} {
  if (transition.delay !== undefined) {
    const delay = typeof transition.delay === "number" ? `${transition.delay}ms` : transition.delay;
    return { trigger: "after", event: null, delay };
  }
  if (transition.eventType.startsWith("xstate.done.state.")) {
    return { trigger: "done", event: null, delay: null };
  }
  return { trigger: "event", event: transition.eventType, delay: null };
}

function describeTransition(
  source: string,
  transition: TransitionShape,
  probe: EmitProbe,
  always: boolean,
): StatechartTransition {
  const { trigger, event, delay } = always
    ? { trigger: "always" as const, event: null, delay: null }
    : triggerOf(transition);
  const actions = describeActions(transition.actions, probe, always ? "" : transition.eventType);
  return {
    source,
    trigger,
    event,
    delay,
    guard: guardName(transition.guard),
    targets: (transition.target ?? []).map(pathOf),
    actions,
    sends: actions.flatMap((action) => action.sends === null ? [] : [action.sends]),
    failure: failureOf(actions),
  };
}

/**
 * Describes a registered machine as plain data.
 *
 * @param entry The registry entry.
 * @returns The statechart as {@linkcode StatechartJson}.
 */
export function describeStatechart(entry: RegisteredStatechart): StatechartJson {
  const probe = new EmitProbe(entry.machine, entry.sampleInput);
  const states: StatechartState[] = [];
  const transitions: StatechartTransition[] = [];
  const delays = new Set<string>();

  const visit = (node: AnyStateNode): void => {
    const path = pathOf(node);
    const initialTarget = node.type === "compound" ? node.initial?.target?.[0] : undefined;
    states.push({
      path,
      key: node.parent === undefined ? entry.id : node.key,
      parent: node.parent === undefined ? null : pathOf(node.parent),
      type: node.type,
      initial: initialTarget === undefined ? null : pathOf(initialTarget),
      entry: describeActions(node.entry, probe, ""),
      exit: describeActions(node.exit, probe, ""),
    });
    for (const list of node.transitions.values()) {
      for (const transition of list as readonly TransitionShape[]) {
        const described = describeTransition(path, transition, probe, false);
        if (described.delay !== null) delays.add(described.delay);
        transitions.push(described);
      }
    }
    for (const transition of (node.always ?? []) as readonly TransitionShape[]) {
      transitions.push(describeTransition(path, transition, probe, true));
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(entry.machine.root);

  return {
    format: "qgate.statechart/1",
    id: entry.id,
    description: entry.description,
    source: entry.source,
    delays: [...delays].sort(),
    states,
    transitions,
  };
}

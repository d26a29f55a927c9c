/**
 * Transition coverage of an XState v5 statechart driven through pure
 * `transition()` steps.
 *
 * {@linkcode TransitionCoverage} enumerates every transition a machine
 * defines by walking its state nodes: each node's `transitions` map (its `on`
 * events, `onDone`, and the `after` delays, which XState files under their
 * `xstate.after.*` event types) and its eventless `always` list. It then
 * steps the machine like `initialTransition()`/`transition()` do (same pure
 * macrostep, actions returned, never executed) while listening to the
 * `@xstate.microstep` inspection events, which name the transitions each
 * microstep took: the one the event selected, then any `always` and
 * `xstate.done.state.*` ones that followed. For the event itself it checks
 * that the recorded transitions are exactly what the public
 * `machine.getTransitionData(snapshot, event)` selects.
 *
 * @module
 */

import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyStateNode,
  createActor,
  type EventObject,
  type InspectionEvent,
} from "xstate";

/** A transition definition as XState holds it (only what coverage reads). */
interface Definition {
  readonly source: AnyStateNode;
  readonly eventType: string | null;
  readonly target?: readonly AnyStateNode[] | undefined;
  readonly guard?: unknown;
  readonly delay?: unknown;
}

/** An executable action as `transition()` returns it. */
export interface ExecutableAction {
  readonly type: string;
  readonly params?: unknown;
}

/** Coverage figures of one machine. */
export interface CoverageReport {
  /** The machine's name for the report. */
  readonly name: string;
  /** Transitions taken at least once. */
  readonly covered: number;
  /** Transitions the machine defines. */
  readonly total: number;
  /** Labels of the transitions never taken. */
  readonly uncovered: readonly string[];
}

function guardName(guard: unknown): string {
  if (guard === undefined) return "";
  if (typeof guard === "string") return guard;
  if (typeof guard === "function") {
    // Higher-level guards (`and`, `or`, `not`) carry the guards they combine.
    const parts = (guard as { guards?: unknown[] }).guards;
    const name = guard.name || "inline";
    return Array.isArray(parts) ? `${name}(${parts.map(guardName).join(", ")})` : name;
  }
  if (typeof guard === "object" && guard !== null && "type" in guard) {
    return String((guard as { type: unknown }).type);
  }
  return "guard";
}

function describe(definition: Definition, index: number): string {
  const event = definition.eventType === null || definition.eventType === ""
    ? "always"
    : definition.delay !== undefined
    ? `after ${String(definition.delay)}`
    : definition.eventType;
  const guard = guardName(definition.guard);
  const target = definition.target === undefined || definition.target.length === 0
    ? "(stays)"
    : definition.target.map((node) => `#${node.id}`).join(",");
  return `#${definition.source.id} --${event}${index > 0 ? `[${index}]` : ""}${
    guard === "" ? "" : ` [${guard}]`
  }--> ${target}`;
}

/** The state value that is active exactly when `node` is. */
export function stateValueOf(node: AnyStateNode): unknown {
  return node.path.reduceRight<unknown>(
    (inner, key) => (inner === undefined ? key : { [key]: inner }),
    undefined,
  );
}

/** Records which transitions of one machine pure steps take. */
export class TransitionCoverage {
  readonly name: string;
  readonly machine: AnyStateMachine;
  readonly #labels = new Map<object, string>();
  readonly #taken = new Set<object>();
  readonly #delayed: Definition[] = [];

  /**
   * Enumerates every transition of `machine`.
   *
   * @param name The name used in the report.
   * @param machine The statechart.
   */
  constructor(name: string, machine: AnyStateMachine) {
    this.name = name;
    this.machine = machine;
    const visit = (node: AnyStateNode): void => {
      for (const definitions of node.transitions.values()) {
        definitions.forEach((definition, index) => {
          this.#labels.set(definition, describe(definition as Definition, index));
          if ((definition as Definition).delay !== undefined) {
            this.#delayed.push(definition as Definition);
          }
        });
      }
      (node.always ?? []).forEach((definition, index) => {
        this.#labels.set(definition, describe(definition as Definition, index));
      });
      for (const child of Object.values(node.states)) visit(child as AnyStateNode);
    };
    visit(machine.root);
  }

  /** Every transition's label, in document order. */
  get labels(): readonly string[] {
    return [...this.#labels.values()];
  }

  /**
   * Like `initialTransition()`, recording the eventless transitions taken.
   *
   * @param input The machine input.
   * @returns The snapshot and the actions to execute.
   */
  initial(input: unknown): [AnyMachineSnapshot, ExecutableAction[]] {
    return this.#step((scope) => this.machine.getInitialSnapshot(scope as never, input));
  }

  /**
   * Like `transition()`, recording every transition taken.
   *
   * @param snapshot The current snapshot.
   * @param event The event.
   * @returns The next snapshot and the actions to execute.
   * @throws {Error} If the recorded transitions for the event are not what
   *   `getTransitionData()` selects.
   */
  transition(snapshot: AnyMachineSnapshot, event: EventObject): [
    AnyMachineSnapshot,
    ExecutableAction[],
  ] {
    const selected = new Set<object>(this.machine.getTransitionData(snapshot as never, event));
    let first: readonly object[] | undefined;
    const result = this.#step(
      (scope) => this.machine.transition(snapshot as never, event, scope as never),
      (transitions) => (first ??= transitions),
    );
    const recorded = new Set(first ?? []);
    if (recorded.size !== selected.size || [...selected].some((t) => !recorded.has(t))) {
      throw new Error(
        `Cannot record ${event.type}: microstep transitions differ from getTransitionData()`,
      );
    }
    return result;
  }

  /** The delayed events whose state is active in `snapshot`, as events to send. */
  delayedEvents(snapshot: AnyMachineSnapshot): EventObject[] {
    return this.#delayed
      .filter((definition) =>
        definition.source.path.length === 0 ||
        snapshot.matches(stateValueOf(definition.source) as never)
      )
      .map((definition) => ({ type: definition.eventType! }));
  }

  /** The figures so far. */
  report(): CoverageReport {
    const uncovered = [...this.#labels].filter(([definition]) => !this.#taken.has(definition))
      .map(([, label]) => label);
    return {
      name: this.name,
      covered: this.#labels.size - uncovered.length,
      total: this.#labels.size,
      uncovered,
    };
  }

  #step(
    run: (scope: unknown) => AnyMachineSnapshot,
    onFirst?: (transitions: readonly object[]) => void,
  ): [AnyMachineSnapshot, ExecutableAction[]] {
    const actions: ExecutableAction[] = [];
    // An unstarted actor only lends its system, whose inspection observers see
    // every microstep of the pure step below.
    const self = createActor(this.machine);
    const subscription = self.system.inspect((event: InspectionEvent) => {
      if (event.type !== "@xstate.microstep") return;
      onFirst?.(event._transitions);
      onFirst = undefined;
      for (const transition of event._transitions) {
        if (!this.#labels.has(transition)) {
          throw new Error(
            `Cannot record a transition the walk did not find: ${transition.eventType}`,
          );
        }
        this.#taken.add(transition);
      }
    });
    try {
      const scope = {
        self,
        id: "",
        sessionId: "",
        logger: () => {},
        defer: () => {},
        emit: () => {},
        system: self.system,
        stopChild: () => {},
        actionExecutor: (action: ExecutableAction) => void actions.push(action),
      };
      return [run(scope), actions];
    } finally {
      subscription.unsubscribe();
    }
  }
}

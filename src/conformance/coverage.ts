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
 * {@linkcode measureStatechartCoverage} drives every statechart qgate has
 * (the handshake, each phase machine alone, the key-update cycle) that way:
 * both roles to the end with a stand-in runtime, over streams and datagrams,
 * then from every snapshot visited every event the machine knows (each peer
 * message, crafted ones that trip each failure guard, every crypto result and
 * verdict, transport and local events, each active delayed event) once. The
 * conformance CLI prints its figures.
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
import { datagramHandshakeMachine, handshakeMachine } from "../../machines/handshake.ts";
import { metaExchangeMachine } from "../../machines/meta_exchange.ts";
import { primaryKeyExchangeMachine } from "../../machines/primary_key_exchange.ts";
import { secondaryKeyExchangeMachine } from "../../machines/secondary_key_exchange.ts";
import { authenticationMachine } from "../../machines/authentication.ts";
import { sessionInitMachine } from "../../machines/session_init.ts";
import { datagramReadyMachine, readyMachine } from "../../machines/ready.ts";
import type { HandshakeInput, Role } from "../../machines/_setup.ts";
import { ErrorCode } from "../errors.ts";
import { isHandshakeKind, type Message } from "../codec/message_types.ts";
import type { PeerVerdict } from "../handshake_policy.ts";
import {
  ANONYMOUS,
  type ExecutableAction,
  fixedStandIn,
  runStandInPair,
  STANDIN_SHARE as SHARE,
  STANDIN_SUITE as SUITE,
  standInInput,
} from "../viz/_standin.ts";

export type { ExecutableAction };

/** A transition definition as XState holds it (only what coverage reads). */
interface Definition {
  readonly source: AnyStateNode;
  readonly eventType: string | null;
  readonly target?: readonly AnyStateNode[] | undefined;
  readonly guard?: unknown;
  readonly delay?: unknown;
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

// ---------------------------------------------------------------------------
// Driving every statechart

/** Transition coverage of one statechart, as {@linkcode measureStatechartCoverage} reports it. */
export interface StatechartCoverage {
  /** The statechart's id, e.g. `"handshake"` or `"keyUpdate"`. */
  readonly name: string;
  /** Transitions taken at least once. */
  readonly covered: number;
  /** Transitions the statechart defines. */
  readonly total: number;
  /** Labels of the transitions never taken (`#source --event [guard]--> #target`). */
  readonly uncovered: readonly string[];
}

const PROOF = {
  signature: 0x0001,
  publicKey: new Uint8Array(32).fill(1),
  proof: new Uint8Array(64),
};
const VERDICTS: readonly PeerVerdict[] = [
  ANONYMOUS,
  { presented: true, signatureValid: false, access: "allowed" },
  { presented: true, signatureValid: true, access: "denied" },
  { presented: true, signatureValid: true, access: "unknown" },
  {
    presented: true,
    signatureValid: true,
    access: "allowed",
    uuid: "0c2f4a8e-1b3d-8e5f-9a7b-0c1d2e3f4a5b",
    signature: "Ed25519",
  },
];

interface Scenario {
  readonly initiator: Partial<HandshakeInput>;
  readonly responder: Partial<HandshakeInput>;
  readonly verdicts?: { readonly [R in Role]?: PeerVerdict };
}

const DATAGRAM = { transport: "datagram", retransmit: { initial: 50, max: 400 } } as const;

const BASE_SCENARIOS: readonly Scenario[] = [
  { initiator: {}, responder: {} },
  {
    initiator: { identity: "Ed25519", requireAuthentication: true },
    responder: { identity: "Ed25519", requireAuthentication: true },
    verdicts: { initiator: VERDICTS[4]!, responder: VERDICTS[4]! },
  },
];

const SCENARIOS: readonly Scenario[] = [
  ...BASE_SCENARIOS,
  ...BASE_SCENARIOS.map((scenario) => ({
    ...scenario,
    initiator: { ...scenario.initiator, ...DATAGRAM },
    responder: { ...scenario.responder, ...DATAGRAM },
  })),
];

/** Runs both roles of a handshake-family machine to the end in FIFO order with a stand-in runtime. */
function runPair(
  coverage: TransitionCoverage,
  scenario: Scenario,
): { visited: AnyMachineSnapshot[]; messages: Message[] } {
  const visited: AnyMachineSnapshot[] = [];
  const messages: Message[] = [];
  runStandInPair<AnyMachineSnapshot>({
    initial: (role) => coverage.initial(standInInput(role, { suite: SUITE, ...scenario[role] })),
    transition: (_, snapshot, event) => coverage.transition(snapshot, event),
    crypto: (role) =>
      fixedStandIn({
        ...(scenario[role].identity === undefined ? {} : { identity: PROOF }),
        verdict: scenario.verdicts?.[role] ?? ANONYMOUS,
      }),
    observe: (_, snapshot) => {
      if (snapshot.status === "active") visited.push(snapshot);
    },
    sent: (_, message) => void messages.push(message),
  });
  return { visited, messages };
}

/**
 * Takes only the success path of both roles (anonymous, stream transport) on
 * a handshake-family statechart: what a minimal scenario covers, for tests of
 * the coverage tool itself.
 *
 * @param coverage The coverage tracker of a handshake-family statechart.
 */
export function takeSuccessPaths(coverage: TransitionCoverage): void {
  runPair(coverage, BASE_SCENARIOS[0]!);
}

/** Messages that trip each meta-exchange failure guard, and others out of place. */
function craftedMessages(examples: readonly Message[]): Message[] {
  const begin = examples.find((message) => message.kind === "beginMetaExchange")!;
  const end = examples.find((message) => message.kind === "endMetaExchange")!;
  return [
    { ...begin, version: { major: 2, minor: 0 } },
    { ...begin, secondaryKeyExchanges: [0x7777] },
    { ...begin, requireAuthentication: true, signatures: [0x0102] },
    { ...end, version: { major: 9, minor: 1 } },
    { ...end, hash: 0x7777 },
    { ...end, requireAuthentication: true, signatures: [0x0102] },
    { kind: "extenderData", extender: new Uint8Array(16), data: new Uint8Array(3) },
    { kind: "close", reason: 0 },
  ] as Message[];
}

type AnyEvent = EventObject & Readonly<Record<string, unknown>>;

function handshakeEvents(
  coverage: TransitionCoverage,
  snapshot: AnyMachineSnapshot,
  messages: readonly Message[],
): AnyEvent[] {
  return [
    ...messages.map((message) =>
      isHandshakeKind(message.kind)
        ? { type: `peer.${message.kind}`, message }
        : { type: "peer.other", message }
    ),
    { type: "peer.duplicate", ofLastTrigger: true },
    { type: "peer.duplicate", ofLastTrigger: false },
    ...VERDICTS.map((verdict) => ({ type: "crypto.verified", verdict })),
    { type: "crypto.failed", code: ErrorCode.INVALID_PEER_KEY },
    { type: "crypto.failed", code: ErrorCode.INVALID_PEER_KEY, phase: "primaryKeyExchange" },
    { type: "transport.closed" },
    { type: "transport.invalidRecord", code: ErrorCode.DECRYPT_FAILED },
    { type: "local.abort" },
    ...coverage.delayedEvents(snapshot),
  ];
}

function coverHandshakeFamily(name: string, machine: AnyStateMachine): TransitionCoverage {
  const coverage = new TransitionCoverage(name, machine);
  const examples = runPair(new TransitionCoverage("examples", handshakeMachine), SCENARIOS[0]!)
    .messages;
  const messages = [...examples, ...craftedMessages(examples)];
  for (const scenario of SCENARIOS) {
    for (const snapshot of runPair(coverage, scenario).visited) {
      for (const event of handshakeEvents(coverage, snapshot, messages)) {
        coverage.transition(snapshot, event);
      }
    }
  }
  return coverage;
}

/** Local requests each scenario of the ready phase starts with. */
const READY_SCENARIOS: readonly (readonly (readonly [Role, EventObject])[])[] = [
  [["initiator", { type: "local.requestUpdate" }]],
  [["responder", { type: "local.requestUpdate" }]],
  [["initiator", { type: "local.requestUpdate" }], ["responder", { type: "local.requestUpdate" }]],
  [["initiator", { type: "local.close" }]],
  [["responder", { type: "local.close" }]],
  [["initiator", { type: "local.close" }], ["responder", { type: "local.close" }]],
  [["initiator", { type: "local.requestUpdate" }], ["initiator", { type: "local.close" }]],
  [["initiator", { type: "local.requestUpdate" }], ["responder", { type: "local.close" }]],
];

function runReady(
  coverage: TransitionCoverage,
  requests: readonly (readonly [Role, EventObject])[],
  datagram: boolean,
): AnyMachineSnapshot[] {
  const visited: AnyMachineSnapshot[] = [];
  runStandInPair<AnyMachineSnapshot>({
    initial: (role) =>
      coverage.initial({
        role,
        epoch: 2,
        interval: 60_000,
        maxDuration: 5_000,
        ...(datagram ? DATAGRAM : {}),
      }),
    transition: (_, snapshot, event) => coverage.transition(snapshot, event),
    crypto: () => fixedStandIn({ nextInterval: 60_000 }),
    requests,
    observe: (_, snapshot) => {
      if (snapshot.status === "active") visited.push(snapshot);
    },
    maxSteps: 200,
  });
  return visited;
}

function readyEvents(coverage: TransitionCoverage, snapshot: AnyMachineSnapshot): AnyEvent[] {
  const epoch = (snapshot.context as { epoch: number }).epoch;
  const shares = { primaryShare: SHARE, secondaryShare: SHARE };
  const extender = new Uint8Array(16);
  return [
    { type: "local.requestUpdate" },
    { type: "local.close" },
    { type: "local.abort" },
    { type: "local.fail", code: ErrorCode.RESOURCE_LIMIT },
    ...[epoch + 1, epoch + 5, epoch].flatMap((next) => [
      { type: "peer.beginKeyUpdate", message: { kind: "beginKeyUpdate", epoch: next, ...shares } },
      { type: "peer.endKeyUpdate", message: { kind: "endKeyUpdate", epoch: next, ...shares } },
      { type: "peer.keyUpdateReady", message: { kind: "keyUpdateReady", epoch: next } },
    ]),
    { type: "peer.extenderData", message: { kind: "extenderData", extender, data: SHARE } },
    {
      type: "peer.extenderDataContinuation",
      message: { kind: "extenderDataContinuation", data: SHARE },
    },
    { type: "peer.extenderUpdate", message: { kind: "extenderUpdate", extenders: [extender] } },
    { type: "peer.close", message: { kind: "close", reason: 0 } },
    { type: "peer.close", message: { kind: "close", reason: 1 } },
    { type: "peer.other", message: { kind: "endSessionInit", extenders: [] } },
    { type: "peer.duplicate", ofLastTrigger: true },
    { type: "peer.duplicate", ofLastTrigger: false },
    { type: "crypto.updateOffered", ...shares },
    { type: "crypto.updateAnswered", ...shares, nextInterval: 1_000 },
    { type: "crypto.updateFinished", nextInterval: 1_000 },
    { type: "crypto.failed", code: ErrorCode.INVALID_PEER_KEY },
    { type: "transport.closed" },
    { type: "transport.invalidRecord", code: ErrorCode.DECRYPT_FAILED },
    { type: "transport.datagram" },
    ...coverage.delayedEvents(snapshot),
  ];
}

function coverReady(name: string, machine: AnyStateMachine): TransitionCoverage {
  const coverage = new TransitionCoverage(name, machine);
  for (const datagram of [false, true]) {
    for (const requests of READY_SCENARIOS) {
      for (const snapshot of runReady(coverage, requests, datagram)) {
        for (const event of readyEvents(coverage, snapshot)) {
          coverage.transition(snapshot, event);
        }
      }
    }
  }
  return coverage;
}

/**
 * Measures the transition coverage of every qgate statechart through pure
 * `transition()` steps (see the module documentation for the scenarios).
 *
 * @returns One entry per statechart: the handshake (built for streams and
 *   for datagrams), the five phase machines and the ready phase (which
 *   composes the key-update cycle; for streams and for datagrams).
 *
 * @example Every transition of every statechart is taken
 * ```ts
 * import { measureStatechartCoverage } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const coverage = measureStatechartCoverage();
 * assert.equal(coverage.length, 9);
 * for (const chart of coverage) assert.equal(chart.covered, chart.total, chart.name);
 * ```
 */
export function measureStatechartCoverage(): StatechartCoverage[] {
  const family: [string, AnyStateMachine][] = [
    ["handshake", handshakeMachine],
    ["datagramHandshake", datagramHandshakeMachine],
    ["metaExchange", metaExchangeMachine],
    ["primaryKeyExchange", primaryKeyExchangeMachine],
    ["secondaryKeyExchange", secondaryKeyExchangeMachine],
    ["authentication", authenticationMachine],
    ["sessionInit", sessionInitMachine],
  ];
  const reports = [
    ...family.map(([name, machine]) => coverHandshakeFamily(name, machine).report()),
    coverReady("ready", readyMachine).report(),
    coverReady("datagramReady", datagramReadyMachine).report(),
  ];
  return reports.map(({ name, covered, total, uncovered }) => ({
    name,
    covered,
    total,
    uncovered,
  }));
}

/**
 * Transition coverage of every statechart: the handshake, each phase machine
 * on its own, and the key-update cycle.
 *
 * Each machine is driven only through pure steps (see `_coverage.ts`): both
 * roles to the end with a stand-in runtime, then from every snapshot visited
 * on the way every event the machine knows (each peer message, crafted ones
 * that trip each failure guard, every crypto result and verdict, transport
 * and local events, and each active delayed event) is tried once. Every
 * transition must be taken at least once; one that cannot be is a machine bug.
 */

import assert from "node:assert/strict";
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from "xstate";
import { handshakeMachine } from "../machines/handshake.ts";
import { metaExchangeMachine } from "../machines/meta_exchange.ts";
import { primaryKeyExchangeMachine } from "../machines/primary_key_exchange.ts";
import { secondaryKeyExchangeMachine } from "../machines/secondary_key_exchange.ts";
import { authenticationMachine } from "../machines/authentication.ts";
import { sessionInitMachine } from "../machines/session_init.ts";
import {
  type KeyUpdateCommand,
  type KeyUpdateEvent,
  keyUpdateMachine,
} from "../machines/key_update.ts";
import type { HandshakeCommand, HandshakeEvent, HandshakeInput, Role } from "../machines/_setup.ts";
import { ErrorCode } from "../src/errors.ts";
import type { Message } from "../src/codec/message_types.ts";
import type { PeerVerdict } from "../src/handshake_policy.ts";
import { ANONYMOUS, machineInput } from "./_machine_harness.ts";
import { type ExecutableAction, TransitionCoverage } from "./_coverage.ts";

const ROLES: readonly Role[] = ["initiator", "responder"];
const other = (role: Role): Role => (role === "initiator" ? "responder" : "initiator");

/** The commands among executable actions (emitted events). */
function emitted<C>(actions: readonly ExecutableAction[]): C[] {
  return actions
    .filter((action) => action.type === "xstate.emit")
    .map((action) => (action.params as { event: C }).event);
}

const SUITE = {
  primaryKeyExchange: "X25519",
  secondaryKeyExchange: "ML-KEM-768",
  aead: "ChaCha20-Poly1305",
  hash: "SHA-256",
} as const;

const SHARE = new Uint8Array(32).fill(7);
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

// ---------------------------------------------------------------------------
// The handshake family: the full handshake and the five phase machines

/** One side's configuration of a handshake-family scenario. */
interface Scenario {
  readonly name: string;
  readonly initiator: Partial<HandshakeInput>;
  readonly responder: Partial<HandshakeInput>;
  /** The verdict each side's stand-in runtime reports about its peer. */
  readonly verdicts?: { readonly [R in Role]?: PeerVerdict };
}

/**
 * Input fields of lossy (datagram) transports, where waiting states
 * retransmit and repeated messages are expected. Kept untyped so that the
 * scenarios also run against machines without datagram support (there the
 * fields are ignored and every duplicate is unexpected).
 */
const DATAGRAM: Readonly<Record<string, unknown>> = {
  transport: "datagram",
  retransmit: { initial: 50, max: 400 },
};

const BASE_SCENARIOS: readonly Scenario[] = [
  { name: "anonymous", initiator: {}, responder: {} },
  {
    name: "mutual authentication",
    initiator: { identity: "Ed25519", requireAuthentication: true },
    responder: { identity: "Ed25519", requireAuthentication: true },
    verdicts: { initiator: VERDICTS[4]!, responder: VERDICTS[4]! },
  },
];

const SCENARIOS: readonly Scenario[] = [
  ...BASE_SCENARIOS,
  ...BASE_SCENARIOS.map((scenario) => ({
    ...scenario,
    name: `${scenario.name} over datagrams`,
    initiator: { ...scenario.initiator, ...DATAGRAM } as Partial<HandshakeInput>,
    responder: { ...scenario.responder, ...DATAGRAM } as Partial<HandshakeInput>,
  })),
];

/**
 * Runs both roles of a handshake-family machine to the end in FIFO order
 * with a stand-in runtime (no cryptography), recording coverage. Returns
 * every active snapshot either side passed through, and the messages sent.
 */
function runPair(
  coverage: TransitionCoverage,
  scenario: Scenario,
): { visited: [Role, AnyMachineSnapshot][]; messages: Message[] } {
  const snapshots = {} as Record<Role, AnyMachineSnapshot>;
  const queue: [Role, HandshakeEvent][] = [];
  const visited: [Role, AnyMachineSnapshot][] = [];
  const messages: Message[] = [];
  const react = (role: Role, actions: readonly ExecutableAction[]): void => {
    for (const command of emitted<HandshakeCommand>(actions)) {
      switch (command.type) {
        case "frame.send":
          messages.push(command.message);
          queue.push([
            other(role),
            { type: `peer.${command.message.kind}`, message: command.message } as HandshakeEvent,
          ]);
          break;
        case "keyExchange.offer":
          queue.push([role, { type: "crypto.offered", share: SHARE }]);
          break;
        case "keyExchange.answer":
          queue.push([role, { type: "crypto.answered", share: SHARE }]);
          break;
        case "keyExchange.finish":
          queue.push([role, { type: "crypto.finished" }]);
          break;
        case "identity.sign":
          queue.push([role, {
            type: "crypto.signed",
            identity: scenario[role].identity === undefined ? undefined : PROOF,
          }]);
          break;
        case "identity.verify":
          queue.push([role, {
            type: "crypto.verified",
            verdict: scenario.verdicts?.[role] ?? ANONYMOUS,
          }]);
          break;
      }
    }
  };
  const step = (role: Role, [snapshot, actions]: [AnyMachineSnapshot, ExecutableAction[]]) => {
    snapshots[role] = snapshot;
    if (snapshot.status === "active") visited.push([role, snapshot]);
    react(role, actions);
  };
  for (const role of ROLES) {
    step(role, coverage.initial(machineInput(role, { suite: SUITE, ...scenario[role] })));
  }
  for (let count = 0; count < 1_000 && queue.length > 0; count++) {
    const [role, event] = queue.shift()!;
    step(role, coverage.transition(snapshots[role], event));
  }
  return { visited, messages };
}

/** Messages that trip each meta-exchange failure guard, and others out of place. */
function craftedMessages(examples: readonly Message[]): Message[] {
  const find = <K extends Message["kind"]>(kind: K) =>
    examples.find((message) => message.kind === kind) as Extract<Message, { kind: K }>;
  const begin = find("beginMetaExchange");
  const end = find("endMetaExchange");
  return [
    { ...begin, version: { major: 2, minor: 0 } },
    { ...begin, secondaryKeyExchanges: [0x7777] },
    { ...begin, requireAuthentication: true, signatures: [0x0102] },
    { ...end, version: { major: 9, minor: 1 } },
    { ...end, hash: 0x7777 },
    { ...end, requireAuthentication: true, signatures: [0x0102] },
    { kind: "extenderData", extender: new Uint8Array(16), data: new Uint8Array(3) },
    { kind: "close", reason: 0 },
  ];
}

/** An event as the coverage recorder takes it: a type and any payload. */
type AnyEvent = EventObject & Readonly<Record<string, unknown>>;

/** Every event a handshake-family machine knows, for one snapshot. */
function handshakeEvents(
  coverage: TransitionCoverage,
  snapshot: AnyMachineSnapshot,
  messages: readonly Message[],
): AnyEvent[] {
  return [
    ...messages.map((message) =>
      HANDSHAKE_KINDS.has(message.kind)
        ? { type: `peer.${message.kind}`, message }
        : { type: "peer.other", message }
    ),
    { type: "peer.duplicate", ofLastTrigger: true },
    { type: "peer.duplicate", ofLastTrigger: false },
    { type: "crypto.offered", share: SHARE },
    { type: "crypto.answered", share: SHARE },
    { type: "crypto.finished" },
    { type: "crypto.signed", identity: undefined },
    { type: "crypto.signed", identity: PROOF },
    ...VERDICTS.map((verdict) => ({ type: "crypto.verified", verdict })),
    { type: "crypto.failed", code: ErrorCode.INVALID_PEER_KEY },
    { type: "transport.closed" },
    { type: "transport.invalidRecord", code: ErrorCode.DECRYPT_FAILED },
    { type: "local.abort" },
    ...coverage.delayedEvents(snapshot),
  ];
}

const HANDSHAKE_KINDS: ReadonlySet<string> = new Set([
  "beginMetaExchange",
  "endMetaExchange",
  "beginPrimaryKeyExchange",
  "endPrimaryKeyExchange",
  "beginSecondaryKeyExchange",
  "endSecondaryKeyExchange",
  "beginAuthentication",
  "endAuthentication",
  "beginSessionInit",
  "endSessionInit",
]);

function coverHandshakeFamily(name: string, machine: AnyStateMachine): TransitionCoverage {
  const coverage = new TransitionCoverage(name, machine);
  // Example messages of every kind, from a complete run of the full handshake.
  const examples = runPair(new TransitionCoverage("examples", handshakeMachine), SCENARIOS[0]!)
    .messages;
  const messages = [...examples, ...craftedMessages(examples)];
  for (const scenario of SCENARIOS) {
    const { visited } = runPair(coverage, scenario);
    for (const [, snapshot] of visited) {
      for (const event of handshakeEvents(coverage, snapshot, messages)) {
        coverage.transition(snapshot, event);
      }
    }
  }
  return coverage;
}

// ---------------------------------------------------------------------------
// The key-update cycle

const updateInput = (role: Role, datagram: boolean) => ({
  role,
  epoch: 2,
  interval: 60_000,
  maxDuration: 5_000,
  ...(datagram ? DATAGRAM : {}),
});

/** Runs both key-update cycles: `starts` request an update first; FIFO delivery. */
function runUpdates(
  coverage: TransitionCoverage,
  starts: readonly Role[],
  datagram: boolean,
): [Role, AnyMachineSnapshot][] {
  const snapshots = {} as Record<Role, AnyMachineSnapshot>;
  const queue: [Role, KeyUpdateEvent][] = [];
  const visited: [Role, AnyMachineSnapshot][] = [];
  const react = (role: Role, actions: readonly ExecutableAction[]): void => {
    for (const command of emitted<KeyUpdateCommand>(actions)) {
      if (command.type === "frame.send") {
        queue.push([
          other(role),
          { type: `peer.${command.message.kind}`, message: command.message } as KeyUpdateEvent,
        ]);
      } else if (command.type === "keyUpdate.offer") {
        queue.push([role, {
          type: "crypto.updateOffered",
          primaryShare: SHARE,
          secondaryShare: SHARE,
        }]);
      } else if (command.type === "keyUpdate.answer") {
        queue.push([role, {
          type: "crypto.updateAnswered",
          primaryShare: SHARE,
          secondaryShare: SHARE,
          nextInterval: 60_000,
        }]);
      } else if (command.type === "keyUpdate.finish") {
        queue.push([role, { type: "crypto.updateFinished", nextInterval: 60_000 }]);
      }
    }
  };
  const step = (role: Role, [snapshot, actions]: [AnyMachineSnapshot, ExecutableAction[]]) => {
    snapshots[role] = snapshot;
    if (snapshot.status === "active") visited.push([role, snapshot]);
    react(role, actions);
  };
  for (const role of ROLES) step(role, coverage.initial(updateInput(role, datagram)));
  for (const role of starts) {
    step(role, coverage.transition(snapshots[role], { type: "local.requestUpdate" }));
  }
  for (let count = 0; count < 200 && queue.length > 0; count++) {
    const [role, event] = queue.shift()!;
    step(role, coverage.transition(snapshots[role], event));
  }
  return visited;
}

/** Every event the key-update cycle knows, for one snapshot. */
function keyUpdateEvents(
  coverage: TransitionCoverage,
  snapshot: AnyMachineSnapshot,
): AnyEvent[] {
  const epoch = (snapshot.context as { epoch: number }).epoch;
  const shares = { primaryShare: SHARE, secondaryShare: SHARE };
  return [
    { type: "local.requestUpdate" },
    // The next epoch, one out of place, and a stale one (ignored on datagrams).
    ...[epoch + 1, epoch + 5, epoch].flatMap((next) => [
      { type: "peer.beginKeyUpdate", message: { kind: "beginKeyUpdate", epoch: next, ...shares } },
      { type: "peer.endKeyUpdate", message: { kind: "endKeyUpdate", epoch: next, ...shares } },
      { type: "peer.keyUpdateReady", message: { kind: "keyUpdateReady", epoch: next } },
    ]),
    { type: "peer.duplicate", ofLastTrigger: true },
    { type: "peer.duplicate", ofLastTrigger: false },
    { type: "crypto.updateOffered", ...shares },
    { type: "crypto.updateAnswered", ...shares, nextInterval: 1_000 },
    { type: "crypto.updateFinished", nextInterval: 1_000 },
    { type: "crypto.failed", code: ErrorCode.INVALID_PEER_KEY },
    ...coverage.delayedEvents(snapshot),
  ];
}

function coverKeyUpdate(): TransitionCoverage {
  const coverage = new TransitionCoverage("keyUpdate", keyUpdateMachine);
  for (const datagram of [false, true]) {
    for (const starts of [["initiator"], ["responder"], ["initiator", "responder"]] as const) {
      for (const [, snapshot] of runUpdates(coverage, starts, datagram)) {
        for (const event of keyUpdateEvents(coverage, snapshot)) {
          coverage.transition(snapshot, event);
        }
      }
    }
  }
  return coverage;
}

// ---------------------------------------------------------------------------

const MACHINES: readonly [string, () => TransitionCoverage][] = [
  ["handshake", () => coverHandshakeFamily("handshake", handshakeMachine)],
  ["metaExchange", () => coverHandshakeFamily("metaExchange", metaExchangeMachine)],
  [
    "primaryKeyExchange",
    () => coverHandshakeFamily("primaryKeyExchange", primaryKeyExchangeMachine),
  ],
  [
    "secondaryKeyExchange",
    () => coverHandshakeFamily("secondaryKeyExchange", secondaryKeyExchangeMachine),
  ],
  ["authentication", () => coverHandshakeFamily("authentication", authenticationMachine)],
  ["sessionInit", () => coverHandshakeFamily("sessionInit", sessionInitMachine)],
  ["keyUpdate", coverKeyUpdate],
];

Deno.test("every transition of every statechart is taken by a pure scenario", async (t) => {
  const lines: string[] = [];
  for (const [name, cover] of MACHINES) {
    await t.step(name, () => {
      const report = cover().report();
      const line = `${name}: transitions covered: ${report.covered}/${report.total}`;
      lines.push(line);
      console.log(line);
      for (const label of report.uncovered) console.log(`  uncovered: ${label}`);
      assert.ok(report.total > 0);
      assert.deepEqual(report.uncovered, [], `${name} has transitions no scenario takes`);
    });
  }
  assert.equal(lines.length, MACHINES.length);
});

Deno.test("TransitionCoverage() enumerates transitions from the machine definition", () => {
  const coverage = new TransitionCoverage("sessionInit", sessionInitMachine);
  const labels = coverage.labels;
  // Root-level transitions shared by every phase machine.
  for (const event of ["peer.*", "transport.closed", "local.abort", "crypto.failed"]) {
    assert.ok(labels.some((label) => label.startsWith(`#sessionInit --${event}`)), event);
  }
  // Eventless, guarded, delayed and done transitions.
  assert.ok(
    labels.includes(
      "#sessionInit.sessionInit.start --always [isResponder]--> #sessionInit.sessionInit.awaitingPeerExtenders",
    ),
  );
  assert.ok(labels.some((label) => label.includes("--after phaseTimeout--> #failed")));
  assert.ok(
    labels.some((label) =>
      label.includes("--xstate.done.state.sessionInit.sessionInit--> #sessionInit.completed")
    ),
  );
  // Nothing taken yet.
  assert.equal(coverage.report().covered, 0);
});

Deno.test("TransitionCoverage() reports the transitions a scenario leaves out", () => {
  const coverage = new TransitionCoverage("sessionInit", sessionInitMachine);
  // Only the success path of both roles, no exploration.
  runPair(coverage, SCENARIOS[0]!);
  const report = coverage.report();
  assert.ok(report.covered > 0 && report.covered < report.total, JSON.stringify(report));
  for (
    const taken of [
      "--always [isResponder]",
      "--always[1] [isInitiator]",
      "--peer.beginSessionInit [isInitiator]",
      "--peer.endSessionInit [isResponder]",
      "--xstate.done.state.sessionInit.sessionInit",
    ]
  ) {
    assert.ok(!report.uncovered.some((label) => label.includes(taken)), `${taken} not recorded`);
  }
  for (const missed of ["--peer.*-->", "--transport.closed-->", "--after phaseTimeout-->"]) {
    assert.ok(report.uncovered.some((label) => label.includes(missed)), `${missed} recorded`);
  }
  assert.equal(report.covered + report.uncovered.length, report.total);
});

/**
 * A pure harness for the handshake statecharts: both peers folded through
 * `transition()`, with a cheap deterministic stand-in for the runtime's
 * crypto work. The stand-in is NOT cryptography: key shares are fixed bytes
 * and every verification answers with the verdict the test chooses. Tests of
 * real crypto run through the session runtime instead.
 */

import { type AnyMachineSnapshot, initialTransition, transition } from "xstate";
import { handshakeMachine } from "../machines/handshake.ts";
import type { HandshakeCommand, HandshakeEvent, HandshakeInput, Role } from "../machines/_setup.ts";
import { DEFAULT_PREFERENCES, type PeerVerdict } from "../src/handshake_policy.ts";

/** The handshake snapshot type. */
export type HandshakeSnapshot = ReturnType<typeof initialTransition<typeof handshakeMachine>>[0];

/** Builds a statechart input with defaults for one role. */
export function machineInput(role: Role, overrides: Partial<HandshakeInput> = {}): HandshakeInput {
  return {
    role,
    sessionId: role === "initiator" ? "1111111111111111" : "2222222222222222",
    preferences: DEFAULT_PREFERENCES,
    requireAuthentication: false,
    extenders: [],
    timeouts: { phase: 1_000, handshake: 10_000 },
    ...overrides,
  };
}

/** The commands (emitted events) among executable actions, built-ins removed. */
export function commandsOf(
  actions: readonly { type: string; params?: unknown }[],
): HandshakeCommand[] {
  return actions
    .filter((action) => action.type === "xstate.emit")
    .map((action) => (action.params as { event: HandshakeCommand }).event);
}

/** A verdict for an anonymous peer. */
export const ANONYMOUS: PeerVerdict = { presented: false, signatureValid: false, access: "none" };

/** Options of {@linkcode runPair}. */
export interface PairOptions {
  initiator?: Partial<HandshakeInput>;
  responder?: Partial<HandshakeInput>;
  /** The verdict each side's runtime reports about its peer. */
  verdicts?: { initiator?: PeerVerdict; responder?: PeerVerdict };
  /** Rewrites or drops a frame in flight; return `undefined` to drop. */
  channel?: (from: Role, event: HandshakeEvent) => HandshakeEvent | undefined;
  /** Every snapshot each side passes through. */
  visit?: (role: Role, snapshot: AnyMachineSnapshot, event: HandshakeEvent | undefined) => void;
}

/** Final snapshots and every command each side emitted. */
export interface PairResult {
  initiator: HandshakeSnapshot;
  responder: HandshakeSnapshot;
  commands: { initiator: HandshakeCommand[]; responder: HandshakeCommand[] };
}

/** Runs both statecharts to completion with the stand-in runtime, in FIFO delivery order. */
export function runPair(options: PairOptions = {}): PairResult {
  const queue: [Role, HandshakeEvent][] = [];
  const snapshots = {} as Record<Role, HandshakeSnapshot>;
  const commands: Record<Role, HandshakeCommand[]> = { initiator: [], responder: [] };
  const other = (role: Role): Role => (role === "initiator" ? "responder" : "initiator");
  const share = new Uint8Array(32).fill(7);

  const react = (role: Role, emitted: HandshakeCommand[]): void => {
    for (const command of emitted) {
      commands[role].push(command);
      switch (command.type) {
        case "frame.send": {
          const event = {
            type: `peer.${command.message.kind}`,
            message: command.message,
          } as HandshakeEvent;
          const delivered = options.channel ? options.channel(role, event) : event;
          if (delivered !== undefined) queue.push([other(role), delivered]);
          break;
        }
        case "keyExchange.offer":
          queue.push([role, { type: "crypto.offered", share }]);
          break;
        case "keyExchange.answer":
          queue.push([role, { type: "crypto.answered", share }]);
          break;
        case "keyExchange.finish":
          queue.push([role, { type: "crypto.finished" }]);
          break;
        case "identity.sign":
          queue.push([role, { type: "crypto.signed", identity: undefined }]);
          break;
        case "identity.verify":
          queue.push([role, {
            type: "crypto.verified",
            verdict: options.verdicts?.[role] ?? ANONYMOUS,
          }]);
          break;
      }
    }
  };

  for (const role of ["initiator", "responder"] as const) {
    const [snapshot, actions] = initialTransition(
      handshakeMachine,
      machineInput(role, options[role]),
    );
    snapshots[role] = snapshot;
    options.visit?.(role, snapshot, undefined);
    react(role, commandsOf(actions));
  }
  for (let step = 0; step < 1_000 && queue.length > 0; step++) {
    const [role, event] = queue.shift()!;
    const [snapshot, actions] = transition(handshakeMachine, snapshots[role], event);
    snapshots[role] = snapshot;
    options.visit?.(role, snapshot, event);
    react(role, commandsOf(actions));
  }
  return { initiator: snapshots.initiator, responder: snapshots.responder, commands };
}

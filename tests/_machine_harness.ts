/**
 * A pure harness for the handshake statecharts: both peers folded through
 * `transition()` by the stand-in runtime (`src/viz/_standin.ts`). The
 * stand-in is NOT cryptography: key shares are fixed bytes and every
 * verification answers with the verdict the test chooses. Tests of real
 * crypto run through the session runtime instead.
 */

import { type AnyMachineSnapshot, initialTransition, transition } from "xstate";
import { handshakeMachine } from "../machines/handshake.ts";
import type { Message } from "../src/codec/message_types.ts";
import type { HandshakeCommand, HandshakeEvent, HandshakeInput, Role } from "../machines/_setup.ts";
import type { PeerVerdict } from "../src/handshake_policy.ts";
import { ANONYMOUS, fixedStandIn, runStandInPair, standInInput } from "../src/viz/_standin.ts";

/** The stand-in's verdict, command filter and input builder, under the names tests use. */
export { ANONYMOUS, commandsOf, standInInput as machineInput } from "../src/viz/_standin.ts";

/** The handshake snapshot type. */
export type HandshakeSnapshot = ReturnType<typeof initialTransition<typeof handshakeMachine>>[0];

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
  /** Every message each side sent (by `frame.send` or by a crypto command), in order. */
  messages: { initiator: Message[]; responder: Message[] };
}

/** Runs both statecharts to completion with the stand-in runtime, in FIFO delivery order. */
export function runPair(options: PairOptions = {}): PairResult {
  const commands: Record<Role, HandshakeCommand[]> = { initiator: [], responder: [] };
  const messages: Record<Role, Message[]> = { initiator: [], responder: [] };
  const { channel, visit } = options;
  const snapshots = runStandInPair<HandshakeSnapshot>({
    initial: (role) => initialTransition(handshakeMachine, standInInput(role, options[role])),
    transition: (_, snapshot, event) =>
      transition(handshakeMachine, snapshot, event as HandshakeEvent),
    crypto: (role) => fixedStandIn({ verdict: options.verdicts?.[role] ?? ANONYMOUS }),
    ...(channel === undefined ? {} : {
      channel: (from, event) => channel(from, event as HandshakeEvent),
    }),
    observe: (role, snapshot, event, emitted) => {
      visit?.(role, snapshot, event as HandshakeEvent | undefined);
      commands[role].push(...(emitted as HandshakeCommand[]));
    },
    sent: (role, message) => void messages[role].push(message),
  });
  return { initiator: snapshots.initiator, responder: snapshots.responder, commands, messages };
}

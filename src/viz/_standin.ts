/**
 * The stand-in runtime: what executes the statecharts' commands where no real
 * cryptography runs. The machine tests, the transition-coverage drivers, the
 * exhaustive exploration and the simulated traces all drive the real
 * statecharts of `machines/` through it.
 *
 * **It is not cryptography.** A {@linkcode StandInCrypto} answers each crypto
 * command (a key share, the end of an exchange, a proof, a verdict, the shares
 * and interval of a key update) with what its user chose: fixed bytes and
 * verdicts ({@linkcode fixedStandIn}), or a model that keeps the protocol's
 * dependencies by hashing ({@linkcode standInHash}, the exploration's).
 * {@linkcode standInEffect} turns one command into the message it sends and
 * the event that feeds its result back, {@linkcode runStandInPair} runs both roles back to back in FIFO
 * order, and {@linkcode standInInput} builds a statechart input with defaults.
 * Commands that need no crypto (`frame.send`, `keys.*`, `flight.retransmit`)
 * stay with each user, which models its own channel; the ready phase's reports
 * (`message.deliver`, `extenders.record`, `keyUpdate.done`, `session.settled`,
 * `session.ended`) need no answer ({@linkcode isReport}). The vocabulary its users
 * share lives here too: {@linkcode ROLES}, {@linkcode otherRole},
 * {@linkcode commandsOf}, {@linkcode equalBytes}, the default suite and share.
 *
 * Everything here is pure and deterministic: it runs under XState's pure
 * `transition()` for exhaustive exploration.
 *
 * @module
 */

import { equalBytes as equalPublicBytes } from "../codec/_bytes.ts";
import type { EventObject } from "xstate";
import { sha256 } from "@noble/hashes/sha2.js";
import type {
  HandshakeCommand,
  HandshakeEvent,
  HandshakeInput,
  KeyExchangeSlot,
  Role,
} from "../../machines/_setup.ts";
import type { ReadyCommand, ReadyEvent } from "../../machines/_ready_setup.ts";
import type { ErrorCode } from "../errors.ts";
import type { AuthenticationMessage, Message } from "../codec/message_types.ts";
import { bytesToHex } from "../_hex.ts";
import {
  DEFAULT_PREFERENCES,
  type NegotiatedSuite,
  type PeerVerdict,
} from "../handshake_policy.ts";

/** A command of the handshake or a ready-phase statechart (ready, key update). */
export type StandInCommand = HandshakeCommand | ReadyCommand;

/** An event of the handshake or a ready-phase statechart (ready, key update). */
export type StandInEvent = HandshakeEvent | ReadyEvent;

/** The ready phase's reports to the application: the runtime acts on them, nothing answers. */
const REPORTS: ReadonlySet<string> = new Set([
  "message.deliver",
  "extenders.record",
  "keyUpdate.done",
  "session.settled",
  "session.ended",
]);

/**
 * Whether a command only reports to the application (data delivered,
 * extenders recorded, a key update done, how the session ends settled, the
 * session ended): no event answers it.
 *
 * @param command A command of any statechart.
 * @returns `true` for a report.
 */
export function isReport(command: StandInCommand): boolean {
  return REPORTS.has(command.type);
}

/** An executable action as `transition()` returns it. */
export interface ExecutableAction {
  /** `xstate.emit`, `xstate.raise`, `xstate.cancel`, … */
  readonly type: string;
  /** The action's parameters (for `xstate.emit`, `{ event }`). */
  readonly params?: unknown;
}

/** The identity a signer presents in its authentication message. */
export type StandInIdentity = AuthenticationMessage<"beginAuthentication">["identity"];

/** A key-update exchange's two shares. */
export interface StandInShares {
  /** The classical share. */
  readonly primaryShare: Uint8Array;
  /** The post-quantum share. */
  readonly secondaryShare: Uint8Array;
}

/** Why the stand-in refuses a peer's share (the runtime would fail with `code`). */
export interface StandInRefusal {
  /** The code of the `crypto.failed` event. */
  readonly code: ErrorCode;
}

/** What a stand-in answers to each crypto command of one side. */
export interface StandInCrypto {
  /** The share this side offers (`keyExchange.offer`). */
  offer(slot: KeyExchangeSlot): Uint8Array;
  /** This side's answer to the peer's share, or a refusal (`keyExchange.answer`). */
  answer(slot: KeyExchangeSlot, peerShare: Uint8Array): Uint8Array | StandInRefusal;
  /** `undefined` when the peer's answer completes the exchange, else a refusal. */
  finish(slot: KeyExchangeSlot, peerShare: Uint8Array): StandInRefusal | undefined;
  /** The identity this side presents (`identity.prove`), `undefined` when anonymous. */
  sign(): StandInIdentity;
  /** The verdict about the peer's authentication message (`identity.verify`). */
  verify(message: AuthenticationMessage<"beginAuthentication" | "endAuthentication">): PeerVerdict;
  /** The shares of a key update this side offers or answers with. */
  updateShares(part: "offer" | "answer"): StandInShares;
  /** The next key-update interval in ms, as the runtime would draw it. */
  readonly nextInterval: number;
}

/** A verdict about a peer that presented no identity. */
export const ANONYMOUS: PeerVerdict = { presented: false, signatureValid: false, access: "none" };

/** The suite both sides negotiate from the default preferences. */
export const STANDIN_SUITE: NegotiatedSuite = {
  primaryKeyExchange: "X25519",
  secondaryKeyExchange: "ML-KEM-768",
  aead: "ChaCha20-Poly1305",
  hash: "SHA-256",
};

/** The key share {@linkcode fixedStandIn} answers with by default: 32 bytes of 7. */
export const STANDIN_SHARE: Uint8Array = new Uint8Array(32).fill(7);

/** Both roles, initiator first. */
export const ROLES: readonly Role[] = ["initiator", "responder"];

/** The other end of the connection. */
export function otherRole(role: Role): Role {
  return role === "initiator" ? "responder" : "initiator";
}

/**
 * The commands (emitted events) among executable actions, built-ins removed.
 *
 * @param actions The actions a pure step returned.
 * @returns The `xstate.emit` events, in order.
 */
export function commandsOf<C = HandshakeCommand>(actions: readonly ExecutableAction[]): C[] {
  return actions
    .filter((action) => action.type === "xstate.emit")
    .map((action) => (action.params as { event: C }).event);
}

/**
 * Whether two byte strings are present and equal (not constant-time; for
 * public data only).
 */
export function equalBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && equalPublicBytes(a, b);
}

/**
 * A statechart input for one role: session id `1111…` or `2222…`, the default
 * preferences, no authentication, no extenders, a 1 s phase and 10 s
 * handshake deadline, then `overrides`.
 */
export function standInInput(role: Role, overrides: Partial<HandshakeInput> = {}): HandshakeInput {
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

const encoder = new TextEncoder();

/**
 * A short hash as hex (8 bytes of SHA-256 over the length-prefixed parts):
 * the stand-in for every derivation of the hashing model.
 */
export function standInHash(...parts: readonly (string | Uint8Array)[]): string {
  const hash = sha256.create();
  for (const part of parts) {
    const bytes = typeof part === "string" ? encoder.encode(part) : part;
    hash.update(new Uint8Array([bytes.length >>> 8, bytes.length & 0xff])).update(bytes);
  }
  return bytesToHex(hash.digest().subarray(0, 8));
}

/** Options of {@linkcode fixedStandIn}. */
export interface FixedStandInOptions {
  /** The share for every exchange (default {@linkcode STANDIN_SHARE}), or one per slot and part. */
  readonly share?: Uint8Array | ((slot: KeyExchangeSlot, part: "offer" | "answer") => Uint8Array);
  /** The identity presented (default none). */
  readonly identity?: StandInIdentity;
  /** The verdict about every peer (default {@linkcode ANONYMOUS}). */
  readonly verdict?: PeerVerdict;
  /** The next key-update interval (default 60 s). */
  readonly nextInterval?: number;
}

/** A stand-in that accepts every share and answers with fixed bytes and verdicts. */
export function fixedStandIn(options: FixedStandInOptions = {}): StandInCrypto {
  const { share = STANDIN_SHARE, identity, verdict = ANONYMOUS } = options;
  const shareOf = (slot: KeyExchangeSlot, part: "offer" | "answer"): Uint8Array =>
    typeof share === "function" ? share(slot, part) : share;
  return {
    offer: (slot) => shareOf(slot, "offer"),
    answer: (slot) => shareOf(slot, "answer"),
    finish: () => undefined,
    sign: () => identity,
    verify: () => verdict,
    updateShares: (part) => ({
      primaryShare: shareOf("primary", part),
      secondaryShare: shareOf("secondary", part),
    }),
    nextInterval: options.nextInterval ?? 60_000,
  };
}

/** What a stand-in runtime does for one command: a message to send, an event to feed back. */
export interface StandInEffect {
  /** The message the command sends (an offer, an answer, a proof). */
  readonly send?: Message;
  /** The event that feeds the command's result (or failure) back to its statechart. */
  readonly event?: StandInEvent;
}

/**
 * What the stand-in does for one command: the message a crypto command sends
 * (an offer, an answer, a proof) and the event that feeds a result back.
 *
 * @param command A command of the handshake or a ready-phase statechart.
 * @param crypto What this side answers.
 * @returns The effect, empty for a command that is not crypto work
 *   (`frame.send`, `keys.*`, `flight.retransmit`, …), which each user models,
 *   or that only reports ({@linkcode isReport}).
 */
export function standInEffect(command: StandInCommand, crypto: StandInCrypto): StandInEffect {
  switch (command.type) {
    case "keyExchange.offer":
      return { send: { kind: command.kind, share: crypto.offer(command.slot) } };
    case "keyExchange.answer": {
      const answer = crypto.answer(command.slot, command.share);
      return answer instanceof Uint8Array
        ? { send: { kind: command.kind, share: answer } }
        : { event: { type: "crypto.failed", code: answer.code, phase: phaseOfSlot(command.slot) } };
    }
    case "keyExchange.finish": {
      const refusal = crypto.finish(command.slot, command.share);
      return refusal === undefined ? {} : {
        event: { type: "crypto.failed", code: refusal.code, phase: phaseOfSlot(command.slot) },
      };
    }
    case "identity.prove": {
      const identity = crypto.sign();
      return {
        send: identity === undefined ? { kind: command.kind } : { kind: command.kind, identity },
      };
    }
    case "identity.verify":
      return { event: { type: "crypto.verified", verdict: crypto.verify(command.message) } };
    case "keyUpdate.offer":
      return { event: { type: "crypto.updateOffered", ...crypto.updateShares("offer") } };
    case "keyUpdate.answer":
      return {
        event: {
          type: "crypto.updateAnswered",
          ...crypto.updateShares("answer"),
          nextInterval: crypto.nextInterval,
        },
      };
    case "keyUpdate.finish":
      return { event: { type: "crypto.updateFinished", nextInterval: crypto.nextInterval } };
    case "message.deliver":
    case "extenders.record":
    case "keyUpdate.done":
    case "session.settled":
    case "session.ended":
      // Reports to the application: nothing answers them.
      return {};
    default:
      return {};
  }
}

function phaseOfSlot(slot: KeyExchangeSlot): "primaryKeyExchange" | "secondaryKeyExchange" {
  return slot === "primary" ? "primaryKeyExchange" : "secondaryKeyExchange";
}

/** Both roles of a statechart, as {@linkcode runStandInPair} drives them. */
export interface StandInPair<S> {
  /** Like `initialTransition()` for `role`. */
  initial(role: Role): readonly [S, readonly ExecutableAction[]];
  /** Like `transition()` for `role`. */
  transition(
    role: Role,
    snapshot: S,
    event: EventObject,
  ): readonly [S, readonly ExecutableAction[]];
  /** What `role`'s runtime answers. */
  crypto(role: Role): StandInCrypto;
  /** Local events each listed role takes after both initial steps, before any delivery. */
  readonly requests?: readonly (readonly [Role, EventObject])[];
  /** Rewrites or drops a frame in flight; return `undefined` to drop. */
  channel?(from: Role, event: StandInEvent): StandInEvent | undefined;
  /** Sees every snapshot each side passes through and the commands of that step. */
  observe?(
    role: Role,
    snapshot: S,
    event: EventObject | undefined,
    commands: readonly StandInCommand[],
  ): void;
  /** Sees every message a side sends (by `frame.send` or by a crypto command). */
  sent?(role: Role, message: Message): void;
  /** The most events delivered (default 1,000). */
  readonly maxSteps?: number;
}

/**
 * Runs both roles to completion in FIFO order: a frame a side sends is
 * delivered to the other as `peer.<kind>`, a crypto command's stand-in result
 * comes back to the side that asked.
 *
 * @param pair The statechart's steps, the stand-ins and the hooks.
 * @returns Each role's last snapshot.
 */
export function runStandInPair<S>(pair: StandInPair<S>): Record<Role, S> {
  const snapshots = {} as Record<Role, S>;
  const queue: [Role, EventObject][] = [];
  const crypto = { initiator: pair.crypto("initiator"), responder: pair.crypto("responder") };
  const apply = (
    role: Role,
    [snapshot, actions]: readonly [S, readonly ExecutableAction[]],
    event: EventObject | undefined,
  ): void => {
    snapshots[role] = snapshot;
    const commands = commandsOf<StandInCommand>(actions);
    pair.observe?.(role, snapshot, event, commands);
    for (const command of commands) {
      const effect = command.type === "frame.send"
        ? { send: command.message }
        : standInEffect(command, crypto[role]);
      if (effect.send !== undefined) {
        pair.sent?.(role, effect.send);
        const sent = { type: `peer.${effect.send.kind}`, message: effect.send };
        const delivered = pair.channel
          ? pair.channel(role, sent as StandInEvent)
          : (sent as StandInEvent);
        if (delivered !== undefined) queue.push([otherRole(role), delivered]);
      }
      if (effect.event !== undefined) queue.push([role, effect.event]);
    }
  };
  for (const role of ["initiator", "responder"] as const) {
    apply(role, pair.initial(role), undefined);
  }
  for (const [role, event] of pair.requests ?? []) {
    apply(role, pair.transition(role, snapshots[role], event), event);
  }
  const maxSteps = pair.maxSteps ?? 1_000;
  for (let step = 0; step < maxSteps && queue.length > 0; step++) {
    const [role, event] = queue.shift()!;
    apply(role, pair.transition(role, snapshots[role], event), event);
  }
  return snapshots;
}

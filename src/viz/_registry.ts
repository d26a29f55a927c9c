/**
 * The one list of statecharts the viz tooling knows: `deno task viz`, the
 * staleness test and the inspector all read {@linkcode STATECHARTS}.
 *
 * Adding a machine (e.g. `machines/key_update.ts`) is one import and one
 * entry below. The machine objects stay in this private file: the public
 * API names statecharts by id and returns plain data, because JSR rejects
 * inferred XState types in public signatures.
 *
 * @module
 */

import type { AnyStateMachine } from "xstate";
import type { HandshakeInput } from "../../machines/_setup.ts";
import type { KeyUpdateInput } from "../../machines/key_update.ts";
import { DEFAULT_PREFERENCES } from "../handshake_policy.ts";
import { standalonePhase } from "../../machines/_setup.ts";
import { metaExchangePhase } from "../../machines/meta_exchange.ts";
import { primaryKeyExchangePhase } from "../../machines/primary_key_exchange.ts";
import { secondaryKeyExchangePhase } from "../../machines/secondary_key_exchange.ts";
import { authenticationPhase } from "../../machines/authentication.ts";
import { sessionInitPhase } from "../../machines/session_init.ts";
import { datagramHandshakeMachine } from "../../machines/handshake.ts";
import { keyUpdateMachine } from "../../machines/key_update.ts";
import { datagramReadyMachine } from "../../machines/ready.ts";
import type { ReadyInput } from "../../machines/_ready_setup.ts";

/** One registered statechart. */
export interface RegisteredStatechart {
  /** The name used by the public API and the diagram file names. */
  readonly id: string;
  /** One sentence for listings and diagram titles. */
  readonly description: string;
  /** The defining file, relative to the repository root. */
  readonly source: string;
  /** The machine itself (private: never part of a public type). */
  readonly machine: AnyStateMachine;
  /**
   * A valid public input. The exporter evaluates emitted-command expressions
   * against the initial context built from it, to learn which message kind a
   * `send…` action puts on the wire; the simulator starts peers from it.
   */
  readonly sampleInput: unknown;
}

/** A valid handshake input with a settled suite, for probing emitted commands. */
export const SAMPLE_HANDSHAKE_INPUT: HandshakeInput = {
  role: "responder",
  sessionId: "0000000000000000",
  preferences: DEFAULT_PREFERENCES,
  requireAuthentication: false,
  extenders: [],
  timeouts: { phase: 10_000, handshake: 30_000 },
  suite: {
    primaryKeyExchange: "X25519",
    secondaryKeyExchange: "ML-KEM-768",
    aead: "ChaCha20-Poly1305",
    hash: "SHA-256",
  },
};

/** A valid key-update input, for probing emitted commands. */
export const SAMPLE_KEY_UPDATE_INPUT: KeyUpdateInput = {
  role: "responder",
  epoch: 2,
  interval: 300_000,
  maxDuration: 10_000,
};

/** A valid ready-phase input, for probing emitted commands. */
export const SAMPLE_READY_INPUT: ReadyInput = {
  role: "responder",
  epoch: 2,
  interval: 300_000,
  maxDuration: 10_000,
};

/**
 * Every statechart, phases first in protocol order, then their composition,
 * then what runs after `ready`. A new machine is one more entry. The
 * handshake and its phases are drawn as built for datagrams, the complete
 * specification: on a stream the same statecharts lack only the
 * retransmission transitions and the duplicate rule (PROTOCOL.md §5.6).
 */
export const STATECHARTS: readonly RegisteredStatechart[] = [
  {
    id: "metaExchange",
    description: "Phase 1: protocol version, session ids, authentication policy, algorithm choice",
    source: "machines/meta_exchange.ts",
    machine: standalonePhase("metaExchange", metaExchangePhase("datagram"), "datagram"),
    sampleInput: SAMPLE_HANDSHAKE_INPUT,
  },
  {
    id: "primaryKeyExchange",
    description: "Phase 2: the classical key exchange; records switch to epoch 1",
    source: "machines/primary_key_exchange.ts",
    machine: standalonePhase("primaryKeyExchange", primaryKeyExchangePhase("datagram"), "datagram"),
    sampleInput: SAMPLE_HANDSHAKE_INPUT,
  },
  {
    id: "secondaryKeyExchange",
    description: "Phase 3: the post-quantum key exchange; records switch to epoch 2",
    source: "machines/secondary_key_exchange.ts",
    machine: standalonePhase(
      "secondaryKeyExchange",
      secondaryKeyExchangePhase("datagram"),
      "datagram",
    ),
    sampleInput: SAMPLE_HANDSHAKE_INPUT,
  },
  {
    id: "authentication",
    description: "Phase 4: identity proofs over the transcript hash",
    source: "machines/authentication.ts",
    machine: standalonePhase("authentication", authenticationPhase("datagram"), "datagram"),
    sampleInput: SAMPLE_HANDSHAKE_INPUT,
  },
  {
    id: "sessionInit",
    description: "Phase 5: each side announces its extenders",
    source: "machines/session_init.ts",
    machine: standalonePhase("sessionInit", sessionInitPhase("datagram"), "datagram"),
    sampleInput: SAMPLE_HANDSHAKE_INPUT,
  },
  {
    id: "handshake",
    description: "The handshake: the five phases in order, then ready",
    source: "machines/handshake.ts",
    machine: datagramHandshakeMachine,
    sampleInput: SAMPLE_HANDSHAKE_INPUT,
  },
  {
    id: "ready",
    description:
      "After ready: data and extender updates, key updates and the close handshake, side by side",
    source: "machines/ready.ts",
    machine: datagramReadyMachine,
    sampleInput: SAMPLE_READY_INPUT,
  },
  {
    id: "keyUpdate",
    description: "After ready: either side rotates the keys with fresh classical + PQ secrets",
    source: "machines/key_update.ts",
    machine: keyUpdateMachine,
    sampleInput: SAMPLE_KEY_UPDATE_INPUT,
  },
];

/**
 * Looks up a registered statechart by id.
 *
 * @param name The statechart id.
 * @param what What the caller was doing, for the error message.
 * @returns The registered statechart.
 * @throws {RangeError} If no statechart has that id.
 */
export function findStatechart(name: string, what: string): RegisteredStatechart {
  const found = STATECHARTS.find((entry) => entry.id === name);
  if (found === undefined) {
    const known = STATECHARTS.map((entry) => `"${entry.id}"`).join(", ");
    throw new RangeError(`Cannot ${what}: unknown statechart "${name}", expected one of ${known}`);
  }
  return found;
}

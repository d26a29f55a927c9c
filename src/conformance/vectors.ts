/**
 * Handshake known-answer vectors: their JSON shape, and how qgate runs one
 * endpoint of a vector with every random input fixed.
 *
 * A vector fixes everything an endpoint would draw at random: its 16-byte
 * record salt, its 8-byte session id and the randomness of each key
 * exchange (in call order: the primary exchange, then the secondary one).
 * Padding, noise and handshake delays are off. With those inputs an endpoint
 * is deterministic, so the bytes it writes in answer to the peer's recorded
 * bytes are known in advance. See `RUNNER.md` for the JSON-lines contract
 * through which an implementation in any language is driven through them.
 *
 * @module
 */

import { AccessManager } from "../session/access_manager.ts";
import { initiate, respond, type Session } from "../session/session.ts";
import type { SessionOptions } from "../session/options.ts";
import type { Transport } from "../transport/transport.ts";
import { ErrorCode, HandshakeError, QGateError } from "../errors.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import type { AeadName, HashName, KeyExchangeName, SignatureName } from "../crypto/types.ts";
import { bytesToHex, hexToBytes } from "../_hex.ts";
import { instrumentBackend } from "./_instrumented_backend.ts";
import { type PhaseName, phaseOfState } from "./_mutations.ts";
import type { HandshakePhase } from "./adapter.ts";

/** One endpoint's configuration in a vector (bytes as lowercase hex). */
export interface VectorEndpointConfig {
  /** `"initiator"` or `"responder"`. */
  readonly role: "initiator" | "responder";
  /** Ordered preferences per category, as registry names. */
  readonly algorithms: {
    readonly primaryKeyExchanges: readonly KeyExchangeName[];
    readonly secondaryKeyExchanges: readonly KeyExchangeName[];
    readonly aeads: readonly AeadName[];
    readonly hashes: readonly HashName[];
    readonly signatures: readonly SignatureName[];
  };
  /** Whether the peer must authenticate. */
  readonly requireAuthentication: boolean;
  /** The identity key pair (Ed25519: the 32-byte RFC 8032 private key), if any. */
  readonly identity?: {
    readonly algorithm: SignatureName;
    readonly publicKey: string;
    readonly secretKey: string;
  };
  /** Known peers: PeerUUID, public key, allowed or denied. */
  readonly accessList: readonly {
    readonly uuid: string;
    readonly publicKey: string;
    readonly allowed: boolean;
  }[];
  /** The Global Shared Secret, if any. */
  readonly globalSharedSecret?: string;
  /** Handshake timeouts in ms. */
  readonly timeouts: { readonly phase: number; readonly handshake: number };
  /** Extender UUIDs this endpoint announces. */
  readonly extenders: readonly string[];
  /** The exporter query answered at ready. */
  readonly exporter: { readonly label: string; readonly context: string; readonly length: number };
}

/** The random inputs of one endpoint in a vector (hex). */
export interface VectorInputs {
  /** The 16-byte salt its record stream starts with. */
  readonly salt: string;
  /** Its 8-byte session id. */
  readonly sessionId: string;
  /**
   * The randomness each key exchange draws, in call order (primary, then
   * secondary): X25519/X448 the 32/56-byte secret key (RFC 7748), ML-KEM an
   * offer's 64-byte seed d ‖ z and an answer's 32-byte message m (FIPS 203).
   */
  readonly keyExchange: readonly string[];
}

/** How an endpoint must end (or ended). */
export type VectorOutcome =
  | {
    /** It reached ready. */
    readonly status: "ready";
    /** The negotiated suite (registry names). */
    readonly suite?: {
      readonly primaryKeyExchange: string;
      readonly secondaryKeyExchange: string;
      readonly aead: string;
      readonly hash: string;
    };
    /** The peer UUID it reports; `null` when the peer did not authenticate. */
    readonly peerUuid?: string | null;
    /** Whether the peer authenticated. */
    readonly authenticated?: boolean;
    /** Exporter output for the config's query, hex. */
    readonly exporter?: string;
  }
  | { readonly status: "failed"; readonly code: string; readonly phase?: HandshakePhase };

/** One record of a positive vector, as the specification reads it. */
export interface VectorRecord {
  /** Index in its direction (the header mask position). */
  readonly index: number;
  /** The epoch whose keys sealed it. */
  readonly epoch: number;
  /** The AEAD counter (nonce) it was sealed with. */
  readonly counter: number;
  /** The message type byte. */
  readonly type: number;
  /** The message kind. */
  readonly kind: string;
  /** The record as on the wire: masked length ‖ ciphertext. */
  readonly wire: string;
  /** The message body. */
  readonly body: string;
}

/** A handshake that must succeed, byte for byte. */
export interface PositiveVector {
  /** Test case number, unique in its file. */
  readonly tcId: number;
  /** Stable name of the case. */
  readonly id: string;
  /** What the case shows. */
  readonly comment: string;
  /** Wycheproof-style verdict: the handshake must succeed. */
  readonly result: "valid";
  /** Labels for filtering (e.g. the authentication mode). */
  readonly flags: readonly string[];
  /** The suite both sides must negotiate (registry names). */
  readonly suite: {
    readonly primaryKeyExchange: string;
    readonly secondaryKeyExchange: string;
    readonly aead: string;
    readonly hash: string;
  };
  /** Each endpoint's options. */
  readonly config: {
    readonly initiator: VectorEndpointConfig;
    readonly responder: VectorEndpointConfig;
  };
  /** Each endpoint's random seed and identity. */
  readonly inputs: { readonly initiator: VectorInputs; readonly responder: VectorInputs };
  /** Every byte each side wrote, salt first. */
  readonly streams: { readonly i2r: string; readonly r2i: string };
  /** Every record of each direction, opened. */
  readonly records: {
    readonly i2r: readonly VectorRecord[];
    readonly r2i: readonly VectorRecord[];
  };
  /** The order records were written in, e.g. `["r2i:0", "i2r:0", …]`. */
  readonly order: readonly string[];
  /** The two shared secrets (primary, secondary). */
  readonly sharedSecrets: { readonly primary: string; readonly secondary: string };
  /** `th1` (after EndPrimaryKeyExchange) and `th2` (after EndSecondaryKeyExchange). */
  readonly transcriptHashes: { readonly th1: string; readonly th2: string };
  /** The exporter query and its output (both sides). */
  readonly exporter: {
    readonly label: string;
    readonly context: string;
    readonly length: number;
    readonly output: string;
  };
  /** How each side's handshake ends. */
  readonly final: { readonly initiator: VectorOutcome; readonly responder: VectorOutcome };
  /**
   * Present when the vector goes on past ready to a close exchange
   * (PROTOCOL.md §13.1); absent in handshake-only vectors. The Close records
   * are the last record of each direction, and part of `streams`,
   * `records` and `order` like any other.
   */
  readonly close?: VectorClose;
}

/** The close exchange of a positive vector, after both sides reached ready. */
export interface VectorClose {
  /** The side asked to close once both are ready; the other answers. */
  readonly closer: "initiator" | "responder";
  /**
   * Where each direction's Close record starts in its stream, in bytes:
   * what comes before is that side's handshake.
   */
  readonly offsets: { readonly i2r: number; readonly r2i: number };
  /** How each session ends: `code` `null` for an orderly close, else the error code. */
  readonly final: {
    readonly initiator: VectorEnding;
    readonly responder: VectorEnding;
  };
}

/** How a session that reached ready ended. */
export interface VectorEnding {
  /** `null` for an orderly close (both Close records), else the error code. */
  readonly code: string | null;
}

/** What one side of a negative vector receives and must do. */
export interface NegativeSide {
  /** The bytes it receives, in order (hex). */
  readonly incoming: string;
  /** Whether its input then ends (the peer closed). */
  readonly end: boolean;
  /** What it wrote in the recorded run; its output must be a prefix of this. */
  readonly outgoing: string;
  /** How it must end. */
  readonly expected: VectorOutcome;
}

/** A handshake that an attack makes fail (Wycheproof style: `result: "invalid"`). */
export interface NegativeVector {
  /** Test case number, unique in its file. */
  readonly tcId: number;
  /** Stable name of the case. */
  readonly id: string;
  /** The positive vector it damages. */
  readonly base: string;
  /** What the attack does. */
  readonly comment: string;
  /** Wycheproof-style verdict: the handshake must fail. */
  readonly result: "invalid";
  /** Labels for filtering (e.g. the attack category). */
  readonly flags: readonly string[];
  /** The mutation: which direction and message, and the catalogue entry. */
  readonly mutation: {
    readonly id: string;
    readonly direction: "i2r" | "r2i";
    readonly target: string;
  };
  /** Each endpoint's options. */
  readonly config: {
    readonly initiator: VectorEndpointConfig;
    readonly responder: VectorEndpointConfig;
  };
  /** Each endpoint's random seed and identity. */
  readonly inputs: { readonly initiator: VectorInputs; readonly responder: VectorInputs };
  /** How each side must end. */
  readonly sides: { readonly initiator: NegativeSide; readonly responder: NegativeSide };
}

/** A vector file. */
export interface VectorFile<T> {
  /** What the file holds. */
  readonly description: string;
  /** The generator that wrote it. */
  readonly source: string;
  /** How to run the vectors (the runner contract). */
  readonly runner: string;
  /** Notes on fields and conventions. */
  readonly notes: Readonly<Record<string, string>>;
  /** How many entries `tests` has. */
  readonly numberOfTests: number;
  /** The test cases. */
  readonly tests: readonly T[];
}

/** A running vector endpoint. */
export interface VectorEndpoint {
  readonly session: Session;
  /** Settles at ready or failure; never rejects. */
  readonly outcome: Promise<VectorOutcome>;
  /** Called with each shared secret the endpoint derives (for generators). */
  readonly secrets: readonly Uint8Array[];
  /** Stops the endpoint without a Close record. */
  abort(): Promise<void>;
  /** Closes the session in order (a Close record); settles when it has ended. */
  close(): Promise<void>;
  /** Settles once the session, having reached ready, has ended (never after a failed handshake). */
  readonly ended: Promise<VectorEnding>;
}

/**
 * A random source that serves a vector's salt and session id by length (the
 * only other draws of a qgate session are switched off for vectors).
 */
function vectorRandom(inputs: VectorInputs): (length: number) => Uint8Array<ArrayBuffer> {
  const salt = hexToBytes(inputs.salt);
  const sessionId = hexToBytes(inputs.sessionId);
  return (length: number) => {
    if (length === 0) return new Uint8Array(0);
    if (length === salt.length) return salt.slice();
    if (length === sessionId.length) return sessionId.slice();
    throw new RangeError(
      `Cannot draw vector randomness: ${length} bytes asked, the vector fixes only the salt and session id`,
    );
  };
}

/**
 * Starts a qgate endpoint for a vector's config and inputs: every random
 * draw fixed, no padding, noise or delay, the noble backend.
 *
 * @param transport The byte pipe.
 * @param config The endpoint's configuration.
 * @param inputs Its random inputs.
 * @returns The endpoint.
 * @throws {TypeError} If the config is not one qgate accepts.
 */
export function startVectorEndpoint(
  transport: Transport,
  config: VectorEndpointConfig,
  inputs: VectorInputs,
): VectorEndpoint {
  const secrets: Uint8Array[] = [];
  const access = new AccessManager();
  for (const entry of config.accessList) {
    access.addPeer(entry.uuid, hexToBytes(entry.publicKey), entry.allowed);
  }
  let phase: PhaseName | undefined;
  let exporter: string | undefined;
  const holder: { session?: Session } = {};
  const abort = new AbortController();
  const options: SessionOptions = {
    // A vector fixes both sides' lists; a classical secondary in them is deliberate.
    algorithms: { ...config.algorithms, allowClassicalSecondary: true },
    requireAuthentication: config.requireAuthentication,
    accessManager: access,
    timeouts: config.timeouts,
    extenders: config.extenders,
    maxPadding: 0,
    maxHandshakeDelay: 0,
    noise: { enabled: false },
    keyUpdate: { minInterval: 3_600_000, maxInterval: 3_600_000 },
    random: vectorRandom(inputs),
    backend: instrumentBackend(nobleBackend, {
      keyExchangeRandom: inputs.keyExchange.map(hexToBytes),
      onSecret: (secret) => secrets.push(secret),
    }),
    signal: abort.signal,
    onTrace: (event) => {
      if (event.type === "state") {
        phase = phaseOfState(event.state) ?? phase;
      } else if (event.type === "end" && event.outcome === "ready" && holder.session) {
        const { label, context, length } = config.exporter;
        exporter = bytesToHex(
          holder.session.exportKeyingMaterial(label, hexToBytes(context), length),
        );
      }
    },
    ...(config.identity === undefined ? {} : {
      identity: {
        algorithm: config.identity.algorithm,
        publicKey: hexToBytes(config.identity.publicKey),
        secretKey: hexToBytes(config.identity.secretKey),
      },
    }),
    ...(config.globalSharedSecret === undefined
      ? {}
      : { globalSharedSecret: hexToBytes(config.globalSharedSecret) }),
  };
  const session = config.role === "initiator"
    ? initiate(transport, options)
    : respond(transport, options);
  holder.session = session;
  const outcome = session.ready.then(
    (details): VectorOutcome => ({
      status: "ready",
      suite: details.algorithms,
      peerUuid: details.peerUuid ?? null,
      authenticated: details.authenticated,
      ...(exporter === undefined ? {} : { exporter }),
    }),
    (error: unknown): VectorOutcome => ({
      status: "failed",
      code: error instanceof QGateError ? error.code : ErrorCode.INTERNAL,
      ...failedPhase(error instanceof HandshakeError ? error.phase ?? phase : phase),
    }),
  );
  const ended = outcome.then(async (reached): Promise<VectorEnding> => {
    if (reached.status !== "ready") return await new Promise<never>(() => {});
    const info = await session.closed;
    return { code: info.code ?? null };
  });
  return {
    session,
    outcome,
    secrets,
    abort: async () => {
      abort.abort();
      await session.closed;
    },
    close: async () => {
      await session.close().catch(() => {});
    },
    ended,
  };
}

/** The phase a failure names, as an optional property. */
function failedPhase(phase: PhaseName | undefined): { phase?: PhaseName } {
  return phase === undefined ? {} : { phase };
}

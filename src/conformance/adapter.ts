/**
 * The adapter contract between the conformance suite and an implementation
 * under test, and the adapter for qgate itself.
 *
 * The suite owns the byte pipe: it hands the adapter one end of a transport
 * (`{ readable, writable }`, Web Streams of bytes) and a specification of
 * the endpoint to run on it (role, algorithms, identity, access list,
 * authentication policy, Global Shared Secret, timeouts). The adapter starts
 * its implementation on that transport and reports how the handshake ended:
 * ready (with the negotiated suite, the peer's identity and exporter output)
 * or failed (with a reason code from PROTOCOL.md §17.4). An implementation
 * in another language is driven the same way: its adapter bridges the
 * transport to a socket or a subprocess.
 *
 * Once ready, the cases that test the established session ask the endpoint
 * for more through optional capabilities: how the session ended
 * (`closed`), sending and receiving application messages (`send`,
 * `receive`), a key update (`updateKeys`) and access-list changes
 * (`setAllowed`, `removePeer`). An adapter without one of them does not fail
 * the cases that need it: they are reported as not run, with the capability
 * they lack ({@linkcode ENDPOINT_CAPABILITIES}).
 *
 * @module
 */

import { ErrorCode, HandshakeError, QGateError } from "../errors.ts";
import { AccessManager } from "../session/access_manager.ts";
import { initiate, respond, type Session } from "../session/session.ts";
import type { SessionOptions } from "../session/options.ts";
import type { Transport } from "../transport/transport.ts";
import type { AlgorithmPreferences, NegotiatedSuite } from "../handshake_policy.ts";
import type { CryptoBackend, SignatureKeyPair } from "../crypto/types.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import { seededRandom } from "../crypto/random.ts";
import { type PhaseName, phaseOfState } from "./_mutations.ts";
import { startQgateUdpResponder } from "./_qgate_udp.ts";

/** The five phases before `ready`, as a failure reports them. */
export type HandshakePhase = PhaseName;

/** Which end of the connection: the initiator dialled, the responder accepted and leads. */
export type ConformanceRole = "initiator" | "responder";

/** A peer the endpoint's access list knows. */
export interface AccessEntry {
  /** The peer's PeerUUID (8-4-4-4-12 hex), derived from its public key (PROTOCOL.md §8.4). */
  readonly uuid: string;
  /** The peer's identity public key. */
  readonly publicKey: Uint8Array;
  /** Whether the peer is allowed (`false`: known and denied). */
  readonly allowed: boolean;
}

/** Everything an endpoint under test is configured with. */
export interface ConformanceEndpointSpec {
  /** The endpoint's role. */
  readonly role: ConformanceRole;
  /** Ordered algorithm preferences, every category given. */
  readonly algorithms: AlgorithmPreferences;
  /** The endpoint's identity key pair, if it authenticates. */
  readonly identity: SignatureKeyPair | undefined;
  /** The peers it knows. */
  readonly accessList: readonly AccessEntry[];
  /** Whether the peer must authenticate. */
  readonly requireAuthentication: boolean;
  /** The Global Shared Secret, if any. */
  readonly globalSharedSecret: Uint8Array | undefined;
  /** Handshake timeouts in ms: any one waiting state, and the whole handshake. */
  readonly timeouts: {
    readonly phase: number;
    readonly handshake: number;
    /** How long a close waits for the peer's Close (PROTOCOL.md §13), when a case sets it. */
    readonly close?: number;
  };
  /** What to export once ready, so the suite can compare session keys. */
  readonly exporter: {
    readonly label: string;
    readonly context: Uint8Array;
    readonly length: number;
  };
  /** A seed for implementations that can make their randomness reproducible. */
  readonly seed: Uint8Array;
  /**
   * The extender UUIDs (8-4-4-4-12 hex) the endpoint runs and announces in
   * session init (PROTOCOL.md §9.1): the peer sends its messages to these.
   */
  readonly extenders: readonly string[];
  /**
   * The largest application message the endpoint accepts, announced in
   * session init (PROTOCOL.md §9.4), or `undefined` for the implementation's
   * default.
   */
  readonly maxMessageSize?: number | undefined;
}

/** One whole application message, as {@linkcode ConformanceEndpoint.receive} returns it. */
export interface ConformanceMessage {
  /** The local extender it was sent to (8-4-4-4-12 hex, lowercase). */
  readonly extender: string;
  /** Its bytes, reassembled from however many records carried it. */
  readonly data: Uint8Array;
}

/** The optional capabilities of a {@linkcode ConformanceEndpoint}, by name. */
export type EndpointCapability =
  | "closed"
  | "send"
  | "receive"
  | "updateKeys"
  | "setAllowed"
  | "removePeer";

/**
 * Every optional capability of a {@linkcode ConformanceEndpoint}: a case
 * that needs one the endpoint lacks is not run (never counted as passed).
 *
 * @example Which capabilities qgate's adapter offers
 * ```ts
 * import { ENDPOINT_CAPABILITIES } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(ENDPOINT_CAPABILITIES, [
 *   "closed",
 *   "send",
 *   "receive",
 *   "updateKeys",
 *   "setAllowed",
 *   "removePeer",
 * ]);
 * ```
 */
export const ENDPOINT_CAPABILITIES: readonly EndpointCapability[] = [
  "closed",
  "send",
  "receive",
  "updateKeys",
  "setAllowed",
  "removePeer",
];

/** How an endpoint's handshake ended. */
export type EndpointOutcome =
  | {
    readonly status: "ready";
    /** The negotiated suite. */
    readonly suite: NegotiatedSuite;
    /** The peer's UUID, when it presented an identity. */
    readonly peerUuid?: string | undefined;
    /** Whether the peer proved an identity the access list allows. */
    readonly authenticated: boolean;
    /** Exporter output for the spec's label and context, taken at ready. */
    readonly exporter?: Uint8Array | undefined;
  }
  | {
    readonly status: "failed";
    /** The reason code (`ERR_…`, PROTOCOL.md §17.4). */
    readonly code: string;
    /** The phase the handshake failed in, if the implementation reports it. */
    readonly phase?: HandshakePhase | undefined;
  };

/** A running endpoint. */
export interface ConformanceEndpoint {
  /** Settles once the handshake is ready or failed; never rejects. */
  readonly outcome: Promise<EndpointOutcome>;
  /**
   * Ends the endpoint and releases the transport; resolves once it is gone.
   * Once ready, this is the orderly close of PROTOCOL.md §13 (send Close,
   * wait for the peer's); it resolves however that ends.
   */
  close(): Promise<void>;
  /**
   * How the session ended after ready: `code` `undefined` for an orderly close
   * (both Close messages crossed), else the error code. Settles once the
   * session has ended; never rejects. The close, revocation and limit cases
   * need it; without it they are not run.
   */
  readonly closed?: Promise<{ readonly code: string | undefined }>;
  /**
   * Sends one application message to an extender the peer announced, once
   * ready: the peer must receive it whole, however many records carry it
   * (PROTOCOL.md §9.4).
   *
   * @param extender The peer's extender UUID (8-4-4-4-12 hex).
   * @param data The message.
   * @returns Resolves once every record of it is written.
   * @throws {RangeError} (rejects) If `data` is longer than the smaller of
   *   the endpoint's own `maxMessageSize` and the one the peer announced;
   *   nothing may be written then. An adapter maps its implementation's
   *   refusal to a `RangeError`.
   */
  send?(extender: string, data: Uint8Array): Promise<void>;
  /**
   * The next whole application message that arrived for one of the
   * endpoint's extenders, in arrival order. The adapter keeps every message
   * from ready on until it is taken.
   *
   * @returns The message, or `undefined` once the session has ended and no
   *   message is left.
   */
  receive?(): Promise<ConformanceMessage | undefined>;
  /**
   * Starts a key update now (PROTOCOL.md §10), or joins the one running.
   *
   * @returns The new epoch (3 after the first update), once both directions
   *   use it; rejects if the session ends first.
   */
  updateKeys?(): Promise<number>;
  /**
   * Allows or denies a peer of the endpoint's access list, after ready too:
   * denying the session's peer must end the session with
   * `ERR_PEER_NOT_ALLOWED` (PROTOCOL.md §8.2, revocation).
   *
   * @param peerUuid The peer's PeerUUID.
   * @param allowed Whether it is allowed.
   * @returns Resolves once the access list changed.
   */
  setAllowed?(peerUuid: string, allowed: boolean): Promise<void>;
  /**
   * Removes a peer from the endpoint's access list: for the session's
   * authenticated peer this is a revocation too (PROTOCOL.md §8.2).
   *
   * @param peerUuid The peer's PeerUUID.
   * @returns Resolves once the access list changed.
   */
  removePeer?(peerUuid: string): Promise<void>;
}

/** What the suite needs from an implementation under test. */
export interface ConformanceAdapter {
  /** The implementation's name, for the report. */
  readonly name: string;
  /**
   * Whether `start` accepts a datagram transport (`transport.kind ===
   * "datagram"`: each chunk is one datagram, PROTOCOL.md §5.2). Such a
   * transport stands for one remote address that has not yet proved it
   * receives there: run the endpoint as your UDP side runs for it, a
   * responder as your listener serves a new sender (anti-amplification,
   * §12.4). Without it the datagram cases are "not run".
   */
  readonly datagram?: boolean;
  /**
   * Starts one endpoint on `transport`.
   *
   * @param transport The byte pipe the suite provides.
   * @param spec The endpoint's configuration.
   * @returns The running endpoint.
   */
  start(
    transport: Transport,
    spec: ConformanceEndpointSpec,
  ): ConformanceEndpoint | Promise<ConformanceEndpoint>;
}

/** Extra hooks the suite's own reference peer uses. */
export interface ReferenceExtras {
  /** Replaces the crypto backend (default noble, so seeded runs are reproducible). */
  readonly backend?: CryptoBackend;
  /** Extra session options (noise, padding). */
  readonly options?: SessionOptions;
}

/** A qgate endpoint with its session, for the suite's reference peer: every capability. */
export interface QgateEndpoint extends ConformanceEndpoint {
  readonly session: Session;
  readonly closed: Promise<{ readonly code: string | undefined }>;
  send(extender: string, data: Uint8Array): Promise<void>;
  receive(): Promise<ConformanceMessage | undefined>;
  updateKeys(): Promise<number>;
  setAllowed(peerUuid: string, allowed: boolean): Promise<void>;
  removePeer(peerUuid: string): Promise<void>;
}

/**
 * The messages a session received, in order, for `receive()`: kept until
 * taken, and `undefined` for every taker once the session ended and none
 * is left.
 */
function messageQueue(session: Session): () => Promise<ConformanceMessage | undefined> {
  const queued: ConformanceMessage[] = [];
  const waiting: ((message: ConformanceMessage | undefined) => void)[] = [];
  let ended = false;
  session.on("message", ({ extender, data }) => {
    const message = { extender, data: data.slice() };
    const taker = waiting.shift();
    if (taker === undefined) queued.push(message);
    else taker(message);
  });
  void session.closed.then(() => {
    ended = true;
    for (const taker of waiting.splice(0)) taker(undefined);
  });
  return () => {
    const next = queued.shift();
    if (next !== undefined || ended) return Promise.resolve(next);
    return new Promise((resolve) => waiting.push(resolve));
  };
}

/**
 * Starts a qgate session for a spec.
 *
 * @param transport The byte pipe.
 * @param spec The endpoint's configuration.
 * @param extras The reference peer's hooks.
 * @returns The endpoint and its session.
 */
export function startQgateEndpoint(
  transport: Transport,
  spec: ConformanceEndpointSpec,
  extras: ReferenceExtras = {},
): QgateEndpoint {
  const accessManager = new AccessManager();
  for (const entry of spec.accessList) {
    accessManager.addPeer(entry.uuid, entry.publicKey, entry.allowed);
  }
  const options: SessionOptions & { onTrace?: SessionOptions["onTrace"] } = {
    algorithms: spec.algorithms,
    requireAuthentication: spec.requireAuthentication,
    accessManager,
    timeouts: spec.timeouts,
    extenders: spec.extenders,
    ...(spec.maxMessageSize === undefined ? {} : { maxMessageSize: spec.maxMessageSize }),
    random: seededRandom(spec.seed),
    backend: extras.backend ?? nobleBackend,
    ...(spec.identity === undefined ? {} : { identity: spec.identity }),
    ...(spec.globalSharedSecret === undefined
      ? {}
      : { globalSharedSecret: spec.globalSharedSecret }),
    ...extras.options,
  };
  let exporter: Uint8Array | undefined;
  let phase: PhaseName | undefined;
  // Assigned right below; trace events before that carry no "end".
  const holder: { session?: Session } = {};
  const onTrace = extras.options?.onTrace;
  options.onTrace = (event) => {
    onTrace?.(event);
    if (event.type === "state") {
      // The phase a failure happened in: the last phase state entered.
      phase = phaseOfState(event.state) ?? phase;
    } else if (event.type === "end" && event.outcome === "ready" && holder.session) {
      const { label, context, length } = spec.exporter;
      exporter = holder.session.exportKeyingMaterial(label, context, length);
    }
  };
  const session = spec.role === "initiator"
    ? initiate(transport, options)
    : respond(transport, options);
  holder.session = session;
  const outcome: Promise<EndpointOutcome> = session.ready.then(
    (details) => ({
      status: "ready",
      suite: details.algorithms,
      peerUuid: details.peerUuid,
      authenticated: details.authenticated,
      exporter,
    }),
    (error: unknown) => ({
      status: "failed",
      code: error instanceof QGateError ? error.code : ErrorCode.INTERNAL,
      phase: error instanceof HandshakeError ? error.phase ?? phase : phase,
    }),
  );
  return {
    session,
    outcome,
    close: async () => {
      await session.close().catch(() => {});
    },
    closed: session.closed.then(({ code }) => ({ code })),
    send: (extender, data) => session.send(extender, data),
    receive: messageQueue(session),
    updateKeys: () => session.updateKeys(),
    // A malformed UUID rejects instead of throwing.
    setAllowed: (peerUuid, allowed) =>
      Promise.resolve().then(() => void accessManager.setAllowed(peerUuid, allowed)),
    removePeer: (peerUuid) => Promise.resolve().then(() => void accessManager.removePeer(peerUuid)),
  };
}

/**
 * The adapter for qgate itself: `initiate()` or `respond()` on the suite's
 * transport, with the spec's options, seeded randomness and the noble backend,
 * offering every optional capability. Over a datagram transport a responder
 * runs behind qgate's UDP listener, as a new sender meets it.
 *
 * @example Running qgate against itself through the suite
 * ```ts
 * import { qgateAdapter, runConformance } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const report = await runConformance(qgateAdapter, { categories: ["positive"], sample: 2 });
 * assert.equal(report.implementation, "qgate");
 * assert.equal(report.failed, 0);
 * ```
 */
export const qgateAdapter: ConformanceAdapter = {
  name: "qgate",
  datagram: true,
  start: (transport, spec) => {
    if (transport.kind === "datagram" && spec.role === "responder") {
      return startQgateUdpResponder(transport, spec);
    }
    const { session: _session, ...endpoint } = startQgateEndpoint(transport, spec);
    return endpoint;
  },
};

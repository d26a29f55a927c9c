/**
 * One run of the conformance suite: the implementation under test against
 * qgate's reference peer, through the adversarial relay, with a real-time
 * budget so that a hanging implementation fails its case instead of the
 * suite.
 *
 * The reference peer runs on a backend that reports its shared secrets; a
 * {@linkcode RecordTracker} fed with them reads the whole handshake and the
 * key updates after it, which is what lets a mutation seal a forged record
 * under any epoch's keys.
 *
 * @module
 */

import type { Session } from "../session/session.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import {
  type ConformanceAdapter,
  type ConformanceEndpoint,
  type ConformanceEndpointSpec,
  type ConformanceRole,
  type EndpointOutcome,
  type QgateEndpoint,
  type ReferenceExtras,
  startQgateEndpoint,
} from "./adapter.ts";
import { instrumentBackend } from "./_instrumented_backend.ts";
import { createRelay, type RelayObservation, type RelayOptions, withDeadline } from "./_relay.ts";
import { RecordTracker, secretsInOrder } from "./_record_tracker.ts";
import {
  createDatagramRelay,
  type DatagramRelayObservation,
  type DatagramRelayOptions,
} from "./_datagram_relay.ts";

/** What a duel needs. */
export interface DuelOptions {
  /** The implementation under test. */
  readonly adapter: ConformanceAdapter;
  /** The IUT's spec (its role is the IUT's role). */
  readonly iut: ConformanceEndpointSpec;
  /** The reference peer's spec. */
  readonly reference: ConformanceEndpointSpec;
  /** Builds the relay's script and schedule once the tracker exists. */
  readonly relay?: (tracker: RecordTracker) => RelayOptions;
  /**
   * Runs the duel over datagram transports instead, through the datagram
   * relay with the options this builds once the tracker exists (which then
   * reads datagrams: `tracker.openDatagram`). The adapter must accept them.
   */
  readonly datagram?: (tracker: RecordTracker) => DatagramRelayOptions;
  /** Extra options of the reference session (noise, padding). */
  readonly referenceExtras?: ReferenceExtras;
  /** Called with the reference session right after it started. */
  readonly onReference?: (session: Session) => void;
  /**
   * Runs once both sides are ready, before the cleanup (within the same
   * deadline): what a case does with the established session (the close
   * exchange).
   */
  readonly afterReady?: (endpoints: AfterReady) => Promise<void>;
  /** Real-time budget for the outcomes, and again for the cleanup, in ms. */
  readonly deadline: number;
}

/** Both established endpoints, for {@linkcode DuelOptions.afterReady}. */
export interface AfterReady {
  /** The implementation under test. */
  readonly iut: ConformanceEndpoint;
  /** The reference peer's session. */
  readonly reference: Session;
  /** The reference peer as an endpoint: its messages, key updates and access list. */
  readonly referenceEndpoint: QgateEndpoint;
  /** The datagram relay, when the duel runs over datagrams. */
  readonly datagrams?: DatagramRelayObservation;
}

/** What a duel observed. */
export interface DuelResult {
  /** The IUT's outcome, or `undefined` if it never settled. */
  readonly iut: EndpointOutcome | undefined;
  /** The reference's outcome, or `undefined` if it never settled. */
  readonly reference: EndpointOutcome | undefined;
  /** Stages that did not finish in time (`"outcome"`, `"cleanup"`), or an adapter error. */
  readonly problems: readonly string[];
  /** The tracker that read the run. */
  readonly tracker: RecordTracker;
  /** The relay's records (a datagram relay's datagrams). */
  readonly relay: RelayObservation | DatagramRelayObservation;
}

function settle(endpoint: ConformanceEndpoint): Promise<EndpointOutcome> {
  return Promise.resolve(endpoint.outcome).catch((error: unknown) => ({
    status: "failed" as const,
    code: `outcome rejected: ${error instanceof Error ? error.name : String(error)}`,
  }));
}

/**
 * Runs the IUT against the reference through the relay.
 *
 * @param options The two specs, the relay and the budget.
 * @returns Both outcomes, the tracker and the relay's records.
 */
export async function duel(options: DuelOptions): Promise<DuelResult> {
  const secrets: Uint8Array[] = [];
  const tracker = new RecordTracker({
    globalSharedSecret: options.reference.globalSharedSecret,
    secrets: () => secretsInOrder(secrets),
  });
  const datagrams = options.datagram === undefined
    ? undefined
    : createDatagramRelay(options.datagram(tracker));
  const relay = datagrams ?? createRelay({
    globalSharedSecret: options.reference.globalSharedSecret,
    ...options.relay?.(tracker),
  });
  const role: ConformanceRole = options.iut.role;
  const [iutTransport, referenceTransport] = role === "initiator"
    ? [relay.initiatorTransport, relay.responderTransport]
    : [relay.responderTransport, relay.initiatorTransport];
  const problems: string[] = [];
  const backend = instrumentBackend(options.referenceExtras?.backend ?? nobleBackend, {
    onSecret: (secret) => secrets.push(secret),
  });
  const reference = startQgateEndpoint(referenceTransport, options.reference, {
    ...options.referenceExtras,
    backend,
  });
  options.onReference?.(reference.session);
  let iut: ConformanceEndpoint | undefined;
  try {
    iut = await options.adapter.start(iutTransport, options.iut);
  } catch (error) {
    problems.push(`adapter.start threw ${error instanceof Error ? error.name : String(error)}`);
    await iutTransport.writable.abort().catch(() => {});
    await iutTransport.readable.cancel().catch(() => {});
  }
  const outcomes: { iut?: EndpointOutcome; reference?: EndpointOutcome } = {};
  const waits = [settle(reference).then((outcome) => void (outcomes.reference = outcome))];
  if (iut !== undefined) waits.push(settle(iut).then((outcome) => void (outcomes.iut = outcome)));
  if (await withDeadline(Promise.all(waits), options.deadline) === undefined) {
    problems.push("outcome");
  } else if (
    options.afterReady !== undefined && iut !== undefined &&
    outcomes.iut?.status === "ready" && outcomes.reference?.status === "ready"
  ) {
    const after = options.afterReady({
      iut,
      reference: reference.session,
      referenceEndpoint: reference,
      ...(datagrams === undefined ? {} : { datagrams }),
    }).then(
      () => true,
      (error) => {
        problems.push(`after ready: ${error instanceof Error ? error.message : String(error)}`);
        return true;
      },
    );
    if (await withDeadline(after, options.deadline) === undefined) problems.push("after ready");
  }
  const closes = Promise.all([iut?.close().catch(() => {}), reference.close().catch(() => {})]);
  // UDP carries no end: a datagram relay forwards until told to stop.
  const cleanup = Promise.all([
    closes,
    datagrams === undefined
      ? relay.done
      : closes.then(() => datagrams.stop()).then(() => relay.done),
  ]);
  if (await withDeadline(cleanup, options.deadline) === undefined) problems.push("cleanup");
  return { iut: outcomes.iut, reference: outcomes.reference, problems, tracker, relay };
}

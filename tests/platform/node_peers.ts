/**
 * Two qgate peers in one Node process over real `node:net` sockets on
 * 127.0.0.1, using a bundle of the module. build.ts bundles this script on
 * its own (the module is only imported here as types), and Node runs it:
 *
 * ```sh
 * node node_peers.mjs /path/to/qgate.mjs
 * ```
 *
 * Both peers authenticate with Ed25519 identities, exchange extender
 * messages both ways, rotate keys once, send again under the new keys and
 * close. Prints one JSON line ({@linkcode NodeRunResult}) that
 * tests/platform_node_test.ts checks; exits 1 if anything threw or the run
 * did not finish in time.
 *
 * @module
 */

import { createConnection, createServer, type Socket } from "node:net";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type * as Qgate from "./qgate_bundle.ts";
import {
  BULK_EXTENDER,
  deferred,
  type Heard,
  INITIATOR_SEED,
  listenFor,
  type NativeAlgorithms,
  nativeAlgorithms,
  payload,
  RESPONDER_SEED,
  TEXT_EXTENDER,
  texts,
} from "./shared.ts";

/** One side of the run, as the Node script reports it. */
export interface NodeSideResult {
  /** What `session.ready` resolved with (the parts that are plain data). */
  ready: {
    role: string;
    authenticated: boolean;
    peerUuid: string | undefined;
    algorithms: Qgate.NegotiatedSuite;
  };
  /** The session's own identity, as the peer should see it. */
  uuid: string;
  heard: Heard;
  epochBefore: number;
  epochAfter: number;
  closed: Qgate.CloseInfo;
  /** The raw socket's events after the transport is done: `end`, `close`, `close-error`. */
  socketEvents: string[];
}

/** The JSON line the script prints. */
export type NodeRunResult =
  | {
    finished: true;
    node: string;
    backend: string;
    native: NativeAlgorithms;
    updatedEpoch: number;
    initiator: NodeSideResult;
    responder: NodeSideResult;
    problems: string[];
  }
  | { finished: false; problems: string[] };

const GUARD_MS = 30_000;
const problems: string[] = [];

function report(result: NodeRunResult): void {
  console.log(JSON.stringify(result));
}

/** Ends the run on a failure: nothing after it can be trusted. */
function fail(what: string): void {
  problems.push(what);
  report({ finished: false, problems });
  process.exit(1);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.stack ?? error.message : String(error);
}

// Left alone, these would print and exit without the JSON line the test reads.
process.on("uncaughtException", (error) => fail(`uncaught: ${describeError(error)}`));
process.on("unhandledRejection", (error) => fail(`unhandled: ${describeError(error)}`));
const guard = setTimeout(() => fail(`not finished after ${GUARD_MS} ms`), GUARD_MS);

const bundle = process.argv[2];
if (bundle === undefined) throw new Error("usage: node node_peers.mjs <qgate.mjs>");
const qgate: typeof Qgate = await import(pathToFileURL(bundle).href);
const { autoBackend, AccessManager, nodeSocketTransport, peerUuidOf } = qgate;

async function identity(): Promise<Qgate.SignatureKeyPair> {
  return await autoBackend.signature("Ed25519")!.generateKeyPair({});
}

function uuidOf(pair: Qgate.SignatureKeyPair): string {
  return peerUuidOf(pair.algorithm, pair.publicKey);
}

function accessFor(pair: Qgate.SignatureKeyPair): Qgate.AccessManager {
  const access = new AccessManager();
  access.addPeer(uuidOf(pair), pair.publicKey);
  return access;
}

/** Records what the raw socket sees; resolves once it is closed. */
function watch(socket: Socket, events: string[]): Promise<void> {
  const { promise, resolve } = deferred<void>();
  socket.on("end", () => events.push("end"));
  socket.on("close", (hadError) => {
    events.push(hadError ? "close-error" : "close");
    resolve();
  });
  return promise;
}

const identities = { initiator: await identity(), responder: await identity() };
const extenders = [TEXT_EXTENDER, BULK_EXTENDER];
const socketEvents = { initiator: [] as string[], responder: [] as string[] };

const accepted = deferred<{ session: Qgate.Session; closed: Promise<void> }>();
const server = createServer((socket) => {
  const closed = watch(socket, socketEvents.responder);
  const session = qgate.respond(nodeSocketTransport(socket), {
    identity: identities.responder,
    accessManager: accessFor(identities.initiator),
    extenders,
  });
  accepted.resolve({ session, closed });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as { port: number };
const socket = createConnection(port, "127.0.0.1");
const initiatorSocketClosed = watch(socket, socketEvents.initiator);
const initiator = qgate.initiate(nodeSocketTransport(socket), {
  identity: identities.initiator,
  accessManager: accessFor(identities.responder),
  extenders,
});
const { session: responder, closed: responderSocketClosed } = await accepted.promise;
const initiatorHears = listenFor(initiator);
const responderHears = listenFor(responder);
const responderUpdated = deferred<void>();
responder.on("keyUpdate", () => responderUpdated.resolve());
const [initiatorReady, responderReady] = await Promise.all([initiator.ready, responder.ready]);

const encoder = new TextEncoder();
const initiatorTexts = texts("initiator", "Node");
const responderTexts = texts("responder", "Node");
await Promise.all([
  initiator.send(TEXT_EXTENDER, encoder.encode(initiatorTexts[0])),
  responder.send(TEXT_EXTENDER, encoder.encode(responderTexts[0])),
  initiator.send(BULK_EXTENDER, payload(INITIATOR_SEED)),
  responder.send(BULK_EXTENDER, payload(RESPONDER_SEED)),
]);
const epochBefore = { initiator: initiator.epoch, responder: responder.epoch };
const updatedEpoch = await initiator.updateKeys();
await responderUpdated.promise;
await Promise.all([
  initiator.send(TEXT_EXTENDER, encoder.encode(initiatorTexts[1])),
  responder.send(TEXT_EXTENDER, encoder.encode(responderTexts[1])),
]);
const [initiatorHeard, responderHeard] = await Promise.all([
  initiatorHears.heard,
  responderHears.heard,
]);
const epochAfter = { initiator: initiator.epoch, responder: responder.epoch };

await initiator.close();
const closed = await Promise.all([initiator.closed, responder.closed]);
await Promise.all([initiatorSocketClosed, responderSocketClosed]);
await new Promise((resolve) => server.close(resolve));
clearTimeout(guard);

function readyOf(details: Qgate.PeerDetails): NodeSideResult["ready"] {
  const { role, authenticated, peerUuid, algorithms } = details;
  return { role, authenticated, peerUuid, algorithms };
}

report({
  finished: true,
  node: process.version,
  backend: autoBackend.name,
  native: nativeAlgorithms(qgate),
  updatedEpoch,
  initiator: {
    ready: readyOf(initiatorReady),
    uuid: uuidOf(identities.initiator),
    heard: initiatorHeard,
    epochBefore: epochBefore.initiator,
    epochAfter: epochAfter.initiator,
    closed: closed[0],
    socketEvents: socketEvents.initiator,
  },
  responder: {
    ready: readyOf(responderReady),
    uuid: uuidOf(identities.responder),
    heard: responderHeard,
    epochBefore: epochBefore.responder,
    epochAfter: epochAfter.responder,
    closed: closed[1],
    socketEvents: socketEvents.responder,
  },
  problems,
});

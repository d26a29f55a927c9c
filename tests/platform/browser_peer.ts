/**
 * The browser page's script: one qgate initiator, loaded from a browser
 * bundle of the module, dials the WebSocket URL given as `?ws=…`,
 * authenticates, exchanges extender messages both ways, rotates keys,
 * closes, and publishes a {@linkcode BrowserRunResult} as
 * `globalThis.platformResult`, which tests/platform_browser_test.ts reads.
 *
 * It speaks second: it waits for the responder's first text before sending,
 * so the responder's listeners are in place before anything arrives.
 *
 * @module
 */

import type * as Qgate from "./qgate_bundle.ts";
import {
  BULK_EXTENDER,
  type Heard,
  INITIATOR_IDENTITY_SEED,
  INITIATOR_SEED,
  listenFor,
  type NativeAlgorithms,
  nativeAlgorithms,
  payload,
  RESPONDER_IDENTITY_SEED,
  seededIdentity,
  TEXT_EXTENDER,
  texts,
} from "./shared.ts";

/** What the page reports. */
export type BrowserRunResult =
  | {
    finished: true;
    userAgent: string;
    backend: string;
    native: NativeAlgorithms;
    ready: { authenticated: boolean; peerUuid: string | undefined; expectedPeerUuid: string };
    heard: Heard;
    epochBefore: number;
    updatedEpoch: number;
    epochAfter: number;
    closed: Qgate.CloseInfo;
    webSocket: Qgate.WebSocketCloseInfo;
    problems: string[];
  }
  | { finished: false; problems: string[] };

const problems: string[] = [];

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function publish(result: BrowserRunResult): void {
  (globalThis as { platformResult?: BrowserRunResult }).platformResult = result;
}

addEventListener("error", (event) => problems.push(`error: ${describeError(event.error)}`));
addEventListener(
  "unhandledrejection",
  (event) => problems.push(`unhandled: ${describeError(event.reason)}`),
);

async function run(): Promise<BrowserRunResult> {
  const url = new URLSearchParams(location.search).get("ws");
  if (url === null) throw new TypeError("Cannot run: the page needs ?ws=<WebSocket URL>");
  const qgate: typeof Qgate = await import(new URL("./qgate.js", import.meta.url).href);
  const { autoBackend, AccessManager, peerUuidOf } = qgate;
  const uuidOf = (pair: Qgate.SignatureKeyPair): string =>
    peerUuidOf(pair.algorithm, pair.publicKey);
  const identity = await seededIdentity(qgate.nobleBackend, INITIATOR_IDENTITY_SEED);
  const peer = await seededIdentity(qgate.nobleBackend, RESPONDER_IDENTITY_SEED);
  const accessManager = new AccessManager();
  accessManager.addPeer(uuidOf(peer), peer.publicKey);

  const transport = qgate.webSocketTransport(new WebSocket(url));
  const session = qgate.initiate(transport, {
    identity,
    accessManager,
    extenders: [TEXT_EXTENDER, BULK_EXTENDER],
  });
  const listening = listenFor(session);
  const details = await session.ready;
  await listening.firstText;

  const [before, after] = texts("initiator", "browser");
  const encoder = new TextEncoder();
  await session.send(TEXT_EXTENDER, encoder.encode(before));
  await session.send(BULK_EXTENDER, payload(INITIATOR_SEED));
  const epochBefore = session.epoch;
  const updatedEpoch = await session.updateKeys();
  await session.send(TEXT_EXTENDER, encoder.encode(after));
  const heard = await listening.heard;
  const epochAfter = session.epoch;
  await session.close();
  return {
    finished: true,
    userAgent: navigator.userAgent,
    backend: autoBackend.name,
    native: nativeAlgorithms(qgate),
    ready: {
      authenticated: details.authenticated,
      peerUuid: details.peerUuid,
      expectedPeerUuid: uuidOf(peer),
    },
    heard,
    epochBefore,
    updatedEpoch,
    epochAfter,
    closed: await session.closed,
    webSocket: await transport.closed,
    problems,
  };
}

run().then(publish, (error) => {
  problems.push(describeError(error));
  publish({ finished: false, problems });
});

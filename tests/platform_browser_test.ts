/**
 * qgate in a browser: headless Chromium loads a page whose script (a browser
 * bundle of the module, built with `deno bundle`) dials a Deno
 * `listenWebSocket` responder on 127.0.0.1, and both sides check the run.
 */

import assert from "node:assert/strict";
import { type CloseInfo, listenWebSocket, nobleBackend, type Session } from "../mod.ts";
import { accessFor, uuidOf } from "./_session_helpers.ts";
import { buildBundles } from "./platform/build.ts";
import type { BrowserRunResult } from "./platform/browser_peer.ts";
import {
  BULK_EXTENDER,
  BULK_LENGTH,
  type Heard,
  INITIATOR_IDENTITY_SEED,
  INITIATOR_SEED,
  listenFor,
  payload,
  RESPONDER_IDENTITY_SEED,
  RESPONDER_SEED,
  seededIdentity,
  TEXT_EXTENDER,
  texts,
  toHex,
} from "./platform/shared.ts";
import { assertBrowserTestRuns, ignoreBrowserTest, launchChromium } from "./_chromium.ts";

const skipBrowser = ignoreBrowserTest("platform_browser_test");

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** The Deno side of one connection: speaks first, answers the key update, waits for the end. */
interface ResponderRun {
  heard: Heard;
  epoch: number;
  closed: CloseInfo;
}

async function respondTo(session: Session): Promise<ResponderRun> {
  const listening = listenFor(session);
  const updated = new Promise<void>((resolve) => session.on("keyUpdate", () => resolve()));
  const [before, after] = texts("responder", "Deno");
  const encoder = new TextEncoder();
  await session.send(TEXT_EXTENDER, encoder.encode(before));
  await session.send(BULK_EXTENDER, payload(RESPONDER_SEED));
  await updated;
  await session.send(TEXT_EXTENDER, encoder.encode(after));
  const heard = await listening.heard;
  const epoch = session.epoch;
  return { heard, epoch, closed: await session.closed };
}

/** Serves the bundle directory's files on 127.0.0.1. */
function serveDirectory(directory: string): Deno.HttpServer<Deno.NetAddr> {
  const types: Record<string, string> = {
    "index.html": "text/html; charset=utf-8",
    "browser_peer.js": "text/javascript; charset=utf-8",
    "qgate.js": "text/javascript; charset=utf-8",
  };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen(): void {} }, async (request) => {
    const name = new URL(request.url).pathname.slice(1) || "index.html";
    const type = types[name];
    if (type === undefined) return new Response("Not found\n", { status: 404 });
    return new Response(await Deno.readFile(`${directory}/${name}`), {
      headers: { "content-type": type },
    });
  });
}

Deno.test({
  name: "the browser bundle runs a handshake, data both ways, a key update and a close in Chromium",
  ignore: skipBrowser,
  async fn(): Promise<void> {
    assertBrowserTestRuns("platform_browser_test.ts");

    const bundles = await buildBundles("browser");
    const identity = await seededIdentity(nobleBackend, RESPONDER_IDENTITY_SEED);
    const initiatorIdentity = await seededIdentity(nobleBackend, INITIATOR_IDENTITY_SEED);
    const runs: Promise<ResponderRun>[] = [];
    const listener = listenWebSocket({ path: "/qgate" }, {
      identity,
      accessManager: accessFor(initiatorIdentity),
      extenders: [TEXT_EXTENDER, BULK_EXTENDER],
    }, (session) => void runs.push(respondTo(session)));
    const failures: string[] = [];
    listener.on("failure", ({ stage, code }) => failures.push(`${stage}: ${code}`));
    const files = serveDirectory(bundles.directory);
    const pageUrl = `http://127.0.0.1:${files.addr.port}/`;
    const socketUrl = `ws://127.0.0.1:${listener.addr.port}/qgate`;

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const remote: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("request", (request) => {
        if (!request.url().startsWith("http://127.0.0.1:")) remote.push(request.url());
      });
      await page.goto(`${pageUrl}?ws=${encodeURIComponent(socketUrl)}`);
      await page.waitForFunction(() => "platformResult" in globalThis, null, { timeout: 60_000 });
      const result = await page.evaluate(() =>
        (globalThis as { platformResult?: BrowserRunResult }).platformResult
      );
      assert.ok(result !== undefined);
      assert.deepEqual(result.problems, []);
      assert.equal(result.finished, true);
      if (!result.finished) return;
      console.log(
        `platform_browser_test: ${result.userAgent}, ${result.backend}; WebCrypto offers ` +
          `${result.native.webCrypto.join(", ") || "nothing"}`,
      );

      // What the page saw.
      assert.deepEqual(result.native.node, [], "a browser has no node:crypto");
      assert.equal(result.ready.authenticated, true);
      assert.equal(result.ready.peerUuid, uuidOf(identity));
      assert.equal(result.ready.expectedPeerUuid, uuidOf(identity));
      assert.deepEqual(result.heard, {
        texts: texts("responder", "Deno"),
        bulkLength: BULK_LENGTH,
        bulkSha256: await sha256(payload(RESPONDER_SEED)),
      });
      assert.equal(result.epochBefore, 2);
      assert.equal(result.updatedEpoch, 3);
      assert.equal(result.epochAfter, 3);
      assert.deepEqual(result.closed, { code: undefined, local: true });
      assert.deepEqual(result.webSocket, { code: 1000, reason: "", wasClean: true });

      // What Deno saw.
      assert.equal(runs.length, 1);
      const run = await runs[0]!;
      assert.deepEqual(run.heard, {
        texts: texts("initiator", "browser"),
        bulkLength: BULK_LENGTH,
        bulkSha256: await sha256(payload(INITIATOR_SEED)),
      });
      assert.equal(run.epoch, 3);
      assert.deepEqual(run.closed, { code: undefined, local: false });
      assert.deepEqual(failures, []);
      assert.deepEqual(errors, []);
      assert.deepEqual(remote, [], "the page must work offline");
    } finally {
      await browser.close();
      await listener.close();
      await files.shutdown();
      await Deno.remove(bundles.directory, { recursive: true });
    }
  },
});

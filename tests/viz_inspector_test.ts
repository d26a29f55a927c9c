import assert from "node:assert/strict";
import { HANDSHAKE_KINDS } from "../src/codec/message_types.ts";
import { serveInspector } from "../src/viz/inspector.ts";

const CHROMIUM = "/usr/bin/chromium";
const KEY_UPDATE_KINDS = ["beginKeyUpdate", "endKeyUpdate", "keyUpdateReady"];

function chromiumMissing(): boolean {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
}

function inCi(): boolean {
  const value = Deno.env.get("CI");
  return value !== undefined && value !== "" && value !== "false";
}

const skipBrowser = chromiumMissing() && !inCi();
if (skipBrowser) {
  console.log(
    `viz_inspector_test: skipping the browser test: ${CHROMIUM} is absent and CI is not set ` +
      "(apt-get install -y chromium to run it)",
  );
}

Deno.test({
  name: "serveInspector() page shows a live handshake and key update in Chromium",
  ignore: skipBrowser,
  async fn(): Promise<void> {
    assert.ok(!chromiumMissing(), `${CHROMIUM} is required in CI: apt-get install -y chromium`);
    // playwright-core reads /proc/sys/fs/binfmt_misc when it loads, which Deno
    // allows only under --allow-all: say so instead of failing deep inside it.
    const all = (["run", "write", "sys", "ffi", "net", "env", "read"] as const).every((name) =>
      Deno.permissions.querySync({ name }).state === "granted"
    );
    assert.ok(all, "the browser test needs --allow-all: deno test -A tests/viz_inspector_test.ts");
    const { chromium } = await import("playwright-core");
    const inspector = serveInspector();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      const errors: string[] = [];
      const remote: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("request", (request) => {
        if (!request.url().startsWith(inspector.url) && !request.url().startsWith("data:")) {
          remote.push(request.url());
        }
      });
      await page.goto(`${inspector.url}?source=live&pace=fast`);
      await page.waitForSelector("body[data-run=idle]");
      const phases = await page.locator("#rail .rail-step .name").allTextContents();
      assert.deepEqual(phases, [
        "Meta exchange",
        "Primary key exchange",
        "Secondary key exchange",
        "Authentication",
        "Session init",
        "Ready",
        "Key update",
      ]);

      await page.click("#start");
      await page.waitForSelector("body[data-run=done]", { timeout: 60_000 });

      for (const role of ["initiator", "responder"]) {
        const panel = page.locator(`#peer-${role}`);
        assert.equal(await panel.getAttribute("data-outcome"), "ready", role);
        const ready = panel.locator(
          '.chart[data-chart="handshake"] g.node.active[data-state="ready"]',
        );
        assert.equal(await ready.count(), 1, `${role}: ready is highlighted`);
        assert.match(await panel.locator(".epochs").innerText(), /send · epoch 3/);
      }
      const kinds = await page.locator("#frames .frame").evaluateAll((rows) =>
        rows.map((row) => row.getAttribute("data-kind"))
      );
      assert.deepEqual(
        kinds.filter((kind) => kind !== "noise"),
        [...HANDSHAKE_KINDS, ...KEY_UPDATE_KINDS],
      );
      assert.ok(kinds.includes("noise"), "the initiator's noise frame is listed");
      assert.equal(await page.locator("#frames .frame.in-flight").count(), 0);
      assert.deepEqual(errors, []);
      assert.deepEqual(remote, [], "the page must work offline");

      // Show both peers' handshake charts at `ready` for the screenshot.
      for (const role of ["initiator", "responder"]) {
        await page.click(`#peer-${role} .chart-tabs button:first-child`);
      }
      await page.waitForTimeout(600);
      const directory = await Deno.makeTempDir({ prefix: "qgate-inspector-" });
      const path = `${directory}/inspector.png`;
      await page.screenshot({ path });
      const size = (await Deno.stat(path)).size;
      assert.ok(size > 20_000, `screenshot is ${size} bytes`);
      console.log(`viz_inspector_test: screenshot saved to ${path}`);

      // The statecharts-only run also traces key-update states: the page follows them.
      await page.selectOption("#source", "simulated");
      await page.click("#start");
      await page.waitForSelector("body[data-run=done]", { timeout: 60_000 });
      for (const role of ["initiator", "responder"]) {
        const panel = page.locator(`#peer-${role}`);
        const idle = panel.locator(
          '.chart[data-chart="keyUpdate"]:not([hidden]) g.node.active[data-state="idle"]',
        );
        assert.equal(await idle.count(), 1, `${role}: the key update is back to idle`);
        const at = await page.locator(`#rail .rail-step.at-${role} .name`).textContent();
        assert.equal(at, "Key update");
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await inspector.shutdown();
    }
  },
});

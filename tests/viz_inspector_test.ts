import assert from "node:assert/strict";
import { HANDSHAKE_KINDS } from "../src/codec/message_types.ts";
import { serveInspector } from "../src/viz/inspector.ts";
import { simulateHandshakeTrace } from "../src/viz/simulate.ts";
import { defaultTraceSources, replayTrace } from "../src/viz/trace_sources.ts";
import { assertBrowserTestRuns, ignoreBrowserTest, launchChromium } from "./_chromium.ts";

const KEY_UPDATE_KINDS = ["beginKeyUpdate", "endKeyUpdate", "keyUpdateReady"];
const ROLES = ["initiator", "responder"] as const;

const skipBrowser = ignoreBrowserTest("viz_inspector_test");

/** The simulated run cut just after the responder started its key update. */
function midKeyUpdate(): ReturnType<typeof simulateHandshakeTrace> {
  const trace = simulateHandshakeTrace();
  const cut = trace.findIndex((event) =>
    event.type === "state" && event.role === "responder" &&
    event.state === "ready.active.keyUpdate.updating.awaitingAnswer"
  );
  return trace.slice(0, cut + 1);
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Waits until `check` holds (the page animates views), failing after `timeout` ms. */
async function until(check: () => Promise<boolean>, what: string, timeout = 5_000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!(await check())) {
    assert.ok(performance.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The part of an SVG root element the test reads. */
interface SvgRoot {
  getScreenCTM(): { inverse(): unknown } | null;
}

function parseViewBox(text: string | null): Box {
  const [x = NaN, y = NaN, width = NaN, height = NaN] = (text ?? "").split(/\s+/).map(Number);
  return { x, y, width, height };
}

Deno.test({
  name: "serveInspector() page shows a live handshake, key update and close in Chromium",
  ignore: skipBrowser,
  async fn(t): Promise<void> {
    assertBrowserTestRuns("viz_inspector_test.ts");
    const inspector = serveInspector({
      sources: [
        ...defaultTraceSources(),
        replayTrace(midKeyUpdate(), { id: "midKeyUpdate", label: "Mid key update", note: "cut" }),
      ],
    });
    const browser = await launchChromium();
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
      const run = async (source: string): Promise<void> => {
        await page.selectOption("#source", source);
        await page.click("#start");
        await page.waitForSelector("body[data-run=done]", { timeout: 60_000 });
      };
      const chart = (role: string, id: string): string =>
        `#peer-${role} .chart[data-chart="${id}"]:not([hidden])`;

      await page.goto(`${inspector.url}?source=live&pace=fast`);
      await page.waitForSelector("body[data-run=idle]");

      await t.step("lists the phases, then the ready phase's key update and close", async () => {
        const phases = await page.locator("#rail .rail-step .name").allTextContents();
        assert.deepEqual(phases, [
          "Meta exchange",
          "Primary key exchange",
          "Secondary key exchange",
          "Authentication",
          "Session init",
          "Ready",
          "Key update",
          "Close",
        ]);
      });

      await t.step("runs the live handshake, key update and close", async () => {
        await run("live");
        for (const role of ROLES) {
          const panel = page.locator(`#peer-${role}`);
          assert.equal(await panel.getAttribute("data-outcome"), "closed", role);
          const ready = panel.locator(
            '.chart[data-chart="handshake"] g.node.active[data-state="ready"]',
          );
          assert.equal(await ready.count(), 1, `${role}: ready is highlighted`);
          assert.match(await panel.locator(".epochs").innerText(), /send · epoch 3/);
          const at = await page.locator(`#rail .rail-step.at-${role} .name`).textContent();
          assert.equal(at, "Close", role);
        }
        const kinds = await page.locator("#frames .frame").evaluateAll((rows) =>
          rows.map((row) => row.getAttribute("data-kind"))
        );
        assert.deepEqual(
          kinds.filter((kind) => kind !== "noise"),
          [...HANDSHAKE_KINDS, ...KEY_UPDATE_KINDS, "close", "close"],
        );
        assert.ok(kinds.includes("noise"), "the initiator's noise frame is listed");
        assert.equal(await page.locator("#frames .frame.in-flight").count(), 0);
      });

      await t.step("shows the ready statechart once the handshake is ready", async () => {
        for (const role of ROLES) {
          const ready = page.locator(chart(role, "ready"));
          assert.equal(await ready.count(), 1, `${role}: the ready statechart is in front`);
          const visited = await ready.locator("g.node.visited").evaluateAll((nodes) =>
            nodes.map((node) => node.getAttribute("data-state"))
          );
          assert.ok(visited.includes("active.lifecycle.open"), `${role}: ${visited}`);
          const active = await ready.locator("g.node.active").evaluateAll((nodes) =>
            nodes.map((node) => node.getAttribute("data-state"))
          );
          assert.deepEqual(active, ["closed"], role);
        }
        assert.deepEqual(errors, []);
        assert.deepEqual(remote, [], "the page must work offline");
      });

      const svg = page.locator(`${chart("initiator", "ready")} svg`);
      const container = page.locator(chart("initiator", "ready"));
      const viewBox = async (): Promise<Box> => parseViewBox(await svg.getAttribute("viewBox"));
      const whole = parseViewBox(
        /viewBox="([^"]+)"/.exec(
          await (await fetch(new URL("api/statechart/ready.svg", inspector.url))).text(),
        )?.[1] ?? null,
      );

      await t.step("zooms around the pointer with the wheel and stops following", async () => {
        const frame = (await container.boundingBox())!;
        const pointer = {
          x: Math.round(frame.x + frame.width * 0.3),
          y: Math.round(frame.y + frame.height * 0.6),
        };
        // The SVG point under the pointer, from the page's own coordinate mapping.
        const under = (): Promise<{ x: number; y: number }> =>
          svg.evaluate((node, point) => {
            const inverse = (node as unknown as SvgRoot).getScreenCTM()!.inverse();
            const mapped = new DOMPoint(point.x, point.y).matrixTransform(inverse as DOMMatrix);
            return { x: mapped.x, y: mapped.y };
          }, pointer);
        await page.mouse.move(pointer.x, pointer.y);
        const [before, pinned] = [await viewBox(), await under()];
        await page.mouse.wheel(0, -300);
        await until(async () => (await viewBox()).width < before.width, "the wheel zooms");
        const after = await viewBox();
        assert.ok(after.width < before.width * 0.9, `${after.width} < ${before.width}`);
        // The point that was under the pointer is still there, to the pixel.
        const onScreen = await svg.evaluate((node, point) => {
          const matrix = (node as unknown as SvgRoot).getScreenCTM() as DOMMatrix;
          const mapped = new DOMPoint(point.x, point.y).matrixTransform(matrix);
          return { x: mapped.x, y: mapped.y };
        }, pinned);
        assert.ok(
          Math.abs(onScreen.x - pointer.x) <= 1 && Math.abs(onScreen.y - pointer.y) <= 1,
          `${JSON.stringify(onScreen)} is where ${JSON.stringify(pointer)} was`,
        );
        const follow = page.locator("#peer-initiator button[data-tool=follow]");
        assert.equal(await follow.getAttribute("aria-pressed"), "false");
      });

      await t.step("zooms with the buttons and the keyboard, pans by dragging", async () => {
        const before = await viewBox();
        await page.click("#peer-initiator button[data-tool=zoom-in]");
        const zoomedIn = await viewBox();
        assert.ok(zoomedIn.width < before.width, "+ zooms in");
        await container.focus();
        await page.keyboard.press("-");
        await page.keyboard.press("-");
        assert.ok((await viewBox()).width > zoomedIn.width, "- zooms out");
        const start = await viewBox();
        const frame = (await container.boundingBox())!;
        await page.mouse.move(frame.x + 200, frame.y + 200);
        await page.mouse.down();
        await page.mouse.move(frame.x + 320, frame.y + 260, { steps: 4 });
        await page.mouse.up();
        const panned = await viewBox();
        assert.ok(
          panned.x < start.x && panned.y < start.y,
          "dragging right and down shows left, up",
        );
        assert.equal(panned.width, start.width, "dragging does not zoom");
        await page.keyboard.press("ArrowRight");
        assert.ok((await viewBox()).x > panned.x, "arrow keys pan");
      });

      await t.step("focus brings the active state back into view", async () => {
        // Pan far away, zoomed in: the active state is out of sight.
        await container.focus();
        for (let i = 0; i < 4; i++) await page.keyboard.press("+");
        for (let i = 0; i < 30; i++) await page.keyboard.press("ArrowUp");
        const visible = (): Promise<boolean> =>
          container.evaluate((node) => {
            const active = node.querySelector("g.node.active");
            if (active === null) return false;
            const [a, c] = [active.getBoundingClientRect(), node.getBoundingClientRect()];
            return a.left >= c.left && a.right <= c.right && a.top >= c.top &&
              a.bottom <= c.bottom;
          });
        assert.equal(await visible(), false, "panned away from the active state");
        await page.click("#peer-initiator button[data-tool=focus]");
        await until(visible, "focus shows the active state");
      });

      await t.step("fit shows the whole statechart", async () => {
        await page.click("#peer-initiator button[data-tool=fit]");
        await until(
          async () => Math.abs((await viewBox()).width - whole.width) < 0.01,
          "fit shows the whole width",
        );
        const fitted = await viewBox();
        assert.ok(Math.abs(fitted.x - whole.x) < 0.01 && Math.abs(fitted.y - whole.y) < 0.01);
      });

      await t.step("highlights one state per region of the ready statechart", async () => {
        await run("midKeyUpdate");
        const active = await page.locator(`${chart("responder", "ready")} g.node.active`)
          .evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-state")).sort());
        assert.deepEqual(active, [
          "active.keyUpdate.updating.awaitingAnswer",
          "active.lifecycle.open",
        ]);
        const at = await page.locator("#rail .rail-step.at-responder .name").textContent();
        assert.equal(at, "Key update");
      });

      // Show both peers' handshake charts at `ready` for the screenshot.
      await run("live");
      for (const role of ROLES) {
        await page.click(`#peer-${role} .chart-tabs button[data-chart=handshake]`);
      }
      await page.waitForTimeout(600);
      const directory = await Deno.makeTempDir({ prefix: "qgate-inspector-" });
      const path = `${directory}/inspector.png`;
      await page.screenshot({ path });
      const size = (await Deno.stat(path)).size;
      assert.ok(size > 20_000, `screenshot is ${size} bytes`);
      console.log(`viz_inspector_test: screenshot saved to ${path}`);

      await t.step("follows the statecharts-only run through key update and close", async () => {
        await run("simulated");
        for (const role of ROLES) {
          const ready = page.locator(chart(role, "ready"));
          assert.equal(await ready.locator('g.node.active[data-state="closed"]').count(), 1, role);
          const step = role === "initiator" ? "answering" : "offering";
          const visited = ready.locator(
            `g.node.visited[data-state="active.keyUpdate.updating.${step}"]`,
          );
          assert.equal(await visited.count(), 1, `${role}: went through ${step}`);
          const at = await page.locator(`#rail .rail-step.at-${role} .name`).textContent();
          assert.equal(at, "Close");
        }
        // One time base: every frame arrives after it left, and the run starts at 0.
        const times = await page.locator("#frames .frame.delivered").evaluateAll((rows) =>
          rows.map((row) => [Number(row.dataset["sentAt"]), Number(row.dataset["receivedAt"])])
        );
        assert.ok(times.length > 10);
        for (const [sent, received] of times) {
          assert.ok(received! >= sent!, `${sent} → ${received}`);
        }
        assert.match(await page.locator("#frames .frame .meta").first().innerText(), / 0\.0 ms$/);
        assert.deepEqual(errors, []);
      });
    } finally {
      await browser.close();
      await inspector.shutdown();
    }
  },
});

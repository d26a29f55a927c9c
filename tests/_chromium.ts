/**
 * Where the browser tests find Chromium, whether they may be ignored (only
 * off CI, and only when Chromium is absent: CI installs it), what they need
 * to run, and how they start it.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Browser } from "playwright-core";

/** Debian's Chromium, which `.ci/run` installs. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is absent from this machine. */
export function chromiumMissing(): boolean {
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

/**
 * Whether a browser test is ignored here (Chromium absent, not on CI); says
 * so once, with the command that installs it.
 *
 * @param test The test's file name, for the message.
 * @returns `true` to ignore the test.
 */
export function ignoreBrowserTest(test: string): boolean {
  const ignore = chromiumMissing() && !inCi();
  if (ignore) {
    console.log(
      `${test}: skipping the browser test: ${CHROMIUM} is absent and CI is not set ` +
        "(apt-get install -y chromium to run it)",
    );
  }
  return ignore;
}

/**
 * Fails a browser test at once, with the fix, when it cannot run: Chromium
 * absent, or permissions short of --allow-all (playwright-core reads
 * /proc/sys/fs/binfmt_misc when it loads, which Deno allows only then; say
 * so instead of failing deep inside it).
 *
 * @param test The test's file name, for the message.
 */
export function assertBrowserTestRuns(test: string): void {
  assert.ok(!chromiumMissing(), `${CHROMIUM} is required in CI: apt-get install -y chromium`);
  const all = (["run", "write", "sys", "ffi", "net", "env", "read"] as const).every((name) =>
    Deno.permissions.querySync({ name }).state === "granted"
  );
  assert.ok(all, `the browser test needs --allow-all: deno test -A tests/${test}`);
}

/** Starts headless Chromium for a browser test, with nothing running in the background. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
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
}

/**
 * Where the browser tests find Chromium, and whether they may be ignored:
 * only off CI, and only when Chromium is absent (CI installs it).
 *
 * @module
 */

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

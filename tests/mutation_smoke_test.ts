/**
 * `deno task mutate` starts, runs mutants and prints a score: two mutants of
 * one small file with one worker. The full run takes long and is not part of
 * the test suite (see tests/mutation/README.md).
 */

import assert from "node:assert/strict";
import type { MutationReport } from "./mutation/mutate.ts";

Deno.test("tests/mutation/mutate.ts runs two mutants and prints a score line", async () => {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("./mutation/mutate.ts", import.meta.url).pathname,
        "--files",
        "src/codec/replay_window.ts",
        "--max",
        "2",
        "--seed",
        "1",
        "--workers",
        "1",
        "--json",
        json,
      ],
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /^mutation score: (\d+\.\d%|n\/a) \(\d+ killed of \d+ viable mutants/m);
    const report = JSON.parse(await Deno.readTextFile(json)) as MutationReport;
    assert.equal(report.results.length, 2);
    assert.ok(report.results.every((result) => result.file === "src/codec/replay_window.ts"));
    assert.ok(
      report.results.every((result) =>
        ["killed", "timeout", "survived", "notViable"].includes(result.status)
      ),
    );
  } finally {
    await Deno.remove(json);
  }
});

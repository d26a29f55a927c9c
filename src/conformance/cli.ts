/**
 * `deno task conformance`: the conformance suite from the command line.
 *
 * ```
 * deno task conformance                          the suite against qgate, the table, then
 *                                                "transitions covered: N/M" per statechart
 *   --adapter <module>                           the suite against another implementation: a module
 *                                                whose default export (or export "adapter") is a
 *                                                ConformanceAdapter (docs/conformance.md)
 *   --long                                       every algorithm combination, 100 runs per property
 *   --only <id-prefix>  --roles initiator|responder
 *   --seed <n> [--path <p>]  --runs <n>  --sample <n>
 *   --json <file|->                              the report (suite, coverage, exploration) as JSON
 *   --explore                                    also the exhaustive explorations of the handshake
 *                                                and of the ready phase (QGATE_EXPLORE_DEPTH,
 *                                                QGATE_EXPLORE_READY_DEPTH)
 * deno task conformance --target 127.0.0.1:PORT [--role initiator|responder] [--timeout ms]
 *     [--identity file] [--require-authentication] [--gss hex|@file]
 *                                                hostile peer: dials the target, one case per connection;
 *                                                cases it cannot reach are "not run", with the reason
 * deno task conformance --listen [host:]PORT [--role responder|initiator] ...
 *                                                hostile peer: waits for the target to dial, once per case
 * deno task conformance --runner "<command>" [--vectors <directory>]
 *                                                drives an external runner (RUNNER.md) through the
 *                                                handshake vectors: those shipped with the package,
 *                                                or the two files in <directory> (needs --allow-run);
 *                                                a command starting with "deno" runs this Deno
 * ```
 *
 * Progress goes to stderr as the suite runs (a line per category, a counter,
 * each failure); the report goes to stdout. Every reproduce line names the
 * same adapter or target. The exit code is 1 when any case fails, 2 for a
 * usage error.
 *
 * @module
 */

import { runConformance } from "./suite.ts";
import type { ConformanceCategory } from "./suite_report.ts";
import { formatConformanceTable } from "./suite_table.ts";
import { qgateAdapter } from "./adapter.ts";
import { measureStatechartCoverage } from "./coverage.ts";
import { exploreHandshake } from "./explore.ts";
import { exploreReady } from "./explore_ready.ts";
import { formatExploration } from "./explore_text.ts";
import { runHostilePeer } from "./hostile_peer.ts";
import { runHandshakeVectors } from "./vector_harness.ts";
import { loadHandshakeVectors } from "./vector_files.ts";
import type { NegativeVector, PositiveVector, VectorFile } from "./vectors.ts";
import {
  classifyTargetResults,
  formatTargetRows,
  loadAdapter,
  readIdentityFile,
  readSecret,
  reproduceWith,
  runnerCommand,
  shellWord,
  suiteProgress,
} from "./_cli_support.ts";

const FLAGS = new Set(["long", "explore", "help", "require-authentication"]);

function progress(line: string): void {
  console.error(line);
}

function parse(args: readonly string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw new TypeError(`Cannot parse arguments: unexpected "${arg}"`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (FLAGS.has(name)) {
      options.set(name, "true");
    } else if (inline !== undefined) {
      options.set(name, inline);
    } else {
      const value = args[++i];
      if (value === undefined) {
        throw new TypeError(`Cannot parse arguments: "--${name}" needs a value`);
      }
      options.set(name, value);
    }
  }
  return options;
}

function address(text: string, fallbackHost: string): { hostname: string; port: number } {
  const at = text.lastIndexOf(":");
  const hostname = at < 0 ? fallbackHost : text.slice(0, at) || fallbackHost;
  const port = Number(at < 0 ? text : text.slice(at + 1));
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Cannot parse address: "${text}" has no valid port`);
  }
  return { hostname: hostname.replace(/^\[|\]$/g, ""), port };
}

function number(options: Map<string, string>, name: string): number | undefined {
  const text = options.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot parse "--${name}": "${text}" is not an integer`);
  }
  return value;
}

function role(options: Map<string, string>): "initiator" | "responder" | undefined {
  const value = options.get("role");
  if (value === undefined || value === "initiator" || value === "responder") return value;
  throw new TypeError(`Cannot parse "--role": "${value}" is not initiator or responder`);
}

async function hostile(options: Map<string, string>): Promise<number> {
  const target = options.get("target");
  const listen = options.get("listen");
  const gss = options.get("gss");
  const identityFile = options.get("identity");
  const requireAuthentication = options.has("require-authentication");
  if (requireAuthentication && identityFile === undefined) {
    throw new TypeError(
      `Cannot test the target: "--require-authentication" needs "--identity <file>" ` +
        `holding a key the target allows (deno task peer identity writes one)`,
    );
  }
  const identity = identityFile === undefined ? undefined : await readIdentityFile(identityFile);
  const secret = gss === undefined ? undefined : await readSecret(gss);
  const chosenRole = role(options);
  const timeout = number(options, "timeout");
  const only = options.get("only");
  const report = await runHostilePeer({
    ...(target === undefined ? {} : { target: address(target, "127.0.0.1") }),
    ...(listen === undefined ? {} : { listen: address(listen, "127.0.0.1") }),
    ...(chosenRole === undefined ? {} : { role: chosenRole }),
    ...(timeout === undefined ? {} : { timeout }),
    ...(only === undefined ? {} : { only }),
    ...(secret === undefined ? {} : { globalSharedSecret: secret }),
    ...(identity === undefined ? {} : { identity }),
    ...(requireAuthentication ? { targetRequiresAuthentication: true } : {}),
    onListening: ({ hostname, port }) =>
      console.log(`listening on ${hostname}:${port}: dial me once per case`),
    onResult: (result) =>
      progress(`${result.verdict === "n/a" ? "not run" : result.verdict} ${result.id}`),
  });
  const rows = classifyTargetResults(report, {
    identity: identity !== undefined,
    requireAuthentication,
    globalSharedSecret: secret !== undefined,
  });
  // The same target and options; an inline GSS is not echoed (give it as @file to reuse it).
  const words = ["deno", "task", "conformance"];
  if (target !== undefined) words.push("--target", target);
  if (listen !== undefined) words.push("--listen", listen);
  if (chosenRole !== undefined) words.push("--role", chosenRole);
  if (timeout !== undefined) words.push("--timeout", String(timeout));
  if (identityFile !== undefined) words.push("--identity", identityFile);
  if (requireAuthentication) words.push("--require-authentication");
  if (gss !== undefined) words.push("--gss", gss.startsWith("@") ? gss : "<GSS hex>");
  console.log(formatTargetRows(report, rows, words.map(shellWord).join(" ")));
  await writeJson(options, {
    ...report,
    rows: rows.map(({ id, status, reason }) => ({ id, status, reason })),
  });
  if (!rows.some((row) => row.status === "pass")) {
    // Not run is never passed: a run that tested nothing does not succeed.
    progress(
      rows.length === 0
        ? `nothing was tested: no ${chosenRole ?? "applicable"} case matches "--only ${only ?? ""}"`
        : "nothing was tested: every case was not run (see the reasons above)",
    );
    return 1;
  }
  return rows.some((row) => row.status === "fail") ? 1 : 0;
}

async function vectors(options: Map<string, string>): Promise<number> {
  const command = runnerCommand(options.get("runner")!, Deno.execPath());
  const directory = options.get("vectors");
  const files: VectorFile<PositiveVector | NegativeVector>[] = [];
  if (directory === undefined) {
    const { positive, negative } = await loadHandshakeVectors();
    files.push(positive, negative);
  } else {
    for (const name of ["handshake_positive.json", "handshake_negative.json"]) {
      files.push(JSON.parse(await Deno.readTextFile(`${directory}/${name}`)));
    }
  }
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let done = 0;
  const results = await runHandshakeVectors(
    { writable: child.stdin, readable: child.stdout },
    files,
    {
      onResult: (result) => {
        done++;
        if (result.status === "fail") {
          console.log(
            `FAIL ${result.id} (${result.role}): ${result.detail}`,
          );
        }
        if (done % 20 === 0) progress(`… ${done} vector runs`);
      },
    },
  );
  await child.status;
  const failed = results.filter((result) => result.status === "fail").length;
  console.log(
    `${results.length - failed} passed, ${failed} failed (${
      results.length / 2
    } vectors, both roles)`,
  );
  await writeJson(options, results);
  return failed === 0 ? 0 : 1;
}

async function writeJson(options: Map<string, string>, data: unknown): Promise<void> {
  const target = options.get("json");
  if (target === undefined) return;
  const text = JSON.stringify(data, null, 2) + "\n";
  if (target === "-") console.log(text);
  else await Deno.writeTextFile(target, text);
}

async function suite(options: Map<string, string>): Promise<number> {
  const roles = options.get("roles")?.split(",") as ("initiator" | "responder")[] | undefined;
  const categories = options.get("categories")?.split(",") as ConformanceCategory[] | undefined;
  const seed = number(options, "seed");
  const numRuns = number(options, "runs");
  const sample = number(options, "sample");
  const only = options.get("only");
  const path = options.get("path");
  const adapterModule = options.get("adapter");
  const adapter = adapterModule === undefined
    ? qgateAdapter
    : await loadAdapter(adapterModule, Deno.cwd());
  const tracker = suiteProgress(progress);
  progress(`conformance of ${adapter.name}: running…`);
  const report = await runConformance(adapter, {
    long: options.has("long"),
    ...(roles === undefined ? {} : { roles }),
    ...(categories === undefined ? {} : { categories }),
    ...(seed === undefined ? {} : { seed }),
    ...(numRuns === undefined ? {} : { numRuns }),
    ...(sample === undefined ? {} : { sample }),
    ...(only === undefined ? {} : { only }),
    ...(path === undefined ? {} : { path }),
    onResult: tracker.onResult,
  });
  tracker.finish();
  const selection = adapterModule === undefined ? "" : `--adapter ${shellWord(adapterModule)}`;
  console.log(reproduceWith(formatConformanceTable(report), selection));
  console.log("");
  // The coverage is of qgate's own statecharts: it says nothing about another adapter.
  const coverage = adapterModule === undefined ? measureStatechartCoverage() : [];
  for (const chart of coverage) {
    console.log(`${chart.name}: transitions covered: ${chart.covered}/${chart.total}`);
    for (const label of chart.uncovered) console.log(`  uncovered: ${label}`);
  }
  let exploration;
  let readyExploration;
  if (options.has("explore")) {
    exploration = exploreHandshake();
    console.log("");
    console.log(formatExploration(exploration));
    readyExploration = exploreReady();
    console.log("");
    console.log(formatExploration(readyExploration));
  }
  await writeJson(options, {
    report,
    coverage,
    ...(exploration === undefined ? {} : { exploration }),
    ...(readyExploration === undefined ? {} : { readyExploration }),
  });
  const uncovered = coverage.some((chart) => chart.covered !== chart.total);
  const violated = [exploration, readyExploration].some((run) =>
    run?.invariants.some((invariant) => !invariant.holds) ?? false
  );
  if (report.passed === 0 && report.notRun > 0) {
    // Not run is never passed: a run that tested nothing does not succeed.
    progress("nothing was tested: every case was not run (see the reasons above)");
    return 1;
  }
  return report.failed === 0 && !uncovered && !violated ? 0 : 1;
}

if (import.meta.main) {
  let code: number;
  try {
    const options = parse(Deno.args);
    if (options.has("help")) {
      console.log(
        "usage: deno task conformance [--adapter module] [--long] [--only id] [--roles r] [--seed n --path p] [--json file] [--explore]\n" +
          "       deno task conformance --target host:port [--role initiator|responder] [--timeout ms]\n" +
          "                             [--identity file] [--require-authentication] [--gss hex|@file]\n" +
          "       deno task conformance --listen [host:]port [--role responder|initiator]\n" +
          '       deno task conformance --runner "<command>" [--vectors directory]   (needs --allow-run)',
      );
      code = 0;
    } else if (options.has("target") || options.has("listen")) {
      code = await hostile(options);
    } else if (options.has("runner")) {
      code = await vectors(options);
    } else {
      code = await suite(options);
    }
  } catch (error) {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    code = 2;
  }
  Deno.exit(code);
}

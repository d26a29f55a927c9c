/**
 * `deno task mutate`: mutation testing of the statecharts, the handshake
 * policy, the crypto composition and the codec.
 *
 * ```
 * deno task mutate                         the default set of tests/mutation/config.json
 *   --files <spec,...>                     only these files; a spec is a path, path:FROM-TO
 *                                          (lines) or path#name (a function or method)
 *   --operators <name,...>                 only these operators (see --help)
 *   --max <n>                              at most n mutants, drawn with --seed (0 = all)
 *   --seed <n>                             the sampling seed
 *   --workers <n>                          parallel repository copies (default 2)
 *   --json <file>                          where the JSON report goes (default: a temp file)
 *   --list                                 print the selected mutants, run nothing
 *   --list-survivors                       print every surviving mutant after the table
 *   --rerun <report.json>                  run again only the survivors of an earlier report
 *                                          (found again on another line if code above moved)
 *                                          and merge the results into it
 *   --config <file>                        another configuration file
 * ```
 *
 * For each worker the driver copies the working tree (without `.git`) into a
 * temporary directory. For each mutant it writes the mutated file into a
 * copy, type-checks that file once (`deno check`; a rejection makes the
 * mutant "not viable"), then runs the configured test tiers for that file
 * with `--no-check`, cheapest first, and stops at the first tier that fails
 * ("killed"). A tier that exceeds its timeout also counts as killed
 * ("timeout": a hang is a detected fault). A mutant that passes every tier
 * "survived". The score is (killed + timeout) / (killed + timeout + survived).
 *
 * Mutants are generated in a fixed order (configuration order of files,
 * then offset, then operator), sampled with a seeded generator, and reported
 * in that order whatever the workers' timing.
 *
 * @module
 */

import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  applyMutant,
  generateMutants,
  type Mutant,
  OPERATOR_DESCRIPTIONS,
  type OperatorName,
  OPERATORS,
  type Selection,
} from "./_mutants.ts";

/** One group of source files and the tests that can catch their mutants. */
export interface MutationTarget {
  /** Paths or `dir/*.ts` patterns, relative to the repository. */
  readonly files: readonly string[];
  /** 1-based inclusive line ranges (for every file of the target). */
  readonly lines?: readonly (readonly [number, number])[];
  /** Functions or methods to mutate (for every file of the target). */
  readonly functions?: readonly string[];
  /**
   * Tiers, cheapest first: each a list of test files run in one `deno test`,
   * or `task:<name>` for a `deno task`.
   */
  readonly tests: readonly (readonly string[])[];
}

/** A rule that leaves out mutants known to be equivalent. */
export interface Exclusion {
  /** The operator it applies to. */
  readonly operator: OperatorName;
  /** Text the mutated range contains. */
  readonly match: string;
  /** Why such mutants are equivalent. */
  readonly reason: string;
}

/** The configuration file's shape. */
export interface MutationConfig {
  /** Parallel repository copies. */
  readonly workers: number;
  /** Default sample size (0 = every mutant). */
  readonly max: number;
  /** Default sampling seed. */
  readonly seed: number;
  /** Per-tier timeout: `factor` times the unmutated run, at least `minimumMs`. */
  readonly timeout: { readonly factor: number; readonly minimumMs: number };
  /** The default set. */
  readonly targets: readonly MutationTarget[];
  /** Mutants left out as equivalent. */
  readonly exclude: readonly Exclusion[];
  /**
   * Tests ignored in the workers' copies, each with its reason: a test that
   * fails without a mutant would stop the run at the baseline.
   */
  readonly skipTests?: readonly SkippedTest[];
}

/** A test the workers' copies ignore. */
export interface SkippedTest {
  /** Its file, relative to the repository. */
  readonly file: string;
  /** Its name, exactly as in `Deno.test("…"`. */
  readonly name: string;
  /** Why it is left out. */
  readonly reason: string;
}

/**
 * Turns `Deno.test("name"` into `Deno.test.ignore("name"` in a test file's text.
 *
 * @param text The test file.
 * @param name The test's name.
 * @returns The text, or `undefined` when no test of that name is found.
 */
export function ignoreTest(text: string, name: string): string | undefined {
  const call = `Deno.test(${JSON.stringify(name)}`;
  return text.includes(call)
    ? text.replace(call, `Deno.test.ignore(${JSON.stringify(name)}`)
    : undefined;
}

/** The outcome of one mutant. */
export type MutantStatus = "killed" | "timeout" | "survived" | "notViable";

/** One mutant's result in the report. */
export interface MutantResult {
  /** The mutant's stable identifier. */
  readonly id: string;
  /** Repository-relative path. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
  /** Operator name. */
  readonly operator: OperatorName;
  /** original -> replacement. */
  readonly description: string;
  /** The mutated line of the original source, trimmed (finds the mutant again after edits). */
  readonly text?: string;
  /** Outcome. */
  readonly status: MutantStatus;
  /** The tier that killed it (its test list), when killed or timed out. */
  readonly killedBy?: string;
  /** Wall time spent on this mutant in ms. */
  readonly ms: number;
}

/** The JSON report. */
export interface MutationReport {
  /** Arguments that reproduce the selection. */
  readonly selection: {
    readonly files: readonly string[];
    readonly operators: readonly OperatorName[];
    readonly max: number;
    readonly seed: number;
    readonly generated: number;
    readonly excluded: number;
  };
  /** Wall time of the whole run in ms. */
  readonly durationMs: number;
  /** Per-mutant results in generation order. */
  readonly results: readonly MutantResult[];
}

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const DEFAULT_CONFIG = join(ROOT, "tests", "mutation", "config.json");
const FLAGS = new Set(["list", "list-survivors", "help"]);

function parseArgs(args: readonly string[]): Map<string, string> {
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

function expand(pattern: string): string[] {
  if (!pattern.includes("*")) return [pattern];
  const slash = pattern.lastIndexOf("/");
  const dir = pattern.slice(0, slash);
  const re = new RegExp(
    `^${pattern.slice(slash + 1).replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`,
  );
  return [...Deno.readDirSync(join(ROOT, dir))]
    .filter((entry) => entry.isFile && re.test(entry.name))
    .map((entry) => `${dir}/${entry.name}`)
    .sort();
}

/** One file to mutate, with its selection and its test tiers. */
interface FilePlan {
  readonly file: string;
  readonly selection: Selection;
  readonly tests: readonly (readonly string[])[];
}

function planFiles(config: MutationConfig, specs: readonly string[] | undefined): FilePlan[] {
  const byFile = new Map<string, MutationTarget>();
  for (const target of config.targets) {
    for (const pattern of target.files) {
      for (const file of expand(pattern)) if (!byFile.has(file)) byFile.set(file, target);
    }
  }
  if (specs === undefined) {
    return [...byFile].map(([file, target]) => ({
      file,
      selection: {
        ...(target.lines === undefined ? {} : { lines: target.lines }),
        ...(target.functions === undefined ? {} : { functions: target.functions }),
      },
      tests: target.tests,
    }));
  }
  return specs.map((spec) => {
    const range = /^(.*):(\d+)-(\d+)$/.exec(spec);
    const named = /^(.*?)#(.+)$/.exec(spec);
    const file = range?.[1] ?? named?.[1] ?? spec;
    const target = byFile.get(file);
    if (target === undefined) {
      throw new TypeError(`Cannot mutate "${file}": no target in the configuration lists it`);
    }
    const selection: Selection = range !== null
      ? { lines: [[Number(range[2]), Number(range[3])]] }
      : named !== null
      ? { functions: [named[2]!] }
      : {};
    return { file, selection, tests: target.tests };
  });
}

/** mulberry32: a small seeded generator, so a seed names one sample everywhere. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample<T>(items: readonly T[], max: number, seed: number): T[] {
  if (max <= 0 || max >= items.length) return [...items];
  const random = seededRandom(seed);
  const indexes = items.map((_, index) => index);
  for (let i = indexes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
  }
  return indexes.slice(0, max).sort((a, b) => a - b).map((index) => items[index]!);
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if ([".git", "node_modules", "coverage"].includes(entry.name)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) await copyTree(source, target);
    else if (entry.isFile) await Deno.copyFile(source, target);
  }
}

interface CommandResult {
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly ms: number;
  readonly output: string;
}

async function runCommand(cwd: string, args: readonly string[], timeoutMs: number): Promise<
  CommandResult
> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }, timeoutMs);
  const output = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  return {
    ok: output.success && !timedOut,
    timedOut,
    ms: performance.now() - started,
    output: text.slice(-4000),
  };
}

function tierArgs(tier: readonly string[]): string[] {
  const task = tier.find((entry) => entry.startsWith("task:"));
  if (task !== undefined) return ["task", "--quiet", task.slice("task:".length)];
  return ["test", "--allow-all", "--no-check", "--quiet", ...tier];
}

function tierName(tier: readonly string[]): string {
  return tier.map((entry) => entry.replace(/^tests\//, "")).join(" ");
}

/** Tiers with missing test files dropped (a new test may not exist yet on every branch). */
function existingTiers(tests: readonly (readonly string[])[]): string[][] {
  return tests
    .map((tier) =>
      tier.filter((entry) => {
        if (entry.startsWith("task:")) return true;
        try {
          return Deno.statSync(join(ROOT, entry)).isFile;
        } catch {
          return false;
        }
      })
    )
    .filter((tier) => tier.length > 0);
}

/** Line `line` (1-based) of `source`, trimmed. */
function lineOf(source: string, line: number): string {
  return (source.split("\n")[line - 1] ?? "").trim();
}

/**
 * The mutants of `all` that are the earlier survivors: the same id, or, when
 * the file changed above it, the same file, operator and change on a line of
 * the same text, the nearest such. A survivor whose line changed or is gone
 * is not found (a report without line texts is matched by id only).
 */
function findAgain(
  all: readonly Mutant[],
  survivors: readonly MutantResult[],
  renamed: Map<string, string>,
  sources: ReadonlyMap<string, string>,
): Mutant[] {
  const found = new Set<Mutant>();
  for (const old of survivors) {
    const same = all.find((mutant) => mutant.id === old.id);
    const candidates = same !== undefined
      ? [same]
      : all.filter((mutant) =>
        old.text !== undefined && mutant.file === old.file && mutant.operator === old.operator &&
        mutant.description === old.description && !found.has(mutant) &&
        lineOf(sources.get(mutant.file) ?? "", mutant.line) === old.text
      );
    const nearest = candidates.sort((a, b) =>
      Math.abs(a.line - old.line) - Math.abs(b.line - old.line)
    )[0];
    if (nearest !== undefined) {
      found.add(nearest);
      renamed.set(old.id, nearest.id);
    }
  }
  return all.filter((mutant) => found.has(mutant));
}

function excludedBy(mutant: Mutant, source: string, rules: readonly Exclusion[]): boolean {
  const original = source.slice(mutant.start, mutant.end);
  return rules.some((rule) => rule.operator === mutant.operator && original.includes(rule.match));
}

function pad(text: string | number, width: number): string {
  return String(text).padStart(width);
}

function percent(killed: number, survived: number): string {
  const total = killed + survived;
  return total === 0 ? "n/a" : `${(100 * killed / total).toFixed(1)}%`;
}

/**
 * Formats the per-file table and the score line.
 *
 * @param results The results in generation order.
 * @returns The lines to print.
 */
export function formatSummary(results: readonly MutantResult[]): string[] {
  const files = [...new Set(results.map((result) => result.file))];
  const count = (list: readonly MutantResult[], status: MutantStatus): number =>
    list.filter((result) => result.status === status).length;
  const width = Math.max(4, ...files.map((file) => file.length));
  const lines = [
    `${"file".padEnd(width)}  mutants  killed  timeout  survived  not viable   score`,
  ];
  for (const file of [...files, "total"]) {
    const list = file === "total" ? results : results.filter((result) => result.file === file);
    const killed = count(list, "killed");
    const timeout = count(list, "timeout");
    const survived = count(list, "survived");
    lines.push(
      `${file.padEnd(width)}  ${pad(list.length, 7)}  ${pad(killed, 6)}  ${pad(timeout, 7)}  ${
        pad(survived, 8)
      }  ${pad(count(list, "notViable"), 10)}  ${pad(percent(killed + timeout, survived), 6)}`,
    );
  }
  const killed = count(results, "killed") + count(results, "timeout");
  const survived = count(results, "survived");
  lines.push(
    `mutation score: ${percent(killed, survived)} (${killed} killed of ${
      killed + survived
    } viable mutants; ${survived} survived, ${count(results, "notViable")} not viable, ${
      count(results, "timeout")
    } of the killed by timeout)`,
  );
  return lines;
}

/** CPU seconds used by this process and its finished children (Linux), or undefined. */
function cpuSeconds(): number | undefined {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime are fields 14-17 of the line, in clock ticks (100 Hz).
    const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

function usage(): string {
  const operators = OPERATORS.map((name) => `  ${name.padEnd(11)}${OPERATOR_DESCRIPTIONS[name]}`);
  return [
    "deno task mutate [--files a.ts,b.ts:10-40,c.ts#name] [--operators x,y] [--max n] [--seed n]",
    "                 [--workers n] [--json file] [--list] [--list-survivors] [--rerun report.json]",
    "operators:",
    ...operators,
  ].join("\n");
}

/** Runs one mutant in a worker's copy. */
async function runMutant(
  copy: string,
  mutant: Mutant,
  source: string,
  tiers: readonly (readonly string[])[],
  timeouts: ReadonlyMap<string, number>,
): Promise<{ status: MutantStatus; killedBy?: string }> {
  const path = join(copy, mutant.file);
  await Deno.writeTextFile(path, applyMutant(source, mutant));
  try {
    const check = await runCommand(copy, ["check", "--quiet", mutant.file], 120_000);
    if (!check.ok) return { status: "notViable" };
    for (const tier of tiers) {
      const result = await runCommand(copy, tierArgs(tier), timeouts.get(tierName(tier))!);
      if (result.timedOut) return { status: "timeout", killedBy: tierName(tier) };
      if (!result.ok) return { status: "killed", killedBy: tierName(tier) };
    }
    return { status: "survived" };
  } finally {
    await Deno.writeTextFile(path, source);
  }
}

/**
 * Runs the driver with command-line arguments.
 *
 * @param args The arguments (see the module doc).
 * @returns The process exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  const options = parseArgs(args);
  if (options.has("help")) {
    console.log(usage());
    return 0;
  }
  const config = JSON.parse(
    await Deno.readTextFile(options.get("config") ?? DEFAULT_CONFIG),
  ) as MutationConfig;
  const specs = options.get("files")?.split(",").filter((spec) => spec !== "");
  const operators = (options.get("operators")?.split(",") ?? [...OPERATORS]) as OperatorName[];
  for (const name of operators) {
    if (!OPERATORS.includes(name)) throw new TypeError(`Cannot mutate: unknown operator "${name}"`);
  }
  const max = Number(options.get("max") ?? config.max);
  const seed = Number(options.get("seed") ?? config.seed);
  const workers = Math.max(1, Number(options.get("workers") ?? config.workers));

  const plans = planFiles(config, specs);
  const sources = new Map<string, string>();
  const tiersOf = new Map<string, string[][]>();
  let all: Mutant[] = [];
  let excluded = 0;
  for (const plan of plans) {
    const source = await Deno.readTextFile(join(ROOT, plan.file));
    sources.set(plan.file, source);
    tiersOf.set(plan.file, existingTiers(plan.tests));
    const mutants = generateMutants(plan.file, source, operators, plan.selection);
    const kept = mutants.filter((mutant) => !excludedBy(mutant, source, config.exclude));
    excluded += mutants.length - kept.length;
    all = all.concat(kept);
  }
  const generated = all.length;
  let selected = sample(all, max, seed);
  console.log(
    `${generated} mutants generated (${excluded} excluded as equivalent), ${selected.length} selected (max ${max}, seed ${seed})`,
  );
  if (options.has("list")) {
    for (const mutant of selected) {
      console.log(
        `${mutant.file}:${mutant.line}:${mutant.col} ${mutant.operator} ${mutant.description}`,
      );
    }
    return 0;
  }

  let previous: MutationReport | undefined;
  const renamed = new Map<string, string>();
  const rerun = options.get("rerun");
  if (rerun !== undefined) {
    previous = JSON.parse(await Deno.readTextFile(rerun)) as MutationReport;
    const survivors = previous.results.filter((result) => result.status === "survived");
    selected = findAgain(all, survivors, renamed, sources);
    const moved = selected.filter((mutant) => !survivors.some((old) => old.id === mutant.id));
    console.log(
      `re-running ${selected.length} of the ${survivors.length} survivors of ${rerun}` +
        (moved.length === 0 ? "" : ` (${moved.length} found on another line)`),
    );
  }

  const started = performance.now();
  const base = await Deno.makeTempDir({ prefix: "qgate-mutation-" });
  // An interrupted run removes its copies too.
  const interrupted = (): void => {
    Deno.removeSync(base, { recursive: true });
    Deno.exit(130);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, interrupted);
  try {
    const copies = await Promise.all(
      Array.from({ length: workers }, async (_, index) => {
        const copy = join(base, `worker-${index}`);
        await copyTree(ROOT, copy);
        for (const skipped of config.skipTests ?? []) {
          const path = join(copy, skipped.file);
          const text = await Deno.readTextFile(path).catch(() => undefined);
          const changed = text === undefined ? undefined : ignoreTest(text, skipped.name);
          if (changed !== undefined) await Deno.writeTextFile(path, changed);
        }
        return copy;
      }),
    );
    // One unmutated run of every tier that will be needed: it must pass, and it sets the timeout.
    const timeouts = new Map<string, number>();
    const files = [...new Set(selected.map((mutant) => mutant.file))];
    for (const file of files) {
      const check = await runCommand(copies[0]!, ["check", "--quiet", file], 300_000);
      if (!check.ok) throw new Error(`Cannot mutate: ${file} does not type-check\n${check.output}`);
      for (const tier of tiersOf.get(file)!) {
        const name = tierName(tier);
        if (timeouts.has(name)) continue;
        const result = await runCommand(copies[0]!, tierArgs(tier), 600_000);
        if (!result.ok) {
          throw new Error(`Cannot mutate: "${name}" fails without a mutant\n${result.output}`);
        }
        timeouts.set(name, Math.max(config.timeout.minimumMs, result.ms * config.timeout.factor));
        console.error(`baseline ${name}: ${(result.ms / 1000).toFixed(1)} s`);
      }
      if (tiersOf.get(file)!.length === 0) throw new Error(`Cannot mutate ${file}: no tests`);
    }

    const results = new Map<string, MutantResult>();
    let next = 0;
    let done = 0;
    await Promise.all(copies.map(async (copy) => {
      while (next < selected.length) {
        const mutant = selected[next++]!;
        const t0 = performance.now();
        const outcome = await runMutant(
          copy,
          mutant,
          sources.get(mutant.file)!,
          tiersOf.get(mutant.file)!,
          timeouts,
        );
        const result: MutantResult = {
          id: mutant.id,
          file: mutant.file,
          line: mutant.line,
          col: mutant.col,
          operator: mutant.operator,
          description: mutant.description,
          text: lineOf(sources.get(mutant.file)!, mutant.line),
          status: outcome.status,
          ...(outcome.killedBy === undefined ? {} : { killedBy: outcome.killedBy }),
          ms: Math.round(performance.now() - t0),
        };
        results.set(mutant.id, result);
        done++;
        console.error(
          `[${done}/${selected.length}] ${
            result.status.padEnd(9)
          } ${mutant.file}:${mutant.line}:${mutant.col} ${mutant.operator} ${mutant.description}`,
        );
      }
    }));

    const ordered = previous === undefined
      ? selected.map((mutant) => results.get(mutant.id)!)
      : previous.results.map((result) =>
        results.get(renamed.get(result.id) ?? result.id) ?? result
      );
    const report: MutationReport = {
      selection: {
        files: plans.map((plan) => plan.file),
        operators,
        max,
        seed,
        generated,
        excluded,
      },
      durationMs: Math.round(performance.now() - started) + (previous?.durationMs ?? 0),
      results: ordered,
    };
    const jsonPath = options.get("json") ?? join(base, "..", `qgate-mutation-${Date.now()}.json`);
    await Deno.writeTextFile(jsonPath, JSON.stringify(report, null, 2) + "\n");
    for (const line of formatSummary(ordered)) console.log(line);
    if (options.has("list-survivors")) {
      console.log("survivors:");
      for (const result of ordered.filter((result) => result.status === "survived")) {
        console.log(
          `  ${result.file}:${result.line}:${result.col} ${result.operator} ${result.description}`,
        );
      }
    }
    const cpu = cpuSeconds();
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    const cpuNote = cpu === undefined ? "" : ` (${cpu.toFixed(0)} CPU s)`;
    console.log(
      `${selected.length} mutants in ${seconds} s with ${workers} workers${cpuNote}; report: ${
        relative(Deno.cwd(), jsonPath)
      }`,
    );
    return 0;
  } finally {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.removeSignalListener(signal, interrupted);
    }
    await Deno.remove(base, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * What `deno task conformance` needs besides the suite itself: loading an
 * adapter module, the options a real target needs (identity file, its
 * authentication policy, a GSS), reporting hostile cases that could not run
 * as "not run" (never as passed), reproduce lines that name the same adapter
 * or target, the runner command with `deno` resolved to this Deno, and
 * progress lines.
 *
 * @module
 */

import type { ConformanceAdapter } from "./adapter.ts";
import type { HostileCaseResult, HostileReport } from "./hostile_peer.ts";
import type { ConformanceResult } from "./suite_report.ts";
import type { SignatureKeyPair } from "../crypto/types.ts";
import { hexToBytes } from "../_hex.ts";

/**
 * Loads an adapter module: its default export, or its export named
 * `adapter`, must be a {@linkcode ConformanceAdapter}
 * (`{ name: string, start(transport, spec) }`).
 *
 * @param specifier A path (relative to the working directory) or a URL.
 * @param cwd The directory relative paths start from.
 * @returns The adapter.
 * @throws {TypeError} If the module exports no adapter of that shape.
 */
export async function loadAdapter(specifier: string, cwd: string): Promise<ConformanceAdapter> {
  const url = /^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)
    ? new URL(specifier)
    : new URL(specifier, `file://${cwd.endsWith("/") ? cwd : `${cwd}/`}`);
  const module: Record<string, unknown> = await import(url.href);
  const candidate = module.default ?? module.adapter;
  if (
    typeof candidate !== "object" || candidate === null ||
    typeof (candidate as ConformanceAdapter).name !== "string" ||
    typeof (candidate as ConformanceAdapter).start !== "function"
  ) {
    throw new TypeError(
      `Cannot load adapter: "${specifier}" must export (default, or as "adapter") an object ` +
        `{ name: string, start(transport, spec) } (see ConformanceAdapter)`,
    );
  }
  return candidate as ConformanceAdapter;
}

/**
 * Splits a runner command line into program and arguments (double or single
 * quotes group words) and, when the program is `deno`, runs this very Deno
 * (`Deno.execPath()`), so a Deno started through npx or a version manager
 * that is not on `PATH` still works.
 *
 * @param text The command, e.g. `deno run src/conformance/runner.ts`.
 * @param execPath This Deno's executable.
 * @returns The program and its arguments.
 * @throws {TypeError} If the command is empty.
 */
export function runnerCommand(text: string, execPath: string): [string, ...string[]] {
  const words = [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((match) =>
    match[1] ?? match[2] ?? match[3]!
  );
  const [program, ...args] = words;
  if (program === undefined) throw new TypeError(`Cannot run: "--runner" is empty`);
  return [program === "deno" ? execPath : program, ...args];
}

/**
 * Reads an identity file: JSON `{ "algorithm", "publicKey", "secretKey" }`,
 * keys in hex (what `deno task peer identity` writes).
 *
 * @param file The path.
 * @returns The key pair.
 * @throws {TypeError} If the file does not hold an identity.
 */
export async function readIdentityFile(file: string): Promise<SignatureKeyPair> {
  const json = JSON.parse(await Deno.readTextFile(file)) as Record<string, unknown>;
  if (
    typeof json.algorithm !== "string" || typeof json.publicKey !== "string" ||
    typeof json.secretKey !== "string"
  ) {
    throw new TypeError(
      `Cannot read identity: "${file}" needs "algorithm", "publicKey" and "secretKey" (hex)`,
    );
  }
  return {
    algorithm: json.algorithm as SignatureKeyPair["algorithm"],
    publicKey: hexToBytes(json.publicKey),
    secretKey: hexToBytes(json.secretKey),
  };
}

/**
 * Reads a Global Shared Secret given as hex, or as `@file` holding the hex.
 *
 * @param value The `--gss` value.
 * @returns The secret.
 */
export async function readSecret(value: string): Promise<Uint8Array<ArrayBuffer>> {
  const text = value.startsWith("@") ? await Deno.readTextFile(value.slice(1)) : value;
  return hexToBytes(text.trim());
}

/** What the hostile peer was told about the target, to explain cases that could not run. */
export interface TargetSetup {
  /** An identity file was given. */
  readonly identity: boolean;
  /** The target was said to require authentication. */
  readonly requireAuthentication: boolean;
  /** A GSS was given. */
  readonly globalSharedSecret: boolean;
}

/** One hostile case as the command line reports it. */
export interface TargetRow {
  /** The case id. */
  readonly id: string;
  /** `"not run"`: the case could not reach what it tests; never counted as passed. */
  readonly status: "pass" | "fail" | "not run";
  /** What happened, or for "not run" why and what to give. */
  readonly reason: string;
  /** The hostile peer's own observations. */
  readonly result: HostileCaseResult;
}

const REFUSAL = /(ERR_[A-Z_]+)/;

function hint(code: string | undefined, setup: TargetSetup): string {
  switch (code) {
    case "ERR_AUTH_REQUIRED":
    case "ERR_PEER_NOT_ALLOWED":
    case "ERR_TRANSPORT_CLOSED":
      return setup.identity
        ? "the target refused our identity: add its public key to the target's access list"
        : "the target requires authentication: give --identity FILE with a key it allows" +
          (setup.requireAuthentication ? "" : " (and --require-authentication)");
    case "ERR_DECRYPT_FAILED":
      return setup.globalSharedSecret
        ? "the target uses another Global Shared Secret"
        : "the target uses a Global Shared Secret: give --gss HEX (or --gss @FILE)";
    case "ERR_NO_COMMON_ALGORITHM":
    case "ERR_VERSION_MISMATCH":
      return "the target shares no algorithm or version with the default preferences";
    default:
      return "the handshake did not get that far";
  }
}

/**
 * Sorts hostile results into passed, failed and not run. A case whose
 * attack was never reached, and an honest baseline the target refused, did
 * not test anything: they are "not run", with the reason and what to give.
 *
 * @param report The hostile peer's report.
 * @param setup What the hostile peer was given.
 * @returns One row per case.
 */
export function classifyTargetResults(
  report: HostileReport,
  setup: TargetSetup,
): TargetRow[] {
  return report.results.map((result): TargetRow => {
    const code = result.detail.match(REFUSAL)?.[1];
    if (result.verdict === "n/a") {
      return {
        id: result.id,
        status: "not run",
        reason: `${result.detail.replace(/^not reached: /, "")}; ${hint(code, setup)}`,
        result,
      };
    }
    if (result.id === "honest-handshake" && !result.reachedReady) {
      return {
        id: result.id,
        status: "not run",
        reason: `the target refused an honest handshake (${code ?? "closed"}); ${
          hint(code, setup)
        }`,
        result,
      };
    }
    return { id: result.id, status: result.verdict, reason: result.detail, result };
  });
}

/**
 * Formats classified hostile results: one line per case, then the counts.
 *
 * @param report The hostile peer's report.
 * @param rows Its rows from {@linkcode classifyTargetResults}.
 * @param reproduce The command line that reruns one case, without `--only`.
 * @returns The text.
 */
export function formatTargetRows(
  report: HostileReport,
  rows: readonly TargetRow[],
  reproduce: string,
): string {
  const width = Math.min(48, Math.max(4, ...rows.map((row) => row.id.length)));
  const lines = [`hostile ${report.role} against ${report.target}`];
  for (const row of rows) {
    const status = row.status === "fail" ? "FAIL" : row.status;
    lines.push(`${row.id.padEnd(width)}  ${status.padEnd(7)}  ${row.reason}`);
    if (row.status === "fail") lines.push(`  reproduce: ${reproduce} --only ${row.id}`);
  }
  const count = (status: TargetRow["status"]): number =>
    rows.filter((row) => row.status === status).length;
  lines.push("", `${count("pass")} passed, ${count("fail")} failed, ${count("not run")} not run`);
  return lines.join("\n");
}

/**
 * Rewrites the suite table's reproduce lines so they name the same adapter.
 *
 * @param table The table of `formatConformanceTable`.
 * @param extra The arguments that select the implementation, e.g. `--adapter ./a.ts`.
 * @returns The table.
 */
export function reproduceWith(table: string, extra: string): string {
  if (extra === "") return table;
  return table.replaceAll(
    "reproduce: deno task conformance ",
    `reproduce: deno task conformance ${extra} `,
  );
}

/** Quotes one shell word if it needs quoting. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Progress of a suite run on stderr: a line when a category is done, and a
 * counter every `every` cases.
 *
 * @param write Where lines go.
 * @param every How often the counter prints.
 * @returns `onResult` for the suite and `finish()` for the last category.
 */
export function suiteProgress(
  write: (line: string) => void,
  every = 25,
): { onResult(result: ConformanceResult): void; finish(): void } {
  let category: string | undefined;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let total = 0;
  let elapsed = 0;
  const close = (): void => {
    if (category === undefined) return;
    const seconds = (elapsed / 1000).toFixed(1);
    const notRun = skipped === 0 ? "" : `, ${skipped} not run`;
    write(`${category}: ${passed} passed, ${failed} failed${notRun} (${seconds} s)`);
  };
  return {
    onResult(result): void {
      if (result.category !== category) {
        close();
        category = result.category;
        passed = 0;
        failed = 0;
        skipped = 0;
        elapsed = 0;
      }
      elapsed += result.durationMs;
      if (result.status === "pass") passed++;
      else if (result.status === "not run") skipped++;
      else failed++;
      total++;
      if (result.status === "fail") {
        write(`FAIL ${result.id} (${result.role}): ${result.detail ?? ""}`);
      }
      if (total % every === 0) write(`… ${total} cases run`);
    },
    finish(): void {
      close();
      category = undefined;
    },
  };
}

/**
 * The conformance report as a fixed-width table.
 *
 * @module
 */

import { CONFORMANCE_CATEGORIES, type ConformanceReport } from "./suite_report.ts";

/**
 * Formats a report as a fixed-width table with a summary per category and,
 * for each failing property, how to replay it.
 *
 * @param report The report of {@linkcode runConformance}.
 * @returns The table, lines joined with `\n`.
 *
 * @example Formatting a one-row report
 * ```ts
 * import { formatConformanceTable } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const table = formatConformanceTable({
 *   implementation: "demo",
 *   mode: "quick",
 *   seed: 1,
 *   startedAt: "2025-01-01T00:00:00.000Z",
 *   durationMs: 5,
 *   passed: 1,
 *   failed: 0,
 *   notRun: 0,
 *   results: [{
 *     id: "policy/gss-mismatch",
 *     category: "policy",
 *     role: "initiator",
 *     status: "pass",
 *     expected: "ERR_DECRYPT_FAILED@metaExchange",
 *     actual: "ERR_DECRYPT_FAILED@metaExchange",
 *     durationMs: 5,
 *   }],
 * });
 * assert.match(table, /policy\/gss-mismatch +initiator +ERR_DECRYPT_FAILED@metaExchange/);
 * assert.match(table, /1 passed, 0 failed/);
 * ```
 */
export function formatConformanceTable(report: ConformanceReport): string {
  const header = ["case", "role", "expected", "actual", "result"];
  const rows = report.results.map((result) => [
    result.id,
    result.role,
    result.expected,
    result.runs === undefined
      ? result.actual
      : `${result.status === "pass" ? "held" : "broken"} (${result.runs} runs)`,
    result.status === "fail" ? "FAIL" : result.status,
  ]);
  const widths = header.map((title, column) =>
    Math.min(60, Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  const out = [
    `conformance of ${report.implementation} (${report.mode} mode, seed ${report.seed})`,
    line(header),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map(line),
    "",
  ];
  for (const category of CONFORMANCE_CATEGORIES) {
    const mine = report.results.filter((result) => result.category === category);
    if (mine.length === 0) continue;
    const bad = mine.filter((result) => result.status === "fail").length;
    const skipped = mine.filter((result) => result.status === "not run").length;
    out.push(
      `${category.padEnd(9)} ${mine.length - bad - skipped} passed, ${bad} failed${
        skipped === 0 ? "" : `, ${skipped} not run`
      }`,
    );
  }
  const failures = report.results.filter((result) => result.status === "fail");
  if (failures.length > 0) {
    out.push("", "failures:");
    for (const result of failures) {
      out.push(`  ${result.id} (${result.role}): ${result.detail ?? ""}`);
      if (result.seed !== undefined) {
        const path = result.path === undefined ? "" : ` --path ${result.path}`;
        out.push(
          `    reproduce: deno task conformance --only ${result.id} --seed ${result.seed}${path}`,
        );
        if (result.counterexample !== undefined) {
          out.push(`    counterexample: ${result.counterexample}`);
        }
      }
    }
  }
  const skipped = report.results.filter((result) => result.status === "not run");
  if (skipped.length > 0) {
    out.push("", "not run (never counted as passed):");
    for (const result of skipped) {
      out.push(`  ${result.id} (${result.role}): ${result.detail ?? ""}`);
    }
  }
  out.push(
    "",
    `${report.passed} passed, ${report.failed} failed${
      report.notRun === 0 ? "" : `, ${report.notRun} not run`
    } in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return out.join("\n");
}

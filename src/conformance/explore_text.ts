/**
 * The exploration's report as text.
 *
 * @module
 */

import type { ExplorationReport } from "./explore_report.ts";

/**
 * Formats an exploration report as text: one line per scenario, then one
 * per invariant with its first violations.
 *
 * @param report The report of {@linkcode exploreHandshake}.
 * @returns The text, lines joined with `\n`.
 *
 * @example Printing a report
 * ```ts
 * import {
 *   DEFAULT_EXPLORATION_SCENARIOS,
 *   exploreHandshake,
 *   formatExploration,
 * } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const text = formatExploration(exploreHandshake({ depth: 0, scenarios: [DEFAULT_EXPLORATION_SCENARIOS[0]!] }));
 * assert.match(text, /invariant 1 both ready: same keys, exporter and suite: holds/);
 * ```
 */
export function formatExploration(report: ExplorationReport): string {
  const lines = ["exhaustive exploration (stand-in crypto, adversarial channel)"];
  for (const scenario of report.scenarios) {
    const ends = Object.entries(scenario.terminals).map(([k, v]) => `${k} ${v}`).join(", ");
    lines.push(
      `  ${scenario.name} (${scenario.transport}, budget ${scenario.budget}): ${scenario.states} states, ${scenario.transitions} transitions${
        scenario.truncated ? " (truncated)" : ""
      }; terminal: ${ends}`,
    );
  }
  for (const invariant of report.invariants) {
    lines.push(
      `  invariant ${invariant.name}: ${
        invariant.holds ? "holds" : "VIOLATED"
      } (${invariant.checked} checks)`,
    );
    for (const violation of invariant.violations) lines.push(`    ${violation}`);
  }
  lines.push(
    `  total: ${report.states} states, ${report.transitions} transitions in ${
      (report.durationMs / 1000).toFixed(1)
    } s`,
  );
  return lines.join("\n");
}

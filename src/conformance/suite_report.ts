/**
 * What {@linkcode runConformance} reports: the categories of cases, one row
 * per case and role, and the whole report.
 *
 * @module
 */

import type { ConformanceRole } from "./adapter.ts";

/** The groups of cases. */
export type ConformanceCategory = "positive" | "negative" | "mitm" | "policy" | "property";

/**
 * Every category, in report order.
 *
 * @example Running one category
 * ```ts
 * import { CONFORMANCE_CATEGORIES } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(CONFORMANCE_CATEGORIES, ["positive", "policy", "negative", "mitm", "property"]);
 * ```
 */
export const CONFORMANCE_CATEGORIES: readonly ConformanceCategory[] = [
  "positive",
  "policy",
  "negative",
  "mitm",
  "property",
];

/** One row of the report. */
export interface ConformanceResult {
  /** A stable id, e.g. `"negative/flip-ciphertext/beginMetaExchange"`. */
  readonly id: string;
  /** The case's category. */
  readonly category: ConformanceCategory;
  /** The role the implementation played (`"both"` for properties drawing it). */
  readonly role: ConformanceRole | "both";
  /**
   * `"pass"`, `"fail"`, or `"not run"`: the case needs a capability the
   * adapter lacks (`detail` says which); never counted as passed.
   */
  readonly status: "pass" | "fail" | "not run";
  /** What the implementation had to do, e.g. `"ERR_DECRYPT_FAILED@metaExchange"`. */
  readonly expected: string;
  /** What it did. */
  readonly actual: string;
  /** Why it failed, or why it did not run. */
  readonly detail?: string;
  /** Wall-clock duration in ms. */
  readonly durationMs: number;
  /** Properties: the runs made. */
  readonly runs?: number;
  /** Properties: the fast-check seed. */
  readonly seed?: number;
  /** Properties: the failing run's path (replay with `seed` and `path`). */
  readonly path?: string;
  /** Properties: the failing input, as JSON. */
  readonly counterexample?: string;
}

/** The whole report. */
export interface ConformanceReport {
  /** The adapter's name. */
  readonly implementation: string;
  /** `"quick"` or `"long"`. */
  readonly mode: "quick" | "long";
  /** The properties' seed. */
  readonly seed: number;
  /** When the run started (ISO 8601). */
  readonly startedAt: string;
  /** Wall-clock duration in ms. */
  readonly durationMs: number;
  /** Cases that passed. */
  readonly passed: number;
  /** Cases that failed. */
  readonly failed: number;
  /** Cases that did not run: the adapter lacks what they need. */
  readonly notRun: number;
  /** Every case, in run order. */
  readonly results: readonly ConformanceResult[];
}

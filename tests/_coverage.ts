/**
 * Transition coverage of XState v5 statecharts driven through pure
 * `transition()` steps. It lives in the conformance suite
 * (`src/conformance/coverage.ts`), whose CLI prints the same figures; this
 * file keeps the tests' import path.
 *
 * @module
 */

export { stateValueOf, TransitionCoverage } from "../src/conformance/coverage.ts";
export type { CoverageReport, ExecutableAction } from "../src/conformance/coverage.ts";

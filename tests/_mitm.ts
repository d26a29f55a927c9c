/**
 * Men in the middle, for the MITM tests: record rewriters for the relay
 * (downgrade, blind forgery, key substitution) and a full man in the middle.
 * They live in the conformance suite (`src/conformance/_mitm.ts`), which
 * plays the same attacks against any implementation; this file keeps the
 * tests' import path.
 *
 * @module
 */

export {
  blindForgeryScript,
  downgradeScript,
  keySubstitutionScript,
  startManInTheMiddle,
} from "../src/conformance/_mitm.ts";
export type {
  Downgrade,
  ManInTheMiddle,
  ManInTheMiddleOptions,
  RewriteLog,
  Substitution,
} from "../src/conformance/_mitm.ts";

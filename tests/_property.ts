/**
 * The one place property tests get their fast-check configuration.
 *
 * - `QGATE_PROPERTY_SEED`: the fast-check seed (an integer); default {@linkcode DEFAULT_PROPERTY_SEED}.
 * - `QGATE_PROPERTY_RUNS`: the run count of every property (e.g. `100000` for
 *   a long exploration); unset, each property uses its own default, chosen so
 *   the whole suite stays within CI's time budget.
 *
 * fast-check's failure report already carries the seed and the path, so a
 * failure is reproduced by exporting that seed.
 *
 * @module
 */

/** The fixed seed used when `QGATE_PROPERTY_SEED` is not set. */
export const DEFAULT_PROPERTY_SEED = 0x5147_4154;

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    // Without --allow-env, fall back to the defaults.
    return undefined;
  }
}

/**
 * The fast-check parameters for one property.
 *
 * @param defaultRuns The property's run count when `QGATE_PROPERTY_RUNS` is unset.
 * @returns `{ seed, numRuns }` to spread into `fc.assert(…, params)`.
 * @throws {RangeError} If an environment variable is not a valid integer.
 */
export function propertyConfig(defaultRuns: number): { seed: number; numRuns: number } {
  const seedText = readEnv("QGATE_PROPERTY_SEED");
  const runsText = readEnv("QGATE_PROPERTY_RUNS");
  const seed = seedText === undefined || seedText === "" ? DEFAULT_PROPERTY_SEED : Number(seedText);
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(
      `Cannot configure properties: "QGATE_PROPERTY_SEED" must be an integer, got ${seedText}`,
    );
  }
  const runs = runsText === undefined || runsText === "" ? defaultRuns : Number(runsText);
  if (!Number.isSafeInteger(runs) || runs <= 0) {
    throw new RangeError(
      `Cannot configure properties: "QGATE_PROPERTY_RUNS" must be a positive integer, got ${runsText}`,
    );
  }
  return { seed: seed | 0, numRuns: runs };
}

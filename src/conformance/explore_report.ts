/**
 * What {@linkcode exploreHandshake} reports: per scenario the states and
 * transitions visited, the terminal states and each invariant's verdict.
 *
 * @module
 */

/** The result of one invariant. */
export interface InvariantResult {
  /** `"1 same keys and suite"` … `"6 modified meta exchange never ready"`. */
  readonly name: string;
  /** Whether no violation was found. */
  readonly holds: boolean;
  /** How many states or steps it was checked in. */
  readonly checked: number;
  /** The first violations, each with the path that leads to it. */
  readonly violations: readonly string[];
}

/** The result of one scenario. */
export interface ScenarioReport {
  /** The scenario's name. */
  readonly name: string;
  /** Stream or datagram semantics for the channel. */
  readonly transport: "stream" | "datagram";
  /** The adversary budget used. */
  readonly budget: number;
  /** Joint states visited. */
  readonly states: number;
  /** Transitions taken (edges of the explored graph). */
  readonly transitions: number;
  /** Terminal joint states, by outcome (`"ready/ready"`, `"failed/ready"`, …). */
  readonly terminals: Readonly<Record<string, number>>;
  /** Whether `maxStates` cut the exploration short. */
  readonly truncated: boolean;
  /** Wall time spent, in ms. */
  readonly durationMs: number;
  /** Each invariant's verdict in this scenario. */
  readonly invariants: readonly InvariantResult[];
}

/** The whole exploration. */
export interface ExplorationReport {
  /** Each scenario's report. */
  readonly scenarios: readonly ScenarioReport[];
  /** Joint states visited over all scenarios. */
  readonly states: number;
  /** Transitions taken over all scenarios. */
  readonly transitions: number;
  /** Wall time spent, in ms. */
  readonly durationMs: number;
  /** Per invariant, over all scenarios. */
  readonly invariants: readonly InvariantResult[];
}

/**
 * Sums the scenarios of one exploration into its report: each invariant
 * holds if it held in every scenario (the first violations are kept, each
 * named by its scenario).
 *
 * @param names The invariants' names, in the order of each scenario's results.
 * @param scenarios Each scenario's report.
 * @param started When the exploration started (`performance.now()`).
 * @returns The exploration's report.
 */
export function summarizeExploration(
  names: readonly string[],
  scenarios: readonly ScenarioReport[],
  started: number,
): ExplorationReport {
  const invariants = names.map((name, i): InvariantResult => {
    const all = scenarios.map((scenario) => scenario.invariants[i]!);
    return {
      name,
      holds: all.every((result) => result.holds),
      checked: all.reduce((sum, result) => sum + result.checked, 0),
      violations: all.flatMap((result, at) =>
        result.violations.map((violation) => `${scenarios[at]!.name}: ${violation}`)
      ).slice(0, 5),
    };
  });
  return {
    scenarios,
    states: scenarios.reduce((sum, scenario) => sum + scenario.states, 0),
    transitions: scenarios.reduce((sum, scenario) => sum + scenario.transitions, 0),
    durationMs: Math.round(performance.now() - started),
    invariants,
  };
}

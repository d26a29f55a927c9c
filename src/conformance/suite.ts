/**
 * The conformance suite: {@linkcode runConformance} runs an implementation
 * under test (through a {@linkcode ConformanceAdapter}) against qgate's
 * reference peer, in both roles, and checks every outcome and reason code
 * the README's protocol prescribes.
 *
 * Categories:
 *
 * - `positive`: algorithm combinations (a covering sample by default, the
 *   full matrix with `long`), each authentication mode and signature
 *   scheme, with and without a Global Shared Secret. Both sides must reach
 *   ready with the suite the negotiation rule gives, the same exporter
 *   output and the right peer identity.
 * - `negative`: the record-level attack catalogue (tampering, framing,
 *   truncation, drops, duplicates, replays, wrong-phase messages, invalid key
 *   shares, forged proofs), each with the exact code for the side that meets
 *   it and for the other side.
 * - `mitm`: downgrades, key substitution and modified meta exchanges by a
 *   relay, and a man in the middle with her own or a borrowed identity.
 * - `policy`: configurations that must fail (nothing in common,
 *   authentication required but impossible, unknown or denied peers, GSS
 *   mismatch) and one that must succeed unauthenticated.
 * - `property`: fast-check properties over delivery orderings and
 *   chunkings, noise, random attacks from the catalogue, length and bit
 *   flips, truncations at any byte and replays of earlier records. Each row
 *   reports its seed, and a failure its path, to reproduce it.
 *
 * @module
 */

import fc from "fast-check";
import { ErrorCode } from "../errors.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import {
  type AeadName,
  AEADS,
  HASHES,
  type HashName,
  KEY_EXCHANGES,
  type KeyExchangeName,
  type SignatureKeyPair,
  type SignatureName,
  SIGNATURES,
} from "../crypto/types.ts";
import { derivePeerUuid, formatUuid } from "../crypto/peer_uuid.ts";
import {
  type AlgorithmPreferences,
  DEFAULT_PREFERENCES,
  type NegotiatedSuite,
} from "../handshake_policy.ts";
import { DEFAULT_MAX_RECORD_LENGTH } from "../codec/stream_records.ts";
import type { MessageKind } from "../codec/message_types.ts";
import {
  type AccessEntry,
  type ConformanceAdapter,
  type ConformanceEndpointSpec,
  type ConformanceRole,
  type EndpointOutcome,
  type HandshakePhase,
  startQgateEndpoint,
} from "./adapter.ts";
import { equalBytes } from "../viz/_standin.ts";
import { duel, type DuelResult } from "./_duel.ts";
import {
  directionOfKind,
  exampleMessage,
  type Expectation,
  HANDSHAKE_KINDS,
  type HandshakeKind,
  type Mutation,
  type MutationConfig,
  type MutationEnvironment,
  MUTATIONS,
  mutationScript,
  phaseOfKind,
} from "./_mutations.ts";
import {
  createRelay,
  type DeliveryStep,
  type Direction,
  type Emission,
  lengthHeader,
  type RelayOptions,
  type TappedRecord,
} from "./_relay.ts";
import { seededRandom } from "../crypto/random.ts";
import type { RecordTracker } from "./_record_tracker.ts";

/** The groups of cases. */
export type ConformanceCategory = "positive" | "negative" | "mitm" | "policy" | "property";

/**
 * Every category, in report order.
 *
 * @example Running one category
 * ```ts
 * import { CONFORMANCE_CATEGORIES } from "@qgate/handshake";
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

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** The long mode: every algorithm combination and more property runs (default `false`). */
  readonly long?: boolean;
  /** Algorithm combinations outside the long mode (default 8, each algorithm at least once). */
  readonly sample?: number;
  /** Which categories to run (default all). */
  readonly categories?: readonly ConformanceCategory[];
  /** Which roles the implementation plays (default both). */
  readonly roles?: readonly ConformanceRole[];
  /** Runs only the cases whose id starts with this. */
  readonly only?: string;
  /** The fast-check seed of the properties (default a fixed number). */
  readonly seed?: number;
  /** Replays one property run: the path fast-check reported with the seed. */
  readonly path?: string;
  /** Runs per property (default 12, or 100 in the long mode). */
  readonly numRuns?: number;
  /** The implementation's handshake timeouts where a case does not time out on purpose. */
  readonly timeouts?: { readonly phase: number; readonly handshake: number };
  /** The shortened phase timeout of cases that end in a timeout (default 300 ms). */
  readonly shortPhase?: number;
  /** Real-time budget of one run, in ms (default 15,000). */
  readonly caseDeadline?: number;
  /** Called after each case, for progress output. */
  readonly onResult?: (result: ConformanceResult) => void;
}

/** One row of the report. */
export interface ConformanceResult {
  /** A stable id, e.g. `"negative/flip-ciphertext/beginMetaExchange"`. */
  readonly id: string;
  /** The case's category. */
  readonly category: ConformanceCategory;
  /** The role the implementation played (`"both"` for properties drawing it). */
  readonly role: ConformanceRole | "both";
  /** `"pass"` or `"fail"`. */
  readonly status: "pass" | "fail";
  /** What the implementation had to do, e.g. `"ERR_DECRYPT_FAILED@metaExchange"`. */
  readonly expected: string;
  /** What it did. */
  readonly actual: string;
  /** Why it failed, when it did. */
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
  /** Every case, in run order. */
  readonly results: readonly ConformanceResult[];
}

/**
 * The default fast-check seed of the properties.
 *
 * @example Reproducing a property run
 * ```ts
 * import { DEFAULT_CONFORMANCE_SEED } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * // deno task conformance --only property/noise-anywhere --seed 1363624276
 * assert.equal(DEFAULT_CONFORMANCE_SEED, 1363624276);
 * ```
 */
export const DEFAULT_CONFORMANCE_SEED = 0x5147_4154;

const EXPORTER = {
  label: "qgate conformance",
  context: new TextEncoder().encode("exporter context"),
  length: 32,
};

const ROLES: readonly ConformanceRole[] = ["initiator", "responder"];

function other(role: ConformanceRole): ConformanceRole {
  return role === "initiator" ? "responder" : "initiator";
}

/** The receiver of a direction. */
function receiverOf(direction: Direction): ConformanceRole {
  return direction === "i2r" ? "responder" : "initiator";
}

// ---------------------------------------------------------------------------
// Identities and specs

interface Identities {
  /** Per scheme: the two honest peers and a stranger. */
  readonly byScheme: ReadonlyMap<SignatureName, { a: SignatureKeyPair; b: SignatureKeyPair }>;
  readonly mallory: SignatureKeyPair;
}

async function makeIdentities(): Promise<Identities> {
  const byScheme = new Map<SignatureName, { a: SignatureKeyPair; b: SignatureKeyPair }>();
  for (const { name } of SIGNATURES) {
    const scheme = nobleBackend.signature(name)!;
    const pair = (fill: number) =>
      scheme.generateKeyPair({ seed: new Uint8Array(scheme.seedLength).fill(fill) });
    byScheme.set(name, { a: await pair(0xa1), b: await pair(0xb0) });
  }
  const ed25519 = nobleBackend.signature("Ed25519")!;
  const mallory = await ed25519.generateKeyPair({ seed: new Uint8Array(32).fill(0x4d) });
  return { byScheme, mallory };
}

function uuidOf(identity: SignatureKeyPair): string {
  return formatUuid(derivePeerUuid(identity.algorithm, identity.publicKey));
}

function entry(identity: SignatureKeyPair, allowed = true): AccessEntry {
  return { uuid: uuidOf(identity), publicKey: identity.publicKey, allowed };
}

/** One side's setup in a case. */
interface Side {
  readonly identity?: SignatureKeyPair | undefined;
  readonly knows?: readonly SignatureKeyPair[];
  readonly denies?: readonly SignatureKeyPair[];
  readonly requireAuthentication: boolean;
  readonly algorithms?: Partial<AlgorithmPreferences>;
  readonly gss?: Uint8Array | undefined;
  readonly phase?: number;
}

function spec(
  role: ConformanceRole,
  side: Side,
  seed: string,
  timeouts: { phase: number; handshake: number },
): ConformanceEndpointSpec {
  return {
    role,
    algorithms: { ...DEFAULT_PREFERENCES, ...side.algorithms },
    identity: side.identity,
    accessList: [
      ...(side.knows ?? []).map((identity) => entry(identity)),
      ...(side.denies ?? []).map((identity) => entry(identity, false)),
    ],
    requireAuthentication: side.requireAuthentication,
    globalSharedSecret: side.gss,
    timeouts: side.phase === undefined ? timeouts : { ...timeouts, phase: side.phase },
    exporter: EXPORTER,
    seed: new TextEncoder().encode(`qgate conformance ${seed} ${role}`),
  };
}

/** The suite the README's rule gives: the responder's first entry the initiator also lists. */
function expectedSuite(
  initiator: AlgorithmPreferences,
  responder: AlgorithmPreferences,
): NegotiatedSuite {
  const pick = <N extends string>(theirs: readonly N[], mine: readonly N[]): N =>
    theirs.find((name) => mine.includes(name))!;
  return {
    primaryKeyExchange: pick(responder.primaryKeyExchanges, initiator.primaryKeyExchanges),
    secondaryKeyExchange: pick(responder.secondaryKeyExchanges, initiator.secondaryKeyExchanges),
    aead: pick(responder.aeads, initiator.aeads),
    hash: pick(responder.hashes, initiator.hashes),
  };
}

// ---------------------------------------------------------------------------
// Checking outcomes

function describeOutcome(outcome: EndpointOutcome | undefined): string {
  if (outcome === undefined) return "no outcome";
  if (outcome.status === "ready") return "ready";
  return outcome.phase === undefined ? outcome.code : `${outcome.code}@${outcome.phase}`;
}

function describeExpectation(expectation: Expectation): string {
  if (expectation.status === "ready") return "ready";
  return expectation.phase === undefined
    ? expectation.code
    : `${expectation.code}@${expectation.phase}`;
}

/** Why `outcome` does not meet `expectation`, or `undefined` if it does. */
function mismatch(
  outcome: EndpointOutcome | undefined,
  expectation: Expectation,
): string | undefined {
  if (outcome === undefined) return "the handshake never ended";
  if (expectation.status === "ready") {
    return outcome.status === "ready" ? undefined : `failed with ${describeOutcome(outcome)}`;
  }
  if (outcome.status === "ready") return "reached ready";
  if (outcome.code !== expectation.code) {
    return `failed with ${outcome.code}, not ${expectation.code}`;
  }
  if (
    expectation.phase !== undefined && outcome.phase !== undefined &&
    outcome.phase !== expectation.phase
  ) {
    return `failed in ${outcome.phase}, not ${expectation.phase}`;
  }
  return undefined;
}

/** What a case found. */
interface Finding {
  readonly expected: string;
  readonly actual: string;
  readonly problems: readonly string[];
}

/** Checks a duel that both sides must finish ready. */
function checkReady(
  result: DuelResult,
  expectations: {
    suite: NegotiatedSuite;
    /** The identity the IUT must report for its peer, or `undefined` for none. */
    peer: SignatureKeyPair | undefined;
    /** Whether the IUT must count its peer as authenticated. */
    authenticated: boolean;
  },
): Finding {
  const problems = [...result.problems];
  const { iut, reference } = result;
  if (iut?.status !== "ready") problems.push(`implementation ${describeOutcome(iut)}`);
  if (reference?.status !== "ready") problems.push(`reference ${describeOutcome(reference)}`);
  if (iut?.status === "ready") {
    const suite = JSON.stringify(iut.suite);
    if (suite !== JSON.stringify(expectations.suite)) {
      problems.push(`negotiated ${suite}, expected ${JSON.stringify(expectations.suite)}`);
    }
    const uuid = expectations.peer === undefined ? undefined : uuidOf(expectations.peer);
    if (iut.peerUuid !== uuid) problems.push(`peer UUID ${iut.peerUuid}, expected ${uuid}`);
    if (iut.authenticated !== expectations.authenticated) {
      problems.push(`authenticated ${iut.authenticated}, expected ${expectations.authenticated}`);
    }
    if (iut.exporter !== undefined && reference?.status === "ready") {
      if (!equalBytes(iut.exporter, reference.exporter)) problems.push("exporter outputs differ");
    }
  }
  return { expected: "ready", actual: describeOutcome(iut), problems };
}

/** Checks a duel against the expectation of each side. */
function checkEnds(
  result: DuelResult,
  expected: { iut: Expectation; reference: Expectation },
): Finding {
  const problems = [...result.problems];
  const mine = mismatch(result.iut, expected.iut);
  if (mine !== undefined) problems.push(`implementation ${mine}`);
  const theirs = mismatch(result.reference, expected.reference);
  if (theirs !== undefined) problems.push(`reference ${theirs}`);
  if (
    result.iut?.status === "ready" && result.reference?.status === "ready" &&
    expected.iut.status !== "ready"
  ) {
    problems.push("both sides reached ready");
  }
  return {
    expected: describeExpectation(expected.iut),
    actual: describeOutcome(result.iut),
    problems,
  };
}

// ---------------------------------------------------------------------------
// Algorithm combinations

interface Combination {
  readonly primaryKeyExchange: KeyExchangeName;
  readonly secondaryKeyExchange: KeyExchangeName;
  readonly aead: AeadName;
  readonly hash: HashName;
}

const KEX_NAMES = KEY_EXCHANGES.map((entry) => entry.name);
const AEAD_NAMES = AEADS.map((entry) => entry.name);
const HASH_NAMES = HASHES.map((entry) => entry.name);
const CLASSICAL = KEX_NAMES.filter((name) => !name.startsWith("ML-KEM"));
const POST_QUANTUM = KEX_NAMES.filter((name) => name.startsWith("ML-KEM"));

/** Every combination (either slot takes any key exchange). */
function allCombinations(): Combination[] {
  const out: Combination[] = [];
  for (const primaryKeyExchange of KEX_NAMES) {
    for (const secondaryKeyExchange of KEX_NAMES) {
      for (const aead of AEAD_NAMES) {
        for (const hash of HASH_NAMES) {
          out.push({ primaryKeyExchange, secondaryKeyExchange, aead, hash });
        }
      }
    }
  }
  return out;
}

/**
 * A covering sample: the first combinations walk every classical exchange in
 * the primary slot and every ML-KEM in the secondary one (then the other way
 * round), every AEAD and every hash; more are drawn from the full matrix.
 */
function sampledCombinations(count: number, seed: number): Combination[] {
  const out: Combination[] = [];
  const covering = Math.max(
    CLASSICAL.length,
    POST_QUANTUM.length,
    AEAD_NAMES.length,
    HASH_NAMES.length,
  );
  for (let i = 0; i < covering && out.length < count; i++) {
    out.push({
      primaryKeyExchange: CLASSICAL[i % CLASSICAL.length]!,
      secondaryKeyExchange: POST_QUANTUM[i % POST_QUANTUM.length]!,
      aead: AEAD_NAMES[i % AEAD_NAMES.length]!,
      hash: HASH_NAMES[i % HASH_NAMES.length]!,
    });
  }
  if (out.length < count) {
    out.push({
      primaryKeyExchange: "ML-KEM-512",
      secondaryKeyExchange: "X25519",
      aead: "AES-256-GCM",
      hash: "SHA-512",
    });
  }
  const all = allCombinations();
  const random = seededRandom(new TextEncoder().encode(`combinations ${seed}`));
  while (out.length < count) {
    const bytes = random(4);
    const index = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    out.push(all[index % all.length]!);
  }
  return out;
}

function only(combination: Combination): Partial<AlgorithmPreferences> {
  return {
    primaryKeyExchanges: [combination.primaryKeyExchange],
    secondaryKeyExchanges: [combination.secondaryKeyExchange],
    aeads: [combination.aead],
    hashes: [combination.hash],
  };
}

// ---------------------------------------------------------------------------
// Cases

/** A case: an id, a category, the IUT's role, and how to run it. */
interface Case {
  readonly id: string;
  readonly category: ConformanceCategory;
  readonly role: ConformanceRole | "both";
  readonly run: () => Promise<Finding | PropertyFinding>;
}

interface PropertyFinding extends Finding {
  readonly runs: number;
  readonly seed: number;
  readonly path?: string;
  readonly counterexample?: string;
}

/** Everything the case builders share. */
interface Context {
  readonly adapter: ConformanceAdapter;
  readonly identities: Identities;
  readonly timeouts: { phase: number; handshake: number };
  readonly shortPhase: number;
  readonly deadline: number;
  readonly seed: number;
  readonly numRuns: number;
  readonly path: string | undefined;
  readonly roles: readonly ConformanceRole[];
  /** Another session's records, for replays (made once, lazily). */
  foreign: MutationEnvironment["foreign"] | undefined;
}

/** Runs a duel with the IUT in `role`, the sides described per protocol role. */
function play(
  context: Context,
  role: ConformanceRole,
  sides: { initiator: Side; responder: Side },
  seed: string,
  extra: {
    relay?: (tracker: RecordTracker) => RelayOptions;
    onReference?: Parameters<typeof duel>[0]["onReference"];
  } = {},
): Promise<DuelResult> {
  return duel({
    adapter: context.adapter,
    iut: spec(role, sides[role], seed, context.timeouts),
    reference: spec(other(role), sides[other(role)], seed, context.timeouts),
    deadline: context.deadline,
    ...(extra.relay === undefined ? {} : { relay: extra.relay }),
    ...(extra.onReference === undefined ? {} : { onReference: extra.onReference }),
  });
}

type AuthenticationMode = "none" | "responder" | "initiator" | "mutual";

function authenticationSides(
  identities: Identities,
  mode: AuthenticationMode,
  scheme: SignatureName = "Ed25519",
): { initiator: Side; responder: Side } {
  const { a, b } = identities.byScheme.get(scheme)!;
  const initiatorProves = mode === "initiator" || mode === "mutual";
  const responderProves = mode === "responder" || mode === "mutual";
  return {
    initiator: {
      identity: initiatorProves ? a : undefined,
      knows: responderProves ? [b] : [],
      requireAuthentication: responderProves,
    },
    responder: {
      identity: responderProves ? b : undefined,
      knows: initiatorProves ? [a] : [],
      requireAuthentication: initiatorProves,
    },
  };
}

function positiveCases(context: Context, long: boolean, sample: number): Case[] {
  const cases: Case[] = [];
  const combinations = long ? allCombinations() : sampledCombinations(sample, context.seed);
  for (const combination of combinations) {
    const name =
      `${combination.primaryKeyExchange}+${combination.secondaryKeyExchange}+${combination.aead}+${combination.hash}`;
    for (const role of context.roles) {
      cases.push({
        id: `positive/algorithms/${name}`,
        category: "positive",
        role,
        run: async () => {
          const sides = authenticationSides(context.identities, "none");
          const algorithms = only(combination);
          const result = await play(context, role, {
            initiator: { ...sides.initiator, algorithms },
            responder: { ...sides.responder, algorithms },
          }, name);
          return checkReady(result, { suite: combination, peer: undefined, authenticated: false });
        },
      });
    }
  }
  const modes: [AuthenticationMode, SignatureName][] = [
    ["none", "Ed25519"],
    ["responder", "Ed25519"],
    ["initiator", "Ed25519"],
    ...SIGNATURES.map(({ name }) => ["mutual", name] as [AuthenticationMode, SignatureName]),
  ];
  for (const gss of [false, true]) {
    for (
      const [mode, scheme] of gss
        ? modes.filter(([m]) => m === "none" || m === "mutual").slice(0, 2)
        : modes
    ) {
      for (const role of context.roles) {
        cases.push({
          id: `positive/authentication/${mode}/${scheme}${gss ? "/gss" : ""}`,
          category: "positive",
          role,
          run: async () => {
            const sides = authenticationSides(context.identities, mode, scheme);
            const secret = gss ? new Uint8Array(32).fill(0x47) : undefined;
            const result = await play(context, role, {
              initiator: { ...sides.initiator, gss: secret },
              responder: { ...sides.responder, gss: secret },
            }, `${mode} ${scheme} ${gss}`);
            const peerSide = sides[other(role)];
            return checkReady(result, {
              suite: expectedSuite(DEFAULT_PREFERENCES, DEFAULT_PREFERENCES),
              peer: peerSide.identity,
              authenticated: peerSide.identity !== undefined,
            });
          },
        });
      }
    }
  }
  return cases;
}

/** Configurations and their expected ends, described from the protocol roles. */
interface PolicyCase {
  readonly name: string;
  readonly sides: (identities: Identities) => { initiator: Side; responder: Side };
  readonly expect: { initiator: Expectation; responder: Expectation };
}

const {
  AUTH_FAILED,
  AUTH_REQUIRED,
  DECRYPT_FAILED,
  NO_COMMON_ALGORITHM,
  PEER_NOT_ALLOWED,
  TRANSPORT_CLOSED,
} = ErrorCode;

function fail(code: ErrorCode, phase?: HandshakePhase): Expectation {
  return phase === undefined ? { status: "failed", code } : { status: "failed", code, phase };
}

const READY: Expectation = { status: "ready" };

const POLICY_CASES: readonly PolicyCase[] = [
  {
    name: "nothing-in-common",
    sides: () => ({
      initiator: { requireAuthentication: false, algorithms: { aeads: ["ChaCha20-Poly1305"] } },
      responder: { requireAuthentication: false, algorithms: { aeads: ["AES-256-GCM"] } },
    }),
    expect: {
      initiator: fail(NO_COMMON_ALGORITHM, "metaExchange"),
      responder: fail(TRANSPORT_CLOSED),
    },
  },
  {
    name: "responder-requires-anonymous-initiator",
    sides: (ids) => {
      const { b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { requireAuthentication: false, knows: [b] },
        responder: { identity: b, requireAuthentication: true },
      };
    },
    expect: { initiator: fail(AUTH_REQUIRED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
  {
    name: "initiator-requires-anonymous-responder",
    sides: (ids) => {
      const { a } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: true },
        responder: { requireAuthentication: false, knows: [a] },
      };
    },
    expect: { initiator: fail(TRANSPORT_CLOSED), responder: fail(AUTH_REQUIRED, "metaExchange") },
  },
  {
    name: "unaccepted-signature-scheme",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: {
          identity: a,
          knows: [b],
          requireAuthentication: true,
          algorithms: { signatures: ["ML-DSA-65"] },
        },
        responder: { identity: b, knows: [a], requireAuthentication: true },
      };
    },
    expect: { initiator: fail(TRANSPORT_CLOSED), responder: fail(AUTH_REQUIRED, "metaExchange") },
  },
  {
    name: "unknown-responder",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: true, knows: [] },
        responder: { identity: b, requireAuthentication: false },
      };
    },
    expect: {
      initiator: fail(PEER_NOT_ALLOWED, "authentication"),
      responder: fail(TRANSPORT_CLOSED),
    },
  },
  {
    name: "denied-initiator",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: true, knows: [b] },
        responder: { identity: b, requireAuthentication: true, denies: [a] },
      };
    },
    expect: {
      initiator: fail(TRANSPORT_CLOSED),
      responder: fail(PEER_NOT_ALLOWED, "authentication"),
    },
  },
  {
    name: "denied-without-requirement",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: false, denies: [b] },
        responder: { identity: b, requireAuthentication: false },
      };
    },
    expect: {
      initiator: fail(PEER_NOT_ALLOWED, "authentication"),
      responder: fail(TRANSPORT_CLOSED),
    },
  },
  {
    name: "unknown-without-requirement",
    sides: (ids) => {
      const { a, b } = ids.byScheme.get("Ed25519")!;
      return {
        initiator: { identity: a, requireAuthentication: false },
        responder: { identity: b, requireAuthentication: false },
      };
    },
    expect: { initiator: READY, responder: READY },
  },
  {
    name: "gss-mismatch",
    sides: () => ({
      initiator: { requireAuthentication: false, gss: new Uint8Array(32).fill(1) },
      responder: { requireAuthentication: false, gss: new Uint8Array(32).fill(2) },
    }),
    expect: { initiator: fail(DECRYPT_FAILED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
  {
    name: "gss-on-responder-only",
    sides: () => ({
      initiator: { requireAuthentication: false },
      responder: { requireAuthentication: false, gss: new Uint8Array(32).fill(2) },
    }),
    expect: { initiator: fail(DECRYPT_FAILED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
  {
    name: "gss-on-initiator-only",
    sides: () => ({
      initiator: { requireAuthentication: false, gss: new Uint8Array(32).fill(1) },
      responder: { requireAuthentication: false },
    }),
    expect: { initiator: fail(DECRYPT_FAILED, "metaExchange"), responder: fail(TRANSPORT_CLOSED) },
  },
];

function policyCases(context: Context): Case[] {
  return POLICY_CASES.flatMap((policy) =>
    context.roles.map((role): Case => ({
      id: `policy/${policy.name}`,
      category: "policy",
      role,
      run: async () => {
        const result = await play(context, role, policy.sides(context.identities), policy.name);
        return checkEnds(result, {
          iut: policy.expect[role],
          reference: policy.expect[other(role)],
        });
      },
    }))
  );
}

/** The base configurations mutations run on: mutual Ed25519 authentication, without and with a GSS. */
function mutationSides(identities: Identities, gss: boolean): { initiator: Side; responder: Side } {
  const sides = authenticationSides(identities, "mutual");
  const secret = gss ? new Uint8Array(32).fill(0x47) : undefined;
  return {
    initiator: { ...sides.initiator, gss: secret },
    responder: { ...sides.responder, gss: secret },
  };
}

function mutationConfig(sides: { initiator: Side; responder: Side }): MutationConfig {
  return {
    initiator: {
      identity: sides.initiator.identity?.algorithm,
      requireAuthentication: sides.initiator.requireAuthentication,
    },
    responder: {
      identity: sides.responder.identity?.algorithm,
      requireAuthentication: sides.responder.requireAuthentication,
    },
    gss: sides.initiator.gss !== undefined,
    primaryKeyExchange: DEFAULT_PREFERENCES.primaryKeyExchanges[0]!,
  };
}

/** Records of a qgate–qgate session with the mutation configuration: replay material. */
async function captureForeign(
  context: Context,
): Promise<NonNullable<MutationEnvironment["foreign"]>> {
  if (context.foreign !== undefined) return context.foreign;
  const sides = mutationSides(context.identities, false);
  const relay = createRelay();
  const initiator = startQgateEndpoint(
    relay.initiatorTransport,
    spec("initiator", sides.initiator, "foreign", context.timeouts),
  );
  const responder = startQgateEndpoint(
    relay.responderTransport,
    spec("responder", sides.responder, "foreign", context.timeouts),
  );
  await Promise.all([initiator.outcome, responder.outcome]);
  await Promise.all([initiator.close(), responder.close()]);
  await relay.done;
  context.foreign = {
    salts: { i2r: relay.salts.i2r!, r2i: relay.salts.r2i! },
    records: { i2r: [...relay.records.i2r], r2i: [...relay.records.r2i] },
  };
  return context.foreign;
}

function categoryOf(mutation: Mutation): ConformanceCategory {
  return mutation.flags.some((flag) =>
      flag === "Downgrade" || flag === "KeySubstitution" || flag === "ModifiedMetaExchange"
    )
    ? "mitm"
    : "negative";
}

/** Runs one mutation with the IUT in `role`; the expectation for each side follows the direction. */
async function runMutation(
  context: Context,
  mutation: Mutation,
  role: ConformanceRole,
  schedule?: { prelude: DeliveryStep[]; schedule: DeliveryStep[] },
): Promise<Finding> {
  const gss =
    !(mutation.applies?.(mutationConfig(mutationSides(context.identities, false))) ?? true);
  const sides = mutationSides(context.identities, gss);
  const config = mutationConfig(sides);
  const receiver = receiverOf(directionOfKind(mutation.target));
  if (mutation.timing === "receiverTimesOut") {
    (sides as { [R in ConformanceRole]: Side })[receiver] = {
      ...sides[receiver],
      phase: context.shortPhase,
    };
  }
  const foreign = await captureForeign(context);
  let applied = () => false;
  const result = await play(context, role, sides, mutation.id, {
    relay: (tracker) => {
      const built = mutationScript(mutation, { tracker, foreign });
      applied = built.applied;
      return { script: built.script, ...schedule };
    },
  });
  // Asked after the run: some mutations decide their outcome from the record they damaged.
  const expected = mutation.expect(config);
  const finding = checkEnds(result, {
    iut: role === receiver ? expected.receiver : expected.sender,
    reference: role === receiver ? expected.sender : expected.receiver,
  });
  return applied()
    ? finding
    : { ...finding, problems: [...finding.problems, "the mutation was never applied"] };
}

function mutationCases(context: Context): Case[] {
  const base = mutationConfig(mutationSides(context.identities, false));
  const withGss = mutationConfig(mutationSides(context.identities, true));
  return MUTATIONS.filter((mutation) =>
    (mutation.applies?.(base) ?? true) || (mutation.applies?.(withGss) ?? true)
  ).flatMap((mutation) =>
    context.roles.map((role): Case => ({
      id: `${categoryOf(mutation)}/${mutation.id}`,
      category: categoryOf(mutation),
      role,
      run: () => runMutation(context, mutation, role),
    }))
  );
}

/** A man in the middle seen from one victim: the reference peer is Mallory. */
function mitmCases(context: Context): Case[] {
  const cases: {
    name: string;
    sides: (ids: Identities) => { initiator: Side; responder: Side };
    expect: { initiator: Expectation; responder: Expectation };
  }[] = [
    {
      name: "mallory-as-responder-with-her-own-identity",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        return {
          initiator: { identity: a, knows: [b], requireAuthentication: true },
          responder: { identity: ids.mallory, knows: [a], requireAuthentication: false },
        };
      },
      expect: {
        initiator: fail(PEER_NOT_ALLOWED, "authentication"),
        responder: fail(TRANSPORT_CLOSED),
      },
    },
    {
      name: "mallory-as-initiator-with-her-own-identity",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        return {
          initiator: { identity: ids.mallory, knows: [b], requireAuthentication: false },
          responder: { identity: b, knows: [a], requireAuthentication: true },
        };
      },
      expect: {
        initiator: fail(TRANSPORT_CLOSED),
        responder: fail(PEER_NOT_ALLOWED, "authentication"),
      },
    },
    {
      name: "mallory-as-responder-borrowing-the-peer-key",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        const borrowed = { ...ids.mallory, publicKey: b.publicKey };
        return {
          initiator: { identity: a, knows: [b], requireAuthentication: true },
          responder: { identity: borrowed, knows: [a], requireAuthentication: false },
        };
      },
      expect: { initiator: fail(AUTH_FAILED, "authentication"), responder: fail(TRANSPORT_CLOSED) },
    },
    {
      name: "mallory-as-initiator-borrowing-the-peer-key",
      sides: (ids) => {
        const { a, b } = ids.byScheme.get("Ed25519")!;
        const borrowed = { ...ids.mallory, publicKey: a.publicKey };
        return {
          initiator: { identity: borrowed, knows: [b], requireAuthentication: false },
          responder: { identity: b, knows: [a], requireAuthentication: true },
        };
      },
      expect: { initiator: fail(TRANSPORT_CLOSED), responder: fail(AUTH_FAILED, "authentication") },
    },
  ];
  return cases.flatMap((mitm) => {
    // Each scenario puts the implementation in the victim's role only.
    const victim: ConformanceRole = mitm.name.includes("as-responder") ? "initiator" : "responder";
    return context.roles.includes(victim)
      ? [{
        id: `mitm/${mitm.name}`,
        category: "mitm" as const,
        role: victim,
        run: async () => {
          const result = await play(context, victim, mitm.sides(context.identities), mitm.name);
          return checkEnds(result, {
            iut: mitm.expect[victim],
            reference: mitm.expect[other(victim)],
          });
        },
      }]
      : [];
  });
}

// ---------------------------------------------------------------------------
// Properties

const deliveryStep = (maxSleep: number): fc.Arbitrary<DeliveryStep> =>
  fc.record({
    direction: fc.constantFrom<Direction | "either">("i2r", "r2i", "either"),
    size: fc.oneof(
      fc.constant(1),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 4_096 }),
      fc.constant(0),
    ),
    yields: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 8 }),
    }),
    sleep: maxSleep === 0 ? fc.constant(0) : fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: maxSleep }) },
    ),
  }).map((step) => ({ ...step }));

const scheduleArbitrary = fc.record({
  prelude: fc.array(deliveryStep(2), { maxLength: 16 }),
  schedule: fc.array(deliveryStep(0), { minLength: 1, maxLength: 6 }),
}).map((value) => ({ ...value }));

const roleArbitrary = fc.constantFrom<ConformanceRole>("initiator", "responder");

/** Runs a property and turns fast-check's report into a finding. */
async function property<T>(
  context: Context,
  expected: string,
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Promise<string[]>,
): Promise<PropertyFinding> {
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      const problems = await check(value);
      if (problems.length > 0) throw new Error(problems.join("; "));
    }),
    {
      seed: context.seed,
      numRuns: context.numRuns,
      endOnFailure: true,
      ...(context.path === undefined ? {} : { path: context.path }),
    },
  );
  if (!details.failed) {
    return { expected, actual: expected, problems: [], runs: details.numRuns, seed: details.seed };
  }
  const error = details.errorInstance;
  const message = error instanceof Error ? error.message : String(error ?? "too many skips");
  return {
    expected,
    actual: message,
    problems: [message],
    runs: details.numRuns,
    seed: details.seed,
    ...(details.counterexamplePath === null ? {} : { path: details.counterexamplePath }),
    counterexample: safeJson(details.counterexample),
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(
      value,
      (_key, field) => field instanceof Uint8Array ? `<${field.length} bytes>` : field,
    );
  } catch {
    return String(value);
  }
}

function pickRole(context: Context, drawn: ConformanceRole): ConformanceRole {
  return context.roles.includes(drawn) ? drawn : context.roles[0]!;
}

function propertyCases(context: Context): Case[] {
  const combos = sampledCombinations(8, context.seed);
  const modes: AuthenticationMode[] = ["none", "responder", "initiator", "mutual"];
  const base = mutationConfig(mutationSides(context.identities, false));
  const withGss = mutationConfig(mutationSides(context.identities, true));
  const usable = MUTATIONS.filter((mutation) =>
    (mutation.applies?.(base) ?? true) || (mutation.applies?.(withGss) ?? true)
  );
  const targetArbitrary = fc.constantFrom<HandshakeKind>(...HANDSHAKE_KINDS);
  const make = (name: string, run: () => Promise<PropertyFinding>): Case => ({
    id: `property/${name}`,
    category: "property",
    role: "both",
    run,
  });

  return [
    make(
      "orderings-and-chunkings",
      () =>
        property(
          context,
          "ready, same suite and keys",
          fc.record({
            role: roleArbitrary,
            combination: fc.nat({ max: combos.length - 1 }),
            mode: fc.constantFrom(...modes),
            gss: fc.boolean(),
            delivery: scheduleArbitrary,
          }).map((value) => ({ ...value })),
          async ({ role, combination, mode, gss, delivery }) => {
            const iutRole = pickRole(context, role);
            const sides = authenticationSides(context.identities, mode);
            const algorithms = only(combos[combination]!);
            const secret = gss ? new Uint8Array(32).fill(0x47) : undefined;
            const result = await play(
              context,
              iutRole,
              {
                initiator: { ...sides.initiator, algorithms, gss: secret },
                responder: { ...sides.responder, algorithms, gss: secret },
              },
              "orderings",
              { relay: () => delivery },
            );
            const peer = sides[other(iutRole)].identity;
            return [
              ...checkReady(result, {
                suite: combos[combination]!,
                peer,
                authenticated: peer !== undefined,
              }).problems,
            ];
          },
        ),
    ),
    make(
      "noise-anywhere",
      () =>
        property(
          context,
          "ready despite noise",
          fc.record({
            role: roleArbitrary,
            atStart: fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 3 }),
            bursts: fc.array(
              fc.record({
                after: fc.nat({ max: 14 }),
                lengths: fc.array(fc.integer({ min: 0, max: 2_000 }), {
                  minLength: 1,
                  maxLength: 3,
                }),
              })
                .map((value) => ({ ...value })),
              { maxLength: 4 },
            ),
            delivery: scheduleArbitrary,
          }).map((value) => ({ ...value })),
          async ({ role, atStart, bursts, delivery }) => {
            const iutRole = pickRole(context, role);
            const sides = authenticationSides(context.identities, "mutual");
            const result = await play(context, iutRole, sides, "noise", {
              relay: () => delivery,
              onReference: (session) => {
                const send = (lengths: readonly number[]) => {
                  for (const length of lengths) session.sendNoise(length).catch(() => {});
                };
                send(atStart);
                let states = 0;
                session.on("state", () => {
                  states++;
                  for (const burst of bursts) if (burst.after === states) send(burst.lengths);
                });
              },
            });
            const peer = sides[other(iutRole)].identity;
            return [
              ...checkReady(result, {
                suite: expectedSuite(DEFAULT_PREFERENCES, DEFAULT_PREFERENCES),
                peer,
                authenticated: true,
              }).problems,
            ];
          },
        ),
    ),
    make(
      "attacks-from-the-catalogue",
      () =>
        property(
          context,
          "the catalogue's code for each side",
          fc.record({
            role: roleArbitrary,
            mutation: fc.nat({ max: usable.length - 1 }),
            delivery: scheduleArbitrary,
          }).map((value) => ({ ...value })),
          async (
            { role, mutation, delivery },
          ) => [
            ...(await runMutation(context, usable[mutation]!, pickRole(context, role), delivery))
              .problems,
          ],
        ),
    ),
    make(
      "length-and-bit-flips",
      () =>
        property(
          context,
          "ERR_DECRYPT_FAILED / ERR_FRAME_TOO_LARGE / ERR_MALFORMED_MESSAGE",
          fc.record({
            role: roleArbitrary,
            target: targetArbitrary,
            inHeader: fc.boolean(),
            bit: fc.nat(),
          }).map((value) => ({ ...value })),
          async ({ role, target, inHeader, bit }) => {
            let expectation: Expectation = fail(DECRYPT_FAILED, phaseOfKind(target));
            const flip: Mutation = {
              id: `flip/${target}`,
              comment: "",
              flags: [],
              target,
              apply: ({ record }) => {
                if (!inHeader) {
                  const ciphertext = record.ciphertext.slice();
                  const at = bit % (ciphertext.length * 8);
                  ciphertext[at >> 3]! ^= 1 << (at & 7);
                  return [{ record: { header: record.header, ciphertext } }];
                }
                const length = (record.header[0]! << 16) | (record.header[1]! << 8) |
                  record.header[2]!;
                const claimed = length ^ (1 << (bit % 24));
                if (claimed > DEFAULT_MAX_RECORD_LENGTH) {
                  expectation = fail(ErrorCode.FRAME_TOO_LARGE, phaseOfKind(target));
                  return [{
                    record: { header: lengthHeader(claimed), ciphertext: record.ciphertext },
                  }];
                }
                if (claimed < 17) {
                  expectation = fail(ErrorCode.MALFORMED_MESSAGE, phaseOfKind(target));
                  return [{
                    record: { header: lengthHeader(claimed), ciphertext: record.ciphertext },
                  }];
                }
                // The record is cut or zero-extended to the claimed length: complete, and forged.
                const ciphertext = new Uint8Array(claimed);
                ciphertext.set(record.ciphertext.subarray(0, claimed));
                return [{ record: { header: lengthHeader(claimed), ciphertext } }];
              },
              expect: () => ({ receiver: expectation, sender: senderAfter(target) }),
            };
            return [...(await runMutation(context, flip, pickRole(context, role))).problems];
          },
        ),
    ),
    make(
      "truncation-at-any-byte",
      () =>
        property(
          context,
          "ERR_FRAME_TRUNCATED inside a record, ERR_TRANSPORT_CLOSED between records",
          fc.record({ role: roleArbitrary, target: targetArbitrary, cut: fc.nat() }).map((
            value,
          ) => ({ ...value })),
          async ({ role, target, cut }) => {
            let expectation: Expectation = fail(TRANSPORT_CLOSED, phaseOfKind(target));
            const truncate: Mutation = {
              id: `truncate/${target}`,
              comment: "",
              flags: [],
              target,
              apply: ({ record, context: relay }) => {
                const wire = new Uint8Array([
                  ...relay.mask(record.header, relay.outIndex),
                  ...record.ciphertext,
                ]);
                const kept = cut % wire.length;
                if (kept > 0) expectation = fail(ErrorCode.FRAME_TRUNCATED, phaseOfKind(target));
                return [{ bytes: wire.subarray(0, kept) }, { end: "close" }] as Emission[];
              },
              expect: () => ({ receiver: expectation, sender: senderAfter(target) }),
            };
            return [...(await runMutation(context, truncate, pickRole(context, role))).problems];
          },
        ),
    ),
    make(
      "replayed-earlier-record",
      () =>
        property(
          context,
          "ERR_DECRYPT_FAILED",
          fc.record({
            role: roleArbitrary,
            target: fc.constantFrom<HandshakeKind>(...HANDSHAKE_KINDS.slice(2)),
            source: fc.nat(),
          }).map((value) => ({ ...value })),
          async ({ role, target, source }) => {
            const seen: TappedRecord[] = [];
            const direction = directionOfKind(target);
            const replay: Mutation = {
              id: `replay/${target}`,
              comment: "",
              flags: [],
              target,
              observe: (record) => void (record.direction === direction && seen.push(record)),
              apply: ({ record }) => [{ record: seen[source % seen.length] ?? record }],
              expect: () => ({
                receiver: fail(DECRYPT_FAILED, phaseOfKind(target)),
                sender: senderAfter(target),
              }),
            };
            return [...(await runMutation(context, replay, pickRole(context, role))).problems];
          },
        ),
    ),
    make(
      "wrong-phase-messages",
      () =>
        property(
          context,
          "ERR_UNEXPECTED_MESSAGE",
          fc.record({ role: roleArbitrary, target: targetArbitrary, kind: fc.nat() }).map((
            value,
          ) => ({ ...value })),
          async ({ role, target, kind }) => {
            const kinds = (Object.keys(KIND_EXAMPLES) as Exclude<MessageKind, "noise">[]).filter((
              name,
            ) => name !== target);
            const sent = kinds[kind % kinds.length]!;
            const wrong: Mutation = {
              id: `wrong/${target}/${sent}`,
              comment: "",
              flags: [],
              target,
              apply: ({ tracked, environment }) => [{
                record: environment.tracker.seal(tracked.direction, exampleMessage(sent), {
                  epoch: tracked.epoch,
                  counter: tracked.counter,
                }),
              }],
              expect: () => ({
                receiver: fail(ErrorCode.UNEXPECTED_MESSAGE, phaseOfKind(target)),
                sender: senderAfter(target),
              }),
            };
            return [...(await runMutation(context, wrong, pickRole(context, role))).problems];
          },
        ),
    ),
  ];
}

const KIND_EXAMPLES: Record<Exclude<MessageKind, "noise">, true> = {
  beginMetaExchange: true,
  endMetaExchange: true,
  beginPrimaryKeyExchange: true,
  endPrimaryKeyExchange: true,
  beginSecondaryKeyExchange: true,
  endSecondaryKeyExchange: true,
  beginAuthentication: true,
  endAuthentication: true,
  beginSessionInit: true,
  endSessionInit: true,
  beginKeyUpdate: true,
  endKeyUpdate: true,
  keyUpdateReady: true,
  extenderData: true,
  extenderUpdate: true,
  close: true,
};

function senderAfter(kind: HandshakeKind): Expectation {
  return kind === "endSessionInit" ? READY : fail(TRANSPORT_CLOSED);
}

// ---------------------------------------------------------------------------

/**
 * Runs the conformance suite against an implementation.
 *
 * Every case runs the implementation against qgate's reference peer over an
 * in-memory pipe through an adversarial relay; nothing touches the network.
 * A case passes when both sides end as the README's protocol prescribes:
 * the outcome, and for a failure the exact reason code (and the phase, when
 * the adapter reports one).
 *
 * @param adapter Starts endpoints of the implementation under test.
 * @param options Mode, categories, roles, seed and budgets.
 * @returns The report: one row per case and role (one per property).
 *
 * @example A quick subset against qgate itself
 * ```ts
 * import { formatConformanceTable, qgateAdapter, runConformance } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const report = await runConformance(qgateAdapter, {
 *   categories: ["policy"],
 *   roles: ["initiator"],
 * });
 * assert.equal(report.failed, 0);
 * assert.match(formatConformanceTable(report), /policy\/nothing-in-common/);
 * ```
 */
export async function runConformance(
  adapter: ConformanceAdapter,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const long = options.long ?? false;
  const roles = options.roles ?? ROLES;
  if (roles.length === 0) throw new RangeError(`Cannot run conformance: "roles" must not be empty`);
  const context: Context = {
    adapter,
    identities: await makeIdentities(),
    timeouts: options.timeouts ?? { phase: 5_000, handshake: 10_000 },
    shortPhase: options.shortPhase ?? 300,
    deadline: options.caseDeadline ?? 15_000,
    seed: options.seed ?? DEFAULT_CONFORMANCE_SEED,
    numRuns: options.numRuns ?? (long ? 100 : 12),
    path: options.path,
    roles,
    foreign: undefined,
  };
  const categories = options.categories ?? CONFORMANCE_CATEGORIES;
  const all: Case[] = [
    ...positiveCases(context, long, options.sample ?? 8),
    ...policyCases(context),
    ...mutationCases(context),
    ...mitmCases(context),
    ...propertyCases(context),
  ].filter((item) =>
    categories.includes(item.category) &&
    (options.only === undefined || item.id.startsWith(options.only))
  );
  const order = (category: ConformanceCategory) => CONFORMANCE_CATEGORIES.indexOf(category);
  all.sort((a, b) => order(a.category) - order(b.category));
  const results: ConformanceResult[] = [];
  for (const item of all) {
    const begun = performance.now();
    let finding: Finding | PropertyFinding;
    try {
      finding = await item.run();
    } catch (error) {
      finding = {
        expected: "a result",
        actual: "error",
        problems: [`the case threw: ${error instanceof Error ? error.message : String(error)}`],
      };
    }
    const result: ConformanceResult = {
      id: item.id,
      category: item.category,
      role: item.role,
      status: finding.problems.length === 0 ? "pass" : "fail",
      expected: finding.expected,
      actual: finding.actual,
      ...(finding.problems.length === 0 ? {} : { detail: finding.problems.join("; ") }),
      durationMs: Math.round(performance.now() - begun),
      ...("runs" in finding
        ? {
          runs: finding.runs,
          seed: finding.seed,
          ...(finding.path === undefined ? {} : { path: finding.path }),
          ...(finding.counterexample === undefined
            ? {}
            : { counterexample: finding.counterexample }),
        }
        : {}),
    };
    results.push(result);
    options.onResult?.(result);
  }
  const failed = results.filter((result) => result.status === "fail").length;
  return {
    implementation: adapter.name,
    mode: long ? "long" : "quick",
    seed: context.seed,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    passed: results.length - failed,
    failed,
    results,
  };
}

/**
 * Formats a report as a fixed-width table with a summary per category and,
 * for each failing property, how to replay it.
 *
 * @param report The report of {@linkcode runConformance}.
 * @returns The table, lines joined with `\n`.
 *
 * @example Formatting a one-row report
 * ```ts
 * import { formatConformanceTable } from "@qgate/handshake";
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
    result.status === "pass" ? "pass" : "FAIL",
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
    out.push(`${category.padEnd(9)} ${mine.length - bad} passed, ${bad} failed`);
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
  out.push(
    "",
    `${report.passed} passed, ${report.failed} failed in ${
      (report.durationMs / 1000).toFixed(1)
    } s`,
  );
  return out.join("\n");
}

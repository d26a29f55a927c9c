/**
 * Properties of the handshake over an adversarial byte pipe: any delivery
 * order, any noise, any damage to the records, any flood.
 *
 * Every run goes through the relay of `_adversarial_channel.ts`; every run
 * must finish (real-time deadlines), and Deno's sanitizers stay on, so a
 * leaked timer, an unfinished stream or an unhandled rejection fails the test.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_MAX_RECORD_LENGTH, type Message, type MessageKind } from "../src/codec/mod.ts";
import {
  type AeadName,
  AEADS,
  HASHES,
  type HashName,
  KEY_EXCHANGES,
  type KeyExchangeName,
  type NegotiatedSuite,
} from "../src/crypto/mod.ts";
import { ErrorCode, type PeerDetails, seededRandom, type SessionOptions } from "../mod.ts";
import {
  type DeliveryStep,
  type Direction,
  type Emission,
  type HandshakeRun,
  lengthHeader,
  type RecordContext,
  type RelayScript,
  runHandshake,
  type SideOutcome,
  type TappedRecord,
} from "./_adversarial_channel.ts";
import { messageArbitraryOf } from "./_arbitraries.ts";
import { propertyConfig } from "./_property.ts";
import { accessFor, identityFor, uuidOf } from "./_session_helpers.ts";

const ALICE = await identityFor("Ed25519", 21);
const BOB = await identityFor("Ed25519", 22);
const GSS = new Uint8Array(32).fill(0x5a);

/** Timeouts short enough that a stalled run ends quickly, long enough for a loaded machine. */
const SHORT_TIMEOUTS = { phase: 300, handshake: 2_000 };

// ---------------------------------------------------------------------------
// Arbitraries

const deliveryStep = (maxSleep: number): fc.Arbitrary<DeliveryStep> =>
  fc.record({
    direction: fc.constantFrom<Direction | "either">("i2r", "r2i", "either"),
    size: fc.oneof(
      fc.constant(1),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 4_096 }),
      fc.constant(0),
    ),
    yields: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) },
    ),
    sleep: maxSleep === 0 ? fc.constant(0) : fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: maxSleep }) },
    ),
  }).map((step) => ({ ...step }));

/** A delivery schedule: a prelude with a few real sleeps, then a cycle without. */
const scheduleArbitrary: fc.Arbitrary<{ prelude: DeliveryStep[]; schedule: DeliveryStep[] }> = fc
  .record({
    prelude: fc.array(deliveryStep(3), { maxLength: 24 }),
    schedule: fc.array(deliveryStep(0), { minLength: 1, maxLength: 8 }),
  })
  .map(({ prelude, schedule }) => ({ prelude, schedule }));

interface CategoryChoice<N extends string> {
  responder: N[];
  initiator: N[];
}

/** The responder's ordered list and an initiator list sharing at least one entry. */
function categoryArbitrary<N extends string>(names: readonly N[]): fc.Arbitrary<CategoryChoice<N>> {
  return fc
    .tuple(
      fc.shuffledSubarray([...names], { minLength: 1 }),
      fc.shuffledSubarray([...names]),
      fc.nat(),
    )
    .map(([responder, extra, pick]) => ({
      responder,
      initiator: [...new Set([responder[pick % responder.length]!, ...extra])],
    }));
}

const CLASSICAL = KEY_EXCHANGES.map((entry) => entry.name).filter((name) =>
  !name.startsWith("ML-KEM")
);
const POST_QUANTUM = KEY_EXCHANGES.map((entry) => entry.name).filter((name) =>
  name.startsWith("ML-KEM")
);

interface Configuration {
  primary: CategoryChoice<KeyExchangeName>;
  secondary: CategoryChoice<KeyExchangeName>;
  aead: CategoryChoice<AeadName>;
  hash: CategoryChoice<HashName>;
  authentication: "none" | "responder" | "mutual";
  gss: boolean;
  seed: number;
}

const configurationArbitrary: fc.Arbitrary<Configuration> = fc
  .record({
    primary: categoryArbitrary(CLASSICAL),
    secondary: categoryArbitrary(POST_QUANTUM),
    aead: categoryArbitrary(AEADS.map((entry) => entry.name)),
    hash: categoryArbitrary(HASHES.map((entry) => entry.name)),
    authentication: fc.constantFrom("none", "responder", "mutual"),
    gss: fc.boolean(),
    seed: fc.integer({ min: 0, max: 255 }),
  })
  .map((configuration) => ({ ...configuration }));

/** The suite PROTOCOL.md §3.4's rule gives: per category, the responder's first entry the initiator has. */
function expectedSuite(configuration: Configuration): NegotiatedSuite {
  const pick = <N extends string>({ responder, initiator }: CategoryChoice<N>): N =>
    responder.find((name) => initiator.includes(name))!;
  return {
    primaryKeyExchange: pick(configuration.primary),
    secondaryKeyExchange: pick(configuration.secondary),
    aead: pick(configuration.aead),
    hash: pick(configuration.hash),
  };
}

/** Each authentication mode's identity options: anonymous, the responder only, or both. */
const IDENTITIES: Record<
  Configuration["authentication"],
  () => { initiator: SessionOptions; responder: SessionOptions }
> = {
  none: () => ({
    initiator: { requireAuthentication: false },
    responder: { requireAuthentication: false },
  }),
  responder: () => ({
    initiator: { accessManager: accessFor(BOB) },
    responder: { identity: BOB, requireAuthentication: false },
  }),
  mutual: () => ({
    initiator: { identity: ALICE, accessManager: accessFor(BOB) },
    responder: { identity: BOB, accessManager: accessFor(ALICE) },
  }),
};

function sessionOptions(
  configuration: Configuration,
): { initiator: SessionOptions; responder: SessionOptions } {
  const algorithms = (role: "initiator" | "responder") => ({
    primaryKeyExchanges: configuration.primary[role],
    secondaryKeyExchanges: configuration.secondary[role],
    aeads: configuration.aead[role],
    hashes: configuration.hash[role],
  });
  const gss = configuration.gss ? { globalSharedSecret: GSS } : {};
  const identities = IDENTITIES[configuration.authentication]();
  return {
    initiator: {
      random: seededRandom(new Uint8Array([configuration.seed, 1])),
      algorithms: algorithms("initiator"),
      ...gss,
      ...identities.initiator,
    },
    responder: {
      random: seededRandom(new Uint8Array([configuration.seed, 2])),
      algorithms: algorithms("responder"),
      ...gss,
      ...identities.responder,
    },
  };
}

// ---------------------------------------------------------------------------
// Checks shared by the properties

function assertBothReady(run: HandshakeRun, label: string): [PeerDetails, PeerDetails] {
  assert.deepEqual(run.hung, [], `${label}: did not finish`);
  const { initiator, responder } = run;
  assert.ok(initiator.details, `${label}: initiator failed with ${initiator.code}`);
  assert.ok(responder.details, `${label}: responder failed with ${responder.code}`);
  assert.ok(initiator.keys !== undefined && responder.keys !== undefined, `${label}: no keys`);
  assert.deepEqual(initiator.keys, responder.keys, `${label}: exporter outputs differ`);
  assert.deepEqual(initiator.details.algorithms, responder.details.algorithms, label);
  assert.equal(initiator.details.peerSessionId, responder.details.sessionId, label);
  assert.equal(responder.details.peerSessionId, initiator.details.sessionId, label);
  return [initiator.details, responder.details];
}

/** Peer details without the per-run random session ids. */
function stable(details: PeerDetails): Omit<PeerDetails, "sessionId" | "peerSessionId"> {
  const { sessionId: _mine, peerSessionId: _theirs, ...rest } = details;
  return rest;
}

function assertAuthentication(
  configuration: Configuration,
  [initiator, responder]: [PeerDetails, PeerDetails],
  label: string,
): void {
  const mode = configuration.authentication;
  assert.equal(initiator.authenticated, mode !== "none", label);
  assert.equal(initiator.peerUuid, mode === "none" ? undefined : uuidOf(BOB), label);
  assert.equal(responder.authenticated, mode === "mutual", label);
  assert.equal(responder.peerUuid, mode === "mutual" ? uuidOf(ALICE) : undefined, label);
  assert.equal(initiator.globalSharedSecret, configuration.gss, label);
}

// ---------------------------------------------------------------------------
// orderings

Deno.test("initiate() and respond() agree under any chunking, delay and interleaving", async () => {
  await fc.assert(
    fc.asyncProperty(configurationArbitrary, scheduleArbitrary, async (configuration, delivery) => {
      const run = await runHandshake({
        ...sessionOptions(configuration),
        relay: delivery,
      });
      const label = JSON.stringify(configuration);
      const details = assertBothReady(run, label);
      assert.deepEqual(details[0].algorithms, expectedSuite(configuration), label);
      assertAuthentication(configuration, details, label);
    }),
    propertyConfig(100),
  );
});

// ---------------------------------------------------------------------------
// noise

interface NoisePlan {
  /** Noise lengths sent right after `initiate()`/`respond()`. */
  atStart: number[];
  /** Bursts sent when the statechart enters a state (index into the role's state list). */
  onState: { state: number; lengths: number[] }[];
}

const noiseLength = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 60_000 }) },
);

const noisePlanArbitrary: fc.Arbitrary<NoisePlan> = fc
  .record({
    atStart: fc.array(noiseLength, { maxLength: 3 }),
    onState: fc.array(
      fc.record({
        state: fc.nat(),
        lengths: fc.array(noiseLength, { minLength: 1, maxLength: 3 }),
      }).map((entry) => ({ ...entry })),
      { maxLength: 5 },
    ),
  })
  .map((plan) => ({ ...plan }));

/** The configurations the noise property compares against a noiseless baseline. */
const NOISE_CONFIGURATIONS: Configuration[] = [
  {
    primary: { responder: ["X25519"], initiator: ["X25519"] },
    secondary: { responder: ["ML-KEM-768"], initiator: ["ML-KEM-768"] },
    aead: { responder: ["AES-256-GCM"], initiator: ["AES-256-GCM"] },
    hash: { responder: ["SHA-256"], initiator: ["SHA-256"] },
    authentication: "none",
    gss: false,
    seed: 1,
  },
  {
    primary: { responder: ["X448", "X25519"], initiator: ["X25519", "X448"] },
    secondary: { responder: ["ML-KEM-512"], initiator: ["ML-KEM-512"] },
    aead: { responder: ["XChaCha20-Poly1305"], initiator: ["XChaCha20-Poly1305"] },
    hash: { responder: ["BLAKE2b"], initiator: ["BLAKE2b"] },
    authentication: "mutual",
    gss: false,
    seed: 2,
  },
  {
    primary: { responder: ["P-256"], initiator: ["P-256"] },
    secondary: { responder: ["ML-KEM-1024"], initiator: ["ML-KEM-1024"] },
    aead: { responder: ["ChaCha20-Poly1305"], initiator: ["ChaCha20-Poly1305"] },
    hash: { responder: ["SHA3-256"], initiator: ["SHA3-256"] },
    authentication: "responder",
    gss: true,
    seed: 3,
  },
];

Deno.test("Session.sendNoise() at any point on either side changes nothing", async () => {
  const baselines: { run: HandshakeRun; details: [PeerDetails, PeerDetails] }[] = [];
  for (const configuration of NOISE_CONFIGURATIONS) {
    const run = await runHandshake(sessionOptions(configuration));
    baselines.push({ run, details: assertBothReady(run, "baseline") });
  }
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: NOISE_CONFIGURATIONS.length - 1 }),
      noisePlanArbitrary,
      noisePlanArbitrary,
      scheduleArbitrary,
      async (which, initiatorPlan, responderPlan, delivery) => {
        const configuration = NOISE_CONFIGURATIONS[which]!;
        const baseline = baselines[which]!;
        const noise: Promise<unknown>[] = [];
        const sent = { initiator: 0, responder: 0 };
        const received = { initiator: 0, responder: 0 };
        let results: PromiseSettledResult<unknown>[] = [];
        const run = await runHandshake({
          ...sessionOptions(configuration),
          relay: delivery,
          beforeCleanup: async () => {
            results = await Promise.allSettled(noise);
            // Wait (a bounded while) until each peer has read every noise record sent to it.
            const until = performance.now() + 4_000;
            while (
              (received.initiator < sent.responder || received.responder < sent.initiator) &&
              performance.now() < until
            ) {
              await new Promise((resolve) => setTimeout(resolve, 1));
            }
          },
          onStart: (initiator, responder) => {
            for (
              const [role, observation, plan, states] of [
                ["initiator", initiator, initiatorPlan, baseline.run.initiator.states],
                ["responder", responder, responderPlan, baseline.run.responder.states],
              ] as const
            ) {
              const session = observation.session;
              session.on("trace", (event) => {
                if (event.type === "frame" && event.direction === "received" && event.noise) {
                  received[role]++;
                }
              });
              const burst = (lengths: readonly number[]) => {
                for (const length of lengths) {
                  sent[role]++;
                  // Handled at once, so a failed handshake reports its counterexample, not an unhandled rejection.
                  const sending = session.sendNoise(length);
                  sending.catch(() => {});
                  noise.push(sending);
                }
              };
              burst(plan.atStart);
              const triggers = new Map<string, number[]>();
              for (const { state, lengths } of plan.onState) {
                const name = states[state % states.length]!;
                triggers.set(name, [...(triggers.get(name) ?? []), ...lengths]);
              }
              session.on("state", ({ state }) => burst(triggers.get(state) ?? []));
            }
          },
        });
        const label = JSON.stringify({ which, initiatorPlan, responderPlan });
        const details = assertBothReady(run, label);
        // Every noise record was accepted for sending, none was lost or refused.
        assert.equal(results.length, noise.length, label);
        for (const result of results) {
          assert.equal(
            result.status,
            "fulfilled",
            `${label}: ${String((result as { reason?: unknown }).reason)}`,
          );
        }
        assert.deepEqual(stable(details[0]), stable(baseline.details[0]), label);
        assert.deepEqual(stable(details[1]), stable(baseline.details[1]), label);
        assertAuthentication(configuration, details, label);
        // Every noise record arrived and was dropped by its receiver.
        assert.deepEqual(received, { initiator: sent.responder, responder: sent.initiator }, label);
      },
    ),
    propertyConfig(60),
  );
});

// ---------------------------------------------------------------------------
// malformed

const {
  DECRYPT_FAILED,
  FRAME_TOO_LARGE,
  FRAME_TRUNCATED,
  MALFORMED_MESSAGE,
  TIMEOUT,
  TRANSPORT_CLOSED,
  UNEXPECTED_MESSAGE,
} = ErrorCode;

/** What each side of a damaged run may end with. */
interface Prediction {
  /** The side that receives the damaged direction. */
  readonly receiver: readonly string[];
  /** The side that sent it. */
  readonly sender: readonly string[];
}

/**
 * The codes a receiver can meet when `emissions` reach it in one chunk, at a
 * record boundary, the first record being damaged. The receiver's frame
 * decoder cuts the whole chunk before anything is opened, so a garbage
 * length anywhere in the chunk fails it first; otherwise the first complete
 * record fails to open; a record still incomplete waits for bytes that may
 * never come (or that complete it, or bring another garbage length).
 */
function predictChunk(
  emissions: readonly Emission[],
  context: RecordContext,
  intactFirst = false,
): string[] {
  const parts: Uint8Array[] = [];
  let index = context.outIndex;
  for (const emission of emissions) {
    if ("record" in emission) {
      parts.push(context.mask(emission.record.header, index++), emission.record.ciphertext);
    } else if ("wire" in emission) {
      parts.push(emission.wire);
      index++;
    } else if ("bytes" in emission) {
      parts.push(emission.bytes);
    }
  }
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  let offset = 0;
  let complete = 0;
  // Records are opened in order before any framing error behind them is
  // reported, so the first complete damaged record decides the code (an
  // intact first record opens and the scan goes on behind it).
  const skip = intactFirst ? 1 : 0;
  for (let record = context.outIndex; offset + 3 <= bytes.length && complete <= skip; record++) {
    const length = clearLength(context.mask(bytes.subarray(offset, offset + 3), record));
    if (length > DEFAULT_MAX_RECORD_LENGTH) return [FRAME_TOO_LARGE];
    if (length < 17) return [MALFORMED_MESSAGE];
    if (offset + 3 + length > bytes.length) break;
    offset += 3 + length;
    complete++;
  }
  return complete > skip
    ? [DECRYPT_FAILED]
    : [DECRYPT_FAILED, FRAME_TOO_LARGE, MALFORMED_MESSAGE, TIMEOUT, TRANSPORT_CLOSED];
}

function clearLength(header: Uint8Array): number {
  return (header[0]! << 16) | (header[1]! << 8) | header[2]!;
}

/** The message kind each receiver expects at each epoch-0 position (after `noise` initiator noise records). */
function expectedKind(direction: Direction, index: number, noise: number): MessageKind {
  if (direction === "r2i") return index === 0 ? "beginMetaExchange" : "beginPrimaryKeyExchange";
  return index <= noise ? "endMetaExchange" : "endPrimaryKeyExchange";
}

type Fault =
  | {
    readonly kind:
      | "flipCiphertext"
      | "flipLength"
      | "truncate"
      | "cutStream"
      | "extend"
      | "drop"
      | "duplicate"
      | "duplicateRaw"
      | "swap"
      | "replayOther"
      | "replayOtherRaw";
    readonly direction: Direction;
    /** Which record of the direction (modulo the handshake's records). */
    readonly index: number;
    /** The bit, cut, kept bytes, extension length or other record, by kind. */
    readonly amount: number;
  }
  | { readonly kind: "replayStream"; readonly direction: Direction }
  | {
    readonly kind: "wrongPhase";
    readonly direction: Direction;
    readonly index: number;
    readonly message: Message;
  };

interface DamagedRun {
  /** Noise records the initiator sends right after `initiate()`. */
  readonly noise: number;
  readonly fault: Fault;
  readonly seed: number;
}

const positionedFault = fc
  .record({
    kind: fc.constantFrom(
      "flipCiphertext",
      "flipLength",
      "truncate",
      "cutStream",
      "extend",
      "drop",
      "duplicate",
      "duplicateRaw",
      "swap",
      "replayOther",
      "replayOtherRaw",
    ),
    direction: fc.constantFrom<Direction>("i2r", "r2i"),
    index: fc.nat(),
    amount: fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: 100_000 })),
  })
  .map((fault): Fault => ({ ...fault }));

const NON_NOISE_KINDS = (Object.keys(
  {
    beginMetaExchange: 0,
    endMetaExchange: 0,
    beginPrimaryKeyExchange: 0,
    endPrimaryKeyExchange: 0,
    beginSecondaryKeyExchange: 0,
    endSecondaryKeyExchange: 0,
    beginAuthentication: 0,
    endAuthentication: 0,
    beginSessionInit: 0,
    endSessionInit: 0,
    beginKeyUpdate: 0,
    endKeyUpdate: 0,
    keyUpdateReady: 0,
    extenderData: 0,
    extenderUpdate: 0,
    extenderDataContinuation: 0,
    close: 0,
  } satisfies Record<Exclude<MessageKind, "noise">, 0>,
)) as Exclude<MessageKind, "noise">[];

const damagedRunArbitrary: fc.Arbitrary<DamagedRun> = fc
  .record({
    noise: fc.integer({ min: 0, max: 2 }),
    // 255 is the seed of the captured session that replays come from.
    seed: fc.integer({ min: 0, max: 254 }),
    choice: fc.integer({ min: 0, max: 13 }),
    positioned: positionedFault,
    replayDirection: fc.constantFrom<Direction>("i2r", "r2i"),
    wrongPhase: fc.record({
      direction: fc.constantFrom<Direction>("i2r", "r2i"),
      position: fc.nat(),
      kind: fc.nat(),
    }),
  })
  .chain(({ noise, seed, choice, positioned, replayDirection, wrongPhase }) => {
    if (choice === 0) {
      return fc.constant<DamagedRun>({
        noise,
        seed,
        fault: { kind: "replayStream", direction: replayDirection },
      });
    }
    if (choice <= 3) {
      // A valid message out of place, at an epoch-0 position the relay can seal for.
      const { direction } = wrongPhase;
      const index = wrongPhase.position % (direction === "i2r" ? noise + 2 : 2);
      const allowed = NON_NOISE_KINDS.filter((kind) =>
        kind !== expectedKind(direction, index, noise)
      );
      return messageArbitraryOf(allowed[wrongPhase.kind % allowed.length]!).map(
        (message): DamagedRun => ({
          noise,
          seed,
          fault: { kind: "wrongPhase", direction, index, message },
        }),
      );
    }
    return fc.constant<DamagedRun>({ noise, seed, fault: positioned });
  });

/** The records of one earlier, unrelated session: replay material. */
interface Capture {
  readonly salts: Record<Direction, Uint8Array>;
  readonly records: Record<Direction, readonly TappedRecord[]>;
}

function damagedOptions(seed: number): { initiator: SessionOptions; responder: SessionOptions } {
  return {
    initiator: {
      requireAuthentication: false,
      timeouts: SHORT_TIMEOUTS,
      random: seededRandom(new Uint8Array([seed, 11])),
    },
    responder: {
      requireAuthentication: false,
      timeouts: SHORT_TIMEOUTS,
      random: seededRandom(new Uint8Array([seed, 12])),
    },
  };
}

/**
 * The relay script of one fault, and what the run may end with (known once
 * the damaged record has gone by: some predictions depend on its length).
 */
function damage(
  run: DamagedRun,
  capture: Capture,
): { script: RelayScript; prediction: () => Prediction | undefined } {
  const { fault, noise } = run;
  const records = (direction: Direction) => (direction === "i2r" ? noise + 5 : 5);
  let prediction: Prediction | undefined;
  const predict = (receiver: readonly string[], sender: readonly string[] = [TRANSPORT_CLOSED]) => {
    prediction = { receiver, sender };
  };
  /** A record the sender writes right after this one, without waiting for the peer. */
  const followedAtOnce = (direction: Direction, index: number) =>
    direction === "i2r" && index < noise;

  if (fault.kind === "replayStream") {
    // The whole direction is an earlier session's: its salt, then its records.
    const other = capture.records[fault.direction];
    predict(
      [DECRYPT_FAILED],
      fault.direction === "i2r" ? [DECRYPT_FAILED, TRANSPORT_CLOSED] : [TRANSPORT_CLOSED],
    );
    return {
      script: {
        salt: (direction, salt) => direction === fault.direction ? capture.salts[direction] : salt,
        record: (record) =>
          record.direction !== fault.direction
            ? [{ record }]
            : record.index === 0
            ? other.map((old) => ({ record: old }))
            : [],
      },
      prediction: () => prediction,
    };
  }

  const target = fault.index % records(fault.direction);
  let held: TappedRecord | undefined;
  const script: RelayScript = {
    record: async (record, context) => {
      if (record.direction !== fault.direction) return [{ record }];
      if (fault.kind === "swap" && held !== undefined) {
        const first = held;
        held = undefined;
        return [{ record }, { record: first }];
      }
      if (record.index !== target) return [{ record }];
      const length = record.ciphertext.length;
      /** Emits `emissions` as one chunk and predicts from its bytes. */
      const chunk = (emissions: Emission[], intactFirst = false): Emission[] => {
        predict(predictChunk(emissions, context, intactFirst));
        return emissions;
      };
      switch (fault.kind) {
        case "wrongPhase": {
          predict([UNEXPECTED_MESSAGE]);
          return [{ record: await context.seal(fault.message) }];
        }
        case "flipCiphertext": {
          const ciphertext = record.ciphertext.slice();
          const bit = fault.amount % (length * 8);
          ciphertext[bit >> 3]! ^= 1 << (bit & 7);
          return chunk([{ record: { header: record.header, ciphertext } }]);
        }
        case "flipLength": {
          const header = record.header.slice();
          const bit = fault.amount % 24;
          header[2 - (bit >> 3)]! ^= 1 << (bit & 7);
          return chunk([{ record: { header, ciphertext: record.ciphertext } }]);
        }
        case "truncate": {
          const kept = length - 1 - (fault.amount % (length - 1));
          return chunk([{
            record: { header: lengthHeader(kept), ciphertext: record.ciphertext.subarray(0, kept) },
          }]);
        }
        case "cutStream": {
          const kept = fault.amount % record.wire.length;
          predict([kept === 0 ? TRANSPORT_CLOSED : FRAME_TRUNCATED]);
          const wire = context.mask(record.header, context.outIndex);
          const bytes = new Uint8Array([...wire, ...record.ciphertext]).subarray(0, kept);
          return [{ bytes }, { end: "close" }];
        }
        case "extend": {
          const ciphertext = new Uint8Array(length + 1 + fault.amount);
          ciphertext.set(record.ciphertext);
          return chunk([{ record: { header: lengthHeader(ciphertext.length), ciphertext } }]);
        }
        case "drop":
          predict(followedAtOnce(record.direction, record.index) ? [DECRYPT_FAILED] : [TIMEOUT]);
          return [];
        case "duplicate":
          return chunk([{ record }, { record }], true);
        case "duplicateRaw": {
          // The copy keeps the mask of its first position: the receiver unmasks garbage.
          const masked = context.mask(record.header, context.outIndex);
          return chunk(
            [{ record }, { wire: new Uint8Array([...masked, ...record.ciphertext]) }],
            true,
          );
        }
        case "swap":
          held = record;
          predict(followedAtOnce(record.direction, record.index) ? [DECRYPT_FAILED] : [TIMEOUT]);
          return [];
        case "replayOther": {
          const others = capture.records[record.direction];
          return chunk([{ record: others[fault.amount % others.length]! }]);
        }
        case "replayOtherRaw": {
          const others = capture.records[record.direction];
          return chunk([{ wire: others[fault.amount % others.length]!.wire }]);
        }
      }
    },
  };
  return { script, prediction: () => prediction };
}

function describe(side: SideOutcome): string {
  const ended = side.ended === undefined ? "never" : String(side.ended.code);
  if (!side.readySettled) return `ready never settled, ended ${ended}`;
  return side.details === undefined ? `failed ${side.code}` : `ready, then ended ${ended}`;
}

Deno.test("initiate() and respond() end with a stable code for any damaged record", async () => {
  const captured = await runHandshake(damagedOptions(255));
  assertBothReady(captured, "capture");
  const capture: Capture = {
    salts: { i2r: captured.relay.salts.i2r!, r2i: captured.relay.salts.r2i! },
    records: { i2r: captured.relay.records.i2r, r2i: captured.relay.records.r2i },
  };
  await fc.assert(
    fc.asyncProperty(damagedRunArbitrary, async (damaged) => {
      const { script, prediction } = damage(damaged, capture);
      const run = await runHandshake({
        ...damagedOptions(damaged.seed),
        relay: { script },
        expectEnd: true,
        onStart: (initiator) => {
          for (let i = 0; i < damaged.noise; i++) {
            initiator.session.sendNoise(8 * i).catch(() => {});
          }
        },
      });
      const label = JSON.stringify(damaged);
      assert.deepEqual(run.hung, [], `${label}: did not finish`);
      assert.ok(
        run.initiator.readySettled && run.responder.readySettled,
        `${label}: ready never settled (initiator ${describe(run.initiator)}, responder ${
          describe(run.responder)
        })`,
      );
      const predicted = prediction();
      assert.ok(predicted !== undefined, `${label}: the fault was never applied`);
      const [receiver, sender] = damaged.fault.direction === "i2r"
        ? [run.responder, run.initiator]
        : [run.initiator, run.responder];
      assert.ok(
        predicted.receiver.includes(receiver.finalCode!),
        `${label}: receiver ${describe(receiver)}, expected ${predicted.receiver}`,
      );
      assert.ok(
        predicted.sender.includes(sender.finalCode!),
        `${label}: sender ${describe(sender)}, expected ${predicted.sender}`,
      );
      if (receiver.details !== undefined && sender.details !== undefined) {
        assert.deepEqual(receiver.keys, sender.keys, `${label}: both ready with different keys`);
      }
    }),
    propertyConfig(150),
  );
});

// ---------------------------------------------------------------------------
// memory

const FLOOD_BYTES = 4 * 1024 * 1024;

Deno.test("a session reads no more than one maximum record of a flood, whatever length it claims", async () => {
  const flood = new Uint8Array(FLOOD_BYTES).fill(0xa5);
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        direction: fc.constantFrom<Direction>("i2r", "r2i"),
        after: fc.integer({ min: 0, max: 2 }),
        claim: fc.oneof(
          fc.integer({ min: DEFAULT_MAX_RECORD_LENGTH + 1, max: 0xff_ffff }),
          fc.integer({ min: 17, max: DEFAULT_MAX_RECORD_LENGTH }),
          fc.integer({ min: 0, max: 16 }),
        ),
        chunk: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1_024, max: 65_536 })),
        seed: fc.integer({ min: 0, max: 255 }),
      }).map((parameters) => ({ ...parameters })),
      async ({ direction, after, claim, chunk, seed }) => {
        const valid = claim >= 17 && claim <= DEFAULT_MAX_RECORD_LENGTH;
        // Reading a whole valid claim one byte at a time would only be slow.
        const size = valid ? Math.max(chunk, 1_024) : chunk;
        let before = 16;
        const script: RelayScript = {
          record: (record, context) => {
            if (record.direction !== direction || record.index < after) {
              if (record.direction === direction) before += record.wire.length;
              return [{ record }];
            }
            if (record.index > after) return [];
            // The flood: a length claim masked for this position, then endless bytes.
            const claimHeader = context.mask(lengthHeader(claim), context.outIndex);
            if (!valid) return [{ bytes: claimHeader }, { bytes: flood }];
            // After a valid claim, the flood is more well-framed (undecryptable)
            // records, so the first one is what fails, whatever the chunking.
            const forged = { header: lengthHeader(claim), ciphertext: flood.subarray(0, claim) };
            const count = Math.min(4_096, Math.ceil(FLOOD_BYTES / 4 / (3 + claim)));
            return Array.from({ length: count }, () => ({ record: forged }));
          },
        };
        const run = await runHandshake({
          ...damagedOptions(seed),
          relay: { script, schedule: [{ direction: "either", size, yields: 0, sleep: 0 }] },
          expectEnd: true,
        });
        const label = JSON.stringify({ direction, after, claim, chunk: size });
        assert.deepEqual(run.hung, [], `${label}: did not finish`);
        const [receiver, sender] = direction === "i2r"
          ? [run.responder, run.initiator]
          : [run.initiator, run.responder];
        const expected = claim > DEFAULT_MAX_RECORD_LENGTH
          ? FRAME_TOO_LARGE
          : claim < 17
          ? MALFORMED_MESSAGE
          : DECRYPT_FAILED;
        assert.equal(receiver.finalCode, expected, `${label}: receiver ${describe(receiver)}`);
        assert.equal(sender.finalCode, TRANSPORT_CLOSED, `${label}: sender ${describe(sender)}`);
        // It read what it needed to judge the claim, plus at most one chunk: never the flood.
        const needed = before + 3 + (valid ? claim : 0);
        assert.ok(
          receiver.bytesReceived <= needed + size,
          `${label}: read ${receiver.bytesReceived} bytes, needed ${needed}`,
        );
      },
    ),
    propertyConfig(40),
  );
});

Deno.test("respond() fails with ERR_UNEXPECTED_MESSAGE for a valid EndPrimaryKeyExchange during the meta exchange", async () => {
  // The relay knows the epoch-0 keys (no GSS): it seals a well-formed answer
  // where the initiator's EndMetaExchange should be.
  const script: RelayScript = {
    record: async (record, context) =>
      record.direction === "i2r" && record.index === 0
        ? [{
          record: await context.seal({
            kind: "endPrimaryKeyExchange",
            share: new Uint8Array(32).fill(9),
          }),
        }]
        : [{ record }],
  };
  const run = await runHandshake({ ...damagedOptions(1), relay: { script }, expectEnd: true });
  assert.deepEqual(run.hung, []);
  assert.equal(run.responder.code, UNEXPECTED_MESSAGE);
  assert.equal(run.responder.states.at(-1), "failed");
  assert.equal(run.initiator.code, TRANSPORT_CLOSED);
});

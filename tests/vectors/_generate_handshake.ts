/**
 * Generates src/conformance/vectors/handshake_positive.json and
 * src/conformance/vectors/handshake_negative.json: handshake known-answer
 * vectors. They live in the package, not here, so that implementers get them
 * through `loadHandshakeVectors` of `@qgate/handshake/conformance`.
 *
 * Positive vectors: two qgate endpoints run a handshake with every random
 * input fixed (salts, session ids, key-exchange randomness, all from fixed
 * seeds: SHA-256 of a label and a counter); in a vector with a close, one
 * side then closes and the other answers (PROTOCOL.md §13.1), and both Close
 * records are recorded like the handshake's. Each record of both directions
 * is then opened again by an independent transcription of PROTOCOL.md
 * (`src/conformance/_record_tracker.ts`: HKDF, ChaCha20, the AEADs and the
 * hashes straight from noble, not qgate's key schedule or record layer),
 * which also recomputes th1, th2 and the exporter; the generator stops if
 * anything disagrees with what qgate did.
 *
 * Negative vectors: each attack of the conformance catalogue
 * (`src/conformance/_mutations.ts`) is played live by a relay between two
 * such endpoints; the vector records what each side received (and whether
 * its input ended), what it wrote and how it ended, and the generator stops
 * if that is not the catalogue's expectation.
 *
 * Run: deno run --allow-read --allow-write tests/vectors/_generate_handshake.ts
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { nobleBackend } from "../../src/crypto/noble_backend.ts";
import { derivePeerUuid, formatUuid } from "../../src/crypto/peer_uuid.ts";
import type { KeyExchangeName, SignatureKeyPair } from "../../src/crypto/types.ts";
import { DEFAULT_PREFERENCES } from "../../src/handshake_policy.ts";
import { bytesToHex, hexToBytes } from "../../src/_hex.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { createRelay, type Direction, type RelayScript } from "../../src/conformance/_relay.ts";
import { RecordTracker } from "../../src/conformance/_record_tracker.ts";
import {
  directionOfKind,
  type Expectation,
  type Mutation,
  type MutationConfig,
  MUTATIONS,
  mutationScript,
} from "../../src/conformance/_mutations.ts";
import {
  type NegativeSide,
  type NegativeVector,
  type PositiveVector,
  startVectorEndpoint,
  type VectorClose,
  type VectorEndpoint,
  type VectorEndpointConfig,
  type VectorFile,
  type VectorInputs,
  type VectorOutcome,
  type VectorRecord,
} from "../../src/conformance/vectors.ts";
import { messageKindOf } from "../../src/codec/messages.ts";

const encoder = new TextEncoder();

/** Fixed-seed bytes: SHA-256("qgate/1 handshake vector " ‖ label ‖ u32 i), repeated as needed. */
function seeded(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i * 32 < length; i++) {
    const block = sha256(
      new Uint8Array([
        ...encoder.encode(`qgate/1 handshake vector ${label}`),
        i >>> 24,
        (i >>> 16) & 0xff,
        (i >>> 8) & 0xff,
        i & 0xff,
      ]),
    );
    out.set(block.subarray(0, Math.min(32, length - i * 32)), i * 32);
  }
  return out;
}

/** The randomness one key exchange draws: offer (responder) or answer (initiator). */
function kexRandom(name: KeyExchangeName, role: "initiator" | "responder", label: string): string {
  const exchange = nobleBackend.keyExchange(name)!;
  const length = exchange.kind === "dh"
    ? exchange.offerLength // X25519 32, X448 56: the secret key
    : role === "responder"
    ? 64 // ML-KEM key generation seed d ‖ z
    : 32; // ML-KEM encapsulation message m
  return bytesToHex(seeded(`${label} ${role} ${name}`, length));
}

async function identity(label: string): Promise<SignatureKeyPair> {
  return await nobleBackend.signature("Ed25519")!.generateKeyPair({ seed: seeded(label, 32) });
}

function uuidOf(pair: SignatureKeyPair): string {
  return formatUuid(derivePeerUuid(pair.algorithm, pair.publicKey));
}

const ALICE = await identity("alice");
const BOB = await identity("bob");
const GSS = bytesToHex(seeded("global shared secret", 32));
const EXPORTER = {
  label: "EXPORTER-qgate-vector",
  context: bytesToHex(seeded("exporter context", 12)),
  length: 32,
};
const TIMEOUTS = { phase: 5_000, handshake: 10_000 };
const EXTENDERS = ["5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10", "9b2c7d1e-0f4a-4e3b-8c5d-6a7b8c9d0e1f"];

interface PositiveDefinition {
  readonly id: string;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly seed: string;
  readonly initiator: Partial<VectorEndpointConfig>;
  readonly responder: Partial<VectorEndpointConfig>;
  /** The suite it must negotiate (checked). */
  readonly suite: PositiveVector["suite"];
  /** The side that closes once both are ready (the other answers); none: no close. */
  readonly closer?: "initiator" | "responder";
}

function side(pair: SignatureKeyPair): NonNullable<VectorEndpointConfig["identity"]> {
  return {
    algorithm: pair.algorithm,
    publicKey: bytesToHex(pair.publicKey),
    secretKey: bytesToHex(pair.secretKey),
  };
}

function known(...pairs: SignatureKeyPair[]): VectorEndpointConfig["accessList"] {
  return pairs.map((pair) => ({
    uuid: uuidOf(pair),
    publicKey: bytesToHex(pair.publicKey),
    allowed: true,
  }));
}

function only(suite: PositiveVector["suite"]): Partial<VectorEndpointConfig> {
  return {
    algorithms: {
      primaryKeyExchanges: [suite.primaryKeyExchange as KeyExchangeName],
      secondaryKeyExchanges: [suite.secondaryKeyExchange as KeyExchangeName],
      aeads: [suite.aead as VectorEndpointConfig["algorithms"]["aeads"][number]],
      hashes: [suite.hash as VectorEndpointConfig["algorithms"]["hashes"][number]],
      signatures: ["Ed25519"],
    },
  };
}

const ANONYMOUS_SUITE = {
  primaryKeyExchange: "X25519",
  secondaryKeyExchange: "ML-KEM-768",
  aead: "ChaCha20-Poly1305",
  hash: "SHA-256",
} as const;
const MUTUAL_SUITE = {
  primaryKeyExchange: "X448",
  secondaryKeyExchange: "ML-KEM-1024",
  aead: "AES-256-GCM",
  hash: "SHA-512",
} as const;
const MUTUAL = {
  initiator: {
    ...only(MUTUAL_SUITE),
    identity: side(ALICE),
    accessList: known(BOB),
    requireAuthentication: true,
  },
  responder: {
    ...only(MUTUAL_SUITE),
    identity: side(BOB),
    accessList: known(ALICE),
    requireAuthentication: true,
  },
};

const POSITIVES: readonly PositiveDefinition[] = [
  {
    id: "anonymous",
    comment: "no identities, no GSS: X25519, ML-KEM-768, ChaCha20-Poly1305, SHA-256",
    flags: [],
    seed: "anonymous",
    initiator: only(ANONYMOUS_SUITE),
    responder: only(ANONYMOUS_SUITE),
    suite: ANONYMOUS_SUITE,
  },
  {
    id: "mutual",
    comment:
      "both sides present Ed25519 identities and require the peer's: X448, ML-KEM-1024, AES-256-GCM, SHA-512",
    flags: ["MutualAuthentication"],
    seed: "mutual",
    ...MUTUAL,
    suite: MUTUAL_SUITE,
  },
  {
    id: "mutual-second-session",
    comment: "the same configuration as `mutual` with other random inputs (replay material)",
    flags: ["MutualAuthentication"],
    seed: "mutual second",
    ...MUTUAL,
    suite: MUTUAL_SUITE,
  },
  {
    id: "gss-responder-authenticates",
    comment:
      "a GSS protects epoch 0; only the responder has an identity, the initiator requires it: " +
      "X25519, ML-KEM-512, XChaCha20-Poly1305, BLAKE2b",
    flags: ["Gss"],
    seed: "gss responder",
    initiator: {
      ...only({
        primaryKeyExchange: "X25519",
        secondaryKeyExchange: "ML-KEM-512",
        aead: "XChaCha20-Poly1305",
        hash: "BLAKE2b",
      }),
      globalSharedSecret: GSS,
      accessList: known(BOB),
      requireAuthentication: true,
    },
    responder: {
      ...only({
        primaryKeyExchange: "X25519",
        secondaryKeyExchange: "ML-KEM-512",
        aead: "XChaCha20-Poly1305",
        hash: "BLAKE2b",
      }),
      globalSharedSecret: GSS,
      identity: side(BOB),
    },
    suite: {
      primaryKeyExchange: "X25519",
      secondaryKeyExchange: "ML-KEM-512",
      aead: "XChaCha20-Poly1305",
      hash: "BLAKE2b",
    },
  },
  {
    id: "gss-mutual-extenders",
    comment:
      "a GSS and mutual authentication, both sides announce extenders: X25519, ML-KEM-768, AES-256-GCM, SHA3-256",
    flags: ["Gss", "MutualAuthentication"],
    seed: "gss mutual",
    initiator: {
      ...only({
        primaryKeyExchange: "X25519",
        secondaryKeyExchange: "ML-KEM-768",
        aead: "AES-256-GCM",
        hash: "SHA3-256",
      }),
      globalSharedSecret: GSS,
      identity: side(ALICE),
      accessList: known(BOB),
      requireAuthentication: true,
      extenders: [EXTENDERS[0]!],
    },
    responder: {
      ...only({
        primaryKeyExchange: "X25519",
        secondaryKeyExchange: "ML-KEM-768",
        aead: "AES-256-GCM",
        hash: "SHA3-256",
      }),
      globalSharedSecret: GSS,
      identity: side(BOB),
      accessList: known(ALICE),
      requireAuthentication: true,
      extenders: [...EXTENDERS],
    },
    suite: {
      primaryKeyExchange: "X25519",
      secondaryKeyExchange: "ML-KEM-768",
      aead: "AES-256-GCM",
      hash: "SHA3-256",
    },
  },
  {
    id: "negotiation",
    comment:
      "the responder lists several algorithms per category in its order; the initiator picks, " +
      "per category, the responder's first entry it also supports",
    flags: ["Negotiation"],
    seed: "negotiation",
    initiator: {
      algorithms: {
        primaryKeyExchanges: ["X25519", "P-256"],
        secondaryKeyExchanges: ["ML-KEM-512", "ML-KEM-768"],
        aeads: ["ChaCha20-Poly1305", "XChaCha20-Poly1305"],
        hashes: ["SHA3-256", "SHA-256"],
        signatures: ["Ed25519"],
      },
    },
    responder: {
      algorithms: {
        primaryKeyExchanges: ["X448", "X25519", "P-256"],
        secondaryKeyExchanges: ["ML-KEM-1024", "ML-KEM-768", "ML-KEM-512"],
        aeads: ["AES-256-GCM", "XChaCha20-Poly1305", "ChaCha20-Poly1305"],
        hashes: ["SHA-512", "SHA-256", "SHA3-256"],
        signatures: ["Ed25519"],
      },
    },
    suite: {
      primaryKeyExchange: "X25519",
      secondaryKeyExchange: "ML-KEM-768",
      aead: "XChaCha20-Poly1305",
      hash: "SHA-256",
    },
  },
  {
    id: "kem-in-the-primary-slot",
    comment: "either slot takes any key exchange: ML-KEM-512 first, X25519 second",
    flags: ["Negotiation"],
    seed: "kem primary",
    initiator: only({
      primaryKeyExchange: "ML-KEM-512",
      secondaryKeyExchange: "X25519",
      aead: "ChaCha20-Poly1305",
      hash: "SHA-256",
    }),
    responder: only({
      primaryKeyExchange: "ML-KEM-512",
      secondaryKeyExchange: "X25519",
      aead: "ChaCha20-Poly1305",
      hash: "SHA-256",
    }),
    suite: {
      primaryKeyExchange: "ML-KEM-512",
      secondaryKeyExchange: "X25519",
      aead: "ChaCha20-Poly1305",
      hash: "SHA-256",
    },
  },
  {
    id: "close-after-ready",
    comment: "after an anonymous handshake the initiator closes and the responder answers: " +
      "both Close(0) records, each the last record of its direction (PROTOCOL.md §13.1)",
    flags: ["Close"],
    seed: "close",
    initiator: only(ANONYMOUS_SUITE),
    responder: only(ANONYMOUS_SUITE),
    suite: ANONYMOUS_SUITE,
    closer: "initiator",
  },
];

function config(
  role: "initiator" | "responder",
  partial: Partial<VectorEndpointConfig>,
): VectorEndpointConfig {
  return {
    role,
    algorithms: {
      primaryKeyExchanges: [...DEFAULT_PREFERENCES.primaryKeyExchanges],
      secondaryKeyExchanges: [...DEFAULT_PREFERENCES.secondaryKeyExchanges],
      aeads: [...DEFAULT_PREFERENCES.aeads],
      hashes: [...DEFAULT_PREFERENCES.hashes],
      signatures: ["Ed25519"],
    },
    requireAuthentication: false,
    accessList: [],
    timeouts: TIMEOUTS,
    extenders: [],
    exporter: EXPORTER,
    ...partial,
  };
}

function inputs(definition: PositiveDefinition, role: "initiator" | "responder"): VectorInputs {
  const label = definition.seed;
  return {
    salt: bytesToHex(seeded(`${label} ${role} salt`, 16)),
    sessionId: bytesToHex(seeded(`${label} ${role} session id`, 8)),
    keyExchange: [
      kexRandom(definition.suite.primaryKeyExchange as KeyExchangeName, role, `${label} primary`),
      kexRandom(
        definition.suite.secondaryKeyExchange as KeyExchangeName,
        role,
        `${label} secondary`,
      ),
    ],
  };
}

/**
 * Taps a session-facing transport: every chunk the session reads, and
 * whether its input ended (closed or reset) — both as the session saw them.
 */
function tap(
  transport: Transport,
): { transport: Transport; received: Uint8Array[]; ended: () => boolean } {
  const received: Uint8Array[] = [];
  let ended = false;
  const reader = transport.readable.getReader();
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      try {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          controller.close();
          return;
        }
        received.push(value.slice());
        controller.enqueue(value);
      } catch (error) {
        ended = true;
        controller.error(error);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
  return {
    transport: { readable, writable: transport.writable },
    received,
    ended: () => ended,
  };
}

function concatHex(chunks: readonly Uint8Array[]): string {
  return chunks.map((chunk) => bytesToHex(chunk)).join("");
}

interface LiveRun {
  readonly outcomes: { initiator: VectorOutcome; responder: VectorOutcome };
  /** What each side had received (and whether its input had ended) when its outcome settled. */
  readonly received: { [R in "initiator" | "responder"]: { bytes: string; ended: boolean } };
  readonly relay: ReturnType<typeof createRelay>;
  readonly tracker: RecordTracker;
  /** The order records were written in. */
  readonly order: readonly string[];
  /** The shared secrets as the initiator derived them. */
  readonly secrets: readonly Uint8Array[];
  /** With a closer: how each session ended after the close exchange. */
  readonly endings?: VectorClose["final"];
}

async function live(
  configs: { initiator: VectorEndpointConfig; responder: VectorEndpointConfig },
  random: { initiator: VectorInputs; responder: VectorInputs },
  script: (tracker: RecordTracker) => RelayScript | undefined,
  closer?: "initiator" | "responder",
): Promise<LiveRun> {
  const gss = configs.initiator.globalSharedSecret;
  const holder: { endpoints?: Record<"initiator" | "responder", VectorEndpoint> } = {};
  const tracker = new RecordTracker({
    ...(gss === undefined ? {} : { globalSharedSecret: hexToBytes(gss) }),
    secrets: () => {
      const secrets = holder.endpoints?.initiator.secrets ?? [];
      return { primary: secrets[0], secondary: secrets[1] };
    },
  });
  const order: string[] = [];
  const observing: RelayScript = script(tracker) ?? {
    salt: (direction, salt) => {
      tracker.setSalt(direction, salt);
      return salt;
    },
    record: (record) => {
      tracker.open(record.direction, record.header, record.ciphertext);
      order.push(`${record.direction}:${record.index}`);
      return [{ record }];
    },
  };
  const relay = createRelay({
    script: observing,
    ...(gss === undefined ? {} : { globalSharedSecret: hexToBytes(gss) }),
  });
  const taps = {
    initiator: tap(relay.initiatorTransport),
    responder: tap(relay.responderTransport),
  };
  const endpoints = {
    initiator: startVectorEndpoint(taps.initiator.transport, configs.initiator, random.initiator),
    responder: startVectorEndpoint(taps.responder.transport, configs.responder, random.responder),
  };
  holder.endpoints = endpoints;
  const received = {} as LiveRun["received"];
  const outcomes = {} as LiveRun["outcomes"];
  await Promise.all((["initiator", "responder"] as const).map(async (role) => {
    outcomes[role] = await endpoints[role].outcome;
    received[role] = { bytes: concatHex(taps[role].received), ended: taps[role].ended() };
  }));
  let endings: VectorClose["final"] | undefined;
  if (closer !== undefined && Object.values(outcomes).every((o) => o.status === "ready")) {
    await endpoints[closer].close();
    const [initiator, responder] = await Promise.all([
      endpoints.initiator.ended,
      endpoints.responder.ended,
    ]);
    endings = { initiator, responder };
  }
  await Promise.all([endpoints.initiator.abort(), endpoints.responder.abort()]);
  await relay.done;
  return {
    outcomes,
    received,
    relay,
    tracker,
    order,
    secrets: [...endpoints.initiator.secrets],
    ...(endings === undefined ? {} : { endings }),
  };
}

function streamOf(run: LiveRun, direction: Direction): string {
  // A side that fails before it writes anything (a stream initiator without
  // noise writes its salt with its first record) sent no salt.
  const salt = run.relay.salts[direction];
  if (salt === undefined) return "";
  return bytesToHex(salt) +
    run.relay.records[direction].map((record) => bytesToHex(record.wire)).join("");
}

function fail(message: string): never {
  throw new Error(`Cannot generate handshake vectors: ${message}`);
}

/**
 * The close exchange of a run with a closer: both sessions ended without a
 * code, and each direction's last record is a Close(0) that follows
 * everything else of that direction.
 */
function closeOf(definition: PositiveDefinition, run: LiveRun): VectorClose {
  const endings = run.endings;
  if (endings === undefined || endings.initiator.code !== null || endings.responder.code !== null) {
    fail(`${definition.id}: the close exchange did not end both sessions in order`);
  }
  const offset = (direction: Direction): number => {
    const records = run.relay.records[direction];
    const last = run.tracker.opened.find((item) =>
      item.direction === direction && item.index === records.length - 1
    );
    if (last?.message?.kind !== "close" || last.message.reason !== 0) {
      fail(`${definition.id}: the last ${direction} record is not Close(0)`);
    }
    return 16 + records.slice(0, -1).reduce((sum, record) => sum + record.wire.length, 0);
  };
  return {
    closer: definition.closer!,
    offsets: { i2r: offset("i2r"), r2i: offset("r2i") },
    final: endings,
  };
}

// ---------------------------------------------------------------------------
// Positive vectors

const positives: PositiveVector[] = [];
const runs = new Map<string, LiveRun>();
for (const definition of POSITIVES) {
  const configs = {
    initiator: config("initiator", definition.initiator),
    responder: config("responder", definition.responder),
  };
  const random = {
    initiator: inputs(definition, "initiator"),
    responder: inputs(definition, "responder"),
  };
  const run = await live(configs, random, () => undefined, definition.closer);
  runs.set(definition.id, run);
  const { tracker, order } = run;
  for (const role of ["initiator", "responder"] as const) {
    const outcome = run.outcomes[role];
    if (outcome.status !== "ready") fail(`${definition.id}: ${role} failed with ${outcome.code}`);
    if (JSON.stringify(outcome.suite) !== JSON.stringify(definition.suite)) {
      fail(`${definition.id}: ${role} negotiated ${JSON.stringify(outcome.suite)}`);
    }
  }
  const opened = tracker.opened;
  const total = run.relay.records.i2r.length + run.relay.records.r2i.length;
  if (opened.length !== total) {
    fail(`${definition.id}: the specification opened ${opened.length} of ${total} records`);
  }
  const exporter = tracker.exporter(EXPORTER.label, hexToBytes(EXPORTER.context), EXPORTER.length);
  const ready = run.outcomes.initiator as Extract<VectorOutcome, { status: "ready" }>;
  const theirs = run.outcomes.responder as Extract<VectorOutcome, { status: "ready" }>;
  if (
    exporter === undefined || bytesToHex(exporter) !== ready.exporter ||
    ready.exporter !== theirs.exporter
  ) {
    fail(`${definition.id}: the exporter outputs disagree with the specification`);
  }
  const records = (direction: Direction): VectorRecord[] =>
    run.relay.records[direction].map((record) => {
      const found = opened.find((item) =>
        item.direction === direction && item.index === record.index
      )!;
      return {
        index: record.index,
        epoch: found.epoch,
        counter: found.counter,
        type: found.type,
        kind: messageKindOf(found.type) ?? "unknown",
        wire: bytesToHex(record.wire),
        body: bytesToHex(found.body),
      };
    });
  positives.push({
    tcId: positives.length + 1,
    id: definition.id,
    comment: definition.comment,
    result: "valid",
    flags: definition.flags,
    suite: definition.suite,
    config: configs,
    inputs: random,
    streams: { i2r: streamOf(run, "i2r"), r2i: streamOf(run, "r2i") },
    records: { i2r: records("i2r"), r2i: records("r2i") },
    order,
    sharedSecrets: { primary: bytesToHex(run.secrets[0]!), secondary: bytesToHex(run.secrets[1]!) },
    transcriptHashes: { th1: bytesToHex(tracker.th1!), th2: bytesToHex(tracker.th2!) },
    exporter: { ...EXPORTER, output: ready.exporter! },
    final: { initiator: run.outcomes.initiator, responder: run.outcomes.responder },
    ...(definition.closer === undefined ? {} : { close: closeOf(definition, run) }),
  });
}

// ---------------------------------------------------------------------------
// Negative vectors

function mutationConfigOf(vector: PositiveVector): MutationConfig {
  const sideOf = (c: VectorEndpointConfig) => ({
    identity: c.identity?.algorithm,
    requireAuthentication: c.requireAuthentication,
  });
  return {
    initiator: sideOf(vector.config.initiator),
    responder: sideOf(vector.config.responder),
    gss: vector.config.initiator.globalSharedSecret !== undefined,
    primaryKeyExchange: vector.suite.primaryKeyExchange as KeyExchangeName,
  };
}

function sameEnd(actual: VectorOutcome, expected: Expectation, receiver: boolean): boolean {
  if (expected.status === "ready") return actual.status === "ready";
  if (actual.status !== "failed" || actual.code !== expected.code) return false;
  return !receiver || expected.phase === undefined || actual.phase === expected.phase;
}

const BASES = ["mutual", "gss-mutual-extenders"];
const negatives: NegativeVector[] = [];
for (const mutation of MUTATIONS) {
  const base = BASES.map((id) => positives.find((vector) => vector.id === id)!).find((vector) =>
    mutation.applies?.(mutationConfigOf(vector)) ?? true
  );
  if (base === undefined) fail(`${mutation.id}: no base vector it applies to`);
  const direction = directionOfKind(mutation.target);
  const receiver = direction === "i2r" ? "responder" : "initiator";
  const sender = receiver === "initiator" ? "responder" : "initiator";
  const configs = { initiator: base.config.initiator, responder: base.config.responder };
  if (mutation.timing === "receiverTimesOut") {
    configs[receiver] = { ...configs[receiver], timeouts: { phase: 300, handshake: 10_000 } };
  }
  const foreignRun = runs.get(base.id === "mutual" ? "mutual-second-session" : base.id)!;
  const foreign = {
    salts: { i2r: foreignRun.relay.salts.i2r!, r2i: foreignRun.relay.salts.r2i! },
    records: { i2r: foreignRun.relay.records.i2r, r2i: foreignRun.relay.records.r2i },
  };
  let applied = () => false;
  const run = await live(configs, base.inputs, (tracker) => {
    const built = mutationScript(mutation as Mutation, { tracker, foreign });
    applied = built.applied;
    return built.script;
  });
  if (!applied()) fail(`${mutation.id}: never applied`);
  const expected = mutation.expect(mutationConfigOf(base));
  const outcome = { receiver: run.outcomes[receiver], sender: run.outcomes[sender] };
  if (
    !sameEnd(outcome.receiver, expected.receiver, true) ||
    !sameEnd(outcome.sender, expected.sender, false)
  ) {
    fail(
      `${mutation.id}: receiver ${JSON.stringify(outcome.receiver)}, sender ${
        JSON.stringify(outcome.sender)
      }, ` +
        `expected ${JSON.stringify(expected)}`,
    );
  }
  const sideOf = (role: "initiator" | "responder"): NegativeSide => {
    const actual = run.outcomes[role];
    const isReceiver = role === receiver;
    // The receiver's phase is part of the expectation; the sender's depends on when the close reaches it.
    const expectedOutcome: VectorOutcome = actual.status === "ready"
      ? { status: "ready" }
      : isReceiver && actual.phase !== undefined
      ? { status: "failed", code: actual.code, phase: actual.phase }
      : { status: "failed", code: actual.code };
    return {
      incoming: run.received[role].bytes,
      end: run.received[role].ended,
      outgoing: streamOf(run, role === "initiator" ? "i2r" : "r2i"),
      expected: expectedOutcome,
    };
  };
  negatives.push({
    tcId: negatives.length + 1,
    id: `${mutation.id}@${base.id}`,
    base: base.id,
    comment: mutation.comment,
    result: "invalid",
    flags: mutation.flags,
    mutation: { id: mutation.id, direction, target: mutation.target },
    config: configs,
    inputs: base.inputs,
    sides: { initiator: sideOf("initiator"), responder: sideOf("responder") },
  });
}

// ---------------------------------------------------------------------------

const NOTES = {
  Tampering: "a record's ciphertext was changed: the receiver fails with ERR_DECRYPT_FAILED",
  Framing: "a record's length field is out of bounds",
  Truncation: "the stream ends inside a record or between records",
  HalfClosed: "one direction ends while the other stays open",
  Drop: "a record never arrives: the receiver's phase deadline ends the handshake",
  Timeout: "the expected end is ERR_TIMEOUT",
  Replay: "a record or a whole direction comes again or from another session",
  Duplicate: "a record arrives twice",
  WrongPhase: "a well-sealed message of a kind the receiver's state does not accept",
  ApplicationDataBeforeReady: "extender data, an extender update or a close before ready",
  Downgrade: "the responder's preference lists were rewritten in flight",
  ModifiedMetaExchange: "a meta exchange message was changed in flight",
  Version: "another protocol major version",
  Negotiation: "algorithm negotiation",
  KeySubstitution: "a key share was replaced by a valid one of the attacker's",
  InvalidKeyShare: "a key share of the wrong length or an invalid point",
  Authentication: "an authentication message was forged",
  AccessControl: "a valid proof of an identity the access list does not allow",
  Gss: "a Global Shared Secret protects epoch 0",
  Close:
    "after ready, one side closes and the other answers; both Close records end their streams (close)",
  MutualAuthentication: "both sides present and require identities",
};

const SOURCE =
  "Generated by tests/vectors/_generate_handshake.ts from fixed seeds: qgate endpoints with every " +
  "random input fixed, every record re-opened by an independent transcription of PROTOCOL.md " +
  "(src/conformance/_record_tracker.ts); attacks from src/conformance/_mutations.ts played live by a relay.";

const positiveFile: VectorFile<PositiveVector> = {
  description:
    "Handshake transcripts that must succeed byte for byte (qgate/1, stream transport); " +
    "a vector with `close` goes on to a close exchange.",
  source: SOURCE,
  runner: "src/conformance/RUNNER.md",
  notes: NOTES,
  numberOfTests: positives.length,
  tests: positives,
};
const negativeFile: VectorFile<NegativeVector> = {
  description:
    "Attacks on a handshake in flight, Wycheproof style: what each side receives and how it must end.",
  source: SOURCE,
  runner: "src/conformance/RUNNER.md",
  notes: NOTES,
  numberOfTests: negatives.length,
  tests: negatives,
};

await Deno.writeTextFile(
  new URL("../../src/conformance/vectors/handshake_positive.json", import.meta.url),
  JSON.stringify(positiveFile, null, 2) + "\n",
);
await Deno.writeTextFile(
  new URL("../../src/conformance/vectors/handshake_negative.json", import.meta.url),
  JSON.stringify(negativeFile, null, 2) + "\n",
);
console.log(
  `wrote ${positives.length} positive and ${negatives.length} negative handshake vectors`,
);

/**
 * The datagram cases (PROTOCOL.md §5.2, §5.6, §10.4, §12.4): the
 * implementation against the reference peer over datagram transports,
 * through the datagram relay of `_datagram_relay.ts`. A
 * {@linkcode RecordTracker} fed with the reference's shared secrets reads
 * both directions up to epoch 2, which lets the relay replay the reference's
 * datagrams and forge new ones under epochs 0 to 2 with fresh sequence
 * numbers (so the replay window lets them through to the epoch rules).
 *
 * - `datagram/handshake` (positive): an honest handshake, a key update the
 *   reference starts, and an orderly close. The responder's flights before
 *   its peer proved its address stay within 3x what it received (§12.4):
 *   the implementation's as responder; as initiator, its opening must earn
 *   the reference's first flights (§5.6).
 * - `datagram/epoch-0-forgery-in-handshake` (negative): once the
 *   implementation receives epoch 1, epoch-0 handshake messages forged with
 *   another session id or share (anyone who saw the salt can seal them
 *   without a GSS), and replays of the reference's epoch-0 datagrams.
 * - `datagram/old-epochs-after-key-update` (negative): after a key update to
 *   epoch 3, the same under epoch 0, handshake messages forged under epoch 2,
 *   and key-update messages for epoch 3 under epoch 2 (a forged start, a
 *   forged answer, a copy of the last one).
 *
 *   In both, a conforming implementation drops what it is sent: it answers
 *   nothing (it never sends two different bodies of one handshake or
 *   key-update message, nor a handshake message after the key update) and
 *   keeps the session, which then completes a key update and an orderly close.
 * - `datagram/amplification` (negative, the implementation as responder): a
 *   45-byte opening from a new address, never followed up; over the phase
 *   timeout the implementation sends back at most 3x that.
 *
 * An adapter that does not take datagram transports gets them "not run".
 *
 * @module
 */

import type { Message } from "../codec/message_types.ts";
import { isHandshakeKind } from "../codec/message_types.ts";
import { DEFAULT_PREFERENCES } from "../handshake_policy.ts";
import { createDatagramPair } from "../transport/datagram.ts";
import { otherRole } from "../viz/_standin.ts";
import type { ConformanceEndpoint, ConformanceRole } from "./adapter.ts";
import type { Case, Context } from "./_case.ts";
import type {
  DatagramRelayObservation,
  DatagramRelayOptions,
  TappedDatagram,
} from "./_datagram_relay.ts";
import { type AfterReady, duel } from "./_duel.ts";
import { authenticationSides, expectedSuite, spec } from "./_fixtures.ts";
import { checkReady, describeOutcome, type Finding, notRun } from "./_findings.ts";
import { RecordTracker, type TrackedRecord } from "./_record_tracker.ts";
import { type Direction, directionFrom, opposite, withDeadline } from "./_relay.ts";

/** PROTOCOL.md §12.4: what a responder may send an unproved address, per byte received. */
const AMPLIFICATION_FACTOR = 3;

/** How long the implementation waits for the peer's Close in these cases, in ms. */
const CLOSE_TIMEOUT = 2_000;

/** The phase timeout of the amplification case: long enough for two retransmissions. */
const AMPLIFICATION_PHASE = 1_000;

/** How far past the highest sequence number seen a forged datagram goes (within the window). */
const SEQUENCE_GAP = 512;

const NO_DATAGRAMS = "the adapter does not take datagram transports (`datagram: true`)";

/** One datagram as a case saw it, with what the tracker read from it. */
interface Seen {
  readonly datagram: TappedDatagram;
  readonly record: TrackedRecord | undefined;
}

/**
 * Follows a datagram duel: reads every datagram with the duel's tracker,
 * keeps the §12.4 account of the responder's flights before the initiator's
 * first epoch-1 datagram (the proof that its address receives), and lets a
 * case put datagrams of its own before one it is handed.
 */
class DatagramWatch {
  readonly seen: Seen[] = [];
  #tracker: RecordTracker | undefined;
  #excess: string | undefined;
  #received = 0;
  #sent = 0;
  /** The responder's distinct messages before the proof, each counted once. */
  #flights = 0;
  readonly #flightBodies = new Set<string>();
  #proved = false;
  readonly #forged = new Map<string, number>();
  readonly #waiters: { test: (seen: Seen) => boolean; resolve: () => void }[] = [];
  readonly #before: (seen: Seen) => readonly Uint8Array[];

  constructor(before: (seen: Seen) => readonly Uint8Array[] = () => []) {
    this.#before = before;
  }

  /** The duel's tracker (fed with the reference's secrets). */
  get tracker(): RecordTracker {
    return this.#tracker!;
  }

  /** The datagram relay's options, reading with `tracker`. */
  relay(tracker: RecordTracker): DatagramRelayOptions {
    this.#tracker = tracker;
    return { script: this.#script };
  }

  /** The responder's first datagram over budget, counted as it went (if any). */
  get excess(): string | undefined {
    return this.#excess;
  }

  /**
   * Whether the responder's first flights (each message once, however often
   * it was sent) exceed 3x what the initiator sent before the proof: what a
   * responder keeping the budget of §12.4 could never send.
   */
  get flightsExcess(): string | undefined {
    return this.#flights > AMPLIFICATION_FACTOR * this.#received
      ? `the responder's first flights take ${this.#flights} bytes, 3x ${this.#received} is less`
      : undefined;
  }

  readonly #script = (datagram: TappedDatagram): readonly Uint8Array[] => {
    const record = this.tracker.openDatagram(datagram.direction, datagram.bytes);
    const seen: Seen = { datagram, record };
    this.seen.push(seen);
    const length = datagram.bytes.length;
    if (datagram.direction === "i2r") {
      if (!this.#proved && record !== undefined && record.epoch >= 1) this.#proved = true;
      if (!this.#proved) this.#received += length;
    } else if (!this.#proved) {
      this.#sent += length;
      if (this.#excess === undefined && this.#sent > AMPLIFICATION_FACTOR * this.#received) {
        this.#excess = `${this.#sent} bytes sent for ${this.#received} received`;
      }
      const body = record === undefined
        ? `#${datagram.index}`
        : `${record.type} ${hex(record.body)}`;
      if (!this.#flightBodies.has(body)) {
        this.#flightBodies.add(body);
        this.#flights += length;
      }
    }
    const emitted = [...this.#before(seen), datagram.bytes];
    for (const waiter of this.#waiters.filter((waiter) => waiter.test(seen))) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    return emitted;
  };

  /** Resolves once a datagram that passes `test` has been handed on (or at once, if one was). */
  until(test: (seen: Seen) => boolean): Promise<void> {
    if (this.seen.some(test)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  /**
   * A sequence number for a forged datagram of a direction and epoch: well
   * past every one seen (so the sender's own later ones stay fresh, within
   * the replay window), and never the same twice.
   */
  nextSequence(direction: Direction, epoch: number): number {
    const key = `${direction}/${epoch}`;
    let next = this.#forged.get(key);
    if (next === undefined) {
      next = SEQUENCE_GAP;
      for (const { record } of this.seen) {
        if (record?.direction === direction && record.epoch === epoch) {
          next = Math.max(next, record.counter + SEQUENCE_GAP);
        }
      }
    }
    this.#forged.set(key, next + 1);
    return next;
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function flip(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes, (byte, i) => i === bytes.length - 1 ? byte ^ 1 : byte);
}

/**
 * A well-formed message of the same kind with another body (another session
 * id, share, proof or limit), or `undefined` where the kind has no body to vary.
 */
function variant(message: Message): Message | undefined {
  switch (message.kind) {
    case "beginMetaExchange":
    case "endMetaExchange":
      return { ...message, sessionId: flip(message.sessionId) };
    case "beginPrimaryKeyExchange":
    case "endPrimaryKeyExchange":
    case "beginSecondaryKeyExchange":
    case "endSecondaryKeyExchange":
      return { ...message, share: flip(message.share) };
    case "beginAuthentication":
    case "endAuthentication":
      return message.identity === undefined
        ? undefined
        : { ...message, identity: { ...message.identity, proof: flip(message.identity.proof) } };
    case "beginSessionInit":
    case "endSessionInit":
      return { ...message, maxMessageSize: message.maxMessageSize === 4_096 ? 8_192 : 4_096 };
    case "beginKeyUpdate":
    case "endKeyUpdate":
      return { ...message, primaryShare: flip(message.primaryShare) };
    default:
      return undefined;
  }
}

/** What to forge from one record the tracker read. */
type Forgery = (record: TrackedRecord) => (Message | { type: number; body: Uint8Array })[];

/** Another body of the same message ({@linkcode variant}). */
const VARIANT: Forgery = (record) => {
  const forged = record.message === undefined ? undefined : variant(record.message);
  return forged === undefined ? [] : [forged];
};

/** The message itself: a copy under a fresh sequence number. */
const COPY: Forgery = (record) => [{ type: record.type, body: record.body }];

/** From a BeginKeyUpdate(e): a start of the update to e + 1 (sealed under the old epoch). */
const NEXT_START: Forgery = ({ message }) => {
  if (message?.kind !== "beginKeyUpdate") return [];
  return [{ ...message, epoch: message.epoch + 1, primaryShare: flip(message.primaryShare) }];
};

/**
 * Forgeries of what `records` carried, sealed under `epoch` into
 * `direction` at fresh sequence numbers.
 */
function forge(
  watch: DatagramWatch,
  direction: Direction,
  epoch: number,
  records: readonly TrackedRecord[],
  make: Forgery = VARIANT,
): Uint8Array[] {
  return records.flatMap((record) =>
    make(record).map((message) =>
      watch.tracker.sealDatagram(direction, message, {
        epoch,
        sequence: watch.nextSequence(direction, epoch),
      })
    )
  );
}

function isKeyUpdate(message: Message | undefined): boolean {
  return message?.kind === "beginKeyUpdate" || message?.kind === "endKeyUpdate" ||
    message?.kind === "keyUpdateReady";
}

/** The handshake and key-update messages a direction sent, from `from` on. */
function controlRecords(watch: DatagramWatch, direction: Direction, from = 0): TrackedRecord[] {
  return watch.seen.slice(from).flatMap(({ record }) =>
    record?.direction === direction && record.message !== undefined &&
      (isHandshakeKind(record.message.kind) || isKeyUpdate(record.message))
      ? [record]
      : []
  );
}

/**
 * Answers the implementation gave to what it should have dropped: a second
 * body of a handshake message (or of a key-update message for one epoch),
 * and with `quietFrom`, any handshake message it sent from that point on.
 */
function answers(watch: DatagramWatch, iut: Direction, quietFrom?: number): string[] {
  const problems: string[] = [];
  const bodies = new Map<string, string>();
  for (const record of controlRecords(watch, iut)) {
    const message = record.message!;
    const key = "epoch" in message && isKeyUpdate(message)
      ? `${message.kind}(${message.epoch})`
      : message.kind;
    const body = hex(record.body);
    const known = bodies.get(key);
    if (known === undefined) bodies.set(key, body);
    else if (known !== body) problems.push(`it sent a second, different ${key}: an answer`);
  }
  if (quietFrom !== undefined) {
    for (const record of controlRecords(watch, iut, quietFrom)) {
      if (isHandshakeKind(record.message!.kind)) {
        problems.push(`it answered with ${record.message!.kind} after the handshake`);
      }
    }
  }
  return [...new Set(problems)];
}

/** Closes from the reference's side: both sessions must end without a code. */
async function closeOrderly(
  { iut, reference }: AfterReady,
  deadline: number,
  problems: string[],
): Promise<void> {
  void reference.close().catch(() => {});
  const ends = await withDeadline(
    Promise.all([reference.closed, iut.closed ?? Promise.resolve(undefined)]),
    deadline,
  );
  if (ends === undefined) {
    problems.push("the close did not complete");
    return;
  }
  const [theirs, mine] = ends;
  if (theirs.code !== undefined) {
    problems.push(`the reference's close ended with ${theirs.code}: no Close answered it`);
  }
  if (mine !== undefined && mine.code !== undefined) {
    problems.push(`the implementation ended with ${mine.code}`);
  }
}

/**
 * A key update the reference starts: the epoch it reached, or what ended it
 * (the implementation's session, when its adapter reports that, or the update).
 */
function updateOrEnd({ iut, reference }: AfterReady): Promise<number | string> {
  const update = reference.updateKeys().then(
    (epoch) => epoch,
    (error: { code?: string }) => `the key update failed (${error.code ?? "no code"})`,
  );
  const ended = iut.closed?.then(({ code }) =>
    `the implementation ended the session (${code ?? "orderly"})`
  );
  return ended === undefined ? update : Promise.race([update, ended]);
}

/** A datagram duel with both sides authenticated; `afterReady` as in {@linkcode duel}. */
async function datagramDuel(
  context: Context,
  role: ConformanceRole,
  seed: string,
  watch: DatagramWatch,
  afterReady: (ready: AfterReady & { datagrams: DatagramRelayObservation }) => Promise<void>,
): Promise<{ finding: Finding; problems: string[] }> {
  const sides = authenticationSides(context.identities, "mutual");
  const timeouts = { ...context.timeouts, close: CLOSE_TIMEOUT };
  const referenceRole = otherRole(role);
  const result = await duel({
    adapter: context.adapter,
    iut: { ...spec(role, sides[role], seed, context.timeouts), timeouts },
    reference: { ...spec(referenceRole, sides[referenceRole], seed, context.timeouts), timeouts },
    datagram: (tracker) => watch.relay(tracker),
    // A key update the implementation no longer answers ends within the case's time.
    referenceExtras: { options: { keyUpdate: { maxDuration: context.timeouts.phase } } },
    deadline: context.deadline,
    afterReady: (ready) => afterReady({ ...ready, datagrams: ready.datagrams! }),
  });
  const finding = checkReady(result, {
    suite: expectedSuite(DEFAULT_PREFERENCES, DEFAULT_PREFERENCES),
    peer: sides[referenceRole].identity,
    authenticated: true,
  });
  return { finding, problems: [...finding.problems] };
}

function finish(finding: Finding, problems: readonly string[], expected: string): Finding {
  return {
    expected,
    actual: problems.length === 0 ? expected : finding.actual,
    problems,
  };
}

/** `datagram/handshake`: honest, with a key update and an orderly close, within budget. */
async function runHandshake(context: Context, role: ConformanceRole): Promise<Finding> {
  const expected = "ready, key update, orderly close; responder flights within 3x (§12.4)";
  if (context.adapter.datagram !== true) return notRun(expected, NO_DATAGRAMS);
  const watch = new DatagramWatch();
  const late: string[] = [];
  const { finding, problems } = await datagramDuel(
    context,
    role,
    "datagram handshake",
    watch,
    async (ready) => {
      const epoch = await ready.reference.updateKeys();
      if (epoch !== 3) late.push(`the key update reached epoch ${epoch}, not 3`);
      await closeOrderly(ready, context.deadline, late);
    },
  );
  problems.push(...late);
  // As responder its sends are counted as they go; as initiator, the reference
  // responder starts sending at once (the suite connected it), so only what its
  // flights need is compared with what the implementation sent.
  if (role === "responder" && watch.excess !== undefined) {
    problems.push(
      `it sent an unproved address more than ${AMPLIFICATION_FACTOR}x: ${watch.excess}`,
    );
  }
  const flights = watch.flightsExcess;
  if (role === "initiator" && flights !== undefined) {
    problems.push(`its opening does not earn the responder's first flights (§5.6): ${flights}`);
  }
  return finish(finding, problems, expected);
}

/** `datagram/epoch-0-forgery-in-handshake`. */
async function runEpochZeroForgery(context: Context, role: ConformanceRole): Promise<Finding> {
  const expected = "forged and replayed epoch-0 datagrams dropped: ready, orderly close";
  if (context.adapter.datagram !== true) return notRun(expected, NO_DATAGRAMS);
  const toIut = directionFrom(otherRole(role));
  let injectedAt: number | undefined;
  const watch: DatagramWatch = new DatagramWatch((seen) => {
    // Just before the reference's first epoch-1 datagram: the implementation receives epoch 1.
    if (
      injectedAt !== undefined || seen.datagram.direction !== toIut ||
      seen.record === undefined || seen.record.epoch < 1
    ) {
      return [];
    }
    injectedAt = watch.seen.length;
    const epochZero = watch.seen.filter(({ record }) =>
      record?.direction === toIut && record.epoch === 0
    );
    const handshake = epochZero.flatMap(({ record }) =>
      record!.message !== undefined && isHandshakeKind(record!.message.kind) ? [record!] : []
    );
    return [
      ...epochZero.map(({ datagram }) => datagram.bytes),
      ...forge(watch, toIut, 0, handshake),
    ];
  });
  const late: string[] = [];
  const { finding, problems } = await datagramDuel(
    context,
    role,
    "datagram epoch-0 forgery",
    watch,
    (ready) => closeOrderly(ready, context.deadline, late),
  );
  if (injectedAt === undefined) problems.push("the forgeries were never sent");
  problems.push(...late, ...answers(watch, opposite(toIut)));
  return finish(finding, problems, expected);
}

/** `datagram/old-epochs-after-key-update`. */
async function runOldEpochs(context: Context, role: ConformanceRole): Promise<Finding> {
  const expected =
    "datagrams of epochs 0 and 2 dropped after the update to 3: a second update, orderly close";
  if (context.adapter.datagram !== true) return notRun(expected, NO_DATAGRAMS);
  const toIut = directionFrom(otherRole(role));
  const fromIut = opposite(toIut);
  const watch = new DatagramWatch();
  const late: string[] = [];
  let quietFrom: number | undefined;
  const { finding, problems } = await datagramDuel(
    context,
    role,
    "datagram old epochs",
    watch,
    async (ready) => {
      const first = await ready.reference.updateKeys();
      if (first !== 3) late.push(`the first key update reached epoch ${first}, not 3`);
      // What follows reaches the implementation after the reference's
      // KeyUpdateReady(3): its update is over, it receives epoch 3 (§10.4).
      const over = watch.until(({ record }) =>
        record?.direction === toIut && record.message?.kind === "keyUpdateReady"
      );
      if (await withDeadline(over.then(() => true), context.deadline) === undefined) {
        late.push("the reference's KeyUpdateReady never came by");
        return;
      }
      quietFrom = watch.seen.length;
      const own = (direction: Direction, epoch: number, kinds: (m: Message) => boolean) =>
        watch.seen.flatMap(({ record }) =>
          record?.direction === direction && record.epoch === epoch &&
            record.message !== undefined && kinds(record.message)
            ? [record]
            : []
        );
      const handshake = (message: Message) => isHandshakeKind(message.kind);
      const forged = [
        ...watch.seen.flatMap(({ datagram, record }) =>
          record?.direction === toIut && record.epoch === 0 ? [datagram.bytes] : []
        ),
        ...forge(watch, toIut, 0, own(toIut, 0, handshake)),
        ...forge(watch, toIut, 2, own(toIut, 2, handshake)),
        // The start and the end of the update to 3 (the end is the implementation's own,
        // as if the reference answered), forged; a copy of the reference's last one; and
        // a start of the update to 4 under epoch 2, the wrong epoch for it.
        ...forge(watch, toIut, 2, [
          ...own(toIut, 2, (message) => message.kind === "beginKeyUpdate"),
          ...own(fromIut, 2, (message) => message.kind === "endKeyUpdate"),
        ]),
        ...forge(watch, toIut, 2, own(toIut, 2, (m) => m.kind === "keyUpdateReady"), COPY),
        ...forge(watch, toIut, 2, own(toIut, 2, (m) => m.kind === "beginKeyUpdate"), NEXT_START),
      ];
      for (const datagram of forged) ready.datagrams.inject(toIut, datagram);
      // Delivered in order: whatever the implementation makes of them, it does
      // before it answers the next update.
      const second = await updateOrEnd(ready);
      if (second !== 4) {
        late.push(
          typeof second === "number"
            ? `the second key update reached epoch ${second}, not 4`
            : `after them, ${second}`,
        );
        return;
      }
      await closeOrderly(ready, context.deadline, late);
    },
  );
  if (quietFrom === undefined) problems.push("the old datagrams were never sent");
  problems.push(...late, ...answers(watch, fromIut, quietFrom));
  return finish(finding, problems, expected);
}

/** A valid 45-byte epoch-0 datagram: an empty noise record, unpadded. */
function smallOpening(): Uint8Array {
  const tracker = new RecordTracker();
  tracker.setSalt("i2r", new Uint8Array(16).fill(0x45));
  return tracker.sealDatagram("i2r", { kind: "noise", data: new Uint8Array(0) }, {
    epoch: 0,
    sequence: 0,
  });
}

/** `datagram/amplification`: what the implementation sends for a small opening, never followed up. */
async function runAmplification(context: Context): Promise<Finding> {
  const opening = smallOpening();
  const budget = AMPLIFICATION_FACTOR * opening.length;
  const expected = `at most ${budget} bytes back for a ${opening.length}-byte opening (§12.4)`;
  if (context.adapter.datagram !== true) return notRun(expected, NO_DATAGRAMS);
  const [iutEnd, attacker] = createDatagramPair();
  const sides = authenticationSides(context.identities, "none");
  const iutSpec = {
    ...spec("responder", sides.responder, "datagram amplification", context.timeouts),
    timeouts: { phase: AMPLIFICATION_PHASE, handshake: 2 * AMPLIFICATION_PHASE },
  };
  let endpoint: ConformanceEndpoint;
  try {
    endpoint = await context.adapter.start(iutEnd, iutSpec);
  } catch (error) {
    return {
      expected,
      actual: "error",
      problems: [`adapter.start threw ${error instanceof Error ? error.name : String(error)}`],
    };
  }
  const reader = attacker.readable.getReader();
  let bytes = 0;
  let datagrams = 0;
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      bytes += value.length;
      datagrams++;
    }
  })().catch(() => {});
  const writer = attacker.writable.getWriter();
  await writer.write(opening);
  // Over the phase timeout: the first flight and its retransmissions, however the handshake ends.
  const outcome = await withDeadline(
    Promise.resolve(endpoint.outcome),
    AMPLIFICATION_PHASE + 1_000,
  );
  const problems: string[] = [];
  const closing = endpoint.close().then(() => true, () => true);
  if (await withDeadline(closing, context.deadline) === undefined) {
    problems.push("cleanup");
  }
  await writer.close().catch(() => {});
  await reader.cancel().catch(() => {});
  await reading;
  if (outcome?.status === "ready") problems.push("it reached ready with nobody there");
  const actual = `${bytes} bytes in ${datagrams} datagrams (${describeOutcome(outcome)})`;
  if (bytes > budget) problems.push(`it sent ${actual}: more than ${budget}`);
  return { expected, actual, problems };
}

/** The datagram cases, per role (the amplification case with the implementation as responder). */
export function datagramCases(context: Context): Case[] {
  const both: [string, "positive" | "negative", typeof runHandshake][] = [
    ["handshake", "positive", runHandshake],
    ["epoch-0-forgery-in-handshake", "negative", runEpochZeroForgery],
    ["old-epochs-after-key-update", "negative", runOldEpochs],
  ];
  const cases = both.flatMap(([name, category, run]) =>
    context.roles.map((role): Case => ({
      id: `datagram/${name}`,
      category,
      role,
      run: () => run(context, role),
    }))
  );
  if (context.roles.includes("responder")) {
    cases.push({
      id: "datagram/amplification",
      category: "negative",
      role: "responder",
      run: () => runAmplification(context),
    });
  }
  return cases;
}

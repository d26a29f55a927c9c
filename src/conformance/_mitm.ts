/**
 * Men in the middle, for the MITM tests.
 *
 * Two kinds:
 *
 * - **Record rewriters** (scripts for the relay of `_adversarial_channel.ts`):
 *   without a GSS anyone can derive the epoch-0 keys from the salt each
 *   direction starts with, so a relay can open, change and re-seal the meta
 *   exchange and the primary key shares. {@linkcode downgradeScript} strips
 *   the strongest algorithms from the responder's offer;
 *   {@linkcode keySubstitutionScript} replaces one primary key share with the
 *   relay's own.
 * - **A full man in the middle** ({@linkcode startManInTheMiddle}): Mallory
 *   runs `respond()` toward the initiator and `initiate()` toward the
 *   responder, and relays extender data between her two sessions, reading it
 *   in the clear.
 *
 * @module
 */

import { AEADS, HASHES, KEY_EXCHANGES, type KeyExchangeName } from "../crypto/types.ts";
import type { BeginMetaExchangeMessage, Message } from "../codec/message_types.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import { seededRandom } from "../crypto/random.ts";
import { toWireIds } from "../handshake_policy.ts";
import { createMemoryPair } from "../transport/memory.ts";
import type { Transport } from "../transport/transport.ts";
import { initiate, respond, type Session } from "../session/session.ts";
import type { SessionOptions } from "../session/options.ts";
import type { Direction, RelayScript, TappedRecord } from "./_relay.ts";

/** Algorithm lists a downgrading relay leaves in the responder's offer. */
export interface Downgrade {
  readonly primaryKeyExchanges: readonly KeyExchangeName[];
  readonly secondaryKeyExchanges: readonly KeyExchangeName[];
  readonly aeads: readonly (typeof AEADS)[number]["name"][];
  readonly hashes: readonly (typeof HASHES)[number]["name"][];
}

/** What a rewriting relay saw and did. */
export interface RewriteLog {
  /** Every epoch-0 message the relay could read, by direction, as it passed. */
  readonly read: { [D in Direction]: Message[] };
  /** How many records the relay rewrote. */
  rewritten: number;
  /** How many records it could not read (wrong pre-key: a GSS protects them, or a later epoch). */
  unreadable: number;
}

function newLog(): RewriteLog {
  return { read: { i2r: [], r2i: [] }, rewritten: 0, unreadable: 0 };
}

function note(log: RewriteLog, record: TappedRecord): Message | undefined {
  const message = record.opened?.message;
  if (message === undefined) log.unreadable++;
  else log.read[record.direction].push(message);
  return message;
}

/**
 * A relay script that rewrites the responder's BeginMetaExchange so that it
 * offers only `downgrade`'s algorithms, re-sealed under the epoch-0 key at the
 * same position: the initiator then picks from the weakened lists.
 *
 * @param downgrade The lists left in the offer.
 * @returns The script and its log.
 */
export function downgradeScript(downgrade: Downgrade): { script: RelayScript; log: RewriteLog } {
  const log = newLog();
  const script: RelayScript = {
    record: async (record, context) => {
      const message = note(log, record);
      if (message?.kind !== "beginMetaExchange") return [{ record }];
      log.rewritten++;
      const weakened: BeginMetaExchangeMessage = {
        ...message,
        primaryKeyExchanges: toWireIds(KEY_EXCHANGES, downgrade.primaryKeyExchanges),
        secondaryKeyExchanges: toWireIds(KEY_EXCHANGES, downgrade.secondaryKeyExchanges),
        aeads: toWireIds(AEADS, downgrade.aeads),
        hashes: toWireIds(HASHES, downgrade.hashes),
      };
      return [{ record: await context.seal(weakened) }];
    },
  };
  return { script, log };
}

/**
 * A relay script that seals a forged BeginMetaExchange under the pre-key an
 * observer WITHOUT the GSS would use: what a downgrading relay can do at best
 * when a GSS protects epoch 0 (it cannot read the real offer).
 *
 * @param forged The forged offer.
 * @returns The script and its log.
 */
export function blindForgeryScript(
  forged: BeginMetaExchangeMessage,
): { script: RelayScript; log: RewriteLog } {
  const log = newLog();
  const script: RelayScript = {
    record: async (record, context) => {
      note(log, record);
      if (record.direction !== "r2i" || record.index !== 0) return [{ record }];
      log.rewritten++;
      return [{ record: await context.seal(forged) }];
    },
  };
  return { script, log };
}

/** Which primary key share a substituting relay replaces, and with what. */
export interface Substitution {
  /** `"r2i"` replaces the responder's offer (BeginPrimaryKeyExchange), `"i2r"` the initiator's answer. */
  readonly direction: Direction;
  /** The primary key exchange in use (the relay makes a share of this kind). */
  readonly algorithm: KeyExchangeName;
  /** Use an invalid share (all zero bytes) instead of a valid one of the relay's own. */
  readonly invalid?: boolean;
}

/**
 * A relay script that replaces one primary key share with a share of the
 * relay's own (a fresh offer, or for a KEM answer a ciphertext to the real
 * offer), leaving the other direction untouched.
 *
 * @param substitution Which share, of which algorithm.
 * @returns The script and its log.
 */
export function keySubstitutionScript(
  substitution: Substitution,
): { script: RelayScript; log: RewriteLog } {
  const log = newLog();
  const kex = nobleBackend.keyExchange(substitution.algorithm)!;
  const random = seededRandom(new Uint8Array([0x4d, 0x49, 0x54, 0x4d]));
  let offer: Uint8Array | undefined;
  const script: RelayScript = {
    record: async (record, context) => {
      const message = note(log, record);
      if (message?.kind === "beginPrimaryKeyExchange") offer = message.share;
      const target = substitution.direction === "r2i"
        ? "beginPrimaryKeyExchange"
        : "endPrimaryKeyExchange";
      if (message?.kind !== target || record.direction !== substitution.direction) {
        return [{ record }];
      }
      let share: Uint8Array;
      if (substitution.invalid === true) {
        share = new Uint8Array(
          target === "beginPrimaryKeyExchange" ? kex.offerLength : kex.answerLength,
        );
      } else if (target === "beginPrimaryKeyExchange" || kex.kind === "dh") {
        const mine = await kex.offer(random);
        mine.state.dispose();
        share = mine.offer;
      } else {
        // A KEM answer of the relay's own: a ciphertext to the real offer.
        share = (await kex.answer(offer!, random)).answer;
      }
      log.rewritten++;
      return [{ record: await context.seal({ kind: target, share }) }];
    },
  };
  return { script, log };
}

/** Mallory's two sessions and what she read. */
export interface ManInTheMiddle {
  /** The initiator (Alice), talking to Mallory. */
  readonly alice: Session;
  /** The responder (Bob), talking to Mallory. */
  readonly bob: Session;
  /** Mallory's responder toward Alice. */
  readonly malloryToAlice: Session;
  /** Mallory's initiator toward Bob. */
  readonly malloryToBob: Session;
  /** Extender data Mallory read in the clear, as text, in relay order. */
  readonly intercepted: string[];
}

/** Options of {@linkcode startManInTheMiddle}: one set per session. */
export interface ManInTheMiddleOptions {
  readonly alice: SessionOptions;
  readonly bob: SessionOptions;
  readonly malloryToAlice: SessionOptions;
  readonly malloryToBob: SessionOptions;
}

/**
 * Starts Alice, Bob and Mallory in between: two handshakes, Alice–Mallory and
 * Mallory–Bob. Mallory forwards every extender message she receives on one
 * session to the other, and keeps a clear copy.
 *
 * @param options Each session's options (seeded random sources are added).
 * @returns The four sessions and Mallory's interception log.
 */
export function startManInTheMiddle(options: ManInTheMiddleOptions): ManInTheMiddle {
  const [aliceEnd, mallorysAliceEnd]: [Transport, Transport] = createMemoryPair();
  const [mallorysBobEnd, bobEnd]: [Transport, Transport] = createMemoryPair();
  const seeded = (seed: number, own: SessionOptions): SessionOptions => ({
    random: seededRandom(new Uint8Array([0x6d, seed])),
    ...own,
  });
  const alice = initiate(aliceEnd, seeded(1, options.alice));
  const malloryToAlice = respond(mallorysAliceEnd, seeded(2, options.malloryToAlice));
  const malloryToBob = initiate(mallorysBobEnd, seeded(3, options.malloryToBob));
  const bob = respond(bobEnd, seeded(4, options.bob));
  const intercepted: string[] = [];
  const forward = (from: Session, to: Session): void => {
    from.on("message", ({ extender, data }) => {
      intercepted.push(new TextDecoder().decode(data));
      void to.send(extender, data).catch(() => {});
    });
  };
  forward(malloryToAlice, malloryToBob);
  forward(malloryToBob, malloryToAlice);
  return { alice, bob, malloryToAlice, malloryToBob, intercepted };
}

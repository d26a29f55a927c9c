/**
 * The leader prepares its secondary offer while the primary exchange's round
 * trip is under way: call order, use, wiping and failures.
 */

import assert from "node:assert/strict";
import type {
  CryptoBackend,
  KeyExchange,
  KeyExchangeAnswer,
  KeyExchangeOffer,
  KeyExchangeState,
} from "../src/crypto/mod.ts";
import { ErrorCode, HandshakeError, nobleBackend, type SessionOptions } from "../mod.ts";
import { startPair } from "./_session_helpers.ts";

/** Everything one side's backend saw of its key exchanges, in order. */
interface KexLog {
  readonly calls: string[];
  /** Each offer's state, with how often it was disposed. */
  readonly states: { readonly name: string; disposed: number }[];
}

/**
 * A noble backend that logs every key-exchange call and state disposal;
 * `override` may replace a key exchange's methods.
 */
function loggingBackend(
  log: KexLog,
  override: (kex: KeyExchange) => Partial<KeyExchange> = () => ({}),
): CryptoBackend {
  const inners = new WeakMap<KeyExchangeState, KeyExchangeState>();
  const wrap = (kex: KeyExchange): KeyExchange => {
    const replaced = override(kex);
    const inner = {
      offer: replaced.offer ?? ((random) => kex.offer(random)),
      answer: replaced.answer ?? ((offer, random) => kex.answer(offer, random)),
      finish: replaced.finish ?? ((state, answer) => kex.finish(state, answer)),
    } satisfies Pick<KeyExchange, "offer" | "answer" | "finish">;
    return {
      name: kex.name,
      id: kex.id,
      kind: kex.kind,
      offerLength: kex.offerLength,
      answerLength: kex.answerLength,
      async offer(random): Promise<KeyExchangeOffer> {
        log.calls.push(`offer ${kex.name}`);
        const { offer, state } = await inner.offer(random);
        const entry = { name: kex.name, disposed: 0 };
        log.states.push(entry);
        const wrapped = {
          dispose(): void {
            entry.disposed++;
            state.dispose();
          },
        };
        inners.set(wrapped, state);
        return { offer, state: wrapped };
      },
      answer(offer, random): Promise<KeyExchangeAnswer> {
        log.calls.push(`answer ${kex.name}`);
        return inner.answer(offer, random);
      },
      finish(state, answer): Promise<Uint8Array<ArrayBuffer>> {
        log.calls.push(`finish ${kex.name}`);
        return inner.finish(inners.get(state) ?? state, answer);
      },
    };
  };
  return {
    name: "logging noble",
    keyExchange: (name) => {
      const kex = nobleBackend.keyExchange(name);
      return kex === undefined ? undefined : wrap(kex);
    },
    signature: (name) => nobleBackend.signature(name),
    aead: (name) => nobleBackend.aead(name),
    hash: (name) => nobleBackend.hash(name),
  };
}

function options(backend: CryptoBackend): SessionOptions {
  return {
    requireAuthentication: false,
    backend,
    algorithms: { primaryKeyExchanges: ["X25519"], secondaryKeyExchanges: ["ML-KEM-768"] },
  };
}

/** Lets pending promise callbacks (a discarded offer's wipe) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("the leader's secondary offer starts right after its primary offer and is used", async () => {
  const leader: KexLog = { calls: [], states: [] };
  const follower: KexLog = { calls: [], states: [] };
  const { initiator, responder } = startPair(
    options(loggingBackend(follower)),
    options(loggingBackend(leader)),
  );
  await Promise.all([initiator.ready, responder.ready]);
  // Both offers are made before the primary exchange finishes, primary first.
  assert.deepEqual(leader.calls, [
    "offer X25519",
    "offer ML-KEM-768",
    "finish X25519",
    "finish ML-KEM-768",
  ]);
  assert.deepEqual(follower.calls, ["answer X25519", "answer ML-KEM-768"]);
  // Exactly the two offers were made, and each state was wiped once it was finished.
  assert.deepEqual(leader.states.map((s) => [s.name, s.disposed]), [
    ["X25519", 1],
    ["ML-KEM-768", 1],
  ]);
  await initiator.close();
  await responder.closed;
});

Deno.test("a prepared offer the handshake never reaches is wiped when the session ends", async () => {
  const leader: KexLog = { calls: [], states: [] };
  const follower: KexLog = { calls: [], states: [] };
  // The follower fails the primary exchange: its answer never comes.
  const failing = loggingBackend(follower, () => ({
    answer: () => Promise.reject(new HandshakeError(ErrorCode.INVALID_PEER_KEY, "refused")),
  }));
  const { initiator, responder } = startPair(options(failing), options(loggingBackend(leader)));
  await assert.rejects(initiator.ready, (error: HandshakeError) => {
    return error.code === ErrorCode.INVALID_PEER_KEY;
  });
  await assert.rejects(responder.ready, HandshakeError);
  await responder.closed;
  await settle();
  assert.deepEqual(leader.calls, ["offer X25519", "offer ML-KEM-768"]);
  assert.deepEqual(leader.states.map((s) => [s.name, s.disposed]), [
    ["X25519", 1],
    ["ML-KEM-768", 1],
  ]);
});

Deno.test("a prepared offer that fails fails the handshake in the secondary phase", async () => {
  const leader: KexLog = { calls: [], states: [] };
  const failing = loggingBackend(
    leader,
    (kex) =>
      kex.kind === "kem"
        ? { offer: () => Promise.reject(new HandshakeError(ErrorCode.INTERNAL, "no entropy")) }
        : {},
  );
  const { initiator, responder } = startPair(
    options(loggingBackend({ calls: [], states: [] })),
    options(failing),
  );
  await assert.rejects(responder.ready, (error: HandshakeError) => {
    // The primary exchange completed; the failure belongs to the secondary phase.
    assert.match(error.message, /secondaryKeyExchange/);
    return error.code === ErrorCode.INTERNAL;
  });
  await assert.rejects(initiator.ready, HandshakeError);
  assert.deepEqual(leader.calls, ["offer X25519", "offer ML-KEM-768", "finish X25519"]);
  assert.deepEqual(leader.states.map((s) => [s.name, s.disposed]), [["X25519", 1]]);
  await initiator.closed;
});

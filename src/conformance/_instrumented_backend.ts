/**
 * A crypto backend wrapper for the reference peer and the vector runner:
 * it reports every shared secret a key exchange derives (so the suite's
 * relay can follow the encrypted handshake) and can script the randomness
 * of each key exchange (so a known-answer vector fixes every ephemeral key).
 *
 * @module
 */

import type {
  CryptoBackend,
  KeyExchange,
  KeyExchangeAnswer,
  KeyExchangeName,
  KeyExchangeOffer,
  KeyExchangeState,
  RandomSource,
} from "../crypto/types.ts";

/** Options of {@linkcode instrumentBackend}. */
export interface InstrumentOptions {
  /** Receives a copy of each shared secret, in the order they are derived. */
  readonly onSecret?: (secret: Uint8Array) => void;
  /**
   * The random bytes each key-exchange offer or answer draws, in call order
   * (the handshake's primary exchange, then its secondary one). When given,
   * the `random` the session passes is not used for those calls.
   */
  readonly keyExchangeRandom?: readonly Uint8Array[];
}

function scripted(bytes: Uint8Array): RandomSource {
  let used = false;
  return (length: number) => {
    if (used || length !== bytes.length) {
      throw new RangeError(
        `Cannot draw key-exchange randomness: the vector gives ${bytes.length} bytes, ${
          used ? "already used" : `the algorithm asks for ${length}`
        }`,
      );
    }
    used = true;
    return Uint8Array.from(bytes);
  };
}

/**
 * Wraps a backend.
 *
 * @param inner The backend doing the work.
 * @param options Where secrets go and which randomness key exchanges draw.
 * @returns The wrapped backend.
 */
export function instrumentBackend(inner: CryptoBackend, options: InstrumentOptions): CryptoBackend {
  const queue = [...(options.keyExchangeRandom ?? [])];
  const scriptedRandom = options.keyExchangeRandom !== undefined;
  const next = (fallback: RandomSource): RandomSource => {
    if (!scriptedRandom) return fallback;
    const bytes = queue.shift();
    if (bytes === undefined) {
      throw new RangeError("Cannot draw key-exchange randomness: the vector gives no more");
    }
    return scripted(bytes);
  };
  const report = (secret: Uint8Array): void => options.onSecret?.(Uint8Array.from(secret));
  const wrap = (exchange: KeyExchange): KeyExchange => ({
    name: exchange.name,
    id: exchange.id,
    kind: exchange.kind,
    offerLength: exchange.offerLength,
    answerLength: exchange.answerLength,
    offer: (random: RandomSource): Promise<KeyExchangeOffer> => exchange.offer(next(random)),
    answer: async (offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer> => {
      const answer = await exchange.answer(offer, next(random));
      report(answer.sharedSecret);
      return answer;
    },
    finish: async (state: KeyExchangeState, answer: Uint8Array) => {
      const secret = await exchange.finish(state, answer);
      report(secret);
      return secret;
    },
  });
  const cache = new Map<KeyExchangeName, KeyExchange>();
  return {
    name: `${inner.name}+instrumented`,
    keyExchange: (name) => {
      const exchange = inner.keyExchange(name);
      if (exchange === undefined) return undefined;
      if (!cache.has(name)) cache.set(name, wrap(exchange));
      return cache.get(name);
    },
    signature: (name) => inner.signature(name),
    aead: (name) => inner.aead(name),
    hash: (name) => inner.hash(name),
  };
}

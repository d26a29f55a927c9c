/**
 * The key exchange contract, written once for every backend: a
 * {@linkcode KeyExchange} from a backend's raw DH or KEM primitive.
 *
 * - Peer input is checked here: a wrong length, an unusable point
 *   (`_peer_keys.ts`), a backend that cannot use the key, an all-zero DH
 *   secret, or a DH answer equal to the leader's own offer (a reflected key
 *   share) rejects with `HandshakeError` `ERR_INVALID_PEER_KEY`, never with
 *   a raw library exception.
 * - A wrong ML-KEM ciphertext of the right length does not fail (implicit
 *   rejection): it yields an unrelated secret, which surfaces later as
 *   `ERR_DECRYPT_FAILED`.
 * - Randomness is drawn here (`_draw.ts`), synchronously at the call and in
 *   noble's amounts and order (validate, then draw), so a seeded source gives
 *   the same offers, answers and secrets on every backend.
 * - The leader's private key lives in a {@linkcode ContractKeyExchangeState}
 *   until `dispose()`; `finish()` does not consume it.
 * - Misuse (a state from another algorithm or backend, or disposed) rejects
 *   with `TypeError`; a backend failing at key generation with `ERR_INTERNAL`.
 *
 * @module
 */

import type {
  KeyExchange,
  KeyExchangeAnswer,
  KeyExchangeName,
  KeyExchangeOffer,
  KeyExchangeState,
  RandomSource,
} from "./types.ts";
import type { DhPrimitive, KemPrimitive, PrimitiveKeyPair } from "./_primitives.ts";
import { asTyped, describe, invalidPeerKey, isAllZero, isBytes } from "./_failures.ts";
import { drawSecret, isSystemRandom } from "./_draw.ts";
import { peerKeyCheck, sameShare } from "./_peer_keys.ts";

/** The leader's private half between `offer()` and `finish()`. */
class ContractKeyExchangeState implements KeyExchangeState {
  readonly #owner: KeyExchange;
  readonly #offer: Uint8Array<ArrayBuffer>;
  readonly #release: (privateKey: unknown) => void;
  #privateKey: unknown;
  #disposed = false;

  constructor(
    owner: KeyExchange,
    offer: Uint8Array<ArrayBuffer>,
    privateKey: unknown,
    release: (privateKey: unknown) => void,
  ) {
    this.#owner = owner;
    this.#offer = offer;
    this.#privateKey = privateKey;
    this.#release = release;
  }

  /** The private key and the offer made with it, for `owner` only. */
  static open(
    owner: KeyExchange,
    state: KeyExchangeState,
  ): { privateKey: unknown; offer: Uint8Array } {
    if (!(state instanceof ContractKeyExchangeState) || state.#owner !== owner) {
      throw new TypeError(
        state instanceof ContractKeyExchangeState && state.#owner.name !== owner.name
          ? `Cannot finish ${owner.name} key exchange: "state" belongs to ${state.#owner.name}`
          : `Cannot finish ${owner.name} key exchange: "state" was not created by this backend`,
      );
    }
    if (state.#disposed) {
      throw new TypeError(`Cannot finish ${owner.name} key exchange: "state" was disposed`);
    }
    return { privateKey: state.#privateKey, offer: state.#offer };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#release(this.#privateKey);
    this.#privateKey = undefined;
  }
}

/** A key pair from freshly drawn seed bytes, which are wiped whatever happens. */
async function keyPairFrom<P>(
  primitive: {
    keyPair(seed: Uint8Array<ArrayBuffer>): PrimitiveKeyPair<P> | Promise<PrimitiveKeyPair<P>>;
  },
  seed: Uint8Array<ArrayBuffer>,
  publicKeyLength: number,
  what: string,
): Promise<PrimitiveKeyPair<P>> {
  let pair: PrimitiveKeyPair<P>;
  try {
    pair = await primitive.keyPair(seed);
  } catch (cause) {
    throw asTyped(what, cause);
  } finally {
    seed.fill(0);
  }
  if (!isBytes(pair.publicKey, publicKeyLength)) {
    throw asTyped(what, new Error(`public key of ${describe(pair.publicKey)} bytes`));
  }
  return pair;
}

/** A copy the caller owns; the backend's bytes are wiped. */
function takeSecret(secret: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = Uint8Array.from(secret);
  secret.fill(0);
  return copy;
}

/**
 * The contract over a DH primitive.
 *
 * @param name The registry name.
 * @param id The wire id.
 * @param dh The backend's primitive.
 * @returns The frozen key exchange.
 */
export function dhKeyExchange(name: KeyExchangeName, id: number, dh: DhPrimitive): KeyExchange {
  const { seedLength, publicKeyLength: length } = dh;
  const checkPoint = peerKeyCheck(name);
  const isSameShare = sameShare(name);
  const release = (privateKey: unknown): void => dh.dispose(privateKey);

  /** Synchronous: length and point checks, before anything is drawn. */
  function checkPeer(publicKey: Uint8Array, role: "offer" | "answer"): void {
    if (!isBytes(publicKey, length)) {
      throw invalidPeerKey(name, `${role} must be ${length} bytes, got ${describe(publicKey)}`);
    }
    try {
      checkPoint(publicKey);
    } catch (cause) {
      throw invalidPeerKey(name, `${role} is not a valid public key`, cause);
    }
  }

  async function derive(
    privateKey: unknown,
    publicKey: Uint8Array,
  ): Promise<Uint8Array<ArrayBuffer>> {
    let shared: Uint8Array;
    try {
      shared = await dh.sharedSecret(privateKey, publicKey);
    } catch (cause) {
      throw invalidPeerKey(name, "public key yields no valid shared secret", cause);
    }
    const secret = takeSecret(shared);
    if (isAllZero(secret)) throw invalidPeerKey(name, "shared secret is all zero");
    return secret;
  }

  const exchange: KeyExchange = Object.freeze({
    name,
    id,
    kind: "dh" as const,
    offerLength: length,
    answerLength: length,
    async offer(random: RandomSource): Promise<KeyExchangeOffer> {
      const what = `create ${name} offer`;
      const pair = await keyPairFrom(dh, drawSecret(random, seedLength, what), length, what);
      const offer = Uint8Array.from(pair.publicKey);
      return {
        offer: Uint8Array.from(offer),
        state: new ContractKeyExchangeState(exchange, offer, pair.privateKey, release),
      };
    },
    async answer(offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer> {
      const what = `answer ${name} offer`;
      // Validate, then draw, synchronously: seeded streams stay aligned on every backend.
      checkPeer(offer, "offer");
      const pair = await keyPairFrom(dh, drawSecret(random, seedLength, what), length, what);
      try {
        const sharedSecret = await derive(pair.privateKey, offer);
        return { answer: Uint8Array.from(pair.publicKey), sharedSecret };
      } finally {
        dh.dispose(pair.privateKey);
      }
    },
    async finish(state: KeyExchangeState, answer: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
      const { privateKey, offer } = ContractKeyExchangeState.open(exchange, state);
      checkPeer(answer, "answer");
      // A reflected key share: the "peer" holds no key of its own.
      if (isSameShare(answer, offer)) {
        throw invalidPeerKey(name, "answer is the leader's own offer");
      }
      return await derive(privateKey, answer);
    },
  });
  return exchange;
}

/**
 * The contract over a KEM primitive.
 *
 * @param name The registry name.
 * @param id The wire id.
 * @param kem The backend's primitive.
 * @returns The frozen key exchange.
 */
export function kemKeyExchange(name: KeyExchangeName, id: number, kem: KemPrimitive): KeyExchange {
  const { seedLength, publicKeyLength: offerLength, ciphertextLength: answerLength } = kem;
  const release = (privateKey: unknown): void => kem.dispose(privateKey);

  const exchange: KeyExchange = Object.freeze({
    name,
    id,
    kind: "kem" as const,
    offerLength,
    answerLength,
    async offer(random: RandomSource): Promise<KeyExchangeOffer> {
      const what = `create ${name} offer`;
      // FIPS 203 key generation from the seed d ‖ z.
      const pair = await keyPairFrom(kem, drawSecret(random, seedLength, what), offerLength, what);
      return {
        offer: Uint8Array.from(pair.publicKey),
        state: new ContractKeyExchangeState(
          exchange,
          Uint8Array.from(pair.publicKey),
          pair.privateKey,
          release,
        ),
      };
    },
    async answer(offer: Uint8Array, random: RandomSource): Promise<KeyExchangeAnswer> {
      if (!isBytes(offer, offerLength)) {
        throw invalidPeerKey(name, `offer must be ${offerLength} bytes, got ${describe(offer)}`);
      }
      // The platform's own encapsulation draws from the same CSPRNG; any other
      // source (a seeded one) is drawn here so that runs stay reproducible.
      const message = kem.ownRandomness && isSystemRandom(random)
        ? undefined
        : drawSecret(random, kem.messageLength, `answer ${name} offer`);
      let result: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
      try {
        // The encapsulation key's modulus check (FIPS 203 §7.2) fails here.
        result = await kem.encapsulate(offer, message);
      } catch (cause) {
        throw invalidPeerKey(name, "offer is not a valid encapsulation key", cause);
      } finally {
        message?.fill(0);
      }
      if (!isBytes(result.ciphertext, answerLength)) {
        throw asTyped(`answer ${name} offer`, new Error("wrong ciphertext length"));
      }
      return {
        answer: Uint8Array.from(result.ciphertext),
        sharedSecret: takeSecret(result.sharedSecret),
      };
    },
    async finish(state: KeyExchangeState, answer: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
      const { privateKey } = ContractKeyExchangeState.open(exchange, state);
      if (!isBytes(answer, answerLength)) {
        throw invalidPeerKey(name, `answer must be ${answerLength} bytes, got ${describe(answer)}`);
      }
      try {
        // A wrong ciphertext of the right length does not fail (implicit rejection).
        return takeSecret(await kem.decapsulate(privateKey, answer));
      } catch (cause) {
        throw invalidPeerKey(name, "answer cannot be decapsulated", cause);
      }
    },
  });
  return exchange;
}

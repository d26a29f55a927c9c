/**
 * The crypto work of one key update, kept apart from the session's I/O: two
 * fresh key exchanges (the negotiated classical and post-quantum ones), the
 * update transcript, and the next epoch's cipher states.
 *
 * The key-update statechart decides when each step happens; this class only
 * does the step it is asked for and holds the secret state in between.
 *
 * @module
 */

import { CipherState, EPOCH_RECORD_LIMIT } from "../crypto/cipher_state.ts";
import { ErrorCode, SessionError } from "../errors.ts";
import { type KeySchedule, keyUpdateTranscript } from "../crypto/key_schedule.ts";
import type {
  Aead,
  HashFunction,
  KeyExchange,
  KeyExchangeState,
  RandomSource,
} from "../crypto/types.ts";
import type { BeginKeyUpdateMessage, EndKeyUpdateMessage } from "../codec/message_types.ts";
import { encodeMessage } from "../codec/messages.ts";
import type { Role } from "./details.ts";

/** What a key rotation needs from the established session. */
export interface KeyRotationContext {
  readonly role: Role;
  readonly primary: KeyExchange;
  readonly secondary: KeyExchange;
  readonly hash: HashFunction;
  readonly aead: Aead;
  readonly schedule: KeySchedule;
  readonly random: RandomSource;
  /**
   * The last epoch the transport can carry: 65,535 on datagrams (a `u16` in
   * the record header), 2^32 - 1 on streams.
   */
  readonly maxEpoch: number;
  /** The session clock's `now()`, for the rate limit on updates the peer starts. */
  readonly now: () => number;
}

/**
 * How many key updates the peer may start in a burst, and how many more it
 * earns per second (PROTOCOL.md §10.5): a token bucket. Honest peers start an
 * update every few minutes, or after a gigabyte; a peer that starts more
 * costs a key exchange pair each time and fails with `ERR_RESOURCE_LIMIT`.
 */
export const PEER_UPDATE_BURST = 32;
/** Key updates a peer earns per second once its burst is spent. */
export const PEER_UPDATE_RATE = 1;

/** Public shares of one side of an update. */
export interface UpdateShares {
  readonly primaryShare: Uint8Array<ArrayBuffer>;
  readonly secondaryShare: Uint8Array<ArrayBuffer>;
}

/** One key update at a time: offer or answer, then the new epoch's cipher states. */
export class KeyRotation {
  readonly #context: KeyRotationContext;
  #offer:
    | { epoch: number; states: [KeyExchangeState, KeyExchangeState]; body: Uint8Array }
    | undefined;
  #send: CipherState | undefined;
  #receive: CipherState | undefined;
  #peerTokens = PEER_UPDATE_BURST;
  #peerTokensAt: number | undefined;

  /**
   * Binds the rotation to the session's negotiated algorithms and key schedule.
   *
   * @param context The established session's crypto.
   */
  constructor(context: KeyRotationContext) {
    this.#context = context;
  }

  /**
   * Starts an update to `epoch`: fresh classical and post-quantum offers.
   *
   * @param epoch The epoch the update creates.
   * @returns The public offers.
   */
  async offer(epoch: number): Promise<UpdateShares> {
    this.#checkEpoch(epoch);
    this.#discardOffer();
    const { primary, secondary, random } = this.#context;
    const [classical, postQuantum] = [await primary.offer(random), await secondary.offer(random)];
    const shares = { primaryShare: classical.offer, secondaryShare: postQuantum.offer };
    this.#offer = {
      epoch,
      states: [classical.state, postQuantum.state],
      body: encodeMessage({ kind: "beginKeyUpdate", epoch, ...shares }),
    };
    return shares;
  }

  /**
   * Answers the peer's update and derives the new epoch's keys (not yet active).
   * An offer of our own that lost a simultaneous start is discarded.
   *
   * @param begin The peer's `BeginKeyUpdate`.
   * @returns The public answers.
   */
  async answer(begin: BeginKeyUpdateMessage): Promise<UpdateShares> {
    this.#checkEpoch(begin.epoch);
    this.#spendPeerToken();
    this.#discardOffer();
    const { primary, secondary, random } = this.#context;
    const classical = await primary.answer(begin.primaryShare, random);
    try {
      const postQuantum = await secondary.answer(begin.secondaryShare, random);
      try {
        const shares = { primaryShare: classical.answer, secondaryShare: postQuantum.answer };
        const end = encodeMessage({ kind: "endKeyUpdate", epoch: begin.epoch, ...shares });
        this.#derive(
          begin.epoch,
          classical.sharedSecret,
          postQuantum.sharedSecret,
          encodeMessage(begin),
          end,
        );
        return shares;
      } finally {
        postQuantum.sharedSecret.fill(0);
      }
    } finally {
      classical.sharedSecret.fill(0);
    }
  }

  /**
   * Finishes our own update with the peer's answer and derives the new epoch's keys.
   *
   * @param end The peer's `EndKeyUpdate`.
   */
  async finish(end: EndKeyUpdateMessage): Promise<void> {
    const offer = this.#offer;
    if (offer === undefined || offer.epoch !== end.epoch) {
      throw new TypeError(`Cannot finish key update: no offer for epoch ${end.epoch}`);
    }
    this.#offer = undefined;
    const { primary, secondary } = this.#context;
    try {
      const classical = await primary.finish(offer.states[0], end.primaryShare);
      try {
        const postQuantum = await secondary.finish(offer.states[1], end.secondaryShare);
        try {
          this.#derive(end.epoch, classical, postQuantum, offer.body, encodeMessage(end));
        } finally {
          postQuantum.fill(0);
        }
      } finally {
        classical.fill(0);
      }
    } finally {
      for (const state of offer.states) state.dispose();
    }
  }

  /**
   * Hands over the new epoch's sending cipher state (once per update).
   *
   * @returns The cipher state to seal with.
   */
  takeSend(): CipherState {
    const cipher = this.#send!;
    this.#send = undefined;
    return cipher;
  }

  /**
   * Hands over the new epoch's receiving cipher state (once per update).
   *
   * @returns The cipher state to open with.
   */
  takeReceive(): CipherState {
    const cipher = this.#receive!;
    this.#receive = undefined;
    return cipher;
  }

  /** Wipes everything still held. */
  dispose(): void {
    this.#discardOffer();
    this.#send?.dispose();
    this.#receive?.dispose();
    this.#send = undefined;
    this.#receive = undefined;
  }

  #derive(
    epoch: number,
    classical: Uint8Array,
    postQuantum: Uint8Array,
    beginBody: Uint8Array,
    endBody: Uint8Array,
  ): void {
    const { hash, schedule, aead, role } = this.#context;
    const keys = schedule.mixUpdate(
      classical,
      postQuantum,
      keyUpdateTranscript(hash, epoch, beginBody, endBody),
    );
    const [send, receive] = role === "initiator"
      ? [keys.initiatorToResponder, keys.responderToInitiator]
      : [keys.responderToInitiator, keys.initiatorToResponder];
    this.#send?.dispose();
    this.#receive?.dispose();
    // The record limit is a protocol constant (PROTOCOL.md §5.4), the same for
    // sealing and opening: a local `maxRecords` only decides when this side
    // starts an update, never what it accepts from the peer.
    this.#send = new CipherState(aead, send, keys.epoch, { limit: EPOCH_RECORD_LIMIT });
    this.#receive = new CipherState(aead, receive, keys.epoch, { limit: EPOCH_RECORD_LIMIT });
    send.fill(0);
    receive.fill(0);
  }

  /** Refuses an epoch the transport cannot carry: the session cannot go on. */
  #checkEpoch(epoch: number): void {
    if (epoch > this.#context.maxEpoch) {
      throw new SessionError(
        ErrorCode.NONCE_EXHAUSTED,
        `Cannot update keys: epoch ${epoch} is beyond the last epoch ${this.#context.maxEpoch} this transport carries`,
      );
    }
  }

  /** Takes one token of the peer's update budget, or fails with `ERR_RESOURCE_LIMIT`. */
  #spendPeerToken(): void {
    const now = this.#context.now();
    if (this.#peerTokensAt !== undefined) {
      const earned = ((now - this.#peerTokensAt) / 1_000) * PEER_UPDATE_RATE;
      this.#peerTokens = Math.min(PEER_UPDATE_BURST, this.#peerTokens + Math.max(0, earned));
    }
    this.#peerTokensAt = now;
    if (this.#peerTokens < 1) {
      throw new SessionError(
        ErrorCode.RESOURCE_LIMIT,
        `Cannot answer key update: the peer started more than ${PEER_UPDATE_BURST} updates plus ${PEER_UPDATE_RATE} per second`,
      );
    }
    this.#peerTokens -= 1;
  }

  #discardOffer(): void {
    for (const state of this.#offer?.states ?? []) state.dispose();
    this.#offer = undefined;
  }
}

/**
 * Flights on datagram transports: what this side sent since it last heard
 * something new from the peer, and which peer message that flight answered.
 *
 * The statecharts decide when to retransmit; this bookkeeping tells them
 * whether a repeated peer message means "your last flight got lost" (it is
 * the message that flight answered) or is just a stale copy to ignore. That
 * distinction is what keeps two retransmitting peers from echoing each
 * other forever.
 *
 * @module
 */

import type { Message } from "../codec/message_types.ts";
import { bytesToHex } from "../_hex.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";

/** How many distinct peer messages are remembered for duplicate detection. */
const REMEMBERED = 64;

/** What a received control message is, relative to what came before. */
export type Arrival = "new" | "duplicateOfTrigger" | "duplicate";

const sha256 = nobleBackend.hash("SHA-256")!;

function keyOf(type: number, body: Uint8Array): string {
  return `${type}:${bytesToHex(sha256.digest(body))}`;
}

/** Flight and duplicate bookkeeping for one datagram session. */
export class FlightTracker {
  readonly #seen: string[] = [];
  #lastReceived: string | undefined;
  #trigger: string | undefined;
  #flight: { message: Message; epoch: number }[] = [];
  #flightOpen = false;

  /**
   * Classifies a received handshake or key-update message and remembers it.
   *
   * @param type The message type.
   * @param body The message body.
   * @returns `"new"` for a first arrival; otherwise whether it is the message
   *   our current flight answered.
   */
  received(type: number, body: Uint8Array): Arrival {
    const key = keyOf(type, body);
    if (this.#seen.includes(key)) {
      return key === this.#trigger && this.#flight.length > 0 ? "duplicateOfTrigger" : "duplicate";
    }
    this.#seen.push(key);
    if (this.#seen.length > REMEMBERED) this.#seen.shift();
    this.#lastReceived = key;
    this.#flightOpen = false;
    return "new";
  }

  /**
   * Tells whether a message was already received (among the last ones
   * remembered), without recording it.
   *
   * @param type The message type.
   * @param body The message body.
   * @returns `true` for a copy of a message already received.
   */
  knows(type: number, body: Uint8Array): boolean {
    return this.#seen.includes(keyOf(type, body));
  }

  /**
   * Records a sent handshake or key-update message as part of the current flight.
   *
   * @param message The message.
   * @param epoch The epoch it was sealed with; a retransmission uses the same keys.
   */
  sent(message: Message, epoch: number): void {
    if (!this.#flightOpen) {
      this.#flight = [];
      this.#trigger = this.#lastReceived;
      this.#flightOpen = true;
    }
    this.#flight.push({ message, epoch });
  }

  /** The messages of the current flight with their epochs, to send again. */
  get flight(): readonly { readonly message: Message; readonly epoch: number }[] {
    return this.#flight;
  }
}

/**
 * The datagram counterpart of `_relay.ts`: a scriptable adversary between an
 * initiator and a responder that run over datagram transports.
 *
 * Each side gets one end of its own lossless {@linkcode createDatagramPair};
 * the relay owns the two far ends. Every datagram a side writes is logged and
 * handed to the script, which returns what to deliver in its place: the
 * datagram itself (the default), nothing (a drop), several copies (a
 * duplicate), or other datagrams (a replay or a forgery). At any time a case
 * may also deliver a datagram of its own to either side
 * ({@linkcode DatagramRelayObservation.inject}). The relay counts what it
 * delivers, per direction.
 *
 * Delivery never waits: like a full socket buffer, a receiver that does not
 * read loses what arrives. And like UDP, a side that stops tells the other
 * nothing; the relay forwards until {@linkcode DatagramRelayObservation.stop}
 * ends both receivers' input.
 *
 * @module
 */

import { createDatagramPair, type DatagramTransport } from "../transport/datagram.ts";
import type { Direction } from "./_relay.ts";

/** One datagram as its sender wrote it. */
export interface TappedDatagram {
  /** Its direction. */
  readonly direction: Direction;
  /** Its position among the datagrams of its direction (0 for the first). */
  readonly index: number;
  /** The datagram's bytes (the relay's copy). */
  readonly bytes: Uint8Array;
}

/**
 * Decides what to deliver for one datagram: `undefined` delivers it as it
 * is, an array delivers those datagrams in its place (empty: dropped).
 */
export type DatagramScript = (
  datagram: TappedDatagram,
) => readonly Uint8Array[] | undefined | Promise<readonly Uint8Array[] | undefined>;

/** Options of {@linkcode createDatagramRelay}. */
export interface DatagramRelayOptions {
  /** What to deliver for each datagram (default: each as it is). */
  readonly script?: DatagramScript;
}

/** Datagrams and bytes delivered to one direction's receiver. */
export interface DeliveredCount {
  readonly datagrams: number;
  readonly bytes: number;
}

/** What a running datagram relay saw, and how a case acts on it. */
export interface DatagramRelayObservation {
  /** Resolves once both directions have stopped. */
  readonly done: Promise<void>;
  /** Every datagram each side wrote, in order. */
  readonly datagrams: { readonly [D in Direction]: readonly TappedDatagram[] };
  /** What each direction's receiver was handed so far, injected datagrams included. */
  readonly delivered: { readonly [D in Direction]: DeliveredCount };
  /**
   * Delivers a datagram to the receiver of `direction` now, after what the
   * script already let through (a replay or a forgery).
   */
  inject(direction: Direction, datagram: Uint8Array): void;
  /** Stops forwarding: ends both receivers' input and stops reading both senders. */
  stop(): Promise<void>;
}

/** The relay's two side-facing transports and what it saw. */
export interface DatagramRelay extends DatagramRelayObservation {
  /** The transport of the initiator. */
  readonly initiatorTransport: DatagramTransport;
  /** The transport of the responder. */
  readonly responderTransport: DatagramTransport;
}

/** One direction: the sender's far end, the receiver's far end. */
class DatagramLane {
  readonly direction: Direction;
  readonly log: TappedDatagram[] = [];
  readonly #source: ReadableStreamDefaultReader<Uint8Array>;
  readonly #sink: WritableStreamDefaultWriter<Uint8Array>;
  readonly #script: DatagramScript | undefined;
  #datagrams = 0;
  #bytes = 0;
  #stopped = false;

  constructor(
    direction: Direction,
    source: ReadableStream<Uint8Array>,
    sink: WritableStream<Uint8Array>,
    script: DatagramScript | undefined,
  ) {
    this.direction = direction;
    this.#source = source.getReader();
    this.#sink = sink.getWriter();
    this.#script = script;
  }

  get delivered(): DeliveredCount {
    return { datagrams: this.#datagrams, bytes: this.#bytes };
  }

  async pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#source.read();
        if (done || this.#stopped) break;
        const tapped: TappedDatagram = {
          direction: this.direction,
          index: this.log.length,
          bytes: value.slice(),
        };
        this.log.push(tapped);
        const emitted = await this.#script?.(tapped) ?? [tapped.bytes];
        for (const datagram of emitted) this.deliver(datagram);
      }
    } catch {
      // The sender's end failed: nothing more comes from it.
    }
  }

  /** Hands one datagram to the receiver, or drops it if the receiver is not reading. */
  deliver(datagram: Uint8Array): void {
    if (this.#stopped || (this.#sink.desiredSize ?? 0) <= 0) return;
    this.#datagrams++;
    this.#bytes += datagram.length;
    this.#sink.write(datagram.slice()).catch(() => {});
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all([
      this.#source.cancel().catch(() => {}),
      this.#sink.close().catch(() => {}),
    ]);
  }
}

/**
 * Creates a datagram relay and starts forwarding.
 *
 * @param options The script.
 * @returns The transports for the two sides and what the relay observes.
 */
export function createDatagramRelay(options: DatagramRelayOptions = {}): DatagramRelay {
  const [initiatorTransport, initiatorFar] = createDatagramPair();
  const [responderTransport, responderFar] = createDatagramPair();
  const lanes: Record<Direction, DatagramLane> = {
    i2r: new DatagramLane("i2r", initiatorFar.readable, responderFar.writable, options.script),
    r2i: new DatagramLane("r2i", responderFar.readable, initiatorFar.writable, options.script),
  };
  const done = Promise.all([lanes.i2r.pump(), lanes.r2i.pump()]).then(() => {});
  return {
    initiatorTransport,
    responderTransport,
    done,
    datagrams: {
      get i2r(): readonly TappedDatagram[] {
        return lanes.i2r.log;
      },
      get r2i(): readonly TappedDatagram[] {
        return lanes.r2i.log;
      },
    },
    delivered: {
      get i2r(): DeliveredCount {
        return lanes.i2r.delivered;
      },
      get r2i(): DeliveredCount {
        return lanes.r2i.delivered;
      },
    },
    inject: (direction, datagram) => lanes[direction].deliver(datagram),
    stop: async () => {
      await Promise.all([lanes.i2r.stop(), lanes.r2i.stop()]);
    },
  };
}

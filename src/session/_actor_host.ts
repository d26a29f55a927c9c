/**
 * Where the sessions' statechart actors live.
 *
 * XState gives every root actor an actor system of its own: a scheduler,
 * registries and a dozen closures, about 1.5 KiB, which every idle session
 * would carry for nothing. Instead, each session's actors are created as
 * guests of a host actor (XState's `parent` actor option) and share its
 * system. The host is XState transition logic (`fromTransition`) that only
 * stops a guest when asked (XState lets only a parent stop a child) and
 * ignores the done and error events its guests report to it: every guest
 * reports its end there, and transition logic takes an event without the
 * microstep machinery a statechart would run for nothing; nor does a guest's
 * error fail the host (a statechart fails on an error event no transition
 * takes, and would then stop no guest). The guests run exactly as root
 * actors would.
 *
 * A host takes at most {@linkcode GUESTS_PER_HOST} live guests, then the
 * next guest gets a new host: stopping an actor walks every event its system
 * has scheduled, so a system must stay small. Hosts are per clock, because a
 * system's timers run on the clock it was created with; a host that has no
 * guest left is collected with them.
 *
 * @module
 */

import {
  type Actor,
  type AnyActorLogic,
  type AnyActorRef,
  createActor,
  fromTransition,
  type InputFrom,
} from "xstate";
import type { Clock } from "./options.ts";

/** Live guests one host takes before the next guest gets a new host. */
export const GUESTS_PER_HOST = 64;

/** What a host is asked to do; it also receives its guests' done and error events. */
type HostEvent =
  | { readonly type: "host.stopGuest"; readonly guest: AnyActorRef }
  | { readonly type: string; readonly guest?: never };

/** The host: no state; it stops the guest an event names and ignores everything else. */
const hostLogic = fromTransition((state: null, event: HostEvent, scope): null => {
  if (event.type === "host.stopGuest" && event.guest !== undefined) scope.stopChild(event.guest);
  return state;
}, null);

/** One host actor and how many of its guests still run. */
export class ActorHost {
  readonly #host: Actor<typeof hostLogic>;
  #live = 0;

  private constructor(clock: Clock) {
    this.#host = createActor(hostLogic, { clock }).start();
  }

  /**
   * The host that takes the next guest on `clock`.
   *
   * @param clock The clock the guests' timers run on.
   * @returns A host with room for one more guest.
   */
  static for(clock: Clock): ActorHost {
    let host = CURRENT.get(clock);
    if (host === undefined || host.#live >= GUESTS_PER_HOST) {
      host = new ActorHost(clock);
      CURRENT.set(clock, host);
    }
    return host;
  }

  /** Guests created and not yet stopped. */
  get live(): number {
    return this.#live;
  }

  /**
   * Creates an actor of `logic` as a guest (not started: subscribe, then start it).
   *
   * @param logic The statechart.
   * @param input Its input.
   * @returns The actor; stop it with {@linkcode ActorHost.stop}, never `actor.stop()`.
   */
  adopt<TLogic extends AnyActorLogic>(logic: TLogic, input: InputFrom<TLogic>): Actor<TLogic> {
    this.#live++;
    return createActor(logic, { parent: this.#host, input } as never) as Actor<TLogic>;
  }

  /**
   * Stops a guest this host adopted (if it is still running) and frees its
   * place. Call it once per guest.
   *
   * @param guest The actor {@linkcode ActorHost.adopt} returned.
   */
  stop(guest: AnyActorRef): void {
    this.#live--;
    if (guest.getSnapshot().status === "active") {
      this.#host.send({ type: "host.stopGuest", guest });
    }
  }
}

/** The host that takes the next guest, per clock. */
const CURRENT = new WeakMap<Clock, ActorHost>();

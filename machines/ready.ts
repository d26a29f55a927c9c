/**
 * The ready phase: what may arrive and be sent once the handshake is done,
 * until the session ends. Two regions run side by side:
 *
 * - `lifecycle`: application data and extender updates flow both ways until
 *   a Close; closing is a handshake of its own;
 * - `keyUpdate`: the key-update cycle (`key_update.ts`).
 *
 * ```
 * closer -> Close(normal)    its last record; it still reads the peer's data
 * other  -> Close(normal)    the answer, its last record
 * ```
 *
 * A side that wants to close waits until no key update is running
 * (`closeRequested`), sends its Close and waits (`closing`) for the peer's,
 * which proves that every record the peer sent arrived: record nonces are
 * implicit counters, so a peer whose records were dropped, cut short or
 * withheld cannot produce a Close that opens. A side that receives a Close
 * answers it with its own and is done. On datagrams, where a Close can be
 * lost, a side whose session is settled wipes its keys and lingers for
 * `linger` ms, answering whatever still arrives from the peer with the very
 * datagram that carried its Close (at most `LINGER_ANSWERS` times; a peer
 * that already has it drops the copy as a replay), before it lets go.
 * Ends in `closed` (both Close messages
 * crossed; `ERR_PEER_ALERT` if the peer's said "error") or `failed`:
 * `ERR_TIMEOUT` (no Close within `closeTimeout`, or a key update took too
 * long), `ERR_TRANSPORT_CLOSED` (the transport ended without the peer's
 * Close: truncation), `ERR_UNEXPECTED_MESSAGE`, `ERR_ABORTED`, or the code of
 * a record that did not open or of a failed key exchange.
 *
 * Application data (`peer.extenderData`) is accepted in every state of
 * `active`, and all it does is deliver: the runtime may deliver it without a
 * transition while the statechart is `active` (a test checks that both
 * agree), so data costs no statechart step.
 *
 * @module
 */

import { ErrorCode } from "../src/errors.ts";
import {
  createReadyContext,
  FAILED_STATE,
  failTo,
  READY_ROOT_TRANSITIONS,
  readyOutput,
  readySetup,
  retransmitAfter,
} from "./_ready_setup.ts";
import type { TransportVariant } from "./_setup.ts";
import { keyUpdateRegion } from "./key_update.ts";

/** The ready phase's lifecycle: open, closing, closed. */
// deno-lint-ignore explicit-function-return-type
function lifecycle(variant: TransportVariant) {
  return readySetup.createStateConfig({
    initial: "open",
    states: {
      open: {
        id: "readyOpen",
        on: {
          "local.close": "closeRequested",
          "peer.close": { target: "#readySettled", actions: ["closeWith", "sendClose"] },
        },
      },
      closeRequested: {
        always: {
          guard: "isUpdateIdle",
          target: "closing",
          actions: ["sendClose", "markClosing"],
        },
        on: {
          "local.close": {},
          "peer.close": { target: "#readySettled", actions: ["closeWith", "sendClose"] },
        },
      },
      closing: {
        initial: "awaitingPeerClose",
        on: {
          "local.close": {},
          "peer.close": { target: "#readySettled", actions: "closeWith" },
        },
        after: { closeTimeout: failTo(ErrorCode.TIMEOUT) },
        states: {
          awaitingPeerClose: {
            after: retransmitAfter("awaitingPeerClose", variant),
          },
        },
      },
    },
  });
}

/**
 * Builds the ready statechart for one kind of transport. On a stream the
 * waiting states schedule no retransmission timers (nothing is lost there);
 * on datagrams they do, and a settled session lingers.
 *
 * @param variant `"stream"` or `"datagram"`.
 * @returns The ready statechart.
 */
// deno-lint-ignore explicit-function-return-type
export function createReadyMachine(variant: TransportVariant) {
  return readySetup.createMachine({
    id: "ready",
    context: createReadyContext,
    initial: "active",
    output: readyOutput,
    states: {
      active: {
        type: "parallel",
        on: {
          ...READY_ROOT_TRANSITIONS,
          "peer.extenderData": { actions: "deliverMessage" },
          "peer.extenderDataContinuation": { actions: "deliverMessage" },
          "peer.extenderUpdate": { actions: "recordExtenders" },
        },
        states: { lifecycle: lifecycle(variant), keyUpdate: keyUpdateRegion(variant) },
      },
      settled: {
        id: "readySettled",
        always: [{ guard: "isDatagram", target: "lingering" }, { target: "closed" }],
      },
      lingering: {
        entry: ["announceSettled", "resetRetransmits"],
        on: {
          // The keys are gone; our Close may have been lost: answer whatever the
          // peer still sends with the very datagram that carried it, a few times
          // at most (a peer that has it drops the copy as a replay).
          "transport.datagram": {
            guard: "hasAnswersLeft",
            actions: ["repeatClose", "countRetransmit"],
          },
          "peer.*": {},
          "local.*": {},
          "transport.closed": "closed",
        },
        after: { lingerTime: "closed" },
      },
      closed: { id: "readyClosed", type: "final", entry: "announceEnd" },
      failed: FAILED_STATE,
    },
  });
}

/** The ready phase on stream transports: `active`, then `closed` or `failed`. */
export const readyMachine = createReadyMachine("stream");

/** The ready phase on datagram transports: retransmits and lingers after settling. */
export const datagramReadyMachine = createReadyMachine("datagram");

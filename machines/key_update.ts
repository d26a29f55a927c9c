/**
 * The key-update cycle that runs once the handshake is ready: either side
 * rotates the session keys by mixing a fresh classical AND a fresh
 * post-quantum secret into the chaining key, so no window is ever protected
 * by classical keys alone.
 *
 * ```
 * starter -> BeginKeyUpdate(epoch, classical offer, post-quantum offer)   old keys
 * other   -> EndKeyUpdate(epoch, classical answer, post-quantum answer)   old keys; other now sends new
 * starter -> KeyUpdateReady(epoch)                                        old keys; starter now sends new
 * ```
 *
 * Each side switches its receive keys exactly where the peer switched its
 * send keys: the starter right after reading `EndKeyUpdate`, the other
 * right after reading `KeyUpdateReady`. On datagrams the other side keeps
 * sending with the old keys until `KeyUpdateReady` proves the starter holds
 * the new ones.
 *
 * Simultaneous starts are resolved deterministically: the responder's
 * update wins. A responder that receives the initiator's `BeginKeyUpdate`
 * while waiting for its own answer ignores it; the initiator abandons its
 * own update and answers the responder's.
 *
 * No update starts once this side has sent its Close, and a peer's
 * `BeginKeyUpdate` that arrives after it is not answered (the peer's Close
 * follows under its current keys). An update that does not finish within
 * `maxDuration` fails with `ERR_TIMEOUT`; a key-update message out of place
 * or for the wrong epoch fails with `ERR_UNEXPECTED_MESSAGE`.
 *
 * @module
 */

import { ErrorCode } from "../src/errors.ts";
import {
  createReadyContext,
  FAILED_STATE,
  failTo,
  GUARDS,
  READY_ROOT_TRANSITIONS,
  readyOutput,
  readySetup,
  retransmitAfter,
} from "./_ready_setup.ts";
import type { TransportVariant } from "./_setup.ts";

export type {
  ReadyCommand as KeyUpdateCommand,
  ReadyEvent as KeyUpdateEvent,
  ReadyInput as KeyUpdateInput,
} from "./_ready_setup.ts";

/**
 * The key-update cycle as a region that the ready statechart composes.
 *
 * @param variant The transport it is built for: on streams the waiting
 *   states schedule no retransmission.
 * @returns The region's states.
 */
// deno-lint-ignore explicit-function-return-type
export function keyUpdateRegion(variant: TransportVariant) {
  return readySetup.createStateConfig({
    initial: "idle",
    states: {
      idle: {
        id: "keyUpdateIdle",
        on: {
          "local.requestUpdate": { guard: "isOpen", target: "updating" },
          "peer.beginKeyUpdate": [
            { guard: GUARDS.nextEpochWhileOpen, target: "updating.answering" },
            // After our Close we answer nothing: the peer's Close follows under its current keys.
            { guard: GUARDS.closingOnly },
          ],
        },
        after: { keyUpdateInterval: { guard: "isOpen", target: "updating" } },
      },
      updating: {
        initial: "offering",
        on: { "local.requestUpdate": {} },
        after: { keyUpdateTimeout: failTo(ErrorCode.TIMEOUT) },
        states: {
          offering: {
            entry: "requestOffer",
            on: {
              "crypto.updateOffered": { target: "awaitingAnswer", actions: "sendBegin" },
              // The peer started first and has not seen an offer from us: answer it.
              "peer.beginKeyUpdate": { guard: "isForNextEpoch", target: "answering" },
            },
          },
          awaitingAnswer: {
            on: {
              // The peer already sends with the new keys: receive with them at once.
              "peer.endKeyUpdate": {
                guard: "isForNextEpoch",
                target: "finishing",
                actions: ["requestFinish", "activateReceive"],
              },
              "peer.beginKeyUpdate": [
                // Both started: the responder's update wins, the initiator answers it.
                { guard: "isResponder" },
                { guard: "isForNextEpoch", target: "answering" },
              ],
            },
            after: retransmitAfter("awaitingAnswer", variant),
          },
          finishing: {
            on: {
              "crypto.updateFinished": {
                target: "#keyUpdateIdle",
                actions: [
                  "sendReady",
                  "activateSend",
                  "scheduleNext",
                  "announceUpdate",
                  "advanceEpoch",
                ],
              },
            },
          },
          answering: {
            entry: "requestAnswer",
            on: {
              "crypto.updateAnswered": [
                {
                  // Datagrams: receive the new epoch at once, keep sending the old
                  // one until the starter proves it holds the new keys.
                  guard: "isDatagram",
                  target: "awaitingReady",
                  actions: ["sendEnd", "activateReceive", "scheduleNext"],
                },
                { target: "awaitingReady", actions: ["sendEnd", "activateSend", "scheduleNext"] },
              ],
            },
          },
          awaitingReady: {
            on: {
              "peer.keyUpdateReady": [
                {
                  guard: GUARDS.datagramNextEpoch,
                  target: "#keyUpdateIdle",
                  actions: ["activateSend", "announceUpdate", "advanceEpoch"],
                },
                {
                  guard: "isForNextEpoch",
                  target: "#keyUpdateIdle",
                  actions: ["activateReceive", "announceUpdate", "advanceEpoch"],
                },
              ],
            },
            after: retransmitAfter("awaitingReady", variant),
          },
        },
      },
    },
  });
}

/**
 * The key-update cycle alone: `idle` between updates, `failed` (final) on
 * error. Built for datagrams, the complete cycle (the input's transport
 * decides whether retransmissions happen).
 */
export const keyUpdateMachine = readySetup.createMachine({
  id: "keyUpdate",
  context: createReadyContext,
  initial: "idle",
  on: READY_ROOT_TRANSITIONS,
  output: readyOutput,
  states: { ...keyUpdateRegion("datagram").states, failed: FAILED_STATE },
});

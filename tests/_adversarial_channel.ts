/**
 * The scriptable adversary between an initiator and a responder, for the
 * handshake property and MITM tests. It lives in the conformance suite
 * (`src/conformance/_relay.ts`), which runs the same relay against any
 * implementation; this file keeps the tests' import path.
 *
 * @module
 */

export {
  createRelay,
  DIRECTIONS,
  EXPORT_LABEL,
  lengthHeader,
  lengthMask,
  observe,
  opposite,
  PASS_THROUGH,
  runHandshake,
  startRelay,
  withDeadline,
  xorHeader,
} from "../src/conformance/_relay.ts";
export type {
  DeliveryStep,
  Direction,
  Emission,
  HandshakeRun,
  Observation,
  OpenedRecord,
  ReadyOutcome,
  RecordContext,
  RecordParts,
  Relay,
  RelayObservation,
  RelayOptions,
  RelayScript,
  RunOptions,
  SideOutcome,
  TappedRecord,
} from "../src/conformance/_relay.ts";

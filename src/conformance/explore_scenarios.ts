/**
 * The configurations the exploration runs: each side's identity, whether it
 * requires authentication and whom it allows, over streams or datagrams,
 * with or without a GSS.
 *
 * @module
 */

/** One configuration the exploration runs. */
export interface ExplorationScenario {
  /** A name for the report. */
  readonly name: string;
  /** Records may be lost, duplicated or reordered, and flights are retransmitted. */
  readonly transport: "stream" | "datagram";
  /** Whether both sides hold a GSS (the adversary then cannot seal epoch 0). */
  readonly gss: boolean;
  /** Each side's identity (a name), whether it requires authentication, whom it allows. */
  readonly initiator: ExplorationSide;
  /** The responder's identity, requirement and allowed peers. */
  readonly responder: ExplorationSide;
}

/** One side of a scenario. */
export interface ExplorationSide {
  /** The identity's name, if this side authenticates. */
  readonly identity?: string;
  /** Whether the peer must authenticate. */
  readonly requireAuthentication: boolean;
  /** Identities the access list allows. */
  readonly allows: readonly string[];
}

/**
 * The scenarios explored by default: anonymous, mutual authentication with
 * and without a GSS, two configurations that must fail, and two over
 * datagrams.
 *
 * @example Exploring one scenario
 * ```ts
 * import { DEFAULT_EXPLORATION_SCENARIOS, exploreHandshake } from "@qgate/handshake/conformance";
 * import assert from "node:assert/strict";
 *
 * const failing = DEFAULT_EXPLORATION_SCENARIOS.find((s) => s.name.startsWith("required but"))!;
 * const report = exploreHandshake({ depth: 0, scenarios: [failing] });
 * assert.equal(report.scenarios[0]!.terminals["ready/ready"], undefined);
 * ```
 */
export const DEFAULT_EXPLORATION_SCENARIOS: readonly ExplorationScenario[] = [
  {
    name: "anonymous",
    transport: "stream",
    gss: false,
    initiator: { requireAuthentication: false, allows: [] },
    responder: { requireAuthentication: false, allows: [] },
  },
  {
    name: "mutual authentication",
    transport: "stream",
    gss: false,
    initiator: { identity: "alice", requireAuthentication: true, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
  {
    name: "mutual authentication with a GSS",
    transport: "stream",
    gss: true,
    initiator: { identity: "alice", requireAuthentication: true, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
  {
    name: "required but the initiator is anonymous",
    transport: "stream",
    gss: false,
    initiator: { requireAuthentication: false, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
  {
    name: "required but the responder is unknown",
    transport: "stream",
    gss: false,
    initiator: { identity: "alice", requireAuthentication: true, allows: [] },
    responder: { identity: "bob", requireAuthentication: false, allows: [] },
  },
  {
    name: "anonymous over datagrams",
    transport: "datagram",
    gss: false,
    initiator: { requireAuthentication: false, allows: [] },
    responder: { requireAuthentication: false, allows: [] },
  },
  {
    name: "mutual authentication over datagrams",
    transport: "datagram",
    gss: false,
    initiator: { identity: "alice", requireAuthentication: true, allows: ["bob"] },
    responder: { identity: "bob", requireAuthentication: true, allows: ["alice"] },
  },
];

/**
 * The `property` cases: fast-check properties over delivery orderings and
 * chunkings, noise, random attacks from the catalogue, length and bit flips,
 * truncations at any byte and replays of earlier records. Each reports its
 * seed, and a failure its path, to reproduce it.
 *
 * @module
 */

import fc from "fast-check";
import { ErrorCode } from "../errors.ts";
import { DEFAULT_PREFERENCES } from "../handshake_policy.ts";
import { DEFAULT_MAX_RECORD_LENGTH } from "../codec/stream_records.ts";
import type { MessageKind } from "../codec/message_types.ts";
import type { ConformanceRole } from "./adapter.ts";
import {
  directionOfKind,
  exampleMessage,
  type Expectation,
  HANDSHAKE_KINDS,
  type HandshakeKind,
  type Mutation,
  phaseOfKind,
} from "./_mutations.ts";
import {
  type DeliveryStep,
  type Direction,
  type Emission,
  lengthHeader,
  type TappedRecord,
} from "./_relay.ts";
import { type Case, type Context, play } from "./_case.ts";
import { only, sampledCombinations } from "./_combinations.ts";
import { otherRole } from "../viz/_standin.ts";
import { type AuthenticationMode, authenticationSides, expectedSuite } from "./_fixtures.ts";
import { checkReady, fail, type PropertyFinding, READY } from "./_findings.ts";
import { runMutation, usableMutations } from "./_mutation_cases.ts";

const { DECRYPT_FAILED, TRANSPORT_CLOSED } = ErrorCode;

const deliveryStep = (maxSleep: number): fc.Arbitrary<DeliveryStep> =>
  fc.record({
    direction: fc.constantFrom<Direction | "either">("i2r", "r2i", "either"),
    size: fc.oneof(
      fc.constant(1),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 4_096 }),
      fc.constant(0),
    ),
    yields: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 8 }),
    }),
    sleep: maxSleep === 0 ? fc.constant(0) : fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: maxSleep }) },
    ),
  }).map((step) => ({ ...step }));

const scheduleArbitrary = fc.record({
  prelude: fc.array(deliveryStep(2), { maxLength: 16 }),
  schedule: fc.array(deliveryStep(0), { minLength: 1, maxLength: 6 }),
}).map((value) => ({ ...value }));

const roleArbitrary = fc.constantFrom<ConformanceRole>("initiator", "responder");

/** Runs a property and turns fast-check's report into a finding. */
async function property<T>(
  context: Context,
  expected: string,
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Promise<string[]>,
): Promise<PropertyFinding> {
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      const problems = await check(value);
      if (problems.length > 0) throw new Error(problems.join("; "));
    }),
    {
      seed: context.seed,
      numRuns: context.numRuns,
      endOnFailure: true,
      ...(context.path === undefined ? {} : { path: context.path }),
    },
  );
  if (!details.failed) {
    return { expected, actual: expected, problems: [], runs: details.numRuns, seed: details.seed };
  }
  const error = details.errorInstance;
  const message = error instanceof Error ? error.message : String(error ?? "too many skips");
  return {
    expected,
    actual: message,
    problems: [message],
    runs: details.numRuns,
    seed: details.seed,
    ...(details.counterexamplePath === null ? {} : { path: details.counterexamplePath }),
    counterexample: safeJson(details.counterexample),
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(
      value,
      (_key, field) => field instanceof Uint8Array ? `<${field.length} bytes>` : field,
    );
  } catch {
    return String(value);
  }
}

function pickRole(context: Context, drawn: ConformanceRole): ConformanceRole {
  return context.roles.includes(drawn) ? drawn : context.roles[0]!;
}

/** One case per property; each draws the implementation's role. */
export function propertyCases(context: Context): Case[] {
  const combos = sampledCombinations(8, context.seed);
  const modes: AuthenticationMode[] = ["none", "responder", "initiator", "mutual"];
  const usable = usableMutations(context.identities);
  const targetArbitrary = fc.constantFrom<HandshakeKind>(...HANDSHAKE_KINDS);
  const make = (name: string, run: () => Promise<PropertyFinding>): Case => ({
    id: `property/${name}`,
    category: "property",
    role: "both",
    run,
  });

  return [
    make(
      "orderings-and-chunkings",
      () =>
        property(
          context,
          "ready, same suite and keys",
          fc.record({
            role: roleArbitrary,
            combination: fc.nat({ max: combos.length - 1 }),
            mode: fc.constantFrom(...modes),
            gss: fc.boolean(),
            delivery: scheduleArbitrary,
          }).map((value) => ({ ...value })),
          async ({ role, combination, mode, gss, delivery }) => {
            const iutRole = pickRole(context, role);
            const sides = authenticationSides(context.identities, mode);
            const algorithms = only(combos[combination]!);
            const secret = gss ? new Uint8Array(32).fill(0x47) : undefined;
            const result = await play(
              context,
              iutRole,
              {
                initiator: { ...sides.initiator, algorithms, gss: secret },
                responder: { ...sides.responder, algorithms, gss: secret },
              },
              "orderings",
              { relay: () => delivery },
            );
            const peer = sides[otherRole(iutRole)].identity;
            return [
              ...checkReady(result, {
                suite: combos[combination]!,
                peer,
                authenticated: peer !== undefined,
              }).problems,
            ];
          },
        ),
    ),
    make(
      "noise-anywhere",
      () =>
        property(
          context,
          "ready despite noise",
          fc.record({
            role: roleArbitrary,
            atStart: fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 3 }),
            bursts: fc.array(
              fc.record({
                after: fc.nat({ max: 14 }),
                lengths: fc.array(fc.integer({ min: 0, max: 2_000 }), {
                  minLength: 1,
                  maxLength: 3,
                }),
              })
                .map((value) => ({ ...value })),
              { maxLength: 4 },
            ),
            delivery: scheduleArbitrary,
          }).map((value) => ({ ...value })),
          async ({ role, atStart, bursts, delivery }) => {
            const iutRole = pickRole(context, role);
            const sides = authenticationSides(context.identities, "mutual");
            const result = await play(context, iutRole, sides, "noise", {
              relay: () => delivery,
              onReference: (session) => {
                const send = (lengths: readonly number[]) => {
                  for (const length of lengths) session.sendNoise(length).catch(() => {});
                };
                send(atStart);
                let states = 0;
                session.on("state", () => {
                  states++;
                  for (const burst of bursts) if (burst.after === states) send(burst.lengths);
                });
              },
            });
            const peer = sides[otherRole(iutRole)].identity;
            return [
              ...checkReady(result, {
                suite: expectedSuite(DEFAULT_PREFERENCES, DEFAULT_PREFERENCES),
                peer,
                authenticated: true,
              }).problems,
            ];
          },
        ),
    ),
    make(
      "attacks-from-the-catalogue",
      () =>
        property(
          context,
          "the catalogue's code for each side",
          fc.record({
            role: roleArbitrary,
            mutation: fc.nat({ max: usable.length - 1 }),
            delivery: scheduleArbitrary,
          }).map((value) => ({ ...value })),
          async (
            { role, mutation, delivery },
          ) => [
            ...(await runMutation(context, usable[mutation]!, pickRole(context, role), delivery))
              .problems,
          ],
        ),
    ),
    make(
      "length-and-bit-flips",
      () =>
        property(
          context,
          "ERR_DECRYPT_FAILED / ERR_FRAME_TOO_LARGE / ERR_MALFORMED_MESSAGE",
          fc.record({
            role: roleArbitrary,
            target: targetArbitrary,
            inHeader: fc.boolean(),
            bit: fc.nat(),
          }).map((value) => ({ ...value })),
          async ({ role, target, inHeader, bit }) => {
            let expectation: Expectation = fail(DECRYPT_FAILED, phaseOfKind(target));
            const flip: Mutation = {
              id: `flip/${target}`,
              comment: "",
              flags: [],
              target,
              apply: ({ record }) => {
                if (!inHeader) {
                  const ciphertext = record.ciphertext.slice();
                  const at = bit % (ciphertext.length * 8);
                  ciphertext[at >> 3]! ^= 1 << (at & 7);
                  return [{ record: { header: record.header, ciphertext } }];
                }
                const length = (record.header[0]! << 16) | (record.header[1]! << 8) |
                  record.header[2]!;
                const claimed = length ^ (1 << (bit % 24));
                if (claimed > DEFAULT_MAX_RECORD_LENGTH) {
                  expectation = fail(ErrorCode.FRAME_TOO_LARGE, phaseOfKind(target));
                  return [{
                    record: { header: lengthHeader(claimed), ciphertext: record.ciphertext },
                  }];
                }
                if (claimed < 17) {
                  expectation = fail(ErrorCode.MALFORMED_MESSAGE, phaseOfKind(target));
                  return [{
                    record: { header: lengthHeader(claimed), ciphertext: record.ciphertext },
                  }];
                }
                // The record is cut or zero-extended to the claimed length: complete, and forged.
                const ciphertext = new Uint8Array(claimed);
                ciphertext.set(record.ciphertext.subarray(0, claimed));
                return [{ record: { header: lengthHeader(claimed), ciphertext } }];
              },
              expect: () => ({ receiver: expectation, sender: senderAfter(target) }),
            };
            return [...(await runMutation(context, flip, pickRole(context, role))).problems];
          },
        ),
    ),
    make(
      "truncation-at-any-byte",
      () =>
        property(
          context,
          "ERR_FRAME_TRUNCATED inside a record, ERR_TRANSPORT_CLOSED between records",
          fc.record({ role: roleArbitrary, target: targetArbitrary, cut: fc.nat() }).map((
            value,
          ) => ({ ...value })),
          async ({ role, target, cut }) => {
            let expectation: Expectation = fail(TRANSPORT_CLOSED, phaseOfKind(target));
            const truncate: Mutation = {
              id: `truncate/${target}`,
              comment: "",
              flags: [],
              target,
              apply: ({ record, context: relay }) => {
                const wire = new Uint8Array([
                  ...relay.mask(record.header, relay.outIndex),
                  ...record.ciphertext,
                ]);
                const kept = cut % wire.length;
                if (kept > 0) expectation = fail(ErrorCode.FRAME_TRUNCATED, phaseOfKind(target));
                return [{ bytes: wire.subarray(0, kept) }, { end: "close" }] as Emission[];
              },
              expect: () => ({ receiver: expectation, sender: senderAfter(target) }),
            };
            return [...(await runMutation(context, truncate, pickRole(context, role))).problems];
          },
        ),
    ),
    make(
      "replayed-earlier-record",
      () =>
        property(
          context,
          "ERR_DECRYPT_FAILED",
          fc.record({
            role: roleArbitrary,
            target: fc.constantFrom<HandshakeKind>(...HANDSHAKE_KINDS.slice(2)),
            source: fc.nat(),
          }).map((value) => ({ ...value })),
          async ({ role, target, source }) => {
            const seen: TappedRecord[] = [];
            const direction = directionOfKind(target);
            const replay: Mutation = {
              id: `replay/${target}`,
              comment: "",
              flags: [],
              target,
              observe: (record) => void (record.direction === direction && seen.push(record)),
              apply: ({ record }) => [{ record: seen[source % seen.length] ?? record }],
              expect: () => ({
                receiver: fail(DECRYPT_FAILED, phaseOfKind(target)),
                sender: senderAfter(target),
              }),
            };
            return [...(await runMutation(context, replay, pickRole(context, role))).problems];
          },
        ),
    ),
    make(
      "wrong-phase-messages",
      () =>
        property(
          context,
          "ERR_UNEXPECTED_MESSAGE",
          fc.record({ role: roleArbitrary, target: targetArbitrary, kind: fc.nat() }).map((
            value,
          ) => ({ ...value })),
          async ({ role, target, kind }) => {
            const kinds = (Object.keys(KIND_EXAMPLES) as Exclude<MessageKind, "noise">[]).filter((
              name,
            ) => name !== target);
            const sent = kinds[kind % kinds.length]!;
            const wrong: Mutation = {
              id: `wrong/${target}/${sent}`,
              comment: "",
              flags: [],
              target,
              apply: ({ tracked, environment }) => [{
                record: environment.tracker.seal(tracked.direction, exampleMessage(sent), {
                  epoch: tracked.epoch,
                  counter: tracked.counter,
                }),
              }],
              expect: () => ({
                receiver: fail(ErrorCode.UNEXPECTED_MESSAGE, phaseOfKind(target)),
                sender: senderAfter(target),
              }),
            };
            return [...(await runMutation(context, wrong, pickRole(context, role))).problems];
          },
        ),
    ),
  ];
}

const KIND_EXAMPLES: Record<Exclude<MessageKind, "noise">, true> = {
  beginMetaExchange: true,
  endMetaExchange: true,
  beginPrimaryKeyExchange: true,
  endPrimaryKeyExchange: true,
  beginSecondaryKeyExchange: true,
  endSecondaryKeyExchange: true,
  beginAuthentication: true,
  endAuthentication: true,
  beginSessionInit: true,
  endSessionInit: true,
  beginKeyUpdate: true,
  endKeyUpdate: true,
  keyUpdateReady: true,
  extenderData: true,
  extenderUpdate: true,
  extenderDataContinuation: true,
  close: true,
};

function senderAfter(kind: HandshakeKind): Expectation {
  return kind === "endSessionInit" ? READY : fail(TRANSPORT_CLOSED);
}

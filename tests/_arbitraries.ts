/**
 * fast-check arbitraries for every message and for record inputs, shared by
 * every property test. All are built from bounded, shrinkable sources
 * (`fc.record`, `fc.oneof`, `fc.constantFrom`, `fc.uint8Array({ maxLength })`,
 * `fc.uniqueArray`) and `.map`, never `.filter`, so counterexamples shrink.
 *
 * Values are plain objects (fast-check's `fc.record` builds null-prototype
 * objects, which `assert.deepEqual` tells apart from decoded messages, so every
 * record is re-spread). Byte fields are fresh arrays; lengths are kept small by default so that
 * properties stay fast (pass a larger `maxLength` where size matters).
 *
 * @module
 */

import fc from "fast-check";
import { AEADS, HASHES, KEY_EXCHANGES, SIGNATURES } from "../src/crypto/types.ts";
import { MESSAGE_TYPE } from "../src/codec/message_types.ts";
import type {
  AuthenticationMessage,
  BeginMetaExchangeMessage,
  CloseMessage,
  EndMetaExchangeMessage,
  ExtenderDataContinuationMessage,
  ExtenderDataMessage,
  ExtenderUpdateMessage,
  KeyShareMessage,
  KeyUpdateReadyMessage,
  Message,
  MessageKind,
  NoiseMessage,
  SessionInitMessage,
} from "../src/codec/message_types.ts";

/** A message of one kind. */
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;

/** Every message kind, in wire-number order. */
export const MESSAGE_KINDS: readonly MessageKind[] = Object.keys(MESSAGE_TYPE) as MessageKind[];

/** Wire numbers of every message type. */
export const MESSAGE_TYPES: readonly number[] = Object.values(MESSAGE_TYPE);

const REGISTERED_IDS: number[] = [
  ...new Set([...KEY_EXCHANGES, ...AEADS, ...HASHES, ...SIGNATURES].map((info) => info.id)),
];

/** Byte strings of exactly `length` bytes. */
export function fixedBytesArbitrary(length: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: length, maxLength: length });
}

/** A 16-bit algorithm id: usually a registered one, sometimes any u16. */
export const algorithmIdArbitrary: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...REGISTERED_IDS) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);

/** An algorithm list: 1 to `maxLength` (≤ 255) unique ids in random order. */
export function algorithmListArbitrary(maxLength = 255): fc.Arbitrary<number[]> {
  return fc.uniqueArray(algorithmIdArbitrary, { minLength: 1, maxLength });
}

/** An 8-byte session id. */
export const sessionIdArbitrary: fc.Arbitrary<Uint8Array> = fixedBytesArbitrary(8);

/** A 16-byte UUID. */
export const uuidArbitrary: fc.Arbitrary<Uint8Array> = fixedBytesArbitrary(16);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** A strictly ascending list of 0 to `maxLength` unique UUIDs. */
export function uuidListArbitrary(maxLength = 16): fc.Arbitrary<Uint8Array[]> {
  return fc
    .uniqueArray(uuidArbitrary, { maxLength, selector: (uuid) => uuid.join(",") })
    .map((uuids) => [...uuids].sort(compareBytes));
}

/** A key share, public key or proof: 1 to `maxLength` (≤ 65,535) bytes. */
export function shareArbitrary(maxLength = 96): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: 1, maxLength });
}

/** A protocol version `{ major, minor }` of two bytes. */
export const versionArbitrary: fc.Arbitrary<{ major: number; minor: number }> = fc.record({
  major: fc.integer({ min: 0, max: 255 }),
  minor: fc.integer({ min: 0, max: 255 }),
}).map(({ major, minor }) => ({ major, minor }));

/** A u32 epoch. */
export const epochArbitrary: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 16 }),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);

type KeyShareKind =
  | "beginPrimaryKeyExchange"
  | "endPrimaryKeyExchange"
  | "beginSecondaryKeyExchange"
  | "endSecondaryKeyExchange";

function keyShare<K extends KeyShareKind>(
  kind: K,
): fc.Arbitrary<KeyShareMessage<K>> {
  return shareArbitrary().map((share) => ({ kind, share }));
}

function authentication<K extends "beginAuthentication" | "endAuthentication">(
  kind: K,
): fc.Arbitrary<AuthenticationMessage<K>> {
  return fc.oneof(
    fc.constant({ kind }),
    fc
      .record({
        signature: algorithmIdArbitrary,
        publicKey: shareArbitrary(),
        proof: shareArbitrary(),
      })
      .map((identity) => ({ kind, identity: { ...identity } })),
  );
}

function sessionInit<K extends "beginSessionInit" | "endSessionInit">(
  kind: K,
): fc.Arbitrary<SessionInitMessage<K>> {
  return fc.tuple(
    uuidListArbitrary(),
    fc.oneof(fc.constant(1_048_576), fc.integer({ min: 1_024, max: 0xffff_ffff })),
  ).map(([extenders, maxMessageSize]) =>
    maxMessageSize === 1_048_576 ? { kind, extenders } : { kind, extenders, maxMessageSize }
  );
}

function keyUpdate<K extends "beginKeyUpdate" | "endKeyUpdate">(
  kind: K,
): fc.Arbitrary<MessageOf<K>> {
  return fc
    .record({
      epoch: epochArbitrary,
      primaryShare: shareArbitrary(),
      secondaryShare: shareArbitrary(),
    })
    .map((fields) => ({ kind, ...fields }) as MessageOf<K>);
}

/** One arbitrary per message kind. */
export const messageArbitraries: { readonly [K in MessageKind]: fc.Arbitrary<MessageOf<K>> } = {
  noise: fc.uint8Array({ maxLength: 64 }).map((data): NoiseMessage => ({ kind: "noise", data })),
  beginMetaExchange: fc
    .record({
      version: versionArbitrary,
      sessionId: sessionIdArbitrary,
      requireAuthentication: fc.boolean(),
      primaryKeyExchanges: algorithmListArbitrary(),
      secondaryKeyExchanges: algorithmListArbitrary(),
      aeads: algorithmListArbitrary(),
      hashes: algorithmListArbitrary(),
      signatures: algorithmListArbitrary(),
    })
    .map((fields): BeginMetaExchangeMessage => ({ kind: "beginMetaExchange", ...fields })),
  endMetaExchange: fc
    .record({
      version: versionArbitrary,
      sessionId: sessionIdArbitrary,
      requireAuthentication: fc.boolean(),
      primaryKeyExchange: algorithmIdArbitrary,
      secondaryKeyExchange: algorithmIdArbitrary,
      aead: algorithmIdArbitrary,
      hash: algorithmIdArbitrary,
      signatures: algorithmListArbitrary(),
    })
    .map((fields): EndMetaExchangeMessage => ({ kind: "endMetaExchange", ...fields })),
  beginPrimaryKeyExchange: keyShare("beginPrimaryKeyExchange"),
  endPrimaryKeyExchange: keyShare("endPrimaryKeyExchange"),
  beginSecondaryKeyExchange: keyShare("beginSecondaryKeyExchange"),
  endSecondaryKeyExchange: keyShare("endSecondaryKeyExchange"),
  beginAuthentication: authentication("beginAuthentication"),
  endAuthentication: authentication("endAuthentication"),
  beginSessionInit: sessionInit("beginSessionInit"),
  endSessionInit: sessionInit("endSessionInit"),
  beginKeyUpdate: keyUpdate("beginKeyUpdate"),
  endKeyUpdate: keyUpdate("endKeyUpdate"),
  keyUpdateReady: epochArbitrary.map((epoch): KeyUpdateReadyMessage => ({
    kind: "keyUpdateReady",
    epoch,
  })),
  extenderData: fc
    .record({
      extender: uuidArbitrary,
      data: fc.uint8Array({ maxLength: 64 }),
      more: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 24 })),
    })
    .map(({ extender, data, more }): ExtenderDataMessage =>
      more === 0
        ? { kind: "extenderData", extender, data }
        : { kind: "extenderData", extender, total: data.length + more, data }
    ),
  extenderDataContinuation: fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map((data): ExtenderDataContinuationMessage => ({ kind: "extenderDataContinuation", data })),
  extenderUpdate: uuidListArbitrary().map((extenders): ExtenderUpdateMessage => ({
    kind: "extenderUpdate",
    extenders,
  })),
  close: fc.constantFrom(0, 1).map((reason): CloseMessage => ({ kind: "close", reason })),
};

/** The arbitrary of one kind, typed as any message. */
export function messageArbitraryOf(kind: MessageKind): fc.Arbitrary<Message> {
  return messageArbitraries[kind] as fc.Arbitrary<Message>;
}

/** Any message, every kind equally likely. */
export const messageArbitrary: fc.Arbitrary<Message> = fc.oneof(
  ...MESSAGE_KINDS.map(messageArbitraryOf),
);

/** What a record sealer takes: a message type byte, a body and a padding length. */
export interface RecordInput {
  type: number;
  body: Uint8Array;
  paddingLength: number;
}

/**
 * Record inputs: any type byte (valid messages are not needed at the record
 * layer), a body of up to `maxBody` bytes and up to `maxPadding` zero bytes.
 */
export function recordInputArbitrary(maxBody = 64, maxPadding = 16): fc.Arbitrary<RecordInput> {
  return fc.record({
    type: fc.oneof(fc.constantFrom(...MESSAGE_TYPES), fc.integer({ min: 0, max: 255 })),
    body: fc.uint8Array({ maxLength: maxBody }),
    paddingLength: fc.integer({ min: 0, max: maxPadding }),
  });
}

/** A record input built from a valid message. */
export const messageRecordInputArbitrary: fc.Arbitrary<
  { message: Message; paddingLength: number }
> = fc.record({ message: messageArbitrary, paddingLength: fc.integer({ min: 0, max: 16 }) });

/** Split points for chunking `length` bytes: sorted offsets in `(0, length)`. */
export function splitPointsArbitrary(length: number): fc.Arbitrary<number[]> {
  if (length < 2) return fc.constant([]);
  return fc
    .oneof(
      fc.uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: 24 }),
      fc.constant(Array.from({ length: length - 1 }, (_, i) => i + 1)),
    )
    .map((points) => [...points].sort((a, b) => a - b));
}

/** Cuts `bytes` at sorted `points` into chunks (views of `bytes`). */
export function chunk(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

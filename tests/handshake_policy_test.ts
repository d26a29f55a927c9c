import assert from "node:assert/strict";
import {
  acceptedSuite,
  type AlgorithmPreferences,
  cannotSatisfyPeer,
  chooseSuite,
  DEFAULT_PREFERENCES,
  fromWireIds,
  isCompatibleVersion,
  isPeerAuthenticated,
  isPostQuantumSuite,
  judgePeer,
  type NegotiatedSuite,
  type PeerVerdict,
  toWireIds,
} from "../src/handshake_policy.ts";
import { AEADS, HASHES, KEY_EXCHANGES, SIGNATURES } from "../src/crypto/types.ts";
import {
  type BeginMetaExchangeMessage,
  type EndMetaExchangeMessage,
  PROTOCOL_VERSION,
} from "../src/codec/message_types.ts";
import { ErrorCode } from "../src/errors.ts";
import { CHOICE } from "./_meta_messages.ts";

/** A responder that offers one algorithm per category. */
const NARROW: AlgorithmPreferences = {
  primaryKeyExchanges: ["X25519"],
  secondaryKeyExchanges: ["ML-KEM-768"],
  aeads: ["ChaCha20-Poly1305"],
  hashes: ["SHA-256"],
  signatures: ["Ed25519"],
};

/**
 * Per category, choices the narrow responder did not offer: a known algorithm
 * of the same category, an algorithm of the other key-exchange slot, and an id
 * nobody knows.
 */
const NOT_OFFERED: readonly {
  readonly category: keyof Pick<
    EndMetaExchangeMessage,
    "primaryKeyExchange" | "secondaryKeyExchange" | "aead" | "hash"
  >;
  readonly id: number;
  readonly what: string;
}[] = [
  { category: "primaryKeyExchange", id: 0x0002, what: "X448" },
  { category: "primaryKeyExchange", id: 0x0102, what: "ML-KEM-768, offered for the other slot" },
  { category: "primaryKeyExchange", id: 0x7777, what: "an unknown id" },
  { category: "secondaryKeyExchange", id: 0x0103, what: "ML-KEM-1024" },
  { category: "secondaryKeyExchange", id: 0x0001, what: "X25519, offered for the other slot" },
  { category: "secondaryKeyExchange", id: 0x7777, what: "an unknown id" },
  { category: "aead", id: 0x0003, what: "AES-256-GCM" },
  { category: "aead", id: 0x7777, what: "an unknown id" },
  { category: "hash", id: 0x0002, what: "SHA-512" },
  { category: "hash", id: 0x7777, what: "an unknown id" },
];

Deno.test("acceptedSuite() accepts a choice the responder offered in every category", () => {
  assert.deepEqual(
    acceptedSuite(CHOICE, NARROW),
    {
      primaryKeyExchange: "X25519",
      secondaryKeyExchange: "ML-KEM-768",
      aead: "ChaCha20-Poly1305",
      hash: "SHA-256",
    } satisfies NegotiatedSuite,
  );
});

Deno.test("acceptedSuite() rejects a choice not offered, one category at a time", async (t) => {
  for (const { category, id, what } of NOT_OFFERED) {
    await t.step(`${category}: ${what}`, () => {
      assert.equal(acceptedSuite({ ...CHOICE, [category]: id }, NARROW), undefined);
    });
  }
});

Deno.test("acceptedSuite() accepts any entry of a longer offer, not only the first", () => {
  const wide: AlgorithmPreferences = {
    ...NARROW,
    primaryKeyExchanges: ["X25519", "X448"],
    secondaryKeyExchanges: ["ML-KEM-768", "ML-KEM-1024"],
    aeads: ["ChaCha20-Poly1305", "AES-256-GCM"],
    hashes: ["SHA-256", "SHA-512"],
  };
  assert.deepEqual(
    acceptedSuite(
      { ...CHOICE, primaryKeyExchange: 2, secondaryKeyExchange: 0x0103, aead: 3, hash: 2 },
      wide,
    ),
    {
      primaryKeyExchange: "X448",
      secondaryKeyExchange: "ML-KEM-1024",
      aead: "AES-256-GCM",
      hash: "SHA-512",
    },
  );
});

const OFFER: BeginMetaExchangeMessage = {
  kind: "beginMetaExchange",
  version: PROTOCOL_VERSION,
  sessionId: new Uint8Array(8),
  requireAuthentication: false,
  primaryKeyExchanges: [0x0002, 0x0001],
  secondaryKeyExchanges: [0x0103, 0x0102],
  aeads: [0x0003, 0x0001],
  hashes: [0x0002, 0x0001],
  signatures: [0x0001],
};

Deno.test("chooseSuite() picks the responder's first entry the initiator supports", () => {
  assert.deepEqual(chooseSuite(OFFER, DEFAULT_PREFERENCES), {
    primaryKeyExchange: "X448",
    secondaryKeyExchange: "ML-KEM-1024",
    aead: "AES-256-GCM",
    hash: "SHA-512",
  });
  assert.deepEqual(chooseSuite(OFFER, NARROW), {
    primaryKeyExchange: "X25519",
    secondaryKeyExchange: "ML-KEM-768",
    aead: "ChaCha20-Poly1305",
    hash: "SHA-256",
  });
});

Deno.test("chooseSuite() finds nothing when one category has nothing in common", async (t) => {
  const empty = {
    primaryKeyExchanges: [0x0002],
    secondaryKeyExchanges: [0x0103],
    aeads: [0x0003],
    hashes: [0x0002],
  } as const;
  for (const [category, ids] of Object.entries(empty)) {
    await t.step(category, () => {
      assert.equal(chooseSuite({ ...OFFER, [category]: ids }, NARROW), undefined);
    });
  }
});

Deno.test("chooseSuite() never uses a key exchange in the slot it was not offered for", () => {
  // The responder offers X25519 only as a secondary: the initiator must not take it as primary.
  const swapped = { ...OFFER, primaryKeyExchanges: [0x0102], secondaryKeyExchanges: [0x0001] };
  assert.equal(chooseSuite(swapped, NARROW), undefined);
});

Deno.test("isCompatibleVersion() compares the major version only", () => {
  assert.equal(isCompatibleVersion(PROTOCOL_VERSION), true);
  assert.equal(isCompatibleVersion({ major: PROTOCOL_VERSION.major, minor: 99 }), true);
  assert.equal(isCompatibleVersion({ major: PROTOCOL_VERSION.major + 1, minor: 0 }), false);
});

Deno.test("toWireIds() and fromWireIds() keep the order and drop unknown ids", () => {
  assert.deepEqual(toWireIds(SIGNATURES, ["Ed448", "Ed25519"]), [0x0002, 0x0001]);
  assert.deepEqual(toWireIds(AEADS, []), []);
  assert.throws(() => toWireIds(HASHES, ["MD5" as "SHA-256"]), TypeError);
  assert.deepEqual(fromWireIds(KEY_EXCHANGES, [0x0103, 0x9999, 0x0002]), ["ML-KEM-1024", "X448"]);
  assert.deepEqual(fromWireIds(HASHES, []), []);
});

Deno.test("cannotSatisfyPeer() needs an identity the peer accepts only when it requires one", () => {
  assert.equal(cannotSatisfyPeer(false, undefined, []), false);
  assert.equal(cannotSatisfyPeer(false, "Ed448", [0x0001]), false);
  assert.equal(cannotSatisfyPeer(true, undefined, [0x0001]), true);
  assert.equal(cannotSatisfyPeer(true, "Ed448", [0x0001]), true);
  assert.equal(cannotSatisfyPeer(true, "Ed448", [0x0001, 0x0002]), false);
  assert.equal(cannotSatisfyPeer(true, "Ed25519", [0x0001]), false);
});

const VERDICTS: Readonly<Record<string, PeerVerdict>> = {
  anonymous: { presented: false, signatureValid: false, access: "none" },
  forged: { presented: true, signatureValid: false, access: "allowed" },
  forgedUnknown: { presented: true, signatureValid: false, access: "unknown" },
  denied: { presented: true, signatureValid: true, access: "denied" },
  unknown: { presented: true, signatureValid: true, access: "unknown" },
  allowed: { presented: true, signatureValid: true, access: "allowed" },
};

Deno.test("judgePeer() gives the documented code for every verdict and policy", () => {
  const expected: Readonly<Record<string, readonly [string | undefined, string | undefined]>> = {
    // [without requireAuthentication, with requireAuthentication]
    anonymous: [undefined, ErrorCode.AUTH_REQUIRED],
    forged: [ErrorCode.AUTH_FAILED, ErrorCode.AUTH_FAILED],
    forgedUnknown: [ErrorCode.AUTH_FAILED, ErrorCode.AUTH_FAILED],
    denied: [ErrorCode.PEER_NOT_ALLOWED, ErrorCode.PEER_NOT_ALLOWED],
    unknown: [undefined, ErrorCode.PEER_NOT_ALLOWED],
    allowed: [undefined, undefined],
  };
  for (const [name, verdict] of Object.entries(VERDICTS)) {
    assert.equal(judgePeer(verdict, false), expected[name]![0], `${name} without requirement`);
    assert.equal(judgePeer(verdict, true), expected[name]![1], `${name} with requirement`);
  }
});

Deno.test("isPeerAuthenticated() holds only for a valid proof the access manager allows", () => {
  for (const [name, verdict] of Object.entries(VERDICTS)) {
    assert.equal(isPeerAuthenticated(verdict), name === "allowed", name);
  }
});

Deno.test("DEFAULT_PREFERENCES enables every algorithm, classical primary and ML-KEM secondary", () => {
  const sorted = (names: readonly string[]): string[] => [...names].sort();
  const all = (table: readonly { name: string }[]): string[] => sorted(table.map((e) => e.name));
  const kems = KEY_EXCHANGES.filter((entry) => entry.name.startsWith("ML-KEM"));
  const classical = KEY_EXCHANGES.filter((entry) => !entry.name.startsWith("ML-KEM"));
  assert.deepEqual(sorted(DEFAULT_PREFERENCES.primaryKeyExchanges), all(classical));
  assert.deepEqual(sorted(DEFAULT_PREFERENCES.secondaryKeyExchanges), all(kems));
  assert.deepEqual(sorted(DEFAULT_PREFERENCES.aeads), all(AEADS));
  assert.deepEqual(sorted(DEFAULT_PREFERENCES.hashes), all(HASHES));
  assert.deepEqual(sorted(DEFAULT_PREFERENCES.signatures), all(SIGNATURES));
  // Fast and conservative choices first.
  assert.equal(DEFAULT_PREFERENCES.primaryKeyExchanges[0], "X25519");
  assert.equal(DEFAULT_PREFERENCES.secondaryKeyExchanges[0], "ML-KEM-768");
  assert.equal(DEFAULT_PREFERENCES.aeads[0], "ChaCha20-Poly1305");
  assert.equal(DEFAULT_PREFERENCES.hashes[0], "SHA-256");
});

Deno.test("isPostQuantumSuite() is true when either key-exchange slot is post-quantum", () => {
  const pq = new Set(["ML-KEM-512", "ML-KEM-768", "ML-KEM-1024"]);
  for (const primary of KEY_EXCHANGES) {
    for (const secondary of KEY_EXCHANGES) {
      const suite: NegotiatedSuite = {
        primaryKeyExchange: primary.name,
        secondaryKeyExchange: secondary.name,
        aead: "ChaCha20-Poly1305",
        hash: "SHA-256",
      };
      assert.equal(
        isPostQuantumSuite(suite),
        pq.has(primary.name) || pq.has(secondary.name),
        `${primary.name} + ${secondary.name}`,
      );
    }
  }
});

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_KEY_LENGTH,
  derivePreKeys,
  KeySchedule,
  keyUpdateTranscript,
  SALT_LENGTH,
} from "../src/crypto/key_schedule.ts";
import type { TrafficKeys } from "../src/crypto/key_schedule.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import type { HashFunction, HashName } from "../src/crypto/types.ts";
import { propertyConfig } from "./_property.ts";
import { hkdfRecorder, isWiped, recordingHash } from "./_recording_backend.ts";

interface KeysHex {
  epoch: number;
  initiatorToResponder: string;
  responderToInitiator: string;
}

interface KeyScheduleCase {
  hash: HashName;
  globalSharedSecret: string | null;
  keyLength: number;
  primarySecret: string;
  secondarySecret: string;
  th1: string;
  th2: string;
  ck0: string;
  ck1: string;
  ck2: string;
  epoch1: KeysHex;
  epoch2: KeysHex;
  exporterSecret: string;
  exporter: { label: string; context: string; length: number; output: string };
  updates: {
    epoch: number;
    classicalSecret: string;
    postQuantumSecret: string;
    beginBody: string;
    endBody: string;
    transcriptHash: string;
    chainingKey: string;
    keys: KeysHex;
  }[];
}

interface Vectors {
  cases: KeyScheduleCase[];
  preKeys: {
    salt: string;
    globalSharedSecret: string | null;
    preKey: string;
    headerKey: string;
    openingHeaderKey: string;
  }[];
}

const vectors: Vectors = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/key_schedule.json", import.meta.url)),
);

function fromHex(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(text.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function keysHex(keys: TrafficKeys): KeysHex {
  return {
    epoch: keys.epoch,
    initiatorToResponder: toHex(keys.initiatorToResponder),
    responderToInitiator: toHex(keys.responderToInitiator),
  };
}

function hash(name: HashName): HashFunction {
  const found = nobleBackend.hash(name);
  assert.ok(found);
  return found;
}

const SHA256 = hash("SHA-256");
const th = (byte: number, h: HashFunction = SHA256): Uint8Array =>
  new Uint8Array(h.outputLength).fill(byte);
const secret = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

Deno.test("KeySchedule matches the known-answer vectors", async (t) => {
  assert.ok(vectors.cases.length > 0, "tests/vectors/key_schedule.json has no cases");
  const hashes = new Set(vectors.cases.map((c) => c.hash));
  assert.deepEqual([...hashes].sort(), ["BLAKE2b", "SHA-256", "SHA-512", "SHA3-256"]);
  for (const vector of vectors.cases) {
    const gss = vector.globalSharedSecret;
    await t.step(`${vector.hash} ${gss === null ? "without" : "with"} GSS`, () => {
      const h = hash(vector.hash);
      // The vector's chaining keys follow PROTOCOL.md §7.2 (checked with the backend's HKDF).
      const ck0 = h.extract(new TextEncoder().encode("qgate/1 chaining key"), fromHex(gss ?? ""));
      assert.equal(toHex(ck0), vector.ck0);
      assert.equal(toHex(h.extract(ck0, fromHex(vector.primarySecret))), vector.ck1);
      assert.equal(
        toHex(h.extract(fromHex(vector.ck1), fromHex(vector.secondarySecret))),
        vector.ck2,
      );

      const schedule = new KeySchedule(
        h,
        gss === null ? { keyLength: vector.keyLength } : {
          keyLength: vector.keyLength,
          globalSharedSecret: fromHex(gss),
        },
      );
      assert.deepEqual(
        keysHex(schedule.mixPrimary(fromHex(vector.primarySecret), fromHex(vector.th1))),
        vector.epoch1,
      );
      assert.deepEqual(
        keysHex(schedule.mixSecondary(fromHex(vector.secondarySecret), fromHex(vector.th2))),
        vector.epoch2,
      );
      const { label, context, length, output } = vector.exporter;
      assert.equal(toHex(schedule.exporter(label, fromHex(context), length)), output);
      let ck = fromHex(vector.ck2);
      for (const update of vector.updates) {
        const transcriptHash = keyUpdateTranscript(
          h,
          update.epoch,
          fromHex(update.beginBody),
          fromHex(update.endBody),
        );
        assert.equal(toHex(transcriptHash), update.transcriptHash);
        ck = h.extract(ck, fromHex(update.classicalSecret + update.postQuantumSecret));
        assert.equal(toHex(ck), update.chainingKey);
        const keys = schedule.mixUpdate(
          fromHex(update.classicalSecret),
          fromHex(update.postQuantumSecret),
          transcriptHash,
        );
        assert.deepEqual(keysHex(keys), update.keys);
        assert.equal(schedule.epoch, update.epoch);
      }
      // Key updates do not change the exporter.
      assert.equal(toHex(schedule.exporter(label, fromHex(context), length)), output);
      schedule.dispose();
    });
  }
});

Deno.test("derivePreKeys() matches the known-answer vectors", () => {
  assert.ok(vectors.preKeys.length > 0, "tests/vectors/key_schedule.json has no pre-key cases");
  for (const vector of vectors.preKeys) {
    const keys = vector.globalSharedSecret === null
      ? derivePreKeys(fromHex(vector.salt))
      : derivePreKeys(fromHex(vector.salt), fromHex(vector.globalSharedSecret));
    assert.equal(toHex(keys.preKey), vector.preKey);
    assert.equal(toHex(keys.headerKey), vector.headerKey);
    assert.equal(toHex(keys.openingHeaderKey), vector.openingHeaderKey);
  }
});

Deno.test("derivePreKeys() mixes the GSS into the header key but not into the opening header key", () => {
  const salt = new Uint8Array(SALT_LENGTH).fill(3);
  const open = derivePreKeys(salt);
  const secret = derivePreKeys(salt, new Uint8Array(32).fill(9));
  assert.deepEqual(open.headerKey, open.openingHeaderKey);
  assert.notDeepEqual(secret.headerKey, open.headerKey);
  assert.deepEqual(secret.openingHeaderKey, open.openingHeaderKey);
});

Deno.test("derivePreKeys() depends on salt and GSS and rejects a wrong salt length", () => {
  const salt = new Uint8Array(SALT_LENGTH).fill(1);
  const base = derivePreKeys(salt);
  assert.notDeepEqual(base.preKey, base.headerKey);
  assert.notDeepEqual(derivePreKeys(new Uint8Array(SALT_LENGTH).fill(2)).preKey, base.preKey);
  assert.notDeepEqual(derivePreKeys(salt, new Uint8Array([0])).preKey, base.preKey);
  assert.deepEqual(derivePreKeys(salt, new Uint8Array(0)), base);
  for (const length of [0, 15, 17, 32]) {
    assert.throws(() => derivePreKeys(new Uint8Array(length)), RangeError);
  }
});

Deno.test("KeySchedule enforces stage order with TypeError", () => {
  const schedule = new KeySchedule(SHA256);
  assert.equal(schedule.stage, "initial");
  assert.equal(schedule.epoch, 0);
  assert.throws(() => schedule.mixSecondary(secret(1), th(1)), TypeError);
  assert.throws(() => schedule.mixUpdate(secret(1), secret(2), th(1)), TypeError);
  assert.throws(() => schedule.exporter("x", new Uint8Array(0), 32), TypeError);
  assert.equal(schedule.mixPrimary(secret(1), th(1)).epoch, 1);
  assert.equal(schedule.stage, "primary");
  assert.throws(() => schedule.mixPrimary(secret(1), th(1)), TypeError);
  assert.throws(() => schedule.mixUpdate(secret(1), secret(2), th(1)), TypeError);
  assert.throws(() => schedule.exporter("x", new Uint8Array(0), 32), TypeError);
  assert.equal(schedule.mixSecondary(secret(2), th(2)).epoch, 2);
  assert.equal(schedule.stage, "secondary");
  assert.throws(() => schedule.mixSecondary(secret(2), th(2)), TypeError);
  assert.equal(schedule.mixUpdate(secret(3), secret(4), th(3)).epoch, 3);
  assert.equal(schedule.mixUpdate(secret(3), secret(4), th(3)).epoch, 4);
  assert.equal(schedule.exporter("x", new Uint8Array(0), 32).length, 32);
  schedule.dispose();
  schedule.dispose();
  assert.equal(schedule.stage, "disposed");
  assert.throws(() => schedule.mixUpdate(secret(3), secret(4), th(3)), TypeError);
  assert.throws(() => schedule.exporter("x", new Uint8Array(0), 32), TypeError);
});

Deno.test("KeySchedule rejects bad arguments with RangeError and keeps its stage", () => {
  for (const keyLength of [0, -1, 1.5, 255 * 32 + 1]) {
    assert.throws(() => new KeySchedule(SHA256, { keyLength }), RangeError);
  }
  const schedule = new KeySchedule(SHA256, { keyLength: 16 });
  assert.throws(() => schedule.mixPrimary(new Uint8Array(0), th(1)), RangeError);
  assert.throws(() => schedule.mixPrimary(secret(1), new Uint8Array(31)), RangeError);
  assert.equal(schedule.stage, "initial");
  const keys = schedule.mixPrimary(secret(1), th(1));
  assert.equal(keys.initiatorToResponder.length, 16);
  schedule.mixSecondary(secret(2), th(2));
  assert.throws(() => schedule.mixUpdate(secret(1), new Uint8Array(0), th(1)), RangeError);
  assert.throws(() => schedule.exporter("x", new Uint8Array(0), 0), RangeError);
  assert.throws(() => schedule.exporter("x", new Uint8Array(0), 255 * 32 + 1), RangeError);
  assert.throws(() => schedule.exporter("x".repeat(70_000), new Uint8Array(0), 32), RangeError);
  assert.equal(schedule.epoch, 2);
  assert.equal(DEFAULT_KEY_LENGTH, 32);
});

Deno.test("KeySchedule checks the secret and transcript hash at every stage and keeps its stage", async (t) => {
  const short = new Uint8Array(31);
  const long = new Uint8Array(33);
  await t.step("mixSecondary()", () => {
    const schedule = new KeySchedule(SHA256);
    schedule.mixPrimary(secret(1), th(1));
    assert.throws(() => schedule.mixSecondary(new Uint8Array(0), th(2)), RangeError);
    assert.throws(() => schedule.mixSecondary(secret(2), short), RangeError);
    assert.throws(() => schedule.mixSecondary(secret(2), long), RangeError);
    assert.equal(schedule.stage, "primary");
    assert.equal(schedule.epoch, 1);
  });
  await t.step("a transcript hash that is not a Uint8Array", () => {
    const schedule = new KeySchedule(SHA256);
    const fake = Array.from(th(1)) as unknown as Uint8Array;
    assert.throws(() => schedule.mixPrimary(secret(1), fake), TypeError);
    assert.equal(schedule.stage, "initial");
  });
  await t.step("mixUpdate()", () => {
    const schedule = new KeySchedule(SHA256);
    schedule.mixPrimary(secret(1), th(1));
    schedule.mixSecondary(secret(2), th(2));
    assert.throws(() => schedule.mixUpdate(new Uint8Array(0), secret(3), th(3)), RangeError);
    assert.throws(() => schedule.mixUpdate(secret(3), new Uint8Array(0), th(3)), RangeError);
    assert.throws(() => schedule.mixUpdate(secret(3), secret(4), short), RangeError);
    assert.throws(() => schedule.mixUpdate(secret(3), secret(4), long), RangeError);
    assert.equal(schedule.epoch, 2);
    assert.equal(schedule.mixUpdate(secret(3), secret(4), th(3)).epoch, 3);
  });
});

Deno.test("KeySchedule exporter separates labels, contexts and lengths", () => {
  const schedule = new KeySchedule(SHA256);
  schedule.mixPrimary(secret(1), th(1));
  schedule.mixSecondary(secret(2), th(2));
  const base = schedule.exporter("a", new Uint8Array([1]), 32);
  assert.notDeepEqual(schedule.exporter("b", new Uint8Array([1]), 32), base);
  assert.notDeepEqual(schedule.exporter("a", new Uint8Array([2]), 32), base);
  // No ambiguity between label and context bytes.
  assert.notDeepEqual(
    schedule.exporter("ab", new Uint8Array(0), 32),
    schedule.exporter("a", new TextEncoder().encode("b"), 32),
  );
});

Deno.test("KeySchedule GSS changes every key", () => {
  const run = (options: { globalSharedSecret?: Uint8Array }): TrafficKeys[] => {
    const schedule = new KeySchedule(SHA256, options);
    return [schedule.mixPrimary(secret(1), th(1)), schedule.mixSecondary(secret(2), th(2))];
  };
  const none = run({});
  const empty = run({ globalSharedSecret: new Uint8Array(0) });
  const gss = run({ globalSharedSecret: new Uint8Array([1]) });
  assert.deepEqual(none, empty);
  for (const i of [0, 1]) {
    assert.notDeepEqual(none[i]!.initiatorToResponder, gss[i]!.initiatorToResponder);
    assert.notDeepEqual(none[i]!.responderToInitiator, gss[i]!.responderToInitiator);
  }
});

Deno.test("KeySchedule does not modify the secrets it is given", () => {
  const schedule = new KeySchedule(SHA256);
  const primary = secret(1);
  schedule.mixPrimary(primary, th(1));
  assert.deepEqual(primary, secret(1));
});

Deno.test("KeySchedule session keys change when the primary secret, secondary secret or th2 changes (property)", () => {
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  fc.assert(
    fc.property(
      bytes32,
      bytes32,
      bytes32,
      bytes32,
      fc.nat({ max: 32 * 8 - 1 }),
      // th1 is not an input of epoch 2 (th2 extends the same transcript).
      fc.constantFrom("primary", "secondary", "th2"),
      (primary, secondary, th1, th2, bit, which) => {
        const session = (
          p: Uint8Array,
          s: Uint8Array,
          t1: Uint8Array,
          t2: Uint8Array,
        ): TrafficKeys => {
          const schedule = new KeySchedule(SHA256);
          schedule.mixPrimary(p, t1);
          return schedule.mixSecondary(s, t2);
        };
        const flip = (bytes: Uint8Array): Uint8Array => {
          const copy = Uint8Array.from(bytes);
          copy[bit >> 3]! ^= 1 << (bit & 7);
          return copy;
        };
        const base = session(primary, secondary, th1, th2);
        const changed = session(
          which === "primary" ? flip(primary) : primary,
          which === "secondary" ? flip(secondary) : secondary,
          th1,
          which === "th2" ? flip(th2) : th2,
        );
        assert.notDeepEqual(changed.initiatorToResponder, base.initiatorToResponder);
        assert.notDeepEqual(changed.responderToInitiator, base.responderToInitiator);
      },
    ),
    propertyConfig(100),
  );
});

Deno.test("keyUpdateTranscript() binds epoch and both bodies", () => {
  const begin = new Uint8Array([1, 2, 3]);
  const end = new Uint8Array([4, 5]);
  const base = keyUpdateTranscript(SHA256, 3, begin, end);
  assert.equal(base.length, 32);
  assert.notDeepEqual(keyUpdateTranscript(SHA256, 4, begin, end), base);
  assert.notDeepEqual(keyUpdateTranscript(SHA256, 3, end, begin), base);
  assert.notDeepEqual(keyUpdateTranscript(SHA256, 3, begin, new Uint8Array([4, 6])), base);
  assert.equal(keyUpdateTranscript(hash("SHA-512"), 3, begin, end).length, 64);
  for (const epoch of [-1, 1.5, 2 ** 32]) {
    assert.throws(() => keyUpdateTranscript(SHA256, epoch, begin, end), RangeError);
  }
});

/** SHA-256 behind a wrapper that keeps every key and secret the schedule hands to HKDF. */
function scheduleRecorder(): { hash: HashFunction; prks: Uint8Array[]; ikms: Uint8Array[] } {
  const prks: Uint8Array[] = [];
  const ikms: Uint8Array[] = [];
  const hash = recordingHash(SHA256, {
    extract: (salt, ikm) => {
      prks.push(salt);
      ikms.push(ikm);
    },
    expand: (prk) => prks.push(prk),
    // A schedule that keys HMAC once per chaining key hands it over here.
    expander: (prk) => prks.push(prk),
  });
  return { hash, prks, ikms };
}

Deno.test("KeySchedule wipes every chaining key, exporter secret and combined secret it held", () => {
  const { hash, prks, ikms } = scheduleRecorder();
  const schedule = new KeySchedule(hash);
  // The first chaining key is extracted with a public label as salt: record from here on.
  prks.length = 0;
  ikms.length = 0;
  schedule.mixPrimary(secret(1), th(1));
  schedule.mixSecondary(secret(2), th(2));
  schedule.exporter("app", new Uint8Array(0), 16);
  schedule.mixUpdate(secret(3), secret(4), th(3));
  // The classical ‖ post-quantum secret of the update is wiped once mixed.
  const combined = ikms.at(-1)!;
  assert.equal(combined.length, 64);
  assert.ok(combined.every((byte) => byte === 0), "combined update secret not wiped");
  schedule.dispose();
  assert.ok(prks.length >= 6);
  prks.forEach((prk, index) => {
    assert.ok(prk.every((byte) => byte === 0), `key ${index} handed to HKDF is not wiped`);
  });
});

Deno.test("KeySchedule exporter accepts the edges of its label and length ranges", () => {
  const schedule = new KeySchedule(SHA256);
  schedule.mixPrimary(secret(1), th(1));
  schedule.mixSecondary(secret(2), th(2));
  assert.equal(schedule.exporter("x".repeat(0xffff), new Uint8Array(0), 1).length, 1);
  assert.throws(() => schedule.exporter("x".repeat(0x10000), new Uint8Array(0), 1), RangeError);
  assert.equal(schedule.exporter("", new Uint8Array(0), 255 * 32).length, 255 * 32);
  assert.throws(() => schedule.exporter("", new Uint8Array(0), 1.5), RangeError);
});

Deno.test("derivePreKeys() wipes the key material and pseudorandom keys it derived, and returns fresh keys", () => {
  const salt = new Uint8Array(16).fill(3);
  for (const gss of [undefined, new Uint8Array(24).fill(8)]) {
    const { sha256, record } = hkdfRecorder();
    const keys = derivePreKeys(salt, gss, sha256);
    assert.equal(record.prks.length, gss === undefined ? 2 : 3);
    assert.ok(record.prks.every(isWiped), "a pseudorandom key is left");
    // The opening header key's input is the public label; every other input held the GSS.
    assert.equal(record.ikms.filter((ikm) => !isWiped(ikm)).length, 1);
    assert.ok(!isWiped(keys.preKey) && !isWiped(keys.headerKey) && !isWiped(keys.openingHeaderKey));
    assert.deepEqual(keys, derivePreKeys(salt, gss));
  }
  assert.throws(
    () => derivePreKeys(salt, undefined, nobleBackend.hash("SHA3-256")!),
    TypeError,
  );
});

Deno.test("KeySchedule without a GSS derives the same keys after another schedule was disposed", () => {
  // ck0 without a GSS is a public constant kept per hash function: each
  // schedule must get its own copy, since it wipes its chaining key.
  const fresh = (): TrafficKeys => {
    // A hash function object of its own: nothing kept for it yet.
    const schedule = new KeySchedule({ ...SHA256 });
    const keys = schedule.mixPrimary(secret(1), th(1));
    schedule.dispose();
    return keys;
  };
  const expected = fresh();
  for (let i = 0; i < 3; i++) {
    const schedule = new KeySchedule(SHA256);
    assert.deepEqual(schedule.mixPrimary(secret(1), th(1)), expected);
    schedule.mixSecondary(secret(2), th(2));
    schedule.dispose();
  }
});

/**
 * Options that refuse mistakes: unknown keys at any level, wrong types, a
 * stand-in access manager, identity keys that do not fit their scheme and
 * out-of-range numbers are refused by `resolveOptions()` (so by `initiate()`,
 * `respond()` and every dial/listen helper) before a byte is sent.
 *
 * The option's path is the contract here: each refusal carries it as
 * `error.option` and names it in the message.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { AccessManager, createMemoryPair, generateIdentity, initiate } from "../mod.ts";
import { type OptionErrorDetails, resolveOptions } from "../src/session/options.ts";
import type { SessionOptions } from "../src/session/options.ts";
import { propertyConfig } from "./_property.ts";

const OPEN = { requireAuthentication: false } as const;

type Refusal = {
  readonly name: string;
  readonly options: unknown;
  readonly error: typeof TypeError | typeof RangeError;
  readonly option: string;
  readonly suggestion?: string;
};

function refusedWith(
  options: unknown,
  error: typeof TypeError | typeof RangeError,
  option: string,
): (thrown: unknown) => boolean {
  return (thrown: unknown): boolean => {
    assert.ok(thrown instanceof error, `expected ${error.name}, got ${String(thrown)}`);
    assert.equal(thrown.constructor, error);
    assert.equal((thrown as unknown as OptionErrorDetails).option, option);
    assert.ok(
      thrown.message.includes(`"${option}"`),
      `message names "${option}": ${thrown.message} (options ${Deno.inspect(options)})`,
    );
    assert.ok(!/is not a function|Cannot read properties/.test(thrown.message));
    return true;
  };
}

const ed25519 = await generateIdentity("Ed25519", { seed: new Uint8Array(32).fill(1) });
const mldsa = await generateIdentity("ML-DSA-44", { seed: new Uint8Array(32).fill(2) });

const REFUSALS: readonly Refusal[] = [
  // Unknown keys, with the nearest valid one.
  {
    name: "algorithms.aead",
    options: { ...OPEN, algorithms: { aead: ["AES-256-GCM"] } },
    error: TypeError,
    option: "algorithms.aead",
    suggestion: "algorithms.aeads",
  },
  {
    name: "requireAuth",
    options: { requireAuth: false },
    error: TypeError,
    option: "requireAuth",
    suggestion: "requireAuthentication",
  },
  {
    name: "timeouts.handshak",
    options: { ...OPEN, timeouts: { handshak: 10 } },
    error: TypeError,
    option: "timeouts.handshak",
    suggestion: "timeouts.handshake",
  },
  {
    name: "noise.maxSise",
    options: { ...OPEN, noise: { maxSise: 10 } },
    error: TypeError,
    option: "noise.maxSise",
    suggestion: "noise.maxSize",
  },
  {
    name: "keyUpdate.interval",
    options: { ...OPEN, keyUpdate: { maxIntervall: 10 } },
    error: TypeError,
    option: "keyUpdate.maxIntervall",
    suggestion: "keyUpdate.maxInterval",
  },
  {
    name: "gss",
    options: { ...OPEN, globalSharedSecrets: new Uint8Array(32) },
    error: TypeError,
    option: "globalSharedSecrets",
    suggestion: "globalSharedSecret",
  },
  // Wrong types.
  {
    name: "extenders string",
    options: { ...OPEN, extenders: "uuid" },
    error: TypeError,
    option: "extenders",
  },
  {
    name: "extenders entry",
    options: { ...OPEN, extenders: [42] },
    error: TypeError,
    option: "extenders",
  },
  {
    name: "algorithms string",
    options: { ...OPEN, algorithms: "X25519" },
    error: TypeError,
    option: "algorithms",
  },
  {
    name: "algorithms list string",
    options: { ...OPEN, algorithms: { aeads: "AES-256-GCM" } },
    error: TypeError,
    option: "algorithms.aeads",
  },
  {
    name: "algorithm unknown",
    options: { ...OPEN, algorithms: { hashes: ["SHA256"] } },
    error: TypeError,
    option: "algorithms.hashes",
  },
  { name: "noise array", options: { ...OPEN, noise: [] }, error: TypeError, option: "noise" },
  {
    name: "noise.enabled",
    options: { ...OPEN, noise: { enabled: "yes" } },
    error: TypeError,
    option: "noise.enabled",
  },
  {
    name: "timeouts number",
    options: { ...OPEN, timeouts: 5_000 },
    error: TypeError,
    option: "timeouts",
  },
  {
    name: "maxPadding string",
    options: { ...OPEN, maxPadding: "64" },
    error: TypeError,
    option: "maxPadding",
  },
  {
    name: "securityLevel string",
    options: { ...OPEN, securityLevel: "3" },
    error: TypeError,
    option: "securityLevel",
  },
  {
    name: "requireAuthentication string",
    options: { requireAuthentication: "false" },
    error: TypeError,
    option: "requireAuthentication",
  },
  {
    name: "signal",
    options: { ...OPEN, signal: { aborted: false } },
    error: TypeError,
    option: "signal",
  },
  { name: "random", options: { ...OPEN, random: 4 }, error: TypeError, option: "random" },
  {
    name: "clock",
    options: { ...OPEN, clock: { now: () => 0 } },
    error: TypeError,
    option: "clock.setTimeout",
  },
  {
    name: "backend",
    options: { ...OPEN, backend: {} },
    error: TypeError,
    option: "backend.keyExchange",
  },
  { name: "onTrace", options: { ...OPEN, onTrace: "log" }, error: TypeError, option: "onTrace" },
  {
    name: "globalSharedSecret string",
    options: { ...OPEN, globalSharedSecret: "secret" },
    error: TypeError,
    option: "globalSharedSecret",
  },
  // Access manager.
  {
    name: "accessManager look-alike",
    options: { accessManager: { addPeer(): void {}, decide: (): string => "allowed" } },
    error: TypeError,
    option: "accessManager",
  },
  {
    name: "accessManager map",
    options: { ...OPEN, accessManager: new Map() },
    error: TypeError,
    option: "accessManager",
  },
  // Identity.
  {
    name: "identity short public key",
    options: { ...OPEN, identity: { ...ed25519, publicKey: ed25519.publicKey.subarray(1) } },
    error: RangeError,
    option: "identity.publicKey",
  },
  {
    name: "identity long secret key",
    options: { ...OPEN, identity: { ...ed25519, secretKey: new Uint8Array(64) } },
    error: RangeError,
    option: "identity.secretKey",
  },
  {
    name: "identity keys of another scheme",
    options: { ...OPEN, identity: { ...mldsa, algorithm: "ML-DSA-65" }, maxRecordLength: 16_000 },
    error: RangeError,
    option: "identity.publicKey",
  },
  {
    name: "identity algorithm",
    options: { ...OPEN, identity: { ...ed25519, algorithm: "ed25519" } },
    error: TypeError,
    option: "identity.algorithm",
  },
  {
    name: "identity key array",
    options: { ...OPEN, identity: { ...ed25519, publicKey: [...ed25519.publicKey] } },
    error: TypeError,
    option: "identity.publicKey",
  },
  // Out of range.
  {
    name: "timeouts.phase",
    options: { ...OPEN, timeouts: { phase: 0 } },
    error: RangeError,
    option: "timeouts.phase",
  },
  {
    name: "timeouts.handshake",
    options: { ...OPEN, timeouts: { handshake: Infinity } },
    error: RangeError,
    option: "timeouts.handshake",
  },
  {
    name: "maxPadding negative",
    options: { ...OPEN, maxPadding: -1 },
    error: RangeError,
    option: "maxPadding",
  },
  {
    name: "maxPadding fraction",
    options: { ...OPEN, maxPadding: 1.5 },
    error: RangeError,
    option: "maxPadding",
  },
  {
    name: "noise intervals reversed",
    options: { ...OPEN, noise: { minInterval: 500, maxInterval: 100 } },
    error: RangeError,
    option: "noise.minInterval",
  },
  {
    name: "keyUpdate.minInterval",
    options: { ...OPEN, keyUpdate: { minInterval: NaN } },
    error: RangeError,
    option: "keyUpdate.minInterval",
  },
  {
    name: "writeTimeout",
    options: { ...OPEN, writeTimeout: 3_600_001 },
    error: RangeError,
    option: "writeTimeout",
  },
  {
    name: "securityLevel",
    options: { ...OPEN, securityLevel: 6 },
    error: RangeError,
    option: "securityLevel",
  },
  {
    name: "maxHandshakeDelay",
    options: { ...OPEN, maxHandshakeDelay: 60_001 },
    error: RangeError,
    option: "maxHandshakeDelay",
  },
];

Deno.test("resolveOptions() refuses each mistake naming the option", async (t) => {
  for (const refusal of REFUSALS) {
    await t.step(refusal.name, () => {
      assert.throws(
        () => resolveOptions(refusal.options as SessionOptions),
        refusedWith(refusal.options, refusal.error, refusal.option),
      );
      if (refusal.suggestion !== undefined) {
        assert.throws(
          () => resolveOptions(refusal.options as SessionOptions),
          (thrown: unknown) => {
            const details = thrown as OptionErrorDetails & Error;
            assert.equal(details.suggestion, refusal.suggestion);
            assert.ok(details.message.includes(`"${refusal.suggestion}"`));
            return true;
          },
        );
      }
    });
  }
});

Deno.test("resolveOptions() accepts every valid key, undefined values and real identities", async () => {
  const access = new AccessManager();
  const resolved = resolveOptions({
    identity: ed25519,
    requireAuthentication: true,
    accessManager: access,
    algorithms: { aeads: ["AES-256-GCM"], hashes: ["SHA-256"] },
    globalSharedSecret: new Uint8Array(32),
    securityLevel: 2,
    noise: { enabled: false },
    maxPadding: 0,
    maxHandshakeDelay: 0,
    timeouts: { phase: 1_000 },
    keyUpdate: { maxBytes: 1_000 },
    extenders: ["00000000-0000-0000-0000-000000000001"],
    maxRecordLength: 4_096,
    maxBufferedBytes: 4_096,
    writeTimeout: 1_000,
    signal: new AbortController().signal,
    random: (n: number) => new Uint8Array(n),
    clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
    onTrace: () => {},
  });
  assert.equal(resolved.accessManager, access);
  const sparse = { ...OPEN, signal: undefined, identity: undefined } as unknown as SessionOptions;
  assert.equal(resolveOptions(sparse).identity, undefined);
  for (const scheme of ["Ed448", "ML-DSA-65", "Ed25519+ML-DSA-65"]) {
    const identity = await generateIdentity(scheme);
    resolveOptions({ ...OPEN, identity, maxRecordLength: 16_000 });
  }
});

Deno.test("resolveOptions() refuses any unknown key, at any level", () => {
  const levels = ["", "algorithms", "noise", "timeouts", "keyUpdate"] as const;
  const valid = new Set(
    [
      ...Object.keys(resolveOptions(OPEN).profile),
      "identity",
      "requireAuthentication",
      "accessManager",
      "algorithms",
      "globalSharedSecret",
      "securityLevel",
      "noise",
      "maxPadding",
      "maxHandshakeDelay",
      "timeouts",
      "keyUpdate",
      "extenders",
      "maxRecordLength",
      "maxBufferedBytes",
      "writeTimeout",
      "signal",
      "random",
      "clock",
      "backend",
      "onTrace",
      "primaryKeyExchanges",
      "secondaryKeyExchanges",
      "aeads",
      "hashes",
      "signatures",
      "enabled",
      "minInterval",
      "maxInterval",
      "minSize",
      "maxSize",
      "phase",
      "handshake",
      "close",
      "maxBytes",
      "maxRecords",
      "maxDuration",
      "gracePeriod",
    ],
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...levels),
      fc.string({ minLength: 1, maxLength: 24 }).filter((key) =>
        !valid.has(key) && key !== "__proto__"
      ),
      fc.anything(),
      (level, key, value) => {
        const group = { [key]: value };
        const options = level === "" ? { ...OPEN, ...group } : { ...OPEN, [level]: group };
        const path = level === "" ? key : `${level}.${key}`;
        assert.throws(
          () => resolveOptions(options as SessionOptions),
          (thrown: unknown) => {
            assert.ok(thrown instanceof TypeError);
            const details = thrown as OptionErrorDetails & TypeError;
            assert.equal(details.option, path);
            assert.ok(details.message.includes(JSON.stringify(path)));
            assert.ok(typeof details.suggestion === "string");
            return true;
          },
        );
      },
    ),
    propertyConfig(300),
  );
});

Deno.test("initiate() refuses a wrong option before a byte is sent", async () => {
  const [a, b] = createMemoryPair();
  const reader = b.readable.getReader();
  const first = reader.read();
  assert.throws(
    () => initiate(a, { ...OPEN, extenders: "uuid" } as unknown as SessionOptions),
    refusedWith({}, TypeError, "extenders"),
  );
  assert.throws(
    () =>
      initiate(a, {
        ...OPEN,
        identity: { ...ed25519, secretKey: new Uint8Array(31) },
      }),
    refusedWith({}, RangeError, "identity.secretKey"),
  );
  // Nothing was written: the peer's first read is still pending.
  const pending = Symbol("pending");
  assert.equal(await Promise.race([first, Promise.resolve(pending)]), pending);
  reader.releaseLock();
  await a.writable.close().catch(() => {});
  await b.writable.close().catch(() => {});
});

/**
 * Session options, security-level presets and their validation.
 *
 * Options are validated eagerly, before a byte is sent: an unknown algorithm,
 * a wrong key length or an out-of-range number raises `TypeError` or
 * `RangeError` naming the option.
 *
 * @module
 */

import {
  AEADS,
  type AlgorithmInfo,
  type CryptoBackend,
  HASHES,
  KEY_EXCHANGES,
  type RandomSource,
  type SignatureKeyPair,
  SIGNATURES,
} from "../crypto/types.ts";
import {
  type AlgorithmPreferences,
  DEFAULT_PREFERENCES,
  type IdentityDisclosure,
  refusedSecondaries,
} from "../handshake_policy.ts";
import { DEFAULT_MAX_RECORD_LENGTH } from "../codec/stream_records.ts";
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  MAX_MAX_MESSAGE_SIZE,
  MIN_MAX_MESSAGE_SIZE,
} from "../codec/message_assembler.ts";
import {
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_WRITE_TIMEOUT,
  largestOutgoingRecord,
} from "./limits.ts";
import { autoBackend } from "../crypto/auto_backend.ts";
import type { AccessManager } from "./access_manager.ts";
import type { TraceEvent } from "./events.ts";

/** A clock: the same shape XState's actors take, plus `now()` in milliseconds. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  /** Schedules `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a scheduled call. */
  clearTimeout(id: unknown): void;
}

/** Security levels 1–5, QuantumGate's presets for noise, padding, delays and key updates. */
export type SecurityLevel = 1 | 2 | 3 | 4 | 5;

/** Noise records sent at random intervals and sizes, before, during and after the handshake. */
export interface NoiseSettings {
  /** Whether noise is sent at all. */
  readonly enabled: boolean;
  /** Shortest pause between two noise records, in ms. */
  readonly minInterval: number;
  /** Longest pause between two noise records, in ms. */
  readonly maxInterval: number;
  /** Smallest noise body in bytes. */
  readonly minSize: number;
  /** Largest noise body in bytes. */
  readonly maxSize: number;
}

/** When the session rotates its keys. Whichever trigger comes first starts an update. */
export interface KeyUpdateSettings {
  /** Earliest time after the last update, in ms. */
  readonly minInterval: number;
  /** Latest time after the last update, in ms (the actual time is random in between). */
  readonly maxInterval: number;
  /** Bytes sent plus received under one epoch. */
  readonly maxBytes: number;
  /** Records sealed under one epoch (the nonce budget). */
  readonly maxRecords: number;
  /** A key update that takes longer fails the session (`ERR_TIMEOUT`). */
  readonly maxDuration: number;
  /** How long the previous epoch may still decrypt (datagram transports), in ms. */
  readonly gracePeriod: number;
}

/** Timeouts of the handshake, in ms. */
export interface TimeoutSettings {
  /** The longest any one waiting state may last. */
  readonly phase: number;
  /** The longest the whole handshake may last. */
  readonly handshake: number;
  /** The longest `close()` waits for the peer's Close after sending its own. */
  readonly close: number;
}

/** Everything a security level sets. */
export interface SecurityProfile {
  /** Noise records. */
  readonly noise: NoiseSettings;
  /** Largest random padding per record, in bytes. */
  readonly maxPadding: number;
  /** Largest random delay before each handshake message, in ms. */
  readonly maxHandshakeDelay: number;
  /** Handshake timeouts. */
  readonly timeouts: TimeoutSettings;
  /** Key rotation. */
  readonly keyUpdate: KeyUpdateSettings;
}

const NO_NOISE: NoiseSettings = {
  enabled: false,
  minInterval: 1_000,
  maxInterval: 10_000,
  minSize: 0,
  maxSize: 256,
};

function keyUpdate(minS: number, maxS: number, maxBytes: number): KeyUpdateSettings {
  return {
    minInterval: minS * 1000,
    maxInterval: maxS * 1000,
    maxBytes,
    maxRecords: 2 ** 30,
    maxDuration: 120_000,
    gracePeriod: 120_000,
  };
}

/** The presets for security levels 1–5. Level 1 is the default. */
export const SECURITY_LEVELS: Readonly<Record<SecurityLevel, SecurityProfile>> = {
  1: {
    noise: NO_NOISE,
    maxPadding: 64,
    maxHandshakeDelay: 0,
    timeouts: { phase: 15_000, handshake: 30_000, close: 15_000 },
    keyUpdate: keyUpdate(300, 1200, 4_200_000_000),
  },
  2: {
    noise: { enabled: true, minInterval: 500, maxInterval: 5_000, minSize: 0, maxSize: 256 },
    maxPadding: 64,
    maxHandshakeDelay: 375,
    timeouts: { phase: 10_000, handshake: 20_000, close: 10_000 },
    keyUpdate: keyUpdate(300, 1200, 4_200_000_000),
  },
  3: {
    noise: { enabled: true, minInterval: 250, maxInterval: 2_500, minSize: 0, maxSize: 512 },
    maxPadding: 128,
    maxHandshakeDelay: 560,
    timeouts: { phase: 10_000, handshake: 20_000, close: 10_000 },
    keyUpdate: keyUpdate(300, 600, 4_200_000_000),
  },
  4: {
    noise: { enabled: true, minInterval: 100, maxInterval: 1_000, minSize: 0, maxSize: 1024 },
    maxPadding: 256,
    maxHandshakeDelay: 750,
    timeouts: { phase: 10_000, handshake: 20_000, close: 10_000 },
    keyUpdate: keyUpdate(300, 600, 2_000_000_000),
  },
  5: {
    noise: { enabled: true, minInterval: 50, maxInterval: 500, minSize: 0, maxSize: 2048 },
    maxPadding: 512,
    maxHandshakeDelay: 1_000,
    timeouts: { phase: 10_000, handshake: 20_000, close: 10_000 },
    keyUpdate: keyUpdate(300, 600, 1_000_000_000),
  },
};

/** The smallest Global Shared Secret accepted, in bytes. */
export const MIN_GLOBAL_SHARED_SECRET_LENGTH = 32;

/** Options shared by {@linkcode initiate} and {@linkcode respond}. All optional. */
export interface SessionOptions {
  /** Our identity key pair; without one we do not authenticate. */
  identity?: SignatureKeyPair;
  /**
   * When our identity is revealed (default `"always"`: the responder proves
   * first, as in QuantumGate). `"whenRequired"`: only to a peer that requires
   * authentication; `"afterPeer"`: only to a peer that authenticated first.
   * An identity whose scheme the peer does not accept is never sent.
   */
  identityDisclosure?: "always" | "whenRequired" | "afterPeer";
  /** Whether the peer must authenticate (default `true`, as in QuantumGate). */
  requireAuthentication?: boolean;
  /** Known peers; unknown peers are denied when authentication is required. */
  accessManager?: AccessManager;
  /** Ordered algorithm preferences per category (default: all, safest and fastest first). */
  algorithms?: Partial<AlgorithmPreferences>;
  /** A secret both peers hold (at least 32 bytes); makes the meta exchange confidential. */
  globalSharedSecret?: Uint8Array;
  /** A preset for noise, padding, delays and key updates (default 1). */
  securityLevel?: SecurityLevel;
  /** Overrides of the preset's noise settings. */
  noise?: Partial<NoiseSettings>;
  /** Override of the preset's largest padding per record. */
  maxPadding?: number;
  /** Override of the preset's largest delay before each handshake message. */
  maxHandshakeDelay?: number;
  /** Overrides of the preset's timeouts. */
  timeouts?: Partial<TimeoutSettings>;
  /** Overrides of the preset's key-update settings. */
  keyUpdate?: Partial<KeyUpdateSettings>;
  /** Extender UUIDs this side runs (8-4-4-4-12 hex form). */
  extenders?: readonly string[];
  /**
   * The largest sealed record accepted or sent, in bytes (default 65,536; 1,024
   * to 16,777,215). On receipt a longer record fails the session with
   * `ERR_FRAME_TOO_LARGE` as soon as its length field is read, so a peer
   * costs at most one such record of memory; on sending, `send()` cuts data
   * into records that fit. Over datagrams it bounds each datagram to
   * `maxRecordLength + 64` bytes (at most 65,507). Both peers should use the
   * same value. It must hold the largest handshake or key-update message this
   * side may send with its algorithms, identity and extenders (with the
   * default algorithms 1,730 bytes, a P-521 + ML-KEM-1024 key update; with an
   * ML-DSA-87 identity 7,247): a smaller value is a `RangeError` here (see
   * `largestOutgoingRecord()`).
   */
  maxRecordLength?: number;
  /**
   * The most application bytes held for writing at once (default 4 MiB,
   * 1,024 to 2^32): data passed to `send()` or `sendNoise()` that is not yet
   * written to the transport. A send that does not fit waits until earlier
   * records are written (backpressure: a peer that stops reading slows the
   * sender down instead of growing a buffer). Sends that pile up without being
   * awaited may wait for another `maxBufferedBytes`; beyond that `send()`
   * rejects with `ERR_RESOURCE_LIMIT`.
   */
  maxBufferedBytes?: number;
  /**
   * The largest application message this side accepts, in bytes (default
   * 1 MiB; 1,024 to 16 MiB), announced to the peer in session init. One
   * `send()` arrives as one message, cut into as many records as it needs
   * (PROTOCOL.md §9.4); a `send()` above the smaller of both sides' limits is
   * a `RangeError` before anything is written, and a peer whose message is
   * larger fails the session with `ERR_FRAME_TOO_LARGE`. On datagram
   * transports a message must also fit one record.
   */
  maxMessageSize?: number;
  /**
   * How long one record may take to be written to the transport, in ms
   * (default 60,000; 1 to 3,600,000). A write that takes longer (a peer that
   * stopped reading, a transport that stalls) fails the session with
   * `ERR_TIMEOUT`, so neither the session nor the `send()` calls waiting on
   * it are held forever.
   */
  writeTimeout?: number;
  /** Cancels the session: the handshake fails or the session closes with `ERR_ABORTED`. */
  signal?: AbortSignal;
  /** Random bytes; inject a seeded source for reproducible runs. */
  random?: RandomSource;
  /** Time; inject a simulated clock for reproducible runs. */
  clock?: Clock;
  /**
   * The crypto backend (default `autoBackend`: the runtime's native crypto
   * where available, `node:crypto` first, then WebCrypto; noble otherwise).
   */
  backend?: CryptoBackend;
  /** Receives every trace event from the very first state on (no secrets in them). */
  onTrace?: (event: TraceEvent) => void;
}

/** Options after validation and preset resolution. */
export interface ResolvedOptions {
  /** Our identity key pair, if we authenticate. */
  readonly identity: SignatureKeyPair | undefined;
  /** When our identity is revealed. */
  readonly identityDisclosure: IdentityDisclosure;
  /** Whether the peer must authenticate. */
  readonly requireAuthentication: boolean;
  /** Known peers, if any. */
  readonly accessManager: AccessManager | undefined;
  /** Our algorithm preferences, most preferred first. */
  readonly preferences: AlgorithmPreferences;
  /** A copy of the global shared secret, if any (wiped by the session). */
  readonly globalSharedSecret: Uint8Array | undefined;
  /** Noise, padding, delays, timeouts and key updates after the preset and overrides. */
  readonly profile: SecurityProfile;
  /** Our extender UUIDs, lowercase and sorted. */
  readonly extenders: readonly string[];
  /** The largest record accepted or sent, in bytes. */
  readonly maxRecordLength: number;
  /** The most application bytes held for writing at once. */
  readonly maxBufferedBytes: number;
  /** The largest application message sent or accepted, in bytes. */
  readonly maxMessageSize: number;
  /** How long one record write may take, in ms. */
  readonly writeTimeout: number;
  /** The caller's cancellation signal, if any. */
  readonly signal: AbortSignal | undefined;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function fail(message: string): never {
  throw new RangeError(`Cannot create session: ${message}`);
}

function checkList<Name extends string>(
  option: string,
  table: readonly AlgorithmInfo<Name>[],
  names: readonly Name[] | undefined,
  fallback: readonly Name[],
): readonly Name[] {
  if (names === undefined) return fallback;
  if (!Array.isArray(names)) {
    throw new TypeError(`Cannot create session: "${option}" must be an array of algorithm names`);
  }
  if (names.length === 0 || names.length > 255) {
    fail(`"${option}" must list 1 to 255 algorithms, got ${names.length}`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (!table.some((entry) => entry.name === name)) {
      throw new TypeError(`Cannot create session: "${option}" has unknown algorithm "${name}"`);
    }
    if (seen.has(name)) fail(`"${option}" lists "${name}" twice`);
    seen.add(name);
  }
  return [...names];
}

function checkNumber(option: string, value: number, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    fail(`"${option}" must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function checkRange(option: string, min: number, max: number): void {
  if (min > max) fail(`"${option}" minimum ${min} exceeds its maximum ${max}`);
}

/**
 * Validates options and resolves the security-level preset.
 *
 * @param options The caller's options.
 * @returns The resolved options.
 * @throws {TypeError} For a wrong type or an unknown name.
 * @throws {RangeError} For a value out of range.
 *
 * @example Overriding one preset value
 * ```ts
 * import { resolveOptions } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const resolved = resolveOptions({ securityLevel: 3, maxPadding: 0, requireAuthentication: false });
 * assert.equal(resolved.profile.maxPadding, 0);
 * assert.equal(resolved.profile.noise.enabled, true);
 * assert.throws(() => resolveOptions({ securityLevel: 9 as 1 }), RangeError);
 * ```
 */
export function resolveOptions(options: SessionOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot create session: "options" must be an object`);
  }
  const level = options.securityLevel ?? 1;
  const preset = SECURITY_LEVELS[level as SecurityLevel];
  if (preset === undefined) fail(`"securityLevel" must be 1 to 5, got ${String(level)}`);

  const algorithms = options.algorithms ?? {};
  const preferences: AlgorithmPreferences = {
    primaryKeyExchanges: checkList(
      "algorithms.primaryKeyExchanges",
      KEY_EXCHANGES,
      algorithms.primaryKeyExchanges,
      DEFAULT_PREFERENCES.primaryKeyExchanges,
    ),
    secondaryKeyExchanges: checkList(
      "algorithms.secondaryKeyExchanges",
      KEY_EXCHANGES,
      algorithms.secondaryKeyExchanges,
      DEFAULT_PREFERENCES.secondaryKeyExchanges,
    ),
    aeads: checkList("algorithms.aeads", AEADS, algorithms.aeads, DEFAULT_PREFERENCES.aeads),
    hashes: checkList("algorithms.hashes", HASHES, algorithms.hashes, DEFAULT_PREFERENCES.hashes),
    signatures: checkList(
      "algorithms.signatures",
      SIGNATURES,
      algorithms.signatures,
      DEFAULT_PREFERENCES.signatures,
    ),
  };
  const allowClassical = algorithms.allowClassicalSecondary ?? false;
  if (typeof allowClassical !== "boolean") {
    throw new TypeError(
      `Cannot create session: "algorithms.allowClassicalSecondary" must be a boolean`,
    );
  }
  const refused = refusedSecondaries({ ...preferences, allowClassicalSecondary: allowClassical });
  if (refused.length > 0) {
    throw new TypeError(
      `Cannot create session: "algorithms.secondaryKeyExchanges" must be post-quantum, got "${
        refused.join('", "')
      }" (set "algorithms.allowClassicalSecondary: true" to allow it)`,
    );
  }

  const identity = options.identity;
  if (identity !== undefined) {
    if (!SIGNATURES.some((entry) => entry.name === identity.algorithm)) {
      throw new TypeError(
        `Cannot create session: "identity.algorithm" is unknown: "${String(identity.algorithm)}"`,
      );
    }
    if (
      !(identity.publicKey instanceof Uint8Array) || !(identity.secretKey instanceof Uint8Array)
    ) {
      throw new TypeError(`Cannot create session: "identity" keys must be Uint8Array`);
    }
  }

  const gss = options.globalSharedSecret;
  if (gss !== undefined) {
    if (!(gss instanceof Uint8Array)) {
      throw new TypeError(`Cannot create session: "globalSharedSecret" must be a Uint8Array`);
    }
    if (gss.length < MIN_GLOBAL_SHARED_SECRET_LENGTH) {
      fail(
        `"globalSharedSecret" must be at least ${MIN_GLOBAL_SHARED_SECRET_LENGTH} bytes, got ${gss.length}`,
      );
    }
  }

  const noise: NoiseSettings = { ...preset.noise, ...options.noise };
  checkNumber("noise.minInterval", noise.minInterval, 1, 86_400_000);
  checkNumber("noise.maxInterval", noise.maxInterval, 1, 86_400_000);
  checkRange("noise interval", noise.minInterval, noise.maxInterval);
  checkNumber("noise.minSize", noise.minSize, 0, 65_535);
  checkNumber("noise.maxSize", noise.maxSize, 0, 65_535);
  checkRange("noise size", noise.minSize, noise.maxSize);
  const timeouts: TimeoutSettings = { ...preset.timeouts, ...options.timeouts };
  checkNumber("timeouts.phase", timeouts.phase, 1, 3_600_000);
  checkNumber("timeouts.handshake", timeouts.handshake, 1, 3_600_000);
  checkNumber("timeouts.close", timeouts.close, 1, 3_600_000);
  const keyUpdate: KeyUpdateSettings = { ...preset.keyUpdate, ...options.keyUpdate };
  checkNumber("keyUpdate.minInterval", keyUpdate.minInterval, 1, 2 ** 31);
  checkNumber("keyUpdate.maxInterval", keyUpdate.maxInterval, 1, 2 ** 31);
  checkRange("keyUpdate interval", keyUpdate.minInterval, keyUpdate.maxInterval);
  checkNumber("keyUpdate.maxBytes", keyUpdate.maxBytes, 1, Number.MAX_SAFE_INTEGER);
  checkNumber("keyUpdate.maxRecords", keyUpdate.maxRecords, 1, 2 ** 32);
  checkNumber("keyUpdate.maxDuration", keyUpdate.maxDuration, 1, 3_600_000);
  checkNumber("keyUpdate.gracePeriod", keyUpdate.gracePeriod, 0, 3_600_000);
  const maxPadding = checkNumber("maxPadding", options.maxPadding ?? preset.maxPadding, 0, 65_535);
  const maxHandshakeDelay = checkNumber(
    "maxHandshakeDelay",
    options.maxHandshakeDelay ?? preset.maxHandshakeDelay,
    0,
    60_000,
  );
  const maxRecordLength = checkNumber(
    "maxRecordLength",
    options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH,
    1_024,
    0xff_ffff,
  );
  const maxBufferedBytes = checkNumber(
    "maxBufferedBytes",
    options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    1_024,
    2 ** 32,
  );
  if (!Number.isSafeInteger(maxBufferedBytes)) {
    fail(`"maxBufferedBytes" must be an integer, got ${maxBufferedBytes}`);
  }
  const maxMessageSize = checkNumber(
    "maxMessageSize",
    options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    MIN_MAX_MESSAGE_SIZE,
    MAX_MAX_MESSAGE_SIZE,
  );
  if (!Number.isSafeInteger(maxMessageSize)) {
    fail(`"maxMessageSize" must be an integer, got ${maxMessageSize}`);
  }
  const writeTimeout = checkNumber(
    "writeTimeout",
    options.writeTimeout ?? DEFAULT_WRITE_TIMEOUT,
    1,
    3_600_000,
  );

  const extenders = options.extenders ?? [];
  const normalised = extenders.map((uuid) => {
    const text = typeof uuid === "string" ? uuid.toLowerCase() : "";
    if (!UUID_PATTERN.test(text)) {
      throw new TypeError(
        `Cannot create session: "extenders" has an invalid UUID "${String(uuid)}"`,
      );
    }
    return text;
  });
  if (new Set(normalised).size !== normalised.length) fail(`"extenders" lists a UUID twice`);

  // A record this side must send but cannot is caller misuse, not a peer's fault: say so now.
  const backend = options.backend ?? autoBackend;
  if (
    typeof backend === "object" && backend !== null &&
    typeof backend.keyExchange === "function" && typeof backend.signature === "function"
  ) {
    const largest = largestOutgoingRecord({
      primaryKeyExchanges: preferences.primaryKeyExchanges,
      secondaryKeyExchanges: preferences.secondaryKeyExchanges,
      identity: identity?.algorithm,
      extenders: normalised.length,
      backend,
    });
    if (maxRecordLength < largest.length) {
      fail(
        `"maxRecordLength" must be at least ${largest.length} for the ${largest.message} this side may send, got ${maxRecordLength}`,
      );
    }
  }

  const requireAuthentication = options.requireAuthentication ?? true;
  if (typeof requireAuthentication !== "boolean") {
    throw new TypeError(`Cannot create session: "requireAuthentication" must be a boolean`);
  }
  if (requireAuthentication && options.accessManager === undefined) {
    throw new TypeError(
      `Cannot create session: "requireAuthentication" needs an "accessManager" listing the allowed peers (or set "requireAuthentication: false")`,
    );
  }

  const identityDisclosure = options.identityDisclosure ?? "always";
  if (!["always", "whenRequired", "afterPeer"].includes(identityDisclosure)) {
    throw new TypeError(
      `Cannot create session: "identityDisclosure" must be "always", "whenRequired" or "afterPeer", got "${
        String(identityDisclosure)
      }"`,
    );
  }

  return {
    identity,
    identityDisclosure,
    requireAuthentication,
    accessManager: options.accessManager,
    preferences,
    globalSharedSecret: gss?.slice(),
    profile: { noise, maxPadding, maxHandshakeDelay, timeouts, keyUpdate },
    extenders: normalised.sort(),
    maxRecordLength,
    maxBufferedBytes,
    maxMessageSize,
    writeTimeout,
    signal: options.signal,
  };
}

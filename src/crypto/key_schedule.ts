/**
 * The key schedule: chaining key, traffic keys per epoch, exporter, and the
 * pre-key protection of epoch 0.
 *
 * ```
 * ck0 = HKDF-Extract(salt = "qgate/1 chaining key", ikm = GSS)                 GSS may be empty
 * ck1 = HKDF-Extract(salt = ck0, ikm = primarySecret)                          after EndPrimaryKeyExchange
 * ck2 = HKDF-Extract(salt = ck1, ikm = secondarySecret)                        after EndSecondaryKeyExchange
 * ckN+1 = HKDF-Extract(salt = ckN, ikm = primarySecret' ‖ secondarySecret')    each key update
 * key(epoch, direction) = HKDF-Expand(ck, "qgate/1 traffic " ‖ direction ‖ u32 epoch ‖ th, keyLength)
 * exporterSecret = HKDF-Expand(ck2, "qgate/1 exporter" ‖ th2, hashLength)
 * export(label, context, length) = HKDF-Expand(exporterSecret,
 *     "qgate/1 export " ‖ u16 len(label) ‖ label ‖ u32 len(context) ‖ context, length)
 * ```
 *
 * `direction` is `"i2r"` or `"r2i"`. Epoch 1 keys come from `ck1` and `th1`,
 * epoch 2 keys from `ck2` and `th2` (so session keys depend on both the
 * classical and the post-quantum secret); each key update moves to the next
 * epoch. A key update mixes its fresh primary exchange's secret first,
 * whatever its kind (PROTOCOL.md §7.2).
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import { nobleBackend } from "./noble_backend.ts";
import type { HashFunction } from "./types.ts";

const encoder = new TextEncoder();
const CHAINING_KEY_LABEL = encoder.encode("qgate/1 chaining key");
const TRAFFIC_LABEL = encoder.encode("qgate/1 traffic ");
const EXPORTER_LABEL = encoder.encode("qgate/1 exporter");
const EXPORT_LABEL = encoder.encode("qgate/1 export ");
const KEY_UPDATE_LABEL = encoder.encode("qgate/1 key update");
const GSS_LABEL = encoder.encode("qgate/1 gss");
const PRE_KEY_INFO = encoder.encode("qgate/1 pre-key");
const HEADER_LABEL = encoder.encode("qgate/1 header");
const HEADER_KEY_INFO = encoder.encode("qgate/1 header key");
const I2R = encoder.encode("i2r");
const R2I = encoder.encode("r2i");
const MAX_U32 = 0xffff_ffff;

/** HKDF-Expand from a fixed PRK. */
type Expand = (info: Uint8Array, length: number) => Uint8Array<ArrayBuffer>;

const EMPTY = new Uint8Array(0);

/**
 * `ck0` without a Global Shared Secret, per hash function: a public
 * constant, computed once per hash function and handed out as a copy (a
 * key schedule wipes its chaining key when it advances).
 */
const INITIAL_CHAINING_KEYS = new WeakMap<HashFunction, Uint8Array>();

function initialChainingKey(hash: HashFunction): Uint8Array {
  let ck0 = INITIAL_CHAINING_KEYS.get(hash);
  if (ck0 === undefined) {
    ck0 = hash.extract(CHAINING_KEY_LABEL, EMPTY);
    INITIAL_CHAINING_KEYS.set(hash, ck0);
  }
  return ck0.slice();
}

/** Length in bytes of each direction's connection salt. */
export const SALT_LENGTH = 16;

/** Default traffic key length: the AEAD key length (32 for every qgate AEAD). */
export const DEFAULT_KEY_LENGTH = 32;

function u32(value: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

function checkBytes(value: unknown, what: string, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${what}: "${name}" must be a Uint8Array`);
  }
}

/** The two traffic keys of one epoch. The caller owns and wipes them. */
export interface TrafficKeys {
  /** The epoch these keys belong to (1 primary, 2 session, 3+ key updates). */
  readonly epoch: number;
  /** The key the initiator seals with and the responder opens with. */
  readonly initiatorToResponder: Uint8Array<ArrayBuffer>;
  /** The key the responder seals with and the initiator opens with. */
  readonly responderToInitiator: Uint8Array<ArrayBuffer>;
}

/** Options for {@linkcode KeySchedule}. */
export interface KeyScheduleOptions {
  /** The Global Shared Secret; absent or empty means none. Copied, never kept. */
  globalSharedSecret?: Uint8Array | undefined;
  /** The traffic key length in bytes: the AEAD key length. Default 32. */
  keyLength?: number | undefined;
}

/** Where a {@linkcode KeySchedule} is: which mix it accepts next. */
export type KeyScheduleStage = "initial" | "primary" | "secondary" | "disposed";

/**
 * The chaining key of one connection, advanced once per key exchange.
 *
 * Stages move `initial` → `primary` (after {@linkcode KeySchedule.mixPrimary})
 * → `secondary` (after {@linkcode KeySchedule.mixSecondary}), then
 * {@linkcode KeySchedule.mixUpdate} any number of times. Calling a mix out of
 * order is a programming error (the statecharts own the order) and throws
 * `TypeError` without changing the state. Each mix returns fresh traffic
 * keys; the chaining key and exporter secret stay inside and are wiped by
 * {@linkcode KeySchedule.dispose} (and each old chaining key is wiped when
 * replaced). Secrets passed in are not modified; the caller wipes them.
 *
 * @example Both peers derive the same keys
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { KeySchedule } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const sha256 = nobleBackend.hash("SHA-256")!;
 * const th1 = sha256.digest(new Uint8Array([1]));
 * const th2 = sha256.digest(new Uint8Array([2]));
 * const [a, b] = [new KeySchedule(sha256), new KeySchedule(sha256)];
 * const primary = new Uint8Array(32).fill(1);
 * const secondary = new Uint8Array(32).fill(2);
 * assert.deepEqual(a.mixPrimary(primary, th1), b.mixPrimary(primary, th1));
 * const session = a.mixSecondary(secondary, th2);
 * assert.equal(session.epoch, 2);
 * assert.deepEqual(session, b.mixSecondary(secondary, th2));
 * assert.notDeepEqual(session.initiatorToResponder, session.responderToInitiator);
 * assert.deepEqual(
 *   a.exporter("my protocol", new Uint8Array(0), 16),
 *   b.exporter("my protocol", new Uint8Array(0), 16),
 * );
 * a.dispose();
 * b.dispose();
 * ```
 *
 * @example Stages are enforced
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { KeySchedule } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const sha256 = nobleBackend.hash("SHA-256")!;
 * const schedule = new KeySchedule(sha256, { globalSharedSecret: new Uint8Array([7]) });
 * assert.equal(schedule.stage, "initial");
 * assert.throws(() => schedule.mixSecondary(new Uint8Array(32), new Uint8Array(32)), TypeError);
 * assert.throws(() => schedule.exporter("x", new Uint8Array(0), 32), TypeError);
 * ```
 */
export class KeySchedule {
  readonly #hash: HashFunction;
  readonly #keyLength: number;
  #chainingKey: Uint8Array;
  #exporterSecret: Uint8Array | undefined;
  #stage: KeyScheduleStage = "initial";
  #epoch = 0;

  /**
   * Derives `ck0` from the Global Shared Secret (or none).
   *
   * @param hash The negotiated hash function (HKDF runs over it).
   * @param options The Global Shared Secret and the traffic key length.
   * @throws {RangeError} If `keyLength` is not an integer in [1, 255 × hash length].
   * @throws {TypeError} If `globalSharedSecret` is not a `Uint8Array`.
   */
  constructor(hash: HashFunction, options: KeyScheduleOptions = {}) {
    const keyLength = options.keyLength ?? DEFAULT_KEY_LENGTH;
    if (!Number.isSafeInteger(keyLength) || keyLength < 1 || keyLength > 255 * hash.outputLength) {
      throw new RangeError(
        `Cannot create key schedule: "keyLength" must be an integer in [1, ${
          255 * hash.outputLength
        }], got ${keyLength}`,
      );
    }
    const gss = options.globalSharedSecret ?? EMPTY;
    checkBytes(gss, "create key schedule", "globalSharedSecret");
    this.#hash = hash;
    this.#keyLength = keyLength;
    this.#chainingKey = gss.length === 0
      ? initialChainingKey(hash)
      : hash.extract(CHAINING_KEY_LABEL, gss);
  }

  /** The current stage. */
  get stage(): KeyScheduleStage {
    return this.#stage;
  }

  /** The epoch of the keys returned last (0 before any mix). */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Mixes the primary (classical) shared secret: `ck1`, then the epoch-1 keys.
   *
   * @param secret The primary key exchange's shared secret.
   * @param transcriptHash `th1`, the transcript hash after EndPrimaryKeyExchange.
   * @returns The epoch-1 traffic keys.
   * @throws {TypeError} If the stage is not `initial`.
   * @throws {RangeError} If `secret` is empty or `transcriptHash` is not the hash length.
   */
  mixPrimary(secret: Uint8Array, transcriptHash: Uint8Array): TrafficKeys {
    this.#expectStage("initial", "mix primary secret");
    this.#checkInputs("mix primary secret", transcriptHash, secret);
    this.#advance(secret);
    this.#stage = "primary";
    return this.#fromChainingKey((expand) => this.#trafficKeys(1, transcriptHash, expand));
  }

  /**
   * Mixes the secondary (post-quantum) shared secret: `ck2`, the epoch-2
   * session keys and the exporter secret.
   *
   * @param secret The secondary key exchange's shared secret.
   * @param transcriptHash `th2`, the transcript hash after EndSecondaryKeyExchange.
   * @returns The epoch-2 traffic keys.
   * @throws {TypeError} If the stage is not `primary`.
   * @throws {RangeError} If `secret` is empty or `transcriptHash` is not the hash length.
   */
  mixSecondary(secret: Uint8Array, transcriptHash: Uint8Array): TrafficKeys {
    this.#expectStage("primary", "mix secondary secret");
    this.#checkInputs("mix secondary secret", transcriptHash, secret);
    this.#advance(secret);
    return this.#fromChainingKey((expand) => {
      // Three expansions from ck2, keyed once.
      this.#exporterSecret = expand(
        concatBytes(EXPORTER_LABEL, transcriptHash),
        this.#hash.outputLength,
      );
      this.#stage = "secondary";
      return this.#trafficKeys(2, transcriptHash, expand);
    });
  }

  /**
   * Mixes a key update's fresh primary and secondary secrets, in that order
   * (PROTOCOL.md §7.2), and derives the next epoch's keys.
   *
   * @param primarySecret The shared secret of the update's primary exchange.
   * @param secondarySecret The shared secret of the update's secondary exchange.
   * @param transcriptHash The key update transcript ({@linkcode keyUpdateTranscript}).
   * @returns The traffic keys of epoch `epoch + 1`.
   * @throws {TypeError} If the stage is not `secondary`.
   * @throws {RangeError} If a secret is empty, `transcriptHash` is not the hash length, or epochs run out (2^32).
   */
  mixUpdate(
    primarySecret: Uint8Array,
    secondarySecret: Uint8Array,
    transcriptHash: Uint8Array,
  ): TrafficKeys {
    this.#expectStage("secondary", "mix key update");
    this.#checkInputs("mix key update", transcriptHash, primarySecret, secondarySecret);
    if (this.#epoch >= MAX_U32) {
      throw new RangeError(`Cannot mix key update: epoch ${this.#epoch} is the last epoch`);
    }
    const ikm = concatBytes(primarySecret, secondarySecret);
    try {
      this.#advance(ikm);
    } finally {
      ikm.fill(0);
    }
    return this.#fromChainingKey((expand) =>
      this.#trafficKeys(this.#epoch + 1, transcriptHash, expand)
    );
  }

  /**
   * Derives keying material for an application protocol from the session
   * (RFC 5705 style). Both peers get the same bytes for the same arguments.
   *
   * @param label An application-chosen label (at most 65,535 UTF-8 bytes).
   * @param context Application context bytes (may be empty).
   * @param length Bytes to derive, in [1, 255 × hash length].
   * @returns Fresh keying material.
   * @throws {TypeError} Before `mixSecondary` or after `dispose`.
   * @throws {RangeError} If `label` or `length` is out of range.
   */
  exporter(label: string, context: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
    if (this.#stage !== "secondary" || this.#exporterSecret === undefined) {
      throw new TypeError(
        `Cannot export keying material: the key schedule is at stage "${this.#stage}", expected "secondary"`,
      );
    }
    if (typeof label !== "string") {
      throw new TypeError(`Cannot export keying material: "label" must be a string`);
    }
    checkBytes(context, "export keying material", "context");
    const labelBytes = encoder.encode(label);
    if (labelBytes.length > 0xffff) {
      throw new RangeError(
        `Cannot export keying material: "label" must be at most 65535 bytes, got ${labelBytes.length}`,
      );
    }
    if (context.length > MAX_U32) {
      throw new RangeError(`Cannot export keying material: "context" is too long`);
    }
    const max = 255 * this.#hash.outputLength;
    if (!Number.isSafeInteger(length) || length < 1 || length > max) {
      throw new RangeError(
        `Cannot export keying material: "length" must be an integer in [1, ${max}], got ${length}`,
      );
    }
    const labelLength = new Uint8Array(2);
    new DataView(labelLength.buffer).setUint16(0, labelBytes.length);
    const info = concatBytes(EXPORT_LABEL, labelLength, labelBytes, u32(context.length), context);
    return this.#hash.expand(this.#exporterSecret, info, length);
  }

  /** Wipes the chaining key and exporter secret. Idempotent; later calls throw `TypeError`. */
  dispose(): void {
    this.#chainingKey.fill(0);
    this.#exporterSecret?.fill(0);
    this.#exporterSecret = undefined;
    this.#stage = "disposed";
  }

  #expectStage(expected: KeyScheduleStage, what: string): void {
    if (this.#stage !== expected) {
      throw new TypeError(
        `Cannot ${what}: the key schedule is at stage "${this.#stage}", expected "${expected}"`,
      );
    }
  }

  #checkInputs(what: string, transcriptHash: Uint8Array, ...secrets: Uint8Array[]): void {
    for (const secret of secrets) {
      checkBytes(secret, what, "secret");
      if (secret.length === 0) throw new RangeError(`Cannot ${what}: "secret" must not be empty`);
    }
    checkBytes(transcriptHash, what, "transcriptHash");
    if (transcriptHash.length !== this.#hash.outputLength) {
      throw new RangeError(
        `Cannot ${what}: "transcriptHash" must be ${this.#hash.outputLength} bytes, got ${transcriptHash.length}`,
      );
    }
  }

  #advance(ikm: Uint8Array): void {
    const next = this.#hash.extract(this.#chainingKey, ikm);
    this.#chainingKey.fill(0);
    this.#chainingKey = next;
  }

  /**
   * Runs `use` with HKDF-Expand from the current chaining key, keyed into
   * HMAC once where the hash function offers an expander (wiped afterwards).
   */
  #fromChainingKey<T>(use: (expand: Expand) => T): T {
    const chainingKey = this.#chainingKey;
    const expander = this.#hash.expander?.(chainingKey);
    if (expander === undefined) {
      return use((info, length) => this.#hash.expand(chainingKey, info, length));
    }
    try {
      return use((info, length) => expander.expand(info, length));
    } finally {
      expander.dispose();
    }
  }

  #trafficKeys(epoch: number, transcriptHash: Uint8Array, expand: Expand): TrafficKeys {
    this.#epoch = epoch;
    const key = (direction: Uint8Array): Uint8Array<ArrayBuffer> =>
      expand(concatBytes(TRAFFIC_LABEL, direction, u32(epoch), transcriptHash), this.#keyLength);
    return Object.freeze({
      epoch,
      initiatorToResponder: key(I2R),
      responderToInitiator: key(R2I),
    });
  }
}

/**
 * The transcript hash of a key update to `epoch`:
 * `H("qgate/1 key update" ‖ u32 epoch ‖ BeginKeyUpdate body ‖ EndKeyUpdate body)`.
 *
 * @param hash The negotiated hash function.
 * @param epoch The epoch the update moves to (the `u32 epoch` in both bodies).
 * @param beginBody The encoded BeginKeyUpdate body.
 * @param endBody The encoded EndKeyUpdate body.
 * @returns The hash, to pass to {@linkcode KeySchedule.mixUpdate}.
 * @throws {RangeError} If `epoch` is not a u32.
 *
 * @example Binding a key update to its messages
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { keyUpdateTranscript } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const sha256 = nobleBackend.hash("SHA-256")!;
 * const begin = new Uint8Array([0, 0, 0, 3, 0, 1, 9, 0, 1, 8]);
 * const end = new Uint8Array([0, 0, 0, 3, 0, 1, 7, 0, 1, 6]);
 * const th = keyUpdateTranscript(sha256, 3, begin, end);
 * assert.equal(th.length, 32);
 * assert.notDeepEqual(th, keyUpdateTranscript(sha256, 3, end, begin));
 * ```
 */
export function keyUpdateTranscript(
  hash: HashFunction,
  epoch: number,
  beginBody: Uint8Array,
  endBody: Uint8Array,
): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_U32) {
    throw new RangeError(`Cannot hash key update: "epoch" must be a u32, got ${epoch}`);
  }
  checkBytes(beginBody, "hash key update", "beginBody");
  checkBytes(endBody, "hash key update", "endBody");
  return hash.create().update(KEY_UPDATE_LABEL).update(u32(epoch)).update(beginBody).update(
    endBody,
  ).peek();
}

/** The epoch-0 keys of one direction, derived from its sender's salt. */
export interface PreKeys {
  /** The ChaCha20-Poly1305 key for epoch-0 records (32 bytes). */
  readonly preKey: Uint8Array<ArrayBuffer>;
  /**
   * The ChaCha20 key that masks record headers for the whole connection (32
   * bytes); it depends on the GSS when one is configured.
   */
  readonly headerKey: Uint8Array<ArrayBuffer>;
  /**
   * The GSS-free header key, which masks only the length of a stream
   * direction's first record (record index 0), so that a peer with another
   * GSS still finds that record's boundary and fails on its AEAD. Equal to
   * `headerKey` without a GSS.
   */
  readonly openingHeaderKey: Uint8Array<ArrayBuffer>;
}

const NOBLE_SHA256 = nobleBackend.hash("SHA-256")!;

/**
 * Derives one direction's epoch-0 record key and header-masking key:
 *
 * ```
 * preKey           = HKDF-SHA-256(ikm = "qgate/1 gss" ‖ GSS, salt = senderSalt, info = "qgate/1 pre-key", 32)
 * headerKey        = HKDF-SHA-256(ikm = "qgate/1 header" ‖ GSS, salt = senderSalt, info = "qgate/1 header key", 32)
 * openingHeaderKey = HKDF-SHA-256(ikm = "qgate/1 header", salt = senderSalt, info = "qgate/1 header key", 32)
 * ```
 *
 * Without a Global Shared Secret the pre-key is obfuscation only: anyone who
 * sees the salt can derive it, and both header keys are the same. With one, a
 * peer without it cannot read or forge epoch-0 records, nor find the record
 * boundaries of a stream after its first record. The first record of a
 * stream direction is framed with the GSS-free `openingHeaderKey`, so a peer
 * with a different GSS finds it and fails deterministically with
 * `ERR_DECRYPT_FAILED` on its AEAD instead of on a garbage length.
 * Always SHA-256 (the hash is not negotiated yet).
 *
 * @param salt The sending peer's 16-byte salt.
 * @param globalSharedSecret The GSS; absent or empty means none.
 * @param sha256 The SHA-256 to run HKDF over (a backend's; default noble's).
 *   Every intermediate secret it is handed or returns is wiped here.
 * @returns Fresh `preKey`, `headerKey` and `openingHeaderKey`; the caller wipes them.
 * @throws {RangeError} If `salt` is not 16 bytes.
 * @throws {TypeError} If `sha256` is not a SHA-256 hash function.
 *
 * @example The GSS changes the pre-key and the header key, not the opening header key
 * ```ts
 * import { derivePreKeys } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const salt = new Uint8Array(16).fill(5);
 * const open = derivePreKeys(salt);
 * const secret = derivePreKeys(salt, new TextEncoder().encode("shared"));
 * assert.equal(open.preKey.length, 32);
 * assert.notDeepEqual(open.preKey, secret.preKey);
 * assert.notDeepEqual(open.headerKey, secret.headerKey);
 * assert.deepEqual(open.openingHeaderKey, secret.openingHeaderKey);
 * assert.deepEqual(open.headerKey, open.openingHeaderKey);
 * assert.deepEqual(derivePreKeys(salt, new Uint8Array(0)), open);
 * ```
 */
export function derivePreKeys(
  salt: Uint8Array,
  globalSharedSecret?: Uint8Array,
  sha256: HashFunction = NOBLE_SHA256,
): PreKeys {
  checkBytes(salt, "derive pre-keys", "salt");
  if (salt.length !== SALT_LENGTH) {
    throw new RangeError(
      `Cannot derive pre-keys: "salt" must be ${SALT_LENGTH} bytes, got ${salt.length}`,
    );
  }
  const gss = globalSharedSecret ?? new Uint8Array(0);
  checkBytes(gss, "derive pre-keys", "globalSharedSecret");
  if (sha256?.name !== "SHA-256") {
    throw new TypeError(`Cannot derive pre-keys: "sha256" must be a SHA-256 hash function`);
  }
  const ikm = concatBytes(GSS_LABEL, gss);
  const prk = sha256.extract(salt, ikm);
  const preKey = sha256.expand(prk, PRE_KEY_INFO, 32);
  ikm.fill(0);
  prk.fill(0);
  const openingPrk = sha256.extract(salt, HEADER_LABEL);
  const openingHeaderKey = sha256.expand(openingPrk, HEADER_KEY_INFO, 32);
  openingPrk.fill(0);
  let headerKey = openingHeaderKey.slice();
  if (gss.length > 0) {
    const headerIkm = concatBytes(HEADER_LABEL, gss);
    const headerPrk = sha256.extract(salt, headerIkm);
    headerKey = sha256.expand(headerPrk, HEADER_KEY_INFO, 32);
    headerIkm.fill(0);
    headerPrk.fill(0);
  }
  return Object.freeze({ preKey, headerKey, openingHeaderKey });
}

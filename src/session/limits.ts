/**
 * Resource limits shared by the session runtime and the listeners.
 *
 * - {@linkcode SendBudget} is the accounting behind the `maxBufferedBytes`
 *   session option: bytes handed to `send()` (or `sendNoise()`) that are not
 *   yet written to the transport. A send that does not fit waits for room
 *   (backpressure); only a caller that keeps piling up sends without awaiting
 *   them is refused, with `ERR_RESOURCE_LIMIT`.
 * - {@linkcode AddressRateLimiter} is the accounting behind the
 *   `maxConnectionsPerAddress` / `perAddressInterval` listener options: a
 *   token bucket per remote host, in a table of bounded size.
 *
 * Both hold no secret and no reference to a peer's data beyond the counts.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import type { CryptoBackend, KeyExchangeName, SignatureName } from "../crypto/types.ts";

/** The default `maxBufferedBytes`: 4 MiB of unwritten application data per session. */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Default `writeTimeout`: how long one record may take to be written, in ms. */
export const DEFAULT_WRITE_TIMEOUT = 60_000;

/** The default `maxConnectionsPerAddress`: new connections one host may open per interval. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256;

/** The default `perAddressInterval`, in milliseconds. */
export const DEFAULT_PER_ADDRESS_INTERVAL = 10_000;

/** The most remote hosts an {@linkcode AddressRateLimiter} remembers at once. */
export const MAX_TRACKED_ADDRESSES = 65_536;

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Bounds the bytes a session holds for writing: `reserve()` before queueing a
 * record, `release()` once it is written.
 *
 * A reservation is granted in call order as soon as it fits under the limit
 * (or when nothing is buffered, so a record larger than the limit still
 * goes out alone). Reservations that must wait are queued; once the queue
 * holds a limit's worth of bytes, a further reservation is refused with
 * `ERR_RESOURCE_LIMIT` instead of growing it. So at most twice the limit (or
 * one record) is ever held, whatever the caller does.
 *
 * @example Backpressure, then refusal
 * ```ts
 * import { ErrorCode } from "@qgate/handshake";
 * import { SendBudget } from "./limits.ts";
 * import assert from "node:assert/strict";
 *
 * const budget = new SendBudget(100);
 * await budget.reserve(80);
 * let second = false;
 * const waiting = budget.reserve(60).then(() => (second = true));
 * await assert.rejects(budget.reserve(60), (error: { code?: string }) =>
 *   error.code === ErrorCode.RESOURCE_LIMIT);
 * assert.equal(second, false);
 * budget.release(80);
 * await waiting;
 * assert.equal(budget.buffered, 60);
 * ```
 */
export class SendBudget {
  readonly #max: number;
  readonly #queue: Waiter[] = [];
  #buffered = 0;
  #waiting = 0;
  #closed: (() => Error) | undefined;

  /**
   * Creates a budget.
   *
   * @param maxBufferedBytes The limit, a positive integer.
   * @throws {RangeError} If the limit is not a positive safe integer.
   */
  constructor(maxBufferedBytes: number) {
    if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 1) {
      throw new RangeError(
        `Cannot create send budget: "maxBufferedBytes" must be a positive integer, got ${
          String(maxBufferedBytes)
        }`,
      );
    }
    this.#max = maxBufferedBytes;
  }

  /** Bytes reserved and not yet released. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Bytes of reservations waiting for room. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Reserves room for `bytes` at once if it fits and nobody waits.
   *
   * @param bytes The record's size in bytes.
   * @returns `true` if reserved; `false` if the caller must {@linkcode SendBudget.reserve} and wait.
   */
  tryReserve(bytes: number): boolean {
    if (this.#closed !== undefined || this.#queue.length > 0 || !this.#fits(bytes)) return false;
    this.#buffered += bytes;
    return true;
  }

  /**
   * Reserves room for `bytes`, waiting (in call order) until it fits.
   *
   * @param bytes The record's size in bytes.
   * @returns Resolves once the room is reserved.
   * @throws {SessionError} `ERR_RESOURCE_LIMIT` if the waiting reservations
   *   already hold the limit; the close reason once {@linkcode SendBudget.close} ran.
   */
  reserve(bytes: number): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed());
    if (this.#queue.length === 0 && this.#fits(bytes)) {
      this.#buffered += bytes;
      return Promise.resolve();
    }
    if (this.#queue.length > 0 && this.#waiting + bytes > this.#max) {
      return Promise.reject(
        new SessionError(
          ErrorCode.RESOURCE_LIMIT,
          `Cannot send: ${this.#buffered} bytes are buffered and ${this.#waiting} more wait; the limit is ${this.#max} ("maxBufferedBytes")`,
        ),
      );
    }
    this.#waiting += bytes;
    return new Promise((resolve, reject) => this.#queue.push({ bytes, resolve, reject }));
  }

  /**
   * Gives back room reserved earlier and lets waiting reservations in.
   *
   * @param bytes The size given to the matching {@linkcode SendBudget.reserve}.
   */
  release(bytes: number): void {
    this.#buffered = Math.max(0, this.#buffered - bytes);
    while (this.#queue.length > 0 && this.#closed === undefined) {
      const next = this.#queue[0]!;
      if (!this.#fits(next.bytes)) break;
      this.#queue.shift();
      this.#waiting -= next.bytes;
      this.#buffered += next.bytes;
      next.resolve();
    }
  }

  /**
   * Refuses every waiting and future reservation with `reason`.
   *
   * @param reason The error waiting senders get, or a function that makes it
   *   (called only if someone gets it: an error's stack trace is costly).
   */
  close(reason: Error | (() => Error)): void {
    if (this.#closed !== undefined) return;
    let error: Error | undefined;
    const make = (): Error => (error ??= typeof reason === "function" ? reason() : reason);
    this.#closed = make;
    for (const waiter of this.#queue.splice(0)) waiter.reject(make());
    this.#waiting = 0;
  }

  #fits(bytes: number): boolean {
    return this.#buffered === 0 || this.#buffered + bytes <= this.#max;
  }
}

/**
 * The host part of a remote address as the transports describe it:
 * `"192.0.2.1:5000"` → `"192.0.2.1"`, `"[2001:db8::1]:5000"` → `"2001:db8::1"`;
 * anything without a port is returned unchanged.
 *
 * @param remoteAddress The address label a transport source gave the listener.
 * @returns The host, the key of the per-address limit.
 *
 * @example
 * ```ts
 * import { addressHost } from "./limits.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(addressHost("127.0.0.1:50312"), "127.0.0.1");
 * assert.equal(addressHost("[::1]:443"), "::1");
 * assert.equal(addressHost("unknown"), "unknown");
 * ```
 */
export function addressHost(remoteAddress: string): string {
  if (remoteAddress.startsWith("[")) {
    const end = remoteAddress.indexOf("]");
    return end === -1 ? remoteAddress : remoteAddress.slice(1, end);
  }
  const colon = remoteAddress.lastIndexOf(":");
  if (colon === -1 || remoteAddress.indexOf(":") !== colon) return remoteAddress;
  return remoteAddress.slice(0, colon);
}

/** Parses an IPv6 address (no brackets, no zone) into eight 16-bit groups; `undefined` if it is not one. */
function ipv6Groups(text: string): number[] | undefined {
  let head = text;
  let tail: number[] = [];
  // A trailing dotted IPv4 part stands for the last two groups (::ffff:192.0.2.1).
  const lastColon = text.lastIndexOf(":");
  if (lastColon !== -1 && text.includes(".", lastColon)) {
    const octets = text.slice(lastColon + 1).split(".");
    if (octets.length !== 4 || octets.some((octet) => !/^\d{1,3}$/.test(octet) || +octet > 255)) {
      return undefined;
    }
    const [a, b, c, d] = octets.map(Number) as [number, number, number, number];
    tail = [(a << 8) | b, (c << 8) | d];
    const before = text.slice(0, lastColon + 1);
    head = before.endsWith("::") ? before : before.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups = part.split(":");
    if (groups.some((group) => !/^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
    return groups.map((group) => parseInt(group, 16));
  };
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (left === undefined || right === undefined) return undefined;
  const known = left.length + right.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  return [...left, ...new Array<number>(8 - known).fill(0), ...right, ...tail];
}

/**
 * Checks an `ipv6Prefix` option (internal).
 *
 * @throws {RangeError} If it is not an integer from 1 to 128.
 */
export function checkIpv6Prefix(context: string, ipv6Prefix: unknown): void {
  if (
    !Number.isSafeInteger(ipv6Prefix) || (ipv6Prefix as number) < 1 || (ipv6Prefix as number) > 128
  ) {
    throw new RangeError(
      `Cannot ${context}: "ipv6Prefix" must be an integer from 1 to 128, got ${String(ipv6Prefix)}`,
    );
  }
}

/**
 * The key one host counts under in the per-address limit. IPv4 hosts count
 * per address. An IPv6 host counts per prefix of `ipv6Prefix` bits (default
 * 64: one subscriber or LAN usually holds a whole /64, so counting single
 * addresses would let it open connections without limit); an IPv4-mapped
 * IPv6 address (`::ffff:192.0.2.1`) counts as its IPv4 address. Labels that
 * are not IP addresses count as they are.
 *
 * @param remoteAddress The address label a transport source gave the listener.
 * @param ipv6Prefix Prefix length in bits for IPv6 hosts, 1 to 128 (default 64).
 * @returns The key: an IPv4 address, `"<prefix>/<bits>"` for IPv6, or the host label.
 * @throws {RangeError} If `ipv6Prefix` is not an integer from 1 to 128.
 *
 * @example
 * ```ts
 * import { addressKey } from "./limits.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(addressKey("192.0.2.1:5000"), "192.0.2.1");
 * assert.equal(addressKey("[2001:db8:1:2:aaaa::1]:443"), "2001:db8:1:2::/64");
 * assert.equal(addressKey("[2001:db8:1:2:bbbb::9]:443"), "2001:db8:1:2::/64");
 * assert.equal(addressKey("[::ffff:192.0.2.1]:443"), "192.0.2.1");
 * assert.equal(addressKey("[2001:db8::1]:443", 128), "2001:db8:0:0:0:0:0:1/128");
 * ```
 */
export function addressKey(remoteAddress: string, ipv6Prefix = 64): string {
  checkIpv6Prefix("key address", ipv6Prefix);
  const host = addressHost(remoteAddress);
  if (!host.includes(":")) return host;
  const zone = host.indexOf("%");
  const groups = ipv6Groups(zone === -1 ? host : host.slice(0, zone));
  if (groups === undefined) return host;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join(".");
  }
  const masked = groups.map((group, i) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - 16 * i));
    return bits === 0 ? 0 : group & ((0xffff << (16 - bits)) & 0xffff);
  });
  const kept = Math.ceil(ipv6Prefix / 16);
  const prefix = masked.slice(0, kept).map((group) => group.toString(16)).join(":");
  return `${prefix}${kept < 8 ? "::" : ""}/${ipv6Prefix}`;
}

/** Options of an {@linkcode AddressRateLimiter}. */
export interface AddressRateLimiterOptions {
  /** New connections one host may open per interval (a positive integer, or `Infinity`: no limit). */
  readonly limit: number;
  /** The interval in milliseconds; the allowance refills evenly over it. */
  readonly interval: number;
  /** The clock, in milliseconds. */
  readonly now: () => number;
  /** The most hosts remembered at once (default {@linkcode MAX_TRACKED_ADDRESSES}). */
  readonly maxTracked?: number;
  /** IPv6 hosts count per prefix of this many bits (default 64; see {@linkcode addressKey}). */
  readonly ipv6Prefix?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per remote host (an IPv6 host: per /64 by default, see
 * {@linkcode addressKey}): each host may open `limit` connections at
 * once and then `limit` more per `interval`, refilled evenly. Hosts whose
 * bucket is full again are forgotten; when more than `maxTracked` hosts are
 * remembered, the least recently seen is forgotten (it starts afresh).
 *
 * @example Three per second
 * ```ts
 * import { AddressRateLimiter } from "./limits.ts";
 * import assert from "node:assert/strict";
 *
 * let time = 0;
 * const limiter = new AddressRateLimiter({ limit: 3, interval: 1_000, now: () => time });
 * const tries = [1, 2, 3, 4].map(() => limiter.tryAcquire("192.0.2.1:5000"));
 * assert.deepEqual(tries, [true, true, true, false]);
 * assert.equal(limiter.tryAcquire("192.0.2.2:5000"), true); // another host
 * time = 400; // 1.2 connections refilled
 * assert.equal(limiter.tryAcquire("192.0.2.1:6000"), true);
 * assert.equal(limiter.tryAcquire("192.0.2.1:6001"), false);
 * ```
 */
export class AddressRateLimiter {
  readonly #limit: number;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #maxTracked: number;
  readonly #ipv6Prefix: number;
  readonly #buckets = new Map<string, Bucket>();

  /**
   * Creates a limiter.
   *
   * @param options The limit, the interval, the clock and the table size.
   * @throws {RangeError} If `limit` is not a positive integer or `Infinity`,
   *   `interval` is not a positive number, or `maxTracked` is not a positive integer.
   */
  constructor(options: AddressRateLimiterOptions) {
    const { limit, interval, now, maxTracked = MAX_TRACKED_ADDRESSES, ipv6Prefix = 64 } = options;
    checkIpv6Prefix("create rate limiter", ipv6Prefix);
    if (!(limit === Infinity || (Number.isSafeInteger(limit) && limit >= 1))) {
      throw new RangeError(
        `Cannot create rate limiter: "limit" must be a positive integer or Infinity, got ${
          String(limit)
        }`,
      );
    }
    if (typeof interval !== "number" || !Number.isFinite(interval) || interval <= 0) {
      throw new RangeError(
        `Cannot create rate limiter: "interval" must be a positive number, got ${String(interval)}`,
      );
    }
    if (!Number.isSafeInteger(maxTracked) || maxTracked < 1) {
      throw new RangeError(
        `Cannot create rate limiter: "maxTracked" must be a positive integer, got ${
          String(maxTracked)
        }`,
      );
    }
    this.#limit = limit;
    this.#interval = interval;
    this.#now = now;
    this.#maxTracked = maxTracked;
    this.#ipv6Prefix = ipv6Prefix;
  }

  /** The number of hosts remembered now. */
  get tracked(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one connection from the host's allowance.
   *
   * @param remoteAddress The remote address (`host:port`); only the host counts, an IPv6
   *   host by its prefix (see {@linkcode addressKey}).
   * @returns `true` if the connection is within the limit, `false` if it must be refused.
   */
  tryAcquire(remoteAddress: string): boolean {
    if (this.#limit === Infinity) return true;
    const now = this.#now();
    this.#forgetIdle(now);
    const host = addressKey(remoteAddress, this.#ipv6Prefix);
    const bucket = this.#buckets.get(host);
    let tokens = this.#limit;
    if (bucket !== undefined) {
      tokens = this.#refilled(bucket, now);
      this.#buckets.delete(host);
    } else if (this.#buckets.size >= this.#maxTracked) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    const allowed = tokens >= 1;
    // Re-inserted: the map stays ordered from least to most recently seen.
    this.#buckets.set(host, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed;
  }

  #refilled(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.at);
    return Math.min(this.#limit, bucket.tokens + (elapsed * this.#limit) / this.#interval);
  }

  /** Forgets a few least recently seen hosts whose bucket is full again (amortised). */
  #forgetIdle(now: number): void {
    for (let i = 0; i < 4; i++) {
      const first = this.#buckets.entries().next().value;
      if (first === undefined) return;
      const [host, bucket] = first;
      if (this.#refilled(bucket, now) < this.#limit) return;
      this.#buckets.delete(host);
    }
  }
}

/** What {@linkcode largestOutgoingRecord} needs to know about one side. */
export interface OutgoingRecordInput {
  /** The key exchanges this side may use in the primary slot. */
  readonly primaryKeyExchanges: readonly KeyExchangeName[];
  /** The key exchanges this side may use in the secondary slot. */
  readonly secondaryKeyExchanges: readonly KeyExchangeName[];
  /** This side's identity scheme, if it authenticates. */
  readonly identity?: SignatureName | undefined;
  /** How many extenders this side announces. */
  readonly extenders: number;
  /** Where the key, ciphertext and signature lengths come from. */
  readonly backend: CryptoBackend;
}

/** The largest sealed record among the handshake and key-update messages one side may send. */
export interface OutgoingRecord {
  /** Its sealed length: body + 5 (type, length) + 16 (tag). */
  readonly length: number;
  /** The message that needs it, e.g. `"ML-KEM-1024 offer"`. */
  readonly message: string;
}

/** Message type ‖ u32 body length, and the AEAD tag. */
const RECORD_OVERHEAD = 5 + 16;

/**
 * The largest record one side may have to send during the handshake and key
 * updates, given its algorithm preferences, identity and extenders: the
 * smallest `maxRecordLength` that cannot make this side fail on sending.
 * Algorithms the backend lacks are skipped.
 *
 * @param input The preferences, identity, extender count and backend.
 * @returns The length and the message that needs it.
 *
 * @example ML-KEM-1024 sets the floor
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { largestOutgoingRecord } from "./limits.ts";
 * import assert from "node:assert/strict";
 *
 * const largest = largestOutgoingRecord({
 *   primaryKeyExchanges: ["X25519"],
 *   secondaryKeyExchanges: ["ML-KEM-1024"],
 *   extenders: 0,
 *   backend: nobleBackend,
 * });
 * // BeginKeyUpdate: u32 epoch ‖ u16 ‖ 32 ‖ u16 ‖ 1568, sealed.
 * assert.deepEqual(largest, { length: 4 + 2 + 32 + 2 + 1568 + 21, message: "key update" });
 * ```
 */
export function largestOutgoingRecord(input: OutgoingRecordInput): OutgoingRecord {
  const shareLength = (name: KeyExchangeName): number => {
    const kex = input.backend.keyExchange(name);
    return kex === undefined ? 0 : Math.max(kex.offerLength, kex.answerLength);
  };
  let largest: OutgoingRecord = { length: 0, message: "" };
  const consider = (body: number, message: string): void => {
    if (body + RECORD_OVERHEAD > largest.length) {
      largest = { length: body + RECORD_OVERHEAD, message };
    }
  };
  let primary = 0;
  for (const name of input.primaryKeyExchanges) {
    const length = shareLength(name);
    primary = Math.max(primary, length);
    consider(length, `${name} share`);
  }
  let secondary = 0;
  for (const name of input.secondaryKeyExchanges) {
    const length = shareLength(name);
    secondary = Math.max(secondary, length);
    consider(length, `${name} share`);
  }
  consider(4 + 2 + primary + 2 + secondary, "key update");
  if (input.identity !== undefined) {
    const scheme = input.backend.signature(input.identity);
    if (scheme !== undefined) {
      consider(
        7 + scheme.publicKeyLength + scheme.signatureLength,
        `${input.identity} authentication`,
      );
    }
  }
  consider(2 + 16 * input.extenders + 4, "session init"); // extenders, then u32 maxMessageSize
  return largest;
}

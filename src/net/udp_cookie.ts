/**
 * The UDP cookie exchange: a stateless proof that a sender can receive at
 * the address it sends from, asked for by a UDP listener under load (in the
 * spirit of WireGuard's cookie reply and DTLS's HelloVerifyRequest).
 *
 * While a listener has at least `cookieThreshold` handshakes in progress, a
 * datagram from an address it holds no session for creates nothing: the
 * listener answers it with a **cookie reply** and forgets it. The initiator
 * answers the reply with a **cookie echo**; a valid echo from the same
 * address makes the listener start a session for it. A reply is never longer
 * than the datagram that caused it, and a datagram too short for a reply gets
 * none; what a session then sends an address that has not proved it receives
 * there is bounded separately (three times what it received, PROTOCOL.md §12.4).
 *
 * ```
 * cookieKey = HKDF-SHA-256(ikm = "qgate/1 gss" ‖ GSS, salt = "qgate/1 cookie", info = "qgate/1 cookie key", 32)
 * cookie    = HMAC-SHA-256(secret, "qgate/1 cookie" ‖ address)[0..16]     address = "host:port", UTF-8
 * reply     = nonce (12) ‖ (trigger[0..8] ‖ cookie ‖ zeros(p)) XOR ChaCha20(cookieKey, nonce)
 *             p random in [0, 64], and 36 + p ≤ |trigger|
 * echo      = nonce (12) ‖ (cookie ‖ zeros(q)) XOR ChaCha20(cookieKey, nonce, counter 1)
 *             q random in [16, 80]
 * ```
 *
 * `secret` is 32 random bytes drawn by the listener and replaced every
 * `cookieSecretLifetime` (default two minutes); a cookie made with the
 * current or the previous secret is accepted, so a cookie lives two to four
 * minutes. `trigger[0..8]` are the first bytes of the datagram that was
 * answered: for an initiator's epoch-0 datagram, the start of its salt, so
 * only someone who saw that datagram can make a reply the initiator accepts.
 * An echo needs no integrity of its own: the cookie inside is a MAC the
 * listener recomputes, and at least 16 zero bytes let the listener discard
 * anything else with one ChaCha20 call, before any MAC. Nonces and padding
 * lengths are fresh for every datagram.
 *
 * Replies (36–100 bytes) and echoes (44–108 bytes) are random-looking bytes
 * in the size range of ordinary records; nothing in clear tells them apart.
 * A passive observer still sees an extra round trip before the handshake.
 * Without a GSS the cookie key is a public constant: the encryption only
 * hides the exchange from pattern matching. An attacker that can receive at
 * the address it claims can always get a cookie: the exchange stops blind
 * address spoofing, not real hosts (those meet the per-address limit).
 *
 * Cost to the listener per unsolicited datagram: one ChaCha20 call on at
 * most 108 bytes (only for a datagram of echo size), then one HMAC-SHA-256
 * and one ChaCha20 call on at most 100 bytes for the reply; no allocation
 * outlives the datagram.
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import { chacha20 } from "@noble/ciphers/chacha.js";
import { autoBackend } from "../crypto/auto_backend.ts";
import { systemRandom } from "../crypto/random.ts";
import type { CryptoBackend, HashFunction, RandomSource } from "../crypto/types.ts";

/** Bytes of a cookie. */
export const COOKIE_LENGTH = 16;

/** The shortest cookie reply: nonce (12) ‖ trigger check (8) ‖ cookie (16). */
export const MIN_COOKIE_REPLY_LENGTH = 36;

/** The longest cookie reply (64 bytes of padding). */
export const MAX_COOKIE_REPLY_LENGTH = 100;

/** The shortest cookie echo: nonce (12) ‖ cookie (16) ‖ 16 zero bytes. */
export const MIN_COOKIE_ECHO_LENGTH = 44;

/** The longest cookie echo (80 zero bytes). */
export const MAX_COOKIE_ECHO_LENGTH = 108;

/** The default lifetime of a cookie secret, in ms. */
export const DEFAULT_COOKIE_SECRET_LIFETIME = 120_000;

const NONCE_LENGTH = 12;
const CHECK_LENGTH = 8;
const SECRET_LENGTH = 32;
const MAX_REPLY_PADDING = MAX_COOKIE_REPLY_LENGTH - MIN_COOKIE_REPLY_LENGTH;
const MIN_ECHO_PADDING = MIN_COOKIE_ECHO_LENGTH - NONCE_LENGTH - COOKIE_LENGTH;
const MAX_ECHO_PADDING = MAX_COOKIE_ECHO_LENGTH - NONCE_LENGTH - COOKIE_LENGTH;
/** ChaCha20 block counters: replies and echoes never share keystream. */
const REPLY_COUNTER = 0;
const ECHO_COUNTER = 1;
const encoder = new TextEncoder();
const GSS_LABEL = encoder.encode("qgate/1 gss");
const KEY_SALT = encoder.encode("qgate/1 cookie");
const KEY_INFO = encoder.encode("qgate/1 cookie key");
const COOKIE_LABEL = encoder.encode("qgate/1 cookie");

/** What both sides of the cookie exchange take. */
export interface UdpCookieOptions {
  /** Supplies SHA-256 for the key derivation and the cookie MAC (default `autoBackend`). */
  readonly backend?: CryptoBackend;
  /** Draws nonces, padding lengths and secrets (default `systemRandom`). */
  readonly random?: RandomSource;
  /** The Global Shared Secret, if the peers use one: then only its holders can read cookies. */
  readonly globalSharedSecret?: Uint8Array;
}

/** Options of a {@linkcode UdpCookieResponder}. */
export interface UdpCookieResponderOptions extends UdpCookieOptions {
  /** The clock, in ms (default `performance.now()`). */
  readonly now?: () => number;
  /** How long one secret makes cookies, in ms (default two minutes). */
  readonly secretLifetime?: number;
}

/** What a {@linkcode UdpCookieResponder} makes of an unsolicited datagram. */
export type UdpCookieVerdict =
  /** A valid echo: start a session for this address (the echo itself carries nothing else). */
  | { readonly kind: "echo" }
  /** Send this cookie reply to the address and forget the datagram. */
  | { readonly kind: "reply"; readonly datagram: Uint8Array<ArrayBuffer> }
  /** Too short to answer without amplification: forget it. */
  | { readonly kind: "drop" };

/** Counters of a {@linkcode UdpCookieResponder}. */
export interface UdpCookieStats {
  /** Cookie replies made. */
  readonly replies: number;
  /** Valid echoes (sessions allowed to start). */
  readonly echoes: number;
  /** Datagrams dropped unanswered (too short for a reply). */
  readonly dropped: number;
}

interface Suite {
  readonly hash: HashFunction;
  readonly key: Uint8Array;
  readonly random: RandomSource;
}

function suiteOf(context: string, options: UdpCookieOptions): Suite {
  const backend = options.backend ?? autoBackend;
  const hash = typeof backend?.hash === "function" ? backend.hash("SHA-256") : undefined;
  if (hash === undefined) {
    throw new TypeError(`Cannot ${context}: "backend" must offer SHA-256`);
  }
  const gss = options.globalSharedSecret ?? new Uint8Array(0);
  if (!(gss instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${context}: "globalSharedSecret" must be a Uint8Array`);
  }
  const random = options.random ?? systemRandom;
  if (typeof random !== "function") {
    throw new TypeError(`Cannot ${context}: "random" must be a function`);
  }
  const ikm = concatBytes(GSS_LABEL, gss);
  const prk = hash.extract(KEY_SALT, ikm);
  const key = hash.expand(prk, KEY_INFO, 32);
  ikm.fill(0);
  prk.fill(0);
  return { hash, key, random };
}

/** Compares without an early exit on the first difference. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function allZero(bytes: Uint8Array): boolean {
  let bits = 0;
  for (const byte of bytes) bits |= byte;
  return bits === 0;
}

function randomBelow(random: RandomSource, bound: number): number {
  if (bound <= 1) return 0;
  const [high = 0, low = 0] = random(2);
  return (high * 256 + low) % bound;
}

/** `nonce ‖ plaintext XOR ChaCha20(key, nonce, counter)` under a fresh nonce. */
function mask(suite: Suite, plaintext: Uint8Array, counter: number): Uint8Array<ArrayBuffer> {
  const nonce = suite.random(NONCE_LENGTH);
  if (nonce.length !== NONCE_LENGTH) {
    throw new RangeError(`Cannot make cookie datagram: "random" returned ${nonce.length} bytes`);
  }
  const out = new Uint8Array(NONCE_LENGTH + plaintext.length);
  out.set(nonce);
  chacha20(suite.key, nonce, plaintext, out.subarray(NONCE_LENGTH), counter);
  plaintext.fill(0);
  return out;
}

/** The plaintext behind a cookie datagram (fresh; the caller wipes it). */
function unmask(suite: Suite, datagram: Uint8Array, counter: number): Uint8Array<ArrayBuffer> {
  return chacha20(
    suite.key,
    datagram.subarray(0, NONCE_LENGTH),
    datagram.subarray(NONCE_LENGTH),
    new Uint8Array(datagram.length - NONCE_LENGTH),
    counter,
  );
}

/**
 * The listener's side of the cookie exchange: answers unsolicited datagrams
 * with cookie replies and recognises valid echoes, keeping no state per
 * sender (only two rotating secrets and three counters).
 *
 * @example A reply, then its echo
 * ```ts
 * import { UdpCookieInitiator, UdpCookieResponder } from "./udp_cookie.ts";
 * import assert from "node:assert/strict";
 *
 * const responder = new UdpCookieResponder();
 * const initiator = new UdpCookieInitiator();
 * const first = crypto.getRandomValues(new Uint8Array(80)); // an initiator's first datagram
 * initiator.sent(first);
 * const verdict = responder.inspect(first, "192.0.2.7:4000");
 * assert.equal(verdict.kind, "reply");
 * if (verdict.kind !== "reply") throw new Error("unreachable");
 * const echo = initiator.received(verdict.datagram);
 * assert.ok(echo !== undefined);
 * assert.equal(responder.inspect(echo, "192.0.2.7:4000").kind, "echo");
 * assert.equal(responder.inspect(echo, "192.0.2.8:4000").kind, "reply"); // another address
 * responder.dispose();
 * initiator.dispose();
 * ```
 */
export class UdpCookieResponder {
  readonly #suite: Suite;
  readonly #now: () => number;
  readonly #lifetime: number;
  #current: Uint8Array;
  #previous: Uint8Array | undefined;
  #since: number;
  #replies = 0;
  #echoes = 0;
  #dropped = 0;

  /**
   * Creates a responder with a fresh secret.
   *
   * @param options Backend, random source, GSS, clock and secret lifetime.
   * @throws {TypeError} If the backend lacks SHA-256, or an option has the wrong type.
   * @throws {RangeError} If `secretLifetime` is not a positive number.
   */
  constructor(options: UdpCookieResponderOptions = {}) {
    const context = "create cookie responder";
    const lifetime = options.secretLifetime ?? DEFAULT_COOKIE_SECRET_LIFETIME;
    if (typeof lifetime !== "number" || !Number.isFinite(lifetime) || lifetime <= 0) {
      throw new RangeError(
        `Cannot ${context}: "secretLifetime" must be a positive number, got ${String(lifetime)}`,
      );
    }
    this.#suite = suiteOf(context, options);
    this.#lifetime = lifetime;
    this.#now = options.now ?? (() => performance.now());
    this.#current = this.#freshSecret();
    this.#since = this.#now();
  }

  /** How many replies, valid echoes and unanswered datagrams so far. */
  get stats(): UdpCookieStats {
    return { replies: this.#replies, echoes: this.#echoes, dropped: this.#dropped };
  }

  /**
   * Decides about one datagram from an address the listener holds no session for.
   *
   * @param datagram The datagram as received.
   * @param address The sender's address, `host:port`.
   * @returns `"echo"` for a valid echo from that address, else a reply to send, or `"drop"`.
   */
  inspect(datagram: Uint8Array, address: string): UdpCookieVerdict {
    this.#rotate();
    const addressBytes = encoder.encode(address);
    let cookie: Uint8Array | undefined;
    if (datagram.length >= MIN_COOKIE_ECHO_LENGTH && datagram.length <= MAX_COOKIE_ECHO_LENGTH) {
      const plaintext = unmask(this.#suite, datagram, ECHO_COUNTER);
      // Anything but an echo fails here, before any MAC is computed.
      if (allZero(plaintext.subarray(COOKIE_LENGTH))) {
        const echoed = plaintext.subarray(0, COOKIE_LENGTH);
        cookie = this.#cookie(this.#current, addressBytes);
        let valid = sameBytes(echoed, cookie);
        if (!valid && this.#previous !== undefined) {
          const old = this.#cookie(this.#previous, addressBytes);
          valid = sameBytes(echoed, old);
          old.fill(0);
        }
        plaintext.fill(0);
        if (valid) {
          cookie.fill(0);
          this.#echoes++;
          return { kind: "echo" };
        }
      }
    }
    const room = datagram.length - MIN_COOKIE_REPLY_LENGTH;
    if (room < 0) {
      this.#dropped++;
      return { kind: "drop" };
    }
    cookie ??= this.#cookie(this.#current, addressBytes);
    const padding = randomBelow(this.#suite.random, Math.min(room, MAX_REPLY_PADDING) + 1);
    const plaintext = new Uint8Array(CHECK_LENGTH + COOKIE_LENGTH + padding);
    plaintext.set(datagram.subarray(0, CHECK_LENGTH));
    plaintext.set(cookie, CHECK_LENGTH);
    cookie.fill(0);
    this.#replies++;
    return { kind: "reply", datagram: mask(this.#suite, plaintext, REPLY_COUNTER) };
  }

  /** Wipes the secrets and the cookie key (best effort). */
  dispose(): void {
    this.#current.fill(0);
    this.#previous?.fill(0);
    this.#suite.key.fill(0);
  }

  #cookie(secret: Uint8Array, address: Uint8Array): Uint8Array<ArrayBuffer> {
    const mac = this.#suite.hash.hmac(secret, concatBytes(COOKIE_LABEL, address));
    const cookie = mac.slice(0, COOKIE_LENGTH);
    mac.fill(0);
    return cookie;
  }

  #rotate(): void {
    const now = this.#now();
    if (now - this.#since < this.#lifetime) return;
    this.#previous?.fill(0);
    // After a long quiet spell both secrets are stale: keep none of them.
    this.#previous = now - this.#since < 2 * this.#lifetime ? this.#current : undefined;
    if (this.#previous === undefined) this.#current.fill(0);
    this.#current = this.#freshSecret();
    this.#since = now;
  }

  #freshSecret(): Uint8Array {
    const secret = Uint8Array.from(this.#suite.random(SECRET_LENGTH));
    if (secret.length !== SECRET_LENGTH) {
      throw new RangeError(`Cannot draw cookie secret: "random" returned ${secret.length} bytes`);
    }
    return secret;
  }
}

/**
 * The initiator's side of the cookie exchange: remembers the start of its
 * first datagram (its salt), recognises cookie replies bound to it and turns
 * each into one echo.
 *
 * @example Ordinary datagrams pass through
 * ```ts
 * import { UdpCookieInitiator } from "./udp_cookie.ts";
 * import assert from "node:assert/strict";
 *
 * const initiator = new UdpCookieInitiator();
 * initiator.sent(new Uint8Array(60).fill(1));
 * assert.equal(initiator.received(new Uint8Array(60).fill(2)), undefined);
 * initiator.dispose();
 * ```
 */
export class UdpCookieInitiator {
  readonly #suite: Suite;
  #check: Uint8Array | undefined;
  #lastNonce: Uint8Array | undefined;

  /**
   * Creates the initiator's side.
   *
   * @param options Backend, random source and GSS (the same GSS as the listener's).
   * @throws {TypeError} If the backend lacks SHA-256, or an option has the wrong type.
   */
  constructor(options: UdpCookieOptions = {}) {
    this.#suite = suiteOf("create cookie initiator", options);
  }

  /**
   * Notes a datagram we sent; the first one's leading bytes bind the replies we accept.
   *
   * @param datagram The datagram just sent.
   */
  sent(datagram: Uint8Array): void {
    if (this.#check !== undefined || datagram.length < CHECK_LENGTH) return;
    this.#check = datagram.slice(0, CHECK_LENGTH);
  }

  /**
   * Looks at a received datagram.
   *
   * @param datagram The datagram as received.
   * @returns `undefined` for any datagram but a cookie reply for us (deliver
   *   it); for a reply, the echo to send (it must not reach the session), or
   *   an empty array when that reply was already answered (send nothing).
   */
  received(datagram: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
    if (
      this.#check === undefined || datagram.length < MIN_COOKIE_REPLY_LENGTH ||
      datagram.length > MAX_COOKIE_REPLY_LENGTH
    ) {
      return undefined;
    }
    const plaintext = unmask(this.#suite, datagram, REPLY_COUNTER);
    const isReply = sameBytes(plaintext.subarray(0, CHECK_LENGTH), this.#check) &&
      allZero(plaintext.subarray(CHECK_LENGTH + COOKIE_LENGTH));
    if (!isReply) {
      plaintext.fill(0);
      return undefined;
    }
    const nonce = datagram.slice(0, NONCE_LENGTH);
    if (this.#lastNonce !== undefined && sameBytes(nonce, this.#lastNonce)) {
      // A replayed reply: it was answered already.
      plaintext.fill(0);
      return new Uint8Array(0);
    }
    this.#lastNonce = nonce;
    const padding = MIN_ECHO_PADDING +
      randomBelow(this.#suite.random, MAX_ECHO_PADDING - MIN_ECHO_PADDING + 1);
    const echo = new Uint8Array(COOKIE_LENGTH + padding);
    echo.set(plaintext.subarray(CHECK_LENGTH, CHECK_LENGTH + COOKIE_LENGTH));
    plaintext.fill(0);
    return mask(this.#suite, echo, ECHO_COUNTER);
  }

  /** Wipes the cookie key (best effort). */
  dispose(): void {
    this.#suite.key.fill(0);
  }
}

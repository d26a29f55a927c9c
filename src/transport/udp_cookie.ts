/**
 * The UDP cookie exchange: a stateless proof that a sender can receive at
 * the address it sends from, asked for by a UDP listener under load (in the
 * spirit of WireGuard's cookie reply and DTLS's HelloVerifyRequest).
 *
 * While a listener has at least `cookieThreshold` handshakes in progress, a
 * datagram from an address it holds no session for creates nothing: the
 * listener answers it with a **cookie reply** and forgets it. The initiator
 * answers the reply with a **cookie echo**; a valid echo from the same
 * address makes the listener start a session for it. Replies are smaller
 * than the datagram that caused them (no amplification), and datagrams too
 * short for a reply get none.
 *
 * ```
 * cookieKey = HKDF-SHA-256(ikm = "qgate/1 gss" ‖ GSS, salt = "qgate/1 cookie", info = "qgate/1 cookie key", 32)
 * cookie    = HMAC-SHA-256(secret, "qgate/1 cookie" ‖ address)[0..16]   address = "host:port" as UTF-8
 * reply     = nonce (12) ‖ ChaCha20-Poly1305(cookieKey, nonce,
 *               aad = "qgate/1 cookie reply" ‖ trigger[0..16], cookie ‖ zeros(p))
 * echo      = nonce (12) ‖ ChaCha20-Poly1305(cookieKey, nonce,
 *               aad = "qgate/1 cookie echo", cookie ‖ zeros(p))
 * ```
 *
 * `secret` is 32 random bytes drawn by the listener and replaced every
 * `cookieSecretLifetime` (default two minutes); a cookie made with the
 * current or the previous secret is accepted, so a cookie lives two to four
 * minutes. `trigger[0..16]` is the first 16 bytes of the datagram that was
 * answered: for an initiator's epoch-0 datagram, its salt, so only someone
 * who saw that datagram can forge a reply the initiator accepts. Nonces and
 * the padding length `p` (0–64, never making a reply longer than its
 * trigger) are fresh for every datagram.
 *
 * Both messages are random-looking bytes of 44 to 108 bytes, like an
 * ordinary record; nothing in clear tells them apart (a passive observer
 * still sees their timing and size). Without a GSS the cookie key is a public
 * constant: the encryption only hides the exchange from pattern matching. An
 * attacker that can receive at the address it claims can always get a
 * cookie: the exchange stops blind address spoofing, not real hosts (those
 * are met by the per-address limit).
 *
 * Cost to the listener per unsolicited datagram: at most one AEAD open of at
 * most 108 bytes (only for datagrams of echo size), one HMAC and one AEAD seal
 * of at most 80 bytes; no allocation that outlives the datagram.
 *
 * @module
 */

import { autoBackend } from "../crypto/auto_backend.ts";
import { systemRandom } from "../crypto/random.ts";
import type { AeadCipher, CryptoBackend, HashFunction, RandomSource } from "../crypto/types.ts";

/** Bytes of a cookie. */
export const COOKIE_LENGTH = 16;

/** The shortest cookie reply or echo: nonce (12) ‖ cookie (16) ‖ tag (16). */
export const MIN_COOKIE_DATAGRAM_LENGTH = 44;

/** The most zero padding a cookie reply or echo carries. */
export const MAX_COOKIE_PADDING = 64;

/** The longest cookie reply or echo. */
export const MAX_COOKIE_DATAGRAM_LENGTH = MIN_COOKIE_DATAGRAM_LENGTH + MAX_COOKIE_PADDING;

/** The default lifetime of a cookie secret, in ms. */
export const DEFAULT_COOKIE_SECRET_LIFETIME = 120_000;

const NONCE_LENGTH = 12;
const SALT_PREFIX_LENGTH = 16;
const SECRET_LENGTH = 32;
const encoder = new TextEncoder();
const GSS_LABEL = encoder.encode("qgate/1 gss");
const KEY_SALT = encoder.encode("qgate/1 cookie");
const KEY_INFO = encoder.encode("qgate/1 cookie key");
const COOKIE_LABEL = encoder.encode("qgate/1 cookie");
const REPLY_LABEL = encoder.encode("qgate/1 cookie reply");
const ECHO_LABEL = encoder.encode("qgate/1 cookie echo");

/** What both sides of the cookie exchange take. */
export interface UdpCookieOptions {
  /** Supplies SHA-256 and ChaCha20-Poly1305 (default `autoBackend`). */
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
  readonly cipher: AeadCipher;
  readonly random: RandomSource;
}

function suiteOf(context: string, options: UdpCookieOptions): Suite {
  const backend = options.backend ?? autoBackend;
  const hash = backend.hash("SHA-256");
  const aead = backend.aead("ChaCha20-Poly1305");
  if (hash === undefined || aead === undefined) {
    throw new TypeError(
      `Cannot ${context}: "backend" must offer SHA-256 and ChaCha20-Poly1305`,
    );
  }
  const gss = options.globalSharedSecret ?? new Uint8Array(0);
  if (!(gss instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${context}: "globalSharedSecret" must be a Uint8Array`);
  }
  const random = options.random ?? systemRandom;
  if (typeof random !== "function") {
    throw new TypeError(`Cannot ${context}: "random" must be a function`);
  }
  const ikm = concat(GSS_LABEL, gss);
  const prk = hash.extract(KEY_SALT, ikm);
  const key = hash.expand(prk, KEY_INFO, 32);
  const cipher = aead.createCipher(key);
  ikm.fill(0);
  prk.fill(0);
  key.fill(0);
  return { hash, cipher, random };
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
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

/** Seals `cookie ‖ zeros(padding)` under a fresh nonce. */
async function sealCookie(
  suite: Suite,
  cookie: Uint8Array,
  padding: number,
  aad: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const nonce = suite.random(NONCE_LENGTH);
  if (nonce.length !== NONCE_LENGTH) {
    throw new RangeError(`Cannot seal cookie: "random" returned ${nonce.length} bytes, not 12`);
  }
  const plaintext = new Uint8Array(COOKIE_LENGTH + padding);
  plaintext.set(cookie);
  const sealed = await suite.cipher.seal(nonce, plaintext, aad);
  plaintext.fill(0);
  return concat(nonce, sealed);
}

/** Opens a reply or echo; the cookie, or `undefined` if it does not authenticate. */
async function openCookie(
  suite: Suite,
  datagram: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (
    datagram.length < MIN_COOKIE_DATAGRAM_LENGTH || datagram.length > MAX_COOKIE_DATAGRAM_LENGTH
  ) {
    return undefined;
  }
  const plaintext = await suite.cipher.open(
    datagram.subarray(0, NONCE_LENGTH),
    datagram.subarray(NONCE_LENGTH),
    aad,
  );
  if (plaintext === undefined || !allZero(plaintext.subarray(COOKIE_LENGTH))) return undefined;
  return plaintext.slice(0, COOKIE_LENGTH);
}

/**
 * The listener's side of the cookie exchange: answers unsolicited datagrams
 * with cookie replies and recognises valid echoes, keeping no state per
 * sender (only two rotating secrets and three counters).
 *
 * @example A reply, then its echo
 * ```ts
 * import { UdpCookieInitiator, UdpCookieResponder } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const responder = new UdpCookieResponder();
 * const initiator = new UdpCookieInitiator();
 * const first = crypto.getRandomValues(new Uint8Array(80)); // an initiator's first datagram
 * initiator.sent(first);
 * const verdict = await responder.inspect(first, "192.0.2.7:4000");
 * assert.equal(verdict.kind, "reply");
 * if (verdict.kind !== "reply") throw new Error("unreachable");
 * const echo = await initiator.received(verdict.datagram);
 * assert.ok(echo !== undefined);
 * assert.equal((await responder.inspect(echo, "192.0.2.7:4000")).kind, "echo");
 * assert.equal((await responder.inspect(echo, "192.0.2.8:4000")).kind, "reply"); // another address
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
   * @throws {TypeError} If the backend lacks SHA-256 or ChaCha20-Poly1305, or an option has the wrong type.
   * @throws {RangeError} If `secretLifetime` is not a positive number.
   */
  constructor(options: UdpCookieResponderOptions = {}) {
    const context = "create cookie responder";
    this.#suite = suiteOf(context, options);
    const lifetime = options.secretLifetime ?? DEFAULT_COOKIE_SECRET_LIFETIME;
    if (typeof lifetime !== "number" || !Number.isFinite(lifetime) || lifetime <= 0) {
      throw new RangeError(
        `Cannot ${context}: "secretLifetime" must be a positive number, got ${String(lifetime)}`,
      );
    }
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
  async inspect(datagram: Uint8Array, address: string): Promise<UdpCookieVerdict> {
    this.#rotate();
    const addressBytes = encoder.encode(address);
    const echoed = await openCookie(this.#suite, datagram, ECHO_LABEL);
    if (echoed !== undefined) {
      const valid = sameBytes(echoed, this.#cookie(this.#current, addressBytes)) ||
        (this.#previous !== undefined &&
          sameBytes(echoed, this.#cookie(this.#previous, addressBytes)));
      if (valid) {
        this.#echoes++;
        return { kind: "echo" };
      }
    }
    const room = datagram.length - MIN_COOKIE_DATAGRAM_LENGTH;
    if (room < 0) {
      this.#dropped++;
      return { kind: "drop" };
    }
    const cookie = this.#cookie(this.#current, addressBytes);
    const padding = randomBelow(this.#suite.random, Math.min(room, MAX_COOKIE_PADDING) + 1);
    const aad = concat(REPLY_LABEL, datagram.subarray(0, SALT_PREFIX_LENGTH));
    const reply = await sealCookie(this.#suite, cookie, padding, aad);
    cookie.fill(0);
    this.#replies++;
    return { kind: "reply", datagram: reply };
  }

  /** Wipes the secrets and the cookie key (best effort). */
  dispose(): void {
    this.#current.fill(0);
    this.#previous?.fill(0);
    this.#suite.cipher.dispose();
  }

  #cookie(secret: Uint8Array, address: Uint8Array): Uint8Array<ArrayBuffer> {
    const mac = this.#suite.hash.hmac(secret, concat(COOKIE_LABEL, address));
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
 * The initiator's side of the cookie exchange: remembers the salt of its
 * first datagram, recognises cookie replies bound to it and turns each into
 * one echo.
 *
 * @example Ordinary datagrams pass through
 * ```ts
 * import { UdpCookieInitiator } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const initiator = new UdpCookieInitiator();
 * initiator.sent(new Uint8Array(60).fill(1));
 * assert.equal(await initiator.received(new Uint8Array(60).fill(2)), undefined);
 * initiator.dispose();
 * ```
 */
export class UdpCookieInitiator {
  readonly #suite: Suite;
  #aad: Uint8Array | undefined;
  #lastNonce: Uint8Array | undefined;

  /**
   * Creates the initiator's side.
   *
   * @param options Backend, random source and GSS (the same as the listener's).
   * @throws {TypeError} If the backend lacks SHA-256 or ChaCha20-Poly1305, or an option has the wrong type.
   */
  constructor(options: UdpCookieOptions = {}) {
    this.#suite = suiteOf("create cookie initiator", options);
  }

  /**
   * Notes a datagram we sent; the first one's leading 16 bytes (our salt)
   * bind the replies we accept.
   *
   * @param datagram The datagram just sent.
   */
  sent(datagram: Uint8Array): void {
    if (this.#aad !== undefined || datagram.length < SALT_PREFIX_LENGTH) return;
    this.#aad = concat(REPLY_LABEL, datagram.subarray(0, SALT_PREFIX_LENGTH));
  }

  /**
   * Looks at a received datagram.
   *
   * @param datagram The datagram as received.
   * @returns The echo to send if it is a cookie reply for us (it must not
   *   reach the session then), or `undefined` for any other datagram.
   */
  async received(datagram: Uint8Array): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (this.#aad === undefined) return undefined;
    const cookie = await openCookie(this.#suite, datagram, this.#aad);
    if (cookie === undefined) return undefined;
    const nonce = datagram.slice(0, NONCE_LENGTH);
    if (this.#lastNonce !== undefined && sameBytes(nonce, this.#lastNonce)) {
      // A replayed reply: it was answered already.
      cookie.fill(0);
      return new Uint8Array(0);
    }
    this.#lastNonce = nonce;
    const padding = randomBelow(this.#suite.random, MAX_COOKIE_PADDING + 1);
    const echo = await sealCookie(this.#suite, cookie, padding, ECHO_LABEL);
    cookie.fill(0);
    return echo;
  }

  /** Wipes the cookie key (best effort). */
  dispose(): void {
    this.#suite.cipher.dispose();
  }
}

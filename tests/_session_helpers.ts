/**
 * Helpers for end-to-end tests: deterministic identities, access managers
 * that know both peers, and a pair of sessions over the in-memory pipe.
 */

import type { SignatureKeyPair, SignatureName } from "../src/crypto/mod.ts";
import {
  AccessManager,
  type Clock,
  createMemoryPair,
  initiate,
  nobleBackend,
  type PeerDetails,
  peerUuidOf,
  respond,
  seededRandom,
  type Session,
  type SessionOptions,
  type Transport,
} from "../mod.ts";

/** A deterministic identity for `signature` from a one-byte seed. */
export async function identityFor(
  signature: SignatureName,
  seed: number,
): Promise<SignatureKeyPair> {
  const scheme = nobleBackend.signature(signature)!;
  return await scheme.generateKeyPair({ seed: new Uint8Array(scheme.seedLength).fill(seed) });
}

/** The PeerUUID of an identity. */
export function uuidOf(identity: SignatureKeyPair): string {
  return peerUuidOf(identity.algorithm, identity.publicKey);
}

/** An access manager that allows exactly these identities. */
export function accessFor(...identities: SignatureKeyPair[]): AccessManager {
  const access = new AccessManager();
  for (const identity of identities) access.addPeer(uuidOf(identity), identity.publicKey);
  return access;
}

/** Both ends of a handshake. */
export interface Pair {
  initiator: Session;
  responder: Session;
}

/** Starts an initiator and a responder over an in-memory pipe (or the given transports). */
export function startPair(
  initiatorOptions: SessionOptions,
  responderOptions: SessionOptions,
  transports: [Transport, Transport] = createMemoryPair(),
): Pair {
  const [a, b] = transports;
  return {
    initiator: initiate(a, { random: seededRandom(new Uint8Array([1])), ...initiatorOptions }),
    responder: respond(b, { random: seededRandom(new Uint8Array([2])), ...responderOptions }),
  };
}

/** Settles both `ready` promises: details or the error code. */
export async function outcome(
  pair: Pair,
): Promise<{ initiator: PeerDetails | string; responder: PeerDetails | string }> {
  const settle = (session: Session) =>
    session.ready.then(
      (details) => details,
      (error: { code?: string }) => error.code ?? String(error),
    );
  const [initiator, responder] = await Promise.all([
    settle(pair.initiator),
    settle(pair.responder),
  ]);
  return { initiator, responder };
}

/** Closes both sessions and waits for both to end. */
export async function closePair(pair: Pair): Promise<void> {
  await pair.initiator.close();
  await Promise.all([pair.initiator.closed, pair.responder.closed]);
}

/** Options of {@linkcode waitFor}. */
export interface WaitForOptions {
  /** How long the condition may take, in real ms (default 10,000: generous on a loaded machine). */
  timeout?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

/**
 * Waits until `condition()` holds, checking it now and then after each
 * macrotask turn (every few ms of real time).
 *
 * @throws {Error} If it still does not hold after `timeout` ms.
 */
export async function waitFor(
  condition: () => boolean,
  options: WaitForOptions = {},
): Promise<void> {
  const timeout = options.timeout ?? 10_000;
  const deadline = performance.now() + timeout;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${options.what ?? "a condition"}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Lets pending work run for `ms` of real time, before asserting that
 * something did NOT happen (there is no event to wait for). A loaded machine
 * can only make such a check weaker, never fail it. Never use it before
 * asserting that something did happen: wait for that with {@linkcode waitFor}.
 */
export function idle(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A real-time clock whose `now()` can jump ahead: `skip(ms)` moves it on
 * without waiting, timers still run in real time.
 */
export function skippingClock(): { clock: Clock; skip(ms: number): void } {
  let offset = 0;
  return {
    clock: {
      now: () => performance.now() + offset,
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (id: unknown) => clearTimeout(id as number),
    },
    skip: (ms) => void (offset += ms),
  };
}

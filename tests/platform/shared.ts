/**
 * What the platform tests send and how a peer listens for it, shared by the
 * Node script, the browser page and the Deno tests that check what arrived.
 * Only types come from the module: the scripts load it from a bundle.
 *
 * @module
 */

import type * as Qgate from "./qgate_bundle.ts";
import type { CryptoBackend, SignatureKeyPair } from "../../src/crypto/mod.ts";
import type { Session } from "../../mod.ts";

/** Extender for short text messages. */
export const TEXT_EXTENDER = "7d3c1f0e-5a2b-4c6d-9e8f-0a1b2c3d4e5f";

/** Extender for the bulk payloads. */
export const BULK_EXTENDER = "1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d";

/** Bytes in one bulk payload: many records, more than a socket buffers. */
export const BULK_LENGTH = 300_000;

/** The bulk payload the initiator sends. */
export const INITIATOR_SEED = 1;

/** The bulk payload the responder sends. */
export const RESPONDER_SEED = 2;

/**
 * A deterministic bulk payload (xorshift32 from `seed`).
 *
 * @param seed A non-zero 32-bit seed; each direction uses its own.
 * @returns {@linkcode BULK_LENGTH} bytes.
 */
export function payload(seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(BULK_LENGTH);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < bytes.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** The text each role sends before the key update and after it. */
export function texts(role: "initiator" | "responder", platform: string): [string, string] {
  return [
    `hello from the ${platform} ${role}`,
    `after the key update, from the ${platform} ${role}`,
  ];
}

/** What one side heard: its texts in order, and the bulk bytes' length and SHA-256. */
export interface Heard {
  texts: string[];
  bulkLength: number;
  bulkSha256: string;
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Collects the bulk bytes as they arrive (into one buffer: the payload is small). */
export class BulkCollector {
  readonly #bytes = new Uint8Array(BULK_LENGTH);
  #length = 0;

  /** Bytes collected so far. */
  get length(): number {
    return this.#length;
  }

  /** Adds bytes; more than {@linkcode BULK_LENGTH} is counted, not kept. */
  add(data: Uint8Array): void {
    if (this.#length + data.length <= BULK_LENGTH) this.#bytes.set(data, this.#length);
    this.#length += data.length;
  }

  /** SHA-256 of what was collected, as hex (of the first {@linkcode BULK_LENGTH} bytes). */
  async sha256(): Promise<string> {
    const kept = this.#bytes.subarray(0, Math.min(this.#length, BULK_LENGTH));
    return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", kept)));
  }
}

/** What {@linkcode listenFor} waits for. */
export interface Listening {
  /** Resolves when the peer's first text arrived. */
  firstText: Promise<void>;
  /** Resolves with everything heard once both texts and the whole bulk payload arrived. */
  heard: Promise<Heard>;
}

/**
 * Starts listening on a session for the peer's two texts and bulk payload.
 *
 * @param session The session; listen before the peer can send.
 * @returns The two moments to wait for.
 */
export function listenFor(session: Session): Listening {
  const heard: string[] = [];
  const bulk = new BulkCollector();
  const first = deferred<void>();
  const all = deferred<Heard>();
  session.on("message", ({ extender, data }) => {
    if (extender === TEXT_EXTENDER) {
      heard.push(new TextDecoder().decode(data));
      first.resolve();
    } else if (extender === BULK_EXTENDER) bulk.add(data);
    if (heard.length === 2 && bulk.length === BULK_LENGTH) {
      void bulk.sha256().then((bulkSha256) =>
        all.resolve({ texts: heard, bulkLength: bulk.length, bulkSha256 })
      );
    }
  });
  return { firstText: first.promise, heard: all.promise };
}

/**
 * An Ed25519 identity from a one-byte seed, so that both sides of a test
 * can know each other's public key without talking.
 *
 * @param backend The backend of the module copy in use (a bundle's own, in a bundle).
 * @param seed The byte the seed is filled with.
 * @returns The key pair.
 */
export async function seededIdentity(
  backend: CryptoBackend,
  seed: number,
): Promise<SignatureKeyPair> {
  const scheme = backend.signature("Ed25519")!;
  return await scheme.generateKeyPair({ seed: new Uint8Array(scheme.seedLength).fill(seed) });
}

/** The seed of the initiator's identity in the browser test. */
export const INITIATOR_IDENTITY_SEED = 0x49;

/** The seed of the responder's identity in the browser test. */
export const RESPONDER_IDENTITY_SEED = 0x52;

/** `Promise.withResolvers`, which Node 20 lacks. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** The algorithms each native backend offers on this platform. */
export interface NativeAlgorithms {
  /** From `nodeCryptoBackend` (`node:crypto`, found through `process.getBuiltinModule`). */
  node: string[];
  /** From `webCryptoBackend` (`crypto.subtle`, where `SubtleCrypto.supports` says so). */
  webCrypto: string[];
}

/**
 * Lists the key exchanges, signatures and AEADs the native backends offer.
 *
 * @param qgate The module copy in use.
 * @returns The names, per backend.
 */
export function nativeAlgorithms(qgate: typeof Qgate): NativeAlgorithms {
  const offered = (backend: CryptoBackend): string[] =>
    [
      ...qgate.algorithmsOf("keyExchange").filter(({ name }) => backend.keyExchange(name)),
      ...qgate.algorithmsOf("signature").filter(({ name }) => backend.signature(name)),
      ...qgate.algorithmsOf("aead").filter(({ name }) => backend.aead(name)),
    ].map(({ name }) => name);
  return { node: offered(qgate.nodeCryptoBackend), webCrypto: offered(qgate.webCryptoBackend) };
}

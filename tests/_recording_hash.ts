/**
 * A SHA-256 that records every HKDF buffer it is handed or returns, so a test
 * can check that the code under test wiped its intermediate secrets.
 */

import { nobleBackend } from "../src/crypto/noble_backend.ts";
import type { CryptoBackend, HashFunction } from "../src/crypto/types.ts";

/** The HKDF buffers one recording hash has seen, in call order. */
export interface HkdfRecord {
  /** Every `ikm` handed to `extract`. */
  readonly ikms: Uint8Array[];
  /** Every pseudorandom key `extract` returned. */
  readonly prks: Uint8Array[];
  /** Every output `expand` returned. */
  readonly outputs: Uint8Array[];
}

/** Whether every byte of `bytes` is zero. */
export function isWiped(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

/**
 * noble's SHA-256 with its HKDF calls recorded (no `expander`, so every
 * expansion goes through `expand`).
 */
export function recordingSha256(): { sha256: HashFunction; record: HkdfRecord } {
  const inner = nobleBackend.hash("SHA-256")!;
  const record: HkdfRecord = { ikms: [], prks: [], outputs: [] };
  const sha256: HashFunction = {
    name: inner.name,
    id: inner.id,
    outputLength: inner.outputLength,
    digest: (data) => inner.digest(data),
    create: () => inner.create(),
    hmac: (key, data) => inner.hmac(key, data),
    extract(salt, ikm): Uint8Array<ArrayBuffer> {
      record.ikms.push(ikm);
      const prk = inner.extract(salt, ikm);
      record.prks.push(prk);
      return prk;
    },
    expand(prk, info, length): Uint8Array<ArrayBuffer> {
      const output = inner.expand(prk, info, length);
      record.outputs.push(output);
      return output;
    },
  };
  return { sha256, record };
}

/** noble's backend whose SHA-256 is {@linkcode recordingSha256}. */
export function recordingHashBackend(): { backend: CryptoBackend; record: HkdfRecord } {
  const { sha256, record } = recordingSha256();
  const backend: CryptoBackend = {
    ...nobleBackend,
    name: "recording-hash",
    aead: (name) => nobleBackend.aead(name),
    keyExchange: (name) => nobleBackend.keyExchange(name),
    signature: (name) => nobleBackend.signature(name),
    hash: (name) => name === "SHA-256" ? sha256 : nobleBackend.hash(name),
  };
  return { backend, record };
}

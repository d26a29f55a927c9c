/**
 * The cryptographic building blocks under a qgate session: the interfaces a
 * crypto backend implements, the algorithm registry and its names, cipher
 * states (one key and a record counter per direction and epoch), the key
 * schedule, the transcript hash, PeerUUIDs and the authentication payload.
 * A handshake user needs none of this: the backends themselves
 * (`nobleBackend`, `autoBackend`, ...) are in `@qgate/handshake`.
 *
 * @example Sealing and opening one record with a cipher state
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { CipherState } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
 * const key = new Uint8Array(32).fill(7);
 * const sender = new CipherState(aead, key, 2);
 * const receiver = new CipherState(aead, key, 2);
 * const aad = new Uint8Array(0);
 * const sealed = await sender.seal(new TextEncoder().encode("hi"), aad);
 * const opened = await receiver.open(sealed.counter, sealed.ciphertext, aad);
 * assert.equal(new TextDecoder().decode(opened), "hi");
 * ```
 *
 * @module
 */

// the backend contract
export type {
  Aead,
  AeadCipher,
  AeadName,
  AlgorithmCategory,
  AlgorithmInfo,
  CryptoBackend,
  Hasher,
  HashFunction,
  HashName,
  HkdfExpander,
  KeyExchange,
  KeyExchangeAnswer,
  KeyExchangeName,
  KeyExchangeOffer,
  KeyExchangeState,
  RandomSource,
  SignatureKeyPair,
  SignatureName,
  SignatureScheme,
} from "./types.ts";
export { createWebCryptoBackend } from "./webcrypto_backend.ts";
export type { WebCryptoBackendOptions } from "./webcrypto_backend.ts";
export { DEFAULT_NATIVE_AEAD_THRESHOLDS } from "./auto_backend.ts";

// the algorithm registry, and the suites a handshake negotiates from it
export { AEAD_KEY_LENGTH, AEADS, HASHES, KEY_EXCHANGES, SIGNATURES, TAG_LENGTH } from "./types.ts";
export { publicRandom } from "./random.ts";
export {
  algorithmId,
  algorithmsOf,
  canonicalAlgorithmName,
  findAlgorithm,
  resolveAead,
  resolveHash,
  resolveKeyExchange,
  resolveSignature,
} from "./registry.ts";
export type { AlgorithmNames } from "./registry.ts";
export type { AlgorithmPreferences, NegotiatedSuite } from "../handshake_policy.ts";

// records, keys and transcripts
export { CipherState, DEFAULT_RECORD_LIMIT, MAX_RECORD_LIMIT } from "./cipher_state.ts";
export type { CipherStateOptions } from "./cipher_state.ts";
export {
  DEFAULT_KEY_LENGTH,
  derivePreKeys,
  KeySchedule,
  keyUpdateTranscript,
  SALT_LENGTH,
} from "./key_schedule.ts";
export type { KeyScheduleOptions, KeyScheduleStage, PreKeys, TrafficKeys } from "./key_schedule.ts";
export { Transcript, TRANSCRIPT_LABEL } from "./transcript.ts";

// identities
export {
  derivePeerUuid,
  formatUuid,
  parseUuid,
  randomSessionId,
  verifyPeerUuid,
} from "./peer_uuid.ts";
export { authenticationPayload } from "./authentication.ts";
export type { AuthenticationRole } from "./authentication.ts";

/**
 * Algorithm lookups by wire id or name, and resolution against a backend.
 *
 * The tables themselves ({@linkcode KEY_EXCHANGES}, {@linkcode AEADS},
 * {@linkcode HASHES}, {@linkcode SIGNATURES}) live in `types.ts`; this module
 * answers "which algorithm is id 0x0102?" and "give me the implementation of
 * ML-KEM-768 from this backend, or fail with a typed error".
 *
 * @module
 */

import { ErrorCode, HandshakeError } from "../errors.ts";
import type {
  Aead,
  AeadName,
  AlgorithmCategory,
  AlgorithmInfo,
  CryptoBackend,
  HashFunction,
  HashName,
  KeyExchange,
  KeyExchangeName,
  SignatureName,
  SignatureScheme,
} from "./types.ts";
import { AEADS, HASHES, KEY_EXCHANGES, SIGNATURES } from "./types.ts";

/** The algorithm name type of each category. */
export interface AlgorithmNames {
  /** Key exchange names. */
  keyExchange: KeyExchangeName;
  /** AEAD names. */
  aead: AeadName;
  /** Hash names. */
  hash: HashName;
  /** Signature names. */
  signature: SignatureName;
}

const TABLES: { readonly [C in AlgorithmCategory]: readonly AlgorithmInfo<AlgorithmNames[C]>[] } = {
  keyExchange: KEY_EXCHANGES,
  aead: AEADS,
  hash: HASHES,
  signature: SIGNATURES,
};

/**
 * The registry table of one category, in wire-id order.
 *
 * @param category The algorithm category.
 * @returns Every algorithm of that category with its stable id and name.
 * @throws {TypeError} If `category` is not a known category.
 *
 * @example Listing the AEADs
 * ```ts
 * import { algorithmsOf } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   algorithmsOf("aead").map((info) => info.name),
 *   ["ChaCha20-Poly1305", "XChaCha20-Poly1305", "AES-256-GCM"],
 * );
 * ```
 */
export function algorithmsOf<C extends AlgorithmCategory>(
  category: C,
): readonly AlgorithmInfo<AlgorithmNames[C]>[] {
  const table = Object.hasOwn(TABLES, category) ? TABLES[category] : undefined;
  if (table === undefined) {
    throw new TypeError(`Cannot list algorithms: unknown category "${String(category)}"`);
  }
  return table;
}

/** How a category reads in a message (with its article's "n" where needed). */
const LABELS: { readonly [C in AlgorithmCategory]: string } = {
  keyExchange: " key exchange",
  aead: "n AEAD",
  hash: " hash",
  signature: " signature",
};

/** Per category: lowercased name → registry row. */
const BY_LOWER_NAME: {
  readonly [C in AlgorithmCategory]: ReadonlyMap<string, AlgorithmInfo<AlgorithmNames[C]>>;
} = {
  keyExchange: lowerNameMap(KEY_EXCHANGES),
  aead: lowerNameMap(AEADS),
  hash: lowerNameMap(HASHES),
  signature: lowerNameMap(SIGNATURES),
};

function lowerNameMap<N extends string>(
  table: readonly AlgorithmInfo<N>[],
): ReadonlyMap<string, AlgorithmInfo<N>> {
  return new Map(table.map((info) => [info.name.toLowerCase(), info]));
}

/**
 * The registry row of a name in any letter case.
 *
 * @throws {TypeError} If `category` is unknown or `name` is not a qgate algorithm of it.
 */
function infoOfName<C extends AlgorithmCategory>(
  category: C,
  name: string,
  what: string,
): AlgorithmInfo<AlgorithmNames[C]> {
  const table = algorithmsOf(category);
  const info = typeof name === "string"
    ? (BY_LOWER_NAME[category] as ReadonlyMap<string, AlgorithmInfo<AlgorithmNames[C]>>).get(
      name.toLowerCase(),
    )
    : undefined;
  if (info === undefined) {
    throw new TypeError(
      `Cannot ${what}: "${String(name)}" is not a${LABELS[category]} algorithm; expected one of ${
        table.map((row) => `"${row.name}"`).join(", ")
      }`,
    );
  }
  return info;
}

/**
 * The canonical spelling of an algorithm name given in any letter case.
 *
 * Use it to validate names from options or configuration: a qgate algorithm
 * in any case (`"ed25519"`, `"ML-KEM-768"`, `"chacha20-POLY1305"`) comes back
 * as the registry spells it; anything else throws a `TypeError` that lists
 * the valid names of the category.
 *
 * @param category The algorithm category.
 * @param name A name in any letter case.
 * @returns The registry name.
 * @throws {TypeError} If `category` is unknown or `name` is not an algorithm of that category.
 *
 * @example Normalising names from a configuration file
 * ```ts
 * import { canonicalAlgorithmName } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(canonicalAlgorithmName("signature", "ed25519"), "Ed25519");
 * assert.equal(canonicalAlgorithmName("keyExchange", "ml-kem-768"), "ML-KEM-768");
 * assert.throws(() => canonicalAlgorithmName("aead", "ROT13"), TypeError);
 * ```
 */
export function canonicalAlgorithmName<C extends AlgorithmCategory>(
  category: C,
  name: string,
): AlgorithmNames[C] {
  return infoOfName(category, name, "use algorithm name").name;
}

/**
 * The wire id of an algorithm name given in any letter case.
 *
 * @param category The algorithm category.
 * @param name A name in any letter case.
 * @returns The stable 16-bit wire id.
 * @throws {TypeError} If `category` is unknown or `name` is not an algorithm of that category.
 *
 * @example
 * ```ts
 * import { algorithmId } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(algorithmId("hash", "blake2b"), 0x0004);
 * ```
 */
export function algorithmId(category: AlgorithmCategory, name: string): number {
  return infoOfName(category, name, "find algorithm id").id;
}

/**
 * Finds an algorithm by its wire id or its name.
 *
 * Ids are matched as 16-bit integers; an id no algorithm has (a peer's
 * choice, say) gives `undefined`. Names are matched in any letter case; a
 * name that is not a qgate algorithm of the category is a caller's mistake
 * and throws.
 *
 * @param category The algorithm category.
 * @param idOrName A wire id (e.g. `0x0102`) or a name (e.g. `"ML-KEM-768"`, any case).
 * @returns The registry row, or `undefined` if no algorithm of the category has that id.
 * @throws {TypeError} If `category` is not a known category, or `idOrName` is a string that
 *   names no algorithm of it (the message lists the valid names).
 *
 * @example Looking up by id and by name
 * ```ts
 * import { findAlgorithm } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(findAlgorithm("keyExchange", 0x0102)?.name, "ML-KEM-768");
 * assert.equal(findAlgorithm("hash", "BLAKE2b")?.id, 0x0004);
 * assert.equal(findAlgorithm("signature", "ed25519")?.name, "Ed25519");
 * assert.equal(findAlgorithm("aead", 0x7777), undefined);
 * assert.throws(() => findAlgorithm("aead", "ROT13"), TypeError);
 * ```
 */
export function findAlgorithm<C extends AlgorithmCategory>(
  category: C,
  idOrName: number | string,
): AlgorithmInfo<AlgorithmNames[C]> | undefined {
  const table = algorithmsOf(category);
  return typeof idOrName === "number"
    ? table.find((info) => info.id === idOrName)
    : infoOfName(category, idOrName, "find algorithm");
}

function unsupported(
  category: AlgorithmCategory,
  idOrName: number | string,
  backend: CryptoBackend,
  known: boolean,
): HandshakeError {
  const shown = typeof idOrName === "number"
    ? `0x${idOrName.toString(16).padStart(4, "0")}`
    : `"${idOrName}"`;
  return new HandshakeError(
    ErrorCode.UNSUPPORTED_ALGORITHM,
    known
      ? `Cannot use ${category} algorithm ${shown}: backend "${backend.name}" does not offer it`
      : `Cannot use ${category} algorithm ${shown}: unknown ${category} algorithm`,
  );
}

function resolve<C extends AlgorithmCategory, T>(
  category: C,
  backend: CryptoBackend,
  idOrName: number | string,
  lookup: (name: AlgorithmNames[C]) => T | undefined,
): T {
  const info = findAlgorithm(category, idOrName);
  if (info === undefined) throw unsupported(category, idOrName, backend, false);
  const implementation = lookup(info.name);
  if (implementation === undefined) throw unsupported(category, idOrName, backend, true);
  return implementation;
}

/**
 * The backend's implementation of a key exchange.
 *
 * A name matches in any letter case, and the backend is asked for the
 * canonical name.
 *
 * @param backend The crypto backend.
 * @param idOrName A wire id or name.
 * @returns The key exchange.
 * @throws {HandshakeError} `ERR_UNSUPPORTED_ALGORITHM` if no algorithm has the id, or the backend lacks it.
 * @throws {TypeError} If `idOrName` is a string that names no algorithm of the category (any case).
 *
 * @example Resolving a wire id from the peer
 * ```ts
 * import { ErrorCode, nobleBackend } from "@qgate/handshake";
 * import { resolveKeyExchange } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveKeyExchange(nobleBackend, 0x0001).name, "X25519");
 * assert.equal(resolveKeyExchange(nobleBackend, "x25519").name, "X25519");
 * assert.throws(() => resolveKeyExchange(nobleBackend, 0x0999), { code: ErrorCode.UNSUPPORTED_ALGORITHM });
 * ```
 */
export function resolveKeyExchange(
  backend: CryptoBackend,
  idOrName: number | string,
): KeyExchange {
  return resolve("keyExchange", backend, idOrName, (name) => backend.keyExchange(name));
}

/**
 * The backend's implementation of an AEAD.
 *
 * @param backend The crypto backend.
 * @param idOrName A wire id or name.
 * @returns The AEAD.
 * @throws {HandshakeError} `ERR_UNSUPPORTED_ALGORITHM` if no algorithm has the id, or the backend lacks it.
 * @throws {TypeError} If `idOrName` is a string that names no algorithm of the category (any case).
 *
 * @example Resolving by name
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { resolveAead } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveAead(nobleBackend, "AES-256-GCM").id, 0x0003);
 * ```
 */
export function resolveAead(backend: CryptoBackend, idOrName: number | string): Aead {
  return resolve("aead", backend, idOrName, (name) => backend.aead(name));
}

/**
 * The backend's implementation of a hash function.
 *
 * @param backend The crypto backend.
 * @param idOrName A wire id or name.
 * @returns The hash function.
 * @throws {HandshakeError} `ERR_UNSUPPORTED_ALGORITHM` if no algorithm has the id, or the backend lacks it.
 * @throws {TypeError} If `idOrName` is a string that names no algorithm of the category (any case).
 *
 * @example Resolving by wire id
 * ```ts
 * import { nobleBackend } from "@qgate/handshake";
 * import { resolveHash } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveHash(nobleBackend, 0x0002).outputLength, 64);
 * ```
 */
export function resolveHash(backend: CryptoBackend, idOrName: number | string): HashFunction {
  return resolve("hash", backend, idOrName, (name) => backend.hash(name));
}

/**
 * The backend's implementation of a signature scheme.
 *
 * @param backend The crypto backend.
 * @param idOrName A wire id or name.
 * @returns The signature scheme.
 * @throws {HandshakeError} `ERR_UNSUPPORTED_ALGORITHM` if no algorithm has the id, or the backend lacks it.
 * @throws {TypeError} If `idOrName` is a string that names no algorithm of the category (any case).
 *
 * @example A backend without post-quantum signatures
 * ```ts
 * import { ErrorCode, HandshakeError, nobleBackend } from "@qgate/handshake";
 * import { resolveSignature } from "@qgate/handshake/crypto";
 * import type { CryptoBackend } from "@qgate/handshake/crypto";
 * import assert from "node:assert/strict";
 *
 * const classicalOnly: CryptoBackend = {
 *   ...nobleBackend,
 *   name: "classical",
 *   signature: (name) => name.startsWith("ML-DSA") ? undefined : nobleBackend.signature(name),
 * };
 * assert.equal(resolveSignature(classicalOnly, "Ed25519").name, "Ed25519");
 * assert.throws(
 *   () => resolveSignature(classicalOnly, "ML-DSA-65"),
 *   (error) => error instanceof HandshakeError && error.code === ErrorCode.UNSUPPORTED_ALGORITHM,
 * );
 * ```
 */
export function resolveSignature(
  backend: CryptoBackend,
  idOrName: number | string,
): SignatureScheme {
  return resolve("signature", backend, idOrName, (name) => backend.signature(name));
}

/**
 * The backend contract, written once: a {@linkcode CryptoBackend} over the
 * raw primitives one backend supplies ({@linkcode PrimitiveSet}).
 *
 * ```
 *   session, codec, key schedule
 *            │  CryptoBackend (types.ts)
 *   ┌────────┴─────────────────────────────────────────────────────────┐
 *   │ contract: names (any case), lengths, error codes, strict EdDSA,  │
 *   │ reflected key shares, random draws, hybrids, HKDF     (_contract*)│
 *   └────────┬─────────────────────────────────────────────────────────┘
 *            │  PrimitiveSet (_primitives.ts)
 *     noble_backend.ts   webcrypto_backend.ts (+ _webcrypto_*)   node_backend.ts
 * ```
 *
 * Lookups take a name in any letter case and return the implementation for
 * the canonical name, built once and memoised; a name that is no qgate
 * algorithm throws a `TypeError` listing the valid names; an algorithm the
 * backend lacks gives `undefined`. The hybrid `Ed25519+ML-DSA-65` is offered
 * wherever both halves are, composed from the same backend's primitives.
 *
 * @module
 */

import { algorithmId, canonicalAlgorithmName } from "./registry.ts";
import type {
  Aead,
  AeadName,
  CryptoBackend,
  HashFunction,
  HashName,
  KeyExchange,
  KeyExchangeName,
  SignatureName,
  SignatureScheme,
} from "./types.ts";
import type { PrimitiveSet, SingleSignatureName } from "./_primitives.ts";
import { dhKeyExchange, kemKeyExchange } from "./_contract_key_exchange.ts";
import { composable, hybridOf, signatureScheme } from "./_contract_signature.ts";
import { contractAead } from "./_contract_aead.ts";
import { contractHash } from "./_contract_hash.ts";
import { ED25519_RULES, ED448_RULES } from "./_strict_eddsa.ts";

/** The hybrids: each from two single schemes of one backend, first half first. */
const HYBRIDS: Partial<Record<SignatureName, readonly [SingleSignatureName, SingleSignatureName]>> =
  {
    "Ed25519+ML-DSA-65": ["Ed25519", "ML-DSA-65"],
  };

const EDWARDS_RULES = { "Ed25519": ED25519_RULES, "Ed448": ED448_RULES } as const;

type Composable = ReturnType<typeof composable>;

/**
 * The contract over one backend's primitives.
 *
 * @param primitives What the backend supplies.
 * @returns The backend, frozen; lookups are memoised.
 */
export function contractBackend(primitives: PrimitiveSet): CryptoBackend {
  const memo = new Map<string, unknown>();
  function once<T>(key: string, build: () => T | undefined): T | undefined {
    if (!memo.has(key)) memo.set(key, build());
    return memo.get(key) as T | undefined;
  }

  function single(name: SignatureName): Composable | undefined {
    return once(`single:${name}`, () => {
      const pair = HYBRIDS[name];
      if (pair !== undefined) {
        const first = single(pair[0]);
        const second = single(pair[1]);
        return first === undefined || second === undefined ? undefined : hybridOf(first, second);
      }
      const primitive = primitives.signature(name as SingleSignatureName);
      return primitive === undefined ? undefined : composable(
        primitive,
        (EDWARDS_RULES as Partial<Record<string, typeof ED25519_RULES>>)[name],
      );
    });
  }

  return Object.freeze({
    name: primitives.name,
    keyExchange(name: KeyExchangeName): KeyExchange | undefined {
      const canonical = canonicalAlgorithmName("keyExchange", name);
      return once(`keyExchange:${canonical}`, () => {
        const primitive = primitives.keyExchange(canonical);
        if (primitive === undefined) return undefined;
        const id = algorithmId("keyExchange", canonical);
        return primitive.kind === "dh"
          ? dhKeyExchange(canonical, id, primitive)
          : kemKeyExchange(canonical, id, primitive);
      });
    },
    signature(name: SignatureName): SignatureScheme | undefined {
      const canonical = canonicalAlgorithmName("signature", name);
      return once(`signature:${canonical}`, () => {
        const scheme = single(canonical);
        return scheme === undefined
          ? undefined
          : signatureScheme(canonical, algorithmId("signature", canonical), scheme);
      });
    },
    aead(name: AeadName): Aead | undefined {
      const canonical = canonicalAlgorithmName("aead", name);
      return once(`aead:${canonical}`, () => {
        const primitive = primitives.aead(canonical);
        return primitive === undefined
          ? undefined
          : contractAead(canonical, algorithmId("aead", canonical), primitive);
      });
    },
    hash(name: HashName): HashFunction | undefined {
      const canonical = canonicalAlgorithmName("hash", name);
      return once(`hash:${canonical}`, () => {
        const primitive = primitives.hash(canonical);
        return primitive === undefined
          ? undefined
          : contractHash(canonical, algorithmId("hash", canonical), primitive);
      });
    },
  });
}

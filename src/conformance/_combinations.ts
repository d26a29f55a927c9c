/**
 * Algorithm combinations for the positive and property cases: the full
 * matrix, or a covering sample that names every algorithm at least once.
 *
 * @module
 */

import {
  type AeadName,
  AEADS,
  HASHES,
  type HashName,
  KEY_EXCHANGES,
  type KeyExchangeName,
} from "../crypto/types.ts";
import { seededRandom } from "../crypto/random.ts";
import { type AlgorithmPreferences, isPostQuantumKeyExchange } from "../handshake_policy.ts";

/** One algorithm per category. */
export interface Combination {
  readonly primaryKeyExchange: KeyExchangeName;
  readonly secondaryKeyExchange: KeyExchangeName;
  readonly aead: AeadName;
  readonly hash: HashName;
}

const KEX_NAMES = KEY_EXCHANGES.map((entry) => entry.name);
const AEAD_NAMES = AEADS.map((entry) => entry.name);
const HASH_NAMES = HASHES.map((entry) => entry.name);
const CLASSICAL = KEX_NAMES.filter((name) => !name.startsWith("ML-KEM"));
const POST_QUANTUM = KEX_NAMES.filter((name) => name.startsWith("ML-KEM"));

/** Every combination (either slot takes any key exchange). */
export function allCombinations(): Combination[] {
  const out: Combination[] = [];
  for (const primaryKeyExchange of KEX_NAMES) {
    for (const secondaryKeyExchange of KEX_NAMES) {
      for (const aead of AEAD_NAMES) {
        for (const hash of HASH_NAMES) {
          out.push({ primaryKeyExchange, secondaryKeyExchange, aead, hash });
        }
      }
    }
  }
  return out;
}

/**
 * A covering sample: the first combinations walk every classical exchange in
 * the primary slot and every ML-KEM in the secondary one (then the other way
 * round), every AEAD and every hash; more are drawn from the full matrix.
 */
export function sampledCombinations(count: number, seed: number): Combination[] {
  const out: Combination[] = [];
  const covering = Math.max(
    CLASSICAL.length,
    POST_QUANTUM.length,
    AEAD_NAMES.length,
    HASH_NAMES.length,
  );
  for (let i = 0; i < covering && out.length < count; i++) {
    out.push({
      primaryKeyExchange: CLASSICAL[i % CLASSICAL.length]!,
      secondaryKeyExchange: POST_QUANTUM[i % POST_QUANTUM.length]!,
      aead: AEAD_NAMES[i % AEAD_NAMES.length]!,
      hash: HASH_NAMES[i % HASH_NAMES.length]!,
    });
  }
  if (out.length < count) {
    out.push({
      primaryKeyExchange: "ML-KEM-512",
      secondaryKeyExchange: "X25519",
      aead: "AES-256-GCM",
      hash: "SHA-512",
    });
  }
  const all = allCombinations();
  const random = seededRandom(new TextEncoder().encode(`combinations ${seed}`));
  while (out.length < count) {
    const bytes = random(4);
    const index = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    out.push(all[index % all.length]!);
  }
  return out;
}

/** Preferences that list exactly the combination's algorithms. */
export function only(combination: Combination): Partial<AlgorithmPreferences> {
  return {
    primaryKeyExchanges: [combination.primaryKeyExchange],
    secondaryKeyExchanges: [combination.secondaryKeyExchange],
    aeads: [combination.aead],
    hashes: [combination.hash],
    // A classical exchange in the secondary slot is refused unless asked for.
    ...(isPostQuantumKeyExchange(combination.secondaryKeyExchange)
      ? {}
      : { allowClassicalSecondary: true }),
  };
}

/**
 * The signature contract, written once for every backend: a
 * {@linkcode SignatureScheme} from a backend's raw {@linkcode SignaturePrimitive},
 * and the hybrid composed from two of them.
 *
 * - Lengths and types are checked here: caller misuse (a wrong seed or
 *   secret key length, a message that is not bytes) raises `RangeError` or
 *   `TypeError`; `verify` returns `false` for anything malformed and never
 *   throws.
 * - EdDSA verifies strictly on every backend (`_strict_eddsa.ts`): the same
 *   verdicts whichever backend computes them.
 * - Seeds and hedges are drawn here (`_draw.ts`), in noble's amounts and
 *   order: a seeded source gives the same keys and signatures everywhere.
 * - The hybrid concatenates seeds, keys and signatures, first scheme first,
 *   and verifies only when both halves verify (both are always checked).
 * - Anything else a backend throws becomes `ERR_INTERNAL`.
 *
 * @module
 */

import { systemRandom } from "./random.ts";
import type { RawKeyPair, SignaturePrimitive } from "./_primitives.ts";
import type { RandomSource, SignatureKeyPair, SignatureName, SignatureScheme } from "./types.ts";
import { asTyped, describe, isBytes } from "./_failures.ts";
import { drawSecret } from "./_draw.ts";
import type { EdwardsRules } from "./_strict_eddsa.ts";

/** A verifier that checks lengths and strict rules: `false` for anything invalid, never throws. */
type CheckedVerify = (
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
) => Promise<boolean>;

/** The parts of a scheme the hybrid composition needs. */
interface Composable {
  readonly primitive: SignaturePrimitive;
  readonly verify: CheckedVerify;
}

/** A verifier over `primitive` with `rules` (EdDSA) applied around the backend's call. */
function checkedVerify(
  primitive: SignaturePrimitive,
  rules: EdwardsRules | undefined,
): CheckedVerify {
  const { signatureLength, publicKeyLength } = primitive;
  const cofactored = primitive.cofactored === true;
  return async (signature, message, publicKey) => {
    if (
      !isBytes(signature, signatureLength) || !(message instanceof Uint8Array) ||
      !isBytes(publicKey, publicKeyLength)
    ) {
      return false;
    }
    if (rules !== undefined && !rules.wellFormed(signature, publicKey)) return false;
    try {
      if (await primitive.verify(signature, message, publicKey) !== true) return false;
    } catch {
      return false;
    }
    return rules?.torsionFree === undefined || rules.torsionFree(signature, publicKey, cofactored);
  };
}

/**
 * A single scheme's verifier and primitive, for {@linkcode signatureScheme}
 * and {@linkcode hybridOf}.
 *
 * @param primitive The backend's primitive.
 * @param rules The strict EdDSA rules, for Ed25519 and Ed448.
 * @returns What the scheme and the hybrid are built from.
 */
export function composable(
  primitive: SignaturePrimitive,
  rules: EdwardsRules | undefined,
): Composable {
  return { primitive, verify: checkedVerify(primitive, rules) };
}

/**
 * Two schemes side by side: seeds, keys, hedges and signatures concatenated,
 * first half first; verification is the conjunction of both checked verifiers.
 *
 * @param first The first half (Ed25519 in `Ed25519+ML-DSA-65`).
 * @param second The second half.
 * @returns The hybrid's primitive and verifier.
 */
export function hybridOf(first: Composable, second: Composable): Composable {
  const a = first.primitive;
  const b = second.primitive;
  const primitive: SignaturePrimitive = {
    seedLength: a.seedLength + b.seedLength,
    publicKeyLength: a.publicKeyLength + b.publicKeyLength,
    secretKeyLength: a.secretKeyLength + b.secretKeyLength,
    signatureLength: a.signatureLength + b.signatureLength,
    hedgeLength: a.hedgeLength + b.hedgeLength,
    async keyPair(seed): Promise<RawKeyPair> {
      const one = await a.keyPair(seed.subarray(0, a.seedLength));
      const two = await b.keyPair(seed.subarray(a.seedLength));
      const pair = {
        secretKey: concat(one.secretKey, two.secretKey),
        publicKey: concat(one.publicKey, two.publicKey),
      };
      one.secretKey.fill(0);
      two.secretKey.fill(0);
      return pair;
    },
    async sign(message, secretKey, hedge): Promise<Uint8Array> {
      const [one, two] = await Promise.all([
        a.sign(
          message,
          secretKey.subarray(0, a.secretKeyLength),
          a.hedgeLength === 0 ? undefined : hedge!.subarray(0, a.hedgeLength),
        ),
        b.sign(
          message,
          secretKey.subarray(a.secretKeyLength),
          b.hedgeLength === 0 ? undefined : hedge!.subarray(a.hedgeLength),
        ),
      ]);
      return concat(one, two);
    },
    // Through the checked halves, never raw.
    verify: (signature, message, publicKey) => verify(signature, message, publicKey),
  };
  const verify: CheckedVerify = async (signature, message, publicKey) => {
    if (
      !isBytes(signature, primitive.signatureLength) || !(message instanceof Uint8Array) ||
      !isBytes(publicKey, primitive.publicKeyLength)
    ) {
      return false;
    }
    // Both halves are always checked; the result is their conjunction.
    const [one, two] = await Promise.all([
      first.verify(
        signature.subarray(0, a.signatureLength),
        message,
        publicKey.subarray(0, a.publicKeyLength),
      ),
      second.verify(
        signature.subarray(a.signatureLength),
        message,
        publicKey.subarray(a.publicKeyLength),
      ),
    ]);
    return one && two;
  };
  return { primitive, verify };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * The {@linkcode SignatureScheme} of the contract over one composable scheme.
 *
 * @param name The registry name.
 * @param id The wire id.
 * @param scheme The primitive and its checked verifier.
 * @returns The frozen scheme.
 */
export function signatureScheme(
  name: SignatureName,
  id: number,
  scheme: Composable,
): SignatureScheme {
  const { primitive, verify } = scheme;
  const { seedLength, publicKeyLength, secretKeyLength, signatureLength, hedgeLength } = primitive;
  return Object.freeze({
    name,
    id,
    publicKeyLength,
    secretKeyLength,
    signatureLength,
    seedLength,
    async generateKeyPair(
      options: { seed?: Uint8Array; random?: RandomSource } = {},
    ): Promise<SignatureKeyPair> {
      let seed: Uint8Array<ArrayBuffer>;
      if (options.seed !== undefined) {
        if (!isBytes(options.seed, seedLength)) {
          throw new RangeError(
            `Cannot generate ${name} key pair: "seed" must be ${seedLength} bytes, got ${
              describe(options.seed)
            }`,
          );
        }
        seed = Uint8Array.from(options.seed);
      } else {
        seed = drawSecret(options.random ?? systemRandom, seedLength, `generate ${name} key pair`);
      }
      try {
        const { secretKey, publicKey } = await primitive.keyPair(seed);
        const pair: SignatureKeyPair = Object.freeze({
          algorithm: name,
          publicKey: Uint8Array.from(publicKey),
          secretKey: Uint8Array.from(secretKey),
        });
        secretKey.fill(0);
        return pair;
      } catch (cause) {
        throw asTyped(`generate ${name} key pair`, cause);
      } finally {
        seed.fill(0);
      }
    },
    async sign(
      message: Uint8Array,
      secretKey: Uint8Array,
      random: RandomSource,
    ): Promise<Uint8Array<ArrayBuffer>> {
      if (!isBytes(secretKey, secretKeyLength)) {
        throw new RangeError(
          `Cannot sign with ${name}: "secretKey" must be ${secretKeyLength} bytes, got ${
            describe(secretKey)
          }`,
        );
      }
      if (!(message instanceof Uint8Array)) {
        throw new TypeError(`Cannot sign with ${name}: "message" must be a Uint8Array`);
      }
      // Hedged schemes (ML-DSA, FIPS 204) draw fresh randomness; EdDSA draws nothing.
      const hedge = hedgeLength === 0
        ? undefined
        : drawSecret(random, hedgeLength, `sign with ${name}`);
      try {
        return Uint8Array.from(await primitive.sign(message, secretKey, hedge));
      } catch (cause) {
        throw asTyped(`sign with ${name}`, cause);
      } finally {
        hedge?.fill(0);
      }
    },
    verify,
  });
}

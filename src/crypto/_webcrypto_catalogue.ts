/**
 * Which WebCrypto primitives a platform has: every candidate with the
 * operations it needs (for `SubtleCrypto.supports`) and a probe that runs a
 * real operation through the contract (for platforms without `supports`).
 *
 * @module
 */

import type { Aead, AeadName, KeyExchange, KeyExchangeName, SignatureScheme } from "./types.ts";
import type {
  AeadPrimitive,
  KemPrimitive,
  KeyExchangePrimitive,
  PrimitiveSet,
  SignaturePrimitive,
  SingleSignatureName,
} from "./_primitives.ts";
import { noblePrimitives } from "./noble_backend.ts";
import { systemRandom } from "./random.ts";
import { contractBackend } from "./_contract.ts";
import {
  type Algorithm,
  type NativeSubtle,
  type Platform,
  platformOf,
  publicBytes,
} from "./_webcrypto_platform.ts";
import { DH_GROUPS, webCryptoDh, webCryptoKem } from "./_webcrypto_key_exchange.ts";
import { webCryptoEd25519, webCryptoMlDsa } from "./_webcrypto_signature.ts";
import { AEAD_SPECS, webCryptoAead } from "./_webcrypto_aead.ts";

/** The categories of native primitives. */
export type NativeCategory = "keyExchange" | "signature" | "aead";

/** One native primitive: how to build it and the operations it needs. */
export interface Candidate<T> {
  /** Builds the primitive (cheap; no platform call). */
  readonly build: () => T;
  /** `[operation, algorithm]` pairs that `SubtleCrypto.supports` must confirm. */
  readonly needs: readonly (readonly [string, Algorithm])[];
}

/** Checks that a call path exists (a missing method would be a TypeError later). */
function hasMethods(subtle: NativeSubtle, ...names: (keyof NativeSubtle)[]): boolean {
  return names.every((name) => typeof subtle[name] === "function");
}

/** Every native primitive this backend can build for one WebCrypto implementation, unchecked. */
export class Catalogue {
  readonly platform: Platform;

  constructor(subtle: NativeSubtle) {
    this.platform = platformOf(subtle);
  }

  #publicHalf(algorithm: Algorithm): [string, Algorithm] {
    return this.platform.extractable ? ["exportKey", algorithm] : ["getPublicKey", algorithm];
  }

  keyExchange(name: KeyExchangeName): Candidate<KeyExchangePrimitive> | undefined {
    const group = DH_GROUPS[name];
    if (group !== undefined) {
      const dh = group();
      return {
        build: () => webCryptoDh(this.platform, dh) as KeyExchangePrimitive,
        needs: [
          ["importKey", dh.algorithm],
          ["deriveBits", dh.algorithm],
          this.#publicHalf(dh.algorithm),
        ],
      };
    }
    if (!name.startsWith("ML-KEM-")) return undefined;
    if (!hasMethods(this.platform.subtle, "encapsulateBits", "decapsulateBits", "getPublicKey")) {
      return undefined;
    }
    const noble = noblePrimitives.keyExchange(name) as KemPrimitive;
    return {
      build: () => webCryptoKem(this.platform, name, noble) as KeyExchangePrimitive,
      needs: [
        ["importKey", name],
        ["getPublicKey", name],
        ["encapsulateBits", name],
        ["decapsulateBits", name],
      ],
    };
  }

  signature(name: SingleSignatureName): Candidate<SignaturePrimitive> | undefined {
    const noble = noblePrimitives.signature(name)!;
    switch (name) {
      case "Ed25519":
        return {
          build: () => webCryptoEd25519(this.platform, noble),
          needs: [
            ["importKey", name],
            ["sign", name],
            ["verify", name],
            this.#publicHalf(name),
          ],
        };
      case "ML-DSA-44":
      case "ML-DSA-65":
      case "ML-DSA-87":
        return {
          build: () => webCryptoMlDsa(this.platform, name, noble),
          needs: [["importKey", name], ["verify", name]],
        };
      default:
        return undefined;
    }
  }

  aead(name: AeadName): Candidate<AeadPrimitive> | undefined {
    const spec = AEAD_SPECS[name];
    if (spec === undefined) return undefined;
    const algorithm = { name: spec.algorithm, iv: new Uint8Array(12) };
    return {
      build: () => webCryptoAead(this.platform, spec),
      needs: [["importKey", spec.algorithm], ["encrypt", algorithm], ["decrypt", algorithm]],
    };
  }

  /** The candidate of `name` in `category`, if this catalogue has one. */
  candidate(category: NativeCategory, name: string): Candidate<unknown> | undefined {
    switch (category) {
      case "keyExchange":
        return this.keyExchange(name as KeyExchangeName);
      case "signature":
        return this.signature(name as SingleSignatureName);
      case "aead":
        return this.aead(name as AeadName);
    }
  }

  /** Runs a real operation with a built primitive, through the contract; `true` if it works. */
  async probe(category: NativeCategory, name: string, primitive: unknown): Promise<boolean> {
    const only: PrimitiveSet = {
      name: "probe",
      keyExchange: (n) => n === name && category === "keyExchange" ? primitive as never : undefined,
      signature: (n) => n === name && category === "signature" ? primitive as never : undefined,
      aead: (n) => n === name && category === "aead" ? primitive as never : undefined,
      hash: () => undefined,
    };
    const backend = contractBackend(only);
    try {
      switch (category) {
        case "keyExchange":
          await probeKeyExchange(backend.keyExchange(name as KeyExchangeName)!);
          break;
        case "aead":
          await probeAead(backend.aead(name as AeadName)!);
          break;
        case "signature":
          if (name.startsWith("ML-DSA")) {
            await probeMlDsa(this.platform, backend.signature(name as SingleSignatureName)!);
          } else {
            await probeSignature(backend.signature(name as SingleSignatureName)!);
          }
      }
      return true;
    } catch {
      return false;
    }
  }
}

/** A fixed, non-secret probe input. */
const PROBE = new Uint8Array(128).fill(0x51);
function probeRandom(length: number): Uint8Array<ArrayBuffer> {
  return PROBE.slice(0, length);
}

async function probeKeyExchange(kex: KeyExchange): Promise<void> {
  const { offer, state } = await kex.offer(probeRandom);
  // Native encapsulation is what production uses; the probe exercises it.
  const { answer, sharedSecret } = await kex.answer(offer, systemRandom);
  const finished = await kex.finish(state, answer);
  state.dispose();
  if (finished.length !== sharedSecret.length || finished.some((b, i) => b !== sharedSecret[i])) {
    throw new Error(`${kex.name} probe disagrees with itself`);
  }
}

async function probeSignature(scheme: SignatureScheme): Promise<void> {
  const message = PROBE.subarray(0, 3);
  const pair = await scheme.generateKeyPair({ seed: PROBE.subarray(0, scheme.seedLength) });
  const signature = await scheme.sign(message, pair.secretKey, probeRandom);
  if (!await scheme.verify(signature, message, pair.publicKey)) {
    throw new Error(`${scheme.name} probe does not verify`);
  }
}

/**
 * ML-DSA signs with noble (slow); the probe signs natively instead and checks
 * that the native verification accepts it and rejects a forgery.
 */
async function probeMlDsa(platform: Platform, scheme: SignatureScheme): Promise<void> {
  const { subtle } = platform;
  const message = PROBE.subarray(0, 3);
  const key = await subtle.importKey(
    "raw-seed",
    PROBE.slice(0, 32),
    scheme.name,
    platform.extractable,
    ["sign"],
  );
  const publicKey = await publicBytes(platform, key, "raw-public", ["pub"]);
  const signature = new Uint8Array(await subtle.sign({ name: scheme.name }, key, message));
  if (!await scheme.verify(signature, message, publicKey)) {
    throw new Error(`${scheme.name} probe does not verify`);
  }
  signature[0]! ^= 1;
  if (await scheme.verify(signature, message, publicKey)) {
    throw new Error(`${scheme.name} probe verified a forgery`);
  }
}

async function probeAead(aead: Aead): Promise<void> {
  const cipher = aead.createCipher(PROBE.subarray(0, 32));
  const nonce = new Uint8Array(12);
  const sealed = await cipher.seal(nonce, PROBE.subarray(0, 5), PROBE.subarray(0, 2));
  const opened = await cipher.open(nonce, sealed, PROBE.subarray(0, 2));
  cipher.dispose();
  if (opened === undefined || opened.length !== 5) throw new Error(`${aead.name} probe failed`);
}

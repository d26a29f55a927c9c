/**
 * A {@linkcode CryptoBackend} on the runtime's synchronous native crypto,
 * `node:crypto`, which Deno, Node and Bun provide: X25519, X448, Ed25519,
 * AES-256-GCM and ChaCha20-Poly1305.
 *
 * Why a second native backend: WebCrypto answers every call with a promise
 * that Deno settles from a worker thread, and in a real handshake, where
 * other work runs between two calls, each such call waits for that thread.
 * `node:crypto` computes these on the calling thread, so a handshake waits
 * for nothing. ML-KEM and ML-DSA are not in `node:crypto`; `autoBackend`
 * takes them from WebCrypto and everything else from noble.
 *
 * This file supplies raw primitives only: key pairs from the contract's seed
 * bytes (imported as PKCS #8, so they equal noble's), shared secrets,
 * signatures, and ciphers keyed with raw key bytes. Validation, error
 * mapping, random draws, strict verification and the byte-for-byte
 * agreement with `nobleBackend` are the contract layer's (`_contract.ts`),
 * shared by every backend; the differential tests run against this one too.
 *
 * Where `node:crypto` is missing (browsers), the backend offers nothing. It
 * is found with `process.getBuiltinModule`, without an import, so this
 * module loads everywhere; each algorithm is offered only after one
 * known-answer round trip succeeds on first use.
 *
 * @module
 */

import { TAG_LENGTH } from "./types.ts";
import type { AeadName, CryptoBackend, KeyExchangeName } from "./types.ts";
import type {
  AeadPrimitive,
  AeadPrimitiveCipher,
  DhPrimitive,
  KeyExchangePrimitive,
  PrimitiveKeyPair,
  PrimitiveSet,
  RawKeyPair,
  SignaturePrimitive,
  SingleSignatureName,
} from "./_primitives.ts";
import { contractBackend } from "./_contract.ts";
import { sha256 } from "@noble/hashes/sha2.js";

/** A `node:crypto` key object, as far as this file uses it. */
interface NodeKeyObject {
  readonly asymmetricKeyType?: string;
  export(options: { format: "der"; type: "spki" }): Uint8Array;
}

/** A `node:crypto` cipher or decipher, as far as this file uses it. */
interface NodeCipher {
  setAAD(aad: Uint8Array): NodeCipher;
  setAuthTag(tag: Uint8Array): NodeCipher;
  getAuthTag(): Uint8Array;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}

/** The `node:crypto` functions this file uses. */
interface NodeCrypto {
  createCipheriv(
    algorithm: string,
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): NodeCipher;
  createDecipheriv(
    algorithm: string,
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): NodeCipher;
  createPrivateKey(options: { key: Uint8Array; format: "der"; type: "pkcs8" }): NodeKeyObject;
  createPublicKey(
    key: NodeKeyObject | { key: Uint8Array; format: "der"; type: "spki" },
  ): NodeKeyObject;
  diffieHellman(options: { privateKey: NodeKeyObject; publicKey: NodeKeyObject }): Uint8Array;
  sign(algorithm: null, data: Uint8Array, key: NodeKeyObject): Uint8Array;
  verify(algorithm: null, data: Uint8Array, key: NodeKeyObject, signature: Uint8Array): boolean;
}

/** The DER prefixes of one curve's raw keys (RFC 8410). */
interface CurveDer {
  /** `asymmetricKeyType` of its key objects. */
  readonly type: string;
  /** Raw key length. */
  readonly length: number;
  /** PKCS #8 prefix of a raw private key. */
  readonly pkcs8: Uint8Array;
  /** SubjectPublicKeyInfo prefix of a raw public key. */
  readonly spki: Uint8Array;
}

function der(type: string, oid: number, length: number): CurveDer {
  return {
    type,
    length,
    pkcs8: Uint8Array.of(
      0x30,
      14 + length,
      0x02,
      0x01,
      0x00,
      0x30,
      0x05,
      0x06,
      0x03,
      0x2b,
      0x65,
      oid,
      0x04,
      2 + length,
      0x04,
      length,
    ),
    spki: Uint8Array.of(
      0x30,
      10 + length,
      0x30,
      0x05,
      0x06,
      0x03,
      0x2b,
      0x65,
      oid,
      0x03,
      1 + length,
      0x00,
    ),
  };
}

const X25519 = der("x25519", 0x6e, 32);
const X448 = der("x448", 0x6f, 56);
const ED25519 = der("ed25519", 0x70, 32);

function prefixed(prefix: Uint8Array, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix, 0);
  out.set(bytes, prefix.length);
  return out;
}

/** The curve's private key object for raw key bytes; the DER copy is wiped. */
function privateKeyOf(crypto: NodeCrypto, curve: CurveDer, raw: Uint8Array): NodeKeyObject {
  const pkcs8 = prefixed(curve.pkcs8, raw);
  try {
    const key = crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    if (key.asymmetricKeyType !== curve.type) throw new TypeError(`not a ${curve.type} key`);
    return key;
  } finally {
    pkcs8.fill(0);
  }
}

function publicKeyOf(crypto: NodeCrypto, curve: CurveDer, raw: Uint8Array): NodeKeyObject {
  return crypto.createPublicKey({ key: prefixed(curve.spki, raw), format: "der", type: "spki" });
}

/** The raw public key of a private key object. */
function rawPublic(crypto: NodeCrypto, curve: CurveDer, privateKey: NodeKeyObject): Uint8Array {
  return crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" })
    .slice(curve.spki.length);
}

/** X25519 / X448: noble's secret key is the seed itself (clamped when used, RFC 7748). */
function nodeDh(crypto: NodeCrypto, curve: CurveDer): DhPrimitive<NodeKeyObject> {
  return {
    kind: "dh",
    seedLength: curve.length,
    publicKeyLength: curve.length,
    keyPair(seed): PrimitiveKeyPair<NodeKeyObject> {
      const privateKey = privateKeyOf(crypto, curve, seed);
      return { privateKey, publicKey: rawPublic(crypto, curve, privateKey) };
    },
    sharedSecret: (privateKey, publicKey) =>
      crypto.diffieHellman({ privateKey, publicKey: publicKeyOf(crypto, curve, publicKey) }),
    // A KeyObject cannot be wiped from JavaScript; dropping it is all there is.
    dispose: () => {},
  };
}

/** A private key object made for a secret key array, and a digest of the bytes it was made from. */
interface SigningKey {
  readonly digest: Uint8Array;
  readonly key: NodeKeyObject;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/**
 * The private key object for an identity's secret key, made once per array
 * rather than once per signature: importing an Ed25519 key derives its
 * public key (a scalar multiplication), which costs as much as the signature
 * itself. The object is kept for as long as the array is reachable (a
 * `WeakMap` entry), and made afresh when the array's bytes no longer match
 * the SHA-256 digest taken when it was made, so a changed or wiped array
 * never signs with its old key. No copy of the secret is kept in
 * JavaScript; the key object holds one, as every `node:crypto` key does, and
 * cannot be wiped.
 */
function signingKeys(
  crypto: NodeCrypto,
  curve: CurveDer,
): (secretKey: Uint8Array) => NodeKeyObject {
  const made = new WeakMap<Uint8Array, SigningKey>();
  return (secretKey) => {
    const digest = sha256(secretKey);
    const known = made.get(secretKey);
    if (known !== undefined && sameBytes(known.digest, digest)) return known.key;
    const key = privateKeyOf(crypto, curve, secretKey);
    made.set(secretKey, { digest, key });
    return key;
  };
}

/** Ed25519: deterministic (RFC 8032), verified with the cofactorless equation. */
function nodeEd25519(crypto: NodeCrypto): SignaturePrimitive {
  const signingKey = signingKeys(crypto, ED25519);
  return {
    seedLength: 32,
    publicKeyLength: 32,
    secretKeyLength: 32,
    signatureLength: 64,
    hedgeLength: 0,
    cofactored: false,
    keyPair(seed): RawKeyPair {
      // noble's Ed25519 secret key is the 32-byte seed (RFC 8032).
      const privateKey = privateKeyOf(crypto, ED25519, seed);
      return {
        secretKey: Uint8Array.from(seed),
        publicKey: rawPublic(crypto, ED25519, privateKey),
      };
    },
    sign: (message, secretKey) => crypto.sign(null, message, signingKey(secretKey)),
    verify: (signature, message, publicKey) =>
      crypto.verify(null, message, publicKeyOf(crypto, ED25519, publicKey), signature),
  };
}

/**
 * An AEAD keyed with raw key bytes (no `KeyObject`: `createCipheriv` takes
 * the bytes directly, which is cheaper per record). Both AEADs are stream
 * ciphers: `update` returns the whole output and `final` nothing.
 */
function nodeAead(crypto: NodeCrypto, cipherName: string): AeadPrimitive {
  const options = { authTagLength: TAG_LENGTH };
  return {
    nonceLength: 12,
    bind(key): AeadPrimitiveCipher {
      return {
        seal(nonce, plaintext, aad, output): Uint8Array<ArrayBuffer> {
          const cipher = crypto.createCipheriv(cipherName, key, nonce, options);
          cipher.setAAD(aad);
          const head = cipher.update(plaintext);
          const tail = cipher.final();
          const sealed = output ?? new Uint8Array(plaintext.length + TAG_LENGTH);
          // `output` may alias `plaintext`: node has read all of it by now.
          sealed.set(head, 0);
          if (tail.length > 0) sealed.set(tail, head.length);
          sealed.set(cipher.getAuthTag(), plaintext.length);
          return sealed;
        },
        open(nonce, ciphertext, aad): Uint8Array<ArrayBuffer> {
          const split = ciphertext.length - TAG_LENGTH;
          const decipher = crypto.createDecipheriv(cipherName, key, nonce, options);
          decipher.setAAD(aad);
          decipher.setAuthTag(ciphertext.subarray(split));
          const head = decipher.update(ciphertext.subarray(0, split));
          // Throws when the tag does not verify; the plaintext is then never returned.
          const tail = decipher.final();
          if (tail.length === 0 && head.length === split) return ownedCopy(head);
          const opened = new Uint8Array(split);
          opened.set(head, 0);
          opened.set(tail, head.length);
          return opened;
        },
        dispose: () => key.fill(0),
      };
    },
  };
}

/**
 * `bytes` as an array owning its whole buffer: node returns Buffers, which
 * may be views of a shared pool, so only a Buffer that owns its whole
 * `ArrayBuffer` is handed over as is (a plain view of it), else copied.
 */
function ownedCopy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer &&
      bytes.buffer.byteLength === bytes.length
    ? new Uint8Array(bytes.buffer)
    : Uint8Array.from(bytes);
}

/** One known-answer round trip per algorithm before it is offered (a missing cipher throws). */
const PROBE = new Uint8Array(64).fill(0x51);

function works(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function dhWorks(dh: DhPrimitive<NodeKeyObject>): boolean {
  const mine = dh.keyPair(PROBE.slice(0, dh.seedLength)) as {
    privateKey: NodeKeyObject;
    publicKey: Uint8Array;
  };
  return (dh.sharedSecret(mine.privateKey, mine.publicKey) as Uint8Array).length === dh.seedLength;
}

function signatureWorks(scheme: SignaturePrimitive): boolean {
  const { secretKey, publicKey } = scheme.keyPair(PROBE.slice(0, scheme.seedLength)) as {
    secretKey: Uint8Array;
    publicKey: Uint8Array;
  };
  const message = PROBE.subarray(0, 3);
  const signature = scheme.sign(message, secretKey, undefined) as Uint8Array;
  return scheme.verify(signature, message, publicKey) === true;
}

function aeadWorks(aead: AeadPrimitive): boolean {
  const cipher = aead.bind(PROBE.slice(0, 32));
  const nonce = new Uint8Array(12);
  const sealed = cipher.seal(
    nonce,
    PROBE.subarray(0, 5),
    PROBE.subarray(0, 2),
    undefined,
  ) as Uint8Array;
  const opened = cipher.open(nonce, sealed, PROBE.subarray(0, 2)) as Uint8Array | undefined;
  cipher.dispose();
  return opened?.length === 5;
}

function builtinCrypto(): NodeCrypto | undefined {
  const process = (globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
  }).process;
  try {
    const module = process?.getBuiltinModule?.("node:crypto") as Partial<NodeCrypto> | undefined;
    const needed = [
      "createPrivateKey",
      "createPublicKey",
      "createCipheriv",
      "createDecipheriv",
      "diffieHellman",
      "sign",
      "verify",
    ] as const;
    return module !== undefined && needed.every((name) => typeof module[name] === "function")
      ? module as NodeCrypto
      : undefined;
  } catch {
    return undefined;
  }
}

/** The primitives over a given `node:crypto` module (or none), each checked on first use. */
function nodePrimitives(crypto: NodeCrypto | undefined): PrimitiveSet {
  function checked<T>(build: () => T, check: (value: T) => boolean): () => T | undefined {
    let value: T | undefined;
    let decided = false;
    return () => {
      if (!decided) {
        decided = true;
        if (crypto !== undefined) {
          const built = build();
          value = works(() => check(built)) ? built : undefined;
        }
      }
      return value;
    };
  }
  const node = crypto!;
  const keyExchanges: Partial<Record<KeyExchangeName, () => KeyExchangePrimitive | undefined>> = {
    "X25519": checked(() => nodeDh(node, X25519), dhWorks) as () =>
      | KeyExchangePrimitive
      | undefined,
    "X448": checked(() => nodeDh(node, X448), dhWorks) as () => KeyExchangePrimitive | undefined,
  };
  const signatures: Partial<Record<SingleSignatureName, () => SignaturePrimitive | undefined>> = {
    "Ed25519": checked(() => nodeEd25519(node), signatureWorks),
  };
  const aeads: Partial<Record<AeadName, () => AeadPrimitive | undefined>> = {
    "AES-256-GCM": checked(() => nodeAead(node, "aes-256-gcm"), aeadWorks),
    "ChaCha20-Poly1305": checked(() => nodeAead(node, "chacha20-poly1305"), aeadWorks),
  };
  return Object.freeze({
    name: "node",
    keyExchange: (name: KeyExchangeName) => keyExchanges[name]?.(),
    signature: (name: SingleSignatureName) => signatures[name]?.(),
    aead: (name: AeadName) => aeads[name]?.(),
    hash: (): undefined => undefined,
  });
}

/**
 * The backend on `node:crypto` (Deno, Node, Bun): X25519, X448, Ed25519,
 * AES-256-GCM and ChaCha20-Poly1305, computed synchronously on the calling
 * thread. Offers nothing where `node:crypto` is missing. Through the shared
 * contract layer: identical keys, secrets, signatures and ciphertexts to
 * `nobleBackend` for the same inputs, `ERR_INVALID_PEER_KEY` for invalid
 * peer keys, the same strict Ed25519 verdicts, `verify` → `false` and
 * `open` → `undefined` on any failure. `autoBackend` prefers it where it
 * offers an algorithm.
 *
 * @example Byte-identical to noble for a seed, without a worker-thread round trip
 * ```ts
 * import { nobleBackend, nodeCryptoBackend, seededRandom } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const x25519 = nodeCryptoBackend.keyExchange("X25519");
 * if (x25519 !== undefined) {
 *   const mine = await x25519.offer(seededRandom(new Uint8Array([7])));
 *   const noble = await nobleBackend.keyExchange("X25519")!.offer(seededRandom(new Uint8Array([7])));
 *   assert.deepEqual(mine.offer, noble.offer);
 *   const peer = await x25519.answer(mine.offer, seededRandom(new Uint8Array([8])));
 *   assert.deepEqual(await x25519.finish(mine.state, peer.answer), peer.sharedSecret);
 *   mine.state.dispose();
 *   noble.state.dispose();
 * }
 * assert.equal(nodeCryptoBackend.keyExchange("ML-KEM-768"), undefined); // WebCrypto's
 * ```
 */
export const nodeCryptoBackend: CryptoBackend = contractBackend(nodePrimitives(builtinCrypto()));

/**
 * A {@linkcode CryptoBackend} on the runtime's synchronous native crypto,
 * `node:crypto`, which Deno, Node and Bun provide: X25519, X448, Ed25519,
 * AES-256-GCM and ChaCha20-Poly1305.
 *
 * Why a second native backend: WebCrypto answers every call with a promise
 * that Deno settles from a worker thread, and in a real handshake, where
 * other work runs between two calls, each such call costs 100–160 µs of
 * waiting (measured on Deno 2.9, 2 cores: an Ed25519 signature takes 17 µs
 * through `node:crypto` and ~110 µs awaited through WebCrypto). `node:crypto`
 * computes these on the calling thread, so a handshake waits for nothing.
 * ML-KEM and ML-DSA are not in `node:crypto`; `autoBackend` takes them from
 * WebCrypto and everything else from noble.
 *
 * This file implements no primitive and no protocol logic. It presents the
 * few `node:crypto` functions it needs (`createPrivateKey`,
 * `createPublicKey`, `createSecretKey`, `diffieHellman`, `sign`, `verify`,
 * `createCipheriv`, `createDecipheriv`) as the WebCrypto
 * subset the WebCrypto backend is written against, and builds that backend
 * over it. Validation, error mapping, random draws and the byte-for-byte
 * agreement with `nobleBackend` are therefore the WebCrypto backend's (see
 * its module documentation), and the differential tests run against both.
 *
 * Where `node:crypto` is missing (browsers), the backend offers nothing.
 * It is found with `process.getBuiltinModule`, without an import, so this
 * module loads everywhere.
 *
 * @module
 */

import { concatBytes } from "@noble/hashes/utils.js";
import { type Algorithm, nativeBackendOver, type NativeSubtle } from "./webcrypto_backend.ts";
import type { CryptoBackend } from "./types.ts";

/** A `node:crypto` key object, as far as this file uses it. */
interface NodeKeyObject {
  readonly type: string;
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
  createSecretKey(key: Uint8Array): NodeKeyObject;
  createCipheriv(
    algorithm: string,
    key: NodeKeyObject,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): NodeCipher;
  createDecipheriv(
    algorithm: string,
    key: NodeKeyObject,
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

/** The SubjectPublicKeyInfo prefix of a raw public key, per algorithm (RFC 8410). */
const SPKI_PREFIX: Readonly<Record<string, Uint8Array>> = {
  X25519: Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00),
  X448: Uint8Array.of(0x30, 0x42, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6f, 0x03, 0x39, 0x00),
  Ed25519: Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00),
};

/** Which operations each algorithm is offered for. */
const OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  X25519: ["importKey", "getPublicKey", "exportKey", "deriveBits"],
  X448: ["importKey", "getPublicKey", "exportKey", "deriveBits"],
  Ed25519: ["importKey", "getPublicKey", "exportKey", "sign", "verify"],
  "AES-GCM": ["importKey", "encrypt", "decrypt"],
  "ChaCha20-Poly1305": ["importKey", "encrypt", "decrypt"],
};

/** `node:crypto`'s cipher names for the WebCrypto AEADs (the keys are 256-bit). */
const CIPHERS: Readonly<Record<string, string>> = {
  "AES-GCM": "aes-256-gcm",
  "ChaCha20-Poly1305": "chacha20-poly1305",
};

const TAG_LENGTH = 16;

function nameOf(algorithm: Algorithm): string {
  return typeof algorithm === "string" ? algorithm : algorithm.name;
}

/** A key as the WebCrypto backend sees it: opaque, holding a `node:crypto` key object. */
class NodeKey {
  readonly algorithm: { readonly name: string };
  readonly type: "private" | "public" | "secret";
  readonly node: NodeKeyObject;

  constructor(name: string, type: "private" | "public" | "secret", node: NodeKeyObject) {
    this.algorithm = { name };
    this.type = type;
    this.node = node;
  }
}

function keyOf(
  key: unknown,
  name: string,
  type: "private" | "public" | "secret",
): NodeKeyObject {
  if (!(key instanceof NodeKey) || key.algorithm.name !== name || key.type !== type) {
    throw new TypeError(`Cannot use key: expected a ${type} ${name} key of this backend`);
  }
  return key.node;
}

function bytesOf(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new TypeError("Cannot read key data: expected bytes");
}

/**
 * An `ArrayBuffer` holding exactly `bytes`: node returns Buffers, which may
 * share a pool (and whose `slice` does not copy), so this always copies.
 */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

/** Runs `operation` now and settles the promise with its outcome, as WebCrypto would. */
function settle<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The WebCrypto subset of `webcrypto_backend.ts`, computed synchronously by `node:crypto`. */
function nodeSubtle(crypto: NodeCrypto): NativeSubtle {
  /** Writes ciphertext ‖ tag into `output` (which may alias `plaintext`: node reads it first). */
  function seal(
    algorithm: Algorithm,
    key: unknown,
    plaintext: Uint8Array,
    output: Uint8Array,
  ): void {
    const { name, iv, aad } = aeadParameters(algorithm);
    if (output.length !== plaintext.length + TAG_LENGTH) {
      throw new RangeError(`Cannot encrypt: output must be ${plaintext.length + TAG_LENGTH} bytes`);
    }
    const cipher = crypto.createCipheriv(CIPHERS[name]!, keyOf(key, name, "secret"), iv, {
      authTagLength: TAG_LENGTH,
    });
    cipher.setAAD(aad);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    output.set(head);
    output.set(tail, head.length);
    output.set(cipher.getAuthTag(), plaintext.length);
  }

  return {
    importKey(format, keyData, algorithm): Promise<CryptoKey> {
      return settle(() => {
        const name = nameOf(algorithm);
        if (CIPHERS[name] !== undefined) {
          const bytes = bytesOf(keyData);
          if ((format !== "raw" && format !== "raw-secret") || bytes.length !== 32) {
            throw new TypeError(`Cannot import key: ${name} takes 32 raw bytes`);
          }
          return new NodeKey(name, "secret", crypto.createSecretKey(bytes)) as unknown as CryptoKey;
        }
        const prefix = SPKI_PREFIX[name];
        if (prefix === undefined) throw new TypeError(`Cannot import key: ${name} not offered`);
        const bytes = bytesOf(keyData);
        if (format === "pkcs8") {
          const node = crypto.createPrivateKey({ key: bytes, format: "der", type: "pkcs8" });
          if (node.asymmetricKeyType !== name.toLowerCase()) {
            throw new TypeError(`Cannot import key: not a ${name} private key`);
          }
          return new NodeKey(name, "private", node) as unknown as CryptoKey;
        }
        if (format === "raw") {
          const node = crypto.createPublicKey({
            key: concatBytes(prefix, bytes),
            format: "der",
            type: "spki",
          });
          return new NodeKey(name, "public", node) as unknown as CryptoKey;
        }
        throw new TypeError(`Cannot import key: format ${format} not offered`);
      });
    },
    getPublicKey(key): Promise<CryptoKey> {
      return settle(() => {
        const { name } = (key as unknown as NodeKey).algorithm;
        const node = crypto.createPublicKey(keyOf(key, name, "private"));
        return new NodeKey(name, "public", node) as unknown as CryptoKey;
      });
    },
    exportKey(format, key): Promise<ArrayBuffer> {
      return settle(() => {
        const { name } = (key as unknown as NodeKey).algorithm;
        if (format !== "raw") throw new TypeError(`Cannot export key: format ${format}`);
        const spki = keyOf(key, name, "public").export({ format: "der", type: "spki" });
        return ownBuffer(spki.subarray(SPKI_PREFIX[name]!.length));
      });
    },
    deriveBits(algorithm, key, length): Promise<ArrayBuffer> {
      return settle(() => {
        const name = nameOf(algorithm);
        const peer = typeof algorithm === "string" ? undefined : algorithm.public;
        const shared = crypto.diffieHellman({
          privateKey: keyOf(key, name, "private"),
          publicKey: keyOf(peer, name, "public"),
        });
        if (shared.length * 8 !== length) {
          throw new RangeError(`Cannot derive bits: ${length} bits requested`);
        }
        return ownBuffer(shared);
      });
    },
    sign(algorithm, key, data): Promise<ArrayBuffer> {
      return settle(() => {
        const name = nameOf(algorithm);
        return ownBuffer(crypto.sign(null, bytesOf(data), keyOf(key, name, "private")));
      });
    },
    verify(algorithm, key, signature, data): Promise<boolean> {
      return settle(() => {
        const name = nameOf(algorithm);
        return crypto.verify(null, bytesOf(data), keyOf(key, name, "public"), bytesOf(signature));
      });
    },
    encrypt(algorithm, key, data): Promise<ArrayBuffer> {
      return settle(() => {
        const plaintext = bytesOf(data);
        const sealed = new Uint8Array(plaintext.length + TAG_LENGTH);
        seal(algorithm, key, plaintext, sealed);
        return sealed.buffer;
      });
    },
    encryptInto(algorithm, key, data, output): Promise<void> {
      return settle(() => seal(algorithm, key, data, output));
    },
    decrypt(algorithm, key, data): Promise<ArrayBuffer> {
      return settle(() => {
        const { name, iv, aad } = aeadParameters(algorithm);
        const sealed = bytesOf(data);
        if (sealed.length < TAG_LENGTH) throw new RangeError("Cannot decrypt: no tag");
        const split = sealed.length - TAG_LENGTH;
        const decipher = crypto.createDecipheriv(CIPHERS[name]!, keyOf(key, name, "secret"), iv, {
          authTagLength: TAG_LENGTH,
        });
        decipher.setAAD(aad);
        decipher.setAuthTag(sealed.subarray(split));
        const head = decipher.update(sealed.subarray(0, split));
        // Throws when the tag does not verify; the plaintext is then never returned.
        const tail = decipher.final();
        // Both AEADs are stream ciphers: `final()` adds nothing, and a large
        // `update()` result owns its buffer, which is then handed over as is.
        if (
          tail.length === 0 && head.length === split && head.byteOffset === 0 &&
          head.buffer instanceof ArrayBuffer && head.buffer.byteLength === split
        ) {
          return head.buffer;
        }
        const opened = new Uint8Array(split);
        opened.set(head);
        opened.set(tail, head.length);
        return opened.buffer;
      });
    },
  };
}

function aeadParameters(algorithm: Algorithm): { name: string; iv: Uint8Array; aad: Uint8Array } {
  if (typeof algorithm === "string" || CIPHERS[algorithm.name] === undefined) {
    throw new TypeError(`Cannot use AEAD: ${nameOf(algorithm)} not offered`);
  }
  return {
    name: algorithm.name,
    iv: bytesOf(algorithm.iv),
    aad: algorithm.additionalData === undefined
      ? new Uint8Array(0)
      : bytesOf(algorithm.additionalData),
  };
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
      "createSecretKey",
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

/**
 * Creates the backend over a given `node:crypto` module (or none).
 *
 * @param crypto The module; `undefined` gives a backend that offers nothing.
 * @returns The backend.
 */
function nodeBackendOver(crypto: NodeCrypto | undefined): CryptoBackend {
  if (crypto === undefined) {
    return nativeBackendOver("node", nodeSubtle({} as NodeCrypto), undefined);
  }
  return nativeBackendOver(
    "node",
    nodeSubtle(crypto),
    (operation, algorithm) => OPERATIONS[nameOf(algorithm)]?.includes(operation) === true,
  );
}

/**
 * The backend on `node:crypto` (Deno, Node, Bun): X25519, X448, Ed25519,
 * AES-256-GCM and ChaCha20-Poly1305, computed synchronously on the calling
 * thread. Offers nothing where `node:crypto` is missing. Semantics are
 * `webCryptoBackend`'s: identical keys, secrets, signatures and ciphertexts
 * to `nobleBackend` for the same inputs, `ERR_INVALID_PEER_KEY` for invalid
 * peer keys, `verify` → `false` and `open` → `undefined` on any failure.
 * `autoBackend` prefers it where it offers an algorithm.
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
export const nodeCryptoBackend: CryptoBackend = nodeBackendOver(builtinCrypto());

import assert from "node:assert/strict";
import { ErrorCode, HandshakeError } from "../src/errors.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { nodeCryptoBackend } from "../src/crypto/node_backend.ts";
import { webCryptoBackend } from "../src/crypto/webcrypto_backend.ts";
import { autoBackend, createAutoBackend } from "../src/crypto/auto_backend.ts";
import {
  algorithmId,
  algorithmsOf,
  canonicalAlgorithmName,
  findAlgorithm,
  resolveAead,
  resolveHash,
  resolveKeyExchange,
  resolveSignature,
} from "../src/crypto/registry.ts";
import { AEADS, HASHES, KEY_EXCHANGES, SIGNATURES } from "../src/crypto/types.ts";
import type { AlgorithmCategory, CryptoBackend } from "../src/crypto/types.ts";

const TABLES = { keyExchange: KEY_EXCHANGES, aead: AEADS, hash: HASHES, signature: SIGNATURES };
const CATEGORIES = Object.keys(TABLES) as AlgorithmCategory[];

function isUnsupported(error: unknown): boolean {
  return error instanceof HandshakeError && error.code === ErrorCode.UNSUPPORTED_ALGORITHM;
}

Deno.test("findAlgorithm() finds every row by id and by name", () => {
  for (const category of CATEGORIES) {
    assert.equal(algorithmsOf(category), TABLES[category]);
    for (const info of TABLES[category]) {
      assert.equal(findAlgorithm(category, info.id), info);
      assert.equal(findAlgorithm(category, info.name), info);
      assert.equal(info.category, category);
    }
  }
});

Deno.test("findAlgorithm() returns undefined for unknown ids", () => {
  for (const category of CATEGORIES) {
    for (const value of [0, 0xffff, -1, 1.5]) {
      assert.equal(findAlgorithm(category, value), undefined, `${category} ${value}`);
    }
  }
  // An id of another category is not found in this one.
  assert.equal(findAlgorithm("aead", 0x0101), undefined);
  assert.throws(() => findAlgorithm("cipher" as AlgorithmCategory, 1), TypeError);
  assert.throws(() => algorithmsOf("toString" as AlgorithmCategory), TypeError);
});

Deno.test("findAlgorithm() and canonicalAlgorithmName() take a name in any letter case", () => {
  for (const category of CATEGORIES) {
    for (const info of TABLES[category]) {
      for (const spelling of [info.name, info.name.toLowerCase(), info.name.toUpperCase()]) {
        assert.equal(findAlgorithm(category, spelling), info, spelling);
        assert.equal(canonicalAlgorithmName(category, spelling), info.name);
        assert.equal(algorithmId(category, spelling), info.id);
      }
    }
  }
  assert.equal(canonicalAlgorithmName("signature", "ed25519+ml-dsa-65"), "Ed25519+ML-DSA-65");
});

Deno.test("findAlgorithm() and canonicalAlgorithmName() throw TypeError for a name of no algorithm", () => {
  const wrong = ["", "ChaCha20", "SHA-1", " Ed25519", "X25519 ", "RSA"];
  for (const category of CATEGORIES) {
    for (const name of wrong) {
      assert.throws(() => findAlgorithm(category, name), TypeError, `${category} ${name}`);
      assert.throws(() => canonicalAlgorithmName(category, name), TypeError);
      assert.throws(() => algorithmId(category, name), TypeError);
    }
  }
  // A name of another category is no name of this one.
  assert.throws(() => findAlgorithm("hash", "X25519"), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => canonicalAlgorithmName("aead", 7 as any), TypeError);
  // The message lists the valid names of the category.
  assert.throws(
    () => canonicalAlgorithmName("aead", "ROT13"),
    (error: Error) =>
      error instanceof TypeError &&
      AEADS.every((info) => error.message.includes(`"${info.name}"`)),
  );
});

Deno.test("CryptoBackend lookups on every backend take any letter case", () => {
  const backends = [
    nobleBackend,
    nodeCryptoBackend,
    webCryptoBackend,
    autoBackend,
    createAutoBackend({ native: [webCryptoBackend, nodeCryptoBackend] }),
  ];
  for (const backend of backends) {
    const ed25519 = backend.signature("ed25519" as never);
    assert.ok(ed25519, backend.name);
    assert.equal(ed25519, backend.signature("Ed25519"));
    assert.equal(ed25519.name, "Ed25519");
    assert.equal(backend.keyExchange("x25519" as never)?.name, "X25519");
    assert.equal(backend.aead("aes-256-gcm" as never)?.name, "AES-256-GCM");
    assert.equal(backend.hash("sha-256" as never), backend.hash("SHA-256"));
    assert.throws(() => backend.signature("RSA" as never), TypeError, backend.name);
  }
});

Deno.test("CryptoBackend lookups take any letter case and throw TypeError for no algorithm", () => {
  for (const info of KEY_EXCHANGES) {
    assert.equal(
      nobleBackend.keyExchange(info.name.toLowerCase() as never),
      nobleBackend.keyExchange(info.name),
    );
  }
  for (const info of SIGNATURES) {
    const scheme = nobleBackend.signature(info.name.toUpperCase() as never);
    assert.equal(scheme, nobleBackend.signature(info.name));
    assert.equal(scheme?.name, info.name);
  }
  for (const info of AEADS) {
    assert.equal(nobleBackend.aead(info.name.toLowerCase() as never), nobleBackend.aead(info.name));
  }
  for (const info of HASHES) {
    assert.equal(nobleBackend.hash(info.name.toLowerCase() as never), nobleBackend.hash(info.name));
  }
  assert.throws(() => nobleBackend.signature("RSA" as never), TypeError);
  assert.throws(() => nobleBackend.keyExchange("DH" as never), TypeError);
  assert.throws(() => nobleBackend.aead("ROT13" as never), TypeError);
  assert.throws(() => nobleBackend.hash("MD5" as never), TypeError);
});

Deno.test("resolveKeyExchange() and friends return the backend's implementation", () => {
  for (const info of KEY_EXCHANGES) {
    assert.equal(resolveKeyExchange(nobleBackend, info.id), nobleBackend.keyExchange(info.name));
    assert.equal(resolveKeyExchange(nobleBackend, info.name).id, info.id);
  }
  for (const info of AEADS) {
    assert.equal(resolveAead(nobleBackend, info.id), nobleBackend.aead(info.name));
  }
  for (const info of HASHES) {
    assert.equal(resolveHash(nobleBackend, info.id), nobleBackend.hash(info.name));
  }
  for (const info of SIGNATURES) {
    assert.equal(resolveSignature(nobleBackend, info.id), nobleBackend.signature(info.name));
  }
});

Deno.test("resolveKeyExchange() and friends throw ERR_UNSUPPORTED_ALGORITHM", () => {
  const empty: CryptoBackend = {
    name: "empty",
    keyExchange: () => undefined,
    signature: () => undefined,
    aead: () => undefined,
    hash: () => undefined,
  };
  for (const backend of [nobleBackend, empty]) {
    assert.throws(() => resolveKeyExchange(backend, 0x0999), isUnsupported);
    assert.throws(() => resolveAead(backend, 0x0777), isUnsupported);
    assert.throws(() => resolveHash(backend, 0), isUnsupported);
    assert.throws(() => resolveSignature(backend, 0xffff), isUnsupported);
    // A name of no algorithm is the caller's mistake, not the peer's.
    assert.throws(() => resolveAead(backend, "ROT13"), TypeError);
    assert.throws(() => resolveSignature(backend, "RSA"), TypeError);
  }
  assert.equal(resolveSignature(nobleBackend, "ed25519"), nobleBackend.signature("Ed25519"));
  assert.throws(() => resolveKeyExchange(empty, "X25519"), isUnsupported);
  assert.throws(() => resolveAead(empty, 0x0001), isUnsupported);
  assert.throws(() => resolveHash(empty, "SHA-256"), isUnsupported);
  assert.throws(() => resolveSignature(empty, "Ed25519"), isUnsupported);
});

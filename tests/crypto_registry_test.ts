import assert from "node:assert/strict";
import { ErrorCode, HandshakeError } from "../src/errors.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import {
  algorithmsOf,
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

Deno.test("findAlgorithm() returns undefined for unknown ids and names", () => {
  const wrong: (number | string)[] = [
    0,
    0xffff,
    -1,
    1.5,
    "",
    "x25519",
    "ChaCha20",
    "SHA-1",
    " Ed25519",
  ];
  for (const category of CATEGORIES) {
    for (const value of wrong) {
      assert.equal(findAlgorithm(category, value), undefined, `${category} ${value}`);
    }
  }
  // An id of another category is not found in this one.
  assert.equal(findAlgorithm("aead", 0x0101), undefined);
  assert.equal(findAlgorithm("hash", "X25519"), undefined);
  assert.throws(() => findAlgorithm("cipher" as AlgorithmCategory, 1), TypeError);
  assert.throws(() => algorithmsOf("toString" as AlgorithmCategory), TypeError);
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
    assert.throws(() => resolveAead(backend, "ROT13"), isUnsupported);
    assert.throws(() => resolveHash(backend, 0), isUnsupported);
    assert.throws(() => resolveSignature(backend, "RSA"), isUnsupported);
  }
  assert.throws(() => resolveKeyExchange(empty, "X25519"), isUnsupported);
  assert.throws(() => resolveAead(empty, 0x0001), isUnsupported);
  assert.throws(() => resolveHash(empty, "SHA-256"), isUnsupported);
  assert.throws(() => resolveSignature(empty, "Ed25519"), isUnsupported);
});

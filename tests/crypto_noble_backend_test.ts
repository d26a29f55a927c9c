import assert from "node:assert/strict";
import fc from "fast-check";
import { expand as nobleExpand, extract as nobleExtract } from "@noble/hashes/hkdf.js";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { propertyConfig } from "./_property.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import { AEADS, HASHES } from "../src/crypto/types.ts";
import type { Aead, AeadName, HashFunction, HashName } from "../src/crypto/types.ts";
import { flipBit } from "./_bytes.ts";

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function aead(name: AeadName): Aead {
  const found = nobleBackend.aead(name);
  assert.ok(found, `nobleBackend lacks ${name}`);
  return found;
}

function hash(name: HashName): HashFunction {
  const found = nobleBackend.hash(name);
  assert.ok(found, `nobleBackend lacks ${name}`);
  return found;
}

const AEAD_NAMES = AEADS.map((info) => info.name);
const HASH_NAMES = HASHES.map((info) => info.name);
const encode = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

/** A seeded source whose results are typed for WebCrypto (`Uint8Array<ArrayBuffer>`). */
function seeded(label: string): (length: number) => Uint8Array<ArrayBuffer> {
  const random = seededRandom(encode(label));
  return (length) => Uint8Array.from(random(length));
}

Deno.test("nobleBackend has a name and every registered AEAD and hash", () => {
  assert.equal(nobleBackend.name, "noble");
  for (const info of AEADS) {
    const a = aead(info.name);
    assert.equal(a.id, info.id);
    assert.equal(a.keyLength, 32);
    assert.equal(a.tagLength, 16);
    assert.equal(a.nonceLength, info.name === "XChaCha20-Poly1305" ? 24 : 12);
  }
  for (const info of HASHES) {
    const h = hash(info.name);
    assert.equal(h.id, info.id);
    assert.equal(h.outputLength, info.name === "SHA-512" || info.name === "BLAKE2b" ? 64 : 32);
  }
});

Deno.test("AeadCipher.seal() and open() round-trip", async (t) => {
  for (const name of AEAD_NAMES) {
    await t.step(name, async () => {
      const a = aead(name);
      const random = seededRandom(encode(name));
      const cipher = a.createCipher(random(32));
      const nonce = random(a.nonceLength);
      for (const length of [0, 1, 63, 64, 65, 1000]) {
        const plaintext = random(length);
        const aad = random(length % 7);
        const sealed = await cipher.seal(nonce, plaintext, aad);
        assert.equal(sealed.length, length + a.tagLength);
        assert.deepEqual(await cipher.open(nonce, sealed, aad), plaintext);
      }
      cipher.dispose();
    });
  }
});

Deno.test("AeadCipher.open() returns undefined for any single-bit flip", async (t) => {
  for (const name of AEAD_NAMES) {
    await t.step(name, async () => {
      const a = aead(name);
      const random = seededRandom(encode(`${name} flips`));
      const cipher = a.createCipher(random(32));
      const nonce = random(a.nonceLength);
      const aad = random(5);
      const sealed = await cipher.seal(nonce, random(8), aad);
      for (let bit = 0; bit < sealed.length * 8; bit++) {
        assert.equal(await cipher.open(nonce, flipBit(sealed, bit), aad), undefined, `ct ${bit}`);
      }
      for (let bit = 0; bit < aad.length * 8; bit++) {
        assert.equal(await cipher.open(nonce, sealed, flipBit(aad, bit)), undefined, `aad ${bit}`);
      }
      for (let bit = 0; bit < nonce.length * 8; bit++) {
        assert.equal(
          await cipher.open(flipBit(nonce, bit), sealed, aad),
          undefined,
          `nonce ${bit}`,
        );
      }
      const other = a.createCipher(flipBit(random(32), 0));
      assert.equal(await other.open(nonce, sealed, aad), undefined);
    });
  }
});

Deno.test("AeadCipher.open() returns undefined for wrong lengths and never throws", async (t) => {
  for (const name of AEAD_NAMES) {
    await t.step(name, async () => {
      const a = aead(name);
      const cipher = a.createCipher(new Uint8Array(32).fill(1));
      const nonce = new Uint8Array(a.nonceLength);
      const sealed = await cipher.seal(nonce, encode("data"), new Uint8Array(0));
      for (const length of [0, 8, a.nonceLength - 1, a.nonceLength + 1]) {
        assert.equal(
          await cipher.open(new Uint8Array(length), sealed, new Uint8Array(0)),
          undefined,
        );
      }
      for (const length of [0, 1, a.tagLength - 1, a.tagLength]) {
        assert.equal(
          await cipher.open(nonce, sealed.subarray(0, length), new Uint8Array(0)),
          undefined,
        );
      }
      assert.equal(await cipher.open(nonce, sealed.subarray(1), new Uint8Array(0)), undefined);
    });
  }
});

Deno.test("Aead.createCipher() copies the key and dispose() forgets it", async (t) => {
  for (const name of AEAD_NAMES) {
    await t.step(name, async () => {
      const a = aead(name);
      const key = new Uint8Array(32).fill(9);
      const nonce = new Uint8Array(a.nonceLength);
      const cipher = a.createCipher(key);
      const reference = a.createCipher(new Uint8Array(32).fill(9));
      key.fill(0); // the caller wipes its copy
      const sealed = await cipher.seal(nonce, encode("x"), new Uint8Array(0));
      assert.deepEqual(await reference.open(nonce, sealed, new Uint8Array(0)), encode("x"));
      cipher.dispose();
      cipher.dispose(); // idempotent
      assert.equal(await cipher.open(nonce, sealed, new Uint8Array(0)), undefined);
      await assert.rejects(cipher.seal(nonce, encode("x"), new Uint8Array(0)), TypeError);
    });
  }
});

Deno.test("Aead rejects caller misuse with RangeError", async (t) => {
  for (const name of AEAD_NAMES) {
    await t.step(name, async () => {
      const a = aead(name);
      for (const length of [0, 16, 31, 33]) {
        assert.throws(() => a.createCipher(new Uint8Array(length)), RangeError);
      }
      const cipher = a.createCipher(new Uint8Array(32));
      await assert.rejects(
        cipher.seal(new Uint8Array(a.nonceLength + 1), encode("x"), new Uint8Array(0)),
        RangeError,
      );
    });
  }
});

Deno.test("AeadCipher AES-256-GCM matches WebCrypto", async () => {
  const random = seeded("gcm differential");
  const key = random(32);
  const nonce = random(12);
  const aad = random(13);
  const plaintext = random(100);
  const webKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
  const expected = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad },
      webKey,
      plaintext,
    ),
  );
  assert.deepEqual(
    await aead("AES-256-GCM").createCipher(key).seal(nonce, plaintext, aad),
    expected,
  );
});

Deno.test("AeadCipher ChaCha20-Poly1305 matches RFC 8439 §2.8.2", async () => {
  const key = fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const nonce = fromHex("070000004041424344454647");
  const aad = fromHex("50515253c0c1c2c3c4c5c6c7");
  const plaintext = encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const sealed = await aead("ChaCha20-Poly1305").createCipher(key).seal(nonce, plaintext, aad);
  assert.equal(toHex(sealed.subarray(0, 16)), "d31a8d34648e60db7b86afbc53ef7ec2");
  assert.equal(toHex(sealed.subarray(sealed.length - 16)), "1ae10b594f09e26a7e902ecbd0600691");
});

Deno.test('HashFunction.digest() matches known answers for "abc"', () => {
  const abc = encode("abc");
  const expected: Record<HashName, string> = {
    "SHA-256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "SHA-512":
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "SHA3-256": "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
    "BLAKE2b":
      "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
  };
  for (const name of HASH_NAMES) assert.equal(toHex(hash(name).digest(abc)), expected[name], name);
});

Deno.test("Hasher.peek() returns the digest so far without consuming", async (t) => {
  for (const name of HASH_NAMES) {
    await t.step(name, () => {
      const h = hash(name);
      const hasher = h.create();
      assert.deepEqual(hasher.peek(), h.digest(new Uint8Array(0)));
      const parts = [encode("qgate"), new Uint8Array(200).fill(3), encode("/1")];
      let all = new Uint8Array(0);
      for (const part of parts) {
        assert.equal(hasher.update(part), hasher);
        all = new Uint8Array([...all, ...part]);
        assert.deepEqual(hasher.peek(), h.digest(all));
        assert.deepEqual(hasher.peek(), h.digest(all), "peek twice gives the same digest");
      }
    });
  }
});

Deno.test("HashFunction.extract() and expand() match RFC 5869 test case 1", () => {
  const h = hash("SHA-256");
  const ikm = new Uint8Array(22).fill(0x0b);
  const salt = fromHex("000102030405060708090a0b0c");
  const info = fromHex("f0f1f2f3f4f5f6f7f8f9");
  const prk = h.extract(salt, ikm);
  assert.equal(toHex(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  assert.equal(
    toHex(h.expand(prk, info, 42)),
    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  );
  // RFC 5869: an empty salt means HashLen zero bytes.
  assert.deepEqual(h.extract(new Uint8Array(0), ikm), h.extract(new Uint8Array(32), ikm));
});

Deno.test("HashFunction.hmac() and HKDF match WebCrypto for SHA-256 and SHA-512", async () => {
  for (const [name, webName] of [["SHA-256", "SHA-256"], ["SHA-512", "SHA-512"]] as const) {
    const h = hash(name);
    const random = seeded(`hkdf ${name}`);
    const key = random(40);
    const data = random(77);
    const hmacKey = await crypto.subtle.importKey(
      "raw",
      key,
      { name: "HMAC", hash: webName },
      false,
      [
        "sign",
      ],
    );
    assert.deepEqual(
      h.hmac(key, data),
      new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, data)),
    );
    const ikm = random(33);
    const salt = random(16);
    const info = random(10);
    const hkdfKey = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    const expected = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "HKDF", hash: webName, salt, info }, hkdfKey, 8 * 100),
    );
    assert.deepEqual(h.expand(h.extract(salt, ikm), info, 100), expected, name);
  }
});

Deno.test("HashFunction.expand() rejects an out-of-range length or short prk with RangeError", () => {
  for (const name of HASH_NAMES) {
    const h = hash(name);
    const prk = new Uint8Array(h.outputLength);
    for (const length of [0, -1, 1.5, 255 * h.outputLength + 1]) {
      assert.throws(() => h.expand(prk, new Uint8Array(0), length), RangeError);
    }
    assert.equal(
      h.expand(prk, new Uint8Array(0), 255 * h.outputLength).length,
      255 * h.outputLength,
    );
    assert.throws(() => h.expand(prk.subarray(1), new Uint8Array(0), 32), RangeError);
  }
});

const NOBLE_HASHES = {
  "SHA-256": sha256,
  "SHA-512": sha512,
  "SHA3-256": sha3_256,
  "BLAKE2b": blake2b,
};

Deno.test("HashFunction.hmac(), extract(), expand() and expander() equal noble's HMAC and HKDF (property)", () => {
  for (const name of HASH_NAMES) {
    const h = hash(name);
    const reference = NOBLE_HASHES[name];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 5 * h.outputLength + 3 }), {
          minLength: 1,
          maxLength: 3,
        }),
        (key, ikm, info, lengths) => {
          assert.deepEqual(h.hmac(key, ikm), nobleHmac(reference, key, ikm));
          const prk = h.extract(key, ikm);
          assert.deepEqual(prk, nobleExtract(reference, ikm, key));
          const expander = h.expander!(prk);
          for (const length of lengths) {
            const expected = nobleExpand(reference, prk, info, length);
            assert.deepEqual(h.expand(prk, info, length), expected);
            assert.deepEqual(expander.expand(info, length), expected);
          }
          expander.dispose();
          expander.dispose(); // idempotent
          assert.throws(() => expander.expand(info, 1), TypeError);
        },
      ),
      propertyConfig(40),
    );
  }
});

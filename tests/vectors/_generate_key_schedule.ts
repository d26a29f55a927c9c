/**
 * Generates tests/vectors/key_schedule.json: known-answer vectors for the
 * PROTOCOL.md §7 (transcript and key schedule) and §6 (pre-key protection) formulas.
 *
 * This is an independent, straight-line transcription of those formulas
 * over noble's HKDF — it does NOT use src/crypto/key_schedule.ts — so the
 * vectors check the implementation against the specification, not against
 * itself. Inputs come from fixed seeds (SHA-256 of a label and a counter).
 *
 * Run: deno run --allow-write tests/vectors/_generate_key_schedule.ts
 *
 * @module
 */

import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { type CHash, concatBytes } from "@noble/hashes/utils.js";

const encoder = new TextEncoder();
const HASHES: Record<string, CHash> = {
  "SHA-256": sha256,
  "SHA-512": sha512,
  "SHA3-256": sha3_256,
  "BLAKE2b": blake2b,
};

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function u16(value: number): Uint8Array {
  return new Uint8Array([value >>> 8, value & 0xff]);
}

function u32(value: number): Uint8Array {
  return new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
}

/** Fixed-seed input bytes: SHA-256("qgate/1 vector " ‖ label ‖ u32 i), repeated as needed. */
function seeded(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i * 32 < length; i++) {
    const block = sha256(concatBytes(encoder.encode(`qgate/1 vector ${label}`), u32(i)));
    out.set(block.subarray(0, Math.min(32, length - i * 32)), i * 32);
  }
  return out;
}

const KEY_LENGTH = 32;

interface KeysHex {
  epoch: number;
  initiatorToResponder: string;
  responderToInitiator: string;
}

function trafficKeys(hash: CHash, ck: Uint8Array, epoch: number, th: Uint8Array): KeysHex {
  const key = (direction: string): string =>
    hex(
      expand(
        hash,
        ck,
        concatBytes(encoder.encode("qgate/1 traffic "), encoder.encode(direction), u32(epoch), th),
        KEY_LENGTH,
      ),
    );
  return { epoch, initiatorToResponder: key("i2r"), responderToInitiator: key("r2i") };
}

/** A BeginKeyUpdate / EndKeyUpdate body: u32 epoch ‖ u16 len ‖ classical ‖ u16 len ‖ post-quantum. */
function keyUpdateBody(epoch: number, classical: Uint8Array, postQuantum: Uint8Array): Uint8Array {
  return concatBytes(
    u32(epoch),
    u16(classical.length),
    classical,
    u16(postQuantum.length),
    postQuantum,
  );
}

const cases = [];
for (const [hashName, hash] of Object.entries(HASHES)) {
  for (const withGss of [false, true]) {
    const tag = `${hashName} ${withGss ? "gss" : "no-gss"}`;
    const gss = withGss ? seeded(`${tag} gss`, 32) : new Uint8Array(0);
    const primarySecret = seeded(`${tag} primary`, 32);
    const secondarySecret = seeded(`${tag} secondary`, 32);
    const th1 = seeded(`${tag} th1`, hash.outputLen);
    const th2 = seeded(`${tag} th2`, hash.outputLen);

    const ck0 = extract(hash, gss, encoder.encode("qgate/1 chaining key"));
    const ck1 = extract(hash, primarySecret, ck0);
    const ck2 = extract(hash, secondarySecret, ck1);
    const exporterSecret = expand(
      hash,
      ck2,
      concatBytes(encoder.encode("qgate/1 exporter"), th2),
      hash.outputLen,
    );
    const exporterLabel = "EXPORTER-qgate-test";
    const exporterContext = seeded(`${tag} exporter context`, 20);
    const labelBytes = encoder.encode(exporterLabel);
    const exported = expand(
      hash,
      exporterSecret,
      concatBytes(
        encoder.encode("qgate/1 export "),
        u16(labelBytes.length),
        labelBytes,
        u32(exporterContext.length),
        exporterContext,
      ),
      48,
    );

    const updates = [];
    let ck = ck2;
    for (const epoch of [3, 4]) {
      const classicalSecret = seeded(`${tag} update ${epoch} classical`, 32);
      const postQuantumSecret = seeded(`${tag} update ${epoch} post-quantum`, 32);
      const beginBody = keyUpdateBody(
        epoch,
        seeded(`${tag} update ${epoch} classical offer`, 32),
        seeded(`${tag} update ${epoch} pq offer`, 64),
      );
      const endBody = keyUpdateBody(
        epoch,
        seeded(`${tag} update ${epoch} classical answer`, 32),
        seeded(`${tag} update ${epoch} pq answer`, 48),
      );
      const th = hash.create().update(encoder.encode("qgate/1 key update")).update(u32(epoch))
        .update(beginBody).update(endBody).digest();
      ck = extract(hash, concatBytes(classicalSecret, postQuantumSecret), ck);
      updates.push({
        epoch,
        classicalSecret: hex(classicalSecret),
        postQuantumSecret: hex(postQuantumSecret),
        beginBody: hex(beginBody),
        endBody: hex(endBody),
        transcriptHash: hex(th),
        chainingKey: hex(ck),
        keys: trafficKeys(hash, ck, epoch, th),
      });
    }

    cases.push({
      hash: hashName,
      globalSharedSecret: withGss ? hex(gss) : null,
      keyLength: KEY_LENGTH,
      primarySecret: hex(primarySecret),
      secondarySecret: hex(secondarySecret),
      th1: hex(th1),
      th2: hex(th2),
      ck0: hex(ck0),
      ck1: hex(ck1),
      ck2: hex(ck2),
      epoch1: trafficKeys(hash, ck1, 1, th1),
      epoch2: trafficKeys(hash, ck2, 2, th2),
      exporterSecret: hex(exporterSecret),
      exporter: {
        label: exporterLabel,
        context: hex(exporterContext),
        length: 48,
        output: hex(exported),
      },
      updates,
    });
  }
}

const preKeys = [];
for (const withGss of [false, true]) {
  const salt = seeded(`pre-key salt ${withGss}`, 16);
  const gss = withGss ? seeded("pre-key gss", 32) : new Uint8Array(0);
  const preKey = expand(
    sha256,
    extract(sha256, concatBytes(encoder.encode("qgate/1 gss"), gss), salt),
    encoder.encode("qgate/1 pre-key"),
    32,
  );
  // PROTOCOL.md §6: the GSS is mixed into the header key; the opening header
  // key (record 0 of a stream direction) never depends on it.
  const headerKey = expand(
    sha256,
    extract(sha256, concatBytes(encoder.encode("qgate/1 header"), gss), salt),
    encoder.encode("qgate/1 header key"),
    32,
  );
  const openingHeaderKey = expand(
    sha256,
    extract(sha256, encoder.encode("qgate/1 header"), salt),
    encoder.encode("qgate/1 header key"),
    32,
  );
  preKeys.push({
    salt: hex(salt),
    globalSharedSecret: withGss ? hex(gss) : null,
    preKey: hex(preKey),
    headerKey: hex(headerKey),
    openingHeaderKey: hex(openingHeaderKey),
  });
}

const vectors = {
  description:
    "Known-answer vectors for the qgate/1 key schedule, exporter, key-update transcript " +
    "and pre-key protection (PROTOCOL.md §7 transcript and key schedule, §6 pre-key protection).",
  source: "Generated by tests/vectors/_generate_key_schedule.ts from fixed seeds with an " +
    "independent transcription of the PROTOCOL.md formulas over @noble/hashes HKDF.",
  cases,
  preKeys,
};

await Deno.writeTextFile(
  new URL("./key_schedule.json", import.meta.url),
  JSON.stringify(vectors, null, 2) + "\n",
);
console.log(`wrote ${cases.length} key schedule cases and ${preKeys.length} pre-key cases`);

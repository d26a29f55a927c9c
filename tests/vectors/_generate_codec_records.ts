/**
 * Generates tests/vectors/codec_records.json: known-answer vectors for sealed
 * stream records and datagrams, from fixed seeds: the salt comes from
 * `seededRandom(seed)`, later-epoch keys are fixed bytes.
 *
 * Run: `deno run --allow-write=tests/vectors tests/vectors/_generate_codec_records.ts`
 *
 * @module
 */

import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { CipherState } from "../../src/crypto/cipher_state.ts";
import { nobleBackend } from "../../src/crypto/noble_backend.ts";
import { seededRandom } from "../../src/crypto/random.ts";
import type { AeadName } from "../../src/crypto/types.ts";
import { encodeMessage, messageTypeOf } from "../../src/codec/messages.ts";
import { RecordSealer } from "../../src/codec/stream_records.ts";
import { DatagramSealer } from "../../src/codec/datagram_records.ts";
import type { Message } from "../../src/codec/message_types.ts";
import { writeVectors } from "./_generate_codec_shared.ts";

interface NextCipher {
  aead: AeadName;
  key: string;
  epoch: number;
}

interface RecordSpec {
  type: number;
  body: string;
  paddingLength: number;
  nextCipher?: NextCipher;
}

function message(message: Message, paddingLength = 0, nextCipher?: NextCipher): RecordSpec {
  return {
    type: messageTypeOf(message.kind),
    body: bytesToHex(encodeMessage(message)),
    paddingLength,
    ...(nextCipher === undefined ? {} : { nextCipher }),
  };
}

function cipherOf(next: NextCipher): CipherState {
  return new CipherState(nobleBackend.aead(next.aead)!, hexToBytes(next.key), next.epoch);
}

const uuid = (byte: number): Uint8Array => new Uint8Array(16).fill(byte);
const bytes = (length: number, byte: number): Uint8Array => new Uint8Array(length).fill(byte);

const STREAM_CASES: {
  name: string;
  seed: string;
  globalSharedSecret?: string;
  maxRecordLength?: number;
  records: RecordSpec[];
}[] = [
  {
    name: "epoch 0 without GSS: noise, meta exchange, close",
    seed: "00",
    records: [
      message({ kind: "noise", data: bytes(20, 0xa5) }),
      message({
        kind: "beginMetaExchange",
        version: { major: 1, minor: 0 },
        sessionId: bytes(8, 1),
        requireAuthentication: true,
        primaryKeyExchanges: [1, 3],
        secondaryKeyExchanges: [0x102],
        aeads: [1, 3],
        hashes: [1],
        signatures: [1, 0x201],
      }, 7),
      message({ kind: "close", reason: 0 }, 40),
    ],
  },
  {
    name: "epoch 0 with GSS",
    seed: "01",
    globalSharedSecret: bytesToHex(new TextEncoder().encode("qgate vector gss")),
    records: [
      message({ kind: "beginPrimaryKeyExchange", share: bytes(32, 9) }, 3),
      message({ kind: "endPrimaryKeyExchange", share: bytes(32, 10) }),
    ],
  },
  {
    name: "epochs 0 → 1 (XChaCha20-Poly1305) → 2 (AES-256-GCM)",
    seed: "02",
    records: [
      message({ kind: "endPrimaryKeyExchange", share: bytes(32, 7) }, 0, {
        aead: "XChaCha20-Poly1305",
        key: "11".repeat(32),
        epoch: 1,
      }),
      message({ kind: "beginSecondaryKeyExchange", share: bytes(64, 8) }, 5),
      message({ kind: "endSecondaryKeyExchange", share: bytes(48, 9) }, 0, {
        aead: "AES-256-GCM",
        key: "22".repeat(32),
        epoch: 2,
      }),
      message({ kind: "beginSessionInit", extenders: [uuid(1), uuid(2)] }, 2),
      message({ kind: "extenderData", extender: uuid(2), data: new TextEncoder().encode("hello") }),
      message({ kind: "keyUpdateReady", epoch: 3 }, 11),
    ],
  },
  {
    name: "small maxRecordLength, a record of exactly that size",
    seed: "03",
    maxRecordLength: 64,
    records: [message({ kind: "noise", data: bytes(43, 0x5a) })],
  },
];

const stream = [];
for (const spec of STREAM_CASES) {
  const sealer = new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(hexToBytes(spec.seed)),
    ...(spec.globalSharedSecret === undefined
      ? {}
      : { globalSharedSecret: hexToBytes(spec.globalSharedSecret) }),
    ...(spec.maxRecordLength === undefined ? {} : { maxRecordLength: spec.maxRecordLength }),
  });
  const parts = [bytesToHex(sealer.preamble())];
  for (const record of spec.records) {
    parts.push(
      bytesToHex(await sealer.seal(record.type, hexToBytes(record.body), record.paddingLength)),
    );
    if (record.nextCipher !== undefined) sealer.setCipher(cipherOf(record.nextCipher));
  }
  stream.push({ ...spec, wire: parts.join("") });
}

const DATAGRAM_CASES: {
  name: string;
  seed: string;
  globalSharedSecret?: string;
  records: RecordSpec[];
}[] = [
  {
    name: "epoch 0 then epoch 1 (ChaCha20-Poly1305), no GSS",
    seed: "10",
    records: [
      message({ kind: "noise", data: bytes(16, 0x3c) }),
      message({ kind: "beginPrimaryKeyExchange", share: bytes(32, 4) }, 6, {
        aead: "ChaCha20-Poly1305",
        key: "33".repeat(32),
        epoch: 1,
      }),
      message({ kind: "extenderData", extender: uuid(7), data: bytes(10, 1) }),
      message({ kind: "close", reason: 1 }, 20),
    ],
  },
  {
    name: "epoch 0 with GSS, then epoch 7 (AES-256-GCM)",
    seed: "11",
    globalSharedSecret: "00".repeat(32),
    records: [
      message(
        {
          kind: "endMetaExchange",
          version: { major: 1, minor: 0 },
          sessionId: bytes(8, 2),
          requireAuthentication: false,
          primaryKeyExchange: 1,
          secondaryKeyExchange: 0x102,
          aead: 3,
          hash: 1,
          signatures: [1],
        },
        0,
        {
          aead: "AES-256-GCM",
          key: "44".repeat(32),
          epoch: 7,
        },
      ),
      message({ kind: "keyUpdateReady", epoch: 8 }),
    ],
  },
];

const datagram = [];
for (const spec of DATAGRAM_CASES) {
  const sealer = new DatagramSealer({
    backend: nobleBackend,
    random: seededRandom(hexToBytes(spec.seed)),
    ...(spec.globalSharedSecret === undefined
      ? {}
      : { globalSharedSecret: hexToBytes(spec.globalSharedSecret) }),
  });
  const datagrams = [];
  for (const record of spec.records) {
    datagrams.push(
      bytesToHex(await sealer.seal(record.type, hexToBytes(record.body), record.paddingLength)),
    );
    if (record.nextCipher !== undefined) sealer.setCipher(cipherOf(record.nextCipher));
  }
  datagram.push({ ...spec, datagrams });
}

await writeVectors("codec_records.json", {
  source:
    "tests/vectors/_generate_codec_records.ts: salts from seededRandom(seed) (src/crypto/random.ts), fixed epoch keys, sealed by src/codec/stream_records.ts and src/codec/datagram_records.ts, checked independently against noble in tests/codec_stream_records_test.ts and tests/codec_datagram_records_test.ts",
  stream,
  datagram,
});

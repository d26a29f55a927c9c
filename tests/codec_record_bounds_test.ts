/**
 * Stream record bounds pinned to the wire format's values (PROTOCOL.md), not
 * to the module's own constants: the smallest record length a decoder lets
 * through, and records longer than 65,535 bytes, whose 3-byte length header
 * uses its top byte.
 */

import assert from "node:assert/strict";
import { chacha20 } from "@noble/ciphers/chacha.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { ErrorCode, QGateError } from "../src/errors.ts";
import { derivePreKeys } from "../src/crypto/key_schedule.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import { FrameDecoder, RecordOpener, RecordSealer } from "../src/codec/stream_records.ts";

function maskedHeader(salt: Uint8Array, length: number): Uint8Array {
  const { headerKey } = derivePreKeys(salt);
  const mask = chacha20(headerKey, new Uint8Array(12), new Uint8Array(3));
  return new Uint8Array([length >> 16, (length >> 8) & 0xff, length & 0xff])
    .map((byte, i) => byte ^ mask[i]!);
}

Deno.test("FrameDecoder lets a 17-byte record length through and rejects 16", () => {
  const salt = new Uint8Array(16).fill(3);
  const short = new FrameDecoder();
  short.push(salt);
  assert.throws(
    () => short.push(maskedHeader(salt, 16)),
    (error: unknown) => error instanceof QGateError && error.code === ErrorCode.MALFORMED_MESSAGE,
  );
  const smallest = new FrameDecoder();
  smallest.push(salt);
  assert.deepEqual(smallest.push(maskedHeader(salt, 17)), []);
  assert.equal(smallest.push(new Uint8Array(17)).length, 1);
});

Deno.test("RecordSealer seals a record above 65,535 bytes that RecordOpener opens", async () => {
  const maxRecordLength = 2 ** 17;
  const sealer = new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([0x52, 1])),
    maxRecordLength,
  });
  const body = new Uint8Array(70_000).map((_, i) => i & 0xff);
  const wire = concatBytes(sealer.preamble(), await sealer.seal(1, body));
  assert.ok(wire.length > 16 + 3 + 65_536);
  const decoder = new FrameDecoder({ maxRecordLength });
  const opener = new RecordOpener({ decoder, backend: nobleBackend });
  const records = decoder.push(wire);
  assert.equal(records.length, 1);
  const opened = await opener.open(records[0]!);
  assert.equal(opened.type, 1);
  assert.deepEqual(opened.body, body);
});

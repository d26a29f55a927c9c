/**
 * Record framing with a GSS (PROTOCOL.md §6): the GSS is mixed into the
 * header-mask key, so without it record boundaries cannot be found past a
 * stream direction's first record, whose length is masked with the GSS-free
 * opening key; a peer with a wrong GSS therefore still fails deterministically
 * with ERR_DECRYPT_FAILED on that first record.
 */

import assert from "node:assert/strict";
import { ErrorCode } from "../src/errors.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import { FrameDecoder, RecordOpener, RecordSealer } from "../src/codec/stream_records.ts";

const GSS = new Uint8Array(32).fill(0x11);
const OTHER_GSS = new Uint8Array(32).fill(0x22);

async function stream(): Promise<Uint8Array> {
  const sealer = new RecordSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([7])),
    globalSharedSecret: GSS,
  });
  const parts = [sealer.preamble()];
  for (let i = 0; i < 4; i++) parts.push(await sealer.seal(0x10, new Uint8Array(40 + i), 0));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The ciphertext lengths a decoder cuts, or the code it throws. */
function cut(bytes: Uint8Array, globalSharedSecret?: Uint8Array): number[] | string {
  const decoder = new FrameDecoder(globalSharedSecret === undefined ? {} : { globalSharedSecret });
  try {
    return decoder.push(bytes).map((record) => record.ciphertext.length);
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

Deno.test("FrameDecoder needs the GSS to find record boundaries past the first record", async () => {
  const bytes = await stream();
  const withGss = cut(bytes, GSS);
  assert.deepEqual(withGss, [61, 62, 63, 64]);
  const without = cut(bytes);
  assert.notDeepEqual(without, withGss);
  // The first record is always found: its length is masked with the GSS-free key.
  const first = cut(bytes.subarray(0, 16 + 3 + 61));
  assert.deepEqual(first, [61]);
});

Deno.test("RecordOpener with another GSS fails the first record with ERR_DECRYPT_FAILED", async () => {
  const bytes = await stream();
  const decoder = new FrameDecoder({ globalSharedSecret: OTHER_GSS });
  const opener = new RecordOpener({ decoder, backend: nobleBackend });
  const [first] = decoder.push(bytes.subarray(0, 16 + 3 + 61));
  assert.ok(first !== undefined);
  await assert.rejects(opener.open(first), { code: ErrorCode.DECRYPT_FAILED });
});

import assert from "node:assert/strict";
import fc from "fast-check";
import { Transcript, TRANSCRIPT_LABEL } from "../src/crypto/transcript.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { HASHES } from "../src/crypto/types.ts";
import type { HashFunction } from "../src/crypto/types.ts";
import { propertyConfig } from "./_property.ts";

const SHA256 = nobleBackend.hash("SHA-256")!;

/** The PROTOCOL.md §7.1 formula, written out directly: H(label ‖ Σ (u8 type ‖ u32 length ‖ body)). */
function reference(hash: HashFunction, messages: [number, Uint8Array][]): Uint8Array {
  const parts: number[] = [...new TextEncoder().encode(TRANSCRIPT_LABEL)];
  for (const [type, body] of messages) {
    const length = body.length;
    parts.push(
      type,
      length >>> 24,
      (length >>> 16) & 0xff,
      (length >>> 8) & 0xff,
      length & 0xff,
      ...body,
    );
  }
  return hash.digest(new Uint8Array(parts));
}

const message = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }));

Deno.test("Transcript.digest() follows the PROTOCOL.md §7.1 formula for every hash", () => {
  const messages: [number, Uint8Array][] = [[0x10, new Uint8Array([1, 2, 3])], [
    0x11,
    new Uint8Array(0),
  ], [
    0x20,
    new Uint8Array(70_000).fill(9),
  ]];
  for (const info of HASHES) {
    const hash = nobleBackend.hash(info.name)!;
    const transcript = new Transcript();
    transcript.setHash(hash);
    for (const [type, body] of messages) transcript.append(type, body);
    assert.deepEqual(transcript.digest(), reference(hash, messages), info.name);
    assert.equal(transcript.length, 3);
  }
  const empty = new Transcript();
  empty.setHash(SHA256);
  assert.deepEqual(empty.digest(), SHA256.digest(new TextEncoder().encode("qgate/1 transcript")));
});

Deno.test("Transcript buffering before setHash() equals hashing after (property)", () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 8 }), fc.nat({ max: 8 }), (messages, split) => {
      const at = Math.min(split, messages.length);
      const buffered = new Transcript();
      for (const [type, body] of messages.slice(0, at)) buffered.append(type, body);
      assert.equal(buffered.hasHash, false);
      buffered.setHash(SHA256);
      assert.equal(buffered.hasHash, true);
      assert.equal(buffered.hash, SHA256);
      for (const [type, body] of messages.slice(at)) buffered.append(type, body);
      assert.deepEqual(buffered.digest(), reference(SHA256, messages));
    }),
    propertyConfig(100),
  );
});

Deno.test("Transcript order and framing matter", () => {
  const digest = (messages: [number, Uint8Array][]): Uint8Array => {
    const transcript = new Transcript();
    transcript.setHash(SHA256);
    for (const [type, body] of messages) transcript.append(type, body);
    return transcript.digest();
  };
  const a: [number, Uint8Array] = [0x10, new Uint8Array([1])];
  const b: [number, Uint8Array] = [0x11, new Uint8Array([2])];
  assert.notDeepEqual(digest([a, b]), digest([b, a]));
  // Same concatenated bodies, different boundaries.
  assert.notDeepEqual(
    digest([[0x10, new Uint8Array([1, 2])], [0x10, new Uint8Array(0)]]),
    digest([[0x10, new Uint8Array([1])], [0x10, new Uint8Array([2])]]),
  );
  assert.notDeepEqual(digest([[0x10, new Uint8Array([1])]]), digest([[0x11, new Uint8Array([1])]]));
});

Deno.test("Transcript copies buffered bodies and keeps digest() non-consuming", () => {
  const body = new Uint8Array([1, 2, 3]);
  const transcript = new Transcript();
  transcript.append(0x10, body);
  body.fill(0);
  transcript.setHash(SHA256);
  assert.deepEqual(transcript.digest(), reference(SHA256, [[0x10, new Uint8Array([1, 2, 3])]]));
  assert.deepEqual(transcript.digest(), transcript.digest());
  transcript.append(0x11, new Uint8Array([4]));
  assert.deepEqual(
    transcript.digest(),
    reference(SHA256, [[0x10, new Uint8Array([1, 2, 3])], [0x11, new Uint8Array([4])]]),
  );
});

Deno.test("Transcript rejects misuse", () => {
  const transcript = new Transcript();
  assert.throws(() => transcript.digest(), TypeError);
  for (const type of [-1, 256, 1.5, Number.NaN]) {
    assert.throws(() => transcript.append(type, new Uint8Array(0)), RangeError);
  }
  // deno-lint-ignore no-explicit-any
  assert.throws(() => transcript.append(1, [1, 2] as any), TypeError);
  assert.equal(transcript.length, 0);
  transcript.setHash(SHA256);
  assert.throws(() => transcript.setHash(SHA256), TypeError);
});

/**
 * Generates tests/vectors/codec_messages.json: known-answer vectors for every
 * message body, sampled from tests/_arbitraries.ts with fixed fast-check seeds.
 *
 * Run: `deno run --allow-write=tests/vectors tests/vectors/_generate_codec_messages.ts`
 *
 * @module
 */

import fc from "fast-check";
import { bytesToHex } from "@noble/hashes/utils.js";
import { encodeMessage, messageTypeOf } from "../../src/codec/messages.ts";
import { MESSAGE_KINDS, messageArbitraryOf } from "../_arbitraries.ts";
import { toJson, writeVectors } from "./_generate_codec_shared.ts";

const SAMPLES_PER_KIND = 4;

const vectors = MESSAGE_KINDS.flatMap((kind, index) =>
  fc.sample(messageArbitraryOf(kind), { seed: 0x636f_6400 + index, numRuns: SAMPLES_PER_KIND })
    .map((message) => ({
      kind,
      type: messageTypeOf(kind),
      message: toJson(message),
      body: bytesToHex(encodeMessage(message)),
    }))
);

await writeVectors("codec_messages.json", {
  source:
    "tests/vectors/_generate_codec_messages.ts: fast-check 4.11.0 samples of tests/_arbitraries.ts, seeds 0x636f6400 + kind index, encoded by src/codec/messages.ts",
  vectors,
});

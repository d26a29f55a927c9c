/**
 * The record layer on stream transports (PROTOCOL.md §5.1 stream records,
 * §5.3 record plaintext, §6 pre-key protection).
 *
 * Each direction starts with the sender's 16-byte random salt, then records:
 *
 * ```
 * record       = maskedLength (3) ‖ ciphertext (length bytes, tag included)
 * length       = u24, 17 ≤ length ≤ maxRecordLength (default 65,536)
 * block        = ChaCha20(index 0 ? openingHeaderKey : headerKey, nonce = u32 0 ‖ u64 ⌊recordIndex / 16⌋)[0..64]
 * mask         = block[4·(recordIndex mod 16) .. + 3]
 * maskedLength = length XOR mask
 * ```
 *
 * The clear 3-byte length is the AEAD's associated data. Epoch 0 seals with
 * ChaCha20-Poly1305 under `preKey`; `preKey` and both header keys come from
 * the sender's salt and the optional Global Shared Secret (the opening header
 * key, for record 0 only, never depends on the GSS: PROTOCOL.md §6). Later epochs use the
 * cipher states the session derives and hands over with `setCipher()`.
 *
 * The sending side is {@linkcode RecordSealer} (`stream_sealer.ts`). The
 * receiving side (`stream_opener.ts`) is split in two on purpose: {@linkcode FrameDecoder} only cuts the byte stream into
 * records (any chunking, bounded memory), and {@linkcode RecordOpener}
 * decrypts them one at a time, so that the session can switch receive keys
 * between two records. {@linkcode FrameEncoderStream} and
 * {@linkcode FrameDecoderStream} wrap the sealer and the decoder as Web
 * Streams.
 *
 * @module
 */

export {
  DEFAULT_MAX_RECORD_LENGTH,
  MAX_RECORD_LENGTH,
  MIN_RECORD_LENGTH,
  PRE_KEY_AEAD,
  RECORD_HEADER_LENGTH,
} from "./_stream_common.ts";
export type { SealedRecord } from "./_stream_common.ts";
export { FrameEncoderStream, RecordSealer } from "./stream_sealer.ts";
export type { RecordInput, RecordSealerOptions } from "./stream_sealer.ts";
export { FrameDecoder, FrameDecoderStream, RecordOpener } from "./stream_opener.ts";
export type {
  FrameDecoderOptions,
  OpenedStreamRecord,
  RecordOpenerOptions,
} from "./stream_opener.ts";

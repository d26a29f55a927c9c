/**
 * Hex helpers for public identifiers (session ids, extender UUIDs) kept in
 * JSON-serialisable machine context. Never used for secrets.
 *
 * @module
 */

/**
 * Encodes bytes as lowercase hex.
 *
 * @param bytes The bytes.
 * @returns Lowercase hex, two characters per byte.
 */
export function bytesToHex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/**
 * Decodes hex into bytes.
 *
 * @param text Hex with an even number of digits.
 * @returns The bytes.
 * @throws {TypeError} If `text` is not hex of even length.
 */
export function hexToBytes(text: string): Uint8Array<ArrayBuffer> {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new TypeError(`Cannot decode hex: expected an even number of hex digits`);
  }
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

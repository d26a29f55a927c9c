/**
 * JSON form of messages for the codec known-answer vectors: every
 * `Uint8Array` becomes `{ "hex": "…" }`, everything else stays as is.
 * Shared by the vector generators and the tests that read the vectors.
 *
 * @module
 */

import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import type { Message } from "../../src/codec/message_types.ts";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Converts a message (or any plain value with byte fields) to JSON. */
export function toJson(value: unknown): Json {
  if (value instanceof Uint8Array) return { hex: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, toJson(field)]));
  }
  return value as Json;
}

/** Converts JSON back to a value with `Uint8Array` byte fields. */
export function fromJson(json: Json): unknown {
  if (Array.isArray(json)) return json.map(fromJson);
  if (typeof json === "object" && json !== null) {
    const keys = Object.keys(json);
    if (keys.length === 1 && keys[0] === "hex" && typeof json.hex === "string") {
      return hexToBytes(json.hex);
    }
    return Object.fromEntries(Object.entries(json).map(([key, field]) => [key, fromJson(field)]));
  }
  return json;
}

/** Converts JSON to a message. */
export function messageFromJson(json: Json): Message {
  return fromJson(json) as Message;
}

/** Writes `data` as pretty JSON next to this file. */
export async function writeVectors(name: string, data: unknown): Promise<void> {
  const url = new URL(name, import.meta.url);
  await Deno.writeTextFile(url, JSON.stringify(data, null, 2) + "\n");
  console.log(`wrote ${url.pathname}`);
}

/**
 * A self-signed TLS certificate for the benchmark's Deno TLS 1.3 baseline,
 * made in process: an ECDSA P-256 key from WebCrypto and a tiny DER encoder
 * for the X.509 structure (an encoding, not a primitive). The certificate is
 * an end-entity certificate (`CA:FALSE`) for IP address 127.0.0.1 only.
 */

import { concatBytes } from "@noble/hashes/utils.js";

/** A PEM certificate and its PKCS #8 private key. */
export interface SelfSignedCertificate {
  /** The certificate, PEM. Pass it as `caCerts` to trust it. */
  readonly cert: string;
  /** The private key, PKCS #8 PEM. */
  readonly key: string;
}

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = concatBytes(...content);
  return concatBytes(new Uint8Array([tag, ...length(body.length)]), body);
}

function sequence(...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlv(0x30, ...items);
}

function set(...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlv(0x31, ...items);
}

function octets(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(0x04, bytes);
}

function bits(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(0x03, new Uint8Array([0]), bytes);
}

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return tlv(0x0c, new TextEncoder().encode(text));
}

const TRUE = new Uint8Array([0x01, 0x01, 0xff]);

/** A non-negative INTEGER from big-endian magnitude bytes. */
function integer(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(0x02, trimmed[0]! & 0x80 ? new Uint8Array([0, ...trimmed]) : trimmed);
}

function oid(dotted: string): Uint8Array<ArrayBuffer> {
  const [first, second, ...rest] = dotted.split(".").map(Number);
  const out = [first! * 40 + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) chunk.unshift(0x80 | (value & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(out));
}

function utcTime(date: Date): Uint8Array<ArrayBuffer> {
  const two = (n: number): string => String(n).padStart(2, "0");
  const text = `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${
    two(date.getUTCDate())
  }${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return tlv(0x17, new TextEncoder().encode(text));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array<ArrayBuffer> {
  return critical ? sequence(oid(id), TRUE, octets(value)) : sequence(oid(id), octets(value));
}

function pem(label: string, der: Uint8Array): string {
  const base64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN ${label}-----\n${
    base64.match(/.{1,64}/g)!.join("\n")
  }\n-----END ${label}-----\n`;
}

/**
 * Creates a fresh self-signed end-entity certificate for 127.0.0.1.
 *
 * @returns The certificate and key as PEM.
 */
export async function selfSignedCertificate(): Promise<SelfSignedCertificate> {
  const { privateKey, publicKey } = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey));
  const ecdsaWithSha256 = sequence(oid("1.2.840.10045.4.3.2"));
  const name = sequence(set(sequence(oid("2.5.4.3"), utf8("qgate bench"))));
  const now = Date.now();
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0]! &= 0x7f;
  const tbs = sequence(
    tlv(0xa0, integer(new Uint8Array([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    spki,
    tlv(
      0xa3,
      sequence(
        extension("2.5.29.19", true, sequence()), // basicConstraints: CA:FALSE
        extension("2.5.29.15", true, tlv(0x03, new Uint8Array([0x07, 0x80]))), // digitalSignature
        extension("2.5.29.37", false, sequence(oid("1.3.6.1.5.5.7.3.1"))), // serverAuth
        extension("2.5.29.17", false, sequence(tlv(0x87, new Uint8Array([127, 0, 0, 1])))),
      ),
    ),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, tbs),
  );
  const signature = sequence(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
  const certificate = sequence(tbs, ecdsaWithSha256, bits(signature));
  return { cert: pem("CERTIFICATE", certificate), key: pem("PRIVATE KEY", pkcs8) };
}

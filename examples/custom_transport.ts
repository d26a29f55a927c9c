/**
 * Plugging in your own transport: a qgate session runs over anything that
 * has a `readable` and a `writable` byte stream.
 *
 * This example builds a pipe from two `TransformStream`s and makes it as
 * unfriendly as a real network can be: every byte is delivered on its own,
 * one chunk per byte, and everything is counted on the way. The record
 * decoder does not care how bytes are chunked, so the handshake still
 * completes. Swap the TransformStreams for a serial port, a QUIC stream, a
 * WebRTC data channel or a worker's MessagePort: the session code stays the
 * same.
 *
 * Run:
 *
 * ```sh
 * deno run examples/custom_transport.ts
 * ```
 *
 * Prints how many bytes and chunks crossed the pipe in each direction, the
 * negotiated algorithms, and the echo of a message:
 *
 * ```text
 * handshake over a one-byte-at-a-time pipe: ready
 * algorithms: X25519 + ML-KEM-768, ChaCha20-Poly1305, SHA-256
 * initiator → responder: 1290 bytes in 1290 chunks
 * responder → initiator: 1590 bytes in 1590 chunks
 * echo: one byte at a time
 * closed: orderly
 * ```
 *
 * @module
 */

import { initiate, respond, type Transport } from "@qgate/handshake";

/** Counts what passes through, and splits every chunk into one-byte chunks. */
class ByteByByteStream extends TransformStream<Uint8Array, Uint8Array> {
  bytes = 0;
  chunks = 0;

  constructor() {
    super({
      transform: (chunk, controller): void => {
        for (const byte of chunk) {
          controller.enqueue(new Uint8Array([byte]));
          this.bytes++;
          this.chunks++;
        }
      },
    });
  }
}

/** Two transports joined back to back through the byte-by-byte streams. */
function createTrickle(): { ends: [Transport, Transport]; stats: ByteByByteStream[] } {
  const forward = new ByteByByteStream(); // initiator → responder
  const backward = new ByteByByteStream(); // responder → initiator
  return {
    ends: [
      { readable: backward.readable, writable: forward.writable },
      { readable: forward.readable, writable: backward.writable },
    ],
    stats: [forward, backward],
  };
}

const ECHO = "c0ffee00-0000-4000-8000-000000000001";
const { ends: [a, b], stats: [forward, backward] } = createTrickle();
const options = { requireAuthentication: false, extenders: [ECHO] };
const client = initiate(a, options);
const server = respond(b, options);
server.on("message", ({ extender, data }) => void server.send(extender, data).catch(() => {}));
const echoed = new Promise<string>((resolve) => {
  let text = "";
  client.on("message", ({ data }) => {
    text += new TextDecoder().decode(data);
    if (text.length >= "one byte at a time".length) resolve(text);
  });
});

const details = await client.ready;
await server.ready;
console.log("handshake over a one-byte-at-a-time pipe: ready");
const { primaryKeyExchange, secondaryKeyExchange, aead, hash } = details.algorithms;
console.log(`algorithms: ${primaryKeyExchange} + ${secondaryKeyExchange}, ${aead}, ${hash}`);
console.log(`initiator → responder: ${forward!.bytes} bytes in ${forward!.chunks} chunks`);
console.log(`responder → initiator: ${backward!.bytes} bytes in ${backward!.chunks} chunks`);

await client.send(ECHO, new TextEncoder().encode("one byte at a time"));
console.log(`echo: ${await echoed}`);
await client.close();
const { code } = await server.closed;
console.log(`closed: ${code ?? "orderly"}`);

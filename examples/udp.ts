/**
 * qgate over UDP: a handshake in datagram mode, then data and a key update.
 *
 * A responder listens on a UDP port of 127.0.0.1 and echoes what it gets;
 * an initiator dials it with `connectUdp`. Over UDP the statecharts
 * retransmit lost flights with backoff, every record carries its epoch and
 * sequence number, and a replay window rejects copies. To show that loss is
 * tolerated, the same handshake then runs again over an in-memory datagram
 * pair that drops, duplicates and reorders a fifth of all datagrams.
 *
 * Run:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --unstable-net examples/udp.ts
 * ```
 *
 * Prints:
 *
 * ```text
 * udp: listening on 127.0.0.1:40321
 * udp: ready in 31 ms, ML-KEM-768 over X25519, authenticated: false
 * udp: echo "ping over udp"
 * udp: keys updated: epoch 3
 * lossy: ready in 734 ms despite 20% loss, duplication and reordering
 * lossy: 12 datagrams dropped (replays and copies)
 * closed cleanly
 * ```
 *
 * @module
 */

import {
  connectUdp,
  createDatagramPair,
  initiate,
  listenUdp,
  respond,
  seededRandom,
} from "@qgate/handshake";

const ECHO = "0f8e2d6c-5b4a-4c39-8e27-1d6f0a9b3c45";
// Authentication is off to keep the example short; see mutual_authentication.ts.
const options = { requireAuthentication: false, extenders: [ECHO] };

const listener = listenUdp({}, options, (session) => {
  session.on("message", ({ extender, data }) => void session.send(extender, data).catch(() => {}));
});
console.log(`udp: listening on ${listener.addr.hostname}:${listener.addr.port}`);

const started = performance.now();
const client = await connectUdp({ port: listener.addr.port }, options);
const details = await client.ready;
console.log(
  `udp: ready in ${Math.round(performance.now() - started)} ms, ` +
    `${details.algorithms.secondaryKeyExchange} over ${details.algorithms.primaryKeyExchange}, ` +
    `authenticated: ${details.authenticated}`,
);
const echoed = new Promise<string>((resolve) =>
  client.on("message", ({ data }) => resolve(new TextDecoder().decode(data)))
);
await client.send(ECHO, new TextEncoder().encode("ping over udp"));
console.log(`udp: echo "${await echoed}"`);
console.log(`udp: keys updated: epoch ${await client.updateKeys()}`);
await client.close();
await listener.close();

// The same over a lossy in-memory datagram pair (seeded, so every run is the same).
const [a, b] = createDatagramPair({
  loss: 0.2,
  duplicate: 0.2,
  reorder: 0.2,
  random: seededRandom(new TextEncoder().encode("udp example")),
});
const lossyStart = performance.now();
const initiator = initiate(a, { ...options, random: seededRandom(new Uint8Array([1])) });
const responder = respond(b, { ...options, random: seededRandom(new Uint8Array([2])) });
await Promise.all([initiator.ready, responder.ready]);
console.log(
  `lossy: ready in ${Math.round(performance.now() - lossyStart)} ms ` +
    `despite 20% loss, duplication and reordering`,
);
console.log(
  `lossy: ${
    initiator.droppedRecords + responder.droppedRecords
  } datagrams dropped (replays and copies)`,
);
await Promise.all([initiator.close(), responder.close()]);
console.log("closed cleanly");

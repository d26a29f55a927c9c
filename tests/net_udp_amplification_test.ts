/**
 * UDP anti-amplification: to an address that has not proved it receives
 * there (an echoed cookie, or an authentic record from it), a listener sends
 * at most AMPLIFICATION_FACTOR times the bytes it received from it,
 * retransmissions included. Checked with a counting socket that never
 * touches the network.
 */

import assert from "node:assert/strict";
import { initiate, nobleBackend, seededRandom } from "../mod.ts";
import { DatagramSealer } from "../src/codec/datagram_records.ts";
import { AMPLIFICATION_FACTOR, UdpListener } from "../src/net/udp.ts";
import { idle, waitFor } from "./_session_helpers.ts";

const LISTENER: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: 4433 };
const VICTIM: Deno.NetAddr = { transport: "udp", hostname: "192.0.2.7", port: 5000 };

/** A datagram socket in memory that counts the bytes sent to and received from each address. */
class CountingSocket {
  readonly addr: Deno.NetAddr = LISTENER;
  readonly sent = new Map<string, number>();
  readonly received = new Map<string, number>();
  readonly #inbox: [Uint8Array, Deno.NetAddr][] = [];
  readonly #waiting: ((value: [Uint8Array, Deno.NetAddr]) => void)[] = [];
  #rejectWaiting: ((error: Error) => void)[] = [];
  /** Where datagrams sent to an address go, if anywhere. */
  readonly routes = new Map<string, (datagram: Uint8Array) => void>();

  /** Delivers a datagram as if `from` sent it. */
  inject(datagram: Uint8Array, from: Deno.NetAddr): void {
    const key = `${from.hostname}:${from.port}`;
    this.received.set(key, (this.received.get(key) ?? 0) + datagram.length);
    const waiter = this.#waiting.shift();
    this.#rejectWaiting.shift();
    if (waiter !== undefined) waiter([datagram, from]);
    else this.#inbox.push([datagram, from]);
  }

  receive(): Promise<[Uint8Array, Deno.Addr]> {
    const next = this.#inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve, reject) => {
      this.#waiting.push(resolve);
      this.#rejectWaiting.push(reject);
    });
  }

  send(datagram: Uint8Array, to: Deno.Addr): Promise<number> {
    const addr = to as Deno.NetAddr;
    const key = `${addr.hostname}:${addr.port}`;
    this.sent.set(key, (this.sent.get(key) ?? 0) + datagram.length);
    this.routes.get(key)?.(datagram.slice());
    return Promise.resolve(datagram.length);
  }

  close(): void {
    for (const reject of this.#rejectWaiting) reject(new Error("closed"));
    this.#rejectWaiting = [];
  }
}

function listen(socket: CountingSocket): UdpListener {
  return new UdpListener(socket as unknown as Deno.DatagramConn, {
    requireAuthentication: false,
    cookieThreshold: Infinity,
  });
}

Deno.test("UdpListener sends a spoofed address at most AMPLIFICATION_FACTOR times what it received", async () => {
  const socket = new CountingSocket();
  const listener = listen(socket);
  // A small, valid opening datagram "from" a victim that never answers.
  const sealer = new DatagramSealer({
    backend: nobleBackend,
    random: seededRandom(new Uint8Array([5])),
  });
  socket.inject(await sealer.seal(0, new Uint8Array(0), 0), VICTIM);
  const key = `${VICTIM.hostname}:${VICTIM.port}`;
  await waitFor(() => listener.amplificationDrops > 0, { what: "a datagram held back" });
  // Retransmissions (250 ms, then 500 ms) do not get through either.
  await idle(800);
  assert.ok(
    (socket.sent.get(key) ?? 0) <= AMPLIFICATION_FACTOR * socket.received.get(key)!,
    `sent ${socket.sent.get(key)} for ${socket.received.get(key)} received`,
  );
  await listener.close();
});

Deno.test("UdpListener holds nothing back from an initiator whose padded opening earns the budget", async () => {
  const socket = new CountingSocket();
  const listener = listen(socket);
  const key = `${VICTIM.hostname}:${VICTIM.port}`;
  let toInitiator!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({ start: (c) => void (toInitiator = c) });
  socket.routes.set(key, (datagram) => toInitiator.enqueue(datagram));
  const writable = new WritableStream<Uint8Array>({
    write: (datagram) => socket.inject(datagram.slice(), VICTIM),
  });
  const client = initiate({ kind: "datagram", readable, writable }, {
    requireAuthentication: false,
    random: seededRandom(new Uint8Array([6])),
  });
  const details = await client.ready;
  assert.equal(details.postQuantum, true);
  // The opening alone earned what the responder's first flights need: nothing was held back.
  assert.equal(listener.amplificationDrops, 0);
  await client.close();
  await listener.close();
});

/**
 * qgate as a UDP responder, for the conformance adapter: the suite's
 * datagram transport stands for one remote address, so the responder runs
 * behind qgate's real {@linkcode UdpListener}, which serves that address as
 * it serves any new sender, its anti-amplification budget (PROTOCOL.md
 * §12.4) included. The listener reads and writes through a socket that is
 * the transport; the session it starts for the first datagram is the
 * endpoint {@linkcode startQgateEndpoint} makes.
 *
 * @module
 */

import type { Session } from "../session/session.ts";
import type { Transport } from "../transport/transport.ts";
import { UdpListener } from "../net/udp.ts";
import { nobleBackend } from "../crypto/noble_backend.ts";
import { type ConformanceEndpointSpec, type QgateEndpoint, startQgateEndpoint } from "./adapter.ts";

/** The address the transport's datagrams come from (TEST-NET-1, never dialled). */
const SENDER: Deno.NetAddr = { transport: "udp", hostname: "192.0.2.1", port: 50_000 };

/** The listener's own address, as it reports it. */
const LOCAL: Deno.NetAddr = { transport: "udp", hostname: "192.0.2.2", port: 4433 };

/** A UDP socket that is a datagram transport: what it receives all comes from {@linkcode SENDER}. */
class TransportSocket {
  readonly addr: Deno.NetAddr = LOCAL;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(transport: Transport) {
    this.#reader = transport.readable.getReader();
    this.#writer = transport.writable.getWriter();
  }

  async receive(): Promise<[Uint8Array, Deno.Addr]> {
    const { value, done } = await this.#reader.read();
    if (done) throw new Error("Cannot receive: the transport ended");
    return [value, SENDER];
  }

  async send(datagram: Uint8Array): Promise<number> {
    await this.#writer.write(datagram.slice());
    return datagram.length;
  }

  close(): void {
    this.#reader.cancel().catch(() => {});
    this.#writer.close().catch(() => {});
  }
}

/** A listener for one sender: the session of its first datagram is the spec's endpoint. */
class OneSenderListener extends UdpListener {
  readonly #spec: ConformanceEndpointSpec;
  readonly #onEndpoint: (endpoint: QgateEndpoint) => void;
  endpoint: QgateEndpoint | undefined;

  constructor(
    socket: TransportSocket,
    spec: ConformanceEndpointSpec,
    onEndpoint: (endpoint: QgateEndpoint) => void,
  ) {
    // The listener's own session options are never used: accept() starts the spec's endpoint.
    super(socket as unknown as Deno.DatagramConn, {
      requireAuthentication: false,
      backend: nobleBackend,
      // Every new sender starts a session at once (no cookie round trip first).
      cookieThreshold: Infinity,
    });
    this.#spec = spec;
    this.#onEndpoint = onEndpoint;
  }

  /** Starts the spec's endpoint on the transport the listener made for the sender. */
  override accept(transport: Transport): Session | undefined {
    if (this.endpoint !== undefined) return undefined;
    this.endpoint = startQgateEndpoint(transport, this.#spec);
    this.#onEndpoint(this.endpoint);
    return this.endpoint.session;
  }
}

/**
 * Starts a qgate responder behind a UDP listener on a datagram transport.
 *
 * @param transport The datagram transport: one remote address.
 * @param spec The endpoint's configuration (its role is the responder).
 * @returns The endpoint; its outcome settles once the first datagram started a session and that ended.
 */
export function startQgateUdpResponder(
  transport: Transport,
  spec: ConformanceEndpointSpec,
): Omit<QgateEndpoint, "session"> {
  let started!: (endpoint: QgateEndpoint) => void;
  const endpoint = new Promise<QgateEndpoint>((resolve) => (started = resolve));
  const listener = new OneSenderListener(new TransportSocket(transport), spec, started);
  return {
    outcome: endpoint.then((running) => running.outcome),
    closed: endpoint.then((running) => running.closed),
    close: async () => {
      await listener.endpoint?.close();
      await listener.close();
    },
    send: (extender, data) => endpoint.then((running) => running.send(extender, data)),
    receive: () => endpoint.then((running) => running.receive()),
    updateKeys: () => endpoint.then((running) => running.updateKeys()),
    setAllowed: (peerUuid, allowed) =>
      endpoint.then((running) => running.setAllowed(peerUuid, allowed)),
    removePeer: (peerUuid) => endpoint.then((running) => running.removePeer(peerUuid)),
  };
}

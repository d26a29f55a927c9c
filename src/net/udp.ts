/**
 * UDP: sessions over `Deno.listenDatagram` (needs `--unstable-net`).
 *
 * A session over UDP runs in datagram mode: handshake flights are
 * retransmitted with backoff by the statecharts, every record carries its
 * epoch and sequence number, a replay window rejects copies, and loss and
 * reordering are tolerated. Application data is as reliable as UDP itself:
 * what arrives is authentic and intact, but it may arrive out of order or not
 * at all. Keep messages small: a handshake message must fit one datagram
 * (ML-KEM-1024 and ML-DSA-87 messages exceed a 1,500-byte MTU and rely on IP
 * fragmentation).
 *
 * There is no close handshake on UDP: a peer that vanishes is noticed by the
 * statecharts' timeouts (during the handshake or a key update) or by the
 * application.
 *
 * Under load (at least `cookieThreshold` handshakes in progress) a listener
 * keeps no state for a new sender until it has proved that it receives at its
 * address, through the stateless cookie exchange of `udp_cookie.ts`;
 * {@linkcode connectUdp} answers cookie replies by itself. Each peer's queue
 * of received datagrams is bounded (256 datagrams, 1 MiB).
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import { Listener, type ListenerOptions, type SessionHandler } from "./listener.ts";
import { type SessionOptions, validateOptions } from "../session/options.ts";
import { initiate, type Session } from "../session/session.ts";
import { autoBackend } from "../crypto/auto_backend.ts";
import { UdpPeer } from "../transport/udp_socket.ts";
import {
  DEFAULT_COOKIE_SECRET_LIFETIME,
  UdpCookieInitiator,
  UdpCookieResponder,
  type UdpCookieStats,
} from "./udp_cookie.ts";
import { explainPermission, netEntry } from "./_permission.ts";
import { DEFAULT_MAX_HANDSHAKES } from "./listener.ts";

/**
 * How many times the bytes received from an address a listener may send to
 * it before the address has proved that it receives there (PROTOCOL.md §12.4).
 */
export const AMPLIFICATION_FACTOR = 3;

/** A UDP address to dial or bind. */
export interface UdpAddress {
  /** Host name or IP address (default `"127.0.0.1"`). */
  hostname?: string;
  /** Port (default 0 when binding: any free port). */
  port?: number;
}

function keyOf(addr: Deno.NetAddr): string {
  return `${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`;
}

function checkPort(what: string, port: number, min: number): void {
  if (!Number.isSafeInteger(port) || port < min || port > 65_535) {
    throw new RangeError(
      `Cannot ${what}: "port" must be an integer in [${min}, 65535], got ${port}`,
    );
  }
}

/**
 * Dials a UDP peer and starts the initiator side of a handshake in datagram mode.
 *
 * @param address The responder's address (default host `"127.0.0.1"`).
 * @param options Session options, checked before any socket is opened.
 * @returns The session, once the local socket is bound; await {@linkcode Session.ready}.
 * @throws {TypeError} For a wrong option type or an unknown name (nothing is opened).
 * @throws {RangeError} For an option or port out of range (nothing is opened).
 * @throws {SessionError} `ERR_PERMISSION_DENIED` without Deno's `--allow-net`
 *   for the local socket and the peer's address (the message names the flag).
 *
 * @example A handshake over UDP on loopback
 * ```ts
 * import { connectUdp, listenUdp } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const listener = listenUdp({}, options);
 * const client = await connectUdp({ port: listener.addr.port }, options);
 * assert.equal((await client.ready).role, "initiator");
 * await client.close();
 * await listener.close();
 * ```
 */
export async function connectUdp(
  address: UdpAddress,
  options: SessionOptions = {},
): Promise<Session> {
  if (typeof address !== "object" || address === null) {
    throw new TypeError(`Cannot connect: "address" must be an object`);
  }
  const { hostname = "127.0.0.1", port = 0 } = address;
  checkPort("connect", port, 1);
  validateOptions(options);
  const local = hostname.includes(":") ? "::1" : "127.0.0.1";
  // Both the local socket and sending to the peer need a grant.
  const action = `connect to ${netEntry(hostname, port)}`;
  const grants = [netEntry(local, 0), netEntry(hostname, port)];
  let socket: Deno.DatagramConn;
  try {
    socket = Deno.listenDatagram({ transport: "udp", hostname: local, port: 0 });
  } catch (error) {
    throw explainPermission(action, error, grants);
  }
  try {
    await checkSendPermission(hostname, port);
  } catch (error) {
    socket.close();
    throw explainPermission(action, error, grants);
  }
  const remote: Deno.NetAddr = { transport: "udp", hostname, port };
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  };
  const cookies = new UdpCookieInitiator({
    backend: options.backend ?? autoBackend,
    ...(options.globalSharedSecret === undefined
      ? {}
      : { globalSharedSecret: options.globalSharedSecret }),
  });
  // Cookie replies come only before the handshake is done.
  let handshaking = true;
  const peer = new UdpPeer(socket, remote, close, (datagram) => cookies.sent(datagram));
  void (async () => {
    try {
      for (;;) {
        const [datagram, from] = await socket.receive();
        // Only the peer we dialled; anything else on this port is dropped.
        if (from.transport !== "udp" || from.port !== port || from.hostname !== hostname) {
          continue;
        }
        const echo = handshaking ? cookies.received(datagram) : undefined;
        if (echo === undefined) peer.deliver(datagram);
        else if (echo.length > 0) await socket.send(echo, remote);
      }
    } catch {
      peer.end();
    } finally {
      cookies.dispose();
    }
  })();
  let session: Session;
  try {
    session = initiate(peer.transport, options);
  } catch (error) {
    close();
    throw error;
  }
  void session.ready.then(() => (handshaking = false), () => (handshaking = false));
  void session.closed.then(close);
  return session;
}

/**
 * Fails now, with Deno's own permission error, if sending to the peer is not
 * allowed: otherwise the first datagram would fail inside the session and
 * the cause would be lost. Asks as Deno would on that send (a prompt on a
 * terminal, a refusal elsewhere).
 */
async function checkSendPermission(hostname: string, port: number): Promise<void> {
  const descriptor: Deno.NetPermissionDescriptor = { name: "net", host: netEntry(hostname, port) };
  let status = await Deno.permissions.query(descriptor);
  if (status.state === "prompt") status = await Deno.permissions.request(descriptor);
  if (status.state !== "granted") {
    throw new Deno.errors.NotCapable(`Requires net access to "${netEntry(hostname, port)}"`);
  }
}

/** Options of a {@linkcode UdpListener}: listener options plus the cookie exchange. */
export interface UdpListenerOptions extends ListenerOptions {
  /**
   * From how many handshakes in progress on a new sender must first echo a
   * cookie (default half of `maxHandshakes`, so 32; 0 always, `Infinity`
   * never). Below it the first datagram of a new sender starts a session.
   */
  cookieThreshold?: number;
  /** How long one cookie secret is used before the next, in ms (default 120,000). */
  cookieSecretLifetime?: number;
}

/**
 * A {@linkcode Listener} on a UDP port: datagrams are sorted by sender
 * address, and each new sender gets a responder session in datagram mode.
 * Under load a new sender must first echo a cookie (see
 * {@linkcode UdpListenerOptions.cookieThreshold}); until then it costs the
 * listener a MAC and an AEAD operation per datagram and no state.
 * Create one with {@linkcode listenUdp}.
 */
export class UdpListener extends Listener {
  readonly #socket: Deno.DatagramConn;
  readonly #addr: Deno.NetAddr;
  readonly #peers = new Map<string, UdpPeer>();
  readonly #cookies: UdpCookieResponder;
  readonly #cookieThreshold: number;
  readonly #budgets = new WeakMap<UdpPeer, AmplificationBudget>();
  #amplificationDrops = 0;
  #stopped = false;

  /**
   * Starts receiving on an open socket.
   *
   * @param socket The bound UDP socket; the listener owns it.
   * @param options Session and listener options, and the cookie threshold.
   * @param onSession Called with each session once it is ready.
   * @throws {TypeError} For a wrong session option.
   * @throws {RangeError} For a limit or option value out of range.
   */
  constructor(
    socket: Deno.DatagramConn,
    options: UdpListenerOptions,
    onSession?: SessionHandler,
  ) {
    const { cookieThreshold, cookieSecretLifetime, ...listenerOptions } = options;
    super(listenerOptions, onSession);
    const threshold = cookieThreshold ??
      Math.floor((listenerOptions.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES) / 2);
    if (!(threshold === Infinity || (Number.isSafeInteger(threshold) && threshold >= 0))) {
      throw new RangeError(
        `Cannot create listener: "cookieThreshold" must be a non-negative integer or Infinity, got ${
          String(cookieThreshold)
        }`,
      );
    }
    this.#cookieThreshold = threshold;
    const clock = listenerOptions.clock;
    this.#cookies = new UdpCookieResponder({
      backend: listenerOptions.backend ?? autoBackend,
      secretLifetime: cookieSecretLifetime ?? DEFAULT_COOKIE_SECRET_LIFETIME,
      ...(clock === undefined ? {} : { now: () => clock.now() }),
      ...(listenerOptions.globalSharedSecret === undefined
        ? {}
        : { globalSharedSecret: listenerOptions.globalSharedSecret }),
    });
    this.#socket = socket;
    this.#addr = socket.addr as Deno.NetAddr;
    void this.#receiveLoop();
  }

  /** Cookie replies sent, valid echoes and datagrams too short to answer, so far. */
  get cookieStats(): UdpCookieStats {
    return this.#cookies.stats;
  }

  /**
   * Datagrams not sent because an address that has not proved it receives
   * there would have got more than three times what it sent.
   */
  get amplificationDrops(): number {
    return this.#amplificationDrops;
  }

  /** The address the listener is bound to. */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  /** Peers with a live session or handshake. */
  get peers(): number {
    return this.#peers.size;
  }

  /**
   * Stops taking new peers; the socket stays open until the last session is
   * gone (their Close records still go out through it).
   *
   * @returns Resolves at once.
   */
  protected override async stopAccepting(): Promise<void> {
    this.#stopped = true;
    // Sessions still close through the socket (their Close records), so it
    // closes only once they are gone; see close().
    await Promise.resolve();
  }

  /**
   * Stops accepting, closes every session and then the socket.
   *
   * @returns Resolves once everything is closed.
   */
  override async close(): Promise<void> {
    await super.close();
    for (const peer of this.#peers.values()) peer.end();
    this.#peers.clear();
    this.#cookies.dispose();
    try {
      this.#socket.close();
    } catch {
      // Already closed.
    }
  }

  async #receiveLoop(): Promise<void> {
    for (;;) {
      let datagram: Uint8Array;
      let from: Deno.Addr;
      try {
        [datagram, from] = await this.#socket.receive();
      } catch {
        for (const peer of this.#peers.values()) peer.end();
        if (!this.closing) void this.close();
        return;
      }
      if (from.transport !== "udp") continue;
      const key = keyOf(from);
      let peer = this.#peers.get(key);
      let deliver = true;
      if (peer === undefined) {
        if (this.#stopped) continue;
        if (this.handshakes >= this.#cookieThreshold) {
          // Under load: no state for a sender that has not shown it receives here.
          let verdict;
          try {
            verdict = this.#cookies.inspect(datagram, key);
          } catch {
            continue;
          }
          if (verdict.kind === "reply") {
            this.#socket.send(verdict.datagram, from).catch(() => {});
          }
          if (verdict.kind !== "echo") continue;
          // The echo is not a record: the session starts without it (the responder leads).
          deliver = false;
        }
        const created = new UdpPeer(this.#socket, from, () => {
          if (this.#peers.get(key) === created) this.#peers.delete(key);
        });
        // An echoed cookie proves the sender receives here; otherwise the
        // budget holds until an authentic record arrives (PROTOCOL.md §12.4).
        const budget = new AmplificationBudget(!deliver);
        this.#budgets.set(created, budget);
        const holder: { session?: Session } = {};
        const transport = {
          kind: "datagram" as const,
          readable: created.transport.readable,
          writable: budgetedWritable(created.transport.writable, budget, () => {
            const session = holder.session;
            // A responder reaches epoch 2 only after an authentic epoch-1
            // record, sealed with keys from the share it sent to this address.
            return session !== undefined && session.epoch >= 2;
          }, () => this.#amplificationDrops++),
        };
        const session = this.accept(transport, key);
        if (session === undefined) continue;
        holder.session = session;
        this.#peers.set(key, created);
        void session.closed.then(() => {
          created.end();
          if (this.#peers.get(key) === created) this.#peers.delete(key);
        });
        peer = created;
      }
      this.#budgets.get(peer)?.receive(datagram.length);
      if (deliver) peer.deliver(datagram);
    }
  }
}

/**
 * Anti-amplification (PROTOCOL.md §12.4): until an address has proved that it
 * receives there, the responder sends it at most {@linkcode AMPLIFICATION_FACTOR}
 * times the bytes it received from it, retransmissions included.
 */
class AmplificationBudget {
  #received = 0;
  #sent = 0;
  #validated: boolean;

  constructor(validated: boolean) {
    this.#validated = validated;
  }

  receive(bytes: number): void {
    this.#received += bytes;
  }

  /** Takes `bytes` from the budget; `false` (nothing taken) when they do not fit. */
  spend(bytes: number, proved: () => boolean): boolean {
    if (!this.#validated && proved()) this.#validated = true;
    if (this.#validated) return true;
    if (this.#sent + bytes > AMPLIFICATION_FACTOR * this.#received) return false;
    this.#sent += bytes;
    return true;
  }
}

/**
 * A writable that drops (as the network would) every datagram the budget
 * does not cover; the statecharts retransmit once the peer sends more.
 */
function budgetedWritable(
  inner: WritableStream<Uint8Array>,
  budget: AmplificationBudget,
  proved: () => boolean,
  onDrop: () => void,
): WritableStream<Uint8Array> {
  const writer = inner.getWriter();
  return new WritableStream<Uint8Array>({
    write: async (datagram) => {
      if (!budget.spend(datagram.length, proved)) {
        onDrop();
        return;
      }
      await writer.write(datagram);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
}

/**
 * Listens on a UDP port and runs the responder side of a handshake for every
 * new sender, in datagram mode.
 *
 * @param address The interface and port (default `127.0.0.1`, any free port).
 * @param options Session options plus listener limits and the cookie exchange
 *   (`cookieThreshold`, `cookieSecretLifetime`; see {@linkcode UdpListenerOptions}).
 * @param onSession Called with each session once it is ready.
 * @returns The listener; `addr.port` is the bound port.
 * @throws {TypeError} For a wrong option type or an unknown name.
 * @throws {RangeError} For an option or port out of range.
 * @throws {SessionError} `ERR_ABORTED` if `options.signal` is already aborted;
 *   `ERR_PERMISSION_DENIED` without Deno's `--allow-net` for the address (the
 *   message names the flag).
 *
 * @example Always asking new senders for a cookie
 * ```ts
 * import { connectUdp, listenUdp } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const options = { requireAuthentication: false };
 * const listener = listenUdp({}, { ...options, cookieThreshold: 0 });
 * const client = await connectUdp({ port: listener.addr.port }, options);
 * await client.ready; // connectUdp answered the cookie reply by itself
 * assert.equal(listener.cookieStats.echoes, 1);
 * await client.close();
 * await listener.close();
 * ```
 */
export function listenUdp(
  address: UdpAddress = {},
  options: UdpListenerOptions = {},
  onSession?: SessionHandler,
): UdpListener {
  const { hostname = "127.0.0.1", port = 0 } = address;
  checkPort("listen", port, 0);
  if (options.signal?.aborted) {
    throw new SessionError(ErrorCode.ABORTED, "Cannot listen: aborted", {
      cause: options.signal.reason,
    });
  }
  let socket: Deno.DatagramConn;
  try {
    socket = Deno.listenDatagram({ transport: "udp", hostname, port });
  } catch (error) {
    throw explainPermission(`listen on ${netEntry(hostname, port)}`, error, [
      netEntry(hostname, port),
    ]);
  }
  try {
    return new UdpListener(socket, options, onSession);
  } catch (error) {
    socket.close();
    throw error;
  }
}

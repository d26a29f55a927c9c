/**
 * Extenders, in QuantumGate's sense: independent services identified by
 * UUID and multiplexed over every connection. {@linkcode Local} keeps the
 * registry of the extenders this side runs, tells each one when a peer that
 * runs the same extender becomes ready or goes away (also when either side
 * adds or removes an extender at run time), and routes incoming messages.
 *
 * It is built only on the public {@linkcode Session} API: `setExtenders`,
 * `send` and the `message`, `extenders` and `close` events.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";
import { resolveOptions, type SessionOptions } from "../session/options.ts";
import type { Session } from "../session/session.ts";

/** What an extender is told about its peers. Every callback is optional. */
export interface ExtenderCallbacks {
  /** A peer that runs this extender too is ready (or just added it, or we just did). */
  onPeerReady?(peer: Session): void;
  /** That peer is gone: the session ended, or either side removed the extender. */
  onPeerGone?(peer: Session): void;
  /** The peer's instance of this extender sent data. */
  onMessage?(peer: Session, data: Uint8Array): void;
}

interface Attachment {
  readonly active: Set<string>;
  readonly detach: () => void;
  ready: boolean;
}

function call(callback: (() => void) | undefined): void {
  if (callback === undefined) return;
  try {
    callback();
  } catch (error) {
    reportError(error);
  }
}

/** Normalises one UUID through the session's own option check. */
function normalise(uuid: string): string {
  return resolveOptions({ requireAuthentication: false, extenders: [uuid] }).extenders[0]!;
}

/** What {@linkcode Local} drives on an extender; kept out of the public surface. */
interface ExtenderControl {
  activate(peer: Session): void;
  deactivate(peer: Session): void;
  deliver(peer: Session, data: Uint8Array): void;
}

/** One open {@linkcode Extender.messages} stream. */
interface MessageStream {
  push(data: Uint8Array): void;
  end(): void;
}

const CONTROLS = new WeakMap<Extender, ExtenderControl>();

function control(extender: Extender): ExtenderControl {
  return CONTROLS.get(extender)!;
}

/**
 * One registered extender: its UUID, its peers, and a way to reach them.
 * Create one with {@linkcode Local.register}.
 *
 * @example Broadcasting to every peer that runs the extender
 * ```ts
 * import { createMemoryPair, initiate, Local, respond } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const NEWS = "6f1d2c3b-4a59-4e87-8d6c-5b4a39281706";
 * const hub = new Local();
 * const news = hub.register(NEWS);
 * const options = hub.sessionOptions({ requireAuthentication: false });
 * const readers = [];
 * for (let i = 0; i < 2; i++) {
 *   const [a, b] = createMemoryPair();
 *   hub.attach(respond(b, options));
 *   readers.push(initiate(a, options));
 * }
 * await Promise.all(readers.map((reader) => reader.ready));
 * await hub.settled();
 * assert.equal(news.uuid, NEWS);
 * assert.equal(news.peers.length, 2);
 * assert.equal(await news.broadcast(new TextEncoder().encode("extra!")), 2);
 * await Promise.all(readers.map((reader) => reader.close()));
 * ```
 */
export class Extender {
  readonly #uuid: string;
  readonly #local: Local;
  readonly #peers = new Set<Session>();
  readonly #streams = new Map<Session, Set<MessageStream>>();
  readonly #callbacks: ExtenderCallbacks;

  /**
   * Use {@linkcode Local.register}.
   *
   * @param local The registry it belongs to.
   * @param uuid Its UUID, already normalised.
   * @param callbacks What it is told.
   */
  constructor(local: Local, uuid: string, callbacks: ExtenderCallbacks) {
    this.#local = local;
    this.#uuid = uuid;
    this.#callbacks = callbacks;
    CONTROLS.set(this, {
      activate: (peer) => this.#activate(peer),
      deactivate: (peer) => this.#deactivate(peer),
      deliver: (peer, data) => {
        this.#activate(peer);
        for (const stream of this.#streams.get(peer) ?? []) stream.push(data);
        const { onMessage } = this.#callbacks;
        call(onMessage && (() => onMessage.call(this.#callbacks, peer, data)));
      },
    });
  }

  /** The extender's UUID, lower case. */
  get uuid(): string {
    return this.#uuid;
  }

  /** The ready sessions whose peer runs this extender too. */
  get peers(): readonly Session[] {
    return [...this.#peers];
  }

  /**
   * Sends data to this extender on one peer.
   *
   * @param peer A session from {@linkcode Extender.peers}.
   * @param data The bytes.
   * @throws {SessionError} `ERR_UNKNOWN_EXTENDER` if that peer does not run
   *   this extender (or we no longer do); `ERR_SESSION_CLOSED` after close.
   */
  async send(peer: Session, data: Uint8Array): Promise<void> {
    if (!this.#peers.has(peer)) {
      throw new SessionError(
        ErrorCode.UNKNOWN_EXTENDER,
        `Cannot send: extender ${this.#uuid} is not active with that peer`,
      );
    }
    await peer.send(this.#uuid, data);
  }

  /**
   * The messages one peer sends to this extender, as a stream: the streams
   * variant of `onMessage`. The stream ends when the peer goes away (the
   * session ends, or either side removes the extender). A message cannot be
   * held back at its source, so the stream buffers at most `maxQueuedBytes`
   * unread bytes and errors with `ERR_RESOURCE_LIMIT` past that.
   *
   * @param peer A session from {@linkcode Extender.peers}.
   * @param options `maxQueuedBytes` (default 1 MiB).
   * @returns A stream of message payloads, one chunk per message.
   * @throws {SessionError} `ERR_UNKNOWN_EXTENDER` if that peer does not run this extender.
   * @throws {RangeError} If `maxQueuedBytes` is not a positive integer.
   *
   * @example Reading a peer's messages with `for await`
   * ```ts
   * import { createMemoryPair, initiate, Local, respond } from "@qgate/handshake";
   * import assert from "node:assert/strict";
   *
   * const LOG = "9d8c7b6a-5f4e-4d3c-8b2a-190817263544";
   * const [client, server] = [new Local(), new Local()];
   * client.register(LOG);
   * const log = server.register(LOG);
   * const [a, b] = createMemoryPair();
   * const alice = initiate(a, client.sessionOptions({ requireAuthentication: false }));
   * const bob = respond(b, server.sessionOptions({ requireAuthentication: false }));
   * client.attach(alice);
   * server.attach(bob);
   * await Promise.all([alice.ready, bob.ready]);
   *
   * const lines = log.messages(bob);
   * for (const line of ["one", "two"]) await alice.send(LOG, new TextEncoder().encode(line));
   * await alice.close();
   * const received = await Array.fromAsync(lines, (data) => new TextDecoder().decode(data));
   * assert.deepEqual(received, ["one", "two"]);
   * ```
   */
  messages(peer: Session, options: { maxQueuedBytes?: number } = {}): ReadableStream<Uint8Array> {
    const limit = options.maxQueuedBytes ?? 1024 * 1024;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot read messages: "maxQueuedBytes" must be a positive integer, got ${String(limit)}`,
      );
    }
    if (!this.#peers.has(peer)) {
      throw new SessionError(
        ErrorCode.UNKNOWN_EXTENDER,
        `Cannot read messages: extender ${this.#uuid} is not active with that peer`,
      );
    }
    let set = this.#streams.get(peer);
    if (set === undefined) {
      set = new Set();
      this.#streams.set(peer, set);
    }
    const streams = set;
    let stream!: MessageStream;
    const readable = new ReadableStream<Uint8Array>({
      start: (controller): void => {
        stream = {
          push: (data): void => {
            if (-(controller.desiredSize ?? 0) + data.length > limit) {
              streams.delete(stream);
              controller.error(
                new SessionError(ErrorCode.RESOURCE_LIMIT, "Message stream buffer is full"),
              );
              return;
            }
            controller.enqueue(data);
          },
          end: (): void => controller.close(),
        };
        streams.add(stream);
      },
      cancel: (): void => void streams.delete(stream),
    }, { highWaterMark: 0, size: (chunk) => chunk.byteLength });
    return readable;
  }

  /**
   * Sends the same data to every peer of this extender; a peer that fails is skipped.
   *
   * @param data The bytes.
   * @returns How many peers it was sent to.
   */
  async broadcast(data: Uint8Array): Promise<number> {
    const results = await Promise.allSettled(this.peers.map((peer) => this.send(peer, data)));
    return results.filter((result) => result.status === "fulfilled").length;
  }

  /**
   * Removes this extender from the registry: each peer gets `onPeerGone`, and
   * every ready session tells its peer.
   *
   * @returns Resolves once every session has sent its extender update.
   */
  unregister(): Promise<boolean> {
    return this.#local.unregister(this.#uuid);
  }

  #activate(peer: Session): void {
    if (this.#peers.has(peer)) return;
    this.#peers.add(peer);
    const { onPeerReady } = this.#callbacks;
    call(onPeerReady && (() => onPeerReady.call(this.#callbacks, peer)));
  }

  #deactivate(peer: Session): void {
    if (!this.#peers.delete(peer)) return;
    for (const stream of this.#streams.get(peer) ?? []) stream.end();
    this.#streams.delete(peer);
    const { onPeerGone } = this.#callbacks;
    call(onPeerGone && (() => onPeerGone.call(this.#callbacks, peer)));
  }
}

/**
 * The local registry of extenders, in the spirit of QuantumGate's `Local`:
 * register extenders by UUID, attach sessions, and each extender hears about
 * exactly the peers that run it too.
 *
 * Pass {@linkcode Local.extenders} (or {@linkcode Local.sessionOptions}) to
 * the sessions you start, so the handshake already announces them, then
 * {@linkcode Local.attach} each session. Extenders registered or removed
 * later are announced to every attached session at once.
 *
 * @example A chat extender on both sides
 * ```ts
 * import { createMemoryPair, initiate, Local, respond } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const CHAT = "0b8c3a64-5f1e-4c2a-9d7b-1e2f3a4b5c6d";
 * const alice = new Local();
 * const bob = new Local();
 * const heard: string[] = [];
 * const aliceChat = alice.register(CHAT, {});
 * bob.register(CHAT, {
 *   onMessage: (_peer, data) => heard.push(new TextDecoder().decode(data)),
 * });
 *
 * const [a, b] = createMemoryPair();
 * const client = initiate(a, alice.sessionOptions({ requireAuthentication: false }));
 * const server = respond(b, bob.sessionOptions({ requireAuthentication: false }));
 * alice.attach(client);
 * bob.attach(server);
 * await Promise.all([client.ready, server.ready]);
 * await alice.settled();
 *
 * assert.deepEqual(aliceChat.peers, [client]);
 * await aliceChat.send(client, new TextEncoder().encode("hi bob"));
 * await client.close();
 * await server.closed;
 * assert.deepEqual(heard, ["hi bob"]);
 * assert.deepEqual(aliceChat.peers, []);
 * ```
 */
export class Local {
  readonly #extenders = new Map<string, Extender>();
  readonly #sessions = new Map<Session, Attachment>();
  #pending: Promise<unknown>[] = [];

  /** The UUIDs of the registered extenders, sorted: what sessions should announce. */
  get extenders(): readonly string[] {
    return [...this.#extenders.keys()].sort();
  }

  /** The attached sessions that have not ended. */
  get sessions(): readonly Session[] {
    return [...this.#sessions.keys()];
  }

  /**
   * Returns `options` with `extenders` set to the registered extenders.
   *
   * @param options Session options.
   * @returns A copy with the extender list.
   */
  sessionOptions<T extends SessionOptions>(options: T): T & { extenders: readonly string[] } {
    return { ...options, extenders: this.extenders };
  }

  /**
   * Registers an extender, or replaces the callbacks of one with the same UUID.
   * Attached sessions announce it to their peers at once.
   *
   * @param uuid The extender's UUID (8-4-4-4-12 hex form).
   * @param callbacks What the extender is told.
   * @returns The extender.
   * @throws {TypeError} If the UUID is malformed.
   */
  register(uuid: string, callbacks: ExtenderCallbacks = {}): Extender {
    const id = normalise(uuid);
    const previous = this.#extenders.get(id);
    const extender = new Extender(this, id, callbacks);
    this.#extenders.set(id, extender);
    if (previous !== undefined) {
      // Same UUID: the new callbacks take over the same peers.
      for (const session of previous.peers) {
        control(previous).deactivate(session);
        control(extender).activate(session);
      }
      return extender;
    }
    this.#announce((session) => {
      if (session.details?.peerExtenders.includes(id)) this.#activate(session, id);
    });
    return extender;
  }

  /**
   * Removes an extender: its peers get `onPeerGone`, and attached sessions
   * tell their peers.
   *
   * @param uuid The extender's UUID.
   * @returns `false` if no such extender was registered.
   * @throws {TypeError} If the UUID is malformed.
   */
  async unregister(uuid: string): Promise<boolean> {
    const id = normalise(uuid);
    const extender = this.#extenders.get(id);
    if (extender === undefined) return false;
    this.#extenders.delete(id);
    for (const session of extender.peers) {
      this.#sessions.get(session)?.active.delete(id);
      control(extender).deactivate(session);
    }
    this.#announce(() => {});
    await this.settled();
    return true;
  }

  /**
   * Looks up a registered extender.
   *
   * @param uuid The extender's UUID.
   * @returns The extender, or `undefined`.
   */
  get(uuid: string): Extender | undefined {
    return this.#extenders.get(normalise(uuid));
  }

  /**
   * Starts routing one session's extender events: when it is ready, its
   * extender list is brought up to date and each extender the peer runs too
   * hears `onPeerReady`; when it ends, `onPeerGone`.
   *
   * @param session A session, ready or not.
   * @returns A function that detaches it again (without `onPeerGone` calls).
   */
  attach(session: Session): () => void {
    const existing = this.#sessions.get(session);
    if (existing !== undefined) return existing.detach;
    const offs = [
      session.on("message", ({ extender, data }) => {
        const target = this.#extenders.get(extender);
        if (target === undefined) return;
        attachment.active.add(extender);
        control(target).deliver(session, data);
      }),
      session.on("extenders", ({ added, removed }) => {
        for (const uuid of removed) this.#deactivate(session, uuid);
        for (const uuid of added) this.#activate(session, uuid);
      }),
      session.on("close", () => {
        const attachment = this.#sessions.get(session);
        if (attachment === undefined) return;
        for (const uuid of [...attachment.active]) this.#deactivate(session, uuid);
        attachment.detach();
      }),
    ];
    const attachment: Attachment = {
      active: new Set(),
      ready: false,
      detach: () => {
        for (const off of offs) off();
        this.#sessions.delete(session);
      },
    };
    this.#sessions.set(session, attachment);
    session.ready.then((details) => {
      if (this.#sessions.get(session) !== attachment) return;
      attachment.ready = true;
      const wanted = this.extenders;
      const announced = session.extenders;
      if (wanted.length !== announced.length || wanted.some((uuid, i) => uuid !== announced[i])) {
        this.#update(session, wanted);
      }
      for (const uuid of details.peerExtenders) this.#activate(session, uuid);
    }, () => attachment.detach());
    return attachment.detach;
  }

  /**
   * Waits for every extender update that register/unregister started.
   *
   * @returns Resolves once all of them are sent (or failed with a closed session).
   */
  async settled(): Promise<void> {
    while (this.#pending.length > 0) {
      const pending = this.#pending;
      this.#pending = [];
      await Promise.allSettled(pending);
    }
  }

  #activate(session: Session, uuid: string): void {
    const attachment = this.#sessions.get(session);
    const extender = this.#extenders.get(uuid);
    if (attachment === undefined || extender === undefined) return;
    attachment.active.add(uuid);
    control(extender).activate(session);
  }

  #deactivate(session: Session, uuid: string): void {
    this.#sessions.get(session)?.active.delete(uuid);
    const extender = this.#extenders.get(uuid);
    if (extender !== undefined) control(extender).deactivate(session);
  }

  /** Sends the current list to every ready session, then runs `after` on each. */
  #announce(after: (session: Session) => void): void {
    const wanted = this.extenders;
    for (const [session, attachment] of this.#sessions) {
      if (!attachment.ready) continue;
      this.#update(session, wanted, () => after(session));
    }
  }

  #update(session: Session, extenders: readonly string[], after?: () => void): void {
    const update = session.setExtenders(extenders).then(
      () => {
        if (this.#sessions.has(session)) after?.();
      },
      () => {
        // The session closed meanwhile: its close event does the rest.
      },
    );
    this.#pending.push(update);
  }
}

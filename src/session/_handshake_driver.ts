/**
 * The handshake phase of a session: runs the handshake statechart
 * (`machines/handshake.ts`) and executes its commands with the crypto
 * backend, the transcript and the key schedule.
 *
 * The statechart decides what may happen when; this driver only does what a
 * command says and feeds the result back as an event. Commands run one after
 * another, synchronously as far as the backend allows; while one waits for
 * asynchronous crypto, incoming records wait too (the connection opens the
 * next record only once {@linkcode HandshakeDriver.onMessage} settles), so
 * keys switch exactly at record boundaries.
 *
 * When the statechart reaches `ready`, the driver hands everything the ready
 * phase needs over in one {@linkcode Established} object and keeps nothing:
 * there is no session object whose fields exist in some phases only.
 *
 * @module
 */

import type { Actor } from "xstate";
import { ActorHost } from "./_actor_host.ts";
import { CommandQueue } from "./_command_queue.ts";
import { ErrorCode, HandshakeError, QGateError } from "../errors.ts";
import { CipherState } from "../crypto/cipher_state.ts";
import { KeySchedule } from "../crypto/key_schedule.ts";
import { Transcript } from "../crypto/transcript.ts";
import { derivePeerUuid, formatUuid } from "../crypto/peer_uuid.ts";
import { authenticationPayload } from "../crypto/authentication.ts";
import {
  type Aead,
  type CryptoBackend,
  type HashFunction,
  type KeyExchange,
  type KeyExchangeOffer,
  type KeyExchangeState,
  type RandomSource,
  type SignatureName,
  SIGNATURES,
} from "../crypto/types.ts";
import {
  type AuthenticationMessage,
  isHandshakeKind,
  type Message,
} from "../codec/message_types.ts";
import { encodeMessage, messageTypeOf } from "../codec/messages.ts";
import {
  fromWireIds,
  type NegotiatedSuite,
  type PeerVerdict,
  shouldDiscloseIdentity,
} from "../handshake_policy.ts";
import { datagramHandshakeMachine, handshakeMachine } from "../../machines/handshake.ts";
import type {
  HandshakeCommand,
  HandshakeEvent,
  HandshakeOutput,
  KeyExchangeSlot,
  PeerFacts,
  PhaseName,
} from "../../machines/_setup.ts";
import type { Arrival, Connection, MessageSink } from "./_connection.ts";
import { randomInt } from "./_connection.ts";
import type { Role } from "./details.ts";
import type { Clock, ResolvedOptions } from "./options.ts";

/** Everything the ready phase takes over from a finished handshake. */
export interface Established {
  /** The negotiated algorithms. */
  readonly suite: NegotiatedSuite;
  /** The record AEAD. */
  readonly aead: Aead;
  /** The negotiated hash. */
  readonly hash: HashFunction;
  /** The key schedule, at the session stage (epoch 2). */
  readonly schedule: KeySchedule;
  /** The epoch both directions use (2). */
  readonly epoch: number;
  /** Public facts about the peer, from the statechart. */
  readonly peer: PeerFacts;
  /** The identity public key the peer proved it holds, when it presented one. */
  readonly peerPublicKey: Uint8Array | undefined;
  /** This side proved its identity to the peer (and the peer accepted the proof). */
  readonly localAuthenticated: boolean;
}

/** What the driver tells its owner. */
export interface HandshakeObserver {
  /** The statechart entered a state (dotted path); called only when {@linkcode HandshakeObserver.watching}. */
  state(state: string): void;
  /** Whether anyone listens to states (computing them costs). */
  readonly watching: boolean;
  /** Keys were installed for `epoch` in both directions. */
  keys(epoch: number): void;
  /** The handshake reached `ready`; the driver is finished. */
  ready(established: Established): void;
  /** The handshake failed. */
  failed(error: HandshakeError): void;
}

/** What the driver needs from the session. */
export interface HandshakeContext {
  readonly role: Role;
  readonly sessionId: string;
  readonly options: ResolvedOptions;
  readonly backend: CryptoBackend;
  readonly random: RandomSource;
  readonly clock: Clock;
  readonly connection: Connection;
  readonly observer: HandshakeObserver;
}

/** The direction labels of one role: what it sends with and what it receives with. */
export function directionKeys(
  role: Role,
  keys: { initiatorToResponder: Uint8Array; responderToInitiator: Uint8Array },
): { send: Uint8Array; receive: Uint8Array } {
  return role === "initiator"
    ? { send: keys.initiatorToResponder, receive: keys.responderToInitiator }
    : { send: keys.responderToInitiator, receive: keys.initiatorToResponder };
}

/** Turns anything thrown by a command into its stable code. */
export function codeOf(error: unknown): ErrorCode {
  return error instanceof QGateError ? error.code : ErrorCode.INTERNAL;
}

/**
 * A statechart's active state as a dotted path.
 *
 * @param value An XState state value.
 * @returns E.g. `"authentication.verifying"`.
 */
export function stateToString(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") {
    const [key, inner] = Object.entries(value)[0] ?? ["", undefined];
    const rest = stateToString(inner);
    return rest === "" ? key : `${key}.${rest}`;
  }
  return "";
}

/** Runs the handshake statechart and its commands. */
export class HandshakeDriver implements MessageSink {
  readonly #context: HandshakeContext;
  readonly #actor: Actor<typeof handshakeMachine>;
  readonly #host: ActorHost;
  readonly #transcript = new Transcript();
  readonly #queue: CommandQueue<HandshakeCommand> = new CommandQueue({
    execute: (command) => this.#execute(command),
    failed: (command, error) => this.#cryptoFailed(command, error),
    stopped: () => this.#done,
    idle: () => this.#idle(),
  });
  /** Run once no command is running or queued. */
  #idleCallbacks: (() => void)[] = [];
  #done = false;
  #disposed = false;
  #lastState = "";
  #suite: NegotiatedSuite | undefined;
  #aead: Aead | undefined;
  #hash: HashFunction | undefined;
  #schedule: KeySchedule | undefined;
  #kexState: KeyExchangeState | undefined;
  #secret: Uint8Array | undefined;
  /** The transcript hash before the peer's authentication message (what its proof signs). */
  #transcriptBeforeLast: Uint8Array | undefined;
  /** The identity public key the peer proved, kept for access re-checks once ready. */
  #peerPublicKey: Uint8Array | undefined;
  /** The signature ids the peer accepts (its meta-exchange message). */
  #peerAccepts: readonly number[] = [];
  /** Whether this side sent its identity and proof. */
  #disclosed = false;
  /** Noise waiting for the statechart to leave its quiet states and the commands to finish. */
  #noiseWaiters: (() => void)[] = [];
  /** The leader's offer for a later slot, started early (`keyExchange.prepare`). */
  #prepared: { slot: KeyExchangeSlot; offer: Promise<KeyExchangeOffer> } | undefined;

  /**
   * Creates the statechart for one side.
   *
   * @param context Role, options, crypto, connection and observer.
   */
  constructor(context: HandshakeContext) {
    this.#context = context;
    const { options, role } = context;
    const machine = context.connection.datagram ? datagramHandshakeMachine : handshakeMachine;
    this.#host = ActorHost.for(context.clock);
    const actor = this.#host.adopt(machine, {
      role,
      sessionId: context.sessionId,
      preferences: options.preferences,
      // Default-deny is required authentication: the peer is told, so it can give up early.
      requireAuthentication: requiresAuthentication(options),
      extenders: options.extenders.map((uuid) => uuid.replaceAll("-", "")),
      maxMessageSize: options.maxMessageSize,
      timeouts: options.profile.timeouts,
      transport: context.connection.datagram ? "datagram" : "stream",
      ...(options.identity === undefined ? {} : { identity: options.identity.algorithm }),
    });
    this.#actor = actor;
    actor.on("*", (command) => this.#queue.push(command));
    actor.subscribe({
      next: (snapshot) => {
        if (context.observer.watching) {
          const state = stateToString(snapshot.value);
          if (state !== this.#lastState) {
            this.#lastState = state;
            context.observer.state(state);
          }
        }
        if (snapshot.status === "done") this.#whenIdle(() => this.#finishWith(snapshot.output));
        else this.#wakeNoise();
      },
      error: () => this.#whenIdle(() => this.#fail(ErrorCode.INTERNAL)),
    });
  }

  /** The statechart's active state as a dotted path. */
  get state(): string {
    return stateToString(this.#actor.getSnapshot().value);
  }

  /** The phase the statechart is in, or the one it failed in. */
  get phase(): PhaseName {
    const context = this.#actor.getSnapshot().context;
    return context.failure?.phase ?? context.phase;
  }

  /**
   * Whether noise must wait: the statechart is in a `quiet` state (the
   * leader between its offer and its keys) or commands are still running.
   */
  get quiet(): boolean {
    return this.#queue.running || this.#actor.getSnapshot().hasTag("quiet");
  }

  /** Starts the statechart. */
  start(): void {
    this.#actor.start();
  }

  /**
   * Resolves once noise may go: no command is running and the statechart is
   * not in a `quiet` state.
   *
   * @returns Resolves when noise may be sent (at once if it may).
   */
  async whenNoiseMayGo(): Promise<void> {
    while (this.quiet && !this.#done) {
      await new Promise<void>((resolve) => this.#noiseWaiters.push(resolve));
    }
  }

  #wakeNoise(): void {
    if (this.#noiseWaiters.length === 0 || (this.quiet && !this.#done)) return;
    const waiters = this.#noiseWaiters;
    this.#noiseWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Whether commands are running or queued. */
  get busy(): boolean {
    return this.#queue.busy;
  }

  /** Cancels the handshake (`local.abort`). */
  abort(): void {
    this.#send({ type: "local.abort" });
  }

  /**
   * Stops the statechart and wipes everything secret it still holds (the
   * session ended before `ready`).
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#done = true;
    this.#host.stop(this.#actor);
    this.#queue.clear();
    this.#kexState?.dispose();
    this.#kexState = undefined;
    this.#discardPrepared();
    this.#secret?.fill(0);
    this.#secret = undefined;
    this.#schedule?.dispose();
    this.#wakeNoise();
  }

  onMessage(arrival: Arrival): void | Promise<void> {
    if (this.#done) return;
    const { message, type, body } = arrival;
    const flights = this.#context.connection.flights;
    if (flights !== undefined && isHandshakeKind(message.kind)) {
      const seen = flights.received(type, body);
      if (seen !== "new") {
        this.#send({ type: "peer.duplicate", ofLastTrigger: seen === "duplicateOfTrigger" });
        return this.#queue.pending;
      }
    }
    if (message.kind === "beginMetaExchange" || message.kind === "endMetaExchange") {
      // The schemes the peer can verify: an identity of another scheme is withheld.
      this.#peerAccepts = message.signatures;
    }
    if (isHandshakeKind(message.kind)) {
      // The peer's proof signs the transcript before its own message: keep
      // that hash (only for a proof: the other messages need none).
      if (message.kind === "beginAuthentication" || message.kind === "endAuthentication") {
        this.#transcriptBeforeLast = this.#transcript.hasHash
          ? this.#transcript.digest()
          : undefined;
      }
      this.#transcript.append(type, body);
      this.#send({ type: `peer.${message.kind}`, message } as HandshakeEvent);
    } else if (!this.#context.connection.datagram) {
      this.#send({ type: "peer.other", message });
    }
    // On datagrams the peer's first records after its handshake may overtake
    // its last handshake message: they are dropped like lost datagrams.
    return this.#queue.pending;
  }

  onInvalidInput(code: ErrorCode): void {
    this.#send({ type: "transport.invalidRecord", code });
  }

  onTransportEnd(): void {
    this.#send({ type: "transport.closed" });
  }

  #send(event: HandshakeEvent): void {
    if (!this.#done) this.#actor.send(event);
  }

  /** The command queue ran dry: noise may go, and what waited for that runs. */
  #idle(): void {
    this.#wakeNoise();
    const callbacks = this.#idleCallbacks;
    this.#idleCallbacks = [];
    for (const callback of callbacks) callback();
  }

  #whenIdle(callback: () => void): void {
    if (this.#queue.running) this.#idleCallbacks.push(callback);
    else callback();
  }

  #finishWith(output: HandshakeOutput | undefined): void {
    if (this.#done) return;
    if (output?.status === "ready") this.#becomeReady();
    else this.#fail(output?.failure.code ?? ErrorCode.INTERNAL);
  }

  /** A command failed: nothing queued after it may run; the statechart decides. */
  #cryptoFailed(command: HandshakeCommand, error: unknown): void {
    const phase = phaseOfCommand(command);
    this.#send({
      type: "crypto.failed",
      code: codeOf(error),
      ...(phase === undefined ? {} : { phase }),
    });
  }

  #fail(code: ErrorCode): void {
    if (this.#done) return;
    this.#done = true;
    this.#context.observer.failed(
      new HandshakeError(code, `Handshake failed in ${this.phase}: ${code}`, { phase: this.phase }),
    );
  }

  #execute(command: HandshakeCommand): void | Promise<void> {
    switch (command.type) {
      case "frame.send":
        return this.#sendFrame(command.message);
      case "negotiation.settled":
        return this.#settle(command.suite);
      case "keyExchange.offer":
        return this.#offer(command.slot, command.kind);
      case "keyExchange.prepare":
        return this.#prepare(command.slot);
      case "keyExchange.answer":
        return this.#answer(command.slot, command.share, command.kind);
      case "keyExchange.finish":
        return this.#finish(command.slot, command.share);
      case "keys.install":
        return this.#installKeys(command.stage);
      case "identity.prove":
        return this.#prove(command.kind);
      case "identity.verify":
        return this.#verify(command.message);
      case "flight.retransmit":
        return this.#retransmit();
      case "handshake.ready":
      case "handshake.failed":
        // The outcome is taken from the final snapshot once every command has run.
        return;
    }
  }

  #sendFrame(message: Message): void | Promise<void> {
    const encoded = encodeMessage(message);
    this.#transcript.append(messageTypeOf(message.kind), encoded);
    const { connection, random, options, clock } = this.#context;
    const delay = randomInt(random, options.profile.maxHandshakeDelay);
    const write = (): void => {
      // A failed write ends the session through the connection's own report.
      connection.send(message, { encoded, track: true }).catch(() => {});
    };
    if (delay === 0) return write();
    return new Promise<void>((resolve) => clock.setTimeout(resolve, delay)).then(write);
  }

  #retransmit(): void {
    const { connection } = this.#context;
    for (const { message, epoch } of connection.flights?.flight ?? []) {
      connection.send(message, { epoch }).catch(() => {});
    }
  }

  #settle(suite: NegotiatedSuite): void {
    const { backend, options } = this.#context;
    const hash = backend.hash(suite.hash);
    const aead = backend.aead(suite.aead);
    if (hash === undefined || aead === undefined) {
      throw new HandshakeError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        `Cannot settle suite: backend "${backend.name}" lacks ${suite.hash} or ${suite.aead}`,
      );
    }
    this.#suite = suite;
    this.#aead = aead;
    this.#hash = hash;
    this.#transcript.setHash(hash);
    this.#schedule = new KeySchedule(hash, {
      keyLength: aead.keyLength,
      ...(options.globalSharedSecret === undefined
        ? {}
        : { globalSharedSecret: options.globalSharedSecret }),
    });
    // The key schedule has absorbed the GSS and the record layer keeps its own copy: wipe ours.
    options.globalSharedSecret?.fill(0);
  }

  #keyExchange(slot: KeyExchangeSlot): KeyExchange {
    const { backend } = this.#context;
    const name = slot === "primary"
      ? this.#suite!.primaryKeyExchange
      : this.#suite!.secondaryKeyExchange;
    const kex = backend.keyExchange(name);
    if (kex === undefined) {
      throw new HandshakeError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        `Cannot run key exchange: backend "${backend.name}" lacks ${name}`,
      );
    }
    return kex;
  }

  async #offer(
    slot: KeyExchangeSlot,
    kind: "beginPrimaryKeyExchange" | "beginSecondaryKeyExchange",
  ): Promise<void> {
    const prepared = this.#prepared?.slot === slot ? this.#prepared.offer : undefined;
    if (prepared !== undefined) this.#prepared = undefined;
    const { offer, state } =
      await (prepared ?? this.#keyExchange(slot).offer(this.#context.random));
    this.#kexState = state;
    await this.#sendFrame({ kind, share: offer });
  }

  /**
   * Starts an offer for a later slot now. It runs after this phase's own
   * offer, so the key exchanges still run in the order primary, secondary
   * (which is what known-answer vectors fix); a single seeded random source
   * now serves it before, not after, the records of the earlier exchange.
   */
  #prepare(slot: KeyExchangeSlot): void {
    let offer: Promise<KeyExchangeOffer>;
    try {
      offer = this.#keyExchange(slot).offer(this.#context.random);
    } catch {
      return; // The later phase reports it when it asks for the offer.
    }
    // Failures surface when the later phase takes the offer; until then none is unhandled.
    offer.catch(() => {});
    this.#prepared = { slot, offer };
  }

  /** Wipes a prepared offer the handshake did not use. */
  #discardPrepared(): void {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    prepared?.offer.then(({ state }) => state.dispose(), () => {});
  }

  async #answer(
    slot: KeyExchangeSlot,
    share: Uint8Array,
    kind: "endPrimaryKeyExchange" | "endSecondaryKeyExchange",
  ): Promise<void> {
    const { answer, sharedSecret } = await this.#keyExchange(slot).answer(
      share,
      this.#context.random,
    );
    this.#secret = sharedSecret;
    await this.#sendFrame({ kind, share: answer });
  }

  async #finish(slot: KeyExchangeSlot, share: Uint8Array): Promise<void> {
    const state = this.#kexState!;
    this.#kexState = undefined;
    try {
      this.#secret = await this.#keyExchange(slot).finish(state, share);
    } finally {
      state.dispose();
    }
  }

  #installKeys(stage: KeyExchangeSlot): void {
    const secret = this.#secret!;
    this.#secret = undefined;
    const transcriptHash = this.#transcript.digest();
    const keys = stage === "primary"
      ? this.#schedule!.mixPrimary(secret, transcriptHash)
      : this.#schedule!.mixSecondary(secret, transcriptHash);
    secret.fill(0);
    const { send, receive } = directionKeys(this.#context.role, keys);
    const aead = this.#aead!;
    const records = this.#context.connection.records;
    records.setSendCipher(new CipherState(aead, send, keys.epoch));
    records.setReceiveCipher(new CipherState(aead, receive, keys.epoch));
    send.fill(0);
    receive.fill(0);
    this.#context.observer.keys(keys.epoch);
  }

  async #prove(kind: "beginAuthentication" | "endAuthentication"): Promise<void> {
    const { options, backend, role, random } = this.#context;
    const identity = options.identity;
    const peer = this.#actor.getSnapshot().context.peer;
    const disclose = identity !== undefined && shouldDiscloseIdentity(options.identityDisclosure, {
      accepts: fromWireIds(SIGNATURES, this.#peerAccepts).includes(identity.algorithm),
      requires: peer.requiresAuthentication === true,
      authenticated: peer.authenticated,
    });
    if (!disclose) return this.#sendFrame({ kind });
    this.#disclosed = true;
    const scheme = backend.signature(identity.algorithm);
    if (scheme === undefined) {
      throw new HandshakeError(
        ErrorCode.UNSUPPORTED_ALGORITHM,
        `Cannot sign: backend "${backend.name}" lacks ${identity.algorithm}`,
      );
    }
    const payload = authenticationPayload(
      role,
      identity.algorithm,
      identity.publicKey,
      this.#transcript.digest(),
    );
    const proof = await scheme.sign(payload, identity.secretKey, random);
    await this.#sendFrame({
      kind,
      identity: {
        signature: SIGNATURES.find((entry) => entry.name === identity.algorithm)!.id,
        publicKey: identity.publicKey,
        proof,
      },
    });
  }

  async #verify(
    message: AuthenticationMessage<"beginAuthentication" | "endAuthentication">,
  ): Promise<void> {
    this.#send({ type: "crypto.verified", verdict: await this.#judge(message) });
  }

  async #judge(
    message: AuthenticationMessage<"beginAuthentication" | "endAuthentication">,
  ): Promise<PeerVerdict> {
    const identity = message.identity;
    if (identity === undefined) return { presented: false, signatureValid: false, access: "none" };
    const [name] = fromWireIds(SIGNATURES, [identity.signature]) as (SignatureName | undefined)[];
    if (name === undefined) return { presented: true, signatureValid: false, access: "none" };
    const { options, backend, role } = this.#context;
    const scheme = options.preferences.signatures.includes(name)
      ? backend.signature(name)
      : undefined;
    const peerRole: Role = role === "initiator" ? "responder" : "initiator";
    const signatureValid = scheme !== undefined &&
      identity.publicKey.length === scheme.publicKeyLength &&
      await scheme.verify(
        identity.proof,
        authenticationPayload(peerRole, name, identity.publicKey, this.#transcriptBeforeLast!),
        identity.publicKey,
      );
    const uuid = formatUuid(derivePeerUuid(name, identity.publicKey));
    const access = options.accessManager?.check(uuid, identity.publicKey) ?? "unknown";
    if (signatureValid) this.#peerPublicKey = identity.publicKey.slice();
    return { presented: true, signatureValid, access, uuid, signature: name };
  }

  #becomeReady(): void {
    const snapshot = this.#actor.getSnapshot();
    const established: Established = {
      suite: snapshot.context.suite!,
      aead: this.#aead!,
      hash: this.#hash!,
      schedule: this.#schedule!,
      epoch: this.#context.connection.records.sendEpoch,
      peer: snapshot.context.peer,
      peerPublicKey: this.#peerPublicKey,
      localAuthenticated: this.#disclosed,
    };
    // Everything is handed over: nothing secret stays here.
    this.#schedule = undefined;
    this.#done = true;
    this.#queue.clear();
    this.#context.observer.ready(established);
  }
}

/**
 * Whether this side requires its peer to authenticate: `requireAuthentication`,
 * or an access manager that denies peers that do not authenticate
 * (`unauthenticated: "deny"`).
 *
 * @param options The session's options.
 * @returns The policy the handshake and every later access re-check apply.
 */
export function requiresAuthentication(
  options: Pick<ResolvedOptions, "requireAuthentication" | "accessManager">,
): boolean {
  return options.requireAuthentication || options.accessManager?.unauthenticated === "deny";
}

/** The phase a command belongs to, for a failure reported after the statechart moved on. */
function phaseOfCommand(command: HandshakeCommand): PhaseName | undefined {
  switch (command.type) {
    case "negotiation.settled":
      return "metaExchange";
    case "keyExchange.offer":
    case "keyExchange.answer":
    case "keyExchange.finish":
    case "keys.install":
      return command.type === "keys.install"
        ? (command.stage === "primary" ? "primaryKeyExchange" : "secondaryKeyExchange")
        : (command.slot === "primary" ? "primaryKeyExchange" : "secondaryKeyExchange");
    case "identity.prove":
    case "identity.verify":
      return "authentication";
    default:
      return undefined;
  }
}

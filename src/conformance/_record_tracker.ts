/**
 * An independent reading of a stream connection: given each direction's
 * salt, the Global Shared Secret and the two shared secrets of the handshake,
 * it opens every record of both directions, follows the transcript and the
 * key schedule, and can seal records of its own under any epoch's keys. It
 * reads datagram connections too ({@linkcode RecordTracker.openDatagram},
 * {@linkcode RecordTracker.sealDatagram}), up to the session's first epoch.
 *
 * It is a straight transcription of PROTOCOL.md (§5 to §7, §10) over
 * noble's primitives (HKDF, ChaCha20, the AEADs, the hashes); it does not use
 * qgate's key schedule, transcript or record layer, so a vector generator
 * that checks qgate's output against it checks the implementation against
 * the specification. Only the message body codec is shared. Given the
 * shared secrets of each key update too, it follows the session past them
 * (PROTOCOL.md §7.2, §7.5, §10.3: with simultaneous starts the responder's
 * BeginKeyUpdate is the one answered).
 *
 * The conformance suite uses it as the adversary's knowledge: with the
 * secrets of its own reference peer it can read the whole handshake and
 * forge a well-sealed message of the wrong kind at any position.
 *
 * @module
 */

import { chacha20, chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { gcm } from "@noble/ciphers/aes.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { type CHash, concatBytes } from "@noble/hashes/utils.js";
import type { Message } from "../codec/message_types.ts";
import { decodeMessage, encodeMessage, messageTypeOf } from "../codec/messages.ts";
import {
  type AeadName,
  AEADS,
  HASHES,
  type HashName,
  KEY_EXCHANGES,
  type KeyExchangeName,
} from "../crypto/types.ts";
import type { Direction } from "./_relay.ts";

const encoder = new TextEncoder();

const HASH_FUNCTIONS: Record<HashName, CHash> = {
  "SHA-256": sha256,
  "SHA-512": sha512,
  "SHA3-256": sha3_256,
  "BLAKE2b": blake2b,
};

/** Key length of every registered AEAD. */
const KEY_LENGTH = 32;

function u16(value: number): Uint8Array {
  return new Uint8Array([value >>> 8, value & 0xff]);
}

function u32(value: number): Uint8Array {
  return new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
}

function nonce(counter: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(length - 8, Math.floor(counter / 2 ** 32));
  view.setUint32(length - 4, counter >>> 0);
  return out;
}

/**
 * `mask = ChaCha20(headerKey, u32 0 ‖ u64 ⌊index / 16⌋)[4·(index mod 16) .. +3]`
 * (PROTOCOL.md §5.1, records on a stream).
 */
export function recordMask(headerKey: Uint8Array, index: number): Uint8Array {
  const block = chacha20(headerKey, nonce(Math.floor(index / 16), 12), new Uint8Array(64));
  const at = 4 * (index % 16);
  return block.slice(at, at + 3);
}

/**
 * PROTOCOL.md §6 "Pre-key protection": the epoch-0 key, the header key (with
 * the GSS mixed in) and the GSS-free opening header key of one salt.
 */
export function preKeysOf(
  salt: Uint8Array,
  globalSharedSecret: Uint8Array | undefined,
): { preKey: Uint8Array; headerKey: Uint8Array; openingHeaderKey: Uint8Array } {
  const gss = globalSharedSecret ?? new Uint8Array(0);
  const header = (ikm: Uint8Array): Uint8Array =>
    expand(sha256, extract(sha256, ikm, salt), encoder.encode("qgate/1 header key"), 32);
  return {
    preKey: expand(
      sha256,
      extract(sha256, concatBytes(encoder.encode("qgate/1 gss"), gss), salt),
      encoder.encode("qgate/1 pre-key"),
      32,
    ),
    headerKey: header(concatBytes(encoder.encode("qgate/1 header"), gss)),
    openingHeaderKey: header(encoder.encode("qgate/1 header")),
  };
}

/** Length of a salt, and of a datagram's header (u16 epoch ‖ u48 sequence). */
const SALT_LENGTH = 16;
const DATAGRAM_HEADER_LENGTH = 8;

/** `mask = ChaCha20(headerKey, nonce = ciphertext[0..12])[0..8]` (PROTOCOL.md §5.2). */
function datagramMask(headerKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return chacha20(headerKey, ciphertext.subarray(0, 12), new Uint8Array(DATAGRAM_HEADER_LENGTH));
}

/** `plaintext = u8 type ‖ u32 bodyLength ‖ body ‖ zeros(padding)` (PROTOCOL.md §5.3). */
function recordPlaintext(
  message: Message | { readonly type: number; readonly body: Uint8Array },
  padding: number,
): Uint8Array {
  const { type, body } = "kind" in message
    ? { type: messageTypeOf(message.kind), body: encodeMessage(message) }
    : message;
  return concatBytes(new Uint8Array([type]), u32(body.length), body, new Uint8Array(padding));
}

interface Sealer {
  seal(counter: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  open(counter: number, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
}

/** A record plaintext's type and body (type ‖ u32 length ‖ body ‖ padding), and its message if it decodes. */
function readPlaintext(
  plaintext: Uint8Array,
): { type: number; body: Uint8Array; message: Message | undefined } {
  const type = plaintext[0]!;
  const length = new DataView(plaintext.buffer, plaintext.byteOffset).getUint32(1);
  const body = plaintext.slice(5, 5 + length);
  try {
    return { type, body, message: decodeMessage(type, body) };
  } catch {
    return { type, body, message: undefined };
  }
}

function sealer(aead: AeadName, key: Uint8Array): Sealer {
  const make = aead === "ChaCha20-Poly1305"
    ? { cipher: chacha20poly1305, nonceLength: 12 }
    : aead === "XChaCha20-Poly1305"
    ? { cipher: xchacha20poly1305, nonceLength: 24 }
    : { cipher: gcm, nonceLength: 12 };
  return {
    seal: (counter, plaintext, aad) =>
      make.cipher(key, nonce(counter, make.nonceLength), aad).encrypt(plaintext),
    open: (counter, ciphertext, aad) => {
      try {
        return make.cipher(key, nonce(counter, make.nonceLength), aad).decrypt(ciphertext);
      } catch {
        return undefined;
      }
    },
  };
}

/** The negotiated algorithms as the tracker read them from EndMetaExchange. */
export interface TrackedSuite {
  readonly primaryKeyExchange: KeyExchangeName;
  readonly secondaryKeyExchange: KeyExchangeName;
  readonly aead: AeadName;
  readonly hash: HashName;
}

/** One record the tracker opened. */
export interface TrackedRecord {
  readonly direction: Direction;
  /** Index in its direction (the header mask position). */
  readonly index: number;
  /** The epoch whose key opened it. */
  readonly epoch: number;
  /** The AEAD counter it was sealed with. */
  readonly counter: number;
  readonly type: number;
  readonly body: Uint8Array;
  /** The decoded message, or `undefined` if the body does not decode. */
  readonly message: Message | undefined;
}

/** Shared secrets of the handshake, as far as they are known. */
export interface TrackerSecrets {
  readonly primary?: Uint8Array | undefined;
  readonly secondary?: Uint8Array | undefined;
  /**
   * Each finished key update's fresh secrets, in order (the update to epoch
   * 3 first): its primary exchange's, then its secondary exchange's.
   */
  readonly updates?: readonly (readonly [Uint8Array, Uint8Array])[];
}

/**
 * The secrets a backend reported in derivation order (the handshake's
 * primary and secondary ones, then two per key update), as
 * {@linkcode TrackerSecrets}.
 */
export function secretsInOrder(secrets: readonly Uint8Array[]): TrackerSecrets {
  const updates: [Uint8Array, Uint8Array][] = [];
  for (let i = 2; i + 1 < secrets.length; i += 2) updates.push([secrets[i]!, secrets[i + 1]!]);
  return { primary: secrets[0], secondary: secrets[1], updates };
}

/** Options of {@linkcode RecordTracker}. */
export interface RecordTrackerOptions {
  /** The Global Shared Secret both peers use, if any. */
  readonly globalSharedSecret?: Uint8Array | undefined;
  /** Returns the shared secrets known so far (asked when epoch 1 or 2 keys are first needed). */
  readonly secrets?: () => TrackerSecrets;
}

interface DirectionState {
  salt: Uint8Array | undefined;
  headerKey: Uint8Array | undefined;
  openingHeaderKey?: Uint8Array | undefined;
  epoch: number;
  /** Records opened in the current epoch. */
  counter: number;
  /** Records seen (opened or not) in this direction. */
  next: number;
}

const HANDSHAKE_TYPES = new Set([0x10, 0x11, 0x20, 0x21, 0x30, 0x31, 0x40, 0x41, 0x50, 0x51]);

/**
 * Follows one stream connection from the outside, both directions at once.
 * Records must be given in the order they were written (the handshake is
 * lock-step, so the order a relay observes them in is that order).
 */
export class RecordTracker {
  readonly #gss: Uint8Array | undefined;
  readonly #secrets: () => TrackerSecrets;
  readonly #state: Record<Direction, DirectionState> = {
    i2r: { salt: undefined, headerKey: undefined, epoch: 0, counter: 0, next: 0 },
    r2i: { salt: undefined, headerKey: undefined, epoch: 0, counter: 0, next: 0 },
  };
  readonly #transcript: { type: number; body: Uint8Array }[] = [];
  readonly #keys = new Map<string, Sealer>();
  #suite: TrackedSuite | undefined;
  #th1: Uint8Array | undefined;
  #th2: Uint8Array | undefined;
  #ck: Uint8Array[] = [];
  /** Per epoch above 2: the BeginKeyUpdate body of each direction and the EndKeyUpdate body. */
  readonly #updates = new Map<
    number,
    { begin: Partial<Record<Direction, Uint8Array>>; end?: Uint8Array; answered?: Direction }
  >();
  /** Every record opened, in order. */
  readonly opened: TrackedRecord[] = [];

  /**
   * Creates a tracker.
   *
   * @param options The GSS and where the shared secrets come from.
   */
  constructor(options: RecordTrackerOptions = {}) {
    this.#gss = options.globalSharedSecret;
    this.#secrets = options.secrets ?? (() => ({}));
  }

  /** The suite read from EndMetaExchange, once seen. */
  get suite(): TrackedSuite | undefined {
    return this.#suite;
  }

  /** The transcript hash after EndPrimaryKeyExchange (`th1`), once seen. */
  get th1(): Uint8Array | undefined {
    return this.#th1;
  }

  /** The transcript hash after EndSecondaryKeyExchange (`th2`), once seen. */
  get th2(): Uint8Array | undefined {
    return this.#th2;
  }

  /** The epoch a direction's next record is expected in. */
  epochOf(direction: Direction): number {
    return this.#state[direction].epoch;
  }

  /** The counter the next record of a direction is expected to carry. */
  counterOf(direction: Direction): number {
    return this.#state[direction].counter;
  }

  /** How many handshake messages the transcript holds. */
  get transcriptLength(): number {
    return this.#transcript.length;
  }

  /**
   * The transcript hash over the first `count` handshake messages opened
   * (default: all of them).
   */
  transcriptHash(count: number = this.#transcript.length): Uint8Array {
    const hash = HASH_FUNCTIONS[this.#suite?.hash ?? "SHA-256"].create();
    hash.update(encoder.encode("qgate/1 transcript"));
    for (const { type, body } of this.#transcript.slice(0, count)) {
      hash.update(new Uint8Array([type])).update(u32(body.length)).update(body);
    }
    return hash.digest();
  }

  /**
   * Records a direction's salt.
   *
   * @param direction The direction.
   * @param salt Its 16-byte salt.
   */
  setSalt(direction: Direction, salt: Uint8Array): void {
    const state = this.#state[direction];
    state.salt = salt.slice();
    const { preKey, headerKey, openingHeaderKey } = preKeysOf(salt, this.#gss);
    state.headerKey = headerKey;
    state.openingHeaderKey = openingHeaderKey;
    this.#keys.set(`${direction}/0`, sealer("ChaCha20-Poly1305", preKey));
  }

  /** The header key of a direction, once its salt is known. */
  headerKey(direction: Direction): Uint8Array | undefined {
    return this.#state[direction].headerKey;
  }

  /**
   * The length mask of a direction's record `index`, once its salt is known:
   * record 0 is masked with the GSS-free opening header key (§6).
   */
  recordMask(direction: Direction, index: number): Uint8Array | undefined {
    const state = this.#state[direction];
    const key = index === 0 ? state.openingHeaderKey : state.headerKey;
    return key === undefined ? undefined : recordMask(key, index);
  }

  /**
   * Opens the next record of a direction with the current epoch's key, or
   * the next epoch's (a key switch), and advances.
   *
   * @param direction The direction.
   * @param header The clear 3-byte length.
   * @param ciphertext Ciphertext and tag.
   * @returns The record, or `undefined` if no known key opens it (nothing advances then
   *   except the record index).
   */
  open(
    direction: Direction,
    header: Uint8Array,
    ciphertext: Uint8Array,
  ): TrackedRecord | undefined {
    const state = this.#state[direction];
    const index = state.next++;
    const attempts: [number, number][] = [[state.epoch, state.counter], [state.epoch + 1, 0]];
    for (const [epoch, counter] of attempts) {
      const key = this.#key(direction, epoch);
      const plaintext = key?.open(counter, ciphertext, header);
      if (plaintext === undefined) continue;
      state.epoch = epoch;
      state.counter = counter + 1;
      const { type, body, message } = readPlaintext(plaintext);
      const record: TrackedRecord = { direction, index, epoch, counter, type, body, message };
      this.opened.push(record);
      this.#onMessage(type, body, message);
      this.#onKeyUpdate(direction, body, message);
      return record;
    }
    return undefined;
  }

  /**
   * Seals a message as a record of `direction` under `epoch`'s key.
   *
   * @param direction The direction.
   * @param message The message (or a raw type and body).
   * @param position The epoch and counter; default: the next record's.
   * @param padding Zero bytes of padding.
   * @returns The clear header and the ciphertext (mask it for its index).
   * @throws {Error} If that epoch's key is not known.
   */
  seal(
    direction: Direction,
    message: Message | { readonly type: number; readonly body: Uint8Array },
    position: { readonly epoch?: number; readonly counter?: number } = {},
    padding = 0,
  ): { header: Uint8Array; ciphertext: Uint8Array } {
    const state = this.#state[direction];
    const epoch = position.epoch ?? state.epoch;
    const counter = position.counter ?? state.counter;
    const key = this.#key(direction, epoch);
    if (key === undefined) throw new Error(`Cannot seal: no ${direction} key for epoch ${epoch}`);
    const plaintext = recordPlaintext(message, padding);
    const length = plaintext.length + 16;
    const header = new Uint8Array([(length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
    return { header, ciphertext: key.seal(counter, plaintext, header) };
  }

  /**
   * Opens one datagram of a direction (PROTOCOL.md §5.2: `[salt] ‖
   * maskedHeader ‖ ciphertext`, the header `u16 epoch ‖ u48 sequence`
   * masked with `ChaCha20(headerKey, ciphertext[0..12])`) under the key of
   * the epoch its header names. The direction's salt is adopted from the
   * first epoch-0 datagram that authenticates. Datagrams may come in any
   * order and more than once: a handshake message already in the transcript
   * (same type and body, a retransmission) is not added again.
   *
   * @param direction The direction.
   * @param datagram The datagram as its sender wrote it.
   * @returns The record (`counter` is its sequence number), or `undefined`
   *   if it is malformed or no known key opens it.
   */
  openDatagram(direction: Direction, datagram: Uint8Array): TrackedRecord | undefined {
    const state = this.#state[direction];
    const index = state.next++;
    const known = state.salt;
    const salted = known === undefined ||
      (datagram.length >= SALT_LENGTH && known.every((byte, i) => datagram[i] === byte));
    const record = salted ? datagram.subarray(SALT_LENGTH) : datagram;
    if (datagram.length < SALT_LENGTH || record.length < DATAGRAM_HEADER_LENGTH + 17) {
      return undefined;
    }
    const candidate = known === undefined ? datagram.slice(0, SALT_LENGTH) : undefined;
    const candidateKeys = candidate === undefined ? undefined : preKeysOf(candidate, this.#gss);
    const headerKey = candidateKeys?.headerKey ?? state.headerKey!;
    const ciphertext = record.subarray(DATAGRAM_HEADER_LENGTH);
    const mask = datagramMask(headerKey, ciphertext);
    const header = Uint8Array.from(
      record.subarray(0, DATAGRAM_HEADER_LENGTH),
      (b, i) => b ^ mask[i]!,
    );
    const view = new DataView(header.buffer);
    const epoch = view.getUint16(0);
    const sequence = view.getUint16(2) * 2 ** 32 + view.getUint32(4);
    if (salted !== (epoch === 0)) return undefined;
    const key = candidateKeys === undefined
      ? this.#key(direction, epoch)
      : sealer("ChaCha20-Poly1305", candidateKeys.preKey);
    const plaintext = key?.open(sequence, ciphertext, header);
    if (plaintext === undefined) return undefined;
    if (candidate !== undefined) this.setSalt(direction, candidate);
    state.epoch = Math.max(state.epoch, epoch);
    const { type, body, message } = readPlaintext(plaintext);
    const opened: TrackedRecord = {
      direction,
      index,
      epoch,
      counter: sequence,
      type,
      body,
      message,
    };
    this.opened.push(opened);
    const copy = this.#transcript.some((entry) =>
      entry.type === type && entry.body.length === body.length &&
      entry.body.every((byte, i) => body[i] === byte)
    );
    if (!copy) this.#onMessage(type, body, message);
    return opened;
  }

  /**
   * Seals a message as a datagram of `direction` (PROTOCOL.md §5.2) under
   * `epoch`'s key at `sequence`; an epoch-0 datagram carries the
   * direction's salt in front.
   *
   * @param direction The direction.
   * @param message The message (or a raw type and body).
   * @param position The epoch and the sequence number.
   * @param padding Zero bytes of padding.
   * @returns The datagram, as the receiver reads it.
   * @throws {Error} If that epoch's key (or, for epoch 0, the salt) is not known.
   */
  sealDatagram(
    direction: Direction,
    message: Message | { readonly type: number; readonly body: Uint8Array },
    position: { readonly epoch: number; readonly sequence: number },
    padding = 0,
  ): Uint8Array {
    const { epoch, sequence } = position;
    const state = this.#state[direction];
    const key = this.#key(direction, epoch);
    if (key === undefined || state.salt === undefined) {
      throw new Error(`Cannot seal: no ${direction} key for epoch ${epoch}`);
    }
    const header = new Uint8Array(DATAGRAM_HEADER_LENGTH);
    const view = new DataView(header.buffer);
    view.setUint16(0, epoch);
    view.setUint16(2, Math.floor(sequence / 2 ** 32));
    view.setUint32(4, sequence >>> 0);
    const ciphertext = key.seal(sequence, recordPlaintext(message, padding), header);
    const mask = datagramMask(state.headerKey!, ciphertext);
    return concatBytes(
      epoch === 0 ? state.salt : new Uint8Array(0),
      header.map((byte, i) => byte ^ mask[i]!),
      ciphertext,
    );
  }

  /**
   * The exporter (PROTOCOL.md §7.4), once epoch 2 is known.
   *
   * @returns `undefined` before `th2` and the secondary secret are known.
   */
  exporter(label: string, context: Uint8Array, length: number): Uint8Array | undefined {
    const ck2 = this.#chainingKey(2);
    if (ck2 === undefined || this.#th2 === undefined || this.#suite === undefined) return undefined;
    const hash = HASH_FUNCTIONS[this.#suite.hash];
    const secret = expand(
      hash,
      ck2,
      concatBytes(encoder.encode("qgate/1 exporter"), this.#th2),
      hash.outputLen,
    );
    const labelBytes = encoder.encode(label);
    return expand(
      hash,
      secret,
      concatBytes(
        encoder.encode("qgate/1 export "),
        u16(labelBytes.length),
        labelBytes,
        u32(context.length),
        context,
      ),
      length,
    );
  }

  #onMessage(type: number, body: Uint8Array, message: Message | undefined): void {
    if (!HANDSHAKE_TYPES.has(type)) return;
    this.#transcript.push({ type, body: body.slice() });
    if (message?.kind === "endMetaExchange") {
      const aead = AEADS.find((entry) => entry.id === message.aead)?.name;
      const hash = HASHES.find((entry) => entry.id === message.hash)?.name;
      const primary = KEY_EXCHANGES.find((entry) => entry.id === message.primaryKeyExchange)?.name;
      const secondary = KEY_EXCHANGES.find((entry) => entry.id === message.secondaryKeyExchange)
        ?.name;
      if (
        aead !== undefined && hash !== undefined && primary !== undefined &&
        secondary !== undefined
      ) {
        this.#suite = { primaryKeyExchange: primary, secondaryKeyExchange: secondary, aead, hash };
      }
    } else if (message?.kind === "endPrimaryKeyExchange") {
      this.#th1 = this.transcriptHash();
    } else if (message?.kind === "endSecondaryKeyExchange") {
      this.#th2 = this.transcriptHash();
    }
  }

  #onKeyUpdate(direction: Direction, body: Uint8Array, message: Message | undefined): void {
    if (message?.kind !== "beginKeyUpdate" && message?.kind !== "endKeyUpdate") return;
    let update = this.#updates.get(message.epoch);
    if (update === undefined) {
      update = { begin: {} };
      this.#updates.set(message.epoch, update);
    }
    if (message.kind === "beginKeyUpdate") update.begin[direction] ??= body.slice();
    else if (update.end === undefined) {
      update.end = body.slice();
      // The EndKeyUpdate answers the other direction's BeginKeyUpdate.
      update.answered = direction === "i2r" ? "r2i" : "i2r";
    }
  }

  /** `H("qgate/1 key update" ‖ u32 epoch ‖ BeginKeyUpdate body ‖ EndKeyUpdate body)` (§7.5). */
  #updateTranscript(epoch: number): Uint8Array | undefined {
    const update = this.#updates.get(epoch);
    const begin = update?.answered === undefined ? undefined : update.begin[update.answered];
    if (begin === undefined || update?.end === undefined || this.#suite === undefined) {
      return undefined;
    }
    return HASH_FUNCTIONS[this.#suite.hash].create()
      .update(encoder.encode("qgate/1 key update"))
      .update(u32(epoch))
      .update(begin)
      .update(update.end)
      .digest();
  }

  #chainingKey(stage: number): Uint8Array | undefined {
    if (this.#ck[stage] !== undefined) return this.#ck[stage];
    if (this.#suite === undefined) return undefined;
    const hash = HASH_FUNCTIONS[this.#suite.hash];
    if (stage === 0) {
      this.#ck[0] = extract(
        hash,
        this.#gss ?? new Uint8Array(0),
        encoder.encode("qgate/1 chaining key"),
      );
      return this.#ck[0];
    }
    const secrets = this.#secrets();
    const fresh = secrets.updates?.[stage - 3];
    const secret = stage === 1
      ? secrets.primary
      : stage === 2
      ? secrets.secondary
      : fresh === undefined
      ? undefined
      : concatBytes(fresh[0], fresh[1]);
    const previous = this.#chainingKey(stage - 1);
    if (secret === undefined || previous === undefined) return undefined;
    this.#ck[stage] = extract(hash, secret, previous);
    return this.#ck[stage];
  }

  #key(direction: Direction, epoch: number): Sealer | undefined {
    const cached = this.#keys.get(`${direction}/${epoch}`);
    if (cached !== undefined || epoch === 0) return cached;
    const th = epoch === 1 ? this.#th1 : epoch === 2 ? this.#th2 : this.#updateTranscript(epoch);
    const ck = this.#chainingKey(epoch);
    if (th === undefined || ck === undefined || this.#suite === undefined) return undefined;
    const key = expand(
      HASH_FUNCTIONS[this.#suite.hash],
      ck,
      concatBytes(encoder.encode("qgate/1 traffic "), encoder.encode(direction), u32(epoch), th),
      KEY_LENGTH,
    );
    const made = sealer(this.#suite.aead, key);
    this.#keys.set(`${direction}/${epoch}`, made);
    return made;
  }
}

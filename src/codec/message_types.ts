/**
 * Message kinds and typed message bodies: the vocabulary every layer shares.
 *
 * Encoding lives in `messages.ts`; this file holds only the types and the
 * stable wire numbers, so that machines can import names without codec code.
 *
 * @module
 */

/** The protocol version this implementation speaks. A different major fails the meta exchange. */
export const PROTOCOL_VERSION: { readonly major: number; readonly minor: number } = {
  major: 1,
  minor: 0,
};

/** Stable one-byte wire numbers of every message kind. */
export const MESSAGE_TYPE: {
  readonly noise: 0x01;
  readonly beginMetaExchange: 0x10;
  readonly endMetaExchange: 0x11;
  readonly beginPrimaryKeyExchange: 0x20;
  readonly endPrimaryKeyExchange: 0x21;
  readonly beginSecondaryKeyExchange: 0x30;
  readonly endSecondaryKeyExchange: 0x31;
  readonly beginAuthentication: 0x40;
  readonly endAuthentication: 0x41;
  readonly beginSessionInit: 0x50;
  readonly endSessionInit: 0x51;
  readonly beginKeyUpdate: 0x60;
  readonly endKeyUpdate: 0x61;
  readonly keyUpdateReady: 0x62;
  readonly extenderData: 0x70;
  readonly extenderUpdate: 0x71;
  readonly close: 0x7f;
  readonly extenderDataContinuation: 0x72;
} = {
  noise: 0x01,
  beginMetaExchange: 0x10,
  endMetaExchange: 0x11,
  beginPrimaryKeyExchange: 0x20,
  endPrimaryKeyExchange: 0x21,
  beginSecondaryKeyExchange: 0x30,
  endSecondaryKeyExchange: 0x31,
  beginAuthentication: 0x40,
  endAuthentication: 0x41,
  beginSessionInit: 0x50,
  endSessionInit: 0x51,
  beginKeyUpdate: 0x60,
  endKeyUpdate: 0x61,
  keyUpdateReady: 0x62,
  extenderData: 0x70,
  extenderUpdate: 0x71,
  close: 0x7f,
  extenderDataContinuation: 0x72,
};

/** The name of a message kind, e.g. `"beginMetaExchange"`. */
export type MessageKind = keyof typeof MESSAGE_TYPE;

/** The ten handshake message kinds, in protocol order. */
export const HANDSHAKE_KINDS = [
  "beginMetaExchange",
  "endMetaExchange",
  "beginPrimaryKeyExchange",
  "endPrimaryKeyExchange",
  "beginSecondaryKeyExchange",
  "endSecondaryKeyExchange",
  "beginAuthentication",
  "endAuthentication",
  "beginSessionInit",
  "endSessionInit",
] as const;

/** One of the ten handshake message kinds. */
export type HandshakeKind = (typeof HANDSHAKE_KINDS)[number];

const HANDSHAKE_KIND_SET: ReadonlySet<string> = new Set(HANDSHAKE_KINDS);

/**
 * Whether `kind` is one of the ten handshake message kinds.
 *
 * @param kind A message kind.
 * @returns `true` for `beginMetaExchange` … `endSessionInit`.
 */
export function isHandshakeKind(kind: string): kind is HandshakeKind {
  return HANDSHAKE_KIND_SET.has(kind);
}

/** Random filler; dropped on receipt in every state. */
export interface NoiseMessage {
  /** The message kind. */
  readonly kind: "noise";
  /** Random bytes (any length the record allows). */
  readonly data: Uint8Array;
}

/** Responder → initiator: version, session id, policy and ordered algorithm preferences. */
export interface BeginMetaExchangeMessage {
  /** The message kind. */
  readonly kind: "beginMetaExchange";
  /** The sender's protocol version. */
  readonly version: { readonly major: number; readonly minor: number };
  /** The responder's random 64-bit session id (8 bytes). */
  readonly sessionId: Uint8Array;
  /** Whether the responder requires the initiator to authenticate. */
  readonly requireAuthentication: boolean;
  /** Wire ids in preference order, most preferred first; each list 1–255 unique ids. */
  readonly primaryKeyExchanges: readonly number[];
  /** Post-quantum key exchanges, same rules. */
  readonly secondaryKeyExchanges: readonly number[];
  /** AEADs, same rules. */
  readonly aeads: readonly number[];
  /** Hash functions, same rules. */
  readonly hashes: readonly number[];
  /** Identity signature schemes the responder can verify. */
  readonly signatures: readonly number[];
}

/** Initiator → responder: version, session id, policy and the chosen suite. */
export interface EndMetaExchangeMessage {
  /** The message kind. */
  readonly kind: "endMetaExchange";
  /** The sender's protocol version. */
  readonly version: { readonly major: number; readonly minor: number };
  /** The initiator's random 64-bit session id (8 bytes). */
  readonly sessionId: Uint8Array;
  /** Whether the initiator requires the responder to authenticate. */
  readonly requireAuthentication: boolean;
  /** The chosen classical key exchange (wire id). */
  readonly primaryKeyExchange: number;
  /** The chosen post-quantum key exchange (wire id). */
  readonly secondaryKeyExchange: number;
  /** The chosen AEAD (wire id). */
  readonly aead: number;
  /** The chosen hash function (wire id). */
  readonly hash: number;
  /** Identity signature schemes the initiator can verify (1–255 unique ids). */
  readonly signatures: readonly number[];
}

/** A key-exchange offer or answer: raw public bytes whose length the algorithm fixes. */
export interface KeyShareMessage<
  Kind extends
    | "beginPrimaryKeyExchange"
    | "endPrimaryKeyExchange"
    | "beginSecondaryKeyExchange"
    | "endSecondaryKeyExchange",
> {
  /** The message kind. */
  readonly kind: Kind;
  /** Offer: a DH public key or KEM encapsulation key; answer: a DH public key or ciphertext. */
  readonly share: Uint8Array;
}

/** A signed identity proof, or none (one-sided or anonymous authentication). */
export interface AuthenticationMessage<Kind extends "beginAuthentication" | "endAuthentication"> {
  /** The message kind. */
  readonly kind: Kind;
  /** `undefined` when the sender does not authenticate. */
  readonly identity?: {
    /** The identity signature scheme (wire id). */
    readonly signature: number;
    /** The identity public key. */
    readonly publicKey: Uint8Array;
    /** The signature over role, key and transcript hash. */
    readonly proof: Uint8Array;
  };
}

/** The sender's running extenders: strictly ascending unique 16-byte UUIDs. */
export interface SessionInitMessage<Kind extends "beginSessionInit" | "endSessionInit"> {
  /** The message kind. */
  readonly kind: Kind;
  /** 16-byte extender UUIDs, strictly ascending. */
  readonly extenders: readonly Uint8Array[];
  /**
   * The largest application message the sender accepts, in bytes (a u32, at
   * least 1,024). Absent means the default, 1,048,576 (1 MiB).
   */
  readonly maxMessageSize?: number;
}

/** Either side starts a key update: a fresh classical and post-quantum offer. */
export interface BeginKeyUpdateMessage {
  /** The message kind. */
  readonly kind: "beginKeyUpdate";
  /** The epoch the update will create. */
  readonly epoch: number;
  /** The fresh classical offer. */
  readonly primaryShare: Uint8Array;
  /** The fresh post-quantum offer. */
  readonly secondaryShare: Uint8Array;
}

/** The answer to a key update. */
export interface EndKeyUpdateMessage {
  /** The message kind. */
  readonly kind: "endKeyUpdate";
  /** The epoch being created. */
  readonly epoch: number;
  /** The classical answer. */
  readonly primaryShare: Uint8Array;
  /** The post-quantum answer. */
  readonly secondaryShare: Uint8Array;
}

/** The starter's last record under the old epoch. */
export interface KeyUpdateReadyMessage {
  /** The message kind. */
  readonly kind: "keyUpdateReady";
  /** The epoch the records after this one use. */
  readonly epoch: number;
}

/** Application data for one extender. */
export interface ExtenderDataMessage {
  /** The message kind. */
  readonly kind: "extenderData";
  /** 16-byte extender UUID. */
  readonly extender: Uint8Array;
  /**
   * The length of the whole application message, of which `data` is the
   * first chunk (a u32; at least `data.length`). Absent when the message is
   * whole in this record (the total equals `data.length`); the rest follows
   * in {@linkcode ExtenderDataContinuationMessage}s.
   */
  readonly total?: number;
  /** The application bytes (the first chunk when `total` is larger). */
  readonly data: Uint8Array;
}

/** The next chunk of the application message an {@linkcode ExtenderDataMessage} started. */
export interface ExtenderDataContinuationMessage {
  /** The message kind. */
  readonly kind: "extenderDataContinuation";
  /** The chunk: 1 or more bytes. */
  readonly data: Uint8Array;
}

/** The sender's full current extender list. */
export interface ExtenderUpdateMessage {
  /** The message kind. */
  readonly kind: "extenderUpdate";
  /** 16-byte extender UUIDs, strictly ascending. */
  readonly extenders: readonly Uint8Array[];
}

/** Orderly close with a coarse reason (0 = normal, 1 = error). */
export interface CloseMessage {
  /** The message kind. */
  readonly kind: "close";
  /** 0 for a normal close, 1 for an error. */
  readonly reason: number;
}

/** Every message, discriminated by `kind`. */
export type Message =
  | NoiseMessage
  | BeginMetaExchangeMessage
  | EndMetaExchangeMessage
  | KeyShareMessage<"beginPrimaryKeyExchange">
  | KeyShareMessage<"endPrimaryKeyExchange">
  | KeyShareMessage<"beginSecondaryKeyExchange">
  | KeyShareMessage<"endSecondaryKeyExchange">
  | AuthenticationMessage<"beginAuthentication">
  | AuthenticationMessage<"endAuthentication">
  | SessionInitMessage<"beginSessionInit">
  | SessionInitMessage<"endSessionInit">
  | BeginKeyUpdateMessage
  | EndKeyUpdateMessage
  | KeyUpdateReadyMessage
  | ExtenderDataMessage
  | ExtenderUpdateMessage
  | ExtenderDataContinuationMessage
  | CloseMessage;

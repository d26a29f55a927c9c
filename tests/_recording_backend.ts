/**
 * Recording crypto backends for tests: a backend (noble's by default) behind
 * a wrapper that reports what passes through it and otherwise changes
 * nothing, so a test can see what the code under test really does with the
 * backend: which ciphers it creates and releases, which keys it hands over
 * (and whether it wipes them afterwards), which nonces it seals with, which
 * secrets the key exchanges and HKDF return.
 *
 * - {@linkcode recordingBackend}: any backend, any of the {@linkcode BackendTaps};
 * - {@linkcode recordingHash}: one hash function, its {@linkcode HashTaps};
 * - {@linkcode cipherLog}: the common case, each cipher's creation and disposal
 *   logged as `create N` / `dispose N`, and the key arrays as passed.
 *
 * Taps receive the arrays themselves, not copies: a test that wants the
 * value at that moment copies it; a test that checks a wipe keeps the
 * reference. Taps run after the inner call returned (a call that throws is
 * not reported), except `dispose`, reported before the inner dispose.
 */

import type {
  Aead,
  AeadCipher,
  CryptoBackend,
  HashFunction,
  HkdfExpander,
  KeyExchange,
  KeyExchangeAnswer,
} from "../src/crypto/mod.ts";
import { nobleBackend } from "../mod.ts";

/** What a recording hash function reports (each tap optional; `hash` is the inner one). */
export interface HashTaps {
  /** An HMAC: its key, its data and the MAC returned. */
  readonly hmac?: (key: Uint8Array, data: Uint8Array, mac: Uint8Array, hash: HashFunction) => void;
  /** An HKDF-Extract: the salt, the input keying material and the PRK returned. */
  readonly extract?: (
    salt: Uint8Array,
    ikm: Uint8Array,
    prk: Uint8Array,
    hash: HashFunction,
  ) => void;
  /**
   * An HKDF-Expand through `expand()`: the PRK, the info, the length and the
   * output. Expansions through an expander are not seen here (see
   * {@linkcode RecordingOptions.expander}).
   */
  readonly expand?: (
    prk: Uint8Array,
    info: Uint8Array,
    length: number,
    okm: Uint8Array,
    hash: HashFunction,
  ) => void;
  /** An expander keyed with `prk` (when the inner hash offers expanders and they are kept). */
  readonly expander?: (prk: Uint8Array, hash: HashFunction) => void;
}

/** What a recording backend reports (each tap optional). */
export interface BackendTaps extends HashTaps {
  /**
   * A cipher was created from `key`; `id` numbers the ciphers of this
   * backend from 0 in creation order (the other cipher taps name it).
   */
  readonly createCipher?: (key: Uint8Array, id: number, aead: Aead) => void;
  /** Cipher `id` sealed `plaintext` under `nonce`. */
  readonly seal?: (id: number, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) => void;
  /** Cipher `id` opened `ciphertext` (tag included) under `nonce`. */
  readonly open?: (id: number, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array) => void;
  /** Cipher `id` returned `plaintext` from an `open` that authenticated (the array itself). */
  readonly opened?: (id: number, plaintext: Uint8Array) => void;
  /** Cipher `id` is disposed (reported on every call, repeats included). */
  readonly dispose?: (id: number) => void;
  /** A key exchange returned a shared secret, to the answerer or to the offerer's `finish`. */
  readonly sharedSecret?: (
    secret: Uint8Array,
    exchange: KeyExchange,
    step: "answer" | "finish",
  ) => void;
}

/** How a recording backend differs from its inner one beyond the taps. */
export interface RecordingOptions {
  /** The backend's name (default `recording(<inner name>)`). */
  readonly name?: string;
  /**
   * Whether `seal` passes its `output` argument on (default `true`); `false`
   * makes every cipher return a fresh array, as a third-party AEAD may.
   */
  readonly passOutput?: boolean;
  /**
   * Whether hash functions keep the inner one's `expander` (default `true`);
   * `false` hides it, so that every expansion goes through `expand()` and
   * {@linkcode HashTaps.expand} sees every output.
   */
  readonly expander?: boolean;
}

/**
 * Wraps one hash function.
 *
 * @param inner The hash function doing the work.
 * @param taps What to report.
 * @param options `expander: false` hides the inner expander.
 * @returns The wrapped hash function.
 */
export function recordingHash(
  inner: HashFunction,
  taps: HashTaps,
  options: Pick<RecordingOptions, "expander"> = {},
): HashFunction {
  const hash: HashFunction = {
    ...inner,
    hmac(key, data): Uint8Array<ArrayBuffer> {
      const mac = inner.hmac(key, data);
      taps.hmac?.(key, data, mac, inner);
      return mac;
    },
    extract(salt, ikm): Uint8Array<ArrayBuffer> {
      const prk = inner.extract(salt, ikm);
      taps.extract?.(salt, ikm, prk, inner);
      return prk;
    },
    expand(prk, info, length): Uint8Array<ArrayBuffer> {
      const okm = inner.expand(prk, info, length);
      taps.expand?.(prk, info, length, okm, inner);
      return okm;
    },
  };
  if (options.expander === false || inner.expander === undefined) {
    delete hash.expander;
  } else {
    const expander = inner.expander.bind(inner);
    hash.expander = (prk): HkdfExpander => {
      const made = expander(prk);
      taps.expander?.(prk, inner);
      return made;
    };
  }
  return hash;
}

/**
 * Wraps a backend: AEADs, key exchanges and hash functions report through
 * `taps`; signatures pass through untouched.
 *
 * @param inner The backend doing the work.
 * @param taps What to report.
 * @param options The name, and whether `output` and expanders are passed on.
 * @returns The wrapped backend.
 */
export function recordingBackend(
  inner: CryptoBackend,
  taps: BackendTaps,
  options: RecordingOptions = {},
): CryptoBackend {
  let created = 0;
  const passOutput = options.passOutput ?? true;
  const wrapAead = (aead: Aead): Aead => ({
    ...aead,
    createCipher(key): AeadCipher {
      const cipher = aead.createCipher(key);
      const id = created++;
      taps.createCipher?.(key, id, aead);
      return {
        seal(nonce, plaintext, aad, output): Promise<Uint8Array<ArrayBuffer>> {
          taps.seal?.(id, nonce, plaintext, aad);
          return passOutput
            ? cipher.seal(nonce, plaintext, aad, output)
            : cipher.seal(nonce, plaintext, aad);
        },
        open(nonce, ciphertext, aad): Promise<Uint8Array<ArrayBuffer> | undefined> {
          taps.open?.(id, nonce, ciphertext, aad);
          const opening = cipher.open(nonce, ciphertext, aad);
          if (taps.opened === undefined) return opening;
          return opening.then((plaintext) => {
            if (plaintext !== undefined) taps.opened?.(id, plaintext);
            return plaintext;
          });
        },
        dispose(): void {
          taps.dispose?.(id);
          cipher.dispose();
        },
      };
    },
  });
  const wrapKeyExchange = (exchange: KeyExchange): KeyExchange => ({
    ...exchange,
    async answer(offer, random): Promise<KeyExchangeAnswer> {
      const result = await exchange.answer(offer, random);
      taps.sharedSecret?.(result.sharedSecret, exchange, "answer");
      return result;
    },
    async finish(state, answer): Promise<Uint8Array<ArrayBuffer>> {
      const secret = await exchange.finish(state, answer);
      taps.sharedSecret?.(secret, exchange, "finish");
      return secret;
    },
  });
  return {
    name: options.name ?? `recording(${inner.name})`,
    keyExchange: (name) => {
      const exchange = inner.keyExchange(name);
      return exchange === undefined ? undefined : wrapKeyExchange(exchange);
    },
    signature: (name) => inner.signature(name),
    aead: (name) => {
      const aead = inner.aead(name);
      return aead === undefined ? undefined : wrapAead(aead);
    },
    hash: (name) => {
      const hash = inner.hash(name);
      return hash === undefined ? undefined : recordingHash(hash, taps, options);
    },
  };
}

/** A backend whose cipher lifecycle is logged, from {@linkcode cipherLog}. */
export interface CipherLog {
  /** The backend. */
  readonly backend: CryptoBackend;
  /** `create N` and `dispose N` in call order (`N` numbers the ciphers from 0). */
  readonly log: string[];
  /** The key array each cipher was created from, by number (not copies: wipes show). */
  readonly keys: Uint8Array[];
}

/**
 * A backend (noble's by default) that numbers every cipher it creates,
 * keeps the key array it was created from, and logs each `createCipher` and
 * `dispose`: a test sees whether a key is really released in the backend,
 * not only marked unusable above it, and whether a key handed over is wiped.
 *
 * @param inner The backend doing the work.
 * @returns The backend, its log and the keys.
 */
export function cipherLog(inner: CryptoBackend = nobleBackend): CipherLog {
  const log: string[] = [];
  const keys: Uint8Array[] = [];
  const backend = recordingBackend(inner, {
    createCipher: (key, id) => {
      keys.push(key);
      log.push(`create ${id}`);
    },
    dispose: (id) => log.push(`dispose ${id}`),
  }, { name: "recording" });
  return { backend, log, keys };
}

/**
 * How many entries of a {@linkcode CipherLog} log are creations or disposals.
 *
 * @param log The log.
 * @param what `create` or `dispose`.
 * @returns The count.
 */
export function countOf(log: readonly string[], what: "create" | "dispose"): number {
  return log.filter((entry) => entry.startsWith(`${what} `)).length;
}

/** The HKDF buffers a {@linkcode hkdfRecorder} has seen, in call order. */
export interface HkdfRecord {
  /** Every `ikm` handed to `extract`. */
  readonly ikms: Uint8Array[];
  /** Every pseudorandom key `extract` returned. */
  readonly prks: Uint8Array[];
  /** Every output `expand` returned. */
  readonly outputs: Uint8Array[];
}

/** Whether every byte of `bytes` is zero. */
export function isWiped(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

/**
 * noble's backend, or its SHA-256 alone, with every HKDF buffer kept (no
 * expanders, so every expansion is seen): for tests that check which
 * intermediate secrets the code under test wiped.
 *
 * @returns The backend, its SHA-256 and the record both fill.
 */
export function hkdfRecorder(): {
  backend: CryptoBackend;
  sha256: HashFunction;
  record: HkdfRecord;
} {
  const record: HkdfRecord = { ikms: [], prks: [], outputs: [] };
  const taps: HashTaps = {
    extract: (_salt, ikm, prk) => {
      record.ikms.push(ikm);
      record.prks.push(prk);
    },
    expand: (_prk, _info, _length, okm) => record.outputs.push(okm),
  };
  const backend = recordingBackend(nobleBackend, taps, { name: "hkdf-recorder", expander: false });
  return { backend, sha256: backend.hash("SHA-256")!, record };
}

/**
 * Runs `run` and returns what it returned with every copy of `secret` made
 * meanwhile through `Uint8Array.from(secret)`: how the codecs copy a GSS, so
 * that a test can check each copy is wiped when it should be.
 *
 * @param secret The array whose copies are wanted.
 * @param run What makes the copies (synchronously).
 * @returns `run`'s value and the copies, in order.
 */
export function copiesMadeOf<T>(
  secret: Uint8Array,
  run: () => T,
): { value: T; copies: Uint8Array[] } {
  const copies: Uint8Array[] = [];
  const from = Uint8Array.from;
  Uint8Array.from = function (
    this: typeof Uint8Array,
    ...args: Parameters<typeof from>
  ): Uint8Array<ArrayBuffer> {
    const copy = from.apply(this, args);
    if (args[0] === secret) copies.push(copy);
    return copy;
  } as typeof from;
  try {
    return { value: run(), copies };
  } finally {
    Uint8Array.from = from;
  }
}

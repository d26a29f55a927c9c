/**
 * Benchmark scenarios, shared by the `Deno.bench` files, the summary printer
 * and the smoke test. Each scenario is a `run()` that performs one unit of
 * work (one handshake, one record round trip) plus, where it holds
 * resources, a `close()`.
 *
 * The handshake everywhere is the hybrid suite with mutual authentication:
 * X25519 + ML-KEM-768 + Ed25519 identities, ChaCha20-Poly1305, SHA-256.
 */

import { chacha20 } from "@noble/ciphers/chacha.js";
import {
  type Aead,
  type AeadCipher,
  type CryptoBackend,
  derivePreKeys,
  type Hasher,
  type HashFunction,
  type KeyExchange,
  type KeyExchangeAnswer,
  type KeyExchangeOffer,
  type KeyExchangeState,
  type SignatureKeyPair,
  type SignatureScheme,
} from "../../src/crypto/mod.ts";
import {
  AccessManager,
  connTransport,
  createMemoryPair,
  initiate,
  nobleBackend,
  peerUuidOf,
  respond,
  type Session,
  type SessionOptions,
  systemRandom,
  type Transport,
} from "../../mod.ts";
import { selfSignedCertificate } from "./_certs.ts";

/** One unit of benchmark work and the resources it holds. */
export interface Scenario {
  /** Performs one unit of work. */
  run(): Promise<void>;
  /** Releases listeners, sessions and pipes. */
  close(): Promise<void>;
}

/** The largest application payload the record benchmarks send: what fits one record. */
export const ONE_RECORD = 65_000;

/** A key exchange that costs nothing: shares are random bytes, the secret their XOR. */
function freeKeyExchange(real: KeyExchange): KeyExchange {
  const length = 32;
  const xor = (a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = a[i]! ^ b[i]!;
    return out;
  };
  return {
    name: real.name,
    id: real.id,
    kind: real.kind,
    offerLength: real.offerLength,
    answerLength: real.answerLength,
    offer(random): Promise<KeyExchangeOffer> {
      const offer = new Uint8Array(real.offerLength);
      offer.set(random(length));
      const state = { secret: offer.slice(0, length), dispose(): void {} };
      return Promise.resolve({ offer, state: state as unknown as KeyExchangeState });
    },
    answer(offer, random): Promise<KeyExchangeAnswer> {
      const answer = new Uint8Array(real.answerLength);
      answer.set(random(length));
      return Promise.resolve({ answer, sharedSecret: xor(offer, answer) });
    },
    finish(state, answer): Promise<Uint8Array<ArrayBuffer>> {
      return Promise.resolve(xor((state as unknown as { secret: Uint8Array }).secret, answer));
    },
  };
}

/** A signature scheme that costs nothing: every proof is zeros and verifies. */
function freeSignature(real: SignatureScheme): SignatureScheme {
  return {
    ...real,
    generateKeyPair: (options) => real.generateKeyPair(options),
    sign: () => Promise.resolve(new Uint8Array(real.signatureLength)),
    verify: () => Promise.resolve(true),
  };
}

/**
 * A backend whose key exchanges and signatures cost nothing (and protect
 * nothing), over `base`'s AEADs and hashes: a handshake with it measures the
 * protocol's own work (symmetric crypto, codec, statecharts, runtime).
 * Benchmarks only.
 */
export function freeCryptoBackend(base: CryptoBackend): CryptoBackend {
  return {
    name: `free key exchanges and signatures over ${base.name}`,
    keyExchange: (name) => {
      const real = base.keyExchange(name);
      return real === undefined ? undefined : freeKeyExchange(real);
    },
    signature: (name) => {
      const real = base.signature(name);
      return real === undefined ? undefined : freeSignature(real);
    },
    aead: (name) => base.aead(name),
    hash: (name) => base.hash(name),
  };
}

/** The extender both peers run in the record benchmarks. */
export const EXTENDER = "6c1b1f5e-8d9a-4c3b-9f2e-0a1b2c3d4e5f";

/** The suite every handshake benchmark negotiates. */
export const SUITE: NonNullable<SessionOptions["algorithms"]> = {
  primaryKeyExchanges: ["X25519"],
  secondaryKeyExchanges: ["ML-KEM-768"],
  aeads: ["ChaCha20-Poly1305"],
  hashes: ["SHA-256"],
  signatures: ["Ed25519"],
};

/** Two identities that know each other. */
export interface Peers {
  readonly alice: SignatureKeyPair;
  readonly bob: SignatureKeyPair;
  readonly access: AccessManager;
}

/** Creates the two Ed25519 identities and an access manager that allows both. */
export async function peers(): Promise<Peers> {
  const scheme = nobleBackend.signature("Ed25519")!;
  const alice = await scheme.generateKeyPair({ seed: new Uint8Array(32).fill(1) });
  const bob = await scheme.generateKeyPair({ seed: new Uint8Array(32).fill(2) });
  const access = new AccessManager();
  for (const pair of [alice, bob]) {
    access.addPeer(peerUuidOf(pair.algorithm, pair.publicKey), pair.publicKey);
  }
  return { alice, bob, access };
}

function options(
  identity: SignatureKeyPair,
  access: AccessManager,
  backend: CryptoBackend,
  extenders: readonly string[] = [],
): SessionOptions {
  return { identity, accessManager: access, algorithms: SUITE, backend, extenders };
}

/** Runs one handshake over two transports and waits until both sides are ready. */
async function handshakeOver(
  [a, b]: [Transport, Transport],
  ids: Peers,
  backend: CryptoBackend,
  extenders: readonly string[] = [],
): Promise<[Session, Session]> {
  const initiator = initiate(a, options(ids.alice, ids.access, backend, extenders));
  const responder = respond(b, options(ids.bob, ids.access, backend, extenders));
  await Promise.all([initiator.ready, responder.ready]);
  return [initiator, responder];
}

async function closeBoth([initiator, responder]: [Session, Session]): Promise<void> {
  await initiator.close();
  await responder.closed;
}

/**
 * The crypto floor of one handshake: the same primitives, both sides, no
 * protocol. X25519 offer/answer/finish, ML-KEM-768 offer/answer/finish, two
 * Ed25519 signatures and two verifications, through the backend's adapters,
 * with the system random source, awaited one after another as a handshake
 * awaits them.
 */
export function cryptoFloor(backend: CryptoBackend, ids: Peers): Scenario {
  const x25519 = backend.keyExchange("X25519")!;
  const mlKem = backend.keyExchange("ML-KEM-768")!;
  const ed25519 = backend.signature("Ed25519")!;
  const message = new Uint8Array(96).fill(7);
  return {
    async run(): Promise<void> {
      for (const kex of [x25519, mlKem]) {
        const { offer, state } = await kex.offer(systemRandom);
        const { answer } = await kex.answer(offer, systemRandom);
        await kex.finish(state, answer);
        state.dispose();
      }
      const fromAlice = await ed25519.sign(message, ids.alice.secretKey, systemRandom);
      const fromBob = await ed25519.sign(message, ids.bob.secretKey, systemRandom);
      await ed25519.verify(fromAlice, message, ids.alice.publicKey);
      await ed25519.verify(fromBob, message, ids.bob.publicKey);
    },
    close: (): Promise<void> => Promise.resolve(),
  };
}

/** The symmetric primitive calls of one handshake, by kind and input size. */
interface SymmetricCalls {
  /** AEAD ciphers created (one per key and epoch). */
  ciphers: number;
  /** Plaintext sizes sealed. */
  seals: number[];
  /** Ciphertext sizes opened (with tag). */
  opens: number[];
  /** `[kind, sizes…]` of every hash, HMAC and HKDF call. */
  hashes: (readonly [string, ...number[]])[];
}

/** Wraps `backend` so that every AEAD and hash call is counted in `calls`. */
function recording(backend: CryptoBackend, calls: SymmetricCalls): CryptoBackend {
  const aead = (name: Parameters<CryptoBackend["aead"]>[0]): Aead | undefined => {
    const inner = backend.aead(name);
    if (inner === undefined) return undefined;
    return {
      ...inner,
      createCipher(key): AeadCipher {
        calls.ciphers++;
        const cipher = inner.createCipher(key);
        return {
          seal(nonce, plaintext, aad, output): Promise<Uint8Array<ArrayBuffer>> {
            calls.seals.push(plaintext.length);
            return cipher.seal(nonce, plaintext, aad, output);
          },
          open(nonce, ciphertext, aad): Promise<Uint8Array<ArrayBuffer> | undefined> {
            calls.opens.push(ciphertext.length);
            return cipher.open(nonce, ciphertext, aad);
          },
          dispose: () => cipher.dispose(),
        };
      },
    };
  };
  const hash = (name: Parameters<CryptoBackend["hash"]>[0]): HashFunction | undefined => {
    const inner = backend.hash(name);
    if (inner === undefined) return undefined;
    return {
      ...inner,
      digest(data): Uint8Array<ArrayBuffer> {
        calls.hashes.push(["digest", data.length]);
        return inner.digest(data);
      },
      create(): Hasher {
        calls.hashes.push(["create"]);
        const hasher = inner.create();
        const wrapped: Hasher = {
          update(data): Hasher {
            calls.hashes.push(["update", data.length]);
            hasher.update(data);
            return wrapped;
          },
          peek(): Uint8Array<ArrayBuffer> {
            calls.hashes.push(["peek"]);
            return hasher.peek();
          },
        };
        return wrapped;
      },
      hmac(key, data): Uint8Array<ArrayBuffer> {
        calls.hashes.push(["hmac", key.length, data.length]);
        return inner.hmac(key, data);
      },
      extract(salt, ikm): Uint8Array<ArrayBuffer> {
        calls.hashes.push(["extract", salt.length, ikm.length]);
        return inner.extract(salt, ikm);
      },
      expand(prk, info, length): Uint8Array<ArrayBuffer> {
        calls.hashes.push(["expand", prk.length, info.length, length]);
        return inner.expand(prk, info, length);
      },
    };
  };
  return {
    name: `recording(${backend.name})`,
    keyExchange: (name) => backend.keyExchange(name),
    signature: (name) => backend.signature(name),
    aead,
    hash,
  };
}

/**
 * Every primitive one handshake calls, without the protocol: the
 * {@linkcode cryptoFloor} (key exchanges and signatures) plus, replayed with
 * the sizes one real handshake used, each AEAD key set-up, seal and open of
 * the handshake records, their length masks (one ChaCha20 block per 16
 * records and direction, on each side, as the record layer computes them,
 * and the opening block of each), the four pre-key derivations and every hash, HMAC and
 * HKDF call the backend saw. What a handshake costs beyond this is protocol
 * machinery: statecharts, codec, streams, runtime.
 */
export async function protocolFloor(backend: CryptoBackend, ids: Peers): Promise<Scenario> {
  const calls: SymmetricCalls = { ciphers: 0, seals: [], opens: [], hashes: [] };
  await closeBoth(await handshakeOver(createMemoryPair(), ids, recording(backend, calls)));
  const floor = cryptoFloor(backend, ids);
  const aead = backend.aead("ChaCha20-Poly1305")!;
  const key = systemRandom(32);
  const nonce = new Uint8Array(aead.nonceLength);
  const aad = new Uint8Array(3);
  const opener = aead.createCipher(key);
  const sealed = await Promise.all(
    calls.opens.map((length) => opener.seal(nonce, systemRandom(length - 16), aad)),
  );
  opener.dispose();
  const hash = backend.hash("SHA-256")!;
  const bytes = (length: number): Uint8Array => new Uint8Array(length).fill(0x5a);
  // Inputs are made now, outside the timed run.
  const plaintexts = calls.seals.map(bytes);
  const hashCalls = calls.hashes.map(([kind, ...sizes]) => ({
    kind,
    inputs: sizes.slice(0, 2).map(bytes),
    length: sizes[2] ?? 0,
  }));
  const salt = systemRandom(16);
  const maskBlock = new Uint8Array(64);
  const maskNonce = new Uint8Array(12);
  const zero = new Uint8Array(64);
  // Four directions framed (each side seals one and opens the other), each
  // with about half the records: record 0's block, then one per 16 records.
  const blocksOf = (records: number): number =>
    records === 0 ? 0 : 1 + Math.ceil((records - 1) / 16);
  const maskBlocks = 2 * blocksOf(Math.ceil(calls.seals.length / 2)) +
    2 * blocksOf(Math.ceil(calls.opens.length / 2));
  return {
    async run(): Promise<void> {
      await floor.run();
      for (let i = 0; i < 4; i++) derivePreKeys(salt);
      const ciphers = Array.from({ length: calls.ciphers }, () => aead.createCipher(key));
      const cipher = ciphers[0]!;
      for (const plaintext of plaintexts) await cipher.seal(nonce, plaintext, aad);
      for (const ciphertext of sealed) await cipher.open(nonce, ciphertext, aad);
      for (let i = 0; i < maskBlocks; i++) chacha20(key, maskNonce, zero, maskBlock);
      for (const c of ciphers) c.dispose();
      let hasher: Hasher | undefined;
      for (const { kind, inputs: [a = salt, b = salt], length } of hashCalls) {
        if (kind === "digest") hash.digest(a);
        else if (kind === "create") hasher = hash.create();
        else if (kind === "update") hasher?.update(a);
        else if (kind === "peek") hasher?.peek();
        else if (kind === "hmac") hash.hmac(a, b);
        else if (kind === "extract") hash.extract(a, b);
        else if (kind === "expand") hash.expand(a, b, length);
      }
    },
    close: (): Promise<void> => Promise.resolve(),
  };
}

/** One full handshake (both sides) over the in-memory pipe, then an orderly close. */
export function memoryHandshake(backend: CryptoBackend, ids: Peers): Scenario {
  return {
    async run(): Promise<void> {
      await closeBoth(await handshakeOver(createMemoryPair(), ids, backend));
    },
    close: (): Promise<void> => Promise.resolve(),
  };
}

/** `count` handshakes at a time over in-memory pipes; `run()` completes all of them. */
export function concurrentHandshakes(
  backend: CryptoBackend,
  ids: Peers,
  count: number,
): Scenario {
  const one = memoryHandshake(backend, ids);
  return {
    async run(): Promise<void> {
      await Promise.all(Array.from({ length: count }, () => one.run()));
    },
    close: (): Promise<void> => Promise.resolve(),
  };
}

async function tcpPair(
  listener: Deno.Listener<Deno.TcpConn>,
): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const port = (listener.addr as Deno.NetAddr).port;
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port }),
    listener.accept(),
  ]);
  // Small handshake messages must not wait for delayed ACKs (Nagle).
  client.setNoDelay(true);
  server.setNoDelay(true);
  return [client, server];
}

/** Both ends of a fresh loopback TCP connection as transports, as `connectTcp`/`listenTcp` wrap them. */
async function tcpTransports(
  listener: Deno.Listener<Deno.TcpConn>,
): Promise<[Transport, Transport]> {
  const [client, server] = await tcpPair(listener);
  return [connTransport(client), connTransport(server)];
}

/**
 * One full qgate handshake over a fresh loopback TCP connection, then an
 * orderly close. The connections are wrapped by `connTransport`, as
 * `connectTcp` and `listenTcp` do.
 */
export function tcpHandshake(backend: CryptoBackend, ids: Peers): Scenario {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return {
    async run(): Promise<void> {
      await closeBoth(await handshakeOver(await tcpTransports(listener), ids, backend));
    },
    close(): Promise<void> {
      listener.close();
      return Promise.resolve();
    },
  };
}

/**
 * Deno's native TLS 1.3 handshake (rustls) over a fresh loopback TCP
 * connection: a self-signed P-256 certificate made by the benchmark,
 * `CA:FALSE`, subjectAltName IP 127.0.0.1, trusted through `caCerts`. The
 * client sets TCP_NODELAY before `Deno.startTls` (without it, delayed ACKs
 * hold every handshake for ~40 ms); the server side cannot set it.
 */
export async function tlsHandshake(): Promise<Scenario> {
  const { cert, key } = await selfSignedCertificate();
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    async run(): Promise<void> {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
      tcp.setNoDelay(true);
      const [client, server] = await Promise.all([
        Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [cert] }),
        listener.accept(),
      ]);
      await Promise.all([client.handshake(), server.handshake()]);
      client.close();
      server.close();
    },
    close(): Promise<void> {
      listener.close();
      return Promise.resolve();
    },
  };
}

/**
 * One application message of `size` bytes from the initiator to the
 * responder's extender over an established session (in memory), until the
 * responder has received every byte.
 */
export async function recordTransfer(
  backend: CryptoBackend,
  ids: Peers,
  size: number,
): Promise<Scenario> {
  const pair = await handshakeOver(createMemoryPair(), ids, backend, [EXTENDER]);
  const [initiator, responder] = pair;
  const payload = systemRandom(size);
  let remaining = 0;
  let done: () => void = () => {};
  responder.on("message", ({ data }) => {
    remaining -= data.length;
    if (remaining <= 0) done();
  });
  return {
    async run(): Promise<void> {
      remaining = size;
      const received = new Promise<void>((resolve) => (done = resolve));
      await initiator.send(EXTENDER, payload);
      await received;
    },
    close: (): Promise<void> => closeBoth(pair),
  };
}

/** The raw AEAD the session negotiates, sealing and opening `size` bytes with counter nonces. */
export function rawAead(backend: CryptoBackend, size: number): Scenario {
  const aead = backend.aead("ChaCha20-Poly1305")!;
  const payload = systemRandom(size);
  const aad = new Uint8Array(3);
  const nonce = new Uint8Array(aead.nonceLength);
  const view = new DataView(nonce.buffer);
  let counter = 0;
  // Sender and receiver each hold the key, as in a session.
  const key = systemRandom(32);
  const sealer = aead.createCipher(key);
  const opener = aead.createCipher(key);
  return {
    async run(): Promise<void> {
      view.setUint32(nonce.length - 4, counter++);
      const sealed = await sealer.seal(nonce, payload, aad);
      await opener.open(nonce, sealed, aad);
    },
    close(): Promise<void> {
      sealer.dispose();
      opener.dispose();
      return Promise.resolve();
    },
  };
}

/** What {@linkcode memoryPerSession} measured. */
export interface MemoryReport {
  /** Established sessions held (both ends of each pair count). */
  readonly sessions: number;
  /** Growth of the JS heap per session, in bytes, after a full GC. */
  readonly heapPerSession: number;
  /** Growth of memory outside the JS heap (ArrayBuffers, native) per session, in bytes. */
  readonly externalPerSession: number;
  /** Growth of the resident set per session, in bytes. */
  readonly rssPerSession: number;
  /** Whether a full GC could be forced (`--v8-flags=--expose-gc`). */
  readonly gcForced: boolean;
}

function collect(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
}

/** Where the sessions of {@linkcode memoryPerSession} run. */
export type MemoryTransport = "memory" | "tcp" | "tcp-conn";

/**
 * Establishes `sessions / 2` pairs (`sessions` sessions), leaves them idle
 * and measures `Deno.memoryUsage()` growth per session after a forced GC,
 * then closes them all. The transports count as part of their sessions:
 * in-memory pipes (`"memory"`), loopback TCP connections wrapped by
 * `connTransport` as `connectTcp`/`listenTcp` do (`"tcp"`), or the same
 * connections handed over as they are, `Deno.Conn` streams (`"tcp-conn"`).
 */
export async function memoryPerSession(
  backend: CryptoBackend,
  ids: Peers,
  sessions: number,
  transport: MemoryTransport = "memory",
  batch = 50,
): Promise<MemoryReport> {
  const pairs: [Session, Session][] = [];
  const listener = transport === "memory"
    ? undefined
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const transports = (): Promise<[Transport, Transport]> =>
    listener === undefined
      ? Promise.resolve(createMemoryPair())
      : transport === "tcp"
      ? tcpTransports(listener)
      : tcpPair(listener);
  const gcForced = collect();
  const before = Deno.memoryUsage();
  for (let made = 0; made < sessions / 2; made += batch) {
    const count = Math.min(batch, sessions / 2 - made);
    // Connections are made one at a time (a listener accepts one at a time), handshakes together.
    const ready: [Transport, Transport][] = [];
    for (let i = 0; i < count; i++) ready.push(await transports());
    pairs.push(...await Promise.all(ready.map((pair) => handshakeOver(pair, ids, backend))));
  }
  // Let the last initiator writes and ready callbacks settle.
  await new Promise((resolve) => setTimeout(resolve, 50));
  collect();
  const after = Deno.memoryUsage();
  const held = pairs.length * 2;
  const report: MemoryReport = {
    sessions: held,
    heapPerSession: (after.heapUsed - before.heapUsed) / held,
    externalPerSession: (after.external - before.external) / held,
    rssPerSession: (after.rss - before.rss) / held,
    gcForced,
  };
  for (let i = 0; i < pairs.length; i += batch) {
    await Promise.all(pairs.slice(i, i + batch).map(closeBoth));
  }
  listener?.close();
  return report;
}

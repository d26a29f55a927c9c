/**
 * Secrets stay secret: every key the crypto backend sees (AEAD keys, shared
 * secrets, HKDF outputs, exporter output, identity secret keys, the GSS) is
 * captured through a wrapping backend, and then
 *
 * - no trace event, emitted event, error (message, stack, cause, code),
 *   close info, listener failure or `JSON.stringify(details)` contains any of
 *   them, raw or as hex, base64, base64url or a decimal list;
 * - the runtime's own copies of ephemeral and epoch keys are wiped once they
 *   are no longer needed (best effort: JavaScript cannot promise that no
 *   other copy exists);
 * - the session's resolved copy of the GSS is wiped once the key schedule
 *   holds it, or when the session ends or cannot start, and the caller's
 *   array is left as it was.
 *
 * The handshake statechart's snapshots are not reachable through the public
 * API; its context holds only public fields (see machines/_setup.ts).
 */

import assert from "node:assert/strict";
import type { CryptoBackend } from "../src/crypto/mod.ts";
import {
  createDatagramPair,
  createMemoryPair,
  initiate,
  Listener,
  nobleBackend,
  respond,
  type Session,
  type SessionOptions,
  type Transport,
} from "../mod.ts";
import { validateOptions } from "../src/session/options.ts";
import { accessFor, identityFor } from "./_session_helpers.ts";
import { recordingBackend } from "./_recording_backend.ts";

const CHAT = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";

interface Captured {
  readonly label: string;
  /** A copy taken when the backend saw it. */
  readonly copy: Uint8Array;
  /** The array the runtime holds (to check it is wiped). */
  readonly ref: Uint8Array;
}

/** A noble backend that records every secret passing through it. */
function capturingBackend(): { backend: CryptoBackend; secrets: Captured[] } {
  const secrets: Captured[] = [];
  const record = (label: string, bytes: Uint8Array): void => {
    secrets.push({ label, copy: bytes.slice(), ref: bytes });
  };
  const backend = recordingBackend(nobleBackend, {
    sharedSecret: (secret, exchange, step) => {
      record(`${exchange.name} shared secret (${step})`, secret);
    },
    createCipher: (key, _id, aead) => record(`${aead.name} key`, key),
    hmac: (_key, _data, mac, hash) => record(`${hash.name} HMAC`, mac),
    extract: (_salt, ikm, prk, hash) => {
      // The input keying material is the runtime's own copy of a secret (GSS, shared secrets).
      if (ikm.length >= 16) record(`${hash.name} HKDF-Extract input`, ikm);
      record(`${hash.name} HKDF-Extract`, prk);
    },
    expand: (_prk, _info, _length, okm, hash) => record(`${hash.name} HKDF-Expand`, okm),
  }, {
    name: "capturing-noble",
    // Every expansion through expand(), where its output is seen.
    expander: false,
  });
  return { backend, secrets };
}

function toBase64(bytes: Uint8Array, url: boolean): string {
  const text = btoa(String.fromCharCode(...bytes));
  return url ? text.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "") : text;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** 16-byte windows of a secret, every 8 bytes: a leak of part of a key is still found. */
function windows(secret: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset + 16 <= secret.length; offset += 8) {
    out.push(secret.subarray(offset, offset + 16));
  }
  return out;
}

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Every string form a secret window could take in text. */
function textForms(window: Uint8Array): string[] {
  const hex = toHex(window);
  // base64 of a window starting at any of three alignments inside a longer encoding.
  const forms = [hex, hex.toUpperCase(), Array.from(window).join(",")];
  for (let shift = 0; shift < 3; shift++) {
    const part = window.subarray(shift, shift + 12);
    forms.push(toBase64(part, false).slice(0, 16), toBase64(part, true).slice(0, 16));
  }
  return forms;
}

class LeakScanner {
  readonly #needles: { label: string; bytes: Uint8Array; texts: string[] }[] = [];
  readonly findings: string[] = [];

  constructor(secrets: readonly { label: string; copy: Uint8Array }[]) {
    for (const { label, copy } of secrets) {
      // All-zero or constant arrays are not secrets worth finding (and would match padding).
      if (copy.length < 16 || new Set(copy).size < 4) continue;
      for (const window of windows(copy)) {
        this.#needles.push({ label, bytes: window.slice(), texts: textForms(window) });
      }
    }
  }

  get needles(): number {
    return this.#needles.length;
  }

  /** Scans a value deeply: strings, byte arrays, errors (message, stack, cause), objects. */
  scan(where: string, value: unknown, seen = new Set<unknown>()): void {
    if (value === null || value === undefined) return;
    if (typeof value === "string") {
      for (const needle of this.#needles) {
        if (needle.texts.some((text) => value.includes(text))) {
          this.findings.push(`${where}: text contains ${needle.label}`);
        }
      }
      return;
    }
    if (typeof value !== "object" && typeof value !== "function") return;
    if (seen.has(value)) return;
    seen.add(value);
    if (value instanceof Uint8Array) {
      for (const needle of this.#needles) {
        if (containsBytes(value, needle.bytes)) {
          this.findings.push(`${where}: bytes contain ${needle.label}`);
        }
      }
      return;
    }
    if (value instanceof Error) {
      this.scan(`${where}.message`, value.message, seen);
      this.scan(`${where}.stack`, value.stack, seen);
      this.scan(`${where}.cause`, value.cause, seen);
      this.scan(`${where}.String`, String(value), seen);
    }
    for (const key of Object.keys(value)) {
      this.scan(`${where}.${key}`, (value as Record<string, unknown>)[key], seen);
    }
    if (!(value instanceof Error)) {
      try {
        this.scan(`${where} as JSON`, JSON.stringify(value));
      } catch {
        // Cyclic: its parts were scanned above.
      }
    }
  }
}

/** Everything a session lets out: events of every kind, outcomes, errors. */
function observe(session: Session, into: { where: string; value: unknown }[], name: string): void {
  for (const type of ["trace", "state", "message", "extenders", "keyUpdate", "close"] as const) {
    session.on(
      type,
      (event: unknown) => into.push({ where: `${name} ${type} event`, value: event }),
    );
  }
  session.ready.then(
    (details) => {
      into.push({ where: `${name} details`, value: details });
      into.push({ where: `${name} JSON.stringify(details)`, value: JSON.stringify(details) });
    },
    (error) => into.push({ where: `${name} ready rejection`, value: error }),
  );
  void session.closed.then((info) => into.push({ where: `${name} closed`, value: info }));
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (error) {
    return error;
  }
}

Deno.test("Session lets no secret out through events, errors or details, and wipes its keys", async (t) => {
  const { backend, secrets } = capturingBackend();
  const alice = await identityFor("Ed25519", 71);
  const bob = await identityFor("Ed25519+ML-DSA-65", 72);
  const access = accessFor(alice, bob);
  const gss = crypto.getRandomValues(new Uint8Array(32));
  const outputs: { where: string; value: unknown }[] = [];
  const traced: unknown[] = [];
  const base: SessionOptions = {
    accessManager: access,
    globalSharedSecret: gss,
    extenders: [CHAT],
    backend,
    securityLevel: 3, // noise and padding on
    maxHandshakeDelay: 0,
    onTrace: (event) => traced.push(event),
  };
  const exported: Uint8Array[] = [];

  await t.step(
    "an authenticated session over a stream: data, key updates, exporter, close",
    async () => {
      const [a, b] = createMemoryPair();
      const client = initiate(a, { ...base, identity: alice });
      const server = respond(b, { ...base, identity: bob });
      observe(client, outputs, "client");
      observe(server, outputs, "server");
      await Promise.all([client.ready, server.ready]);
      const got = new Promise<void>((resolve) => server.on("message", () => resolve()));
      await client.send(CHAT, new TextEncoder().encode("hello"));
      await got;
      const serverAt3 = new Promise<void>((resolve) =>
        server.on("keyUpdate", ({ epoch }) => epoch === 3 && resolve())
      );
      assert.equal(await client.updateKeys(), 3);
      // The server finishes the update once the client's KeyUpdateReady arrives.
      await serverAt3;
      assert.equal(await server.updateKeys(), 4);
      const context = new Uint8Array([1, 2, 3]);
      exported.push(client.exportKeyingMaterial("app", context, 32));
      exported.push(server.exportKeyingMaterial("app", context, 64));
      assert.deepEqual(exported[0], exported[1]!.subarray(0, 32));
      outputs.push({ where: "client close()", value: await outcome(client.close()) });
      await server.closed;
      outputs.push({
        where: "send() after close",
        value: await outcome(client.send(CHAT, new Uint8Array(1))),
      });
      outputs.push({
        where: "exportKeyingMaterial() after close",
        value: await outcome(
          Promise.resolve().then(() => client.exportKeyingMaterial("x", context, 8)),
        ),
      });
    },
  );

  await t.step("failed handshakes: wrong GSS, denied peer, tampered records", async () => {
    const runs: [SessionOptions, SessionOptions][] = [
      [{ ...base, identity: alice }, {
        ...base,
        identity: bob,
        globalSharedSecret: crypto.getRandomValues(new Uint8Array(32)),
      }],
      [{ ...base, identity: alice, accessManager: accessFor(alice) }, { ...base, identity: bob }],
    ];
    for (const [i, [mine, theirs]] of runs.entries()) {
      const [a, b] = createMemoryPair();
      const client = initiate(a, mine);
      const server = respond(b, theirs);
      observe(client, outputs, `failure ${i} client`);
      observe(server, outputs, `failure ${i} server`);
      await Promise.allSettled([client.ready, server.ready]);
      await Promise.all([client.closed, server.closed]);
    }
    // A relay that flips a bit in the initiator's third record.
    const [a, relayEnd] = createMemoryPair();
    const [relayOther, b] = createMemoryPair();
    let count = 0;
    void relayEnd.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller): void {
          const copy = chunk.slice();
          if (++count === 3) copy[copy.length - 1]! ^= 1;
          controller.enqueue(copy);
        },
      }),
    ).pipeTo(relayOther.writable).catch(() => {});
    void relayOther.readable.pipeTo(relayEnd.writable).catch(() => {});
    const client = initiate(a, { ...base, identity: alice });
    const server = respond(b, { ...base, identity: bob });
    observe(client, outputs, "tampered client");
    observe(server, outputs, "tampered server");
    await Promise.allSettled([client.ready, server.ready]);
    await Promise.all([client.closed, server.closed]);
  });

  await t.step("a session over datagrams and a listener's failure events", async () => {
    const [a, b] = createDatagramPair();
    const client = initiate(a, { ...base, identity: alice });
    const server = respond(b, { ...base, identity: bob });
    observe(client, outputs, "datagram client");
    observe(server, outputs, "datagram server");
    await Promise.all([client.ready, server.ready]);
    assert.equal(await client.updateKeys(), 3);
    await client.close();

    const listener = new Listener({ ...base, identity: bob, maxHandshakes: 1 });
    listener.on(
      "failure",
      (failure) => outputs.push({ where: "listener failure", value: failure }),
    );
    const pairs = [createMemoryPair(), createMemoryPair()];
    const clients = pairs.map(([mine, theirs], i): Session => {
      listener.accept(theirs as Transport, `192.0.2.1:${i}`);
      return initiate(mine, { ...base, identity: alice, accessManager: accessFor(bob) });
    });
    for (const session of clients) observe(session, outputs, "listener client");
    await Promise.allSettled(clients.map((session) => session.ready));
    await listener.close();
    await Promise.all(clients.map((session) => session.closed));
  });

  await t.step("nothing that left the sessions contains a captured secret", () => {
    const all = [
      ...secrets,
      { label: "exporter output", copy: exported[1]!, ref: exported[1]! },
      { label: "alice secret key", copy: alice.secretKey, ref: alice.secretKey },
      { label: "bob secret key", copy: bob.secretKey, ref: bob.secretKey },
      { label: "GSS", copy: gss, ref: gss },
    ];
    const labels = new Set(secrets.map((secret) => secret.label));
    for (
      const label of [
        "X25519 shared secret (answer)",
        "X25519 shared secret (finish)",
        "ML-KEM-768 shared secret (answer)",
        "ML-KEM-768 shared secret (finish)",
        "ChaCha20-Poly1305 key",
        "SHA-256 HKDF-Extract",
        "SHA-256 HKDF-Expand",
      ]
    ) {
      assert.ok(labels.has(label), `the backend never saw a ${label}: ${[...labels].join(", ")}`);
    }
    const scanner = new LeakScanner(all);
    assert.ok(scanner.needles > 100, String(scanner.needles));
    assert.ok(outputs.length > 100 && traced.length > 100);
    for (const { where, value } of outputs) scanner.scan(where, value);
    for (const [i, event] of traced.entries()) scanner.scan(`onTrace #${i}`, event);
    assert.deepEqual(scanner.findings, []);
  });

  await t.step("the scanner finds a planted secret in every form", () => {
    const secret = secrets.find(({ label }) => label.includes("shared secret"))!.copy;
    const scanner = new LeakScanner([{ label: "planted", copy: secret }]);
    const planted = [
      { nested: { bytes: secret.slice() } },
      `key=${toHex(secret)}`,
      toHex(secret.subarray(8)).toUpperCase(),
      toBase64(secret, false),
      toBase64(secret.subarray(1), true),
      `[${Array.from(secret).join(",")}]`,
      new Error("outer", { cause: new Error(`inner ${toHex(secret)}`) }),
    ];
    for (const [i, value] of planted.entries()) scanner.scan(`planted #${i}`, value);
    const found = new Set(scanner.findings.map((finding) => finding.match(/^planted #\d+/)?.[0]));
    assert.equal(found.size, planted.length, scanner.findings.join("\n"));
  });

  await t.step(
    "the runtime wiped every shared secret, AEAD key and HKDF input it was given",
    () => {
      const unwiped = secrets.filter(({ label, ref }) =>
        (label.includes("shared secret") || label.endsWith(" key") || label.endsWith("input")) &&
        ref.some((byte) => byte !== 0)
      ).map(({ label }) => label);
      assert.deepEqual(unwiped, []);
    },
  );

  await t.step("every HKDF output held by a closed session was wiped", () => {
    // Exporter outputs belong to the caller; everything else is key material.
    const exporterOutputs = new Set(exported.map((bytes) => toHex(bytes)));
    const unwiped = secrets.filter(({ label, ref, copy }) =>
      label.includes("HKDF") && !label.endsWith("input") && !exporterOutputs.has(toHex(copy)) &&
      ref.some((byte) => byte !== 0)
    ).map(({ label, copy }) => `${label} (${copy.length} bytes)`);
    assert.deepEqual(unwiped, []);
  });
});

/**
 * Runs `start` (which starts sessions: options are resolved synchronously)
 * and pushes onto `copies` every array `Uint8Array.prototype.slice` makes
 * meanwhile with the bytes of `secret`: the sessions' resolved copies of it.
 */
function recordingCopies<T>(secret: Uint8Array, copies: Uint8Array[], start: () => T): T {
  const original = Uint8Array.prototype.slice;
  const hex = toHex(secret);
  Uint8Array.prototype.slice = function (this: Uint8Array, from?: number, to?: number): Uint8Array {
    const copy = original.call(this, from, to);
    if (toHex(copy) === hex) copies.push(copy);
    return copy;
  } as typeof original;
  try {
    return start();
  } finally {
    Uint8Array.prototype.slice = original;
  }
}

const isWiped = (bytes: Uint8Array): boolean => bytes.every((byte) => byte === 0);

Deno.test("Session wipes its resolved copy of the GSS once the keys hold it, and when it ends early", async (t) => {
  const gss = new Uint8Array(32).fill(0x6b);
  const base = { requireAuthentication: false, backend: nobleBackend, globalSharedSecret: gss };

  for (const pair of [createMemoryPair, createDatagramPair]) {
    await t.step(`ready, before any close (${pair.name})`, async () => {
      const [a, b] = pair();
      const copies: Uint8Array[] = [];
      const [client, server] = recordingCopies(gss, copies, () => [
        initiate(a, base),
        respond(b, base),
      ]);
      assert.equal(copies.length, 2, "one resolved copy per session");
      await Promise.all([client.ready, server.ready]);
      assert.ok(copies.every(isWiped), "a resolved copy outlives the key schedule");
      assert.ok(!isWiped(gss), "the caller's GSS was wiped");
      await client.close();
      await server.closed;
    });
  }

  await t.step("closed during the handshake, and failed on a wrong GSS", async () => {
    const [a] = createMemoryPair();
    const [c, d] = createMemoryPair();
    const other = { ...base, globalSharedSecret: new Uint8Array(32).fill(0x6c) };
    const copies: Uint8Array[] = [];
    const [early, client, server] = recordingCopies(gss, copies, () => [
      initiate(a, base),
      initiate(c, base),
      respond(d, other),
    ]);
    assert.equal(copies.length, 2);
    await early.close();
    const settled = await Promise.allSettled([early.ready, client.ready, server.ready]);
    assert.ok(settled.every((outcome) => outcome.status === "rejected"));
    await Promise.all([early.closed, client.closed, server.closed]);
    assert.ok(copies.every(isWiped), "a resolved copy outlives its session");
    assert.ok(!isWiped(gss), "the caller's GSS was wiped");
  });

  await t.step("a session that cannot start (no pre-key AEAD in the backend)", () => {
    const noAead: CryptoBackend = { ...nobleBackend, name: "no AEAD", aead: () => undefined };
    const [a] = createMemoryPair();
    const copies: Uint8Array[] = [];
    assert.throws(
      () => recordingCopies(gss, copies, () => initiate(a, { ...base, backend: noAead })),
      TypeError,
    );
    assert.equal(copies.length, 1);
    assert.ok(copies.every(isWiped), "the resolved copy of a session that never started");
    assert.ok(!isWiped(gss), "the caller's GSS was wiped");
  });
});

Deno.test("validateOptions() (the dial and listen helpers' check) wipes its copy of the GSS", () => {
  const gss = new Uint8Array(32).fill(0x6c);
  const copies: Uint8Array[] = [];
  recordingCopies(
    gss,
    copies,
    () => validateOptions({ requireAuthentication: false, globalSharedSecret: gss }),
  );
  assert.equal(copies.length, 1);
  assert.ok(copies.every(isWiped), "the checked copy is left");
  assert.ok(!isWiped(gss), "the caller's GSS was wiped");
});

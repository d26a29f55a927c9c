import assert from "node:assert/strict";
import fc from "fast-check";
import { chacha20, chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { ErrorCode, FrameError, SessionError } from "../src/errors.ts";
import { CipherState, MAX_RECORD_LIMIT } from "../src/crypto/cipher_state.ts";
import { derivePreKeys } from "../src/crypto/key_schedule.ts";
import { nobleBackend } from "../src/crypto/noble_backend.ts";
import { seededRandom } from "../src/crypto/random.ts";
import type { Aead, AeadCipher, AeadName, CryptoBackend } from "../src/crypto/types.ts";
import { encodePlaintext } from "../src/codec/messages.ts";
import {
  DatagramOpener,
  type DatagramOpenerOptions,
  DatagramSealer,
  type DatagramSealerOptions,
  DEFAULT_EPOCH_GRACE_MS,
} from "../src/codec/datagram_records.ts";
import { recordInputArbitrary } from "./_arbitraries.ts";
import {
  cipherLog,
  copiesMadeOf,
  countOf,
  hkdfRecorder,
  isWiped,
  recordingBackend,
} from "./_recording_backend.ts";
import { propertyConfig } from "./_property.ts";

function seed(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}

function newSealer(seedByte: number, options: Partial<DatagramSealerOptions> = {}): DatagramSealer {
  return new DatagramSealer({
    backend: nobleBackend,
    random: seededRandom(seed(0xd6, seedByte)),
    ...options,
  });
}

/** An opener with a settable clock. */
function newOpener(options: Partial<DatagramOpenerOptions> = {}): {
  opener: DatagramOpener;
  clock: { time: number };
} {
  const clock = { time: 0 };
  const opener = new DatagramOpener({ backend: nobleBackend, now: () => clock.time, ...options });
  return { opener, clock };
}

function cipher(name: AeadName, keyByte: number, epoch: number): CipherState {
  return new CipherState(nobleBackend.aead(name)!, new Uint8Array(32).fill(keyByte), epoch);
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error) => error instanceof FrameError && error.code === code;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    assert.ok(error instanceof FrameError, `expected a FrameError, got ${String(error)}`);
    return error.code;
  }
}

Deno.test("DatagramSealer behaviour", async (t) => {
  await t.step("lays out datagrams as PROTOCOL.md §5.2 says", async () => {
    const gss = new TextEncoder().encode("datagram gss");
    const sealer = newSealer(1, { globalSharedSecret: gss });
    const salt = sealer.salt;
    assert.deepEqual(salt, seededRandom(seed(0xd6, 1))(16));
    const { preKey, headerKey } = derivePreKeys(salt, gss);
    for (let sequence = 0; sequence < 3; sequence++) {
      const body = new Uint8Array(sequence * 5).fill(7);
      const wire = await sealer.seal(0x70, body, sequence);
      const header = new Uint8Array(8);
      header[7] = sequence;
      const nonce = new Uint8Array(12);
      nonce[11] = sequence;
      const ciphertext = chacha20poly1305(preKey, nonce, header).encrypt(
        encodePlaintext(0x70, body, sequence),
      );
      const mask = chacha20(headerKey, ciphertext.subarray(0, 12), new Uint8Array(8));
      const expected = new Uint8Array([
        ...salt,
        ...header.map((byte, i) => byte ^ mask[i]!),
        ...ciphertext,
      ]);
      assert.equal(bytesToHex(wire), bytesToHex(expected));
    }

    const key = new Uint8Array(32).fill(3);
    sealer.setCipher(new CipherState(nobleBackend.aead("ChaCha20-Poly1305")!, key, 0x0102));
    const wire = await sealer.seal(1, new Uint8Array([9]));
    const header = new Uint8Array([1, 2, 0, 0, 0, 0, 0, 0]);
    const ciphertext = chacha20poly1305(key, new Uint8Array(12), header).encrypt(
      encodePlaintext(1, new Uint8Array([9]), 0),
    );
    const mask = chacha20(headerKey, ciphertext.subarray(0, 12), new Uint8Array(8));
    assert.equal(
      bytesToHex(wire),
      bytesToHex(new Uint8Array([...header.map((byte, i) => byte ^ mask[i]!), ...ciphertext])),
    );
  });

  await t.step("rejects datagrams above maxDatagramLength with RangeError", async () => {
    const sealer = newSealer(2, { maxDatagramLength: 100 });
    assert.equal(sealer.maxBodyLength(), 100 - 45);
    assert.equal((await sealer.seal(1, new Uint8Array(55))).length, 100);
    await assert.rejects(sealer.seal(1, new Uint8Array(56)), RangeError);
    await assert.rejects(sealer.seal(1, new Uint8Array(50), 6), RangeError);
    assert.equal(sealer.sequence, 1);
  });

  await t.step("rejects misuse with TypeError/RangeError", async () => {
    const sealer = newSealer(3);
    await assert.rejects(sealer.seal(-1, new Uint8Array(0)), RangeError);
    await assert.rejects(sealer.seal(1, null as never), TypeError);
    assert.throws(() => sealer.setCipher({} as CipherState), TypeError);
    sealer.setCipher(cipher("AES-256-GCM", 1, 2));
    assert.throws(() => sealer.setCipher(cipher("AES-256-GCM", 1, 2)), RangeError);
    assert.throws(() => sealer.setCipher(cipher("AES-256-GCM", 1, 1)), RangeError);
    assert.throws(() => sealer.setCipher(cipher("AES-256-GCM", 1, 0x10000)), RangeError);
    const random = seededRandom(seed(3));
    assert.throws(
      () => new DatagramSealer({ backend: nobleBackend, random, maxDatagramLength: 44 }),
      RangeError,
    );
    assert.throws(
      () => new DatagramSealer({ backend: nobleBackend, random, maxDatagramLength: 65_508 }),
      RangeError,
    );
    assert.throws(
      () => new DatagramSealer({ backend: nobleBackend, random: 3 as never }),
      TypeError,
    );
    assert.throws(() => new DatagramSealer({ backend: {} as never, random }), TypeError);
  });
});

Deno.test("DatagramOpener behaviour", async (t) => {
  await t.step("tolerates loss and reordering and rejects replays (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordInputArbitrary(24, 4), { minLength: 2, maxLength: 12 }),
        fc.integer({ min: 1, max: 11 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
        async (inputs, switchAt, picks) => {
          const sealer = newSealer(10);
          const datagrams: { wire: Uint8Array; epoch: number; sequence: number }[] = [];
          for (const [i, input] of inputs.entries()) {
            if (i === Math.min(switchAt, inputs.length - 1)) {
              sealer.setCipher(cipher("XChaCha20-Poly1305", 5, 1));
            }
            const epoch = sealer.epoch;
            const sequence = sealer.sequence;
            datagrams.push({
              wire: await sealer.seal(input.type, input.body, input.paddingLength),
              epoch,
              sequence,
            });
          }
          const { opener, clock } = newOpener();
          // The first datagram reveals the salt; then the receiver switches
          // too, and everything else arrives lost, shuffled or duplicated.
          assert.equal((await opener.open(datagrams[0]!.wire)).sequence, 0);
          opener.setCipher(cipher("XChaCha20-Poly1305", 5, 1));
          clock.time = DEFAULT_EPOCH_GRACE_MS - 1;
          const seen = new Set<number>([0]);
          for (const pick of picks) {
            const index = pick % datagrams.length;
            const datagram = datagrams[index]!;
            if (seen.has(index)) {
              await assert.rejects(opener.open(datagram.wire), hasCode(ErrorCode.REPLAYED_RECORD));
              continue;
            }
            seen.add(index);
            const opened = await opener.open(datagram.wire);
            assert.equal(opened.epoch, datagram.epoch);
            assert.equal(opened.sequence, datagram.sequence);
            assert.equal(opened.type, inputs[index]!.type);
            assert.equal(bytesToHex(opened.body), bytesToHex(inputs[index]!.body));
          }
        },
      ),
      propertyConfig(100),
    );
  });

  await t.step("carries sequence numbers across 2^32 and up to 2^48 - 1", async () => {
    const aead = nobleBackend.aead("ChaCha20-Poly1305")!;
    const key = new Uint8Array(32).fill(9);
    const wide = (epoch: number, counter = 0) =>
      new CipherState(aead, key, epoch, { counter, limit: MAX_RECORD_LIMIT });
    const sealer = newSealer(13);
    const { opener } = newOpener();
    await opener.open(await sealer.seal(1, new Uint8Array(0)));
    opener.setCipher(wide(1));
    const expected: number[] = [];
    const wires: Uint8Array[] = [];
    for (const [epoch, start] of [[1, 2 ** 32 - 1], [2, 2 ** 48 - 3]] as const) {
      sealer.setCipher(wide(epoch, start));
      for (let i = 0; i < 3; i++) {
        expected.push(sealer.sequence);
        wires.push(await sealer.seal(1, new Uint8Array([i])));
      }
    }
    assert.deepEqual(expected, [
      2 ** 32 - 1,
      2 ** 32,
      2 ** 32 + 1,
      2 ** 48 - 3,
      2 ** 48 - 2,
      2 ** 48 - 1,
    ]);
    // In order across 2^32, then the top of the space out of order.
    for (const index of [0, 1, 2, 5, 3, 4]) {
      if (index === 5) opener.setCipher(wide(2));
      assert.equal((await opener.open(wires[index]!)).sequence, expected[index]);
    }
    for (const index of [2, 3, 5]) {
      await assert.rejects(opener.open(wires[index]!), hasCode(ErrorCode.REPLAYED_RECORD));
    }
    await assert.rejects(
      sealer.seal(1, new Uint8Array(0)),
      (error: unknown) => error instanceof SessionError && error.code === ErrorCode.NONCE_EXHAUSTED,
    );
  });

  await t.step("rejects datagrams older than the 1,024-record window", async () => {
    const sealer = newSealer(11);
    const datagrams: Uint8Array[] = [];
    for (let i = 0; i < 1100; i++) datagrams.push(await sealer.seal(1, new Uint8Array(0)));
    const { opener } = newOpener();
    await opener.open(datagrams[1099]!);
    await assert.rejects(opener.open(datagrams[1099 - 1024]!), hasCode(ErrorCode.REPLAYED_RECORD));
    assert.equal((await opener.open(datagrams[1099 - 1023]!)).sequence, 76);
    await assert.rejects(opener.open(datagrams[76]!), hasCode(ErrorCode.REPLAYED_RECORD));
  });

  await t.step("keeps the previous epoch until the grace deadline", async () => {
    const sealer = newSealer(12);
    const zero = [
      await sealer.seal(1, new Uint8Array(1)),
      await sealer.seal(1, new Uint8Array(2)),
      await sealer.seal(1, new Uint8Array(3)),
    ];
    sealer.setCipher(cipher("AES-256-GCM", 6, 1));
    const one = await sealer.seal(1, new Uint8Array(4));
    const { opener, clock } = newOpener({ graceMs: 500 });
    await opener.open(zero[0]!);
    clock.time = 1000;
    opener.setCipher(cipher("AES-256-GCM", 6, 1));
    assert.equal(opener.epoch, 1);
    clock.time = 1499;
    assert.equal((await opener.open(zero[1]!)).epoch, 0);
    assert.equal((await opener.open(one)).epoch, 1);
    clock.time = 1500;
    await assert.rejects(opener.open(zero[2]!), hasCode(ErrorCode.DECRYPT_FAILED));
    clock.time = 0; // the expired keys are gone for good, even if the clock goes back
    await assert.rejects(opener.open(zero[2]!), hasCode(ErrorCode.DECRYPT_FAILED));
  });

  await t.step("drops the previous epoch at the next switch", async () => {
    const sealer = newSealer(13);
    const zero = [await sealer.seal(1, new Uint8Array(1)), await sealer.seal(1, new Uint8Array(1))];
    sealer.setCipher(cipher("ChaCha20-Poly1305", 1, 1));
    const one = await sealer.seal(1, new Uint8Array(1));
    const { opener } = newOpener();
    await opener.open(zero[0]!);
    opener.setCipher(cipher("ChaCha20-Poly1305", 1, 1));
    opener.setCipher(cipher("ChaCha20-Poly1305", 2, 2));
    await assert.rejects(opener.open(zero[1]!), hasCode(ErrorCode.DECRYPT_FAILED));
    assert.equal((await opener.open(one)).epoch, 1);
  });

  await t.step("rejects a future epoch it has no keys for", async () => {
    const sealer = newSealer(14);
    const first = await sealer.seal(1, new Uint8Array(1));
    sealer.setCipher(cipher("ChaCha20-Poly1305", 1, 1));
    const later = await sealer.seal(1, new Uint8Array(1));
    const { opener } = newOpener();
    await opener.open(first);
    await assert.rejects(opener.open(later), hasCode(ErrorCode.DECRYPT_FAILED));
    opener.setCipher(cipher("ChaCha20-Poly1305", 1, 1));
    assert.equal((await opener.open(later)).epoch, 1);
  });

  await t.step("adopts the salt only from an authentic datagram", async () => {
    const sealer = newSealer(15);
    const real = await sealer.seal(1, new Uint8Array(8));
    const { opener } = newOpener();
    const junk = seededRandom(seed(15))(real.length);
    assert.ok([ErrorCode.DECRYPT_FAILED].includes((await codeOf(opener.open(junk))) as never));
    assert.equal(opener.hasSalt, false);
    await opener.open(real);
    assert.equal(opener.hasSalt, true);
    // Another sender's epoch-0 datagram does not match the adopted salt.
    const other = await newSealer(16).seal(1, new Uint8Array(8));
    assert.equal(await codeOf(opener.open(other)), ErrorCode.DECRYPT_FAILED);
    // An epoch-0 datagram with its salt stripped is not a valid later-epoch datagram.
    const next = await sealer.seal(1, new Uint8Array(8));
    assert.equal(await codeOf(opener.open(next.subarray(16))), ErrorCode.DECRYPT_FAILED);
    assert.equal((await opener.open(next)).sequence, 1);
  });

  await t.step("opens concurrent duplicates once", async () => {
    const sealer = newSealer(17);
    const first = await sealer.seal(1, new Uint8Array(2));
    const second = await sealer.seal(1, new Uint8Array(2));
    const { opener } = newOpener();
    for (const datagram of [first, second]) {
      const results = await Promise.allSettled([opener.open(datagram), opener.open(datagram)]);
      assert.equal(results.filter((result) => result.status === "fulfilled").length, 1);
      const rejected = results.find((result) => result.status === "rejected");
      assert.ok(hasCode(ErrorCode.REPLAYED_RECORD)(rejected?.reason));
    }
  });

  await t.step("rejects every single-byte mutation and truncation, and stays usable", async () => {
    const sealer = newSealer(18);
    const datagrams = [await sealer.seal(0x7f, new Uint8Array([0]), 3)];
    sealer.setCipher(cipher("AES-256-GCM", 9, 1));
    datagrams.push(await sealer.seal(0x7f, new Uint8Array([1]), 3));
    const { opener } = newOpener();
    const allowed: string[] = [ErrorCode.DECRYPT_FAILED, ErrorCode.FRAME_TRUNCATED];
    for (const [epoch, datagram] of datagrams.entries()) {
      for (let position = 0; position < datagram.length; position++) {
        for (const xor of [0x01, 0x40, 0xff]) {
          const mutated = datagram.slice();
          mutated[position]! ^= xor;
          const code = await codeOf(opener.open(mutated));
          assert.ok(
            code !== undefined && allowed.includes(code),
            `epoch ${epoch} byte ${position}: ${code}`,
          );
        }
      }
      for (let cut = 0; cut < datagram.length; cut++) {
        const code = await codeOf(opener.open(datagram.subarray(0, cut)));
        assert.ok(
          code !== undefined && allowed.includes(code),
          `epoch ${epoch} cut ${cut}: ${code}`,
        );
      }
      const extended = new Uint8Array([...datagram, 0]);
      assert.equal(await codeOf(opener.open(extended)), ErrorCode.DECRYPT_FAILED);
      assert.equal((await opener.open(datagram)).epoch, epoch);
      if (epoch === 0) opener.setCipher(cipher("AES-256-GCM", 9, 1));
    }
  });

  await t.step("rejects oversized and undersized datagrams", async () => {
    const { opener } = newOpener({ maxDatagramLength: 100 });
    assert.equal(await codeOf(opener.open(new Uint8Array(101))), ErrorCode.FRAME_TOO_LARGE);
    assert.equal(await codeOf(opener.open(new Uint8Array(16 + 8 + 16))), ErrorCode.FRAME_TRUNCATED);
    assert.equal(await codeOf(opener.open(new Uint8Array(0))), ErrorCode.FRAME_TRUNCATED);
  });

  await t.step(
    "reports MALFORMED_MESSAGE for authentic datagrams whose plaintext does not parse",
    async () => {
      const salt = new Uint8Array(16).fill(4);
      const { preKey, headerKey } = derivePreKeys(salt);
      const state = new CipherState(nobleBackend.aead("ChaCha20-Poly1305")!, preKey, 0);
      const { opener } = newOpener();
      for (const [sequence, plaintext] of [[1, 0, 0, 0, 0, 5], [1, 0, 0, 0, 2, 0]].entries()) {
        const header = new Uint8Array(8);
        header[7] = sequence;
        const { ciphertext } = await state.seal(new Uint8Array(plaintext), header);
        const mask = chacha20(headerKey, ciphertext.subarray(0, 12), new Uint8Array(8));
        const datagram = new Uint8Array([
          ...salt,
          ...header.map((byte, i) => byte ^ mask[i]!),
          ...ciphertext,
        ]);
        await assert.rejects(opener.open(datagram), hasCode(ErrorCode.MALFORMED_MESSAGE));
        // It authenticated, so it counts as received.
        await assert.rejects(opener.open(datagram), hasCode(ErrorCode.REPLAYED_RECORD));
      }
    },
  );

  await t.step(
    "fails DECRYPT_FAILED with another GSS and works with the same or none",
    async () => {
      const one = new TextEncoder().encode("one");
      for (let seedByte = 0; seedByte < 64; seedByte++) {
        const datagram = await newSealer(seedByte, { globalSharedSecret: one }).seal(
          1,
          new Uint8Array(4),
        );
        const wrong = newOpener({ globalSharedSecret: new TextEncoder().encode("two") }).opener;
        assert.equal(await codeOf(wrong.open(datagram)), ErrorCode.DECRYPT_FAILED);
        const right = newOpener({ globalSharedSecret: one }).opener;
        assert.equal((await right.open(datagram)).type, 1);
      }
      const plain = await newSealer(1).seal(1, new Uint8Array(4));
      assert.equal((await newOpener().opener.open(plain)).type, 1);
      assert.equal(
        (await newOpener({ globalSharedSecret: new Uint8Array(0) }).opener.open(plain)).type,
        1,
      );
    },
  );

  await t.step(
    "refuses epoch 0 once the session switched before any epoch-0 datagram",
    async () => {
      const sealer = newSealer(19);
      const zero = await sealer.seal(1, new Uint8Array(1));
      const { opener } = newOpener();
      opener.setCipher(cipher("ChaCha20-Poly1305", 1, 1));
      assert.equal(await codeOf(opener.open(zero)), ErrorCode.DECRYPT_FAILED);
    },
  );

  await t.step("rejects misuse with TypeError/RangeError", async () => {
    const { opener } = newOpener();
    await assert.rejects(opener.open("x" as never), TypeError);
    assert.throws(() => opener.setCipher(null as never), TypeError);
    assert.throws(() => opener.setCipher(cipher("ChaCha20-Poly1305", 1, 0)), RangeError);
    opener.setCipher(cipher("ChaCha20-Poly1305", 1, 3));
    assert.throws(() => opener.setCipher(cipher("ChaCha20-Poly1305", 1, 3)), RangeError);
    assert.throws(() => new DatagramOpener({ backend: nobleBackend, now: 0 as never }), TypeError);
    assert.throws(
      () => new DatagramOpener({ backend: nobleBackend, now: () => 0, graceMs: -1 }),
      RangeError,
    );
    assert.throws(
      () => new DatagramOpener({ backend: nobleBackend, now: () => 0, graceMs: Number.NaN }),
      RangeError,
    );
  });
});

Deno.test("DatagramSealer matches the known-answer vectors", async (t) => {
  const file = JSON.parse(
    await Deno.readTextFile(new URL("./vectors/codec_records.json", import.meta.url)),
  ) as {
    datagram: {
      name: string;
      seed: string;
      globalSharedSecret?: string;
      records: {
        type: number;
        body: string;
        paddingLength: number;
        nextCipher?: { aead: AeadName; key: string; epoch: number };
      }[];
      datagrams: string[];
    }[];
  };

  await t.step("the vector file is not empty", () => {
    assert.ok(
      Array.isArray(file.datagram) && file.datagram.length > 0,
      "codec_records.json has no datagram vectors",
    );
  });

  await t.step("every vector seals byte for byte and opens in reverse order", async () => {
    for (const vector of file.datagram) {
      const gss = vector.globalSharedSecret === undefined
        ? {}
        : { globalSharedSecret: hexToBytes(vector.globalSharedSecret) };
      const sealer = new DatagramSealer({
        backend: nobleBackend,
        random: seededRandom(hexToBytes(vector.seed)),
        ...gss,
      });
      const { opener } = newOpener(gss);
      const sealed: string[] = [];
      for (const record of vector.records) {
        sealed.push(
          bytesToHex(await sealer.seal(record.type, hexToBytes(record.body), record.paddingLength)),
        );
        const next = record.nextCipher;
        if (next !== undefined) {
          sealer.setCipher(
            new CipherState(nobleBackend.aead(next.aead)!, hexToBytes(next.key), next.epoch),
          );
        }
      }
      assert.deepEqual(sealed, vector.datagrams, vector.name);

      // Epoch-0 datagrams newest first (any of them reveals the salt), then the
      // receiver switches, then later ones newest first.
      const switchIndex = vector.records.findIndex((record) => record.nextCipher !== undefined);
      const openAt = async (i: number): Promise<void> => {
        const opened = await opener.open(hexToBytes(vector.datagrams[i]!));
        assert.equal(opened.type, vector.records[i]!.type);
        assert.equal(bytesToHex(opened.body), vector.records[i]!.body);
      };
      for (let i = switchIndex; i >= 0; i--) await openAt(i);
      const next = vector.records[switchIndex]!.nextCipher!;
      opener.setCipher(
        new CipherState(nobleBackend.aead(next.aead)!, hexToBytes(next.key), next.epoch),
      );
      for (let i = vector.records.length - 1; i > switchIndex; i--) await openAt(i);
    }
  });
});

Deno.test("datagram sealer and opener release every cipher they create, once", async (t) => {
  const key = new Uint8Array(32).fill(5);

  await t.step(
    "DatagramSealer and DatagramOpener wipe the pre-keys and header keys they derived",
    async () => {
      const gss = new Uint8Array(32).fill(0x6d);
      const sealing = hkdfRecorder();
      const sealer = new DatagramSealer({
        backend: sealing.backend,
        random: seededRandom(seed(0xd6, 41)),
        globalSharedSecret: gss,
      });
      // preKey, openingHeaderKey, headerKey: the sealer keeps only the header key.
      assert.equal(sealing.record.outputs.length, 3);
      assert.deepEqual(sealing.record.outputs.map(isWiped), [true, true, false]);
      const first = await sealer.seal(1, new Uint8Array(3));
      sealer.dispose();
      assert.ok(sealing.record.outputs.every(isWiped), "the sealer's header key is left");

      const opening = hkdfRecorder();
      const opener = new DatagramOpener({
        backend: opening.backend,
        now: () => 0,
        globalSharedSecret: gss,
      });
      await opener.open(first);
      assert.equal(opening.record.outputs.length, 3);
      assert.equal(isWiped(opening.record.outputs[0]!), true, "the opener's pre-key is left");
      opener.dispose();
      assert.ok(opening.record.outputs.every(isWiped), "the opener's header key is left");
      assert.ok(gss.every((byte) => byte === 0x6d), "the caller's GSS was changed");
    },
  );

  await t.step(
    "the sealer wipes its GSS copy at once, the opener once it adopts the peer's salt",
    async () => {
      const gss = new Uint8Array(32).fill(0x3c);
      const { value: [sealer, opener], copies } = copiesMadeOf(gss, () =>
        [
          newSealer(44, { globalSharedSecret: gss }),
          newOpener({ globalSharedSecret: gss }).opener,
        ] as const);
      assert.equal(copies.length, 2);
      assert.deepEqual(copies.map(isWiped), [true, false]);
      await opener.open(await sealer.seal(1, new Uint8Array(2)));
      assert.deepEqual(copies.map(isWiped), [true, true]);
      assert.ok(!isWiped(gss), "the caller's GSS was wiped");
    },
  );

  await t.step("DatagramOpener wipes a plaintext it opened but refuses as a replay", async () => {
    const opened: Uint8Array[] = [];
    const backend = recordingBackend(nobleBackend, {
      opened: (_, plaintext) => opened.push(plaintext),
    });
    const sealer = newSealer(43);
    const opener = new DatagramOpener({ backend, now: () => 0 });
    await opener.open(await sealer.seal(1, new Uint8Array([1])));
    sealer.setCipher(cipher("ChaCha20-Poly1305", 6, 1));
    opener.setCipher(
      new CipherState(backend.aead("ChaCha20-Poly1305")!, new Uint8Array(32).fill(6), 1),
    );
    const datagram = await sealer.seal(1, new Uint8Array([7, 7, 7]));
    opened.length = 0;
    // Both pass the replay check before either authenticates; the second is refused after.
    const results = await Promise.allSettled([opener.open(datagram), opener.open(datagram)]);
    assert.deepEqual(results.map((result) => result.status), ["fulfilled", "rejected"]);
    assert.ok(hasCode(ErrorCode.REPLAYED_RECORD)((results[1] as PromiseRejectedResult).reason));
    assert.equal(opened.length, 2);
    assert.deepEqual(opened.map(isWiped), [false, true]);
  });

  await t.step("DatagramOpener wipes an authentic plaintext that does not parse", async () => {
    const opened: Uint8Array[] = [];
    const backend = recordingBackend(nobleBackend, {
      opened: (_, plaintext) => opened.push(plaintext),
    });
    const sealer = newSealer(45);
    const opener = new DatagramOpener({ backend, now: () => 0 });
    await opener.open(await sealer.seal(1, new Uint8Array([1])));
    const key = new Uint8Array(32).fill(8);
    opener.setCipher(new CipherState(backend.aead("ChaCha20-Poly1305")!, key, 1));
    // Epoch 1, sequence 0, and a plaintext whose padding is not zero.
    const header = new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0]);
    const plaintext = encodePlaintext(1, new Uint8Array([9]), 2);
    plaintext[plaintext.length - 1] = 1;
    const ciphertext = chacha20poly1305(key, new Uint8Array(12), header).encrypt(plaintext);
    const { headerKey } = derivePreKeys(sealer.salt);
    const mask = chacha20(headerKey, ciphertext.subarray(0, 12), new Uint8Array(8));
    const datagram = new Uint8Array([...header.map((byte, i) => byte ^ mask[i]!), ...ciphertext]);
    opened.length = 0;
    await assert.rejects(opener.open(datagram), hasCode(ErrorCode.MALFORMED_MESSAGE));
    assert.equal(opened.length, 1);
    assert.ok(isWiped(opened[0]!), "the plaintext that did not parse is left");
  });

  await t.step(
    "DatagramOpener.expire() disposes the previous epoch once its grace has passed",
    () => {
      const { backend, log } = cipherLog();
      const aead = backend.aead("ChaCha20-Poly1305")!;
      const clock = { time: 0 };
      const opener = new DatagramOpener({ backend, now: () => clock.time, graceMs: 100 });
      opener.setCipher(new CipherState(aead, key, 1));
      opener.setCipher(new CipherState(aead, key, 2));
      const before = countOf(log, "dispose");
      clock.time = 99;
      assert.equal(opener.expire(), false);
      assert.equal(countOf(log, "dispose"), before);
      clock.time = 100;
      assert.equal(opener.expire(), true);
      assert.equal(countOf(log, "dispose"), before + 1);
      opener.dispose();
    },
  );

  await t.step(
    "DatagramOpener disposes the previous epoch when a datagram arrives after its grace",
    async () => {
      const { backend, log } = cipherLog();
      const aead = backend.aead("ChaCha20-Poly1305")!;
      const clock = { time: 0 };
      const sealer = newSealer(46);
      const opener = new DatagramOpener({ backend, now: () => clock.time, graceMs: 100 });
      await opener.open(await sealer.seal(1, new Uint8Array(1)));
      sealer.setCipher(new CipherState(nobleBackend.aead("ChaCha20-Poly1305")!, key, 1));
      const late = await sealer.seal(1, new Uint8Array(1));
      opener.setCipher(new CipherState(aead, key, 1));
      opener.setCipher(new CipherState(aead, key, 2));
      const before = countOf(log, "dispose");
      clock.time = 100;
      await assert.rejects(opener.open(late), hasCode(ErrorCode.DECRYPT_FAILED));
      assert.equal(countOf(log, "dispose"), before + 1);
      opener.dispose();
    },
  );

  await t.step("DatagramSealer refuses an AEAD whose tag is not 16 bytes", async () => {
    const wrapped: CryptoBackend = {
      ...nobleBackend,
      name: "long-tag",
      aead(name): Aead {
        const aead = nobleBackend.aead(name)!;
        return {
          ...aead,
          createCipher(cipherKey): AeadCipher {
            const inner = aead.createCipher(cipherKey);
            return {
              seal: async (nonce, plaintext, aad) =>
                new Uint8Array([...await inner.seal(nonce, plaintext, aad), 0]),
              open: (nonce, ciphertext, aad) => inner.open(nonce, ciphertext, aad),
              dispose: () => inner.dispose(),
            };
          },
        };
      },
    };
    const sealer = new DatagramSealer({ backend: wrapped, random: seededRandom(seed(0xd6, 47)) });
    await assert.rejects(sealer.seal(1, new Uint8Array(2)), TypeError);
  });

  await t.step("DatagramSealer.dropPrevious() disposes the previous epoch at once", () => {
    const { backend, log } = cipherLog();
    const aead = backend.aead("ChaCha20-Poly1305")!;
    const sealer = new DatagramSealer({ backend, random: seededRandom(seed(0xd6, 42)) });
    sealer.setCipher(new CipherState(aead, key, 1));
    sealer.dropPrevious();
    assert.deepEqual(log, ["create 0", "create 1", "dispose 0"]);
    sealer.dropPrevious();
    sealer.dispose();
    assert.deepEqual(log, ["create 0", "create 1", "dispose 0", "dispose 1"]);
  });

  await t.step("DatagramSealer: the pre-key is wiped, superseded and last epochs disposed", () => {
    const { backend, log, keys } = cipherLog();
    const aead = backend.aead("ChaCha20-Poly1305")!;
    const sealer = new DatagramSealer({ backend, random: seededRandom(seed(0xd6, 40)) });
    assert.deepEqual(log, ["create 0"]);
    assert.ok(keys[0]!.every((byte) => byte === 0), "the pre-key copy is not wiped");
    sealer.setCipher(new CipherState(aead, key, 1));
    // Epoch 0 stays usable for a retransmission until the next switch.
    assert.deepEqual(log, ["create 0", "create 1"]);
    sealer.setCipher(new CipherState(aead, key, 2));
    assert.deepEqual(log, ["create 0", "create 1", "create 2", "dispose 0"]);
    sealer.dispose();
    assert.deepEqual(log.slice(4).sort(), ["dispose 1", "dispose 2"]);
  });

  await t.step(
    "DatagramOpener: failed candidates at once, the rest when replaced or disposed",
    async () => {
      const { backend, log } = cipherLog();
      const aead = backend.aead("ChaCha20-Poly1305")!;
      const opener = new DatagramOpener({ backend, now: () => 0 });
      const sealer = newSealer(41);
      const first = await sealer.seal(1, new Uint8Array(3));
      const second = await sealer.seal(1, new Uint8Array(4));

      // A forgery: random bytes do not unmask to epoch 0.
      const forged = seededRandom(seed(0xd6, 42))(first.length);
      await assert.rejects(opener.open(forged), FrameError);
      assert.equal(countOf(log, "dispose"), countOf(log, "create"), "forged candidate kept");
      // A datagram whose tag does not verify.
      const flipped = first.slice();
      flipped[flipped.length - 1]! ^= 1;
      await assert.rejects(opener.open(flipped), hasCode(ErrorCode.DECRYPT_FAILED));
      assert.equal(countOf(log, "dispose"), countOf(log, "create"), "unauthentic candidate kept");
      // Two authentic datagrams opened at once: the later candidate defers to the first.
      await Promise.all([opener.open(first), opener.open(second)]);
      assert.equal(countOf(log, "dispose"), countOf(log, "create") - 1, "one epoch-0 cipher stays");

      opener.setCipher(new CipherState(aead, key, 1));
      opener.setCipher(new CipherState(aead, key, 2));
      assert.equal(countOf(log, "dispose"), countOf(log, "create") - 2, "epoch 0 not disposed");
      opener.dispose();
      assert.equal(countOf(log, "dispose"), countOf(log, "create"));
      const disposed = log.filter((entry) => entry.startsWith("dispose"));
      assert.equal(new Set(disposed).size, disposed.length, "a cipher disposed twice");
    },
  );

  await t.step(
    "DatagramOpener: an epoch-0 candidate that completes after setCipher()",
    async () => {
      const { backend, log } = cipherLog();
      const opener = new DatagramOpener({ backend, now: () => 0 });
      const datagram = await newSealer(43).seal(1, new Uint8Array(2));
      const opening = opener.open(datagram);
      opener.setCipher(new CipherState(backend.aead("ChaCha20-Poly1305")!, key, 1));
      assert.equal((await opening).epoch, 0);
      // The candidate's epoch-0 cipher is released; only epoch 1's remains.
      assert.equal(countOf(log, "dispose"), countOf(log, "create") - 1);
      opener.dispose();
      assert.equal(countOf(log, "dispose"), countOf(log, "create"));
    },
  );
});

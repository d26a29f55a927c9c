/**
 * nodeSocketTransport() over real `node:net` sockets on 127.0.0.1 (Deno's
 * `node:net`): ordering, pull on demand, backpressure, each way of closing,
 * and errors with their code.
 */

import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";
import {
  ErrorCode,
  initiate,
  type NodeSocketLike,
  nodeSocketTransport,
  respond,
  SessionError,
} from "../mod.ts";

/**
 * A connected pair of sockets on 127.0.0.1; `done()` waits until both are closed.
 * With `allowHalfOpen`, a socket that read the peer's FIN may still write.
 */
interface SocketPair {
  client: Socket;
  server: Socket;
  done(): Promise<void>;
}

function closedOf(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once("close", () => resolve());
  });
}

async function socketPair(allowHalfOpen = false): Promise<SocketPair> {
  const accepted = Promise.withResolvers<Socket>();
  const listener = createServer({ allowHalfOpen }, (socket) => accepted.resolve(socket));
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const { port } = listener.address() as { port: number };
  const client = createConnection({ port, host: "127.0.0.1", allowHalfOpen });
  const server = await accepted.promise;
  await new Promise<void>((resolve) => {
    if (!client.connecting) resolve();
    else client.once("connect", () => resolve());
  });
  const closed = Promise.all([closedOf(client), closedOf(server)]);
  return {
    client,
    server,
    async done(): Promise<void> {
      await within(closed, 10_000, "the sockets did not close");
      await new Promise((resolve) => listener.close(resolve));
    },
  };
}

/** The socket as the transport sees it, counting the calls that close it. */
function counted(socket: Socket): { socket: NodeSocketLike; ends: number; destroys: number } {
  const counts = { ends: 0, destroys: 0 };
  const standIn: NodeSocketLike = {
    get destroyed(): boolean {
      return socket.destroyed;
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    write: (chunk, callback) => socket.write(chunk, callback),
    end(): void {
      counts.ends++;
      socket.end();
    },
    destroy(error?: Error): void {
      counts.destroys++;
      socket.destroy(error);
    },
    on(event: string, listener: (...args: never[]) => void): void {
      socket.on(event, listener as (...args: unknown[]) => void);
    },
  };
  return Object.assign(counts, { socket: standIn });
}

/** Bytes where byte i is a function of i and `seed`: order and content are checkable. */
function pattern(length: number, seed: number, offset = 0): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    bytes[i] = ((offset + i) * 31 + seed + ((offset + i) >> 8)) & 0xff;
  }
  return bytes;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** Writes `total` bytes of `pattern(…, seed)` in chunks of varying size. */
async function writePattern(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  total: number,
  seed: number,
): Promise<void> {
  for (let at = 0, step = 1; at < total; step = (step * 7 + 3) % 70_001) {
    const length = Math.min(total - at, step + 1);
    await writer.write(pattern(length, seed, at));
    at += length;
  }
}

/** Reads exactly `total` bytes. */
async function readExactly(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  total: number,
): Promise<Uint8Array> {
  const all = new Uint8Array(total);
  for (let at = 0; at < total;) {
    const { value, done } = await reader.read();
    assert.ok(!done, `the stream ended after ${at} of ${total} bytes`);
    all.set(value, at);
    at += value.length;
  }
  return all;
}

/** Resolves once `value()` has not changed for `polls` polls in a row (the flow has stopped). */
async function settled(value: () => number, polls = 10, intervalMs = 20): Promise<number> {
  let last = value();
  for (let same = 0; same < polls;) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const now = value();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Fails if `promise` takes longer than `ms` (a bound on a hang, not a timing measurement). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (over ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<unknown> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof SessionError && error.code === code;
  });
  return caught;
}

Deno.test("nodeSocketTransport() carries bytes in order both ways at once", async () => {
  const { client, server, done } = await socketPair();
  const a = nodeSocketTransport(client);
  const b = nodeSocketTransport(server);
  assert.equal(a.kind, "stream");
  const [aWriter, bWriter] = [a.writable.getWriter(), b.writable.getWriter()];
  const [aReader, bReader] = [a.readable.getReader(), b.readable.getReader()];
  const total = 1_000_000;
  const [, , atB, atA] = await Promise.all([
    writePattern(aWriter, total, 1),
    writePattern(bWriter, total, 2),
    readExactly(bReader, total),
    readExactly(aReader, total),
  ]);
  assert.deepEqual(atB, pattern(total, 1));
  assert.deepEqual(atA, pattern(total, 2));
  await Promise.all([aWriter.close(), bWriter.close()]);
  assert.equal((await aReader.read()).done, true);
  assert.equal((await bReader.read()).done, true);
  await done();
});

Deno.test("nodeSocketTransport() hands over plain Uint8Arrays that later reads leave alone", async () => {
  const { client, server, done } = await socketPair();
  const reader = nodeSocketTransport(client).readable.getReader();
  const kept: Uint8Array[] = [];
  let received = 0;
  const total = 200_000;
  server.write(pattern(total, 3));
  while (received < total) {
    const { value } = await reader.read();
    assert.ok(value !== undefined);
    assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
    kept.push(value);
    received += value.length;
  }
  // Every chunk still holds what it held when it was read.
  let at = 0;
  for (const chunk of kept) {
    assert.deepEqual(chunk, pattern(chunk.length, 3, at));
    at += chunk.length;
  }
  server.end();
  assert.equal((await reader.read()).done, true);
  await done();
});

Deno.test("nodeSocketTransport() reads only on demand and writes wait for 'drain'", async () => {
  const { client, server, done } = await socketPair();
  const sender = nodeSocketTransport(server);
  const receiver = nodeSocketTransport(client);
  // Far more than the kernel buffers on loopback: the sender must end up waiting.
  const total = 48 * 1024 * 1024;
  const chunk = 64 * 1024;
  let written = 0;
  const writing = (async (): Promise<void> => {
    const writer = sender.writable.getWriter();
    for (; written < total; written += chunk) await writer.write(pattern(chunk, 4, written));
    await writer.close();
  })();
  let finished = false;
  void writing.then(() => (finished = true));

  // Nobody reads: the flow stops, with the bytes in the kernel, not in either process.
  await settled(() => written);
  assert.equal(finished, false, "the writer waits for the reader");
  assert.ok(written < total / 2, `the writer stopped after ${written} bytes`);
  assert.ok(
    client.bytesRead <= 1024 * 1024,
    `the idle reader took ${client.bytesRead} bytes from the kernel`,
  );
  assert.ok(
    server.writableLength <= 1024 * 1024,
    `the writer queued ${server.writableLength} bytes in the socket`,
  );

  // Reading resumes the flow; every byte arrives, in order.
  const reader = receiver.readable.getReader();
  let at = 0;
  let mismatch: number | undefined;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const expected = pattern(value.length, 4, at);
    if (mismatch === undefined && !value.every((byte, i) => byte === expected[i])) mismatch = at;
    at += value.length;
    // Unread bytes stay bounded while the reader keeps pace.
    assert.ok(client.bytesRead - at <= 1024 * 1024, `${client.bytesRead - at} bytes read ahead`);
  }
  assert.equal(at, total);
  assert.equal(mismatch, undefined, `bytes differ from offset ${mismatch}`);
  await writing;
  // The sender's socket closes once its own readable is done with too.
  await sender.readable.cancel();
  await done();
});

Deno.test("nodeSocketTransport() writable close resolves once queued bytes are out, ending the socket once", async () => {
  const { client, server, done } = await socketPair();
  const local = counted(client);
  const transport = nodeSocketTransport(local.socket);
  const writer = transport.writable.getWriter();
  const total = 8 * 1024 * 1024;
  const arrived = Array.fromAsync(nodeSocketTransport(server).readable);
  void writer.write(pattern(total, 5));
  await writer.close();
  // As a session does: cancel right after the close. Nothing written may be lost.
  await transport.readable.cancel();
  assert.deepEqual(await arrived.then(concat), pattern(total, 5));
  await assert.rejects(writer.write(new Uint8Array(1)), TypeError); // the stream is closed
  await done();
  assert.deepEqual({ ends: local.ends, destroys: local.destroys }, { ends: 1, destroys: 1 });
});

/**
 * A socket that only records calls, for what a real socket makes a race: the
 * test emits `'drain'`, `'finish'` and `'close'` itself.
 */
class ScriptedSocket extends EventEmitter implements NodeSocketLike {
  destroyed = false;
  ended = false;
  roomLeft = true;
  written: Uint8Array[] = [];

  pause(): void {}
  resume(): void {}
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean {
    this.written.push(chunk);
    queueMicrotask(() => callback());
    return this.roomLeft;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
    queueMicrotask(() => this.emit("close"));
  }
}

/** Whether `promise` is still pending once every queued callback has run. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return !settled;
}

Deno.test("nodeSocketTransport() writes wait for 'drain' and close waits for 'finish'", async () => {
  const socket = new ScriptedSocket();
  const writer = nodeSocketTransport(socket).writable.getWriter();
  socket.roomLeft = false;
  const write = writer.write(new Uint8Array([1]));
  assert.equal(await pending(write), true, "the write waits while the socket is full");
  socket.emit("drain");
  await write;
  socket.roomLeft = true;
  await writer.write(new Uint8Array([2]));
  const closing = writer.close();
  assert.equal(socket.ended, true);
  assert.equal(await pending(closing), true, "the close waits until the bytes are out");
  socket.emit("finish");
  await closing;
  assert.deepEqual(socket.written, [new Uint8Array([1]), new Uint8Array([2])]);
  assert.equal(socket.destroyed, false);
});

Deno.test("nodeSocketTransport() writable close fails with ERR_TRANSPORT_CLOSED if the socket closes first", async () => {
  const socket = new ScriptedSocket();
  const closing = nodeSocketTransport(socket).writable.close();
  assert.equal(await pending(closing), true);
  socket.emit("close");
  await rejectsWith(closing, ErrorCode.TRANSPORT_CLOSED);
});

Deno.test("nodeSocketTransport() writable close gives up after closeTimeout: destroys, fails with ERR_TRANSPORT_CLOSED", async () => {
  const socket = new ScriptedSocket();
  const closing = nodeSocketTransport(socket, { closeTimeout: 20 }).writable.close();
  await rejectsWith(closing, ErrorCode.TRANSPORT_CLOSED); // 'finish' never comes
  assert.equal(socket.ended, true);
  assert.equal(socket.destroyed, true);
});

Deno.test("nodeSocketTransport() rejects a closeTimeout that is not a positive number", () => {
  for (const closeTimeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
    assert.throws(() => nodeSocketTransport(new ScriptedSocket(), { closeTimeout }), RangeError);
  }
});

Deno.test("nodeSocketTransport() writable close leaves the readable open until the peer's FIN", async () => {
  const { client, server, done } = await socketPair(true);
  const local = counted(client);
  const transport = nodeSocketTransport(local.socket);
  const peer = nodeSocketTransport(server);
  const peerReader = peer.readable.getReader();
  await transport.writable.close();
  assert.equal((await peerReader.read()).done, true);
  const reader = transport.readable.getReader();
  const peerWriter = peer.writable.getWriter();
  const replying = peerWriter.write(pattern(10, 6));
  assert.deepEqual(await readExactly(reader, 10), pattern(10, 6));
  await replying;
  await peerWriter.close();
  assert.equal((await reader.read()).done, true);
  // Both halves are done: the socket closed by itself.
  await done();
  await reader.cancel();
  assert.deepEqual({ ends: local.ends, destroys: local.destroys }, { ends: 1, destroys: 0 });
});

Deno.test("nodeSocketTransport() readable cancel closes the socket once and fails later writes", async () => {
  const { client, server, done } = await socketPair();
  const local = counted(client);
  const transport = nodeSocketTransport(local.socket);
  const peer = nodeSocketTransport(server);
  const writer = transport.writable.getWriter();
  await transport.readable.cancel();
  assert.deepEqual({ ends: local.ends, destroys: local.destroys }, { ends: 0, destroys: 1 });
  await rejectsWith(writer.write(new Uint8Array([1])), ErrorCode.TRANSPORT_CLOSED);
  await writer.close().catch(() => {});
  await writer.abort().catch(() => {});
  assert.deepEqual(await Array.fromAsync(peer.readable).then(concat), new Uint8Array(0));
  await peer.writable.close();
  await done();
  assert.deepEqual({ ends: local.ends, destroys: local.destroys }, { ends: 0, destroys: 1 });
});

Deno.test("nodeSocketTransport() writable abort closes the socket once, even mid-'drain'", async () => {
  const { client, server, done } = await socketPair();
  const local = counted(client);
  const transport = nodeSocketTransport(local.socket);
  const writer = transport.writable.getWriter();
  // Fill every buffer: the last write waits for a 'drain' that only reading would bring.
  let stuck: Promise<void> | undefined;
  let written = 0;
  for (let waiting = false; !waiting;) {
    assert.ok(written < 256 * 1024 * 1024, "no write ever waited for 'drain'");
    const write = writer.write(new Uint8Array(256 * 1024));
    waiting = await Promise.race([
      write.then(() => false),
      settled(() => written, 5).then(() => true),
    ]);
    written += 256 * 1024;
    if (waiting) stuck = write;
  }
  const failed = rejectsWith(stuck!, ErrorCode.TRANSPORT_CLOSED);
  await within(writer.abort(new Error("stop")), 10_000, "the abort waits for the stuck write");
  await failed;
  await transport.readable.cancel();
  server.resume();
  server.destroy();
  await done();
  assert.deepEqual({ ends: local.ends, destroys: local.destroys }, { ends: 0, destroys: 1 });
});

Deno.test("nodeSocketTransport() reports socket failures as ERR_TRANSPORT_CLOSED", async (t) => {
  await t.step("an error on the socket fails reads and writes, with it as cause", async () => {
    const { client, server, done } = await socketPair();
    const transport = nodeSocketTransport(client);
    const reader = transport.readable.getReader();
    const reading = reader.read();
    const failure = new Error("injected");
    client.destroy(failure);
    const error = await rejectsWith(reading, ErrorCode.TRANSPORT_CLOSED);
    assert.equal((error as Error).cause, failure);
    const writer = transport.writable.getWriter();
    await rejectsWith(writer.write(new Uint8Array([1])), ErrorCode.TRANSPORT_CLOSED);
    server.destroy();
    await done();
  });

  await t.step("a reset from the peer fails the read", async () => {
    const { client, server, done } = await socketPair();
    const reading = nodeSocketTransport(client).readable.getReader().read();
    server.resetAndDestroy();
    await rejectsWith(reading, ErrorCode.TRANSPORT_CLOSED);
    await done();
  });

  await t.step("a socket closed without the peer's FIN fails the read", async () => {
    const { client, server, done } = await socketPair();
    const reading = nodeSocketTransport(client).readable.getReader().read();
    client.destroy();
    await rejectsWith(reading, ErrorCode.TRANSPORT_CLOSED);
    server.destroy();
    await done();
  });

  await t.step(
    "a socket with an encoding fails the read instead of handing over text",
    async () => {
      const { client, server, done } = await socketPair();
      client.setEncoding("utf8");
      const reading = nodeSocketTransport(client).readable.getReader().read();
      server.write("text");
      await rejectsWith(reading, ErrorCode.TRANSPORT_CLOSED);
      server.destroy();
      await done();
    },
  );

  await t.step("a socket destroyed before it was handed over fails reads and writes", async () => {
    const { client, server, done } = await socketPair();
    client.destroy();
    server.destroy();
    await done();
    const transport = nodeSocketTransport(client);
    await rejectsWith(transport.readable.getReader().read(), ErrorCode.TRANSPORT_CLOSED);
    await rejectsWith(
      transport.writable.getWriter().write(new Uint8Array([1])),
      ErrorCode.TRANSPORT_CLOSED,
    );
  });
});

Deno.test("nodeSocketTransport() carries a session: handshake, data, key update, close", async () => {
  const { client, server, done } = await socketPair();
  const ECHO = "5e1f0a6c-3a34-4f29-8c3c-5d0f1b2e7a10";
  const options = { requireAuthentication: false, extenders: [ECHO] };
  const initiator = initiate(nodeSocketTransport(client), options);
  const responder = respond(nodeSocketTransport(server), options);
  const heard = Promise.withResolvers<Uint8Array>();
  responder.on("message", ({ data }) => heard.resolve(data));
  await Promise.all([initiator.ready, responder.ready]);
  await initiator.send(ECHO, pattern(100, 6));
  assert.deepEqual(await heard.promise, pattern(100, 6));
  assert.equal(await initiator.updateKeys(), initiator.epoch);
  await initiator.close();
  const closed = await Promise.all([initiator.closed, responder.closed]);
  assert.deepEqual(closed, [{ code: undefined, local: true }, { code: undefined, local: false }]);
  await done();
});

/**
 * The close handshake (PROTOCOL.md §13): a Close is answered by a Close,
 * sends issued before `close()` arrive before it, and a close that cannot
 * complete (no answer, a cut or altered stream) ends with a code, never as
 * an orderly close.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type CloseInfo,
  createDatagramPair,
  createMemoryPair,
  ErrorCode,
  seededRandom,
  type SessionOptions,
  type Transport,
} from "../mod.ts";
import { startPair } from "./_session_helpers.ts";

const EXTENDER = "6f0e8c7a-2b1d-4c3e-9f8a-7b6c5d4e3f2a";

function options(extra: SessionOptions = {}): SessionOptions {
  return { requireAuthentication: false, extenders: [EXTENDER], ...extra };
}

/**
 * A stream pair whose responder-to-initiator direction can be cut at the
 * byte level once armed: `withhold` keeps bytes (the connection stays open),
 * `dropNextChunk` loses the next chunk, `cut` ends the stream there.
 */
function gatedPair(): {
  transports: [Transport, Transport];
  withhold(): void;
  dropNextChunk(): void;
  cut(): void;
} {
  const [a, b] = createMemoryPair();
  let mode: "pass" | "withhold" | "dropNext" = "pass";
  let cut = (): void => {};
  const gate = new TransformStream<Uint8Array, Uint8Array>({
    start(controller): void {
      cut = () => controller.terminate();
    },
    transform(chunk, controller): void {
      if (mode === "withhold") return;
      if (mode === "dropNext") {
        mode = "pass";
        return;
      }
      controller.enqueue(chunk);
    },
    // A withheld direction stays open: its end is withheld too.
    flush: () => mode === "withhold" ? new Promise<void>(() => {}) : undefined,
  });
  void a.readable.pipeTo(gate.writable).catch(() => {});
  return {
    transports: [{ readable: gate.readable, writable: a.writable }, b],
    withhold: () => void (mode = "withhold"),
    dropNextChunk: () => void (mode = "dropNext"),
    cut: () => cut(),
  };
}

Deno.test("Session.close() resolves once the peer's Close opened; both sides end without a code", async () => {
  const pair = startPair(options(), options());
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  const ends: CloseInfo[] = [];
  pair.initiator.on("close", (info) => ends.push(info));
  pair.responder.on("close", (info) => ends.push(info));
  await pair.initiator.close();
  const [mine, theirs] = await Promise.all([pair.initiator.closed, pair.responder.closed]);
  assert.deepEqual(mine, { code: undefined, local: true });
  assert.deepEqual(theirs, { code: undefined, local: false });
  // Both closed states were reached by the exchange, each side's trace shows it.
  assert.equal(ends.length, 2);
});

Deno.test("Session.send() issued before close() is delivered before the Close, whatever the buffering", async () => {
  // A pipe that holds one chunk per direction: writes wait for the reader, so
  // a Close not ordered behind the sends would overtake them.
  const pair = startPair(
    options({ maxBufferedBytes: 4_096 }),
    options(),
    createMemoryPair({ highWaterMark: 1 }),
  );
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  const received: number[] = [];
  pair.responder.on("message", ({ data }) => received.push(data[0]!));
  // Half of them wait for buffer space (maxBufferedBytes) when close() is called.
  const sends = Array.from(
    { length: 8 },
    (_, i) => pair.initiator.send(EXTENDER, new Uint8Array(1_000).fill(i)),
  );
  const closing = pair.initiator.close();
  await Promise.all(sends);
  await closing;
  assert.deepEqual(received, Array.from({ length: 8 }, (_, i) => i));
  assert.deepEqual(await pair.responder.closed, { code: undefined, local: false });
});

Deno.test("Session.close() fails with ERR_TIMEOUT when the peer never answers its Close", async () => {
  const gated = gatedPair();
  const pair = startPair(
    options({ timeouts: { close: 300 } }),
    options(),
    gated.transports,
  );
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  gated.withhold();
  const closing = pair.initiator.close().then(() => "resolved", (error) => error.code);
  assert.equal(await closing, ErrorCode.TIMEOUT);
  assert.equal((await pair.initiator.closed).code, ErrorCode.TIMEOUT);
  // The peer answered (its Close was withheld on the way): it ended normally.
  assert.deepEqual(await pair.responder.closed, { code: undefined, local: false });
});

Deno.test("a Close after a dropped record does not open: the closer ends with a code", async () => {
  const gated = gatedPair();
  const pair = startPair(options(), options(), gated.transports);
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  // The responder's next record (data) is lost; its Close then arrives under
  // a counter the initiator does not expect.
  gated.dropNextChunk();
  await pair.responder.send(EXTENDER, new Uint8Array([1, 2, 3]));
  const closing = pair.initiator.close().then(() => undefined, (error) => error.code);
  const { code } = await pair.initiator.closed;
  // The lost record took its masked length with it: the next length does not
  // unmask (framing) or the Close does not open (its counter moved on).
  assert.ok(
    code === ErrorCode.DECRYPT_FAILED || code === ErrorCode.FRAME_TOO_LARGE,
    `ended with ${code}`,
  );
  assert.equal(await closing, code);
});

Deno.test("a stream cut after ready without the peer's Close ends with ERR_TRANSPORT_CLOSED", async () => {
  const gated = gatedPair();
  const pair = startPair(options(), options(), gated.transports);
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  // The responder's direction ends without a Close.
  gated.cut();
  const { code } = await pair.initiator.closed;
  assert.equal(code, ErrorCode.TRANSPORT_CLOSED);
});

Deno.test("two Close messages that cross end both sessions without a code", async () => {
  const pair = startPair(options(), options());
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  await Promise.all([pair.initiator.close(), pair.responder.close()]);
  assert.deepEqual((await pair.initiator.closed).code, undefined);
  assert.deepEqual((await pair.responder.closed).code, undefined);
});

Deno.test("over datagrams that lose a third of what is sent, close still completes on both sides", async () => {
  const pair = startPair(
    options(),
    options(),
    createDatagramPair({ loss: 0.33, random: seededRandom(new Uint8Array([7])) }),
  );
  await Promise.all([pair.initiator.ready, pair.responder.ready]);
  await pair.initiator.close();
  assert.deepEqual((await pair.initiator.closed).code, undefined);
  assert.deepEqual((await pair.responder.closed).code, undefined);
});

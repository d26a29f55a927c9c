import assert from "node:assert/strict";
import { createActor, initialTransition, SimulatedClock, transition } from "xstate";
import { handshakeMachine } from "../machines/handshake.ts";
import { metaExchangeMachine } from "../machines/meta_exchange.ts";
import { primaryKeyExchangeMachine } from "../machines/primary_key_exchange.ts";
import { authenticationMachine } from "../machines/authentication.ts";
import { sessionInitMachine } from "../machines/session_init.ts";
import type { HandshakeEvent, HandshakeOutput } from "../machines/_setup.ts";
import { ErrorCode } from "../src/errors.ts";
import { HANDSHAKE_KINDS, type Message } from "../src/codec/message_types.ts";
import { ANONYMOUS, commandsOf, machineInput, runPair } from "./_machine_harness.ts";

function failureCode(output: unknown): string | undefined {
  const result = output as HandshakeOutput | undefined;
  return result?.status === "failed" ? result.failure.code : undefined;
}

const SUITE = {
  primaryKeyExchange: "X25519",
  secondaryKeyExchange: "ML-KEM-768",
  aead: "ChaCha20-Poly1305",
  hash: "SHA-256",
} as const;

Deno.test("handshakeMachine runs both roles to ready with the same suite", () => {
  const { initiator, responder, commands } = runPair();
  assert.equal(initiator.value, "ready");
  assert.equal(responder.value, "ready");
  assert.deepEqual(initiator.output, {
    status: "ready",
    suite: SUITE,
    peer: {
      presentedIdentity: false,
      authenticated: false,
      sessionId: "2222222222222222",
      requiresAuthentication: false,
      version: { major: 1, minor: 0 },
      extenders: [],
    },
  });
  assert.deepEqual(
    (responder.output as HandshakeOutput & { status: "ready" }).suite,
    SUITE,
  );
  const sent = (role: "initiator" | "responder") =>
    commands[role].flatMap((command) =>
      command.type === "frame.send" ? [command.message.kind] : []
    );
  assert.deepEqual(sent("responder"), [
    "beginMetaExchange",
    "beginPrimaryKeyExchange",
    "beginSecondaryKeyExchange",
    "beginAuthentication",
    "beginSessionInit",
  ]);
  assert.deepEqual(sent("initiator"), [
    "endMetaExchange",
    "endPrimaryKeyExchange",
    "endSecondaryKeyExchange",
    "endAuthentication",
    "endSessionInit",
  ]);
});

Deno.test("handshakeMachine orders key installation around the messages that complete an exchange", () => {
  const { commands } = runPair();
  const order = (role: "initiator" | "responder") =>
    commands[role].map((command) =>
      command.type === "frame.send"
        ? command.message.kind
        : command.type === "keys.install"
        ? `install:${command.stage}`
        : command.type
    );
  const initiator = order("initiator");
  // The follower sends its answer under the old keys, then installs.
  assert.ok(
    initiator.indexOf("endPrimaryKeyExchange") < initiator.indexOf("install:primary"),
  );
  assert.ok(
    initiator.indexOf("endSecondaryKeyExchange") < initiator.indexOf("install:secondary"),
  );
  const responder = order("responder");
  // The leader installs only after finishing with the answer, before its next message.
  assert.ok(responder.indexOf("keyExchange.finish") < responder.indexOf("install:primary"));
  assert.ok(responder.indexOf("install:primary") < responder.indexOf("beginSecondaryKeyExchange"));
  assert.ok(responder.indexOf("install:secondary") < responder.indexOf("beginAuthentication"));
});

Deno.test("handshakeMachine fails the meta exchange", async (t) => {
  await t.step("with ERR_VERSION_MISMATCH for another major version", () => {
    const { initiator } = runPair({
      channel: (_, event) =>
        event.type === "peer.beginMetaExchange"
          ? { ...event, message: { ...event.message, version: { major: 2, minor: 0 } } }
          : event,
    });
    assert.equal(initiator.value, "failed");
    assert.equal(failureCode(initiator.output), ErrorCode.VERSION_MISMATCH);
  });

  await t.step("with ERR_NO_COMMON_ALGORITHM when a category has nothing in common", () => {
    const { initiator } = runPair({
      responder: {
        preferences: {
          ...machineInput("responder").preferences,
          secondaryKeyExchanges: ["ML-KEM-1024"],
        },
      },
      initiator: {
        preferences: {
          ...machineInput("initiator").preferences,
          secondaryKeyExchanges: ["ML-KEM-512"],
        },
      },
    });
    assert.equal(failureCode(initiator.output), ErrorCode.NO_COMMON_ALGORITHM);
  });

  await t.step("with ERR_NO_COMMON_ALGORITHM when the initiator picks what was not offered", () => {
    const { responder } = runPair({
      channel: (_, event) =>
        event.type === "peer.endMetaExchange"
          ? { ...event, message: { ...event.message, hash: 0x7777 } }
          : event,
    });
    assert.equal(failureCode(responder.output), ErrorCode.NO_COMMON_ALGORITHM);
  });

  await t.step("with ERR_AUTH_REQUIRED when the peer requires an identity we lack", () => {
    const { initiator } = runPair({ responder: { requireAuthentication: true } });
    assert.equal(initiator.value, "failed");
    assert.equal(failureCode(initiator.output), ErrorCode.AUTH_REQUIRED);
  });

  await t.step("with ERR_AUTH_REQUIRED when the peer accepts none of our schemes", () => {
    const { responder } = runPair({
      responder: { identity: "Ed448" },
      initiator: {
        requireAuthentication: true,
        preferences: { ...machineInput("initiator").preferences, signatures: ["Ed25519"] },
      },
    });
    assert.equal(failureCode(responder.output), ErrorCode.AUTH_REQUIRED);
  });

  // machines/meta_exchange.ts checks the version, then the algorithms, then
  // authentication: when several fail at once, the first of them names the failure.
  const onlyMlKem1024 = {
    preferences: {
      ...machineInput("responder").preferences,
      secondaryKeyExchanges: ["ML-KEM-1024"],
    },
  } as const;
  const onlyMlKem512 = {
    preferences: {
      ...machineInput("initiator").preferences,
      secondaryKeyExchanges: ["ML-KEM-512"],
    },
  } as const;
  const rewriteOffer = (change: object) => (_: unknown, event: HandshakeEvent): HandshakeEvent =>
    event.type === "peer.beginMetaExchange"
      ? { ...event, message: { ...event.message, ...change } }
      : event;
  const rewriteChoice = (change: object) => (_: unknown, event: HandshakeEvent): HandshakeEvent =>
    event.type === "peer.endMetaExchange"
      ? { ...event, message: { ...event.message, ...change } }
      : event;

  await t.step("the initiator reports a version mismatch before missing algorithms", () => {
    const { initiator } = runPair({
      responder: onlyMlKem1024,
      initiator: onlyMlKem512,
      channel: rewriteOffer({ version: { major: 2, minor: 0 } }),
    });
    assert.equal(failureCode(initiator.output), ErrorCode.VERSION_MISMATCH);
  });

  await t.step("the initiator reports missing algorithms before an identity it lacks", () => {
    const { initiator } = runPair({
      responder: { ...onlyMlKem1024, requireAuthentication: true },
      initiator: onlyMlKem512,
    });
    assert.equal(failureCode(initiator.output), ErrorCode.NO_COMMON_ALGORITHM);
  });

  await t.step("the initiator reports a version mismatch before an identity it lacks", () => {
    const { initiator } = runPair({
      responder: { requireAuthentication: true },
      channel: rewriteOffer({ version: { major: 2, minor: 0 } }),
    });
    assert.equal(failureCode(initiator.output), ErrorCode.VERSION_MISMATCH);
  });

  await t.step("the responder reports a version mismatch before a choice it did not offer", () => {
    const { responder } = runPair({
      channel: rewriteChoice({ version: { major: 2, minor: 0 }, hash: 0x7777 }),
    });
    assert.equal(failureCode(responder.output), ErrorCode.VERSION_MISMATCH);
  });

  await t.step(
    "the responder reports a choice it did not offer before an identity it lacks",
    () => {
      const { responder } = runPair({
        channel: rewriteChoice({ hash: 0x7777, requireAuthentication: true }),
      });
      assert.equal(failureCode(responder.output), ErrorCode.NO_COMMON_ALGORITHM);
    },
  );

  await t.step("the responder reports a version mismatch before an identity it lacks", () => {
    const { responder } = runPair({
      channel: rewriteChoice({ version: { major: 2, minor: 0 }, requireAuthentication: true }),
    });
    assert.equal(failureCode(responder.output), ErrorCode.VERSION_MISMATCH);
  });
});

Deno.test("handshakeMachine judges the peer's authentication", async (t) => {
  const identity = { identity: "Ed25519" as const };
  await t.step("accepts an anonymous peer when authentication is not required", () => {
    const { initiator, responder } = runPair();
    assert.equal(initiator.value, "ready");
    assert.equal(responder.context.peer.authenticated, false);
  });

  await t.step("records an authenticated peer", () => {
    const verdict = {
      presented: true,
      signatureValid: true,
      access: "allowed",
      uuid: "0c2f4a8e-1b3d-8e5f-9a7b-0c1d2e3f4a5b",
      signature: "Ed25519",
    } as const;
    const { initiator, responder } = runPair({
      initiator: { ...identity, requireAuthentication: true },
      responder: { ...identity, requireAuthentication: true },
      verdicts: { initiator: verdict, responder: verdict },
    });
    assert.equal(initiator.value, "ready");
    assert.equal(responder.value, "ready");
    assert.equal(initiator.context.peer.authenticated, true);
    assert.equal(responder.context.peer.uuid, verdict.uuid);
  });

  for (
    const [name, verdict, require, code] of [
      [
        "a proof that does not verify",
        { presented: true, signatureValid: false, access: "allowed" },
        false,
        ErrorCode.AUTH_FAILED,
      ],
      [
        "a peer the access manager denies",
        { presented: true, signatureValid: true, access: "denied" },
        false,
        ErrorCode.PEER_NOT_ALLOWED,
      ],
      [
        "an unknown peer when authentication is required",
        { presented: true, signatureValid: true, access: "unknown" },
        true,
        ErrorCode.PEER_NOT_ALLOWED,
      ],
      [
        "a missing identity when authentication is required",
        ANONYMOUS,
        true,
        ErrorCode.AUTH_REQUIRED,
      ],
    ] as const
  ) {
    await t.step(`rejects ${name} with ${code}`, () => {
      const { responder, initiator } = runPair({
        initiator: identity,
        responder: { requireAuthentication: require, identity: "Ed25519" },
        verdicts: { responder: verdict },
      });
      assert.equal(responder.value, "failed");
      assert.equal(failureCode(responder.output), code);
      // The initiator finished its side and waits for session init, which never comes.
      assert.deepEqual(initiator.value, { sessionInit: "awaitingPeerExtenders" });
    });
  }
});

Deno.test("handshakeMachine fails with ERR_UNEXPECTED_MESSAGE for any message a state does not handle", () => {
  // Collect every state each role passes through, then offer each one every
  // peer message kind that state does not expect.
  const visited = { initiator: new Map<string, unknown>(), responder: new Map<string, unknown>() };
  const { commands } = runPair({
    visit: (role, snapshot) => {
      if (snapshot.status === "active") visited[role].set(JSON.stringify(snapshot.value), snapshot);
    },
  });
  const kinds = HANDSHAKE_KINDS;
  const examples = new Map<string, Message>();
  for (const command of [...commands.initiator, ...commands.responder]) {
    if (command.type === "frame.send") examples.set(command.message.kind, command.message);
  }
  let checked = 0;
  for (const role of ["initiator", "responder"] as const) {
    for (const snapshot of visited[role].values()) {
      for (const kind of kinds) {
        const typed = snapshot as Parameters<typeof transition<typeof handshakeMachine>>[1];
        const event = { type: `peer.${kind}`, message: examples.get(kind)! } as HandshakeEvent;
        const handled = typed.can(event);
        const [next] = transition(handshakeMachine, typed, event);
        if (next.value === "failed" && failureCode(next.output) === ErrorCode.UNEXPECTED_MESSAGE) {
          checked++;
          continue;
        }
        // Only the one message the state waits for may move it elsewhere.
        assert.ok(handled, `${role} in ${JSON.stringify(typed.value)} mishandled ${kind}`);
        const expected = role === "initiator" ? kind.startsWith("begin") : kind.startsWith("end");
        assert.ok(expected, `${role} in ${JSON.stringify(typed.value)} accepted ${kind}`);
      }
      const [other] = transition(handshakeMachine, snapshot as never, {
        type: "peer.other",
        message: { kind: "extenderData", extender: new Uint8Array(16), data: new Uint8Array() },
      });
      assert.equal(failureCode(other.output), ErrorCode.UNEXPECTED_MESSAGE);
    }
  }
  assert.ok(checked > 50, `only ${checked} unexpected messages were checked`);
});

Deno.test("handshakeMachine fails on transport and crypto events in every active state", () => {
  const snapshots: unknown[] = [];
  runPair({ visit: (_, snapshot) => snapshot.status === "active" && snapshots.push(snapshot) });
  const cases = [
    [{ type: "transport.closed" }, ErrorCode.TRANSPORT_CLOSED],
    [{ type: "local.abort" }, ErrorCode.ABORTED],
    [{ type: "crypto.failed", code: ErrorCode.INVALID_PEER_KEY }, ErrorCode.INVALID_PEER_KEY],
    [{ type: "transport.invalidRecord", code: ErrorCode.DECRYPT_FAILED }, ErrorCode.DECRYPT_FAILED],
  ] as const;
  for (const snapshot of snapshots) {
    for (const [event, code] of cases) {
      const [next, actions] = transition(handshakeMachine, snapshot as never, event);
      assert.equal(next.value, "failed");
      assert.equal(failureCode(next.output), code);
      assert.deepEqual(
        commandsOf(actions).map((command) => command.type),
        ["handshake.failed"],
      );
    }
  }
  assert.ok(snapshots.length >= 20);
});

Deno.test("handshakeMachine fails with ERR_TIMEOUT after phaseTimeout", async (t) => {
  for (const role of ["initiator", "responder"] as const) {
    await t.step(role, () => {
      const clock = new SimulatedClock();
      const actor = createActor(handshakeMachine, {
        clock,
        input: machineInput(role, { timeouts: { phase: 500, handshake: 10_000 } }),
      });
      actor.start();
      clock.increment(499);
      assert.equal(actor.getSnapshot().status, "active");
      clock.increment(1);
      assert.equal(actor.getSnapshot().value, "failed");
      assert.equal(failureCode(actor.getSnapshot().output), ErrorCode.TIMEOUT);
      assert.equal(actor.getSnapshot().context.failure?.phase, "metaExchange");
    });
  }
});

Deno.test("handshakeMachine fails with ERR_TIMEOUT after handshakeTimeout while the runtime is busy", () => {
  const clock = new SimulatedClock();
  const actor = createActor(handshakeMachine, {
    clock,
    input: machineInput("responder", { timeouts: { phase: 5_000, handshake: 2_000 } }),
  });
  actor.start();
  const [choice] = runPair().commands.initiator.flatMap((command) =>
    command.type === "frame.send" && command.message.kind === "endMetaExchange"
      ? [command.message]
      : []
  );
  actor.send({ type: "peer.endMetaExchange", message: choice! });
  // Now waiting for its own crypto (offering): the handshake deadline comes first.
  assert.deepEqual(actor.getSnapshot().value, { primaryKeyExchange: "offering" });
  clock.increment(1_999);
  assert.equal(actor.getSnapshot().status, "active");
  clock.increment(1);
  assert.equal(failureCode(actor.getSnapshot().output), ErrorCode.TIMEOUT);
});

Deno.test("phase machines run alone and end in completed", async (t) => {
  await t.step("metaExchangeMachine", () => {
    const [responder, actions] = initialTransition(metaExchangeMachine, machineInput("responder"));
    const [begin] = commandsOf(actions);
    assert.equal(begin?.type, "frame.send");
    const [initiator] = initialTransition(metaExchangeMachine, machineInput("initiator"));
    const message = (begin as { message: Message }).message;
    const [done, emitted] = transition(metaExchangeMachine, initiator, {
      type: "peer.beginMetaExchange",
      message: message as never,
    });
    assert.equal(done.value, "completed");
    assert.deepEqual(commandsOf(emitted).map((command) => command.type), [
      "frame.send",
      "negotiation.settled",
    ]);
    assert.equal(responder.value !== undefined, true);
  });

  await t.step("primaryKeyExchangeMachine", () => {
    const input = machineInput("initiator", { suite: SUITE });
    const [start] = initialTransition(primaryKeyExchangeMachine, input);
    assert.deepEqual(start.value, { primaryKeyExchange: "awaitingOffer" });
    const share = new Uint8Array(32);
    const [answering] = transition(primaryKeyExchangeMachine, start, {
      type: "peer.beginPrimaryKeyExchange",
      message: { kind: "beginPrimaryKeyExchange", share },
    });
    const [done, actions] = transition(primaryKeyExchangeMachine, answering, {
      type: "crypto.answered",
      share,
    });
    assert.equal(done.value, "completed");
    assert.deepEqual(commandsOf(actions).map((command) => command.type), [
      "frame.send",
      "keys.install",
    ]);
  });

  await t.step("authenticationMachine", () => {
    const [start, actions] = initialTransition(
      authenticationMachine,
      machineInput("responder", { suite: SUITE }),
    );
    assert.deepEqual(commandsOf(actions), [{ type: "identity.sign" }]);
    const [waiting] = transition(authenticationMachine, start, {
      type: "crypto.signed",
      identity: undefined,
    });
    const [verifying] = transition(authenticationMachine, waiting, {
      type: "peer.endAuthentication",
      message: { kind: "endAuthentication" },
    });
    const [done] = transition(authenticationMachine, verifying, {
      type: "crypto.verified",
      verdict: ANONYMOUS,
    });
    assert.equal(done.value, "completed");
  });

  await t.step("sessionInitMachine", () => {
    const [start] = initialTransition(
      sessionInitMachine,
      machineInput("initiator", { extenders: ["00112233445566778899aabbccddeeff"] }),
    );
    const [done, actions] = transition(sessionInitMachine, start, {
      type: "peer.beginSessionInit",
      message: { kind: "beginSessionInit", extenders: [new Uint8Array(16)] },
    });
    assert.equal(done.value, "completed");
    assert.deepEqual(done.context.peer.extenders, ["00000000000000000000000000000000"]);
    const [command] = commandsOf(actions);
    assert.equal(command?.type, "frame.send");
  });
});

Deno.test("handshakeMachine keeps its context JSON-serialisable and free of byte arrays", () => {
  const { initiator, responder } = runPair();
  const plain = (value: unknown, path: string): void => {
    if (value === null || ["string", "number", "boolean", "undefined"].includes(typeof value)) {
      return;
    }
    assert.ok(
      Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype,
      `${path} is not plain data`,
    );
    for (const [key, inner] of Object.entries(value as object)) plain(inner, `${path}.${key}`);
  };
  for (const snapshot of [initiator, responder]) plain(snapshot.context, "context");
  const json = JSON.stringify(initiator.context);
  assert.equal(JSON.stringify(JSON.parse(json)), json);
});

Deno.test("handshakeMachine retransmits its last flight on datagrams with doubling delays", async (t) => {
  const retransmitTimes = (
    input: ReturnType<typeof machineInput>,
    until: number,
  ): number[] => {
    const clock = new SimulatedClock();
    const actor = createActor(handshakeMachine, { clock, input });
    const times: number[] = [];
    actor.on("flight.retransmit", () => times.push(clock.now()));
    actor.start();
    for (let now = 0; now < until; now += 10) clock.increment(10);
    actor.stop();
    return times;
  };
  const timeouts = { phase: 60_000, handshake: 60_000 };

  await t.step("from the configured initial delay up to the configured maximum", () => {
    const input = machineInput("responder", {
      transport: "datagram",
      retransmit: { initial: 100, max: 350 },
      timeouts,
    });
    assert.deepEqual(retransmitTimes(input, 1_000), [100, 300, 650, 1_000]);
  });

  await t.step("with the default 250 ms doubling up to 4 s", () => {
    const input = machineInput("responder", { transport: "datagram", timeouts });
    assert.deepEqual(
      retransmitTimes(input, 20_000),
      [250, 750, 1_750, 3_750, 7_750, 11_750, 15_750, 19_750],
    );
  });

  await t.step("never on a stream", () => {
    assert.deepEqual(retransmitTimes(machineInput("responder", { timeouts }), 5_000), []);
  });
});

Deno.test("handshakeMachine answers a duplicate by the transport kind", async (t) => {
  const start = (transport: "stream" | "datagram") =>
    initialTransition(handshakeMachine, machineInput("responder", { transport }))[0];

  await t.step("datagram: a duplicate of our last trigger resends our flight", () => {
    const [next, actions] = transition(handshakeMachine, start("datagram"), {
      type: "peer.duplicate",
      ofLastTrigger: true,
    });
    assert.equal(next.status, "active");
    assert.deepEqual(commandsOf(actions).map((command) => command.type), ["flight.retransmit"]);
  });

  await t.step("datagram: any other duplicate is ignored", () => {
    const [next, actions] = transition(handshakeMachine, start("datagram"), {
      type: "peer.duplicate",
      ofLastTrigger: false,
    });
    assert.equal(next.status, "active");
    assert.deepEqual(commandsOf(actions), []);
  });

  await t.step("stream: a duplicate is unexpected", () => {
    const [next] = transition(handshakeMachine, start("stream"), {
      type: "peer.duplicate",
      ofLastTrigger: true,
    });
    assert.equal(failureCode(next.output), ErrorCode.UNEXPECTED_MESSAGE);
  });
});

Deno.test("handshakeMachine starts knowing nothing about the peer", () => {
  for (const role of ["initiator", "responder"] as const) {
    const [snapshot] = initialTransition(handshakeMachine, machineInput(role));
    assert.deepEqual(snapshot.context.peer, { presentedIdentity: false, authenticated: false });
    assert.equal(snapshot.context.failure, undefined);
    assert.equal(snapshot.context.retransmits, 0);
    assert.equal(snapshot.context.datagram, false);
  }
});

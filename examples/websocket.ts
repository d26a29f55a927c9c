/**
 * qgate over WebSocket: a small chat hub.
 *
 * The hub serves qgate on `ws://127.0.0.1:PORT/qgate` with `Deno.serve`
 * and runs a "chat" extender from a {@linkcode Local} registry: whatever
 * one member says is relayed to every other member. Two members dial in
 * with `connectWebSocket` (the same call works in a browser), chat, and
 * leave; the hub hears each arrive and go.
 *
 * Run:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/websocket.ts
 * ```
 *
 * Prints the hub's URL, members joining, the relayed messages and members
 * leaving:
 *
 * ```text
 * hub listening on ws://127.0.0.1:40321/qgate
 * hub: member 127.0.0.1:51022 joined (1 online)
 * hub: member 127.0.0.1:51030 joined (2 online)
 * ada hears: grace: hello ada
 * grace hears: ada: hi grace, over WebSocket
 * hub: a member left (1 online)
 * hub: a member left (0 online)
 * closed cleanly
 * ```
 *
 * @module
 */

import { connectWebSocket, listenWebSocket, Local, type Session } from "@qgate/handshake";

const CHAT = "2c7f4e1a-9b3d-4f60-8e21-5a6b7c8d9e0f";
const options = { requireAuthentication: false } as const;

// The hub: one chat extender that relays to everyone else.
const hub = new Local();
const addresses = new Map<Session, string>();
const { promise: bothOnline, resolve: allJoined } = Promise.withResolvers<void>();
const chat = hub.register(CHAT, {
  onPeerReady: (peer) => {
    console.log(`hub: member ${addresses.get(peer)} joined (${chat.peers.length} online)`);
    if (chat.peers.length === 2) allJoined();
  },
  onPeerGone: () => console.log(`hub: a member left (${chat.peers.length} online)`),
  onMessage: (from, data) => {
    for (const peer of chat.peers) if (peer !== from) void chat.send(peer, data).catch(() => {});
  },
});
const listener = listenWebSocket(
  { path: "/qgate" },
  hub.sessionOptions(options),
  (session, remoteAddress) => {
    addresses.set(session, remoteAddress);
    hub.attach(session);
  },
);
const url = `ws://127.0.0.1:${listener.addr.port}/qgate`;
console.log(`hub listening on ${url}`);

interface Member {
  session: Session;
  heard: Promise<string>;
  say(text: string): Promise<void>;
}

/** A member: its own registry with the same chat extender. */
async function join(name: string): Promise<Member> {
  const local = new Local();
  const { promise: heard, resolve } = Promise.withResolvers<string>();
  const extender = local.register(CHAT, {
    onMessage: (_hub, data) => resolve(new TextDecoder().decode(data)),
  });
  const session = await connectWebSocket(url, local.sessionOptions(options));
  local.attach(session);
  await session.ready;
  return {
    session,
    heard,
    say: (text) => extender.send(session, new TextEncoder().encode(`${name}: ${text}`)),
  };
}

const ada = await join("ada");
const grace = await join("grace");
// Wait until the hub has seen both, so nobody talks to an empty room.
await bothOnline;

await grace.say("hello ada");
console.log(`ada hears: ${await ada.heard}`);
await ada.say("hi grace, over WebSocket");
console.log(`grace hears: ${await grace.heard}`);

await ada.session.close();
await grace.session.close();
await listener.close();
console.log("closed cleanly");

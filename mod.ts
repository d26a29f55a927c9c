/**
 * qgate: the QuantumGate peer handshake as an executable specification.
 *
 * Two peers that share only a byte pipe run six phases (meta exchange,
 * primary key exchange, secondary post-quantum key exchange, authentication,
 * session init, ready) and then keep rotating their session keys. Each phase
 * is an XState v5 statechart; cryptography is composed from noble.
 *
 * This entry point is what a handshake needs: {@linkcode initiate} and
 * {@linkcode respond} over any {@linkcode Transport}, the {@linkcode Session}
 * they return, dial and listen helpers for TCP, UDP and WebSocket, extenders
 * ({@linkcode Local}), access control, crypto backends and typed errors. The
 * rest lives in subpaths, loaded only when imported:
 *
 * - `@qgate/handshake/conformance`: the conformance suite, the vector runner
 *   contract and the known-answer vectors;
 * - `@qgate/handshake/viz`: statechart export, traces and the inspector;
 * - `@qgate/handshake/codec`: records, messages and frame streams;
 * - `@qgate/handshake/crypto`: cipher states, key schedule, transcript,
 *   algorithm registry and the interfaces a crypto backend implements.
 *
 * @example A handshake over an in-memory pipe
 * ```ts
 * import { createMemoryPair, ErrorCode, initiate, respond } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = createMemoryPair();
 * const options = { requireAuthentication: false };
 * const client = initiate(a, options);
 * const server = respond(b, options);
 * const [details] = await Promise.all([client.ready, server.ready]);
 * assert.equal(details.role, "initiator");
 * await client.close();
 * assert.equal((await server.closed).code, undefined);
 * assert.equal(ErrorCode.TIMEOUT, "ERR_TIMEOUT");
 * ```
 *
 * @module
 */

// errors
export { ErrorCode, FrameError, HandshakeError, QGateError, SessionError } from "./src/errors.ts";
export type { HandshakePhase, QGateErrorOptions } from "./src/errors.ts";

// sessions
export { initiate, respond, Session } from "./src/session/session.ts";
export type { PeerDetails, Role } from "./src/session/details.ts";
export type {
  CloseInfo,
  SessionEventMap,
  SessionListener,
  TraceEvent,
} from "./src/session/events.ts";
export type {
  Clock,
  KeyUpdateSettings,
  NoiseSettings,
  SecurityLevel,
  SessionOptions,
  TimeoutSettings,
} from "./src/session/options.ts";
export { AccessManager } from "./src/session/access_manager.ts";
export type { AccessDecision } from "./src/session/access_manager.ts";

// crypto backends, randomness and identities
export { autoBackend, createAutoBackend } from "./src/crypto/auto_backend.ts";
export type { AutoBackendOptions } from "./src/crypto/auto_backend.ts";
export { nobleBackend } from "./src/crypto/noble_backend.ts";
export { nodeCryptoBackend } from "./src/crypto/node_backend.ts";
export { webCryptoBackend } from "./src/crypto/webcrypto_backend.ts";
export { seededRandom, systemRandom } from "./src/crypto/random.ts";
export { generateIdentity, peerUuidOf } from "./src/crypto/identity.ts";
export type { GenerateIdentityOptions } from "./src/crypto/identity.ts";

// transports: byte pipes
export type { Transport } from "./src/transport/transport.ts";
export { createMemoryPair } from "./src/transport/memory.ts";
export type { MemoryPairOptions } from "./src/transport/memory.ts";
export { createDatagramPair } from "./src/transport/datagram.ts";
export type { DatagramImpairment, DatagramTransport } from "./src/transport/datagram.ts";
export { connTransport } from "./src/transport/conn.ts";
export type { ConnLike } from "./src/transport/conn.ts";
export { nodeSocketTransport } from "./src/transport/node_socket.ts";
export type { NodeSocketLike, NodeSocketTransportOptions } from "./src/transport/node_socket.ts";
export { webSocketTransport } from "./src/transport/websocket.ts";
export type {
  WebSocketCloseInfo,
  WebSocketTransport,
  WebSocketTransportOptions,
} from "./src/transport/websocket.ts";

// dialling, listening, extenders
export { Listener } from "./src/net/listener.ts";
export type {
  ListenerEventListener,
  ListenerEventMap,
  ListenerFailure,
  ListenerFailureStage,
  ListenerLimit,
  ListenerOptions,
  SessionHandler,
} from "./src/net/listener.ts";
export { connectTcp, listenTcp, TcpListener } from "./src/net/tcp.ts";
export type { TcpAddress, TcpListenAddress } from "./src/net/tcp.ts";
export { connectUdp, listenUdp, UdpListener } from "./src/net/udp.ts";
export type { UdpAddress, UdpListenerOptions } from "./src/net/udp.ts";
export type { UdpCookieStats } from "./src/net/udp_cookie.ts";
export { connectWebSocket, listenWebSocket, WebSocketListener } from "./src/net/websocket.ts";
export type {
  ConnectWebSocketOptions,
  WebSocketListenAddress,
  WebSocketListenerOptions,
} from "./src/net/websocket.ts";
export { Extender, Local } from "./src/net/local.ts";
export type { ExtenderCallbacks } from "./src/net/local.ts";

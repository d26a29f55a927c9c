/**
 * qgate: the QuantumGate peer handshake as an executable specification.
 *
 * Two peers that share only a byte pipe run six phases (meta exchange,
 * primary key exchange, secondary post-quantum key exchange, authentication,
 * session init, ready) and then keep rotating their session keys. Each phase
 * is an XState v5 statechart; cryptography is composed from noble.
 *
 * @example Error codes are stable API
 * ```ts
 * import { ErrorCode } from "@qgate/handshake";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ErrorCode.TIMEOUT, "ERR_TIMEOUT");
 * ```
 *
 * @module
 */

// errors
export { ErrorCode, FrameError, HandshakeError, QGateError, SessionError } from "./src/errors.ts";
export type { QGateErrorOptions } from "./src/errors.ts";

// crypto
export {
  CipherState,
  counterNonce,
  DEFAULT_RECORD_LIMIT,
  MAX_RECORD_LIMIT,
} from "./src/crypto/cipher_state.ts";
export type { CipherStateOptions } from "./src/crypto/cipher_state.ts";
export { AEADS, HASHES, KEY_EXCHANGES, SIGNATURES } from "./src/crypto/types.ts";
export { nobleBackend } from "./src/crypto/noble_backend.ts";
export { createWebCryptoBackend, webCryptoBackend } from "./src/crypto/webcrypto_backend.ts";
export { nodeCryptoBackend } from "./src/crypto/node_backend.ts";
export type { WebCryptoBackendOptions } from "./src/crypto/webcrypto_backend.ts";
export {
  autoBackend,
  createAutoBackend,
  DEFAULT_NATIVE_AEAD_THRESHOLDS,
} from "./src/crypto/auto_backend.ts";
export type { AutoBackendOptions } from "./src/crypto/auto_backend.ts";
export { seededRandom, systemRandom } from "./src/crypto/random.ts";
export {
  algorithmsOf,
  findAlgorithm,
  resolveAead,
  resolveHash,
  resolveKeyExchange,
  resolveSignature,
} from "./src/crypto/registry.ts";
export type { AlgorithmNames } from "./src/crypto/registry.ts";
export { Transcript, TRANSCRIPT_LABEL } from "./src/crypto/transcript.ts";
export {
  DEFAULT_KEY_LENGTH,
  derivePreKeys,
  KeySchedule,
  keyUpdateTranscript,
  SALT_LENGTH,
} from "./src/crypto/key_schedule.ts";
export type {
  KeyScheduleOptions,
  KeyScheduleStage,
  PreKeys,
  TrafficKeys,
} from "./src/crypto/key_schedule.ts";
export {
  derivePeerUuid,
  formatUuid,
  parseUuid,
  randomSessionId,
  verifyPeerUuid,
} from "./src/crypto/peer_uuid.ts";
export { authenticationPayload } from "./src/crypto/authentication.ts";
export type { AuthenticationRole } from "./src/crypto/authentication.ts";
export type {
  Aead,
  AeadCipher,
  AeadName,
  AlgorithmCategory,
  AlgorithmInfo,
  CryptoBackend,
  Hasher,
  HashFunction,
  HashName,
  KeyExchange,
  KeyExchangeAnswer,
  KeyExchangeName,
  KeyExchangeOffer,
  KeyExchangeState,
  RandomSource,
  SignatureKeyPair,
  SignatureName,
  SignatureScheme,
} from "./src/crypto/types.ts";

// codec
export { MESSAGE_TYPE, PROTOCOL_VERSION } from "./src/codec/message_types.ts";
export {
  decodeMessage,
  decodePlaintext,
  encodeMessage,
  encodePlaintext,
  MAX_ALGORITHM_LIST_LENGTH,
  MAX_SHARE_LENGTH,
  messageKindOf,
  messageTypeOf,
  PLAINTEXT_HEADER_LENGTH,
  SESSION_ID_LENGTH,
  UUID_LENGTH,
} from "./src/codec/messages.ts";
export { MAX_SEQUENCE, REPLAY_WINDOW_SIZE, ReplayWindow } from "./src/codec/replay_window.ts";
export {
  DEFAULT_MAX_RECORD_LENGTH,
  FrameDecoder,
  FrameDecoderStream,
  FrameEncoderStream,
  MAX_RECORD_LENGTH,
  MIN_RECORD_LENGTH,
  PRE_KEY_AEAD,
  RECORD_HEADER_LENGTH,
  RecordOpener,
  RecordSealer,
} from "./src/codec/stream_records.ts";
export type {
  FrameDecoderOptions,
  RecordInput,
  RecordOpenerOptions,
  RecordSealerOptions,
  SealedRecord,
} from "./src/codec/stream_records.ts";
export {
  DATAGRAM_HEADER_LENGTH,
  DatagramOpener,
  DatagramSealer,
  DEFAULT_EPOCH_GRACE_MS,
  DEFAULT_MAX_DATAGRAM_LENGTH,
  MAX_DATAGRAM_EPOCH,
} from "./src/codec/datagram_records.ts";
export type {
  DatagramOpenerOptions,
  DatagramSealerOptions,
  OpenedDatagram,
} from "./src/codec/datagram_records.ts";
export type {
  AuthenticationMessage,
  BeginKeyUpdateMessage,
  BeginMetaExchangeMessage,
  CloseMessage,
  EndKeyUpdateMessage,
  EndMetaExchangeMessage,
  ExtenderDataMessage,
  ExtenderUpdateMessage,
  KeyShareMessage,
  KeyUpdateReadyMessage,
  Message,
  MessageKind,
  NoiseMessage,
  SessionInitMessage,
} from "./src/codec/message_types.ts";

// machines and session
export {
  acceptedSuite,
  cannotSatisfyPeer,
  chooseSuite,
  DEFAULT_PREFERENCES,
  fromWireIds,
  isCompatibleVersion,
  isPeerAuthenticated,
  judgePeer,
  toWireIds,
} from "./src/handshake_policy.ts";
export type { AlgorithmPreferences, NegotiatedSuite, PeerVerdict } from "./src/handshake_policy.ts";
export { initiate, respond, Session } from "./src/session/session.ts";
export { AccessManager } from "./src/session/access_manager.ts";
export type { AccessDecision } from "./src/session/access_manager.ts";
export {
  MIN_GLOBAL_SHARED_SECRET_LENGTH,
  resolveOptions,
  SECURITY_LEVELS,
} from "./src/session/options.ts";
export type {
  Clock,
  KeyUpdateSettings,
  NoiseSettings,
  ResolvedOptions,
  SecurityLevel,
  SecurityProfile,
  SessionOptions,
  TimeoutSettings,
} from "./src/session/options.ts";
export type { PeerDetails, Role } from "./src/session/details.ts";
export type {
  CloseInfo,
  SessionEventMap,
  SessionListener,
  TraceEvent,
} from "./src/session/events.ts";

// transport
export { createMemoryPair } from "./src/transport/memory.ts";
export type { MemoryPairOptions } from "./src/transport/memory.ts";
export type { Transport } from "./src/transport/transport.ts";
export { createDatagramPair } from "./src/transport/datagram.ts";
export { connectUdp, listenUdp, UdpListener } from "./src/net/udp.ts";
export type { UdpAddress } from "./src/net/udp.ts";
export type { DatagramImpairment, DatagramTransport } from "./src/transport/datagram.ts";

// transport and listener
export { DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_SESSIONS, Listener } from "./src/net/listener.ts";
export {
  addressHost,
  addressKey,
  AddressRateLimiter,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_PER_ADDRESS_INTERVAL,
  DEFAULT_WRITE_TIMEOUT,
  largestOutgoingRecord,
  MAX_TRACKED_ADDRESSES,
  SendBudget,
} from "./src/session/limits.ts";
export type {
  AddressRateLimiterOptions,
  OutgoingRecord,
  OutgoingRecordInput,
} from "./src/session/limits.ts";
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
export { connTransport } from "./src/transport/conn.ts";
export type { ConnLike } from "./src/transport/conn.ts";
export { NODE_SOCKET_CLOSE_TIMEOUT, nodeSocketTransport } from "./src/transport/node_socket.ts";
export type { NodeSocketLike, NodeSocketTransportOptions } from "./src/transport/node_socket.ts";
export type { UdpListenerOptions } from "./src/net/udp.ts";
export {
  COOKIE_LENGTH,
  DEFAULT_COOKIE_SECRET_LIFETIME,
  MAX_COOKIE_ECHO_LENGTH,
  MAX_COOKIE_REPLY_LENGTH,
  MIN_COOKIE_ECHO_LENGTH,
  MIN_COOKIE_REPLY_LENGTH,
  UdpCookieInitiator,
  UdpCookieResponder,
} from "./src/net/udp_cookie.ts";
export type {
  UdpCookieOptions,
  UdpCookieResponderOptions,
  UdpCookieStats,
  UdpCookieVerdict,
} from "./src/net/udp_cookie.ts";
export type { TcpAddress, TcpListenAddress } from "./src/net/tcp.ts";
export { Extender, Local } from "./src/net/local.ts";
export type { ExtenderCallbacks } from "./src/net/local.ts";
export { connectWebSocket } from "./src/net/websocket.ts";
export type { ConnectWebSocketOptions } from "./src/net/websocket.ts";
export {
  DEFAULT_WEBSOCKET_RECEIVE_BUFFER,
  DEFAULT_WEBSOCKET_SEND_BUFFER,
  WEBSOCKET_ABORT_CLOSURE,
  WEBSOCKET_CLOSE_TIMEOUT,
  WEBSOCKET_NORMAL_CLOSURE,
  webSocketTransport,
} from "./src/transport/websocket.ts";
export type {
  WebSocketCloseInfo,
  WebSocketTransport,
  WebSocketTransportOptions,
} from "./src/transport/websocket.ts";
export { listenWebSocket, WebSocketListener } from "./src/net/websocket.ts";
export type { WebSocketListenAddress, WebSocketListenerOptions } from "./src/net/websocket.ts";

// viz
export {
  DIAGRAM_DIRECTORY,
  listStatecharts,
  renderDotToSvg,
  statechartDiagramFiles,
  statechartToDot,
  statechartToJson,
  statechartToMermaid,
  statechartToSvg,
} from "./src/viz/export.ts";
export type { DiagramFile } from "./src/viz/export.ts";
export type {
  StatechartAction,
  StatechartFailure,
  StatechartFormat,
  StatechartInfo,
  StatechartJson,
  StatechartParamValue,
  StatechartState,
  StatechartStateType,
  StatechartTransition,
  StatechartTrigger,
} from "./src/viz/statechart_types.ts";
export { parseTrace, TraceRecorder, traceToMermaidSequence } from "./src/viz/trace.ts";
export type {
  MermaidSequenceOptions,
  TraceFormat,
  TraceJson,
  TraceRecorderOptions,
} from "./src/viz/trace.ts";
export type {
  TraceEndEvent,
  TraceFrameEvent,
  TraceKeysEvent,
  TraceRole,
  TraceStateEvent,
} from "./src/viz/trace_types.ts";
export { simulateHandshakeTrace } from "./src/viz/simulate.ts";
export type { SimulationOptions, SimulationScenario } from "./src/viz/simulate.ts";
export { defaultTraceSources, replayTrace, startLiveHandshake } from "./src/viz/trace_sources.ts";
export type { LiveHandshakeOptions, ReplayOptions, TraceSource } from "./src/viz/trace_sources.ts";
export { serveInspector } from "./src/viz/inspector.ts";
export type { InspectorOptions, InspectorPace, InspectorServer } from "./src/viz/inspector.ts";

// conformance
export { DEFAULT_CONFORMANCE_SEED, runConformance } from "./src/conformance/suite.ts";
export type { ConformanceOptions } from "./src/conformance/suite.ts";
export { CONFORMANCE_CATEGORIES } from "./src/conformance/suite_report.ts";
export type {
  ConformanceCategory,
  ConformanceReport,
  ConformanceResult,
} from "./src/conformance/suite_report.ts";
export { formatConformanceTable } from "./src/conformance/suite_table.ts";
export { qgateAdapter } from "./src/conformance/adapter.ts";
export type {
  AccessEntry,
  ConformanceAdapter,
  ConformanceEndpoint,
  ConformanceEndpointSpec,
  ConformanceRole,
  EndpointOutcome,
  HandshakePhase,
} from "./src/conformance/adapter.ts";
export { measureStatechartCoverage } from "./src/conformance/coverage.ts";
export type { StatechartCoverage } from "./src/conformance/coverage.ts";
export { DEFAULT_EXPLORATION_DEPTH, exploreHandshake } from "./src/conformance/explore.ts";
export type { ExplorationOptions } from "./src/conformance/explore.ts";
export { DEFAULT_EXPLORATION_SCENARIOS } from "./src/conformance/explore_scenarios.ts";
export type { ExplorationScenario, ExplorationSide } from "./src/conformance/explore_scenarios.ts";
export type {
  ExplorationReport,
  InvariantResult,
  ScenarioReport,
} from "./src/conformance/explore_report.ts";
export { formatExploration } from "./src/conformance/explore_text.ts";
export { formatHostileReport, runHostilePeer } from "./src/conformance/hostile_peer.ts";
export type {
  HostileCaseResult,
  HostilePeerOptions,
  HostileReport,
} from "./src/conformance/hostile_peer.ts";
export { serveVectorRunner } from "./src/conformance/runner.ts";
export { runHandshakeVectors } from "./src/conformance/vector_harness.ts";
export type {
  RunnerConnection,
  VectorHarnessOptions,
  VectorResult,
} from "./src/conformance/vector_harness.ts";
export type {
  NegativeSide,
  NegativeVector,
  PositiveVector,
  VectorEndpointConfig,
  VectorFile,
  VectorInputs,
  VectorOutcome,
  VectorRecord,
} from "./src/conformance/vectors.ts";
export type { PhaseName } from "./src/conformance/_mutations.ts";

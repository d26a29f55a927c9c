/**
 * A standalone qgate peer: listens or dials over TCP, WebSocket or UDP,
 * prints a timeline of the handshake, then echoes or sends messages on one
 * extender. Useful to try options against another peer, or to watch a
 * handshake step by step.
 *
 * Run (see `--help` for every flag):
 *
 * ```sh
 * # terminal 1: a listener that echoes, with a fresh identity it prints
 * deno task peer listen --port 4433 --new-identity Ed25519 --no-require-auth --echo
 * # terminal 2: dial it and send one line
 * deno task peer dial --port 4433 --no-require-auth --send "hello"
 * ```
 *
 * A listener prints its bound address first, as `listening tcp 127.0.0.1:4433`;
 * each handshake then prints as a timeline, one line per step:
 *
 * ```text
 * [responder +    0.0 ms] state    metaExchange.awaitingChoice
 * [responder +    1.2 ms] send     beginMetaExchange 91 B (epoch 0)
 * [responder +    4.1 ms] recv     endMetaExchange 81 B (epoch 0)
 * …
 * [responder +   24.0 ms] ready    peer anonymous · X25519 + ML-KEM-768, ChaCha20-Poly1305, SHA-256
 * [responder +   25.3 ms] message  "hello"
 * ```
 *
 * Identities: `deno task peer identity --new-identity Ed25519 --save-identity
 * alice.json` writes one; give it to its owner with `--identity alice.json`
 * and to the other peer with `--allow alice.json` (only the public key is read).
 *
 * Needs `--allow-net` (and `--allow-read` for identity, access or config
 * files, `--allow-write` for `--save-identity`); UDP needs `--unstable-net`
 * (the `peer` task has both).
 *
 * @module
 */

import {
  AccessManager,
  connectTcp,
  connectUdp,
  connectWebSocket,
  generateIdentity,
  type Listener,
  listenTcp,
  listenUdp,
  listenWebSocket,
  peerUuidOf,
  type Session,
  type SessionOptions,
} from "@qgate/handshake";

const HELP = `qgate peer: listen or dial, print the handshake, exchange messages.

Usage:
  deno task peer listen [flags]     accept peers (responder)
  deno task peer dial [flags]       connect to a peer (initiator)
  deno task peer identity --new-identity SCHEME --save-identity FILE
                                    create an identity file and exit

Transport:
  --transport tcp|ws|udp   default tcp (udp needs --unstable-net)
  --host HOST              default 127.0.0.1
  --port N                 listen: default 0 (any free port, printed); dial: required
  --path /PATH             WebSocket path (default /)

Identity and access:
  --identity FILE          load an identity: JSON {"algorithm","publicKey","secretKey"} (hex)
  --new-identity SCHEME    generate a fresh identity (Ed25519, Ed448, ML-DSA-44/65/87,
                           Ed25519+ML-DSA-65); its PeerUUID and public key are printed
  --save-identity FILE     write the identity (with its secret key) to FILE
  --allow ENTRY            allow a peer (repeatable). ENTRY is SCHEME:PUBLICKEYHEX,
                           UUID:PUBLICKEYHEX, or a path to the peer's identity or
                           public-key JSON file ({"algorithm","publicKey"})
  --require-auth           the peer must authenticate and be allowed (default)
  --no-require-auth        accept anonymous peers
  --gss HEX                Global Shared Secret (at least 32 bytes)

Algorithms (comma-separated, most preferred first):
  --primary LIST           primary key exchanges, e.g. X25519,P-256
  --secondary LIST         secondary key exchanges, e.g. ML-KEM-768
  --aead LIST              e.g. ChaCha20-Poly1305,AES-256-GCM
  --hash LIST              e.g. SHA-256,BLAKE2b
  --signature LIST         accepted identity schemes
  --security-level N       1 to 5
  --config FILE            JSON session options (algorithms, securityLevel, timeouts,
                           noise, keyUpdate, maxPadding, ...); flags override it

Messages:
  --extender UUID          the extender both peers run (default ${"b7c1a4e2-6d3f-4a59-9e08-1f2d3c4b5a69"})
  --echo                   send every message back (listen)
  --send TEXT              dial: send TEXT once ready, wait for one reply, close
                           (without --send, dial sends each line of stdin until EOF)
  --reply-timeout MS       how long --send waits for the reply (default 10000)
  --once                   listen: exit after the first session ends
  --no-trace               do not print the handshake timeline

Output goes to stdout; errors to stderr. Exit code 0 on success, 1 on failure, 2 on usage errors.
`;

const DEFAULT_EXTENDER = "b7c1a4e2-6d3f-4a59-9e08-1f2d3c4b5a69";

/** Parsed command line. */
interface Config {
  mode: "listen" | "dial" | "identity";
  transport: "tcp" | "ws" | "udp";
  host: string;
  port: number | undefined;
  path: string;
  identityFile: string | undefined;
  newIdentity: string | undefined;
  saveIdentity: string | undefined;
  allow: string[];
  requireAuthentication: boolean;
  gss: string | undefined;
  algorithms: Record<string, string[]>;
  securityLevel: number | undefined;
  configFile: string | undefined;
  extender: string;
  echo: boolean;
  send: string | undefined;
  replyTimeout: number;
  once: boolean;
  trace: boolean;
}

class UsageError extends Error {}

const ALGORITHM_FLAGS: Readonly<Record<string, string>> = {
  "--primary": "primaryKeyExchanges",
  "--secondary": "secondaryKeyExchanges",
  "--aead": "aeads",
  "--hash": "hashes",
  "--signature": "signatures",
};

function parseArgs(args: readonly string[]): Config | "help" {
  const config: Config = {
    mode: "listen",
    transport: "tcp",
    host: "127.0.0.1",
    port: undefined,
    path: "/",
    identityFile: undefined,
    newIdentity: undefined,
    saveIdentity: undefined,
    allow: [],
    requireAuthentication: true,
    gss: undefined,
    algorithms: {},
    securityLevel: undefined,
    configFile: undefined,
    extender: DEFAULT_EXTENDER,
    echo: false,
    send: undefined,
    replyTimeout: 10_000,
    once: false,
    trace: true,
  };
  let mode: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case "-h":
      case "--help":
        return "help";
      case "--transport": {
        const transport = value();
        if (transport !== "tcp" && transport !== "ws" && transport !== "udp") {
          throw new UsageError(`--transport must be tcp, ws or udp, got ${transport}`);
        }
        config.transport = transport;
        break;
      }
      case "--host":
        config.host = value();
        break;
      case "--port": {
        const port = Number(value());
        if (!Number.isInteger(port) || port < 0 || port > 65_535) {
          throw new UsageError(`--port must be 0 to 65535`);
        }
        config.port = port;
        break;
      }
      case "--path":
        config.path = value();
        break;
      case "--identity":
        config.identityFile = value();
        break;
      case "--new-identity":
        config.newIdentity = value();
        break;
      case "--save-identity":
        config.saveIdentity = value();
        break;
      case "--allow":
        config.allow.push(value());
        break;
      case "--require-auth":
        config.requireAuthentication = true;
        break;
      case "--no-require-auth":
        config.requireAuthentication = false;
        break;
      case "--gss":
        config.gss = value();
        break;
      case "--security-level":
        config.securityLevel = Number(value());
        break;
      case "--config":
        config.configFile = value();
        break;
      case "--extender":
        config.extender = value().toLowerCase();
        break;
      case "--echo":
        config.echo = true;
        break;
      case "--send":
        config.send = value();
        break;
      case "--reply-timeout": {
        const ms = Number(value());
        if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`--reply-timeout must be ms >= 0`);
        config.replyTimeout = ms;
        break;
      }
      case "--once":
        config.once = true;
        break;
      case "--no-trace":
        config.trace = false;
        break;
      default: {
        const category = ALGORITHM_FLAGS[arg];
        if (category !== undefined) {
          config.algorithms[category] = value().split(",").map((name) => name.trim());
        } else if (!arg.startsWith("-") && mode === undefined) {
          mode = arg;
        } else {
          throw new UsageError(`unknown argument ${arg}`);
        }
      }
    }
  }
  if (mode !== "listen" && mode !== "dial" && mode !== "identity") {
    throw new UsageError(`say "listen", "dial" or "identity" first`);
  }
  if (
    mode === "identity" && config.newIdentity === undefined && config.identityFile === undefined
  ) {
    throw new UsageError("identity needs --new-identity SCHEME (or --identity FILE to print one)");
  }
  config.mode = mode;
  if (mode === "dial" && (config.port === undefined || config.port === 0)) {
    throw new UsageError("dial needs --port");
  }
  if (config.identityFile !== undefined && config.newIdentity !== undefined) {
    throw new UsageError("use --identity or --new-identity, not both");
  }
  return config;
}

function hexToBytes(hex: string, what: string): Uint8Array<ArrayBuffer> {
  const clean = hex.trim().toLowerCase();
  if (!/^([0-9a-f]{2})*$/.test(clean)) throw new UsageError(`${what} must be hex`);
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error("not a JSON object");
    }
    return value as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`${what} ${file} is not valid: ${(error as Error).message}`);
  }
}

type Identity = NonNullable<SessionOptions["identity"]>;

async function loadIdentity(config: Config): Promise<Identity | undefined> {
  let identity: Identity | undefined;
  if (config.identityFile !== undefined) {
    const json = await readJson(config.identityFile, "identity file");
    if (typeof json.publicKey !== "string" || typeof json.secretKey !== "string") {
      throw new UsageError(`identity file needs "algorithm", "publicKey" and "secretKey"`);
    }
    identity = {
      algorithm: json.algorithm as Identity["algorithm"],
      publicKey: hexToBytes(json.publicKey, "identity publicKey"),
      secretKey: hexToBytes(json.secretKey, "identity secretKey"),
    };
  } else if (config.newIdentity !== undefined) {
    identity = await generateIdentity(config.newIdentity);
  }
  if (identity !== undefined && config.saveIdentity !== undefined) {
    await Deno.writeTextFile(
      config.saveIdentity,
      JSON.stringify(
        {
          algorithm: identity.algorithm,
          uuid: peerUuidOf(identity.algorithm, identity.publicKey),
          publicKey: bytesToHex(identity.publicKey),
          secretKey: bytesToHex(identity.secretKey),
        },
        null,
        2,
      ) + "\n",
      { mode: 0o600 },
    );
  }
  return identity;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function loadAccess(entries: readonly string[]): Promise<AccessManager> {
  const access = new AccessManager();
  for (const entry of entries) {
    const colon = entry.lastIndexOf(":");
    const head = colon === -1 ? "" : entry.slice(0, colon);
    const tail = colon === -1 ? "" : entry.slice(colon + 1);
    if (colon !== -1 && /^[0-9a-f]+$/i.test(tail) && !entry.includes("/")) {
      const publicKey = hexToBytes(tail, `--allow ${entry}`);
      access.addPeer(UUID.test(head) ? head : peerUuidOf(head, publicKey), publicKey);
      continue;
    }
    const json = await readJson(entry, "--allow file");
    if (typeof json.publicKey !== "string" || typeof json.algorithm !== "string") {
      throw new UsageError(`--allow file ${entry} needs "algorithm" and "publicKey"`);
    }
    const publicKey = hexToBytes(json.publicKey, `${entry} publicKey`);
    access.addPeer(peerUuidOf(json.algorithm, publicKey), publicKey);
  }
  return access;
}

async function sessionOptions(config: Config): Promise<SessionOptions> {
  const base = config.configFile === undefined
    ? {}
    : await readJson(config.configFile, "config file");
  const options: Record<string, unknown> = { ...base };
  if (typeof options.globalSharedSecret === "string") {
    options.globalSharedSecret = hexToBytes(options.globalSharedSecret, "globalSharedSecret");
  }
  if (Object.keys(config.algorithms).length > 0) {
    options.algorithms = {
      ...(options.algorithms as Record<string, unknown> | undefined),
      ...config.algorithms,
    };
  }
  if (config.securityLevel !== undefined) options.securityLevel = config.securityLevel;
  if (config.gss !== undefined) options.globalSharedSecret = hexToBytes(config.gss, "--gss");
  const identity = await loadIdentity(config);
  if (identity !== undefined) options.identity = identity;
  options.requireAuthentication = config.requireAuthentication;
  if (config.allow.length > 0 || config.requireAuthentication) {
    options.accessManager = await loadAccess(config.allow);
  }
  options.extenders = [config.extender];
  return options as SessionOptions;
}

/** Prints one line of a session's timeline, relative to its first event. */
function timeline(role: string, enabled: boolean): {
  print(kind: string, text: string): void;
  onTrace: NonNullable<SessionOptions["onTrace"]>;
} {
  // Times count from the first event of each handshake.
  let start: number | undefined;
  const print = (kind: string, text: string): void => {
    const now = performance.now();
    start ??= now;
    const at = (now - start).toFixed(1).padStart(7);
    console.log(`[${role} +${at} ms] ${kind.padEnd(8)} ${text}`);
    if (kind === "closed" || kind === "failed") start = undefined;
  };
  return {
    print,
    onTrace: (event) => {
      if (!enabled) return;
      switch (event.type) {
        case "state":
          print("state", event.state);
          break;
        case "frame":
          print(
            event.direction === "sent" ? "send" : "recv",
            `${event.kind} ${event.size} B (epoch ${event.epoch})`,
          );
          break;
        case "keys":
          print("keys", `epoch ${event.epoch} ${event.direction}`);
          break;
        case "end":
          print("end", event.code === undefined ? event.outcome : `${event.outcome} ${event.code}`);
          break;
      }
    },
  };
}

/** Runs one session: reports ready, prints messages, echoes them if asked. */
async function runSession(
  session: Session,
  config: Config,
  print: (kind: string, text: string) => void,
): Promise<boolean> {
  const decoder = new TextDecoder();
  session.on("message", (event) => {
    print("message", JSON.stringify(decoder.decode(event.data)));
    if (config.echo && event.extender === config.extender) {
      void session.send(config.extender, event.data).catch(() => {});
    }
  });
  try {
    const details = await session.ready;
    const algorithms = details.algorithms;
    print(
      "ready",
      `peer ${details.peerUuid ?? "anonymous"}${
        details.authenticated ? " (authenticated)" : ""
      } · ${algorithms.primaryKeyExchange} + ${algorithms.secondaryKeyExchange}, ${algorithms.aead}, ${algorithms.hash}`,
    );
  } catch (error) {
    print("failed", `${(error as { code?: string }).code ?? ""} ${(error as Error).message}`);
    return false;
  }
  const info = await session.closed;
  print("closed", info.code === undefined ? "orderly" : info.code);
  return info.code === undefined;
}

async function listen(config: Config, options: SessionOptions): Promise<number> {
  // One timeline for the listener: the trace option is shared by every
  // session it accepts, so with several peers at once their lines interleave.
  const line = timeline("responder", config.trace);
  const { promise: firstEnded, resolve: endFirst } = Promise.withResolvers<boolean>();
  const { promise: interrupted, resolve: interrupt } = Promise.withResolvers<void>();
  const traced: SessionOptions = { ...options, onTrace: line.onTrace };
  const address = { hostname: config.host, port: config.port ?? 0 };
  const accept = (session: Session, remoteAddress: string): void => {
    line.print("peer", remoteAddress);
    void runSession(session, config, line.print).then(endFirst);
  };
  let listener: Listener & { readonly addr: Deno.NetAddr };
  switch (config.transport) {
    case "tcp":
      listener = listenTcp(address, traced, accept);
      break;
    case "ws":
      listener = listenWebSocket({ ...address, path: config.path }, traced, accept);
      break;
    case "udp":
      listener = listenUdp(address, traced, accept);
      break;
  }
  listener.on("failure", (failure) => {
    if (failure.stage === "session") return;
    if (failure.session === undefined) {
      line.print("refused", `${failure.remoteAddress}: ${failure.code}`);
      return;
    }
    void failure.session.ready.catch((error: Error) => {
      line.print("failed", `${failure.remoteAddress}: ${error.message}`);
    });
    endFirst(false);
  });
  console.log(`listening ${config.transport} ${listener.addr.hostname}:${listener.addr.port}`);
  const stop = (): void => interrupt();
  Deno.addSignalListener("SIGINT", stop);
  const ok = await Promise.race([
    config.once ? firstEnded : new Promise<never>(() => {}),
    interrupted.then(() => true),
  ]);
  Deno.removeSignalListener("SIGINT", stop);
  await listener.close();
  return ok ? 0 : 1;
}

async function dial(config: Config, options: SessionOptions): Promise<number> {
  const line = timeline("initiator", config.trace);
  const traced: SessionOptions = { ...options, onTrace: line.onTrace };
  const port = config.port!;
  let session: Session;
  try {
    switch (config.transport) {
      case "tcp":
        session = await connectTcp({ hostname: config.host, port }, traced);
        break;
      case "ws":
        session = await connectWebSocket(`ws://${config.host}:${port}${config.path}`, traced);
        break;
      case "udp":
        session = await connectUdp({ hostname: config.host, port }, traced);
        break;
    }
  } catch (error) {
    // A wrong option is a usage error: main() reports it.
    if (error instanceof TypeError || error instanceof RangeError) throw error;
    line.print("failed", `${(error as { code?: string }).code ?? ""} ${(error as Error).message}`);
    return 1;
  }
  const { promise: replied, resolve: reply } = Promise.withResolvers<void>();
  session.on("message", () => reply());
  const ended = runSession(session, config, line.print);
  try {
    await session.ready;
  } catch {
    await ended;
    return 1;
  }
  const encoder = new TextEncoder();
  if (config.send !== undefined) {
    await session.send(config.extender, encoder.encode(config.send));
    line.print("sent", JSON.stringify(config.send));
    const timer = setTimeout(reply, config.replyTimeout);
    await Promise.race([replied, session.closed]);
    clearTimeout(timer);
  } else {
    const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of lines) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        await session.send(config.extender, encoder.encode(text));
        line.print("sent", JSON.stringify(text));
      }
    }
    if (buffer !== "") await session.send(config.extender, encoder.encode(buffer));
  }
  // A close that did not complete is reported by the session's end (runSession).
  await session.close().catch(() => {});
  return (await ended) ? 0 : 1;
}

async function main(args: readonly string[]): Promise<number> {
  let config: Config | "help";
  let options: SessionOptions;
  try {
    config = parseArgs(args);
    if (config === "help") {
      console.log(HELP);
      return 0;
    }
    options = await sessionOptions(config);
  } catch (error) {
    if (error instanceof UsageError || error instanceof TypeError || error instanceof RangeError) {
      console.error(`peer: ${error.message}\n(see --help)`);
      return 2;
    }
    throw error;
  }
  if (options.identity !== undefined) {
    const { algorithm, publicKey } = options.identity;
    console.log(
      `identity ${peerUuidOf(algorithm, publicKey)} ${algorithm} public key ${
        bytesToHex(publicKey)
      }`,
    );
  }
  try {
    switch (config.mode) {
      case "identity":
        return 0;
      case "listen":
        return await listen(config, options);
      case "dial":
        return await dial(config, options);
    }
  } catch (error) {
    // The session options are checked before any socket opens.
    if (error instanceof TypeError || error instanceof RangeError) {
      console.error(`peer: ${error.message}\n(see --help)`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

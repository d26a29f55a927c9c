/**
 * qgate under Node: the module bundled with `deno bundle`, loaded by a Node
 * script that runs two peers over `node:net` on 127.0.0.1
 * (tests/platform/node_peers.ts), whose JSON report is checked here.
 */

import assert from "node:assert/strict";
import { buildBundles } from "./platform/build.ts";
import type { NodeRunResult, NodeSideResult } from "./platform/node_peers.ts";
import {
  BULK_LENGTH,
  INITIATOR_SEED,
  payload,
  RESPONDER_SEED,
  texts,
  toHex,
} from "./platform/shared.ts";

const NODE = "node";
/** The run takes about a second; the margin is for a loaded CI machine. */
const RUN_TIMEOUT_MS = 90_000;

function nodeVersion(): string | undefined {
  try {
    const { success, stdout } = new Deno.Command(NODE, { args: ["--version"], stdout: "piped" })
      .outputSync();
    return success ? new TextDecoder().decode(stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

function inCi(): boolean {
  const value = Deno.env.get("CI");
  return value !== undefined && value !== "" && value !== "false";
}

const version = nodeVersion();
const skipNode = version === undefined && !inCi();
if (skipNode) {
  console.log(
    "platform_node_test: skipping: `node` is not on PATH and CI is not set " +
      "(apt-get install -y nodejs to run it)",
  );
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

Deno.test({
  name: "the bundled module runs a handshake, data both ways, a key update and a close in Node",
  ignore: skipNode,
  async fn(): Promise<void> {
    assert.ok(version !== undefined, "`node` is required in CI");
    const major = Number(/^v(\d+)\./.exec(version)?.[1]);
    assert.ok(major >= 20, `Node 20 or later is required, found ${version}`);
    const bundles = await buildBundles("node");
    try {
      const { code, stdout, stderr } = await new Deno.Command(NODE, {
        args: [bundles.script, bundles.module],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
      }).output();
      const out = new TextDecoder().decode(stdout).trim();
      const err = new TextDecoder().decode(stderr).trim();
      const last = out.split("\n").at(-1) ?? "";
      assert.ok(last.startsWith("{"), `no JSON from Node (exit ${code}):\n${out}\n${err}`);
      const result = JSON.parse(last) as NodeRunResult;
      assert.deepEqual(result.problems, [], `Node reported problems:\n${err}`);
      assert.equal(result.finished, true);
      assert.equal(code, 0, err);
      if (!result.finished) return;
      const { node, webCrypto } = result.native;
      console.log(
        `platform_node_test: Node ${result.node}, ${result.backend}; node:crypto offers ` +
          `${node.join(", ") || "nothing"}; WebCrypto offers ${webCrypto.join(", ") || "nothing"}`,
      );
      // process.getBuiltinModule finds node:crypto on Node 20.16 and later.
      for (const name of ["X25519", "Ed25519", "ChaCha20-Poly1305", "AES-256-GCM"]) {
        assert.ok(node.includes(name), `nodeCryptoBackend lacks ${name} in Node ${version}`);
      }

      const expected = {
        initiator: { seed: RESPONDER_SEED, texts: texts("responder", "Node") },
        responder: { seed: INITIATOR_SEED, texts: texts("initiator", "Node") },
      };
      const sides: [keyof typeof expected, NodeSideResult, NodeSideResult][] = [
        ["initiator", result.initiator, result.responder],
        ["responder", result.responder, result.initiator],
      ];
      for (const [role, side, peer] of sides) {
        assert.equal(side.ready.role, role);
        assert.equal(side.ready.authenticated, true, role);
        assert.equal(side.ready.peerUuid, peer.uuid, role);
        assert.deepEqual(side.ready.algorithms, peer.ready.algorithms);
        assert.deepEqual(side.heard, {
          texts: expected[role].texts,
          bulkLength: BULK_LENGTH,
          bulkSha256: await sha256(payload(expected[role].seed)),
        }, role);
        assert.equal(side.epochBefore, 2, role);
        assert.equal(side.epochAfter, 3, role);
        assert.ok(!side.socketEvents.includes("close-error"), `${role}: ${side.socketEvents}`);
        assert.equal(side.socketEvents.at(-1), "close", role);
      }
      assert.equal(result.updatedEpoch, 3);
      // Orderly: no error code on either side (JSON drops `code: undefined`).
      assert.deepEqual(result.initiator.closed, { local: true });
      assert.deepEqual(result.responder.closed, { local: false });
    } finally {
      await Deno.remove(bundles.directory, { recursive: true });
    }
  },
});

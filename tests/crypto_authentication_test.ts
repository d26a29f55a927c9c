import assert from "node:assert/strict";
import { authenticationPayload } from "../src/crypto/authentication.ts";
import type { AuthenticationRole } from "../src/crypto/authentication.ts";
import type { SignatureName } from "../src/crypto/types.ts";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

Deno.test("authenticationPayload() lays out label ‖ role ‖ u16 id ‖ key ‖ th", () => {
  const publicKey = new Uint8Array([0xaa, 0xbb]);
  const th = new Uint8Array([1, 2, 3, 4]);
  assert.deepEqual(
    authenticationPayload("responder", "ML-DSA-65", publicKey, th),
    new Uint8Array([...encode("qgate/1 authentication"), 1, 0x01, 0x02, 0xaa, 0xbb, 1, 2, 3, 4]),
  );
  assert.deepEqual(
    authenticationPayload("initiator", "Ed25519", publicKey, th),
    new Uint8Array([...encode("qgate/1 authentication"), 2, 0x00, 0x01, 0xaa, 0xbb, 1, 2, 3, 4]),
  );
});

Deno.test("authenticationPayload() differs by role, scheme, key and transcript", () => {
  const key = new Uint8Array(32).fill(1);
  const th = new Uint8Array(32).fill(2);
  const base = authenticationPayload("initiator", "Ed25519", key, th);
  assert.notDeepEqual(authenticationPayload("responder", "Ed25519", key, th), base);
  assert.notDeepEqual(authenticationPayload("initiator", "Ed448", key, th), base);
  assert.notDeepEqual(
    authenticationPayload("initiator", "Ed25519", new Uint8Array(32).fill(3), th),
    base,
  );
  assert.notDeepEqual(
    authenticationPayload("initiator", "Ed25519", key, new Uint8Array(32).fill(4)),
    base,
  );
});

Deno.test("authenticationPayload() rejects unknown roles and schemes with TypeError", () => {
  const key = new Uint8Array(32);
  const th = new Uint8Array(32);
  assert.throws(
    () => authenticationPayload("observer" as AuthenticationRole, "Ed25519", key, th),
    TypeError,
  );
  assert.throws(
    () => authenticationPayload("toString" as AuthenticationRole, "Ed25519", key, th),
    TypeError,
  );
  assert.throws(
    () => authenticationPayload("initiator", "RSA" as SignatureName, key, th),
    TypeError,
  );
  // deno-lint-ignore no-explicit-any
  assert.throws(() => authenticationPayload("initiator", "Ed25519", "key" as any, th), TypeError);
});

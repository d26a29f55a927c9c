/**
 * What the platform tests bundle and load outside Deno: everything of the
 * package's main entry point, plus the algorithm registry of
 * `@qgate/handshake/crypto`, which lists what the native backends offer.
 *
 * @module
 */

export * from "../../mod.ts";
export { algorithmsOf } from "../../src/crypto/mod.ts";
export type { NegotiatedSuite, SignatureKeyPair } from "../../src/crypto/mod.ts";

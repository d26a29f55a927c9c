/**
 * What the platform tests bundle and load outside Deno: everything of the
 * package's main entry point, plus the algorithm registry of
 * `@qgate/handshake/crypto`, which lists what the native backends offer.
 *
 * @module
 */

export * from "../../mod.ts";
export { algorithmsOf } from "../../crypto.ts";
export type { NegotiatedSuite, SignatureKeyPair } from "../../crypto.ts";

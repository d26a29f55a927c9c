/**
 * Deno's permission errors, said in the terms a user acts on: the flag to
 * pass. Deno reports a missing `--allow-net` as a `Deno.errors.NotCapable`
 * whose message names the address but not the flag; every dial and listen
 * helper turns it into a `SessionError` with `ERR_PERMISSION_DENIED` that
 * names the flag, the original kept as `cause`. Elsewhere (a browser, Node)
 * there is no such error and nothing is translated.
 *
 * @module
 */

import { ErrorCode, SessionError } from "../errors.ts";

/** Whether `error` is Deno's "permission not granted" error. */
function isNotCapable(error: unknown): boolean {
  const errors = (globalThis as { Deno?: { errors?: { NotCapable?: unknown } } }).Deno?.errors;
  const NotCapable = errors?.NotCapable;
  return typeof NotCapable === "function" && error instanceof NotCapable;
}

/**
 * One `--allow-net` entry: `host:port`, or just `host` for port 0 (any port
 * the system picks). An IPv6 address is bracketed.
 *
 * @param hostname A host name or IP address, bracketed or not.
 * @param port A port; 0 for any.
 * @returns The entry, e.g. `127.0.0.1:4433` or `[::1]`.
 */
export function netEntry(hostname: string, port: number): string {
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return port === 0 ? host : `${host}:${port}`;
}

/**
 * Turns Deno's permission error into one that names the flag to pass.
 *
 * @param action What failed, e.g. `"connect to 127.0.0.1:4433"`.
 * @param error What the runtime threw.
 * @param entries The `--allow-net` entries the operation needs.
 * @returns A `SessionError` with `ERR_PERMISSION_DENIED` and `error` as cause,
 *   or `error` itself when it is not a permission error.
 */
export function explainPermission(
  action: string,
  error: unknown,
  entries: readonly string[],
): unknown {
  if (!isNotCapable(error)) return error;
  const unique = new Set(entries);
  // A bare host grants every port: "127.0.0.1" makes "127.0.0.1:4433" redundant.
  const needed = [...unique].filter((entry) => {
    const host = entry.replace(/:\d+$/, "");
    return host === entry || !unique.has(host);
  });
  const flag = `--allow-net=${needed.join(",")}`;
  return new SessionError(
    ErrorCode.PERMISSION_DENIED,
    `Cannot ${action}: missing network permission, run with ${flag}`,
    { cause: error },
  );
}

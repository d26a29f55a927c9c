/**
 * Builds what the platform tests run outside Deno, with `deno bundle`:
 *
 * - for Node: `qgate.mjs` (`qgate_bundle.ts`: all of mod.ts and the
 *   algorithm registry, one ES module) and
 *   `node_peers.mjs` (the script that imports it);
 * - for browsers: `qgate.js` (the same, bundled for the browser),
 *   `browser_peer.js` (the page's script that imports it) and `index.html`.
 *
 * The scripts import the module only as types and load the bundle at run
 * time, as a user's own program would. Nothing is written inside the
 * repository: pass a directory, or get a fresh temporary one.
 *
 * ```sh
 * deno run -A tests/platform/build.ts [node|browser] [directory]
 * ```
 *
 * @module
 */

/** Which runtime to build for. */
export type BundleTarget = "node" | "browser";

/** The files {@linkcode buildBundles} wrote, as absolute paths. */
export interface Bundles {
  /** The directory holding them. */
  directory: string;
  /** The module bundle. */
  module: string;
  /** The script that loads it. */
  script: string;
  /** The page that runs the script (browser only). */
  page?: string;
}

const ROOT = new URL("../../", import.meta.url);
const HERE = new URL("./", import.meta.url);

/** The file path of a `file:` URL. */
function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** Runs `deno bundle`; throws with its output if it fails. */
async function bundle(
  entry: URL,
  output: string,
  platform: "deno" | "browser",
): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", platform, "--output", output, pathOf(entry)],
    cwd: pathOf(ROOT),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const text = new TextDecoder().decode(new Uint8Array([...stdout, ...stderr]));
    throw new Error(`deno bundle ${pathOf(entry)} failed (exit ${code}):\n${text}`);
  }
}

/**
 * Bundles the module and the test script for one runtime.
 *
 * Node has no `node` platform in `deno bundle`; the `deno` platform leaves
 * `node:` imports as they are, which is what Node needs.
 *
 * @param target The runtime.
 * @param directory Where to write (created if missing); a new temporary directory by default.
 * @returns The paths written.
 * @throws {Error} With `deno bundle`'s output if a bundle fails.
 */
export async function buildBundles(target: BundleTarget, directory?: string): Promise<Bundles> {
  const dir = directory ?? await Deno.makeTempDir({ prefix: `qgate-${target}-` });
  await Deno.mkdir(dir, { recursive: true });
  const platform = target === "node" ? "deno" : "browser";
  const module = `${dir}/${target === "node" ? "qgate.mjs" : "qgate.js"}`;
  const script = `${dir}/${target === "node" ? "node_peers.mjs" : "browser_peer.js"}`;
  const entry = new URL(target === "node" ? "node_peers.ts" : "browser_peer.ts", HERE);
  // One after the other: on an empty Deno cache, two `deno bundle` runs at
  // once race to install the same esbuild binary and one of them fails.
  await bundle(new URL("qgate_bundle.ts", HERE), module, platform);
  await bundle(entry, script, platform);
  if (target === "node") return { directory: dir, module, script };
  const page = `${dir}/index.html`;
  await Deno.copyFile(new URL("browser.html", HERE), page);
  return { directory: dir, module, script, page };
}

if (import.meta.main) {
  const [target = "node", directory] = Deno.args;
  if (target !== "node" && target !== "browser") {
    throw new TypeError(`Cannot build: target must be "node" or "browser", got "${target}"`);
  }
  console.log(JSON.stringify(await buildBundles(target, directory), null, 2));
}

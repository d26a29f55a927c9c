/**
 * The package's entry points: "." is what a handshake needs and no more
 * (its module graph holds none of the test, visualisation or browser
 * dependencies, and it exports fewer than 80 names), and every entry point
 * type-checks on its own and documents cleanly.
 *
 * Needs `--allow-read` and `--allow-run` (it runs `deno info`, `deno doc`
 * and `deno check`).
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** npm packages "." must never load: test, Graphviz and browser-automation dependencies. */
const FORBIDDEN_IN_MAIN = [
  "fast-check",
  "@hpcc-js/wasm-graphviz",
  "playwright-core",
  "@chainsafe/libp2p-noise",
  "@libp2p/crypto",
];

/** The most names "." may export. */
const MAX_MAIN_NAMES = 80;

async function deno(args: string[]): Promise<{ success: boolean; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: new URL(".", ROOT),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    success: output.success,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** deno.json "exports": subpath → entry file (`"./viz"` → `"src/viz/mod.ts"`). */
async function entryPoints(): Promise<Map<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    exports: Record<string, string>;
  };
  return new Map(
    Object.entries(config.exports).map(([key, file]) => [key, file.replace(/^\.\//, "")]),
  );
}

interface ModuleGraph {
  modules: { kind?: string; specifier: string; npmPackage?: string }[];
  npmPackages: Record<string, { name: string; dependencies?: string[] }>;
}

/** The npm packages a module graph loads, with their own dependencies. */
function npmPackagesOf(graph: ModuleGraph): Set<string> {
  const pending = graph.modules.flatMap((module) =>
    module.npmPackage === undefined ? [] : [module.npmPackage]
  );
  const seen = new Set<string>();
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    pending.push(...graph.npmPackages[id]?.dependencies ?? []);
  }
  return new Set([...seen].map((id) => graph.npmPackages[id]?.name ?? id));
}

interface DocNodes {
  nodes: Record<string, {
    module_doc?: { tags?: { kind: string }[] };
    symbols: { name: string }[];
  }>;
}

async function docOf(file: string): Promise<DocNodes["nodes"][string]> {
  const result = await deno(["doc", "--json", file]);
  assert.ok(result.success, result.stderr);
  const nodes = (JSON.parse(result.stdout) as DocNodes).nodes;
  const node = nodes[new URL(file, ROOT).href];
  assert.ok(node !== undefined, `deno doc says nothing about ${file}`);
  return node;
}

Deno.test('"." loads no fast-check, Graphviz or Playwright, nor the subpaths\' code', async () => {
  const entries = await entryPoints();
  const main = entries.get(".");
  assert.equal(main, "mod.ts");
  const result = await deno(["info", "--json", main]);
  assert.ok(result.success, result.stderr);
  const graph = JSON.parse(result.stdout) as ModuleGraph;
  const packages = npmPackagesOf(graph);
  for (const name of FORBIDDEN_IN_MAIN) {
    assert.ok(!packages.has(name), `"." loads ${name}: ${[...packages].join(", ")}`);
  }
  const local = graph.modules
    .map((module) => module.specifier)
    .filter((specifier) => specifier.startsWith(ROOT.href))
    .map((specifier) => specifier.slice(ROOT.href.length));
  const leaks = local.filter((path) =>
    path.startsWith("src/conformance/") || path.startsWith("src/viz/") ||
    [...entries.values()].some((file) => file !== main && path === file)
  );
  assert.deepEqual(leaks, [], `"." loads subpath code`);
  console.log(
    `"." loads ${graph.modules.length} modules (${local.length} of qgate), ` +
      `npm: ${[...packages].sort().join(", ")}`,
  );
});

Deno.test(`"." exports fewer than ${MAX_MAIN_NAMES} names; each subpath says how many it has`, async () => {
  const counts: string[] = [];
  for (const [key, file] of await entryPoints()) {
    const names = (await docOf(file)).symbols.map((symbol) => symbol.name);
    assert.equal(new Set(names).size, names.length, `${file} exports a name twice`);
    if (key === ".") {
      assert.ok(names.length < MAX_MAIN_NAMES, `"." exports ${names.length} names`);
      assert.ok(names.includes("initiate") && names.includes("respond"));
    }
    counts.push(`${key}: ${names.length}`);
  }
  console.log(`names per entry point: ${counts.join(", ")}`);
});

Deno.test("every entry point has a module doc with a runnable example", async () => {
  for (const file of (await entryPoints()).values()) {
    const tags = (await docOf(file)).module_doc?.tags ?? [];
    assert.ok(tags.some((tag) => tag.kind === "example"), `${file} has no @module example`);
  }
});

Deno.test("every entry point type-checks on its own", async () => {
  for (const file of (await entryPoints()).values()) {
    const result = await deno(["check", file]);
    assert.ok(result.success, `deno check ${file}:\n${result.stderr}`);
  }
});

Deno.test("the entry points document cleanly (deno doc --lint), as one package", async () => {
  // One run over all of them, as JSR documents a package: a type that "."
  // mentions may be documented by the subpath that exports it (CryptoBackend
  // by "./crypto", TraceEvent by "./viz").
  const files = [...(await entryPoints()).values()];
  const result = await deno(["doc", "--lint", ...files]);
  assert.ok(result.success, `deno doc --lint ${files.join(" ")}:\n${result.stderr}`);
});

Deno.test("each entry point documents cleanly on its own, but for the types a sibling entry point exports", async () => {
  // Linted alone, an entry reports the types it names that a sibling entry
  // documents ("." names CryptoBackend, which "./crypto" exports). Anything
  // else (a missing doc comment, a missing return type, a type no entry
  // exports) fails here, entry by entry.
  const entries = await entryPoints();
  const exported = new Map<string, Set<string>>();
  for (const [key, file] of entries) {
    exported.set(key, new Set((await docOf(file)).symbols.map((symbol) => symbol.name)));
  }
  const seen: string[] = [];
  for (const [key, file] of entries) {
    const result = await deno(["doc", "--lint", file]);
    const diagnostics = result.stderr.split("\n").filter((line) => /^(error|warning)\[/.test(line));
    if (!result.success) assert.ok(diagnostics.length > 0, `${file}:\n${result.stderr}`);
    const fromSiblings = new Set<string>();
    for (const line of diagnostics) {
      const match = /^error\[private-type-ref\]: .* references private type '([^']+)'$/.exec(line);
      assert.ok(match !== null, `${key} (${file}): ${line}`);
      const name = match[1]!;
      const sibling = [...exported].find(([other, names]) => other !== key && names.has(name));
      assert.ok(
        sibling !== undefined,
        `${key} (${file}) names ${name}, which no entry point exports`,
      );
      fromSiblings.add(`${name} (${sibling[0]})`);
    }
    seen.push(`${key}: ${fromSiblings.size === 0 ? "clean" : [...fromSiblings].sort().join(", ")}`);
  }
  console.log(`types named from a sibling entry point:\n  ${seen.join("\n  ")}`);
});

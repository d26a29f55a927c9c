/**
 * ARCHITECTURE.md "Layers": imports point downward only. Every module in
 * `src/`, `machines/` and the package's entry files is parsed by Deno itself
 * (`deno info --json` over one root that imports them all), and each import
 * between two of them is checked against the order below, top to bottom. A
 * module may import its own layer and any layer below it, never one above.
 *
 * @module
 */

import assert from "node:assert/strict";

/** One layer: a name for messages and which repository paths belong to it. */
interface Layer {
  readonly name: string;
  readonly owns: (path: string) => boolean;
}

const ROOT = new URL("../", import.meta.url);

/** The package's entry files, as deno.json "exports" names them (`./mod.ts` → `mod.ts`). */
async function entryFiles(): Promise<Set<string>> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    exports: string | Record<string, string>;
  };
  const targets = typeof config.exports === "string"
    ? [config.exports]
    : Object.values(config.exports);
  return new Set(targets.map((target) => target.replace(/^\.\//, "")));
}

function under(folder: string): (path: string) => boolean {
  return (path) => path.startsWith(`${folder}/`);
}

/**
 * The layers, top to bottom. `src/handshake_policy.ts` is the policy the
 * machines' guards call (ARCHITECTURE.md puts it with the machines); the small
 * shared files `src/_*.ts` sit below everything.
 *
 * @param entries The entry files.
 * @returns The layers in order.
 */
function layers(entries: ReadonlySet<string>): readonly Layer[] {
  return [
    { name: "entry files (mod.ts and subpaths)", owns: (path) => entries.has(path) },
    { name: "src/conformance", owns: under("src/conformance") },
    { name: "src/viz", owns: under("src/viz") },
    { name: "src/net", owns: under("src/net") },
    { name: "src/session", owns: under("src/session") },
    { name: "src/transport", owns: under("src/transport") },
    {
      name: "machines",
      owns: (path) => under("machines")(path) || path === "src/handshake_policy.ts",
    },
    { name: "src/codec", owns: under("src/codec") },
    { name: "src/crypto", owns: under("src/crypto") },
    { name: "src/errors.ts", owns: (path) => path === "src/errors.ts" },
    { name: "shared leaf files (src/_*.ts)", owns: (path) => /^src\/_[^/]+\.ts$/.test(path) },
  ];
}

/** One import between two local modules, as `deno info` reports it. */
interface LocalImport {
  /** The importing file, relative to the repository root. */
  readonly from: string;
  /** The imported file, relative to the repository root. */
  readonly to: string;
  /** The specifier as written. */
  readonly specifier: string;
  /** 1-based line of the import. */
  readonly line: number;
}

/**
 * Lists the imports that run upward, and files that belong to no layer.
 *
 * @param imports Every import between local modules.
 * @param files Every checked file.
 * @param order The layers, top to bottom.
 * @returns One line per problem, naming the file, line and import.
 */
function findViolations(
  imports: readonly LocalImport[],
  files: readonly string[],
  order: readonly Layer[],
): string[] {
  const rank = (path: string): number => order.findIndex((layer) => layer.owns(path));
  const problems: string[] = [];
  for (const file of files) {
    if (rank(file) < 0) {
      problems.push(`${file} belongs to no layer: add it to tests/layers_test.ts`);
    }
  }
  for (const { from, to, specifier, line } of imports) {
    const fromRank = rank(from);
    const toRank = rank(to);
    if (fromRank < 0 || toRank < 0 || toRank >= fromRank) continue;
    problems.push(
      `${from}:${line} imports "${specifier}" (${order[toRank]!.name}), a layer above ` +
        `${order[fromRank]!.name}`,
    );
  }
  return problems;
}

async function filesUnder(folder: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${folder}/`, ROOT))) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory) found.push(...await filesUnder(path));
    else if (entry.isFile && path.endsWith(".ts")) found.push(path);
  }
  return found;
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string; span?: { start: { line: number } } };
  type?: { specifier?: string; span?: { start: { line: number } } };
}

/**
 * Parses every file with Deno (one `deno info --json` over a root importing
 * them all) and returns the imports between files of the repository.
 */
async function localImports(files: readonly string[]): Promise<LocalImport[]> {
  const root = files.map((file) => `import "${new URL(file, ROOT).href}";\n`).join("");
  const dataUrl = `data:application/typescript;base64,${
    btoa(String.fromCharCode(...new TextEncoder().encode(root)))
  }`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", dataUrl],
    cwd: new URL(".", ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string; dependencies?: InfoDependency[]; error?: string }[];
  };
  const local = (specifier: string | undefined): string | undefined =>
    specifier?.startsWith(ROOT.href) ? specifier.slice(ROOT.href.length) : undefined;
  const imports: LocalImport[] = [];
  for (const module of info.modules) {
    const from = local(module.specifier);
    if (from === undefined) continue;
    assert.equal(module.error, undefined, `${from}: ${module.error}`);
    for (const dependency of module.dependencies ?? []) {
      for (const resolved of [dependency.code, dependency.type]) {
        const to = local(resolved?.specifier);
        if (to === undefined) continue;
        imports.push({
          from,
          to,
          specifier: dependency.specifier,
          line: (resolved?.span?.start.line ?? -1) + 1,
        });
      }
    }
  }
  return imports;
}

Deno.test("findViolations() names an upward import and a file outside every layer", () => {
  const order = layers(new Set(["mod.ts"]));
  const problems = findViolations(
    [
      { from: "src/session/session.ts", to: "src/net/tcp.ts", specifier: "../net/tcp.ts", line: 7 },
      { from: "src/net/tcp.ts", to: "src/session/session.ts", specifier: "x", line: 1 },
      { from: "mod.ts", to: "src/viz/export.ts", specifier: "./src/viz/export.ts", line: 3 },
      { from: "src/crypto/types.ts", to: "src/errors.ts", specifier: "../errors.ts", line: 2 },
      { from: "src/errors.ts", to: "src/_hex.ts", specifier: "./_hex.ts", line: 2 },
      { from: "src/_hex.ts", to: "src/errors.ts", specifier: "./errors.ts", line: 4 },
    ],
    ["src/session/session.ts", "src/net/tcp.ts", "src/stray.ts"],
    order,
  );
  assert.deepEqual(problems, [
    "src/stray.ts belongs to no layer: add it to tests/layers_test.ts",
    'src/session/session.ts:7 imports "../net/tcp.ts" (src/net), a layer above src/session',
    'src/_hex.ts:4 imports "./errors.ts" (src/errors.ts), a layer above shared leaf files (src/_*.ts)',
  ]);
});

Deno.test("imports in src/, machines/ and the entry files point downward only", async () => {
  const entries = await entryFiles();
  assert.ok(entries.has("mod.ts"), "deno.json exports mod.ts");
  const files = [...entries, ...await filesUnder("src"), ...await filesUnder("machines")];
  const imports = await localImports(files);
  assert.ok(imports.length > files.length, `parsed only ${imports.length} imports`);
  const problems = findViolations(imports, files, layers(entries));
  assert.deepEqual(problems, [], `upward imports:\n${problems.join("\n")}`);
});

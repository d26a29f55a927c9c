/**
 * `deno task viz`: writes every statechart as JSON, Mermaid, DOT and SVG to
 * `machines/diagrams/`, plus `handshake.sequence.mmd` (a simulated handshake,
 * key update and close as a sequence diagram), and removes diagram files of
 * statecharts that no longer exist.
 *
 * ```sh
 * deno task viz            # regenerate
 * deno task viz --check    # exit 1 if the committed files are stale
 * ```
 *
 * @module
 */

import { DIAGRAM_DIRECTORY, type DiagramFile, statechartDiagramFiles } from "./export.ts";
import { simulateHandshakeTrace } from "./simulate.ts";
import { traceToMermaidSequence } from "./trace.ts";

const REPOSITORY_ROOT = new URL("../../", import.meta.url);
const DIAGRAM_EXTENSIONS = [".json", ".mmd", ".dot", ".svg"];

/** The sequence diagram of a simulated handshake, key update and close, for the docs. */
export const SEQUENCE_DIAGRAM_PATH = `${DIAGRAM_DIRECTORY}/handshake.sequence.mmd`;

/**
 * Every file `deno task viz` writes: the statechart diagrams and the
 * sequence diagram of a handshake, key update and close simulated by the
 * statecharts.
 *
 * @returns The files, sorted by path.
 */
export async function allDiagramFiles(): Promise<DiagramFile[]> {
  const files = await statechartDiagramFiles();
  const sequence = traceToMermaidSequence(simulateHandshakeTrace(), {
    title: "Handshake, key update and close, simulated by the statecharts",
    states: false,
  });
  files.push({ path: SEQUENCE_DIAGRAM_PATH, content: sequence });
  return files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Differences between generated and committed diagram files. */
export interface DiagramDrift {
  /** Paths whose committed content differs or that are missing. */
  readonly stale: readonly string[];
  /** Committed diagram files no statechart generates any more. */
  readonly orphaned: readonly string[];
}

async function readOrUndefined(url: URL): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function committedDiagramPaths(): Promise<string[]> {
  const paths: string[] = [];
  try {
    for await (const entry of Deno.readDir(new URL(`${DIAGRAM_DIRECTORY}/`, REPOSITORY_ROOT))) {
      if (entry.isFile && DIAGRAM_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
        paths.push(`${DIAGRAM_DIRECTORY}/${entry.name}`);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return paths.sort();
}

/**
 * Compares generated diagram files with the files on disk.
 *
 * @param files The generated files.
 * @returns Stale or missing paths, and orphaned paths.
 */
export async function diagramDrift(files: readonly DiagramFile[]): Promise<DiagramDrift> {
  const stale: string[] = [];
  for (const file of files) {
    const committed = await readOrUndefined(new URL(file.path, REPOSITORY_ROOT));
    if (committed !== file.content) stale.push(file.path);
  }
  const generated = new Set(files.map((file) => file.path));
  const orphaned = (await committedDiagramPaths()).filter((path) => !generated.has(path));
  return { stale, orphaned };
}

/**
 * Runs the command line.
 *
 * @param args The arguments (`--check` only compares).
 * @returns The process exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== "--check");
  if (unknown.length > 0) {
    console.error(`Usage: deno task viz [--check]  (unknown argument ${unknown[0]})`);
    return 2;
  }
  const files = await allDiagramFiles();
  const drift = await diagramDrift(files);
  if (args.includes("--check")) {
    for (const path of [...drift.stale, ...drift.orphaned]) console.error(`stale: ${path}`);
    if (drift.stale.length + drift.orphaned.length > 0) {
      console.error("Diagrams are stale: run `deno task viz` and commit machines/diagrams/");
      return 1;
    }
    console.log(`${files.length} diagram files are up to date`);
    return 0;
  }
  await Deno.mkdir(new URL(`${DIAGRAM_DIRECTORY}/`, REPOSITORY_ROOT), { recursive: true });
  const stale = new Set(drift.stale);
  for (const file of files) {
    if (stale.has(file.path)) {
      await Deno.writeTextFile(new URL(file.path, REPOSITORY_ROOT), file.content);
    }
  }
  for (const path of drift.orphaned) await Deno.remove(new URL(path, REPOSITORY_ROOT));
  console.log(
    `${files.length} diagram files in ${DIAGRAM_DIRECTORY}/: ${stale.size} written, ` +
      `${drift.orphaned.length} removed`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

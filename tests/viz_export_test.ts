import assert from "node:assert/strict";
import {
  listStatecharts,
  renderDotToSvg,
  statechartDiagramFiles,
  statechartToDot,
  statechartToJson,
  statechartToMermaid,
  statechartToSvg,
} from "../src/viz/export.ts";
import { allDiagramFiles, diagramDrift, SEQUENCE_DIAGRAM_PATH } from "../src/viz/cli.ts";
import { MESSAGE_TYPE } from "../src/codec/message_types.ts";

const HANDSHAKE_MESSAGES = Object.keys(MESSAGE_TYPE).filter((kind) =>
  /^(begin|end)(MetaExchange|PrimaryKeyExchange|SecondaryKeyExchange|Authentication|SessionInit)$/
    .test(kind)
);

Deno.test("allDiagramFiles() matches the committed machines/diagrams", async () => {
  const files = await allDiagramFiles();
  assert.ok(files.some((file) => file.path === SEQUENCE_DIAGRAM_PATH));
  const drift = await diagramDrift(files);
  assert.deepEqual(
    drift,
    { stale: [], orphaned: [] },
    "machines/diagrams/ is stale: run `deno task viz` and commit the result",
  );
});

Deno.test("statechartDiagramFiles() is deterministic", async () => {
  const [first, second] = [await statechartDiagramFiles(), await statechartDiagramFiles()];
  assert.deepEqual(first, second);
  for (const file of first) assert.ok(file.content.length > 0, `${file.path} is empty`);
});

Deno.test("listStatecharts() behaviour", async (t) => {
  const charts = listStatecharts();

  await t.step("lists the phases in protocol order, the handshake and the key update", () => {
    const names = charts.map((chart) => chart.id);
    assert.ok(names.includes("keyUpdate"));
    const phases = [
      "metaExchange",
      "primaryKeyExchange",
      "secondaryKeyExchange",
      "authentication",
      "sessionInit",
    ];
    assert.deepEqual(names.filter((name) => phases.includes(name)), phases);
    assert.ok(names.includes("handshake"));
  });

  await t.step("names each source file that exists", async () => {
    for (const chart of charts) {
      const info = await Deno.stat(new URL(`../${chart.source}`, import.meta.url));
      assert.ok(info.isFile, chart.source);
      assert.ok(chart.description.length > 0);
    }
  });
});

Deno.test("statechartToJson() behaviour", async (t) => {
  await t.step("rejects an unknown name with RangeError", () => {
    assert.throws(() => statechartToJson("nope"), RangeError);
    assert.throws(() => statechartToMermaid("nope"), RangeError);
    assert.throws(() => statechartToDot("nope"), RangeError);
  });

  await t.step("is closed: every target and parent is a listed state", () => {
    for (const { id } of listStatecharts()) {
      const chart = statechartToJson(id);
      assert.equal(chart.format, "qgate.statechart/1");
      assert.equal(chart.states[0]?.path, "");
      const paths = new Set(chart.states.map((state) => state.path));
      assert.equal(paths.size, chart.states.length, `${id}: duplicate paths`);
      for (const state of chart.states) {
        if (state.parent !== null) assert.ok(paths.has(state.parent), `${id}: ${state.path}`);
        if (state.initial !== null) assert.ok(paths.has(state.initial), `${id}: ${state.path}`);
      }
      for (const transition of chart.transitions) {
        assert.ok(paths.has(transition.source), `${id}: ${transition.source}`);
        for (const target of transition.targets) assert.ok(paths.has(target), `${id}: ${target}`);
      }
    }
  });

  await t.step("keeps the handshake's phases in order", () => {
    const chart = statechartToJson("handshake");
    const top = chart.states.filter((state) => state.parent === "").map((state) => state.key);
    assert.deepEqual(top, [
      "metaExchange",
      "primaryKeyExchange",
      "secondaryKeyExchange",
      "authentication",
      "sessionInit",
      "ready",
      "failed",
    ]);
    const done = chart.transitions.filter((transition) => transition.trigger === "done")
      .map((transition) => `${transition.source}->${transition.targets.join()}`);
    assert.deepEqual(done, [
      "metaExchange->primaryKeyExchange",
      "primaryKeyExchange->secondaryKeyExchange",
      "secondaryKeyExchange->authentication",
      "authentication->sessionInit",
      "sessionInit->ready",
    ]);
  });

  await t.step("finds every handshake message the statechart sends", () => {
    const chart = statechartToJson("handshake");
    const sent = new Set(chart.transitions.flatMap((transition) => transition.sends));
    assert.deepEqual([...sent].sort(), [...HANDSHAKE_MESSAGES].sort());
    const offer = chart.transitions.find((transition) =>
      transition.source === "primaryKeyExchange.start" &&
      transition.targets.includes("primaryKeyExchange.awaitingAnswer")
    );
    assert.deepEqual(offer?.sends, ["beginPrimaryKeyExchange"]);
    assert.deepEqual(offer?.actions.map((action) => action.emits), [
      "keyExchange.offer",
      "keyExchange.prepare",
    ]);
  });

  await t.step("resolves every send action of every statechart to a message kind", () => {
    for (const { id } of listStatecharts()) {
      const chart = statechartToJson(id);
      const actions = [
        ...chart.transitions.flatMap((transition) => transition.actions),
        ...chart.states.flatMap((state) => [...state.entry, ...state.exit]),
      ];
      for (const action of actions) {
        if (action.emits === "frame.send") {
          assert.notEqual(action.sends, null, `${id}: ${action.type} sends an unknown kind`);
        }
      }
    }
  });

  await t.step("gives failure transitions their reason codes and timeouts their names", () => {
    const chart = statechartToJson("handshake");
    const codes = new Set(
      chart.transitions.flatMap((transition) =>
        transition.failure?.code ? [transition.failure.code] : []
      ),
    );
    for (
      const code of [
        "ERR_VERSION_MISMATCH",
        "ERR_NO_COMMON_ALGORITHM",
        "ERR_AUTH_REQUIRED",
        "ERR_TIMEOUT",
        "ERR_UNEXPECTED_MESSAGE",
        "ERR_TRANSPORT_CLOSED",
        "ERR_ABORTED",
      ]
    ) {
      assert.ok(codes.has(code), code);
    }
    assert.deepEqual(chart.delays, ["handshakeTimeout", "phaseTimeout", "retransmitDelay"]);
    const verdict = chart.transitions.find((transition) => transition.guard === "isPeerRejected");
    assert.deepEqual(verdict?.failure, { code: null, action: "failWithPeerVerdict" });
    for (const transition of chart.transitions) {
      assert.equal(transition.failure !== null, transition.targets.includes("failed"));
    }
  });

  await t.step("gives every phase a phaseTimeout and every waiting state a retransmission", () => {
    const readyPhase = new Set(["keyUpdate", "ready"]);
    for (const { id } of listStatecharts().filter((chart) => !readyPhase.has(chart.id))) {
      const chart = statechartToJson(id);
      const waiting = new Set(
        chart.transitions.filter((transition) =>
          transition.source !== "" && transition.event?.startsWith("peer.")
        ).map((transition) => transition.source),
      );
      assert.ok(waiting.size > 0, id);
      for (const source of waiting) {
        const phase = source.split(".")[0];
        const timeout = chart.transitions.find((transition) =>
          transition.source === phase && transition.delay === "phaseTimeout"
        );
        assert.equal(timeout?.failure?.code, "ERR_TIMEOUT", `${id}: ${phase}`);
        const retransmit = chart.transitions.find((transition) =>
          transition.source === source && transition.delay === "retransmitDelay"
        );
        assert.equal(retransmit?.guard, "isDatagram", `${id}: ${source}`);
      }
    }
  });
});

Deno.test("statechartToJson() describes the ready phase", async (t) => {
  const chart = statechartToJson("ready");
  const state = (path: string) => chart.states.find((entry) => entry.path === path);

  await t.step("as parallel regions: lifecycle and the key-update cycle", () => {
    assert.equal(state("active")?.type, "parallel");
    assert.deepEqual(
      chart.states.filter((entry) => entry.parent === "active").map((entry) => entry.key),
      ["lifecycle", "keyUpdate"],
    );
    assert.equal(state("active.lifecycle")?.initial, "active.lifecycle.open");
    assert.equal(state("active.keyUpdate")?.initial, "active.keyUpdate.idle");
  });

  await t.step("whose key-update region has the standalone key-update cycle's states", () => {
    const standalone = statechartToJson("keyUpdate").states
      .filter((entry) => entry.path !== "" && entry.path !== "failed")
      .map((entry) => `active.keyUpdate.${entry.path}`);
    const region = chart.states.filter((entry) => entry.path.startsWith("active.keyUpdate."))
      .map((entry) => entry.path);
    assert.deepEqual(region, standalone);
  });

  await t.step("sends Close and the key-update messages", () => {
    const sent = new Set(chart.transitions.flatMap((transition) => transition.sends));
    assert.deepEqual([...sent].sort(), [
      "beginKeyUpdate",
      "close",
      "endKeyUpdate",
      "keyUpdateReady",
    ]);
  });

  await t.step("names combined guards instead of calling them inline", () => {
    for (const { id } of listStatecharts()) {
      for (const transition of statechartToJson(id).transitions) {
        assert.ok(!transition.guard?.includes("(inline)"), `${id}: ${transition.guard}`);
      }
    }
    const guards = new Set(chart.transitions.map((transition) => transition.guard));
    assert.ok(guards.has("and(isForNextEpoch, isOpen)"));
    assert.ok(guards.has("not(isOpen)"));
  });
});

/**
 * Where Mermaid puts each state: it creates a state in the block where it
 * first meets its id, so an edge written in the wrong block moves a state.
 */
function mermaidBlocks(mermaid: string): Map<string, string> {
  const firstSeen = new Map<string, string>();
  const stack = [""];
  const see = (id: string): void => {
    if (id !== "[*]" && !firstSeen.has(id)) firstSeen.set(id, stack.at(-1)!);
  };
  for (const raw of mermaid.split("\n")) {
    const line = raw.trim();
    const composite = /^state "[^"]*" as (\S+) \{$/.exec(line);
    const simple = /^state (?:"[^"]*" as )?(\S+)(?: <<choice>>)?$/.exec(line);
    const edge = /^(\S+) --> (\S+)/.exec(line);
    const text = /^(\S+) : /.exec(line);
    if (composite !== null) {
      see(composite[1]!);
      stack.push(composite[1]!);
    } else if (line === "}") stack.pop();
    else if (simple !== null) see(simple[1]!);
    else if (edge !== null) {
      see(edge[1]!);
      see(edge[2]!);
    } else if (text !== null) see(text[1]!);
  }
  return firstSeen;
}

Deno.test("statechartToMermaid() puts every state of every statechart in its parent", () => {
  for (const { id } of listStatecharts()) {
    const chart = statechartToJson(id);
    const blocks = mermaidBlocks(statechartToMermaid(id));
    const idOf = (path: string): string => path === "" ? "" : path.split(".").join("__");
    for (const state of chart.states.slice(1)) {
      const block = blocks.get(idOf(state.path));
      // Final children of a phase are drawn as the phase's [*].
      if (block === undefined && state.type === "final" && state.parent !== "") continue;
      assert.equal(block, idOf(state.parent ?? ""), `${id}: ${state.path}`);
    }
  }
});

Deno.test("statechartToMermaid() behaviour", async (t) => {
  const mermaid = statechartToMermaid("handshake");

  await t.step("draws the phases as numbered composite states in order", () => {
    const order = [
      "1 · metaExchange",
      "2 · primaryKeyExchange",
      "3 · secondaryKeyExchange",
      "4 · authentication",
      "5 · sessionInit",
    ].map((title) => mermaid.indexOf(`state "${title}" as`));
    assert.ok(order.every((index) => index > 0));
    assert.deepEqual([...order].sort((a, b) => a - b), order);
    assert.match(mermaid, /state "6 · ready" as ready/);
    assert.match(mermaid, /sessionInit --> ready : done/);
  });

  await t.step("labels guards, messages sent, timeouts and failure codes", () => {
    assert.match(
      mermaid,
      /metaExchange__start --> metaExchange__awaitingChoice : \[isResponder\] ⇢ beginMetaExchange/,
    );
    assert.match(mermaid, /after phaseTimeout → ERR_TIMEOUT/);
    assert.match(mermaid, /peer\.beginMetaExchange \[hasNoCommonSuite\] → ERR_NO_COMMON_ALGORITHM/);
    assert.match(mermaid, /note left of failed\n\s+in any state:/);
    assert.match(mermaid, /after handshakeTimeout → ERR_TIMEOUT/);
  });

  await t.step("separates the regions of a parallel state with --", () => {
    const ready = statechartToMermaid("ready");
    assert.match(
      ready,
      /\n {4}state "lifecycle" as active__lifecycle \{\n[^]*\n {4}\}\n {4}--\n {4}state "keyUpdate" as active__keyUpdate \{\n/,
    );
    // An edge that leaves the regions is written where both ends are: at the top.
    assert.match(ready, /\n {2}active__lifecycle__open --> settled : peer\.close/);
  });

  await t.step("uses choice states for role branches and [*] for phase ends", () => {
    assert.match(mermaid, /state primaryKeyExchange__start <<choice>>/);
    assert.match(
      mermaid,
      /primaryKeyExchange__awaitingOffer --> \[\*\] : peer\.beginPrimaryKeyExchange/,
    );
    assert.doesNotMatch(mermaid, /;/);
  });
});

Deno.test("statechartToDot() behaviour", async (t) => {
  await t.step("gives every state of every statechart an id", () => {
    for (const { id } of listStatecharts()) {
      const dot = statechartToDot(id);
      for (const state of statechartToJson(id).states.slice(1)) {
        assert.ok(dot.includes(`id="state:${state.path}"`), `${id}: ${state.path}`);
      }
    }
  });

  await t.step("declares every node an edge of every statechart starts or ends at", () => {
    for (const { id } of listStatecharts()) {
      const dot = statechartToDot(id);
      const declared = new Set([...dot.matchAll(/^\s*("[^"]+") \[id=/gm)].map((match) => match[1]));
      for (const [, tail, head] of dot.matchAll(/^\s*("[^"]+") -> ("[^"]+")/gm)) {
        assert.ok(declared.has(tail) && declared.has(head), `${id}: ${tail} -> ${head}`);
      }
    }
  });

  await t.step("enters a parallel state through a fork bar into each region", () => {
    const dot = statechartToDot("ready");
    assert.match(dot, /"initial:active" \[id="initial:active", class="initial fork"/);
    for (const region of ["lifecycle", "keyUpdate"]) {
      assert.ok(
        dot.includes(
          `"initial:active" -> "initial:active.${region}" [arrowsize=0.6, lhead="cluster_active.${region}"];`,
        ),
        region,
      );
    }
    assert.match(dot, /class="phase parallel";/);
    assert.equal(dot.match(/class="phase region";/g)?.length, 2);
    // Loops on a cluster have no node to hang on: they are listed in its label.
    assert.match(dot, /peer\.extenderData \/ deliverMessage/);
    assert.doesNotMatch(dot, /"initial:active" -> "initial:active"/);
  });

  await t.step("clusters the handshake's phases and lays out top to bottom", () => {
    const dot = statechartToDot("handshake");
    assert.match(dot, /rankdir=TB/);
    assert.match(dot, /subgraph "cluster_metaExchange" \{/);
    assert.match(dot, /<b>1 · metaExchange<\/b>/);
    assert.match(dot, /⇢ endSessionInit/);
    assert.match(dot, /ERR_AUTH_REQUIRED/);
  });
});

Deno.test("renderDotToSvg() behaviour", async (t) => {
  await t.step("renders the handshake with addressable states", async () => {
    const svg = await statechartToSvg("handshake");
    assert.match(svg, /<svg /);
    assert.ok(svg.includes('id="state:authentication.verifying"'));
    assert.ok(svg.includes('class="node state final failed"'));
  });

  await t.step("rejects DOT that does not parse with SyntaxError", async () => {
    await assert.rejects(renderDotToSvg("digraph { a -> }"), SyntaxError);
  });

  await t.step("rejects a non-string with TypeError", async () => {
    await assert.rejects(renderDotToSvg(42 as unknown as string), TypeError);
  });
});

Deno.test("docs/statecharts.md shows the current handshake diagram", async () => {
  const readme = await Deno.readTextFile(new URL("../docs/statecharts.md", import.meta.url));
  const diagram = await Deno.readTextFile(
    new URL("../machines/diagrams/handshake.mmd", import.meta.url),
  );
  assert.ok(
    readme.includes("```mermaid\n" + diagram.trimEnd() + "\n```"),
    "docs/statecharts.md's mermaid block differs from machines/diagrams/handshake.mmd: run `deno task viz` and paste it",
  );
});

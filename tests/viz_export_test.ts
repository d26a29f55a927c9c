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
      transition.source === "primaryKeyExchange.offering"
    );
    assert.deepEqual(offer?.sends, ["beginPrimaryKeyExchange"]);
    assert.deepEqual(offer?.actions.map((action) => action.emits), ["frame.send"]);
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
    for (const { id } of listStatecharts().filter((chart) => chart.id !== "keyUpdate")) {
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

  await t.step("uses choice states for role branches and [*] for phase ends", () => {
    assert.match(mermaid, /state primaryKeyExchange__start <<choice>>/);
    assert.match(mermaid, /primaryKeyExchange__answering --> \[\*\] : crypto\.answered/);
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

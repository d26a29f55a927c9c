// qgate inspector page. Served by src/viz/inspector.ts; no external assets.
// Statecharts come from /api/statecharts (JSON) and /api/statechart/<id>.svg,
// events from /api/run as server-sent events.
"use strict";

const ROLES = ["initiator", "responder"];
const PREFIX = "keyUpdate.";
const KEY_UPDATE_KINDS = new Set(["beginKeyUpdate", "endKeyUpdate", "keyUpdateReady"]);

/** "primaryKeyExchange" -> "Primary key exchange". */
function words(key) {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return await response.json();
}

async function getText(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return await response.text();
}

function epochClass(epoch) {
  return `epoch-${Math.min(epoch, 4)}`;
}

function ms(at) {
  return `${at.toFixed(1)} ms`;
}

/** Which statechart and path a trace state belongs to. */
function locate(state, afterReady) {
  if (state.startsWith(PREFIX)) return { chart: "keyUpdate", path: state.slice(PREFIX.length) };
  if (afterReady && state !== "ready") return { chart: "keyUpdate", path: state };
  return { chart: "handshake", path: state };
}

/** One statechart SVG in a peer panel that highlights and follows the active state. */
class ChartView {
  constructor(container, svgText, chart) {
    this.container = container;
    this.chart = chart;
    container.innerHTML = svgText.slice(svgText.indexOf("<svg"));
    this.svg = container.querySelector("svg");
    this.svg.removeAttribute("width");
    this.svg.removeAttribute("height");
    this.svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    // Two peers show the same SVG: turn ids into data attributes.
    for (const node of this.svg.querySelectorAll("[id]")) {
      const id = node.getAttribute("id");
      if (id.startsWith("state:")) node.dataset.state = id.slice("state:".length);
      if (id.startsWith("fail:")) node.dataset.fail = id.slice("fail:".length);
      if (id === "any:") node.dataset.any = "";
      node.removeAttribute("id");
    }
    const box = this.svg.viewBox.baseVal;
    this.whole = { x: box.x, y: box.y, width: box.width, height: box.height };
    this.view = { ...this.whole };
    this.follow = true;
    this.active = undefined;
    this.animation = 0;
  }

  reset() {
    for (const node of this.svg.querySelectorAll(".active, .visited, .current")) {
      node.classList.remove("active", "visited", "current");
    }
    this.active = undefined;
    this.activePath = undefined;
    this.failedFrom = undefined;
    this.context = undefined;
    this.lastCluster = undefined;
    this.frame(this.whole, false);
  }

  find(path) {
    return this.svg.querySelector(`[data-state="${CSS.escape(path)}"]`);
  }

  highlight(path) {
    const previous = this.activePath;
    this.activePath = path;
    for (const node of this.svg.querySelectorAll(".active, .current")) {
      node.classList.remove("active", "current");
    }
    const node = this.find(path);
    if (path === "failed" && previous !== undefined) {
      // Show which failure transition fired: the red marker beside the last state.
      const marker = this.svg.querySelector(`[data-fail="${CSS.escape(previous)}"]`);
      this.failedFrom = previous;
      if (marker !== null) {
        marker.classList.add("active");
        if (node !== null) node.classList.add("active", "visited");
        this.active = marker;
        if (this.follow) this.focus();
        return;
      }
    }
    if (node !== null) node.classList.add("active", "visited");
    const phase = this.chart.states.find((state) =>
      state.parent === "" && (path === state.path || path.startsWith(`${state.path}.`))
    );
    const cluster = phase === undefined ? null : this.find(phase.path);
    if (cluster !== null && cluster.classList.contains("cluster")) {
      cluster.classList.add("current");
    }
    const inCluster = cluster !== null && cluster.classList.contains("cluster");
    // A top-level state (ready, failed) is shown with the phase it came from.
    this.context = inCluster ? cluster : this.lastCluster;
    if (inCluster) this.lastCluster = cluster;
    this.active = inCluster ? cluster : node;
    if (this.follow) this.focus();
  }

  /**
   * Once the code is known, point at the transition that failed: the marker
   * beside the last state, or the "in any state" note for root transitions.
   */
  explainFailure(code) {
    const from = this.failedFrom;
    if (from === undefined || code === undefined) return;
    const matches = (source, exact) =>
      this.chart.transitions.some((transition) =>
        transition.source === source && transition.failure !== null &&
        (exact ? transition.failure.code === code : transition.failure.code === null)
      );
    const own = matches(from, true) || (!matches("", true) && matches(from, false));
    const note = this.svg.querySelector("[data-any]");
    if (own || note === null) return;
    this.svg.querySelector(`[data-fail="${CSS.escape(from)}"]`)?.classList.remove("active");
    note.classList.add("active");
    this.active = note;
    this.context = this.find("failed") ?? undefined;
    if (this.follow) this.focus();
  }

  /** The bounding box of an SVG element in the SVG's own coordinates. */
  boxOf(node) {
    const box = node.getBBox();
    const matrix = this.svg.getScreenCTM().inverse().multiply(node.getScreenCTM());
    const corners = [
      [box.x, box.y],
      [box.x + box.width, box.y + box.height],
    ].map(([x, y]) => new DOMPoint(x, y).matrixTransform(matrix));
    return {
      x: Math.min(corners[0].x, corners[1].x),
      y: Math.min(corners[0].y, corners[1].y),
      width: Math.abs(corners[1].x - corners[0].x),
      height: Math.abs(corners[1].y - corners[0].y),
    };
  }

  focus() {
    if (this.active === undefined || this.active === null || this.container.hidden) return;
    let box = this.boxOf(this.active);
    if (this.context && this.context !== this.active) {
      const other = this.boxOf(this.context);
      const x = Math.min(box.x, other.x);
      const y = Math.min(box.y, other.y);
      box = {
        x,
        y,
        width: Math.max(box.x + box.width, other.x + other.width) - x,
        height: Math.max(box.y + box.height, other.y + other.height) - y,
      };
    }
    const pad = 28;
    const width = Math.max(box.width + 2 * pad, 480);
    const height = Math.max(box.height + 2 * pad, 320);
    this.frame({
      x: box.x + box.width / 2 - width / 2,
      y: box.y + box.height / 2 - height / 2,
      width,
      height,
    }, true);
  }

  toggleFollow() {
    this.follow = !this.follow;
    if (this.follow) this.focus();
    else this.frame(this.whole, true);
    return this.follow;
  }

  frame(target, animate) {
    cancelAnimationFrame(this.animation);
    const from = { ...this.view };
    const apply = (box) => {
      this.view = box;
      this.svg.setAttribute("viewBox", `${box.x} ${box.y} ${box.width} ${box.height}`);
    };
    if (!animate) {
      apply(target);
      return;
    }
    const start = performance.now();
    const step = (now) => {
      const t = Math.min(1, (now - start) / 450);
      const ease = 1 - Math.pow(1 - t, 3);
      const mix = (key) => from[key] + (target[key] - from[key]) * ease;
      apply({ x: mix("x"), y: mix("y"), width: mix("width"), height: mix("height") });
      if (t < 1) this.animation = requestAnimationFrame(step);
    };
    this.animation = requestAnimationFrame(step);
  }
}

/** One peer's panel: outcome, current state, epochs, statecharts. */
class PeerView {
  constructor(section, role, charts, svgs) {
    this.section = section;
    this.role = role;
    section.replaceChildren();
    const head = element("header", "peer-head");
    const title = element("div");
    title.append(element("span", "role", role));
    title.append(
      element("span", "hint", role === "initiator" ? "dialled, answers" : "accepted, leads"),
    );
    this.outcome = element("span", "outcome", "idle");
    head.append(title, this.outcome);
    this.now = element("div", "now");
    const epochs = element("div", "epochs");
    this.sendEpoch = element("span", "epoch-pill epoch-0", "send · epoch 0");
    this.receiveEpoch = element("span", "epoch-pill epoch-0", "receive · epoch 0");
    epochs.append(this.sendEpoch, this.receiveEpoch);
    const tabs = element("div", "chart-tabs");
    this.tabs = new Map();
    this.views = new Map();
    section.append(head, this.now, epochs, tabs);
    for (const chart of charts) {
      const tab = element("button", "", chart.id);
      tab.type = "button";
      tab.addEventListener("click", () => this.show(chart.id));
      tabs.append(tab);
      this.tabs.set(chart.id, tab);
      const container = element("div", "chart");
      container.dataset.chart = chart.id;
      section.append(container);
      this.views.set(chart.id, new ChartView(container, svgs.get(chart.id), chart));
    }
    tabs.append(element("span", "spacer"));
    const follow = element("button", "follow on", "follow");
    follow.type = "button";
    follow.title = "Zoom to the active phase, or show the whole statechart";
    follow.addEventListener("click", () => {
      const on = this.views.get(this.visible)?.toggleFollow();
      follow.classList.toggle("on", on);
    });
    tabs.append(follow);
    this.reset();
  }

  reset() {
    this.ready = false;
    this.section.dataset.outcome = "";
    this.outcome.textContent = "waiting";
    this.now.replaceChildren(element("span", "phase-name", "not started"));
    this.setEpoch("send", 0);
    this.setEpoch("receive", 0);
    for (const view of this.views.values()) view.reset();
    this.show("handshake");
  }

  show(chartId) {
    this.visible = chartId;
    for (const [id, tab] of this.tabs) tab.classList.toggle("on", id === chartId);
    for (const [id, view] of this.views) {
      view.container.hidden = id !== chartId;
      if (id === chartId) view.focus();
    }
  }

  setEpoch(direction, epoch) {
    const pill = direction === "send" ? this.sendEpoch : this.receiveEpoch;
    pill.className = `epoch-pill ${epochClass(epoch)}`;
    pill.textContent = `${direction} · epoch ${epoch}`;
  }

  enter(state) {
    const { chart, path } = locate(state, this.ready);
    const view = this.views.get(chart);
    if (view === undefined) return { chart, phase: path.split(".")[0] };
    if (this.visible !== chart) this.show(chart);
    view.highlight(path);
    const [phase, ...rest] = path.split(".");
    const phaseName = chart === "handshake" ? words(phase) : words(chart);
    const stateName = chart === "handshake" ? rest.join(".") : path;
    this.now.replaceChildren(element("span", "phase-name", phaseName));
    if (stateName !== "") this.now.append(element("span", "state-name", stateName));
    return { chart, phase: chart === "handshake" ? phase : "keyUpdate" };
  }

  end(event) {
    if (event.outcome === "ready") this.ready = true;
    if (event.outcome === "failed") {
      this.views.get(this.ready ? "keyUpdate" : "handshake")?.explainFailure(event.code);
    }
    this.section.dataset.outcome = event.outcome;
    this.outcome.textContent = event.code ? `${event.outcome} · ${event.code}` : event.outcome;
  }
}

/** The phase rail: the handshake's phases in order, then the key update. */
class Rail {
  constructor(list, handshake, hasKeyUpdate) {
    this.list = list;
    this.steps = new Map();
    const phases = handshake.states.filter((state) =>
      state.parent === "" && !(state.type === "final" && state.key === "failed")
    ).map((state) => state.key);
    if (hasKeyUpdate) phases.push("keyUpdate");
    this.order = phases;
    list.replaceChildren();
    phases.forEach((phase, index) => {
      const item = element("li", "rail-step");
      item.dataset.phase = phase;
      const marks = element("span", "marks");
      for (const role of ROLES) marks.append(element("i", `mark ${role}`, role[0].toUpperCase()));
      item.append(
        element("span", "num", String(index + 1)),
        element("span", "name", words(phase)),
        marks,
        element("span", "bar initiator"),
        element("span", "bar responder"),
      );
      list.append(item);
      this.steps.set(phase, item);
    });
  }

  reset() {
    for (const item of this.steps.values()) {
      item.className = "rail-step";
    }
  }

  at(role, phase) {
    const index = this.order.indexOf(phase);
    if (index === -1) return;
    this.order.forEach((name, position) => {
      const item = this.steps.get(name);
      item.classList.toggle(`at-${role}`, position === index);
      item.classList.toggle(`done-${role}`, position < index);
    });
    if (phase === "ready" || phase === "keyUpdate") {
      this.steps.get("ready")?.classList.add("reached");
    }
  }

  failed(role) {
    for (const item of this.steps.values()) {
      if (item.classList.contains(`at-${role}`)) item.classList.add("failed");
    }
  }
}

/** The frame list in the middle: arrows between the two lanes. */
class Sequence {
  constructor(list, totals) {
    this.list = list;
    this.totals = totals;
    this.reset();
  }

  reset() {
    this.list.replaceChildren();
    this.pending = { initiator: [], responder: [] };
    this.bytes = { initiator: 0, responder: 0 };
    this.frames = 0;
    this.noise = 0;
    this.updateTotals();
  }

  scroll() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  frame(event) {
    if (event.direction === "received") {
      const sender = event.role === "initiator" ? "responder" : "initiator";
      const queue = this.pending[sender];
      const index = queue.findIndex((row) => row.dataset.kind === event.kind);
      if (index !== -1) {
        const [row] = queue.splice(index, 1);
        row.classList.remove("in-flight");
        row.classList.add("delivered");
        // Each peer's clock starts with its own session: show the receive time as a tooltip only.
        row.title = `received by the ${event.role} at ${ms(event.at)} (its own clock)`;
        return;
      }
    }
    const from = event.direction === "sent"
      ? event.role
      : event.role === "initiator"
      ? "responder"
      : "initiator";
    const row = element("li", `frame ${from === "initiator" ? "to-right" : "to-left"}`);
    row.dataset.kind = event.kind;
    row.dataset.from = from;
    if (event.noise) row.classList.add("noise");
    row.classList.add(event.direction === "sent" ? "in-flight" : "delivered");
    const label = element("div", "label");
    const tag = element("span", `epoch-tag ${epochClass(event.epoch)}`, `e${event.epoch}`);
    label.append(
      element("span", "kind", event.noise ? "noise" : event.kind),
      tag,
      element("span", "meta", `${event.size} B · ${ms(event.at)}`),
    );
    row.append(label, element("div", "line"));
    this.list.append(row);
    if (event.direction === "sent") this.pending[event.role].push(row);
    this.frames += 1;
    if (event.noise) this.noise += 1;
    this.bytes[from] += event.size;
    this.updateTotals();
    this.scroll();
  }

  note(role, className, content) {
    const row = element("li", `event-row ${role} ${className}`);
    const pill = element("span", "pill");
    pill.append(...content);
    row.append(pill);
    this.list.append(row);
    this.scroll();
  }

  keys(event, merged) {
    const previous = this.list.lastElementChild;
    if (
      merged && previous?.classList.contains("keys") &&
      previous.dataset.role === event.role && previous.dataset.epoch === String(event.epoch)
    ) {
      previous.querySelector(".what").textContent = `send + receive → epoch ${event.epoch}`;
      return;
    }
    this.note(event.role, "keys", [
      element("span", "keys-tag", "KEYS"),
      element("span", "what", `${event.direction} → epoch ${event.epoch}`),
    ]);
    const row = this.list.lastElementChild;
    row.dataset.role = event.role;
    row.dataset.epoch = String(event.epoch);
  }

  end(event) {
    const text = `${event.role} ${event.outcome}${event.code ? ` · ${event.code}` : ""}`;
    this.note(event.role, `end ${event.outcome}`, [element("span", "", text)]);
  }

  updateTotals() {
    this.totals.replaceChildren(
      element("span", "", `${this.frames} frames (${this.noise} noise)`),
      element(
        "span",
        "",
        `I→R ${this.bytes.initiator.toLocaleString()} B · R→I ${this.bytes.responder.toLocaleString()} B`,
      ),
    );
  }
}

class Inspector {
  async boot() {
    const [{ charts }, { sources }] = await Promise.all([
      getJson("/api/statecharts"),
      getJson("/api/sources"),
    ]);
    const shown = charts.filter((chart) => chart.id === "handshake" || chart.id === "keyUpdate");
    const svgs = new Map(
      await Promise.all(
        shown.map(async (chart) => [chart.id, await getText(`/api/statechart/${chart.id}.svg`)]),
      ),
    );
    const handshake = shown.find((chart) => chart.id === "handshake");
    this.rail = new Rail(
      document.getElementById("rail"),
      handshake,
      shown.some((chart) => chart.id === "keyUpdate"),
    );
    this.peers = {};
    for (const role of ROLES) {
      this.peers[role] = new PeerView(document.getElementById(`peer-${role}`), role, shown, svgs);
    }
    this.sequence = new Sequence(
      document.getElementById("frames"),
      document.getElementById("totals"),
    );
    this.sources = sources;
    const select = document.getElementById("source");
    for (const source of sources) {
      const option = element("option", "", source.label);
      option.value = source.id;
      select.append(option);
    }
    const note = document.getElementById("note");
    const describe = () => {
      note.textContent = sources.find((source) => source.id === select.value)?.note ?? "";
    };
    select.addEventListener("change", describe);
    describe();
    const params = new URLSearchParams(location.search);
    if (params.has("pace")) document.getElementById("pace").value = params.get("pace");
    if (params.has("source")) select.value = params.get("source");
    describe();
    const start = document.getElementById("start");
    start.disabled = false;
    start.addEventListener("click", () => this.start(select.value));
    this.setRun("idle");
    globalThis.addEventListener("resize", () => {
      for (const peer of Object.values(this.peers)) peer.views.get(peer.visible)?.focus();
    });
  }

  setRun(status, text) {
    document.body.dataset.run = status;
    document.getElementById("status").textContent = text ?? status;
  }

  reset() {
    this.stream?.close();
    this.rail.reset();
    this.sequence.reset();
    for (const peer of Object.values(this.peers)) peer.reset();
    this.lastKeys = undefined;
  }

  start(sourceId) {
    this.reset();
    const pace = document.getElementById("pace").value;
    const url = `/api/run?source=${encodeURIComponent(sourceId)}&pace=${encodeURIComponent(pace)}`;
    this.setRun("running");
    const stream = new EventSource(url);
    this.stream = stream;
    stream.addEventListener("trace", (message) => this.apply(JSON.parse(message.data)));
    stream.addEventListener("done", () => {
      stream.close();
      const failed = Object.values(this.peers).some((peer) =>
        peer.section.dataset.outcome === "failed"
      );
      this.setRun(failed ? "failed" : "done", failed ? "failed" : "done");
    });
    stream.addEventListener("failure", (message) => {
      stream.close();
      this.setRun("failed", JSON.parse(message.data).message);
    });
    stream.onerror = () => {
      if (document.body.dataset.run === "running") {
        stream.close();
        this.setRun("failed", "disconnected");
      }
    };
  }

  apply(event) {
    const peer = this.peers[event.role];
    switch (event.type) {
      case "state": {
        const { phase } = peer.enter(event.state);
        if (phase === "failed") this.rail.failed(event.role);
        else this.rail.at(event.role, phase);
        this.lastKeys = undefined;
        break;
      }
      case "frame":
        this.sequence.frame(event);
        // A runtime that does not trace key-update states still shows the phase.
        if (KEY_UPDATE_KINDS.has(event.kind) && this.rail.steps.has("keyUpdate")) {
          this.rail.at(event.role, "keyUpdate");
        }
        this.lastKeys = undefined;
        break;
      case "keys": {
        peer.setEpoch(event.direction, event.epoch);
        const merged = this.lastKeys !== undefined && this.lastKeys.role === event.role &&
          this.lastKeys.epoch === event.epoch && this.lastKeys.direction !== event.direction;
        this.sequence.keys(event, merged);
        this.lastKeys = merged ? undefined : event;
        break;
      }
      case "end":
        peer.end(event);
        this.sequence.end(event);
        if (event.outcome !== "ready") this.rail.failed(event.role);
        this.lastKeys = undefined;
        break;
    }
  }
}

const inspector = new Inspector();
inspector.boot().catch((error) => {
  document.body.dataset.run = "failed";
  document.getElementById("status").textContent = "failed to load";
  document.getElementById("note").textContent = String(error);
});

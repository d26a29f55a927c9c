// qgate inspector page. Served by src/viz/inspector.ts; no external assets.
// Statecharts come from /api/statecharts (JSON) and /api/statechart/<id>.svg,
// events from /api/run as server-sent events.
"use strict";

const ROLES = ["initiator", "responder"];
/** The statecharts shown: the handshake, then the ready phase it hands over to. */
const SHOWN = ["handshake", "ready"];
const KEY_UPDATE_KINDS = new Set(["beginKeyUpdate", "endKeyUpdate", "keyUpdateReady"]);
/** Zoom limits, as a share of the whole statechart's width. */
const ZOOM = { min: 0.04, max: 2.5, step: 1.25 };

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

/**
 * Which statechart and path a trace state belongs to: `ready.<path>` is the
 * ready statechart's; `keyUpdate.<path>` (older traces, and unprefixed states
 * after ready) is its key-update region; anything else is the handshake's.
 */
function locate(state, afterReady) {
  if (state.startsWith("ready.")) return { chart: "ready", path: state.slice("ready.".length) };
  const keyUpdate = state.startsWith("keyUpdate.")
    ? state.slice("keyUpdate.".length)
    : afterReady && state !== "ready"
    ? state
    : undefined;
  if (keyUpdate !== undefined) {
    return {
      chart: "ready",
      path: keyUpdate === "failed" ? "failed" : `active.keyUpdate.${keyUpdate}`,
    };
  }
  return { chart: "handshake", path: state };
}

/** Where a ready-statechart path shows on the rail. */
function readyStep(path) {
  if (path === "failed") return "failed";
  if (path.startsWith("active.keyUpdate.updating")) return "keyUpdate";
  if (path === "active.lifecycle.open") return "ready";
  if (path.startsWith("active.lifecycle.") || path === "closed") return "close";
  return undefined;
}

/**
 * One statechart SVG in a peer panel: highlights the active state (one per
 * region of a parallel state), follows it, and zooms and pans. The view is
 * the SVG's viewBox: wheel or pinch zooms around the pointer, dragging pans,
 * the keyboard does both while the chart has focus.
 */
class ChartView {
  constructor(container, svgText, chart, onManual) {
    this.container = container;
    this.chart = chart;
    this.onManual = onManual;
    this.states = new Map(chart.states.map((state) => [state.path, state]));
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
    this.regions = new Map();
    this.pointers = new Map();
    container.tabIndex = 0;
    container.setAttribute("role", "group");
    container.setAttribute(
      "aria-label",
      `${chart.id} statechart: + and - zoom, arrow keys pan, 0 fits, f focuses the active phase`,
    );
    this.#listen();
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
    this.regions.clear();
    this.frame(this.whole, false);
  }

  find(path) {
    return this.svg.querySelector(`[data-state="${CSS.escape(path)}"]`);
  }

  /** The deepest state of `path` this SVG draws (a newer trace may name deeper states). */
  drawn(path) {
    for (let at = path; at !== ""; at = at.slice(0, Math.max(0, at.lastIndexOf(".")))) {
      const node = this.find(at);
      if (node !== null) return { path: at, node };
    }
    return { path, node: null };
  }

  /** The region of a parallel state that holds `path`, if any. */
  regionOf(path) {
    for (let at = path; at !== ""; at = at.slice(0, Math.max(0, at.lastIndexOf(".")))) {
      const state = this.states.get(at);
      if (state?.parent && this.states.get(state.parent)?.type === "parallel") return at;
    }
    return undefined;
  }

  /**
   * The phase a state belongs to: the outermost compound state above it
   * (below a parallel state, the region), or none for a top-level state.
   */
  phaseOf(path) {
    const keys = path.split(".");
    for (let depth = 1; depth < keys.length; depth++) {
      const state = this.states.get(keys.slice(0, depth).join("."));
      if (state?.type === "compound") return state.path;
    }
    return undefined;
  }

  highlight(tracedPath) {
    const previous = this.activePath;
    const { path, node } = this.drawn(tracedPath);
    this.activePath = path;
    const region = this.regionOf(path);
    if (region === undefined) {
      // Outside the parallel regions (or no regions at all): one active state.
      for (const stale of this.svg.querySelectorAll(".active")) stale.classList.remove("active");
      this.regions.clear();
    } else {
      this.regions.get(region)?.classList.remove("active");
      for (const marker of this.svg.querySelectorAll(".failure.active, [data-any].active")) {
        marker.classList.remove("active");
      }
      if (node !== null) this.regions.set(region, node);
    }
    for (const cluster of this.svg.querySelectorAll(".current")) {
      cluster.classList.remove("current");
    }
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
    const phase = this.phaseOf(path);
    const cluster = phase === undefined ? null : this.find(phase);
    const inCluster = cluster !== null && cluster.classList.contains("cluster");
    if (inCluster) cluster.classList.add("current");
    // A top-level state (ready, closed, failed) is shown with the phase it came from.
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

  /** Zooms to the active state's phase (with the phase it came from, for a top-level state). */
  focus() {
    if (this.active === undefined || this.active === null || this.container.hidden) return;
    let box = this.boxOf(this.active);
    if (this.context && this.context !== this.active) {
      const other = this.boxOf(this.context);
      const x = Math.min(box.x, other.x);
      const y = Math.min(box.y, other.y);
      const both = {
        x,
        y,
        width: Math.max(box.x + box.width, other.x + other.width) - x,
        height: Math.max(box.y + box.height, other.y + other.height) - y,
      };
      // The phase it came from only when it is near: not across the whole chart.
      const near = both.width <= 1.5 * Math.max(box.width, other.width) &&
        both.height <= 1.5 * Math.max(box.height, other.height);
      if (near) box = both;
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

  /** Shows the whole statechart, and stops following. */
  fit() {
    if (this.follow) {
      this.follow = false;
      this.onManual?.();
    }
    this.frame(this.whole, true);
  }

  setFollow(on) {
    this.follow = on;
    if (on) this.focus();
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

  // ---- zoom and pan ----

  /** A point on the page in the SVG's coordinates (what the viewBox is made of). */
  toSvg(clientX, clientY) {
    return new DOMPoint(clientX, clientY).matrixTransform(this.svg.getScreenCTM().inverse());
  }

  /** The centre of the chart on the page. */
  centre() {
    const rect = this.container.getBoundingClientRect();
    return { clientX: rect.left + rect.width / 2, clientY: rect.top + rect.height / 2 };
  }

  /**
   * Zooms by `factor` (> 1 zooms in) keeping the point under the pointer
   * where it is on screen.
   */
  zoomAt(factor, clientX, clientY) {
    const point = this.toSvg(clientX, clientY);
    const min = this.whole.width * ZOOM.min;
    const max = this.whole.width * ZOOM.max;
    const width = Math.min(max, Math.max(min, this.view.width / factor));
    const scale = width / this.view.width;
    this.#manual({
      x: point.x - (point.x - this.view.x) * scale,
      y: point.y - (point.y - this.view.y) * scale,
      width,
      height: this.view.height * scale,
    });
  }

  /** Moves the view by a distance on screen, in CSS pixels. */
  panBy(dx, dy) {
    const scale = this.svg.getScreenCTM().a;
    this.#manual({
      ...this.view,
      x: this.view.x - dx / scale,
      y: this.view.y - dy / scale,
    });
  }

  #manual(box) {
    cancelAnimationFrame(this.animation);
    this.frame(box, false);
    if (this.follow) {
      // The user took over: stop following until asked again.
      this.follow = false;
      this.onManual?.();
    }
  }

  #listen() {
    const container = this.container;
    container.addEventListener("wheel", (event) => {
      event.preventDefault();
      // A pinch on a touchpad arrives as a wheel with ctrlKey and small deltas.
      const speed = event.ctrlKey ? 0.01 : 0.0015;
      const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
      this.zoomAt(Math.exp(-event.deltaY * unit * speed), event.clientX, event.clientY);
    }, { passive: false });
    container.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      container.setPointerCapture(event.pointerId);
      this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      container.classList.add("dragging");
    });
    container.addEventListener("pointermove", (event) => {
      const last = this.pointers.get(event.pointerId);
      if (last === undefined) return;
      const now = { x: event.clientX, y: event.clientY };
      if (this.pointers.size === 2) {
        // Two fingers: zoom by the change of their distance, around their middle.
        const [other] = [...this.pointers].filter(([id]) => id !== event.pointerId)
          .map(([, point]) => point);
        const before = Math.hypot(last.x - other.x, last.y - other.y);
        const after = Math.hypot(now.x - other.x, now.y - other.y);
        if (before > 0) this.zoomAt(after / before, (now.x + other.x) / 2, (now.y + other.y) / 2);
      } else {
        this.panBy(now.x - last.x, now.y - last.y);
      }
      this.pointers.set(event.pointerId, now);
    });
    const release = (event) => {
      this.pointers.delete(event.pointerId);
      if (this.pointers.size === 0) container.classList.remove("dragging");
    };
    container.addEventListener("pointerup", release);
    container.addEventListener("pointercancel", release);
    container.addEventListener("keydown", (event) => {
      const { clientX, clientY } = this.centre();
      const step = 60;
      const keys = {
        "+": () => this.zoomAt(ZOOM.step, clientX, clientY),
        "=": () => this.zoomAt(ZOOM.step, clientX, clientY),
        "-": () => this.zoomAt(1 / ZOOM.step, clientX, clientY),
        "ArrowLeft": () => this.panBy(step, 0),
        "ArrowRight": () => this.panBy(-step, 0),
        "ArrowUp": () => this.panBy(0, step),
        "ArrowDown": () => this.panBy(0, -step),
        "0": () => this.fit(),
        "f": () => this.focus(),
      };
      const action = keys[event.key];
      if (action === undefined || event.altKey || event.metaKey || event.ctrlKey) return;
      event.preventDefault();
      action();
    });
  }
}

/** One peer's panel: outcome, current state, epochs, statecharts and their view controls. */
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
      tab.dataset.chart = chart.id;
      tab.addEventListener("click", () => this.show(chart.id));
      tabs.append(tab);
      this.tabs.set(chart.id, tab);
      const container = element("div", "chart");
      container.dataset.chart = chart.id;
      section.append(container);
      const view = new ChartView(container, svgs.get(chart.id), chart, () => this.syncFollow());
      this.views.set(chart.id, view);
    }
    tabs.append(element("span", "spacer"));
    const tool = (name, text, label, action) => {
      const button = element("button", `tool ${name}`, text);
      button.type = "button";
      button.dataset.tool = name;
      button.title = label;
      button.setAttribute("aria-label", label);
      button.addEventListener("click", () => {
        const view = this.views.get(this.visible);
        if (view !== undefined) action(view);
      });
      tabs.append(button);
      return button;
    };
    const around = (view, factor) => {
      const { clientX, clientY } = view.centre();
      view.zoomAt(factor, clientX, clientY);
    };
    tool("zoom-out", "−", "Zoom out (-)", (view) => around(view, 1 / ZOOM.step));
    tool("zoom-in", "+", "Zoom in (+)", (view) => around(view, ZOOM.step));
    tool("fit", "fit", "Show the whole statechart (0)", (view) => view.fit());
    tool("focus", "focus", "Zoom to the active phase (f)", (view) => view.focus());
    this.follow = tool(
      "follow",
      "follow",
      "Follow the active phase as it changes",
      (view) => {
        view.setFollow(!view.follow);
        this.syncFollow();
      },
    );
    this.follow.classList.add("on");
    this.reset();
  }

  reset() {
    this.ready = false;
    this.section.dataset.outcome = "";
    delete this.section.dataset.code;
    this.outcome.textContent = "waiting";
    this.now.replaceChildren(element("span", "phase-name", "not started"));
    this.setEpoch("send", 0);
    this.setEpoch("receive", 0);
    for (const view of this.views.values()) {
      view.reset();
      view.follow = true;
    }
    this.show("handshake");
  }

  /** The follow button tells whether the visible chart follows the active phase. */
  syncFollow() {
    const on = this.views.get(this.visible)?.follow ?? false;
    this.follow.classList.toggle("on", on);
    this.follow.setAttribute("aria-pressed", String(on));
  }

  show(chartId) {
    if (!this.views.has(chartId)) return;
    this.visible = chartId;
    for (const [id, tab] of this.tabs) {
      tab.classList.toggle("on", id === chartId);
      tab.setAttribute("aria-pressed", String(id === chartId));
    }
    for (const [id, view] of this.views) {
      view.container.hidden = id !== chartId;
      if (id === chartId && view.follow) view.focus();
    }
    this.syncFollow();
  }

  setEpoch(direction, epoch) {
    const pill = direction === "send" ? this.sendEpoch : this.receiveEpoch;
    pill.className = `epoch-pill ${epochClass(epoch)}`;
    pill.textContent = `${direction} · epoch ${epoch}`;
  }

  /**
   * Shows a traced state: its statechart comes to the front with the state
   * highlighted. Returns where the rail shows it.
   */
  enter(state) {
    const { chart, path } = locate(state, this.ready);
    const view = this.views.get(chart);
    if (chart === "ready") {
      const step = readyStep(path);
      if (view === undefined) return { phase: step };
      if (this.visible !== chart) this.show(chart);
      view.highlight(path);
      const shown = path.replace(/^active\./, "");
      this.now.replaceChildren(element("span", "phase-name", "Ready"));
      this.now.append(element("span", "state-name", shown));
      return { phase: step };
    }
    const [phase, ...rest] = path.split(".");
    if (view === undefined) return { phase };
    if (this.visible !== chart) this.show(chart);
    view.highlight(path);
    this.now.replaceChildren(element("span", "phase-name", words(phase)));
    if (rest.length > 0) this.now.append(element("span", "state-name", rest.join(".")));
    return { phase };
  }

  end(event) {
    if (event.outcome === "ready") {
      this.ready = true;
      // The handshake hands over to the ready phase: show its statechart.
      this.show("ready");
    }
    if (event.outcome === "failed" || (event.outcome === "closed" && event.code)) {
      this.views.get(this.ready ? "ready" : "handshake")?.explainFailure(event.code);
    }
    this.section.dataset.outcome = event.outcome;
    if (event.code) this.section.dataset.code = event.code;
    this.outcome.textContent = event.code ? `${event.outcome} · ${event.code}` : event.outcome;
  }
}

/** The phase rail: the handshake's phases in order, then the key update. */
class Rail {
  constructor(list, handshake, hasReady) {
    this.list = list;
    this.steps = new Map();
    const phases = handshake.states.filter((state) =>
      state.parent === "" && !(state.type === "final" && state.key === "failed")
    ).map((state) => state.key);
    // After ready, the ready statechart: key updates, then the close handshake.
    if (hasReady) phases.push("keyUpdate", "close");
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
    if (index >= this.order.indexOf("ready")) this.steps.get("ready")?.classList.add("reached");
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

  /**
   * A frame: a sent one starts an arrow, its receipt (the next frame of that
   * kind from that side) completes it. `at` is relative to the run's first event.
   */
  frame(event, at) {
    if (event.direction === "received") {
      const sender = event.role === "initiator" ? "responder" : "initiator";
      const queue = this.pending[sender];
      const index = queue.findIndex((row) => row.dataset.kind === event.kind);
      if (index !== -1) {
        const [row] = queue.splice(index, 1);
        row.classList.remove("in-flight");
        row.classList.add("delivered");
        // Both peers' events share one time base: the receive time and the time in flight.
        row.dataset.receivedAt = at.toFixed(3);
        const flight = at - Number(row.dataset.sentAt);
        row.title = `sent by the ${sender} at ${ms(Number(row.dataset.sentAt))}, ` +
          `received by the ${event.role} at ${ms(at)} (${ms(flight)} in flight)`;
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
    if (event.direction === "sent") row.dataset.sentAt = at.toFixed(3);
    else row.dataset.receivedAt = at.toFixed(3);
    if (event.noise) row.classList.add("noise");
    row.classList.add(event.direction === "sent" ? "in-flight" : "delivered");
    const label = element("div", "label");
    const tag = element("span", `epoch-tag ${epochClass(event.epoch)}`, `e${event.epoch}`);
    label.append(
      element("span", "kind", event.noise ? "noise" : event.kind),
      tag,
      element("span", "meta", `${event.size} B · ${ms(at)}`),
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
    const kind = event.code ? `end ${event.outcome} with-code` : `end ${event.outcome}`;
    this.note(event.role, kind, [element("span", "", text)]);
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
    const shown = SHOWN.flatMap((id) => charts.filter((chart) => chart.id === id));
    const svgs = new Map(
      await Promise.all(
        shown.map(async (chart) => [chart.id, await getText(`/api/statechart/${chart.id}.svg`)]),
      ),
    );
    const handshake = shown.find((chart) => chart.id === "handshake");
    this.rail = new Rail(
      document.getElementById("rail"),
      handshake,
      shown.some((chart) => chart.id === "ready"),
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
      for (const peer of Object.values(this.peers)) {
        const view = peer.views.get(peer.visible);
        if (view?.follow) view.focus();
      }
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
    this.origin = undefined;
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
    // Times count from the run's first event; both peers share one time base.
    this.origin ??= event.at;
    switch (event.type) {
      case "state": {
        const { phase } = peer.enter(event.state);
        if (phase === "failed") this.rail.failed(event.role);
        else if (phase !== undefined) this.rail.at(event.role, phase);
        this.lastKeys = undefined;
        break;
      }
      case "frame":
        this.sequence.frame(event, event.at - this.origin);
        // A runtime that does not trace every region still shows the phase.
        if (KEY_UPDATE_KINDS.has(event.kind) && this.rail.steps.has("keyUpdate")) {
          this.rail.at(event.role, "keyUpdate");
        }
        if (event.kind === "close" && this.rail.steps.has("close")) {
          this.rail.at(event.role, "close");
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

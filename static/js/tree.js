// The live process tree, drawn left to right as SVG: the d3 view of
// tree-layout.js. layoutTree() says where every box goes; this module draws
// the boxes, the parent links and the TCP links there, moves them with
// transitions, and skips whatever did not change since the last render (the
// change caches below: redrawing 500 nodes on every event cost the page its
// frame rate, docs/performance.md). The words come from format.js. Nodes
// are keyed by uid (a pid can be reused), so d3 moves, recolours and removes
// the right box.
//
// The whole tree fits the panel: the view is zoomed to layoutTree()'s scale
// (auto-fit) until the user zooms or pans (wheel, pinch, drag: d3-zoom), and
// again when they press the fit button (fit()). Siblings the layout folds are
// drawn as one group node; a click opens it.
//
// A view may let the tree be taller than its panel (--tree-screens, the
// phone's: 2): the panel then scrolls the way a page does, with one finger
// or the wheel, and zooming takes two fingers (or ctrl + wheel), as on a map.
// On a panel too narrow for the columns the layout is an outline of
// two-line boxes (tree-layout.js); its links are drawn as elbows.
//
// Testability contract (docs/api.md): every node is <g class="node" data-uid
// data-pid data-ppid data-role data-state data-orphan data-recent? data-gate?>
// (data-gate=NAME while it waits at a gate in step or slow mode); a node
// that is leaving loses data-pid at once, while it fades out. A group is
// <g class="group" data-group-id data-parent-pid data-role data-count
// data-states>; an opened one that would fold has a handle <g
// class="group-toggle" data-group-id data-expanded="true">.

import { linkHorizontal, select, symbol, symbolCircle, symbolSquare, symbolTriangle, zoom,
  zoomIdentity, zoomTransform } from "/static/vendor/d3.esm.min.js";
import { applyDom, currentLang } from "./i18n.js";
import { connectionLine, groupCollapse, groupExpand, groupLabel, groupStates, groupTitle, nodeHeading, nodeIds,
  nodeStateExtra, nodeTag, nodeTitle, stateName } from "./format.js";
import { parentOf, reapHint } from "./explain.js";
import { DEFAULT_MIN_LABEL_PX, layoutTree, recentAt, trackChanges } from "./tree-layout.js";

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

// Beyond this many nodes the tree moves without transitions: hundreds of d3
// transitions restarted on every event cost more frames than they are worth.
const ANIMATE_MAX_NODES = 150;

const horizontal = linkHorizontal();

function duration(ms) {
  return reducedMotion.matches ? 0 : ms;
}

export class Tree {
  constructor(container, { onSelect, fitButton = null }) {
    this.container = container;
    this.onSelect = onSelect;
    this.svg = select(container).append("svg")
      .attr("class", "tree-svg")
      .attr("role", "group");
    const defs = this.svg.append("defs");
    defs.append("pattern")
      .attr("id", "zombie-hatch").attr("patternUnits", "userSpaceOnUse")
      .attr("width", 14).attr("height", 14).attr("patternTransform", "rotate(45)")
      .call((p) => {
        p.append("rect").attr("width", 14).attr("height", 14).attr("class", "hatch-bg");
        p.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 14)
          .attr("class", "hatch-line");
      });
    // The viewport carries the zoom (auto-fit or the user's); the tree inside
    // it is laid out in tree units, so zooming never lays the boxes out again.
    this.viewport = this.svg.append("g").attr("class", "tree-viewport");
    this.root = this.viewport.append("g").attr("class", "tree-root");
    this.linkLayer = this.root.append("g").attr("class", "links");
    this.tcpLayer = this.root.append("g").attr("class", "tcp-links");
    this.nodeLayer = this.root.append("g").attr("class", "nodes");
    this.groupLayer = this.root.append("g").attr("class", "groups");
    this.toggleLayer = this.root.append("g").attr("class", "group-toggles");
    this.positions = new Map();   // id -> {x, y}, for entering children
    this.orphans = new Set();     // uids drawn as orphans (layoutTree), as of the last update
    this.order = [];              // ids of nodes and groups in reading order
    this.expanded = new Set();    // group ids the user opened
    this.changes = null;          // trackChanges(): what is new or just ended
    this.lastArgs = null;
    this.fitTransform = null;
    this.fitButton = fitButton;
    // Wheel, pinch and drag zoom and pan; any of them pauses auto-fit, which
    // would otherwise pull the view back from what the teacher zoomed into on
    // the next event. fit() resumes it. In a panel that scrolls, one finger
    // and the plain wheel are the scroll's, not the zoom's.
    this.screens = 1;
    this.zoom = zoom().scaleExtent([0.05, 8])
      .filter((ev) => {
        if (ev.button || (ev.ctrlKey && ev.type !== "wheel")) return false;   // d3's own filter
        if (this.screens <= 1) return true;
        if (ev.type === "wheel") return ev.ctrlKey;
        return !ev.type.startsWith("touch") || ev.touches.length >= 2;
      })
      .on("zoom", (ev) => {
        this.viewport.attr("transform", ev.transform);
        if (ev.sourceEvent && !this.paused) this.setPaused(true);
      });
    this.svg.call(this.zoom).on("dblclick.zoom", null);
    if (fitButton) fitButton.addEventListener("click", () => this.fit());
    this.setPaused(false);
    new ResizeObserver(() => this.refresh()).observe(container);
  }

  /** Show the whole tree, and fit it automatically again as it changes. */
  fit() {
    this.setPaused(false);
    this.refresh();
    this.applyFit(true);
  }

  /** Ids of the nodes (uids) and groups on screen, in reading order: row by
   *  row, left to right (for selection by arrow keys). */
  visibleOrder() {
    return [...this.order];
  }

  /** Open a group (its id or expandId): its members are drawn one by one. */
  expand(id) {
    this.expanded.add(id);
    this.refresh();
  }

  /** Fold an opened group again. */
  collapse(id) {
    this.expanded.delete(id);
    this.refresh();
  }

  /** The next model drawn does not follow from the last one (time travel
   *  jumped, a replay was scrubbed): nothing in it is "new" or "just ended". */
  forgetChanges() {
    this.changes = null;
  }

  /** Draw again with what was drawn last (the room or a view's minimum changed). */
  refresh() {
    if (this.lastArgs) this.update(...this.lastArgs);
  }

  setPaused(paused) {
    this.paused = paused;
    const button = this.fitButton;
    if (!button) return;
    button.dataset.fit = paused ? "paused" : "auto";
    button.setAttribute("aria-pressed", String(!paused));
    // applyDom() rewrites data-i18n elements when the language changes: point
    // the button at the words for its state.
    const label = button.querySelector(".fit-label") ?? button;
    label.dataset.i18n = paused ? "tree.fit_paused" : "tree.fit";
    button.dataset.i18nAriaLabel = label.dataset.i18n;
    button.dataset.i18nTitle = paused ? "tree.fit_paused_title" : "tree.fit_title";
    applyDom(button.parentElement);
  }

  update(model, selectedUid) {
    this.lastArgs = [model, selectedUid];
    this.echo = model.echo;
    this.model = model;
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    const fontSize = getComputedStyle(document.documentElement).fontSize;
    // The views (projector, presenter, phone) set how small the pids may get.
    const style = getComputedStyle(this.container);
    const minLabelPx = parseFloat(style.getPropertyValue("--tree-min-label-px")) || DEFAULT_MIN_LABEL_PX;
    // how many panels tall the tree may be before it folds (the panel scrolls)
    const screens = Math.max(1, parseFloat(style.getPropertyValue("--tree-screens")) || 1);
    this.screens = screens;
    this.svg.classed("scrolls", screens > 1);
    const live = model.live();
    const now = performance.now();
    this.changes = trackChanges(this.changes, live, now);
    const { recent, until } = recentAt(this.changes, now);
    this.scheduleExpiry(until, now);
    // Nothing the tree draws has changed (a message only counts served/echoes):
    // leave it be. Layout and the joins over 500 processes cost ~10 ms.
    const drawn = this.drawnFrom(model, selectedUid, width, height, fontSize,
      [minLabelPx, screens, [...this.expanded].join(","), [...recent].join(",")].join("|"));
    if (drawn === this.lastDrawn) return;
    this.lastDrawn = drawn;
    const layout = layoutTree({ live, selectedUid, width, height,
      fontSize: parseFloat(fontSize) || 18, minLabelPx, changes: this.changes, now,
      expanded: this.expanded, screens });
    this.orphans = layout.orphans;   // for the details
    this.order = layout.order;
    this.layout = layout;
    const first = !this.fitTransform;
    this.draw(layout);
    const g = layout.geometry;
    const k = g.scale;
    this.fitTransform = zoomIdentity.translate(Math.max(0, (g.width - g.treeW * k) / 2), 0).scale(k);
    if (!this.paused) this.applyFit(!first && layout.nodes.length <= ANIMATE_MAX_NODES);
  }

  /** Zoom the view to the last layout's fit, gently unless told not to. */
  applyFit(animate) {
    const target = this.fitTransform;
    if (!target) return;
    const now = zoomTransform(this.svg.node());
    const close = (a, b) => Math.abs(a - b) < 0.5;
    if (close(now.x, target.x) && close(now.y, target.y) && Math.abs(now.k - target.k) < 1e-3) return;
    const ms = animate ? duration(300) : 0;
    // Unnamed, like d3-zoom's own: a wheel, drag or pinch interrupts it (a
    // named one went on and undid the user's gesture).
    if (ms) this.svg.transition().duration(ms).call(this.zoom.transform, target);
    else {
      this.svg.interrupt();
      this.svg.call(this.zoom.transform, target);
    }
  }

  /** Draw again when the first highlight ends (nothing else may happen by then). */
  scheduleExpiry(until, now) {
    if (until === this.expiryAt) return;
    clearTimeout(this.expiryTimer);
    this.expiryAt = until;
    if (until === null) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryAt = null;
      this.refresh();
    }, Math.max(0, until - now) + 20);
  }

  draw({ nodes, groups, toggles, links, tcp, geometry: g }) {
    // The SVG keeps the panel's size: setting an attribute, even to the value
    // it has, invalidates it, and each change of the SVG's size laid out every
    // text of every node again (60-400 ms at 500 nodes).
    setIfChanged(this.svg, "width", g.width);
    // taller than the panel only when the view lets it scroll (the layout's screens)
    setIfChanged(this.svg, "height", g.height > g.room + 0.5 ? Math.ceil(g.height) : g.room);
    const animate = nodes.length + groups.length <= ANIMATE_MAX_NODES;
    const slow = duration(350);
    const fast = duration(250);
    // a transition when animating, else the selection itself (same .attr calls)
    const moving = (sel, ms) => (animate ? sel.transition().duration(ms) : sel);
    const leaving = (sel) => (animate
      ? sel.transition().duration(fast).attr("opacity", 0).remove()
      : sel.remove());
    const previous = this.positions;
    // A new box grows out of where its parent was drawn.
    const enterFrom = (d) => {
      const up = d.parent && (previous.get(d.parent.id) || d.parent);
      return up ? { x: up.x, y: up.y } : { x: d.x, y: d.y };
    };

    // -- parent → child links -------------------------------------------------------
    // A client's link runs round the outside: down from the dashboard, along
    // below the last row, up the spine right of the clients and into its box.
    // In the outline (a phone): an elbow down the parent's left, into the
    // child's; a client's from the dashboard's right, down the lane right of
    // every box, into its right side.
    const outline = g.arrangement === "outline";
    const linkPath = (l) => {
      const s = l.source;
      const tgt = l.target;
      if (outline && l.kind === "bus") {
        return `M${s.x + g.nodeW},${s.y + g.H / 2}H${g.spineX}V${tgt.y + g.H / 2}H${tgt.x + g.nodeW}`;
      }
      if (outline) return `M${s.x + g.indent / 2},${s.y + g.H}V${tgt.y + g.H / 2}H${tgt.x}`;
      if (l.kind === "bus") {
        return `M${s.x + g.nodeW / 2},${s.y + g.H}V${g.busY}H${g.spineX}`
          + `V${tgt.y + g.H / 2}H${tgt.x + g.nodeW}`;
      }
      return horizontal({ source: [s.x + g.nodeW, s.y + g.H / 2], target: [tgt.x, tgt.y + g.H / 2] });
    };
    this.linkLayer.selectAll("path.link")
      .data(links, (l) => l.target.id)
      .join(
        (enter) => enter.append("path").attr("class", "link").attr("d", linkPath).attr("opacity", 0),
        (update) => update,
        (exit) => leaving(exit),
      )
      .filter(changedPath((l) => `${linkPath(l)}|${l.target.orphan}|${l.kind}`))
      .attr("class", (l) => `link${l.target.orphan ? " orphan" : ""}${l.kind === "bus" ? " bus" : ""}`)
      .call((sel) => moving(sel, slow)
        .attr("opacity", 1)
        .attr("d", linkPath));

    // -- worker ⇄ client TCP connections: the client stands right of its worker -------------
    const tcpPath = ({ client, worker }) => {
      const y0 = worker.y + g.H * 0.62;
      const y1 = client.y + g.H * 0.62;
      const x0 = worker.x + g.nodeW;
      if (Math.abs(y0 - y1) < 1 && client.x > x0) return `M${x0},${y0}H${client.x}`;
      if (client.x > x0) return horizontal({ source: [x0, y0], target: [client.x, y1] });
      // A client left of its worker (a worker deeper than the client column):
      // round the right-hand side of both.
      const x = Math.max(x0, client.x + g.nodeW);
      const bulge = g.gap * 0.8;
      return `M${x0},${y0}C${x + bulge},${y0} ${x + bulge},${y1} ${client.x + g.nodeW},${y1}`;
    };
    const single = (c) => c.client.proc && c.worker.proc;
    this.tcpLayer.selectAll("path.tcp")
      .data(tcp, (c) => `${c.client.id}|${c.worker.id}`)
      .join(
        (enter) => enter.append("path").attr("opacity", 0).attr("d", tcpPath),
        (update) => update,
        (exit) => leaving(exit),
      )
      .filter(changedPath((c) => `${tcpPath(c)}|${c.client.proc?.pid}|${c.worker.proc?.pid}|${c.count}`))
      .attr("class", (c) => (single(c) ? "tcp" : "tcp tcp-group"))
      .attr("data-client-pid", (c) => c.client.proc?.pid ?? null)
      .attr("data-worker-pid", (c) => c.worker.proc?.pid ?? null)
      .attr("data-client-group", (c) => (c.client.proc ? null : c.client.id))
      .attr("data-worker-group", (c) => (c.worker.proc ? null : c.worker.id))
      .attr("data-count", (c) => c.count)
      .call((sel) => moving(sel, slow)
        .attr("opacity", 1)
        .attr("d", tcpPath));

    // -- process nodes --------------------------------------------------------------------------
    const tree = this;
    this.nodeLayer.selectAll("g.node")
      .data(nodes, (d) => d.id)
      .join(
        (enter) => enter.append("g")
          .attr("class", "node")
          .attr("tabindex", 0)
          .attr("role", "button")
          .attr("opacity", 0)
          .attr("transform", (d) => { const from = enterFrom(d); return `translate(${from.x},${from.y})`; })
          .call((gEnter) => this.buildNode(gEnter))
          .on("click", (ev, d) => tree.onSelect(d.id))
          .on("keydown", (ev, d) => {
            if (ev.key === "Enter" || ev.key === " ") {
              ev.preventDefault();
              tree.onSelect(d.id);
            }
          }),
        (update) => update,
        (exit) => exit
          .each(function () {
            // should it come back, it is filled and placed again from scratch
            this.__inputs = null;
            this.renderedPath = null;
          })
          .attr("class", "node leaving")
          .attr("data-pid", null).attr("data-state", null).attr("data-role", null)
          .attr("data-ppid", null).attr("data-recent", null)
          .call((gExit) => leaving(gExit)),
      )
      .call((sel) => this.fillNodes(sel.filter(function (d) {
        return changedSince(this, tree.inputs(d, g));
      }), g))
      // Only nodes whose place changed: rewriting 500 transforms (even to the
      // values they have) made the browser lay out and repaint the whole tree.
      .filter(changedPath((d) => `translate(${d.x},${d.y})`))
      .call((sel) => moving(sel, slow)
        .attr("opacity", 1)
        .attr("transform", (d) => `translate(${d.x},${d.y})`));

    // -- groups of siblings: a click shows each member --------------------------------------
    const open = (d) => tree.expand(d.expandId);
    this.groupLayer.selectAll("g.group")
      .data(groups, (d) => d.id)
      .join(
        (enter) => enter.append("g")
          .attr("class", "group")
          .attr("tabindex", 0)
          .attr("role", "button")
          .attr("aria-expanded", "false")
          .attr("opacity", 0)
          .attr("transform", (d) => { const from = enterFrom(d); return `translate(${from.x},${from.y})`; })
          .call((gEnter) => this.buildGroup(gEnter))
          .on("click", (ev, d) => open(d))
          .on("keydown", (ev, d) => {
            if (ev.key === "Enter" || ev.key === " ") {
              ev.preventDefault();
              open(d);
            }
          }),
        (update) => update,
        (exit) => exit
          .each(function () {
            this.__inputs = null;
            this.renderedPath = null;
          })
          .attr("class", "group leaving")
          .attr("data-count", null).attr("data-role", null).attr("data-parent-pid", null)
          .call((gExit) => leaving(gExit)),
      )
      .call((sel) => this.fillGroups(sel.filter(function (d) {
        return changedSince(this, tree.groupInputs(d, g));
      }), g))
      .filter(changedPath((d) => `translate(${d.x},${d.y})`))
      .call((sel) => moving(sel, slow)
        .attr("opacity", 1)
        .attr("transform", (d) => `translate(${d.x},${d.y})`));

    // -- opened groups that would fold: a handle under their parent folds them ----------------
    const pillH = g.lh * 1.5;
    this.toggleLayer.selectAll("g.group-toggle")
      .data(toggles, (d) => d.id)
      .join(
        (enter) => enter.append("g")
          .attr("class", "group-toggle")
          .attr("tabindex", 0)
          .attr("role", "button")
          .attr("aria-expanded", "true")
          .call((gEnter) => {
            gEnter.append("rect").attr("class", "pill");
            gEnter.append("text").attr("class", "pill-text");
          })
          .on("click", (ev, d) => tree.collapse(d.id))
          .on("keydown", (ev, d) => {
            if (ev.key === "Enter" || ev.key === " ") {
              ev.preventDefault();
              tree.collapse(d.id);
            }
          }),
        (update) => update,
        (exit) => exit.remove(),
      )
      .attr("data-group-id", (d) => d.id)
      .attr("data-role", (d) => d.role)
      .attr("data-count", (d) => d.count)
      .attr("data-expanded", "true")
      .attr("transform", (d) => `translate(${d.x},${d.y + (g.H - pillH) / 2})`)
      .call((sel) => {
        sel.select("rect.pill").attr("width", g.nodeW).attr("height", pillH).attr("rx", pillH / 2);
        const jobs = [];
        sel.select("text.pill-text").attr("x", g.nodeW / 2).attr("y", pillH / 2 + g.lh * 0.3)
          .each(function (d) {
            jobs.push({ el: this, max: g.nodeW - g.pad * 2, text: groupCollapse(d.role, d.count) });
          });
        fitAll(jobs);
        sel.attr("aria-label", (d) => groupCollapse(d.role, d.count));
      });

    this.positions = new Map([...nodes, ...groups].map((d) => [d.id, { x: d.x, y: d.y }]));
  }

  buildGroup(gEnter) {
    // two cards behind the front one: a stack, not a process
    gEnter.append("rect").attr("class", "card card-2");
    gEnter.append("rect").attr("class", "card card-1");
    gEnter.append("rect").attr("class", "frame");
    gEnter.append("path").attr("class", "band");
    gEnter.append("text").attr("class", "l1 group-title");
    gEnter.append("text").attr("class", "l2 group-states");
    gEnter.append("text").attr("class", "l3 group-hint");
    gEnter.append("title");
  }

  groupInputs(d, g) {
    return JSON.stringify([d.count, d.states, d.role, d.parentProc.name, d.parentProc.pid,
      g.fs, g.nodeW, g.H, g.lines, currentLang()]);
  }

  fillGroups(sel, g) {
    const { fs, lh, pad, H, nodeW } = g;
    const bandH = pad + lh;
    const textX = pad * 1.3;
    const r = fs * 0.5;
    // the stack shows above and right of the box, within the gap to the row above
    const step = g.rowGap * 0.45;
    sel
      .attr("data-group-id", (d) => d.id)
      .attr("data-parent-pid", (d) => d.parentProc.pid ?? "")
      .attr("data-role", (d) => d.role)
      .attr("data-count", (d) => d.count)
      .attr("data-states", (d) => Object.entries(d.states).map(([s, n]) => `${s}:${n}`).join(","))
      .attr("class", (d) => `group role-${d.role}`)
      .attr("aria-label", (d) => groupLabel(d));
    sel.select("rect.card-2").attr("x", step * 2).attr("y", -step * 2)
      .attr("width", nodeW).attr("height", H).attr("rx", r);
    sel.select("rect.card-1").attr("x", step).attr("y", -step)
      .attr("width", nodeW).attr("height", H).attr("rx", r);
    sel.select("rect.frame").attr("width", nodeW).attr("height", H).attr("rx", r);
    sel.select("path.band")
      .attr("d", `M0,${bandH}V${r}a${r},${r} 0 0 1 ${r},${-r}H${nodeW - r}`
        + `a${r},${r} 0 0 1 ${r},${r}V${bandH}Z`);
    const jobs = [];
    sel.select("text.l1").attr("x", textX).attr("y", pad * 0.55 + lh * 0.78)
      .each(function (d) { jobs.push({ el: this, max: nodeW - textX - pad, text: groupTitle(d) }); });
    sel.select("text.l2").attr("x", textX).attr("y", bandH + pad * 0.4 + lh * 0.78)
      .each(function (d) { jobs.push({ el: this, max: nodeW - textX - pad, text: groupStates(d) }); });
    // a two-line box (the outline) has no room for the hint: its title says it
    sel.select("text.l3").attr("x", textX).attr("y", bandH + pad * 0.4 + lh * 1.78)
      .each(function () {
        jobs.push({ el: this, max: nodeW - textX - pad, text: g.lines > 2 ? groupExpand() : "" });
      });
    fitAll(jobs);
    sel.select("title").text((d) => groupLabel(d));
  }

  buildNode(gEnter) {
    gEnter.append("rect").attr("class", "recent-ring");
    gEnter.append("rect").attr("class", "select-ring");
    gEnter.append("rect").attr("class", "frame");
    gEnter.append("path").attr("class", "band");
    gEnter.append("text").attr("class", "l1 role-line");
    gEnter.append("text").attr("class", "tag");
    gEnter.append("text").attr("class", "l2 ids")
      .call((txt) => {
        txt.append("tspan").attr("class", "label pid-label");
        txt.append("tspan").attr("class", "value pid-value");
        txt.append("tspan").attr("class", "label ppid-label");
        txt.append("tspan").attr("class", "value ppid-value");
      });
    gEnter.append("path").attr("class", "state-icon");
    gEnter.append("text").attr("class", "l3 state-line")
      .call((txt) => {
        txt.append("tspan").attr("class", "state-name");
        txt.append("tspan").attr("class", "exit");
      });
    gEnter.append("text").attr("class", "l4 conn-line");
    gEnter.append("title");
  }

  /** Everything the whole drawing depends on, as one string: every field the
   *  nodes may show of every live process (a client's `said` too), the echo
   *  address, the selection, the language, the font size, the room and *view*
   *  (the legible minimum, the opened groups, what is recent). */
  drawnFrom(model, selectedUid, width, height, fs, view) {
    const echo = model.echo ?? {};
    const parts = [currentLang(), fs, width, height, selectedUid, echo.host, echo.port, view];
    for (const p of model.procs.values()) {
      if (p.state === "joined") continue;          // not in the tree (model.live())
      for (const key in p) {
        if (NOT_DRAWN.has(key)) continue;
        const v = p[key];
        parts.push(v !== null && typeof v === "object" ? JSON.stringify(v) : String(v));
      }
    }
    return parts.join("\u0001");
  }

  /** Everything a node's drawing depends on: when none of it changed, the node
   *  is left as it is (refilling hundreds of nodes per event cost the frames). */
  inputs(d, g) {
    const p = d.proc;
    const partner = this.model.get(p.worker_pid ?? p.client_pid);
    // A zombie's lines name the parent that must reap it (explain.js reapHint).
    const up = p.state === "zombie" ? parentOf(p, this.model) : null;
    return JSON.stringify([p, d.orphan, d.selected, d.recent, g.fs, g.nodeW, g.H,
      g.lines, currentLang(), this.echo,
      partner ? [partner.state, partner.connection, partner.pid] : null,
      up ? [up.uid, up.role, up.name] : null], notDrawn);
  }

  fillNodes(sel, g) {
    const { fs, lh, pad, H, nodeW } = g;
    // Two lines (the outline, on a phone): the name, then the pid and the
    // state on one line; the ppid, the daemon flag and the connection are in
    // the details a tap opens (the links show the parent).
    const compact = g.lines < 3;
    const bandH = pad + lh;
    const baseline = (row) => bandH + pad * 0.4 + lh * (row - 1) + lh * 0.78;
    const textX = pad * 1.3;
    const iconSize = fs * 0.95;
    const echo = this.echo;
    const model = this.model;
    const title = (d) => nodeTitle(d.proc, d.orphan, reapHint(d.proc, model));

    sel
      .attr("data-uid", (d) => d.id)
      .attr("data-pid", (d) => d.proc.pid ?? "")
      .attr("data-ppid", (d) => d.proc.ppid ?? "")
      .attr("data-role", (d) => d.proc.role ?? "")
      .attr("data-state", (d) => d.proc.state)
      .attr("data-orphan", (d) => String(d.orphan))
      .attr("data-daemon", (d) => String(Boolean(d.proc.daemon)))
      .attr("data-recent", (d) => d.recent)
      // waiting at a gate (step / slow mode): format.js nodeStateExtra says "paused at …"
      .attr("data-gate", (d) => d.proc.gate ?? null)
      .attr("class", (d) => `node role-${d.proc.role} state-${d.proc.state}`
        + `${d.orphan ? " orphan" : ""}${d.selected ? " selected" : ""}`)
      .attr("aria-pressed", (d) => String(d.selected))
      .attr("data-start-method", (d) => d.proc.start_method ?? null)
      // a puzzle's process: its name in the puzzle (a, b, c…), beside its pid
      .attr("data-puzzle-name", (d) => (d.proc.role === "puzzle" ? d.proc.name : null))
      .attr("aria-label", (d) => title(d));

    sel.select("rect.recent-ring")
      .attr("x", -fs * 0.45).attr("y", -fs * 0.45)
      .attr("width", nodeW + fs * 0.9).attr("height", H + fs * 0.9)
      .attr("rx", fs * 0.8);
    sel.select("rect.select-ring")
      .attr("x", -fs * 0.3).attr("y", -fs * 0.3)
      .attr("width", nodeW + fs * 0.6).attr("height", H + fs * 0.6)
      .attr("rx", fs * 0.7);
    sel.select("rect.frame")
      .attr("width", nodeW).attr("height", H).attr("rx", fs * 0.5);
    const r = fs * 0.5;
    sel.select("path.band")
      .attr("d", `M0,${bandH}V${r}a${r},${r} 0 0 1 ${r},${-r}H${nodeW - r}`
        + `a${r},${r} 0 0 1 ${r},${r}V${bandH}Z`);

    // The tag (daemon or not; orphan) first: the role and name get the rest of the band.
    const tags = [];
    sel.select("text.tag")
      .attr("x", nodeW - pad).attr("y", pad * 0.55 + lh * 0.78)
      .each(function (d) {
        const p = d.proc;
        this.setAttribute("class", `tag${d.orphan ? " tag-orphan" : ""}${p.daemon ? " tag-daemon" : ""}`);
        const shown = !compact || d.orphan || p.daemon;    // "not a daemon" is no news on a phone
        tags.push({ el: this, text: shown ? nodeTag(p, d.orphan) : "", max: nodeW * 0.4 - pad });
      });
    fitAll(tags);
    const lines = [];
    sel.select("text.l1")
      .each(function (d) {
        const tag = this.parentNode.querySelector("text.tag");
        const room = nodeW - textX - pad * 2 - measured(tag);
        lines.push({ el: this, max: room, text: nodeHeading(d.proc) });
      })
      .attr("x", textX).attr("y", pad * 0.55 + lh * 0.78);

    sel.select("text.l2").attr("x", textX).attr("y", baseline(1))
      .each(function (d) {
        const ids = nodeIds(d.proc);
        const text = select(this);
        text.select(".pid-label").text(ids.pidLabel);
        text.select(".pid-value").attr("dx", fs * 0.3).text(ids.pid);
        text.select(".ppid-label").attr("dx", compact ? 0 : fs * 0.9).text(compact ? "" : ids.ppidLabel);
        text.select(".ppid-value").attr("dx", compact ? 0 : fs * 0.3).text(compact ? "" : ids.ppid);
        // compact: the pid keeps its size, the state gets the rest of the line
        lines.push({ el: this, max: compact ? nodeW * 0.6 : nodeW - textX - pad });
      });

    sel.select("path.state-icon")
      .attr("transform", `translate(${textX + iconSize / 2},${baseline(2) - fs * 0.36})`)
      .attr("d", (d) => stateSymbol(d.proc.state, iconSize));
    sel.select("text.l3").attr("x", textX + iconSize * 1.35).attr("y", baseline(2))
      .each(function (d) {
        const text = select(this);
        text.select(".state-name").text(stateName(d.proc.state));
        text.select(".exit").text(nodeStateExtra(d.proc, g.lines)).attr("dx", fs * 0.6);
        if (!compact) lines.push({ el: this, max: nodeW - textX - iconSize * 1.35 - pad });
      });

    sel.select("text.l4").attr("x", textX).attr("y", baseline(3))
      .each(function (d) {
        lines.push({ el: this, max: nodeW - textX - pad,
          text: g.lines > 3 ? connectionLine(d.proc, echo, reapHint(d.proc, model), model) : "" });
        this.classList.toggle("reap-line", d.proc.state === "zombie");
      });
    fitAll(lines);
    if (compact) {
      // The state after the pid, once the pid's width is known (a second
      // layout: phones only); it is cut, the pid never is.
      const nodeEls = sel.nodes();
      const widths = nodeEls.map((el) => el.querySelector("text.l2").getBBox().width);
      const states = nodeEls.map((el, i) => {
        const x = textX + widths[i] + fs * 0.7;
        el.querySelector("path.state-icon")
          .setAttribute("transform", `translate(${x + iconSize / 2},${baseline(1) - fs * 0.36})`);
        const line = el.querySelector("text.l3");
        line.setAttribute("x", x + iconSize * 1.35);
        line.setAttribute("y", baseline(1));
        return { el: line, max: nodeW - x - iconSize * 1.35 - pad };
      });
      fitAll(states);
      // Still too long at the smallest size: the extra (an exit code, a gate)
      // goes, the state's name stays; the details have the rest.
      const long = states.filter((job) => job.el.getComputedTextLength() > job.max + 0.5);
      for (const job of long) job.el.querySelector(".exit").textContent = "";
      fitAll(long);
    }

    sel.select("title").text((d) => title(d));
  }
}

/** Colour-blind safe: the state is a shape too (● running, ▲ zombie, ○ created). */
function stateSymbol(state, size) {
  const area = size * size * 0.55;
  if (state === "zombie") return symbol(symbolTriangle, area * 1.15)();
  if (state === "created") return symbol(symbolCircle, area)();
  if (state === "joined") return symbol(symbolSquare, area)();
  return symbol(symbolCircle, area)();
}

/**
 * Fit texts to their room, all of a render's at once: a job {el, max, text} sets
 * *text*, shrinks it (down to 75 %) and cuts it with … until it fits *max* px;
 * a job without *text* is a multi-part text (tspans) already written, only shrunk
 * (its numbers are never cut). Only texts whose content or room changed are
 * measured. Each getComputedTextLength() after a write forces a layout: the
 * writes come first, then the reads, so a render lays out about twice, not once
 * per text (five per node filled).
 */
function fitAll(jobs) {
  const todo = [];
  for (const job of jobs) {
    const { el, max, text } = job;
    const key = `${text ?? el.textContent}|${Math.round(max)}`;
    if (el.dataset.fit === key) continue;
    el.dataset.fit = key;
    if (text !== undefined) el.textContent = text;
    el.style.fontSize = "";
    todo.push(job);
  }
  for (const job of todo) job.len = job.el.getComputedTextLength();
  const long = todo.filter((job) => job.len > job.max && job.len > 0);
  for (const job of long) job.base = parseFloat(getComputedStyle(job.el).fontSize);
  for (const job of long) {
    // a hair below the exact fit: measured again, text shrunk to exactly fit
    // can come out a fraction of a pixel long, and was cut ("127.0.0.1:509…")
    job.el.style.fontSize = `${Math.max(job.base * 0.75, (job.base * job.max * 0.98) / job.len)}px`;
  }
  const cuts = long.filter((job) => job.text !== undefined);
  for (const job of cuts) job.len = job.el.getComputedTextLength();
  for (const job of cuts) {
    let { len } = job;
    let shown = job.text;
    while (len > job.max && shown.length > 2) {
      shown = shown.slice(0, -2);
      job.el.textContent = `${shown}…`;
      len = job.el.getComputedTextLength();
    }
  }
}

function setIfChanged(sel, name, value) {
  if (sel.attr(name) !== String(value)) sel.attr(name, value);
}

/** A filter for d3 joins: true when the path an element would get differs from
 *  the one it was last given (a link or TCP path is written only when it moved). */
function changedPath(key) {
  return function (d) {
    const k = key(d);
    if (this.renderedPath === k) return false;
    this.renderedPath = k;
    return true;
  };
}

/** Fields of a process that no node shows: counters that change with every
 *  message (served, echoes), and the point of the code it is at (the code
 *  view shows it; in run mode it changes with every message too). Left out of a node's inputs, so that messages
 *  flowing do not refill (and repaint) the nodes of the clients and workers. */
const NOT_DRAWN = new Set(["served", "echoes", "at", "gate_since"]);

function notDrawn(key, value) {
  return NOT_DRAWN.has(key) ? undefined : value;
}

/** Has *inputs* changed since the node was last filled? (and remember them) */
function changedSince(el, inputs) {
  if (el.__inputs === inputs) return false;
  el.__inputs = inputs;
  return true;
}

/** The width of *el*'s text, measured once per text and font size. */
function measured(el) {
  const key = `${el.textContent}|${el.style.fontSize}|${el.getAttribute("font-size") ?? ""}`;
  if (el.dataset.mkey !== key) {
    el.dataset.mkey = key;
    el.dataset.mw = String(el.getComputedTextLength());
  }
  return Number(el.dataset.mw);
}

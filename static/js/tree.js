// The live process tree, drawn left to right as SVG: the d3 view of
// tree-layout.js. layoutTree() says where every box goes; this module draws
// the boxes, the parent links and the TCP links there, moves them with
// transitions, and skips whatever did not change since the last render (the
// change caches below: redrawing 500 nodes on every event cost the page its
// frame rate, docs/performance.md). The words come from format.js. Nodes
// are keyed by uid (a pid can be reused), so d3 moves, recolours and removes
// the right box.
//
// Testability contract: every node is <g class="node" data-uid data-pid
// data-ppid data-role data-state data-orphan> (and data-gate=NAME while it
// waits at a gate); a node that is leaving loses data-pid at once, while it
// fades out.

import { linkHorizontal, select, symbol, symbolCircle, symbolSquare, symbolTriangle }
  from "/static/vendor/d3.esm.min.js";
import { currentLang } from "./i18n.js";
import { connectionLine, nodeHeading, nodeIds, nodeStateExtra, nodeTag, nodeTitle, stateName }
  from "./format.js";
import { parentOf, reapHint } from "./explain.js";
import { layoutTree } from "./tree-layout.js";

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

// Beyond this many nodes the tree moves without transitions: hundreds of d3
// transitions restarted on every event cost more frames than they are worth.
const ANIMATE_MAX_NODES = 150;

const horizontal = linkHorizontal();

function duration(ms) {
  return reducedMotion.matches ? 0 : ms;
}

export class Tree {
  constructor(container, { onSelect }) {
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
    // Below the SVG: what makes the panel scroll the height of the tree (draw()).
    this.sizer = container.appendChild(document.createElement("div"));
    this.sizer.className = "tree-sizer";
    this.root = this.svg.append("g").attr("class", "tree-root");
    this.linkLayer = this.root.append("g").attr("class", "links");
    this.tcpLayer = this.root.append("g").attr("class", "tcp-links");
    this.nodeLayer = this.root.append("g").attr("class", "nodes");
    this.positions = new Map();   // uid -> {x, y}, for entering children
    this.orphans = new Set();     // uids drawn as orphans (layoutTree), as of the last update
    this.lastArgs = null;
    new ResizeObserver(() => {
      if (this.lastArgs) this.update(...this.lastArgs);
    }).observe(container);
  }

  update(model, selectedUid) {
    this.lastArgs = [model, selectedUid];
    this.echo = model.echo;
    this.model = model;
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    const fontSize = getComputedStyle(document.documentElement).fontSize;
    // Nothing the tree draws has changed (a message only counts served/echoes):
    // leave it be. Hierarchy, layout and three joins over 500 nodes cost ~10 ms.
    const drawn = this.drawnFrom(model, selectedUid, width, height, fontSize);
    if (drawn === this.lastDrawn) return;
    this.lastDrawn = drawn;
    const layout = layoutTree({ live: model.live(), selectedUid, width, height,
      fontSize: parseFloat(fontSize) || 18 });
    this.orphans = layout.orphans;   // for the details
    this.draw(layout);
  }

  draw({ nodes, links, tcp, geometry: g }) {
    // Setting an SVG attribute, even to the value it has, invalidates it: the
    // root's size and scale would make the browser lay out the whole tree again.
    // So the SVG keeps the panel's size and draws past its bottom (overflow:
    // visible); the sizer below it gives the panel the tree's scroll height.
    // (With the SVG's own height following the tree, each growth of the tree
    // laid out every text of every node again: 60-400 ms at 500 nodes.)
    setIfChanged(this.svg, "width", g.width);
    setIfChanged(this.svg, "height", g.room);
    const below = `${Math.max(0, Math.ceil(g.height - g.room))}px`;
    if (this.sizer.style.height !== below) this.sizer.style.height = below;
    setIfChanged(this.root, "transform", `scale(${g.scale})`);
    const animate = nodes.length <= ANIMATE_MAX_NODES;
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
    const linkPath = (s, tgt) => horizontal({
      source: [s.x + g.nodeW, s.y + g.H / 2],
      target: [tgt.x, tgt.y + g.H / 2],
    });
    this.linkLayer.selectAll("path.link")
      .data(links, (l) => l.target.id)
      .join(
        (enter) => enter.append("path").attr("class", "link")
          .attr("d", (l) => { const from = enterFrom(l.target); return linkPath(from, from); })
          .attr("opacity", 0),
        (update) => update,
        (exit) => leaving(exit),
      )
      .filter(changedPath((l) => `${linkPath(l.source, l.target)}|${l.target.orphan}`))
      .classed("orphan", (l) => l.target.orphan)
      .call((sel) => moving(sel, slow)
        .attr("opacity", 1)
        .attr("d", (l) => linkPath(l.source, l.target)));

    // -- client ⇄ worker TCP connections --------------------------------------------------
    const tcpPath = ({ client, worker }) => {
      const y0 = client.y + g.H * 0.62;
      if (Math.abs(client.x - worker.x) < 1) {
        // Same column (an orphaned worker hangs under the dashboard too): go
        // round the right-hand side instead of through the boxes.
        const x = client.x + g.nodeW;
        const y1 = worker.y + g.H * 0.62;
        const bulge = Math.min(g.gap * 1.6, g.gap * 0.6 + Math.abs(y1 - y0) * 0.25);
        return `M${x},${y0}C${x + bulge},${y0} ${x + bulge},${y1} ${x},${y1}`;
      }
      return horizontal({
        source: [client.x + g.nodeW, y0],
        target: [worker.x, worker.y + g.H * 0.8],
      });
    };
    this.tcpLayer.selectAll("path.tcp")
      .data(tcp, (c) => c.client.id)
      .join(
        (enter) => enter.append("path").attr("class", "tcp").attr("opacity", 0).attr("d", tcpPath),
        (update) => update,
        (exit) => leaving(exit),
      )
      .filter(changedPath((c) => `${tcpPath(c)}|${c.client.proc.pid}|${c.worker.proc.pid}`))
      .attr("data-client-pid", (c) => c.client.proc.pid)
      .attr("data-worker-pid", (c) => c.worker.proc.pid)
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
          .attr("data-ppid", null)
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

    this.positions = new Map(nodes.map((d) => [d.id, { x: d.x, y: d.y }]));
  }

  buildNode(gEnter) {
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
   *  address, the selection, the language, the font size and the room. */
  drawnFrom(model, selectedUid, width, height, fs) {
    const echo = model.echo ?? {};
    const parts = [currentLang(), fs, width, height, selectedUid, echo.host, echo.port];
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
    return JSON.stringify([p, d.orphan, d.selected, g.fs, g.nodeW,
      g.lines, currentLang(), this.echo,
      partner ? [partner.state, partner.connection, partner.pid] : null,
      up ? [up.uid, up.role, up.name] : null], notDrawn);
  }

  fillNodes(sel, g) {
    const { fs, lh, pad, H, nodeW } = g;
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
      // waiting at a gate (step / slow mode): format.js nodeStateExtra says "paused at …"
      .attr("data-gate", (d) => d.proc.gate ?? null)
      .attr("class", (d) => `node role-${d.proc.role} state-${d.proc.state}`
        + `${d.orphan ? " orphan" : ""}${d.selected ? " selected" : ""}`)
      .attr("aria-pressed", (d) => String(d.selected))
      .attr("data-start-method", (d) => d.proc.start_method ?? null)
      .attr("aria-label", (d) => title(d));

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
        tags.push({ el: this, text: nodeTag(p, d.orphan), max: nodeW * 0.4 - pad });
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
        text.select(".ppid-label").attr("dx", fs * 0.9).text(ids.ppidLabel);
        text.select(".ppid-value").attr("dx", fs * 0.3).text(ids.ppid);
        lines.push({ el: this, max: nodeW - textX - pad });
      });

    sel.select("path.state-icon")
      .attr("transform", `translate(${textX + iconSize / 2},${baseline(2) - fs * 0.36})`)
      .attr("d", (d) => stateSymbol(d.proc.state, iconSize));
    sel.select("text.l3").attr("x", textX + iconSize * 1.35).attr("y", baseline(2))
      .each(function (d) {
        const text = select(this);
        text.select(".state-name").text(stateName(d.proc.state));
        text.select(".exit").text(nodeStateExtra(d.proc, g.lines)).attr("dx", fs * 0.6);
        lines.push({ el: this, max: nodeW - textX - iconSize * 1.35 - pad });
      });

    sel.select("text.l4").attr("x", textX).attr("y", baseline(3))
      .each(function (d) {
        lines.push({ el: this, max: nodeW - textX - pad,
          text: g.lines > 3 ? connectionLine(d.proc, echo, reapHint(d.proc, model)) : "" });
        this.classList.toggle("reap-line", d.proc.state === "zombie");
      });
    fitAll(lines);

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
    job.el.style.fontSize = `${Math.max(job.base * 0.75, (job.base * job.max) / job.len)}px`;
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

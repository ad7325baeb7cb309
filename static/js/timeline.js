// The timeline: every process's life along the lab's clock, drawn as SVG
// with d3 from timeline-layout.js (one lane per process, grouped under its
// parent; segments created / running / zombie, a mark where it was joined,
// gate waits hatched, a tick per event, an arrow per echo). It follows the
// live time (or, on /replay, the play head) unless paused; it zooms from
// seconds to hours; it scrubs: a press or drag on the time axis, or a click
// on a lane, asks the page to show the past at that moment (onScrub(seq));
// a tick is its own seq. Hovering or tapping a tick shows its narration
// (the event log's words) in the line under the lanes.
//
// Gestures: the wheel scrolls the lanes; Ctrl+wheel (a trackpad's pinch) or
// the wheel over the time axis zooms the time; Shift+wheel, or a sideways
// drag on the lanes, moves it (and pauses following); two fingers pinch.
//
// Testability contract (docs/api.md): #timeline[data-follow=live|paused]
// [data-open]; a lane g.lane[data-lane-pid][data-lane-uid][data-role]
// [data-state]; a group row g.lane-group[data-group-id][data-count]
// [data-open]; rect[data-seg=created|running|zombie][data-uid] (in a
// folded group data-uid is ""); line.join-mark[data-uid];
// rect.gate-wait[data-gate]; line.tick[data-tick-seq][data-type];
// path.echo-arrow[data-seq]; line.cursor[data-cursor-seq] in the past.

import { axisTop, scaleTime, select } from "/static/vendor/d3.esm.min.js";
import { t } from "./i18n.js";
import { h, setAttr, setText } from "./dom.js";
import { laneGroupLabel, laneLabel, spanLabel, timeTick } from "./format.js";
import { layoutTimeline, timeAt } from "./timeline-layout.js";

/** Zoom stops, seconds shown across the plot: seconds ↔ minutes ↔ an hour. */
export const SPANS = [2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
const DEFAULT_SPAN = 60;
const AXIS_H = 30;
/** While following, what is drawn moves with the clock: at most this often. */
const FOLLOW_MS = 500;
const DRAG_PX = 5;
const COARSE = window.matchMedia("(pointer: coarse)");

/** Until the teacher zooms, the span shows all that happened (*seen*
 * seconds, and a little room), from AUTO_SPAN[0] up to AUTO_SPAN[1]: the
 * first minutes of a lecture are not squeezed into the right edge of an
 * hour, and a long one slides by AUTO_SPAN[1] at a time. */
const AUTO_SPAN = [10, 300];

export function fittingSpan(seen) {
  const want = Math.min(AUTO_SPAN[1], Math.max(AUTO_SPAN[0], seen * 1.15));
  return SPANS.find((s) => s >= want) ?? SPANS.at(-1);
}

export class Timeline {
  /**
   * *onScrub(seq)* shows the past at *seq*; *onSelect(uid)* selects a
   * process (a lane's name clicked); *narrate(seq)* is an event's words;
   * *seqAtTime(t)* the last seq at or before a time; *onToggle(open)* is
   * called when the panel is opened or closed.
   */
  constructor(root, { onScrub, onSelect, narrate, seqAtTime, onToggle = () => {}, open = true }) {
    Object.assign(this, { root, onScrub, onSelect, narrate, seqAtTime, onToggle });
    this.span = DEFAULT_SPAN;
    this.autoSpan = true;        // the span fits what happened so far, until the teacher zooms
    this.follow = true;
    this.end = null;             // the window's right edge while not following
    this.groups = new Map();     // group id -> open?, the teacher's choice
    this.data = null;
    this.frame = 0;
    this.timer = 0;
    this.drawnKey = null;
    this.width = 0;              // the lanes' width, from the ResizeObserver: reading it
    this.rem = 16;               // in draw() would force a layout of all the page changed
    this.build();
    this.setOpen(open, false);
    new ResizeObserver((entries) => {
      this.width = entries.at(-1).contentRect.width;
      this.rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
      this.request();
    }).observe(this.scroll);
  }

  build() {
    const button = (action, cls = "") => h("button", { type: "button", class: `small ${cls}`.trim(),
      "data-action": action });
    this.title = h("h2", { class: "timeline-title", id: "timeline-title" });
    this.toggle = button("timeline", "timeline-toggle");
    this.pause = button("pause-timeline");
    this.zoomOut = button("timeline-zoom-out", "timeline-zoom");
    this.zoomIn = button("timeline-zoom-in", "timeline-zoom");
    this.spanText = h("span", { class: "timeline-span" });
    this.head = h("div", { class: "timeline-head" }, this.toggle, this.title, this.pause,
      this.zoomOut, this.spanText, this.zoomIn);
    this.axisSvg = select(h("div", { class: "timeline-axis" })).append("svg")
      .attr("class", "timeline-axis-svg").attr("height", AXIS_H);
    this.axisG = this.axisSvg.append("g").attr("class", "axis").attr("transform", `translate(0,${AXIS_H - 2})`);
    this.axisCursor = this.axisSvg.append("path").attr("class", "axis-cursor").attr("hidden", "");
    this.scroll = h("div", { class: "timeline-scroll" });
    this.svg = select(this.scroll).append("svg").attr("class", "timeline-svg");
    const defs = this.svg.append("defs");
    defs.append("pattern").attr("id", "gate-hatch").attr("patternUnits", "userSpaceOnUse")
      .attr("width", 8).attr("height", 8).attr("patternTransform", "rotate(45)")
      .call((p) => {
        p.append("rect").attr("width", 8).attr("height", 8).attr("class", "gate-hatch-bg");
        p.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 8)
          .attr("class", "gate-hatch-line");
      });
    this.clipRect = defs.append("clipPath").attr("id", "timeline-clip")
      .attr("clipPathUnits", "userSpaceOnUse").append("rect");
    this.rowsG = this.svg.append("g").attr("class", "rows");
    this.arrowsG = this.svg.append("g").attr("class", "arrows").attr("clip-path", "url(#timeline-clip)");
    this.cursor = this.svg.append("line").attr("class", "cursor").attr("hidden", "");
    this.note = h("p", { class: "timeline-note", "aria-live": "polite" });
    this.body = h("div", { class: "timeline-body" }, this.axisSvg.node().parentNode, this.scroll, this.note);
    this.root.replaceChildren(this.head, this.body);
    this.bind();
  }

  // -- the page's calls ---------------------------------------------------------------
  /**
   * What to draw: *spans* (spans.js), *now* (where open lifespans end: the
   * live time, a recording's end), *head* (the time followed: now, or the
   * play head), *lead* (how far from the right edge the head is kept, a
   * share of the span: 0.03 live, more on /replay, where what comes next is
   * known), *cursor* ({seq, t} of the past shown, or null when live),
   * *selectedUid*.
   */
  update(data) {
    this.data = data;
    if (data.cursor && !this.follow) this.keepInView(data.cursor.t);
    // the page renders in a frame already: drawn now, with the rest of it
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.draw();
  }

  /** Follow the head again (back to live, or play). */
  resume() {
    this.follow = true;
    this.end = null;
    this.request();
  }

  setFollow(follow) {
    if (follow) this.resume();
    else {
      this.end = this.window()?.to ?? null;
      this.follow = false;
      this.request();
    }
  }

  setOpen(open, notify = true) {
    this.isOpen = open;
    this.root.dataset.open = String(open);
    this.body.hidden = !open;
    setAttr(this.toggle, "aria-expanded", String(open));
    if (notify) this.onToggle(open);
    this.request();
  }

  zoom(step) {
    this.autoSpan = false;
    const i = SPANS.findIndex((s) => s >= this.span);
    const at = Math.max(0, Math.min(SPANS.length - 1, (i < 0 ? SPANS.length - 1 : i) + step));
    this.zoomTo(SPANS[at]);
  }

  /** Show *span* seconds, around *anchor* (a time) kept at its place on screen. */
  zoomTo(span, anchor = null) {
    const was = this.window();
    span = Math.max(SPANS[0], Math.min(SPANS.at(-1), span));
    if (was && !this.follow) {
      const a = anchor ?? (was.from + was.to) / 2;
      const share = (a - was.from) / (was.to - was.from);
      this.end = a + (1 - share) * span;
    }
    this.span = span;
    this.request();
  }

  languageChanged() {
    this.drawnKey = null;
    this.request();
  }

  // -- the window of time shown --------------------------------------------------------
  window() {
    const d = this.data;
    if (!d || d.head === null || d.head === undefined) return null;
    if (this.autoSpan && this.follow) this.span = fittingSpan(d.head - (d.spans.tMin ?? d.head));
    // following, the head stands `lead` of the span from the right edge; the
    // edge moves by steps of a 400th of the span (a pixel or two), not with
    // every millisecond: what is drawn is laid out again only when it moved
    const step = this.span / 400;
    const to = this.follow || this.end === null
      ? Math.ceil((d.head + this.span * (d.lead ?? 0.03)) / step) * step : this.end;
    return { from: to - this.span, to };
  }

  keepInView(time) {
    const w = this.window();
    if (!w || (time >= w.from && time <= w.to)) return;
    this.end = time + this.span / 2;
  }

  // -- drawing ---------------------------------------------------------------------------
  request() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Draw now what a frame would draw next (benchmarks, tests). */
  flush() {
    if (!this.frame) return;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.draw();
  }

  draw() {
    clearTimeout(this.timer);
    this.root.dataset.follow = this.follow ? "live" : "paused";
    this.renderHead();
    if (!this.isOpen || !this.data || !this.width) return;
    const w = this.window();
    if (!w) return;
    const { width, rem } = this;
    // a finger needs taller rows than a mouse (a group's name is tapped to open it)
    const rowHeight = Math.round(rem * (COARSE.matches ? 2.4 : 1.55));
    const labelWidth = Math.min(Math.round(rem * 11), Math.round(width * 0.36));
    const x0 = labelWidth + 6;
    const x1 = Math.max(x0 + 40, width - 8);
    const d = this.data;
    const key = [d.spans.version, w.from, w.to, width, rowHeight, [...this.groups].join(), d.selectedUid,
      d.now].join("|");
    if (key !== this.drawnKey) {
      this.drawnKey = key;
      this.layout = layoutTimeline({ spans: d.spans, from: w.from, to: w.to, now: d.now, x0, x1,
        rowHeight, open: this.groups });
      this.geometry = { x0, x1, labelWidth, rowHeight, width, from: w.from, to: w.to };
      this.drawAxis(w, x0, x1, width);
      this.drawRows(this.layout, this.geometry, d.selectedUid);
    }
    this.drawCursor(d.cursor);
    // Following the clock: what is drawn moves with it, a few times a second.
    if (this.follow && this.isOpen) this.timer = setTimeout(() => this.request(), FOLLOW_MS);
  }

  renderHead() {
    setText(this.title, t("timeline.title"));
    setText(this.toggle, this.isOpen ? "▾" : "▸");
    setAttr(this.toggle, "title", t(this.isOpen ? "timeline.hide" : "timeline.show"));
    setAttr(this.toggle, "aria-label", t(this.isOpen ? "timeline.hide" : "timeline.show"));
    setText(this.pause, t(this.follow ? "timeline.pause" : "timeline.follow"));
    setAttr(this.pause, "aria-pressed", String(!this.follow));
    setAttr(this.pause, "title", t(this.follow ? "timeline.pause_title" : "timeline.follow_title"));
    setText(this.zoomOut, "−");
    setText(this.zoomIn, "+");
    setAttr(this.zoomOut, "aria-label", t("timeline.zoom_out"));
    setAttr(this.zoomIn, "aria-label", t("timeline.zoom_in"));
    setAttr(this.zoomOut, "title", t("timeline.zoom_out"));
    setAttr(this.zoomIn, "title", t("timeline.zoom_in"));
    setText(this.spanText, spanLabel(this.span));
    for (const el of [this.pause, this.zoomOut, this.zoomIn, this.spanText]) el.hidden = !this.isOpen;
  }

  drawAxis(w, x0, x1, width) {
    this.axisSvg.attr("width", width);
    const scale = scaleTime().domain([new Date(w.from * 1000), new Date(w.to * 1000)]).range([x0, x1]);
    // a label ("21:14:53") is about 4.5 em wide: at most one per 8 em (d3's
    // time ticks may give twice as many: every other one is kept then)
    const most = Math.max(2, Math.floor((x1 - x0) / (this.rem * 8)));
    const ticks = scale.ticks(most);
    const every = Math.ceil(ticks.length / most);
    this.axisG.call(axisTop(scale).tickValues(ticks.filter((_, i) => i % every === 0))
      .tickFormat((d) => timeTick(d, this.span)).tickSizeOuter(0));
  }

  drawRows(layout, g, selectedUid) {
    const { rows } = layout;
    const height = Math.max(layout.height, g.rowHeight);
    this.svg.attr("width", g.width).attr("height", height);
    this.clipRect.attr("x", g.x0).attr("y", -10).attr("width", g.x1 - g.x0).attr("height", height + 20);
    const byRow = (items) => {
      const map = new Map();
      for (const item of items) {
        if (!map.has(item.row)) map.set(item.row, []);
        map.get(item.row).push(item);
      }
      return map;
    };
    const segs = byRow(layout.segs);
    const gates = byRow(layout.gates);
    const joins = byRow(layout.joins);
    const ticks = byRow(layout.ticks);
    const rh = g.rowHeight;

    this.rowsG.selectAll("g.row").data(rows, (r) => r.id).join(
      (enter) => enter.append("g").call((row) => {
        row.append("rect").attr("class", "row-bg");
        row.append("text").attr("class", "row-label");
        row.append("g").attr("class", "plot").attr("clip-path", "url(#timeline-clip)");
      }))
      .attr("class", (r) => `row ${r.kind === "group" ? "lane-group" : "lane"} role-${r.role ?? "unknown"}`
        + `${r.uid && r.uid === selectedUid ? " selected" : ""}${r.i % 2 ? " odd" : ""}`)
      .attr("transform", (r) => `translate(0,${r.y})`)
      .attr("data-lane-pid", (r) => (r.kind === "lane" ? r.pid ?? "" : null))
      .attr("data-lane-uid", (r) => (r.kind === "lane" ? r.uid : null))
      .attr("data-state", (r) => (r.kind === "lane" ? r.state : null))
      .attr("data-role", (r) => r.role ?? "")
      .attr("data-orphan", (r) => (r.kind === "lane" ? String(r.orphaned) : null))
      .attr("data-group-id", (r) => (r.kind === "group" ? r.id : null))
      .attr("data-count", (r) => (r.kind === "group" ? r.count : null))
      .attr("data-open", (r) => (r.kind === "group" ? String(r.open) : null))
      .each(function draw(r) {
        const row = select(this);
        row.select("rect.row-bg").attr("width", g.width).attr("height", rh);
        row.select("text.row-label").attr("x", 6 + r.depth * 12).attr("y", rh / 2)
          .attr("dy", "0.35em").text(r.kind === "group" ? laneGroupLabel(r) : laneLabel(r));
        const plot = row.select("g.plot");
        plot.selectAll("rect.seg").data(segs.get(r.i) ?? [], (s) => `${s.uid}:${s.state}:${s.x0 | 0}`)
          .join("rect")
          .attr("class", (s) => `seg seg-${s.state}${s.open ? " open" : ""}`)
          .attr("data-seg", (s) => s.state).attr("data-uid", (s) => s.uid ?? "")
          .attr("x", (s) => s.x0).attr("width", (s) => Math.max(1.5, s.x1 - s.x0))
          .attr("y", (s) => (s.state === "created" ? rh * 0.3 : rh * 0.2))
          .attr("height", (s) => (s.state === "created" ? rh * 0.4 : rh * 0.6));
        plot.selectAll("rect.gate-wait").data(gates.get(r.i) ?? [], (w) => `${w.uid}:${w.seq}`)
          .join("rect").attr("class", "gate-wait").attr("data-gate", (w) => w.gate)
          .attr("x", (w) => w.x0).attr("width", (w) => Math.max(2, w.x1 - w.x0))
          .attr("y", rh * 0.12).attr("height", rh * 0.76);
        plot.selectAll("line.join-mark").data(joins.get(r.i) ?? [], (j) => j.uid).join("line")
          .attr("class", (j) => `join-mark${j.approx ? " approx" : ""}`).attr("data-uid", (j) => j.uid)
          .attr("x1", (j) => j.x).attr("x2", (j) => j.x).attr("y1", rh * 0.1).attr("y2", rh * 0.9);
        plot.selectAll("line.tick").data(ticks.get(r.i) ?? [], (k) => k.seq).join("line")
          .attr("class", (k) => `tick type-${k.type}${k.count > 1 ? " many" : ""}`)
          .attr("data-tick-seq", (k) => k.seq).attr("data-type", (k) => k.type)
          .attr("data-count", (k) => k.count)
          .attr("x1", (k) => k.x).attr("x2", (k) => k.x).attr("y1", rh * 0.05).attr("y2", rh * 0.95);
      });

    // a newly selected process: its lane scrolled into sight
    if (selectedUid !== this.revealed) {
      this.revealed = selectedUid;
      const row = rows.find((r) => r.uid === selectedUid)
        ?? rows.find((r) => r.kind === "group" && !r.open && r.members?.some((m) => m.uid === selectedUid));
      const box = this.scroll;
      if (row && (row.y < box.scrollTop || row.y + rh > box.scrollTop + box.clientHeight)) {
        box.scrollTop = Math.max(0, row.y - box.clientHeight / 2);
      }
    }
    const mid = (i) => rows[i].y + rh / 2;
    this.arrowsG.selectAll("path.echo-arrow").data(layout.arrows, (a) => a.seq).join("path")
      .attr("class", (a) => `echo-arrow${a.count > 1 ? " many" : ""}`)
      .attr("data-seq", (a) => a.seq).attr("data-count", (a) => a.count)
      .attr("d", (a) => `M${a.xSend},${mid(a.client)} L${a.xMid},${mid(a.worker)} L${a.xBack},${mid(a.client)}`);
  }

  drawCursor(cursor) {
    const g = this.geometry;
    const inView = cursor && g && cursor.t >= g.from && cursor.t <= g.to;
    if (!inView) {
      this.cursor.attr("hidden", "").attr("data-cursor-seq", cursor ? cursor.seq : null);
      this.axisCursor.attr("hidden", "");
      return;
    }
    const x = this.layout.x(cursor.t);
    this.cursor.attr("hidden", null).attr("data-cursor-seq", cursor.seq)
      .attr("x1", x).attr("x2", x).attr("y1", 0).attr("y2", Math.max(this.layout.height, g.rowHeight));
    this.axisCursor.attr("hidden", null).attr("d", `M${x - 8},0 L${x + 8},0 L${x},12 Z`);
  }

  // -- gestures -------------------------------------------------------------------------
  bind() {
    this.toggle.addEventListener("click", () => this.setOpen(!this.isOpen));
    this.pause.addEventListener("click", () => this.setFollow(!this.follow));
    this.zoomOut.addEventListener("click", () => this.zoom(1));
    this.zoomIn.addEventListener("click", () => this.zoom(-1));
    const axis = this.axisSvg.node();
    axis.addEventListener("wheel", (ev) => this.onWheel(ev, true), { passive: false });
    this.scroll.addEventListener("wheel", (ev) => this.onWheel(ev, false), { passive: false });
    // The axis: press and drag to scrub.
    axis.addEventListener("pointerdown", (ev) => {
      if (ev.button) return;
      axis.setPointerCapture(ev.pointerId);
      this.scrubbing = true;
      this.scrubAt(ev.clientX);
    });
    axis.addEventListener("pointermove", (ev) => {
      if (this.scrubbing) this.scrubAt(ev.clientX);
    });
    const stop = () => { this.scrubbing = false; };
    axis.addEventListener("pointerup", stop);
    axis.addEventListener("pointercancel", stop);
    // The lanes: a click scrubs (or opens a group, or selects by a name);
    // a sideways drag moves the time; two fingers pinch.
    const svg = this.svg.node();
    this.pointers = new Map();
    svg.addEventListener("pointerdown", (ev) => this.onDown(ev));
    svg.addEventListener("pointermove", (ev) => this.onMove(ev));
    svg.addEventListener("pointerup", (ev) => this.onUp(ev));
    svg.addEventListener("pointercancel", (ev) => this.pointers.delete(ev.pointerId));
    svg.addEventListener("pointerover", (ev) => this.hover(ev));
  }

  plotX(clientX) {
    return clientX - this.svg.node().getBoundingClientRect().left;
  }

  timeAtClient(clientX) {
    return timeAt(this.plotX(clientX), this.geometry);
  }

  scrubAt(clientX) {
    if (!this.geometry) return;
    const seq = this.seqAtTime(this.timeAtClient(clientX));
    if (seq !== null && seq !== undefined) {
      this.follow = false;
      this.end = this.end ?? this.geometry.to;
      this.onScrub(seq);
    }
  }

  onWheel(ev, onAxis) {
    if (!this.geometry) return;
    if (ev.shiftKey) {
      ev.preventDefault();
      const w = this.window();
      const px = ev.deltaX || ev.deltaY;
      this.follow = false;
      this.end = w.to + (px / (this.geometry.x1 - this.geometry.x0)) * this.span;
      this.request();
      return;
    }
    if (!onAxis && !ev.ctrlKey) return;      // the wheel scrolls the lanes
    ev.preventDefault();
    const anchor = this.timeAtClient(ev.clientX);
    this.autoSpan = false;
    this.zoomTo(this.span * Math.exp(ev.deltaY * 0.002), anchor);
  }

  onDown(ev) {
    if (ev.button) return;
    this.pointers.set(ev.pointerId, { x: ev.clientX, startX: ev.clientX, y: ev.clientY, moved: false,
      end: this.window()?.to, span: this.span });
  }

  onMove(ev) {
    const p = this.pointers.get(ev.pointerId);
    if (!p || !this.geometry) return;
    p.x = ev.clientX;
    if (this.pointers.size === 2) {           // pinch: the span follows the fingers' distance
      const [a, b] = [...this.pointers.values()];
      const apart = Math.abs(a.x - b.x);
      const was = Math.abs(a.startX - b.startX);
      if (was > 20 && apart > 20) {
        this.autoSpan = false;
        this.zoomTo(p.span * (was / apart));
      }
      p.moved = true;
      return;
    }
    const dx = ev.clientX - p.startX;
    if (!p.moved && Math.abs(dx) < DRAG_PX) return;
    if (!p.moved) this.svg.node().setPointerCapture?.(ev.pointerId);
    p.moved = true;
    this.follow = false;
    this.end = p.end - (dx / (this.geometry.x1 - this.geometry.x0)) * this.span;
    this.request();
  }

  onUp(ev) {
    const p = this.pointers.get(ev.pointerId);
    this.pointers.delete(ev.pointerId);
    if (!p || p.moved) return;
    this.click(ev);
  }

  click(ev) {
    const row = ev.target.closest("g.row");
    const x = this.plotX(ev.clientX);
    if (row && x < this.geometry.x0) {        // the names: open a group, select a process
      if (row.dataset.groupId) {
        const open = row.dataset.open !== "true";
        this.groups.set(row.dataset.groupId, open);
        this.request();
      } else if (row.dataset.laneUid) {
        this.onSelect(row.dataset.laneUid);
      }
      return;
    }
    const tick = ev.target.closest("[data-tick-seq]");
    if (tick) {
      this.showNote(Number(tick.dataset.tickSeq));
      this.follow = false;
      this.end = this.end ?? this.geometry.to;
      this.onScrub(Number(tick.dataset.tickSeq));
      return;
    }
    this.scrubAt(ev.clientX);
  }

  hover(ev) {
    const tick = ev.target.closest?.("[data-tick-seq]");
    if (tick) this.showNote(Number(tick.dataset.tickSeq), tick);
  }

  /** The narration of event *seq* under the lanes (and as the tick's tooltip). */
  showNote(seq, tick = null) {
    const text = this.narrate(seq);
    if (!text) return;
    setText(this.note, text);
    this.note.dataset.seq = seq;
    if (tick && !tick.querySelector("title")) {
      tick.append(document.createElementNS("http://www.w3.org/2000/svg", "title"));
    }
    if (tick) tick.querySelector("title").textContent = text;
  }

}

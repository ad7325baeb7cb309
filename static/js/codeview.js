// The code view: the tutorial's 服务端 and 客户端 exactly as it prints them
// (static/tutorial/*.py.txt), with every live lab process as a marker — its
// role's colour and its name — on the line it runs next. The line comes from
// P.at (phase events) through one table, static/tutorial/points.json: the
// listings and that table are data beside each other, loaded once.
//
// A process waiting at a gate (step / slow mode) has its marker say "paused
// at …" and its line highlighted, and the narration above the listings says,
// in the tutorial's words, what it has done and what it has not. Where the
// lab's own code differs from the tutorial's line (sendall for send, the
// idle watchdog, the server's poll loop), the line carries a "≠ lab" button:
// its title (hover) and, clicked or with a process paused there, a note below
// the line give the lab's own line from /api/code.
//
// Testability contract (docs/api.md): each listing [data-listing=server|client],
// each of its lines li[data-code-line=N] (N as shown), each marker
// button[data-marker-pid=PID][data-line=N][data-listing][data-at] (+ data-gate
// while it waits); a line with a waiting process is [data-paused=true].

import { currentLang, t } from "./i18n.js";
import { h, keyedList, setAttr, setText } from "./dom.js";
import { gateLabel, gateNarration, pointText, roleName } from "./format.js";

export const TUTORIAL_BASE = "/static/tutorial/";
/** The roles that run the tutorial's code (the dashboard and helpers do not). */
export const CODE_ROLES = ["server", "worker", "client"];

async function getOk(url, how) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return how === "json" ? response.json() : response.text();
}

/** The listings and the table of points, as the code view uses them. */
export async function loadTutorial(base = TUTORIAL_BASE) {
  const data = await getOk(`${base}points.json`, "json");
  const listings = {};
  for (const [name, spec] of Object.entries(data.listings)) {
    const text = await getOk(base + spec.file, "text");
    listings[name] = { name, file: spec.file, caption: spec.caption,
      lines: text.replace(/\n$/, "").split("\n") };
  }
  return { listings, points: data.points, lab: data.lab ?? {} };
}

/** Where (role, point) is in the listings: {listing, line}, or null. */
export function lineOf(tutorial, role, point) {
  return tutorial.points[role]?.[point] ?? null;
}

/**
 * The point a live process is at: P.at. A lab process that has not reported
 * a point yet (no phase event since it started, or a lab that reports none)
 * is where its state says it must be — a running server waits for
 * connections, a worker with its connection open waits in recv(), a client
 * waits for its next message — and its marker says it is inferred. Null for
 * a process that runs no line: not running, or not a lab role.
 */
export function pointOf(proc) {
  if (!proc || proc.state !== "running" || !CODE_ROLES.includes(proc.role)) return null;
  if (proc.at) return { point: proc.at, inferred: false };
  if (proc.role === "server") return { point: "accepting", inferred: true };
  if (proc.role === "worker") {
    return { point: proc.connection === "closed" ? "exit" : "recv", inferred: true };
  }
  return { point: proc.connection === "closed" ? "exit" : "input", inferred: true };
}

/** Every marker the code view shows for *procs*: one per live lab process,
 * in pid order, each with the line it is on. */
export function markersFor(tutorial, procs, selectedUid = null) {
  const markers = [];
  for (const p of procs) {
    const at = pointOf(p);
    const where = at && lineOf(tutorial, p.role, at.point);
    if (!where) continue;
    markers.push({
      uid: p.uid, pid: p.pid, name: p.name ?? p.uid, role: p.role, point: at.point,
      inferred: at.inferred, gate: p.gate ?? null, gateSince: p.gate_since ?? null,
      peer: p.gate_peer ?? null, listing: where.listing, line: where.line,
      selected: p.uid === selectedUid,
    });
  }
  return markers.sort((a, b) => (a.pid ?? 0) - (b.pid ?? 0));
}

/** The lab's own line for a line where the lab differs, from /api/code's
 * *code* (piece name -> source): the first line of the piece holding the
 * table's text, trimmed; null when /api/code has no such line. */
export function labLine(diff, code) {
  if (!diff?.piece || !diff.find || !code?.[diff.piece]) return null;
  const found = code[diff.piece].split("\n").find((l) => l.includes(diff.find));
  return found ? found.trim() : null;
}

/** The nearest ancestor of *el* that scrolls vertically (or null). */
function scroller(el) {
  for (let up = el.parentElement; up; up = up.parentElement) {
    const style = getComputedStyle(up);
    if (/(auto|scroll)/.test(style.overflowY) && up.scrollHeight > up.clientHeight) return up;
  }
  return null;
}

/** Scroll *el* into view inside the panel that scrolls it, and only that one:
 * scrollIntoView() would also move overflow-hidden ancestors (the page's grid). */
function revealInPanel(el) {
  const panel = scroller(el);
  if (!panel) return;
  const box = el.getBoundingClientRect();
  const room = panel.getBoundingClientRect();
  if (box.top >= room.top && box.bottom <= room.bottom) return;
  panel.scrollTop += box.top - room.top - (room.height - box.height) / 2;
}

export class CodeView {
  /**
   * *onSelect(uid)* is called when a marker is clicked; *loadCode()* gives
   * /api/code (source.js fetchCode), for the lab's own lines; *tutorial* a
   * promise of loadTutorial()'s result (tests give their own).
   */
  constructor(root, { onSelect, loadCode = null, tutorial = null }) {
    this.root = root;
    this.onSelect = onSelect;
    this.loadCode = loadCode;
    this.code = null;              // /api/code, once fetched
    this.tutorial = null;
    this.rows = new Map();         // "listing:line" -> row parts
    this.opened = new Set();       // lab notes opened by a click
    this.drawnKey = null;
    this.revealed = null;          // "uid@listing:line" last scrolled into view
    this.mode = h("p", { class: "code-mode" });
    this.narration = h("ul", { class: "code-narration", "aria-live": "polite" });
    this.body = h("div", { class: "code-listings" });
    this.status = h("p", { class: "empty code-status", text: t("codeview.loading") });
    root.replaceChildren(this.mode, this.narration, this.status, this.body);
    root.addEventListener("click", (ev) => this.onClick(ev));
    this.ready = (tutorial ?? loadTutorial()).then((data) => {
      this.tutorial = data;
      this.build();
      this.status.hidden = true;
      if (this.last) this.render(...this.last);
    }, (error) => {
      console.error(error);
      setText(this.status, t("codeview.failed"));
      this.status.dataset.failed = "true";
    });
  }

  onClick(ev) {
    const marker = ev.target.closest("[data-marker-pid]");
    if (marker) {
      this.onSelect(marker.dataset.uid);
      return;
    }
    const diff = ev.target.closest("[data-diff-line]");
    if (diff) {
      const key = `${diff.dataset.listing}:${diff.dataset.diffLine}`;
      if (this.opened.has(key)) this.opened.delete(key);
      else this.opened.add(key);
      this.drawnKey = null;
      if (this.last) this.render(...this.last);
    }
  }

  /** The listings' lines: built once, then only their marks change. */
  build() {
    const { listings, lab } = this.tutorial;
    this.body.replaceChildren(...Object.values(listings).map((listing) => {
      const caption = h("figcaption", { class: "code-caption" });
      const list = h("ol", { class: "code-listing-lines" });
      for (const [i, text] of listing.lines.entries()) {
        const n = i + 1;
        const diff = lab[listing.name]?.[n] ?? null;
        const markers = h("span", { class: "code-markers" });
        const badge = diff ? h("button", { type: "button", class: "lab-diff",
          "data-diff-line": n, "data-listing": listing.name, "aria-expanded": "false" }) : null;
        const note = diff ? h("p", { class: "lab-note", hidden: true }) : null;
        const row = h("li", { class: "code-row", "data-code-line": n, "data-listing": listing.name },
          h("span", { class: "code-ln", "aria-hidden": "true", text: String(n) }),
          h("code", { class: "code-src", text: text || " " }),
          markers, badge, note);
        this.rows.set(`${listing.name}:${n}`, { row, markers, badge, note, diff });
        list.append(row);
      }
      return h("figure", { class: "code-listing", "data-listing": listing.name },
        caption, list);
    }));
  }

  /**
   * Show *model*'s live processes on the listings; *step* is the step state
   * (GET /api/step: {mode, delay_ms, gates}) or null while unknown.
   */
  render(model, selectedUid, step = null) {
    this.last = [model, selectedUid, step];
    // Hidden (another tab, or presenter view in run mode): drawn when shown().
    // With hundreds of processes the markers cost a render that nobody sees.
    if (!this.tutorial || !this.root.getClientRects().length) return;
    if (this.loadCode && !this.code && !this.codeAsked) {
      this.codeAsked = true;
      this.loadCode().then((code) => {
        this.code = code;
        this.drawnKey = null;
        if (this.last) this.render(...this.last);
      }, () => { this.codeAsked = false; });   // asked again on a later render
    }
    const markers = markersFor(this.tutorial, model.live(), selectedUid);
    const key = JSON.stringify([currentLang(), markers, step?.mode ?? null, step?.delay_ms ?? null,
      [...this.opened], Boolean(this.code)]);
    if (key === this.drawnKey) return;
    this.drawnKey = key;
    this.renderMode(step);
    this.renderNarration(markers);
    this.renderLines(markers);
    this.revealSelected(markers);
  }

  renderMode(step) {
    setAttr(this.root, "data-step-mode", step?.mode ?? null);
    setText(this.mode, step?.mode ? t(`codeview.mode.${step.mode}`, { delay: step.delay_ms ?? "?" })
      : t("codeview.mode.unknown"));
    for (const fig of this.body.querySelectorAll("figure[data-listing]")) {
      const listing = this.tutorial.listings[fig.dataset.listing];
      setText(fig.querySelector("figcaption"), t(listing.caption, { file: listing.file }));
    }
  }

  /** One line per waiting process, oldest first: what it did and what it has not. */
  renderNarration(markers) {
    const waiting = markers.filter((m) => m.gate)
      .sort((a, b) => (a.gateSince ?? 0) - (b.gateSince ?? 0));
    keyedList(this.narration, waiting, (m) => m.uid,
      (m) => h("li", { class: `narrate role-${m.role}`, "data-narrate-pid": m.pid ?? "" }),
      (el, m) => setText(el, gateNarration({ role: m.role, name: m.name, pid: m.pid, gate: m.gate,
        peer: m.peer })));
    setAttr(this.narration, "hidden", !waiting.length);
  }

  renderLines(markers) {
    const on = new Map();
    for (const m of markers) {
      const k = `${m.listing}:${m.line}`;
      if (!on.has(k)) on.set(k, []);
      on.get(k).push(m);
    }
    for (const [k, parts] of this.rows) {
      const here = on.get(k) ?? [];
      const paused = here.some((m) => m.gate);
      setAttr(parts.row, "data-active", here.length ? "true" : null);
      setAttr(parts.row, "data-paused", paused ? "true" : null);
      setAttr(parts.row, "data-selected", here.some((m) => m.selected) ? "true" : null);
      keyedList(parts.markers, here, (m) => m.uid,
        (m) => h("button", { type: "button", class: "code-marker", "data-uid": m.uid }),
        (el, m) => this.fillMarker(el, m));
      if (parts.diff) this.fillDiff(parts, k, paused);
    }
  }

  fillMarker(el, m) {
    setAttr(el, "data-marker-pid", m.pid ?? "");
    setAttr(el, "data-line", m.line);
    setAttr(el, "data-listing", m.listing);
    setAttr(el, "data-at", m.point);
    setAttr(el, "data-gate", m.gate);
    setAttr(el, "data-inferred", m.inferred ? "true" : null);
    setAttr(el, "aria-pressed", String(m.selected));
    setAttr(el, "class", `code-marker role-${m.role}${m.gate ? " paused" : ""}${m.selected ? " selected" : ""}`);
    setText(el, m.gate ? `${m.name} ${gateLabel(m)}` : m.name);
    const lines = [t("codeview.marker_title", { role: roleName(m.role), name: m.name, pid: m.pid ?? "?",
      point: pointText(m.role, m.point) })];
    if (m.inferred) lines.push(t("codeview.inferred"));
    setAttr(el, "title", lines.join("\n"));
  }

  /** The "≠ lab" button and its note: open when clicked, or when a process is paused here. */
  fillDiff(parts, key, paused) {
    const theirs = labLine(parts.diff, this.code);
    const note = t(parts.diff.note);
    const text = theirs ? `${note}\n${t("codeview.lab_line", { line: theirs })}` : note;
    setText(parts.badge, t("codeview.lab_differs"));
    setAttr(parts.badge, "title", text);
    setAttr(parts.badge, "data-lab-line", theirs);
    const open = this.opened.has(key) || paused;
    setAttr(parts.badge, "aria-expanded", String(open));
    setText(parts.note, text);
    setAttr(parts.note, "hidden", !open);
  }

  /** Selecting a process brings its line into view (once per selection and line). */
  revealSelected(markers) {
    const chosen = markers.find((m) => m.selected);
    const where = chosen ? `${chosen.uid}@${chosen.listing}:${chosen.line}` : null;
    if (!where || where === this.revealed) {
      this.revealed = where;
      return;
    }
    const row = this.rows.get(`${chosen.listing}:${chosen.line}`)?.row;
    // a hidden view (another tab) has no box yet: try again when it is shown
    if (!row || !row.getClientRects().length) return;
    this.revealed = where;
    revealInPanel(row);
  }

  /** The view was shown (its tab, another view): scroll to the selection now. */
  shown() {
    this.revealed = null;
    this.drawnKey = null;
    if (this.last) this.render(...this.last);
  }
}

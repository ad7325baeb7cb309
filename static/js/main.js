// Forkscope's page: wires the model, the live sync and the views together.
//
// For benchmarks and tests the page records (docs/api.md, the testability contract)
//   window.forkscope = { model, appliedSeq, appliedAt: Map(seq -> epoch ms), sync,
//                        truth, truthMonitor, tree, views,
//                        history, spans, travel, timeline, shown() }
// (appliedAt keeps the most recent 2000 entries, from Sync's onApplied; truth
// is the last /api/truth?detail=0). This module alone writes it.

import { applyDom, currentLang, initI18n, LANGS, onLangChange, setLang, t } from "./i18n.js";
import { Model } from "./model.js";
import { Sync } from "./sync.js";
import { Tree } from "./tree.js";
import { Controls } from "./controls.js";
import { Details } from "./details.js";
import { Log } from "./log.js";
import { renderFinished } from "./finished.js";
import { Access } from "./access.js";
import { LabPanel } from "./lab.js";
import { TruthMonitor } from "./truth.js";
import { Keys, registerKey } from "./keys.js";
import { Views } from "./views.js";
import { Tabs } from "./tabs.js";
import { CodeView } from "./codeview.js";
import { Stepper } from "./stepper.js";
import { fetchCode } from "./source.js";
import { setAttr, setText } from "./dom.js";
import { addr } from "./format.js";
import { PuzzlePanel } from "./puzzle.js";
import { PollPanel, voterId } from "./polls.js";
// -- time travel and the timeline (issue 14) --
import { History } from "./history.js";
import { Spans } from "./spans.js";
import { TimeTravel } from "./timetravel.js";
import { Timeline } from "./timeline.js";
import { LabClock, narrator, reachBack, rememberTimelineOpen, timelineOpen } from "./timeline-page.js";
import { Lessons } from "./lessons.js";

const $ = (selector) => document.querySelector(selector);

const model = new Model();
const forkscope = { model, appliedSeq: 0, appliedAt: new Map() };
window.forkscope = forkscope;
const APPLIED_AT_KEPT = 2000;

function recordApplied(seq, atMs) {
  forkscope.appliedSeq = seq;
  forkscope.appliedAt.set(seq, atMs);
  while (forkscope.appliedAt.size > APPLIED_AT_KEPT) {
    forkscope.appliedAt.delete(forkscope.appliedAt.keys().next().value);
  }
}

let selectedUid = null;
let frame = 0;
let status = "connecting";
let eventsVersion = 0;      // changes whenever the events the page keeps change

// With hundreds of processes a render that changes the tree costs tens of
// milliseconds of script, and as much again in style, layout and paint (500
// nodes); one that changes a client's reply, a few. Beyond LARGE_TREE, renders
// are spaced by RENDER_SPACING times the last one's script time, at most
// LARGE_RENDER_MS apart: the page keeps its frames for scrolling and the events
// keep coming in between, while a cheap render is not held back (a fixed
// 200 ms held every update that long).
const LARGE_TREE = 200;
const LARGE_RENDER_MS = 200;
const RENDER_SPACING = 8;
let lastRender = 0;
let renderCost = 0;
let timer = 0;

function requestRender() {
  if (frame || timer) return;
  const spacing = Math.min(LARGE_RENDER_MS, RENDER_SPACING * renderCost);
  const wait = model.procs.size > LARGE_TREE ? spacing - (performance.now() - lastRender) : 0;
  if (wait > 0) {
    timer = setTimeout(() => { timer = 0; requestRender(); }, wait);
  } else {
    frame = requestAnimationFrame(renderAll);
  }
}

function select(uid) {
  if (!uid || !shownModel().procs.has(uid)) return;
  selectedUid = uid;
  // on the code tab a selection is a line to look at: the code view scrolls to it
  if (currentTab() !== "code") showTab("details");
  requestRender();
}

function lookup(event) {
  const shown = shownModel();
  // the process the event was about when it happened (spans.js), even once reaped
  const uid = event.uid ?? spans.uidOf(event.seq);
  if (uid) {
    const proc = shown.procs.get(uid) ?? model.procs.get(uid);
    if (proc) return proc;
  }
  return event.pid ? shown.get(event.pid) : null;
}

// -- time travel and the timeline (issue 14): the history of what was applied, the
// past the views show (live when travel.past is false), the lanes of the timeline ---------
const history = new History();
const spans = new Spans();
const clockOfLab = new LabClock();
const travel = new TimeTravel({ history, bar: $("#past-bar"), onChange: () => {
  if (!travel.past) timeline.resume();
  requestRender();
} });
/** The model the views draw: the past's while travelling, else the live one. */
function shownModel() {
  return travel.shown(model);
}
const timeline = new Timeline($("#timeline"), {
  onScrub: (seq) => travel.to(seq),
  onSelect: (uid) => select(uid),
  narrate: narrator(history, lookup),
  seqAtTime: (time) => history.seqAtTime(time),
  onToggle: rememberTimelineOpen,
  open: timelineOpen(false),
});
Object.assign(forkscope, { history, spans, travel, timeline, shown: shownModel });

const access = new Access({ requestRender });
const truth = new TruthMonitor({
  badge: $("#truth-badge"), text: $("#truth-text"), banner: $("#truth-banner"),
  list: $("#truth-differences"), onResult: (result) => { forkscope.truth = result; },
  isViewer: () => access.presenter === false,
  enabled: new URLSearchParams(location.search).get("truth") !== "off",
});

const sync = new Sync(model, {
  onChange: () => {
    truth.poke();
    requestRender();
  },
  onStatus: (s) => {
    status = s;
    if (s === "connected") {
      stepper.refresh();   // the mode may have changed while away
      puzzle.load();       // so may the puzzle
    }
    requestRender();
  },
  onEvents: (events, { live }) => {
    eventsVersion += 1;
    history.remember(events);
    log.add(events);
    controls.noticeEvents(events);
    lab.noticeEvents(events);
    stepper.noticeEvents(events);
    polls.noticeEvents(events);
    lessons.noticeEvents(events);
    if (live) notices.add(events);
    requestRender();
  },
  onAccess: (presenter) => access.set(presenter),
  onApplied: recordApplied,
  auth: { voter: voterId() },          // one vote per device per question (polls.js)
  onSnapshot: (snapshot) => {
    const fresh = history.range() === null;
    if (history.start(snapshot, model)) {       // another dashboard run: its own past
      travel.live();
      spans.clear();
    }
    spans.start(snapshot);
    clockOfLab.guess();
    // the past before this page connected, from the dashboard's recording
    if (fresh || history.firstSeq === snapshot.seq) reachBack(history, spans).then((reached) => {
      if (reached) requestRender();
    });
  },
  onEvent: (event) => {
    history.push(event, model);
    spans.add(event);
    clockOfLab.see(event.t);
  },
});
forkscope.sync = sync;
forkscope.truthMonitor = truth;

const controls = new Controls({ sync, model, onSelect: select, requestRender, onAcked: () => truth.poke() });
const lab = new LabPanel({ controls, model, requestRender });
const polls = new PollPanel({ sync, isPresenter: () => access.presenter, requestRender,
  hides: (poll) => lessons.ownsPoll(poll.id) });   // a lesson draws its own question
const tree = new Tree($("#tree"), { onSelect: select, fitButton: $("#tree-fit") });
// the views' keys (f: fit; arrows: tree.visibleOrder()) and tests reach the tree here
forkscope.tree = tree;
const codeView = new CodeView($("#code-view"), { onSelect: select, loadCode: fetchCode });
const stepper = new Stepper({ controls, sync, bar: $("#step-bar"), requestRender,
  selected: () => (selectedUid ? model.procs.get(selectedUid) : null) });

// -- lessons (lessons.js): the panel is a tab in the full view; in presenter view and on
// a phone, while a lesson is open, it has a place of its own beside / above the tree ------
const lessons = new Lessons({ root: $("#lessons"), controls, sync, model, access, requestRender,
  truthNow: () => forkscope.truth,
  onActive: (id) => {
    placeLessons(views.current);
    if (id && views.current === "full") showTab("lessons");   // a viewer follows the presenter
  } });
forkscope.lessons = lessons;

function placeLessons(view) {
  const aside = lessons.lessonId && (view === "present" || view === "phone");
  const home = aside ? $("#lessons-aside") : $("#panel-lessons");
  const el = $("#lessons");
  if (el.parentElement !== home) home.append(el);
  if (view === "present") tree.fit();     // the tree's panel changed width
}

/** The code view's place: beside the tree in presenter view (shown there while
 * stepping, CSS), else its tab (on a phone every tab's panel is shown, the
 * code first, below the tree). */
function placeCodeView(view) {
  const home = view === "present" ? $("#code-present") : $("#panel-code");
  const el = $("#code-view");
  if (el.parentElement !== home) home.append(el);
  codeView.shown();
}
/** The puzzle's place: beside the tree in presenter view (shown there while
 * one runs, CSS), else its tab. */
function placePuzzle(view) {
  const home = view === "present" ? $("#puzzle-present") : $("#panel-puzzle");
  const el = $("#puzzle");
  if (el.parentElement !== home) home.append(el);
}
// A change of view changes the panel and the legible minimum (--tree-min-label-px):
// fit the tree again, and move the code view to its place.
const views = new Views({
  onChange: (view) => {
    if (view === "present") showTab("details");   // the bar shows the selected process
    placeCodeView(view);
    placePuzzle(view);
    placeLessons(view);
    tree.fit();
    requestRender();
  },
});
forkscope.views = views;
const details = new Details($("#details"), controls, model);
// OSTEP's fork-tree puzzles on real processes (the puzzle tab)
const puzzle = new PuzzlePanel({ root: $("#puzzle"), sync, requestRender });
forkscope.puzzle = puzzle;
const log = new Log({
  list: $("#log"), pidFilter: $("#log-pid"), typeFilter: $("#log-type"), count: $("#log-count"),
  getEvents: (upTo) => (upTo === null ? sync.eventsList() : history.eventsUpTo(upTo, 5000)), lookup,
  // a click on an event: the lab as it was then (time travel), its process selected
  onPick: (uid, pid, seq) => {
    travel.to(seq);
    const shown = shownModel();
    const picked = uid && shown.procs.has(uid) ? uid : shown.get(pid)?.uid;
    if (picked) selectedUid = picked;   // the log stays: the next click goes on through time
    requestRender();
  },
});

// -- short notices under the tree: the server refused a connection ("server busy" at
// --max-workers); a key that could not act (a viewer's, or nothing selected) -----------------
const NOTICE_MS = 8000;
const notices = {
  el: $("#notice"),
  timer: 0,
  count: 0,
  text: null,             // () => the notice in the current language
  add(events) {
    const refused = events.filter((e) => e.type === "refused");
    if (!refused.length) return;
    const last = refused.at(-1);
    this.count = this.el.hidden || this.el.dataset.notice !== "refused" ? refused.length
      : this.count + refused.length;
    this.show("refused", () => t(this.count > 1 ? "notice.refused_many" : "notice.refused", {
      peer: addr(last.peer), limit: last.limit ?? "?", n: this.count,
    }));
  },
  show(kind, text) {
    this.text = text;
    this.el.hidden = false;
    this.el.dataset.notice = kind;
    this.render();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.el.hidden = true;
      this.count = 0;
    }, NOTICE_MS);
  },
  render() {
    if (this.el.hidden || !this.text) return;
    setText(this.el, this.text());
  },
};

// -- tabs: details / finished / log / code (tabs.js) ------------------------------------------
const tabs = new Tabs({ onShow: (name) => {
  if (name === "code") codeView.shown();     // it scrolls to the selection once it has a box
  if (travel.past) requestRender();          // the past's log and reaped list, drawn when shown
} });

function showTab(name) {
  tabs.show(name);
}

function currentTab() {
  return tabs.current;
}

tabs.bind();

// -- keys (keys.js): each acts through the same function as its button ----------------------
function switchLang() {
  setLang(LANGS[(LANGS.indexOf(currentLang()) + 1) % LANGS.length]);
}

/** The selected process's pid, or null after saying why there is none to act on. */
function selectedPid() {
  const proc = selectedUid ? model.procs.get(selectedUid) : null;
  if (proc?.pid) return proc.pid;
  notices.show("select-first", () => t("keys.select_first"));
  return null;
}

function actOnSelected(action) {
  if (travel.past) {      // the selection is a process of the past: act on the present only
    notices.show("past", () => t("notice.past"));
    return;
  }
  const pid = selectedPid();
  if (pid) controls.actOn(action, pid);
}

/** The processes the arrow keys walk, in the tree's reading order (a group
 *  is passed over: open it to walk its members). */
function readingOrder() {
  return tree.visibleOrder().filter((id) => shownModel().procs.has(id));
}

function moveSelection(step) {
  const order = readingOrder();
  if (!order.length) return false;
  const i = order.indexOf(selectedUid);
  const next = i < 0 ? order[step > 0 ? 0 : order.length - 1]
    : order[Math.min(order.length - 1, Math.max(0, i + step))];
  select(next);
  document.querySelector(`#tree g.node[data-uid="${CSS.escape(next)}"]`)
    ?.scrollIntoView({ block: "nearest", inline: "nearest" });
  return true;
}

const keys = new Keys({
  sheet: $("#keys-sheet"),
  isPresenter: () => access.presenter,
  onRefused: (entry) => notices.show("viewer-key", () => t("keys.viewer_refused", {
    key: entry.display ?? entry.keys[0].toUpperCase() })),
});
registerKey("c", { label: "keys.spawn", presenterOnly: true, run: () => { controls.spawn(1); } });
registerKey("t", { label: "keys.terminate", presenterOnly: true, run: () => actOnSelected("terminate") });
registerKey("k", { label: "keys.kill", presenterOnly: true, run: () => actOnSelected("kill") });
registerKey("j", { label: "keys.join", presenterOnly: true, run: () => actOnSelected("join") });
registerKey(["ArrowDown", "ArrowRight"], { label: "keys.next", display: "↓ →", run: () => moveSelection(1) });
registerKey(["ArrowUp", "ArrowLeft"], { label: "keys.previous", display: "↑ ←", run: () => moveSelection(-1) });
registerKey("f", { label: "keys.fit", run: () => { tree.fit(); } });
registerKey("l", { label: "keys.language", run: switchLang });
registerKey("p", { label: "keys.present", run: () => views.togglePresent() });
registerKey("?", { label: "keys.sheet", run: () => keys.toggleSheet() });
registerKey("q", { label: "keys.ask", presenterOnly: true, run: () => polls.openForm() });
registerKey("s", { label: "keys.step", presenterOnly: true, run: () => { stepper.step(); } });
registerKey(" ", { label: "keys.continue", presenterOnly: true, display: "Space",
  run: () => { stepper.toggle(); } });
// time travel: one event back / forward, back to live; the timeline shown or not
registerKey(",", { label: "keys.event_back", run: () => travel.step(-1) });
registerKey(".", { label: "keys.event_forward", run: () => (travel.past ? travel.step(1) : false) });
registerKey("Escape", { label: "keys.live", display: "Esc", run: () => {
  if (!travel.past) return false;
  travel.live();
  return true;
} });
registerKey("h", { label: "keys.timeline", run: () => timeline.setOpen(!timeline.isOpen) });
// lessons: a clicker sends PageDown / PageUp. Not presenterOnly: on a viewer's page, or
// with no lesson open, they do nothing (run returns false) and PageDown still scrolls.
registerKey(["n", "PageDown"], { label: "keys.lesson_next", display: "N PgDn", run: () => lessons.next() });
registerKey(["b", "PageUp"], { label: "keys.lesson_back", display: "B PgUp", run: () => lessons.back() });

// -- rendering ---------------------------------------------------------------------------------
function renderStatus() {
  const el = $("#connection");
  const online = sync.connected;
  setAttr(el, "data-connection", online ? "connected" : "disconnected");
  setAttr(el, "data-sync", status === "resyncing" ? "resyncing" : "live");
  const key = status === "resyncing" ? "conn.resyncing"
    : online ? "conn.connected" : status === "connecting" ? "conn.connecting" : "conn.reconnecting";
  setText($("#connection-text"), t(key));
  document.body.classList.toggle("offline", !online);
}

function renderEcho() {
  const { host, port } = model.echo;
  const server = model.live().find((p) => p.role === "server" && p.state === "running");
  if (host && port && server) {
    setText($("#echo-address"), t("echo.address", { host, port }));
    setText($("#echo-try"), t("echo.try", { host, port }));
  } else {
    setText($("#echo-address"), t("echo.down"));
    setText($("#echo-try"), "");
  }
}

// Each panel skips the work whose inputs did not change (dom.js unchanged()):
// while messages flow through 250 clients, a render changes a row or two.
const els = {
  results: $("#results"), clients: $("#clients"), clientsEmpty: $("#clients-empty"),
  clientsCount: $("#clients-count"), finished: $("#finished"), finishedEmpty: $("#finished-empty"),
  finishedCount: $("#finished-count"), log: $("#log"),
};

let shownSeq = 0;             // the seq of the model drawn last, and whether it was the past's
let shownWasPast = false;

function renderAll() {
  frame = 0;
  lastRender = performance.now();
  const shown = shownModel();
  // In the past a scrub redraws the log and the reaped list: only when on screen,
  // asked before the views change the page (after, each question costs a layout).
  const onScreen = travel.past ? { log: els.log.getClientRects().length > 0,
    finished: els.finished.parentElement.getClientRects().length > 0 } : {};
  // a jump through time (not one event, not the live stream): no highlights of "new"
  if ((travel.past || shownWasPast) && Math.abs(shown.seq - shownSeq) > 1) tree.forgetChanges();
  shownSeq = shown.seq;
  shownWasPast = travel.past;
  renderStatus();
  renderEcho();
  tree.update(shown, selectedUid);
  controls.renderStatic();
  controls.renderResults(els.results);
  lab.render();
  polls.render();
  stepper.render();
  lessons.render();
  access.render();
  notices.render();
  setText(els.clientsCount, String(controls.renderClients(els.clients, els.clientsEmpty)));
  const selected = selectedUid ? shown.procs.get(selectedUid) : null;
  // a process not born yet in the past shown stays selected for the present
  if (selectedUid && !selected && !travel.past) selectedUid = null;
  const past = travel.past ? travel.reached : null;
  details.render(selected, { orphan: tree.orphans.has(selectedUid), model: shown,
    events: past === null ? () => sync.eventsList() : () => history.eventsUpTo(past),
    eventsVersion: past === null ? eventsVersion : `past ${past}`, lookup });
  setText(els.finishedCount, String(renderFinished(els.finished, els.finishedEmpty, shown, selectedUid, select,
    { lazy: past !== null, shown: onScreen.finished })));
  log.render(past, { shown: onScreen.log });
  codeView.render(shown, selectedUid, stepper.state);
  travel.render();
  const now = clockOfLab.now();
  timeline.update({ spans, now, head: now, selectedUid,
    cursor: past === null ? null : { seq: past, t: travel.time() } });
  puzzle.render();
  renderCost = performance.now() - lastRender;
}

// -- start --------------------------------------------------------------------------------------
async function start() {
  await initI18n();
  log.languageChanged();   // its filter options were built before the catalogue loaded
  $("#lang-switch").addEventListener("click", switchLang);
  $("#present-switch").addEventListener("click", () => views.togglePresent());
  $("#keys-button").addEventListener("click", () => keys.toggleSheet());
  onLangChange(() => {
    log.languageChanged();
    timeline.languageChanged();
    truth.languageChanged();
    keys.languageChanged();
    polls.languageChanged();
    requestRender();
  });
  controls.bindStatic(document);
  lab.bind();
  polls.bind();
  stepper.bind();
  puzzle.bind();
  lessons.bind();
  placeCodeView(views.current);
  placePuzzle(views.current);
  access.bind();
  keys.bind();
  showTab("details");
  applyDom();
  requestRender();
  sync.connect();
  truth.start();
}

start().catch((error) => {
  console.error(error);
  document.body.dataset.failed = "true";
});

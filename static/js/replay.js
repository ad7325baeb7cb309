// /replay: a recorded lecture (a forkscope-session file, docs/api.md
// "Recording") played in the dashboard's own views — the tree, the details,
// the reaped list, the log, the code view and its narration, the timeline —
// with play / pause, a speed from 0.25× to 8×, one event back or forward, and
// scrubbing. There is no lab here and no Socket.IO: the process table at
// every seq is rebuilt from the file by the one model (history.js), so the
// page works with the dashboard's lab stopped, and a student can open the
// link (read-only: the page has no control to press).
//
// A recording comes from an uploaded file (read in the browser), from the
// dashboard's list (GET /api/recordings), or from ?url=PATH — same origin
// only; &at=end opens it at its last event. A file that is not a recording
// (not JSON Lines, another format or version, cut short, a gap in its seqs,
// too large) is refused with a message saying which and where; whatever was
// open stays open.
//
// For tests and benchmarks (docs/api.md): window.forkscope = {model (the
// model shown), shown(), history, spans, player, timeline, tree, views,
// session, seek(seq), renderNow()}; body[data-replay=empty|loading|paused|
// playing|ended][data-replay-seq]; #replay-message[data-error-code].

import { applyDom, currentLang, initI18n, LANGS, onLangChange, setLang, t } from "./i18n.js";
import { Model } from "./model.js";
import { Tree } from "./tree.js";
import { Details } from "./details.js";
import { Log } from "./log.js";
import { renderFinished } from "./finished.js";
import { CodeView } from "./codeview.js";
import { fetchCode } from "./source.js";
import { Keys, registerKey } from "./keys.js";
import { Views } from "./views.js";
import { Tabs } from "./tabs.js";
import { Timeline } from "./timeline.js";
import { History } from "./history.js";
import { Spans } from "./spans.js";
import { Player, playTimes } from "./player.js";
import { fetchSession, readSessionBlob, SessionError } from "./session-file.js";
import { clock, durationText } from "./format.js";
import { h, setAttr, setText } from "./dom.js";
import { narrator, rememberTimelineOpen, timelineOpen } from "./timeline-page.js";

const $ = (selector) => document.querySelector(selector);
const params = new URLSearchParams(location.search);

const history = new History();
const spans = new Spans();
const nothing = new Model();          // the model shown before a recording is open
let session = null;                   // {header, snapshot, events, name}
let player = null;
let selectedUid = null;
let frame = 0;
let loop = 0;
let lastFrame = 0;
let recordingsSchema = null;          // GET /api/recordings' schema id, when it answered
let drawnSeq = 0;                     // the seq of the model the tree drew last

const forkscope = {
  history, spans,
  get model() { return shown(); },
  shown: () => shown(),
  get player() { return player; },
  get session() { return session; },
  seek: (seq) => seek(seq),
  renderNow: () => renderAll(),
};
window.forkscope = forkscope;

/** The model at the play head. */
function shown() {
  if (!player) return nothing;
  return history.at(player.pos)?.model ?? nothing;
}

function lookup(event) {
  const m = shown();
  // the process the event was about when it happened (spans.js), even once reaped
  const uid = event.uid ?? spans.uidOf(event.seq);
  if (uid && m.procs.has(uid)) return m.procs.get(uid);
  return event.pid ? m.get(event.pid) : null;
}

function requestRender() {
  if (!frame) frame = requestAnimationFrame(renderAll);
}

function select(uid) {
  if (!uid || !shown().procs.has(uid)) return;
  selectedUid = uid;
  if (tabs.current !== "code" && tabs.current !== "log") tabs.show("details");
  requestRender();
}

// -- the views, as on the live page, drawing the model at the play head ------------------------
// Nothing here can act on a lab: the details get controls that offer no action.
const readOnly = {
  sync: { connected: false },
  isPending: () => false,
  buildProcessActions() {
    const box = h("div", { class: "proc-actions", hidden: true });
    box.parts = { timeout: { value: "" } };
    return box;
  },
  updateProcessActions() {},
};

const tree = new Tree($("#tree"), { onSelect: select, fitButton: $("#tree-fit") });
const codeView = new CodeView($("#code-view"), { onSelect: select, loadCode: fetchCode });
const tabs = new Tabs({ onShow: (name) => {
  if (name === "code") codeView.shown();
  requestRender();
} });
const views = new Views({
  onChange: (view) => {
    placeCodeView(view);
    tree.fit();
    requestRender();
  },
});
const details = new Details($("#details"), readOnly, nothing);
const log = new Log({
  list: $("#log"), pidFilter: $("#log-pid"), typeFilter: $("#log-type"), count: $("#log-count"),
  getEvents: (upTo) => history.eventsUpTo(upTo ?? history.lastSeq, 5000), lookup,
  onPick: (uid, pid, seq) => {
    pause();
    seek(seq);
    const m = shown();
    const picked = uid && m.procs.has(uid) ? uid : m.get(pid)?.uid;
    if (picked) selectedUid = picked;
  },
});
const timeline = new Timeline($("#timeline"), {
  onScrub: (seq) => seek(seq),
  onSelect: select,
  narrate: narrator(history, lookup),
  seqAtTime: (time) => history.seqAtTime(time),
  onToggle: rememberTimelineOpen,
  open: timelineOpen(true),
});
Object.assign(forkscope, { tree, timeline, views });

function placeCodeView(view) {
  const home = view === "present" ? $("#code-present") : $("#panel-code");
  const el = $("#code-view");
  if (el.parentElement !== home) home.append(el);
  codeView.shown();
}

// -- the player -------------------------------------------------------------------------------
const bar = {
  play: $("[data-action='play']"),
  back: $("[data-action='replay-back']"),
  forward: $("[data-action='replay-forward']"),
  speed: $("#replay-speed"),
  scrub: $("#replay-scrub"),
  position: $("#replay-position"),
  end: $("[data-action='replay-end']"),
};

function seek(seq) {
  if (!player) return;
  player.seek(seq);
  requestRender();
}

function play() {
  if (!player) return;
  player.play();
  timeline.resume();
  lastFrame = performance.now();
  if (!loop) loop = requestAnimationFrame(tick);
  requestRender();
}

function pause() {
  if (!player) return;
  player.pause();
  requestRender();
}

function toggle() {
  if (player?.playing) pause();
  else play();
}

function step(delta) {
  if (!player) return false;
  pause();
  seek(player.pos + delta);
  return true;
}

/** One frame of playing: the play head moves on; the views follow it. */
function tick(now) {
  loop = 0;
  if (!player?.playing) return;
  const moved = player.advance(now - lastFrame);
  lastFrame = now;
  if (moved || !player.playing) renderAll();
  if (player.playing) loop = requestAnimationFrame(tick);
}

function bindBar() {
  bar.play.addEventListener("click", toggle);
  bar.back.addEventListener("click", () => step(-1));
  bar.forward.addEventListener("click", () => step(1));
  bar.end.addEventListener("click", () => {
    pause();
    if (player) seek(player.last);
  });
  bar.speed.addEventListener("change", () => {
    player?.setSpeed(Number(bar.speed.value));
    requestRender();
  });
  bar.scrub.addEventListener("input", () => {
    timeline.setFollow(false);
    seek(Number(bar.scrub.value));
  });
}

function renderBar() {
  const state = !player ? (document.body.dataset.replay === "loading" ? "loading" : "empty")
    : player.playing ? "playing" : player.ended ? "ended" : "paused";
  document.body.dataset.replay = state;
  setAttr(document.body, "data-replay-seq", player ? String(player.pos) : null);
  setText(bar.play, t(player?.playing ? "replay.pause" : player?.ended ? "replay.again" : "replay.play"));
  setAttr(bar.play, "aria-pressed", String(Boolean(player?.playing)));
  for (const el of [bar.play, bar.back, bar.forward, bar.speed, bar.scrub, bar.end]) el.disabled = !player;
  if (!player) {
    setText(bar.position, t("replay.nothing"));
    return;
  }
  bar.scrub.min = String(player.first);
  bar.scrub.max = String(player.last);
  if (Number(bar.scrub.value) !== player.pos) bar.scrub.value = String(player.pos);
  const time = player.timeOf(player.pos);
  setText(bar.position, t("replay.position", { time: time === null ? "—" : clock(time),
    seq: player.pos, last: player.last }));
  setAttr(bar.position, "data-seq", String(player.pos));
}

// -- opening a recording ----------------------------------------------------------------------
const message = $("#replay-message");

function say(kind, key, vars = {}, code = null) {
  message.hidden = false;
  message.dataset.kind = kind;
  setAttr(message, "data-error-code", code);
  setText(message, t(key, vars));
  message.lastMessage = [kind, key, vars, code];
}

function quiet() {
  message.hidden = true;
  delete message.dataset.kind;
  message.removeAttribute("data-error-code");
  message.lastMessage = null;
}

/** A SessionError (or any failure) in words; what was open stays open. */
function refuse(error, name) {
  console.warn("forkscope replay:", error);
  if (error instanceof SessionError) {
    say("error", `replay.error.${error.code}`, { name, line: "?", ...error.params }, error.code);
  } else {
    say("error", "replay.error.unknown", { name, detail: String(error?.message ?? error) }, "unknown");
  }
  if (!player) document.body.dataset.replay = "empty";
  requestRender();
}

async function open(name, read) {
  pause();
  if (!player) document.body.dataset.replay = "loading";
  say("info", "replay.loading", { name });
  // let the page say "loading" before a big file holds the thread
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  try {
    load(await read(), name);
  } catch (error) {
    refuse(error, name);
  }
}

function load(file, name) {
  history.load(file.snapshot, file.events, file.joined);
  spans.clear();
  spans.start(file.snapshot, { t: file.header.started ?? null });
  for (const event of file.events) spans.add(event);
  session = { ...file, name };
  player = new Player({ first: file.snapshot.seq, times: playTimes(file.events),
    speed: Number(bar.speed.value) || 1 });
  player.seek(params.get("at") === "end" ? player.last : player.first);
  selectedUid = null;
  timeline.resume();
  quiet();
  const skipped = history.skipped.size;
  if (skipped) say("warning", "replay.skipped", { n: skipped });
  if (recordingsSchema && file.header.schema && file.header.schema !== recordingsSchema) {
    say("warning", "replay.schema_mismatch", { file: file.header.schema, server: recordingsSchema },
      "schema_mismatch");
  }
  renderInfo();
  tree.fit();
  log.refresh();            // another recording: every row again
  requestRender();
}

function renderInfo() {
  const info = $("#replay-info");
  if (!session) {
    setText(info, "");
    setText($("#replay-title"), "");
    return;
  }
  const { header, snapshot, events, name } = session;
  const first = events.length ? events[0].t : header.started;
  const last = events.length ? events.at(-1).t : header.started;
  const lab = header.lab ?? {};
  setText(info, t("replay.info", {
    name, started: typeof header.started === "number" ? new Date(header.started * 1000).toLocaleString(currentLang()) : "?",
    host: header.host ?? "?", events: events.length, from: snapshot.seq,
    duration: typeof first === "number" && typeof last === "number" ? durationText(last - first) : "?",
    method: lab.start_method ?? "?",
  }));
  setText($("#replay-title"), name);
}

async function listRecordings() {
  const select = $("#replay-list");
  try {
    const response = await fetch("/api/recordings", { cache: "no-store" });
    if (!response.ok) return;
    const body = await response.json();
    recordingsSchema = body.schema ?? null;
    const list = body.recordings ?? [];
    if (!list.length) return;
    select.replaceChildren(h("option", { value: "", text: t("replay.choose") }),
      ...list.map((r) => h("option", { value: r.name, text: t("replay.recording", {
        name: r.name, events: r.events ?? "?", size: Math.max(1, Math.round((r.size ?? 0) / 1024)),
        current: r.current ? t("replay.current") : "" }) })));
    select.closest("label").hidden = false;
  } catch {
    // no list (an older dashboard, or none at all): upload and ?url= still work
  }
}

function bindOpening() {
  $("#replay-file").addEventListener("change", (ev) => {
    const file = ev.target.files?.[0];
    if (!file) return;
    open(file.name, () => readSessionBlob(file));
    // a file from this computer has no address to share: the link is the bare page
    const url = new URL(location.href);
    url.searchParams.delete("url");
    window.history.replaceState(window.history.state, "", url);
  });
  $("#replay-list").addEventListener("change", (ev) => {
    const name = ev.target.value;
    if (!name) return;
    const path = `/api/recordings/${encodeURIComponent(name)}`;
    // the address now opens this recording: a link to share with the room
    const url = new URL(location.href);
    url.searchParams.set("url", path);
    window.history.replaceState(window.history.state, "", url);
    open(name, () => fetchSession(path));
  });
}

// -- keys ---------------------------------------------------------------------------------------
function moveSelection(delta) {
  const m = shown();
  const order = tree.visibleOrder().filter((id) => m.procs.has(id));
  if (!order.length) return false;
  const i = order.indexOf(selectedUid);
  select(i < 0 ? order[delta > 0 ? 0 : order.length - 1]
    : order[Math.min(order.length - 1, Math.max(0, i + delta))]);
  return true;
}

const keys = new Keys({ sheet: $("#keys-sheet"), isPresenter: () => true });
registerKey(" ", { label: "keys.replay_play", display: "Space", run: () => { toggle(); } });
registerKey(",", { label: "keys.event_back", run: () => step(-1) });
registerKey(".", { label: "keys.event_forward", run: () => step(1) });
registerKey(["ArrowDown", "ArrowRight"], { label: "keys.next", display: "↓ →", run: () => moveSelection(1) });
registerKey(["ArrowUp", "ArrowLeft"], { label: "keys.previous", display: "↑ ←", run: () => moveSelection(-1) });
registerKey("f", { label: "keys.fit", run: () => { tree.fit(); } });
registerKey("h", { label: "keys.timeline", run: () => timeline.setOpen(!timeline.isOpen) });
registerKey("l", { label: "keys.language", run: switchLang });
registerKey("p", { label: "keys.present", run: () => views.togglePresent() });
registerKey("?", { label: "keys.sheet", run: () => keys.toggleSheet() });

function switchLang() {
  setLang(LANGS[(LANGS.indexOf(currentLang()) + 1) % LANGS.length]);
}

// -- rendering -----------------------------------------------------------------------------------
const els = { finished: $("#finished"), finishedEmpty: $("#finished-empty"), finishedCount: $("#finished-count"),
  log: $("#log") };

// What each view cost in the last render (ms): bench/scrub.py reports it.
const cost = {};
function timed(name, draw) {
  const t0 = performance.now();
  draw();
  cost[name] = performance.now() - t0;
}
forkscope.renderCost = cost;

function renderAll() {
  frame = 0;
  let m;
  timed("rebuild", () => { m = shown(); });
  const pos = player ? player.pos : null;
  const atEnd = !player || player.ended;
  // What is on screen, asked before any view changes the page (after, each
  // question would cost a layout); the code view asks itself, so it goes first.
  const onScreen = { log: els.log.getClientRects().length > 0,
    finished: els.finished.parentElement.getClientRects().length > 0 };
  timed("code", () => codeView.render(m, selectedUid, null));
  // scrubbed (not played, not one event): nothing in the tree is "new"
  if (!player?.playing && Math.abs(m.seq - drawnSeq) > 1) tree.forgetChanges();
  drawnSeq = m.seq;
  timed("tree", () => tree.update(m, selectedUid));
  const selected = selectedUid ? m.procs.get(selectedUid) ?? null : null;
  timed("details", () => details.render(selected, { orphan: tree.orphans.has(selectedUid), model: m,
    events: () => (pos === null ? [] : history.eventsUpTo(pos)), eventsVersion: `replay ${pos}`, lookup }));
  timed("finished", () => setText(els.finishedCount,
    String(renderFinished(els.finished, els.finishedEmpty, m, selectedUid, select,
      { lazy: true, shown: onScreen.finished }))));
  // At the end the log is the live page's (its newest rows); before it, the past's.
  timed("log", () => log.render(atEnd ? null : pos, { shown: onScreen.log }));
  const time = player ? player.timeOf(pos) : null;
  timed("timeline", () => timeline.update({ spans, now: spans.tMax, head: time, lead: 0.3, selectedUid,
    cursor: player ? { seq: pos, t: time ?? spans.tMin } : null }));
  renderBar();
  if (message.lastMessage) say(...message.lastMessage);    // the language may have changed
}

// -- start ---------------------------------------------------------------------------------------
async function start() {
  await initI18n();
  log.languageChanged();
  $("#lang-switch").addEventListener("click", switchLang);
  $("#present-switch").addEventListener("click", () => views.togglePresent());
  $("#keys-button").addEventListener("click", () => keys.toggleSheet());
  onLangChange(() => {
    log.languageChanged();
    keys.languageChanged();
    timeline.languageChanged();
    renderInfo();
    requestRender();
  });
  tabs.bind();
  bindBar();
  bindOpening();
  placeCodeView(views.current);
  keys.bind();
  tabs.show("details");
  applyDom();
  renderBar();
  requestRender();
  listRecordings();
  const url = params.get("url");
  if (url) open(url.split("/").pop() || url, () => fetchSession(url));
  else say("info", "replay.choose_first");
}

start().catch((error) => {
  console.error(error);
  document.body.dataset.failed = "true";
});

// Forkscope's page: wires the model, the live sync and the views together.
//
// For benchmarks and tests the page records (docs/api.md, the testability contract)
//   window.forkscope = { model, appliedSeq, appliedAt: Map(seq -> epoch ms), sync,
//                        truth, truthMonitor, tree }
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
import { setAttr, setText } from "./dom.js";
import { addr } from "./format.js";

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
  if (!uid || !model.procs.has(uid)) return;
  selectedUid = uid;
  showTab("details");
  requestRender();
}

function lookup(event) {
  if (event.uid && model.procs.has(event.uid)) return model.procs.get(event.uid);
  return event.pid ? model.get(event.pid) : null;
}

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
    requestRender();
  },
  onEvents: (events, { live }) => {
    eventsVersion += 1;
    log.add(events);
    controls.noticeEvents(events);
    lab.noticeEvents(events);
    if (live) notices.add(events);
    requestRender();
  },
  onAccess: (presenter) => access.set(presenter),
  onApplied: recordApplied,
});
forkscope.sync = sync;
forkscope.truthMonitor = truth;

const controls = new Controls({ sync, model, onSelect: select, requestRender, onAcked: () => truth.poke() });
const lab = new LabPanel({ controls, model, requestRender });
const tree = new Tree($("#tree"), { onSelect: select, fitButton: $("#tree-fit") });
// the views' keys (f: fit; arrows: tree.visibleOrder()) and tests reach the tree here
forkscope.tree = tree;
const details = new Details($("#details"), controls, model);
const log = new Log({
  list: $("#log"), pidFilter: $("#log-pid"), typeFilter: $("#log-type"), count: $("#log-count"),
  getEvents: () => sync.eventsList(), lookup,
  onPick: (uid, pid) => select(uid && model.procs.has(uid) ? uid : model.get(pid)?.uid),
});

// -- short notices: the server refused a connection ("server busy" at --max-workers) ----------
const NOTICE_MS = 8000;
const notices = {
  el: $("#notice"),
  timer: 0,
  count: 0,
  add(events) {
    const refused = events.filter((e) => e.type === "refused");
    if (!refused.length) return;
    const last = refused.at(-1);
    this.count = this.el.hidden ? refused.length : this.count + refused.length;
    this.last = last;
    this.el.hidden = false;
    this.el.dataset.notice = "refused";
    this.render();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.el.hidden = true;
      this.count = 0;
    }, NOTICE_MS);
  },
  render() {
    if (this.el.hidden || !this.last) return;
    setText(this.el, t(this.count > 1 ? "notice.refused_many" : "notice.refused", {
      peer: addr(this.last.peer), limit: this.last.limit ?? "?", n: this.count,
    }));
  },
};

// -- tabs: details / finished / log -------------------------------------------------------
function showTab(name) {
  for (const tab of document.querySelectorAll("[role='tab']")) {
    const on = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !on;
  }
}

for (const tab of document.querySelectorAll("[role='tab']")) {
  tab.addEventListener("click", () => showTab(tab.dataset.tab));
  tab.addEventListener("keydown", (ev) => {
    const tabs = [...document.querySelectorAll("[role='tab']")];
    const i = tabs.indexOf(tab);
    const next = ev.key === "ArrowRight" ? tabs[(i + 1) % tabs.length]
      : ev.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
    if (next) {
      showTab(next.dataset.tab);
      next.focus();
    }
  });
}

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
  finishedCount: $("#finished-count"),
};

function renderAll() {
  frame = 0;
  lastRender = performance.now();
  renderStatus();
  renderEcho();
  tree.update(model, selectedUid);
  controls.renderStatic();
  controls.renderResults(els.results);
  lab.render();
  access.render();
  notices.render();
  setText(els.clientsCount, String(controls.renderClients(els.clients, els.clientsEmpty)));
  const selected = selectedUid ? model.procs.get(selectedUid) : null;
  if (selectedUid && !selected) selectedUid = null;
  details.render(selected, { orphan: tree.orphans.has(selectedUid), events: () => sync.eventsList(),
    eventsVersion, lookup });
  setText(els.finishedCount, String(renderFinished(els.finished, els.finishedEmpty, model, selectedUid, select)));
  log.render();
  renderCost = performance.now() - lastRender;
}

// -- start --------------------------------------------------------------------------------------
async function start() {
  await initI18n();
  log.languageChanged();   // its filter options were built before the catalogue loaded
  const button = $("#lang-switch");
  button.addEventListener("click", () => {
    const next = LANGS[(LANGS.indexOf(currentLang()) + 1) % LANGS.length];
    setLang(next);
  });
  onLangChange(() => {
    log.languageChanged();
    truth.languageChanged();
    requestRender();
  });
  controls.bindStatic(document);
  lab.bind();
  access.bind();
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

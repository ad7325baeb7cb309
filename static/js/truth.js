// The teacher's proof that the picture is the operating system's: /api/truth
// compares the model with /proc (psutil) on the server.
//
// * TruthMonitor: the badge "model = OS ✓", polled (?detail=0) at most every
//   MIN_INTERVAL_MS — soon after a change or an action, else every
//   HEARTBEAT_MS. Viewers (a whole lecture hall of them) poll less often:
//   a check costs the server a walk of /proc (one walk answers every check
//   at one seq within 0.5 s: SharedCheck in app/web/truth.py). `?truth=off` in the page's
//   address turns the polling off (a benchmark measuring latency). A difference is shown (a loud red banner, one line each) only
//   once two checks in a row report it: an exit that /proc shows a few
//   milliseconds before its event reaches the model is not a disagreement.
// * ProcTruth: the details panel's "what the OS says" for the selected process:
//   status letter, ppid per /proc, RSS / USS, open fds and the sockets it holds
//   (the listening one marked). Refreshed on selection and on every change of
//   that process, debounced.
//
// Testability: #truth-badge[data-truth=agree|differ|checking|unknown|error],
// #truth-banner li[data-diff-pid][data-diff-field]; the details section
// .os-truth[data-truth-pid][data-letter][data-status], its sockets
// li[data-fd][data-listening]; window.forkscope.truth is the last answer.

import { has, t } from "./i18n.js";
import { h, setAttr, setText } from "./dom.js";
import { STATES, formatAddress } from "./model.js";
import { clock, stateName } from "./format.js";

export const MIN_INTERVAL_MS = 2000;
const HEARTBEAT_MS = 10000;
const VIEWER_SLOWER = 3;          // a viewer's intervals are this many times longer
const DETAIL_DEBOUNCE_MS = 300;

function diffKey(d) {
  return `${d.pid}|${d.uid ?? ""}|${d.field}`;
}

export class TruthMonitor {
  constructor({ badge, text, banner, list, onResult = () => {}, isViewer = () => false,
    enabled = true }) {
    this.isViewer = isViewer;
    this.enabled = enabled;
    this.badge = badge;
    this.text = text;
    this.banner = banner;
    this.list = list;
    this.onResult = onResult;
    this.lastStart = 0;
    this.timer = null;
    this.due = Infinity;
    this.running = false;
    this.again = false;
    this.suspect = new Map();     // diffKey -> difference seen once, not yet confirmed
    this.shown = [];              // confirmed differences
    this.state = "unknown";
    this.last = null;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.poke();
    });
  }

  start() {
    if (!this.enabled) this.state = "off";
    this.render();
    this.poke();
  }

  /** Something changed (an event, an action's answer): check soon, at most every 2 s. */
  poke() {
    if (!this.enabled) return;
    this.schedule(Math.max(0, this.lastStart + this.interval(MIN_INTERVAL_MS) - Date.now()));
  }

  interval(ms) {
    // A viewer's page waits longer, and not in step with the others in the room.
    return this.isViewer() ? ms * VIEWER_SLOWER * (0.8 + Math.random() * 0.4) : ms;
  }

  schedule(delay) {
    const due = Date.now() + delay;
    if (this.timer && this.due <= due) return;
    clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.due = Infinity;
      this.check();
    }, delay);
  }

  async check() {
    if (this.running) {
      this.again = true;
      return;
    }
    if (document.visibilityState === "hidden") return;   // resumed by visibilitychange
    this.running = true;
    this.lastStart = Date.now();
    try {
      const response = await fetch("/api/truth?detail=0", { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.apply(await response.json());
    } catch (error) {
      console.warn("forkscope: truth check failed", error);
      this.state = "error";
      this.render();
    } finally {
      this.running = false;
    }
    if (this.again || this.suspect.size) {
      this.again = false;
      this.poke();                                     // confirm (or clear) soon
    } else {
      this.schedule(this.interval(HEARTBEAT_MS));
    }
  }

  apply(truth) {
    this.last = { ...truth, at: Date.now() / 1000 };
    const now = new Map(truth.differences.map((d) => [diffKey(d), d]));
    // Shown: what two checks in a row agree on. Suspect: seen once.
    this.shown = [...now.entries()]
      .filter(([key]) => this.suspect.has(key) || this.shown.some((d) => diffKey(d) === key))
      .map(([, d]) => d);
    this.suspect = new Map([...now.entries()].filter(([key]) => !this.shown.some((d) => diffKey(d) === key)));
    this.state = this.shown.length ? "differ" : this.suspect.size ? "checking" : "agree";
    this.render();
    this.onResult(truth);
  }

  render() {
    setAttr(this.badge, "data-truth", this.state);
    const count = this.last ? this.last.processes.length : 0;
    const key = {
      agree: "truth.agree", differ: "truth.differ", checking: "truth.checking",
      unknown: "truth.unknown", error: "truth.error", off: "truth.off",
    }[this.state];
    setText(this.text, t(key, { n: this.shown.length }));
    setAttr(this.badge, "title", this.last
      ? t("truth.badge_title", { n: count, time: clock(this.last.at), seq: this.last.seq })
      : t("truth.badge_title_none"));
    this.banner.hidden = this.state !== "differ";
    const lines = this.shown.map((d) => h("li", {
      "data-diff-pid": d.pid, "data-diff-field": d.field, text: differenceText(d),
    }));
    this.list.replaceChildren(...lines);
  }

  languageChanged() {
    this.render();
  }
}

function asState(value) {
  return typeof value === "string" && STATES.includes(value)
    ? stateName(value) : value ?? t("value.none");
}

export function differenceText(d) {
  const params = { pid: d.pid, uid: d.uid ?? "?", model: asState(d.model), os: d.os ?? t("value.none") };
  if (d.field === "exists" && (d.model === null || d.model === undefined)) {
    return t("truth.diff.unknown_child", params);
  }
  const key = ["exists", "ppid", "zombie"].includes(d.field) ? `truth.diff.${d.field}` : "truth.diff.other";
  return t(key, { ...params, field: d.field });
}

// -- the details panel's section -----------------------------------------------------

function mb(bytes) {
  return typeof bytes === "number" ? t("truth.mb", { n: (bytes / 1048576).toFixed(1) }) : t("value.none");
}

export class ProcTruth {
  constructor() {
    this.root = h("section", { class: "os-truth", "data-status": "idle" });
    this.title = h("h4");
    this.status = h("p", { class: "os-status" });
    this.facts = h("dl", { class: "facts" });
    this.socketsTitle = h("p", { class: "sockets-title" });
    this.sockets = h("ul", { class: "sockets" });
    this.note = h("p", { class: "os-note" });
    this.root.append(this.title, this.status, this.facts, this.socketsTitle, this.sockets, this.note);
    this.proc = null;
    this.key = null;
    this.row = undefined;          // the last answer for this.proc: {model, os} or null
    this.timer = null;
    this.inFlight = false;
    this.again = false;
    this.drawnKey = null;
  }

  /** Called on every render of the details panel: cheap unless *proc* changed. */
  render(proc) {
    if (!proc) {
      clearTimeout(this.timer);
      this.proc = null;
      this.key = null;
      return;
    }
    const key = JSON.stringify(proc);
    if (!this.proc || this.proc.uid !== proc.uid) {
      this.row = undefined;          // another process: nothing known of it yet
      this.drawnKey = null;
    }
    this.proc = proc;
    if (key !== this.key) {
      this.key = key;
      if (proc.state === "joined" || !proc.pid) {
        clearTimeout(this.timer);
      } else {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.fetch(), DETAIL_DEBOUNCE_MS);
      }
    }
    this.draw();
  }

  async fetch() {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    const proc = this.proc;
    if (!proc || !proc.pid || proc.state === "joined") return;
    this.inFlight = true;
    try {
      // ?pid= narrows the answer where the server supports it; the row is found either way.
      const response = await fetch(`/api/truth?pid=${proc.pid}`, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const truth = await response.json();
      if (this.proc && this.proc.uid === proc.uid) {
        this.row = truth.processes.find((r) => r.pid === proc.pid && r.model.uid === proc.uid) ?? null;
        this.fetchedAt = Date.now() / 1000;
        this.drawnKey = null;
        this.draw();
      }
    } catch (error) {
      console.warn("forkscope: /api/truth failed", error);
      if (this.proc && this.proc.uid === proc.uid) {
        this.row = "error";
        this.drawnKey = null;
        this.draw();
      }
    } finally {
      this.inFlight = false;
    }
    if (this.again) {
      this.again = false;
      this.fetch();
    }
  }

  draw() {
    const proc = this.proc;
    const drawKey = `${proc.uid}|${proc.state}|${t("details.os")}`;
    if (drawKey === this.drawnKey) return;
    this.drawnKey = drawKey;
    setText(this.title, t("details.os"));
    setAttr(this.root, "data-truth-pid", proc.pid ?? "");
    const row = this.row;
    let status;
    if (proc.state === "joined") status = "joined";
    else if (row === undefined) status = "loading";
    else if (row === "error") status = "error";
    else if (row === null || row.os === null) status = "missing";
    else status = "ok";
    setAttr(this.root, "data-status", status);
    const os = status === "ok" ? row.os : null;
    setAttr(this.root, "data-letter", os ? os.letter : null);
    this.facts.replaceChildren();
    this.sockets.replaceChildren();
    this.socketsTitle.hidden = true;
    this.sockets.hidden = true;
    setText(this.note, "");
    this.note.className = "os-note";
    if (status !== "ok") {
      this.status.replaceChildren(t({
        joined: "truth.proc_joined", loading: "truth.proc_loading", error: "truth.proc_error",
        missing: "truth.proc_missing",
      }[status], { pid: proc.pid ?? "?" }));
      this.status.className = `os-status ${status === "missing" || status === "error" ? "bad" : ""}`;
      return;
    }
    this.status.className = "os-status";
    this.status.replaceChildren(
      h("span", { class: `letter letter-${os.letter === "Z" ? "zombie" : "live"}`, text: os.letter }),
      " ", h("span", { class: "letter-word",
        text: has(`os.letter.${os.letter}`) ? t(`os.letter.${os.letter}`) : os.status }),
      h("code", { class: "os-raw", text: ` (${os.status})` }));
    const sameParent = os.ppid === proc.ppid;
    const facts = [
      ["ppid", `${os.ppid ?? "?"}  ${sameParent ? t("truth.same_as_model") : t("truth.model_says", { v: proc.ppid ?? "?" })}`,
        sameParent ? "ok" : "bad"],
    ];
    if ("rss" in os) {
      facts.push(["rss", mb(os.rss)], ["uss", mb(os.uss)], ["fds", String(os.num_fds ?? "?")]);
    }
    this.facts.replaceChildren(...facts.flatMap(([name, value, cls]) => [
      h("dt", { text: t(`truth.fact.${name}`) }),
      h("dd", { "data-os-fact": name, class: cls ?? null, text: value }),
    ]));
    const sockets = os.sockets ?? null;
    if (sockets) {
      this.socketsTitle.hidden = false;
      this.sockets.hidden = false;
      setText(this.socketsTitle, t("truth.sockets", { n: sockets.length }));
      const sorted = [...sockets].sort((a, b) => (b.listening - a.listening) || ((a.fd ?? 0) - (b.fd ?? 0)));
      this.sockets.replaceChildren(...(sorted.length ? sorted.map((s) => h("li", {
        "data-fd": s.fd ?? "", "data-listening": String(Boolean(s.listening)),
        class: s.listening ? "listening" : null,
      },
      h("code", { class: "sock-fd", text: t("truth.fd", { fd: s.fd ?? "?" }) }), " ",
      h("code", { class: "sock-status", text: s.status }), " ",
      h("code", { class: "sock-addr", text: s.raddr
        ? `${formatAddress(s.laddr) ?? "?"} ⇄ ${formatAddress(s.raddr)}` : formatAddress(s.laddr) ?? "?" }),
      s.listening ? h("strong", { class: "sock-listen", text: t("truth.listening_socket") }) : null))
        : [h("li", { class: "empty", text: t("truth.no_sockets") })]));
    }
    const note = socketNote(proc, os);
    if (note) {
      setText(this.note, note.text);
      this.note.className = `os-note ${note.bad ? "bad" : ""}`;
      setAttr(this.note, "data-note", note.kind);
    }
  }
}

/** What the sockets say, for the lesson: a worker never holds the listening socket here. */
function socketNote(proc, os) {
  if (os.letter === "Z") return { kind: "zombie", text: t("truth.note.zombie") };
  if (!os.sockets) return null;
  const listening = os.sockets.some((s) => s.listening);
  if (proc.role === "worker") {
    if (listening) return { kind: "worker-listener", bad: true, text: t("truth.note.worker_listener") };
    const method = proc.start_method === "fork" || !proc.start_method ? "fork" : "fresh";
    return { kind: `worker-no-listener-${method}`, text: t(`truth.note.worker_no_listener_${method}`) };
  }
  if (proc.role === "server" && listening) return { kind: "server-listener", text: t("truth.note.server_listener") };
  return null;
}

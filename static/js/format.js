// Turning model values and events into words, all through the catalogue.

import { has, t } from "./i18n.js";
import { formatAddress } from "./model.js";

const SIGNALS = {
  1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
  9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM",
  15: "SIGTERM",
};

export function roleName(role) {
  return t(has(`role.${role}`) ? `role.${role}` : "role.unknown");
}

export function stateName(state) {
  return has(`state.${state}`) ? t(`state.${state}`) : String(state);
}

export function signalName(n) {
  return SIGNALS[n] || `SIG${n}`;
}

/** What an exit code means, in words: 0, exit(N), or killed by a signal.
 * *state* tells a process still running (None) from one whose code only its
 * parent knows (a forkserver's child, seen to exit through a pidfd). */
export function exitMeaning(code, state = null) {
  if ((code === null || code === undefined) && (state === "zombie" || state === "joined")) {
    return t("exit.unknown");
  }
  if (code === null || code === undefined) return t("exit.none");
  if (has(`exit.${code}`)) return t(`exit.${code}`);
  if (code < 0) return t("exit.signal", { name: signalName(-code), n: -code });
  return t("exit.n", { n: code });
}

/** A few words for a node: "killed by SIGTERM", "called exit(3)". */
export function exitBrief(code) {
  if (code === null || code === undefined) return "";
  if (has(`exit.brief.${code}`)) return t(`exit.brief.${code}`);
  if (code < 0) return t("exit.brief.signal", { name: signalName(-code) });
  return t("exit.brief.n", { n: code });
}

const HOWS = ["join", "implicit", "forkserver"];
// reaped_via_kind / an event's via_kind: which call reaped it (app/lab/children.py,
// orphans.py, echo_server.py). Each has reaped_by.<kind> and explain.reaped.<kind>.
export const VIA_KINDS = ["start", "join", "subreaper_waitpid", "daemon_exit", "forkserver",
  "forkserver_stop", "adopter_waitpid"];

function howKey(how) {
  return HOWS.includes(how) ? how : "join";
}

/** Which key family describes a reap: by via_kind (the structured field) where
 * the backend gives one, else by how (join / implicit / forkserver). */
function reapKey(prefix, kind, how, call) {
  if (kind && VIA_KINDS.includes(kind)) {
    const base = `${prefix}.kind.${kind}`;
    return !call && has(`${base}_nocall`) ? `${base}_nocall` : base;
  }
  return `${prefix}.${howKey(how)}`;
}

/** How a reaped process was reaped, in a few words: "reaped implicitly by worker-5.start()". */
export function reapedText(proc) {
  if (!proc.reaped_how && !proc.reaped_via_kind) return "";
  const call = proc.reaped_via_call;
  return t(reapKey("reaped", proc.reaped_via_kind, proc.reaped_how, call),
    { call: call ?? proc.reaped_via ?? "?", via: call ?? proc.reaped_via ?? "?" });
}

export function addr(value) {
  return formatAddress(value) ?? t("value.none");
}

export function clock(t0) {
  if (typeof t0 !== "number") return t("value.none");
  const d = new Date(t0 * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function clip(text, max = 60) {
  const s = String(text ?? "");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A poll event's words (polls.js): the question cut short, the counts as
 * "A 3 · B 5", the choice that came true as "B" (or that none did). */
function pollParams(event) {
  const letterOf = (i) => String.fromCharCode(65 + i);
  return {
    question: clip(event.question),
    n: event.choices?.length ?? "?",
    counts: (event.counts ?? []).map((n, i) => `${letterOf(i)} ${n}`).join(" · "),
    answer: event.choice === null || event.choice === undefined ? t("poll.no_answer") : letterOf(event.choice),
  };
}

/** The parameters a catalogue template of an event may use. */
function eventParams(event, lookup) {
  const p = { ...event };
  for (const key of ["peer", "local", "server"]) {
    if (Array.isArray(event[key])) p[key] = formatAddress(event[key]);
  }
  if ("text" in event) p.text = clip(event.text);
  if ("reply" in event) p.reply = clip(event.reply);
  const proc = lookup ? lookup(event) : null;
  p.name = event.name ?? proc?.name ?? event.uid ?? event.pid;
  if (event.type === "exited" || event.type === "reaped") {
    p.meaning = exitMeaning(event.exitcode, event.type === "exited" ? "zombie" : "joined");
    if (event.exitcode === null || event.exitcode === undefined) p.exitcode = "?";
  }
  if (event.type === "reaped") {
    p.call = event.via_call ?? event.via ?? "?";
    p.via = p.call;
  }
  if (event.type?.startsWith("poll_")) Object.assign(p, pollParams(event));
  if (event.type === "lesson_step") {      // steps count from 1 for people
    p.step = (event.step ?? 0) + 1;
    p.lesson = event.lesson ?? "—";
  }
  if (event.timeout === null || event.timeout === undefined) p.timeout = "";
  if (p.start_ms === undefined || p.start_ms === null) p.start_ms = "?";
  return p;
}

export function eventName(type) {
  return has(`event.${type}`) ? t(`event.${type}`) : t("event.unknown");
}

function keyFor(prefix, event) {
  if (event.type === "reaped") return reapKey(`${prefix}.reaped`, event.via_kind, event.how, event.via_call);
  // a puzzle's orphan says so itself, and its subreaper is a puzzle process
  if (event.type === "reparented" && String(event.uid ?? "").startsWith("puzzle-")) {
    return `${prefix}.reparented_puzzle`;
  }
  if (event.type === "exited" && (event.exitcode === null || event.exitcode === undefined)) {
    return `${prefix}.exited_unknown`;     // only its parent (a forkserver) knows the code
  }
  if (event.type === "disconnected" && event.said) return `${prefix}.disconnected_said`;
  if (event.type === "started" && event.start_method && prefix === "code") return "code.started_method";
  return `${prefix}.${event.type}`;
}

/** One line for the event log. The step events (phase, gate_wait, gate_pass)
 * are told in the tutorial's words: which line of its code the process is at. */
export function eventSummary(event, lookup) {
  const step = stepSummary(event, lookup);
  if (step !== null) return step;
  const key = keyFor("summary", event);
  return has(key) ? t(key, eventParams(event, lookup)) : t("summary.unknown", { type: event.type });
}

/** What the code did, for the details panel: the Python call behind an event. */
export function eventCode(event, proc, lookup) {
  const params = eventParams(event, lookup);
  if (event.type === "created") {
    const role = proc?.role ?? event.role;
    let key = has(`code.created.${role}`) ? `code.created.${role}` : "code.created.other";
    if (role === "worker" && event.style === "subclass") key = "code.created.worker_subclass";
    return t(key, params) + (event.daemon ? t("code.daemon_suffix") : "");
  }
  const key = keyFor("code", event);
  return has(key) ? t(key, params) : eventSummary(event, lookup);
}

/** A LabError ack, in the viewer's language: error.<code> with its params
 * (a bad_input by its params.reason: bad_input.<reason>), falling back to the
 * server's English message. */
export function errorText(ack) {
  const code = ack?.code ?? "unknown";
  const params = { ...(ack?.params ?? {}) };
  params.detail = ack?.error ?? "";
  if (code === "bad_input" && params.reason && has(`bad_input.${params.reason}`)) {
    return t("error.bad_input", { detail: t(`bad_input.${params.reason}`, params) });
  }
  if (params.state) params.state = stateName(params.state);
  if (params.action && has(`verb.${params.action}`)) params.action = t(`verb.${params.action}`);
  if (has(`error.${code}`)) return t(`error.${code}`, params);
  return ack?.error || t("error.unknown");
}

// -- the words of a node in the process tree (tree.js draws them) --------------------

/** A node's first line: its role and name (a puzzle's process: its name, a, b…). */
export function nodeHeading(proc) {
  if (proc.role === "puzzle") return t("node.puzzle_title", { name: proc.name ?? proc.uid });
  return t("node.title", { role: roleName(proc.role), name: proc.name ?? proc.uid });
}

/** The tag in a node's band: orphan, else daemon or not. */
export function nodeTag(proc, orphan) {
  if (orphan) return t("node.orphan");
  return t(proc.daemon ? "node.daemon_yes" : "node.daemon_no");
}

/** A node's second line, in four parts: pid label and value, ppid label and value. */
export function nodeIds(proc) {
  return {
    pidLabel: t("node.pid"), pid: String(proc.pid ?? t("node.no_pid")),
    ppidLabel: t("node.ppid"), ppid: String(proc.ppid ?? t("value.none")),
  };
}

/** What follows the state's name on a node's third line: the exit code; for a
 * zombie without one, that it is unknown; when the box has no room for the
 * connection line (*lines* < 4), that a worker serves an outside connection. */
export function nodeStateExtra(proc, lines) {
  const code = proc.exitcode;
  if (code !== null && code !== undefined) return t("node.exit", { code });
  // stopped at a gate (step / slow mode): the one thing the room must see on it
  if (proc.gate && proc.state === "running") return gateLabel(proc);
  if (proc.state === "zombie") return t("node.exit_unknown");
  if (lines < 4 && proc.role === "worker" && !proc.client_pid && proc.peer) {
    return t("node.external_short");
  }
  return "";
}

/** A node's tooltip and accessible name. *reap* is explain.js reapHint() of
 * the process (who must reap this zombie), or null. */
export function nodeTitle(proc, orphan, reap = null) {
  const lines = [t("node.select_title", { role: roleName(proc.role), name: proc.name })];
  if (orphan) {
    lines.push(t("node.orphan_title", { ppid: proc.ppid ?? "?", old_ppid: proc.old_ppid ?? proc.ppid ?? "?" }));
  }
  if (reap) lines.push(reap.long);
  return lines.join("\n");
}

/** The fourth line of a node: where its connection goes, or what it listens on;
 * for a zombie, who must reap it and with which call (*reap*, explain.js
 * reapHint()). *echo* is the echo server's address; a client's `said` is what
 * its server said before it closed the connection. */
export function connectionLine(p, echo, reap = null, model = null) {
  if (p.state === "zombie") {
    // Whatever it was connected to, a process that has exited holds no socket.
    return reap ? reap.short : t("node.exit_line", { meaning: exitBrief(p.exitcode) });
  }
  if (p.state === "joined") return t("node.exit_line", { meaning: exitBrief(p.exitcode) });
  if (p.role === "server") {
    return p.state === "running" && echo?.port
      ? t("node.listen", { addr: formatAddress([echo.host, echo.port]) })
      : t("node.listen_none");
  }
  if (p.role === "worker") {
    const addr = formatAddress(p.peer) ?? t("value.none");
    if (p.connection === "closed") return t("node.worker_closed", { addr });
    if (p.client_pid) return t("node.worker_client", { pid: p.client_pid, port: p.peer?.[1] ?? "?" });
    return t("node.worker_external", { addr });
  }
  if (p.role === "client") {
    if (p.connection === "closed" && p.said) return t("node.client_said", { said: p.said });
    if (p.connection === "closed") return t("node.client_closed");
    if (p.worker_pid) return t("node.client_worker", { pid: p.worker_pid });
    return t("node.client_connecting");
  }
  if (p.role === "dashboard") return t("node.dashboard_line");
  if (p.role === "puzzle") {
    // its parent in the puzzle's names, as the ppid says: a's child, c's orphan
    const up = model?.get(p.ppid);
    if (!up || up.role !== "puzzle") return t("node.puzzle_root");
    return t(p.orphaned ? "node.puzzle_adopted" : "node.puzzle_child", { parent: up.name });
  }
  if (p.role === "helper") {
    if (p.name === "forkserver") return t("node.helper.forkserver");
    if (p.name === "resource_tracker") return t("node.helper.resource_tracker");
    if (/^daemon-demo-/.test(p.name ?? "")) return t("node.helper.daemon_demo");
  }
  return "";
}

// -- group nodes: siblings the tree folded into one box (tree-layout.js) ---------------------

/** The plural of a role, for a count: "workers", "工作进程". */
function rolesName(role) {
  return t(has(`group.role.${role}`) ? `group.role.${role}` : "group.role.unknown");
}

function groupParent(group) {
  return group.parentProc?.name ?? roleName(group.parentProc?.role);
}

/** "server-1 · 40 workers" */
export function groupTitle(group) {
  return t("group.title", { parent: groupParent(group), n: group.count, role: rolesName(group.role) });
}

/** "37 running · 3 zombie" */
export function groupStates(group) {
  return Object.entries(group.states)
    .map(([state, n]) => t("group.state", { n, state: stateName(state) })).join(" · ");
}

/** "server-1 · 40 workers: 37 running · 3 zombie" */
export function groupLabel(group) {
  return t("group.label", { parent: groupParent(group), n: group.count,
    role: rolesName(group.role), states: groupStates(group) });
}

/** A group's last line: how to open it. */
export function groupExpand() {
  return t("group.expand");
}

/** The handle that folds an opened group again: "▾ fold the 40 workers" */
export function groupCollapse(role, count) {
  return t("group.collapse", { n: count, role: rolesName(role) });
}

// -- the tutorial's code: points, gates and their narration (codeview.js, the log) ----

/** A point of POINTS (app/model/schema.py) in words: what the process is about
 * to do, quoting the tutorial's line ("before conn.send(data.upper())"). */
export function pointText(role, point) {
  for (const key of [`point.${role}.${point}`, `point.any.${point}`]) {
    if (has(key)) return t(key);
  }
  return String(point ?? "?");
}

/** "paused at …" for a process waiting at a gate (its marker, its tree node); "" if it is not. */
export function gateLabel(proc) {
  return proc?.gate ? t("gate.paused", { gate: proc.gate }) : "";
}

/** Why *name* stands still at *gate*, told with the tutorial's code: the
 * narration beside the code view and in the event log. *peer* is the
 * connection a server holds at accept/start (no worker exists for it yet). */
export function gateNarration({ role, name, pid, gate, peer }) {
  const params = { name: name ?? pid ?? "?", pid: pid ?? "?", gate,
    peer: formatAddress(peer) ?? t("value.none") };
  for (const key of [`narrate.${role}.${gate}`, `narrate.any.${gate}`]) {
    if (has(key)) return t(key, params);
  }
  return t("narrate.other", params);
}

function stepSummary(event, lookup) {
  if (!["phase", "gate_wait", "gate_pass"].includes(event.type)) return null;
  const proc = lookup ? lookup(event) : null;
  const role = proc?.role ?? null;
  const name = proc?.name ?? event.uid ?? event.pid;
  if (event.type === "phase") return t("summary.phase", { name, at: event.at, point: pointText(role, event.at) });
  if (event.type === "gate_wait") {
    return gateNarration({ role, name, pid: event.pid, gate: event.gate, peer: event.peer });
  }
  const how = has(`gate_how.${event.how}`) ? t(`gate_how.${event.how}`) : (event.how ?? "");
  return t("summary.gate_pass", { name, gate: event.gate, how });
}

// -- the timeline (timeline.js) and time travel (timetravel.js, replay.js) ---------------

/** A lane's name: "worker-3 · 12727". */
export function laneLabel(row) {
  return t("timeline.lane", { name: row.name ?? row.uid ?? "?", pid: row.pid ?? t("node.no_pid") });
}

/** A group row: "▾ 12 workers" (open) or "▸ 12 workers · 3 zombie" (folded). */
export function laneGroupLabel(row) {
  const states = Object.entries(row.states ?? {})
    .filter(([state]) => state !== "running" && state !== "joined")
    .map(([state, n]) => t("group.state", { n, state: stateName(state) })).join(" · ");
  return t(row.open ? "timeline.group_open" : "timeline.group_folded",
    { n: row.count ?? 0, role: rolesName(row.role) }) + (!row.open && states ? ` · ${states}` : "");
}

/** How much time the timeline shows: "30 s", "5 min", "2 h". */
export function spanLabel(seconds) {
  if (seconds < 60) return t("timeline.span_s", { n: Math.round(seconds) });
  if (seconds < 3600) return t("timeline.span_min", { n: Math.round(seconds / 6) / 10 });
  return t("timeline.span_h", { n: Math.round(seconds / 360) / 10 });
}

/** A time-axis label: seconds shown when the span is short. */
export function timeTick(date, span) {
  const pad = (n) => String(n).padStart(2, "0");
  const hm = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return span <= 600 ? `${hm}:${pad(date.getSeconds())}` : hm;
}


/** A length of time in words: "42 s", "5 min 12 s", "1 h 3 min". */
export function durationText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("duration.s", { s });
  if (s < 3600) return t("duration.min", { min: Math.floor(s / 60), s: s % 60 });
  return t("duration.h", { h: Math.floor(s / 3600), min: Math.floor((s % 3600) / 60) });
}

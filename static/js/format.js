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

/** What an exit code means, in words: 0, exit(N), or killed by a signal. */
export function exitMeaning(code) {
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

function howKey(how) {
  return HOWS.includes(how) ? how : "join";
}

/** The backend's reaped_via, shown as the Python call it names where it is one
 * ("start() of client-5" → "client-5.start()"), else in the viewer's language. */
export function viaText(via) {
  if (!via) return "?";
  let m = /^start\(\) of (.+)$/.exec(via);
  if (m) return `${m[1]}.start()`;
  m = /^(os\.waitpid\(\d+, 0\)) by the dashboard \(subreaper\)$/.exec(via);
  if (m) return t("via.subreaper", { call: m[1] });
  if (via.startsWith("multiprocessing's exit handler")) return t("via.daemon_exit");
  if (via.startsWith("os.waitpid(forkserver pid)")) return t("via.forkserver_stop");
  return via;
}

export function reapedText(proc) {
  if (!proc.reaped_how) return "";
  return t(`reaped.${howKey(proc.reaped_how)}`, { via: viaText(proc.reaped_via) });
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
  if (event.type === "exited" || event.type === "reaped") p.meaning = exitMeaning(event.exitcode);
  if ("via" in event) p.via = viaText(event.via);
  if (event.timeout === null || event.timeout === undefined) p.timeout = "";
  if (p.start_ms === undefined || p.start_ms === null) p.start_ms = "?";
  return p;
}

export function eventName(type) {
  return has(`event.${type}`) ? t(`event.${type}`) : t("event.unknown");
}

function keyFor(prefix, event) {
  if (event.type === "reaped") return `${prefix}.reaped.${howKey(event.how)}`;
  return `${prefix}.${event.type}`;
}

/** One line for the event log. */
export function eventSummary(event, lookup) {
  const key = keyFor("summary", event);
  return has(key) ? t(key, eventParams(event, lookup)) : t("summary.unknown", { type: event.type });
}

/** What the code did, for the details panel: the Python call behind an event. */
export function eventCode(event, proc, lookup) {
  const params = eventParams(event, lookup);
  if (event.type === "created") {
    const role = proc?.role ?? event.role;
    const key = has(`code.created.${role}`) ? `code.created.${role}` : "code.created.other";
    return t(key, params);
  }
  const key = keyFor("code", event);
  return has(key) ? t(key, params) : eventSummary(event, lookup);
}

/** A LabError ack, in the viewer's language: error.<code> with its params,
 * falling back to the server's English message. */
export function errorText(ack) {
  const code = ack?.code ?? "unknown";
  const params = { ...(ack?.params ?? {}) };
  params.detail = ack?.error ?? "";
  if (params.state) params.state = stateName(params.state);
  if (params.action && has(`verb.${params.action}`)) params.action = t(`verb.${params.action}`);
  if (has(`error.${code}`)) return t(`error.${code}`, params);
  return ack?.error || t("error.unknown");
}

// Explanations for the teacher, from the model alone: who can reap a zombie
// and with which call, why an orphan hangs under the dashboard, why a process
// left without anyone calling join(), what daemon=True and forkserver change.
//
// Each explanation is {kind, key, params}: `kind` names it for tests
// (data-explain), `key` is its catalogue message.

import { t } from "./i18n.js";
import { VIA_KINDS } from "./format.js";

/** The live process that is *proc*'s parent, per its ppid. */
export function parentOf(proc, model) {
  if (proc.ppid === null || proc.ppid === undefined) return null;
  const up = model.get(proc.ppid);
  return up && up !== proc ? up : null;
}

function nameOf(proc) {
  return proc.role === "dashboard" ? t("explain.the_dashboard") : proc.name;
}

/** The parent's name even once it is gone: a worker's uid is "server-2/worker-1". */
function parentName(proc, model) {
  const up = parentOf(proc, model);
  if (up) return nameOf(up);
  const slash = (proc.uid ?? "").lastIndexOf("/");
  if (slash > 0) return proc.uid.slice(0, slash);
  return proc.ppid ?? "?";
}

function isForkserver(proc) {
  return Boolean(proc) && proc.role === "helper" && proc.name === "forkserver";
}

/** Who must reap this zombie, and how: {kind, short, long}; null if not a zombie. */
export function reapHint(proc, model) {
  if (proc.state !== "zombie") return null;
  const up = parentOf(proc, model);
  const pid = proc.pid ?? "?";
  if (proc.orphaned && proc.role === "puzzle") {   // adopted by a puzzle process
    const call = `os.waitpid(${pid}, 0)`;
    const adopter = parentName(proc, model);
    return {
      kind: "zombie-orphan",
      short: t("node.reap_adopter", { adopter, call }),
      long: t("explain.zombie_orphan_puzzle", { pid, call, adopter, ppid: proc.ppid ?? "?",
        old_ppid: proc.old_ppid ?? "?" }),
    };
  }
  if (proc.orphaned) {
    const call = `os.waitpid(${pid}, 0)`;
    return {
      kind: "zombie-orphan",
      short: t("node.reap_subreaper", { call }),
      long: t("explain.zombie_orphan", { pid, call, ppid: proc.ppid ?? "?",
        old_ppid: proc.old_ppid ?? "?" }),
    };
  }
  if (isForkserver(up)) {
    return {
      kind: "zombie-forkserver",
      short: t("node.reap_forkserver"),
      long: t("explain.zombie_forkserver", { pid, ppid: proc.ppid ?? "?" }),
    };
  }
  const parent = up ? nameOf(up) : parentName(proc, model);
  const call = `${proc.name}.join()`;
  return {
    kind: "zombie-parent",
    short: t("node.reap_join", { parent, call }),
    long: t("explain.zombie_parent", { parent, call, ppid: proc.ppid ?? "?", name: proc.name }),
  };
}

/** Every explanation that applies to *proc*, in teaching order. */
export function explanations(proc, model) {
  const out = [];
  const add = (kind, key, params = {}) => out.push({ kind, key, params });
  const pid = proc.pid ?? "?";
  const zombie = reapHint(proc, model);
  if (zombie) out.push({ kind: zombie.kind, text: zombie.long });
  if ((proc.state === "zombie" || proc.state === "joined")
      && (proc.exitcode === null || proc.exitcode === undefined)) {
    add("exit-unknown", "explain.exit_unknown", { pid });
  }
  if (proc.state === "running" && proc.orphaned) {
    add("orphan", proc.role === "puzzle" ? "explain.orphan_puzzle" : "explain.orphan",
      { pid, ppid: proc.ppid ?? "?", old_ppid: proc.old_ppid ?? "?",
        adopter: parentName(proc, model) });
  }
  if (proc.state === "joined" && VIA_KINDS.includes(proc.reaped_via_kind)) {
    const call = proc.reaped_via_call ?? proc.reaped_via ?? "?";
    const key = proc.reaped_via_kind === "forkserver" && !proc.reaped_via_call
      ? "explain.reaped.forkserver_nocall" : `explain.reaped.${proc.reaped_via_kind}`;
    add(`reaped-${proc.reaped_via_kind}`, key, { call, pid, parent: parentName(proc, model),
      name: proc.name });
  }
  if (proc.role === "worker" && proc.start_method === "forkserver" && proc.state !== "joined") {
    add("forkserver", "explain.forkserver", { ppid: proc.ppid ?? "?" });
  }
  if (proc.daemon && proc.role === "worker" && proc.state === "running") {
    add("daemon", "explain.daemon", { parent: parentName(proc, model) });
  }
  if (proc.role === "helper") {
    const which = isForkserver(proc) ? "forkserver"
      : proc.name === "resource_tracker" ? "resource_tracker"
        : /^daemon-demo-/.test(proc.name ?? "") ? "daemon_demo" : null;
    if (which) add(`helper-${which}`, `explain.helper.${which}`, { pid });
  }
  return out.map((e) => ({ kind: e.kind, text: e.text ?? t(e.key, e.params) }));
}

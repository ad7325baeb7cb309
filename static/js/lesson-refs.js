// A lesson names processes by their place in the live lab, not by pid — pids
// are only known when the lesson runs. This module resolves those references
// against the page's model (model.js), the same table the tree draws. Pure:
// a model in, pids out. The grammar is app/lessons/__init__.py's REF:
//
//   @dashboard             the dashboard
//   @server                the newest server not yet reaped (running or a zombie)
//   @client:N, @worker:N   the Nth not yet reaped, oldest first (by its start);
//                          -1 the newest, -2 the one before...
//   @worker_of:client:N    that client's worker (the model pairs them by address)
//   @workers               every worker not yet reaped, oldest first
//   @live                  every process not yet reaped
//
// A reference that names no process resolves to null (one) or [] (several):
// the caller says so rather than send an action with no pid.

const REF = /^@(dashboard|server|workers|live|(client|worker):(-?[1-9]\d*)|worker_of:client:(-?[1-9]\d*))$/;
export const LIST_REFS = new Set(["@workers", "@live"]);

/** Is *value* a reference (a string the grammar accepts)? */
export function isRef(value) {
  return typeof value === "string" && REF.test(value);
}

/** Not yet reaped processes of *role*, oldest first (started_t, then pid). */
export function ofRole(model, role) {
  return model.live().filter((p) => p.role === role && p.pid)
    .sort((a, b) => (a.started_t ?? 0) - (b.started_t ?? 0) || a.pid - b.pid);
}

function nth(list, n) {
  const i = n > 0 ? n - 1 : list.length + n;
  return list[i] ?? null;
}

/** The process *ref* names, or null; for @workers and @live, the list. */
export function resolveProcs(ref, model) {
  const m = REF.exec(ref ?? "");
  if (!m) throw new Error(`not a lesson reference: ${ref}`);
  const [, whole, role, n, ofClient] = m;
  if (whole === "dashboard") return model.dashboard();
  if (whole === "server") return ofRole(model, "server").at(-1) ?? null;
  if (whole === "workers") return ofRole(model, "worker");
  if (whole === "live") return model.live().filter((p) => p.pid);
  if (role) return nth(ofRole(model, role), Number(n));
  const client = nth(ofRole(model, "client"), Number(ofClient));
  const worker = client?.worker_pid ? model.get(client.worker_pid) : null;
  return worker ?? null;
}

/** The pid *ref* names (null), or for a list reference the pids ([]). */
export function resolve(ref, model) {
  const found = resolveProcs(ref, model);
  if (Array.isArray(found)) return found.map((p) => p.pid);
  return found?.pid ?? null;
}

/**
 * An action's arguments with each reference replaced by its pid now:
 * {payload, missing} — *missing* lists the references that named nobody
 * (the action must not be sent then).
 */
export function fillArgs(args, model) {
  const payload = {};
  const missing = [];
  for (const [key, value] of Object.entries(args ?? {})) {
    if (isRef(value)) {
      const pid = resolve(value, model);
      if (pid === null || Array.isArray(pid)) missing.push(value);
      payload[key] = pid;
    } else {
      payload[key] = value;
    }
  }
  return { payload, missing };
}

/** A process by pid, not yet reaped or, failing that, the last reaped one with it. */
export function byPid(model, pid) {
  const live = model.get(pid);
  if (live) return live;
  let found = null;
  for (const p of model.procs.values()) if (p.pid === pid) found = p;
  return found;
}

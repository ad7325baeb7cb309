// What really happened, after a lesson's action: each rule names the choice of
// the step's question that came true, and the facts that show it — read from
// the model, from /proc (GET /api/truth: psutil's ppid and status for every
// process the model has not reaped) and from the actions' own answers. Pure:
// everything comes in ctx, nothing is fetched here (lessons.js fetches).
//
//   ctx = { watch,         what the step's truth.watch named BEFORE the action:
//                          a pid, or a list of pids (@workers, @live)
//           acks,          [{action, ok, body}] — the step's actions, answered
//           model,         the page's model (model.js) after the action
//           os(pid),       /proc's {ppid, status, letter}, or null if it has no
//                          such process
//           dashboardPid,
//           cpu }          {cores, peak: [% per core during the action],
//                          lab: the lab processes' CPU together at most, % of a core}
//
// A rule is {ready(ctx), judge(ctx)}: ready() says the model has caught up
// with what the action did (the page waits for it, briefly, before judging);
// judge() returns {truth: a choice's key (or null: none came true), facts:
// [{key, params}]} — facts are catalogue keys (lesson.fact.*), so each page
// shows them in its own language.

import { byPid } from "./lesson-refs.js";

const list = (watch) => (Array.isArray(watch) ? watch : watch === null || watch === undefined ? [] : [watch]);
const ackOf = (ctx, action) => ctx.acks.find((a) => a.action === action && a.ok)?.body ?? null;

/** One process as /proc and the model have it, as a fact. */
export function processFact(ctx, pid) {
  const p = byPid(ctx.model, pid) ?? {};
  const seen = ctx.os(pid);
  const base = { name: p.name ?? "?", pid };
  if (!seen) {
    return { key: "lesson.fact.gone", params: { ...base, exitcode: p.exitcode ?? "?",
      via: p.reaped_via_call ?? p.reaped_via ?? "?" } };
  }
  if (seen.status === "zombie") {
    return { key: "lesson.fact.zombie", params: { ...base, exitcode: p.exitcode ?? "?" } };
  }
  const parent = parentOf(ctx, seen.ppid);
  const params = { ...base, letter: seen.letter, ppid: seen.ppid, ...parent };
  if (p.orphaned) return { key: "lesson.fact.orphan", params: { ...params, old_ppid: p.old_ppid ?? "?" } };
  return { key: "lesson.fact.alive", params };
}

/** {parent_role, parent_name} of the process with pid *ppid*, for a fact. */
function parentOf(ctx, ppid) {
  if (ppid === 1) return { parent_role: "init", parent_name: null };
  if (ppid === ctx.dashboardPid) return { parent_role: "dashboard", parent_name: null };
  const parent = byPid(ctx.model, ppid);
  return { parent_role: parent?.role ?? "unknown", parent_name: parent?.name ?? null };
}

/** What became of one process, in the words of the fate questions. */
function fateOf(ctx, pid) {
  const seen = ctx.os(pid);
  if (!seen) return "died";
  if (seen.status === "zombie") return "zombies";
  if (seen.ppid === ctx.dashboardPid) return "dashboard";
  if (seen.ppid === 1) return "init";
  return "unchanged";
}

/** The most frequent of *keys* (ties: the first to reach the count). */
function most(keys) {
  const counts = new Map();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  let best = null;
  for (const [k, n] of counts) if (best === null || n > counts.get(best)) best = k;
  return best;
}

function settled(p) {
  return p && (p.state === "zombie" || p.state === "joined");
}

export const RULES = {
  /** How many processes are there now that were not before (@live)? */
  new_processes: {
    ready: (ctx) => ctx.model.live().filter((p) => p.role === "client" && !list(ctx.watch).includes(p.pid))
      .every((c) => c.worker_pid),
    judge(ctx) {
      const before = new Set(list(ctx.watch));
      const fresh = ctx.model.live().filter((p) => p.pid && !before.has(p.pid))
        .sort((a, b) => a.pid - b.pid);
      return { truth: String(fresh.length), facts: [
        { key: "lesson.fact.new_processes", params: { n: fresh.length,
          names: fresh.map((p) => `${p.name} (${p.pid})`).join(", ") } },
        ...fresh.map((p) => processFact(ctx, p.pid))] };
    },
  },

  /** Whose child is it, as /proc says (its ppid)? dashboard, server, client, init. */
  parent_of: {
    ready: () => true,
    judge(ctx) {
      const [pid] = list(ctx.watch);
      const seen = ctx.os(pid);
      const ppid = seen ? seen.ppid : byPid(ctx.model, pid)?.ppid;
      const { parent_role: role } = parentOf(ctx, ppid);
      return { truth: ["dashboard", "server", "client", "init"].includes(role) ? role : null,
        facts: [processFact(ctx, pid)] };
    },
  },

  /** Is it still running, a zombie, or gone from /proc? */
  proc_state: {
    ready: (ctx) => list(ctx.watch).every((pid) => settled(byPid(ctx.model, pid))),
    judge(ctx) {
      const [pid] = list(ctx.watch);
      const seen = ctx.os(pid);
      const truth = !seen ? "gone" : seen.status === "zombie" ? "zombie" : "running";
      return { truth, facts: [processFact(ctx, pid)] };
    },
  },

  /** p.exitcode after the action: the server's answer, else the model's. */
  exitcode: {
    ready: (ctx) => list(ctx.watch).every((pid) => settled(byPid(ctx.model, pid))),
    judge(ctx) {
      const [pid] = list(ctx.watch);
      const answered = ctx.acks.find((a) => a.ok && a.body?.pid === pid)?.body;
      const code = answered?.exitcode ?? byPid(ctx.model, pid)?.exitcode ?? null;
      return { truth: code === null ? "none" : String(code), facts: [processFact(ctx, pid)] };
    },
  },

  /** What became of the watched processes: died, zombies, orphans adopted by
   * init or by the dashboard (or unchanged: none of those). */
  fate: {
    ready: (ctx) => list(ctx.watch).every((pid) => {
      const p = byPid(ctx.model, pid);
      return settled(p) || p?.orphaned;
    }),
    judge(ctx) {
      const pids = list(ctx.watch);
      return { truth: most(pids.map((pid) => fateOf(ctx, pid))),
        facts: pids.map((pid) => processFact(ctx, pid)) };
    },
  },

  /** p.run() called directly: in which process did run() run? */
  run_demo: {
    ready: () => true,
    judge(ctx) {
      const demo = ackOf(ctx, "run_demo");
      if (!demo) return { truth: null, facts: [] };
      return { truth: demo.run.pid === demo.caller.pid ? "same_pid" : "new_pid", facts: [
        { key: "lesson.fact.run_direct", params: { pid: demo.run.pid, ppid: demo.run.ppid,
          caller: demo.caller.pid } },
        { key: "lesson.fact.join_error", params: { error: demo.join_error ?? "—" } },
        { key: "lesson.fact.run_started", params: { pid: demo.start.pid, ppid: demo.start.ppid } }] };
    },
  },

  /** A daemonic process tried Process(...).start(): did multiprocessing let it? */
  daemon_child: {
    ready: () => true,
    judge(ctx) {
      const demo = ackOf(ctx, "daemon_demo");
      if (!demo) return { truth: null, facts: [] };
      return demo.started
        ? { truth: "started", facts: [{ key: "lesson.fact.daemon_started", params: { name: demo.name, pid: demo.pid } }] }
        : { truth: "assertion", facts: [{ key: "lesson.fact.assertion",
          params: { name: demo.name, pid: demo.pid, error: demo.error ?? "" } }] };
    },
  },

  /** Clients and workers all busy: at most how many run at one instant? As
   * many as there are cores — one, all of them, or the cores' number. */
  cores: {
    ready: () => true,
    judge(ctx) {
      const flood = ackOf(ctx, "flood");
      const clients = (flood?.clients ?? []).filter((c) => c.ok);
      const busy = 2 * clients.length;
      const cores = ctx.cpu?.cores ?? null;
      let truth = null;
      if (cores !== null && busy) truth = cores <= 1 ? "one" : cores >= busy ? "all" : "cores";
      const peak = (ctx.cpu?.peak ?? []).map((p, i) => `#${i} ${Math.round(p)}%`).join(" · ");
      return { truth, facts: [
        { key: "lesson.fact.cores", params: { cores: cores ?? "?", busy, peak: peak || "—" } },
        ...(ctx.cpu?.lab ? [{ key: "lesson.fact.lab_share",
          params: { share: Math.round(ctx.cpu.lab), cores: (ctx.cpu.lab / 100).toFixed(1) } }] : []),
        ...clients.map((c) => ({ key: "lesson.fact.flood", params: {
          name: byPid(ctx.model, c.pid)?.name ?? c.pid, pid: c.pid, rounds: c.rounds,
          worker: c.worker_pid ?? "?", served: byPid(ctx.model, c.worker_pid)?.served ?? "?" } }))] };
    },
  },
};

/** The rule's verdict: {truth, facts}. An unknown rule is a bug of the catalogue. */
export function judge(rule, ctx) {
  const found = RULES[rule];
  if (!found) throw new Error(`no truth rule ${rule}`);
  return found.judge(ctx);
}

// The page's copy of the process table: app/model/registry.py, event for
// event. A snapshot replaces it; each event after it is applied in seq order.
// Anything this copy cannot apply (unknown process, illegal step, an event
// type not in the schema, so what the registry did with it is unknown) throws
// OutOfSync: the caller then refetches /api/state rather than guess.

import { SCHEMA } from "./schema.js";

// States, steps, P's fields and which events change nothing: all from the
// schema (app/model/schema.py), never written again here.
export const STATES = SCHEMA.states.map((s) => s.name);
const ALLOWED = SCHEMA.transitions;
const JOINED_KEPT = SCHEMA.joined_kept;
const DEFAULTS = Object.fromEntries(Object.entries(SCHEMA.process).map(([f, spec]) => [f, spec.default]));

/** Event types the registry records without changing anything: applying them
 * changes nothing here either. Every other type has an on_<type> handler. */
export const IGNORED = new Set(Object.keys(SCHEMA.events)
  .filter((type) => SCHEMA.events[type].registry === "ignored"));

export class OutOfSync extends Error {}

/** A process of P: every field at its schema default, named by its uid until
 * an event names it, then *fields* (app/model/registry.py new_process). */
export function newProcess(uid, fields = {}) {
  return { ...DEFAULTS, uid, name: uid, ...fields };
}

export class Model {
  constructor() {
    this.reset({ seq: 0, echo: { host: null, port: null }, processes: [] });
  }

  reset(snapshot) {
    this.seq = snapshot.seq;
    this.echo = { ...snapshot.echo };
    this.procs = new Map();   // uid -> process
    this.byPid = new Map();   // pid -> uid, not yet reaped
    this.joined = [];         // uids of reaped processes, oldest first
    for (const p of snapshot.processes) {
      this.procs.set(p.uid, { ...p });
      if (p.state === "joined") this.joined.push(p.uid);
      else if (p.pid !== null && p.pid !== undefined) this.byPid.set(p.pid, p.uid);
    }
    this.joined.sort((a, b) => (this.procs.get(a).exited_t ?? 0) - (this.procs.get(b).exited_t ?? 0));
  }

  // -- queries ----------------------------------------------------------------
  get(pid) {
    const uid = this.byPid.get(pid);
    return uid ? this.procs.get(uid) : null;
  }

  live() {
    return [...this.procs.values()].filter((p) => p.state !== "joined");
  }

  finished() {
    return this.joined.map((uid) => this.procs.get(uid)).filter(Boolean);
  }

  dashboard() {
    return [...this.procs.values()].find((p) => p.role === "dashboard") || null;
  }

  // -- applying events --------------------------------------------------------
  apply(event) {
    if (event.anomaly) throw new OutOfSync(`the registry flagged: ${event.anomaly}`);
    const handler = this[`on_${event.type}`];
    if (handler) handler.call(this, event);
    else if (!IGNORED.has(event.type)) throw new OutOfSync(`unknown event type ${event.type}`);
    this.seq = event.seq;
  }

  find(event) {
    if (event.uid && this.procs.has(event.uid)) return this.procs.get(event.uid);
    const uid = this.byPid.get(event.pid);
    if (!uid) throw new OutOfSync(`no live process with pid ${event.pid}`);
    return this.procs.get(uid);
  }

  move(proc, state) {
    if (!ALLOWED[proc.state]?.includes(state)) {
      throw new OutOfSync(`${proc.uid}: ${proc.state} -> ${state}`);
    }
    proc.state = state;
    proc.alive = state === "running";
  }

  ensure(event) {
    if (!this.procs.has(event.uid)) {
      this.procs.set(event.uid, newProcess(event.uid, {
        role: event.role ?? null, name: event.name ?? event.uid,
      }));
    }
    return this.procs.get(event.uid);
  }

  running(proc, event) {
    proc.pid = event.pid;
    this.byPid.set(event.pid, proc.uid);
    if (proc.state === "created") this.move(proc, "running");
  }

  on_created(event) {
    Object.assign(this.ensure(event), {
      ppid: event.by, daemon: event.daemon ?? false, peer: event.peer ?? null,
    });
  }

  on_started(event) {
    const proc = this.ensure(event);
    Object.assign(proc, {
      ppid: event.ppid, daemon: event.daemon ?? false, start_ms: event.start_ms ?? null,
      started_t: event.t, role: event.role ?? null, start_method: event.start_method ?? null,
      style: event.style ?? null,
    });
    if (event.peer !== undefined && event.peer !== null) {
      proc.peer = event.peer;
      // the worker's own conn_closed may already be in: it runs while the
      // server is still writing "started" (lab processes write in parallel)
      proc.connection = proc.connection || "open";
    }
    this.running(proc, event);
    this.link(proc);
  }

  on_hello(event) {
    const uid = event.uid || event.name;
    const proc = this.ensure({ ...event, uid });
    Object.assign(proc, { ppid: event.ppid, daemon: event.daemon ?? false, role: event.role ?? null });
    this.running(proc, event);
  }

  on_exited(event) {
    const proc = this.find(event);
    this.move(proc, "zombie");
    // a process killed while it waited at a gate waits no more
    Object.assign(proc, {
      exitcode: event.exitcode, exited_t: event.t, gate: null, gate_since: null, gate_peer: null,
    });
  }

  on_phase(event) {
    this.find(event).at = event.at;
  }

  /** Stopped at a gate: it is also the point it has reached. */
  on_gate_wait(event) {
    Object.assign(this.find(event), {
      gate: event.gate, at: event.gate, gate_since: event.t, gate_peer: event.peer ?? null,
    });
  }

  on_gate_pass(event) {
    Object.assign(this.find(event), { gate: null, gate_since: null, gate_peer: null });
  }

  on_reaped(event) {
    const proc = this.find(event);
    this.move(proc, "joined");
    Object.assign(proc, {
      exitcode: event.exitcode, reaped_how: event.how ?? null, reaped_via: event.via ?? null,
      reaped_via_kind: event.via_kind ?? null, reaped_via_call: event.via_call ?? null,
    });
    if (this.byPid.get(proc.pid) === proc.uid) this.byPid.delete(proc.pid);
    this.joined.push(proc.uid);
    while (this.joined.length > JOINED_KEPT) this.procs.delete(this.joined.shift());
  }

  on_signalled(event) {
    this.find(event).last_signal = event.signal ?? null;
  }

  on_listening(event) {
    this.echo = { host: event.host, port: event.port };
  }

  on_served(event) {
    this.find(event).served += event.count ?? 1;
  }

  on_conn_closed(event) {
    this.find(event).connection = "closed";
  }

  on_connected(event) {
    const proc = this.find(event);
    Object.assign(proc, { local: event.local, connection: "open" });
    this.link(proc);
  }

  on_disconnected(event) {
    Object.assign(this.find(event), { connection: "closed", said: event.said ?? null });
  }

  on_client_closed(event) {
    this.find(event).connection = "closed";
  }

  on_echo(event) {
    this.find(event).echoes += 1;
  }

  /** Round trips sent back to back (a lesson on concurrency), counted once. */
  on_flooded(event) {
    this.find(event).echoes += event.count;
  }

  /** Its parent died; the kernel gave it to the subreaper (the dashboard). */
  on_reparented(event) {
    Object.assign(this.find(event), { ppid: event.ppid, orphaned: true, old_ppid: event.old_ppid });
  }

  /** Pair a client with its worker: the worker's peer is the client's local address. */
  link(proc) {
    let want, otherRole, mine, key;
    if (proc.role === "client" && proc.local) {
      [want, otherRole, mine, key] = [proc.local, "worker", "worker_pid", "peer"];
    } else if (proc.role === "worker" && proc.peer) {
      [want, otherRole, mine, key] = [proc.peer, "client", "client_pid", "local"];
    } else {
      return;
    }
    for (const other of this.procs.values()) {
      if (other.role === otherRole && sameAddress(other[key], want)
          && other.state !== "joined" && other.pid) {
        proc[mine] = other.pid;
        other[mine === "worker_pid" ? "client_pid" : "worker_pid"] = proc.pid;
        return;
      }
    }
  }
}

export function sameAddress(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length
    && a.every((part, i) => part === b[i]);
}

export function formatAddress(addr) {
  if (!Array.isArray(addr) || addr.length < 2) return null;
  return `${addr[0]}:${addr[1]}`;
}

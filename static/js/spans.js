// Lifespans: each process's life as times on the lab's clock — when it was
// created, started running, exited (a zombie from then), was reaped
// (joined) — with its gate waits, its events and every echo between a client
// and its worker. Folded from a snapshot and the events after it, one event
// at a time, like the model (model.js), but keeping *when* rather than only
// *what is now*. Pure: no DOM; timeline-layout.js turns spans into lanes.
//
// A process already there in the snapshot started before what was seen:
// its times come from the snapshot's fields (started_t, exited_t) where it
// has them, else they are null — "before the record began", drawn from the
// timeline's left edge. A process the snapshot lists as joined was reaped at
// some moment after its exit that the snapshot does not say: `joinedAt` is
// then its exit time, flagged `joinedApprox`.
//
// Times are the reporting process's `t` (time.time() on the lab's machine):
// processes write events in parallel, so the seq order and the t order may
// differ by a millisecond or so; each transition keeps its own event's t.

export class Spans {
  constructor() {
    this.clear();
  }

  clear() {
    this.lanes = new Map();     // uid -> lane
    this.byPid = new Map();     // pid -> uid, not yet reaped (as the model keeps it)
    this.echoes = [];           // {seq, t, rtt, client, worker}: client and worker uids
    this.maxRtt = 0;            // the longest round trip (s): a stepped one lasts minutes
    this.about = new Map();     // seq -> the uid of the process the event was about, then
    this.tMin = null;           // the earliest and latest t seen
    this.tMax = null;
    this.firstSeq = null;
    this.lastSeq = 0;
    this.version = 0;           // changes with every change: the view redraws on it
  }

  /** A snapshot: the start, or (after a gap: a resync) what changed meanwhile. */
  start(snapshot, { t = null } = {}) {
    if (this.firstSeq !== null && snapshot.seq < this.lastSeq) this.clear();
    if (this.firstSeq === null) this.firstSeq = snapshot.seq;
    const pids = new Map(snapshot.processes.filter((p) => p.pid != null).map((p) => [p.pid, p.uid]));
    for (const p of snapshot.processes) {
      const lane = this.ensure(p.uid, p.role, p.name, snapshot.seq);
      lane.pid = p.pid ?? lane.pid;
      lane.parent = lane.parent ?? parentUid(p, pids);
      lane.orphaned = Boolean(p.orphaned);
      lane.daemon = Boolean(p.daemon);
      lane.exitcode = p.exitcode ?? lane.exitcode;
      // The snapshot's times fill what no event said (a process older than the record).
      if (p.state !== "created") lane.runningAt ??= p.started_t ?? null;
      if (p.state === "zombie" || p.state === "joined") lane.zombieAt ??= p.exited_t ?? t;
      if (p.state === "joined" && lane.joinedAt === null) {
        lane.joinedAt = p.exited_t ?? t;
        lane.joinedApprox = true;
      }
      lane.state = laterState(lane.state, p.state);
      if (p.state !== "joined" && p.pid != null) this.byPid.set(p.pid, p.uid);
      else if (this.byPid.get(p.pid) === p.uid) this.byPid.delete(p.pid);
    }
    this.lastSeq = Math.max(this.lastSeq, snapshot.seq);
    if (t !== null) this.seeTime(t);
    this.version += 1;
  }

  /** Become *other* (a Spans rebuilt from further back), keeping this object. */
  adopt(other) {
    Object.assign(this, other);
    this.version += 1;
  }

  ensure(uid, role, name, seq) {
    let lane = this.lanes.get(uid);
    if (!lane) {
      lane = {
        uid, name: name ?? uid, role: role ?? null, pid: null, parent: null, seq,
        state: "created", createdAt: null, runningAt: null, zombieAt: null, joinedAt: null,
        joinedApprox: false, exitcode: null, orphaned: false, daemon: false,
        gates: [], ticks: [],
      };
      this.lanes.set(uid, lane);
    } else {
      if (role && !lane.role) lane.role = role;
      if (name && lane.name === uid) lane.name = name;
    }
    return lane;
  }

  seeTime(t) {
    if (typeof t !== "number") return;
    if (this.tMin === null || t < this.tMin) this.tMin = t;
    if (this.tMax === null || t > this.tMax) this.tMax = t;
  }

  find(event) {
    if (event.uid && this.lanes.has(event.uid)) return this.lanes.get(event.uid);
    const uid = this.byPid.get(event.pid);
    return uid ? this.lanes.get(uid) : null;
  }

  /** One event after the snapshot, in seq order. */
  add(event) {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    this.seeTime(event.t);
    const on = HANDLERS[event.type];
    const lane = on ? on(this, event) : this.find(event);
    if (lane) {
      lane.ticks.push({ seq: event.seq, t: event.t, type: event.type });
      this.about.set(event.seq, lane.uid);
    }
    this.version += 1;
  }

  /** The uid of the process event *seq* was about, as its pid named it then
   * (a pid is reused once reaped: the log's words must not follow it). */
  uidOf(seq) {
    return this.about.get(seq) ?? null;
  }

  running(lane, event, ppid) {
    if (event.pid != null) {
      lane.pid = event.pid;
      this.byPid.set(event.pid, lane.uid);
    }
    lane.parent ??= this.byPid.get(ppid) ?? null;
    lane.daemon = Boolean(event.daemon ?? lane.daemon);
    lane.runningAt = lane.runningAt === null ? event.t : Math.min(lane.runningAt, event.t);
    lane.state = laterState(lane.state, "running");
  }
}

// What each event type does to the spans; every other type is only a tick
// on its process's lane. Each returns the lane the event is about.
const HANDLERS = {
  created(spans, e) {
    const lane = spans.ensure(e.uid, e.role, e.name, e.seq);
    lane.createdAt ??= e.t;
    lane.parent ??= spans.byPid.get(e.by) ?? null;
    lane.daemon = Boolean(e.daemon);
    return lane;
  },
  started(spans, e) {
    const lane = spans.ensure(e.uid, e.role, e.name, e.seq);
    spans.running(lane, e, e.ppid);
    return lane;
  },
  hello(spans, e) {
    const lane = spans.ensure(e.uid || e.name, e.role, e.name, e.seq);
    spans.running(lane, e, e.ppid);
    return lane;
  },
  exited(spans, e) {
    const lane = spans.find(e);
    if (!lane) return null;
    lane.zombieAt ??= e.t;
    lane.exitcode = e.exitcode ?? null;
    lane.state = laterState(lane.state, "zombie");
    closeGate(lane, e.t);                 // killed while it waited: it waits no more
    return lane;
  },
  reaped(spans, e) {
    const lane = spans.find(e);
    if (!lane) return null;
    lane.zombieAt ??= e.t;
    lane.joinedAt ??= e.t;
    lane.exitcode = e.exitcode ?? lane.exitcode;
    lane.state = "joined";
    if (spans.byPid.get(lane.pid) === lane.uid) spans.byPid.delete(lane.pid);
    return lane;
  },
  reparented(spans, e) {
    const lane = spans.find(e);
    if (lane) lane.orphaned = true;
    return lane;
  },
  gate_wait(spans, e) {
    const lane = spans.find(e);
    if (!lane) return null;
    closeGate(lane, e.t);
    lane.gates.push({ gate: e.gate, from: e.t, to: null, seq: e.seq });
    return lane;
  },
  gate_pass(spans, e) {
    const lane = spans.find(e);
    if (lane) closeGate(lane, e.t);
    return lane;
  },
  echo(spans, e) {
    const client = spans.byPid.get(e.client_pid ?? e.pid) ?? null;
    const worker = spans.byPid.get(e.worker_pid) ?? null;
    if (client && worker) {
      const rtt = (e.rtt_ms ?? 0) / 1000;
      spans.echoes.push({ seq: e.seq, t: e.t, rtt, client, worker });
      spans.maxRtt = Math.max(spans.maxRtt, rtt);
    }
    return spans.find(e);
  },
};

function closeGate(lane, t) {
  const open = lane.gates.at(-1);
  if (open && open.to === null) open.to = Math.max(open.from, t);
}

const STATE_RANK = { created: 0, running: 1, zombie: 2, joined: 3 };

function laterState(a, b) {
  return (STATE_RANK[b] ?? 0) > (STATE_RANK[a] ?? 0) ? b : a;
}

/** The parent of a snapshot's process: the process its ppid names, else the
 * one its uid says it was made by ("server-1/worker-3" → "server-1"). */
function parentUid(p, pids) {
  const byPid = pids.get(p.ppid);
  if (byPid && byPid !== p.uid) return byPid;
  const slash = (p.uid ?? "").lastIndexOf("/");
  return slash > 0 ? p.uid.slice(0, slash) : null;
}

/**
 * The stretches of *lane*'s life: [{state, from, to, open}], `open` when it
 * lasts to *now* (still in that state). A time not known (before the record)
 * is -Infinity: the layout clips it to the view's left edge.
 */
export function segmentsOf(lane, now) {
  const out = [];
  const add = (state, from, to) => {
    const end = to ?? now;
    out.push({ state, from, to: Math.max(from, end), open: to === null });
  };
  const { createdAt, runningAt, zombieAt, joinedAt } = lane;
  if (createdAt !== null) add("created", createdAt, runningAt ?? zombieAt ?? joinedAt);
  else if (lane.state === "created") add("created", -Infinity, null);
  if (runningAt !== null || lane.state !== "created") {
    add("running", runningAt ?? -Infinity, zombieAt ?? joinedAt);
  }
  if (zombieAt !== null) add("zombie", zombieAt, joinedAt);
  return out;
}

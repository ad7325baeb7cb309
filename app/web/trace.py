"""A recorded session as a Chrome / Perfetto trace (the Trace Event Format).

Pure: a snapshot and the events after it in, one JSON-ready dict out —
``{"traceEvents": [...], "displayTimeUnit": "ms"}`` — that Perfetto's UI
(ui.perfetto.dev, which also runs offline once loaded) and ``chrome://tracing``
open as they are.

The Trace Event Format (Google's "Trace Event Format" document, mirrored in
catapult's docs/trace-event-format.md) is a list of events, each with a phase
``ph``, a process ``pid``, a thread ``tid`` and a time ``ts`` in microseconds.
What a lecture becomes:

* one **process track per process** of the session, with its real pid: ``M``
  (metadata) events name it ``worker-3 (worker) · ppid 1234`` — the tree's
  parent link is in the name, since the format has no notion of a parent —
  and sort the tracks so that each process comes right after its parent
  (``process_sort_index``, depth-first from the dashboard);
* ``X`` (complete) slices: ``running`` from ``started`` to ``exited``,
  ``zombie`` from ``exited`` to ``reaped`` — the zombie time a lecture is
  about, as a bar you can measure; a process still running (or still a zombie)
  at the end of the recording ends there;
* an ``i`` (instant) event for every event, on the track of the process it is
  about (its ``by`` when it has no pid yet: ``created``), the event as ``args``;
* for every echo, two **flows** (``s`` → ``f``): client → worker (the request)
  and worker → client (the reply). The client's side is an ``X`` slice of the
  round trip it measured; the worker's side is the ``served`` event of that
  worker within the round trip when there is one, else the middle of the round
  trip, within the worker's life (the workers coalesce ``served`` events, and
  a new worker's set-up can take most of its first round trip;
  ``args.estimated`` says so).

Times are relative to the earliest time in the recording: the header's
``started``, or an earlier ``started_t`` of a process in the snapshot.

A pid the kernel gave to two processes of one session (reused once the first
was reaped) would merge their tracks; the later one gets ``pid + REUSED *
n`` as its track id and says so in its name (``(pid 1234, reused)``).
"""

from app.model.states import State

REUSED = 4_194_304  # /proc/sys/kernel/pid_max's largest value: no real pid is this big
ROLE_ORDER = {"dashboard": 0, "server": 1, "worker": 2, "client": 3, "helper": 4}


class _Track:
    """One process of the session: its uid, real pid, track id, life times."""

    def __init__(self, uid, pid, track):
        self.uid, self.pid, self.track = uid, pid, track
        self.name, self.role, self.ppid = uid, None, None
        self.orphaned_to = None
        self.started = self.exited = self.reaped = None
        self.state = None
        self.exitcode = None
        self.reaped_before = False  # joined already in the snapshot: reap time unknown


class _Builder:
    def __init__(self, header, snapshot, events):
        self.header, self.snapshot, self.events = header, snapshot, events
        times = [header.get("started")] + [p.get("started_t") for p in snapshot["processes"]]
        times += [e.get("t") for e in events[:1]]
        self.base = min(t for t in times if isinstance(t, (int, float)))
        self.tracks = {}        # uid -> _Track
        self.by_pid = {}        # real pid -> uid (latest)
        self.pid_uses = {}      # real pid -> how many tracks it has had
        self.out = []
        self.flow_id = 0

    def us(self, t):
        return round((t - self.base) * 1e6, 3)

    # -- tracks ---------------------------------------------------------------------
    def track_for(self, uid, pid):
        """The track of *uid*, made on first sight of its pid."""
        track = self.tracks.get(uid)
        if track is not None or pid is None:
            return track
        uses = self.pid_uses.get(pid, 0)
        self.pid_uses[pid] = uses + 1
        track = _Track(uid, pid, pid + REUSED * uses)
        self.tracks[uid] = track
        self.by_pid[pid] = uid
        return track

    def track_of_event(self, event):
        uid = event.get("uid")
        if uid in self.tracks:
            return self.tracks[uid]
        pid = event.get("pid")
        if pid is not None and pid in self.by_pid:
            return self.tracks[self.by_pid[pid]]
        if uid is not None and pid is not None:
            return self.track_for(uid, pid)
        by = event.get("by")  # created: no pid yet; the parent tells
        return self.tracks.get(self.by_pid.get(by)) if by is not None else None

    # -- building ---------------------------------------------------------------------
    def build(self):
        for p in self.snapshot["processes"]:
            track = self.track_for(p["uid"], p["pid"])
            if track is None:
                continue
            track.name, track.role, track.ppid = p.get("name") or p["uid"], p["role"], p["ppid"]
            track.state, track.exitcode = p["state"], p.get("exitcode")
            track.started = p.get("started_t")
            track.exited = p.get("exited_t")
            track.reaped_before = p["state"] == State.JOINED.value
            if p.get("orphaned"):
                track.ppid, track.orphaned_to = p.get("old_ppid"), p["ppid"]
        served = {}  # worker pid -> [t of its served events]
        for event in self.events:
            track = self.follow(event)
            if event.get("type") == "served" and event.get("pid") is not None:
                served.setdefault(event["pid"], []).append(event["t"])
            if track is not None and isinstance(event.get("t"), (int, float)):
                self.instant(track, event)
        end = max([e["t"] for e in self.events if isinstance(e.get("t"), (int, float))]
                  + [self.base])
        for track in self.tracks.values():
            self.lifetime(track, end)
        for event in self.events:
            if event.get("type") == "echo":
                self.echo(event, served)
        return {"traceEvents": self.metadata() + self.out, "displayTimeUnit": "ms",
                "otherData": {"format": self.header.get("format"),
                              "session": self.header.get("session"),
                              "started": self.header.get("started"),
                              "host": self.header.get("host"),
                              "first_seq": self.snapshot["seq"] + 1,
                              "last_seq": self.events[-1]["seq"] if self.events
                              else self.snapshot["seq"]}}

    def follow(self, event):
        """Keep the tracks' names and life times as the registry would."""
        kind, t = event.get("type"), event.get("t")
        if kind in ("started", "hello"):
            track = self.track_for(event.get("uid") or event.get("name"), event.get("pid"))
            if track is None:
                return None
            track.name = event.get("name") or track.name
            track.role = event.get("role") or track.role
            if track.ppid is None or kind == "started":
                track.ppid = event.get("ppid")
            if kind == "started" or track.started is None:
                track.started = t
            track.state = track.state or State.RUNNING.value
            return track
        track = self.track_of_event(event)
        if track is None:
            return None
        if kind == "exited":
            track.exited, track.exitcode = t, event.get("exitcode")
            track.state = State.ZOMBIE.value
        elif kind == "reaped":
            track.reaped = t
            track.state = State.JOINED.value
            if self.by_pid.get(track.pid) == track.uid:
                del self.by_pid[track.pid]
        elif kind == "reparented":
            track.orphaned_to = event.get("ppid")
            track.ppid = event.get("old_ppid", track.ppid)
        return track

    def lifetime(self, track, end):
        start = track.started if track.started is not None else self.base
        exited = track.exited
        if track.reaped_before and (exited is None or track.started is None):
            return  # reaped before the recording began, its times unknown: nothing to draw
        self.slice(track, "running", start, exited if exited is not None else end,
                   {"pid": track.pid, "role": track.role})
        if exited is not None and not track.reaped_before:
            reaped = track.reaped if track.reaped is not None else end
            self.slice(track, "zombie", exited, reaped,
                       {"pid": track.pid, "exitcode": track.exitcode,
                        "reaped": track.reaped is not None})

    def slice(self, track, name, t0, t1, args):
        ts = self.us(t0)
        self.out.append({"name": name, "cat": "life", "ph": "X", "pid": track.track,
                         "tid": track.track, "ts": ts, "dur": max(0.0, self.us(t1) - ts),
                         "args": args})

    def instant(self, track, event):
        self.out.append({"name": str(event.get("type")), "cat": "event", "ph": "i", "s": "t",
                         "pid": track.track, "tid": track.track, "ts": self.us(event["t"]),
                         "args": event})

    def echo(self, event, served):
        client = self.tracks.get(self.by_pid_at(event.get("client_pid") or event.get("pid")))
        worker = self.tracks.get(self.by_pid_at(event.get("worker_pid")))
        rtt = event.get("rtt_ms")
        if client is None or worker is None or not isinstance(rtt, (int, float)):
            return
        t1 = event["t"]
        t0 = t1 - rtt / 1000.0
        seen = [t for t in served.get(worker.pid, []) if t0 <= t <= t1]
        if seen:
            mid, estimated = seen[0], False
        else:   # the middle of the round trip, but not before the worker was there
            lo = max(t0, worker.started) if worker.started is not None else t0
            hi = min(t1, worker.exited) if worker.exited is not None else t1
            mid, estimated = min(max((t0 + t1) / 2, lo), max(lo, hi)), True
        ts0, ts1 = self.us(t0), self.us(t1)
        self.out.append({"name": "echo", "cat": "echo", "ph": "X", "pid": client.track,
                         "tid": client.track, "ts": ts0, "dur": max(0.0, ts1 - ts0),
                         "args": {"text": event.get("text"), "reply": event.get("reply"),
                                  "rtt_ms": rtt, "seq": event.get("seq")}})
        tm = self.us(mid)
        for name, (a, ta), (b, tb) in (("request", (client, ts0), (worker, tm)),
                                       ("reply", (worker, tm), (client, ts1))):
            self.flow_id += 1
            common = {"name": name, "cat": "echo", "id": self.flow_id}
            self.out.append({**common, "ph": "s", "pid": a.track, "tid": a.track, "ts": ta,
                             "args": {"seq": event.get("seq"), "estimated": estimated}})
            self.out.append({**common, "ph": "f", "bp": "e", "pid": b.track, "tid": b.track,
                             "ts": tb})

    def by_pid_at(self, pid):
        """The uid whose track has this real pid (the latest one)."""
        found = [t.uid for t in self.tracks.values() if t.pid == pid]
        return found[-1] if found else None

    def metadata(self):
        """``process_name``, ``process_sort_index`` and ``thread_name`` for each track."""
        order = self.tree_order()
        out = []
        for index, track in enumerate(order):
            label = f"{track.name} ({track.role or '?'})"
            if track.ppid is not None:
                label += f" · ppid {track.ppid}"
            if track.orphaned_to is not None:
                label += f" → orphan of {track.orphaned_to}"
            if track.track != track.pid:
                label += f" (pid {track.pid}, reused)"
            common = {"pid": track.track, "tid": track.track, "ts": 0}
            out.append({**common, "ph": "M", "name": "process_name", "args": {"name": label}})
            out.append({**common, "ph": "M", "name": "process_sort_index",
                        "args": {"sort_index": index}})
            out.append({**common, "ph": "M", "name": "thread_name",
                        "args": {"name": track.name}})
        return out

    def tree_order(self):
        """Depth-first from the roots, children by role then start: the tree."""
        children = {}
        roots = []
        uids_by_pid = {}
        for track in self.tracks.values():
            uids_by_pid.setdefault(track.pid, track)
        for track in self.tracks.values():
            parent = uids_by_pid.get(track.ppid)
            if parent is None or parent is track:
                roots.append(track)
            else:
                children.setdefault(parent.uid, []).append(track)

        def key(track):
            return (ROLE_ORDER.get(track.role, 9), track.started or 0, track.track)

        order, stack = [], sorted(roots, key=key, reverse=True)
        seen = set()
        while stack:
            track = stack.pop()
            if track.uid in seen:
                continue
            seen.add(track.uid)
            order.append(track)
            stack.extend(sorted(children.get(track.uid, []), key=key, reverse=True))
        return order


def build(header, snapshot, events):
    """The Trace Event Format object of a recording (see the module's doc)."""
    return _Builder(header, snapshot, events).build()

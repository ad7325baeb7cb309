"""The registry: lab events in, a process table out. Pure — no processes, no
threads, no I/O — so every rule here is unit-tested with plain dicts.

Each event gets the next ``seq``; the last ``keep`` events are kept for
``/api/events``. A process is known by its ``uid`` (its unique
``multiprocessing`` name, e.g. ``worker-7``) because a pid exists only from
``start()`` on and can be reused once reaped; ``pid`` indexes the processes
that have not been reaped.
"""

from collections import deque

from app.model import schema
from app.model.states import State, transition

JOINED_KEPT = schema.JOINED_KEPT


class OutOfStep(Exception):
    """``follow`` got an event that is not the next seq: a gap (or a repeat)."""

    def __init__(self, expected, got):
        super().__init__(f"expected seq {expected}, got {got}")
        self.expected = expected
        self.got = got


def new_process(uid, **fields):
    """A process of P (``app.model.schema.PROCESS``): every field at its
    default, named by its uid until an event names it, then *fields*."""
    proc = schema.process_defaults()
    proc.update(uid=uid, name=uid)
    proc.update(fields)
    return proc


class Registry:
    def __init__(self, dashboard_pid, dashboard_ppid, keep=10_000):
        self.seq = 0
        self.events = deque(maxlen=keep)
        self.procs = {}          # uid -> process
        self.by_pid = {}         # pid -> uid, not yet reaped
        self.joined = deque()    # uids of reaped processes, oldest first
        self.echo = {"host": None, "port": None}
        self.anomalies = []
        self.procs["dashboard"] = new_process(
            "dashboard", pid=dashboard_pid, ppid=dashboard_ppid, name="dashboard",
            role="dashboard", state=State.RUNNING.value, alive=True)
        self.by_pid[dashboard_pid] = "dashboard"

    # -- queries ----------------------------------------------------------------
    def get(self, pid):
        """The live (not yet reaped) process with this pid, or None."""
        uid = self.by_pid.get(pid)
        return self.procs[uid] if uid else None

    def snapshot(self):
        return {"seq": self.seq, "echo": dict(self.echo),
                "processes": [dict(p) for p in self.procs.values()]}

    def events_after(self, seq):
        return [e for e in self.events if e["seq"] > seq]

    # -- a copy elsewhere (a viewer relay, app/relay) -----------------------------
    @classmethod
    def restore(cls, snapshot, joined=None, events=(), keep=10_000):
        """A registry at *snapshot*'s seq, to follow another one's events with
        ``follow``. *joined* is the other's reaped uids, oldest first (without
        it they are ordered by exit time, as the page does); *events* its last
        events, for ``events_after``."""
        reg = cls(0, 0, keep=keep)
        reg.procs.clear()
        reg.by_pid.clear()
        reg.seq = snapshot["seq"]
        reg.echo = dict(snapshot["echo"])
        for p in snapshot["processes"]:
            reg.procs[p["uid"]] = dict(p)
            if p["state"] != State.JOINED.value and p.get("pid") is not None:
                reg.by_pid[p["pid"]] = p["uid"]
        if joined is None:
            joined = sorted((p["uid"] for p in snapshot["processes"]
                             if p["state"] == State.JOINED.value),
                            key=lambda uid: reg.procs[uid].get("exited_t") or 0)
        reg.joined.extend(uid for uid in joined if uid in reg.procs)
        reg.events.extend(e for e in events if e["seq"] <= reg.seq)
        return reg

    def follow(self, event):
        """Apply an event another registry numbered: it must be the next seq
        (``OutOfStep`` otherwise: the caller resyncs). The other registry's
        event is what is kept and returned."""
        if event.get("seq") != self.seq + 1:
            raise OutOfStep(self.seq + 1, event.get("seq"))
        self.apply({k: v for k, v in event.items() if k != "seq"})
        self.events[-1] = event
        return event

    # -- applying events --------------------------------------------------------
    def apply(self, event):
        """Record *event*, update the table, return the event with its seq."""
        self.seq += 1
        event = dict(event, seq=self.seq)
        handler = getattr(self, "_on_" + str(event.get("type")), None)
        if handler is not None:
            try:
                handler(event)
            except Exception as exc:  # noqa: BLE001 - recorded; one bad event must not stop the hub
                event["anomaly"] = f"{type(exc).__name__}: {exc}"
                self.anomalies.append(event)
        self.events.append(event)
        return event

    def _find(self, event):
        uid = event.get("uid")
        if uid in self.procs:
            return self.procs[uid]
        return self.procs[self.by_pid[event["pid"]]]

    def _move(self, proc, new, event):
        proc["state"] = transition(proc["state"], new).value
        proc["alive"] = proc["state"] == State.RUNNING.value
        event["state"] = proc["state"]

    def _ensure(self, event):
        uid = event["uid"]
        if uid not in self.procs:
            self.procs[uid] = new_process(uid, role=event.get("role"),
                                          name=event.get("name", uid))
        return self.procs[uid]

    def _on_created(self, event):
        self._ensure(event).update(ppid=event["by"], daemon=event.get("daemon", False),
                                   peer=event.get("peer"))

    def _running(self, proc, event):
        proc["pid"] = event["pid"]
        self.by_pid[event["pid"]] = proc["uid"]
        if proc["state"] == State.CREATED.value:
            self._move(proc, State.RUNNING, event)

    def _on_started(self, event):
        proc = self._ensure(event)
        proc.update(ppid=event["ppid"], daemon=event.get("daemon", False),
                    start_ms=event.get("start_ms"), started_t=event["t"],
                    role=event.get("role"), start_method=event.get("start_method"),
                    style=event.get("style"))
        if event.get("peer") is not None:
            proc["peer"] = event["peer"]
            # the worker's own conn_closed may already be in: it runs while the
            # server is still writing "started" (lab processes write in parallel)
            proc["connection"] = proc["connection"] or "open"
        self._running(proc, event)
        self._link(proc)

    def _on_hello(self, event):
        """The child's own word on its pid and ppid; may arrive before ``started``."""
        event["uid"] = event.get("uid") or event.get("name")
        proc = self._ensure(event)
        proc.update(ppid=event["ppid"], daemon=event.get("daemon", False),
                    role=event.get("role"))
        self._running(proc, event)

    def _on_exited(self, event):
        proc = self._find(event)
        self._move(proc, State.ZOMBIE, event)
        # a process killed while it waited at a gate waits no more
        proc.update(exitcode=event["exitcode"], exited_t=event["t"], gate=None,
                    gate_since=None, gate_peer=None)

    def _on_phase(self, event):
        self._find(event)["at"] = event["at"]

    def _on_gate_wait(self, event):
        """Stopped at a gate: it is also the point it has reached."""
        self._find(event).update(gate=event["gate"], at=event["gate"],
                                 gate_since=event["t"], gate_peer=event.get("peer"))

    def _on_gate_pass(self, event):
        self._find(event).update(gate=None, gate_since=None, gate_peer=None)

    def _on_reaped(self, event):
        proc = self._find(event)
        self._move(proc, State.JOINED, event)
        proc.update(exitcode=event["exitcode"], reaped_how=event.get("how"),
                    reaped_via=event.get("via"), reaped_via_kind=event.get("via_kind"),
                    reaped_via_call=event.get("via_call"))
        if self.by_pid.get(proc["pid"]) == proc["uid"]:
            del self.by_pid[proc["pid"]]
        self.joined.append(proc["uid"])
        while len(self.joined) > JOINED_KEPT:
            self.procs.pop(self.joined.popleft(), None)

    def _on_signalled(self, event):
        self._find(event)["last_signal"] = event.get("signal")

    def _on_reparented(self, event):
        """Its parent died; the kernel gave it to the subreaper (the dashboard)."""
        proc = self._find(event)
        proc.update(ppid=event["ppid"], orphaned=True, old_ppid=event["old_ppid"])

    def _on_listening(self, event):
        self.echo = {"host": event["host"], "port": event["port"]}

    def _on_served(self, event):
        self._find(event)["served"] += event.get("count", 1)

    def _on_conn_closed(self, event):
        self._find(event)["connection"] = "closed"

    def _on_connected(self, event):
        proc = self._find(event)
        proc.update(local=event["local"], connection="open")
        self._link(proc)

    def _on_disconnected(self, event):
        self._find(event).update(connection="closed", said=event.get("said"))

    def _on_client_closed(self, event):
        self._find(event)["connection"] = "closed"

    def _on_echo(self, event):
        proc = self._find(event)
        proc["echoes"] += 1
        event["client_pid"] = proc["pid"]
        event["worker_pid"] = proc["worker_pid"]

    def _on_flooded(self, event):
        """Round trips sent back to back (a lesson on concurrency): counted
        as echoes, reported once rather than one event each."""
        self._find(event)["echoes"] += event["count"]

    def _link(self, proc):
        """Pair a client with the worker serving it: the worker's peer address is
        the client's local address (both on this machine)."""
        if proc["role"] == "client" and proc["local"]:
            want, other_role, mine = proc["local"], "worker", "worker_pid"
        elif proc["role"] == "worker" and proc["peer"]:
            want, other_role, mine = proc["peer"], "client", "client_pid"
        else:
            return
        key = "peer" if other_role == "worker" else "local"
        for other in self.procs.values():
            if (other["role"] == other_role and other[key] == want
                    and other["state"] != State.JOINED.value and other["pid"]):
                proc[mine] = other["pid"]
                other["client_pid" if mine == "worker_pid" else "worker_pid"] = proc["pid"]
                return

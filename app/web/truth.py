"""The model beside the operating system: what psutil reads from /proc.

``compare`` lists every disagreement on what matters for the lesson — does the
process exist, who is its parent, is it a zombie — so a test (or the page) can
demand that the picture equals the OS.

``SharedCheck`` is the badge's check (``detail=0``) for a whole room: every
page polls it after each change, and one walk of /proc costs the dashboard
~7 ms of CPU with 40 processes alive (~40 ms each when 20 requests come
together); a lecture hall of 300 phones would keep both cores busy after
every change. Callers within ``SHARED_FOR`` seconds of a check at the same
``seq`` share it: the model has not moved, and the answer says when /proc was
read (``at``).
"""

import threading
import time

import psutil

SHARED_FOR = 0.5   # seconds; a page polls at most every 2 s, so its checks stay distinct

STATUS_LETTER = {
    psutil.STATUS_RUNNING: "R", psutil.STATUS_SLEEPING: "S",
    psutil.STATUS_DISK_SLEEP: "D", psutil.STATUS_STOPPED: "T",
    psutil.STATUS_TRACING_STOP: "t", psutil.STATUS_ZOMBIE: "Z",
    psutil.STATUS_DEAD: "X", psutil.STATUS_IDLE: "I",
}


def os_view(pid, detail=True):
    """What /proc says of *pid*, or None if there is no such process."""
    try:
        p = psutil.Process(pid)
        with p.oneshot():
            status = p.status()
            view = {"pid": pid, "ppid": p.ppid(), "status": status,
                    "letter": STATUS_LETTER.get(status, "?")}
            if not detail or status == psutil.STATUS_ZOMBIE:
                return view
            mem = p.memory_full_info()
            view.update(rss=mem.rss, uss=mem.uss, num_fds=p.num_fds(),
                        sockets=[socket_view(c) for c in p.net_connections(kind="inet")])
            return view
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return {"pid": pid, "ppid": None, "status": "unknown", "letter": "?"}


def socket_view(conn):
    return {"fd": conn.fd, "laddr": list(conn.laddr) if conn.laddr else None,
            "raddr": list(conn.raddr) if conn.raddr else None, "status": conn.status,
            "listening": conn.status == psutil.CONN_LISTEN}


def compare(processes, detail=True, only=None):
    """``{"processes": [{model, os}], "differences": [...]}`` for a snapshot's
    processes (the live ones; joined ones only where /proc contradicts them).
    *detail* adds memory, fds and sockets — for every row, or with *only* (a
    pid) for that one row, which is then the only row returned."""
    rows, differences = [], []
    live = [p for p in processes if p["state"] in ("running", "zombie")]
    known = {p["pid"] for p in live}
    for p in live:
        seen = os_view(p["pid"], detail and (only is None or p["pid"] == only))
        if only is None or p["pid"] == only:
            rows.append({"pid": p["pid"], "model": p, "os": seen})
        if seen is None:
            differences.append(diff(p, "exists", p["state"], "no such process"))
            continue
        if seen["ppid"] != p["ppid"]:
            differences.append(diff(p, "ppid", p["ppid"], seen["ppid"]))
        if (seen["status"] == psutil.STATUS_ZOMBIE) != (p["state"] == "zombie"):
            differences.append(diff(p, "zombie", p["state"], seen["status"]))
    for p in processes:
        if p["state"] == "joined" and p["pid"] not in known:
            seen = os_view(p["pid"], detail=False)
            if seen and seen["status"] == psutil.STATUS_ZOMBIE and seen["ppid"] == p["ppid"]:
                differences.append(diff(p, "zombie", "joined", "zombie"))
    children = children_by_parent()  # one walk of /proc, not one per process
    for p in live:  # children /proc has that the model does not know
        if p["role"] == "dashboard" or p["state"] != "running":
            continue
        for child in children.get(p["pid"], ()):
            if child not in known:
                differences.append({"pid": child, "field": "exists", "model": None,
                                    "os": f"a child of {p['pid']} unknown to the model"})
    return {"processes": rows, "differences": differences}


def children_by_parent():
    """ppid -> [pid] for every process on the machine."""
    table = {}
    for proc in psutil.process_iter(["ppid"]):
        table.setdefault(proc.info["ppid"], []).append(proc.pid)
    return table


def diff(p, field, model, os_says):
    return {"pid": p["pid"], "uid": p["uid"], "field": field, "model": model, "os": os_says}


class SharedCheck:
    """``compare(processes, detail=False)`` at most once per ``SHARED_FOR``
    seconds for one ``seq``; callers that come while it runs wait for it."""

    def __init__(self, seq, snapshot, shared_for=SHARED_FOR):
        self.seq = seq                  # () -> the model's seq now (cheap)
        self.snapshot = snapshot        # () -> {"seq", "processes", ...}: the model now
        self.shared_for = shared_for
        self.lock = threading.Lock()
        self.last = None                # the last answer, with its seq and at
        self.taken = 0.0                # time.monotonic() of that check

    def read(self):
        with self.lock:
            last = self.last
            if last is not None and last["seq"] == self.seq() and \
                    time.monotonic() - self.taken < self.shared_for:
                return last
            snapshot = self.snapshot()
            self.taken = time.monotonic()
            self.last = dict(compare(snapshot["processes"], detail=False),
                             seq=snapshot["seq"], at=time.time())
            return self.last

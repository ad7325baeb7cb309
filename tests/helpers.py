"""Small tools shared by the tests: waiting on conditions, REST calls, psutil views."""

import contextlib
import os
import re
import subprocess
import sys
import threading
import time

import psutil
import requests

from app.model.schema import SERVED_EVERY


def wait_until(predicate, timeout=5.0, interval=0.02, message="condition"):
    """Poll *predicate* until it returns something truthy; fail after *timeout*."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def settled_seq(api, page=None, timeout=20):
    """The lab's seq once it has stopped moving (and *page* has applied it):
    unchanged across two readings further apart than a worker's coalescing
    window, so a ``served`` or ``phase`` still due cannot come after it."""
    seen = {}

    def quiet():
        seq, at = api.state()["seq"], time.monotonic()
        if page is not None:
            page.wait_for_function(f"() => window.forkscope.appliedSeq >= {seq}",
                                   timeout=10_000)
        if seen.get("seq") == seq and at - seen["at"] > SERVED_EVERY:
            return seq
        if seen.get("seq") != seq:
            seen.update(seq=seq, at=at)
        return None
    return wait_until(quiet, timeout=timeout, interval=0.1, message="the lab to be quiet")


class Api:
    def __init__(self, base):
        self.base = base
        self.http = requests.Session()

    def get(self, path, **kw):
        return self.http.get(self.base + path, timeout=30, **kw)

    def post(self, path, json=None, **kw):
        """Control calls are always JSON (an empty object when there is no body)."""
        return self.http.post(self.base + path, json={} if json is None else json,
                              timeout=30, **kw)

    def state(self):
        return self.get("/api/state").json()

    def processes(self, **match):
        return [p for p in self.state()["processes"]
                if all(p.get(k) == v for k, v in match.items())]

    def process(self, pid):
        found = [p for p in self.state()["processes"]
                 if p["pid"] == pid and p["state"] != "joined"]
        return found[0] if found else None

    def spawn(self, count=1):
        r = self.post("/api/clients", {"count": count})
        assert r.status_code == 201, r.text
        return r.json()["pids"]

    def send(self, pid, text):
        r = self.post(f"/api/clients/{pid}/messages", {"text": text})
        assert r.status_code == 200, r.text
        return r.json()

    def events(self, after=0):
        return self.get(f"/api/events?after={after}").json()["events"]


def os_view(pid):
    """What /proc says of *pid*: (status, ppid), or None if it does not exist."""
    assert isinstance(pid, int), f"not a pid: {pid!r}"  # psutil.Process(None) is us
    try:
        p = psutil.Process(pid)
        return p.status(), p.ppid()
    except psutil.NoSuchProcess:
        return None


def model_vs_proc(state):
    """Differences between the model's live processes and /proc (empty = agree)."""
    diffs = []
    for p in state["processes"]:
        if p["state"] in ("created",) or p["role"] == "dashboard":
            continue
        seen = os_view(p["pid"])
        if p["state"] == "joined":
            if seen is not None and seen[1] == p["ppid"] and seen[0] == "zombie":
                diffs.append((p["pid"], "joined but still a zombie in /proc"))
            continue
        if seen is None:
            diffs.append((p["pid"], f"model says {p['state']}, /proc has no such pid"))
            continue
        status, ppid = seen
        if ppid != p["ppid"]:
            diffs.append((p["pid"], f"ppid: model {p['ppid']}, /proc {ppid}"))
        if (status == psutil.STATUS_ZOMBIE) != (p["state"] == "zombie"):
            diffs.append((p["pid"], f"state: model {p['state']}, /proc {status}"))
    return diffs


def disconnect_all(sio_clients):
    """Disconnect Socket.IO clients in parallel: websocket-client's close() waits
    up to 3 s for the server's close frame, which the Werkzeug dev server does
    not always send once many messages have passed."""
    threads = [threading.Thread(target=c.disconnect) for c in sio_clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_banner(proc):
    """The dashboard URL and echo address from ``python -m app``'s first lines."""
    url_line = proc.stdout.readline()
    echo_line = proc.stdout.readline()
    url = re.search(r"(http://\S+)/", url_line).group(1)
    host, port = re.search(r"(\d+\.\d+\.\d+\.\d+):(\d+)", echo_line).groups()
    return url, (host, int(port))


@contextlib.contextmanager
def dashboard_process(*args):
    """``python -m app ARGS`` as a teacher would run it; yields (proc, url, echo
    address). Killed after the block if the test did not stop it."""
    if not {"--record", "--no-record"} & {str(a) for a in args}:
        args = (*args, "--no-record")  # a test records only where it says so
    proc = subprocess.Popen([sys.executable, "-m", "app", "--port", "0", "--echo-port", "0",
                             *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url, echo = read_banner(proc)
        yield proc, url, echo
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def kill_outright(proc, timeout=20):
    """SIGKILL a dashboard started by ``dashboard_process`` and wait until every
    process of its lab has exited on its own (each notices its parent is gone).

    Once any test has made this pytest process a child subreaper
    (``app.lab.orphans.become_subreaper`` — it stays one), the lab's orphans
    are re-parented to pytest and their exits leave zombies here: reap exactly
    those, by pid (never ``waitpid(-1)``), so nothing is left behind. Returns
    the lab's pids as they were before the kill."""
    lab = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    proc.kill()
    proc.communicate(timeout=30)

    def exited():
        for pid in lab:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    return False
            except psutil.NoSuchProcess:
                pass
        return True
    wait_until(exited, timeout=timeout, message="the killed dashboard's lab processes to exit")
    for pid in lab:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)   # ours only if it was re-parented to us
    return lab

"""Viewers: 100 concurrent Socket.IO viewers on loopback.

The viewers are python-socketio clients (websocket transport), split across
``POOLS`` processes (``bench.viewer_pool``) so that one client process's GIL
does not add its own queueing to every receipt time. Then about 200 events are
driven: connections to the echo server, each sending a few spaced messages
(accepted, created, started, hello, served..., conn_closed, exited, reaped).

Checks: every viewer receives every event from its snapshot's seq on — no gap,
no duplicate, in order — and the fan-out latency (event ``t`` -> receipt, over
every viewer and event) with its p95. The dashboard sends what it finds queued
at once as one ``events`` message (a list): each event in it counts with the
message's receipt time; ``details.messages`` says how many messages it took.
"""

import itertools
import json
import socket
import subprocess
import threading
import time

import psutil

from bench.common import PY, ROOT, AppProcess, echo_once, figure, pct, summary, wait_until

NAME = "viewers"
TITLE = "Viewers: Socket.IO fan-out"
TARGETS = {"missing": 0, "p95": 50.0}
POOLS = 2
MESSAGE = b"viewers probe"


class Pool:
    def __init__(self, url, n):
        self.proc = subprocess.Popen([PY, "-m", "bench.viewer_pool", "--url", url,
                                      "--n", str(n)], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(json.loads(line))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def message(self, index, timeout):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.lines) > index, timeout):
                raise TimeoutError("a viewer pool did not answer in time")
            msg = self.lines[index]
        if msg is None:
            raise RuntimeError("a viewer pool exited early")
        return msg

    def send(self, obj):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def stop(self, timeout=30):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def drive(echo, connections, messages, spacing):
    """Connections one after the other, each sending *messages* spaced ones."""
    for _ in range(connections):
        with socket.create_connection(echo, timeout=10) as s:
            for _ in range(messages):
                echo_once(s, MESSAGE)
                time.sleep(spacing)   # pacing the load, not synchronisation


def no_worker_running(state):
    """*state* if no worker is running any more, else None."""
    running = any(p["role"] == "worker" and p["state"] == "running"
                  for p in state["processes"])
    return None if running else state


def check(viewer, final_seq):
    """Missing, duplicate and out-of-order seqs from the snapshot seq on."""
    start = viewer["snapshot_seq"]
    seqs = [s for s in viewer["seqs"] if s <= final_seq]
    expected = set(range(start + 1, final_seq + 1))
    got = set(seqs)
    return {"missing": len(expected - got), "duplicates": len(seqs) - len(got),
            "out_of_order": sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1),
            "before_snapshot": sum(1 for s in seqs if s <= start)}


def run(quick=False, browser=True):
    n = 10 if quick else 100
    # ~9 events per connection (a worker coalesces served rounds < 0.1 s apart)
    connections, messages, spacing = (3, 3, 0.01) if quick else (22, 5, 0.02)
    pools_n = [n // POOLS + (1 if i < n % POOLS else 0) for i in range(POOLS)]
    pools = []
    with AppProcess() as app:
        dash = psutil.Process(app.pid)
        try:
            t0 = time.perf_counter()
            pools = [Pool(app.url, k) for k in pools_n if k]
            ready = [p.message(0, timeout=120) for p in pools]
            connect_s = time.perf_counter() - t0
            connected = sum(r["ready"] for r in ready)
            errors = [e for r in ready for e in r["errors"]]
            first_seq = app.state()["seq"] + 1
            dash.cpu_percent(None)
            t_drive = time.perf_counter()
            drive(app.echo, connections, messages, spacing)
            # the last worker has exited once no worker runs: then nothing more comes
            state = wait_until(lambda: no_worker_running(app.state()), timeout=30,
                               message="the last worker to exit")
            drive_s = time.perf_counter() - t_drive
            cpu = dash.cpu_percent(None)
            final_seq = state["seq"]
            for p in pools:
                p.send({"final_seq": final_seq})
            results = [p.message(1, timeout=120) for p in pools]
        finally:
            for p in pools:
                p.stop()
    viewers = [v for r in results for v in r["viewers"]]
    late = sum(r["late"] for r in results)
    checks = [check(v, final_seq) for v in viewers]
    missing = sum(c["missing"] for c in checks)
    latencies = [ms for v in viewers for s, ms in zip(v["seqs"], v["latency_ms"], strict=True)
                 if first_seq <= s <= final_seq]
    # per event: spread between the first and the last viewer to receive it
    by_seq = {}
    for v in viewers:
        for s, at in zip(v["seqs"], v["received_at"], strict=True):
            if first_seq <= s <= final_seq:
                by_seq.setdefault(s, []).append(at)
    spread = [(max(a) - min(a)) * 1000 for a in by_seq.values()]
    t_of = {s: e_t for v in viewers for s, e_t in zip(v["seqs"], v["t"], strict=True)}
    first_viewer = [(min(a) - t_of[s]) * 1000 for s, a in by_seq.items()]
    events = final_seq - first_seq + 1
    figures = [
        figure("viewers connected", connected, "", n, ">="),
        figure("events driven", events, ""),
        figure("missing events (all viewers)", missing, "", TARGETS["missing"], "<="),
        figure("duplicate / out-of-order deliveries",
               sum(c["duplicates"] + c["out_of_order"] for c in checks), "", 0, "<="),
        figure("fan-out latency p50", pct(latencies, 50), "ms"),
        figure("fan-out latency p95", pct(latencies, 95), "ms", TARGETS["p95"], "<="),
        figure("fan-out latency p99", pct(latencies, 99), "ms"),
        figure("event -> first viewer p95", pct(first_viewer, 95), "ms"),
        figure("first-to-last viewer spread p95", pct(spread, 95), "ms"),
        figure("dashboard CPU while driving", cpu, "% of a core"),
    ]
    return {"figures": figures, "details": {
        "viewers": n, "pools": len(pools), "connect_s": round(connect_s, 2),
        "connect_errors": errors, "late_viewers": late, "seq": [first_seq, final_seq],
        "connections": connections, "messages_each": messages, "spacing_s": spacing,
        "drive_s": round(drive_s, 2), "fanout_ms": summary(latencies),
        "spread_ms": summary(spread), "first_viewer_ms": summary(first_viewer),
        "deliveries": len(latencies),
        "messages": sum(v["messages"] for v in viewers),
        "events_per_message": round(sum(len(v["seqs"]) for v in viewers)
                                    / max(1, sum(v["messages"] for v in viewers)), 2),
        "expected_deliveries": events * n,
        "per_viewer": [{k: c[k] for k in c} for c in checks if any(c.values())][:20]}}

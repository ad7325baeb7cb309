"""Viewers: 100 and 300 concurrent Socket.IO viewers on loopback.

Three measurements in one run, each against its own fresh app:

1. The target figures: 100, then 300 raw viewers (``bench.lean_viewers``)
   held in one thread of one process (``RAW_POOLS``), non-blocking sockets on
   a ``selectors`` loop. A real viewer is a browser, native code on its own
   machine: each message is stamped with the kernel's receive time of the
   bytes that completed it (``SO_TIMESTAMPNS``), so the stamp is the
   dashboard's fan-out and not the time this one loop took to reach the
   300th socket. The loop's own stamps are reported beside them ("as the
   viewers' loop read it", ``details.read_ms``; ``details.pool_loop_ms`` says
   how long a message waited in the loop behind other viewers' messages).
2. Informational, no latency target: 100 python-socketio clients in
   ``SOCKETIO_POOLS`` processes (``bench.viewer_pool --client socketio``). Each
   runs a reader thread, so 50 to a process queue on one GIL and their receipt
   times carry that too (901 ms p95 with 100 in one process, 216 ms with two,
   159 ms with ten, in earlier runs). Reported as ``python-socketio: ...``
   figures; their details are under ``details.socketio``.

In each, about 200 events are driven: connections to the echo server, each
sending a few spaced messages (accepted, created, started, hello, served...,
conn_closed, exited, reaped).

Checks, for both kinds of viewer: every viewer receives every event from its
snapshot's seq on — no gap, no duplicate, in order — and the fan-out latency
(event ``t`` -> receipt, over every viewer and event) with its p95. The
dashboard sends what it finds queued at once as one ``events`` message (a
list): each event in it counts with the message's receipt time;
``details.messages`` says how many messages it took.
"""

import contextlib
import itertools
import json
import socket
import subprocess
import threading
import time

import psutil
import requests

from bench.common import PY, ROOT, AppProcess, echo_once, figure, pct, summary, wait_until
from bench.relays import RedisServer, RelayProcess, redis_missing

NAME = "viewers"
TITLE = "Viewers: Socket.IO fan-out"
TARGETS = {"missing": 0, "p95": 50.0}
RAW_POOLS = 1
RELAYS = 2
SOCKETIO_POOLS = 2
SOCKETIO_NOTE = "informational: includes the client's own threads and GIL"
READ_NOTE = "informational: plus the harness's own loop delay"
MESSAGE = b"viewers probe"


class Pool:
    def __init__(self, url, n, client):
        self.proc = subprocess.Popen([PY, "-m", "bench.viewer_pool", "--url", url,
                                      "--n", str(n), "--client", client], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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


def measure(client, pools, n, connections, messages, spacing, relays=0):
    """One app, *n* viewers of *client* in *pools* processes, the drive; what they got.

    With *relays*, the app feeds that many viewer relays through a private
    Redis (``bench.relays``) and the pools connect to the relays, one pool per
    relay: the dashboard serves no viewer itself."""
    with contextlib.ExitStack() as stack:
        app_args, urls = (), None
        if relays:
            redis = stack.enter_context(RedisServer())
            app_args = ("--message-queue", redis.url)
        app = stack.enter_context(AppProcess(*app_args))
        relay_procs = [stack.enter_context(RelayProcess(redis.url)) for _ in range(relays)]
        if relays:
            pools = relays
            urls = [r.url for r in relay_procs]
            # a relay serves once it has the dashboard's state
            for r in relay_procs:
                wait_until(lambda r=r: relay_ready(r.url), timeout=30,
                           message="a relay to have the dashboard's state")
        urls = urls or [app.url] * pools
        sizes = [n // pools + (1 if i < n % pools else 0) for i in range(pools)]
        dash = psutil.Process(app.pid)
        started = []
        try:
            t0 = time.perf_counter()
            started = [Pool(url, k, client) for url, k in zip(urls, sizes, strict=True) if k]
            ready = [p.message(0, timeout=120) for p in started]
            connect_s = time.perf_counter() - t0
            first_seq = app.state()["seq"] + 1
            servers = [dash, *(psutil.Process(r.pid) for r in relay_procs)]
            procs = [*servers, *(psutil.Process(p.proc.pid) for p in started)]
            for proc in procs:
                proc.cpu_percent(None)
            t_drive = time.perf_counter()
            drive(app.echo, connections, messages, spacing)
            # the last worker has exited once no worker runs: then nothing more comes
            state = wait_until(lambda: no_worker_running(app.state()), timeout=30,
                               message="the last worker to exit")
            drive_s = time.perf_counter() - t_drive
            cpus = [proc.cpu_percent(None) for proc in procs]
            cpu, relay_cpu, pool_cpu = cpus[0], cpus[1:len(servers)], cpus[len(servers):]
            final_seq = state["seq"]
            for p in started:
                p.send({"final_seq": final_seq})
            results = [p.message(1, timeout=120) for p in started]
        finally:
            for p in started:
                p.stop()
    return {"client": client, "n": n, "pools": len(started), "relays": relays,
            "connected": sum(r["ready"] for r in ready),
            "errors": [e for r in ready for e in r["errors"]],
            "connect_s": connect_s, "drive_s": drive_s, "cpu": cpu, "pool_cpu": pool_cpu,
            "relay_cpu": relay_cpu,
            "first_seq": first_seq, "final_seq": final_seq,
            "viewers": [v for r in results for v in r["viewers"]],
            "late": sum(r["late"] for r in results),
            "loop_ms": [r["loop_ms"] for r in results if "loop_ms" in r]}


def relay_ready(url):
    try:
        return requests.get(url + "/api/state", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def analyse(m):
    """Delivery checks and latencies of one ``measure``."""
    first_seq, final_seq = m["first_seq"], m["final_seq"]
    # a viewer with no snapshot never connected: "viewers connected" counts it
    viewers = [v for v in m["viewers"] if v["snapshot_seq"] is not None]
    checks = [check(v, final_seq) for v in viewers]
    latencies = [ms for v in viewers for s, ms in zip(v["seqs"], v["latency_ms"], strict=True)
                 if first_seq <= s <= final_seq]
    # the raw viewers' loop time beside the kernel's (bench.lean_viewers): the harness's delay
    read = [ms for v in viewers
            for s, ms in zip(v["seqs"], v.get("user_latency_ms", v["latency_ms"]), strict=True)
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
    messages = sum(v["messages"] for v in viewers)
    events = final_seq - first_seq + 1
    return {
        "missing": sum(c["missing"] for c in checks),
        "disordered": sum(c["duplicates"] + c["out_of_order"] for c in checks),
        "latencies": latencies, "read": read, "first_viewer": first_viewer, "spread": spread,
        "details": {
            "client": m["client"], "viewers": m["n"], "pools": m["pools"],
            "connected": m["connected"], "connect_s": round(m["connect_s"], 2),
            "connect_errors": m["errors"],
            "viewer_errors": [v["error"] for v in m["viewers"] if v.get("error")][:20],
            "unexpected": [u for v in m["viewers"] for u in v.get("unexpected", [])][:20],
            "late_viewers": m["late"], "seq": [first_seq, final_seq],
            "drive_s": round(m["drive_s"], 2), "dashboard_cpu_pct": m["cpu"],
            "pool_cpu_pct": m["pool_cpu"], "pool_loop_ms": m["loop_ms"],
            "relays": m.get("relays", 0), "relay_cpu_pct": m.get("relay_cpu", []),
            "fanout_ms": summary(latencies), "read_ms": summary(read),
            "spread_ms": summary(spread),
            "first_viewer_ms": summary(first_viewer), "deliveries": len(latencies),
            "messages": messages,
            "events_per_message": round(sum(len(v["seqs"]) for v in viewers)
                                        / max(1, messages), 2),
            "expected_deliveries": events * m["n"],
            "per_viewer": [c for c in checks if any(c.values())][:20]}}


def raw_figures(prefix, n, m, a):
    """The figures of one raw-viewer measurement; *prefix* names the case."""
    return [
        figure(f"{prefix}viewers connected", m["connected"], "", n, ">="),
        figure(f"{prefix}events driven", m["final_seq"] - m["first_seq"] + 1, ""),
        figure(f"{prefix}missing events (all viewers)", a["missing"], "",
               TARGETS["missing"], "<="),
        figure(f"{prefix}duplicate / out-of-order deliveries", a["disordered"], "", 0, "<="),
        figure(f"{prefix}fan-out latency p50", pct(a["latencies"], 50), "ms"),
        figure(f"{prefix}fan-out latency p95", pct(a["latencies"], 95), "ms",
               TARGETS["p95"], "<="),
        figure(f"{prefix}fan-out latency p99", pct(a["latencies"], 99), "ms"),
        figure(f"{prefix}fan-out p95 as the viewers' loop read it", pct(a["read"], 95), "ms",
               note=READ_NOTE),
        figure(f"{prefix}event -> first viewer p95", pct(a["first_viewer"], 95), "ms"),
        figure(f"{prefix}first-to-last viewer spread p95", pct(a["spread"], 95), "ms"),
        figure(f"{prefix}dashboard CPU while driving", m["cpu"], "% of a core"),
    ]


def run(quick=False, browser=True):
    n, hall = (10, 30) if quick else (100, 300)
    # ~9 events per connection (a worker coalesces served rounds < 0.1 s apart)
    load = (3, 3, 0.01) if quick else (22, 5, 0.02)
    raw_m = measure("raw", RAW_POOLS, n, *load)
    raw = analyse(raw_m)
    big_m = measure("raw", RAW_POOLS, hall, *load)
    big = analyse(big_m)
    figures = [*raw_figures("", n, raw_m, raw),
               *raw_figures(f"{hall} viewers: ", hall, big_m, big)]
    details = {"hall": big["details"]}
    why_not = redis_missing()
    if why_not is None:
        relay_m = measure("raw", RAW_POOLS, hall, *load, relays=RELAYS)
        relay = analyse(relay_m)
        prefix = f"{hall} viewers over {RELAYS} relays: "
        figures += [*raw_figures(prefix, hall, relay_m, relay),
                    figure(f"{prefix}relays' CPU while driving", sum(relay_m["relay_cpu"]),
                           "% of a core")]
        details["relays"] = relay["details"]
    else:
        details["relays"] = {"skipped": why_not}
    sio_m = measure("socketio", SOCKETIO_POOLS, n, *load)
    sio = analyse(sio_m)
    figures += [
        figure("python-socketio viewers connected", sio_m["connected"], "", n, ">="),
        figure("python-socketio: missing + duplicate / out-of-order",
               sio["missing"] + sio["disordered"], "", 0, "<="),
        figure("python-socketio: fan-out latency p95", pct(sio["latencies"], 95), "ms",
               note=SOCKETIO_NOTE),
    ]
    # the raw viewers' details where they always were; the others' beside them
    return {"figures": figures, "details": {
        **raw["details"], "connections": load[0], "messages_each": load[1],
        "spacing_s": load[2], **details, "socketio": sio["details"]}}

"""A room's mischief against one dashboard, measured (issue 15).

    python -m bench.attack [--root DIR] [--idle 1000] [--stuck 50] [--viewers 20]

Starts ``python -m app`` (from *DIR*, default this tree) with its descriptor
limit at 1,024 — a laptop's default, soft and hard, so the dashboard cannot
raise it — and measures, before and during an attack:

* the presenter's action acks: ``send_message`` over its Socket.IO
  connection (each ack waits until the echo's event is in the registry);
* new HTTP connections: ``GET /api/state`` on a fresh connection each time
  (the presenter's page loading, a resync);
* the other viewers' fan-out: *viewers* raw Socket.IO viewers
  (``tests.raw_viewer``), every event in order, no gap, and event ``t`` ->
  read.

The attack: *idle* TCP connections that never send a byte (a student's
script, slowloris style), then *stuck* Socket.IO viewers that connect, ask
for the namespace and never read their socket again (receive buffer 4 KiB).
While it lasts the presenter spawns clients and sends messages, so events
flow (each stuck viewer has more queued than ``--viewer-backlog`` allows).

Afterwards: how many idle connections the server closed, how many stuck
viewers it dropped, and every line the dashboard wrote to stderr. The
integration test ``tests/integration/test_attack.py`` runs this and holds it
to the issue's rules; docs/performance.md has its figures.
"""

import argparse
import contextlib
import itertools
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests
import websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from bench.common import PY, ROOT, summary

NOFILE = 1024
STUCK_RCVBUF = 4096
BACKLOG_KIB = 16
SPAWN = 5           # clients spawned per round, before and during (under --max-clients)
STEP_TIMEOUT = 5.0  # one connect, call or GET: a broken dashboard fails, it does not hang
OPEN_FOR = 20.0     # seconds to open the attack's connections, at most
DROP_WAIT = 10.0    # seconds for the stuck viewers to be seen dropped, all together


class Dashboard:
    """``python -m app`` from *root*, descriptors limited to NOFILE (soft and hard)."""

    def __init__(self, root, *args):
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        # the shell sets the limit and execs the app: same pid, no preexec_fn
        self.proc = subprocess.Popen(["sh", "-c", f'ulimit -n {NOFILE} && exec "$@"', "sh",
                                      PY, "-m", "app", "--port", "0", "--echo-port", "0",
                                      *args], cwd=root, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout],
                         daemon=True).start()
        try:
            self.url = re.search(r"(http://\S+?)/?$", lines.get(timeout=30).strip()).group(1)
            host, port = re.search(r"(\d+\.\d+\.\d+\.\d+):(\d+)",
                                   lines.get(timeout=30)).groups()
        except (queue.Empty, AttributeError):
            self.stop()
            raise RuntimeError("the dashboard did not start") from None
        self.echo = (host, int(port))
        self.address = (self.url.split("//")[1].split(":")[0], int(self.url.rsplit(":", 1)[1]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.stderr.seek(0)
        text = self.stderr.read()
        self.stderr.close()
        return text


def stuck_viewer(address):
    """A Socket.IO viewer that connects, asks for the namespace and never reads again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STUCK_RCVBUF)
    sock.settimeout(STEP_TIMEOUT)
    sock.connect(address)
    ws = WSConnection(ConnectionType.CLIENT)
    sock.sendall(ws.send(Request(host=f"{address[0]}:{address[1]}",
                                 target="/socket.io/?EIO=4&transport=websocket")))
    accepted = False
    while not accepted:
        data = sock.recv(4096)
        if not data:
            raise ConnectionError("the server closed a stuck viewer before it was one")
        ws.receive_data(data)
        accepted = any(isinstance(e, AcceptConnection) for e in ws.events())
    sock.sendall(ws.send(TextMessage(data="40")))
    return sock


def closed_by_server(sock, timeout):
    """Read *sock* to its end: True if the server closed it within *timeout*."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(1 << 20):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except OSError:
        return False
    return False


def closed_now(sock):
    """Has the server closed *sock* (an idle connection that never sent a byte)?"""
    sock.setblocking(False)   # a socket with a timeout would wait for it
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def fresh_get(url, path="/api/state"):
    """One GET on a new connection; seconds, or None if it failed."""
    t0 = time.perf_counter()
    try:
        r = requests.get(url + path, timeout=STEP_TIMEOUT, headers={"Connection": "close"})
        r.raise_for_status()
    except requests.RequestException:
        return None
    return time.perf_counter() - t0


def presenter_round(presenter, url, clients, rounds, spawn=SPAWN):
    """*rounds* of: a message to each client (acks timed), a fresh GET, and a
    spawn of *spawn* clients. Returns (ack seconds, GET seconds, errors)."""
    acks, gets, errors = [], [], []
    def call(name, data):
        t0 = time.perf_counter()
        try:
            ack = presenter.call(name, data, timeout=STEP_TIMEOUT)
        except (TimeoutError, OSError, websocket.WebSocketException) as exc:
            ack = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if not ack.get("ok"):
            errors.append(ack)
        return time.perf_counter() - t0 if ack.get("ok") else None

    for i in range(rounds):
        for pid in clients:
            acks.append(call("send_message", {"pid": pid, "text": f"round {i} 你好" * 20}))
        gets.append(fresh_get(url))
        call("spawn_client", {"count": spawn})
    return acks, gets, errors


def viewer_checks(viewers, first_seq, final_seq):
    """Missing / disordered events and fan-out seconds for seqs in [first, final]."""
    missing = disordered = 0
    latency = []
    for v in viewers:
        with v.lock:
            events, stamps = list(v.events), list(v.stamps)
        start = v.snapshot["seq"]
        seqs = [e["seq"] for e in events if e["seq"] <= final_seq]
        want = list(range(start + 1, final_seq + 1))
        missing += len(set(want) - set(seqs))
        disordered += sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)
        latency += [at - e["t"] for e, at in zip(events, stamps, strict=True)
                    if first_seq <= e["seq"] <= final_seq]
    return missing, disordered, latency


def ms(values):
    """Percentiles in ms of what succeeded (failures are counted apart)."""
    return summary([v * 1000 for v in values if v is not None])


def run(root=ROOT, idle=1000, stuck=50, viewers=20, rounds=3,
        args=("--viewer-backlog", str(BACKLOG_KIB))):
    """The scenario; a dict of figures and what the dashboard said. *args* go
    to ``python -m app`` (none for code from before issue 15)."""
    from tests.raw_viewer import RawViewer  # the tests' in-order viewer, with acks

    dash = Dashboard(root, *args)
    idle_socks, stuck_socks, watchers, presenter = [], [], [], None
    result = {"root": root, "idle": idle, "stuck": stuck, "viewers": viewers,
              "nofile": NOFILE, "viewer_backlog_kib": BACKLOG_KIB}
    try:
        presenter = RawViewer(dash.url)
        spawned = presenter.call("spawn_client", {"count": 4})
        clients = spawned["body"]["pids"]
        watchers = [RawViewer(dash.url) for _ in range(viewers)]
        deadline = time.monotonic() + 30
        while not all(w.snapshot for w in watchers) and time.monotonic() < deadline:
            time.sleep(0.05)
        base_first = (presenter.seqs() or [presenter.snapshot["seq"]])[-1] + 1
        base_acks, base_gets, base_errors = presenter_round(presenter, dash.url, clients,
                                                            rounds)
        base_final = (presenter.seqs() or [0])[-1]
        # -- the attack -------------------------------------------------------------------
        t_attack = time.perf_counter()
        refused = 0
        give_up = time.monotonic() + OPEN_FOR
        for _ in range(idle):
            if time.monotonic() > give_up:
                refused += 1
                continue
            try:
                idle_socks.append(socket.create_connection(dash.address, timeout=STEP_TIMEOUT))
            except OSError:
                refused += 1
        stuck_errors = []
        for _ in range(stuck):
            if time.monotonic() > give_up + OPEN_FOR:
                stuck_errors.append("not tried: out of time")
                continue
            try:
                stuck_socks.append(stuck_viewer(dash.address))
            except OSError as exc:
                stuck_errors.append(f"{type(exc).__name__}: {exc}")
        result["attack_open_s"] = round(time.perf_counter() - t_attack, 2)
        first_seq = presenter.snapshot["seq"] + len(presenter.seqs()) + 1
        acks, gets, errors = presenter_round(presenter, dash.url, clients, rounds)
        final_seq = (presenter.seqs() or [0])[-1]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
                w.seqs() and w.seqs()[-1] >= final_seq for w in watchers):
            time.sleep(0.05)
        missing, disordered, latency = viewer_checks(watchers, first_seq, final_seq)
        _, _, base_latency = viewer_checks(watchers, base_first, base_final)
        # every stuck viewer read to its end, all within DROP_WAIT seconds in all
        until = time.monotonic() + DROP_WAIT
        dropped = sum(closed_by_server(s, max(0.01, until - time.monotonic()))
                      for s in stuck_socks)
        idle_closed = sum(closed_now(s) for s in idle_socks)
        result.update({
            "presenter_ack_ms_before": ms(base_acks), "presenter_ack_ms_during": ms(acks),
            "fresh_get_ms_before": ms(base_gets), "fresh_get_ms_during": ms(gets),
            "fresh_get_failed_during": sum(1 for g in gets if g is None),
            "action_errors": (base_errors + errors)[:5],
            "viewers_missing": missing, "viewers_disordered": disordered,
            "viewer_fanout_ms_before": ms(base_latency),
            "viewer_fanout_ms_during": ms(latency), "events_during": final_seq - first_seq + 1,
            "idle_connect_refused": refused, "idle_closed_by_server": idle_closed,
            "stuck_connected": len(stuck_socks), "stuck_errors": stuck_errors[:5],
            "stuck_dropped": dropped,
            "actions_failed_during": sum(1 for a in acks if a is None)})
    finally:
        for s in idle_socks + stuck_socks:
            with contextlib.suppress(OSError):
                s.close()
        for w in watchers + ([presenter] if presenter else []):
            w.close()
        result["stderr"] = dash.stop()
    result["stderr_lines"] = [line for line in result["stderr"].splitlines() if line.strip()]
    return result


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.attack", description=__doc__.split("\n")[0])
    p.add_argument("--root", default=ROOT, help="the tree whose app to run (default: this one)")
    p.add_argument("--idle", type=int, default=1000)
    p.add_argument("--stuck", type=int, default=50)
    p.add_argument("--viewers", type=int, default=20)
    p.add_argument("--plain", action="store_true",
                   help="no --viewer-backlog (code from before issue 15)")
    a = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))   # stop the dashboard too
    result = run(os.path.abspath(a.root), a.idle, a.stuck, a.viewers,
                 args=() if a.plain else ("--viewer-backlog", str(BACKLOG_KIB)))
    print(json.dumps({k: v for k, v in result.items() if k != "stderr"}, indent=2,
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

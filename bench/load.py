"""Client load for the echo servers, run as its own process so that it never
competes for the GIL with the process that measures:

    python -m bench.load rtt    --host H --port P --conns N --duration S
    python -m bench.load setups --host H --port P --conns N --duration S
    python -m bench.load burst  --host H --port P --count N

* ``rtt``: N connections opened first (each one echo, so that every worker is
  up), then each keeps exactly one message in flight — send, read the whole
  upper-cased reply, send again — for S seconds. Counts round trips.
* ``setups``: N slots, each repeating connect → one echo → close for S seconds
  (a *connection set-up* is that whole cycle: the server forks a worker for it).
* ``burst``: N connections opened and closed one after the other, as fast as
  possible, without sending anything.

All loopback, non-blocking sockets on one selector; every loop is bounded by
its duration and a maximum count, and a stall longer than ``--stall`` seconds
ends it. Prints one JSON object.
"""

import argparse
import errno
import json
import os
import selectors
import socket
import sys
import time

MESSAGE = b"forkscope bench 0123456789abcdef" * 2   # 64 bytes
REPLY = MESSAGE.upper()
MAX_COUNT = 5_000_000


def rtt(host, port, conns, duration, stall):
    sel = selectors.DefaultSelector()
    socks = []
    t_open = time.perf_counter()
    for _ in range(conns):
        s = socket.create_connection((host, port), timeout=stall)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    for s in socks:          # warm-up: every worker has answered once
        s.sendall(MESSAGE)
    for s in socks:
        got = 0
        while got < len(REPLY):
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed a connection during warm-up")
            got += len(chunk)
    warmup_s = time.perf_counter() - t_open
    pending = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        pending[s] = 0
    count = 0
    start = time.perf_counter()
    end = start + duration
    for s in socks:
        s.send(MESSAGE)
    last_progress = start
    errors = 0
    while socks and count < MAX_COUNT:
        now = time.perf_counter()
        if now >= end:
            break
        if now - last_progress > stall:
            errors += 1
            break
        for key, _ in sel.select(timeout=min(0.2, end - now)):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                errors += 1
                sel.unregister(s)
                socks.remove(s)
                s.close()
                continue
            pending[s] += len(data)
            while pending[s] >= len(REPLY):
                pending[s] -= len(REPLY)
                count += 1
                last_progress = time.perf_counter()
                if last_progress < end:
                    s.send(MESSAGE)
    elapsed = min(time.perf_counter(), end) - start
    for s in socks:
        sel.unregister(s)
        s.close()
    sel.close()
    return {"mode": "rtt", "conns": conns, "count": count, "elapsed_s": round(elapsed, 4),
            "per_s": round(count / elapsed, 2) if elapsed > 0 else None,
            "warmup_s": round(warmup_s, 4), "errors": errors}


class Slot:
    """One connect → echo → close cycle at a time."""

    def __init__(self, sel, address):
        self.sel, self.address = sel, address
        self.sock = None
        self.got = 0
        self.t0 = 0.0

    def begin(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.got = 0
        self.t0 = time.perf_counter()
        code = self.sock.connect_ex(self.address)
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, "connect failed")
        self.sel.register(self.sock, selectors.EVENT_WRITE, self)

    def end(self):
        if self.sock is not None:
            self.sel.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def ready(self, events):
        """Advance; True when a whole cycle completed, False if it failed, None if not yet."""
        if events & selectors.EVENT_WRITE:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.end()
                return False
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.send(MESSAGE)
            self.sel.modify(self.sock, selectors.EVENT_READ, self)
            return None
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:
            self.end()
            return False
        self.got += len(data)
        if self.got >= len(REPLY):
            self.end()
            return True
        return None


def setups(host, port, conns, duration, stall):
    sel = selectors.DefaultSelector()
    slots = [Slot(sel, (host, port)) for _ in range(conns)]
    count = failures = 0
    cycle_ms = []
    start = time.perf_counter()
    end = start + duration
    for slot in slots:
        slot.begin()
    last_progress = start
    while count < MAX_COUNT:
        now = time.perf_counter()
        if now >= end or now - last_progress > stall:
            break
        for key, events in sel.select(timeout=min(0.2, end - now)):
            slot = key.data
            done = slot.ready(events)
            if done is None:
                continue
            finished = time.perf_counter()
            if done:
                count += 1
                cycle_ms.append((finished - slot.t0) * 1000)
                last_progress = finished
            else:
                failures += 1
            if finished < end:
                slot.begin()
    elapsed = min(time.perf_counter(), end) - start
    for slot in slots:
        slot.end()
    sel.close()
    cycle_ms.sort()
    return {"mode": "setups", "conns": conns, "count": count,
            "elapsed_s": round(elapsed, 4),
            "per_s": round(count / elapsed, 2) if elapsed > 0 else None,
            "failures": failures,
            "cycle_ms_p50": round(cycle_ms[len(cycle_ms) // 2], 3) if cycle_ms else None,
            "cycle_ms_max": round(cycle_ms[-1], 3) if cycle_ms else None}


def burst(host, port, count, stall):
    t0 = time.perf_counter()
    peers = []
    failures = 0
    deadline = t0 + stall * 4
    for _ in range(count):
        if time.perf_counter() > deadline:
            break
        try:
            s = socket.create_connection((host, port), timeout=stall)
        except OSError:
            failures += 1
            continue
        peers.append(list(s.getsockname()[:2]))
        s.close()
    return {"mode": "burst", "count": len(peers), "failures": failures,
            "elapsed_s": round(time.perf_counter() - t0, 4),
            "t_start": time.time() - (time.perf_counter() - t0), "peers": peers}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.load")
    p.add_argument("mode", choices=("rtt", "setups", "burst"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--stall", type=float, default=10.0)
    p.add_argument("--cpu", type=int, help="run on this one CPU only (bench.echo's one-CPU pass)")
    a = p.parse_args(argv)
    if a.cpu is not None:
        os.sched_setaffinity(0, {a.cpu})
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        p.error("loopback only")
    if a.mode == "rtt":
        result = rtt(a.host, a.port, a.conns, a.duration, a.stall)
    elif a.mode == "setups":
        result = setups(a.host, a.port, a.conns, a.duration, a.stall)
    else:
        result = burst(a.host, a.port, a.count, a.stall)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

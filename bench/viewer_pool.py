"""A pool of Socket.IO viewers in their own process (used by ``bench.viewers``).

    python -m bench.viewer_pool --url URL --n 50 [--client raw|socketio]

``raw`` (the default): N websocket connections in one thread
(``bench.lean_viewers``), whose receipt times are the dashboard's fan-out.
``socketio``: N python-socketio clients (websocket transport), a reader thread
each; their receipt times also hold the client's GIL queueing.

Talks JSON lines: connects N viewers,
prints ``{"ready": N, "errors": [...]}`` once each has its snapshot; then reads
``{"final_seq": S}`` on stdin, waits (bounded) until every viewer has received
up to S, prints what each one received — its snapshot seq, the seqs in order,
and the latency of each (event ``t`` -> receipt, ms; the events of one
``events`` message share its receipt time), and how many messages carried
them — disconnects them all in parallel and exits. If stdin closes first it
disconnects and exits.
"""

import argparse
import json
import sys
import threading
import time

from bench import lean_viewers
from bench.common import Recorder, disconnect_all

CONNECT_THREADS = 10


def connect_all(url, n, timeout):
    viewers = [Recorder(url, connect=False) for _ in range(n)]
    errors = []
    pending = list(viewers)
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                if not pending:
                    return
                v = pending.pop()
            try:
                v.connect()
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, daemon=True) for _ in range(CONNECT_THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    for v in viewers:
        if v.sio.connected:
            v.wait_for(lambda r: r.snapshot is not None, max(0.1, deadline - time.monotonic()),
                       "a snapshot")
    return viewers, errors


def report(viewers, final_seq):
    out = []
    for v in viewers:
        received = v.received()
        out.append({"snapshot_seq": v.snapshot["seq"] if v.snapshot else None,
                    "messages": v.messages,
                    "seqs": [e["seq"] for e, _ in received],
                    "latency_ms": [round((at - e["t"]) * 1000, 3) for e, at in received],
                    "received_at": [at for _, at in received],
                    "t": [e["t"] for e, _ in received]})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.viewer_pool")
    p.add_argument("--url", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--client", choices=("raw", "socketio"), default="raw")
    a = p.parse_args(argv)
    if a.client == "raw":
        return lean_viewers.run(a.url, a.n, a.timeout, sys.stdin.fileno(), sys.stdout)
    viewers, errors = connect_all(a.url, a.n, a.timeout)
    try:
        print(json.dumps({"ready": sum(1 for v in viewers if v.snapshot), "errors": errors}),
              flush=True)
        line = sys.stdin.readline()
        if not line:
            return 1
        final_seq = json.loads(line)["final_seq"]
        late = 0
        deadline = time.monotonic() + a.timeout
        for v in viewers:
            try:
                v.wait_for(lambda r: r.last_seq() >= final_seq,
                           max(0.1, deadline - time.monotonic()), "the final seq")
            except TimeoutError:
                late += 1
        print(json.dumps({"viewers": report(viewers, final_seq), "late": late}), flush=True)
    finally:
        disconnect_all(viewers)
    return 0


if __name__ == "__main__":
    sys.exit(main())

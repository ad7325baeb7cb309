"""Start methods: the per-worker start cost for fork / spawn / forkserver, as
the lab measures it — the ``start_ms`` of each worker in ``/api/state`` (how long
``p.start()`` took in the echo server). ``POST /api/lab {"start_method": m}``
restarts the server with that method; then ~20 connections, one after the
other, each one echo and close. Also kept: the client's view, connect -> first
reply (a spawned worker must import before it can answer, after ``start()``
has returned).
"""

import socket
import statistics
import time

from bench.common import AppProcess, echo_once, figure, pct, summary

NAME = "start_methods"
TITLE = "Start methods: per-worker start cost"
METHODS = ("fork", "spawn", "forkserver")
MESSAGE = b"start probe"


def one_connection(echo):
    t0 = time.perf_counter()
    with socket.create_connection(echo, timeout=30) as s:
        echo_once(s, MESSAGE)
    return (time.perf_counter() - t0) * 1000


def run(quick=False, browser=True):
    workers = 3 if quick else 20
    figures, details = [], {"workers_each": workers}
    with AppProcess() as app:
        for method in METHODS:
            reply = app.post("/api/lab", {"start_method": method})
            first_reply = [one_connection(app.echo) for _ in range(workers)]
            state = app.state()
            starts = [p["start_ms"] for p in state["processes"]
                      if p["role"] == "worker" and p.get("start_method") == method
                      and p["start_ms"] is not None]
            details[method] = {"server": reply.get("pid"), "start_ms": summary(starts),
                               "first_reply_ms": summary(first_reply),
                               "samples": len(starts)}
            med = statistics.median(starts) if starts else None
            figures.append(figure(f"{method}: start_ms median", med, "ms"))
            figures.append(figure(f"{method}: start_ms p90", pct(starts, 90), "ms"))
            figures.append(figure(f"{method}: connect -> first reply median",
                                  statistics.median(first_reply), "ms"))
    return {"figures": figures, "details": details}

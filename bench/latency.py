"""Event latency: from an event's own ``t`` (the lab process's ``time.time()``
when it happened) to

* (a) its receipt by a python-socketio client (websocket transport; the events
  of one ``events`` message all get that message's receipt time), and
* (b) the page applying it in headless Chromium (``window.forkscope.appliedAt``),
  and the first DOM mutation after that (a MutationObserver the benchmark adds:
  the page renders on the next animation frame).

Two phases on one app: *idle* — one connection to the echo server (opened
first) sending single messages 0.27 s apart (each one a ``served`` event: a
worker coalesces only rounds less than ``app.lab.worker.COALESCE``, 0.25 s, apart) — and *burst* — 100
connections opened and closed as fast as possible by a separate process
(``bench.load burst``), about seven events each (accepted, created, started,
hello, conn_closed, exited, reaped).
"""

import socket
import time

from bench.common import (
    AppProcess,
    Recorder,
    dashboard_page,
    dom_latencies_ms,
    echo_once,
    figure,
    latencies_ms,
    page_applied,
    page_dom_times,
    run_load,
    summary,
    wait_page_seq,
)

NAME = "latency"
TITLE = "Event latency: event t -> Socket.IO client / page"
TARGETS = {"socket_idle_p99": 5.0, "dom_idle_p95": 20.0, "dom_burst_p95": 50.0}
MESSAGE = b"latency probe"


def idle_phase(app, recorder, count, spacing):
    """*count* messages on one connection, one every *spacing* seconds; returns
    the seq range of the events they caused. The connection is opened (and its
    worker has answered once) before: its set-up events belong to no message."""
    with socket.create_connection(app.echo, timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        echo_once(s, MESSAGE)
        recorder.wait_for(lambda r: served_count(r, 0) >= 1, timeout=30,
                          message="the warm-up message's served event")
        time.sleep(spacing)   # pacing, as between any two messages
        first = recorder.last_seq() + 1
        next_at = time.perf_counter()
        for _ in range(count):
            echo_once(s, MESSAGE)
            next_at += spacing
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)   # pacing the load, not synchronisation
        recorder.wait_for(lambda r: served_count(r, first) >= count, timeout=30,
                          message=f"{count} served events")
        last = recorder.last_seq()
    return first, last




def served_count(recorder, since):
    """Rounds served since *since*: a ``served`` event counts the rounds it
    stands for (``count``; a worker coalesces rounds that come close together)."""
    return sum(e.get("count", 1) for e, _ in recorder.events
               if e["seq"] >= since and e["type"] == "served")


def burst_phase(app, recorder, count):
    first = recorder.last_seq() + 1
    result = run_load("burst", *app.echo, count=count, timeout=120)

    def done(r):
        # each connection ends as a worker's exit, or as a refusal ("server busy"
        # at --max-workers)
        ended = sum(1 for e, _ in r.events
                    if e["seq"] >= first and e["type"] in ("exited", "refused"))
        return ended >= result["count"]
    recorder.wait_for(done, timeout=60, message="every burst connection to end")
    return first, recorder.last_seq(), result


def run(quick=False, browser=True):
    # spaced wider than the worker's coalescing window (app.lab.worker.COALESCE,
    # 0.25 s): each message is then an event of its own
    idle_count, spacing, burst_count = (20, 0.27, 10) if quick else (200, 0.27, 100)
    figures, details = [], {"idle_messages": idle_count, "spacing_s": spacing,
                            "burst_connections": burst_count}
    with AppProcess() as app:
        recorder = Recorder(app.url)
        try:
            recorder.wait_for(lambda r: r.snapshot is not None, 10, "the snapshot")
            if browser:
                # ?truth=off: the page's /proc cross-check (a walk of /proc in the
                # dashboard for each poll) is not part of the event path measured
                with dashboard_page(app.url, query="truth=off") as page:
                    phases = measure(app, recorder, idle_count, spacing, burst_count, page)
            else:
                phases = measure(app, recorder, idle_count, spacing, burst_count, None)
        finally:
            recorder.close()
    for phase in ("idle", "burst"):
        ph = phases[phase]
        details[phase] = ph
        s = ph["socket_ms"]
        figures.append(figure(f"{phase}: event -> socket client p50", s["p50"], "ms"))
        figures.append(figure(f"{phase}: event -> socket client p95", s["p95"], "ms"))
        figures.append(figure(f"{phase}: event -> socket client p99", s["p99"], "ms",
                              TARGETS["socket_idle_p99"] if phase == "idle" else None,
                              "<=" if phase == "idle" else None))
        if "applied_ms" in ph:
            a, d = ph["applied_ms"], ph["dom_ms"]
            target = TARGETS[f"dom_{phase}_p95"]
            figures.append(figure(f"{phase}: event -> page applied p50", a["p50"], "ms"))
            figures.append(figure(f"{phase}: event -> page applied p95", a["p95"], "ms",
                                  target, "<="))
            figures.append(figure(f"{phase}: event -> page applied p99", a["p99"], "ms"))
            figures.append(figure(f"{phase}: event -> DOM mutation p95", d["p95"], "ms",
                                  target, "<=", note="next frame after appliedAt"))
    return {"figures": figures, "details": details}


def measure(app, recorder, idle_count, spacing, burst_count, page):
    phases = {}
    lo, hi = idle_phase(app, recorder, idle_count, spacing)
    phases["idle"] = collect(recorder, page, lo, hi)
    lo, hi, load = burst_phase(app, recorder, burst_count)
    phases["burst"] = collect(recorder, page, lo, hi)
    phases["burst"]["load"] = {k: v for k, v in load.items() if k != "peers"}
    return phases


def collect(recorder, page, lo, hi):
    received = recorder.received()
    socket_ms = latencies_ms(received, lo, hi)
    out = {"seq": [lo, hi], "events": hi - lo + 1, "socket_ms": summary(socket_ms),
           "by_type": {}}
    window = [(e, at) for e, at in received if lo <= e["seq"] <= hi]
    out["slowest"] = [{"seq": e["seq"], "type": e["type"], "t": e["t"],
                       "ms": round((at - e["t"]) * 1000, 3)}
                      for e, at in sorted(window, key=lambda x: x[0]["t"] - x[1])[:10]]
    for type_ in sorted({e["type"] for e, _ in received if lo <= e["seq"] <= hi}):
        out["by_type"][type_] = summary(latencies_ms(received, lo, hi, {type_}))
    if page is not None:
        wait_page_seq(page, hi, timeout=30)
        page.wait_for_timeout(100)  # let the frame after the last event be drawn
        applied, dom = dom_latencies_ms(received, page_applied(page), page_dom_times(page),
                                        lo, hi)
        out["applied_ms"] = summary(applied)
        out["dom_ms"] = summary(dom)
    return out

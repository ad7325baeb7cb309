"""Scrubbing through the past (issue 14): each scrub step's rebuild and render.

A synthetic lecture — 200 lab processes alive at once (100 client/worker
pairs and the server), 10,000 events of messages, gate waits, terminations,
reaps and new pairs, made valid by the registry itself — is opened on
/replay (no lab: the dashboard's web app with its lab not started). In
headless Chromium at 1280×720, with the timeline open, each step moves the
play head to a seq — half a sweep through the recording, half random jumps —
and times, synchronously in the page: the model rebuilt at that seq (history
checkpoints every 500 events) plus every view drawn from it (tree, details,
reaped list, log, code view, timeline) plus the style and layout the browser
does for that (forced by reading a box). The target is 50 ms at the 95th
percentile. Paint is not in it: it follows, once per frame. The steps are
measured twice: with the details tab shown (the log, out of sight, waits),
and with the log tab shown (its rows redrawn each step: a teacher clicking
through the events).

Run alone: ``python -m bench.scrub [--quick] [--events N] [--processes N] [--steps N]``.
"""

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time

from bench.common import CHROMIUM, CHROMIUM_ARGS, figure, summary

NAME = "scrub"
TITLE = "Time travel: one scrub step's rebuild + render, 10,000 events, 200 processes"
TARGETS = {"scrub_p95": 50.0}

DASH, SERVER = 100, 200

# One scrub step, measured in the page: {rebuild, total} ms.
STEP = """(seq) => {
    const fs = window.forkscope;
    const t0 = performance.now();
    fs.player.pause();
    fs.player.seek(seq);
    fs.history.at(seq);
    const t1 = performance.now();
    fs.renderNow();
    const t3 = performance.now();
    fs.timeline.flush();                          // its frame's drawing, now
    fs.renderCost.timeline += performance.now() - t3;
    document.body.getBoundingClientRect();       // the style and layout of what changed
    document.querySelector('#timeline').getBoundingClientRect();
    const t2 = performance.now();
    return { rebuild: t1 - t0, total: t2 - t0, procs: fs.model.live().length,
             views: { ...fs.renderCost }, layout: t2 - t1 - Object.values(fs.renderCost)
                 .reduce((a, b) => a + b, 0) };
}"""


def synthetic_session(processes=200, events=10_000, seed=14):
    """A forkscope-session (header, snapshot, events) of a busy lab, every
    event applied by the registry first (so the file is what a dashboard
    would have recorded: seqs, states, no anomaly)."""
    from app.model.registry import Registry

    rng = random.Random(seed)
    reg = Registry(DASH, 1)
    start = reg.snapshot()
    out = []
    clock = [1_795_900_000.0]

    def emit(type_, **fields):
        clock[0] += rng.uniform(0.005, 0.06)
        fields.setdefault("by", fields.get("pid"))
        event = reg.apply({"type": type_, "t": clock[0], **fields})
        assert "anomaly" not in event, event
        out.append(event)

    def lifecycle(uid, pid, parent, role, **extra):
        emit("created", pid=None, uid=uid, role=role, name=uid.split("/")[-1], by=parent,
             daemon=False, **extra)
        emit("started", pid=pid, ppid=parent, uid=uid, role=role, name=uid.split("/")[-1],
             by=parent, daemon=False, start_ms=1.5, **extra)
        emit("hello", pid=pid, ppid=parent, role=role, name=uid.split("/")[-1], uid=uid,
             daemon=False)

    lifecycle("server-1", SERVER, DASH, "server", start_method="spawn")
    emit("listening", pid=SERVER, host="127.0.0.1", port=8088)
    pairs = {}
    serial = [0]

    def new_pair():
        serial[0] += 1
        n = serial[0]
        client, worker = 10_000 + n, 20_000 + n
        peer = ["127.0.0.1", 30_000 + n]
        lifecycle(f"client-{n}", client, DASH, "client")
        emit("connected", pid=client, local=peer, server=["127.0.0.1", 8088])
        emit("accepted", pid=SERVER, peer=peer)
        lifecycle(f"server-1/worker-{n}", worker, SERVER, "worker", peer=peer, style="target")
        emit("phase", pid=worker, at="recv")
        pairs[n] = (client, worker)

    while len(pairs) < (processes - 2) // 2:
        new_pair()
    while len(out) < events:
        n = rng.choice(list(pairs))
        client, worker = pairs[n]
        roll = rng.random()
        if roll < 0.04:                   # the teacher terminates a worker and joins it
            emit("signalled", pid=worker, uid=f"server-1/worker-{n}", call="terminate()",
                 signal="SIGTERM", by=SERVER)
            emit("exited", pid=worker, uid=f"server-1/worker-{n}", exitcode=-15, by=SERVER)
            emit("disconnected", pid=client, said="")
            emit("reaped", pid=worker, uid=f"server-1/worker-{n}", exitcode=-15, how="join",
                 via=f"worker-{n}.join()", via_kind="join", via_call=f"worker-{n}.join()", by=SERVER)
            emit("client_closed", pid=client)
            emit("exited", pid=client, uid=f"client-{n}", exitcode=0, by=DASH)
            emit("reaped", pid=client, uid=f"client-{n}", exitcode=0, how="join",
                 via=f"client-{n}.join()", via_kind="join", via_call=f"client-{n}.join()", by=DASH)
            del pairs[n]
            new_pair()
        elif roll < 0.08:                 # a gate in step mode
            emit("gate_wait", pid=worker, gate="send")
            emit("gate_pass", pid=worker, gate="send", how="step")
        else:                             # a message and its echo
            text = f"msg {len(out)}"
            emit("served", pid=worker, count=1, bytes=len(text), text=text)
            emit("echo", pid=client, text=text, reply=text.upper(), rtt_ms=rng.uniform(0.1, 2.0),
                 local=["127.0.0.1", 30_000 + n])
            emit("phase", pid=worker, at="recv")
        if rng.random() < 0.002:
            clock[0] += rng.uniform(5, 30)    # the teacher talks: an idle stretch
    header = {"format": "forkscope-session", "version": 1, "schema": "sha256:0000000000000000",
              "started": out[0]["t"] - 1, "host": "bench", "lab": {"start_method": "fork"},
              "session": "bench", "part": 1, "dashboard_pid": DASH}
    return header, start, out[:events]


def write_session(path, header, snapshot, events):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
                     for obj in (header, {"snapshot": snapshot}, *events))


@contextlib.contextmanager
def replay_server():
    """The dashboard's web app with its lab never started, on a loopback port."""
    from werkzeug.serving import make_server

    from app import create_app
    from app.settings import Settings

    app = create_app(Settings(port=0, echo_port=0), start=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bench-replay", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def steps_through(first, last, count, seed=3):
    """Half a sweep through the recording, half random jumps."""
    rng = random.Random(seed)
    sweep = count // 2
    stride = max(1, (last - first) // max(1, sweep))
    seqs = [first + i * stride for i in range(sweep)]
    seqs += [rng.randint(first, last) for _ in range(count - sweep)]
    return seqs


def measure(url, path, steps, viewport=(1280, 720)):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                       locale="zh-CN").new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.add_init_script("try { localStorage.setItem('forkscope.timeline.open', 'true'); } catch {}")
            page.goto(url + "/replay")
            page.wait_for_function("() => window.forkscope && document.body.dataset.replay === 'empty'")
            t0 = time.monotonic()
            page.set_input_files("#replay-file", path)
            try:
                page.wait_for_function("() => document.body.dataset.replay === 'paused'", timeout=120_000)
            finally:
                if errors:
                    raise RuntimeError(f"the replay page failed: {errors}")
            load_s = time.monotonic() - t0
            first, last = page.evaluate("() => [window.forkscope.player.first, window.forkscope.player.last]")
            # a scrub by hand stops the timeline following the play head (timeline.js)
            page.evaluate("() => window.forkscope.timeline.setFollow(false)")
            page.evaluate(STEP, last)            # warm: the code paths compiled once
            results = [page.evaluate(STEP, seq) for seq in steps_through(first, last, steps)]
            # the teacher clicking through the log: its tab shown, its rows redrawn each step
            page.locator("[role='tab'][data-tab='log']").click()
            page.evaluate(STEP, first)
            with_log = [page.evaluate(STEP, seq) for seq in steps_through(first, last, steps, seed=4)]
        finally:
            browser.close()
    return {"load_s": load_s, "first": first, "last": last, "results": results, "with_log": with_log}


def run(quick=False, browser=True, processes=200, events=None, steps=None):
    events = events or (2_000 if quick else 10_000)
    steps = steps or (40 if quick else 300)
    details = {"processes": processes, "events": events, "steps": steps}
    if not browser:
        details["skipped"] = "needs headless Chromium"
        return {"figures": [], "details": details}
    header, snapshot, evs = synthetic_session(processes, events)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench-session.jsonl")
        write_session(path, header, snapshot, evs)
        details["file_bytes"] = os.path.getsize(path)
        with replay_server() as url:
            got = measure(url, path, steps)
    results = got["results"]
    total = summary([r["total"] for r in results])
    with_log = summary([r["total"] for r in got["with_log"]])
    rebuild = summary([r["rebuild"] for r in results])
    def by_view(rows):
        views = {name: summary([r["views"].get(name, 0) for r in rows])["p95"] for name in rows[0]["views"]}
        views["style+layout"] = summary([r["layout"] for r in rows])["p95"]
        return views
    views = by_view(results)
    details.update(load_s=round(got["load_s"], 2), total_ms=total, with_log_ms=with_log,
                   rebuild_ms=rebuild,
                   p95_by_view_ms=views, with_log_p95_by_view_ms=by_view(got["with_log"]),
                   live_processes={"min": min(r["procs"] for r in results),
                                   "max": max(r["procs"] for r in results)})
    return {"figures": [
        figure("scrub step: rebuild + render p50", total["p50"], "ms"),
        figure("scrub step: rebuild + render p95", total["p95"], "ms", TARGETS["scrub_p95"], "<="),
        figure("scrub step, the log tab shown: p95", with_log["p95"], "ms", TARGETS["scrub_p95"], "<="),
        figure("scrub step: rebuild alone p95", rebuild["p95"], "ms"),
        figure("open the recording (read, check, index)", details["load_s"] * 1000, "ms"),
    ], "details": details}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int)
    parser.add_argument("--processes", type=int, default=200)
    parser.add_argument("--steps", type=int)
    args = parser.parse_args(argv)
    out = run(args.quick, True, args.processes, args.events, args.steps)
    for f in out["figures"]:
        mark = {True: "ok", False: "MISSED", None: ""}[f["met"]]
        print(f"{f['name']:<45} {f['value']:>10} {f['unit']}  {mark}")
    print(json.dumps(out["details"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

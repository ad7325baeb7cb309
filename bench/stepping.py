"""Step latency (issue 12): a click on *Step* in the page -> the released
process's next point (its ``phase`` or ``gate_wait`` event: the event that
moves its marker) applied by the page (``window.forkscope.appliedAt``).

One connection from the benchmark to the echo server, the lab in step mode
with every gate on. Its worker alternates between the gates ``recv`` and
``send``: before releasing ``recv`` the benchmark writes a message (else
``recv()`` would block and there would be no next point to reach), after
``send`` it reads the reply. The server's ``accept`` and ``start`` count too.
Each round, in the page: wait until exactly one process waits, time a real
DOM click on the Step button, wait until the page has applied that process's
next point.
"""

import socket

from bench.common import AppProcess, dashboard_page, figure, summary

NAME = "stepping"
TITLE = "Step click -> the released process's next point applied by the page"
TARGETS = {"step_p95": 50.0}
MESSAGE = b"step probe"

# Exactly one process waits, and the page may click Step again.
READY = """() => window.forkscope.model.live().filter((p) => p.gate).length === 1
    && !document.querySelector("[data-action='step']").disabled
    && document.body.dataset.stepMode === 'step'"""

# One round in the page. Returns {pid, name, gate, type, ms} or {error}.
ROUND = """async () => {
    const fs = window.forkscope;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const button = document.querySelector("[data-action='step']");
    let waiting = [];
    for (let i = 0; i < 2000; i += 1) {        // up to 10 s for one process to wait
        waiting = fs.model.live().filter((p) => p.gate);
        if (waiting.length === 1 && !button.disabled
            && document.body.dataset.stepMode === 'step') break;
        await sleep(5);
    }
    if (waiting.length !== 1) {
        return { error: `waiting: ${waiting.map((p) => `${p.name}@${p.gate}`).join(', ') || 'none'}` };
    }
    const proc = waiting[0];
    const gate = proc.gate;    // proc is the model's live object: the next event changes it
    const after = fs.appliedSeq;
    const t0 = performance.timeOrigin + performance.now();
    button.click();
    for (let i = 0; i < 2000; i += 1) {
        const next = fs.sync.eventsList().find((e) => e.seq > after && e.pid === proc.pid
            && (e.type === 'phase' || e.type === 'gate_wait'));
        if (next && fs.appliedAt.has(next.seq)) {
            return { pid: proc.pid, name: proc.name, gate, type: next.type,
                     at: next.at ?? next.gate, ms: fs.appliedAt.get(next.seq) - t0 };
        }
        await sleep(2);
    }
    return { error: `${proc.name}: no next point within 4 s of releasing ${gate}` };
}"""


def run(quick=False, browser=True):
    rounds = 12 if quick else 120
    details = {"rounds": rounds}
    if not browser:
        details["skipped"] = "needs headless Chromium"
        return {"figures": [], "details": details}
    with AppProcess() as app:
        status = app.http.get(app.url + "/api/step", timeout=30).status_code
        if status != 200:
            raise RuntimeError(f"GET /api/step: {status}")
        with dashboard_page(app.url, query="truth=off") as page:
            try:
                results = measure(app, page, rounds)
            finally:
                app.http.post(app.url + "/api/step", json={"mode": "run"}, timeout=30)
    ms = [r["ms"] for r in results]
    s = summary(ms)
    details["step_ms"] = s
    details["by_gate"] = {gate: summary([r["ms"] for r in results if r["gate"] == gate])
                          for gate in sorted({r["gate"] for r in results})}
    details["slowest"] = sorted(results, key=lambda r: -r["ms"])[:5]
    return {"figures": [
        figure("step click -> next point applied p50", s["p50"], "ms"),
        figure("step click -> next point applied p95", s["p95"], "ms", TARGETS["step_p95"], "<="),
        figure("step click -> next point applied max", s["max"], "ms"),
    ], "details": details}


def measure(app, page, rounds):
    page.locator("[data-action='step']").click()          # run -> step mode
    page.wait_for_function("() => document.body.dataset.stepMode === 'step'", timeout=10_000)
    results = []
    with socket.create_connection(app.echo, timeout=10) as sock:
        while len(results) < rounds:
            page.wait_for_function(READY, timeout=10_000)
            waiting = page.evaluate(
                "() => window.forkscope.model.live().filter((p) => p.gate)"
                ".map((p) => [p.role, p.gate])")
            if ["worker", "recv"] in waiting:
                sock.sendall(MESSAGE)        # recv() must have something to return
            result = page.evaluate(ROUND)
            if "error" in result:
                raise RuntimeError(result["error"])
            results.append(result)
            if result["gate"] == "send":
                got = b""
                while len(got) < len(MESSAGE):
                    got += sock.recv(1024)
                assert got == MESSAGE.upper(), got
    return results

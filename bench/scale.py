"""Scale: ramp to 250 client/worker pairs (500 lab processes) with a Socket.IO
viewer and the page watching, then measure at that size:

* the dashboard's RSS (psutil on the app's pid) and CPU % (idle, and while
  events flow);
* event latency (event ``t`` -> Socket.IO client, and -> page applied) for
  messages sent through existing clients (``POST /api/clients/<pid>/messages``:
  an ``echo`` and a ``served`` event each);
* the page's frame rate: requestAnimationFrame intervals measured in the page
  over ~3 s, idle and while those messages flow, with the tree holding every
  process (as a node, or counted in a group it folded);
* the frame rate while 100 more processes appear (50 clients and their
  workers, spawned during the window): each is new, highlighted, placed and
  folded, and the tree re-fits its panel as it grows (issue 11).

The page is opened as a teacher opens it (its /proc cross-check, polling
``/api/truth``, stays on: at this size its cost is part of the picture).

The app runs with ``--max-clients 300 --max-workers 300 --max-processes 600``
(the defaults, 50 clients and 64 concurrent echo connections, are a lecture
hall's safety caps); the API caps one spawn request at 20 clients, so the ramp
is batches of 20. If the ramp stops (an error, or the
time budget), the figures are taken at the size reached and the reason is kept.
"""

import threading
import time

import psutil

from bench.common import (
    RAF_INTERVALS,
    AppProcess,
    Recorder,
    dashboard_page,
    dom_latencies_ms,
    figure,
    fps_from_stamps,
    latencies_ms,
    page_applied,
    page_dom_times,
    summary,
    wait_page_seq,
    wait_until,
)

NAME = "scale"
TITLE = "Scale: 250 client/worker pairs"
TARGETS = {"rss_mb": 150.0, "fps": 50.0}
BATCH = 20
TREE_NODES = "#tree g.node[data-pid]"
# Processes the tree shows: its nodes, and those folded in its groups.
TREE_SHOWN = """() => {
  let shown = document.querySelectorAll('#tree g.node[data-pid]').length;
  for (const g of document.querySelectorAll('#tree g.group[data-count]')) shown += Number(g.dataset.count);
  return shown;
}"""
REFIT_CLIENTS = 50


def ramp(app, pairs, budget):
    """Spawn clients in batches of 20 until *pairs*, an error, or *budget* s."""
    spawned, batches, stop_reason = 0, [], None
    t0 = time.perf_counter()
    while spawned < pairs:
        if time.perf_counter() - t0 > budget:
            stop_reason = f"time budget of {budget:.0f} s used up"
            break
        count = min(BATCH, pairs - spawned)
        tb = time.perf_counter()
        r = app.http.post(app.url + "/api/clients", json={"count": count}, timeout=120)
        took = time.perf_counter() - tb
        if r.status_code != 201:
            stop_reason = f"POST /api/clients answered {r.status_code}: {r.text[:200]}"
            break
        spawned += len(r.json()["pids"])
        batches.append(round(took, 3))
    return spawned, batches, time.perf_counter() - t0, stop_reason


def pairs_ready(app, want):
    """State once *want* clients and *want* workers run with their connection open."""
    state = app.state()
    live = [p for p in state["processes"] if p["state"] == "running"]
    clients = [p for p in live if p["role"] == "client" and p["connection"] == "open"]
    workers = [p for p in live if p["role"] == "worker" and p["connection"] == "open"]
    return state if len(clients) >= want and len(workers) >= want else None


def send_messages(app, clients, count, spacing, out):
    """*count* messages through the clients, round robin, one every *spacing* s."""
    next_at = time.perf_counter()
    for i in range(count):
        pid = clients[i % len(clients)]
        r = app.http.post(f"{app.url}/api/clients/{pid}/messages",
                          json={"text": f"scale probe {i}"}, timeout=30)
        out.append(r.status_code)
        next_at += spacing
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)   # pacing the load, not synchronisation


def run(quick=False, browser=True):
    pairs = 10 if quick else 250
    budget = 30 if quick else 300
    messages, spacing = (20, 0.03) if quick else (100, 0.03)
    refit = 10 if quick else REFIT_CLIENTS
    window_ms = 1000 if quick else 3000
    d = {"target_pairs": pairs, "page_truth_polling": True, "refit_clients": refit}
    # the caps that would stop the ramp: clients, workers (--max-workers, 64 by
    # default, answers "server busy") and all lab processes together
    with AppProcess("--max-clients", pairs + refit + 50, "--max-workers", pairs + refit + 50,
                    "--max-processes", 2 * (pairs + refit) + 100) as app:
        dash = psutil.Process(app.pid)
        d["rss_mb_start"] = round(dash.memory_info().rss / 2**20, 1)
        recorder = Recorder(app.url)
        try:
            if browser:
                with dashboard_page(app.url, timeout=60) as page:
                    measure(app, dash, recorder, page, pairs, budget, messages, spacing,
                            window_ms, d)
                    measure_refit(app, page, refit, window_ms, d)
            else:
                measure(app, dash, recorder, None, pairs, budget, messages, spacing,
                        window_ms, d)
        finally:
            recorder.close()
        t_stop = time.perf_counter()
    d["stop_s"] = round(time.perf_counter() - t_stop, 1)
    lab = d["lab_processes"]
    figures = [
        figure("client/worker pairs reached", d["pairs"], "", pairs, ">="),
        figure("lab processes (psutil)", lab, ""),
        figure("ramp time", d["ramp_s"], "s"),
        figure("dashboard RSS", d["rss_mb"], "MB", TARGETS["rss_mb"], "<="),
        figure("dashboard CPU idle", d["cpu_idle"], "% of a core"),
        figure("dashboard CPU, messages flowing", d["cpu_busy"], "% of a core"),
        figure("GET /api/truth?detail=0 at this size", d["truth_check_ms"], "ms"),
        figure("event -> socket client p50", d["socket_ms"]["p50"], "ms"),
        figure("event -> socket client p95", d["socket_ms"]["p95"], "ms"),
        figure("event -> socket client p99", d["socket_ms"]["p99"], "ms"),
    ]
    if browser:
        figures += [
            figure("tree nodes in the page", d["tree_nodes"], ""),
            figure("tree groups in the page", d["tree_groups"], ""),
            figure("processes the tree shows (nodes + grouped)", d["tree_shown"], ""),
            figure("event -> page applied p95", d["applied_ms"]["p95"], "ms"),
            figure("page fps, idle", d["fps_idle"]["fps"], "fps", TARGETS["fps"], ">="),
            figure("page fps, messages flowing", d["fps_busy"]["fps"], "fps",
                   TARGETS["fps"], ">="),
            # 100 processes (50 clients and their workers); 20 with --quick
            figure("page fps, 100 processes appearing, tree re-fits", d["fps_refit"]["fps"], "fps",
                   TARGETS["fps"], ">=", note=None if refit == REFIT_CLIENTS else
                   f"{2 * refit} processes (--quick)"),
        ]
    return {"figures": figures, "details": d}


def measure(app, dash, recorder, page, pairs, budget, messages, spacing, window_ms, d):
    spawned, batches, ramp_s, stop_reason = ramp(app, pairs, budget)
    d.update(pairs_spawned=spawned, batch_s=batches, ramp_s=round(ramp_s, 1),
             stop_reason=stop_reason)
    state = wait_until(lambda: pairs_ready(app, spawned), timeout=120,
                       message=f"{spawned} connected pairs")
    d["pairs"] = spawned
    d["lab_processes"] = len(dash.children(recursive=True))
    d["processes_in_state"] = sum(1 for p in state["processes"] if p["state"] != "joined")
    clients = [p["pid"] for p in state["processes"]
               if p["role"] == "client" and p["state"] == "running"]
    if page is not None:
        wait_page_seq(page, state["seq"], timeout=120)
        wait_until(lambda: page.evaluate(TREE_SHOWN) >= d["processes_in_state"],
                   timeout=60, interval=0.25, message="every process in the page's tree")
        d["tree_nodes"] = page.locator(TREE_NODES).count()
        d["tree_groups"] = page.locator("#tree g.group[data-count]").count()
        d["tree_shown"] = page.evaluate(TREE_SHOWN)
    # idle: CPU and frame rate
    dash.cpu_percent(None)
    if page is not None:
        d["fps_idle"] = fps_from_stamps(page.evaluate(RAF_INTERVALS, window_ms))
    else:
        time.sleep(window_ms / 1000)   # the CPU measurement window
    d["cpu_idle"] = dash.cpu_percent(None)
    mem = dash.memory_full_info()
    d["rss_mb"] = round(mem.rss / 2**20, 1)
    d["uss_mb"] = round(mem.uss / 2**20, 1)
    # the page's /proc cross-check at this size (what each of its polls costs)
    t_truth = time.perf_counter()
    app.get("/api/truth?detail=0")
    d["truth_check_ms"] = round((time.perf_counter() - t_truth) * 1000, 1)
    # messages flowing: latency, CPU, frame rate
    first = recorder.last_seq() + 1
    statuses = []
    sender = threading.Thread(target=send_messages,
                              args=(app, clients, messages, spacing, statuses), daemon=True)
    dash.cpu_percent(None)
    t0 = time.perf_counter()
    sender.start()
    if page is not None:
        d["fps_busy"] = fps_from_stamps(page.evaluate(RAF_INTERVALS, window_ms))
    sender.join(messages * spacing + 120)
    busy_s = time.perf_counter() - t0
    d["cpu_busy"] = dash.cpu_percent(None)
    d["messages"] = {"sent": len(statuses), "ok": statuses.count(200),
                     "seconds": round(busy_s, 2)}
    recorder.wait_for(lambda r: sum(1 for e, _ in r.events
                                    if e["seq"] >= first and e["type"] == "echo") >= messages,
                      timeout=60, message="every echo event")
    last = recorder.last_seq()
    received = recorder.received()
    d["socket_ms"] = summary(latencies_ms(received, first, last))
    if page is not None:
        wait_page_seq(page, last, timeout=60)
        applied, dom = dom_latencies_ms(received, page_applied(page), page_dom_times(page),
                                        first, last)
        d["applied_ms"] = summary(applied)
        d["dom_ms"] = summary(dom)
    d["rss_mb_end"] = round(dash.memory_info().rss / 2**20, 1)


def live_count(state):
    return sum(1 for p in state["processes"] if p["state"] != "joined")


def spawn_clients(app, count, out):
    """*count* clients in requests of at most 20; the status of each request."""
    left = count
    while left:
        n = min(BATCH, left)
        r = app.http.post(app.url + "/api/clients", json={"count": n}, timeout=120)
        out.append(r.status_code)
        if r.status_code != 201:
            return
        left -= n


def measure_refit(app, page, count, window_ms, d):
    """Frame rate while *count* clients and their workers appear: the tree
    places, highlights and folds each and re-fits its panel as it grows."""
    before = app.state()
    statuses = []
    spawner = threading.Thread(target=spawn_clients, args=(app, count, statuses), daemon=True)
    t0 = time.perf_counter()
    spawner.start()
    d["fps_refit"] = fps_from_stamps(page.evaluate(RAF_INTERVALS, window_ms))
    spawner.join(120)
    want = live_count(before) + 2 * count

    def grown():
        state = app.state()
        return state if live_count(state) >= want else None

    state = wait_until(grown, timeout=60, interval=0.25, message=f"{count} more clients and workers")
    wait_page_seq(page, state["seq"], timeout=60)
    wait_until(lambda: page.evaluate(TREE_SHOWN) >= want, timeout=60, interval=0.25,
               message="the new processes in the page's tree")
    d["refit"] = {"requests": statuses, "seconds": round(time.perf_counter() - t0, 2),
                  "processes_after": want, "tree_nodes_after": page.locator(TREE_NODES).count(),
                  "tree_groups_after": page.locator("#tree g.group[data-count]").count()}

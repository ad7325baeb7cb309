"""A lecture hall's truth badges: what their polls cost the dashboard.

``python -m bench.truth_polls [--clients 20] [--polls 300] [--threads 20]``

Every page checks its badge (``GET /api/truth?detail=0``) soon after each
change; a hall of phones does it together. With *clients* clients spawned
(each with its worker: about ``2 * clients + 3`` live processes), this sends
*polls* badge checks over *threads* connections at once and reports the
wall time and the dashboard's CPU (psutil, user + system) per poll, beside the
same number of ``GET /api/state`` (the cheapest read, for scale).
"""

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import requests

from bench.common import AppProcess


def hall_of(app, path, polls, threads):
    """*polls* GETs of *path*, *threads* at a time: (wall s, dashboard CPU s)."""
    dashboard = psutil.Process(app.pid)

    def one(_):
        requests.get(app.url + path, timeout=60).raise_for_status()

    cpu0, t0 = sum(dashboard.cpu_times()[:2]), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(polls)))
    return time.perf_counter() - t0, sum(dashboard.cpu_times()[:2]) - cpu0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--polls", type=int, default=300)
    p.add_argument("--threads", type=int, default=20)
    args = p.parse_args(argv)
    app = AppProcess("--no-record")
    result = {}
    try:
        left = args.clients
        while left:   # the spawn endpoint takes at most 20 at a time
            batch = min(left, 20)
            app.post("/api/clients", {"count": batch})
            left -= batch
        live = [p for p in app.get("/api/state")["processes"]
                if p["state"] in ("running", "zombie")]
        result["live_processes"] = len(live)
        for name, path in (("state", "/api/state"), ("badge", "/api/truth?detail=0")):
            wall, cpu = hall_of(app, path, args.polls, args.threads)
            result[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                            "cpu_ms_per_poll": round(cpu / args.polls * 1000, 2)}
            print(f"{len(live)} live processes, {args.polls} x {path} "
                  f"({args.threads} at once): wall {wall:.2f} s, dashboard CPU "
                  f"{cpu:.2f} s ({cpu / args.polls * 1000:.1f} ms a poll)")
    finally:
        app.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()

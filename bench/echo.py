"""Echo overhead: Forkscope's echo server against the tutorial's plain one.

Both run in the same run, on two loopback ports: Forkscope's lab (``python -m
app``, fork start method) and ``bench/seed_server.py`` (the seed's code). For
1, 10 and 50 concurrent connections we measure

* round trips per second: persistent connections, one 64-byte message in
  flight on each (``bench.load rtt``);
* connection set-ups per second: connect → one echo → close, repeated by as
  many slots (``bench.load setups``) — each one costs the server a fork.

Each pair is measured in short runs in the order seed, Forkscope, Forkscope,
seed, twice (ABBA ABBA), so that drift on a shared machine falls on both
equally; each figure is the median of its four runs (one ping-pong pair on two
cores varies a lot with where the scheduler puts the two processes). The ratio
Forkscope/seed is the figure with a target.
"""

import statistics
import time

from bench.common import AppProcess, SeedServer, figure, run_load

NAME = "echo"
TITLE = "Echo overhead: Forkscope vs the tutorial's server"
TARGETS = {"rtt": 0.9, "setups": 0.8}


def measure(kind, address, conns, duration):
    host, port = address
    return run_load(kind, host, port, conns=conns, duration=duration,
                    timeout=duration + 60)


def run(quick=False, browser=True):
    concurrency = (1, 10) if quick else (1, 10, 50)
    duration = 0.5 if quick else 1.25
    rounds = ("seed", "forkscope") if quick else ("seed", "forkscope", "forkscope", "seed") * 2
    pairs = []
    figures = []
    # --max-workers: the lecture-hall cap (64 concurrent connections, then
    # "server busy") is not what is compared; with 50 set-up slots, workers
    # that are still exiting would count against it
    with AppProcess("--max-workers", 1000) as app, SeedServer() as seed:
        servers = {"forkscope": app.echo, "seed": seed.address}
        for kind in ("rtt", "setups"):
            for conns in concurrency:
                runs = {"seed": [], "forkscope": []}
                for which in rounds:
                    runs[which].append(measure(kind, servers[which], conns, duration))
                rate = {k: statistics.median(r["per_s"] for r in v) for k, v in runs.items()}
                ratio = rate["forkscope"] / rate["seed"] if rate["seed"] else None
                pairs.append({"kind": kind, "conns": conns, "seed_per_s": round(rate["seed"], 1),
                              "forkscope_per_s": round(rate["forkscope"], 1),
                              "ratio": None if ratio is None else round(ratio, 3),
                              "runs": runs})
                label = "round trips/s" if kind == "rtt" else "connection set-ups/s"
                figures.append(figure(f"{label}, {conns} conn: seed", rate["seed"], "/s"))
                figures.append(figure(f"{label}, {conns} conn: Forkscope",
                                      rate["forkscope"], "/s"))
                figures.append(figure(f"{label}, {conns} conn: Forkscope/seed", ratio, "x",
                                      TARGETS[kind], ">="))
        events = app.state()["seq"]
    return {"figures": figures,
            "details": {"pairs": pairs, "duration_s": duration, "order": list(rounds),
                        "events_recorded_by_forkscope": events,
                        "message_bytes": 64, "time": time.time()}}

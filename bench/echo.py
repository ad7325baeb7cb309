"""Echo overhead: Forkscope's echo server against the tutorial's plain one.

Both run in the same run, on two loopback ports: Forkscope's lab (``python -m
app``, fork start method) and ``bench/seed_server.py`` (the seed's code). For
1, 10 and 50 concurrent connections we measure

* round trips per second: persistent connections, one 64-byte message in
  flight on each (``bench.load rtt``);
* the same on **one CPU**: both servers (their whole trees) and the load
  generator pinned to one CPU, so that no wake-up crosses CPUs. On these
  virtual machines a wake-up sent to the other CPU costs ~25 µs of the
  sender's time (measured: a socketpair ping-pong, 3 µs per round on one
  CPU, 30 µs across two), so the two-CPU figures mostly say where the
  scheduler put each process; on one CPU the ratio is what each round
  costs in code;
* connection set-ups per second: connect → one echo → close, repeated by as
  many slots (``bench.load setups``) — each one costs the server a fork.

For set-ups it also reads, with psutil, the CPU time each side spent per
set-up: the server itself, its workers (a parent's ``children`` times, counted
when a worker is reaped — for the last few of a run, during the next run of
the same server) and, for Forkscope, the dashboard. That is where the time
goes, independent of how busy the shared machine was.

Each pair is measured in short runs in the order seed, Forkscope, Forkscope,
seed, twice (ABBA ABBA), so that drift on a shared machine falls on both
equally; each figure is the median of its four runs (one ping-pong pair on two
cores varies a lot with where the scheduler puts the two processes). The ratio
Forkscope/seed is the figure with a target.
"""

import os
import statistics
import time

import psutil

from bench.common import AppProcess, SeedServer, figure, pin_tree, run_load

NAME = "echo"
TITLE = "Echo overhead: Forkscope vs the tutorial's server"
TARGETS = {"rtt": 0.9, "setups": 0.8}


def measure(kind, address, conns, duration, cpu_parts, cpu=None):
    host, port = address
    before = cpu_seconds(cpu_parts)
    options = {} if cpu is None else {"cpu": cpu}
    result = run_load(kind.split("-")[0], host, port, conns=conns, duration=duration,
                      timeout=duration + 60, **options)
    if kind == "setups" and result["count"]:
        after = cpu_seconds(cpu_parts)
        result["cpu_us_per_setup"] = {k: round((after[k] - before[k]) / result["count"] * 1e6, 1)
                                      for k in cpu_parts}
    return result


def cpu_seconds(parts):
    """*parts*: name -> (pid, children?) -> CPU seconds (user + system) so far."""
    out = {}
    for name, (pid, children) in parts.items():
        t = psutil.Process(pid).cpu_times()
        out[name] = (t.children_user + t.children_system) if children else (t.user + t.system)
    return out


def median_cpu(runs):
    """Per part, the median over runs of CPU µs per set-up, and their total."""
    measured = [r["cpu_us_per_setup"] for r in runs if "cpu_us_per_setup" in r]
    if not measured:
        return None
    med = {k: round(statistics.median(m[k] for m in measured), 1) for k in measured[0]}
    return dict(med, total=round(sum(med.values()), 1))


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
        server_pid = next(p["pid"] for p in app.state()["processes"]
                          if p["role"] == "server" and p["state"] == "running")
        cpu_parts = {"seed": {"server": (seed.proc.pid, False), "workers": (seed.proc.pid, True)},
                     "forkscope": {"server": (server_pid, False), "workers": (server_pid, True),
                                   "dashboard": (app.pid, False)}}
        everywhere = os.sched_getaffinity(0)
        one_cpu = max(everywhere)
        for kind in ("rtt", "rtt-1cpu", "setups"):
            pinned = kind == "rtt-1cpu"
            for pid in (app.pid, seed.proc.pid):
                pin_tree(pid, {one_cpu} if pinned else everywhere)
            if kind == "setups":
                # the round-trip runs' workers are reaped by the next start():
                # let that happen before set-ups are measured, or their CPU counts
                for which in rounds[:2]:
                    measure("setups", servers[which], 1, 0.2, {})
            for conns in concurrency:
                runs = {"seed": [], "forkscope": []}
                for which in rounds:
                    runs[which].append(measure(kind, servers[which], conns, duration,
                                               cpu_parts[which], one_cpu if pinned else None))
                rate = {k: statistics.median(r["per_s"] for r in v) for k, v in runs.items()}
                ratio = rate["forkscope"] / rate["seed"] if rate["seed"] else None
                pairs.append({"kind": kind, "conns": conns, "seed_per_s": round(rate["seed"], 1),
                              "forkscope_per_s": round(rate["forkscope"], 1),
                              "ratio": None if ratio is None else round(ratio, 3),
                              "runs": runs})
                if kind == "setups":
                    cpu = {k: median_cpu(v) for k, v in runs.items()}
                    pairs[-1]["cpu_us_per_setup"] = cpu
                label = {"rtt": "round trips/s", "rtt-1cpu": "round trips/s on one CPU",
                         "setups": "connection set-ups/s"}[kind]
                figures.append(figure(f"{label}, {conns} conn: seed", rate["seed"], "/s"))
                figures.append(figure(f"{label}, {conns} conn: Forkscope",
                                      rate["forkscope"], "/s"))
                figures.append(figure(f"{label}, {conns} conn: Forkscope/seed", ratio, "x",
                                      TARGETS[kind.split("-")[0]], ">="))
                if kind == "setups" and cpu["seed"] and cpu["forkscope"]:
                    f = cpu["forkscope"]
                    figures.append(figure(f"CPU per set-up, {conns} conn: seed (server + workers)",
                                          cpu["seed"]["total"] / 1000, "ms"))
                    figures.append(figure(
                        f"CPU per set-up, {conns} conn: Forkscope", f["total"] / 1000, "ms",
                        note=f"server {f['server'] / 1000:.2f} + workers "
                             f"{f['workers'] / 1000:.2f} + dashboard {f['dashboard'] / 1000:.2f}"))
        events = app.state()["seq"]
    return {"figures": figures,
            "details": {"pairs": pairs, "duration_s": duration, "order": list(rounds),
                        "events_recorded_by_forkscope": events,
                        "message_bytes": 64, "time": time.time()}}

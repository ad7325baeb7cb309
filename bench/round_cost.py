"""CPU per echo round trip, worker by worker, A/B between code trees and the seed.

``python -m bench.round_cost TREE_OR_seed ... [--conns 10] [--duration 4] [--rounds 2]``

``make bench``'s round-trip figure is a rate: with several connections on a
small machine the load generator and the workers share the cores, so every
microsecond a worker spends per round is a round the load generator cannot
make. This isolates that microsecond. For each argument — a code tree whose
echo server is started as the dashboard starts it (spawn, ``run_server``, a
spawn-context Queue drained by a thread), or ``seed`` (``bench.seed_server``,
the tutorial's code) — it opens *conns* connections with ``bench.load rtt``
and reports, over the measured seconds, the workers' own CPU time (psutil,
user + system, summed over the live workers) per round trip, the server's,
the load generator's, and the rate. Arguments alternate A B B A per round.
"""

import argparse
import os

from bench.setup_cost import compare, run_driver

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DRIVER = r"""
import json, os, subprocess, sys, threading, time
import psutil

def forkscope_server():
    from multiprocessing import Pipe, get_context
    from app.lab.forking import LabProcess
    from app.lab.echo_server import run_server
    queue = get_context("spawn").Queue()
    threading.Thread(target=lambda: [queue.get() for _ in iter(int, 1)], daemon=True).start()
    ours, theirs = Pipe()
    lab = {"start_method": "fork", "daemon_workers": False, "worker_style": "target"}
    proc = LabProcess(target=run_server, start_method="spawn", name="server-1",
                      args=("127.0.0.1", 0, queue, theirs, lab,
                            {"max_workers": 1000, "idle_timeout": 600}))
    proc.start()
    theirs.close()
    assert ours.poll(20)
    address = tuple(ours.recv()["ready"])

    def stop():
        ours.send({"id": 1, "op": "stop"})
        proc.join(30)
    return proc.pid, address, stop

def seed_server():
    import re
    p = subprocess.Popen([sys.executable, "-m", "bench.seed_server", "0"], cwd=HERE,
                         stdout=subprocess.PIPE, text=True)
    host, port = re.search(r"(\d+\.\d+\.\d+\.\d+):(\d+)", p.stdout.readline()).groups()

    def stop():
        p.terminate()
        p.wait(30)
    return p.pid, (host, int(port)), stop

def cpu(proc):
    try:
        t = proc.cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return 0.0

def main(kind, conns, duration):
    pid, (host, port), stop = seed_server() if kind == "seed" else forkscope_server()
    try:
        server = psutil.Process(pid)
        load = subprocess.Popen([sys.executable, "-m", "bench.load", "rtt", "--host", host,
                                 "--port", str(port), "--conns", str(conns),
                                 "--duration", str(duration)], cwd=HERE,
                                stdout=subprocess.PIPE, text=True)
        gen = psutil.Process(load.pid)
        # the load generator opens its connections and warms every worker up
        # first: measure once all of them exist, for the rest of its run
        deadline = time.monotonic() + 30
        while len(server.children()) < conns:
            assert time.monotonic() < deadline, "workers did not appear"
            time.sleep(0.005)
        workers = server.children()
        w0, s0, g0, t0 = sum(map(cpu, workers)), cpu(server), cpu(gen), time.monotonic()
        time.sleep(duration * 0.8)
        w1, s1, g1, t1 = sum(map(cpu, workers)), cpu(server), cpu(gen), time.monotonic()
        out = json.loads(load.communicate(timeout=duration + 60)[0])
        rounds = out["per_s"] * (t1 - t0)
        print(json.dumps({"per_s": out["per_s"], "worker_us": (w1 - w0) / rounds * 1e6,
                          "server_us": (s1 - s0) / rounds * 1e6,
                          "load_us": (g1 - g0) / rounds * 1e6}))
    finally:
        stop()

HERE = sys.argv[4]
if sys.argv[5] != "-":   # one CPU for everything: no cross-CPU wake-ups
    os.sched_setaffinity(0, {int(sys.argv[5])})
main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
"""


def run(tree, conns, duration, cpu=None):
    kind = "seed" if tree == "seed" else "forkscope"
    path = HERE if tree == "seed" else os.path.abspath(tree)
    return run_driver(DRIVER, [kind, conns, duration, HERE, "-" if cpu is None else cpu],
                      path, [path, HERE], timeout=duration + 120)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--conns", type=int, default=10)
    p.add_argument("--duration", type=float, default=4.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--cpu", type=int, help="pin the server, its workers and the load "
                   "generator to this one CPU")
    args = p.parse_args()
    compare(args.a, args.b, args.rounds,
            lambda tree: run(tree, args.conns, args.duration, args.cpu),
            ("per_s", "worker_us", "server_us", "load_us"),
            lambda r: f"{r['per_s']:.0f} rounds/s; per round: worker {r['worker_us']:.2f} µs, "
                      f"server {r['server_us']:.2f}, load {r['load_us']:.2f}",
            f", {args.conns} conn")

if __name__ == "__main__":
    main()

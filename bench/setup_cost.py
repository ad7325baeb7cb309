"""Connection set-up cost of the echo server alone, A/B between two code trees.

``python -m bench.setup_cost OLD_TREE NEW_TREE [--n 1500] [--rounds 2]``

For each tree a driver process (this file, run with the tree first on
``sys.path``) starts that tree's echo server as the dashboard does (spawn,
``run_server``, a spawn-context Queue drained by a thread), then makes N
set-ups one after the other — connect, 64 bytes, read them back, close — and
reports the server's CPU time per set-up (its own, plus its reaped workers':
``children_user + children_system``) and the wall time per set-up. Trees
alternate A B B A per round, so drift on a shared machine falls on both.

No dashboard, no browser, no other load: what differs between the trees is
only the lab's own code (for issue 10: the workers' command channel).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

DRIVER = r"""
import json, socket, sys, threading, time
from multiprocessing import Pipe, get_context
from multiprocessing.connection import wait
import psutil
from app.lab.forking import LabProcess
from app.lab.echo_server import run_server

def main(n, method):
    queue = get_context("spawn").Queue()
    threading.Thread(target=lambda: [queue.get() for _ in iter(int, 1)], daemon=True).start()
    ours, theirs = Pipe()
    lab = {"start_method": method, "daemon_workers": False, "worker_style": "target"}
    proc = LabProcess(target=run_server, start_method="spawn", name="server-1",
                      args=("127.0.0.1", 0, queue, theirs, lab,
                            {"max_workers": 1000, "idle_timeout": 600}))
    proc.start()
    theirs.close()
    assert ours.poll(20)
    address = tuple(ours.recv()["ready"])
    data = b"x" * 64

    def setups(count):
        for _ in range(count):
            with socket.create_connection(address) as s:
                s.sendall(data)
                got = b""
                while len(got) < 64:
                    got += s.recv(1024)

    setups(100)  # warm-up: imports, caches, the forkserver
    server = psutil.Process(proc.pid)
    t0 = server.cpu_times()
    w0 = time.perf_counter()
    setups(n)
    wall = time.perf_counter() - w0
    # stop only once the last worker has exited: a worker terminated while it
    # writes an event dies holding the queue's write lock, and every later
    # writer (the server first) would wait for it forever
    deadline = time.monotonic() + 30
    while any(c.status() != psutil.STATUS_ZOMBIE for c in server.children()):
        assert time.monotonic() < deadline, "a worker did not exit"
        time.sleep(0.01)
    ours.send({"id": 1, "op": "stop"})
    # once it has exited (a zombie) its workers are reaped and counted, and
    # /proc still has its times; join() would take them away
    wait([proc.sentinel], 30)
    t = server.cpu_times()
    own = t.user + t.system - t0.user - t0.system
    workers = t.children_user + t.children_system - t0.children_user - t0.children_system
    proc.join(30)
    print(json.dumps({"wall_us": wall / n * 1e6, "cpu_us": (own + workers) / n * 1e6,
                      "server_us": own / n * 1e6, "workers_us": workers / n * 1e6}))

if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
"""


def run_driver(driver, args, tree, pythonpath, timeout):
    """``python -c DRIVER ARGS`` in *tree* with *pythonpath*: its last line's JSON."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(pythonpath))
    out = subprocess.run([sys.executable, "-c", driver, *map(str, args)], cwd=tree, env=env,
                         capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def abba(a, b, rounds, measure, describe):
    """*rounds* of A B B A, so that drift on a shared machine falls on both:
    ``measure(x)`` each time, printed by ``describe(x, result)`` as it comes.
    Returns ``{x: [results]}``."""
    results = {a: [], b: []}
    for _ in range(rounds):
        for x in (a, b, b, a):
            results[x].append(measure(x))
            print(describe(x, results[x][-1]), flush=True)
    return results


def medians(runs, keys):
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def compare(a, b, rounds, measure, keys, describe, note):
    """A/B between *a* and *b*: ``abba``, each run printed as ``tree:
    describe(result)``, then per tree ``tree: median describe(medians of
    keys) (note)``."""
    results = abba(a, b, rounds, measure, lambda x, r: f"{x}: {describe(r)}")
    for x, runs in results.items():
        print(f"{x}: median {describe(medians(runs, keys))} ({len(runs)} runs{note})")


def run(tree, n, method):
    return run_driver(DRIVER, [n, method], tree, [tree], timeout=600)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--n", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--start-method", default="fork")
    args = p.parse_args()
    compare(args.a, args.b, args.rounds, lambda tree: run(tree, args.n, args.start_method),
            ("cpu_us", "server_us", "workers_us", "wall_us"),
            lambda r: f"cpu {r['cpu_us']:.0f} µs/set-up (server {r['server_us']:.0f}, "
                      f"workers {r['workers_us']:.0f}), wall {r['wall_us']:.0f} µs/set-up",
            f" of {args.n}")

if __name__ == "__main__":
    main()

"""Forkscope's benchmarks (issue 6): ``python -m bench`` or ``make bench``.

One module per benchmark, each with ``NAME``, ``TITLE`` and
``run(quick, browser) -> {"figures": [...], "details": {...}}``:

    latency        event ``t`` -> Socket.IO client and -> the page, idle and in a burst
    echo           Forkscope's echo server vs the tutorial's (bench/seed_server.py)
    scale          250 client/worker pairs: dashboard RSS, CPU, latency, page fps
    viewers        100 Socket.IO viewers: every event to every viewer, fan-out latency
    start_methods  per-worker start cost for fork / spawn / forkserver
    stepping       a Step click in the page -> the released process's next point applied
                   (needs the lab's step mode)
    scrub          time travel: one scrub step's rebuild + render, 10,000 events, 200
                   processes (/replay, no lab)

See docs/performance.md for the latest figures.
"""

import importlib
import os

BENCHMARKS = ("latency", "echo", "scale", "viewers", "start_methods", "stepping", "scrub")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def load_benchmark(name):
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; one of {', '.join(BENCHMARKS)}")
    return importlib.import_module(f"bench.{name}")

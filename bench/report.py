"""Markdown tables from the results JSON, for docs/performance.md:

    python -m bench.report [--dir bench/results]
"""

import argparse
import json
import os
import sys

from bench import BENCHMARKS, RESULTS
from bench.__main__ import fmt


def status(f):
    return {True: "met", False: "**missed**", None: ""}[f["met"]]


def figures_table(result):
    lines = ["| figure | value | target | |", "|---|---:|---|---|"]
    for f in result["figures"]:
        target = "" if f["target"] is None else f"{f['op']} {fmt(f['target'])} {f['unit']}"
        lines.append(f"| {f['name']} | {fmt(f['value'])} {f['unit']} | {target} | {status(f)} |")
    return "\n".join(lines)


def seed_table(result):
    lines = ["| measure | connections | seed | Forkscope | Forkscope/seed | target |",
             "|---|---:|---:|---:|---:|---|"]
    for p in result["details"]["pairs"]:
        kind = "round trips/s" if p["kind"] == "rtt" else "connection set-ups/s"
        target = ">= 0.9" if p["kind"] == "rtt" else ">= 0.8"
        lines.append(f"| {kind} | {p['conns']} | {fmt(p['seed_per_s'])} | "
                     f"{fmt(p['forkscope_per_s'])} | {p['ratio']:.2f} | {target} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.report")
    p.add_argument("--dir", default=RESULTS)
    a = p.parse_args(argv)
    for name in BENCHMARKS:
        path = os.path.join(a.dir, f"{name}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            result = json.load(f)
        print(f"### {result['title']}\n")
        code = result.get("code") or {}
        dirty = f", uncommitted: {', '.join(code['uncommitted'])}" if code.get("uncommitted") else ""
        print(f"{result['started']}, code {code.get('head', '?')}{dirty}, {result['seconds']} s, "
              f"load average "
              f"{result.get('loadavg_start')} -> {result.get('loadavg_end')}"
              f"{' (quick)' if result['quick'] else ''}\n")
        print(figures_table(result))
        if name == "echo":
            print("\n" + seed_table(result))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

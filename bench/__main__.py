"""``python -m bench [--quick] [--only NAME ...] [--out DIR] [--no-browser]``

Runs the benchmarks in order, prints a table for each and writes
``DIR/<name>.json`` (default ``bench/results``). Figures are compared with their
targets and marked, never failed on: the exit status is non-zero only if a
benchmark could not run.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime

from bench import BENCHMARKS, RESULTS, common, load_benchmark
from bench.common import ROOT, browser_available, machine


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(title, figures):
    rows = [("figure", "value", "target", "")]
    for f in figures:
        target = "" if f["target"] is None else f"{f['op']} {fmt(f['target'])} {f['unit']}"
        status = {True: "ok", False: "MISSED", None: ""}[f["met"]]
        if f.get("note"):
            status = (status + " " if status else "") + f"({f['note']})"
        rows.append((f["name"], f"{fmt(f['value'])} {f['unit']}", target, status))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"== {title} =="]
    for i, r in enumerate(rows):
        lines.append(f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}"
                     .rstrip())
        if i == 0:
            lines.append("  " + "-" * (sum(widths) + 12))
    return "\n".join(lines)


def code_state():
    """The commit measured, and the app's files that differed from it (the
    working tree is what runs: others may be editing it)."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    dirty = git("status", "--porcelain", "--", "app", "static", "templates")
    return {"head": git("rev-parse", "--short", "HEAD"),
            "uncommitted": [line[3:] for line in dirty.splitlines()]}


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


def write_json(out_dir, name, result):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
    return path


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke mode: tiny sizes, seconds per benchmark")
    p.add_argument("--only", action="append", choices=BENCHMARKS, metavar="NAME",
                   help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    p.add_argument("--out", default=RESULTS, help="directory for <name>.json "
                                                  "(default %(default)s)")
    p.add_argument("--no-browser", action="store_true",
                   help="skip the parts measured in headless Chromium")
    p.add_argument("--no-record", action="store_true",
                   help="run the app with --no-record (default: it records, as a "
                        "teacher's does, into a temporary directory): recording's cost")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = args.only or list(BENCHMARKS)
    common.RECORD = not args.no_record
    browser = not args.no_browser and browser_available()
    if not args.no_browser and not browser:
        print("bench: headless Chromium not available; browser parts skipped", file=sys.stderr)
    info = machine()
    print(f"Forkscope benchmarks{' (quick)' if args.quick else ''}: "
          f"{info['nproc']} CPUs ({info['cpu_model']}), "
          f"{info['mem_total_gb']} GiB, Python {info['python']}, load {info['loadavg']}",
          flush=True)
    failed = []
    t_all = time.perf_counter()
    for name in names:
        module = load_benchmark(name)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        load_start = loadavg()
        t0 = time.perf_counter()
        try:
            result = module.run(quick=args.quick, browser=browser)
            error = None
        except Exception as exc:  # noqa: BLE001 - report it, go on with the next one
            traceback.print_exc()
            result, error = {"figures": [], "details": {}}, f"{type(exc).__name__}: {exc}"
            failed.append(name)
        seconds = time.perf_counter() - t0
        record = {"benchmark": name, "title": module.TITLE, "quick": args.quick,
                  "browser": browser, "record": common.RECORD, "started": started, "seconds": round(seconds, 1),
                  "loadavg_start": load_start, "loadavg_end": loadavg(),
                  "machine": info, "code": code_state(), "error": error, **result}
        path = write_json(args.out, name, record)
        print()
        print(table(f"{module.TITLE} [{seconds:.1f} s]", result["figures"]))
        if error:
            print(f"  ERROR: {error}")
        print(f"  -> {os.path.relpath(path)}", flush=True)
    print(f"\nall done in {time.perf_counter() - t_all:.1f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

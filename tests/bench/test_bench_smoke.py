"""Smoke test of ``python -m bench --quick``: each benchmark runs in its quick
mode (as a subprocess, like ``make bench``), produces numbers and writes its
JSON to the directory given with ``--out``. The figures are not held to their
targets here — only that they exist."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_quick(out_dir, *names, browser=True):
    args = [sys.executable, "-m", "bench", "--quick", "--out", str(out_dir)]
    for name in names:
        args += ["--only", name]
    if not browser:
        args.append("--no-browser")
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=80,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = {}
    for name in names:
        path = out_dir / f"{name}.json"
        assert path.exists(), f"{name}.json not written"
        results[name] = json.loads(path.read_text())
        assert f"-> {os.path.relpath(path, ROOT)}" in proc.stdout or name in proc.stdout
    return results, proc.stdout


def assert_figures(result, required):
    assert result["error"] is None
    figures = {f["name"]: f for f in result["figures"]}
    for name in required:
        assert name in figures, f"{result['benchmark']}: no figure {name!r}"
        value = figures[name]["value"]
        assert isinstance(value, (int, float)) and value >= 0, (name, value)
    for f in result["figures"]:
        if f["target"] is not None:
            assert f["met"] in (True, False)
    assert result["machine"]["nproc"] >= 1


NO_BROWSER = {
    "echo": ["round trips/s, 1 conn: seed", "round trips/s, 1 conn: Forkscope",
             "round trips/s, 1 conn: Forkscope/seed",
             "connection set-ups/s, 10 conn: Forkscope/seed"],
    "viewers": ["viewers connected", "missing events (all viewers)", "fan-out latency p95",
                "python-socketio: fan-out latency p95"],
    "start_methods": ["fork: start_ms median", "spawn: start_ms median",
                      "forkserver: start_ms median"],
    "latency": ["idle: event -> socket client p99", "burst: event -> socket client p95"],
    "scale": ["client/worker pairs reached", "dashboard RSS", "event -> socket client p95"],
}

BROWSER = {
    "latency": ["idle: event -> page applied p95", "burst: event -> page applied p95",
                "idle: event -> DOM mutation p95"],
    "scale": ["page fps, idle", "page fps, messages flowing", "tree nodes in the page",
              "page fps, 100 processes appearing, tree re-fits"],
}


def test_quick_benchmarks_without_browser(tmp_path):
    results, stdout = run_quick(tmp_path, *NO_BROWSER, browser=False)
    for name, required in NO_BROWSER.items():
        assert_figures(results[name], required)
        assert results[name]["quick"] is True
    assert "all done" in stdout


@pytest.mark.e2e
def test_quick_benchmarks_in_the_browser(tmp_path):
    results, _ = run_quick(tmp_path, *BROWSER)
    for name, required in BROWSER.items():
        assert results[name]["browser"] is True
        assert_figures(results[name], required + NO_BROWSER[name])


@pytest.mark.e2e
def test_quick_scrub_benchmark(tmp_path):
    """bench/scrub.py (issue 14): a synthetic recording on /replay, no lab."""
    results, _ = run_quick(tmp_path, "scrub")
    assert_figures(results["scrub"], ["scrub step: rebuild + render p95",
                                      "scrub step, the log tab shown: p95",
                                      "scrub step: rebuild alone p95"])
    assert results["scrub"]["details"]["live_processes"]["max"] == 200


def test_cold_wake_reports_each_spacing():
    proc = subprocess.run([sys.executable, "-m", "bench.cold_wake", "--rounds", "3"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["warm_encode_us"]["p50"] > 0
    for spacing in ("0.27", "0.05", "0.01"):
        assert result[spacing]["pipe_hop_ms"]["p50"] > 0
        assert result[spacing]["encode_us"]["p95"] >= result[spacing]["encode_us"]["p50"] > 0


def test_truth_polls_reports_both_reads():
    proc = subprocess.run([sys.executable, "-m", "bench.truth_polls", "--clients", "2",
                           "--polls", "20", "--threads", "4"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["live_processes"] >= 5
    for read in ("state", "badge"):
        assert result[read]["wall_s"] > 0 and result[read]["cpu_s"] >= 0

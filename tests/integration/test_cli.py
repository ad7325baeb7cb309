"""``python -m app`` as a teacher runs it: start, load with clients, stop; nothing
survives, the ports are free again."""

import signal
import socket
import subprocess
import sys

import psutil
import pytest

from tests.helpers import ROOT, Api, dashboard_process, wait_until


def run_app(*args):
    """``python -m app ARGS`` that is expected to exit by itself."""
    return subprocess.run([sys.executable, "-m", "app", *args], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


def port_is_free(address):
    """Free for a new listener (connections in TIME_WAIT do not count, as for
    the tutorial's server with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError:
            return False
        return True


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_dashboard_reaps_every_lab_process(how):
    with dashboard_process() as (proc, url, echo):
        api = Api(url)
        api.spawn(5)
        api.send(api.processes(role="client")[0]["pid"], "hi")
        lab = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(lab) >= 11  # server + 5 clients + 5 workers
        dash_port = int(url.rsplit(":", 1)[1])
        proc.send_signal(how)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "every lab process was reaped" in out
    assert "Traceback" not in err
    assert [pid for pid in lab if psutil.pid_exists(pid)] == []
    assert port_is_free(echo) and port_is_free(("127.0.0.1", dash_port))


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_dashboard_reaps_a_puzzle_with_orphans(how):
    """A fork-tree puzzle mid-way — orphans adopted by b (every puzzle process a
    subreaper) — and a client: the stop reaps them all."""
    with dashboard_process() as (proc, url, _echo):
        api = Api(url)
        api.spawn(1)
        r = api.post("/api/puzzles", {"actions": "a+b,b+c,c+d,c+e,d+f,c-,a+g",
                                      "reparent": "ancestor"})
        assert r.status_code == 201, r.text
        for _ in range(6):
            assert api.post(f"/api/puzzles/{r.json()['id']}/next").status_code == 200
        tree = api.get("/api/puzzles").json()["puzzle"]["tree"]
        assert {p["name"] for p in tree} == {"a", "b", "d", "e", "f"}
        lab = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert {p["pid"] for p in tree} <= set(lab)
        proc.send_signal(how)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "every lab process was reaped" in out
    assert "Traceback" not in err
    assert [pid for pid in lab if psutil.pid_exists(pid)] == []


def test_lab_flags_reach_the_workers():
    with dashboard_process("--start-method", "spawn", "--daemon-workers",
                           "--worker-style", "subclass") as (proc, url, _echo):
        api = Api(url)
        assert api.get("/api/lab").json() == {"start_method": "spawn",
                                              "daemon_workers": True,
                                              "worker_style": "subclass"}
        (client,) = api.spawn(1)
        worker = wait_until(lambda: api.process(client)["worker_pid"])
        w = api.process(worker)
        assert (w["start_method"], w["daemon"], w["style"]) == ("spawn", True, "subclass")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_a_busy_dashboard_port_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        out = run_app("--port", str(port), "--echo-port", "0")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"forkscope: port {port} on 127.0.0.1 is already in use; choose another with --port"]


def test_a_busy_echo_port_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        out = run_app("--port", "0", "--echo-port", str(port))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0] and "--echo-port" in lines[0]


def test_help_lists_the_flags():
    out = run_app("--help")
    for flag in ("--host", "--port", "--echo-host", "--echo-port", "--max-clients",
                 "--start-method", "--daemon-workers", "--worker-style"):
        assert flag in out.stdout


def test_wait_until_helper_times_out():
    with pytest.raises(AssertionError, match="timed out"):
        wait_until(lambda: False, timeout=0.05)

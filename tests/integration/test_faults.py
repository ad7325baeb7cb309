"""Faults: each is seen within a second with its exit code, the rest keeps
working, and the server can be restarted; a dashboard that dies takes the lab
with it."""

import os
import signal
import threading
import time

import psutil
import pytest

from app.lab.orphans import become_subreaper
from tests.helpers import Api, dashboard_process, wait_until


def killed_and_seen(api, pid):
    """SIGKILL *pid*; return how long until the model showed the exit."""
    t0 = time.time()
    os.kill(pid, signal.SIGKILL)
    exited = wait_until(lambda: [e for e in api.events()
                                 if e["type"] == "exited" and e["pid"] == pid],
                        timeout=1.0, message=f"the exit of {pid} within a second")[0]
    assert exited["exitcode"] == -9
    return exited["t"] - t0


def worker_of(api, client):
    return wait_until(lambda: api.process(client)["worker_pid"])


def test_sigkill_of_a_worker(api):
    a, b = api.spawn(2)
    assert killed_and_seen(api, worker_of(api, a)) < 1.0
    wait_until(lambda: api.process(a)["connection"] == "closed")
    assert api.send(b, "still here")["reply"] == "STILL HERE"


def test_sigkill_of_a_client(api):
    a, b = api.spawn(2)
    worker = worker_of(api, a)
    killed_and_seen(api, a)
    # its worker saw EOF and finished normally
    wait_until(lambda: api.process(worker)["state"] == "zombie")
    assert api.process(worker)["exitcode"] == 0
    assert api.send(b, "ok")["reply"] == "OK"


def test_sigkill_of_a_client_mid_message(api):
    (a,) = api.spawn(1)
    results = []
    sender = threading.Thread(target=lambda: results.append(
        api.post(f"/api/clients/{a}/messages", {"text": "x" * 65536})))
    sender.start()
    os.kill(a, signal.SIGKILL)
    sender.join(30)
    assert not sender.is_alive()
    assert results[0].status_code in (200, 409), results[0].text  # done, or "gone"
    wait_until(lambda: api.process(a)["state"] == "zombie")
    (b,) = api.spawn(1)
    assert api.send(b, "after")["reply"] == "AFTER"


def test_sigkill_of_the_server_then_restart(api):
    (a,) = api.spawn(1)
    worker_of(api, a)
    server = api.processes(role="server", state="running")[0]["pid"]
    killed_and_seen(api, server)
    # the orphaned worker still serves its client
    assert api.send(a, "orphan")["reply"] == "ORPHAN"
    r = api.post("/api/server/restart")
    assert r.status_code == 200
    (b,) = api.spawn(1)
    assert api.send(b, "new server")["reply"] == "NEW SERVER"


@pytest.mark.timeout(60)
def test_a_killed_dashboard_takes_the_lab_with_it():
    become_subreaper()  # the lab's orphans come to this test, which reaps them
    with dashboard_process() as (proc, url, _echo):
        api = Api(url)
        api.spawn(3)
        wait_until(lambda: len(api.processes(role="worker", state="running")) == 3)
        lab = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(lab) >= 7
        proc.kill()
        proc.wait(10)

    def all_exited():
        return all(not psutil.pid_exists(pid) or
                   psutil.Process(pid).status() == psutil.STATUS_ZOMBIE for pid in lab)
    wait_until(all_exited, timeout=5, message="every lab process to exit on its own")
    for pid in lab:  # they are ours now (we are the subreaper): reap them by pid
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # reaped by their own parent before it exited


def test_a_killed_dashboard_takes_a_puzzle_with_it():
    """Puzzle processes (app/lab/puzzle.py) exit when their channel to the
    dashboard closes: nothing of a puzzle outlives a dashboard killed outright,
    orphans adopted by puzzle subreapers included."""
    become_subreaper()
    with dashboard_process() as (proc, url, _echo):
        api = Api(url)
        r = api.post("/api/puzzles", {"actions": "a+b,b+c,c+d,c+e,c-", "reparent": "ancestor"})
        assert r.status_code == 201, r.text
        for _ in range(5):
            assert api.post(f"/api/puzzles/{r.json()['id']}/next").status_code == 200
        puzzle = [p["pid"] for p in api.get("/api/puzzles").json()["puzzle"]["tree"]]
        assert len(puzzle) == 4
        proc.kill()
        proc.wait(10)

    def all_exited():
        return all(not psutil.pid_exists(pid) or
                   psutil.Process(pid).status() == psutil.STATUS_ZOMBIE for pid in puzzle)
    wait_until(all_exited, timeout=5, message="every puzzle process to exit on its own")
    for pid in puzzle:   # what re-parented to us (the subreaper): reap it by pid
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def test_sigterm_while_loaded_with_forkserver_clients_leaves_nothing():
    with dashboard_process("--start-method", "forkserver") as (proc, url, _echo):
        Api(url).spawn(10)
        lab = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert [pid for pid in lab if psutil.pid_exists(pid)] == []

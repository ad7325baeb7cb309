"""What the lessons ask of the lab, against real processes and /proc: the
reset to a known state, the p.run() demonstration, the flood of lesson ⑥,
the CPU meter, and the step viewers follow."""

import os
import signal

import psutil
import pytest

from tests.helpers import model_vs_proc, os_view, wait_until


def live(api, role):
    return [p for p in api.state()["processes"]
            if p["role"] == role and p["state"] in ("running", "zombie")]


def workers_of(api, clients):
    return [wait_until(lambda c=c: api.process(c)["worker_pid"]) for c in clients]


def test_reset_brings_a_messy_lab_back_to_a_known_state(api, dashboard_pid):
    """Zombies, orphans of a terminated server with daemonic workers, other lab
    settings, slow mode, a puzzle running: all gone, one server, run mode."""
    # a zombie client and its zombie worker
    first = api.spawn(1)[0]
    (first_worker,) = workers_of(api, [first])
    api.post(f"/api/clients/{first}/close")
    wait_until(lambda: os_view(first_worker) and os_view(first_worker)[0] == "zombie")
    # daemonic workers whose server was terminated: orphans of the dashboard
    assert api.post("/api/lab", {"daemon_workers": True, "worker_style": "subclass"}
                    ).status_code == 200
    clients = api.spawn(2)
    orphans = workers_of(api, clients)
    server = live(api, "server")[0]["pid"]
    os.kill(server, signal.SIGTERM)
    wait_until(lambda: all(psutil.Process(w).ppid() == dashboard_pid for w in orphans))
    # a fork-tree puzzle running: a forked b
    r = api.post("/api/puzzles", {"actions": "a+b,b+c"})
    assert r.status_code == 201, r.text
    assert api.post(f"/api/puzzles/{r.json()['id']}/next").status_code == 200
    puzzle = [p["pid"] for p in api.state()["processes"]
              if p["role"] not in ("dashboard", "server", "worker", "client", "helper")
              and p["state"] == "running"]
    assert len(puzzle) == 2, puzzle
    api.post("/api/step", {"mode": "slow", "delay_ms": 200})
    old = [first, first_worker, *clients, *orphans, server, *puzzle]

    r = api.post("/api/lab/reset")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["clean"] is True
    assert body["lab"] == {"start_method": "fork", "daemon_workers": False,
                           "worker_style": "target"}
    assert body["step"]["mode"] == "run" and body["step"]["waiting"] == []
    new_server = body["pid"]
    # /proc: every process of the old lab is gone, zombies included
    assert [pid for pid in old if os_view(pid) is not None] == []
    assert os_view(new_server) == (os_view(new_server)[0], dashboard_pid)
    assert psutil.Process(new_server).children() == []
    assert not [c.pid for c in psutil.Process(dashboard_pid).children()
                if c.status() == psutil.STATUS_ZOMBIE]
    # the model: one server, no client, no worker, no zombie; and it agrees with /proc
    state = api.state()
    assert [p["pid"] for p in live(api, "server")] == [new_server]
    assert live(api, "client") == [] and live(api, "worker") == []
    assert model_vs_proc(state) == []
    assert api.get("/api/lab").json()["daemon_workers"] is False
    assert api.get("/api/puzzles").json()["puzzle"] is None
    # and the lab works as before
    (client,) = api.spawn(1)
    assert api.send(client, "hi")["reply"] == "HI"


def test_p_run_runs_in_the_caller_and_p_start_makes_a_child(api, dashboard_pid):
    r = api.post("/api/demos/run-vs-start")
    assert r.status_code == 200, r.text
    demo = r.json()
    helper = demo["pid"]
    # run() called directly ran in the helper itself: no new pid
    assert demo["caller"] == {"pid": helper, "ppid": dashboard_pid}
    assert (demo["run"]["pid"], demo["run"]["ppid"]) == (helper, dashboard_pid)
    # start() made a child: a new pid whose parent is the helper
    assert demo["start"]["pid"] not in (helper, dashboard_pid)
    assert demo["start"]["ppid"] == helper
    # "p.join只能join住start开启的进程": multiprocessing's own words
    assert demo["join_error"] == "can only join a started process"
    # both are gone from /proc: the child was joined by the helper, the helper by us
    assert os_view(helper) is None and os_view(demo["start"]["pid"]) is None
    # the model saw both processes, and the events carry what each run() reported
    procs = {p["uid"]: p for p in api.state()["processes"]}
    child = procs[f"{demo['name']}/piao"]
    assert (child["pid"], child["ppid"], child["state"]) == (demo["start"]["pid"], helper,
                                                             "joined")
    assert procs[demo["name"]]["state"] == "joined"
    calls = {e["call"]: e for e in api.events()
             if e["type"] == "demo" and e.get("demo") == "run_vs_start"}
    assert (calls["p.run()"]["pid"], calls["p.run()"]["ppid"]) == (helper, dashboard_pid)
    assert (calls["p.start()"]["pid"], calls["p.start()"]["ppid"]) == (demo["start"]["pid"],
                                                                       helper)


def test_flood_keeps_every_client_and_worker_busy(api):
    clients = api.spawn(2)
    workers = workers_of(api, clients)
    r = api.post("/api/clients/flood", {"seconds": 0.5})
    assert r.status_code == 200, r.text
    answered = {c["pid"]: c for c in r.json()["clients"]}
    assert set(answered) == set(clients)
    for client, worker in zip(clients, workers, strict=True):
        rounds = answered[client]["rounds"]
        assert answered[client]["ok"] and rounds > 10
        assert answered[client]["worker_pid"] == worker
        assert api.process(client)["echoes"] == rounds
        # the worker's served events are coalesced: they add up to the same rounds
        wait_until(lambda w=worker, n=rounds: api.process(w)["served"] == n,
                   message="the worker's served count")
    assert model_vs_proc(api.state()) == []


def test_flood_is_refused_while_stepping_and_without_clients(api):
    r = api.post("/api/clients/flood", {"seconds": 0.5})
    assert (r.status_code, r.json()["code"]) == (409, "no_clients")
    api.spawn(1)
    api.post("/api/step", {"mode": "step"})
    r = api.post("/api/clients/flood", {"seconds": 0.5})
    assert (r.status_code, r.json()["code"]) == (409, "stepping")
    api.post("/api/step", {"mode": "run"})
    r = api.post("/api/clients/flood", {"seconds": 60})
    assert (r.status_code, r.json()["params"]["reason"]) == (400, "seconds_range")


def test_cpu_meter_reads_every_core_and_the_lab_processes(api):
    server = live(api, "server")[0]["pid"]
    api.get("/api/cpu")
    reading = wait_until(lambda: (r := api.get("/api/cpu").json())["interval"] > 0.2 and r)
    assert reading["cores"] == psutil.cpu_count() == len(reading["percent"])
    assert all(0 <= p <= 100 for p in reading["percent"])
    by_pid = {p["pid"]: p for p in reading["processes"]}
    assert server in by_pid
    assert 0 <= by_pid[server]["core"] < reading["cores"]


def test_lessons_are_listed_and_the_presenters_step_is_an_event(api):
    lessons = api.get("/api/lessons").json()
    assert len(lessons) >= 6
    assert all(set(lesson) == {"id", "title", "steps"} for lesson in lessons)
    assert api.get("/api/lessons/current").json() == {"lesson": None, "step": 0}

    step = {"lesson": "orphans", "step": 2, "phase": "done", "truth": "dashboard",
            "outcome": [{"key": "lesson.fact.fate", "params": {"pid": 7, "ppid": 1}}]}
    r = api.post("/api/lessons/step", step)
    assert r.status_code == 200, r.text
    assert api.get("/api/lessons/current").json() == step
    event = wait_until(lambda: [e for e in api.events() if e["type"] == "lesson_step"])[-1]
    assert {k: event[k] for k in step} == step
    assert event["by"] == os.getpid()


@pytest.mark.parametrize("body, reason", [
    ({"lesson": "no-such-lesson", "step": 0}, "unknown_lesson"),
    ({"lesson": "orphans", "step": 99}, "step_range"),
    ({"lesson": "orphans", "step": True}, "step_range"),
    ({"lesson": "orphans", "step": 0, "phase": "later"}, "phase"),
    ({"lesson": "orphans", "step": 0, "outcome": [{"key": "x"}]}, "outcome"),
    ({"lesson": "orphans", "step": 0, "outcome": [{"key": "lesson.x", "params": {"a": [1]}}]},
     "outcome"),
])
def test_a_wrong_lesson_step_is_refused(api, body, reason):
    r = api.post("/api/lessons/step", body)
    assert (r.status_code, r.json()["params"].get("reason")) == (400, reason), r.text
    assert api.get("/api/lessons/current").json()["lesson"] is None

"""Beyond the happy path: orphans, daemons, start methods, the two ways — each
checked in the model AND in /proc, and with /api/truth."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from tests.helpers import os_view, settled_seq, wait_until


def no_differences(api):
    """The model equals /proc — once the events of what just happened have
    arrived (the OS changes first; the model follows within milliseconds)."""
    def agreed():
        truth = api.get("/api/truth").json()
        return truth if not truth["differences"] else None
    try:
        return wait_until(agreed, timeout=3, message="model == /proc")
    except AssertionError:
        assert api.get("/api/truth").json()["differences"] == []
        raise


def set_lab(api, **settings):
    r = api.post("/api/lab", settings)
    assert r.status_code == 200, r.text
    return r.json()


def workers_of(api, clients):
    return [wait_until(lambda c=c: api.process(c)["worker_pid"]) for c in clients]


def test_killed_server_leaves_orphans_that_the_dashboard_adopts(api, dashboard_pid):
    clients = api.spawn(2)
    workers = workers_of(api, clients)
    server = api.processes(role="server", state="running")[0]["pid"]
    os.kill(server, signal.SIGKILL)
    for w in workers:
        p = wait_until(lambda w=w: (q := api.process(w)) and q["orphaned"] and q,
                       message=f"worker {w} re-parented")
        assert (p["ppid"], p["old_ppid"], p["state"]) == (dashboard_pid, server, "running")
        assert psutil.Process(w).ppid() == dashboard_pid
    reparented = [e for e in api.events() if e["type"] == "reparented"]
    assert {e["pid"] for e in reparented} == set(workers)
    assert all(e["old_ppid"] == server and e["ppid"] == dashboard_pid for e in reparented)
    no_differences(api)
    # the new parent can still terminate and join an orphan
    r = api.post(f"/api/processes/{workers[0]}/terminate")
    assert (r.json()["state"], r.json()["exitcode"]) == ("zombie", -15)
    assert os_view(workers[0]) == ("zombie", dashboard_pid)
    no_differences(api)
    assert api.post(f"/api/processes/{workers[0]}/join").json()["state"] == "joined"
    assert os_view(workers[0]) is None
    # an orphan whose client leaves exits by itself: a zombie of the dashboard
    api.post(f"/api/clients/{clients[1]}/close")
    wait_until(lambda: api.process(workers[1])["state"] == "zombie")
    assert os_view(workers[1]) == ("zombie", dashboard_pid)
    no_differences(api)
    assert api.post(f"/api/processes/{workers[1]}/join", {"timeout": 1}).json()["state"] \
        == "joined"
    no_differences(api)


def test_a_zombie_stays_until_join_when_nothing_else_starts(api):
    (client,) = api.spawn(1)
    (worker,) = workers_of(api, [client])
    api.post(f"/api/processes/{worker}/kill")
    for _ in range(3):  # reading state, truth and events reaps nothing
        assert os_view(worker)[0] == psutil.STATUS_ZOMBIE
        no_differences(api)
    assert api.post(f"/api/processes/{worker}/join").json()["reaped_how"] == "join"
    assert os_view(worker) is None
    no_differences(api)


def test_daemon_workers_die_with_a_normal_server_exit(api):
    set_lab(api, daemon_workers=True)
    workers = workers_of(api, api.spawn(2))
    assert all(api.process(w)["daemon"] for w in workers)
    api.post("/api/server/restart")
    for w in workers:
        assert os_view(w) is None
    reaped = {e["pid"]: e for e in api.events() if e["type"] == "reaped"}
    for w in workers:
        assert reaped[w]["how"] == "implicit"
        assert "daemonic" in reaped[w]["via"]
        assert reaped[w]["exitcode"] == -signal.SIGTERM
    no_differences(api)


def test_daemon_workers_survive_a_killed_server_as_orphans(api, dashboard_pid):
    set_lab(api, daemon_workers=True)
    workers = workers_of(api, api.spawn(1))
    os.kill(api.processes(role="server", state="running")[0]["pid"], signal.SIGKILL)
    p = wait_until(lambda: (q := api.process(workers[0])) and q["orphaned"] and q)
    assert p["daemon"] and p["state"] == "running"
    assert psutil.Process(workers[0]).ppid() == dashboard_pid
    no_differences(api)


def test_a_daemonic_process_may_not_have_children(api):
    r = api.post("/api/demos/daemon-child")
    assert r.status_code == 200, r.text
    assert r.json()["error"] == "daemonic processes are not allowed to have children"
    assert os_view(r.json()["pid"]) is None
    no_differences(api)


def test_forkserver_is_the_real_parent_of_workers(api):
    set_lab(api, start_method="forkserver")
    (client,) = api.spawn(1)
    (worker,) = workers_of(api, [client])
    server = api.processes(role="server", state="running")[0]["pid"]
    fs = [p for p in api.processes(role="helper", state="running")
          if p["name"] == "forkserver"]
    assert len(fs) == 1 and fs[0]["ppid"] == server
    assert api.process(worker)["ppid"] == fs[0]["pid"] == psutil.Process(worker).ppid()
    assert api.send(client, "via forkserver")["reply"] == "VIA FORKSERVER"
    no_differences(api)
    api.post(f"/api/processes/{worker}/terminate")
    # the forkserver reaps its children at once: there is no zombie to see
    gone = wait_until(lambda: [p for p in api.state()["processes"]
                               if p["pid"] == worker and p["state"] == "joined"])
    assert gone[0]["reaped_how"] == "forkserver"
    assert os_view(worker) is None
    no_differences(api)
    api.post("/api/server/restart")  # stops and reaps the forkserver too
    assert os_view(fs[0]["pid"]) is None
    no_differences(api)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_start_method_and_its_cost_are_reported(api, method):
    set_lab(api, start_method=method)
    (client,) = api.spawn(1)
    (worker,) = workers_of(api, [client])
    p = api.process(worker)
    assert p["start_method"] == method and p["start_ms"] > 0
    assert p["ppid"] == api.processes(role="server", state="running")[0]["pid"]
    assert api.send(client, "abc")["reply"] == "ABC"
    no_differences(api)


def test_the_two_ways_subclass_workers(api):
    lab = set_lab(api, worker_style="subclass")["lab"]
    assert lab["worker_style"] == "subclass"
    (client,) = api.spawn(1)
    (worker,) = workers_of(api, [client])
    assert api.process(worker)["style"] == "subclass"
    assert api.send(client, "run()")["reply"] == "RUN()"


@pytest.mark.parametrize("payload", [{"start_method": "vfork"}, {"worker_style": "x"},
                                     {"daemon_workers": "yes"}, {"colour": "red"}, [1]])
def test_bad_lab_settings_are_400_and_change_nothing(api, payload):
    before = api.get("/api/lab").json()
    server = api.processes(role="server", state="running")[0]["pid"]
    assert api.post("/api/lab", payload).status_code == 400
    assert api.get("/api/lab").json() == before
    assert api.processes(role="server", state="running")[0]["pid"] == server


def test_truth_shows_sockets_held(api):
    (client,) = api.spawn(1)
    (worker,) = workers_of(api, [client])
    truth = no_differences(api)
    rows = {r["pid"]: r for r in truth["processes"]}
    server = api.processes(role="server", state="running")[0]
    assert any(s["listening"] for s in rows[server["pid"]]["os"]["sockets"])
    # the clean fork released the listening socket in the worker
    worker_sockets = rows[worker]["os"]["sockets"]
    assert [s["listening"] for s in worker_sockets] == [False]
    assert rows[worker]["os"]["letter"] in "RS"


def test_truth_for_one_process(api):
    (client,) = api.spawn(1)
    (worker,) = workers_of(api, [client])
    truth = api.get(f"/api/truth?pid={worker}").json()
    assert [r["pid"] for r in truth["processes"]] == [worker]
    assert "sockets" in truth["processes"][0]["os"]
    assert api.get("/api/truth?pid=abc").status_code == 400


def test_a_room_polling_the_badge_shares_one_walk_of_proc(api, monkeypatch):
    """Every page checks the badge (``detail=0``) after each change; a hall of
    phones must not make the dashboard walk /proc once per phone. The answers
    of one ``seq`` within ``SHARED_FOR`` are one check (one ``at``); the
    first after a change is a new one, with the new processes in it."""
    from app.web import controller, truth

    api.spawn(2)
    seq = settled_seq(api)
    walks, real = [], truth.compare   # every walk, from whichever module calls it
    for module in (truth, controller):
        monkeypatch.setattr(module, "compare", lambda *a, **k: walks.append(a) or real(*a, **k))

    def badge(_):
        r = requests.get(api.base + "/api/truth?detail=0", timeout=30)
        assert r.status_code == 200
        return r.json()

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(badge, range(60)))
    checks = {(a["seq"], a["at"]) for a in answers}
    assert len(walks) == len(checks) <= 3, f"{len(walks)} walks of /proc for 60 polls"
    assert {a["seq"] for a in answers} == {seq}
    assert no_differences(api)["seq"] == seq     # detail=1 is its own, fresh check

    (late,) = api.spawn(1)
    after = wait_until(lambda: (a := badge(0))["seq"] > seq and a, message="a newer check")
    assert late in {r["pid"] for r in after["processes"]}
    assert after["at"] > max(a["at"] for a in answers)

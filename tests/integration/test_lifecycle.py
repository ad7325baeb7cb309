"""Real processes through the REST API, the model checked against /proc."""

import os
import signal

import psutil

from tests.helpers import model_vs_proc, os_view, wait_until


def agree(api):
    state = api.state()
    assert model_vs_proc(state) == []
    return state


def worker_of(api, client_pid):
    return wait_until(lambda: api.process(client_pid)["worker_pid"],
                      message="the client's worker")


def test_state_lists_dashboard_server_and_echo_address(live_app, dashboard_pid):
    state = agree(live_app.api)
    roles = {p["role"]: p for p in state["processes"]}
    assert roles["dashboard"]["pid"] == dashboard_pid
    assert roles["server"]["ppid"] == dashboard_pid
    assert roles["server"]["state"] == "running"
    assert state["echo"] == {"host": "127.0.0.1", "port": live_app.echo_address[1]}
    for key in ("pid", "ppid", "name", "role", "state", "alive", "exitcode", "daemon"):
        assert key in roles["server"]


def test_spawn_send_and_the_worker_that_served(api, dashboard_pid):
    pids = api.spawn(2)
    for pid in pids:
        p = api.process(pid)
        assert (p["role"], p["ppid"], p["state"]) == ("client", dashboard_pid, "running")
    reply = api.send(pids[0], "hello 你好")
    assert reply["reply"] == "HELLO 你好"
    worker = api.process(reply["worker_pid"])
    assert worker["role"] == "worker" and worker["client_pid"] == pids[0]
    assert psutil.Process(reply["worker_pid"]).ppid() == api.processes(role="server")[0]["pid"]
    echo = [e for e in api.events() if e["type"] == "echo"][-1]
    assert (echo["pid"], echo["worker_pid"], echo["text"], echo["reply"]) == (
        pids[0], reply["worker_pid"], "hello 你好", "HELLO 你好")
    assert echo["rtt_ms"] > 0
    agree(api)


def test_terminated_worker_is_a_zombie_until_joined(api):
    (client,) = api.spawn(1)
    worker = worker_of(api, client)
    r = api.post(f"/api/processes/{worker}/terminate")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["exitcode"]) == ("zombie", -15)
    assert os_view(worker)[0] == psutil.STATUS_ZOMBIE
    agree(api)
    r = api.post(f"/api/processes/{worker}/join")
    assert (r.json()["state"], r.json()["reaped_how"]) == ("joined", "join")
    assert os_view(worker) is None
    agree(api)
    types = [e["type"] for e in api.events() if e["pid"] == worker]
    assert types[-4:] == ["served", "signalled", "exited", "reaped"] or \
        types[-3:] == ["signalled", "exited", "reaped"]


def test_kill_gives_minus_nine(api):
    (client,) = api.spawn(1)
    worker = worker_of(api, client)
    r = api.post(f"/api/processes/{worker}/kill")
    assert (r.json()["state"], r.json()["exitcode"]) == ("zombie", -9)


def test_join_with_timeout_on_a_running_worker_returns_it_running(api):
    (client,) = api.spawn(1)
    worker = worker_of(api, client)
    r = api.post(f"/api/processes/{worker}/join", {"timeout": 0.2})
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["alive"]) == ("running", True)
    wait_until(lambda: any(e["type"] == "join_timeout" and e["pid"] == worker
                           for e in api.events()), message="the join_timeout event")
    agree(api)


def test_the_next_start_reaps_a_zombie_implicitly(api):
    a, = api.spawn(1)
    wa = worker_of(api, a)
    api.post(f"/api/processes/{wa}/terminate")
    assert os_view(wa)[0] == psutil.STATUS_ZOMBIE
    b, = api.spawn(1)  # its connection makes the server start() another worker
    wb = worker_of(api, b)
    reaped = wait_until(lambda: [e for e in api.events()
                                 if e["type"] == "reaped" and e["pid"] == wa])
    wb_name = api.process(wb)["name"]
    assert reaped[0]["how"] == "implicit"
    assert reaped[0]["via"] == f"start() of {wb_name}"
    assert os_view(wa) is None
    agree(api)


def test_closed_client_is_a_zombie_of_the_dashboard_until_joined(api):
    a, = api.spawn(1)
    r = api.post(f"/api/clients/{a}/close")
    assert (r.json()["state"], r.json()["exitcode"]) == ("zombie", 0)
    assert os_view(a)[0] == psutil.STATUS_ZOMBIE
    worker = api.process(a)["worker_pid"]
    # its worker saw EOF and exited: a zombie of the server
    wait_until(lambda: api.process(worker)["state"] == "zombie")
    agree(api)
    assert api.post(f"/api/processes/{a}/join").json()["state"] == "joined"
    assert os_view(a) is None


def test_server_killed_from_outside_then_restarted(api):
    server = api.processes(role="server")[0]
    os.kill(server["pid"], signal.SIGKILL)
    dead = wait_until(lambda: (p := api.process(server["pid"])) and p["state"] == "zombie"
                      and p)
    assert dead["exitcode"] == -9
    agree(api)
    r = api.post("/api/server/restart")
    assert r.status_code == 200, r.text
    new = r.json()["pid"]
    assert new != server["pid"] and api.process(new)["state"] == "running"
    old = next(p for p in api.state()["processes"] if p["uid"] == server["uid"])
    assert old["state"] == "joined"
    (client,) = api.spawn(1)
    assert api.send(client, "again")["reply"] == "AGAIN"
    agree(api)


def test_restart_stops_workers_and_serves_on_the_same_port(live_app):
    api = live_app.api
    api.spawn(2)
    port = live_app.echo_address[1]
    running = wait_until(lambda: (w := api.processes(role="worker", state="running"))
                         and len(w) == 2 and w, message="both workers running")
    old_workers = [p["pid"] for p in running]
    r = api.post("/api/server/restart")
    assert r.json()["echo"]["port"] == port
    for pid in old_workers:
        assert os_view(pid) is None
    agree(api)

"""One command protocol for every lab process: ping answers from inside the
process, an unknown op is refused, and a client never sends one to the server.

``lab.request(pid, msg)`` routes like signal and join: the dashboard talks to
its own children (the server, clients) over their pipes; a worker's channel
belongs to its parent, the server, which relays.
"""

import os

import psutil
import pytest

from app.errors import LabError
from app.settings import LabSettings, Settings
from tests.helpers import wait_until

UNKNOWN_OP = "unknown_op"   # app.lab.commands.UNKNOWN_OP: the wire's word, spelt out


def worker_of(api, client):
    return wait_until(lambda: api.process(client)["worker_pid"], message="its worker")


def as_the_os_sees(pid):
    return {"pid": pid, "ppid": psutil.Process(pid).ppid()}


def served(api, pid):
    return api.process(pid)["served"]


def test_ping_the_server_answers_with_its_own_pid_and_ppid(live_app):
    lab = live_app.forkscope.lab
    server = live_app.api.processes(role="server", state="running")[0]["pid"]
    reply = lab.ping(server)
    assert {k: reply[k] for k in ("pid", "ppid")} == as_the_os_sees(server)
    assert reply["ppid"] == os.getpid()          # its parent is the dashboard


def test_ping_a_client_answers_with_its_own_pid_and_ppid(live_app):
    (client,) = live_app.api.spawn(1)
    reply = live_app.forkscope.lab.ping(client)
    assert {k: reply[k] for k in ("pid", "ppid")} == as_the_os_sees(client)
    # and it still talks to the echo server
    assert live_app.api.send(client, "after ping")["reply"] == "AFTER PING"


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
@pytest.mark.parametrize("style", ["target", "subclass"])
def test_ping_a_worker_through_its_parent_the_server(start_method, style):
    from tests.conftest import running
    lab_settings = LabSettings(start_method=start_method, worker_style=style)
    with running(Settings(port=0, echo_port=0, lab=lab_settings)) as live:
        api, lab = live.api, live.forkscope.lab
        (client,) = api.spawn(1)
        worker = worker_of(api, client)
        # blocked in its first recv() (SO_RCVTIMEO): the ping still gets in
        reply = lab.ping(worker)
        assert {k: reply[k] for k in ("pid", "ppid")} == as_the_os_sees(worker)
        if start_method != "forkserver":     # a forkserver's child is the forkserver's
            assert reply["ppid"] == api.processes(role="server", state="running")[0]["pid"]
        # chatty: a watchdog thread runs and recv() blocks without a timeout
        for text in ("one", "two", "three"):
            assert api.send(client, text)["reply"] == text.upper()
        assert lab.ping(worker)["pid"] == worker
        wait_until(lambda: served(api, worker) == 3, message="3 rounds served")
        assert api.send(client, "four")["reply"] == "FOUR"   # still serving


@pytest.mark.parametrize("role", ["server", "client", "worker"])
def test_an_unknown_op_gets_an_error_reply(live_app, role):
    api, lab = live_app.api, live_app.forkscope.lab
    (client,) = api.spawn(1)
    worker = worker_of(api, client)
    pid = {"server": api.processes(role="server", state="running")[0]["pid"],
           "client": client, "worker": worker}[role]
    reply = lab.request(pid, {"op": "frobnicate", "text": "secret"})
    assert reply["ok"] is False and reply["code"] == UNKNOWN_OP
    assert "frobnicate" in reply["error"]
    assert lab.ping(pid)["pid"] == pid                      # and it still answers


def test_a_client_never_sends_an_unknown_op_to_the_server_as_text(live_app):
    api, lab = live_app.api, live_app.forkscope.lab
    (client,) = api.spawn(1)
    worker = worker_of(api, client)
    reply = lab.request(client, {"op": "shout", "text": "secret"})
    assert reply["code"] == UNKNOWN_OP
    assert api.send(client, "after")["reply"] == "AFTER"
    # the worker's reports are in order: once "after" is reported, anything
    # sent before it would have been reported too
    wait_until(lambda: any(e["type"] == "served" and e["pid"] == worker
                           and e["text"] == "after" for e in api.events()),
               message="'after' served")
    rounds = [e for e in api.events() if e["type"] == "served" and e["pid"] == worker]
    assert sum(e["count"] for e in rounds) == 1
    assert sum(e["bytes"] for e in rounds) == len("after")
    assert api.process(worker)["served"] == 1


def test_a_relay_to_a_pid_that_is_not_a_worker_is_refused(live_app):
    lab = live_app.forkscope.lab
    with pytest.raises(LabError) as refused:
        lab.ping(1)
    assert refused.value.code == "not_found"


def test_a_pinged_worker_still_closes_an_idle_connection():
    from tests.conftest import running
    with running(Settings(port=0, echo_port=0, idle_timeout=0.6)) as live:
        api, lab = live.api, live.forkscope.lab
        (client,) = api.spawn(1)
        worker = worker_of(api, client)
        assert lab.ping(worker)["pid"] == worker
        wait_until(lambda: any(e["type"] == "idle_timeout" and e["pid"] == worker
                               for e in api.events()), message="idle_timeout")
        wait_until(lambda: api.process(worker)["state"] == "zombie")
        assert api.process(worker)["exitcode"] == 0

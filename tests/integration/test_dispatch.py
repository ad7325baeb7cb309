"""REST and Socket.IO are two edges of one dispatch: the same checks, the same
answers. Unknown body fields are refused, an unexpected exception is answered at
once (500 ``internal``) on both edges, and an ack carries exactly the REST body."""

import logging
import time

import psutil
import pytest
import socketio

from app.settings import Settings
from tests.conftest import running
from tests.helpers import Api, disconnect_all, wait_until

TOKEN = "s3cret-token"



def lab_pids():
    """Every process below this test process (the dashboard runs in it)."""
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_unknown_body_field_is_refused_and_spawns_nothing(api):
    before = lab_pids()
    r = api.post("/api/clients", {"cuont": 5})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "bad_input"
    assert body["params"]["reason"] == "unknown_field"
    assert body["params"]["field"] == "cuont"
    assert "cuont" in body["error"]
    assert api.processes(role="client") == []
    assert lab_pids() <= before, "a process was started for a refused request"


@pytest.mark.parametrize("path, payload, field", [
    ("/api/clients/{pid}/messages", {"text": "hi", "txet": "x"}, "txet"),
    ("/api/processes/{pid}/join", {"timeout": 0, "timout": 1}, "timout"),
    ("/api/processes/{pid}/terminate", {"force": True}, "force"),
    ("/api/server/restart", {"now": 1}, "now"),
    ("/api/lab", {"start_method": "fork", "daemon": True}, "daemon"),
])
def test_unknown_fields_are_named_on_every_action(api, path, payload, field):
    pid = api.spawn(1)[0]
    before = api.process(pid)
    r = api.post(path.format(pid=pid), payload)
    assert r.status_code == 400, r.text
    assert r.json()["params"] == {"reason": "unknown_field", "field": field}
    assert api.process(pid)["state"] == before["state"] == "running"


def test_unknown_query_parameters_are_refused_too(api):
    """GET /api/truth?detial=0 would otherwise quietly mean detail=1."""
    r = api.get("/api/truth?detial=0")
    assert r.status_code == 400, r.text
    assert r.json()["params"] == {"reason": "unknown_field", "field": "detial"}
    assert api.get("/api/truth?detail=0").status_code == 200


def test_unknown_field_over_socketio(live_app, sio):
    ack = sio.call("spawn_client", {"count": 1, "cuont": 5}, timeout=10)
    assert ack == {"ok": False, "status": 400, "code": "bad_input", "error": ack["error"],
                   "params": {"reason": "unknown_field", "field": "cuont"}}
    assert live_app.api.processes(role="client") == []


@pytest.mark.parametrize("event", ["send_message", "close_client", "terminate", "kill",
                                   "join"])
def test_socketio_action_without_its_pid(sio, event):
    payload = {"text": "hi"} if event == "send_message" else {}
    ack = sio.call(event, payload, timeout=10)
    assert (ack["ok"], ack["status"], ack["params"]) == (False, 400, {"reason": "pid_not_int"})


def boom(*args, **kwargs):
    raise RuntimeError("boom: a secret detail that must not leak")


def internal_logged(caplog):
    return [r for r in caplog.records
            if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]


def test_unexpected_exception_is_acked_at_once(live_app, sio, monkeypatch, caplog):
    monkeypatch.setattr(live_app.forkscope.controller, "spawn_clients", boom)
    caplog.set_level(logging.ERROR)
    started = time.monotonic()
    ack = sio.call("spawn_client", {"count": 1}, timeout=1)   # not the page's 15 s
    assert time.monotonic() - started < 1
    assert ack["ok"] is False and ack["status"] == 500 and ack["code"] == "internal", ack
    assert "boom" not in str(ack) and "Traceback" not in str(ack)
    assert len(internal_logged(caplog)) == 1, "logged once, with its traceback"


def test_unexpected_exception_is_500_over_rest(live_app, monkeypatch, caplog):
    monkeypatch.setattr(live_app.forkscope.controller, "spawn_clients", boom)
    caplog.set_level(logging.ERROR)
    r = live_app.api.post("/api/clients", {"count": 1})
    assert r.status_code == 500
    assert r.json() == {"error": r.json()["error"], "code": "internal", "params": {}}
    assert "boom" not in r.text and "Traceback" not in r.text
    assert len(internal_logged(caplog)) == 1


def test_same_action_same_body_on_both_edges(live_app, sio):
    api = live_app.api
    pid = api.spawn(1)[0]
    wait_until(lambda: api.process(pid)["worker_pid"], message="the client's worker")
    # join(timeout=0) on a running process changes nothing: both answers are the same P
    rest = api.post(f"/api/processes/{pid}/join", {"timeout": 0})
    ack = sio.call("join", {"pid": pid, "timeout": 0}, timeout=10)
    assert rest.status_code == 200
    assert ack == {"ok": True, "status": 200, "body": rest.json()}
    assert rest.json()["pid"] == pid and rest.json()["state"] == "running"

    rest = api.post("/api/clients", {"count": 1})
    ack = sio.call("spawn_client", {"count": 1}, timeout=10)
    assert (rest.status_code, ack["status"]) == (201, 201)
    assert set(ack["body"]) == set(rest.json()) == {"pids"}

    # errors too: the ack is the REST error body with ok and status
    rest = api.post("/api/processes/1/terminate")
    ack = sio.call("terminate", {"pid": 1}, timeout=10)
    assert ack == {"ok": False, "status": rest.status_code, **rest.json()}
    assert rest.status_code == 404


@pytest.fixture
def room_app():
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        yield live


REST_ACTIONS = [  # (Socket.IO event, REST path, payload)
    ("spawn_client", "/api/clients", {"count": 1}),
    ("send_message", "/api/clients/{pid}/messages", {"text": "hi"}),
    ("close_client", "/api/clients/{pid}/close", {}),
    ("terminate", "/api/processes/{pid}/terminate", {}),
    ("kill", "/api/processes/{pid}/kill", {}),
    ("join", "/api/processes/{pid}/join", {"timeout": 0}),
    ("restart_server", "/api/server/restart", {}),
    ("lab_settings", "/api/lab", {"start_method": "fork"}),
    ("daemon_demo", "/api/demos/daemon-child", {}),
]


def test_viewers_are_refused_on_both_edges(room_app):
    presenter = Api(room_app.url)
    presenter.http.headers["Authorization"] = f"Bearer {TOKEN}"
    pid = presenter.spawn(1)[0]
    viewer = Api(room_app.url)
    sio = socketio.Client()
    sio.connect(room_app.url, transports=["websocket"])
    try:
        for event, path, payload in REST_ACTIONS:
            r = viewer.post(path.format(pid=pid), payload)
            assert (r.status_code, r.json()["code"]) == (403, "forbidden"), path
            ack = sio.call(event, dict(payload, pid=pid) if "{pid}" in path else payload,
                           timeout=10)
            assert ack == {"ok": False, "status": 403, **r.json()}, event
    finally:
        disconnect_all([sio])
    assert [p["pid"] for p in presenter.processes(role="client")] == [pid]
    assert presenter.process(pid)["state"] == "running"

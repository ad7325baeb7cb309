"""Bad input gets a clear 4xx and changes nothing; pids that are not the lab's
are never signalled."""

import os

import psutil
import pytest
import socketio

from tests.helpers import wait_until


@pytest.fixture
def client_pid(api):
    return api.spawn(1)[0]


def error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str)
    return body


def body_for(action):
    """join takes a timeout (so it would not block); terminate and kill take nothing."""
    return {"timeout": 0} if action == "join" else {}


@pytest.mark.parametrize("pid", ["1", "abc", "-5", "0", "99999999", "1.5"])
@pytest.mark.parametrize("action", ["terminate", "kill", "join"])
def test_not_a_lab_pid(api, pid, action):
    r = api.post(f"/api/processes/{pid}/{action}", body_for(action))
    assert r.status_code in (400, 404)
    assert error(r, r.status_code)["code"] in ("bad_input", "not_lab_process", "http_404")


@pytest.mark.parametrize("action", ["terminate", "kill", "join"])
def test_the_dashboard_itself_and_a_foreign_process_are_refused(api, action):
    foreign = psutil.Process(os.getpid()).ppid()  # whoever started pytest
    for pid in (os.getpid(), foreign):
        body = error(api.post(f"/api/processes/{pid}/{action}", body_for(action)), 404)
        assert body["code"] == "not_lab_process"
    assert psutil.pid_exists(foreign)


@pytest.mark.parametrize("payload", [
    {"count": 0}, {"count": -1}, {"count": 10**9}, {"count": "3"}, {"count": True},
    {"count": 2.5}, {"count": None}, [1, 2], "3", 3])
def test_spawn_with_bad_count(api, payload):
    error(api.post("/api/clients", payload), 400)
    assert api.processes(role="client") == []


def test_malformed_json(api):
    r = api.http.post(api.base + "/api/clients", data=b"{nope",
                      headers={"Content-Type": "application/json"}, timeout=10)
    error(r, 400)


@pytest.mark.parametrize("payload", [
    {}, {"text": None}, {"text": 5}, {"text": ["a"]}, {"text": ""}, {"text": "   "},
    {"text": "\ud800 lone surrogate"}, {"txt": "hi"}])
def test_bad_texts(api, client_pid, payload):
    error(api.post(f"/api/clients/{client_pid}/messages", payload), 400)
    assert api.send(client_pid, "still fine")["reply"] == "STILL FINE"


def test_huge_text_is_413(api, client_pid):
    body = error(api.post(f"/api/clients/{client_pid}/messages",
                          {"text": "x" * (64 * 1024 + 1)}), 413)
    assert body["code"] == "too_large"
    assert api.send(client_pid, "x" * (64 * 1024))["reply"] == "X" * (64 * 1024)


def test_message_to_a_worker_pid_is_404(api, client_pid):
    worker = wait_until(lambda: api.process(client_pid)["worker_pid"])
    error(api.post(f"/api/clients/{worker}/messages", {"text": "hi"}), 404)


@pytest.mark.parametrize("timeout", [-1, 11, "1", True, [1]])
def test_bad_join_timeouts(api, client_pid, timeout):
    error(api.post(f"/api/processes/{client_pid}/join", {"timeout": timeout}), 400)


def test_join_without_timeout_on_running_is_409(api, client_pid):
    body = error(api.post(f"/api/processes/{client_pid}/join"), 409)
    assert body["code"] == "join_would_block"


def test_actions_in_the_wrong_state_are_409(api, client_pid):
    api.post(f"/api/clients/{client_pid}/close")
    for path in (f"/api/processes/{client_pid}/terminate",
                 f"/api/processes/{client_pid}/kill",
                 f"/api/clients/{client_pid}/close"):
        assert error(api.post(path), 409)["code"] == "wrong_state"
    assert error(api.post(f"/api/clients/{client_pid}/messages", {"text": "x"}),
                 409)["code"] == "wrong_state"
    api.post(f"/api/processes/{client_pid}/join")
    # joined: no longer a live lab pid
    error(api.post(f"/api/processes/{client_pid}/join"), 404)


def test_max_clients_is_429(live_app):
    live_app.forkscope.settings.max_clients = 3
    api = live_app.api
    api.spawn(2)
    body = error(api.post("/api/clients", {"count": 2}), 429)
    assert body["params"]["limit"] == 3
    assert len(api.processes(role="client")) == 2


def test_unknown_routes_and_methods_are_json(api):
    error(api.get("/api/nope"), 404)
    error(api.get("/api/clients"), 405)


def test_socketio_bad_payloads_get_error_acks(live_app):
    sio = socketio.Client()
    sio.connect(live_app.url, transports=["websocket"])
    try:
        for name, payload in [("spawn_client", {"count": "x"}), ("spawn_client", [1]),
                              ("terminate", {"pid": 1}), ("kill", {}),
                              ("join", {"pid": "abc"}), ("send_message", {"pid": None}),
                              ("no_such_event", {}), ("close_client", "nope")]:
            ack = sio.call(name, payload, timeout=10)
            assert ack["ok"] is False and ack["error"], (name, ack)
        assert sio.call("spawn_client", {"count": 1}, timeout=10)["ok"] is True
    finally:
        sio.disconnect()

"""Caps against fork storms and forgotten connections: each refusal is clear."""

import socket

import pytest

from app.settings import Settings
from tests.conftest import running
from tests.helpers import wait_until


@pytest.fixture
def settings():
    return Settings(port=0, echo_port=0, max_workers=2, spawn_rate=4, max_clients=5)


def test_beyond_max_workers_the_server_says_busy(live_app):
    address = live_app.echo_address
    held = [socket.create_connection(address, timeout=5) for _ in range(2)]
    try:
        for s in held:  # both served
            s.sendall(b"a")
            assert s.recv(1) == b"A"
        with socket.create_connection(address, timeout=5) as third:
            assert third.recv(100) == b"server busy\n"
            assert third.recv(100) == b""  # and closed
        refused = wait_until(lambda: [e for e in live_app.api.events()
                                      if e["type"] == "refused"], message="refused event")
        assert refused[-1]["limit"] == 2
        assert len(live_app.api.processes(role="worker", state="running")) == 2
    finally:
        for s in held:
            s.close()


def test_idle_connections_are_closed():
    with running(Settings(port=0, echo_port=0, idle_timeout=0.5)) as live:
        with socket.create_connection(live.echo_address, timeout=5) as s:
            s.sendall(b"x")
            assert s.recv(1) == b"X"
            assert s.recv(1) == b""  # the worker closed it after 0.5 s of silence
        wait_until(lambda: any(e["type"] == "idle_timeout" for e in live.api.events()))


def test_spawn_rate_is_limited(api):
    for _ in range(4):
        api.spawn(1)
    r = api.post("/api/clients", {"count": 1})
    assert r.status_code == 429
    assert (r.json()["code"], r.json()["params"]["limit"]) == ("rate_limited", 4)
    assert "--spawn-rate" in r.json()["error"]


def test_all_lab_processes_are_capped():
    with running(Settings(port=0, echo_port=0, max_processes=12)) as live:
        api = live.api
        # server + resource_tracker + 2 per client: 3 clients make 8
        api.spawn(3)
        wait_until(lambda: len(api.processes(role="worker", state="running")) == 3)
        assert api.post("/api/clients", {"count": 2}).status_code == 201  # 12: the cap
        wait_until(lambda: len(api.processes(role="worker", state="running")) == 5)
        r = api.post("/api/clients", {"count": 1})
        assert r.status_code == 429 and r.json()["code"] == "max_processes"
        assert r.json()["params"]["limit"] == 12

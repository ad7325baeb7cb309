"""Presenter and viewers, and the web hygiene around them."""

import socket

import pytest
import requests
import socketio

from app.settings import Settings
from tests.conftest import running
from tests.helpers import Api, disconnect_all, wait_until

TOKEN = "s3cret-token"


@pytest.fixture
def room_app():
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        yield live


def test_viewers_see_but_cannot_act(room_app):
    viewer = Api(room_app.url)
    assert viewer.get("/api/state").status_code == 200
    assert viewer.get("/api/whoami").json()["presenter"] is False
    for path, body in [("/api/clients", {"count": 1}), ("/api/server/restart", {}),
                       ("/api/lab", {"start_method": "spawn"}),
                       ("/api/demos/daemon-child", {})]:
        r = viewer.post(path, body)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", path
    assert viewer.processes(role="client") == []


def test_bearer_token_is_checked(room_app):
    api = Api(room_app.url)
    wrong = api.post("/api/clients", {"count": 1},
                     headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = api.post("/api/clients", {"count": 1},
                     headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 201
    assert TOKEN not in right.text


def test_presenter_url_becomes_a_session_and_leaves_the_address_bar(room_app):
    browser = requests.Session()
    r = browser.get(f"{room_app.url}/?token={TOKEN}&lang=en", allow_redirects=False,
                    timeout=10)
    assert r.status_code == 302
    assert TOKEN not in r.headers["Location"] and "lang=en" in r.headers["Location"]
    assert browser.get(f"{room_app.url}/api/whoami", timeout=10).json()["presenter"]
    r = browser.post(f"{room_app.url}/api/clients", json={"count": 1}, timeout=30)
    assert r.status_code == 201
    stranger = requests.Session()
    stranger.get(f"{room_app.url}/?token=guess", timeout=10)
    assert stranger.get(f"{room_app.url}/api/whoami", timeout=10).json()["presenter"] is False


def socket_client(url, **connect):
    got = {}
    sio = socketio.Client()
    sio.on("access", lambda data: got.update(data))
    sio.connect(url, transports=["websocket"], **connect)
    wait_until(lambda: got, message="access event")
    return sio, got


def test_socketio_viewer_is_refused_presenter_is_not(room_app):
    viewer, seen = socket_client(room_app.url)
    presenter, seen_p = socket_client(room_app.url, auth={"token": TOKEN})
    try:
        assert seen == {"presenter": False} and seen_p == {"presenter": True}
        ack = viewer.call("spawn_client", {"count": 1}, timeout=10)
        assert (ack["ok"], ack["status"], ack["code"]) == (False, 403, "forbidden")
        assert presenter.call("spawn_client", {"count": 1}, timeout=10)["ok"] is True
    finally:
        disconnect_all([viewer, presenter])


def raw_http(url, request_bytes):
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request_bytes)
        chunks = []
        while chunk := s.recv(65536):  # Connection: close -> read to EOF
            chunks.append(chunk)
        return b"".join(chunks).decode("latin-1")


def test_unknown_host_header_is_refused(live_app):
    """DNS rebinding: a page on evil.example that resolves to 127.0.0.1."""
    head = raw_http(live_app.url, b"GET /api/state HTTP/1.1\r\nHost: evil.example\r\n"
                                  b"Connection: close\r\n\r\n")
    assert head.startswith("HTTP/1.1 400") and "bad_host" in head
    sio = socketio.Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(live_app.url, transports=["websocket"],
                    headers={"Host": "evil.example"}, wait_timeout=5)


def test_cross_origin_socketio_is_refused(live_app):
    handshake = live_app.url + "/socket.io/?EIO=4&transport=polling"
    evil = requests.get(handshake, headers={"Origin": "http://evil.example"}, timeout=10)
    assert evil.status_code == 400
    same = requests.get(handshake, headers={"Origin": live_app.url}, timeout=10)
    assert same.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None])
def test_control_calls_must_be_json(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = api.http.post(api.base + "/api/clients", data=b'{"count": 1}', headers=headers,
                      timeout=10)
    assert r.status_code == 415 and r.json()["code"] == "bad_content_type"
    assert api.processes(role="client") == []


def test_no_token_on_loopback_means_the_local_user_presents(api):
    assert api.get("/api/whoami").json() == {"presenter": True, "token_required": False,
                                             "viewer_url": None}

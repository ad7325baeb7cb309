"""The bounded server (app/web/serving.py) with a trivial WSGI app: the doorman
gives a thread only to a connection whose request has arrived, closes the ones
that wait too long or too many, refuses beyond the cap, and says so once."""

import contextlib
import logging
import socket
import threading
import time

import pytest

from app.web.serving import BoundedServer
from tests.helpers import wait_until

held = threading.Event()


def app(environ, start_response):
    if environ["PATH_INFO"] == "/hold":
        held.wait(10)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def serve():
    servers = []

    def make(**kw):
        s = BoundedServer("127.0.0.1", 0, app, **kw)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
        return s

    yield make
    held.set()
    for s in servers:
        s.shutdown()
        s.server_close()
    held.clear()


def get(server, path="/", timeout=5):
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data


def closed(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_request_is_served(serve):
    server = serve()
    assert get(server).endswith(b"ok")
    wait_until(lambda: server.stats()["live"] == 0, message="the thread to end")


def test_a_head_sent_in_pieces_is_served_once_complete(serve):
    server = serve()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        for piece in (b"GET / HT", b"TP/1.1\r\nHost: x\r\n", b"Connection: close\r\n\r\n"):
            s.sendall(piece)
            time.sleep(0.05)   # pieces, not one segment (what a slow phone sends)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")


def test_idle_connections_get_no_thread_and_are_closed_after_the_timeout(serve, caplog):
    caplog.set_level(logging.WARNING, logger="forkscope.serving")
    server = serve(header_timeout=0.5)
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    drip = socket.create_connection(("127.0.0.1", server.port))
    drip.sendall(b"GET / HTTP/1.1\r\n")        # slowloris: a head that never ends
    try:
        wait_until(lambda: server.stats()["waiting"] == 21, message="21 waiting")
        assert server.stats()["live"] == 0
        assert get(server).endswith(b"ok")     # served meanwhile
        assert all(closed(s) for s in [*idle, drip])
    finally:
        for s in [*idle, drip]:
            s.close()
    said = [r for r in caplog.records if "sent no request" in r.getMessage()]
    assert len(said) == 1 and server.counts["idle"] == 21


def test_beyond_the_waiting_room_the_oldest_is_closed(serve, caplog):
    caplog.set_level(logging.WARNING, logger="forkscope.serving")
    server = serve(pending_max=10, header_timeout=30)
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(30)]
    try:
        wait_until(lambda: server.counts["waiting"] == 20, message="20 evicted")
        assert [closed(s, 0.5) for s in idle] == [True] * 20 + [False] * 10
        assert get(server).endswith(b"ok")
    finally:
        for s in idle:
            s.close()
    assert len([r for r in caplog.records if "waiting for their request" in r.getMessage()]) == 1


def test_beyond_max_connections_new_ones_are_refused(serve, caplog):
    caplog.set_level(logging.WARNING, logger="forkscope.serving")
    server = serve(max_connections=3)
    holders = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        holders.append(s)
    try:
        wait_until(lambda: server.stats()["live"] == 3, message="3 live")
        refused = [socket.create_connection(("127.0.0.1", server.port), timeout=5)
                   for _ in range(5)]
        for s in refused:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert all(closed(s) for s in refused)
        assert server.counts["connections"] == 5
        held.set()
        wait_until(lambda: server.stats()["live"] == 0, message="the holders to finish")
        assert get(server).endswith(b"ok")    # room again
    finally:
        for s in holders + refused:
            with contextlib.suppress(OSError):
                s.close()
    assert len([r for r in caplog.records if "--max-connections" in r.getMessage()]) == 1

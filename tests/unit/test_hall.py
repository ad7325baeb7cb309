"""The hall (app/web/hall.py) over socket pairs: one frame for every member,
in order, after its snapshot; a member that does not read is dropped, alone,
and the log says so once."""

import logging
import socket
import time

import pytest

from app.web.hall import Hall, text_frame
from tests.helpers import wait_until


def read_exactly(sock, n, timeout=5):
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def hall():
    h = Hall(backlog=64 * 1024, sndbuf=16 * 1024)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def pairs():
    made = []

    def make(n):
        for _ in range(n):
            made.append(socket.socketpair())
        return made[-n:]

    yield make
    for a, b in made:
        a.close()
        b.close()


def test_text_frame_is_a_final_unmasked_text_frame():
    assert text_frame("42[1]") == b"\x81\x0542[1]"
    big = text_frame("x" * 70_000)
    assert big[:2] == b"\x81\x7f" and int.from_bytes(big[2:10], "big") == 70_000


def test_members_get_their_snapshot_then_every_broadcast_in_order(hall, pairs):
    (a_srv, a), (b_srv, b) = pairs(2)
    ca, cb = hall.attach(a_srv, "a"), hall.attach(b_srv, "b")
    hall.broadcast(b"before-anyone|")          # no member yet: nobody gets it
    hall.join(ca, b"snap-a|")
    hall.broadcast(b"one|")
    hall.join(cb, b"snap-b|")
    hall.broadcast(b"two|")
    hall.send(ca, b"ack-a|")
    hall.broadcast(b"three|")
    want_a = b"snap-a|one|two|ack-a|three|"
    want_b = b"snap-b|two|three|"
    assert read_exactly(a, len(want_a)) == want_a
    assert read_exactly(b, len(want_b)) == want_b


def test_a_viewer_that_does_not_read_is_dropped_and_the_others_get_everything(
        hall, pairs, caplog):
    stuck = pairs(3)
    (ok_srv, ok), = pairs(1)
    reader = hall.attach(ok_srv, "reader")
    hall.join(reader, b"S")
    conns = [hall.attach(srv, f"stuck{i}") for i, (srv, _) in enumerate(stuck)]
    for c in conns:
        hall.join(c, b"S")
    frame = b"x" * 4096
    got = b""
    caplog.set_level(logging.WARNING, logger="forkscope.hall")
    # Far more than backlog + the kernel's buffers: the stuck ones must go
    for _ in range(200):
        hall.broadcast(frame)
        ok.settimeout(5)
        while len(got) < 1 + 4096 * (_ + 1):
            got += ok.recv(65536)
    assert got == b"S" + frame * 200
    wait_until(lambda: hall.dropped == 3, message="the three stuck viewers to be dropped")
    for _, client in stuck:      # their sockets were shut down: they read to the end
        client.settimeout(5)
        while client.recv(1 << 20):
            pass
    drops = [r for r in caplog.records if "does not read" in r.getMessage()]
    assert len(drops) == 1, [r.getMessage() for r in caplog.records]
    assert hall.stats()["dropped_slow"] == 3


def test_detach_flushes_what_it_can_and_forgets_the_socket(hall, pairs):
    (srv, client), = pairs(1)
    conn = hall.attach(srv, "k")
    hall.join(conn, b"hello")
    hall.detach(conn)
    assert hall.conn("k") is None and conn.dead
    hall.broadcast(b"later")                  # not a member any more
    srv.close()                               # the server may close it now
    assert read_exactly(client, 100, timeout=2) == b"hello"


def test_broadcast_does_not_wait_for_a_slow_socket(hall, pairs):
    """A broadcast returns at once, whatever the members' sockets do."""
    (srv, _), = pairs(1)
    conn = hall.attach(srv, "slow")
    hall.join(conn, b"")
    t0 = time.perf_counter()
    for _ in range(1000):
        hall.broadcast(b"y" * 1000)
    assert time.perf_counter() - t0 < 1.0


def test_engineio_builds_its_websockets_with_the_hall_s_driver():
    """app/web/eio_internals.py against the installed python-engineio: the
    server's own table, the driver module's left alone."""
    from engineio.async_drivers import threading as driver
    from flask import Flask
    from flask_socketio import SocketIO

    from app.web.fanout import Fanout, HallSocket

    before = dict(driver._async)
    socketio = SocketIO(Flask(__name__), async_mode="threading")
    Fanout(socketio, Hall())
    eio = socketio.server.eio
    ws = eio._async["websocket"](lambda ws: None, eio)
    assert isinstance(ws, HallSocket)
    assert driver._async == before


def test_with_no_member_a_broadcast_is_not_even_queued(hall, pairs):
    """An echo-heavy lab with no page open must not pay a hall wake-up (a pipe
    write, a thread switch, the frame's encoding) per batch: has_members says
    so from the caller's side, and a viewer being joined counts at once."""
    ((srv, peer),) = pairs(1)
    conn = hall.attach(srv, "k")
    assert not hall.has_members()
    hall.join(conn, b"snap|")
    assert hall.has_members()          # before the hall's thread ran the join
    hall.broadcast(b"one|")
    assert read_exactly(peer, len(b"snap|one|")) == b"snap|one|"
    hall.leave(conn)
    assert not hall.has_members()
    joined = hall.attach(socket.socketpair()[0], "gone")
    hall.join(joined, b"x")
    hall.detach(joined)
    assert not hall.has_members()


def test_the_fanout_skips_encoding_when_nobody_listens(monkeypatch):
    from app.web import fanout

    class Room:
        def __init__(self, members):
            self.members, self.sent = members, []

        def has_members(self):
            return self.members

        def broadcast(self, data):
            self.sent.append(data)

    encoded = []
    monkeypatch.setattr(fanout.Fanout, "encode", staticmethod(lambda n, d: encoded.append(n) or b"f"))
    out = fanout.Fanout.__new__(fanout.Fanout)
    out.feed, out._polling, out._guard = None, set(), __import__("threading").Lock()
    out.hall = Room(False)
    out.emit("events", [{"seq": 1}])
    assert encoded == [] and out.hall.sent == []
    out.hall = Room(True)
    out.emit("events", [{"seq": 2}])
    assert encoded == ["events"] and out.hall.sent == [b"f"]

"""The server's poll set, with pipes standing in for sentinels."""

import os
import socket

from app.lab.pollset import PollSet


def test_fixed_objects_and_sentinels_are_reported_ready():
    a, b = socket.socketpair()
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    try:
        ps = PollSet([a])
        b.send(b"x")
        os.close(w1)                     # a child's exit: EOF on its sentinel
        assert sorted(ps.wait([r1, r2]), key=str) == sorted([a, r1], key=str)
    finally:
        for s in (a, b):
            s.close()
        for fd in (r1, r2, w2):
            os.close(fd)


def test_a_sentinel_no_longer_watched_is_dropped_and_its_number_may_return():
    r1, w1 = os.pipe()
    a, b = socket.socketpair()
    ps = PollSet([a])
    try:
        os.close(w1)
        assert ps.wait([r1]) == [r1]
        os.close(r1)                     # reaped: its sentinel closed ...
        r2, w2 = os.pipe()               # ... and a new child's may reuse the number
        b.send(b"x")
        assert ps.wait([r2]) == [a]      # r2 not ready, r1 gone: no POLLNVAL
        a.recv(1)
        os.close(w2)
        assert ps.wait([r2]) == [r2]
        os.close(r2)
        b.send(b"y")
        assert ps.wait([]) == [a]
    finally:
        a.close()
        b.close()


def test_a_timeout_returns_nothing_ready():
    a, b = socket.socketpair()
    r, w = os.pipe()
    try:
        ps = PollSet([a])
        assert ps.wait([r], timeout=0.01) == []
        b.send(b"x")
        assert ps.wait([r], timeout=5) == [a]
    finally:
        for s in (a, b):
            s.close()
        os.close(r)
        os.close(w)


def test_pausing_a_closed_socket_is_nothing_to_do():
    """The server's exit gate waits after its listening socket is closed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    watching = PollSet([listener])
    listener.close()
    watching.pause(listener)      # ValueError: negative file descriptor, before
    watching.resume(listener)

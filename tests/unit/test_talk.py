"""The worker's talk() loop in one process: a socketpair, a thread, no fork."""

import contextlib
import socket
import struct
import threading
import time

import pytest

from app.lab import worker


class Report:
    """Records what talk() reports, with the time each came."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def __call__(self, type_, **fields):
        with self.cond:
            self.events.append(dict(fields, type=type_, at=time.monotonic()))
            self.cond.notify_all()

    def hello(self, at=None, **fields):
        self("hello", **fields)
        if at is not None:
            self("phase", point=at)

    def batched(self):  # events.Reporter's: here each event is recorded as it comes
        return contextlib.nullcontext()

    def flush(self):
        pass

    def put(self, item):
        for event in item if isinstance(item, list) else [item]:
            self(event["type"], **{k: v for k, v in event.items() if k != "type"})

    def wait_for(self, type_, timeout=5):
        self.wait_until(lambda: self.of(type_), timeout)
        return self.of(type_)

    def wait_until(self, predicate, timeout=5):
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), self.events

    def served(self):
        return sum(e["count"] for e in self.of("served"))

    def types(self):
        """The event types in order, without run mode's phases (they have their
        own tests: tests/unit/test_stepping.py)."""
        return [e["type"] for e in self.events if e["type"] != "phase"]

    def of(self, type_):
        return [e for e in self.events if e["type"] == type_]


@pytest.fixture
def talking():
    ours, theirs = socket.socketpair()
    report = Report()

    def start(idle_timeout):
        thread = threading.Thread(target=worker.talk, daemon=True,
                                  args=(theirs, ("127.0.0.1", 1), report, idle_timeout))
        thread.start()
        return ours, theirs, report, thread

    yield start
    ours.close()
    theirs.close()


def rcvtimeo(sock):
    return struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))


def echo(sock, text):
    sock.sendall(text)
    return sock.recv(1024)


def test_a_chatty_connection_blocks_without_a_kernel_timeout_and_still_reports(talking):
    ours, theirs, report, thread = talking(idle_timeout=30)
    assert echo(ours, b"one") == b"ONE"
    assert rcvtimeo(theirs) != (0, 0)               # first round: SO_RCVTIMEO
    for text in (b"two", b"three", b"four"):
        assert echo(ours, text) == text.upper()
    assert rcvtimeo(theirs) == (0, 0)               # chatty: the watchdog's job now
    # the rounds after the first are reported by the watchdog within COALESCE
    report.wait_until(lambda: report.served() == 4)
    assert report.of("served")[-1]["text"] == "four"
    ours.close()
    thread.join(5)
    assert report.types()[-1] == "conn_closed"
    assert not report.of("idle_timeout")


@pytest.mark.parametrize("rounds", [0, 1, 3])
def test_an_idle_connection_is_closed_either_way(talking, rounds):
    ours, _, report, thread = talking(idle_timeout=0.3)
    for i in range(rounds):
        assert echo(ours, b"x%d" % i) == b"X%d" % i
    last = time.monotonic()
    (idle,) = report.wait_for("idle_timeout")
    assert idle["at"] - last >= 0.3 - 0.01
    thread.join(5)
    assert ours.recv(1024) == b""                   # the worker hung up
    assert report.types()[-2:] == ["idle_timeout", "conn_closed"]
    assert report.served() == rounds


def test_a_chatty_connection_s_round_after_a_quiet_spell_is_reported_at_once(talking):
    """The watchdog sleeps until the idle deadline once the rounds have
    settled; the next round (counted without a lock, in chatter()) must wake
    it, so that the room sees the message within a window, not 30 s later."""
    ours, _, report, thread = talking(idle_timeout=30)
    for text in (b"one", b"two", b"three"):
        assert echo(ours, text) == text.upper()
    report.wait_until(lambda: report.served() == 3)
    # the quiet spell is the scenario (a student stops typing), not a wait for
    # something: after a window with no round the watchdog sleeps until the
    # idle deadline, 30 s on
    time.sleep(3 * worker.COALESCE)
    sent = time.monotonic()
    assert echo(ours, b"four") == b"FOUR"
    report.wait_until(lambda: report.served() == 4, timeout=5)
    assert report.of("served")[-1]["at"] - sent < worker.COALESCE + 0.15
    ours.close()
    thread.join(5)
    assert not thread.is_alive()

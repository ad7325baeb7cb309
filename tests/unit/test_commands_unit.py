"""The command protocol's serving side, in one process: Ops, serve_one, and a
channel answered from SIGIO while the main thread blocks in recv()."""

import fcntl
import os
import signal
import socket
import threading
from multiprocessing import Pipe

import pytest

from app.lab import commands
from app.lab.commands import Ops, ok, serve_one
from app.lab.wakeup import SignalledChannel
from tests.helpers import wait_until


def test_an_op_table_answers_its_ops_ping_and_refuses_the_rest():
    ops = Ops({"add": lambda r: ok(sum=r["a"] + r["b"]),
               "boom": lambda r: 1 / 0,
               "later": lambda r: None})
    assert ops.answer({"id": 1, "op": "add", "a": 2, "b": 3}) == {"ok": True, "sum": 5,
                                                                  "id": 1}
    assert ops.answer({"id": 2, "op": commands.PING}) == {
        "ok": True, "pid": os.getpid(), "ppid": os.getppid(), "id": 2}
    unknown = ops.answer({"id": 3, "op": "send", "text": "x"})
    assert (unknown["ok"], unknown["code"], unknown["id"]) == (False, "unknown_op", 3)
    assert "'send'" in unknown["error"] and "add" in unknown["error"]
    failed = ops.answer({"id": 4, "op": "boom"})
    assert (failed["code"], failed["id"]) == (commands.FAILED, 4)
    assert ops.answer({"id": 5, "op": "later"}) is None      # the handler replies itself
    assert ops.answer("not a dict")["code"] == "unknown_op"


def test_serve_one_reads_one_request_and_replies_with_its_id():
    ours, theirs = Pipe()
    with ours, theirs:
        ours.send({"id": 7, "op": "ping"})
        ours.send({"id": 8, "op": "ping"})
        assert serve_one(theirs, Ops({}))["id"] == 7
        assert ours.recv()["id"] == 7 and not ours.poll(0)   # one at a time
        assert serve_one(theirs, Ops({}))["id"] == 8
        assert ours.recv()["id"] == 8
        ours.send({"id": 9, "op": "ping"})
        ours.close()
        assert serve_one(theirs, Ops({})) is None   # the reply cannot go: the asker is gone
        assert serve_one(theirs, Ops({})) is None   # then EOF


@pytest.fixture
def sigio_restored():
    before = signal.getsignal(signal.SIGIO)
    yield
    signal.signal(signal.SIGIO, before)


def test_a_signalled_channel_answers_while_the_main_thread_blocks_in_recv(sigio_restored):
    ours, theirs = Pipe()
    a, b = socket.socketpair()
    ours.send({"id": 1, "op": "ping"})          # before async mode: start() answers it
    channel = SignalledChannel(theirs, Ops({}))
    channel.start()
    try:
        assert ours.poll(5) and ours.recv()["id"] == 1
        replies = []

        def asker():
            ours.send({"id": 2, "op": "ping"})
            if ours.poll(5):
                replies.append(ours.recv())
            b.send(b"x")                         # then let the main thread go

        thread = threading.Thread(target=asker)
        thread.start()
        assert a.recv(1) == b"x"                 # EINTR was retried, not raised
        thread.join(5)
        assert replies == [{"ok": True, "pid": os.getpid(), "ppid": os.getppid(), "id": 2}]
        ours.close()                             # EOF: the channel stops asking for SIGIO
        a.settimeout(5)
        b.send(b"y")
        assert a.recv(1) == b"y"
        wait_until(lambda: channel.closed, message="the handler to see EOF")
        assert not fcntl.fcntl(theirs.fileno(), fcntl.F_GETFL) & fcntl.FASYNC
    finally:
        channel.stop()
        for s in (a, b, theirs):
            s.close()

"""The server's relays to its workers, with a Pipe standing in for a worker."""

import os
from multiprocessing.connection import Connection

import pytest

from app.lab import relay
from app.lab.commands import Ops, serve_one
from app.lab.relay import WorkerLines


@pytest.fixture
def lines():
    sent = []
    lines = WorkerLines(reply=sent.append)
    ours, theirs = lines.pair()
    worker = Connection(os.dup(theirs.fileno()))   # the started worker's copy
    lines.add(42, ours, theirs)                     # closes the server's copy
    assert theirs.closed
    yield lines, worker, sent
    lines.close(42)
    worker.close()


def test_a_relay_returns_at_once_and_the_answer_goes_back_with_the_askers_id(lines):
    lines, worker, sent = lines
    assert lines.awaited() == {} and lines.timeout() is None    # idle: nothing watched
    assert lines.relay({"id": 7, "op": "relay", "pid": 42, "request": {"op": "ping"}}) is None
    assert list(lines.awaited().values()) == [42]
    assert 0 < lines.timeout() <= relay.RELAY_TIMEOUT
    serve_one(worker, Ops({}))                                    # the worker answers
    lines.readable(42)
    assert [(r["id"], r["ok"]) for r in sent] == [(7, True)]
    assert lines.awaited() == {}


def test_refusals_not_found_busy_no_answer_and_gone(lines, monkeypatch):
    lines, worker, sent = lines
    assert lines.relay({"id": 1, "pid": 9, "request": {"op": "ping"}})["code"] == "not_found"
    for i in range(relay.MAX_IN_FLIGHT):
        assert lines.relay({"id": i, "pid": 42, "request": {"op": "ping"}}) is None
    assert lines.relay({"id": 99, "pid": 42, "request": {"op": "ping"}})["code"] == "busy"
    monkeypatch.setattr(relay.time, "monotonic", lambda: float("inf"))
    lines.expire()
    assert [r["code"] for r in sent] == ["no_answer"] * relay.MAX_IN_FLIGHT
    monkeypatch.undo()
    sent.clear()
    assert lines.relay({"id": 5, "pid": 42, "request": {"op": "ping"}}) is None
    worker.close()                                    # the worker exits
    lines.readable(42)
    assert [(r["id"], r["code"]) for r in sent] == [(5, "gone")]
    assert lines.relay({"id": 6, "pid": 42, "request": {"op": "ping"}})["code"] == "gone"

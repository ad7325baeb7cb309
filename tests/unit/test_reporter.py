"""The Reporter's queue writes, in one process: a real multiprocessing Queue."""

import multiprocessing
import os
import pickle
import select
import signal
import threading

import pytest

from app.lab.events import Reporter
from app.model import schema


@pytest.fixture
def queue():
    q = multiprocessing.get_context("spawn").Queue()
    yield q
    q.close()
    q.join_thread()


def test_each_event_is_one_queue_item_in_the_pipe_when_the_call_returns(queue):
    report = Reporter(queue)
    report("served", count=1)
    item = queue.get_nowait()   # no feeder thread: already written
    assert item["type"] == "served" and item["count"] == 1


def test_a_batch_is_one_list_written_when_the_block_ends(queue):
    report = Reporter(queue)
    with report.batched():
        report("accepted", peer=["127.0.0.1", 1])
        with report.batched():      # nested: the outer block writes
            report("created")
        report("started")
        assert queue.empty()
    assert [e["type"] for e in queue.get(timeout=5)] == ["accepted", "created", "started"]
    with report.batched():
        report("exited")
    assert queue.get(timeout=5)["type"] == "exited"   # a batch of one: a plain event


def test_a_child_forked_inside_a_batch_does_not_inherit_it(queue):
    report = Reporter(queue)
    with report.batched():
        report.pending_pid = -1     # as the forked child sees it: not its own batch
        report("hello")
        assert queue.get(timeout=5)["type"] == "hello"
    assert pickle.loads(pickle.dumps(Reporter(None))).pending is None


def _die_holding_the_write_lock(queue):
    """What a worker terminated in the middle of reporting leaves behind: the
    queue's cross-process write lock taken and never given back."""
    queue._wlock.acquire()
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_process_killed_while_writing_does_not_block_the_others(queue):
    """A lab process can be killed at any instant (terminate/kill are buttons).
    If reporting took the queue's write lock, one that died inside it would
    block every later report in the lab forever; atomic frames take no lock."""
    victim = multiprocessing.get_context("fork").Process(
        target=_die_holding_the_write_lock, args=(queue,))
    victim.start()
    victim.join(10)
    assert victim.exitcode == -signal.SIGKILL
    done = threading.Event()

    def report():
        Reporter(queue)("served", count=1)
        done.set()

    threading.Thread(target=report, daemon=True).start()
    assert done.wait(2), "a report blocked on the dead process's write lock"
    assert queue.get(timeout=5)["type"] == "served"


def test_a_batch_too_large_for_one_atomic_write_arrives_whole_and_in_order(queue):
    report = Reporter(queue)
    with report.batched():
        for n in range(400):   # ~40 KB pickled: many frames
            report("exited", uid=f"worker-{n}", exitcode=0)
    got = []
    while len(got) < 400:
        item = queue.get(timeout=5)
        got += item if isinstance(item, list) else [item]
    assert [e["uid"] for e in got] == [f"worker-{n}" for n in range(400)]
    assert all(len(pickle.dumps(e)) < select.PIPE_BUF for e in got)


def test_an_event_too_large_is_cut_to_fit_and_says_what_was_cut(queue):
    text = "你好 hello " * 6000          # ~60 KiB as UTF-8: a long message echoed
    Reporter(queue)("echo", text=text, reply=text.upper(), rtt_ms=1.0, local=["127.0.0.1", 1])
    event = queue.get(timeout=5)
    assert sorted(event["cut"]) == ["reply", "text"]
    assert event["text"].endswith("…") and text.startswith(event["text"][:-1])
    assert event["reply"].endswith("…") and len(event["text"]) > 100
    assert len(pickle.dumps(event, pickle.HIGHEST_PROTOCOL)) <= select.PIPE_BUF - 4
    assert schema.problems(event) == []

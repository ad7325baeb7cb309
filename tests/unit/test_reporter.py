"""The Reporter's queue writes, in one process: a real multiprocessing Queue."""

import multiprocessing
import pickle

import pytest

from app.lab.events import Reporter


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

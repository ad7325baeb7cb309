"""The hub's batching, without processes: a plain queue, a Registry, and a
Socket.IO stand-in that records what is emitted."""

import queue
import threading
import time

from app.model.registry import Registry
from app.web.hub import BATCH_MAX, STOP, Hub

DASH = 100


class FakeSocketIO:
    """Records ``emit(name, data, to=...)``, and whether the hub held its lock."""

    def __init__(self):
        self.cond = threading.Condition()
        self.emits = []
        self.hub = None

    def emit(self, name, data, to=None):
        # Condition._is_owned: does this thread hold the hub's lock?
        locked = self.hub.cond._is_owned()
        with self.cond:
            self.emits.append((name, data, to, locked))
            self.cond.notify_all()

    def wait_emits(self, n, timeout=5):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.emits) >= n, timeout), self.emits
            return list(self.emits)


def event(i):
    return {"type": "error", "t": 1.0, "pid": DASH, "by": DASH, "error": f"e{i}"}


def make_hub():
    sio = FakeSocketIO()
    hub = Hub(Registry(DASH, 1, keep=1000), queue.Queue(), sio)
    sio.hub = hub
    return hub, sio


def seqs(emit):
    return [e["seq"] for e in emit[1]]


def test_events_queued_before_the_hub_starts_go_out_as_one_message():
    hub, sio = make_hub()
    for i in range(5):
        hub.queue.put(event(i))
    hub.start()
    try:
        (emit,) = sio.wait_emits(1)
        assert emit[0] == "events" and emit[2] is None     # to every viewer
        assert seqs(emit) == [1, 2, 3, 4, 5]
        assert [e["error"] for e in emit[1]] == [f"e{i}" for i in range(5)]
        assert emit[3], "applied and emitted outside the hub's lock"
        assert hub.read(lambda r: r.seq) == 5
    finally:
        hub.stop()
    assert len(sio.emits) == 1


def test_stop_inside_a_batch_sends_what_came_before_it_and_returns():
    hub, sio = make_hub()
    for item in (event(1), event(2), STOP, event(3)):
        hub.queue.put(item)
    hub.start()
    hub._thread.join(5)
    assert not hub._thread.is_alive()
    assert [(name, seqs((name, data))) for name, data, _, _ in sio.emits] == [
        ("events", [1, 2])]
    assert hub.registry.seq == 2
    assert hub.queue.get_nowait() == event(3)    # after STOP: left alone


def test_stop_first_emits_nothing():
    hub, sio = make_hub()
    hub.queue.put(STOP)
    hub.queue.put(event(1))
    hub.start()
    hub._thread.join(5)
    assert not hub._thread.is_alive() and sio.emits == []


def test_an_idle_hub_sends_an_event_alone_as_soon_as_it_comes():
    hub, sio = make_hub()
    hub.start()
    try:
        for n in (1, 2, 3):
            time.sleep(0.05)          # the hub is idle, blocked on the queue
            put_at = time.monotonic()
            hub.queue.put(event(n))
            emits = sio.wait_emits(n)
            assert time.monotonic() - put_at < 1.0
            assert seqs(emits[-1]) == [n]
    finally:
        hub.stop()


def test_a_long_backlog_is_cut_at_batch_max_with_no_gap():
    hub, sio = make_hub()
    total = BATCH_MAX * 2 + 10
    for i in range(total):
        hub.queue.put(event(i))
    hub.start()
    try:
        emits = sio.wait_emits(3)
    finally:
        hub.stop()
    assert [len(e[1]) for e in emits] == [BATCH_MAX, BATCH_MAX, 10]
    assert [s for e in emits for s in seqs(e)] == list(range(1, total + 1))


def test_request_threads_waiting_are_woken_by_a_batch():
    hub, _ = make_hub()
    hub.start()
    try:
        got = []
        waiter = threading.Thread(
            target=lambda: got.append(hub.wait_for(lambda r: r.seq >= 3, 5)))
        waiter.start()
        time.sleep(0.05)
        for i in range(3):
            hub.queue.put(event(i))
        waiter.join(5)
        assert got == [True]
    finally:
        hub.stop()


def test_snapshot_and_batches_never_overlap():
    """A snapshot taken while events flow is followed by exactly the next seqs."""
    hub, sio = make_hub()
    hub.start()
    try:
        for i in range(300):
            hub.queue.put(event(i))
            if i == 150:
                hub.send_snapshot("viewer")
        assert hub.wait_for(lambda r: r.seq >= 300, 5)
    finally:
        hub.stop()
    emits = list(sio.emits)
    i = next(k for k, e in enumerate(emits) if e[0] == "snapshot")
    snap_seq = emits[i][1]["seq"]
    after = [s for e in emits[i + 1:] for s in seqs(e)]
    assert after == list(range(snap_seq + 1, 301))
    before = [s for e in emits[:i] for s in seqs(e)]
    assert before == list(range(1, snap_seq + 1))
    assert all(e[3] for e in emits)


def test_a_list_on_the_queue_is_one_process_s_events_applied_in_order():
    """Reporter.batched() writes several events as one queue item, a list."""
    hub, sio = make_hub()
    hub.queue.put(event(0))
    hub.queue.put([event(1), event(2), event(3)])
    hub.queue.put(event(4))
    hub.start()
    try:
        (emit,) = sio.wait_emits(1)
        assert seqs(emit) == [1, 2, 3, 4, 5]
        assert [e["error"] for e in emit[1]] == [f"e{i}" for i in range(5)]
    finally:
        hub.stop()


def test_a_published_event_takes_its_place_in_the_one_seq_order():
    """The dashboard's own events (a poll's) go out between the lab's batches,
    each with the next seq, applied and emitted under the lock: no gap, no
    duplicate, whichever thread publishes."""
    hub, sio = make_hub()
    hub.start()
    try:
        hub.queue.put(event(1))
        sio.wait_emits(1)
        published = hub.publish({"type": "poll_opened", "t": 1.0, "pid": None, "by": DASH,
                                 "poll": 1, "question": "q", "choices": ["a", "b"]})
        assert published["seq"] == 2
        hub.queue.put(event(3))
        emits = sio.wait_emits(3)
        assert [seqs(e) for e in emits] == [[1], [2], [3]]
        assert emits[1][1][0]["type"] == "poll_opened" and emits[1][2] is None
        assert all(locked for *_, locked in emits)
        assert [e["seq"] for e in hub.read(lambda r: r.events_after(0))] == [1, 2, 3]
    finally:
        hub.stop()

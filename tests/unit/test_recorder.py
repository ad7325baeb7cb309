"""The recorder behind the hub, without processes: a plain queue, a Registry,
a Socket.IO stand-in, a temporary directory. The file has what the viewers
got, in their order; rotated parts each replay alone and join back into one;
a slow disk never holds up the event path."""

import os
import queue
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from app.model import session_file as sf
from app.model.registry import Registry
from app.web import recorder as recorder_module
from app.web.hub import Hub
from app.web.recorder import Listing, Recorder
from tests.recordings import lecture
from tests.scenarios import DASH, DASH_PPID

NOW = datetime(2026, 11, 29, 20, 31, 5)


class FakeSocketIO:
    def __init__(self):
        self.cond = threading.Condition()
        self.emitted = []

    def emit(self, name, data, to=None):
        with self.cond:
            if name == "events":
                self.emitted.extend(data)
            self.cond.notify_all()

    def wait_seq(self, seq, timeout=10):
        with self.cond:
            assert self.cond.wait_for(
                lambda: self.emitted and self.emitted[-1]["seq"] >= seq, timeout)


def all_events():
    """A lecture of 40 clients (tests/recordings.py)."""
    return lecture(clients=40)


@pytest.fixture
def make(tmp_path):
    """A hub with a recorder in tmp_path, started; stopped and closed after."""
    made = []

    def make(max_bytes=1 << 20, **kw):
        rec = Recorder(tmp_path, max_bytes, describe=lambda: {"start_method": "fork"},
                       now=lambda: NOW, pid=DASH, host="test", **kw)
        sio = FakeSocketIO()
        hub = Hub(Registry(DASH, DASH_PPID, keep=100_000), queue.Queue(), sio, recorder=rec)
        assert rec.start(hub.registry)
        hub.start()
        made.append((hub, rec))
        return hub, rec, sio
    yield make
    for hub, rec in made:
        hub.stop()
        rec.close()


def feed(hub, sio, events, batch=7, rec=None):
    """Queue *events* in batches the way lab processes write them (lists); with
    *rec*, each batch once the last one is written (a lab whose events come
    slower than the disk takes them, as a lecture's do)."""
    for i in range(0, len(events), batch):
        hub.queue.put(events[i:i + batch])
        if rec is not None:
            sio.wait_seq(min(i + batch, len(events)))
            rec.sync()
    sio.wait_seq(len(events))


def test_the_file_holds_what_the_viewers_got_in_their_order(make):
    hub, rec, sio = make()
    events = all_events()
    feed(hub, sio, events)
    rec.sync()
    (part,) = rec.parts
    assert part.name == "2026-11-29T20-31-05_100_part1.jsonl"
    session = sf.parse(Path(part.path).read_bytes())
    assert session.events == sio.emitted
    assert session.header["lab"] == {"start_method": "fork"}
    assert session.header["session"] == "2026-11-29T20-31-05_100"
    assert sf.replay(session).snapshot() == hub.read(lambda r: r.snapshot())
    assert part.events == len(events) and part.size == os.path.getsize(part.path)


def test_closing_writes_what_is_still_queued(make, monkeypatch):
    hub, rec, sio = make()
    feed(hub, sio, all_events()[:40])
    hub.stop()
    rec.close()
    assert not rec.active
    assert sf.parse(Path(rec.parts[0].path).read_bytes()).last_seq == 40


def test_rotation_gives_parts_that_each_replay_alone_and_join_into_one(make):
    hub, rec, sio = make(max_bytes=2000)
    events = all_events()
    feed(hub, sio, events, batch=3, rec=rec)
    parts = rec.sync()
    assert len(parts) >= 3, [p.size for p in parts]
    last = 0
    for part in parts:
        session = sf.parse(Path(part.path).read_bytes())
        assert session.header["part"] == part.number
        assert session.snapshot["seq"] == last, "a part starts where the last one ended"
        # alone: the snapshot at its start plus its events is the table at its end
        expect = Registry(DASH, DASH_PPID)
        for e in scenario_prefix(events, session.last_seq):
            expect.apply(e)
        assert sf.replay(session).snapshot() == expect.snapshot(), part.name
        last = session.last_seq
        # a part ends at the first batch that takes its events past the limit
        assert 2000 <= part.size - part.head < 2000 + 3 * 1000 or part is parts[-1]
    assert last == len(events)
    joined = sf.parse(b"".join(rec.export()))
    assert joined.header["part"] == 1 and joined.snapshot["seq"] == 0
    assert joined.events == sio.emitted
    assert sf.replay(joined).snapshot() == hub.read(lambda r: r.snapshot())


def scenario_prefix(events, seq):
    return [dict(e) for e in all_events()[:seq]]


def test_a_slow_disk_does_not_hold_up_the_viewers(make, monkeypatch):
    """The hub only queues a batch: with every write stuck, events still reach
    the viewers; once the disk answers, the file has them all."""
    stuck = threading.Event()
    real = recorder_module._write_all

    def slow(fd, data):
        stuck.wait(10)
        real(fd, data)
    hub, rec, sio = make()
    monkeypatch.setattr(recorder_module, "_write_all", slow)
    events = all_events()
    feed(hub, sio, events)                       # would time out if the hub waited
    assert rec.parts[0].events == 0
    stuck.set()
    assert rec.sync()[0].events == len(events)


def test_an_unwritable_directory_leaves_the_dashboard_running(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    rec = Recorder(blocker / "sessions", 1 << 20)
    assert rec.start(Registry(DASH, DASH_PPID)) is False
    assert rec.error and "NotADirectoryError" in rec.error and not rec.active
    rec.put([{"seq": 1}])     # ignored, no thread to take it
    rec.close()


def test_a_second_session_in_the_same_second_gets_its_own_name(tmp_path):
    names = []
    for _ in range(3):
        rec = Recorder(tmp_path, 1 << 20, now=lambda: NOW, pid=DASH)
        assert rec.start(Registry(DASH, DASH_PPID))
        rec.close()
        names.append(rec.parts[0].name)
    assert names == ["2026-11-29T20-31-05_100_part1.jsonl",
                     "2026-11-29T20-31-05_100-2_part1.jsonl",
                     "2026-11-29T20-31-05_100-3_part1.jsonl"]
    assert all(sf.split_name(n) for n in names)


def test_the_listing_counts_events_and_sorts_newest_session_first(make, tmp_path):
    old = Recorder(tmp_path, 1 << 20, now=lambda: datetime(2026, 1, 2, 3, 4, 5), pid=7)
    old.start(Registry(7, 1))
    old.put([{"seq": 1, "type": "error", "t": 1.0, "pid": 7, "by": 7, "error": "x"}])
    old.close()
    (tmp_path / "notes.txt").write_text("not a recording")
    hub, rec, sio = make(max_bytes=2000)
    feed(hub, sio, all_events()[:60], batch=3, rec=rec)
    rows = Listing().files(str(tmp_path), rec)
    sessions = [r["session"] for r in rows]
    assert sessions[0] == rec.session and sessions[-1] == "2026-01-02T03-04-05_7"
    current = [r for r in rows if r["session"] == rec.session]
    assert [r["part"] for r in current] == list(range(1, len(current) + 1))
    assert sum(r["events"] for r in current) == 60
    assert all(r["current"] for r in current)
    assert rows[-1] == {"name": "2026-01-02T03-04-05_7_part1.jsonl",
                        "session": "2026-01-02T03-04-05_7", "part": 1,
                        "size": os.path.getsize(old.parts[0].path),
                        "started": old.parts[0].started, "events": 1, "current": False}


def test_a_bug_in_the_writer_is_said_not_swallowed(make, monkeypatch):
    """If the writer thread dies, the recorder says so (error, not active) and
    a sync does not wait for a thread that is gone."""
    hub, rec, sio = make()

    def broken(chunks, count):
        raise RuntimeError("a bug")
    monkeypatch.setattr(rec, "_write", broken)
    feed(hub, sio, all_events()[:10])
    rec._thread.join(5)
    assert not rec.active and rec.error == "RuntimeError: a bug"
    started = time.monotonic()
    rec.sync()
    assert time.monotonic() - started < 1

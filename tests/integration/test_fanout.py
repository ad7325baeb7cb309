"""The fan-out (app/web/fanout.py) on a live app while events flow: a viewer
gets its snapshot first and then exactly the next seqs, whether it connects
by websocket (the hall) or by HTTP long-polling (Socket.IO's own path)."""

import threading

import socketio

from bench.common import handle_inline
from tests.helpers import wait_until
from tests.raw_viewer import RawViewer


class PollingViewer:
    """python-socketio on long-polling only, handlers run in order (inline)."""

    def __init__(self, url):
        self.lock = threading.Lock()
        self.snapshot = None
        self.before_snapshot = 0
        self.seqs = []
        self.client = socketio.Client(reconnection=False, handle_sigint=False)
        handle_inline(self.client.eio)
        self.client.on("snapshot", self._snapshot)
        self.client.on("events", self._events)
        self.client.connect(url, transports=["polling"], wait_timeout=20)

    def _snapshot(self, data):
        with self.lock:
            self.snapshot = data

    def _events(self, data):
        with self.lock:
            if self.snapshot is None:
                self.before_snapshot += len(data)
            self.seqs.extend(e["seq"] for e in data)

    def last_seq(self):
        """As ``RawViewer.last_seq``: the last event's seq, else the snapshot's."""
        with self.lock:
            if self.seqs:
                return self.seqs[-1]
            return self.snapshot["seq"] if self.snapshot else -1


def test_viewers_joining_while_events_flow_get_snapshot_then_the_next_seqs(live_app):
    stop = threading.Event()
    errors = []

    def flow():   # events all the time: clients come and go
        while not stop.is_set():
            try:
                pids = live_app.api.spawn(2)
                for pid in pids:
                    live_app.api.post(f"/api/clients/{pid}/close")
                    live_app.api.post(f"/api/processes/{pid}/join", {"timeout": 5})
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    flowing = threading.Thread(target=flow)
    flowing.start()
    raw, polling = [], []
    try:
        for _ in range(8):
            raw.append(RawViewer(live_app.url))
            polling.append(PollingViewer(live_app.url))
    finally:
        stop.set()
        flowing.join(60)
    try:
        assert errors == []
        last = live_app.api.state()["seq"]
        wait_until(lambda: all(v.last_seq() >= last for v in raw + polling),
                   timeout=20, message="every viewer to catch up")
        for v in raw:
            (snap, before), *later = v.snapshots
            assert before == 0 and later == [], "an events message came before the snapshot"
            seqs = v.seqs()
            assert seqs == list(range(snap + 1, snap + 1 + len(seqs)))
        for v in polling:
            with v.lock:
                assert v.before_snapshot == 0
                start = v.snapshot["seq"]
                assert v.seqs == list(range(start + 1, start + 1 + len(v.seqs)))
    finally:
        for v in raw:
            v.close()
        threads = [threading.Thread(target=v.client.disconnect) for v in polling]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)

"""No event lost: a burst of 100 connections under 20 viewers."""

import socket

import pytest

from tests.helpers import wait_until
from tests.raw_viewer import RawViewer

BURST = 100
VIEWERS = 20


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_every_viewer_gets_every_event_in_order(live_app):
    viewers = [RawViewer(live_app.url) for _ in range(VIEWERS)]
    try:
        wait_until(lambda: all(v.snapshot for v in viewers), timeout=20,
                   message="snapshots")
        for _ in range(BURST):  # open and close as fast as possible
            s = socket.create_connection(live_app.echo_address, timeout=10)
            s.close()
        api = live_app.api
        wait_until(lambda: sum(e["type"] == "conn_closed" for e in api.events()) == BURST,
                   timeout=60, message="every worker to see its connection close")

        def settled():  # the model equals /proc (all workers zombies, say)
            truth = api.get("/api/truth?detail=0").json()
            return truth if not truth["differences"] else None
        truth = wait_until(settled, timeout=20, message="model == /proc")
        last = truth["seq"]
        wait_until(lambda: all(v.last_seq() >= last for v in viewers),
                   timeout=30, message="every viewer to catch up")
        for v in viewers:
            start = v.snapshot["seq"]
            got = [s for s in v.seqs() if s <= last]
            assert got == list(range(start + 1, last + 1)), "a gap or a duplicate"
            assert v.batches_consecutive() and v.unexpected == []
        workers = [p for p in truth["processes"] if p["model"]["role"] == "worker"]
        assert len(workers) >= 1
    finally:
        for v in viewers:
            v.close()

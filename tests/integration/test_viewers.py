"""Many viewers, many clients: nothing hangs, every viewer sees every event in order."""

import threading

from tests.helpers import model_vs_proc, wait_until
from tests.raw_viewer import RawViewer


def test_30_clients_while_10_viewers_watch(live_app):
    viewers = [RawViewer(live_app.url) for _ in range(10)]
    try:
        wait_until(lambda: all(v.snapshot for v in viewers), message="snapshots")
        errors = []

        def spawn():
            try:
                live_app.api.spawn(3)
            except AssertionError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=spawn) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a spawn request hung"
        assert errors == []
        clients = live_app.api.processes(role="client", state="running")
        assert len(clients) == 30
        for c in clients[:5]:
            assert live_app.api.send(c["pid"], "ok?")["reply"] == "OK?"
        final = live_app.api.state()
        assert model_vs_proc(final) == []
        last = final["seq"]
        wait_until(lambda: all(v.last_seq() >= last for v in viewers),
                   timeout=10, message="every viewer to catch up")
        for v in viewers:
            start = v.snapshot["seq"]
            assert v.seqs()[: last - start] == list(range(start + 1, last + 1))
            assert v.batches_consecutive() and v.unexpected == []
    finally:
        for v in viewers:
            v.close()

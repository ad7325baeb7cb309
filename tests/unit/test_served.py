"""Coalesced ``served`` reports, without processes."""

from app.lab import worker


class Clock:
    def __init__(self):
        self.now = 100.0

    def monotonic(self):
        return self.now


def test_first_round_at_once_then_coalesced(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(worker.time, "monotonic", clock.monotonic)
    sent = []
    served = worker.Served(lambda type_, **f: sent.append(f))
    served.add(b"one")
    assert sent == [{"count": 1, "bytes": 3, "text": "one"}]
    clock.now += 0.01
    served.add(b"two")
    served.add(b"three")
    assert len(sent) == 1 and served.pending
    clock.now += worker.COALESCE
    served.add(b"four")
    assert sent[1] == {"count": 3, "bytes": 12, "text": "four"}
    assert not served.pending
    served.flush()  # nothing pending: nothing sent
    assert len(sent) == 2


def test_preview_is_the_last_message_s_first_200_characters():
    sent = []
    served = worker.Served(lambda type_, **f: sent.append(f))
    served.add(("你" * 340).encode())          # 1,020 bytes: cut inside the byte string
    assert sent[0]["text"] == "你" * worker.PREVIEW_CHARS
    assert sent[0]["bytes"] == 1020

"""Viewer relays over Redis (issue 15): a dashboard with ``--message-queue``,
two ``python -m app relay`` processes, raw viewers on each and on the
dashboard. Every viewer gets the same seq stream with no gap; a relay's
snapshot comes from the relay (it still serves one when the dashboard is
gone); nobody on a relay can act, token or not; a relay that loses messages
(its Redis connection killed) gives its viewers a new snapshot, never a gap.
Redis is a private ``redis-server`` on a free loopback port (``bench.relays``).
"""

import time

import pytest
import requests

from bench.relays import RedisServer, RelayProcess, redis_missing
from tests.helpers import dashboard_process, wait_until
from tests.raw_viewer import RawViewer

TOKEN = "relay-test-token"

pytestmark = pytest.mark.skipif(redis_missing() is not None, reason=str(redis_missing()))


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.fixture
def hall(redis_server):
    """The dashboard (presenter token required), two relays; torn down in order."""
    with dashboard_process("--message-queue", redis_server.url, "--token", TOKEN) \
            as (dash, url, _echo):
        relays = [RelayProcess(redis_server.url) for _ in range(2)]
        try:
            yield dash, url, relays
        finally:
            for r in relays:
                r.stop()
            dash.terminate()
            dash.communicate(timeout=60)


def until_seq(viewers, seq, timeout=20):
    wait_until(lambda: all(v.last_seq() >= seq for v in viewers),
               timeout=timeout, message=f"every viewer to reach seq {seq}")


def runs(viewer):
    """The viewer's stream cut at each snapshot: [(snapshot seq, seqs after it)]."""
    with viewer.lock:
        seqs = [e["seq"] for e in viewer.events]
        marks = list(viewer.snapshots)
    return [(snap, seqs[at:marks[i + 1][1] if i + 1 < len(marks) else len(seqs)])
            for i, (snap, at) in enumerate(marks)]


def assert_no_gap(viewer):
    for snap, seqs in runs(viewer):
        assert seqs == list(range(snap + 1, snap + 1 + len(seqs))), (snap, seqs[:20])


def relays_agree(url, relays, timeout=20):
    """Each relay's table is the dashboard's (both read again until the lab is
    quiet: a client's last events may still be on their way)."""
    def agree():
        states = [requests.get(u + "/api/state", timeout=10).json()
                  for u in (url, *(r.url for r in relays))]
        return all(s == states[0] for s in states[1:])
    wait_until(agree, timeout=timeout, message="the relays' tables to equal the dashboard's")


def post(url, path, body=None):
    return requests.post(url + path, json=body or {}, timeout=30,
                         headers={"Authorization": f"Bearer {TOKEN}"})


def test_every_viewer_on_every_relay_gets_the_dashboard_s_stream(hall):
    _, url, relays = hall
    presenter = RawViewer(url, auth={"token": TOKEN})
    on_dash = [RawViewer(url) for _ in range(2)]
    on_relays = [RawViewer(r.url) for r in relays for _ in range(3)]
    everyone = [presenter, *on_dash, *on_relays]
    try:
        wait_until(lambda: all(v.snapshot for v in everyone), timeout=20, message="snapshots")
        assert presenter.access == {"presenter": True}
        assert all(v.access == {"presenter": False} for v in on_relays)
        pids = presenter.call("spawn_client", {"count": 3})["body"]["pids"]
        for pid in pids:
            assert presenter.call("send_message", {"pid": pid, "text": "hi 你好"})["ok"]
        assert presenter.call("close_client", {"pid": pids[0]})["ok"]
        final = requests.get(url + "/api/state", timeout=10).json()
        until_seq(everyone, final["seq"])
        # one stream: every viewer, wherever it is, has the dashboard's events
        start = max(v.snapshot["seq"] for v in everyone)
        want = [e for e in presenter.events if start < e["seq"] <= final["seq"]]
        assert len(want) >= 10
        for v in everyone:
            assert_no_gap(v)
            assert [e for e in v.events if start < e["seq"] <= final["seq"]] == want
        # each relay's table is the dashboard's, its history too
        relays_agree(url, relays)
        for r in relays:
            events = requests.get(r.url + "/api/events?after=0", timeout=10).json()["events"]
            assert [e for e in events if start < e["seq"] <= final["seq"]] == want
    finally:
        for v in everyone:
            v.close()


def test_a_relay_s_viewer_cannot_act_with_or_without_the_token(hall):
    _, url, relays = hall
    relay = relays[0].url
    with_token = RawViewer(relay, auth={"token": TOKEN})
    try:
        wait_until(lambda: with_token.snapshot, timeout=20, message="a snapshot")
        assert with_token.access == {"presenter": False}
        ack = with_token.call("spawn_client", {"count": 1})
        assert (ack["ok"], ack["status"], ack["code"]) == (False, 403, "forbidden")
    finally:
        with_token.close()
    assert post(relay, "/api/clients", {"count": 1}).status_code == 403
    assert requests.get(relay + "/?token=" + TOKEN, timeout=10).status_code == 200
    who = requests.get(relay + "/api/whoami", timeout=10).json()
    assert who["presenter"] is False and who["viewer_url"].rstrip("/") == relay
    # nothing was spawned by the relay's viewers
    clients = [p for p in requests.get(url + "/api/state", timeout=10).json()["processes"]
               if p["role"] == "client"]
    assert clients == []


def test_a_relay_serves_its_own_snapshot_when_the_dashboard_is_gone(hall):
    dash, url, relays = hall
    assert post(url, "/api/clients", {"count": 2}).status_code == 201
    # the clients' later events (a worker's hello, its phase) may come after the
    # spawn's answer: compare tables read together, not with one read before
    relays_agree(url, relays[1:])
    final = requests.get(url + "/api/state", timeout=10).json()
    dash.terminate()
    dash.communicate(timeout=60)
    late = RawViewer(relays[1].url)          # connects after the dashboard stopped
    try:
        wait_until(lambda: late.snapshot, timeout=20, message="the relay's snapshot")
        # the dashboard's stop reaped everything: the relay saw that too, then nothing more
        assert late.snapshot["seq"] >= final["seq"]
        assert all(p["state"] in ("joined", "running") for p in late.snapshot["processes"])
        assert late.snapshot == requests.get(relays[1].url + "/api/state", timeout=10).json()
    finally:
        late.close()


def test_a_relay_that_loses_messages_gives_its_viewers_a_new_snapshot(hall, redis_server):
    _, url, relays = hall
    viewers = [RawViewer(r.url) for r in relays]
    try:
        wait_until(lambda: all(v.snapshot for v in viewers), timeout=20, message="snapshots")
        assert post(url, "/api/clients", {"count": 2}).status_code == 201
        # cut every pub/sub connection: messages published until they are back are lost
        killed_at = time.monotonic()
        redis_server.command("CLIENT", "KILL", "TYPE", "pubsub")
        for _ in range(3):
            assert post(url, "/api/clients", {"count": 1}).status_code == 201
        wait_until(lambda: all(len(v.snapshots) >= 2 for v in viewers), timeout=30,
                   message="a new snapshot on each relay")
        resync_s = time.monotonic() - killed_at
        assert post(url, "/api/clients", {"count": 1}).status_code == 201
        final = requests.get(url + "/api/state", timeout=10).json()
        until_seq(viewers, final["seq"])
        for v in viewers:
            assert_no_gap(v)
        relays_agree(url, relays)
        print(f"relays resynced {resync_s:.2f} s after their Redis connections were cut")
    finally:
        for v in viewers:
            v.close()


def test_every_read_of_the_api_has_an_answer_on_a_relay(hall):
    """Every GET of the dispatch table answers on a relay — the dashboard's data,
    or a clear refusal (``relay_unavailable``, ``not_recording``) — never a 500."""
    from app.web.dispatch import ACTIONS

    _, url, relays = hall
    relay = relays[0].url
    wait_until(lambda: requests.get(relay + "/api/state", timeout=10).status_code == 200,
               timeout=20, message="the relay's state")
    answers = {}
    for action in ACTIONS.values():
        if action.method != "GET" or action.path_params or not action.rest_route:
            continue
        r = requests.get(relay + action.openapi_path, timeout=30)
        answers[action.name] = (r.status_code, r.json().get("code") if r.status_code >= 400
                                else None)
    failed = {k: v for k, v in answers.items()
              if v[0] >= 500 and v[1] not in ("relay_unavailable", "relay_waiting")}
    assert failed == {}, answers
    assert answers["state"] == (200, None) and answers["puzzles"] == (200, None)
    assert answers["lesson_current"] == (200, None) and answers["list_polls"] == (200, None)
    assert answers["cpu"] == (503, "relay_unavailable")
    assert answers["truth"] == (200, None)       # the dashboard's check came with the state
    same = ("lessons", "get_lab", "step", "lesson_current", "puzzles", "list_polls")
    for name in same:
        path = ACTIONS[name].openapi_path
        assert requests.get(relay + path, timeout=10).json() == \
            requests.get(url + path, timeout=10).json(), name

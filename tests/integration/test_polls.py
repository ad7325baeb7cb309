"""Predict, then reveal: polls with real Socket.IO viewers (issue 13).

A dashboard with a token, so that viewers are viewers; a presenter over REST
(Bearer) and over Socket.IO; twenty viewer connections, each a page with its
own voter id (``auth={"voter": ...}``, as static/js/polls.js sends it)."""

import os
import threading
import uuid

import psutil
import pytest
import socketio

from app.model.polls import VOTE_BURST
from app.settings import Settings
from tests.conftest import running
from tests.helpers import Api, disconnect_all, model_vs_proc, wait_until

TOKEN = "s3cret-token"
CHOICES = ["they die with it", "they are orphans, adopted by the dashboard",
           "they become zombies"]


@pytest.fixture
def room_app():
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        yield live


@pytest.fixture
def presenter_api(room_app):
    api = Api(room_app.url)
    api.http.headers["Authorization"] = f"Bearer {TOKEN}"
    return api


class Page:
    """One Socket.IO connection as a page holds it: what it was sent, by name."""

    def __init__(self, url, voter=None, token=None):
        self.voter = voter
        self.lock = threading.Lock()
        self.got = {"access": [], "poll": [], "poll_counts": [], "events": []}
        self.sio = socketio.Client()
        for name in self.got:
            self.sio.on(name, self._keep(name))
        auth = {}
        if voter:
            auth["voter"] = voter
        if token:
            auth["token"] = token
        self.sio.connect(url, transports=["websocket"], auth=auth or None)
        wait_until(lambda: self.got["access"], message="access")

    def _keep(self, name):
        def keep(data):
            with self.lock:
                self.got[name].extend(data if name == "events" else [data])
        return keep

    def seen(self, name):
        with self.lock:
            return list(self.got[name])

    def poll_events(self):
        return [e for e in self.seen("events") if e["type"].startswith("poll_")]

    def vote(self, poll, choice):
        return self.sio.call("vote", {"poll": poll, "choice": choice}, timeout=10)


def pages(url, n):
    made = [None] * n

    def connect(i):
        made[i] = Page(url, voter=uuid.uuid4().hex)
    threads = [threading.Thread(target=connect, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(made), "a viewer could not connect"
    return made


def close_pages(ps):
    disconnect_all([p.sio for p in ps])


def test_twenty_viewers_vote_the_counts_are_exact(room_app, presenter_api):
    """The issue's acceptance test: 3 choices, 20 viewer connections; a few
    change their vote, one votes twice for the same, one votes after close."""
    presenter = Page(room_app.url, token=TOKEN)
    viewers = pages(room_app.url, 20)
    try:
        assert presenter.seen("access") == [{"presenter": True}]
        assert all(v.seen("access") == [{"presenter": False}] for v in viewers)

        # a viewer may not ask, over REST or Socket.IO; nothing is opened
        viewer_api = Api(room_app.url)
        r = viewer_api.post("/api/polls", {"question": "q", "choices": ["a", "b"]})
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
        ack = viewers[0].sio.call("ask_poll", {"question": "q", "choices": ["a", "b"]},
                                  timeout=10)
        assert (ack["ok"], ack["status"], ack["code"]) == (False, 403, "forbidden")
        assert presenter_api.get("/api/polls").json() == {"polls": []}

        r = presenter_api.post("/api/polls", {
            "question": "server-1 will be killed: what happens to its 3 workers?",
            "choices": CHOICES})
        assert r.status_code == 201, r.text
        poll = r.json()["id"]
        for v in [presenter, *viewers]:   # every page is told, in the event stream
            wait_until(lambda v=v: v.poll_events(), message="poll_opened")
            opened = v.poll_events()[0]
            assert (opened["type"], opened["poll"], opened["choices"]) == (
                "poll_opened", poll, CHOICES)

        expected = {}
        for i, v in enumerate(viewers):
            ack = v.vote(poll, i % 3)
            assert ack == {"ok": True, "status": 200, "body": {"poll": poll, "choice": i % 3}}
            expected[v.voter] = i % 3
        for v in viewers[:4]:                       # a few change their mind
            new = (expected[v.voter] + 1) % 3
            assert v.vote(poll, new)["ok"] is True
            expected[v.voter] = new
        assert viewers[5].vote(poll, expected[viewers[5].voter])["ok"] is True  # the same again
        counts = [list(expected.values()).count(c) for c in range(3)]
        assert sum(counts) == 20 and counts != [7, 7, 6]   # the changes moved votes

        # wrong polls and choices: 4xx, counted nowhere
        assert viewers[6].vote(poll + 1, 0)["status"] == 404
        assert viewers[6].vote(poll, 3)["status"] == 400
        assert viewers[6].vote(poll, "1")["status"] == 400
        assert viewers[6].vote(None, 1)["status"] == 400

        # live counts: the presenter's alone
        wait_until(lambda: presenter.seen("poll_counts")
                   and presenter.seen("poll_counts")[-1]["counts"] == counts,
                   message="the presenter's live counts")
        assert all(v.seen("poll_counts") == [] for v in viewers)
        assert viewer_api.get(f"/api/polls/{poll}").json()["counts"] is None
        body = presenter_api.get(f"/api/polls/{poll}").json()
        assert (body["counts"], body["voters"], body["open"]) == (counts, 20, True)
        assert {"id", "question", "choices", "open", "counts", "voters"} <= set(body)

        # only the presenter closes; then a vote is refused and changes nothing
        r = viewer_api.post(f"/api/polls/{poll}/close")
        assert r.status_code == 403
        r = presenter_api.post(f"/api/polls/{poll}/close")
        assert r.status_code == 200 and r.json()["counts"] == counts
        late = viewers[7].vote(poll, (expected[viewers[7].voter] + 1) % 3)
        assert (late["ok"], late["status"], late["code"]) == (False, 409, "poll_closed")
        body = viewer_api.get(f"/api/polls/{poll}").json()   # everyone sees them now
        assert (body["counts"], body["voters"], body["open"]) == (counts, 20, False)
        for v in [presenter, *viewers]:
            wait_until(lambda v=v: len(v.poll_events()) == 2, message="poll_closed")
            closed = v.poll_events()[1]
            assert (closed["type"], closed["counts"], closed["voters"]) == (
                "poll_closed", counts, 20)
        seqs = [e["seq"] for e in presenter_api.events() if e["type"].startswith("poll_")]
        assert seqs == sorted(seqs) and len(seqs) == 2
    finally:
        close_pages([presenter, *viewers])


def test_the_reveal_is_what_really_happened(room_app, presenter_api):
    """The question of the issue, for real: three clients (three workers), the
    server killed; the model and /proc agree the workers are orphans, adopted by
    the dashboard, and that choice is revealed."""
    viewers = pages(room_app.url, 3)
    try:
        for _ in range(3):
            presenter_api.post("/api/clients", {"count": 1})
        wait_until(lambda: len(presenter_api.processes(role="worker", state="running")) == 3,
                   message="three workers")
        poll = presenter_api.post("/api/polls", {"question": "kill server-1?",
                                                 "choices": CHOICES}).json()["id"]
        for v, choice in zip(viewers, (0, 1, 1)):
            assert v.vote(poll, choice)["ok"]
        assert presenter_api.post(f"/api/polls/{poll}/reveal", {"choice": 1}).json()[
            "code"] == "poll_open"                      # not while the room votes
        presenter_api.post(f"/api/polls/{poll}/close")
        server = presenter_api.processes(role="server", state="running")[0]
        presenter_api.post(f"/api/processes/{server['pid']}/kill")
        dashboard = psutil.Process().pid
        def orphans():
            found = [p for p in presenter_api.processes(role="worker", state="running")
                     if p["orphaned"]]
            return found if len(found) == 3 else None
        workers = wait_until(orphans, message="three orphans")
        assert all(psutil.Process(w["pid"]).ppid() == dashboard for w in workers)
        assert model_vs_proc(presenter_api.state()) == []
        truth = CHOICES.index("they are orphans, adopted by the dashboard")
        r = presenter_api.post(f"/api/polls/{poll}/reveal",
                               {"choice": truth, "note": "re-parented to the dashboard"})
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["answer"], r.json()["counts"]) == (
            "revealed", truth, [1, 2, 0])
        for v in viewers:
            wait_until(lambda v=v: any(e["type"] == "poll_revealed" for e in v.poll_events()),
                       message="poll_revealed")
            revealed = v.poll_events()[-1]
            assert (revealed["choice"], revealed["note"]) == (truth, "re-parented to the dashboard")
        r = Api(room_app.url).post(f"/api/polls/{poll}/reveal", {"choice": 0})
        assert r.status_code == 403
    finally:
        close_pages(viewers)


def test_a_reconnect_replaces_the_vote_and_a_new_id_cannot_add_one(room_app, presenter_api):
    """A phone drops off the Wi-Fi and comes back (a new sid, the same voter id):
    its vote is replaced, not doubled. A page that comes back with a new id (or
    none) would be a new voter; the cap (the most connections open at once)
    refuses it."""
    phone = Page(room_app.url, voter="phone-" + uuid.uuid4().hex)
    other = Page(room_app.url, voter="other-" + uuid.uuid4().hex)
    try:
        poll = presenter_api.post("/api/polls", {"question": "q", "choices": ["a", "b"]}
                                  ).json()["id"]
        assert phone.vote(poll, 0)["ok"] and other.vote(poll, 0)["ok"]
        phone.sio.disconnect()
        again = Page(room_app.url, voter=phone.voter)
        assert again.seen("poll")[-1]["mine"] == 0       # the page learns its vote back
        assert again.seen("poll")[-1]["counts"] is None  # and not the counts
        assert again.vote(poll, 1)["ok"]
        assert presenter_api.get(f"/api/polls/{poll}").json()["counts"] == [1, 1]
        again.sio.disconnect()
        stranger = Page(room_app.url)                    # no voter id: its sid is its voter
        ack = stranger.vote(poll, 1)
        assert (ack["status"], ack["code"], ack["params"]["limit"]) == (429, "max_voters", 2)
        assert presenter_api.get(f"/api/polls/{poll}").json()["counts"] == [1, 1]
        stranger.sio.disconnect()
    finally:
        close_pages([phone, other])


def test_votes_are_rate_limited_per_connection(room_app, presenter_api):
    fast, calm = Page(room_app.url, voter=uuid.uuid4().hex), Page(room_app.url)
    try:
        poll = presenter_api.post("/api/polls", {"question": "q", "choices": ["a", "b"]}
                                  ).json()["id"]
        acks = [fast.vote(poll, i % 2) for i in range(VOTE_BURST + 10)]
        refused = [a for a in acks if not a["ok"]]
        assert refused and all((a["status"], a["code"]) == (429, "rate_limited")
                               for a in refused)
        assert sum(a["ok"] for a in acks) < VOTE_BURST + 5
        assert calm.vote(poll, 1)["ok"], "another connection's bucket is its own"
    finally:
        close_pages([fast, calm])


def test_a_page_that_connects_gets_the_poll_as_it_may_see_it(room_app, presenter_api):
    poll = presenter_api.post("/api/polls", {"question": "q", "choices": ["a", "b"],
                                             "lesson": "orphans", "step": 3}).json()["id"]
    voter = Page(room_app.url, voter=uuid.uuid4().hex)
    try:
        voter.vote(poll, 1)
        presenter = Page(room_app.url, token=TOKEN)
        viewer = Page(room_app.url)
        shown = presenter.seen("poll")[-1]
        assert (shown["id"], shown["counts"], shown["lesson"], shown["step"]) == (
            poll, [0, 1], "orphans", 3)
        assert viewer.seen("poll")[-1]["counts"] is None
        assert viewer.seen("poll")[-1]["seq"] >= presenter_api.events()[-1]["seq"]
        close_pages([presenter, viewer])
    finally:
        close_pages([voter])


@pytest.mark.parametrize("body, reason", [
    ({"question": "q", "choices": ["a"]}, "choices_count"),
    ({"question": "q", "choices": [str(i) for i in range(9)]}, "choices_count"),
    ({"question": "q" * 501, "choices": ["a", "b"]}, "question_too_long"),
    ({"question": "q", "choices": ["a", "b" * 501]}, "choice_too_long"),
    ({"question": "", "choices": ["a", "b"]}, "question_empty"),
    ({"choices": ["a", "b"]}, "question_not_str"),
    ({"question": "q", "choices": ["a", "b"], "qestion": "typo"}, "unknown_field"),
])
def test_bad_polls_are_400_with_a_reason(presenter_api, body, reason):
    r = presenter_api.post("/api/polls", body)
    assert (r.status_code, r.json()["params"]["reason"]) == (400, reason)
    assert presenter_api.get("/api/polls").json() == {"polls": []}


def test_a_vote_has_no_rest_route(presenter_api):
    assert presenter_api.post("/api/polls/1/votes", {"choice": 0}).status_code == 404
    assert presenter_api.post("/api/vote", {"poll": 1, "choice": 0}).status_code == 404


def test_a_recorded_lecture_keeps_its_polls_and_replays(tmp_path):
    """The poll events are the stream's like any other: the recording has them
    in seq order, with no gap, and replays to the state (issue 14's file)."""
    from app.model import session_file as sf
    from tests.integration.test_recording import quiet_export
    with running(Settings(port=0, echo_port=0, record=str(tmp_path))) as live:
        api = live.api
        api.spawn(1)
        poll = api.post("/api/polls", {"question": "q", "choices": ["a", "b"]}).json()["id"]
        api.post(f"/api/polls/{poll}/close")
        api.post(f"/api/polls/{poll}/reveal", {"choice": 1, "note": "it did"})
        api.spawn(1)
        state, r = quiet_export(api)
        session = sf.parse(r.content, expect_schema=sf.schema_id())
        assert [e["type"] for e in session.events if e["type"].startswith("poll_")] == [
            "poll_opened", "poll_closed", "poll_revealed"]
        assert [e["seq"] for e in session.events] == list(range(1, state["seq"] + 1))
        assert sf.replay(session).snapshot() == state
        # in Perfetto, the questions are instants on the dashboard's track (it asked)
        trace = api.get("/api/export.trace.json").json()["traceEvents"]
        asked = [e for e in trace if e.get("name") == "poll_opened"]
        assert len(asked) == 1 and asked[0]["pid"] == os.getpid()

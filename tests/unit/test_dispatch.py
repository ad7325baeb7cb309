"""Who may ask, and by which edge: the dispatch table's own rules, without a
running app (the edges themselves: tests/integration/test_dispatch.py)."""

from types import SimpleNamespace

import pytest

from app.settings import Settings
from app.web.dispatch import ACTIONS, Action, Caller, dispatch


class Desk:
    """Stands in for app.web.polls.PollDesk: records what reached it."""

    def __init__(self):
        self.calls = []

    def vote(self, body, caller):
        self.calls.append(("vote", body, caller))
        return {"poll": body["poll"], "choice": body["choice"]}

    def ask(self, body, caller):
        self.calls.append(("ask", body, caller))
        return {"id": 1}


def forkscope():
    return SimpleNamespace(settings=Settings(), polls=Desk())


VIEWER = Caller(presenter=False, connection="sid-1")


def test_a_viewer_s_vote_reaches_the_desk_with_its_connection():
    fs = forkscope()
    status, body = dispatch(fs, "vote", {"poll": 1, "choice": 0}, VIEWER)
    assert (status, body) == (200, {"poll": 1, "choice": 0})
    assert fs.polls.calls == [("vote", {"poll": 1, "choice": 0}, VIEWER)]


def test_a_viewer_may_not_ask_and_nothing_reaches_the_desk():
    fs = forkscope()
    status, body = dispatch(fs, "ask_poll", {"question": "q", "choices": ["a", "b"]}, VIEWER)
    assert (status, body["code"]) == (403, "forbidden")
    assert fs.polls.calls == []


def test_a_vote_field_it_does_not_take_is_refused_before_the_desk():
    fs = forkscope()
    status, body = dispatch(fs, "vote", {"poll": 1, "choice": 0, "voter": "someone"}, VIEWER)
    assert (status, body["params"]) == (400, {"reason": "unknown_field", "field": "voter"})
    assert fs.polls.calls == []


def test_the_vote_is_the_one_action_a_viewer_may_ask_that_changes_something():
    assert [a.name for a in ACTIONS.values()
            if a.method == "POST" and not a.presenter_only] == ["vote"]
    vote = ACTIONS["vote"]
    assert (vote.socket_event, vote.rest_route) == (True, False)
    assert all(a.rest_route and not a.socket_event for a in ACTIONS.values()
               if a.method == "GET")


@pytest.mark.parametrize("kwargs", [{"who": "anybody"}, {"who": "viewer"},
                                    {"edges": ("rest", "websocket")}])
def test_a_typo_in_who_or_edges_is_refused_when_the_table_is_built(kwargs):
    with pytest.raises(ValueError):
        Action("x", "POST", "/x", lambda fs, c, a: {}, "x", {"type": "object"}, **kwargs)

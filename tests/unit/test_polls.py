"""The poll model (app/model/polls.py), pure: plain values in, counts and
refusals out. The web side (app/web/polls.py) is tested with real Socket.IO
connections in tests/integration/test_polls.py."""

import json
from pathlib import Path

import pytest

from app.errors import LabError
from app.model.polls import (
    KEPT,
    MAX_CHOICES,
    MAX_TEXT,
    REASONS,
    Polls,
    TokenBucket,
    poll_id,
)

ROOT = Path(__file__).resolve().parents[2]
ABC = ["a", "b", "c"]


def refused(fn, *args, **kwargs):
    """The LabError *fn* raises, as (status, code, reason)."""
    with pytest.raises(LabError) as caught:
        fn(*args, **kwargs)
    exc = caught.value
    reason = exc.params.get("reason")
    # every reason the model gives is listed, so its translation is checked (below)
    assert reason is None or reason in REASONS, reason
    return exc.status, exc.code, reason


def opened(polls=None, choices=ABC, connections=20):
    polls = polls or Polls()
    return polls, polls.create("what happens?", list(choices), 1.0, connections)


# -- asking -------------------------------------------------------------------------------

def test_a_new_poll_is_open_with_zero_counts_and_the_next_id():
    polls, first = opened()
    assert (first.id, first.state, first.counts(), first.peak) == (1, "open", [0, 0, 0], 20)
    polls.close(first.id, 2.0)
    second = polls.create("and now?", ["x", "y"], 3.0, 5, lesson="orphans", step=2)
    assert second.id == 2 and (second.lesson, second.step) == ("orphans", 2)


@pytest.mark.parametrize("question, choices, reason", [
    (None, ABC, "question_not_str"),
    ("   ", ABC, "question_empty"),
    ("q" * (MAX_TEXT + 1), ABC, "question_too_long"),
    ("q", "a,b", "choices_not_list"),
    ("q", ["only one"], "choices_count"),
    ("q", [str(i) for i in range(MAX_CHOICES + 1)], "choices_count"),
    ("q", ["a", 2], "choice_not_str"),
    ("q", ["a", " \n "], "choice_empty"),
    ("q", ["a", "b" * (MAX_TEXT + 1)], "choice_too_long"),
    ("q", ["a", "a"], "choices_repeat"),
])
def test_bad_questions_and_choices_are_refused_with_a_reason(question, choices, reason):
    polls = Polls()
    assert refused(polls.create, question, choices, 1.0, 3) == (400, "bad_input", reason)
    assert polls.recent() == []


def test_limits_are_inclusive():
    _, poll = opened(choices=[f"{i}\n└─ w" for i in range(MAX_CHOICES)])
    assert len(poll.choices) == MAX_CHOICES
    Polls().create("q" * MAX_TEXT, ["a" * MAX_TEXT, "b"], 1.0, 1)


def test_a_bad_choice_names_its_index():
    with pytest.raises(LabError) as caught:
        Polls().create("q", ["a", "b", ""], 1.0, 1)
    assert caught.value.params == {"reason": "choice_empty", "index": 2}


@pytest.mark.parametrize("field, value", [("lesson", ""), ("lesson", 3.5), ("step", -1),
                                          ("step", True), ("lesson", "x" * 101)])
def test_lesson_and_step_are_short_names_or_step_numbers(field, value):
    assert refused(Polls().create, "q", ABC, 1.0, 1, **{field: value})[2] == f"{field}_bad"


def test_one_poll_open_at_a_time():
    polls, first = opened()
    status, code, _ = refused(polls.create, "another?", ABC, 1.0, 3)
    assert (status, code) == (409, "poll_open")
    polls.close(first.id, 2.0)
    assert polls.create("another?", ABC, 3.0, 3).id == 2


# -- voting -------------------------------------------------------------------------------

def test_one_vote_per_voter_changing_it_replaces_it():
    polls, poll = opened()
    assert polls.vote(poll.id, "v1", 0, 20) is True
    assert polls.vote(poll.id, "v2", 0, 20) is True
    assert polls.vote(poll.id, "v1", 2, 20) is True       # changed its mind
    assert polls.vote(poll.id, "v2", 0, 20) is False      # the same again: nothing changes
    assert poll.counts() == [1, 0, 1] and len(poll.votes) == 2


@pytest.mark.parametrize("choice, reason", [(3, "choice_range"), (-1, "choice_range"),
                                            ("1", "choice_not_int"), (True, "choice_not_int"),
                                            (None, "choice_not_int"), (1.0, "choice_not_int")])
def test_a_vote_for_no_choice_is_400(choice, reason):
    polls, poll = opened()
    assert refused(polls.vote, poll.id, "v", choice, 20) == (400, "bad_input", reason)
    assert poll.counts() == [0, 0, 0]


@pytest.mark.parametrize("pid, expected", [(99, (404, "no_poll", None)),
                                           ("x", (400, "bad_input", "poll_not_int")),
                                           (0, (400, "bad_input", "poll_not_int")),
                                           (None, (400, "bad_input", "poll_not_int"))])
def test_a_vote_for_no_poll_is_refused(pid, expected):
    polls, _ = opened()
    assert refused(polls.vote, pid, "v", 0, 20) == expected


def test_no_vote_after_close_and_the_counts_stay():
    polls, poll = opened()
    polls.vote(poll.id, "v1", 1, 20)
    polls.close(poll.id, 2.0)
    assert refused(polls.vote, poll.id, "v2", 0, 20)[:2] == (409, "poll_closed")
    assert refused(polls.vote, poll.id, "v1", 0, 20)[:2] == (409, "poll_closed")  # no change either
    assert poll.counts() == [0, 1, 0] and poll.closed_t == 2.0
    assert refused(polls.close, poll.id, 3.0)[:2] == (409, "poll_closed")


def test_voters_never_outnumber_the_most_connections_open_at_once():
    """Two phones connected; one reconnects under a new id (its page lost its
    storage): that third voter is refused, the two may still change votes."""
    polls, poll = opened(connections=2)
    polls.vote(poll.id, "phone-a", 0, 2)
    polls.vote(poll.id, "phone-b", 1, 2)
    assert refused(polls.vote, poll.id, "phone-a-again", 2, 2)[:2] == (429, "max_voters")
    assert polls.vote(poll.id, "phone-a", 2, 2) is True
    polls.connections(3)                  # a third page connected meanwhile
    polls.connections(1)                  # ... and two left: the peak stays
    assert polls.vote(poll.id, "phone-c", 0, 1) is True
    assert poll.counts() == [1, 1, 1] and poll.peak == 3


def test_a_poll_asked_with_nobody_connected_takes_voters_as_they_connect():
    polls, poll = opened(connections=0)
    assert polls.vote(poll.id, "first", 0, 1) is True


# -- closing and revealing ----------------------------------------------------------------

def test_counts_are_the_presenters_until_close_then_everyones():
    polls, poll = opened()
    polls.vote(poll.id, "v1", 1, 20)
    assert poll.view(counts_shown=False)["counts"] is None
    assert poll.view(counts_shown=True)["counts"] == [0, 1, 0]
    assert poll.view(counts_shown=False)["voters"] == 1
    assert poll.view(False, voter="v1")["mine"] == 1
    assert poll.view(False, voter="v9")["mine"] is None
    polls.close(poll.id, 2.0)
    view = poll.view(counts_shown=False)
    assert (view["counts"], view["open"], view["state"]) == ([0, 1, 0], False, "closed")


def test_reveal_after_close_only_and_again_replaces():
    polls, poll = opened()
    assert refused(polls.reveal, poll.id, 1)[:2] == (409, "poll_open")
    assert poll.view(True)["answer"] is None
    polls.close(poll.id, 2.0)
    polls.reveal(poll.id, 1, "server-1 died; its workers are orphans")
    view = poll.view(False)
    assert (view["state"], view["answer"], view["note"]) == (
        "revealed", 1, "server-1 died; its workers are orphans")
    polls.reveal(poll.id, None)           # no single answer after all
    assert (poll.answer, poll.note, poll.state) == (None, None, "revealed")


@pytest.mark.parametrize("answer, note, reason", [(3, None, "choice_range"),
                                                  ("0", None, "choice_not_int"),
                                                  (None, 5, "note_not_str"),
                                                  (None, " ", "note_empty"),
                                                  (None, "n" * 501, "note_too_long")])
def test_a_bad_reveal_is_400_and_changes_nothing(answer, note, reason):
    polls, poll = opened()
    polls.close(poll.id, 2.0)
    assert refused(polls.reveal, poll.id, answer, note) == (400, "bad_input", reason)
    assert poll.state == "closed"


def test_only_the_last_polls_are_kept():
    polls = Polls()
    for i in range(KEPT + 3):
        polls.close(polls.create(f"q{i}", ABC, float(i), 1).id, float(i))
    kept = polls.recent()
    assert len(kept) == KEPT and kept[0].id == KEPT + 3 and kept[-1].id == 4
    assert refused(polls.get, 1)[:2] == (404, "no_poll")


def test_current_is_the_open_poll_else_the_latest():
    polls = Polls()
    assert polls.current() is None
    _, first = opened(polls)
    assert polls.current() is first
    polls.close(first.id, 2.0)
    assert polls.current() is first
    second = polls.create("q2", ABC, 3.0, 1)
    assert polls.current() is second


def test_poll_ids_from_paths():
    assert poll_id("12") == 12 and poll_id(3) == 3
    for bad in ("1.5", "-1", "0", "", "one", True):
        assert refused(poll_id, bad)[2] == "poll_not_int"


# -- the rate of votes --------------------------------------------------------------------

def test_a_bucket_lets_a_burst_through_then_its_rate():
    bucket = TokenBucket(burst=3, rate=2.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.4) is False       # 0.8 of a token
    assert bucket.take(0.5) is True        # one token after 0.5 s at 2/s
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # never over the burst


# -- every refusal is translated ----------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_reason_and_code_has_a_message(lang):
    messages = json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))
    missing = [r for r in REASONS if f"bad_input.{r}" not in messages]
    missing += [c for c in ("no_poll", "poll_open", "poll_closed", "max_voters")
                if f"error.{c}" not in messages]
    assert not missing, missing


"""Polls: the room predicts, then the lab shows what really happened. Pure —
no sockets, no clocks of its own, no threads — so every rule is unit-tested
with plain values (``tests/unit/test_polls.py``); ``app.web.polls`` keeps one
``Polls`` for the dashboard and wires it to the dispatch and the event stream.

A poll lives through three states, in this order only::

    open ──close()──> closed ──reveal()──> revealed (reveal again: replaced)

* **open** — anyone connected may vote, one vote per *voter* (changing it
  replaces it; the same choice again changes nothing). The counts are the
  presenter's alone: a room that sees the bars before it votes follows them.
* **closed** — no vote is taken any more (``409 poll_closed``); the counts are
  for everyone.
* **revealed** — the presenter (or a lesson, from the model) has said which
  choice turned out true (``answer``, or none: a question with no single
  right answer), with an optional ``note``.

Who a *voter* is, is the caller's business (``app.web.polls``: a random id a
page keeps, bound to its connection). What this module adds is the cap: a poll
never counts more voters than the most connections that were open at once
while it was open (``peak``). A page that reconnects under the same voter id
changes its vote; one that comes back under a new id takes a place that a
connection really held — so a flaky phone never votes twice by reconnecting,
and a script cannot mint voters faster than it holds connections.
"""

from dataclasses import dataclass, field

from app.errors import LabError

MIN_CHOICES = 2
MAX_CHOICES = 8
MAX_TEXT = 500          # characters of a question, a choice, a note
MAX_LABEL = 100         # characters of a lesson's name or a step's
KEPT = 50               # polls remembered; older ones answer 404

# Votes per connection: a bucket of BURST tokens, refilled at RATE per second.
# A student changing their mind taps a few times in a second; a script sending
# hundreds is refused (429) without costing the dashboard a lock per vote.
VOTE_BURST = 5
VOTE_RATE = 2.0


#: Every ``params.reason`` of a 400 this module answers (``bad_input.<reason>``
#: in static/i18n/*.json: tests/unit/test_polls.py checks both).
REASONS = ("question_not_str", "question_empty", "question_too_long", "choices_not_list",
           "choices_count", "choice_not_str", "choice_empty", "choice_too_long",
           "choices_repeat", "lesson_bad", "step_bad", "poll_not_int", "choice_not_int",
           "choice_range", "note_not_str", "note_empty", "note_too_long")


def bad(message, reason, **params):
    """A 400 with a stable ``params.reason`` the page translates."""
    return LabError(400, "bad_input", message, reason=reason, **params)


def _text(value, what, reason):
    """*value* as a question / choice / note: a string with a non-blank
    character, at most MAX_TEXT characters."""
    if not isinstance(value, str):
        raise bad(f"{what} must be a string", reason=f"{reason}_not_str")
    if not value.strip():
        raise bad(f"{what} is empty", reason=f"{reason}_empty")
    if len(value) > MAX_TEXT:
        raise bad(f"{what} is {len(value)} characters; at most {MAX_TEXT}",
                  reason=f"{reason}_too_long", max=MAX_TEXT)
    return value


def _label(value, what):
    """A lesson's or a step's name: where a poll came from (integers for steps too)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip() and len(value) <= MAX_LABEL:
        return value
    raise bad(f"{what} must be a name of at most {MAX_LABEL} characters"
              + (" or a step number" if what == "step" else ""), reason=f"{what}_bad")


def _index(value, poll, what="choice"):
    """*value* as the index of one of *poll*'s choices."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{what} must be the index of a choice (an integer)",
                  reason="choice_not_int")
    if not 0 <= value < len(poll.choices):
        raise bad(f"{what} must be between 0 and {len(poll.choices) - 1}",
                  reason="choice_range", max=len(poll.choices) - 1)
    return value


def poll_id(value):
    """A poll's id from a path or a payload: a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise bad("poll must be a poll's id (an integer)", reason="poll_not_int") from None
    if value <= 0:
        raise bad("poll must be a poll's id (a positive integer)", reason="poll_not_int")
    return value


@dataclass
class Poll:
    id: int
    question: str
    choices: list
    opened_t: float
    lesson: object = None
    step: object = None
    open: bool = True
    closed_t: float = None
    votes: dict = field(default_factory=dict)   # voter -> choice index
    peak: int = 0                               # most connections open at once while open
    revealed: bool = False
    answer: int = None                          # the choice that turned out true, if one did
    note: str = None

    @property
    def state(self):
        return "open" if self.open else "revealed" if self.revealed else "closed"

    def counts(self):
        tally = [0] * len(self.choices)
        for choice in self.votes.values():
            tally[choice] += 1
        return tally

    def view(self, counts_shown, voter=None):
        """The poll as JSON. *counts_shown*: the presenter's view, or any view
        once closed — else ``counts`` is null (the room must not see the bars
        while it votes). *voter* given: ``mine`` is that voter's choice (null
        when they have not voted)."""
        shown = counts_shown or not self.open
        body = {"id": self.id, "question": self.question, "choices": list(self.choices),
                "open": self.open, "state": self.state,
                "counts": self.counts() if shown else None, "voters": len(self.votes),
                "lesson": self.lesson, "step": self.step,
                "answer": self.answer if self.revealed else None,
                "note": self.note if self.revealed else None,
                "opened_t": self.opened_t, "closed_t": self.closed_t}
        if voter is not None:
            body["mine"] = self.votes.get(voter)
        return body


class Polls:
    """The dashboard's polls, newest last; at most one open at a time."""

    def __init__(self, kept=KEPT):
        self.kept = kept
        self.polls = {}       # id -> Poll, in the order they were asked
        self.next_id = 1

    # -- queries --------------------------------------------------------------------
    def get(self, pid):
        """The poll with id *pid* (an int, or a path's string), or a 404."""
        pid = poll_id(pid)
        poll = self.polls.get(pid)
        if poll is None:
            raise LabError(404, "no_poll", f"no poll {pid} (the last {self.kept} are kept)",
                           poll=pid)
        return poll

    def current(self):
        """The open poll, else the latest one, else None: what a page shows."""
        if not self.polls:
            return None
        latest = next(reversed(self.polls.values()))
        return self.open_poll() or latest

    def open_poll(self):
        return next((p for p in self.polls.values() if p.open), None)

    def recent(self):
        """Every poll kept, newest first."""
        return list(reversed(self.polls.values()))

    # -- changes ----------------------------------------------------------------------
    def create(self, question, choices, t, connections, lesson=None, step=None):
        """Open a new poll; refused while another is open (close it first: a
        question asked over another's votes would leave both half answered)."""
        question = _text(question, "question", "question")
        if not isinstance(choices, list):
            raise bad("choices must be a list of texts", reason="choices_not_list")
        if not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
            raise bad(f"a poll has {MIN_CHOICES} to {MAX_CHOICES} choices; "
                      f"{len(choices)} given", reason="choices_count",
                      min=MIN_CHOICES, max=MAX_CHOICES)
        for i, choice in enumerate(choices):
            try:
                _text(choice, f"choice {i}", "choice")
            except LabError as exc:
                exc.params["index"] = i
                raise
        if len(set(choices)) != len(choices):
            raise bad("two choices are the same text", reason="choices_repeat")
        lesson, step = _label(lesson, "lesson"), _label(step, "step")
        already = self.open_poll()
        if already is not None:
            raise LabError(409, "poll_open", f"poll {already.id} is still open; close it first",
                           poll=already.id)
        poll = Poll(self.next_id, question, list(choices), t, lesson=lesson, step=step,
                    peak=connections)
        self.next_id += 1
        self.polls[poll.id] = poll
        while len(self.polls) > self.kept:
            del self.polls[next(iter(self.polls))]
        return poll

    def connections(self, count):
        """*count* connections are open now: the open poll's cap follows its peak."""
        poll = self.open_poll()
        if poll is not None:
            poll.peak = max(poll.peak, count)

    def vote(self, pid, voter, choice, connections):
        """*voter* votes *choice* in poll *pid*; True if the counts changed.

        Refused: no such poll (404), not a choice of it (400), closed (409),
        or a new voter beyond the cap (429 ``max_voters``, see the module)."""
        poll = self.get(pid)
        choice = _index(choice, poll)
        if not poll.open:
            raise LabError(409, "poll_closed", f"poll {poll.id} is closed: votes are over",
                           poll=poll.id)
        self.connections(connections)
        if voter not in poll.votes and len(poll.votes) >= poll.peak:
            raise LabError(429, "max_voters",
                           f"poll {poll.id} has as many voters as connections were open "
                           f"({poll.peak})", limit=poll.peak, poll=poll.id)
        if poll.votes.get(voter) == choice:
            return False
        poll.votes[voter] = choice
        return True

    def close(self, pid, t):
        poll = self.get(pid)
        if not poll.open:
            raise LabError(409, "poll_closed", f"poll {poll.id} is already closed",
                           poll=poll.id)
        poll.open = False
        poll.closed_t = t
        return poll

    def reveal(self, pid, answer=None, note=None):
        """Say what really happened: *answer* the index of the choice that came
        true (None: none did, or there is no single one), *note* a sentence."""
        poll = self.get(pid)
        if answer is not None:
            answer = _index(answer, poll)
        if note is not None:
            note = _text(note, "note", "note")
        if poll.open:
            raise LabError(409, "poll_open", f"poll {poll.id} is still open; close it before "
                           "revealing (a reveal during the vote tells the room the answer)",
                           poll=poll.id)
        poll.revealed, poll.answer, poll.note = True, answer, note
        return poll


class TokenBucket:
    """*burst* actions at once, then *rate* per second: ``take(now)`` is True
    when one is allowed now. *now* is the caller's monotonic clock."""

    def __init__(self, burst=VOTE_BURST, rate=VOTE_RATE):
        self.burst = burst
        self.rate = rate
        self.tokens = float(burst)
        self.last = None

    def take(self, now):
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

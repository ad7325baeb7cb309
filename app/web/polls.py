"""The dashboard's polls, wired to connections, the dispatch and the event stream.

``app.model.polls`` decides what a poll is and what may happen to it; this
desk keeps the one ``Polls`` of the dashboard and does the I/O around it:

* **who votes** — each Socket.IO connection is bound, when it connects, to a
  *voter*: the random id its page keeps in ``localStorage`` and sends as
  ``auth={"voter": ...}`` (16–64 of ``A-Z a-z 0-9 _ -``), else the connection's
  own sid. A phone on flaky Wi-Fi reconnects with a new sid but the same id, so
  its vote is replaced, not doubled; the poll's cap (voters ≤ the most
  connections open at once while it was open) bounds what a forged id can add.
  The id never leaves the dashboard: counts carry no names.
* **how fast** — each connection has a token bucket (``TokenBucket``): a burst
  of 5 votes, then 2 a second; beyond, ``429 rate_limited``.
* **who sees what** — ``poll_opened``, ``poll_closed`` and ``poll_revealed``
  go into the one ordered event stream (``Hub.publish``), so every page, and
  ``/api/events``, has them in ``seq`` order with the lab's own events. The live
  counts of an open poll are not in that stream: they go to the presenter's
  connections only, as ``poll_counts {poll, counts, voters}`` (Socket.IO room
  ``presenters``), so the room votes without seeing the bars. A page that
  connects gets ``poll`` (the current poll as this connection may see it, with
  its own vote as ``mine``, and the ``seq`` it is true at) right after its
  snapshot, under the same lock.

Every change happens under the hub's lock, so a new page's snapshot, its
``poll`` message and the events after them agree.
"""

import re
import threading
import time

from app.errors import LabError
from app.lab import events
from app.model.polls import VOTE_BURST, VOTE_RATE, Polls, TokenBucket, poll_id

VOTER_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
PRESENTERS = "presenters"      # the Socket.IO room of presenter connections


def voter_of(auth, sid):
    """The voter a connection votes as: its page's id, else the connection itself."""
    voter = auth.get("voter") if isinstance(auth, dict) else None
    if isinstance(voter, str) and VOTER_ID.fullmatch(voter):
        return "v:" + voter
    return "sid:" + sid


class PollDesk:
    def __init__(self, hub, clock=time.monotonic):
        self.hub = hub
        self.polls = Polls()
        self.clock = clock
        self.voters = {}       # sid -> voter, for every open connection
        self.buckets = {}      # sid -> TokenBucket
        self.lock = hub.cond   # one lock with the event stream (see the module)
        self._buckets_lock = threading.Lock()

    # -- connections (app.web.sockets) ----------------------------------------------
    def connected(self, sid, auth, presenter, emit):
        """A connection opened: bind its voter; *emit(name, data)* sends to it.
        Called after its snapshot, so ``poll`` is as of that snapshot's seq."""
        with self.lock:
            self.voters[sid] = voter_of(auth, sid)
            self.polls.connections(len(self.voters))
            poll = self.polls.current()
            if poll is not None:
                emit("poll", dict(poll.view(presenter, self.voters[sid]),
                                  seq=self.hub.registry.seq))

    def disconnected(self, sid):
        with self.lock:
            self.voters.pop(sid, None)
        with self._buckets_lock:
            self.buckets.pop(sid, None)

    # -- actions (app.web.dispatch) ------------------------------------------------------
    def ask(self, body, caller=None):
        """``POST /api/polls``: open a poll; ``poll_opened`` goes to every page.
        A lesson on the dashboard's side may call it directly (*caller* is not
        used: the dispatch has checked who asks); so ``close`` and ``reveal``."""
        with self.lock:
            poll = self.polls.create(body.get("question"), body.get("choices"), time.time(),
                                     len(self.voters), lesson=body.get("lesson"),
                                     step=body.get("step"))
            extra = {k: v for k, v in (("lesson", poll.lesson), ("step", poll.step))
                     if v is not None}
            self.hub.publish(events.make(events.POLL_OPENED, pid=None, poll=poll.id,
                                         question=poll.question, choices=poll.choices,
                                         **extra))
        return {"id": poll.id}

    def vote(self, body, caller):
        """Socket.IO ``vote {poll, choice}``, from any connection."""
        if not self._allowed(caller.connection):
            raise LabError(429, "rate_limited", f"at most {VOTE_BURST} votes at once, then "
                           f"{VOTE_RATE:g} a second, per connection; wait a moment",
                           limit=VOTE_BURST, rate=VOTE_RATE)
        with self.lock:
            voter = self.voters.get(caller.connection)
            poll = self.polls.get(body.get("poll"))
            changed = self.polls.vote(poll.id, voter, body.get("choice"), len(self.voters))
            if changed:
                self.hub.socketio.emit("poll_counts", {"poll": poll.id,
                                                       "counts": poll.counts(),
                                                       "voters": len(poll.votes)},
                                       to=PRESENTERS)
            return {"poll": poll.id, "choice": poll.votes[voter]}

    def close(self, pid):
        """``POST /api/polls/<poll>/close``: votes end; the counts go to every page."""
        with self.lock:
            poll = self.polls.close(pid, time.time())
            self.hub.publish(events.make(events.POLL_CLOSED, pid=None, poll=poll.id,
                                         counts=poll.counts(), voters=len(poll.votes)))
            return poll.view(True)

    def reveal(self, pid, body=None):
        """``POST /api/polls/<poll>/reveal {choice?, note?}``: what really happened."""
        body = body or {}
        with self.lock:
            poll = self.polls.reveal(pid, body.get("choice"), body.get("note"))
            self.hub.publish(events.make(events.POLL_REVEALED, pid=None, poll=poll.id,
                                         choice=poll.answer, note=poll.note))
            return poll.view(True)

    def get(self, pid, caller):
        with self.lock:
            return self.polls.get(poll_id(pid)).view(caller.presenter)

    def list(self, caller):
        with self.lock:
            return {"polls": [p.view(caller.presenter) for p in self.polls.recent()]}

    # -- rate -------------------------------------------------------------------------
    def _allowed(self, sid):
        """May connection *sid* vote now? Only a live Socket.IO connection has a
        voter (there is no REST vote): anything else is refused here."""
        with self._buckets_lock:
            if sid is None or sid not in self.voters:
                raise LabError(400, "bad_input", "votes come over a Socket.IO connection",
                               reason="no_connection")
            bucket = self.buckets.get(sid)
            if bucket is None:
                bucket = self.buckets[sid] = TokenBucket()
            return bucket.take(self.clock())

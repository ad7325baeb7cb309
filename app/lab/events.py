"""Events: how every lab process tells the dashboard what happened.

Each event is a plain dict put on one ``multiprocessing.Queue``. Two fields are
always there: ``type`` and ``t`` — the reporting process's own ``time.time()``
at the moment it happened. ``pid`` is the process the event is *about*, ``by``
the process that reported it: a child reports itself (``hello``), but only a
parent can see its child exit or reap it, so those events come from the parent.
"""

import contextlib
import multiprocessing
import os
import pickle
import time

from app.lab.mp_internals import ATOMIC_FRAME, FRAME_HEADER, queue_write_atomic, queue_writer_fd
from app.model import schema

# The event types, as constants for the lab's report() calls. Their meaning,
# fields and reporter are in app/model/schema.py EVENTS: event_type() refuses a
# name the schema lacks, and tests/unit/test_schema.py fails on a schema type
# with no constant here.
_type = schema.event_type
CREATED = _type("created")
STARTED = _type("started")
HELLO = _type("hello")
EXITED = _type("exited")
REAPED = _type("reaped")
JOIN_TIMEOUT = _type("join_timeout")
SIGNALLED = _type("signalled")
REPARENTED = _type("reparented")

LISTENING = _type("listening")
ACCEPTED = _type("accepted")
SERVED = _type("served")
CONN_CLOSED = _type("conn_closed")
IDLE_TIMEOUT = _type("idle_timeout")
REFUSED = _type("refused")
CONNECTED = _type("connected")
ECHO = _type("echo")
DISCONNECTED = _type("disconnected")
CLIENT_CLOSED = _type("client_closed")
ERROR = _type("error")
DEMO = _type("demo")

PHASE = _type("phase")
GATE_WAIT = _type("gate_wait")
GATE_PASS = _type("gate_pass")

# the dashboard's own: a poll of the room (app/web/polls.py, through Hub.publish)
POLL_OPENED = _type("poll_opened")
POLL_CLOSED = _type("poll_closed")
POLL_REVEALED = _type("poll_revealed")
FLOODED = _type("flooded")
LESSON_STEP = _type("lesson_step")


def uid(name, parent_name):
    """A lab process's unique id: its multiprocessing name, prefixed by its
    parent's name unless the parent is the dashboard (the main process)."""
    return name if parent_name in (None, "MainProcess") else f"{parent_name}/{name}"


def make(type_, **fields):
    """Build an event reported by this process, stamped with its own clock.
    (``os.getpid()`` is a system call each time: asked once.)"""
    pid = os.getpid()
    event = {"type": type_, "t": time.time(), "by": pid, "pid": pid}
    event.update(fields)
    return event


MAX_DATA = ATOMIC_FRAME - FRAME_HEADER  # pickled bytes one atomic frame carries


class Reporter:
    """Writes events to the lab's queue; one per process.

    Synchronously: the event is pickled and written to the queue's pipe in
    this thread, so it is in the pipe when the call returns. ``Queue.put``
    would start a feeder thread in every short-lived worker and join it at
    exit — a thread per connection, and the GIL handed back and forth per event.

    Every write is one frame of at most ``PIPE_BUF`` bytes, which the kernel
    writes atomically, so no cross-process lock is taken
    (``mp_internals.queue_write_atomic``). A lab process may be terminated or
    killed at any instant — that is what the page's buttons do — and one that
    died holding the queue's write lock would block every other reporter, and
    so the whole lab, forever. A batch too large for one frame is split; an
    event too large (a 64 KiB message echoed) has its longest text fields cut
    to fit, and names them in ``cut``.

    Inside ``with report.batched():`` events are collected and written as one
    queue item, a list, when the block ends (the hub applies them in order,
    each with its own ``t``): the server's accept makes four or five events
    within a millisecond, and each write costs a pickle and a system call.
    """

    def __init__(self, queue):
        self.queue = queue
        self.pending = None
        self.pending_pid = None  # a child forked inside a batch must not inherit it
        self.depth = 0           # batches opened inside the outer one
        self.fd = None           # the queue's write end, looked up on the first write
        # one object, made once: a with-block costs no allocation (a
        # ``contextlib.contextmanager`` makes a generator, its wrapper and a
        # StopIteration each time — in a forking server, writes to pages the
        # live workers share: copy-on-write faults, per connection)
        self.batch = Batch(self)

    def __getstate__(self):  # spawn / forkserver children get a fresh reporter
        return {"queue": self.queue}

    def __setstate__(self, state):
        self.__init__(state["queue"])

    def __call__(self, type_, **fields):
        event = make(type_, **fields)
        if self.pending is not None and self.pending_pid == os.getpid():
            self.pending.append(event)
        else:
            self.put(event)

    def _batching(self):
        """Inside a batch of this process (a forked child copied the parent's)."""
        return self.pending is not None and self.pending_pid == os.getpid()

    def batched(self):
        """``with report.batched():`` writes the events reported inside the
        block as one queue item (nested blocks: the outer one writes)."""
        return self.batch

    def flush(self):
        """Inside a batch: write what it holds now, and go on batching. A
        process about to wait at a gate must not keep back what led there
        (the server's ``accepted`` before it stops at ``accept``)."""
        if self._batching() and self.pending:
            pending, self.pending = self.pending, []
            self.put(pending if len(pending) > 1 else pending[0])

    @contextlib.contextmanager
    def paused(self):
        """Inside a batch: write what it holds now, then write each event as
        it comes until the block ends. A process that waits at a gate inside
        a batch (the server inside its accept) reports what happens meanwhile
        — workers exiting, signalled, joined — as it happens."""
        if not self._batching():
            yield
            return
        self.flush()
        pid, depth = self.pending_pid, self.depth
        self.pending = self.pending_pid = None
        self.depth = 0
        try:
            yield
        finally:
            self.pending, self.pending_pid, self.depth = [], pid, depth

    def put(self, item):
        """Write an event, or a list of events, as atomic frames. Events are
        plain data: ``pickle.dumps`` does (ForkingPickler would copy its reducer
        table on every call, in a process whose every touched page is a copy).
        The queue's write end is looked up once: a lab process never closes
        its event queue, and ``Connection.fileno()`` is two Python calls."""
        if self.fd is None:
            self.fd = queue_writer_fd(self.queue)
        data = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
        for frame in ((data,) if len(data) <= MAX_DATA else frames(item)):
            written = queue_write_atomic(self.queue, frame, self.fd)
            assert written, "frames() makes every frame fit one atomic write"

    def hello(self, role, name, daemon, at=None, uid_=None):
        """The tutorial's ``print(os.getppid(), os.getpid())``, made visible.
        *at*: the first point it reaches, as a ``phase`` in the same write;
        *uid_*: its uid, when its parent worked it out already (a forked
        worker: ``Children.start``), or it is not made from its name (a
        puzzle's)."""
        if uid_ is None:
            parent = multiprocessing.parent_process()
            uid_ = uid(name, parent.name if parent else None)
        fields = {"pid": os.getpid(), "ppid": os.getppid(), "role": role, "name": name,
                  "daemon": daemon, "uid": uid_}
        if at is None:
            self(HELLO, **fields)
        else:
            self.put([make(HELLO, **fields), make(PHASE, at=at)])


CUT_MIN = 32                           # a cut text keeps at least this many characters


def _dumps(item):
    return pickle.dumps(item, pickle.HIGHEST_PROTOCOL)


class Batch:
    """``Reporter.batched()``'s context manager: the outermost block of this
    process collects, and writes what it collected when it ends."""

    __slots__ = ("report",)

    def __init__(self, report):
        self.report = report

    def __enter__(self):
        r = self.report
        if r.pending is not None and r.pending_pid == os.getpid():
            r.depth += 1  # already batching: the outer block writes
        else:
            r.pending, r.pending_pid, r.depth = [], os.getpid(), 0

    def __exit__(self, *exc):
        r = self.report
        if r.depth:
            r.depth -= 1
            return
        pending, r.pending, r.pending_pid = r.pending, None, None
        if pending:
            r.put(pending if len(pending) > 1 else pending[0])


def frames(item):
    """The pickled frames for an event or a list of events, each at most
    ``MAX_DATA`` bytes: a list that does not fit is halved (order kept: the hub
    flattens lists), an event that does not fit alone is cut (``cut_to_fit``)."""
    data = _dumps(item)
    if len(data) <= MAX_DATA:
        return [data]
    if isinstance(item, list):
        if len(item) == 1:
            return frames(item[0])
        half = len(item) // 2
        return frames(item[:half]) + frames(item[half:])
    return [_dumps(cut_to_fit(item))]


def cut_to_fit(event):
    """A copy of *event* whose longest text fields are halved, again and again,
    until it pickles into one frame; the fields cut are listed in ``cut``."""
    event, cut = dict(event), []
    while len(_dumps(event)) > MAX_DATA:
        texts = [(len(v), k) for k, v in event.items()
                 if isinstance(v, str) and len(v) > CUT_MIN and k != "type"]
        if not texts:
            raise ValueError(f"{event.get('type')} event cannot be cut to one frame")
        _, key = max(texts)
        event[key] = event[key][:max(CUT_MIN, len(event[key]) // 2)] + "…"
        if key not in cut:
            cut.append(key)
        event["cut"] = cut
    return event

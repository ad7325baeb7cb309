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

from app.lab.mp_internals import queue_write_bytes
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


def uid(name, parent_name):
    """A lab process's unique id: its multiprocessing name, prefixed by its
    parent's name unless the parent is the dashboard (the main process)."""
    return name if parent_name in (None, "MainProcess") else f"{parent_name}/{name}"


def make(type_, **fields):
    """Build an event reported by this process, stamped with its own clock."""
    event = {"type": type_, "t": time.time(), "by": os.getpid()}
    event.setdefault("pid", os.getpid())
    event.update(fields)
    return event


class Reporter:
    """Writes events to the lab's queue; one per process.

    Synchronously: the event is pickled and written to the queue's pipe under
    the queue's own lock (what ``Queue.put``'s feeder thread would do a moment
    later), so it is in the pipe when the call returns. ``Queue.put`` would
    start a feeder thread in every short-lived worker and join it at exit — a
    thread per connection, and the GIL handed back and forth per event.

    Inside ``with report.batched():`` events are collected and written as one
    queue item, a list, when the block ends (the hub applies them in order,
    each with its own ``t``): the server's accept makes four or five events
    within a millisecond, and each write costs a pickle, two semaphores and a
    system call.
    """

    def __init__(self, queue):
        self.queue = queue
        self.pending = None
        self.pending_pid = None  # a child forked inside a batch must not inherit it

    def __getstate__(self):  # spawn / forkserver children get a fresh reporter
        return {"queue": self.queue, "pending": None, "pending_pid": None}

    def __call__(self, type_, **fields):
        event = make(type_, **fields)
        if self._batching():
            self.pending.append(event)
        else:
            self.put(event)

    def _batching(self):
        """Inside a batch of this process (a forked child copied the parent's)."""
        return self.pending is not None and self.pending_pid == os.getpid()

    @contextlib.contextmanager
    def batched(self):
        """Write the events reported inside the block as one queue item."""
        if self._batching():
            yield  # already batching: the outer block writes
            return
        self.pending, self.pending_pid = [], os.getpid()
        try:
            yield
        finally:
            pending, self.pending, self.pending_pid = self.pending, None, None
            if pending:
                self.put(pending if len(pending) > 1 else pending[0])

    def put(self, item):
        """``Queue.put`` and its feeder thread's write, in this thread. Events are
        plain data: ``pickle.dumps`` does (ForkingPickler would copy its reducer
        table on every call, in a process whose every touched page is a copy)."""
        queue_write_bytes(self.queue, pickle.dumps(item, pickle.HIGHEST_PROTOCOL))

    def hello(self, role, name, daemon):
        """The tutorial's ``print(os.getppid(), os.getpid())``, made visible."""
        parent = multiprocessing.parent_process()
        self(HELLO, pid=os.getpid(), ppid=os.getppid(), role=role, name=name,
             daemon=daemon, uid=uid(name, parent.name if parent else None))

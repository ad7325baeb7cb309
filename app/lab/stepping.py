"""Gates: real lab processes paused at the tutorial's teaching moments.

A **point** is a line of the tutorial's code a process is about to run
(``app.model.schema.POINTS``: the server's ``accept`` and ``start``, the
worker's ``recv``, ``send`` and ``close``, the client's ``send`` and ``recv``,
everyone's ``exit``). A process calls ``Stepper.reach(point)`` just before
that line. What happens there depends on the lab's **step mode**:

* ``run`` — nothing stops. The point is remembered and reported as a
  ``phase`` event, coalesced: at most one per ``COALESCE`` seconds per
  process, carrying the latest point, sent by the process's own loop when
  it is due (``due()``; the worker: with its ``served`` timer, and only once
  its rounds have settled: a point that changes every few microseconds says
  nothing on a projector);
* ``step`` — at an enabled gate the process stops **for real**: it reports
  ``gate_wait``, then blocks reading its own command channel until a
  ``release`` names this very wait (gate and ``since``); other points are
  reported at once;
* ``slow`` — the same, but each gate passes by itself after ``delay_ms``.

While it waits, a process still does its other jobs: the wait is a loop over
its command channel (``wait(timeout)``, given by each role) that serves every
other op — the server's loop without its listening socket, so it still
terminates, kills and joins other workers, relays to them and stops; the
worker's channel read by its main thread (``wakeup.SignalledChannel.hold``);
the client's channel and its parent's sentinel. It passes with ``how``:
``step`` (released), ``slow`` (delay_ms passed), ``run`` (the mode changed or
the gate was switched off) or ``stop`` (its channel closed, its parent died,
or it was told to stop). A process terminated or killed while it waits dies
as any other: nothing is held but its own channel.

**The shared word.** The mode, the enabled gates and the delay live in one
64-bit word of shared memory (``StepControl``, a ``RawArray``): the dashboard
writes it, every lab process reads it with one load at each point. A forked
child inherits the mapping (it survives ``forking.release_inherited_fds``: a
mapping is not a descriptor); a spawned or forkserver child gets it pickled
with its arguments (multiprocessing passes the arena's descriptor). When the
dashboard changes it, it also sends ``wake`` to every process that might
wait (the server forwards it to its workers), so a waiting process re-reads
the word at once; a wait re-reads it every ``RECHECK`` seconds anyway, so a
lost wake delays a release, it never loses one.

**Cost in run mode** (what the benchmarks compare with the tutorial's
server): per point, an attribute load, one index into the shared array, a bit
test and an attribute store; a one-message connection's set-up writes no
extra event and makes no extra system call (the worker's first ``phase``
travels in the write of its ``hello``, its last in that of ``conn_closed``).
A chatty connection's round checks the word once (``worker.chatter``). The
gates alone cost a set-up +3–7 % CPU (``bench/setup_cost.py``): a forked
worker writes to every page of a shared Python object it touches — here the
new code it runs — and each write is a copy-on-write fault (+27 per worker),
so closures, context managers and module globals written per worker were
removed. With the set-up path cut since, the lab with its gates costs less
than the lab had before them (against ``f1d1c7b``, on one quiet machine:
3,420 → 3,225 µs per set-up; on one CPU, worker CPU per round trip
7.3 → 6.7 µs at 10 connections, 12.1 → 8.4 µs at 50: ``bench/round_cost.py``).
"""

import ctypes
import multiprocessing
import time

from app.lab import events
from app.model import schema

MODES = {name: number for number, name in enumerate(schema.STEP_MODES)}  # run is 0
RUN, STEP, SLOW = MODES["run"], MODES["step"], MODES["slow"]
MODE_MASK = 0b11
GATE_SHIFT = 8                     # bits 8..15: one per gate, in schema.GATES order
DELAY_SHIFT = 16                   # bits 16..31: delay_ms
GATE_BITS = {gate: 1 << (GATE_SHIFT + i) for i, gate in enumerate(schema.GATES)}
DELAY_MIN, DELAY_MAX = 100, 5000   # ms, slow mode
DEFAULT_DELAY = 1000
COALESCE = schema.PHASE_EVERY       # run mode: at most one phase per process this often
RECHECK = 0.5                      # a waiting process re-reads the word this often

# the points, by name (app.model.schema.POINTS has their meaning and roles)
ACCEPTING, ACCEPT, START = "accepting", "accept", "start"      # server
RECV, SEND, CLOSE = "recv", "send", "close"                    # worker (client: send, recv)
INPUT = "input"                                                # client
EXIT = "exit"                                                  # everyone
assert {ACCEPTING, ACCEPT, START, RECV, SEND, CLOSE, INPUT, EXIT} == {
    point for points in schema.POINTS.values() for point in points}

# what a role's wait(timeout) returns besides None (nothing decisive happened)
RELEASED = "released"
STOPPED = "stopped"


def encode(mode, delay_ms, gates):
    word = MODES[mode] | (delay_ms << DELAY_SHIFT)
    for gate in gates:
        word |= GATE_BITS[gate]
    return word


def decode(word):
    """``{"mode", "delay_ms", "gates"}`` of a word (gates in schema order)."""
    return {"mode": schema.STEP_MODES[word & MODE_MASK],
            "delay_ms": (word >> DELAY_SHIFT) & 0xFFFF,
            "gates": [gate for gate, bit in GATE_BITS.items() if word & bit]}


class StepControl:
    """The shared word, made by the dashboard and handed to every lab process
    (pass it in a ``Process``'s arguments: it pickles only while spawning)."""

    def __init__(self, mode="run", delay_ms=DEFAULT_DELAY, gates=schema.GATES):
        self.array = multiprocessing.RawArray(ctypes.c_uint64, 1)
        self.set(mode, delay_ms, gates)

    def set(self, mode, delay_ms, gates):
        """One aligned 64-bit store: a reader sees the old word or the new one."""
        self.array[0] = encode(mode, delay_ms, gates)

    def get(self):
        return decode(self.array[0])


class Stepper:
    """One lab process's points and gates (one per process: ``current``).

    *wait(timeout)* blocks on the process's own command channel for at most
    *timeout* seconds and returns ``RELEASED`` (a ``release`` for this wait
    was served: ``release()`` was called), ``STOPPED`` (it can wait no more)
    or None. *before_wait* / *after_wait* run around a wait (the worker
    reports the rounds it served, and its idle clock stops meanwhile)."""

    def __init__(self, control, report, wait=None, holder=None):
        """*holder*, if any, has ``hold()`` and ``go_on()``, called around a
        wait (the worker's ``Served``: it reports the rounds it served first,
        and its idle clock stops meanwhile). Run mode calls nothing but
        ``reach``: in a forked worker each function called for the first time
        is a copy-on-write page fault (no closures, no context managers)."""
        # without a control (a unit test's talk()) the word is a list: always run
        self.word = control.array if control is not None else [0]
        self.report = report
        self.wait = wait
        self.holder = holder
        self.at = None          # the latest point reached
        self.reported = None    # the latest point the dashboard was told of
        self.last = 0.0         # monotonic time of the last phase report
        self.gate = None        # the gate it waits at now
        self.since = None       # that wait's gate_wait t (a release must name it)
        self.released = False

    def begin(self, point, **hello):
        """Report the process's ``hello``, then reach its first *point*: in
        run mode both go in one write (``Reporter.hello(at=...)``)."""
        if not self.word[0] & MODE_MASK:
            self.at = self.reported = point
            self.report.hello(at=point, **hello)
            return None
        self.report.hello(**hello)
        return self.reach(point)

    def end(self, type_, **fields):
        """Report *type_* (the worker's ``conn_closed``), then reach ``exit``:
        in run mode both go in one write."""
        if not self.word[0] & MODE_MASK:
            self.at = self.reported = EXIT
            self.report.put([events.make(type_, **fields), events.make(events.PHASE, at=EXIT)])
            return None
        self.report(type_, **fields)
        return self.reach(EXIT)

    # -- at a point --------------------------------------------------------------
    def reach(self, point, peer=None):
        """The process is about to run *point*: remember it; in step or slow
        mode report it, and wait if it is an enabled gate. Returns how a gate
        was passed, or None."""
        word = self.word[0]
        if not word & MODE_MASK:
            self.at = point   # run: the phase goes out when due()
            return None
        return self._stepped(word, point, peer)

    def stepping(self):
        """The lab is in step or slow mode (a reply may take as long as the
        teacher likes: the client waits for it without its usual timeout)."""
        return bool(self.word[0] & MODE_MASK)

    def _stepped(self, word, point, peer):
        self.at = point
        bit = GATE_BITS.get(point)
        if bit is None or not word & bit:
            if point != self.reported:   # the server passes "accepting" every loop
                self.flush_phase()
            return None
        return self._hold(point, bit, peer)

    def _hold(self, gate, bit, peer):
        global current
        current = self        # the worker's release op finds it here
        self.reported = gate  # gate_wait sets P's "at" too: no phase of its own
        if self.holder is not None:
            self.holder.hold()
        # what led here goes out first (the server's accept batch), and what
        # happens while it waits goes out as it happens
        with self.report.paused():
            fields = {"gate": gate} if peer is None else {"gate": gate, "peer": list(peer)}
            event = events.make(events.GATE_WAIT, **fields)
            self.gate, self.since, self.released = gate, event["t"], False
            self.report.put(event)
            began = time.monotonic()
            try:
                how = self._wait_until_passed(bit, began)
            finally:
                self.gate = self.since = None
            self.report(events.GATE_PASS, gate=gate, how=how)
        self.last = time.monotonic()
        if self.holder is not None:
            self.holder.go_on()
        return how

    def _wait_until_passed(self, bit, began):
        while True:
            word = self.word[0]
            mode = word & MODE_MASK
            if mode == RUN or not word & bit:
                return "run"
            timeout = RECHECK
            if mode == SLOW:
                left = began + ((word >> DELAY_SHIFT) & 0xFFFF) / 1000 - time.monotonic()
                if left <= 0:
                    return "slow"
                timeout = min(left, RECHECK)
            got = STOPPED if self.wait is None else self.wait(timeout)
            if self.released or got == RELEASED:
                return "step"
            if got == STOPPED:
                return "stop"

    def release(self, request):
        """A ``release`` op: pass the gate it names, if this process waits
        there now (a stale release — the gate passed by itself meanwhile —
        must not release the next one). True if it did."""
        if self.gate is None:
            return False
        if request.get("gate") not in (None, self.gate):
            return False
        if request.get("since") not in (None, self.since):
            return False
        self.released = True
        return True

    # -- run mode: coalesced phases ------------------------------------------------
    def pending(self):
        return self.at is not self.reported and self.at != self.reported

    def due(self):
        """Run mode: send the pending phase if its window has passed; seconds
        until it is due otherwise, None when nothing is pending."""
        if not self.pending():
            return None
        left = self.last + COALESCE - time.monotonic()
        if left <= 0:
            self.flush_phase()
            return None
        return left

    def flush_phase(self):
        """Report the latest point now, if the dashboard has not heard it."""
        if self.pending():
            at = self.at
            self.report(events.PHASE, at=at)
            self.reported = at
            self.last = time.monotonic()


current = None   # this process's Stepper


def release_current(request):
    """A worker's ``release`` op (its table is shared by every forked worker):
    the gate this process waits at, if any. No reply: it is a notification."""
    if current is not None:
        current.release(request)


def ignore(_request):
    """A ``wake`` op outside a wait: nothing to do, nothing to answer."""

"""A worker's command channel, answered from a signal while it blocks in recv().

The worker is the tutorial's ``talk()``: it spends its life blocked in
``conn.recv(1024)``. To answer ``ping`` there it must be woken by its channel.
Three ways were weighed:

* a **thread** blocked on the channel: a thread start (and its stack) per
  connection, the very cost ``Watchdog`` avoids for one-message connections;
* **poll** on the connection and the channel: one more system call per round
  trip, on the path the benchmark compares with the tutorial's server;
* a **signal** (chosen): the channel is put in async mode (``O_ASYNC``), its
  signal directed at the main thread (``F_SETOWN_EX``, the thread blocked in
  ``recv()``: CPython runs Python handlers only there, so a SIGIO delivered
  to the watchdog thread would wait for the next message). When a request
  arrives the kernel sends SIGIO, ``recv()`` fails with EINTR, CPython runs
  the handler — which answers on the channel and touches nothing else — and
  retries ``recv()`` (PEP 475). Nothing per round trip, nothing while idle.

Set-up cost. A forked worker (the default) does nothing at all: its parent
arms the channel for it (below). A spawned or forkserver worker, a fresh
interpreter, arms it itself with ``start()``: five system calls
(``sigaction``, two ``fcntl``, two zero-timeout ``poll``), next to the
milliseconds of its interpreter's start. Measured with
``bench/setup_cost.py`` (connect, one echo, close; the server's and its
workers' CPU; ABBA against main, 6 runs of 1,000, fork, load 0.6–2.3):
2,870 → 2,995 µs per set-up (+4.4 %; server +50, workers +75). Copy-on-write
page faults explain about half (per set-up: server +11, workers +14 — most
of the workers' share is there without the channel too: the calls into the
new modules, each a first touch of shared pages in a fresh fork); the rest
was at the noise level of the variants measured (server-side pair made,
armed and closed without handing it down: +25 µs; handing it down: +38 µs).

Two consequences, both harmless here: a kernel receive timeout
(``SO_RCVTIMEO``) starts again after the retried ``recv()``, so a ping delays
an idle connection's close by at most the time it had already waited; and the
handler never reports an event or takes a lock the interrupted code may hold
(``Served.lock``, the event queue's lock): it could deadlock on its own thread.

Gates (a worker held at a point of the tutorial's code until released,
``app.lab.stepping``) use ``hold()``: the main thread then serves the channel
itself, blocking on it until a ``release`` op says go, with the handler out
of its way; afterwards ``answer_pending()`` serves what came in between.
"""

import fcntl
import select
import signal
import struct
import threading
from contextlib import contextmanager
from multiprocessing.connection import Connection

from app.lab.commands import serve_one

# <fcntl.h> (Linux), not exported by Python's fcntl module
F_SETOWN_EX = 15
F_OWNER_TID = 0


def signal_thread(conn, tid):
    """*conn* (or a bare descriptor) raises SIGIO in thread *tid* when it has
    something to read."""
    fd = conn if isinstance(conn, int) else conn.fileno()
    fcntl.fcntl(fd, F_SETOWN_EX, struct.pack("ii", F_OWNER_TID, tid))
    # a Pipe() connection has no other status flag to keep (it is blocking):
    # no F_GETFL first, one system call less
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.FASYNC)


class SignalledChannel:
    """Answers requests on *conn* by *ops* whenever the kernel says one came."""

    def __init__(self, conn, ops):
        """*conn*: a ``Connection``, or the bare descriptor a forked worker
        was handed (made a ``Connection`` here, on the first request)."""
        self.conn = Connection(conn) if isinstance(conn, int) else conn
        self.ops = ops
        self.busy = False       # the channel is being read: a nested handler leaves it
        self.closed = False
        self.poller = None

    def pending(self):
        """A request (or EOF) is waiting on the channel. (``conn.poll(0)``
        builds and closes a selector per call, 3 µs; this is one poll(), 0.4.)"""
        if self.poller is None:
            self.poller = select.poll()
            self.poller.register(self.conn.fileno(), select.POLLIN)
        return bool(self.poller.poll(0))

    def start(self):
        """Handler first (SIGIO's default action kills), then async mode."""
        signal.signal(signal.SIGIO, self.on_signal)
        signal_thread(self.conn, threading.get_native_id())
        self.answer_pending()  # a request that came before O_ASYNC raised no signal

    def on_signal(self, signum, frame):
        if not self.busy and not self.closed:
            self.answer_pending()

    def answer_pending(self):
        """Serve every request waiting on the channel. A request that comes
        while we read raises a signal whose handler returns at once (busy):
        the last ``poll`` after ``busy`` is cleared picks it up."""
        while not self.closed:
            self.busy = True
            try:
                while self.pending():
                    if serve_one(self.conn, self.ops) is None:
                        self.stop()  # our parent is gone: nobody will ask again
                        return
            except (EOFError, OSError):
                self.stop()
                return
            finally:
                self.busy = False
            if not self.pending():
                return

    @contextmanager
    def hold(self):
        """The main thread uses the channel itself (a gate, next): no handler."""
        self.busy = True
        try:
            yield self.conn
        finally:
            self.busy = False

    def stop(self):
        """No more signals: after EOF the channel would stay readable."""
        self.closed = True
        try:
            fcntl.fcntl(self.conn.fileno(), fcntl.F_SETFL, 0)
        except OSError:
            pass


# -- forked workers: armed by their parent, at no cost to them -----------------------
#
# A forked worker inherits its parent's memory and signal handlers. So the
# server installs the SIGIO handler once, in itself; names the channel it is
# about to hand down just before the fork (``hand_down``), and once the child
# exists puts that channel in async mode, owned by the child's one thread —
# whose id is the child's pid (``arm``). The child itself does nothing at all:
# a set-up costs it no system call and touches none of this module's objects,
# each of which is a copy-on-write page fault in a forked child (measured:
# 20 page faults, ~60 µs, per connection when the worker did it itself).
# A spawned or forkserver worker is a fresh interpreter: it uses start().

_handed_down = None     # (conn, ops) for the child about to be forked
_channel = None         # this forked worker's SignalledChannel, made on first use


def install_inherited_handler():
    """In a parent that forks workers, once: the handler its children inherit.
    The parent never raises SIGIO itself (it puts no channel of its own in
    async mode), so in the parent the handler never runs."""
    signal.signal(signal.SIGIO, _on_inherited_signal)


def hand_down(conn, ops):
    """Just before forking the worker that gets *conn*."""
    global _handed_down
    _handed_down = (conn, ops)


def arm(conn, pid):
    """Just after: the forked child *pid* (its only thread's id) gets SIGIO."""
    global _handed_down
    _handed_down = None
    signal_thread(conn, pid)


def handed_down(conn):
    """In the child: was *conn* armed by the parent (nothing left to do)?"""
    return _handed_down is not None and _handed_down[0] == conn


def inherited_channel():
    """In a forked worker: its channel's ``SignalledChannel``, made on first
    use (a gate's wait, or the first signal); None if it was handed none."""
    global _channel
    if _channel is None and _handed_down is not None:
        _channel = SignalledChannel(*_handed_down)
    return _channel


def _on_inherited_signal(signum, frame):
    channel = inherited_channel()
    if channel is not None:
        channel.on_signal(signum, frame)

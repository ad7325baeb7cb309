"""The server's ends of its workers' command channels, and relays in flight.

A worker's channel belongs to its parent, the echo server; the dashboard
reaches a worker by asking the server to ``relay`` a request. The server's
accept loop must never wait for a worker (a worker may be stopped, stuck, or
slow to start): a relay sends the request and returns at once, the worker's
channel joins the loop's poll set while an answer is due, and the reply goes
back to the dashboard — with the dashboard's own request id — when it comes,
or as ``no_answer`` once ``RELAY_TIMEOUT`` has passed, or as ``gone`` if the
worker exits first.
"""

import itertools
import os
import socket
import time
from multiprocessing import Pipe
from multiprocessing.connection import Connection

from app.lab import commands, wakeup

RELAY_TIMEOUT = 2.0   # the dashboard waits longer (STOP_TIMEOUT): it gets our answer
MAX_IN_FLIGHT = 4     # per worker: a stopped worker's channel never fills up


class WorkerLines:
    def __init__(self, reply, forked_ops=None):
        """*reply(message)* sends a finished relay's reply to the dashboard.
        *forked_ops*: workers are forked, and answer by this op table on a
        channel armed here (``app.lab.wakeup``: nothing to do in the child)."""
        self.reply = reply
        self.forked_ops = forked_ops
        if forked_ops is not None:
            wakeup.install_inherited_handler()
        self.lines = {}         # worker pid -> our end of its channel
        self.in_flight = {}     # worker pid -> {inner id: (outer id, deadline)}
        self.ids = itertools.count(1)

    def pair(self):
        """(ours, the worker's), made just before the worker is started.

        For a forked worker, two bare descriptors of a socketpair: a
        ``Connection`` is made of one only when a request goes over it. In a
        forking server every object made or freed per connection writes to
        pages the live child shares — a copy-on-write fault each (with two
        ``Connection`` objects per set-up: ~30 more faults in the server than
        main). A spawned or forkserver worker gets a ``Connection``, which
        multiprocessing's reduction pickles for it."""
        if self.forked_ops is None:
            return Pipe()
        a, b = socket.socketpair()
        ours, theirs = a.detach(), b.detach()
        wakeup.hand_down(theirs, self.forked_ops)
        return ours, theirs

    def add(self, pid, ours, theirs):
        """The worker *pid* was started with *theirs*: arm it (forked), close
        our copy of it, keep *ours*."""
        if self.forked_ops is not None:
            wakeup.arm(theirs, pid)
            os.close(theirs)
        else:
            theirs.close()
        self.lines[pid] = ours

    def _conn(self, pid):
        line = self.lines.get(pid)
        if isinstance(line, int):
            line = self.lines[pid] = Connection(line)
        return line

    def close(self, pid):
        """The worker was reaped: its channel goes, relays to it fail."""
        line = self.lines.pop(pid, None)
        if isinstance(line, int):
            os.close(line)
        elif line is not None:
            line.close()
        self._fail_all(pid, commands.GONE, "the worker has exited")

    def relay(self, request):
        """The ``relay`` op: send ``request["request"]`` to worker ``request["pid"]``.
        Returns None (the reply comes later) or a refusal now."""
        pid = request.get("pid")
        conn = self._conn(pid)
        if conn is None:
            return commands.refused(commands.NOT_FOUND, "not a worker of this server")
        waiting = self.in_flight.setdefault(pid, {})
        if len(waiting) >= MAX_IN_FLIGHT:
            return commands.refused(commands.BUSY, "too many requests to this worker")
        inner = dict(request.get("request") or {}, id=next(self.ids))
        try:
            conn.send(inner)
        except OSError:
            return commands.refused(commands.GONE, "the worker has exited")
        waiting[inner["id"]] = (request.get("id"), time.monotonic() + RELAY_TIMEOUT)
        return None

    def notify(self, pid, message):
        """Send *message* to worker *pid* with no reply awaited (``release``,
        ``wake``: the worker answers neither). False if it has no channel."""
        conn = self._conn(pid)
        if conn is None:
            return False
        try:
            conn.send(message)
        except OSError:
            return False  # it has exited: its exit is on its way
        return True

    def broadcast(self, message):
        """*message* to every worker (``wake``: a forked worker makes its
        channel object only now, in its signal handler)."""
        for pid in list(self.lines):
            self.notify(pid, message)

    # -- the loop's side ------------------------------------------------------------
    def awaited(self):
        """fd -> pid of the channels an answer is due on (none, most of the time)."""
        return {self._conn(pid).fileno(): pid for pid, waiting in self.in_flight.items()
                if waiting and pid in self.lines}

    def timeout(self):
        """Seconds until the next relay expires; None if none is in flight."""
        deadlines = [d for waiting in self.in_flight.values() for _, d in waiting.values()]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def readable(self, pid):
        """The worker answered (or its end closed): pass the replies on."""
        conn, waiting = self._conn(pid), self.in_flight.get(pid, {})
        try:
            while waiting and conn.poll(0):
                answer = conn.recv()
                outer = waiting.pop(answer.get("id"), None)
                if outer is not None:
                    self.reply(dict(answer, id=outer[0]))
        except (EOFError, OSError):
            self._fail_all(pid, commands.GONE, "the worker has exited")

    def expire(self):
        now = time.monotonic()
        for waiting in self.in_flight.values():
            for inner, (outer, deadline) in list(waiting.items()):
                if deadline <= now:
                    del waiting[inner]
                    self.reply(dict(commands.refused(
                        commands.NO_ANSWER, f"the worker did not answer in "
                                            f"{RELAY_TIMEOUT:g} s"), id=outer))

    def _fail_all(self, pid, code, error):
        for outer, _deadline in self.in_flight.pop(pid, {}).values():
            self.reply(dict(commands.refused(code, error), id=outer))

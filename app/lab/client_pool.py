"""The dashboard's clients: client processes it started, and their pipes.

Each client is a child of the dashboard, connected to the echo server; the
dashboard drives it over its command channel (``send``, ``close``, ``ping``).
A client's pipe goes when the client is reaped.
"""

import itertools
import threading
from multiprocessing import Pipe

from app.errors import LabError
from app.lab import commands
from app.lab.channel import Channel
from app.lab.client import REPLY_TIMEOUT, run_client
from app.lab.forking import LabProcess

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
# while the lab steps a reply waits for the teacher (the worker may be held at
# a gate): the dashboard waits this long for it, not REPLY_TIMEOUT
STEPPED_REPLY_TIMEOUT = 600.0


class ClientPool:
    def __init__(self, queue, children, lock, wake, step=None):
        self.queue = queue
        self.children = children
        self.lock = lock
        self.wake = wake
        self.step = step  # the lab's stepping.StepControl, handed to each client
        self.channels = {}              # pid -> Channel
        self.numbers = itertools.count(1)

    def __contains__(self, pid):
        return pid in self.channels

    def spawn(self, count, echo_address):
        started = []
        with self.lock:
            if echo_address is None:
                raise LabError(409, "server_down", "the echo server is not running")
            for _ in range(count):
                ours, theirs = Pipe()
                name = f"client-{next(self.numbers)}"
                proc = LabProcess(target=run_client, name=name, fds=(theirs, self.queue),
                                  args=(echo_address, self.queue, theirs, self.step))
                self.children.start(proc, role="client")
                theirs.close()
                self.channels[proc.pid] = Channel(ours)
                started.append(proc.pid)
            self.wake()
        for pid in started:  # outside the lock: each connects on its own
            try:
                self.channels[pid].first_message(READY_TIMEOUT)
            except (EOFError, OSError, LabError, KeyError):
                pass  # its exit and error event tell the story
        return started

    def channel(self, pid):
        channel = self.channels.get(pid)
        if channel is None:
            raise LabError(404, "not_client", "no such client", pid=pid)
        return channel

    def call(self, pid, request, timeout=STOP_TIMEOUT):
        return self.channel(pid).call(request, timeout)

    def send_text(self, pid, text, stepping=False):
        """*stepping*: the lab is in step or slow mode, the reply may take long."""
        timeout = STEPPED_REPLY_TIMEOUT if stepping else REPLY_TIMEOUT + 2
        return self.call(pid, {"op": commands.SEND, "text": text}, timeout)

    def flood(self, pids, seconds, text):
        """Clients *pids* send *text* back to back for *seconds*, all at once
        (one thread per client waits for its reply): ``{pid: reply}``."""
        replies = {}

        def one(pid):
            try:
                replies[pid] = self.call(pid, {"op": commands.FLOOD, "seconds": seconds,
                                               "text": text}, seconds + STOP_TIMEOUT)
            except LabError as exc:
                replies[pid] = {"ok": False, "code": exc.code, "error": exc.message}

        threads = [threading.Thread(target=one, args=(pid,), name=f"flood-{pid}")
                   for pid in pids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return replies

    def notify(self, pid, msg):
        """A notification to client *pid* (``release``, ``wake``): no reply."""
        self.channel(pid).notify(msg)

    def notify_all(self, msg):
        for pid in list(self.channels):
            try:
                self.channels[pid].notify(msg)
            except (LabError, KeyError):
                pass  # it has exited (or was reaped meanwhile): nothing to wake

    def close(self, pid):
        return self.call(pid, {"op": commands.CLOSE})

    def forget(self, pid):
        """A client was reaped (by join or implicitly): its pipe goes too."""
        channel = self.channels.pop(pid, None)
        if channel is not None:
            channel.close()

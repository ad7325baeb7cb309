"""The dashboard's handle on the echo server: its process and its channel.

The dashboard is the server's parent. It starts the server with ``spawn`` (a
fresh interpreter that imports only ``app.lab``), waits for it to say it is
listening, talks to it over one ``Channel``, and stops it by asking — the
server then stops its own workers — before joining it.
"""

import itertools
from multiprocessing import Pipe
from multiprocessing.connection import wait

from app.errors import LabError
from app.lab import commands
from app.lab.channel import Channel
from app.lab.echo_server import run_server
from app.lab.forking import LabProcess

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class ServerHandle:
    def __init__(self, settings, queue, children, lock, wake, step=None):
        """*children*: the dashboard's ``Children`` (it starts and reaps the
        server); *wake()*: tells the exit watcher a new sentinel is there;
        *step*: the lab's ``stepping.StepControl``, handed to each server."""
        self.settings = settings
        self.step = step
        self.queue = queue
        self.children = children
        self.lock = lock
        self.wake = wake
        self.pid = None
        self.channel = None
        self.echo_address = None
        self.numbers = itertools.count(1)

    def running(self):
        """Started and not yet reaped (it may have exited: then it is a zombie)."""
        return self.children.get(self.pid) is not None

    def start(self):
        with self.lock:
            if self.running():
                raise LabError(409, "server_running", "the echo server is running")
            ours, theirs = Pipe()
            name = f"server-{next(self.numbers)}"
            # a restart keeps the port students already typed, even if it was "any"
            port = self.echo_address[1] if self.echo_address else self.settings.echo_port
            # spawn, not fork: a fork would carry the dashboard (Flask, its
            # threads, 37 MB) into the server and into every worker it forks;
            # a fresh interpreter imports only app.lab (its workers still fork)
            proc = LabProcess(target=run_server, name=name, start_method="spawn",
                              args=(self.settings.echo_host, port,
                                    self.queue, theirs, self.settings.lab.to_json(),
                                    {"max_workers": self.settings.max_workers,
                                     "idle_timeout": self.settings.idle_timeout},
                                    self.step))
            self.children.start(proc, role="server", lab=self.settings.lab.to_json())
            theirs.close()
            self.wake()
            self.pid, self.channel = proc.pid, Channel(ours, self._put_all)
            try:
                first = self.channel.first_message(READY_TIMEOUT)
            except (EOFError, OSError):
                first = {"error": "the echo server exited before listening"}
            if "error" in first:
                self.children.join(proc, STOP_TIMEOUT)
                raise LabError(409, "server_failed", first["error"])
            self.echo_address = tuple(first["ready"])
            return proc.pid

    def stop(self):
        """Ask the server to stop (it stops its workers), wait for it to exit,
        collect what it said last, join it."""
        with self.lock:
            proc = self.children.get(self.pid)
            if proc is None:
                return
            try:
                self.channel.call({"op": commands.STOP}, STOP_TIMEOUT)
            except LabError:
                pass  # dead or stuck: the join below tells which
            wait([proc.sentinel], STOP_TIMEOUT)
            self.channel.drain()
            if not self.children.join(proc, STOP_TIMEOUT):
                self.children.signal(proc, "kill")
                self.children.join(proc)
            self.channel.close()

    def restart(self):
        with self.lock:
            self.stop()
            return self.start()

    def call(self, request, timeout=STOP_TIMEOUT):
        """One request to the server; its reply (``ok`` true or false)."""
        if not self.running():
            raise LabError(409, "server_down", "the echo server is not running")
        return self.channel.call(request, timeout)

    def _put_all(self, evs):
        """Events the server sent over its pipe (after its queue was closed)."""
        self.children.report.put(evs)  # as every lab writer: atomic frames, no lock

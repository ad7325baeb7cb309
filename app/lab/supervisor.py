"""The dashboard's side of the lab: it starts, stops and talks to lab processes.

The dashboard is the real parent of the echo server and of every client, so it
is the one that sees them exit (a watcher thread waits on their sentinels) and
the one that reaps them. It is multi-threaded (the web server), which is why
every ``multiprocessing`` call here happens under one lock — ``start()`` from
two threads at once would race in ``_cleanup()`` — and why children are forked
clean (see ``app.lab.forking``).
"""

import itertools
import os
import threading
from multiprocessing import Pipe
from multiprocessing.connection import wait

from app.errors import LabError
from app.lab import events
from app.lab.children import Children
from app.lab.client import REPLY_TIMEOUT, run_client
from app.lab.echo_server import run_server
from app.lab.forking import LabProcess

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class Channel:
    """A request/reply conversation with one lab process over a Pipe: one at a
    time, replies matched by id so a late answer is never taken for the next."""

    def __init__(self, conn):
        self.conn = conn
        self.lock = threading.Lock()
        self.ids = itertools.count(1)

    def call(self, msg, timeout):
        with self.lock:
            msg = dict(msg, id=next(self.ids))
            try:
                self.conn.send(msg)
                while self.conn.poll(timeout):
                    reply = self.conn.recv()
                    if reply.get("id") == msg["id"]:
                        return reply
            except (EOFError, OSError):
                raise LabError(409, "gone", "the process is no longer running")
            raise LabError(504, "no_answer", "the process did not answer in time")

    def first_message(self, timeout):
        if not self.conn.poll(timeout):
            raise LabError(504, "no_answer", "the process did not start in time")
        return self.conn.recv()

    def close(self):
        self.conn.close()


class Lab:
    def __init__(self, settings, queue):
        self.settings = settings
        self.queue = queue
        self.report = events.Reporter(queue)
        self.lock = threading.RLock()
        self.children = Children(self.report, self.lock, on_reaped=self._forget)
        self.server_pid = None
        self.server_channel = None
        self.echo_address = None
        self.clients = {}               # pid -> Channel
        self.numbers = {"server": itertools.count(1), "client": itertools.count(1)}
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._watcher = threading.Thread(target=self._watch_exits, name="lab-watch",
                                         daemon=True)

    # -- lifecycle ------------------------------------------------------------
    def start(self):
        self._watcher.start()
        self.start_server()

    def shutdown(self):
        """Stop the server (it stops its workers), then every client; reap all."""
        with self.lock:
            self._stopping = True
            try:
                self.stop_server()
            finally:
                self.children.stop_all()
        self._wake()
        self._watcher.join(2)

    # -- the echo server ------------------------------------------------------
    def start_server(self):
        with self.lock:
            if self.server_running():
                raise LabError(409, "server_running", "the echo server is running")
            ours, theirs = Pipe()
            name = f"server-{next(self.numbers['server'])}"
            proc = LabProcess(target=run_server, name=name, fds=(theirs, self.queue),
                              args=(self.settings.echo_host, self.settings.echo_port,
                                    self.queue, theirs))
            self.children.start(proc, role="server")
            theirs.close()
            self._wake()
            self.server_pid, self.server_channel = proc.pid, Channel(ours)
            try:
                first = self.server_channel.first_message(READY_TIMEOUT)
            except (EOFError, OSError):
                first = {"error": "the echo server exited before listening"}
            if "error" in first:
                self.children.join(proc, STOP_TIMEOUT)
                raise LabError(409, "server_failed", first["error"])
            self.echo_address = tuple(first["ready"])
            return proc.pid

    def stop_server(self):
        """Ask the server to stop (it terminates and joins its workers), join it."""
        with self.lock:
            proc = self.children.get(self.server_pid)
            if proc is None:
                return
            try:
                self.server_channel.call({"op": "stop"}, STOP_TIMEOUT)
            except LabError:
                pass  # dead or stuck: the join below tells which
            if not self.children.join(proc, STOP_TIMEOUT):
                self.children.signal(proc, "kill")
                self.children.join(proc)
            self.server_channel.close()

    def restart_server(self):
        with self.lock:
            self.stop_server()
            return self.start_server()

    def server_running(self):
        """Started and not yet reaped (it may have exited: then it is a zombie)."""
        return self.children.get(self.server_pid) is not None

    def server_call(self, msg, timeout=STOP_TIMEOUT):
        if not self.server_running():
            raise LabError(409, "server_down", "the echo server is not running")
        return self.server_channel.call(msg, timeout)

    # -- clients --------------------------------------------------------------
    def spawn_clients(self, count):
        started = []
        with self.lock:
            if self.echo_address is None:
                raise LabError(409, "server_down", "the echo server is not running")
            for _ in range(count):
                ours, theirs = Pipe()
                name = f"client-{next(self.numbers['client'])}"
                proc = LabProcess(target=run_client, name=name, fds=(theirs, self.queue),
                                  args=(self.echo_address, self.queue, theirs))
                self.children.start(proc, role="client")
                theirs.close()
                self.clients[proc.pid] = Channel(ours)
                started.append(proc.pid)
            self._wake()
        for pid in started:  # outside the lock: each connects on its own
            try:
                self.clients[pid].first_message(READY_TIMEOUT)
            except (EOFError, OSError, LabError):
                pass  # its exit and error event tell the story
        return started

    def client_channel(self, pid):
        channel = self.clients.get(pid)
        if channel is None:
            raise LabError(404, "not_client", "no such client", pid=pid)
        return channel

    def send_text(self, pid, text):
        return self.client_channel(pid).call({"op": "send", "text": text},
                                             REPLY_TIMEOUT + 2)

    def close_client(self, pid):
        reply = self.client_channel(pid).call({"op": "close"}, STOP_TIMEOUT)
        return reply

    # -- acting on processes ----------------------------------------------------
    def own_child(self, pid):
        return self.children.get(pid)

    def signal_child(self, pid, how):
        proc = self.children.get(pid)
        return self.children.signal(proc, how)

    def join_child(self, pid, timeout):
        return self.children.join(self.children.get(pid), timeout)

    def _forget(self, pid):
        """A client was reaped (by join or implicitly): its pipe goes too."""
        channel = self.clients.pop(pid, None)
        if channel is not None:
            channel.close()

    # -- watching exits ---------------------------------------------------------
    def _wake(self):
        os.write(self._wake_w, b"x")

    def _watch_exits(self):
        while not (self._stopping and not self.children.procs):
            watched = self.children.sentinels()
            ready = wait([self._wake_r, *watched], timeout=1.0)
            for obj in ready:
                if obj == self._wake_r:
                    os.read(self._wake_r, 4096)
                elif obj in watched:
                    self.children.observe_exit(watched[obj])

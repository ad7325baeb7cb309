"""The dashboard's side of the lab: it starts, stops and talks to lab processes.

The dashboard is the real parent of the echo server and of every client, so it
is the one that sees them exit (a watcher thread waits on their sentinels) and
the one that reaps them. It is also the child subreaper of the lab, so orphaned
workers become its children too (``app.lab.orphans``).

It is multi-threaded (the web server), which is why every ``multiprocessing``
call here happens under one lock — ``start()`` from two threads at once would
race in ``_cleanup()`` — and why children are forked clean (``app.lab.forking``).
"""

import itertools
import os
import threading
from multiprocessing import Pipe
from multiprocessing.connection import wait

import psutil

from app.errors import LabError
from app.lab import events
from app.lab.channel import Channel
from app.lab.children import Children
from app.lab.client import REPLY_TIMEOUT, run_client
from app.lab.demos import daemonic_child_tries_to_fork
from app.lab.echo_server import run_server
from app.lab.forking import LabProcess
from app.lab.mp_internals import resource_tracker_pid
from app.lab.orphans import Orphans, become_subreaper, direct_children

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
ADOPTION_SCAN_INTERVAL = 0.5


class Lab:
    def __init__(self, settings, queue, lab_process_info=lambda pid: None):
        """*lab_process_info(pid)* -> ``{uid, role, ppid, state}`` of a live lab process
        the registry knows, or None: how the watcher recognises an orphan."""
        self.settings = settings
        self.queue = queue
        self.lab_process_info = lab_process_info
        self.report = events.Reporter(queue)
        self.lock = threading.RLock()
        self.children = Children(self.report, self.lock, on_reaped=self._forget)
        self.orphans = Orphans(self.report, self.lock)
        self.subreaper = False
        self.server_pid = None
        self.server_channel = None
        self.echo_address = None
        self.clients = {}               # pid -> Channel
        self.numbers = {"server": itertools.count(1), "client": itertools.count(1),
                        "demo": itertools.count(1)}
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._watcher = threading.Thread(target=self._watch_exits, name="lab-watch",
                                         daemon=True)

    # -- lifecycle ------------------------------------------------------------
    def start(self):
        self.subreaper = become_subreaper()
        self._report_resource_tracker()
        self._watcher.start()
        self.start_server()

    def shutdown(self):
        """Stop the server (it stops its workers), then clients and orphans; reap all."""
        with self.lock:
            self._stopping = True
            try:
                self.stop_server()
            finally:
                self.children.stop_all()
                self._reap_stragglers()
        self._wake()
        self._watcher.join(2)

    def _reap_stragglers(self, rounds=3):
        """Workers orphaned while stopping (a server that had to be killed)
        re-parent to us: adopt, stop and reap them too."""
        for _ in range(rounds):
            if self.subreaper:
                self._adopt_orphans()
            if not (self.orphans.adopted or self.orphans.watched):
                return
            self.orphans.stop_all()

    def _report_resource_tracker(self):
        """multiprocessing's resource_tracker helper, started for the event
        queue's semaphore: a real process of the lab's tree, so it is shown."""
        pid = resource_tracker_pid()
        if pid is None or not psutil.pid_exists(pid):
            return
        self.report(events.STARTED, pid=pid, ppid=psutil.Process(pid).ppid(),
                    uid=f"resource_tracker-{pid}", role="helper",
                    name="resource_tracker", daemon=False, start_ms=None)

    # -- the echo server ------------------------------------------------------
    def start_server(self):
        with self.lock:
            if self.server_running():
                raise LabError(409, "server_running", "the echo server is running")
            ours, theirs = Pipe()
            name = f"server-{next(self.numbers['server'])}"
            # a restart keeps the port students already typed, even if it was "any"
            port = self.echo_address[1] if self.echo_address else self.settings.echo_port
            # spawn, not fork: a fork would carry the dashboard (Flask, its
            # threads, 37 MB) into the server and into every worker it forks;
            # a fresh interpreter imports only app.lab (its workers still fork)
            proc = LabProcess(target=run_server, name=name, start_method="spawn",
                              args=(self.settings.echo_host, port,
                                    self.queue, theirs, self.settings.lab.to_json(),
                                    {"max_workers": self.settings.max_workers,
                                     "idle_timeout": self.settings.idle_timeout}))
            self.children.start(proc, role="server", lab=self.settings.lab.to_json())
            theirs.close()
            self._wake()
            self.server_pid, self.server_channel = proc.pid, Channel(ours, self._put_all)
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
        """Ask the server to stop (it stops its workers), wait for it to exit,
        collect what it said last, join it."""
        with self.lock:
            proc = self.children.get(self.server_pid)
            if proc is None:
                return
            try:
                self.server_channel.call({"op": "stop"}, STOP_TIMEOUT)
            except LabError:
                pass  # dead or stuck: the join below tells which
            wait([proc.sentinel], STOP_TIMEOUT)
            self.server_channel.drain()
            if not self.children.join(proc, STOP_TIMEOUT):
                self.children.signal(proc, "kill")
                self.children.join(proc)
            self.server_channel.close()

    def restart_server(self):
        with self.lock:
            self.stop_server()
            return self.start_server()

    def apply_lab_settings(self, lab_settings):
        """New worker settings take effect with a new server: restart it."""
        with self.lock:
            self.settings.lab = lab_settings
            return self.restart_server()

    def server_running(self):
        """Started and not yet reaped (it may have exited: then it is a zombie)."""
        return self.children.get(self.server_pid) is not None

    def server_call(self, msg, timeout=STOP_TIMEOUT):
        if not self.server_running():
            raise LabError(409, "server_down", "the echo server is not running")
        return self.server_channel.call(msg, timeout)

    def _put_all(self, evs):
        for event in evs:
            self.queue.put(event)

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
            except (EOFError, OSError, LabError, KeyError):
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
        return self.client_channel(pid).call({"op": "close"}, STOP_TIMEOUT)

    def daemon_demo(self):
        """Start a daemonic process that tries to start a child; return what
        multiprocessing said, after joining it."""
        with self.lock:
            ours, theirs = Pipe()
            name = f"daemon-demo-{next(self.numbers['demo'])}"
            proc = LabProcess(target=daemonic_child_tries_to_fork, name=name, daemon=True,
                              fds=(theirs, self.queue), args=(self.queue, theirs))
            self.children.start(proc, role="helper")
            pid = proc.pid
            theirs.close()
            self._wake()
        try:
            outcome = Channel(ours).first_message(READY_TIMEOUT)
        finally:
            ours.close()
            if self.children.get(pid):  # not already reaped implicitly
                self.children.join(proc, STOP_TIMEOUT)
        return dict(outcome, pid=pid, name=name)

    def _forget(self, pid):
        """A client was reaped (by join or implicitly): its pipe goes too."""
        channel = self.clients.pop(pid, None)
        if channel is not None:
            channel.close()

    # -- acting on any lab process: whoever is its parent does it ---------------
    def _at_parent(self, pid, ours, adopted, command, timeout=STOP_TIMEOUT):
        """Run *ours(proc)* for our own child, *adopted(pid)* for an orphan we
        adopted; otherwise the echo server (its parent) runs *command* on it."""
        with self.lock:
            proc = self.children.get(pid)
            if proc is not None:
                return ours(proc)
            if pid in self.orphans:
                return adopted(pid)
        reply = self.server_call(dict(command, pid=pid), timeout)
        if not reply.get("ok"):
            raise LabError(409, reply.get("code", "refused"), reply["error"])
        return reply

    def signal(self, pid, how):
        """True if sent; False if it has already exited."""
        result = self._at_parent(pid, lambda proc: self.children.signal(proc, how),
                                 lambda pid: self.orphans.signal(pid, how), {"op": how})
        return result if isinstance(result, bool) else True

    def join(self, pid, timeout):
        """True if it reaped the process."""
        result = self._at_parent(pid, lambda proc: self.children.join(proc, timeout),
                                 lambda pid: self.orphans.join(pid, timeout),
                                 {"op": "join", "timeout": timeout},
                                 (timeout or 0) + STOP_TIMEOUT)
        return result if isinstance(result, bool) else result["reaped"]

    # -- watching exits and adoptions -------------------------------------------
    def _wake(self):
        os.write(self._wake_w, b"x")

    def _watch_exits(self):
        while not (self._stopping and not self.children.procs):
            watched = self.children.sentinels()
            adopted = self.orphans.sentinels()
            grandchildren = self.orphans.watched_sentinels()
            ready = wait([self._wake_r, *watched, *adopted, *grandchildren],
                         ADOPTION_SCAN_INTERVAL)
            for obj in ready:
                if obj == self._wake_r:
                    os.read(self._wake_r, 4096)
                elif obj in watched:
                    self.children.observe_exit(watched[obj])
                elif obj in adopted:
                    self._orphan_exited(adopted[obj])
                elif obj in grandchildren:
                    self.orphans.grandchild_exited(grandchildren[obj])
            if self.subreaper and not self._stopping:
                self._adopt_orphans()

    def _adopt_orphans(self):
        """Children of ours in /proc that we did not start are orphans of the
        lab that the kernel re-parented to us (we are the subreaper)."""
        me = os.getpid()
        with self.lock:
            self.orphans.check_grandchildren()
            known = set(self.children.procs) | set(self.orphans.adopted)
            for pid in direct_children(me) - known:
                info = self.lab_process_info(pid)
                # a lab process whose recorded parent is not us has been re-parented
                if info is not None and info["ppid"] != me:
                    self.orphans.adopt(pid, info["uid"], info["ppid"],
                                       zombie=info["state"] == "zombie")
            for orphan in list(self.orphans.adopted):
                for pid in direct_children(orphan):
                    info = self.lab_process_info(pid)
                    if info is not None:
                        self.orphans.watch(pid, info["uid"])

    def _orphan_exited(self, pid):
        self.orphans.observe_exit(pid)
        info = self.lab_process_info(pid)
        if info is not None and info["role"] == "helper":
            self.orphans.join(pid, 0)  # nobody will click join on a helper

"""The dashboard's side of the lab: one facade over rooms of one job each.

The dashboard is the real parent of the echo server and of every client, so it
is the one that sees them exit and the one that reaps them. It is also the
child subreaper of the lab, so orphaned workers become its children too. The
jobs, each in its own place:

* ``ServerHandle`` (``server_handle.py``) — the echo server process and its channel;
* ``ClientPool`` (``client_pool.py``) — client processes and their channels;
* ``ExitWatcher`` (``watcher.py``) — sees exits, adopts orphans;
* ``Children`` / ``Orphans`` — a parent's view of its own / adopted children;
* ``HelperDemo`` (``demos.py``) — the daemonic-process and ``p.run()`` demonstrations;
* ``PuzzleRoom`` (``puzzle_room.py``) — OSTEP's fork-tree puzzles, for real;
* ``StepControl`` (``stepping.py``) — the step mode every lab process reads.

``Lab`` wires them and routes an action on any lab process to the one that
may do it: its parent (``_at_parent``).

The dashboard is multi-threaded (the web server), which is why every
``multiprocessing`` call here happens under one lock — ``start()`` from two
threads at once would race in its reaping of finished siblings — and why
children are forked clean (``app.lab.forking``).
"""

import threading

import psutil

from app.errors import LabError
from app.lab import commands, events
from app.lab.children import Children
from app.lab.client_pool import ClientPool
from app.lab.demos import daemon_demo, run_demo
from app.lab.mp_internals import resource_tracker_pid
from app.lab.orphans import Orphans, become_subreaper
from app.lab.puzzle_room import PuzzleRoom
from app.lab.server_handle import STOP_TIMEOUT, ServerHandle
from app.lab.stepping import DEFAULT_DELAY, StepControl
from app.lab.watcher import ExitWatcher
from app.model.schema import GATES

PING_TIMEOUT = 3.0   # the server gives up on a worker after relay.RELAY_TIMEOUT (2 s)


class Lab:
    def __init__(self, settings, queue, lab_process_info=lambda pid: None):
        """*lab_process_info(pid)* -> ``{uid, role, ppid, state}`` of a live lab process
        the registry knows, or None: how the watcher recognises an orphan."""
        self.settings = settings
        self.queue = queue
        self.report = events.Reporter(queue)
        self.lock = threading.RLock()
        self.children = Children(self.report, self.lock, on_reaped=self._forget)
        self.orphans = Orphans(self.report, self.lock)
        self.watcher = ExitWatcher(self.children, self.orphans, self.lock, lab_process_info)
        wake = self.watcher.wake
        self.step = StepControl()  # shared memory: made before any lab process
        self.server = ServerHandle(settings, queue, self.children, self.lock, wake, self.step)
        self.clients = ClientPool(queue, self.children, self.lock, wake, self.step)
        self.demo = daemon_demo(queue, self.children, self.lock, wake)
        self.run_vs_start = run_demo(queue, self.children, self.lock, wake)
        self.puzzles = PuzzleRoom(queue, self.children, self.lock, wake)

    # -- lifecycle ------------------------------------------------------------
    def start(self):
        subreaper = become_subreaper()
        self._report_resource_tracker()
        self.watcher.start(subreaper)
        self.server.start()

    def shutdown(self):
        """End the puzzle; stop the server (it stops its workers), then clients
        and orphans; reap all."""
        try:
            self.puzzles.end()
        finally:
            self._shutdown()

    def _shutdown(self):
        with self.lock:
            self.watcher.stopping = True
            try:
                self.server.stop()
            finally:
                self.children.stop_all()
                self.watcher.reap_stragglers()
        self.watcher.stop()

    def reset(self, lab_settings):
        """The known state a lesson starts from: run mode with every gate, no
        client, no worker, no orphan, no zombie; one new echo server with
        *lab_settings*. Everything is stopped the way ``shutdown`` stops it —
        terminated and reaped, each step reported — but the dashboard goes on.
        Returns the new server's pid."""
        with self.lock:
            self.set_step("run", DEFAULT_DELAY, list(GATES))  # nobody waits at a gate
            self.server.stop()             # it stops (and reaps) its workers
            self.children.stop_all()       # clients, and a terminated server's zombie
            self.watcher.reap_stragglers() # orphans the kernel gave us
            self.settings.lab = lab_settings
            return self.server.start()

    def _report_resource_tracker(self):
        """multiprocessing's resource_tracker helper, started for the event
        queue's semaphore: a real process of the lab's tree, so it is shown."""
        pid = resource_tracker_pid()
        if pid is None or not psutil.pid_exists(pid):
            return
        self.report(events.STARTED, pid=pid, ppid=psutil.Process(pid).ppid(),
                    uid=f"resource_tracker-{pid}", role="helper",
                    name="resource_tracker", daemon=False, start_ms=None)

    def _forget(self, pid):
        self.clients.forget(pid)

    # -- the echo server ------------------------------------------------------
    @property
    def echo_address(self):
        return self.server.echo_address

    @property
    def server_pid(self):
        return self.server.pid

    def start_server(self):
        return self.server.start()

    def stop_server(self):
        self.server.stop()

    def restart_server(self):
        return self.server.restart()

    def apply_lab_settings(self, lab_settings):
        """New worker settings take effect with a new server: restart it."""
        with self.lock:
            self.settings.lab = lab_settings
            return self.server.restart()

    def server_running(self):
        return self.server.running()

    def server_call(self, msg, timeout=STOP_TIMEOUT):
        return self.server.call(msg, timeout)

    # -- clients and the demo -----------------------------------------------------
    def spawn_clients(self, count):
        return self.clients.spawn(count, self.server.echo_address)

    def client_channel(self, pid):
        return self.clients.channel(pid)

    def send_text(self, pid, text):
        return self.clients.send_text(pid, text, stepping=self.step.get()["mode"] != "run")

    def close_client(self, pid):
        return self.clients.close(pid)

    def daemon_demo(self):
        return self.demo.run()

    def run_demo(self):
        return self.run_vs_start.run()

    def flood(self, seconds, text):
        """Every connected client sends *text* back to back for *seconds*, all
        at once: ``{pid: reply}``."""
        with self.lock:
            pids = list(self.clients.channels)
        return self.clients.flood(pids, seconds, text)

    # -- acting on any lab process: whoever is its parent does it ---------------
    def _at_parent(self, pid, ours, adopted, relay, answer, timeout=STOP_TIMEOUT):
        """Do an action on *pid* where it can be done, and return what
        ``answer`` makes of it — always the same type for one action:
        ``ours(proc)`` for our own child, ``adopted(pid)`` for an orphan we
        adopted; otherwise its parent, the echo server, is sent *relay*
        (with ``pid``) and ``answer(reply)`` reads its successful reply."""
        with self.lock:
            proc = self.children.get(pid)
            if proc is not None:
                return ours(proc)
            if pid in self.orphans:
                return adopted(pid)
        reply = self.server.call(dict(relay, pid=pid), timeout)
        if not reply.get("ok"):
            raise LabError(409, reply.get("code", "refused"), reply["error"])
        return answer(reply)

    def signal(self, pid, how):
        """True if sent; False if it has already exited."""
        return self._at_parent(pid, lambda proc: self.children.signal(proc, how),
                               lambda pid: self.orphans.signal(pid, how),
                               {"op": how}, answer=lambda reply: True)

    def join(self, pid, timeout):
        """True if it reaped the process."""
        return self._at_parent(pid, lambda proc: self.children.join(proc, timeout),
                               lambda pid: self.orphans.join(pid, timeout),
                               {"op": commands.JOIN, "timeout": timeout},
                               answer=lambda reply: reply["reaped"],
                               timeout=(timeout or 0) + STOP_TIMEOUT)

    def request(self, pid, request, timeout=PING_TIMEOUT):
        """Send *request* to lab process *pid* over its own command channel;
        its reply, ``ok`` true or false. The server and clients are ours; a
        worker's channel is its parent's, the server, which relays. Raises
        ``LabError`` if it has no channel we can reach or does not answer."""
        with self.lock:
            ours = self.children.get(pid) is not None
            adopted = pid in self.orphans
        if ours and pid == self.server.pid:
            return self.server.call(request, timeout)
        if ours and pid in self.clients:
            return self.clients.call(pid, request, timeout)
        if ours or adopted:  # a helper; or an orphan, whose channel died with its parent
            raise LabError(409, "no_channel", "this process has no command channel we hold",
                           pid=pid)
        return self.server.call({"op": commands.RELAY, "pid": pid, "request": request},
                                timeout)

    # -- stepping: gates in the lab's processes (app.lab.stepping) ------------------
    def step_settings(self):
        """``{"mode", "delay_ms", "gates"}`` as the lab processes read them."""
        return self.step.get()

    def set_step(self, mode, delay_ms, gates):
        """Write the shared word, then wake every process that may wait: the
        server (it tells its workers) and each client. The word comes first:
        a process that reads it after this wakes no one needs to; one that
        read it before and waits finds the wake in its channel."""
        with self.lock:  # no client is started between the write and the wakes
            self.step.set(mode, delay_ms, gates)
            if self.server.running():
                try:
                    self.server.call({"op": commands.WAKE}, PING_TIMEOUT)
                except LabError:
                    pass  # exited or stuck: its workers re-read the word within RECHECK
            self.clients.notify_all({"op": commands.WAKE})
        return self.step.get()

    def release(self, pid, gate, since):
        """Let *pid* pass the gate it waits at, if it still waits at *gate*
        since *since* (a stale release must not pass the next gate). Routed
        like ``request``; to a client and a worker it is a notification: the
        caller watches the registry for the ``gate_pass``."""
        msg = {"op": commands.RELEASE, "gate": gate, "since": since}
        with self.lock:
            ours = self.children.get(pid) is not None
            adopted = pid in self.orphans
        if ours and pid == self.server.pid:
            reply = self.server.call(msg, PING_TIMEOUT)
        elif ours and pid in self.clients:
            self.clients.notify(pid, msg)
            return
        elif ours or adopted:
            raise LabError(409, "no_channel", "this process has no command channel we hold",
                           pid=pid)
        else:
            reply = self.server.call(dict(msg, pid=pid), PING_TIMEOUT)
        if not reply.get("ok"):
            raise LabError(409, reply.get("code", "refused"), reply["error"])

    def ping(self, pid):
        """``ping``, answered by *pid* itself: ``{"ok", "pid", "ppid"}``."""
        reply = self.request(pid, {"op": commands.PING})
        if not reply.get("ok"):
            raise LabError(409, reply["code"], reply["error"])
        return {k: reply[k] for k in ("ok", "pid", "ppid")}

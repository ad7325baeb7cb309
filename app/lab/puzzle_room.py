"""The dashboard's side of a fork-tree puzzle: the root it starts, a channel to
every puzzle process, and an end that reaps them all.

The dashboard starts ``a`` as it starts a client — its own child, started and
reaped through ``Children`` — and holds a command channel to *every* puzzle
process: a ``Pipe()`` made here for each one, whose far end goes to the
forking parent with the ``fork`` request (``app/lab/puzzle.py``). So an
action reaches its process directly, whether it is still its parent's child
or an orphan the kernel has moved.

Each method does one action for real and returns once the processes have
done it: an exit returns when the exiting process's parent — as ``/proc``
names it: the one that forked it, or the subreaper that adopted it — has
reaped it. What the page shows comes from the events they reported; the
controller waits for those (``app/web/puzzles.py``).

``end()`` exits every puzzle process leaves first, each reaped by its parent,
then joins ``a``; if one does not answer, every puzzle process left is killed
(their parents, or the dashboard as the lab's subreaper, reap them).
"""

import os
import signal
import threading
from multiprocessing import Pipe

import psutil

from app.errors import LabError
from app.lab import commands
from app.lab.channel import Channel
from app.lab.forking import LabProcess
from app.lab.puzzle import REAP_TIMEOUT, ROOT, ppid_of, puzzle_uid, run_puzzle

READY_TIMEOUT = 10.0
CALL_TIMEOUT = 5.0


class PuzzleRoom:
    def __init__(self, queue, children, lock, wake):
        """*children*: the dashboard's ``Children``; *lock*: the lab's lock
        (multiprocessing calls); *wake()*: a new sentinel for the exit watcher."""
        self.queue = queue
        self.children = children
        self.lock = lock
        self.wake = wake
        self.turn = threading.RLock()   # one action at a time, the end included
        self.prefix = None
        self.root = None                # a's Process object
        self.channels = {}              # name -> Channel
        self.pids = {}                  # name -> pid

    @property
    def running(self):
        return self.root is not None

    def names(self):
        """{name: pid} of the puzzle processes alive (that we know of)."""
        return dict(self.pids)

    def _ready(self, name, channel, pid):
        try:
            first = channel.first_message(READY_TIMEOUT)
        except (EOFError, OSError):
            first = {}
        if first.get("ready") != pid:
            channel.close()
            raise LabError(504, "no_answer", f"puzzle process {name} did not start")
        self.channels[name], self.pids[name] = channel, pid

    # -- the actions ---------------------------------------------------------------------
    def start(self, prefix, reparent):
        """Start ``a``; with ``reparent="ancestor"`` every puzzle process will
        make itself a child subreaper, else only ``a`` does."""
        with self.turn:
            if self.running:
                raise LabError(409, "puzzle_running", "a puzzle is running")
            ours, theirs = Pipe()
            proc = LabProcess(target=run_puzzle, name=ROOT, uid=puzzle_uid(prefix, ROOT),
                              fds=(theirs, self.queue),
                              args=(ROOT, prefix, theirs, self.queue, reparent == "ancestor"))
            with self.lock:
                self.children.start(proc, role="puzzle")
                self.wake()
            theirs.close()
            self.prefix, self.root = prefix, proc
            try:
                self._ready(ROOT, Channel(ours), proc.pid)
            except LabError:
                self.end()
                raise
            return proc.pid

    def fork(self, parent, child):
        """*parent* forks *child*; its pid."""
        with self.turn:
            ours, theirs = Pipe()
            try:
                reply = self.channels[parent].call({"op": commands.FORK, "name": child},
                                                   CALL_TIMEOUT, fd=theirs.fileno())
            finally:
                theirs.close()
            if not reply.get("ok"):
                ours.close()
                raise LabError(409, reply.get("code", "failed"), reply["error"])
            self._ready(child, Channel(ours), reply["pid"])
            return reply["pid"]

    def exit(self, name, leaf_only=False):
        """*name* exits and its parent reaps it. The process's reply: ``ok`` with
        ``children`` (the orphans it leaves, as /proc listed them), or refused
        with ``has_children``."""
        with self.turn:
            pid = self.pids[name]
            parent = ppid_of(pid)
            reply = self.channels[name].call({"op": commands.EXIT, "leaf_only": leaf_only},
                                             CALL_TIMEOUT)
            if not reply.get("ok"):
                return reply
            self._forget(name)
            self._reaped_by(parent, pid, name)
            return reply

    def _reaped_by(self, parent, pid, name):
        """Ask *parent* (a pid) to reap *pid*: a puzzle process, or the dashboard
        for ``a``."""
        if name == ROOT:
            with self.lock:
                if not self.children.join(self.root, REAP_TIMEOUT):
                    raise LabError(504, "no_answer", f"{ROOT} did not exit")
            return
        reaper = next((n for n, p in self.pids.items() if p == parent), None)
        if reaper is None:
            raise LabError(409, commands.NOT_MY_CHILD,
                           f"the parent of {name} (pid {parent}) is not a puzzle process")
        reply = self.channels[reaper].call(
            {"op": commands.REAP, "pid": pid, "uid": puzzle_uid(self.prefix, name)},
            REAP_TIMEOUT + CALL_TIMEOUT)
        if not reply.get("ok"):
            raise LabError(409, reply.get("code", "failed"), reply["error"])

    def _forget(self, name):
        channel = self.channels.pop(name, None)
        self.pids.pop(name, None)
        if channel is not None:
            channel.close()

    # -- the end -------------------------------------------------------------------------
    def leaves_first(self):
        """Names of the live puzzle processes, deepest in /proc's tree first."""
        by_pid = {pid: name for name, pid in self.pids.items()}

        def depth(pid):
            seen, d = {pid}, 0
            while (pid := ppid_of(pid)) in by_pid and pid not in seen:
                seen.add(pid)
                d += 1
            return d

        depths = {name: depth(pid) for name, pid in self.pids.items()}
        return sorted(depths, key=lambda n: (-depths[n], n == ROOT, n))

    def end(self):
        """Every puzzle process exits, leaves first, reaped by its parent; ``a``
        last, joined by the dashboard. Returns the pids that were ended."""
        with self.turn:
            if self.root is None:
                return []
            for name, pid in list(self.pids.items()):
                if name != ROOT and ppid_of(pid) is None:
                    self._forget(name)   # killed from outside, and reaped: nothing to end
            ended = list(self.pids.values())
            try:
                for name in self.leaves_first():
                    pid = self.pids[name]
                    parent = ppid_of(pid)
                    self.channels[name].call({"op": commands.EXIT}, CALL_TIMEOUT)
                    self._forget(name)
                    self._reaped_by(parent, pid, name)
            except (LabError, KeyError):
                self._kill_all()
            finally:
                for name in list(self.channels):
                    self._forget(name)
                self.root = None
            return ended

    def _kill_all(self):
        """The fallback: SIGKILL what is left of the puzzle — every puzzle process
        still in the lab's tree (under a puzzle process or the dashboard: not a
        stranger who got a dead one's pid), and a's descendants — then join
        ``a``. Orphans of the killed re-parent to the dashboard, the lab's
        subreaper, whose watcher reaps them."""
        known = set(self.pids.values())
        try:
            below = [p.pid for p in psutil.Process(self.root.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            below = []
        for pid in reversed(below + sorted(known - set(below) - {self.root.pid})):
            if ppid_of(pid) in known | {os.getpid()}:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        with self.lock:
            if self.children.get(self.root.pid) is not None:
                self.children.signal(self.root, "kill")
                self.children.join(self.root)

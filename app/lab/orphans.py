"""Orphans: lab processes whose parent died, adopted by the dashboard.

The dashboard makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``),
so when the echo server dies while its workers live, the kernel re-parents the
workers to the dashboard instead of to init — the tree stays in the lab, and the
dashboard becomes the one that must reap them.

An orphan is not a ``multiprocessing`` child of the dashboard (no ``Process``
object knows it), so the dashboard watches it with a pidfd (readable when the
process exits, without reaping it), signals it with ``os.kill`` and reaps it
with ``os.waitpid(pid, 0)`` — by pid, never ``waitpid(-1)``, which would steal
exits from ``multiprocessing``.
"""

import ctypes
import os
import signal
import time
from multiprocessing.connection import wait

import psutil

from app.lab import events
from app.lab.children import exit_status_without_reaping

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of our descendants re-parent to us. True if the kernel agreed."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def direct_children(pid):
    """Pids whose parent is *pid*, as /proc says now."""
    try:
        return {p.pid for p in psutil.Process(pid).children()}
    except psutil.NoSuchProcess:
        return set()


class Orphans:
    def __init__(self, report, lock):
        self.report = report
        self.lock = lock
        self.adopted = {}     # pid -> (uid, pidfd)
        self.exited = set()
        self.watched = {}     # pid -> (uid, pidfd): children of an adopted orphan

    def __contains__(self, pid):
        return pid in self.adopted

    def adopt(self, pid, uid, old_ppid, zombie=False):
        """Record that *pid* is now ours; False if it is already gone. A zombie
        re-parents too: its exit was reported by its late parent."""
        with self.lock:
            if pid in self.adopted:
                return True
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                return False
            self.adopted[pid] = (uid, pidfd)
            if zombie:
                self.exited.add(pid)
            self.report(events.REPARENTED, pid=pid, uid=uid, old_ppid=old_ppid,
                        ppid=os.getpid())
            return True

    def sentinels(self):
        with self.lock:
            return {fd: pid for pid, (_uid, fd) in self.adopted.items()
                    if pid not in self.exited}

    # -- grandchildren: watched, not ours ----------------------------------------
    def watch(self, pid, uid):
        """A lab process whose parent is an adopted orphan (a forkserver outlives
        its server while its workers live: they hold its "alive" pipe). It is
        not our child: a pidfd shows us when it exits, not its exit code, and
        only its parent can reap it."""
        with self.lock:
            if pid in self.watched or pid in self.adopted:
                return
            try:
                self.watched[pid] = [uid, os.pidfd_open(pid), False]
            except ProcessLookupError:
                self.watched[pid] = [uid, None, False]
                self.grandchild_exited(pid)

    def watched_sentinels(self):
        with self.lock:
            return {w[1]: pid for pid, w in self.watched.items() if not w[2]}

    def grandchild_exited(self, pid):
        with self.lock:
            watch = self.watched[pid]
            if watch[1] is not None:
                os.close(watch[1])
            watch[1], watch[2] = None, True
            self.report(events.EXITED, pid=pid, uid=watch[0], exitcode=None,
                        note="seen by pidfd; only its parent learns the exit code")

    def check_grandchildren(self):
        """After an exit: gone from /proc means its parent reaped it; a child of
        ours now means its parent died first and it re-parented to us."""
        me = os.getpid()
        with self.lock:
            for pid, (uid, _fd, exited) in list(self.watched.items()):
                if not exited:
                    continue
                try:
                    ppid = psutil.Process(pid).ppid()
                except psutil.NoSuchProcess:
                    ppid = None
                if ppid == me:
                    del self.watched[pid]
                    self.adopt(pid, uid, old_ppid=None, zombie=True)
                elif ppid is None:
                    del self.watched[pid]
                    self.report(events.REAPED, pid=pid, uid=uid, exitcode=None,
                                how="forkserver", via="its forkserver reaped it",
                                via_kind="forkserver", via_call=None)

    def observe_exit(self, pid):
        with self.lock:
            if pid not in self.adopted or pid in self.exited:
                return
            code = exit_status_without_reaping(pid)
            if code is not None:
                self.exited.add(pid)
                self.report(events.EXITED, pid=pid, uid=self.adopted[pid][0],
                            exitcode=code)

    def signal(self, pid, how):
        sig = signal.SIGTERM if how == "terminate" else signal.SIGKILL
        with self.lock:
            if pid in self.exited:
                return False
            os.kill(pid, sig)
            self.report(events.SIGNALLED, pid=pid, uid=self.adopted[pid][0],
                        call=f"os.kill({pid}, {sig.name})", signal=sig.name)
            return True

    def join(self, pid, timeout=None):
        """Like ``p.join(timeout)`` for a process we have no object for."""
        uid, pidfd = self.adopted[pid]
        if pid not in self.exited and not wait([pidfd], timeout):
            self.report(events.JOIN_TIMEOUT, pid=pid, uid=uid, timeout=timeout)
            return False
        with self.lock:
            self.observe_exit(pid)
            _, status = os.waitpid(pid, 0)
            os.close(pidfd)
            del self.adopted[pid]
            self.exited.discard(pid)
            self.report(events.REAPED, pid=pid, uid=uid,
                        exitcode=os.waitstatus_to_exitcode(status), how="join",
                        via=f"os.waitpid({pid}, 0) by the dashboard (subreaper)",
                        via_kind="subreaper_waitpid", via_call=f"os.waitpid({pid}, 0)")
            return True

    def stop_all(self, grace=2.0):
        """Grandchildren first (their parent reaps them while it lives), then
        our adopted orphans."""
        for pid, (uid, pidfd, exited) in list(self.watched.items()):
            if exited:
                continue
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                self.report(events.SIGNALLED, pid=pid, uid=uid, signal=sig.name,
                            call=f"os.kill({pid}, {sig.name})")
                if wait([pidfd], grace):
                    break
            self.grandchild_exited(pid)
        deadline = time.monotonic() + grace
        while self.watched and time.monotonic() < deadline:
            self.check_grandchildren()
            time.sleep(0.02)  # nothing to wait on: their parent reaps them
        for pid in list(self.adopted):
            if pid not in self.exited:
                self.signal(pid, "terminate")
        for pid in list(self.adopted):
            if not self.join(pid, grace):
                self.signal(pid, "kill")
                self.join(pid)

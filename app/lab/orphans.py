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

    def __contains__(self, pid):
        return pid in self.adopted

    def adopt(self, pid, uid, old_ppid):
        """Record that *pid* is now ours; False if it is already gone."""
        with self.lock:
            if pid in self.adopted:
                return True
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                return False
            self.adopted[pid] = (uid, pidfd)
            self.report(events.REPARENTED, pid=pid, uid=uid, old_ppid=old_ppid,
                        ppid=os.getpid())
            return True

    def sentinels(self):
        with self.lock:
            return {fd: pid for pid, (_uid, fd) in self.adopted.items()
                    if pid not in self.exited}

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
                        via=f"os.waitpid({pid}, 0) by the dashboard (subreaper)")
            return True

    def stop_all(self, grace=2.0):
        for pid in list(self.adopted):
            if pid not in self.exited:
                self.signal(pid, "terminate")
        for pid in list(self.adopted):
            if not self.join(pid, grace):
                self.signal(pid, "kill")
                self.join(pid)

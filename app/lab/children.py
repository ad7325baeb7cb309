"""A parent's view of the processes it started — the only place exits are seen.

Only a parent can tell that a child has exited (it becomes a zombie) and reap it
(``waitpid``). ``Children`` does both truthfully and reports each step:

* an exit is *observed* without reaping: the child's ``sentinel`` becomes
  readable, then ``os.waitid(..., WNOWAIT)`` reads the exit status and leaves
  the zombie in place;
* a child is reaped by ``p.join()`` — or *implicitly* by multiprocessing itself:
  ``Process.start()``, ``is_alive()`` and ``active_children()`` collect every
  finished sibling. ``Children`` wraps each such call, compares which children
  had been reaped before and after, and reports those as reaped implicitly by
  that call. Nothing here ever calls ``os.waitpid(-1, ...)``.

Used by the dashboard (for the echo server and clients, from several threads:
pass a lock) and by the echo server (for its workers, single-threaded).
"""

import contextlib
import os
import time

from app.lab import events
from app.lab.mp_internals import forkserver_pid, parent_name, popen_returncode


def exit_status_without_reaping(pid):
    """The exitcode of an exited child, as multiprocessing spells it (N or -signal),
    leaving it a zombie; None if it has not exited (or is no longer ours)."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return None
    if info is None:
        return None
    if info.si_code == os.CLD_EXITED:
        return info.si_status
    return -info.si_status


def reaped(proc):
    """Has waitpid() collected *proc*? Read without polling: ``p.exitcode`` and
    ``p.is_alive()`` would themselves reap it."""
    return popen_returncode(proc) is not None


def uid_of(proc):
    """The process's name, qualified by its parent's when that is not the
    dashboard: a restarted server counts ``worker-1, worker-2 ...`` again.
    A ``LabProcess`` given a uid has that one (``puzzle-2/c``)."""
    return getattr(proc, "lab_uid", None) or events.uid(proc.name, parent_name(proc))


def call_of(description):
    """'start() of worker-4' -> 'worker-4.start()'."""
    method, _, name = description.partition(" of ")
    return f"{name}.{method}" if name else description


def by_forkserver(proc):
    return getattr(proc, "start_method", "fork") == "forkserver"


def real_parent(proc):
    """Who the OS says the parent is: us, or, with forkserver, the forkserver."""
    if by_forkserver(proc):
        return forkserver_pid()
    return os.getpid()


class Children:
    def __init__(self, report, lock=None, on_reaped=None):
        self.report = report
        self.on_reaped = on_reaped or (lambda pid: None)
        self.lock = lock if lock is not None else contextlib.nullcontext()
        self.procs = {}          # pid -> Process, until reaped
        self.exited = set()      # pids whose exit was reported (zombies)

    # -- starting -------------------------------------------------------------
    def start(self, proc, role, before_start=None, **info):
        """``proc.start()``, reported: created, started, and any sibling that
        this very ``start()`` reaped. *before_start()* runs between the two
        (the server's ``start`` gate: the object exists, no pid yet).

        Written flat, without a context manager or helper per step: the echo
        server runs this once per connection, and in a forking server each
        object made and each function first called between two forks writes
        a page the live workers share (a copy-on-write fault)."""
        with self.lock:
            method = getattr(proc, "start_method", "fork")
            uid, name, daemon = uid_of(proc), proc.name, proc.daemon
            proc.lab_uid = uid  # kept: its exit, its reaping, its own hello name it again
            self.report(events.CREATED, pid=None, uid=uid, role=role,
                        name=name, daemon=daemon, start_method=method, **info)
            if before_start is not None:
                before_start()
            # start() reaps every finished sibling (multiprocessing's _cleanup):
            # which ones, is seen by comparing before and after
            unreaped = [p for p in self.procs.values() if not reaped(p)]
            t0 = time.perf_counter()
            proc.start()
            start_ms = (time.perf_counter() - t0) * 1000
            self._report_implicit_reaps(unreaped, f"start() of {name}")
            self.procs[proc.pid] = proc
            self.report(events.STARTED, pid=proc.pid, ppid=real_parent(proc),
                        uid=uid, role=role, name=name, daemon=daemon,
                        start_method=method, start_ms=round(start_ms, 3), **info)
            return proc

    def _report_implicit_reaps(self, unreaped, call):
        """Report the children of *unreaped* that *call* (a multiprocessing
        API call) reaped."""
        for proc in unreaped:
            if reaped(proc):
                self._reaped(proc, how="implicit", via=call, kind="start",
                             call=call_of(call))

    # -- observing exits ------------------------------------------------------
    def sentinels(self):
        """sentinel -> pid for every child whose exit is not yet reported."""
        with self.lock:
            return {p.sentinel: pid for pid, p in self.procs.items()
                    if pid not in self.exited}

    def observe_exit(self, pid):
        """The child's sentinel fired: report its exit, leave it a zombie."""
        with self.lock:
            proc = self.procs.get(pid)
            if proc is None or pid in self.exited or reaped(proc):
                return  # already reaped (and reported) or already reported
            if by_forkserver(proc):
                # The forkserver is the real parent: it reaped the child at once
                # and wrote the status to the sentinel socket; join() reads it.
                proc.join()
                self._reaped(proc, how="forkserver", via=f"forkserver; {proc.name}.join()",
                             kind="forkserver", call=f"{proc.name}.join()")
                return
            code = exit_status_without_reaping(pid)
            if code is not None:
                self._exited(proc, code)

    def _exited(self, proc, code):
        self.exited.add(proc.pid)
        self.report(events.EXITED, pid=proc.pid, uid=uid_of(proc), exitcode=code)

    def _reaped(self, proc, how, via, kind, call):
        pid = proc.pid
        if pid not in self.exited:  # reaped before we saw the sentinel
            self._exited(proc, popen_returncode(proc))
        self.report(events.REAPED, pid=pid, uid=uid_of(proc),
                    exitcode=popen_returncode(proc), how=how, via=via, via_kind=kind,
                    via_call=call)
        del self.procs[pid]
        self.exited.discard(pid)
        proc.close()  # releases the sentinel's pipe: nothing left to watch
        self.on_reaped(pid)

    # -- acting on a child ----------------------------------------------------
    def get(self, pid):
        return self.procs.get(pid)

    def signal(self, proc, how):
        """``p.terminate()`` (SIGTERM) or ``p.kill()`` (SIGKILL)."""
        with self.lock:
            if proc.pid in self.exited:
                return False
            getattr(proc, how)()
            self.report(events.SIGNALLED, pid=proc.pid, uid=uid_of(proc),
                        call=f"{how}()",
                        signal="SIGTERM" if how == "terminate" else "SIGKILL")
            return True

    def join(self, proc, timeout=None):
        """``p.join(timeout)``; True if it reaped the child."""
        with self.lock:
            proc.join(timeout)
            if reaped(proc):
                how = "forkserver" if by_forkserver(proc) else "join"
                self._reaped(proc, how=how, via=f"{proc.name}.join()",
                             kind="forkserver" if how == "forkserver" else "join",
                             call=f"{proc.name}.join()")
                return True
            self.report(events.JOIN_TIMEOUT, pid=proc.pid, uid=uid_of(proc),
                        timeout=timeout)
            return False

    def stop_all(self, grace=2.0):
        """Terminate, then kill, and join every child: nothing left behind."""
        with self.lock:
            for proc in list(self.procs.values()):
                if proc.pid not in self.exited and not reaped(proc):
                    self.signal(proc, "terminate")
            deadline = time.monotonic() + grace
            for proc in list(self.procs.values()):
                proc.join(max(0.0, deadline - time.monotonic()))
                if not reaped(proc):
                    self.signal(proc, "kill")
                    proc.join()
                self._reaped(proc, how="join", via=f"{proc.name}.join()", kind="join",
                             call=f"{proc.name}.join()")

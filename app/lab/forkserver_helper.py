"""The echo server's forkserver: preloaded, shown once started, stopped last.

With ``--start-method forkserver`` the server's first worker makes
multiprocessing start a forkserver (a helper the server's workers are forked
from). It is a real process of the lab's tree, so it is reported when it
appears and when the server stops it — with its exit status, which
multiprocessing's own ``ForkServer._stop()`` throws away.
"""

import multiprocessing
import os
from multiprocessing import forkserver

from app.lab import events
from app.lab.mp_internals import forkserver_pid, stop_forkserver_and_status


class ForkserverHelper:
    def __init__(self, report, used):
        """*used*: the server starts its workers by forkserver."""
        self.report = report
        self.used = used
        self.shown_pid = None
        if used:
            # preloaded once in the forkserver, so each worker starts fast
            multiprocessing.get_context("forkserver").set_forkserver_preload(
                ["app.lab.worker"])

    @staticmethod
    def uid():
        return f"forkserver@{multiprocessing.current_process().name}"

    def ensure_running(self):
        """Before a worker's ``start()``: the forkserver is a helper the
        server starts on first use; show it when it is new."""
        if not self.used:
            return
        forkserver.ensure_running()
        pid = forkserver_pid()
        if pid is None or pid == self.shown_pid:
            return
        self.shown_pid = pid
        self.report(events.STARTED, pid=pid, ppid=os.getpid(), uid=self.uid(),
                    role="helper", name="forkserver", daemon=False, start_ms=None)

    def stop(self, report):
        """Stop it and reap it by pid, as ForkServer._stop() does, keeping its
        exit status to *report* (every worker it forked holds its "alive" pipe,
        so it goes last, after them)."""
        stopped = stop_forkserver_and_status()
        if stopped is None:
            return
        pid, status = stopped
        code = os.waitstatus_to_exitcode(status)
        report(events.EXITED, pid=pid, uid=self.uid(), exitcode=code)
        report(events.REAPED, pid=pid, uid=self.uid(), exitcode=code,
               how="join", via="os.waitpid(forkserver pid) on server stop",
               via_kind="forkserver_stop", via_call=f"os.waitpid({pid}, 0)")

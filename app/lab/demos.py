"""Small demonstrations of multiprocessing rules, run for real.

``daemonic_child_tries_to_fork`` runs in the demo process; ``DaemonDemo`` is
the dashboard's side: start it, read its outcome, join it.
"""

import itertools
import multiprocessing
import os
from multiprocessing import Pipe

from app.lab import events
from app.lab.channel import Channel
from app.lab.forking import LabProcess

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def _noop():
    pass


def daemonic_child_tries_to_fork(queue, commands):
    """A daemonic process (``p.daemon = True``) tries ``Process(...).start()``.

    The tutorial: "设定为True后,p不能创建自己的新进程". multiprocessing enforces it
    in ``start()`` with an assertion; we report the exact message it raises.
    """
    report = events.Reporter(queue)
    me = multiprocessing.current_process()
    report.hello(role="helper", name=me.name, daemon=me.daemon)
    try:
        multiprocessing.Process(target=_noop).start()
        outcome = {"started": True, "error": None}
    except AssertionError as exc:
        outcome = {"started": False, "error": str(exc)}
    report(events.ERROR if outcome["error"] else events.DEMO, pid=os.getpid(),
           error=outcome["error"], demo="daemon_child")
    commands.send(outcome)


class DaemonDemo:
    def __init__(self, queue, children, lock, wake):
        self.queue, self.children, self.lock, self.wake = queue, children, lock, wake
        self.numbers = itertools.count(1)

    def run(self):
        """Start a daemonic process that tries to start a child; return what
        multiprocessing said, after joining it."""
        with self.lock:
            ours, theirs = Pipe()
            name = f"daemon-demo-{next(self.numbers)}"
            proc = LabProcess(target=daemonic_child_tries_to_fork, name=name, daemon=True,
                              fds=(theirs, self.queue), args=(self.queue, theirs))
            self.children.start(proc, role="helper")
            pid = proc.pid
            theirs.close()
            self.wake()
        try:
            outcome = Channel(ours).first_message(READY_TIMEOUT)
        finally:
            ours.close()
            if self.children.get(pid):  # not already reaped implicitly
                self.children.join(proc, STOP_TIMEOUT)
        return dict(outcome, pid=pid, name=name)

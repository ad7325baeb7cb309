"""Small demonstrations of multiprocessing rules, run for real.

Each demonstration is a helper process the dashboard starts, which does the
thing the tutorial describes, reports what happened over the event queue, and
sends its outcome back over a pipe; ``HelperDemo`` is the dashboard's side:
start it, read its outcome, join it.

* ``daemonic_child_tries_to_fork`` — "设定为True后,p不能创建自己的新进程";
* ``run_vs_start`` — "p.start():启动进程,并调用该子进程中的p.run()": what if
  ``p.run()`` is called directly? It is a plain method call, in the caller's
  own process: no new pid. And "p.join只能join住start开启的进程,而不能join住run
  开启的进程".
"""

import itertools
import multiprocessing
import os
from multiprocessing import Pipe

from app.lab import events
from app.lab.channel import Channel
from app.lab.children import Children
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


class Piao(LabProcess):
    """The tutorial's 方式二, ``class Piao(Process)``: its ``run()`` does what
    the tutorial's does — ``print(os.getppid(), os.getpid())`` — except that it
    reports the two numbers (a ``demo`` event, and over *answer* to the demo)
    instead of printing them. *call* says how ``run()`` came to run."""

    def __init__(self, report, answer, **kwargs):
        super().__init__(**kwargs)
        self.report, self.answer, self.call = report, answer, None

    def run(self):
        seen = {"pid": os.getpid(), "ppid": os.getppid()}
        self.report(events.DEMO, demo="run_vs_start", error=None, call=self.call, **seen)
        self.answer.send(dict(seen, call=self.call))


def run_vs_start(queue, commands):
    """``p.run()`` called directly, then ``p.join()``, then ``p.start()`` —
    one ``Piao`` object, three calls, each answered by the real process."""
    report = events.Reporter(queue)
    me = multiprocessing.current_process()
    report.hello(role="helper", name=me.name, daemon=me.daemon)
    children = Children(report)
    answer_r, answer_w = Pipe(duplex=False)
    p = Piao(report, answer_w, name="piao", fds=(answer_w, queue))

    p.call = "p.run()"
    p.run()                          # a method call: it runs here, in this process
    ran = answer_r.recv()
    try:
        p.join()                     # "p.join只能join住start开启的进程"
        join_error = None
    except AssertionError as exc:
        join_error = str(exc)

    p.call = "p.start()"             # the child gets a copy of p, call included
    children.start(p, role="helper")
    started = answer_r.recv()
    children.join(p)                 # and this join() works: it was start()ed
    commands.send({"caller": {"pid": os.getpid(), "ppid": os.getppid()},
                   "run": ran, "start": started, "join_error": join_error})


class HelperDemo:
    """The dashboard's side of one kind of demonstration: *target(queue,
    pipe)* runs in a helper process named ``<prefix>-N``."""

    def __init__(self, queue, children, lock, wake, target, prefix, daemon=False):
        self.queue, self.children, self.lock, self.wake = queue, children, lock, wake
        self.target, self.prefix, self.daemon = target, prefix, daemon
        self.numbers = itertools.count(1)

    def run(self):
        """Start the helper; return its outcome, with its pid and name, after
        joining it."""
        with self.lock:
            ours, theirs = Pipe()
            name = f"{self.prefix}-{next(self.numbers)}"
            proc = LabProcess(target=self.target, name=name, daemon=self.daemon,
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


def daemon_demo(queue, children, lock, wake):
    """A daemonic process that tries to start a child."""
    return HelperDemo(queue, children, lock, wake, daemonic_child_tries_to_fork,
                      "daemon-demo", daemon=True)


def run_demo(queue, children, lock, wake):
    """A process that calls ``p.run()`` directly, then ``p.start()``."""
    return HelperDemo(queue, children, lock, wake, run_vs_start, "run-demo")

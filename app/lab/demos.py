"""Small demonstrations of multiprocessing rules, run for real."""

import multiprocessing
import os

from app.lab import events


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

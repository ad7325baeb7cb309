"""Daemonic workers at the server's exit: left to what ``daemon=True`` means.

When a process exits, multiprocessing's exit handler (``util._exit_function``,
run by atexit) terminates its daemonic children and joins them. The server
does not do that job for it — the lecture shows multiprocessing doing it — but
it must still tell the dashboard what happened, and by then the event queue is
closed. So a finalizer that multiprocessing runs *after* its exit handler
(``exitpriority`` below every other) collects the exits and reaps and sends
them over the command pipe, then stops the forkserver.
"""

from multiprocessing import util

from app.lab import events
from app.lab.children import reaped, uid_of
from app.lab.mp_internals import EXIT_HANDLER_CALL, popen_returncode

DAEMON_EXIT_VIA = ("multiprocessing's exit handler: terminate() of daemonic "
                   "children, then join()")
AFTER_EVERYTHING = -100   # util.Finalize runs higher priorities first


class DaemonExit:
    def __init__(self, exited, forkserver, commands):
        """*exited*: pids whose exit the server already reported; *forkserver*:
        its ``ForkserverHelper``; *commands*: the pipe to the dashboard."""
        self.exited = exited
        self.forkserver = forkserver
        self.commands = commands

    def leave_to_exit_handler(self, daemonic):
        util.Finalize(None, self.after_exit_handler, args=(daemonic,),
                      exitpriority=AFTER_EVERYTHING)

    def after_exit_handler(self, daemonic):
        found = []

        def collect(type_, **fields):
            found.append(events.make(type_, **fields))

        for proc in daemonic:
            if reaped(proc):
                common = {"pid": proc.pid, "uid": uid_of(proc),
                          "exitcode": popen_returncode(proc)}
                if proc.pid not in self.exited:  # else reported already
                    collect(events.EXITED, **common)
                collect(events.REAPED, how="implicit", via=DAEMON_EXIT_VIA,
                        via_kind="daemon_exit", via_call=EXIT_HANDLER_CALL, **common)
        self.forkserver.stop(collect)
        try:
            self.commands.send({"events": found})
        except OSError:
            pass  # the dashboard is gone

"""A clean fork for lab processes.

``multiprocessing``'s fork start method copies the whole parent into the child,
including every open file descriptor. For Forkscope that is wrong in three ways:

* a client forked by the dashboard would hold the dashboard's HTTP listening
  socket and every browser's web socket, so a closed browser tab never sees FIN;
* a worker forked by the echo server would hold the server's listening socket,
  so a restarted server cannot bind while an orphaned worker lives;
* a worker would hold the write end of the pipe behind its *parent's own*
  ``sentinel``, so the dashboard could not see the server die while workers
  live, and ``server.join(timeout)`` would wait forever.

``CleanForkPopen`` is multiprocessing's own ``popen_fork.Popen._launch``, line
for line, plus one step in the child before ``_bootstrap()``: every inherited
descriptor that the child was not explicitly given is pointed at ``/dev/null``
(``dup2``, not ``close``: a Python object that still believes it owns the number
can close it later without hitting a descriptor opened since). The child also
resets the signal dispositions it must not inherit from the dashboard.
"""

import multiprocessing
import os
import signal
from multiprocessing import popen_fork, resource_tracker, util

STDIO = (0, 1, 2)


def release_inherited_fds(keep):
    """Point every open descriptor not in *keep* at /dev/null."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd in keep or fd == devnull:
                continue
            try:
                os.fstat(fd)  # the listdir's own fd is already closed: skip it
            except OSError:
                continue
            os.dup2(devnull, fd, inheritable=False)
    finally:
        os.close(devnull)


def reset_child_signals():
    """SIGTERM must kill a lab process (exitcode -15, as the tutorial says), not
    run the dashboard's handler; Ctrl-C in the terminal reaches the whole process
    group, and the dashboard tears the lab down in order, so children ignore it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class CleanForkPopen(popen_fork.Popen):
    method = "fork"

    def _launch(self, process_obj):
        code = 1
        parent_r, child_w = os.pipe()
        child_r, parent_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(parent_r)
                os.close(parent_w)
                keep = {*STDIO, child_r, child_w, *process_obj.inherit_fds()}
                release_inherited_fds(keep)
                reset_child_signals()
                code = process_obj._bootstrap(parent_sentinel=child_r)
            finally:
                os._exit(code)
        else:
            os.close(child_w)
            os.close(child_r)
            self.finalizer = util.Finalize(self, util.close_fds, (parent_r, parent_w))
            self.sentinel = parent_r


class LabProcess(multiprocessing.Process):
    """A ``multiprocessing.Process`` started by a clean fork — or, when asked,
    by ``spawn`` or ``forkserver``, which start from a fresh interpreter and so
    inherit only the descriptors multiprocessing passes them.

    ``fds`` lists the objects (sockets, connections, queues) whose descriptors
    a forked child is given; everything else it inherited is released.
    """

    def __init__(self, *args, fds=(), start_method="fork", **kwargs):
        super().__init__(*args, **kwargs)
        self._fd_owners = tuple(fds)
        if start_method != "fork":
            # what a SpawnProcess / ForkServerProcess sets: the child's default
            self._start_method = start_method
        self.start_method = start_method

    def inherit_fds(self):
        keep = [fd_of(owner) for owner in self._fd_owners]
        tracker = resource_tracker._resource_tracker._fd
        if tracker is not None:  # shared by the whole tree, as multiprocessing means it
            keep.append(tracker)
        return keep

    @staticmethod
    def _Popen(process_obj):
        if process_obj.start_method == "fork":
            return CleanForkPopen(process_obj)
        context = multiprocessing.get_context(process_obj.start_method)
        return context.Process._Popen(process_obj)


def fd_of(owner):
    """The descriptor a child must keep for *owner* (a queue keeps its writer)."""
    if isinstance(owner, int):
        return owner
    writer = getattr(owner, "_writer", None)  # multiprocessing.Queue
    if writer is not None:
        return writer.fileno()
    return owner.fileno()

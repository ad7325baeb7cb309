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

``CleanForkPopen`` is multiprocessing's own fork (its copy of
``popen_fork.Popen._launch`` is in ``app.lab.mp_internals``), plus one step in
the child before the process's bootstrap: every inherited
descriptor that the child was not explicitly given is pointed at ``/dev/null``
(``dup2``, not ``close``: a Python object that still believes it owns the number
can close it later without hitting a descriptor opened since). The child also
resets the signal dispositions it must not inherit from the dashboard.
"""

import os
import signal

from app.lab.mp_internals import (
    ForkPopenWithChildStep,
    PopenChoosingProcess,
    context_popen,
    is_queue,
    queue_writer_fd,
    resource_tracker_fd,
)

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


class CleanForkPopen(ForkPopenWithChildStep):
    """multiprocessing's fork (``mp_internals.ForkPopenWithChildStep``) whose
    child releases what it was not given and resets its signals."""

    def child_step(self, process_obj, own_fds):
        release_inherited_fds({*STDIO, *own_fds, *process_obj.inherit_fds()})
        reset_child_signals()


class LabProcess(PopenChoosingProcess):
    """A ``multiprocessing.Process`` started by a clean fork — or, when asked,
    by ``spawn`` or ``forkserver``, which start from a fresh interpreter and so
    inherit only the descriptors multiprocessing passes them.

    ``fds`` lists the objects (sockets, connections, queues) whose descriptors
    a forked child is given; everything else it inherited is released.
    ``uid``, when given, is its uid in the model (``children.uid_of``): a
    puzzle's processes are named a, b, c… as OSTEP names them, in every puzzle.
    """

    def __init__(self, *args, fds=(), start_method="fork", uid=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._fd_owners = tuple(fds)
        self.start_method = start_method
        self.lab_uid = uid

    def inherit_fds(self):
        keep = [fd_of(owner) for owner in self._fd_owners]
        tracker = resource_tracker_fd()
        if tracker is not None:  # shared by the whole tree, as multiprocessing means it
            keep.append(tracker)
        return keep

    def popen(self):
        if self.start_method == "fork":
            return CleanForkPopen(self)
        return context_popen(self.start_method, self)


def fd_of(owner):
    """The descriptor a child must keep for *owner* (a queue keeps its writer)."""
    if isinstance(owner, int):
        return owner
    if is_queue(owner):
        return queue_writer_fd(owner)
    return owner.fileno()

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
import sys

from app.lab.mp_internals import (
    ForkPopenWithChildStep,
    PopenChoosingProcess,
    context_popen,
    is_queue,
    queue_writer_fd,
    resource_tracker_fd,
)

STDIO = (0, 1, 2)


def release_inherited_fds(keep, own=()):
    """Point every open descriptor not in *keep* (nor in *own*) at /dev/null.

    The directory is listed first, then /dev/null opened: ``open`` takes the
    lowest free number, which is the one the listing just used and closed (a
    forked child has one thread: nothing opens in between). So every name
    listed is an inherited descriptor or /dev/null itself, and no ``fstat``
    per descriptor is needed to find the listing's own, closed one — a
    system call and a Python call each, in every worker. Should /dev/null
    get another number all the same, each descriptor is checked as before."""
    names = os.listdir("/proc/self/fd")
    devnull = os.open(os.devnull, os.O_RDWR)
    unsure = str(devnull) not in names
    try:
        for name in names:
            fd = int(name)
            if fd in keep or fd in own or fd == devnull:
                continue
            if unsure:
                try:
                    os.fstat(fd)  # the listing's own fd is already closed: skip it
                except OSError:
                    continue
            os.dup2(devnull, fd, inheritable=False)
    finally:
        os.close(devnull)


def release_stdin():
    """``sys.stdin = None`` in a process that forks per connection (the echo
    server, whose own ``sys.stdin`` multiprocessing already swapped for
    /dev/null). A forked child's bootstrap then skips its own
    ``util._close_stdin()`` — closing ``sys.stdin``, opening /dev/null again
    and wrapping it in a new text file: several system calls, one more
    descriptor and some thirty copy-on-write page faults in every worker,
    for an input nothing in the lab reads. Descriptors 0-2 are untouched
    (``sys.stdin`` never owns descriptor 0: Python opens it with
    ``closefd=False``)."""
    if sys.stdin is not None:
        sys.stdin.close()
        sys.stdin = None


_lab_signals_in = None   # the pid whose signal dispositions reset_child_signals() set


def reset_child_signals():
    """SIGTERM must kill a lab process (exitcode -15, as the tutorial says), not
    run the dashboard's handler; Ctrl-C in the terminal reaches the whole process
    group, and the dashboard tears the lab down in order, so children ignore it."""
    global _lab_signals_in
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lab_signals_in = os.getpid()


def parent_has_lab_signals():
    """In a forked child: the parent set the lab's dispositions itself (the
    echo server, at its start; no lab code changes them afterwards), so this
    child inherited them. Its parent's pid is in the copied module global."""
    return _lab_signals_in == os.getppid()


class CleanForkPopen(ForkPopenWithChildStep):
    """multiprocessing's fork (``mp_internals.ForkPopenWithChildStep``) whose
    child releases what it was not given and resets its signals — unless it
    inherited the lab's already (``parent_has_lab_signals``: the echo server
    forks one child per connection, each object a forked child touches for
    the first time is a copy-on-write fault in it, and ``signal.signal()``
    is five Python calls)."""

    def child_step(self, process_obj, own_fds):
        release_inherited_fds(process_obj.inherit_fds(), own_fds)
        if not parent_has_lab_signals():
            reset_child_signals()


class LabProcess(PopenChoosingProcess):
    """A ``multiprocessing.Process`` started by a clean fork — or, when asked,
    by ``spawn`` or ``forkserver``, which start from a fresh interpreter and so
    inherit only the descriptors multiprocessing passes them.

    ``fds`` lists the objects (sockets, connections, queues) or descriptor
    numbers a forked child is given; everything else it inherited is released.
    ``uid``, when given, is its uid in the model (``children.uid_of``): a
    puzzle's processes are named a, b, c… as OSTEP names them, in every puzzle.
    """

    def __init__(self, *args, fds=(), start_method="fork", uid=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._fd_owners = tuple(fds)
        self.start_method = start_method
        self.lab_uid = uid

    def inherit_fds(self):
        """Run in the forked child: stdio, the ``fds`` it was given, the
        resource tracker's. Numbers are kept as they are (the echo server
        passes numbers: its workers call nothing to find them)."""
        keep = list(STDIO)
        for owner in self._fd_owners:
            keep.append(owner if isinstance(owner, int) else fd_of(owner))
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

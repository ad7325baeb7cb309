"""Every use of ``multiprocessing``'s private internals, in one place.

Forkscope shows what multiprocessing really does — when a child is reaped,
which helper processes it starts, what a fork inherits — and some of that is
only visible, or only controllable, through attributes CPython does not
promise to keep. Each such access is one named function or class here, with
the file of CPython 3.11 it mirrors, so that a new Python version means
reviewing this module, and nothing else (``tests/unit/test_mp_internals.py``
checks each against real objects; ``test_no_private_multiprocessing_access``
checks that no other module of ``app/`` reaches in).

Checked against CPython 3.11 (3.11.7, ``Lib/multiprocessing/``). On any other
version the import fails at once with a message saying what to review: a
silently wrong exit code or a leaked helper process would be worse, for a
tool whose point is to show the truth, than refusing to start.
"""

import multiprocessing
import os
import select
import struct
import sys
from multiprocessing import forkserver, popen_fork, queues, resource_tracker, util

CHECKED_VERSIONS = ((3, 11),)

if sys.version_info[:2] not in CHECKED_VERSIONS:  # pragma: no cover - the CI runs 3.11
    raise RuntimeError(
        f"app/lab/mp_internals.py mirrors multiprocessing's private internals of "
        f"CPython {', '.join(f'{v[0]}.{v[1]}' for v in CHECKED_VERSIONS)}; this is "
        f"Python {sys.version.split()[0]}. Compare each function there with this "
        f"version's Lib/multiprocessing/, run tests/unit/test_mp_internals.py, "
        f"then add the version to CHECKED_VERSIONS.")


# -- queues.py: Queue -----------------------------------------------------------

# connection.py, 3.11 (``Connection._send_bytes``): a message is a 4-byte
# big-endian length, then the bytes; the reader (``_recv_bytes``) expects that.
FRAME_HEADER = 4
# POSIX: a write of at most PIPE_BUF bytes to a pipe is atomic, never interleaved
# with another process's write (Linux: 4096).
ATOMIC_FRAME = select.PIPE_BUF


def queue_write_atomic(queue, data, fd=None):
    """Put already-pickled *data* on *queue* as one ``write(2)`` of at most
    ``PIPE_BUF`` bytes, without the queue's cross-process write lock.

    ``_wlock`` only keeps writes from interleaving, and a pipe already
    guarantees that for a write this small. Not taking it matters: a lab
    process can be terminated or killed at any instant, and one that dies
    holding ``_wlock`` leaves every other reporter blocked on it forever.
    Safe only while *every* writer of the queue writes frames this small
    (a large frame is several writes, between which this one could land):
    ``app.lab.events.Reporter`` guarantees it. Returns False, writing
    nothing, when the frame would be too large. *fd*: the write end's
    descriptor (``queue_writer_fd``), if the caller keeps it."""
    frame = struct.pack("!i", len(data)) + data
    if len(frame) > ATOMIC_FRAME:
        return False
    queue._sem.acquire()  # as Queue.put: counts queued items; get() releases it
    if fd is None:
        fd = queue._writer.fileno()
    written = os.write(fd, frame)
    assert written == len(frame), "a pipe write of at most PIPE_BUF is all or nothing"
    return True


def queue_writer_fd(queue):
    """The descriptor of the queue's write end (``Queue._writer``, queues.py
    3.11): what a child that only reports must keep open through a clean fork."""
    return queue._writer.fileno()


def is_queue(obj):
    return isinstance(obj, queues.Queue)


# -- process.py: BaseProcess and its Popen -----------------------------------------

def popen_returncode(proc):
    """The exit code waitpid() collected for *proc*, None if it has not been
    reaped (or not started). Read from ``proc._popen.returncode`` (process.py
    and popen_fork.py, 3.11) because ``proc.exitcode`` would call ``poll()``,
    and polling reaps: the zombie the lecture shows would be gone."""
    popen = proc._popen
    return None if popen is None else popen.returncode


def parent_name(proc):
    """The name of the process that created *proc* (``BaseProcess._parent_name``,
    set in ``__init__``, process.py 3.11)."""
    return proc._parent_name


class PopenChoosingProcess(multiprocessing.Process):
    """A ``Process`` that picks its own ``Popen`` per object: ``popen()``.

    ``BaseProcess.start()`` (process.py 3.11) creates the child with
    ``self._Popen(self)``; a context's Process class (context.py) fixes that
    per class. Forkscope starts each process with the method its settings
    name, and its fork with a clean descriptor table (``app.lab.forking``)."""

    def popen(self):
        raise NotImplementedError

    @staticmethod
    def _Popen(process_obj):
        return process_obj.popen()


def context_popen(method, process_obj):
    """Start *process_obj* the way *method*'s context would (context.py 3.11:
    ``SpawnProcess._Popen`` / ``ForkServerProcess._Popen``)."""
    return multiprocessing.get_context(method).Process._Popen(process_obj)


class ForkPopenWithChildStep(popen_fork.Popen):
    """multiprocessing's fork, with one step of ours in the child.

    ``_launch`` is ``popen_fork.Popen._launch`` of CPython 3.11 line for line,
    plus ``self.child_step(process_obj, own_fds)`` in the child before
    ``process_obj._bootstrap()``. *own_fds* are the two pipe ends the child
    needs (its parent sentinel and the end the parent's sentinel watches)."""

    method = "fork"

    def child_step(self, process_obj, own_fds):
        raise NotImplementedError

    def _launch(self, process_obj):
        code = 1
        parent_r, child_w = os.pipe()
        child_r, parent_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(parent_r)
                os.close(parent_w)
                self.child_step(process_obj, (child_r, child_w))
                code = process_obj._bootstrap(parent_sentinel=child_r)
            finally:
                os._exit(code)
        else:
            os.close(child_w)
            os.close(child_r)
            self.finalizer = util.Finalize(self, util.close_fds, (parent_r, parent_w))
            self.sentinel = parent_r


# -- forkserver.py: the one ForkServer of this process -------------------------------

def forkserver_pid():
    """Pid of this process's forkserver, None if it has not started one
    (``forkserver._forkserver._forkserver_pid``, forkserver.py 3.11)."""
    return forkserver._forkserver._forkserver_pid


def stop_forkserver_and_status():
    """Stop this process's forkserver and reap it by pid; return ``(pid,
    waitstatus)``, or None if none runs.

    Mirrors ``ForkServer._stop_unlocked`` (forkserver.py 3.11) step for step —
    close the "alive" pipe (the forkserver exits on EOF), ``waitpid`` it,
    unlink its socket — except that it keeps the wait status, which
    ``_stop()`` throws away and the lecture reports."""
    fs = forkserver._forkserver
    with fs._lock:
        pid = fs._forkserver_pid
        if pid is None:
            return None
        os.close(fs._forkserver_alive_fd)
        fs._forkserver_alive_fd = None
        _, status = os.waitpid(pid, 0)
        fs._forkserver_pid = None
        if not util.is_abstract_socket_namespace(fs._forkserver_address):
            os.unlink(fs._forkserver_address)
        fs._forkserver_address = None
    return pid, status


# -- resource_tracker.py: the one ResourceTracker of this tree -------------------------

def resource_tracker_pid():
    """Pid of the resource_tracker this process started, None if none
    (``_resource_tracker._pid``, resource_tracker.py 3.11). Unlike
    ``getfd()``, reading it does not start one."""
    return resource_tracker._resource_tracker._pid


def resource_tracker_fd():
    """This process's write end to the resource_tracker, None if it has none
    (``_resource_tracker._fd``, resource_tracker.py 3.11): a forked child must
    keep it, as multiprocessing's own fork does, to share the tracker."""
    return resource_tracker._resource_tracker._fd


def stop_resource_tracker():
    """Stop the resource_tracker and reap it (``ResourceTracker._stop``,
    resource_tracker.py 3.11: close the pipe, ``waitpid``)."""
    resource_tracker._resource_tracker._stop()


# -- util.py ---------------------------------------------------------------------------

EXIT_HANDLER_CALL = "util._exit_function()"  # how the lecture names it


def run_exit_handler():
    """multiprocessing's own atexit handler, now (``util._exit_function``,
    util.py 3.11): finalizers, then terminate() of daemonic children and
    join() of all. Runs once; atexit's later call does nothing."""
    util._exit_function()

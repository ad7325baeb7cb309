"""The clean fork's child step, in real forked processes.

What a forked lab child must hold (its own descriptors, nothing of its
parent's others) and what it must not pay for (work its parent already did:
signal dispositions, stdin). Each test forks a process of its own, so pytest's
own stdin and signal handlers are left alone.
"""

import os
import pickle
import signal
import socket
import sys

from app.lab import forking


def _in_fork(fn):
    """fn()'s pickled result, run in a child forked with os.fork(); the
    result travels on descriptor ``result_fd`` (a child must keep it)."""
    global result_fd
    r, w = os.pipe()
    result_fd = w
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(r)
            os.write(w, pickle.dumps(fn()))
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return pickle.loads(b"".join(chunks))


result_fd = None


def _open_fds():
    """The descriptors open now (the listing's own, closed again, left out)."""
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            os.fstat(int(name))
        except OSError:
            continue
        fds.add(int(name))
    return fds


def _target(fd):
    return os.readlink(f"/proc/self/fd/{fd}")


def test_released_descriptors_point_at_dev_null_and_no_new_one_appears():
    """Without an fstat per descriptor: the listing's own number is the one
    /dev/null takes next, so nothing is opened where nothing was."""
    def child():
        a, b = socket.socketpair()
        kept, released = a.fileno(), b.fileno()
        before = _open_fds()
        forking.release_inherited_fds({*forking.STDIO, kept, result_fd})
        return before, _open_fds(), _target(kept), _target(released)

    before, after, kept, released = _in_fork(child)
    assert after == before
    assert kept.startswith("socket:") and released == "/dev/null"


def _lab_child(report):
    """A LabProcess forked from here: what it inherited."""
    r, w = os.pipe()

    def target():
        os.write(w, pickle.dumps((signal.getsignal(signal.SIGTERM),
                                  signal.getsignal(signal.SIGINT),
                                  sys.stdin is None, _target(0))))

    proc = forking.LabProcess(target=target, fds=(w,), start_method="fork")
    proc.start()
    os.close(w)
    got = pickle.loads(os.read(r, 65536))
    os.close(r)
    proc.join(10)
    assert proc.exitcode == 0
    return report(got)


def test_a_child_of_a_process_with_other_handlers_gets_the_lab_signals():
    def child():
        signal.signal(signal.SIGTERM, lambda *a: None)  # the dashboard's, say
        return _lab_child(lambda got: got[:2])

    assert _in_fork(child) == (signal.SIG_DFL, signal.SIG_IGN)


def test_a_child_of_the_echo_server_inherits_them_and_knows_it():
    """The echo server resets its own at start: its workers need not."""
    def child():
        forking.reset_child_signals()
        r, w = os.pipe()
        proc = forking.LabProcess(
            target=lambda: os.write(w, pickle.dumps(forking.parent_has_lab_signals())),
            fds=(w,), start_method="fork")
        proc.start()
        proc.join(10)
        return pickle.loads(os.read(r, 100)), _lab_child(lambda got: got[:2])

    inherited, signals = _in_fork(child)
    assert inherited is True and signals == (signal.SIG_DFL, signal.SIG_IGN)


def test_after_release_stdin_a_forked_child_opens_no_stdin_of_its_own():
    """multiprocessing's bootstrap closes and reopens sys.stdin in every
    child unless it is None: the echo server's workers skip that."""
    def child():
        with_stdin = _lab_child(lambda got: got[2])
        fd0 = _target(0)
        forking.release_stdin()
        return with_stdin, fd0, _lab_child(lambda got: got[2:])

    with_stdin, fd0, (stdin_none, child_fd0) = _in_fork(child)
    assert with_stdin is False      # without it, the child made a sys.stdin of its own
    assert stdin_none is True and child_fd0 == fd0   # descriptor 0 as it was

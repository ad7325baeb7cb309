"""Each of multiprocessing's private internals we use, checked on real objects.

These are the tests to run first on a new Python: each fails if the attribute
it mirrors moved or changed meaning. The last test checks that nothing else in
``app/`` reaches into multiprocessing's private attributes.
"""

import ast
import fcntl
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
from multiprocessing import connection, forkserver, get_context

import psutil
import pytest

from app.lab import mp_internals as mpi

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def queue():
    q = get_context("spawn").Queue()
    yield q
    q.close()
    q.join_thread()


def _exit_with(code):
    os._exit(code)


def test_queue_write_atomic_is_one_item_readable_by_get(queue):
    assert mpi.queue_write_atomic(queue, pickle.dumps({"type": "x"}))
    assert queue.qsize() == 1            # the semaphore counted it, as put() does
    assert queue.get(timeout=5) == {"type": "x"}
    assert queue.qsize() == 0


def test_queue_write_atomic_refuses_a_frame_larger_than_pipe_buf(queue):
    """Larger than PIPE_BUF, a write could interleave with another process's:
    nothing is written and the caller must split or cut it."""
    big = b"x" * mpi.ATOMIC_FRAME
    assert not mpi.queue_write_atomic(queue, big)
    assert queue.qsize() == 0
    assert mpi.queue_write_atomic(queue, pickle.dumps(b"x" * 100))
    assert queue.get(timeout=5) == b"x" * 100


def test_queue_writer_fd_is_the_write_end_of_the_queues_pipe(queue):
    fd = mpi.queue_writer_fd(queue)
    assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
    assert mpi.queue_write_atomic(queue, pickle.dumps(1))
    # the bytes are in *this* pipe: its read end (the queue's reader) has them
    assert os.fstat(fd).st_ino == os.fstat(queue._reader.fileno()).st_ino
    assert queue.get(timeout=5) == 1
    assert mpi.is_queue(queue) and not mpi.is_queue(object())


def test_popen_returncode_is_none_until_reaped_and_never_reaps():
    proc = get_context("fork").Process(target=_exit_with, args=(3,))
    assert mpi.popen_returncode(proc) is None            # not started
    proc.start()
    try:
        # wait for the exit without reaping (the sentinel fires a moment
        # before the child is a zombie: it closes its descriptors first)
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
        assert mpi.popen_returncode(proc) is None            # exited, not reaped...
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE  # ...still
    finally:
        proc.join(10)
    assert mpi.popen_returncode(proc) == 3


def test_parent_name_is_the_creating_process():
    from multiprocessing import current_process
    proc = get_context("spawn").Process(target=_exit_with, args=(0,), name="p")
    assert mpi.parent_name(proc) == current_process().name


class _Chooser(mpi.PopenChoosingProcess):
    def __init__(self, method, **kw):
        super().__init__(**kw)
        self.method = method
        self.asked = 0

    def popen(self):
        self.asked += 1
        return mpi.context_popen(self.method, self)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_popen_choosing_process_starts_with_the_popen_it_chooses(method):
    proc = _Chooser(method, target=_exit_with, args=(5,))
    proc.start()
    assert proc.asked == 1
    proc.join(20)
    assert proc.exitcode == 5


class _Recording(mpi.ForkPopenWithChildStep):
    """Child step: write the two own fds to a pipe, then exit early with 7."""

    report_w = None

    def child_step(self, process_obj, own_fds):
        os.write(self.report_w, pickle.dumps((os.getpid(), own_fds)))


class _RecordingProcess(mpi.PopenChoosingProcess):
    def popen(self):
        return _Recording(self)


def test_fork_popen_runs_the_child_step_before_the_target_and_keeps_sentinels():
    r, w = os.pipe()
    _Recording.report_w = w
    try:
        proc = _RecordingProcess(target=_exit_with, args=(7,))
        proc.start()
        pid, own_fds = pickle.loads(os.read(r, 4096))
        assert pid == proc.pid and len(own_fds) == 2
        connection.wait([proc.sentinel], 10)   # the parent's sentinel works as in 3.11
        proc.join(10)
        assert proc.exitcode == 7                # then _bootstrap() ran the target
    finally:
        os.close(r)
        os.close(w)


def test_forkserver_pid_and_stop_with_status():
    if mpi.forkserver_pid() is not None:  # pragma: no cover - another test started one
        mpi.stop_forkserver_and_status()
    assert mpi.forkserver_pid() is None
    assert mpi.stop_forkserver_and_status() is None
    forkserver.ensure_running()
    pid = mpi.forkserver_pid()
    assert psutil.Process(pid).ppid() == os.getpid()
    stopped_pid, status = mpi.stop_forkserver_and_status()
    assert stopped_pid == pid and os.waitstatus_to_exitcode(status) == 0
    assert not psutil.pid_exists(pid)            # reaped, not a zombie
    assert mpi.forkserver_pid() is None


def test_resource_tracker_pid_and_fd_are_this_trees_tracker():
    # tests/conftest.py started it, in this process
    pid, fd = mpi.resource_tracker_pid(), mpi.resource_tracker_fd()
    assert psutil.Process(pid).ppid() == os.getpid()
    assert "resource_tracker" in " ".join(psutil.Process(pid).cmdline())
    assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY


def run_python(code):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_stop_resource_tracker_stops_and_reaps_it():
    # in a fresh interpreter: this test process's tracker must keep running
    before, after, exists = run_python("""
        import os
        from multiprocessing import resource_tracker
        from app.lab import mp_internals as mpi
        resource_tracker.ensure_running()
        pid = mpi.resource_tracker_pid()
        mpi.stop_resource_tracker()
        print(pid, mpi.resource_tracker_pid(), os.path.exists(f"/proc/{pid}"))
    """)
    assert before.isdigit() and after == "None" and exists == "False"


def test_run_exit_handler_terminates_and_joins_daemonic_children():
    _pid, code, exists = run_python("""
        import os, time
        from multiprocessing import get_context
        from app.lab import mp_internals as mpi
        p = get_context("fork").Process(target=time.sleep, args=(60,), daemon=True)
        p.start()
        mpi.run_exit_handler()
        print(p.pid, p.exitcode, os.path.exists(f"/proc/{p.pid}"))
    """)
    assert code == "-15" and exists == "False"
    assert mpi.EXIT_HANDLER_CALL == "util._exit_function()"


# -- nothing else reaches in ----------------------------------------------------------

# multiprocessing's private names we have ever used (and a few neighbours)
MP_PRIVATE = {"_popen", "_Popen", "_start_method", "_bootstrap", "_parent_name",
              "_parent_pid", "_sem", "_wlock", "_rlock", "_writer", "_reader",
              "_forkserver", "_forkserver_pid", "_forkserver_alive_fd",
              "_forkserver_address", "_resource_tracker", "_pid", "_fd", "_stop",
              "_launch", "_exit_function", "_config", "_identity", "_sentinel",
              "_lock"}


def private_accesses(path):
    """``x._name`` where x is not self/cls (or ``os._exit``), and any use —
    attribute or definition — of a multiprocessing private name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if (name.startswith("_") and not name.startswith("__")
                    and (name in MP_PRIVATE or owner not in ("self", "cls"))
                    and (owner, name) != ("os", "_exit")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{name}")
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in MP_PRIVATE:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: def {node.name}")
    return found


def test_no_private_multiprocessing_access_outside_mp_internals():
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        # mp_internals: multiprocessing's; eio_internals: python-engineio's one table
        if path.name not in ("mp_internals.py", "eio_internals.py"):
            found += private_accesses(path)
    assert found == []
    # and the check does see them where they are
    assert len(private_accesses(ROOT / "app" / "lab" / "mp_internals.py")) > 20

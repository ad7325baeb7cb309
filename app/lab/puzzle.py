"""A puzzle process: one process of an OSTEP fork-tree puzzle, for real.

OSTEP's ``fork.py`` homework (``app/model/puzzle.py``) says ``a+b`` and ``c-``;
here ``a``, ``b``, ``c`` are real ``multiprocessing`` processes, and each does
what its action says when the dashboard tells it to, over its command channel
(``app.lab.commands``):

* ``fork {name}`` — ``Process(...).start()``: the child is a new puzzle
  process. Its command channel is a ``Pipe()`` the *dashboard* made; the end
  the child will hold arrives right after the request, passed over this
  channel as a descriptor (``channel.take_fd``), and is kept through the clean
  fork (``app.lab.forking``) while everything else is released — this
  process's own channel, its other children's pipes. So the dashboard can talk
  to every puzzle process directly, wherever the kernel moves it in the tree.
* ``exit`` — ``os._exit(0)``, as C's ``exit()``: a ``multiprocessing``
  process that returns from its target would ``join()`` its children first
  (``util._exit_function`` at the end of its bootstrap), and a parent in
  fork.py does not wait for its children. With ``leaf_only`` (fork.py's
  ``-L``) a process that has children, as ``/proc`` lists them, refuses.
* ``reap {pid}`` — the parent's ``waitpid``: its own child by ``p.join()``,
  or an orphan the kernel gave it (``os.waitpid(pid, 0)``, by pid: never
  ``waitpid(-1)``). fork.py's trees have no zombies, so a puzzle process also
  reaps an own child the moment its sentinel says it exited.

**Orphans.** When a process exits, the kernel re-parents its children to the
nearest ancestor that is a *child subreaper* (``PR_SET_CHILD_SUBREAPER``).
With ``reparent="root"`` only ``a`` is one (fork.py's default); with
``"ancestor"`` every puzzle process is (fork.py's ``-R``): the orphans go to
the exiting process's parent. The attribute is not inherited by ``fork()``:
each process sets it itself. Every puzzle process watches its parent with a
pidfd; when it fires the kernel has already re-parented it, so
``os.getppid()``, asked from inside, names the new parent — which it reports
(``reparented``).

Each process reports on the lab's event queue as every lab process does:
``hello`` (itself), ``created`` / ``started`` / ``exited`` / ``reaped`` (of its
children). A puzzle process whose channel closes — the dashboard is gone —
exits at once, so nothing outlives the dashboard.
"""

import os
import traceback
from multiprocessing.connection import Connection, wait

import psutil

from app.lab import commands as cmd
from app.lab import events
from app.lab.channel import take_fd
from app.lab.children import Children, exit_status_without_reaping
from app.lab.commands import Ops, ok, refused, serve_one
from app.lab.forking import LabProcess
from app.lab.orphans import become_subreaper, direct_children

ROOT = "a"
REAP_TIMEOUT = 5.0   # an exit the dashboard asked for takes a millisecond


def puzzle_uid(prefix, name):
    """``puzzle-3/c``: the names start again at ``a`` in every puzzle."""
    return f"{prefix}/{name}"


def ppid_of(pid):
    """The parent /proc names for *pid*; None if there is no such process."""
    try:
        return psutil.Process(pid).ppid()
    except psutil.NoSuchProcess:
        return None


class PuzzleProcess:
    """One puzzle process: its channel, its children, the parent it watches."""

    def __init__(self, name, prefix, channel, queue, every_subreaper):
        self.name = name
        self.prefix = prefix
        self.uid = puzzle_uid(prefix, name)
        self.channel = channel
        self.queue = queue
        self.every_subreaper = every_subreaper
        self.report = events.Reporter(queue)
        self.reaped = set()      # pids this process has reaped
        self.children = Children(self.report, on_reaped=self.reaped.add)
        self.parent = None       # the parent's pid, and a pidfd that fires when it exits
        self.parent_fd = None
        self.exiting = False
        self.ops = Ops({cmd.FORK: self.op_fork, cmd.EXIT: self.op_exit,
                        cmd.REAP: self.op_reap})

    def run(self):
        if self.name == ROOT or self.every_subreaper:
            become_subreaper()
        self.watch_parent()
        self.report.hello(role="puzzle", name=self.name, daemon=False, uid_=self.uid)
        self.channel.send({"ready": os.getpid()})
        while not self.exiting:
            watched = self.children.sentinels()
            ready = wait([self.channel, self.parent_fd, *watched])
            for obj in ready:            # exits first: a reap request may follow one
                if obj in watched:
                    self.reap_own(watched[obj])
            if self.parent_fd in ready:
                self.reparented()
            if self.channel in ready and serve_one(self.channel, self.ops) is None:
                return                   # the dashboard has gone: so do we

    # -- the parent, and being re-parented -------------------------------------------------
    def watch_parent(self):
        self.parent = os.getppid()
        self.parent_fd = os.pidfd_open(self.parent)

    def reparented(self):
        """Our parent exited. The kernel re-parented us before it woke the
        pidfd, so ``getppid()`` already names the subreaper that has us now."""
        old = self.parent
        os.close(self.parent_fd)
        self.watch_parent()
        self.report(events.REPARENTED, uid=self.uid, old_ppid=old, ppid=self.parent)

    # -- ops ---------------------------------------------------------------------------------
    def op_fork(self, request):
        name = request["name"]
        theirs = Connection(take_fd(self.channel, REAP_TIMEOUT))
        proc = LabProcess(target=run_puzzle, name=name, uid=puzzle_uid(self.prefix, name),
                          fds=(theirs, self.queue),
                          args=(name, self.prefix, theirs, self.queue, self.every_subreaper))
        try:
            self.children.start(proc, role="puzzle")
        finally:
            theirs.close()  # the child has its own copy now
        return ok(pid=proc.pid)

    def op_exit(self, request):
        kids = sorted(direct_children(os.getpid()))
        if request.get("leaf_only") and kids:
            return refused(cmd.HAS_CHILDREN, f"{self.name} has children ({kids}): with "
                           "leaf_only only a leaf may exit", children=kids)
        self.exiting = True   # run() returns after this reply is sent; then os._exit(0)
        return ok(children=kids)

    def op_reap(self, request):
        """``waitpid`` on child *pid*, once it has exited (it was told to)."""
        pid = request["pid"]
        proc = self.children.get(pid)
        if proc is not None:
            if not wait([proc.sentinel], REAP_TIMEOUT):
                return refused(cmd.NO_ANSWER, f"pid {pid} has not exited")
            self.reap_own(pid)
        elif pid not in self.reaped:
            if ppid_of(pid) != os.getpid():
                return refused(cmd.NOT_MY_CHILD, f"/proc says pid {pid} is not a child of "
                               f"{self.name} (pid {os.getpid()})")
            if not self.reap_adopted(pid, request.get("uid")):
                return refused(cmd.NO_ANSWER, f"pid {pid} has not exited")
        return ok(pid=pid)

    # -- reaping -------------------------------------------------------------------------------
    def reap_own(self, pid):
        """A child we forked exited: report it, and ``join()`` it at once."""
        proc = self.children.get(pid)
        if proc is None:
            return
        self.children.observe_exit(pid)
        self.children.join(proc)

    def reap_adopted(self, pid, uid):
        """An orphan the kernel gave us has exited: ``os.waitpid(pid, 0)``."""
        pidfd = os.pidfd_open(pid)
        try:
            if not wait([pidfd], REAP_TIMEOUT):
                return False
        finally:
            os.close(pidfd)
        code = exit_status_without_reaping(pid)
        self.report(events.EXITED, pid=pid, uid=uid, exitcode=code)
        _, status = os.waitpid(pid, 0)
        self.reaped.add(pid)
        call = f"os.waitpid({pid}, 0)"
        self.report(events.REAPED, pid=pid, uid=uid,
                    exitcode=os.waitstatus_to_exitcode(status), how="join",
                    via=f"{call} by {self.name} (subreaper)", via_kind="adopter_waitpid",
                    via_call=call)
        return True


def run_puzzle(name, prefix, channel, queue, every_subreaper):
    """Target of a puzzle Process. It ends with ``os._exit``: C's ``exit()``,
    which does not wait for children, as ``multiprocessing``'s own exit would."""
    code = 0
    try:
        PuzzleProcess(name, prefix, channel, queue, every_subreaper).run()
    except Exception:  # noqa: BLE001 - reported, and the process still exits
        code = 1
        try:
            events.Reporter(queue)(events.ERROR, error=f"puzzle {name}: "
                                   f"{traceback.format_exc(limit=3)}")
        except Exception:  # noqa: BLE001, S110 - the queue may be gone with the dashboard
            pass
    os._exit(code)

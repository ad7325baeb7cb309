"""The echo server: the tutorial's 链接循环, observed.

Exactly the tutorial's design — ``SO_REUSEADDR``, ``bind``, ``listen(5)``, an
accept loop that starts one worker ``Process(target=talk, args=(conn, addr))``
per connection and closes its own copy of ``conn`` — with one change: instead of
blocking in ``accept()``, the loop waits on everything a parent must watch at
once (``poll()``, what ``multiprocessing.connection.wait`` does, with the set
kept between passes: ``app.lab.pollset``):

* the listening socket   -> accept, fork a worker;
* the command channel    -> one request, answered by the op table (terminate /
  kill / join a worker, relay to a worker, ping, stop);
* each worker's sentinel -> the worker exited: report it, do *not* reap it;
* a worker's channel, while a relayed request awaits its answer;
* the dashboard's sentinel -> the dashboard died: stop.

So the server learns of an exit the moment it happens and leaves the zombie for
the teacher to ``join()``.

Gates (``app.lab.stepping``): after ``accept()`` returned and before the
``Process`` is made (``accept``), and once it exists but before ``p.start()``
(``start``), the server may stop, in step or slow mode. Its wait is the same
loop without the listening socket (``pass_once``): it still answers its
channel — terminate, kill, join and relay to other workers, stop — and sees
its workers exit; it returns when a ``release`` for this wait came, the
delay passed, the mode changed, or it was told to stop.
"""

import multiprocessing
import socket

from app.lab import events, stepping
from app.lab.children import Children
from app.lab.commands import serve_one
from app.lab.daemon_exit import DaemonExit
from app.lab.forking import release_stdin, reset_child_signals
from app.lab.forkserver_helper import ForkserverHelper
from app.lab.mp_internals import queue_writer_fd
from app.lab.pollset import PollSet
from app.lab.relay import WorkerLines
from app.lab.server_ops import server_ops
from app.lab.worker import WORKER_OPS, make_worker


def open_listener(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # 就是它,在bind前加
    s.bind((host, port))
    s.listen(5)
    return s


class EchoServer:
    """The 链接循环: accept, cap, start a worker per connection; watch.

    Its other jobs are rooms of their own: the op table (``server_ops``), the
    workers' command channels and relays (``relay.WorkerLines``), the
    forkserver (``forkserver_helper``), daemonic workers at exit
    (``daemon_exit``)."""

    def __init__(self, host, port, queue, commands, lab, limits, step=None):
        self.host, self.port = host, port
        self.max_workers = limits["max_workers"]
        self.idle_timeout = limits["idle_timeout"]
        self.queue = queue
        self.commands = commands
        self.lab = lab  # LabSettings as a dict: start_method, daemon_workers, ...
        self.report = events.Reporter(queue)
        self.queue_fd = queue_writer_fd(queue)  # what each forked worker keeps of it
        forked = lab["start_method"] == "fork"
        self.lines = WorkerLines(reply=commands.send, forked_ops=WORKER_OPS if forked else None)
        self.workers = Children(self.report, on_reaped=self.lines.close)
        self.forkserver = ForkserverHelper(self.report,
                                           used=lab["start_method"] == "forkserver")
        self.step = step if step is not None else stepping.StepControl()
        self.gates = stepping.Stepper(self.step, self.report, wait=self.wait_at_gate)
        self.ops = server_ops(self)
        self.count = 0
        self.running = True
        self.watching = None   # the loop's PollSet
        self.listener = None
        self.peer = None       # the connection being accepted
        self.start_gate = self.before_start  # made once, not per connection

    def serve(self):
        me = multiprocessing.current_process()
        self.report.hello(role="server", name=me.name, daemon=me.daemon)
        try:
            listener = open_listener(self.host, self.port)
        except OSError as exc:
            self.commands.send({"error": f"cannot listen on {self.host}:{self.port}: "
                                         f"{exc.strerror or exc}"})
            return 3
        with listener:
            address = listener.getsockname()[:2]
            self.report(events.LISTENING, host=address[0], port=address[1])
            self.commands.send({"ready": list(address)})
            self.loop(listener)
        self.stop_workers()
        self.gates.reach(stepping.EXIT)  # stopping: a gate here passes at once ("stop")
        self.gates.flush_phase()
        return 0

    def stop_workers(self):
        """Non-daemonic workers are terminated and joined here, reported.
        Daemonic ones are left to what the ``daemon`` flag means
        (``app.lab.daemon_exit``). The forkserver goes last: every worker it
        forked holds its "alive" pipe, so it outlives them."""
        daemonic = [p for p in self.workers.procs.values() if p.daemon]
        for proc in daemonic:
            del self.workers.procs[proc.pid]
        self.workers.stop_all()
        if daemonic:
            DaemonExit(self.workers.exited, self.forkserver,
                       self.commands).leave_to_exit_handler(daemonic)
        else:
            self.forkserver.stop(self.report)

    def loop(self, listener):
        dashboard = multiprocessing.parent_process().sentinel
        self.dashboard = dashboard
        self.listener = listener
        self.watching = PollSet([listener, self.commands, dashboard])
        while self.running:
            self.gates.reach(stepping.ACCEPTING)   # conn, addr = s.accept()
            self.pass_once(listener, self.gates.due())

    def pass_once(self, listener, timeout=None):
        """One pass: wait (at most *timeout* seconds) for anything to be ready,
        handle it. *listener* None: not accepting (waiting at a gate)."""
        watched = self.workers.sentinels()
        answering = self.lines.awaited()  # empty unless a relay is in flight
        relays = self.lines.timeout()
        if relays is not None:
            timeout = relays if timeout is None else min(timeout, relays)
        ready = self.watching.wait([*watched, *answering], timeout)
        for obj in ready:
            if obj is listener and listener is not None:
                with self.report.batched():  # accepted, created, started: one write
                    self.accept(listener)
            elif obj is self.commands:
                if serve_one(self.commands, self.ops) is None:
                    self.running = False  # the dashboard closed its end
            elif obj == self.dashboard:
                self.running = False
            elif obj in answering:
                self.lines.readable(answering[obj])
        exited = [watched[obj] for obj in ready if obj in watched]  # pids
        if exited:
            with self.report.batched():  # workers that exited together
                for pid in exited:
                    self.workers.observe_exit(pid)
        if answering:
            self.lines.expire()

    def before_start(self):
        """Between ``created`` and ``p.start()``: the Process object exists."""
        self.gates.reach(stepping.START, peer=self.peer)

    def wait_at_gate(self, timeout):
        """``Stepper``'s wait: the loop, without accepting, for *timeout* s."""
        self.watching.pause(self.listener)
        try:
            self.pass_once(None, timeout)
        finally:
            self.watching.resume(self.listener)
        return None if self.running else stepping.STOPPED

    def accept(self, listener):
        conn, addr = listener.accept()
        serving = sum(1 for pid in self.workers.procs if pid not in self.workers.exited)
        if serving >= self.max_workers:  # a cap against fork storms from the room
            with conn:
                try:
                    conn.sendall(b"server busy\n")
                except OSError:
                    pass
            self.report(events.REFUSED, peer=list(addr), limit=self.max_workers)
            return
        self.count += 1
        self.report(events.ACCEPTED, peer=list(addr))
        self.gates.reach(stepping.ACCEPT, peer=addr)  # p = Process(target=talk, ...)
        if not self.running:  # told to stop while it waited: no worker for it
            conn.close()
            return
        ours, theirs = self.lines.pair()  # the worker's command channel
        worker = make_worker(self.lab["worker_style"], conn, addr, self.report,
                             idle_timeout=self.idle_timeout, commands=theirs, step=self.step,
                             name=f"worker-{self.count}",
                             fds=(conn.fileno(), self.queue_fd, theirs),
                             start_method=self.lab["start_method"],
                             daemon=self.lab["daemon_workers"])
        self.forkserver.ensure_running()
        self.peer = addr  # for the start gate, between created and started
        self.workers.start(worker, role="worker", peer=list(addr),
                           style=self.lab["worker_style"], before_start=self.start_gate)
        self.lines.add(worker.pid, ours, theirs)
        conn.close()  # the worker has its own copy now


def run_server(host, port, queue, commands, lab, limits, step=None):
    """Target of the echo server Process (started with spawn: a new interpreter
    has Python's default signal handlers, which the lab's processes must not).
    *step*: the dashboard's ``stepping.StepControl`` (None: a private one, run
    mode — how ``bench/setup_cost.py`` starts a server of any version)."""
    reset_child_signals()
    release_stdin()
    raise SystemExit(EchoServer(host, port, queue, commands, lab, limits, step).serve())

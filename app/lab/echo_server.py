"""The echo server: the tutorial's 链接循环, observed.

Exactly the tutorial's design — ``SO_REUSEADDR``, ``bind``, ``listen(5)``, an
accept loop that starts one worker ``Process(target=talk, args=(conn, addr))``
per connection and closes its own copy of ``conn`` — with one change: instead of
blocking in ``accept()``, the loop waits on everything a parent must watch at
once (``poll()``, what ``multiprocessing.connection.wait`` does, with the set
kept between passes: ``app.lab.pollset``):

* the listening socket   -> accept, fork a worker;
* the command channel    -> terminate / kill / join a worker, or stop;
* each worker's sentinel -> the worker exited: report it, do *not* reap it;
* the dashboard's sentinel -> the dashboard died: stop.

So the server learns of an exit the moment it happens and leaves the zombie for
the teacher to ``join()``.
"""

import multiprocessing
import os
import socket
from multiprocessing import forkserver, util

from app.lab import events
from app.lab.children import Children, reaped, uid_of
from app.lab.forking import reset_child_signals
from app.lab.mp_internals import (
    EXIT_HANDLER_CALL,
    forkserver_pid,
    popen_returncode,
    stop_forkserver_and_status,
)
from app.lab.pollset import PollSet
from app.lab.worker import make_worker

DAEMON_EXIT_VIA = ("multiprocessing's exit handler: terminate() of daemonic "
                   "children, then join()")


def open_listener(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # 就是它,在bind前加
    s.bind((host, port))
    s.listen(5)
    return s


class EchoServer:
    def __init__(self, host, port, queue, commands, lab, limits):
        self.host, self.port = host, port
        self.max_workers = limits["max_workers"]
        self.idle_timeout = limits["idle_timeout"]
        self.queue = queue
        self.commands = commands
        self.lab = lab  # LabSettings as a dict: start_method, daemon_workers, ...
        self.report = events.Reporter(queue)
        self.workers = Children(self.report)
        self.count = 0
        self.running = True
        self.forkserver_pid = None
        if lab["start_method"] == "forkserver":
            # preloaded once in the forkserver, so each worker starts fast
            multiprocessing.get_context("forkserver").set_forkserver_preload(
                ["app.lab.worker"])

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
        return 0

    def stop_workers(self):
        """Non-daemonic workers are terminated and joined here, reported.
        Daemonic ones are left to what the ``daemon`` flag means: when this
        process exits, multiprocessing's exit handler terminates and joins them
        — after our queue is closed, so a finalizer that runs after it tells
        the dashboard over the command pipe instead. The forkserver goes last:
        every worker it forked holds its "alive" pipe, so it outlives them."""
        daemonic = [p for p in self.workers.procs.values() if p.daemon]
        for proc in daemonic:
            del self.workers.procs[proc.pid]
        self.workers.stop_all()
        if daemonic:
            util.Finalize(None, self.after_exit_handler, args=(daemonic,),
                          exitpriority=-100)
        else:
            self.stop_forkserver(self.report)

    def after_exit_handler(self, daemonic):
        found = []

        def collect(type_, **fields):
            found.append(events.make(type_, **fields))

        for proc in daemonic:
            if reaped(proc):
                common = {"pid": proc.pid, "uid": uid_of(proc),
                          "exitcode": popen_returncode(proc)}
                if proc.pid not in self.workers.exited:  # else reported already
                    collect(events.EXITED, **common)
                collect(events.REAPED, how="implicit", via=DAEMON_EXIT_VIA,
                        via_kind="daemon_exit", via_call=EXIT_HANDLER_CALL, **common)
        self.stop_forkserver(collect)
        try:
            self.commands.send({"events": found})
        except OSError:
            pass  # the dashboard is gone

    def stop_forkserver(self, report):
        """Stop our forkserver and reap it by pid, as ForkServer._stop() does,
        but keeping its exit status to report."""
        stopped = stop_forkserver_and_status()
        if stopped is None:
            return
        pid, status = stopped
        code = os.waitstatus_to_exitcode(status)
        report(events.EXITED, pid=pid, uid=self.forkserver_uid(), exitcode=code)
        report(events.REAPED, pid=pid, uid=self.forkserver_uid(), exitcode=code,
               how="join", via="os.waitpid(forkserver pid) on server stop",
               via_kind="forkserver_stop", via_call=f"os.waitpid({pid}, 0)")

    def forkserver_uid(self):
        return f"forkserver@{multiprocessing.current_process().name}"

    def report_forkserver(self):
        """The forkserver is a helper the server started on first use: show it."""
        pid = forkserver_pid()
        if pid is None or pid == self.forkserver_pid:
            return
        self.forkserver_pid = pid
        self.report(events.STARTED, pid=pid, ppid=os.getpid(), uid=self.forkserver_uid(),
                    role="helper", name="forkserver", daemon=False, start_ms=None)

    def loop(self, listener):
        dashboard = multiprocessing.parent_process().sentinel
        watching = PollSet([listener, self.commands, dashboard])
        while self.running:
            watched = self.workers.sentinels()
            ready = watching.wait(watched)
            for obj in ready:
                if obj is listener:
                    with self.report.batched():  # accepted, created, started: one write
                        self.accept(listener)
                elif obj is self.commands:
                    self.command()
                elif obj == dashboard:
                    self.running = False
            with self.report.batched():  # workers that exited together
                for obj in ready:
                    if obj in watched:
                        self.workers.observe_exit(watched[obj])  # a pid

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
        worker = make_worker(self.lab["worker_style"], conn, addr, self.report,
                             idle_timeout=self.idle_timeout,
                             name=f"worker-{self.count}", fds=(conn, self.queue),
                             start_method=self.lab["start_method"],
                             daemon=self.lab["daemon_workers"])
        if self.lab["start_method"] == "forkserver":
            forkserver.ensure_running()
            self.report_forkserver()
        self.workers.start(worker, role="worker", peer=list(addr),
                           style=self.lab["worker_style"])
        conn.close()  # the worker has its own copy now

    def command(self):
        try:
            msg = self.commands.recv()
        except (EOFError, OSError):
            self.running = False
            return
        try:
            reply = self.execute(msg)
        except Exception as exc:  # noqa: BLE001 - a bad command must not kill the server
            reply = {"ok": False, "error": str(exc)}
        reply["id"] = msg.get("id")
        self.commands.send(reply)

    def execute(self, msg):
        op = msg.get("op")
        if op == "stop":
            self.running = False
            return {"ok": True}
        if op == "ping":
            return {"ok": True}
        proc = self.workers.get(msg.get("pid"))
        if proc is None:
            return {"ok": False, "error": "not a worker of this server",
                    "code": "not_found"}
        if op in ("terminate", "kill"):
            if not self.workers.signal(proc, op):
                return {"ok": False, "error": "the worker has already exited",
                        "code": "zombie"}
            return {"ok": True}
        if op == "join":
            return {"ok": True, "reaped": self.workers.join(proc, msg.get("timeout"))}
        return {"ok": False, "error": f"unknown command {op!r}"}


def run_server(host, port, queue, commands, lab, limits):
    """Target of the echo server Process (started with spawn: a new interpreter
    has Python's default signal handlers, which the lab's processes must not)."""
    reset_child_signals()
    raise SystemExit(EchoServer(host, port, queue, commands, lab, limits).serve())

"""The echo server: the tutorial's 链接循环, observed.

Exactly the tutorial's design — ``SO_REUSEADDR``, ``bind``, ``listen(5)``, an
accept loop that starts one worker ``Process(target=talk, args=(conn, addr))``
per connection and closes its own copy of ``conn`` — with one change: instead of
blocking in ``accept()``, the loop waits on everything a parent must watch at
once (``multiprocessing.connection.wait``):

* the listening socket   -> accept, fork a worker;
* the command channel    -> terminate / kill / join a worker, or stop;
* each worker's sentinel -> the worker exited: report it, do *not* reap it;
* the dashboard's sentinel -> the dashboard died: stop.

So the server learns of an exit the moment it happens and leaves the zombie for
the teacher to ``join()``.
"""

import multiprocessing
import socket
from multiprocessing.connection import wait

from app.lab import events
from app.lab.children import Children
from app.lab.forking import LabProcess
from app.lab.worker import talk


def open_listener(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # 就是它,在bind前加
    s.bind((host, port))
    s.listen(5)
    return s


class EchoServer:
    def __init__(self, host, port, queue, commands):
        self.host, self.port = host, port
        self.queue = queue
        self.commands = commands
        self.report = events.Reporter(queue)
        self.workers = Children(self.report)
        self.count = 0
        self.running = True

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
        self.workers.stop_all()
        return 0

    def loop(self, listener):
        dashboard = multiprocessing.parent_process().sentinel
        while self.running:
            watched = self.workers.sentinels()
            ready = wait([listener, self.commands, dashboard, *watched])
            for obj in ready:
                if obj is listener:
                    self.accept(listener)
                elif obj is self.commands:
                    self.command()
                elif obj == dashboard:
                    self.running = False
                else:
                    self.workers.observe_exit(watched[obj])  # a pid

    def accept(self, listener):
        conn, addr = listener.accept()
        self.count += 1
        self.report(events.ACCEPTED, peer=list(addr))
        worker = LabProcess(target=talk, args=(conn, addr, self.report),
                            name=f"worker-{self.count}", fds=(conn, self.queue))
        self.workers.start(worker, role="worker", peer=list(addr))
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


def run_server(host, port, queue, commands):
    """Target of the echo server Process."""
    raise SystemExit(EchoServer(host, port, queue, commands).serve())

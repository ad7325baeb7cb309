"""The worker: the tutorial's ``talk(conn, addr)``, one process per connection,
made in either of the tutorial's two ways (开进程的两种方式)."""

import multiprocessing
import socket
import struct
import time

from app.lab import events
from app.lab.forking import LabProcess

PREVIEW_CHARS = 200
COALESCE = 0.1  # seconds: at most one ``served`` event per worker this often


class Served:
    """Reports ``served`` events, coalesced: the first round at once, then at
    most one event per COALESCE seconds carrying the rounds since (``count``,
    ``bytes``, the last text). A chatty connection would otherwise send one
    event per ``recv()`` through the queue, the registry and every viewer."""

    def __init__(self, report):
        self.report = report
        self.count = self.bytes = 0
        self.data = b""   # the last message; decoded for the preview only when sent
        self.last = 0.0

    def add(self, data):
        self.count += 1
        self.bytes += len(data)
        self.data = data
        if time.monotonic() - self.last >= COALESCE:
            self.flush()

    @property
    def pending(self):
        return self.count > 0

    def flush(self):
        if self.count:
            text = self.data[:PREVIEW_CHARS * 4].decode("utf-8", "replace")[:PREVIEW_CHARS]
            self.report(events.SERVED, count=self.count, bytes=self.bytes, text=text)
            self.count = self.bytes = 0
        self.last = time.monotonic()


class RecvTimeout:
    """A receive timeout kept in the kernel (``SO_RCVTIMEO``), set only when it
    changes. ``socket.settimeout()`` would make the socket non-blocking and add
    a ``poll()`` before every ``recv()`` and ``send()``: three extra system
    calls per round trip, measurable against the tutorial's plain server."""

    def __init__(self, conn):
        self.conn = conn
        self.current = None

    def set(self, seconds):
        if seconds == self.current:
            return
        whole = int(seconds or 0)
        micro = int(((seconds or 0) - whole) * 1_000_000)
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                             struct.pack("ll", whole, micro))  # 0, 0: no timeout
        self.current = seconds


def talk(conn, addr, report, idle_timeout=None):
    """通信循环 — recv(1024), send back data.upper(), until the peer closes.

    Byte-exact: ``bytes.upper()`` changes only ASCII letters, so
    ``hello 你好`` comes back as ``HELLO 你好``. ``sendall`` rather than the
    tutorial's ``send``: ``send`` may write only part of the buffer. A
    connection idle for *idle_timeout* seconds is closed (students' forgotten
    ``nc`` sessions must not hold a process each forever).
    """
    me = multiprocessing.current_process()
    report.hello(role="worker", name=me.name, daemon=me.daemon)
    served = Served(report)
    timeout = RecvTimeout(conn)
    while True:
        # while a report is pending, wake up in time to send it
        timeout.set(COALESCE if served.pending else idle_timeout)
        try:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data.upper())
        except BlockingIOError:  # SO_RCVTIMEO passed: EAGAIN
            if served.pending:
                served.flush()
                continue
            report(events.IDLE_TIMEOUT, seconds=idle_timeout)
            break
        except OSError:
            break
        served.add(data)
    served.flush()
    conn.close()
    report(events.CONN_CLOSED, peer=list(addr))


class Talk(LabProcess):
    """方式二: a ``Process`` subclass whose ``run()`` is the task."""

    def __init__(self, conn, addr, report, idle_timeout=None, **kwargs):
        super().__init__(**kwargs)
        self.conn, self.addr, self.report = conn, addr, report
        self.idle_timeout = idle_timeout

    def run(self):
        talk(self.conn, self.addr, self.report, self.idle_timeout)


def make_worker(style, conn, addr, report, idle_timeout=None, **kwargs):
    """方式一 ``Process(target=talk, args=(conn, addr))`` or 方式二 ``Talk(...)``."""
    if style == "subclass":
        return Talk(conn, addr, report, idle_timeout, **kwargs)
    return LabProcess(target=talk, args=(conn, addr, report, idle_timeout), **kwargs)

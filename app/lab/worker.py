"""The worker: the tutorial's ``talk(conn, addr)``, one process per connection,
made in either of the tutorial's two ways (开进程的两种方式)."""

import multiprocessing
import socket
import struct
import threading
import time

from app.lab import events, wakeup
from app.lab.commands import Ops
from app.lab.forking import LabProcess

PREVIEW_CHARS = 200
COALESCE = 0.1  # seconds: at most one ``served`` event per worker this often
WORKER_OPS = Ops({})  # ping only, for now; gates will add theirs


class Served:
    """Reports ``served`` events, coalesced: the first round at once, then at
    most one event per COALESCE seconds carrying the rounds since (``count``,
    ``bytes``, the last text). A chatty connection would otherwise send one
    event per ``recv()`` through the queue, the registry and every viewer.
    Thread-safe: a chatty connection's ``Watchdog`` thread flushes too."""

    def __init__(self, report):
        self.report = report
        self.lock = threading.Lock()
        self.count = self.bytes = 0
        self.data = b""   # the last message; decoded for the preview only when sent
        self.last = 0.0   # when the last report went out
        self.active = time.monotonic()  # when the last message came

    def add(self, data):
        """Count one round; True if this made a report pending (the first
        unreported round since the last report)."""
        with self.lock:
            self.count += 1
            self.bytes += len(data)
            self.data = data
            self.active = now = time.monotonic()
            if now - self.last >= COALESCE:
                self._flush()
                return False
            return self.count == 1

    @property
    def pending(self):
        return self.count > 0

    def flush(self):
        with self.lock:
            self._flush()

    def tick(self, idle_timeout):
        """The watchdog's check: send a pending report whose window has passed.
        Returns ``(idle, seconds until the next check)``: idle once no message
        came for *idle_timeout* seconds; None seconds: nothing is due."""
        with self.lock:
            now = time.monotonic()
            if self.count and now - self.last >= COALESCE:
                self._flush()
            if idle_timeout and now - self.active >= idle_timeout:
                return True, None
            due = [self.active + idle_timeout] if idle_timeout else []
            if self.count:
                due.append(self.last + COALESCE)
            return False, (max(0.0, min(due) - now) if due else None)

    def _flush(self):
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


class Watchdog(threading.Thread):
    """A chatty connection's timer: flushes the pending ``served`` report in
    time and closes the connection once idle, while ``recv()`` blocks with no
    timeout at all. A kernel receive timeout arms a timer on every blocking
    ``recv()``: with 50 chatty connections that alone cost a quarter of the
    round trips the tutorial's server makes. Started only once a connection
    has sent twice (a one-message connection never pays for a thread)."""

    def __init__(self, conn, served, idle_timeout):
        super().__init__(name="watchdog", daemon=True)
        self.conn, self.served, self.idle_timeout = conn, served, idle_timeout
        self.wake = threading.Event()
        self.stopped = False
        self.idle = False

    def run(self):
        idle, wait = self.served.tick(self.idle_timeout)
        while not self.stopped and not idle:
            self.wake.wait(wait)
            self.wake.clear()  # before tick() reads the state: no wake-up is lost
            idle, wait = self.served.tick(self.idle_timeout)
        if idle:
            self.idle = True
            self._hang_up()

    def _hang_up(self):
        """recv() in the worker's loop returns b'': the loop ends as on EOF."""
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def stop(self):
        self.stopped = True
        self.wake.set()
        self.join()


def talk(conn, addr, report, idle_timeout=None, commands=None):
    """通信循环 — recv(1024), send back data.upper(), until the peer closes.

    Byte-exact: ``bytes.upper()`` changes only ASCII letters, so
    ``hello 你好`` comes back as ``HELLO 你好``. ``sendall`` rather than the
    tutorial's ``send``: ``send`` may write only part of the buffer. A
    connection idle for *idle_timeout* seconds is closed (students' forgotten
    ``nc`` sessions must not hold a process each forever): by ``SO_RCVTIMEO``
    until the connection has sent twice, then by a ``Watchdog`` thread.

    *commands*, the worker's end of its channel to the server, is answered
    from a signal while ``recv()`` blocks (``app.lab.wakeup``): no thread, no
    extra system call per round.
    """
    me = multiprocessing.current_process()
    report.hello(role="worker", name=me.name, daemon=me.daemon)
    if commands is not None and not wakeup.handed_down(commands):  # forked: armed
        wakeup.SignalledChannel(commands, WORKER_OPS).start()
    served = Served(report)
    timeout = RecvTimeout(conn)
    watchdog = None
    idle = False
    rounds = 0
    while True:
        if watchdog is None:
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
            idle = True
            break
        except OSError:
            break
        rounds += 1
        if served.add(data) and watchdog is not None:
            watchdog.wake.set()  # a report is pending: it must go out in time
        if rounds == 2 and watchdog is None:
            timeout.set(None)
            watchdog = Watchdog(conn, served, idle_timeout)
            watchdog.start()
    if watchdog is not None:
        watchdog.stop()
        idle = watchdog.idle
    served.flush()
    if idle:
        report(events.IDLE_TIMEOUT, seconds=idle_timeout)
    conn.close()
    report(events.CONN_CLOSED, peer=list(addr))


class Talk(LabProcess):
    """方式二: a ``Process`` subclass whose ``run()`` is the task."""

    def __init__(self, conn, addr, report, idle_timeout=None, commands=None, **kwargs):
        super().__init__(**kwargs)
        self.conn, self.addr, self.report = conn, addr, report
        self.idle_timeout, self.commands = idle_timeout, commands

    def run(self):
        talk(self.conn, self.addr, self.report, self.idle_timeout, self.commands)


def make_worker(style, conn, addr, report, idle_timeout=None, commands=None, **kwargs):
    """方式一 ``Process(target=talk, args=(conn, addr))`` or 方式二 ``Talk(...)``.
    A forked worker keeps only the descriptors in ``fds``: *commands* must be
    among them (spawn and forkserver pickle it, by multiprocessing's reduction)."""
    if style == "subclass":
        return Talk(conn, addr, report, idle_timeout, commands, **kwargs)
    return LabProcess(target=talk, args=(conn, addr, report, idle_timeout, commands),
                      **kwargs)

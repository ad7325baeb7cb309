"""The worker: the tutorial's ``talk(conn, addr)``, one process per connection,
made in either of the tutorial's two ways (开进程的两种方式)."""

import multiprocessing
import socket
import struct
import threading
import time

from app.lab import events, stepping, wakeup
from app.lab.commands import RELEASE, WAKE, Ops, serve_one
from app.lab.forking import LabProcess
from app.model import schema

PREVIEW_CHARS = 200
# seconds: at most one ``served`` event per worker this often. Each report of a
# chatty connection wakes its watchdog thread and writes an event; at 0.1 s,
# 50 chatty connections on one CPU paid ~2 µs per round trip for it (of ~11);
# four updates a second is still more than a projector needs
COALESCE = schema.SERVED_EVERY
# ping; release and wake are notifications (no reply). One table for every
# forked worker, armed by the server before the fork: release finds this
# process's Stepper itself (stepping.current)
WORKER_OPS = Ops({RELEASE: stepping.release_current, WAKE: stepping.ignore})


class Served:
    """Reports ``served`` events, coalesced: the first round at once, then at
    most one event per COALESCE seconds carrying the rounds since (``count``,
    ``bytes``, the last text). A chatty connection would otherwise send one
    event per ``recv()`` through the queue, the registry and every viewer.

    It also sends the worker's run-mode ``phase`` (*step*, its
    ``stepping.Stepper``) on the same timer, once the rounds have settled: a
    flush with rounds to report sends them alone, and the next one, a window
    later with no new round, sends the point the worker rests at (``recv``).
    While the worker waits at a gate (*holding*) its idle clock stops.

    **Counting without a lock.** The totals ``rounds``, ``total`` and ``data``
    are written by the worker's main thread only; a report (either thread,
    under ``lock``) sends what was counted since the last one (``told``,
    ``told_bytes``). So a chatty connection's round costs three attribute
    stores in ``chatter()``: ``add()``'s method call, lock and clock, with two
    ``Stepper.reach`` calls, cost 1.7 µs per round trip (9.3 → 7.6 µs of
    worker CPU, 10 connections on one CPU, ``bench/round_cost.py``; the
    tutorial's worker: 5.8) — far more than in a micro-benchmark, as every
    blocking ``recv()`` leaves the caches cold. The main thread adds bytes
    before the round, so a report can at worst carry a round's bytes one
    report before its count; the totals are exact."""

    def __init__(self, report, step=None):
        self.report = report
        self.step = step if step is not None else stepping.Stepper(None, report)
        self.lock = threading.Lock()
        self.rounds = self.total = 0  # written by the main thread only
        self.data = b""   # the last message; decoded for the preview only when sent
        self.told = self.told_bytes = 0   # what the reports so far carried
        self.seen = 0     # rounds when activity was last noticed (the watchdog's tick)
        self.last = 0.0   # when the last report went out
        self.active = time.monotonic()  # when the last message came (or was noticed)
        self.holding = False  # waiting at a gate: not idle, whatever the clock says
        self.dozing = False   # the watchdog sleeps past the next window: wake it
        self.watchdog = None  # a chatty connection's Watchdog, once started

    def add(self, data):
        """Count one round; True if this made a report pending (the first
        unreported round since the last report). The first rounds of a
        connection; a chatty one counts in ``chatter()``."""
        with self.lock:
            self.total += len(data)
            self.data = data
            self.rounds += 1
            self.seen = self.rounds
            self.active = now = time.monotonic()
            if now - self.last >= COALESCE:
                self._flush()
                return False
            return self.rounds - self.told == 1

    @property
    def pending(self):
        return self.rounds != self.told or self.step.pending()

    def flush(self):
        with self.lock:
            self._flush()

    def tick(self, idle_timeout):
        """The watchdog's check: send a pending report whose window has passed.
        Returns ``(idle, seconds until the next check)``: idle once no message
        came for *idle_timeout* seconds; None seconds: nothing is due. A round
        counted since the last check is activity noticed now: at most one
        window late, as a new round makes a report pending, due a window on."""
        with self.lock:
            now = time.monotonic()
            if self.rounds != self.seen:
                self.seen = self.rounds
                self.active = now
            if self.pending and now - self.last >= COALESCE:
                self._flush()
            counting = idle_timeout and not self.holding
            if counting and now - self.active >= idle_timeout:
                return True, None
            due = [self.active + idle_timeout] if counting else []
            if self.pending:
                due.append(self.last + COALESCE)
            return False, (max(0.0, min(due) - now) if due else None)

    def hold(self):
        """The worker stops at a gate: report what it served first; its idle
        clock stops (--idle-timeout closes only a connection nobody holds)."""
        with self.lock:
            self.holding = True
            if self.rounds != self.told:
                self._flush()

    def go_on(self):
        """It passed the gate: idle from now on, not from before the wait."""
        with self.lock:
            self.holding = False
            self.active = time.monotonic()
            self.seen = self.rounds
        if self.watchdog is not None:
            self.watchdog.wake.set()  # new due times

    def _flush(self):
        rounds = self.rounds   # first: the bytes the main thread added are >= these rounds'
        if rounds != self.told:
            total, data = self.total, self.data
            text = data[:PREVIEW_CHARS * 4].decode("utf-8", "replace")[:PREVIEW_CHARS]
            self.report(events.SERVED, count=rounds - self.told, bytes=total - self.told_bytes,
                        text=text)
            self.told, self.told_bytes = rounds, total
        else:
            self.step.flush_phase()  # settled: where it rests now
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
        served = self.served
        idle, wait = served.tick(self.idle_timeout)
        while not self.stopped and not idle:
            if wait is None or wait > COALESCE:
                # a long sleep: the next round must wake it (``chatter()``), so
                # that the round is reported at once. Say so, then look: the
                # main thread counts, then looks whether we doze (one of the
                # two sees the other).
                served.dozing = True
                if served.rounds != served.seen:
                    wait = 0
            self.wake.wait(wait)
            self.wake.clear()  # before tick() reads the state: no wake-up is lost
            served.dozing = False
            idle, wait = served.tick(self.idle_timeout)
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


def talk(conn, addr, report, idle_timeout=None, commands=None, step=None):
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

    *step*, the lab's ``stepping.StepControl``: before each line the lecture
    points at (``recv``, ``send``, ``close``, ``exit``) the worker calls
    ``gates.reach``; in step or slow mode it may stop there, for real, until
    released over *commands*.
    """
    me = multiprocessing.current_process()
    global _spawned_channel
    if commands is not None and not wakeup.handed_down(commands):  # forked: armed
        _spawned_channel = wakeup.SignalledChannel(commands, WORKER_OPS)
        _spawned_channel.start()
    gates = stepping.Stepper(step, report, wait=wait_on_channel)
    served = gates.holder = Served(report, gates)
    gates.begin(stepping.RECV, role="worker", name=me.name, daemon=me.daemon,
                uid_=getattr(me, "lab_uid", None))
    timeout = RecvTimeout(conn)
    idle = False
    rounds = 0
    while rounds < 2:   # the first rounds: a kernel timeout, no thread
        # while a report is pending, wake up in time to send it
        timeout.set(COALESCE if served.pending else idle_timeout)
        try:
            data = conn.recv(1024)
            if not data:
                break
            gates.reach(stepping.SEND)
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
        served.add(data)
        gates.reach(stepping.RECV)  # back to the top of the loop
    else:   # it sent twice: a chatty connection
        timeout.set(None)
        watchdog = served.watchdog = Watchdog(conn, served, idle_timeout)
        watchdog.start()
        chatter(conn, served, gates)
        watchdog.stop()
        idle = watchdog.idle
    served.flush()
    if idle:
        report(events.IDLE_TIMEOUT, seconds=idle_timeout)
    gates.reach(stepping.CLOSE)
    conn.close()
    gates.end(events.CONN_CLOSED, peer=list(addr))  # run mode: one write with "exit"


def chatter(conn, served, gates):
    """A chatty connection's loop, once its ``Watchdog`` runs: the tutorial's
    ``recv`` → ``send(data.upper())`` plus three stores that count the round
    (``Served``) — the round trip the benchmark compares with the tutorial's
    server. In step or slow mode (one load of the shared word, as
    ``Stepper.reach`` does) a round goes through its gates instead."""
    word, stepped = gates.word, stepping.MODE_MASK
    while True:
        try:
            data = conn.recv(1024)
            if not data:
                return
            if word[0] & stepped:
                gates.reach(stepping.SEND)
                conn.sendall(data.upper())
                if served.add(data):
                    served.watchdog.wake.set()  # a report is pending: due in time
                gates.reach(stepping.RECV)
                continue
            conn.sendall(data.upper())
        except OSError:   # the watchdog hung up, or the peer reset
            return
        served.total += len(data)
        served.data = data
        served.rounds += 1
        if served.dozing:
            served.dozing = False
            served.watchdog.wake.set()


_spawned_channel = None   # a spawned or forkserver worker's SignalledChannel


def wait_on_channel(timeout):
    """A worker's ``wait(timeout)`` at a gate: its main thread reads its own
    channel (the signal handler stands aside) and serves what comes — ping,
    wake, the release it waits for. A forked worker's channel object is made
    only now (``wakeup.inherited_channel``): run mode never touches it."""
    ch = _spawned_channel if _spawned_channel is not None else wakeup.inherited_channel()
    if ch is None or ch.closed:
        return stepping.STOPPED  # its parent is gone: nobody can release it
    with ch.hold() as conn:
        try:
            if conn.poll(timeout) and serve_one(conn, WORKER_OPS) is None:
                ch.stop()
                return stepping.STOPPED
        except (EOFError, OSError):
            ch.stop()
            return stepping.STOPPED
    ch.answer_pending()  # a request that came as the wait ended: no signal left
    return None


class Talk(LabProcess):
    """方式二: a ``Process`` subclass whose ``run()`` is the task."""

    def __init__(self, conn, addr, report, idle_timeout=None, commands=None, step=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.conn, self.addr, self.report = conn, addr, report
        self.idle_timeout, self.commands, self.step = idle_timeout, commands, step

    def run(self):
        talk(self.conn, self.addr, self.report, self.idle_timeout, self.commands, self.step)


def make_worker(style, conn, addr, report, idle_timeout=None, commands=None, step=None,
                **kwargs):
    """方式一 ``Process(target=talk, args=(conn, addr))`` or 方式二 ``Talk(...)``.
    A forked worker keeps only the descriptors in ``fds``: *commands* must be
    among them (spawn and forkserver pickle it, by multiprocessing's reduction;
    *step*'s shared memory too — a forked worker keeps it as a mapping)."""
    if style == "subclass":
        return Talk(conn, addr, report, idle_timeout, commands, step, **kwargs)
    return LabProcess(target=talk, args=(conn, addr, report, idle_timeout, commands, step),
                      **kwargs)

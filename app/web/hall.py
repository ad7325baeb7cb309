"""The hall: one thread writes to every viewer's websocket.

Python-engineio's threading mode gives each websocket a writer thread fed by
a queue of its own. A batch of events for 300 viewers was 300 queue puts,
300 threads woken one after the other to take the GIL, 300 times the same
packet framed by wsproto, 300 ``send`` calls: the last viewer got the batch
~50 ms after the first, and the dashboard spent most of a core doing it.

Here a batch is framed once (``text_frame``) and the same bytes are written
to every socket, by one thread, without blocking: ``send(MSG_DONTWAIT)``
hands the bytes to the kernel or keeps the rest in that viewer's outbox and
waits (``selectors``) until its socket can take more. Nothing else writes
to these sockets: the websocket driver (``HallSocket``) sends the
handshake, Engine.IO's pings and acks and the close frame through the same
outbox, so one connection's bytes leave in the order they were given.

A viewer that stops reading cannot hold anyone up; its outbox grows instead.
Past ``backlog`` bytes (the kernel's send buffer is capped too, ``SNDBUF``)
it is dropped: the socket is shut down, its reader sees the end, Engine.IO
says ``disconnect``. A room's mischief is bounded by memory it may not take.
The first drop is logged with the why, later ones are only counted
(``stats``): fifty such viewers are one line in the log, not fifty.

Every call from another thread is a job on a deque, run by the hall's
thread in order; a byte on a pipe wakes it.
"""

import collections
import contextlib
import logging
import os
import selectors
import socket
import threading

from wsproto.frame_protocol import FrameProtocol

BACKLOG = 4 * 1024 * 1024   # bytes queued for one viewer before it is dropped
SNDBUF = 256 * 1024         # the kernel's send buffer per viewer socket
STOP = object()

log = logging.getLogger("forkscope.hall")


def text_frame(text):
    """A server-to-client websocket text frame (FIN, unmasked) of *text*."""
    return bytes(FrameProtocol(client=False, extensions=[]).send_data(text, fin=True))


class Conn:
    """One viewer socket as the hall sees it: its outbox and what became of it."""

    __slots__ = ("closing", "dead", "key", "member", "out", "queued", "sock", "waiting")

    def __init__(self, sock, key):
        self.sock = sock
        self.key = key            # Engine.IO's sid: how the fan-out finds it
        self.out = collections.deque()   # memoryviews still to send, in order
        self.queued = 0           # bytes in out
        self.dead = False         # dropped or detached: never written again
        self.closing = False      # shut it down once out is empty
        self.waiting = False      # registered for EVENT_WRITE
        self.member = False       # gets broadcasts (after its snapshot)


class Hall:
    def __init__(self, backlog=BACKLOG, sndbuf=None, logger=log):
        self.backlog = backlog
        # the kernel's buffer is part of what a stuck viewer holds: a quarter of
        # the backlog (Linux doubles it), at most SNDBUF
        self.sndbuf = sndbuf if sndbuf is not None else max(4096, min(SNDBUF, backlog // 4))
        self.log = logger
        self.conns = {}           # key -> Conn (read from other threads: dict ops are atomic)
        self.members = set()      # Conns that get broadcasts; the hall's thread only
        # The same, as the callers have asked it (join, not yet leave): read and
        # written by callers only, so ``has_members`` needs no trip to the hall.
        # A join and the broadcasts after it come in order from the hub's lock,
        # so a viewer being joined is already here when the next batch asks.
        self._asked = set()
        self.jobs = collections.deque()
        self.sel = None           # made by start(): nothing to close if never started
        self._wake_r = self._wake_w = None
        self._wake_lock = threading.Lock()
        self.dropped = 0          # viewers dropped for not reading
        self.sent_frames = 0
        self._thread = None
        self._stopped = threading.Event()

    # -- lifecycle --------------------------------------------------------------------
    def start(self):
        if self._thread is None:
            self.sel = selectors.DefaultSelector()
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self.sel.register(self._wake_r, selectors.EVENT_READ, None)
            self._thread = threading.Thread(target=self._run, name="hall", daemon=True)
            self._thread.start()

    def stop(self, timeout=5):
        if self._thread is None or self._stopped.is_set():
            return
        self._submit(STOP)
        self._thread.join(timeout)
        if self.dropped:
            self.log.warning("hall: %d viewer(s) were dropped in all for not reading",
                             self.dropped)

    def _close_fds(self):
        with self._wake_lock:
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = None
        self.sel.close()

    # -- called from any thread ----------------------------------------------------------
    def attach(self, sock, key):
        """Take over writing to *sock* (a connected TCP socket); returns its Conn."""
        # Blocking, no timeout: its reader thread blocks in recv(); the hall's
        # writes never block (MSG_DONTWAIT), whatever the socket's mode.
        sock.settimeout(None)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(sock, key)
        if key is not None:
            self.conns[key] = conn
        return conn

    def conn(self, key):
        return self.conns.get(key)

    def send(self, conn, data):
        """Queue *data* (bytes) for *conn*, after everything queued before."""
        self._submit((self._write, conn, data))

    def join(self, conn, data):
        """Send *data* (a snapshot), then every broadcast after it."""
        self._asked.add(conn)
        self._submit((self._join, conn, data))

    def has_members(self):
        """Has any viewer joined (and not left)? With none, a broadcast would
        only wake the hall's thread to write to nobody: skip it, and its
        encoding (an echo-heavy lab with no page open sends ~10 batches per
        connection set-up)."""
        return bool(self._asked)

    def broadcast(self, data):
        """Send *data* to every member, in the order of the calls."""
        self._submit((self._broadcast, data))

    def leave(self, conn):
        self._asked.discard(conn)
        self._submit((self._leave, conn))

    def close_when_sent(self, conn):
        """Shut *conn* down once what is queued for it has gone (a close frame)."""
        self._submit((self._close_when_sent, conn))

    def detach(self, conn, timeout=5):
        """Forget *conn*: try once more to send what is queued, then never touch
        its socket again. Returns once done: the caller may close the socket."""
        if conn.key is not None and self.conns.get(conn.key) is conn:
            del self.conns[conn.key]
        self._asked.discard(conn)
        if self._thread is None or not self._thread.is_alive():
            conn.dead = True
            return
        done = threading.Event()
        self._submit((self._detach, conn, done))
        done.wait(timeout)

    def stats(self):
        return {"connections": len(self.conns), "dropped_slow": self.dropped}

    def _submit(self, job):
        self.jobs.append(job)
        with self._wake_lock:  # never a write to a closed (and maybe reused) fd
            if self._wake_w is None:
                return   # not started yet (the jobs wait for it), or stopped
            with contextlib.suppress(BlockingIOError):  # full of wake-ups already
                os.write(self._wake_w, b"x")

    # -- the hall's thread ----------------------------------------------------------------
    def _run(self):
        try:
            while True:
                for key, _ in self.sel.select():
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, 4096)
                    else:
                        self._flush(key.data)
                while self.jobs:
                    job = self.jobs.popleft()
                    if job is STOP:
                        return
                    job[0](*job[1:])
        finally:
            self._stopped.set()
            for conn in list(self.members):
                conn.dead = True
            self.members.clear()
            self._close_fds()

    def _write(self, conn, data):
        if conn.dead:
            return
        if conn.out:
            conn.out.append(memoryview(data))
            conn.queued += len(data)
        else:
            try:
                sent = conn.sock.send(data, socket.MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._gone(conn)
                return
            if sent < len(data):
                conn.out.append(memoryview(data)[sent:])
                conn.queued += len(data) - sent
                self._want_write(conn, True)
        if conn.queued > self.backlog:
            self._drop(conn)

    def _flush(self, conn):
        while conn.out and not conn.dead:
            chunk = conn.out[0]
            try:
                sent = conn.sock.send(chunk, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                self._gone(conn)
                return
            conn.queued -= sent
            if sent < len(chunk):
                conn.out[0] = chunk[sent:]
                return
            conn.out.popleft()
        if not conn.dead:
            self._want_write(conn, False)
            if conn.closing:
                self._shutdown(conn)

    def _want_write(self, conn, want):
        if want == conn.waiting:
            return
        conn.waiting = want
        if want:
            self.sel.register(conn.sock, selectors.EVENT_WRITE, conn)
        else:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(conn.sock)

    def _join(self, conn, data):
        self._write(conn, data)
        if not conn.dead:
            conn.member = True
            self.members.add(conn)

    def _broadcast(self, data):
        self.sent_frames += 1
        for conn in list(self.members):
            self._write(conn, data)

    def _leave(self, conn):
        conn.member = False
        self.members.discard(conn)

    def _close_when_sent(self, conn):
        if conn.dead:
            return
        conn.closing = True
        if not conn.out:
            self._shutdown(conn)

    def _detach(self, conn, done):
        try:
            if not conn.dead and conn.out:
                self._flush(conn)
            self._forget(conn)
        finally:
            done.set()

    def _drop(self, conn):
        """A viewer that does not read: let it go, and say so once."""
        self.dropped += 1
        if self.dropped == 1:
            self.log.warning(
                "hall: dropping a viewer that does not read its socket (more than %d KiB "
                "queued for it); later drops are counted, not logged", self.backlog // 1024)
        self._shutdown(conn)

    def _shutdown(self, conn):
        """End the connection: its reader thread sees the end and Engine.IO
        cleans up (it calls ``detach`` before the server closes the socket)."""
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)
        self._forget(conn)

    def _gone(self, conn):
        """The peer is gone (a reset, a broken pipe): nothing more to send."""
        self._forget(conn)

    def _forget(self, conn):
        self._want_write(conn, False)
        conn.dead = True
        conn.out.clear()
        conn.queued = 0
        self._leave(conn)


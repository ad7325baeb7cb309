"""The dashboard's HTTP server: Werkzeug's threaded server, bounded against a room.

Werkzeug's server starts a thread for every connection it accepts, and that
thread waits, with no time limit, for the request to arrive. A student's
script that opens 1,000 connections and sends nothing (slowloris) then holds
1,000 threads and 1,000 descriptors; on a laptop whose limit is 1,024 the
next ``accept()`` fails, the presenter's page cannot reach the dashboard,
and the accept loop spins on the error.

``BoundedServer`` changes three things:

* **A doorman.** An accepted connection gets no thread until its request
  head (``...\\r\\n\\r\\n``) has arrived. Until then it waits on one epoll
  (edge-triggered: a connection that drips a byte at a time costs a peek per
  byte, not a busy loop), at most ``pending_max`` of them, each at most
  ``header_timeout`` seconds. Past the count the one waiting longest is
  closed: a real browser sends its head within milliseconds of connecting,
  so it is never the oldest for long.
* **A cap on connections with a thread** (requests, keep-alive, websockets):
  beyond ``max_connections`` a new one is closed at once. Idle keep-alive
  connections and slow bodies time out (``keepalive_timeout``); websockets
  are the hall's (``app.web.hall``), with no timeout.
* **One line in the log per kind of refusal**, the first time it happens,
  and a count of each at the end (``stats``), never a line per connection.

The descriptor limit is raised to the hard limit at start
(``raise_fd_limit``): the caps, not the operating system, decide.
"""

import collections
import contextlib
import errno
import logging
import resource
import select
import socket
import socketserver
import threading
import time

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

MAX_HEAD = 64 * 1024      # a head this long without its end is handed on (Werkzeug refuses it)
SWEEP = 0.5               # seconds between checks of the doorman's deadlines
FD_LIMIT = 65536

log = logging.getLogger("forkscope.serving")


def raise_fd_limit(want=FD_LIMIT):
    """Raise this process's soft descriptor limit towards the hard one; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler with a socket timeout: an idle keep-alive connection
    or a body that trickles in gives its thread back (a websocket's socket has
    no timeout: the hall sets it so). A browser's idle keep-alive connection
    timing out is ordinary: it is not logged."""
    timeout = 15.0

    def log_error(self, format, *args):
        if args and isinstance(args[0], TimeoutError):
            return
        super().log_error(format, *args)


class BoundedServer(ThreadedWSGIServer):
    """See the module. Built like Werkzeug's ``make_server(..., threaded=True)``."""

    block_on_close = False   # stopping does not wait for 300 viewers' threads

    def __init__(self, host, port, app, fd=None, max_connections=1000, pending_max=256,
                 header_timeout=10.0, keepalive_timeout=15.0, logger=log):
        handler = type("BoundedHandler", (_Handler,), {"timeout": keepalive_timeout})
        super().__init__(host, port, app, handler=handler, fd=fd)
        self.max_connections = max_connections
        self.pending_max = pending_max
        self.header_timeout = header_timeout
        self.log = logger
        self.live = 0                              # connections with a thread
        self.counts = collections.Counter()        # refusals, by kind
        self._guard = threading.Lock()
        self._pending = collections.OrderedDict()  # fd -> (socket, address, deadline)
        self._epoll = select.epoll()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._epoll.register(self._wake_r.fileno(), select.EPOLLIN)
        self._closed = False
        self._door = threading.Thread(target=self._doorman, name="doorman", daemon=True)
        self._door.start()

    # -- accepting --------------------------------------------------------------------
    def get_request(self):
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                # out of descriptors: free the oldest waiting one, and do not spin
                self._refuse("descriptors", "out of file descriptors: closing the "
                             "connection that has waited longest for its request")
                self._evict_oldest()
                time.sleep(0.05)
            raise

    def process_request(self, request, client_address):
        """Not a thread yet: the doorman waits for the request head."""
        with self._guard:
            if len(self._pending) >= self.pending_max:
                self._evict_oldest_locked()
            fd = request.fileno()
            self._pending[fd] = (request, client_address, time.monotonic() + self.header_timeout)
            self._epoll.register(fd, select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLET)

    def _hand_on(self, request, client_address):
        with self._guard:
            if self.live >= self.max_connections:
                refuse = True
            else:
                refuse = False
                self.live += 1
        if refuse:
            self._refuse("connections", f"more than {self.max_connections} connections "
                         f"open (--max-connections): refusing new ones")
            self.shutdown_request(request)
            return
        try:
            socketserver.ThreadingMixIn.process_request(self, request, client_address)
        except RuntimeError:   # can't start a new thread
            with self._guard:
                self.live -= 1
            self._refuse("threads", "cannot start another thread: refusing connections")
            self.shutdown_request(request)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._guard:
                self.live -= 1

    # -- the doorman ----------------------------------------------------------------------
    def _doorman(self):
        next_sweep = time.monotonic() + SWEEP
        while not self._closed:
            try:
                ready = self._epoll.poll(max(0.0, next_sweep - time.monotonic()))
            except OSError:
                return   # closed
            for fd, mask in ready:
                if fd == self._wake_r.fileno():
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    continue
                self._check(fd, mask)
            if time.monotonic() >= next_sweep:
                self._sweep()
                next_sweep = time.monotonic() + SWEEP

    def _check(self, fd, mask):
        with self._guard:
            entry = self._pending.get(fd)
        if entry is None:
            return
        request = entry[0]
        try:
            head = request.recv(MAX_HEAD, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            head = b""
        if head and (b"\r\n\r\n" in head or len(head) >= MAX_HEAD):
            if self._take(fd):
                self._hand_on(request, entry[1])
        elif not head and self._take(fd):   # closed before asking anything
            self.shutdown_request(request)

    def _take(self, fd):
        """Remove *fd* from the waiting; False if someone else already did."""
        with self._guard:
            if self._pending.pop(fd, None) is None:
                return False
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)
            return True

    def _sweep(self):
        now = time.monotonic()
        with self._guard:
            late = [(fd, request) for fd, (request, _, deadline) in self._pending.items()
                    if deadline <= now]
        for fd, request in late:
            if self._take(fd):
                self._refuse("idle", f"closing connections that sent no request within "
                             f"{self.header_timeout:g} s (slowloris?)")
                self.shutdown_request(request)

    def _evict_oldest(self):
        with self._guard:
            self._evict_oldest_locked()

    def _evict_oldest_locked(self):
        if not self._pending:
            return
        fd, (request, _, _) = next(iter(self._pending.items()))
        del self._pending[fd]
        with contextlib.suppress(OSError, ValueError):
            self._epoll.unregister(fd)
        self.counts["waiting"] += 1
        first = self.counts["waiting"] == 1
        if first:
            self.log.warning("more than %d connections waiting for their request: "
                             "closing the one that waited longest (and saying so only "
                             "this once)", self.pending_max)
        self.shutdown_request(request)

    # -- saying so once -------------------------------------------------------------------
    def _refuse(self, kind, message):
        with self._guard:
            self.counts[kind] += 1
            first = self.counts[kind] == 1
        if first:
            self.log.warning("%s (said once; later ones are counted)", message)

    def stats(self):
        with self._guard:
            return {"live": self.live, "waiting": len(self._pending), **self.counts}

    def server_close(self):
        # Werkzeug calls it from its __init__ too, before the doorman exists
        if getattr(self, "_door", None) is not None and not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
            self._door.join(5)
            with self._guard:
                waiting = list(self._pending.values())
                self._pending.clear()
            for request, _, _ in waiting:
                self.shutdown_request(request)
            self._epoll.close()
            self._wake_r.close()
            self._wake_w.close()
            counts = {k: v for k, v in self.counts.items() if v}
            if counts:
                self.log.warning("connections refused or closed in all: %s",
                                 ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        super().server_close()

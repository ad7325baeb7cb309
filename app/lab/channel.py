"""Talking to one lab process over a ``multiprocessing.Pipe``."""

import itertools
import socket
import threading

from app.errors import LabError


def pass_fd(conn, fd):
    """Send descriptor *fd* over *conn* — a ``multiprocessing`` connection on a
    Unix socket, as a duplex ``Pipe()`` is — as ``SCM_RIGHTS`` ancillary data:
    the process at the other end receives its own descriptor for the same open
    file (``take_fd``). How a puzzle process is handed the command channel of
    the child it is about to fork: the dashboard made the pipe."""
    with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as s:
        socket.send_fds(s, [b"F"], [fd])


def take_fd(conn, timeout):
    """The descriptor ``pass_fd`` sent on *conn*; it follows a request at once."""
    if not conn.poll(timeout):
        raise LabError(504, "no_answer", "no descriptor came with the request")
    with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as s:
        _msg, fds, _flags, _addr = socket.recv_fds(s, 1, 1)
    if len(fds) != 1:
        raise LabError(409, "failed", "the request's descriptor did not come")
    return fds[0]


class Channel:
    """A request/reply conversation with one lab process over a Pipe: one at a
    time, replies matched by id so a late answer is never taken for the next.
    Messages that are not replies (``{"events": [...]}``) go to *on_events*."""

    def __init__(self, conn, on_events=None):
        self.conn = conn
        self.lock = threading.Lock()        # one call at a time
        self.send_lock = threading.Lock()   # one writer at a time: call or notify
        self.ids = itertools.count(1)
        self.on_events = on_events or (lambda evs: None)

    def notify(self, msg):
        """Send *msg* with no reply awaited, even while a call is waiting for
        its own (a client inside ``send``, held at a gate, waits for exactly
        this ``release``). Raises ``LabError`` if the process has gone."""
        try:
            with self.send_lock:
                self.conn.send(msg)
        except OSError:
            raise LabError(409, "gone", "the process is no longer running") from None

    def call(self, msg, timeout, fd=None):
        """Send *msg* and wait for its reply. *fd*: a descriptor passed right
        after the request (``pass_fd``), for the op to ``take_fd``."""
        with self.lock:
            msg = dict(msg, id=next(self.ids))
            try:
                with self.send_lock:
                    self.conn.send(msg)
                    if fd is not None:
                        pass_fd(self.conn, fd)
                while self.conn.poll(timeout):
                    reply = self.conn.recv()
                    if "events" in reply:
                        self.on_events(reply["events"])
                    elif reply.get("id") == msg["id"]:
                        return reply
            except (EOFError, OSError):
                raise LabError(409, "gone", "the process is no longer running") from None
            raise LabError(504, "no_answer", "the process did not answer in time")

    def first_message(self, timeout):
        if not self.conn.poll(timeout):
            raise LabError(504, "no_answer", "the process did not start in time")
        return self.conn.recv()

    def drain(self):
        """Read what a process that has exited left in the pipe."""
        with self.lock:
            try:
                while self.conn.poll(0):
                    msg = self.conn.recv()
                    if "events" in msg:
                        self.on_events(msg["events"])
            except (EOFError, OSError):
                pass

    def close(self):
        self.conn.close()

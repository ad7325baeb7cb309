"""The recorder: every event of a dashboard run, written to a file as it happens.

The hub hands it each batch it has just emitted to the viewers (``put``: one
append to a queue, under the hub's lock, so the file's order is the viewers'
order). A thread of its own wakes every ``FLUSH_EVERY`` seconds, turns what
was appended into JSON Lines and writes them: one ``write`` for all of it,
unbuffered (the bytes are in the kernel's page cache at once, and a reader
sees whole lines), never an ``fsync`` — a crash of the machine may lose the
last seconds, a SIGKILL of the dashboard the last ``FLUSH_EVERY``. So the event
path pays one ``deque.append`` per batch and wakes nobody: a queue that woke
the writer for each batch cost the dashboard ~25 µs per event of CPU (thread
hand-offs), a fifth of a connection set-up's share. Rotation, ``sync`` and
``close`` wake it at once.

A session is one dashboard run, named ``<local start time>_<dashboard pid>``;
its files are ``<session>_part1.jsonl``, ``_part2`` ... When a part holds
``max_bytes`` of events (after its header and snapshot) the writer raises
``rotation_due``; the hub, at its next batch
and before applying it, hands over the snapshot of that moment (``rotate``),
and the next part starts with its own header and that snapshot, whose seq is
the last one of the part before. Every part is a whole recording
(``app.model.session_file``); ``export`` joins them back into one.

A directory that cannot be written does not stop the lecture: the recorder
says why (``error``) and records nothing more.
"""

import collections
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from app.model import session_file

log = logging.getLogger(__name__)

CHUNK = 1 << 20
FLUSH_EVERY = 0.1   # seconds between the writer's rounds while events come
_STOP = object()


@dataclass
class Part:
    """One file of the session: its path, the bytes written (whole lines only:
    what a reader may take), the events in it, its header's ``started``, and
    the bytes of its header and snapshot."""
    path: str
    number: int
    size: int = 0
    events: int = 0
    started: float = 0.0
    head: int = 0

    @property
    def name(self):
        return os.path.basename(self.path)


class _Rotate:
    def __init__(self, line2):
        self.line2 = line2


def snapshot_line(registry):
    """Line 2 of a part: the registry's snapshot (``GET /api/state``'s body) and
    the order its reaped processes were reaped in (``joined``, oldest first),
    which decides which ones a replay forgets first beyond ``JOINED_KEPT``.
    Called under the hub's lock, between two batches."""
    return {"snapshot": registry.snapshot(), "joined": list(registry.joined)}


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def default_host():
    return socket.gethostname()


class Recorder:
    """Records one session into *directory*; parts of at most about *max_bytes*.

    *describe()* gives the header's ``lab`` (the lab settings of the moment a
    part starts). *clock* and *now* are ``time.time`` and ``datetime.now``,
    replaceable in tests.
    """

    def __init__(self, directory, max_bytes, describe=dict, clock=time.time,
                 now=datetime.now, host=None, pid=None):
        self.directory = os.path.abspath(os.path.expanduser(str(directory)))
        self.max_bytes = max(1, int(max_bytes))
        self.describe = describe
        self.clock = clock
        self.now = now
        self.host = host if host is not None else default_host()
        self.pid = pid if pid is not None else os.getpid()
        self.session = None
        self.parts = []
        self.error = None
        self.rotation_due = False     # set by the writer, read by the hub
        self._out = None
        self._guard = threading.Lock()  # parts' sizes: writer vs. readers
        self._items = collections.deque()   # appended by the hub, drained by the writer
        self._wake = threading.Event()
        self._thread = None
        self._closed = False

    @property
    def active(self):
        return (self._thread is not None and self._thread.is_alive()
                and self.error is None and not self._closed)

    # -- the hub's side -----------------------------------------------------------
    def start(self, registry):
        """Open part 1 with *registry*'s snapshot (under the hub's lock) and
        start writing. An ``OSError`` (no such directory, no right to write) is
        kept in ``error`` and logged; the dashboard runs on without a recording."""
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self.session = self._new_session_name()
            self._open_part(1, snapshot_line(registry))
        except OSError as exc:
            self._fail(exc)
            return False
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()
        return True

    def put(self, events):
        """A batch of events, as emitted (seq ascending, after the last batch)."""
        if self._thread is not None:
            self._items.append(events)   # atomic; the writer comes round by itself

    def rotate(self, registry):
        """Start the next part from *registry* as it is now: called by the hub
        between two batches, so the snapshot's seq is the last seq handed over."""
        self.rotation_due = False
        if self._thread is not None:
            self._items.append(_Rotate(snapshot_line(registry)))
            self._wake.set()

    def close(self, timeout=10):
        """Write what is queued, close the file. Called once the hub has stopped."""
        if self._thread is not None and not self._closed:
            self._items.append(_STOP)
            self._wake.set()
            self._thread.join(timeout)
        self._closed = True

    # -- the writer thread --------------------------------------------------------
    def _run(self):
        try:
            self._loop()
        except Exception as exc:  # a bug here must not pass silently
            log.exception("the recorder stopped")
            self._fail(exc)
            self._close_fd()

    def _loop(self):
        while True:
            self._wake.wait(FLUSH_EVERY)
            self._wake.clear()
            items = []
            while self._items:  # everything appended by now goes out in one write
                items.append(self._items.popleft())
            chunks, count, stop, synced = [], 0, False, []
            for item in items:
                if isinstance(item, list):
                    chunks.extend(session_file.line(event) for event in item)
                    count += len(item)
                elif isinstance(item, _Rotate):
                    self._write(chunks, count)
                    chunks, count = [], 0
                    self._next_part(item.line2)
                elif isinstance(item, threading.Event):
                    synced.append(item)
                elif item is _STOP:
                    stop = True
            self._write(chunks, count)
            for done in synced:  # after the write: a sync sees its bytes
                done.set()
            if stop:
                self._close_fd()
                return

    def _write(self, chunks, count):
        if not chunks or self._out is None:
            return
        data = b"".join(chunks)
        try:
            _write_all(self._out, data)
        except OSError as exc:
            self._fail(exc)
            self._close_fd()
            return
        with self._guard:
            part = self.parts[-1]
            part.size += len(data)
            part.events += count
            # events only: a snapshot larger than the limit (hundreds of
            # processes, a tiny --record-max-mb) must not make a file per batch
            if part.size - part.head >= self.max_bytes:
                self.rotation_due = True

    def _next_part(self, line2):
        if self._out is None:
            return
        self._close_fd()
        try:
            self._open_part(self.parts[-1].number + 1, line2)
        except OSError as exc:
            self._fail(exc)

    def _open_part(self, number, line2):
        path = os.path.join(self.directory, f"{self.session}_part{number}.jsonl")
        started = self.clock()
        head = session_file.header(started=started, host=self.host, lab=self.describe(),
                                   session=self.session, part=number,
                                   dashboard_pid=self.pid)
        data = session_file.line(head) + session_file.line(line2)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            _write_all(fd, data)
        except OSError:
            os.close(fd)
            raise
        self._out = fd
        with self._guard:
            self.parts.append(Part(path, number, size=len(data), started=started,
                                   head=len(data)))

    def _close_fd(self):
        if self._out is not None:
            fd, self._out = self._out, None
            try:
                os.close(fd)
            except OSError as exc:
                self._fail(exc)

    def _new_session_name(self):
        """``<local time>_<pid>``; ``-2``, ``-3``... if a session of that name
        already has files (two dashboards of one process in one second)."""
        base = f"{self.now().strftime('%Y-%m-%dT%H-%M-%S')}_{self.pid}"
        taken = {session_file.split_name(n)[0] for n in os.listdir(self.directory)
                 if session_file.split_name(n)}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        return name

    def _fail(self, exc):
        if self.error is None:
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("recording stopped: %s", self.error)

    # -- readers (request threads) --------------------------------------------------
    def sync(self, timeout=5.0):
        """Wait until everything handed over so far is written; the parts then
        (copies: path, whole-line size, events)."""
        if self.active:
            done = threading.Event()
            self._items.append(done)
            self._wake.set()
            done.wait(timeout)
        with self._guard:
            return [Part(p.path, p.number, p.size, p.events, p.started, p.head)
                    for p in self.parts]

    def export(self):
        """The session from its start as one recording, in chunks of bytes:
        part 1 whole, then each later part without its header and snapshot
        (its events continue part 1's seqs). Taken up to the sizes of ``sync``,
        so a part still being written ends on a whole line."""
        parts = self.sync()
        for part in parts:
            yield from read_part(part.path, part.size, skip_lines=0 if part.number == 1 else 2)

    def current(self, name):
        """The Part of this session called *name*, as of now, or None."""
        for part in self.sync():
            if part.name == name:
                return part
        return None


def read_part(path, limit, skip_lines=0):
    """The first *limit* bytes of *path*, without its first *skip_lines* lines."""
    with open(path, "rb") as f:
        for _ in range(skip_lines):
            limit -= len(f.readline(max(limit, 0)))
        while limit > 0:
            chunk = f.read(min(CHUNK, limit))
            if not chunk:
                return
            limit -= len(chunk)
            yield chunk


# -- the recordings directory ------------------------------------------------------------

class Listing:
    """What ``GET /api/recordings`` lists: every part file in the directory,
    with its header's ``started`` and its number of events. Counting events
    reads a file once; the count is kept per (name, size, mtime)."""

    def __init__(self):
        self._cache = {}
        self._guard = threading.Lock()

    def files(self, directory, recorder=None):
        live = {p.name: p for p in recorder.sync()} if recorder is not None else {}
        try:
            names = os.listdir(directory)
        except OSError:
            names = []
        rows = []
        for name in names:
            split = session_file.split_name(name)
            if split is None:
                continue
            path = os.path.join(directory, name)
            part = live.get(name)
            try:
                if part is not None:
                    size, events, started = part.size, part.events, part.started
                else:
                    size, events, started = self._describe(path)
            except OSError:
                continue
            rows.append({"name": name, "session": split[0], "part": split[1], "size": size,
                         "started": started, "events": events, "current": part is not None})
        sessions = sorted({r["session"] for r in rows}, reverse=True)
        order = {s: i for i, s in enumerate(sessions)}
        rows.sort(key=lambda r: (order[r["session"]], r["part"]))
        return rows

    def _describe(self, path):
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns)
        with self._guard:
            if key in self._cache:
                return self._cache[key]
        started, lines = None, 0
        with open(path, "rb") as f:
            first = f.readline(session_file.HEADER_MAX)
            try:
                started = json.loads(first).get("started")
            except (ValueError, AttributeError):
                started = None
            lines = 1 if first.endswith(b"\n") else 0
            while chunk := f.read(CHUNK):
                lines += chunk.count(b"\n")
        value = (st.st_size, max(lines - 2, 0),
                 started if isinstance(started, (int, float)) else None)
        with self._guard:
            self._cache[key] = value
        return value

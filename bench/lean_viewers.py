"""N raw Socket.IO viewers in one thread (used by ``bench.viewer_pool --client raw``).

A browser is native code, usually on its own machine: its receipt time is the
dashboard's fan-out plus the network. python-socketio's client runs a reader
thread per connection, so 50 of them in a process queue on one GIL and each
receipt stamp carries that queueing. These viewers carry almost none: every
connection is a non-blocking socket on one ``selectors`` loop, in the thread
that stamps, and the websocket client is the least that can read a server:
the upgrade request and its ``101``, then unmasked frames cut by hand
(``Frames``) — wsproto's parser cost ~100 µs a message, so 300 viewers in one
loop fell behind a batch every 10 ms, and a stamp is only exact while the
loop keeps up (a ``recvmsg`` that reads several messages stamps them all with
the last one's arrival). Per connection:

- HTTP upgrade to ``/socket.io/?EIO=4&transport=websocket``;
- Engine.IO ``0{...}`` open -> send ``40`` (Socket.IO connect, namespace ``/``);
- ``2`` ping -> ``3`` pong; websocket pings are answered too;
- ``42["events",[...]]`` is stamped once, as the message completes, and kept
  as text: it is parsed only for the report. The stamp is the kernel's
  receive time of the bytes that completed it (``SO_TIMESTAMPNS``, read with
  ``recvmsg``): when the dashboard's bytes reached this machine, not when this
  loop got round to them — with 300 viewers in one loop, the last one's turn
  comes many milliseconds after its bytes arrived, a delay of the harness,
  not of the dashboard, and a browser on its own machine would not have it.
  The loop's own time (``time.time()`` as the message completes) is kept
  beside it and reported too (``user_latency_ms``);
- ``42["snapshot",{...}]`` is parsed at once (its ``seq`` is where checks start).

stdin (JSON lines from ``bench.viewers``) is on the same loop; the protocol is
``bench.viewer_pool``'s.
"""

import base64
import contextlib
import json
import os
import selectors
import socket
import struct
import time
from urllib.parse import urlsplit

from bench.common import summary

TARGET = "/socket.io/?EIO=4&transport=websocket"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)   # Linux's value
STAMP_SPACE = socket.CMSG_SPACE(16)                       # struct timespec
EVENTS_PREFIX = '42["events",'
CONNECTING = 20       # handshakes in flight at once
RECV_BYTES = 65536


class Hangup(Exception):
    """The server refused or ended a viewer's connection."""


def client_frame(opcode, payload):
    """A masked client frame (a client must mask; these are a few bytes each)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text_frame(text):
    return client_frame(0x1, text.encode())


class Frames:
    """Server frames (unmasked) cut from a byte stream: ``feed(data)`` yields
    ``(opcode, payload)`` per complete message (fragments joined)."""

    def __init__(self):
        self.buffer = bytearray()
        self.parts = []
        self.opcode = None

    def feed(self, data):
        self.buffer += data
        buf = self.buffer
        while len(buf) >= 2:
            first, second = buf[0], buf[1]
            n, at = second & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, at = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, at = struct.unpack_from("!Q", buf, 2)[0], 10
            if second & 0x80 or first & 0x70:
                raise Hangup("a masked or compressed frame from the server")
            if len(buf) < at + n:
                break
            payload = bytes(buf[at:at + n])
            del buf[:at + n]
            opcode, fin = first & 0x0F, first & 0x80
            if opcode >= 0x8:                  # control frames come whole
                yield opcode, payload
                continue
            if opcode != 0:
                self.opcode = opcode
            self.parts.append(payload)
            if fin:
                yield self.opcode, b"".join(self.parts)
                self.parts = []


class LeanViewer:
    """One websocket connection's state; the loop feeds it bytes."""

    def __init__(self, index, address, host):
        self.index = index
        self.address = address
        self.host = host
        self.sock = None
        self.head = b""             # the upgrade's answer, until it is whole
        self.upgraded = False
        self.frames = Frames()
        self.out = b""
        self.snapshot_seq = None
        self.raw = []               # (arrived_at, read_at, '42["events",[...]]')
        self.arrived = None         # kernel receive time of the bytes being read
        self.unexpected = []
        self.error = None
        self.closed = False
        self._last = (0, None)      # (len(raw) when parsed, last seq then)

    # -- the socket ------------------------------------------------------------------------
    def start(self, sel):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setblocking(False)
        err = self.sock.connect_ex(self.address)
        if err not in (0, 115):     # EINPROGRESS
            self.fail(f"connect: {os.strerror(err)}")
            return
        key = base64.b64encode(os.urandom(16)).decode()
        self.out = (f"GET {TARGET} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    f"Sec-WebSocket-Version: 13\r\n\r\n").encode()
        sel.register(self.sock, selectors.EVENT_WRITE, self)

    def writable(self, sel):
        if self.out:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail(f"connect: {os.strerror(err)}", sel)
                return
        self.flush(sel)

    def flush(self, sel):
        try:
            while self.out:
                sent = self.sock.send(self.out)
                self.out = self.out[sent:]
        except BlockingIOError:
            pass
        except OSError as exc:
            self.fail(f"send: {exc}", sel)
            return
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0)
        if sel.get_key(self.sock).events != mask:
            sel.modify(self.sock, mask, self)

    def readable(self, sel):
        try:
            data, ancillary, _, _ = self.sock.recvmsg(RECV_BYTES, STAMP_SPACE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.fail(f"recv: {exc}", sel)
            return
        if not data:
            self.fail("the server closed the connection", sel)
            return
        self.arrived = arrival(ancillary)
        try:
            if not self.upgraded:
                self.head += data
                if b"\r\n\r\n" not in self.head:
                    return
                head, _, data = self.head.partition(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 101"):
                    raise Hangup("the server refused the websocket upgrade: "
                                 + head.split(b"\r\n")[0].decode(errors="replace"))
                self.upgraded = True
            for opcode, payload in self.frames.feed(data):
                self.on_frame(opcode, payload)
        except (Hangup, ValueError) as exc:
            self.fail(f"{type(exc).__name__}: {exc}", sel)
            return
        if self.out:
            self.flush(sel)

    def fail(self, message, sel=None):
        if self.error is None and not self.closed:
            self.error = message
        self.close(sel, polite=False)

    def close(self, sel=None, polite=True):
        if self.closed:
            return
        self.closed = True
        if self.sock is None:
            return
        if sel is not None:
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(self.sock)
        if polite and self.upgraded:
            with contextlib.suppress(OSError):
                self.sock.send(self.out + client_frame(0x8, struct.pack("!H", 1000)))
        self.sock.close()

    # -- websocket, Engine.IO, Socket.IO ---------------------------------------------------------
    def on_frame(self, opcode, payload):
        if opcode == 0x1:
            self.on_message(payload.decode())
        elif opcode == 0x9:                      # ping -> pong, same payload
            self.out += client_frame(0xA, payload)
        elif opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            raise Hangup(f"closed by the server ({code})")
        elif opcode != 0xA:
            self.unexpected.append(f"opcode {opcode}")

    def on_message(self, text):
        if text.startswith(EVENTS_PREFIX):
            self.raw.append(self.stamp(text))
        elif text == "2":
            self.out += text_frame("3")
        elif text.startswith("0"):
            self.out += text_frame("40")
        elif text.startswith("42"):
            name, data = json.loads(text[2:])
            if name == "snapshot":
                self.snapshot_seq = data["seq"]
            elif name == "events":    # the same message, other separators
                self.raw.append(self.stamp("42" + json.dumps(["events", data])))
            elif name != "access":
                self.unexpected.append(name)
        elif text.startswith("40"):
            pass
        elif text.startswith("44"):
            raise Hangup(f"Socket.IO connect refused: {text[2:]}")
        elif text.startswith("1"):
            raise Hangup("Engine.IO close")
        else:
            self.unexpected.append(text[:20])

    def stamp(self, text):
        now = time.time()
        return (now if self.arrived is None else self.arrived, now, text)

    # -- results -------------------------------------------------------------------------------
    def last_seq(self):
        """The last seq received (the snapshot's if no event yet)."""
        n, seq = self._last
        if n != len(self.raw):
            seq = json.loads(self.raw[-1][2][2:])[1][-1]["seq"]
            self._last = (len(self.raw), seq)
        if seq is None:
            return self.snapshot_seq if self.snapshot_seq is not None else 0
        return seq

    def report(self):
        seqs, latency, read_latency, received_at, ts = [], [], [], [], []
        for at, read_at, text in self.raw:
            for event in json.loads(text[2:])[1]:
                seqs.append(event["seq"])
                latency.append(round((at - event["t"]) * 1000, 3))
                read_latency.append(round((read_at - event["t"]) * 1000, 3))
                received_at.append(at)
                ts.append(event["t"])
        return {"snapshot_seq": self.snapshot_seq, "messages": len(self.raw), "seqs": seqs,
                "latency_ms": latency, "user_latency_ms": read_latency,
                "received_at": received_at, "t": ts,
                "error": self.error, "unexpected": self.unexpected[:10]}


def arrival(ancillary):
    """The kernel's receive time (``time.time()`` scale) in *ancillary*, or None."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9
    return None


class Lines:
    """JSON lines from a file descriptor, read without blocking the loop."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""
        self.eof = False
        self.items = []

    def readable(self, sel):
        data = os.read(self.fd, 65536)
        if not data:
            self.eof = True
            sel.unregister(self.fd)
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        self.items += [json.loads(line) for line in lines if line.strip()]


def emit(out, obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()


def run(url, n, timeout, stdin_fd, out):
    """Connect *n* viewers, then talk ``bench.viewer_pool``'s protocol; exit status."""
    parts = urlsplit(url)
    address = (parts.hostname, parts.port or 80)
    host = f"{parts.hostname}:{address[1]}"
    sel = selectors.DefaultSelector()
    viewers = [LeanViewer(i, address, host) for i in range(n)]
    waiting = list(reversed(viewers))
    lines = Lines(stdin_fd)
    sel.register(stdin_fd, selectors.EVENT_READ, lines)

    def ready():
        return [v for v in viewers if v.snapshot_seq is not None and not v.closed]

    def settled():
        return sum(1 for v in viewers if v.snapshot_seq is not None or v.closed)

    # per events message: its stamp - the wake-up of the select() that found it,
    # i.e. how long it waited behind other viewers' messages in this loop
    loop_delays = []

    def turn(until):
        """One pass of the loop: start handshakes while few are in flight, then
        serve what is ready (at most until the monotonic time *until*)."""
        while waiting and sum(1 for v in viewers if v.sock and v.snapshot_seq is None
                              and not v.closed) < CONNECTING:
            waiting.pop().start(sel)
        wait = max(0.0, min(0.5, until - time.monotonic()))
        ready_keys = sel.select(wait)
        woke = time.time()
        for key, mask in ready_keys:
            handler = key.data
            if handler is lines:
                lines.readable(sel)
                continue
            if mask & selectors.EVENT_WRITE and not handler.closed:
                handler.writable(sel)
            if mask & selectors.EVENT_READ and not handler.closed:
                before = len(handler.raw)
                handler.readable(sel)
                loop_delays.extend(read_at - woke for _, read_at, _ in handler.raw[before:])

    try:
        deadline = time.monotonic() + timeout
        while (waiting or settled() < n) and time.monotonic() < deadline and not lines.eof:
            turn(deadline)
        emit(out, {"ready": len(ready()),
                   "errors": [v.error or "no snapshot in time" for v in viewers
                              if v.snapshot_seq is None][:20]})
        while not lines.items and not lines.eof:
            turn(time.monotonic() + 0.5)
        if not lines.items:
            return 1
        final_seq = lines.items.pop(0)["final_seq"]
        deadline = time.monotonic() + timeout
        behind = [v for v in ready() if v.last_seq() < final_seq]
        while behind and time.monotonic() < deadline and not lines.eof:
            turn(deadline)
            behind = [v for v in behind if not v.closed and v.last_seq() < final_seq]
        emit(out, {"viewers": [v.report() for v in viewers], "late": len(behind),
                   "loop_ms": summary([d * 1000 for d in loop_delays])})
        return 0
    finally:
        for v in viewers:
            v.close(sel)
        sel.close()

"""The client: the tutorial's 客户端, driven by the dashboard instead of input().

It connects to the echo server, then waits on two things: its command channel
(texts to send, or close) and its socket (the server closing on it). Each text
goes out as UTF-8; the reply is read until as many bytes came back as were sent
— ``bytes.upper()`` keeps the length — because one ``recv()`` may return only
part of it. Which worker served it is not in the protocol: the dashboard knows
it by matching this socket's address with the worker's peer address.

Gates (``app.lab.stepping``): before ``c.send`` (``send``), between it and
``c.recv`` (``recv``), and before it exits (``exit``) the client may stop, in
step or slow mode, inside the dashboard's ``send`` request; its wait reads
its channel (``release`` and ``wake`` come as notifications: the dashboard's
``send`` call holds the channel's turn) and watches its parent. While the lab
steps, a reply may take as long as the teacher likes: the client keeps
waiting for it past ``REPLY_TIMEOUT``.
"""

import multiprocessing
import socket
import time
from multiprocessing.connection import wait

from app.lab import commands as cmd
from app.lab import events, stepping
from app.lab.commands import Ops, ok, refused, serve_one

REPLY_TIMEOUT = 10.0


def read_exactly(sock, n, patient=lambda: False):
    """*n* bytes from *sock*; on its timeout, wait on while *patient()*."""
    chunks, got = [], 0
    while got < n:
        try:
            chunk = sock.recv(min(65536, n - got))
        except TimeoutError:
            if patient():
                continue
            raise
        if not chunk:
            raise ConnectionError("the server closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class Client:
    """One client process. Its op table: ``send``, ``close`` (and ``ping``);
    any other op is refused with ``unknown_op`` — only ``send`` ever writes to
    the echo server."""

    def __init__(self, server_address, queue, commands, step=None):
        self.server_address = tuple(server_address)
        self.report = events.Reporter(queue)
        self.commands = commands
        self.sock = None
        self.connected = False
        self.done = False
        self.dashboard = multiprocessing.parent_process().sentinel
        self.orphaned = False
        self.gates = stepping.Stepper(step, self.report, wait=self.wait_at_gate)
        self.ops = Ops({cmd.SEND: self.op_send, cmd.CLOSE: self.op_close,
                        cmd.FLOOD: self.op_flood,
                        cmd.RELEASE: self.op_release, cmd.WAKE: stepping.ignore})

    def run(self):
        me = multiprocessing.current_process()
        self.report.hello(role="client", name=me.name, daemon=me.daemon)
        self.sock = socket.create_connection(self.server_address, timeout=REPLY_TIMEOUT)
        local = self.sock.getsockname()[:2]
        self.report(events.CONNECTED, local=list(local),
                    server=list(self.server_address))
        self.commands.send({"connected": list(local)})
        dashboard = self.dashboard
        self.connected = True
        while not self.done:
            self.gates.reach(stepping.INPUT)   # msg = input('>>: ')
            watched = [self.commands, dashboard] + ([self.sock] if self.connected else [])
            ready = wait(watched, self.gates.due())
            if dashboard in ready:
                return
            if self.sock in ready and self.connected:
                self.connected = self.peer_closed()
            if self.commands in ready and serve_one(self.commands, self.ops) is None:
                return  # the dashboard closed its end
        self.gates.reach(stepping.EXIT)
        self.gates.flush_phase()

    def wait_at_gate(self, timeout):
        """``Stepper``'s wait: the channel (release, wake, ping) and the dashboard."""
        if self.orphaned:
            return stepping.STOPPED
        ready = wait([self.commands, self.dashboard], timeout)
        if self.dashboard in ready:
            self.orphaned = True
            return stepping.STOPPED
        if self.commands in ready and serve_one(self.commands, self.ops) is None:
            self.orphaned = True
            return stepping.STOPPED
        return None

    def op_release(self, request):
        """A notification: pass the gate it names, if we wait there; no reply."""
        self.gates.release(request)

    def op_send(self, request):
        if self.gates.gate is not None:  # only a confused caller: the dashboard waits
            return refused(cmd.BUSY, "the client is waiting at a gate")
        if not self.connected:
            return refused("disconnected", "the server closed this connection")
        reply = self.send(request.get("text", ""))
        if reply.get("code") == "disconnected":
            self.connected = False
        return reply

    def op_flood(self, request):
        """The tutorial's client loop without ``input()``: send, receive the
        reply, again, for ``seconds`` — so that this client and its worker
        want the CPU the whole time (a lesson on concurrency and parallelism).
        No gates: the dashboard asks only in run mode. One ``flooded`` event
        at the end, not one ``echo`` per round trip."""
        if self.gates.gate is not None:
            return refused(cmd.BUSY, "the client is waiting at a gate")
        if not self.connected:
            return refused("disconnected", "the server closed this connection")
        data = str(request.get("text") or "ping").encode("utf-8")
        seconds = float(request.get("seconds", 1.0))
        rounds = 0
        t0 = time.perf_counter()
        end = t0 + seconds
        try:
            while time.perf_counter() < end:
                self.sock.sendall(data)
                read_exactly(self.sock, len(data))
                rounds += 1
        except (OSError, ConnectionError) as exc:
            self.connected = False
            self.report(events.DISCONNECTED, error=str(exc))
            return refused("disconnected", str(exc))
        finally:
            elapsed = round(time.perf_counter() - t0, 3)
            if rounds:
                self.report(events.FLOODED, count=rounds, bytes=rounds * len(data),
                            seconds=elapsed, text=data.decode("utf-8", "replace"))
        return ok(rounds=rounds, seconds=elapsed)

    def op_close(self, _request):
        if self.gates.gate is not None:
            return refused(cmd.BUSY, "the client is waiting at a gate")
        self.sock.close()
        self.report(events.CLIENT_CLOSED)
        self.done = True  # after this reply is sent
        return ok()

    def peer_closed(self):
        """Readable without a request pending: the server closed the connection,
        or spoke first ("server busy" at --max-workers) and then closed."""
        try:
            said = self.sock.recv(4096)
        except OSError:
            said = b""
        self.report(events.DISCONNECTED, said=said.decode("utf-8", "replace").strip())
        return False

    def send(self, text):
        data = text.encode("utf-8")
        try:
            self.gates.reach(stepping.SEND)      # c.send(msg.encode('utf-8'))
            t0 = time.perf_counter()             # the round trip starts with the send
            self.sock.sendall(data)
            self.gates.reach(stepping.RECV)      # data = c.recv(1024)
            reply = read_exactly(self.sock, len(data), self.patient)
        except (OSError, ConnectionError) as exc:
            self.report(events.DISCONNECTED, error=str(exc))
            return {"ok": False, "error": str(exc), "code": "disconnected"}
        rtt_ms = (time.perf_counter() - t0) * 1000
        reply_text = reply.decode("utf-8", "replace")
        self.report(events.ECHO, text=text, reply=reply_text, rtt_ms=round(rtt_ms, 3),
                    local=list(self.sock.getsockname()[:2]))
        return {"ok": True, "reply": reply_text, "rtt_ms": round(rtt_ms, 3)}


    def patient(self):
        """Wait on for a reply past REPLY_TIMEOUT? While the lab steps (its
        worker may be held at a gate) and the dashboard lives."""
        return self.gates.stepping() and not wait([self.dashboard], 0)


def run_client(server_address, queue, commands, step=None):
    """Target of a client Process; *step*: the lab's ``stepping.StepControl``."""
    try:
        Client(server_address, queue, commands, step).run()
    except OSError as exc:
        events.Reporter(queue)(events.ERROR, error=f"client: {exc}")
        try:
            commands.send({"error": str(exc)})
        except OSError:
            pass
        raise SystemExit(1)

"""The echo server's op table: what the dashboard may ask of it.

The server is the parent of its workers, so only it can ``terminate()``,
``kill()`` or ``join()`` them, and only it holds their command channels: the
dashboard asks it, by pid. Each op is a small function of one request; the
table (``app.lab.commands.Ops``) answers unknown ops and ``ping``.
"""

import os

from app.lab import commands
from app.lab.commands import Ops, ok, refused


def server_ops(server):
    """The op table of *server* (an ``EchoServer``)."""

    def stop(_request):
        server.running = False
        return ok()

    def worker(request):
        proc = server.workers.get(request.get("pid"))
        if proc is None:
            return None, refused(commands.NOT_FOUND, "not a worker of this server")
        return proc, None

    def signal(how):
        def op(request):
            proc, refusal = worker(request)
            if refusal:
                return refusal
            if not server.workers.signal(proc, how):
                return refused("zombie", "the worker has already exited")
            return ok()
        return op

    def join(request):
        proc, refusal = worker(request)
        if refusal:
            return refusal
        return ok(reaped=server.workers.join(proc, request.get("timeout")))

    def release(request):
        """Pass the gate the server waits at (no ``pid``, or its own), or
        tell worker ``pid`` to pass its own: a notification, never awaited —
        the dashboard sees the worker's ``gate_pass`` arrive."""
        pid = request.get("pid")
        wanted = {k: request.get(k) for k in ("gate", "since")}
        if pid in (None, os.getpid()):
            return ok(released=server.gates.release(wanted))
        if not server.lines.notify(pid, {"op": commands.RELEASE, **wanted}):
            return refused(commands.NOT_FOUND, "not a worker of this server")
        return ok(released=None)

    def wake(_request):
        """The step settings changed: the server re-reads them at its next
        check (this very request woke its wait); every worker is told too."""
        server.lines.broadcast({"op": commands.WAKE})
        return ok()

    return Ops({
        commands.RELEASE: release,
        commands.WAKE: wake,
        commands.STOP: stop,
        commands.TERMINATE: signal("terminate"),
        commands.KILL: signal("kill"),
        commands.JOIN: join,
        commands.RELAY: server.lines.relay,
    })

"""The echo server's op table: what the dashboard may ask of it.

The server is the parent of its workers, so only it can ``terminate()``,
``kill()`` or ``join()`` them, and only it holds their command channels: the
dashboard asks it, by pid. Each op is a small function of one request; the
table (``app.lab.commands.Ops``) answers unknown ops and ``ping``.
"""

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

    return Ops({
        commands.STOP: stop,
        commands.TERMINATE: signal("terminate"),
        commands.KILL: signal("kill"),
        commands.JOIN: join,
        commands.RELAY: server.lines.relay,
    })

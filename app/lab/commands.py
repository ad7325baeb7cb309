"""The lab's command protocol: one framing, one op table per process.

Every lab process — the echo server, each client, each worker — has a command
channel, one end of a ``multiprocessing.Pipe``; its parent holds the other end
(the dashboard for the server and clients, the server for its workers). On it:

* a **request** is a dict ``{"id": n, "op": NAME, ...}``; ``NAME`` is one of the
  constants below, never a bare string typed twice;
* the **reply** carries the same ``id``: ``{"id": n, "ok": True, ...}``, or
  ``{"id": n, "ok": False, "code": CODE, "error": "English text"}``;
* an op the process does not have gets ``code: "unknown_op"`` — it is never
  guessed at (a client once sent any op but ``close`` to the server as text);
* a **notification** is a request with no reply: ``release`` and ``wake`` sent
  to a worker or a client (its handler returns None). The client may be in
  the middle of the dashboard's ``send`` call, waiting at a gate for exactly
  that release: it cannot wait for its turn on the channel.

The requesting side is ``app.lab.channel.Channel`` (ids, timeouts); the serving
side is ``Ops`` — the process's op table — and ``serve_one``, which reads one
request, looks its op up and replies. A process waits on its channel the way
it waits on anything else (``poll`` in the server and the client), except the
worker, which blocks in ``recv()`` on its connection: ``app.lab.wakeup``
answers its channel from a signal.

Every process answers ``ping`` with its own ``os.getpid()`` and
``os.getppid()``, asked from inside: the tutorial's
``print(os.getppid(), os.getpid())`` on demand.
"""

import os

# -- ops: what a request asks -----------------------------------------------------------
PING = "ping"            # any process: its own pid and ppid
STOP = "stop"            # server: stop accepting, stop the workers, exit
TERMINATE = "terminate"  # server: p.terminate() one of its workers (by "pid")
KILL = "kill"            # server: p.kill() one of its workers
JOIN = "join"            # server: p.join("timeout") one of its workers
RELAY = "relay"          # server: pass "request" to worker "pid", its reply back
SEND = "send"            # client: send "text" to the echo server, return the reply
CLOSE = "close"          # client: close the socket and exit
FLOOD = "flood"          # client: send "text" back to back for "seconds" (a lesson)
RELEASE = "release"      # any: pass the gate named by "gate" and "since" (server: or
                         # worker "pid"'s); to a worker or client a notification
WAKE = "wake"            # any: the step settings changed, re-read them (server:
                         # and tell every worker); to a worker or client a notification
# -- a puzzle process (app/lab/puzzle.py): OSTEP's fork-tree puzzles, for real
FORK = "fork"            # fork child "name"; its channel's descriptor follows (pass_fd)
EXIT = "exit"            # exit now (refused with has_children if "leaf_only" and it has)
REAP = "reap"            # reap child "pid" ("uid"): our own, or an orphan adopted

# -- error codes: why a request was refused ------------------------------------------------
UNKNOWN_OP = "unknown_op"    # this process has no such op
FAILED = "failed"            # the op raised: the message says what
NOT_FOUND = "not_found"      # server: no worker of ours has that pid
GONE = "gone"                # the process at the other end has exited
NO_ANSWER = "no_answer"      # it did not answer in time
BUSY = "busy"                # too many requests to it already in flight
HAS_CHILDREN = "has_children"  # puzzle: leaf_only, and it has children
NOT_MY_CHILD = "not_my_child"  # puzzle: /proc says that pid is not our child


def ok(**fields):
    return {"ok": True, **fields}


def refused(code, error, **fields):
    return {"ok": False, "code": code, "error": error, **fields}


def whoami(_request):
    """``ping``: who this process is, as it sees it itself."""
    return ok(pid=os.getpid(), ppid=os.getppid())


class Ops:
    """A process's op table: op name -> handler(request) -> reply.

    A handler returns the reply's fields (``ok(...)`` or ``refused(...)``), or
    None when it will reply later itself (the server relaying to a worker
    answers when the worker does; the reply must carry the request's id).
    ``ping`` is in every table.
    """

    def __init__(self, table):
        self.table = {PING: whoami, **table}

    def answer(self, request):
        """The reply to *request*, with its id; None if it comes later."""
        op = request.get("op") if isinstance(request, dict) else None
        handler = self.table.get(op)
        if handler is None:
            reply = refused(UNKNOWN_OP, f"unknown op {op!r}; this process knows "
                                        f"{', '.join(sorted(self.table))}")
        else:
            try:
                reply = handler(request)
            except Exception as exc:  # noqa: BLE001 - a bad request must not kill the process
                reply = refused(FAILED, f"{op}: {exc}")
            if reply is None:
                return None
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        return reply


def serve_one(conn, ops):
    """Read one request from *conn*, answer it by *ops*. Returns the request,
    or None if the other end has gone (EOF, or the reply could not be sent)."""
    try:
        request = conn.recv()
    except (EOFError, OSError):
        return None
    reply = ops.answer(request)
    if reply is not None:
        try:
            conn.send(reply)
        except OSError:
            return None
    return request

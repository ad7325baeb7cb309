"""The schema: what a lab process is and what it can report, defined once.

Everything that *defines* the data on Forkscope's path is here, and only here:

* ``STATES`` and ``TRANSITIONS`` — the life of a process (``app.model.states``
  builds its ``State`` enum and ``transition()`` from them);
* ``PROCESS`` — the fields of the process model P, each with its default and
  its meaning, in the order the details panel teaches them
  (``app.model.registry.new_process`` starts from these defaults);
* ``ENVELOPE`` and ``EVENTS`` — every event type a lab process may report, who
  reports it, its fields, and whether the registry changes the process table
  on it or only records it (``app.lab.events`` takes its constants from here).

Readers elsewhere take it from here, so nothing can drift:

* the page imports ``static/js/schema.js``, generated from this module by::

      python -m app.model.schema --write

  and ``tests/unit/test_schema.py`` fails when that file is not in step;
* ``document()`` is the same data as one JSON document, e.g. for an
  ``/api/schema.json`` endpoint.

This module imports nothing from Forkscope and nothing outside the standard
library: the echo server runs in a fresh interpreter that imports ``app.lab``,
and through it this file, but never Flask.

Rules *about* the data — how ``exited`` moves a process to ``zombie``, how a
client is paired with its worker — are code: the registry's ``_on_<type>``
methods and, event for event, ``static/js/model.js``'s ``on_<type>`` methods.
A type marked ``"changes"`` must have such a handler on both sides; one marked
``"ignored"`` must have none (the tests check both).
"""

import json
import sys
from pathlib import Path

# -- states -------------------------------------------------------------------

#: Every state, in the order a process lives through them, with its meaning.
STATES = {
    "created": "the Process object exists; not started, so no pid",
    "running": "started; the OS has the process (p.is_alive() would say True)",
    "zombie": "it exited and its parent saw it (sentinel, then waitid(WNOWAIT)) "
              "but has not reaped it: /proc shows it as Z",
    "joined": "reaped, by p.join() or implicitly by multiprocessing (start(), "
              "is_alive() and active_children() reap finished siblings); gone from /proc",
}

#: The only steps a process can take: state -> the states it may move to.
TRANSITIONS = {
    "created": ("running",),
    "running": ("zombie",),
    "zombie": ("joined",),
    "joined": (),
}

#: How many reaped processes the registry (and the page) keep listing.
JOINED_KEPT = 200


# -- the process model P --------------------------------------------------------

def _field(default, doc):
    return {"default": default, "doc": doc}


#: The fields of P, in teaching order: field -> default and meaning.
PROCESS = {
    "pid": _field(None, "as the OS sees it; null while created"),
    "ppid": _field(None, "as the OS sees it: from the parent's start() and the "
                         "child's own os.getppid()"),
    "name": _field(None, "the multiprocessing name, e.g. worker-7 (the uid until "
                         "an event names it)"),
    "role": _field(None, "dashboard, server, worker, client, helper or puzzle (a process "
                         "of an OSTEP fork-tree puzzle, named a, b, c...)"),
    "state": _field("created", "created -> running -> zombie -> joined"),
    "alive": _field(False, 'state == "running": what p.is_alive() would say, '
                           "without calling it"),
    "exitcode": _field(None, "as multiprocessing gives it: null while running, 0, N "
                             "for exit(N), -N for killed by signal N"),
    "daemon": _field(False, "p.daemon"),
    "orphaned": _field(False, "its parent died before it (it was re-parented)"),
    "old_ppid": _field(None, "for an orphan: the parent that died"),
    "peer": _field(None, "worker: the connection's remote address [host, port]"),
    "local": _field(None, "client: its socket's local address [host, port]"),
    "worker_pid": _field(None, "client: the worker serving it (matched by address)"),
    "client_pid": _field(None, "worker: the client it serves (matched by address)"),
    "connection": _field(None, "worker and client: open or closed"),
    "said": _field(None, "client: what the server sent before closing on it "
                         "(server busy), if anything"),
    "start_ms": _field(None, "how long p.start() took in the parent"),
    "started_t": _field(None, "time.time() of the parent when it started it"),
    "exited_t": _field(None, "time.time() of the parent when it saw it exit"),
    "reaped_how": _field(None, "join, implicit or forkserver"),
    "reaped_via": _field(None, "in words, what reaped it: worker-3.join(), "
                               "start() of worker-4"),
    "reaped_via_kind": _field(None, "start, join, subreaper_waitpid, daemon_exit, "
                                    "forkserver, forkserver_stop or adopter_waitpid (a "
                                    "puzzle process reaped an orphan it adopted)"),
    "reaped_via_call": _field(None, "the call that reaped it, e.g. worker-4.start(), "
                                    "os.waitpid(123, 0); may be null"),
    "last_signal": _field(None, "SIGTERM / SIGKILL sent by terminate() / kill()"),
    "served": _field(0, "worker: recv() -> send() rounds"),
    "echoes": _field(0, "client: messages echoed"),
    "start_method": _field(None, "how it was started: fork, spawn or forkserver"),
    "style": _field(None, "worker: target or subclass (the tutorial's two ways)"),
    "at": _field(None, "the point of the tutorial's code it last reached (POINTS): "
                       "where the code view puts its marker"),
    "gate": _field(None, "the gate it is stopped at now, waiting to be released "
                         "(step or slow mode), or null"),
    "gate_since": _field(None, "time.time() when it began waiting at that gate"),
    "gate_peer": _field(None, "server at accept/start: the connection it holds "
                              "[host, port] (no worker exists for it yet)"),
    "uid": _field(None, "unique per dashboard run: the multiprocessing name, prefixed "
                        "by its parent's unless that is the dashboard"),
}


# -- points of the tutorial's code -------------------------------------------------

def _point(gate, doc):
    return {"gate": gate, "doc": doc}


#: The points of the tutorial's code each role passes, in the order it passes
#: them. A ``phase`` event says a process reached one (the code view's marker);
#: a point with ``gate`` true is also where the teacher can stop it for real
#: (step mode: until released; slow mode: for delay_ms). A point names what the
#: process is *about to* do. ``exit`` is every role's last point.
POINTS = {
    "server": {
        "accepting": _point(False, "in conn,addr=s.accept(): waiting for a connection "
                                   "(the 链接循环)"),
        "accept": _point(True, "accept() returned conn, addr; before "
                               "p=Process(target=talk,args=(conn,addr))"),
        "start": _point(True, "the Process object exists (created, no pid); before p.start()"),
    },
    "worker": {
        "recv": _point(True, "about to data=conn.recv(1024) (the 通信循环)"),
        "send": _point(True, "got data; before conn.send(data.upper())"),
        "close": _point(True, "the peer closed (recv returned b''); before conn.close()"),
    },
    "client": {
        "input": _point(False, "waiting for the next message: the tutorial's "
                               "msg=input('>>: ')"),
        "send": _point(True, "before c.send(msg.encode('utf-8'))"),
        "recv": _point(True, "sent; before data=c.recv(1024)"),
    },
    "any": {
        "exit": _point(True, "its work is done; before it exits and becomes a zombie "
                             "until its parent joins it"),
    },
}

#: Every gate name, once (``send`` is the worker's and the client's).
GATES = tuple(dict.fromkeys(name for points in POINTS.values()
                            for name, point in points.items() if point["gate"]))
#: How a teacher runs the lab: every gate passes at once; each gate holds until
#: released; each gate holds for delay_ms, then passes by itself.
STEP_MODES = ("run", "step", "slow")


# -- events -----------------------------------------------------------------------

#: seconds: a worker reports its rounds at most this often (the first at once),
#: and a process in run mode its latest point; both are coalesced so a chatty
#: connection does not pay for an event per round trip
SERVED_EVERY = 0.25
PHASE_EVERY = 0.1


def _req(doc):
    return {"required": True, "doc": doc}


def _opt(doc):
    return {"required": False, "doc": doc}


#: Fields of every event, whatever its type.
ENVELOPE = {
    "type": _req("one of EVENTS"),
    "t": _req("the reporting process's time.time() when it happened"),
    "pid": _req("the process the event is about; null for created and the poll events"),
    "by": _req("the pid of the process that reported it"),
    "seq": _opt("assigned by the registry, +1 each"),
    "state": _opt("added by the registry when the event moved the process to a state"),
    "anomaly": _opt("added by the registry when the event broke the state machine; "
                    "it changed nothing"),
    "cut": _opt("the text fields the reporter shortened so the event fits one atomic "
                "pipe write (PIPE_BUF bytes); each ends in an ellipsis"),
}

_UID = _req("the process's uid")


def _event(by, registry, doc, **fields):
    return {"by": by, "registry": registry, "doc": doc, "fields": fields}


#: Every event type, in the order a process lives through them: who reports it
#: (``by``), whether the registry ``"changes"`` the table on it or it is
#: ``"ignored"`` (only recorded), what it means, and its fields.
EVENTS = {
    "created": _event(
        "parent", "changes", "the Process object exists, not started, no pid",
        uid=_UID, role=_req("the process's role"), name=_req("its multiprocessing name"),
        daemon=_req("p.daemon"), start_method=_opt("fork, spawn or forkserver"),
        peer=_opt("worker: the connection's remote address"),
        style=_opt("worker: target or subclass"), lab=_opt("server: its lab settings")),
    "started": _event(
        "parent", "changes", "p.start() returned; p.pid is known",
        uid=_UID, ppid=_req("the parent as the OS has it"), role=_req("the process's role"),
        name=_req("its multiprocessing name"), daemon=_req("p.daemon"),
        start_ms=_opt("how long p.start() took (null when another process started it)"),
        start_method=_opt("fork, spawn or forkserver"),
        peer=_opt("worker: the connection's remote address"),
        style=_opt("worker: target or subclass"), lab=_opt("server: its lab settings")),
    "hello": _event(
        "child", "changes", "the child itself, running: its own os.getpid() and os.getppid(); "
        "may arrive before started",
        ppid=_req("its own os.getppid()"), role=_req("its role"), name=_req("its name"),
        daemon=_req("its p.daemon"), uid=_opt("its uid (the name when absent)")),
    "exited": _event(
        "parent", "changes", "the child has exited, not yet reaped: a zombie",
        uid=_UID, exitcode=_req("its exit code; null for a forkserver's child seen "
                                "only by pidfd"),
        note=_opt("why exitcode is null")),
    "reaped": _event(
        "parent", "changes", "waitpid() collected it: by p.join() or implicitly",
        uid=_UID, exitcode=_req("its exit code"), how=_req("join, implicit or forkserver"),
        via=_req("in words, what reaped it"),
        via_kind=_req("start, join, subreaper_waitpid, daemon_exit, forkserver, "
                      "forkserver_stop or adopter_waitpid"),
        via_call=_opt("the call that reaped it")),
    "join_timeout": _event(
        "parent", "ignored", "p.join(timeout) returned and the child is still alive",
        uid=_UID, timeout=_req("the timeout, in seconds")),
    "signalled": _event(
        "parent", "changes", "p.terminate() / p.kill() sent a signal",
        uid=_UID, call=_req("terminate(), kill() or os.kill(...)"),
        signal=_req("SIGTERM or SIGKILL")),
    "reparented": _event(
        "dashboard (or the orphan itself: a puzzle process)", "changes",
        "an orphan's parent died; the nearest child subreaper is its parent now: the "
        "dashboard, or in a puzzle a or another puzzle process",
        uid=_UID, old_ppid=_req("the parent that died (null if unknown)"),
        ppid=_req("the subreaper that adopted it")),
    "listening": _event(
        "server", "changes", "the echo server is bound and listening",
        host=_req("the address it listens on"), port=_req("its port")),
    "accepted": _event(
        "server", "ignored", "accept() returned a connection",
        peer=_req("the client's address")),
    "served": _event(
        "worker", "changes", "recv() -> send(data.upper()) rounds since the last one; "
        f"the first at once, then at most one per {SERVED_EVERY} s",
        count=_req("rounds"), bytes=_req("their bytes"), text=_req("the last text, a preview")),
    "conn_closed": _event(
        "worker", "changes", "the peer closed; the worker closed its socket",
        peer=_req("the client's address")),
    "idle_timeout": _event(
        "worker", "ignored", "no data for --idle-timeout seconds: the worker closes "
        "(conn_closed follows)",
        seconds=_req("how long the connection was idle")),
    "refused": _event(
        "server", "ignored", "at --max-workers the server answered server busy and closed",
        peer=_req("the client's address"), limit=_req("--max-workers")),
    "connected": _event(
        "client", "changes", "connect() returned",
        local=_req("its socket's local address"), server=_req("the server's address")),
    "echo": _event(
        "client", "changes", "one message sent and its reply received",
        text=_req("what it sent"), reply=_req("what came back"),
        rtt_ms=_req("the round trip"), local=_req("its socket's local address"),
        client_pid=_opt("added by the registry"), worker_pid=_opt("added by the registry")),
    "disconnected": _event(
        "client", "changes", "the server side closed the connection",
        said=_opt("what the server sent first, if anything (server busy)"),
        error=_opt("the error that ended the connection instead")),
    "client_closed": _event(
        "client", "changes", "the client closed its socket on request"),
    "error": _event(
        "any", "ignored", "something failed",
        error=_req("the message"), demo=_opt("the demonstration that failed")),
    "demo": _event(
        "helper", "ignored", "a demonstration's outcome (app.lab.demos)",
        demo=_req("which demonstration"), error=_opt("null: it did not fail"),
        call=_opt("run_vs_start: p.run() or p.start(), the call that ran run()"),
        ppid=_opt("run_vs_start: os.getppid() inside run()")),
    "phase": _event(
        "any", "changes", "the process reached a point of the tutorial's code (POINTS); "
        f"in run mode at most one per {PHASE_EVERY} s per process",
        at=_req("the point")),
    "gate_wait": _event(
        "any", "changes", "the process stopped at a gate and waits, for real, to be "
        "released (step) or for delay_ms (slow)",
        gate=_req("the gate (a point with gate true)"),
        peer=_opt("server at accept/start: the connection it holds")),
    "gate_pass": _event(
        "any", "changes", "the process passed the gate it waited at",
        gate=_req("the gate"),
        how=_opt("step (released), slow (delay_ms passed), run (mode changed) or stop")),
    # -- polls: the dashboard's own events (app/web/polls.py), not a process's; pid null
    "poll_opened": _event(
        "dashboard", "ignored", "the presenter (or a lesson) asked the room a question; "
        "anyone connected may vote until poll_closed",
        poll=_req("the poll's id"), question=_req("the question"),
        choices=_req("the choices, 2 to 8 texts (may be several lines: a small tree)"),
        lesson=_opt("the lesson that asked"), step=_opt("its step")),
    "poll_closed": _event(
        "dashboard", "ignored", "votes are over; the counts are for everyone now",
        poll=_req("the poll's id"), counts=_req("votes per choice, in the choices' order"),
        voters=_req("how many voted")),
    "poll_revealed": _event(
        "dashboard", "ignored", "what really happened: the choice that came true",
        poll=_req("the poll's id"),
        choice=_req("the index of the choice that came true, or null (none did)"),
        note=_opt("a sentence on what happened")),
    # -- lessons (app/lessons): the lab driven by a script of steps ------------------
    "flooded": _event(
        "client", "changes", "the client sent and received back to back for seconds "
        "(a lesson on concurrency): count round trips at once",
        count=_req("round trips"), bytes=_req("their bytes, each way"),
        seconds=_req("how long it went on"), text=_req("what it sent each time")),
    "lesson_step": _event(
        "dashboard", "ignored", "the presenter's lesson is at this step (viewers follow)",
        lesson=_req("the lesson's id; null: no lesson"), step=_req("the step, from 0"),
        phase=_opt("ready, asking or done"),
        truth=_opt("done: the key of the choice that really happened"),
        outcome=_opt("done: what the lab answered, as facts [{key, params}]")),
}


# -- readers -----------------------------------------------------------------------

def event_type(name):
    """*name*, if it is an event type of the schema: ``app.lab.events`` defines
    its constants through this, so a type the schema lacks fails on import."""
    if name not in EVENTS:
        raise ValueError(f"event type {name!r} is not in app/model/schema.py EVENTS")
    return name


def problems(event):
    """How *event* departs from the schema, in words; empty when it does not:
    an unknown type, a required field missing, a field its type does not name."""
    spec = EVENTS.get(event.get("type"))
    if spec is None:
        return [f"unknown event type {event.get('type')!r}"]
    found = []
    for fields in (ENVELOPE, spec["fields"]):
        found += [f"{event['type']}: no {name}" for name, field in fields.items()
                  if field["required"] and name not in event]
    found += [f"{event['type']}: {name} is not one of its fields" for name in event
              if name not in ENVELOPE and name not in spec["fields"]]
    return found


def process_defaults():
    """A fresh dict of P with every field at its default."""
    return {field: spec["default"] for field, spec in PROCESS.items()}


def ignored_event_types():
    """The types the registry records without changing anything."""
    return [name for name, spec in EVENTS.items() if spec["registry"] == "ignored"]


def document():
    """The schema as one JSON-ready dict (what ``static/js/schema.js`` exports)."""
    return {
        "states": [{"name": name, "doc": doc} for name, doc in STATES.items()],
        "transitions": {state: list(to) for state, to in TRANSITIONS.items()},
        "joined_kept": JOINED_KEPT,
        "process": PROCESS,
        "envelope": ENVELOPE,
        "events": EVENTS,
        "points": POINTS,
        "gates": list(GATES),
        "step_modes": list(STEP_MODES),
    }


JS_PATH = Path(__file__).resolve().parents[2] / "static" / "js" / "schema.js"


def javascript():
    """The text of ``static/js/schema.js``: ``document()`` as an ES module."""
    body = json.dumps(document(), indent=2, ensure_ascii=False)
    return ("// Generated by `python -m app.model.schema --write` from app/model/schema.py:\n"
            "// do not edit; change the Python schema and regenerate.\n"
            f"export const SCHEMA = {body};\n")


def main(argv=None):
    """``--write`` regenerates static/js/schema.js; ``--check`` exits 1 when it is
    stale; with no argument the JSON document goes to stdout."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--write"]:
        JS_PATH.write_text(javascript(), encoding="utf-8")
        print(f"wrote {JS_PATH}")
        return 0
    if argv == ["--check"]:
        current = JS_PATH.read_text(encoding="utf-8") if JS_PATH.exists() else ""
        if current != javascript():
            print(f"{JS_PATH} is stale: run python -m app.model.schema --write",
                  file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m app.model.schema [--write | --check]", file=sys.stderr)
        return 2
    print(json.dumps(document(), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

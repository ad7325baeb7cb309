"""One dispatch for every action, whichever edge it came in by.

REST routes (``api.py``) and Socket.IO events (``sockets.py``) are thin edges:
each turns what arrived into an action name, a payload and a ``Caller``, calls
``dispatch``, and sends back the ``(status, body)`` it returns — REST as the
HTTP status and JSON body, Socket.IO as an ack that wraps the very same body.
So the two edges cannot drift apart: the presenter check, the refusal of
unknown fields, the error JSON and the answer to an unexpected exception are
written here once.

``ACTIONS`` is the table of what can be asked. Each ``Action`` names its REST
route, whether it is also a Socket.IO event, who may ask, the fields its
payload may have (with their JSON Schema), its success status and the schema of
its answer. ``app.web.openapi`` builds ``/api/openapi.json`` from this same
table, so the published request schemas are the ones enforced here.

Values are still checked by the controller (``app.web.controller``), which
gives each wrong value its own ``params.reason``; the table decides which
fields exist at all.
"""

import re
from dataclasses import dataclass, field

from flask import current_app
from werkzeug.exceptions import HTTPException

from app import lessons
from app.errors import LabError
from app.model import puzzle as pz
from app.model import schema
from app.web import exports
from app.web.controller import FLOOD_MAX, FLOOD_MIN, LESSON_PHASES, OUTCOME_MAX, bad

PID = {"type": "integer", "minimum": 1, "description": "a lab process's pid"}


@dataclass(frozen=True)
class Caller:
    """Who asks. The edge decides it (``Access.presenter``: a token, the session
    cookie, or loopback without a token); ``dispatch`` decides what they may do.
    *connection* is the Socket.IO sid the call came over (None over REST): a
    vote is counted for the voter bound to it (``app.web.polls``)."""
    presenter: bool
    connection: str = None


@dataclass(frozen=True)
class Action:
    """One thing a client can ask the dashboard.

    *run* is called as ``run(forkscope, caller, args)`` and returns the success
    body; *args* holds the path parameters and the payload's fields, already
    checked against *fields*. *fields* maps each field the payload (the JSON
    body of a POST, the query of a GET) may carry to its JSON Schema — or is a
    function of the dashboard's ``Settings`` that returns that map, where a
    bound is a setting (``max_spawn``). Fields in *required* must be there
    (the controller says so when one is not). Path parameters are named in
    *path* the Flask way (``<pid>``); over Socket.IO they travel in the payload.
    *response* is the success body's JSON Schema, or the name of one in
    ``app.web.openapi.SCHEMAS``; *errors* the statuses it may answer besides
    those every action may (see ``app.web.openapi``). *media* is the success
    body's type: an action answering anything but JSON (a recording's file)
    returns a ready ``flask.Response``, which the REST edge sends as it is.

    *who* may ask: ``"presenter"`` or ``"anyone"``; by default a POST or a
    DELETE changes the lab (the presenter only) and a GET reads (anyone).
    *edges* it comes in by: ``"rest"`` (a route, in OpenAPI) and ``"socket"``
    (a Socket.IO event named like the action); by default a GET is REST only,
    a POST or a DELETE both. A
    viewer's vote is the one action both say otherwise: anyone, Socket.IO
    only (a vote counts for the voter bound to a connection).
    """
    name: str
    method: str
    path: str
    run: object
    summary: str
    response: object
    fields: dict = field(default_factory=dict)
    required: tuple = ()
    status: int = 200
    errors: tuple = ()
    description: str = ""
    media: str = "application/json"
    who: str = None
    edges: tuple = None

    def __post_init__(self):
        # a typo here must not open an action to every viewer
        if self.who not in (None, "presenter", "anyone"):
            raise ValueError(f"{self.name}: who={self.who!r}; 'presenter' or 'anyone'")
        if self.edges is not None and not set(self.edges) <= {"rest", "socket"}:
            raise ValueError(f"{self.name}: edges={self.edges!r}; 'rest' and/or 'socket'")

    def field_schemas(self, settings):
        """{field: JSON Schema} of the payload, for these settings."""
        return self.fields(settings) if callable(self.fields) else self.fields

    @property
    def presenter_only(self):
        """Only the presenter may ask (see *who*)."""
        if self.who is not None:
            return self.who != "anyone"
        return self.method != "GET"

    @property
    def socket_event(self):
        """A Socket.IO event too, named like the action (see *edges*)."""
        return "socket" in self.edge_names

    @property
    def rest_route(self):
        """A REST route under /api/, described in OpenAPI (see *edges*)."""
        return "rest" in self.edge_names

    @property
    def edge_names(self):
        if self.edges is not None:
            return self.edges
        return ("rest", "socket") if self.method != "GET" else ("rest",)

    @property
    def path_params(self):
        return tuple(re.findall(r"<(?:\w+:)?(\w+)>", self.path))

    @property
    def openapi_path(self):
        return "/api" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.path)


def _whoami(fs, caller, args):
    return {"presenter": caller.presenter, "token_required": fs.settings.token is not None,
            "viewer_url": fs.viewer_url}


def _reset(fs):
    """A known lab for a lesson: no puzzle running either — its desk ends it (every
    puzzle process reaped by its parent) before the controller resets the lab."""
    puzzle = fs.puzzles.current
    if puzzle is not None:
        try:
            fs.puzzles.end(puzzle.id)
        except LabError:
            pass   # ended meanwhile; or a process that does not answer: the reset kills it
    return fs.controller.reset_lab()


def _openapi(fs, caller, args):
    from app.web.openapi import document  # it imports this module's table
    return document(fs.settings)


# The statuses every lab-touching POST may answer besides its own: a lab
# process that did not answer (504) or a server that is down (409).
LAB = (409, 504)

ACTIONS = {a.name: a for a in [
    # -- reading: everyone ---------------------------------------------------------
    Action("state", "GET", "/state", lambda fs, c, a: fs.controller.state(),
           "the process table", "State"),
    Action("events", "GET", "/events",
           lambda fs, c, a: fs.controller.events(a.get("after", "0")),
           "events after a seq (the last 10,000 are kept)", "Events",
           fields={"after": {"type": "integer", "default": 0}}),
    Action("truth", "GET", "/truth",
           lambda fs, c, a: fs.controller.truth(detail=a.get("detail", "1") != "0",
                                               pid=a.get("pid")),
           "the model beside /proc", "Truth",
           fields={"detail": {"type": "string", "default": "1",
                              "description": "0 skips memory, fds and sockets"},
                   "pid": PID}),
    Action("code", "GET", "/code", lambda fs, c, a: fs.controller.code(),
           "the lab's own source", "Code"),
    Action("whoami", "GET", "/whoami", _whoami, "may this caller act?", "Whoami"),
    Action("get_lab", "GET", "/lab", lambda fs, c, a: fs.controller.lab_settings(),
           "how the echo server makes its workers", "Lab"),
    Action("schema", "GET", "/schema.json", lambda fs, c, a: schema.document(),
           "states, transitions, P's fields and every event type (app/model/schema.py)",
           {"type": "object", "required": ["states", "transitions", "process", "events"]}),
    Action("openapi", "GET", "/openapi.json", _openapi,
           "this description (OpenAPI 3.1)", {"type": "object"}),
    # -- recording (app/web/recorder.py, app/web/exports.py; docs/api.md "Recording")
    Action("export_jsonl", "GET", "/export.jsonl", lambda fs, c, a: exports.export_jsonl(fs),
           "this session from its start as one forkscope-session file (JSON Lines)",
           {"type": "string"}, errors=(409,), media=exports.NDJSON),
    Action("export_trace", "GET", "/export.trace.json",
           lambda fs, c, a: exports.export_trace(fs),
           "this session in the Trace Event Format (Perfetto, chrome://tracing)",
           {"type": "object", "required": ["traceEvents"]}, errors=(409,)),
    Action("recordings", "GET", "/recordings", lambda fs, c, a: exports.recordings(fs),
           "the recorded sessions' part files", "Recordings"),
    Action("recording", "GET", "/recordings/<name>",
           lambda fs, c, a: exports.recording(fs, a["name"]),
           "one part file of a recorded session", {"type": "string"}, errors=(404,),
           media=exports.NDJSON),
    # -- acting: the presenter only; each is also a Socket.IO event ------------------
    Action("spawn_client", "POST", "/clients",
           lambda fs, c, a: fs.controller.spawn_clients(a),
           "start client processes", "Spawned", status=201,
           fields=lambda s: {"count": {"type": "integer", "minimum": 1,
                                         "maximum": s.max_spawn, "default": 1}},
           errors=(429, *LAB)),
    Action("send_message", "POST", "/clients/<pid>/messages",
           lambda fs, c, a: fs.controller.send_message(a["pid"], a),
           "a client sends text; the worker answers it upper-cased", "Reply",
           fields={"text": {"type": "string", "pattern": r"\S",
                            "description": "UTF-8, at most 64 KiB (413 beyond)"}},
           required=("text",),
           errors=(404, 413, *LAB)),
    Action("close_client", "POST", "/clients/<pid>/close",
           lambda fs, c, a: fs.controller.close_client(a["pid"]),
           "the client closes its socket and exits", "Process", errors=(404, *LAB)),
    Action("terminate", "POST", "/processes/<pid>/terminate",
           lambda fs, c, a: fs.controller.signal(a["pid"], "terminate"),
           "p.terminate() by the process's parent", "Process", errors=(404, *LAB)),
    Action("kill", "POST", "/processes/<pid>/kill",
           lambda fs, c, a: fs.controller.signal(a["pid"], "kill"),
           "p.kill() by the process's parent", "Process", errors=(404, *LAB)),
    Action("join", "POST", "/processes/<pid>/join",
           lambda fs, c, a: fs.controller.join(a["pid"], a),
           "p.join(timeout) by the process's parent", "Process",
           fields=lambda s: {"timeout": {"type": "number", "minimum": 0,
                                           "maximum": s.max_join_timeout}},
           errors=(404, *LAB)),
    Action("restart_server", "POST", "/server/restart",
           lambda fs, c, a: fs.controller.restart_server(),
           "stop the echo server, start a new one on the same port", "Restarted",
           errors=LAB),
    Action("lab_settings", "POST", "/lab",
           lambda fs, c, a: fs.controller.change_lab_settings(a),
           "new worker settings; restarts the echo server with them", "LabApplied",
           fields={"start_method": {"enum": ["fork", "spawn", "forkserver"]},
                   "daemon_workers": {"type": "boolean"},
                   "worker_style": {"enum": ["target", "subclass"]}},
           errors=LAB),
    Action("daemon_demo", "POST", "/demos/daemon-child",
           lambda fs, c, a: fs.controller.daemon_demo(),
           "a daemonic process tries to start a child", "DaemonDemo", errors=LAB),
    # -- stepping: real processes paused at the tutorial's points (app/lab/stepping.py)
    Action("step", "GET", "/step", lambda fs, c, a: fs.controller.step_state(),
           "the step mode, the enabled gates and who waits at one", "StepState"),
    Action("step_mode", "POST", "/step", lambda fs, c, a: fs.controller.set_step(a),
           "run, step (each enabled gate holds until released) or slow (each holds "
           "delay_ms)", "StepState",
           fields={"mode": {"enum": list(schema.STEP_MODES)},
                   "delay_ms": {"type": "integer", "minimum": 100, "maximum": 5000,
                                "description": "slow mode: how long each gate holds"},
                   "gates": {"type": "array", "items": {"enum": list(schema.GATES)},
                             "description": "the enabled gates (default: all)"}},
           required=("mode",), errors=LAB),
    Action("step_next", "POST", "/step/next", lambda fs, c, a: fs.controller.step_next(a),
           "release one waiting gate: pid's, else the one waiting longest", "Released",
           fields={"pid": PID}, errors=LAB),
    # -- fork-tree puzzles: OSTEP's fork.py on real processes (app/web/puzzles.py) ----
    Action("puzzles", "GET", "/puzzles", lambda fs, c, a: fs.puzzles.overview(),
           "the fork-tree puzzle running now, or null", "PuzzleOverview"),
    Action("puzzle", "GET", "/puzzles/<id>", lambda fs, c, a: fs.puzzles.get(a["id"]),
           "a puzzle: its actions, the tree /proc has, the next tree expected and "
           "candidate trees for a vote", "Puzzle"),
    Action("puzzle_start", "POST", "/puzzles", lambda fs, c, a: fs.puzzles.create(a),
           "start a fork-tree puzzle (root process a): actions given, or drawn from a seed",
           "Puzzle", status=201, fields={
               "actions": {"anyOf": [
                   {"type": "string", "maxLength": pz.MAX_TEXT,
                    "description": "fork.py's -A: a+b,b+c,c- (a forks b, ..., c exits)"},
                   {"type": "array", "minItems": 1, "maxItems": pz.MAX_ACTIONS,
                    "items": {"type": "string", "maxLength": pz.MAX_ITEM}}]},
               "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1,
                        "description": "fork.py's -s (default: a random one)"},
               "count": {"type": "integer", "minimum": 1, "maximum": pz.MAX_ACTIONS,
                         "default": 5, "description": "fork.py's -a"},
               "fork_p": {"type": "number", "minimum": 0.05, "maximum": 1, "default": 0.7,
                          "description": "fork.py's -f: the chance an action is a fork"},
               "reparent": {"enum": list(pz.REPARENTS), "default": "root",
                            "description": "orphans go to a (only a is a child subreaper) "
                                           "or to the nearest living ancestor (fork.py -R)"},
               "leaf_only": {"type": "boolean", "default": False,
                             "description": "fork.py -L: a process with children may "
                                            "not exit"},
               "ask": {"enum": list(pz.ASKS), "default": "tree",
                       "description": "the room predicts the next tree, or (fork.py -t) "
                                      "the action from the trees"}},
           errors=(409, 429, 504)),
    Action("puzzle_next", "POST", "/puzzles/<id>/next",
           lambda fs, c, a: fs.puzzles.next(a["id"]),
           "run the puzzle's next action with real processes; the tree /proc then has",
           "PuzzleStep", errors=(409, 429, 504)),
    Action("puzzle_reveal", "POST", "/puzzles/<id>/reveal",
           lambda fs, c, a: fs.puzzles.reveal(a["id"]),
           "show the room what comes next, running nothing: the next question "
           "(ask=tree) or the action last run (ask=action)", "Puzzle", errors=(409,)),
    Action("puzzle_ask", "POST", "/puzzles/<id>/ask",
           lambda fs, c, a: fs.puzzles.ask_room(a["id"], a),
           "ask the room the question now shown: a poll of the candidate trees (or "
           "actions); the step that answers it reveals the one /proc proves", "Puzzle",
           fields={"question": {"type": "string", "minLength": 1, "maxLength": 500,
                                "pattern": r"\S",
                                "description": "the poll's question, in the room's "
                                               "language (default: English)"}},
           errors=(409,)),
    Action("puzzle_end", "DELETE", "/puzzles/<id>", lambda fs, c, a: fs.puzzles.end(a["id"]),
           "end the puzzle: every puzzle process exits and is reaped", "PuzzleEnded",
           errors=(504,)),
    # -- lessons (app/lessons): a known lab, two demonstrations, the CPU meter, and
    # the step the presenter's lesson is at (viewers follow it) ----------------------
    Action("lessons", "GET", "/lessons", lambda fs, c, a: lessons.public(),
           "the guided lessons: each a script of narrated steps", "Lessons"),
    Action("lesson_current", "GET", "/lessons/current",
           lambda fs, c, a: fs.controller.lesson_current(),
           "the lesson and step the presenter is at", "LessonStep"),
    Action("lesson_step", "POST", "/lessons/step", lambda fs, c, a: fs.controller.lesson_step(a),
           "the presenter's lesson is at this step: a lesson_step event for viewers",
           "LessonStep", required=("lesson", "step"),
           fields={"lesson": {"type": ["string", "null"], "maxLength": 64,
                              "description": "a lesson's id; null: no lesson"},
                   "step": {"type": "integer", "minimum": 0, "maximum": 99},
                   "phase": {"enum": list(LESSON_PHASES)},
                   "truth": {"type": ["string", "null"], "maxLength": 40,
                             "description": "done: the key of the choice that happened"},
                   "outcome": {"type": "array", "maxItems": OUTCOME_MAX, "items": {
                       "type": "object", "required": ["key"],
                       "properties": {"key": {"type": "string", "maxLength": 80},
                                      "params": {"type": "object"}}},
                       "description": "done: what the lab answered, as catalogue facts"}},
           errors=(413,)),
    Action("lab_reset", "POST", "/lab/reset", lambda fs, c, a: _reset(fs),
           "a known lab: every client, worker and orphan stopped and reaped, run mode, "
           "default lab settings, one new echo server", "LabReset", errors=LAB),
    Action("run_demo", "POST", "/demos/run-vs-start",
           lambda fs, c, a: fs.controller.run_demo(),
           "a process calls p.run() directly, then p.join(), then p.start()", "RunDemo",
           errors=LAB),
    Action("flood", "POST", "/clients/flood", lambda fs, c, a: fs.controller.flood(a),
           "every connected client sends back to back for seconds, all at once (run mode)",
           "Flooded", fields={"seconds": {"type": "number", "minimum": FLOOD_MIN,
                                          "maximum": FLOOD_MAX, "default": 3},
                              "text": {"type": "string", "pattern": r"\S", "maxLength": 100,
                                       "default": "ping"}},
           errors=LAB),
    Action("cpu", "GET", "/cpu", lambda fs, c, a: fs.controller.cpu(),
           "CPU per core and per lab process since the last reading (psutil)", "Cpu"),
]}

# -- polls: predict, then reveal (app/web/polls.py, app/model/polls.py) ----------------
POLL = {"type": "integer", "minimum": 1, "description": "a poll's id"}
POLL_TEXT = {"type": "string", "minLength": 1, "maxLength": 500, "pattern": r"\S"}
LABEL = {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"},
                   {"type": "integer", "minimum": 0}, {"type": "null"}]}
CHOICE = {"type": "integer", "minimum": 0, "maximum": 7,
          "description": "the index of a choice, from 0"}

ACTIONS.update({a.name: a for a in [
    Action("list_polls", "GET", "/polls", lambda fs, c, a: fs.polls.list(c),
           "the polls kept, newest first (counts null for a viewer while one is open)",
           "Polls"),
    Action("get_poll", "GET", "/polls/<poll>", lambda fs, c, a: fs.polls.get(a["poll"], c),
           "one poll (counts null for a viewer while it is open)", "Poll", errors=(404,)),
    Action("ask_poll", "POST", "/polls", lambda fs, c, a: fs.polls.ask(a, c),
           "ask the room a question: anyone connected may vote (Socket.IO vote) until "
           "it is closed", {"type": "object", "required": ["id"],
                            "properties": {"id": {"type": "integer"}}},
           status=201,
           fields={"question": POLL_TEXT,
                   "choices": {"type": "array", "minItems": 2, "maxItems": 8,
                               "items": POLL_TEXT,
                               "description": "2 to 8 texts, each different; a text may "
                                              "have several lines (a small tree)"},
                   "lesson": LABEL, "step": LABEL},
           required=("question", "choices"), errors=(409,)),
    Action("close_poll", "POST", "/polls/<poll>/close",
           lambda fs, c, a: fs.polls.close(a["poll"]),
           "votes are over: the counts go to every page (poll_closed)", "Poll",
           errors=(404, 409)),
    Action("reveal_poll", "POST", "/polls/<poll>/reveal",
           lambda fs, c, a: fs.polls.reveal(a["poll"], a),
           "after close: the choice that came true (or none), and a note (poll_revealed)",
           "Poll", fields={"choice": {**CHOICE, "type": ["integer", "null"]},
                           "note": {"anyOf": [POLL_TEXT, {"type": "null"}]}},
           errors=(404, 409)),
    Action("vote", "POST", "", lambda fs, c, a: fs.polls.vote(a, c),
           "a vote, from any connection: one per voter per poll (a new one replaces it)",
           {"type": "object", "required": ["poll", "choice"]},
           fields={"poll": POLL, "choice": CHOICE}, required=("poll", "choice"),
           errors=(404, 409, 429), who="anyone", edges=("socket",)),
]})


def dispatch(forkscope, name, payload, caller, path_args=None):
    """Run action *name* for *caller*; return ``(status, body)``, never raise.

    *payload* is what the client sent: the JSON body (REST POST), the query
    (REST GET) or the event's data (Socket.IO); ``None`` counts as ``{}``.
    *path_args* are the REST route's parameters; ``None`` means the call came
    over Socket.IO, whose payload carries them (``{"pid": 7, "text": ...}``).
    """
    try:
        action = ACTIONS.get(name)
        if action is None or (path_args is None and not action.socket_event):
            raise LabError(400, "unknown_event", f"unknown event {name!r}", event=str(name))
        if action.presenter_only and not caller.presenter:
            raise LabError(403, "forbidden", "only the presenter can do that")
        args = checked(action, payload, path_args, forkscope.settings)
        return action.status, action.run(forkscope, caller, args)
    except Exception as exc:  # noqa: BLE001 - every failure gets an answer, at once
        return failure(exc)


def checked(action, payload, path_args, settings):
    """The payload as a dict with only fields *action* knows, plus the path's."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise bad("the body must be a JSON object", reason="not_object")
    allowed = set(action.field_schemas(settings))
    if path_args is None:
        allowed |= set(action.path_params)
    for key in payload:
        if key not in allowed:
            # a typo ("cuont") must not quietly become the default (count=1)
            raise bad(f"unknown field {key!r}; {action.name} takes "
                      f"{sorted(allowed) or 'none'}", reason="unknown_field", field=key)
    # a path parameter Socket.IO's data lacks is None: the controller's check
    # of its value then answers (pid_not_int), as for any other wrong pid
    missing = dict.fromkeys(action.path_params)
    return {**missing, **payload, **(path_args or {})}


def failure(exc):
    """``(status, error JSON)`` for any exception: the one place errors become JSON.

    A ``LabError`` says what went wrong; an ``HTTPException`` (Werkzeug's 404,
    405, 413...) is translated; anything else is a bug: logged here, once, with
    its traceback, and answered ``500 internal`` without a word of it.
    """
    if isinstance(exc, LabError):
        return exc.status, exc.to_json()
    if isinstance(exc, HTTPException):
        error = LabError.from_http(exc)
        return error.status, error.to_json()
    current_app.logger.error("unexpected error", exc_info=exc)
    error = LabError.internal()
    return error.status, error.to_json()

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

from app.errors import LabError
from app.model import puzzle as pz
from app.model import schema
from app.web.controller import bad

PID = {"type": "integer", "minimum": 1, "description": "a lab process's pid"}


@dataclass(frozen=True)
class Caller:
    """Who asks. The edge decides it (``Access.presenter``: a token, the session
    cookie, or loopback without a token); ``dispatch`` decides what they may do."""
    presenter: bool


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
    those every action may (see ``app.web.openapi``).
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

    def field_schemas(self, settings):
        """{field: JSON Schema} of the payload, for these settings."""
        return self.fields(settings) if callable(self.fields) else self.fields

    @property
    def presenter_only(self):
        """Every POST (and DELETE) changes the lab: only the presenter may;
        reading is for all."""
        return self.method != "GET"

    @property
    def socket_event(self):
        """POST and DELETE actions are Socket.IO events too, named like the action."""
        return self.method != "GET"

    @property
    def path_params(self):
        return tuple(re.findall(r"<(?:\w+:)?(\w+)>", self.path))

    @property
    def openapi_path(self):
        return "/api" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.path)


def _whoami(fs, caller, args):
    return {"presenter": caller.presenter, "token_required": fs.settings.token is not None,
            "viewer_url": fs.viewer_url}


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
    Action("puzzle_end", "DELETE", "/puzzles/<id>", lambda fs, c, a: fs.puzzles.end(a["id"]),
           "end the puzzle: every puzzle process exits and is reaped", "PuzzleEnded",
           errors=(504,)),
]}

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

"""The OpenAPI 3.1 description of the REST API, built from the dispatch table.

``document(settings)`` walks ``app.web.dispatch.ACTIONS``: each action is one
operation (``operationId`` = the action's name, which is also its Socket.IO
event for a POST), its request schema is the action's fields, its responses
are its success body and the errors it may answer. Nothing here is written per
route, so a route cannot exist without being described, nor be described
without existing (``tests/integration/test_openapi.py`` checks both against
Flask's URL map, and Schemathesis checks the answers against the schemas).

Response schemas say what a client may rely on: the fields listed are always
there with these types; a body may carry more (``additionalProperties`` is
left open), so adding a field to ``P`` does not break a client or this file.
"""

from app.model import schema, session_file
from app.web.dispatch import ACTIONS

NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
ADDRESS = {"type": ["array", "null"], "items": {"type": ["string", "integer"]},
           "description": "[host, port]"}
ECHO = {"type": "object", "required": ["host", "port"],
        "properties": {"host": NULLABLE_STR, "port": NULLABLE_INT}}
LANGS_TEXT = {"type": "object", "required": ["zh-CN", "en"],
              "properties": {"zh-CN": {"type": "string"}, "en": {"type": "string"}}}
PID_PPID = {"type": "object", "required": ["pid", "ppid"],
            "properties": {"pid": {"type": "integer"}, "ppid": {"type": "integer"}}}


#: JSON types of P's fields, where a client may rely on one. Which fields P
#: has, and what each means, comes from app/model/schema.py (PROCESS).
P_TYPES = {
    "uid": {"type": "string"}, "pid": NULLABLE_INT, "ppid": NULLABLE_INT,
    "name": NULLABLE_STR,
    "role": {"enum": ["dashboard", "server", "worker", "client", "helper", "puzzle", None]},
    "state": {"enum": list(schema.STATES)}, "alive": {"type": "boolean"},
    "exitcode": NULLABLE_INT, "daemon": {"type": "boolean"},
    "orphaned": {"type": "boolean"}, "old_ppid": NULLABLE_INT,
    "peer": ADDRESS, "local": ADDRESS, "worker_pid": NULLABLE_INT,
    "client_pid": NULLABLE_INT, "connection": {"enum": ["open", "closed", None]},
    "said": NULLABLE_STR, "start_ms": {"type": ["number", "null"]},
    "started_t": {"type": ["number", "null"]}, "exited_t": {"type": ["number", "null"]},
    "served": {"type": "integer"}, "echoes": {"type": "integer"},
    "at": NULLABLE_STR, "gate": {"enum": [*schema.GATES, None]},
    "gate_since": {"type": ["number", "null"]}, "gate_peer": ADDRESS,
}


def process_schema():
    """P: every field of ``schema.PROCESS`` is always there, with its meaning."""
    return {"type": "object", "required": list(schema.PROCESS),
            "properties": {name: {**P_TYPES.get(name, {}), "description": spec["doc"]}
                           for name, spec in schema.PROCESS.items()},
            "description": "P, a process as the model has it (docs/api.md)"}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required, **properties):
    return {"type": "object", "required": list(required), "properties": properties}


PUZZLE_PROCESS = obj(["name", "pid", "ppid", "state"], name={"type": "string"},
                     pid={"type": "integer"}, ppid={"type": "integer"},
                     state={"enum": list(schema.STATES)})
TREE = {"type": "array", "items": PUZZLE_PROCESS,
        "description": "every live puzzle process, as /proc has it"}
TEXT = {"type": "string", "description": "a tree in fork.py's ASCII style"}
OUTCOME = {"enum": ["forked", "exited", "has_children"]}
PUZZLE_SCHEMAS = {
    "Puzzle": obj(
        ["id", "actions", "index", "finished", "seed", "reparent", "leaf_only", "ask",
         "phase", "outcomes", "tree", "tree_text", "next", "last", "poll"],
        id={"type": "integer"}, actions={"type": "array", "items": {"type": "string"}},
        index={"type": "integer", "description": "the next action's"},
        finished={"type": "boolean"}, seed=NULLABLE_INT,
        reparent={"enum": ["root", "ancestor"]}, leaf_only={"type": "boolean"},
        ask={"enum": ["tree", "action"]},
        phase={"enum": ["question", "answer"], "description": "what the room is shown"},
        outcomes={"type": "array", "items": OUTCOME}, tree=TREE, tree_text=TEXT,
        next={"type": ["object", "null"], "required": ["action", "expected_text",
                                                       "candidates"],
              "properties": {"action": {"type": "string"}, "expected_text": TEXT,
                             "candidates": {"type": "array", "items": obj(
                                 ["text", "correct", "kind"], text=TEXT,
                                 correct={"type": "boolean"}, kind={"type": "string"})}}},
        poll={"type": ["object", "null"], "required": ["id", "step", "kind"],
              "description": "the room's vote on a step (puzzle_ask): a poll's id"},
        last={"type": ["object", "null"],
              "required": ["action", "outcome", "before_text", "predicted_text",
                           "real_text", "match", "candidates", "action_candidates"]}),
    "PuzzleOverview": obj(["puzzle"], puzzle={"anyOf": [ref("Puzzle"), {"type": "null"}]}),
    "PuzzleStep": obj(["action", "outcome", "index", "tree", "tree_text", "predicted_text",
                       "match"], action={"type": "string"}, outcome=OUTCOME,
                      index={"type": "integer"}, tree=TREE, tree_text=TEXT,
                      predicted_text=TEXT, match={"type": "boolean"}),
    "PuzzleEnded": obj(["id", "ended"], id={"type": "integer"},
                       ended={"type": "array", "items": {"type": "integer"},
                              "description": "the pids that exited and were reaped"}),
}

SCHEMAS = {
    "Error": {**obj(["error", "code", "params"], error={"type": "string"},
                    code={"type": "string", "description": "a stable key: error.<code> in "
                          "static/i18n/*.json"},
                    params={"type": "object"}),
              "description": "every error, from REST and in a Socket.IO ack"},
    "Process": process_schema(),
    "State": obj(["seq", "echo", "processes"], seq={"type": "integer"}, echo=ECHO,
                 processes={"type": "array", "items": ref("Process")}),
    "Events": obj(["seq", "events"], seq={"type": "integer"},
                  events={"type": "array", "items": obj(
                      ["seq", "type"], seq={"type": "integer"},
                      type={"enum": list(schema.EVENTS)})}),
    "Truth": obj(["seq", "processes", "differences"], seq={"type": "integer"},
                 at={"type": "number", "description": "when /proc was read (time.time())"},
                 processes={"type": "array", "items": obj(
                     ["pid", "model", "os"], pid={"type": "integer"}, model=ref("Process"),
                     os={"type": ["object", "null"]})},
                 differences={"type": "array", "items": obj(["pid", "field"],
                                                            field={"type": "string"})}),
    "Code": {"type": "object", "additionalProperties": {"type": "string"}},
    "Whoami": obj(["presenter", "token_required", "viewer_url"],
                  presenter={"type": "boolean"}, token_required={"type": "boolean"},
                  viewer_url=NULLABLE_STR),
    "Lab": obj(["start_method", "daemon_workers", "worker_style"],
               start_method={"enum": ["fork", "spawn", "forkserver"]},
               daemon_workers={"type": "boolean"},
               worker_style={"enum": ["target", "subclass"]}),
    "Spawned": obj(["pids"], pids={"type": "array", "items": {"type": "integer"}}),
    "Reply": obj(["reply", "worker_pid", "rtt_ms", "client_pid"], reply={"type": "string"},
                 worker_pid=NULLABLE_INT, rtt_ms={"type": "number"},
                 client_pid={"type": "integer"}),
    "Restarted": obj(["pid", "echo"], pid={"type": "integer"}, echo=ECHO),
    "LabApplied": obj(["lab", "pid", "echo"], lab=ref("Lab"), pid={"type": "integer"},
                      echo=ECHO),
    "StepState": obj(["mode", "delay_ms", "gates", "waiting"],
                     mode={"enum": list(schema.STEP_MODES)}, delay_ms={"type": "integer"},
                     gates={"type": "array", "items": {"enum": list(schema.GATES)}},
                     waiting={"type": "array", "items": obj(
                         ["pid", "uid", "role", "gate", "since"], pid={"type": "integer"},
                         uid={"type": "string"}, role={"type": "string"},
                         gate={"enum": list(schema.GATES)}, since={"type": "number"},
                         **{"for": obj(["peer"], peer=ADDRESS)})}),
    "Released": obj(["released"], released=obj(["pid", "gate"], pid={"type": "integer"},
                                                gate={"enum": list(schema.GATES)})),
    "Poll": obj(["id", "question", "choices", "open", "state", "counts", "voters", "answer",
                 "note"],
                id={"type": "integer"}, question={"type": "string"},
                choices={"type": "array", "items": {"type": "string"}},
                open={"type": "boolean"}, state={"enum": ["open", "closed", "revealed"]},
                counts={"type": ["array", "null"], "items": {"type": "integer"},
                        "description": "votes per choice; null for a viewer while open"},
                voters={"type": "integer"}, answer=NULLABLE_INT, note=NULLABLE_STR),
    "Polls": obj(["polls"], polls={"type": "array", "items": ref("Poll")}),
    "Recordings": obj(["recording", "current", "schema", "recordings"],
                      recording={"type": "boolean"}, current=NULLABLE_STR,
                      error=NULLABLE_STR, schema={"type": "string"},
                      recordings={"type": "array", "items": obj(
                          ["name", "session", "part", "size", "started", "events",
                           "current"], name={"type": "string"}, session={"type": "string"},
                          part={"type": "integer"}, size={"type": "integer"},
                          started={"type": ["number", "null"]}, events={"type": "integer"},
                          current={"type": "boolean"})}),
    "DaemonDemo": obj(["started", "error", "pid", "name"], started={"type": "boolean"},
                      error=NULLABLE_STR, pid={"type": "integer"}, name={"type": "string"}),
    # -- fork-tree puzzles (app/web/puzzles.py) --
    **PUZZLE_SCHEMAS,
    # -- lessons (app/lessons) ------------------------------------------------------------
    "Lessons": {"type": "array", "items": obj(
        ["id", "title", "steps"], id={"type": "string"}, title=LANGS_TEXT,
        steps={"type": "array", "items": obj(["narration"], narration=LANGS_TEXT)})},
    "LessonStep": obj(["lesson", "step"], lesson=NULLABLE_STR, step={"type": "integer"},
                      phase={"type": "string"}, truth=NULLABLE_STR,
                      outcome={"type": "array", "items": obj(["key"], key={"type": "string"})}),
    "LabReset": obj(["pid", "echo", "lab", "step", "clean"], pid={"type": "integer"},
                    echo=ECHO, lab=ref("Lab"), step=ref("StepState"),
                    clean={"type": "boolean", "description": "the registry showed the "
                           "clean lab before the answer"}),
    "RunDemo": obj(["caller", "run", "start", "join_error", "pid", "name"],
                   caller=PID_PPID, run=PID_PPID, start=PID_PPID, join_error=NULLABLE_STR,
                   pid={"type": "integer"}, name={"type": "string"}),
    "Flooded": obj(["seconds", "clients"], seconds={"type": "number"},
                   clients={"type": "array", "items": obj(
                       ["pid", "ok", "rounds", "worker_pid"], pid={"type": "integer"},
                       ok={"type": "boolean"}, rounds={"type": "integer"},
                       worker_pid=NULLABLE_INT)}),
    "Cpu": obj(["cores", "percent", "interval", "processes"], cores={"type": "integer"},
               percent={"type": "array", "items": {"type": "number"}},
               interval={"type": "number"},
               processes={"type": "array", "items": obj(
                   ["pid", "percent", "core"], pid={"type": "integer"},
                   percent={"type": ["number", "null"]}, core=NULLABLE_INT)}),
}

# What each status means, and who may get it.
STATUS_TEXT = {
    400: "malformed input (bad_input with params.reason, bad_json, unknown_field) or a "
         "Host header the dashboard does not serve (bad_host)",
    403: "only the presenter may (forbidden)",
    404: "not a live lab process (not_lab_process), no such recording (no_recording), "
         "no such poll (no_poll), no such puzzle running (no_puzzle), or no such route",
    409: "the state forbids it (wrong_state, join_would_block, server_down, "
         "nothing_waiting, not_recording, poll_open, poll_closed, puzzle_running, "
         "has_children, finished, no_clients, stepping...)",
    413: "the text is too large (too_large)",
    415: "a control call must be application/json (bad_content_type)",
    429: "a cap (max_clients, max_processes, rate_limited, max_voters; params.limit)",
    500: "an unexpected error (internal; logged, never described)",
    504: "a lab process did not answer in time (no_answer)",
}
# Path parameters' schemas, by name: a pid, or a recording's file name.
PATH_PARAMS = {"pid": {"type": "integer", "minimum": 1},
               "name": {"type": "string", "pattern": session_file.NAME_PATTERN}}
EVERY = (400, 500)          # bad_host, unknown_field; internal
EVERY_POST = (403, 415)     # the presenter only; JSON only


def document(settings):
    paths = {}
    for action in ACTIONS.values():
        if not action.rest_route:
            continue
        paths.setdefault(action.openapi_path, {})[action.method.lower()] = \
            operation(action, settings)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Forkscope", "version": "1",
                 "description": "The processes of a forking echo server, live. Every "
                                "POST and DELETE is also a Socket.IO event of the same "
                                "name as its operationId; its ack wraps the same body "
                                "(docs/api.md)."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer",
                          "description": "the presenter's token (--token); on loopback "
                                         "without one, everyone presents"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "set by opening /?token=..."},
            },
        },
    }


def operation(action, settings):
    fields = action.field_schemas(settings)
    op = {"operationId": action.name, "summary": action.summary,
          "parameters": [{"name": p, "in": "path", "required": True,
                          "schema": PATH_PARAMS.get(p, PATH_PARAMS["pid"])}
                         for p in action.path_params]}
    if action.method == "POST":
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": fields, "required": list(action.required),
            "additionalProperties": False}}}}
        op["security"] = [{}, {"token": []}, {"session": []}]
        errors = EVERY + EVERY_POST + action.errors
    elif action.method == "DELETE":   # no body: nothing to type, the presenter only
        op["security"] = [{}, {"token": []}, {"session": []}]
        errors = EVERY + (403,) + action.errors
    else:
        op["parameters"] += [{"name": name, "in": "query", "required": name in action.required,
                              "schema": schema} for name, schema in fields.items()]
        errors = EVERY + action.errors
    if action.path_params:
        errors += (404,)
    response = action.response
    op["responses"] = {str(action.status): json_response(
        "success", ref(response) if isinstance(response, str) else response, action.media)}
    for status in sorted(set(errors)):
        op["responses"][str(status)] = json_response(STATUS_TEXT[status], ref("Error"))
    return op


def json_response(description, schema, media="application/json"):
    return {"description": description, "content": {media: {"schema": schema}}}

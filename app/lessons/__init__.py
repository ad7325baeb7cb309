"""Guided lessons: scripts of narrated steps that drive the real lab.

Each lesson is one JSON file here (``NN-name.json``), read by the dashboard
(``GET /api/lessons``) and run by the page (``static/js/lessons.js``). A
lesson is data, not code: every action a step takes is an action of the
dispatch table (``app.web.dispatch.ACTIONS``), sent by the page through the
same ``sync.call`` as the buttons — there is no side door into the lab.

A lesson::

    {"id": "orphans",
     "title": {"zh-CN": "...", "en": "..."},
     "steps": [STEP, ...]}

A step (every text in both languages, ``{"zh-CN": ..., "en": ...}``)::

    {"narration": TEXT,                 # what the teacher says, in large type
     "code": "p.terminate()",           # optional: the Python the step is about
     "do": [{"action": "terminate",     # optional: dispatch actions, in order
             "args": {"pid": "@server"}}],
     "ask": {"question": TEXT,          # optional: the room predicts first
             "choices": [{"key": "dashboard", "text": TEXT}, ...]},
     "truth": {"rule": "fate",          # with ask: which choice really happened
               "watch": "@workers"},    #   (the processes it looks at, taken
                                        #   before the action)
     "show": ["@workers"],              # optional: processes to show, model and /proc
     "meter": "cpu"}                    # optional: CPU per core (GET /api/cpu)

A *reference* (``@…``) names a process by its place in the live lab, resolved
by the page against the model when the step runs (``static/js/lesson-refs.js``):
``@dashboard``, ``@server`` (the newest server not yet reaped), ``@client:N``
/ ``@worker:N`` (the Nth not yet reaped, oldest first; ``-1`` the newest),
``@worker_of:client:N`` (that client's worker), ``@workers`` (every worker
not yet reaped), ``@live`` (every process not yet reaped). Only a ``pid``
may be a reference in an action's arguments.

The truth rules (``static/js/lesson-truth.js``) read the model, ``/proc``
(``GET /api/truth``) and the actions' answers after the action, and name the
choice that happened; the page shows it beside the room's prediction.

``problems(lessons, actions, settings)`` lists everything wrong with the
catalogue, in words: the unit tests require none (it needs ``jsonschema``,
a test tool; the dashboard only reads the files).
"""

import json
import re
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = ("zh-CN", "en")
REF = re.compile(r"^@(dashboard|server|workers|live|(client|worker):-?[1-9]\d*"
                 r"|worker_of:client:-?[1-9]\d*)$")
LIST_REFS = ("@workers", "@live")          # name several processes: show / watch only
STEP_KEYS = {"narration", "code", "do", "ask", "truth", "show", "meter"}
METERS = ("cpu",)
PLACEHOLDER_PID = 1                          # a reference stands for a pid in the checks


@lru_cache(maxsize=1)
def catalogue():
    """Every lesson, in file-name order (the order the page lists them)."""
    return tuple(json.loads(path.read_text("utf-8"))
                 for path in sorted(HERE.glob("*.json")))


def public():
    """``GET /api/lessons``: ``[{"id", "title", "steps"}]``."""
    return [{"id": lesson["id"], "title": lesson["title"], "steps": lesson["steps"]}
            for lesson in catalogue()]


def find(lesson_id):
    """The lesson with this id, or None."""
    return next((lesson for lesson in catalogue() if lesson["id"] == lesson_id), None)


# -- checking the catalogue --------------------------------------------------------------

def problems(lessons, actions, settings):
    """Everything wrong with *lessons*, in words (empty: nothing). *actions*
    is the dispatch table, *settings* the dashboard's (some bounds are settings)."""
    found = []
    ids = [lesson.get("id") for lesson in lessons]
    found += [f"lesson id {i!r} twice" for i in sorted(set(ids), key=str) if ids.count(i) > 1]
    for lesson in lessons:
        where = f"lesson {lesson.get('id')!r}"
        if not isinstance(lesson.get("id"), str) or not re.fullmatch(r"[a-z0-9-]+", lesson["id"]):
            found.append(f"{where}: id must be lower-case words joined by '-'")
        found += _text(lesson.get("title"), f"{where}: title")
        steps = lesson.get("steps")
        if not isinstance(steps, list) or not steps:
            found.append(f"{where}: no steps")
            continue
        for n, step in enumerate(steps):
            found += _step(step, f"{where} step {n}", actions, settings)
        first = steps[0].get("do") or [{}]
        if first[0].get("action") != "lab_reset":
            found.append(f"{where}: the first step must start with lab_reset (a known state)")
    return found


def _text(value, where):
    if not isinstance(value, dict) or set(value) != set(LANGS):
        return [f"{where}: needs exactly {list(LANGS)}"]
    return [f"{where}: {lang} is empty" for lang in LANGS
            if not isinstance(value[lang], str) or not value[lang].strip()]


def _refs(value, where, many=False):
    refs = value if isinstance(value, list) else [value]
    return [f"{where}: {ref!r} is not a reference" for ref in refs
            if not isinstance(ref, str) or not REF.match(ref)
            or (ref in LIST_REFS and not many)]


def _step(step, where, actions, settings):
    found = []
    if not isinstance(step, dict):
        return [f"{where}: not an object"]
    found += [f"{where}: unknown key {k!r}" for k in sorted(set(step) - STEP_KEYS)]
    found += _text(step.get("narration"), f"{where} narration")
    if "code" in step and not (isinstance(step["code"], str) and step["code"].strip()):
        found.append(f"{where}: code must be Python text")
    for i, do in enumerate(step.get("do", [])):
        found += _action(do, f"{where} do[{i}]", actions, settings)
    if "ask" in step:
        found += _ask(step["ask"], f"{where} ask")
        truth = step.get("truth")
        if not isinstance(truth, dict) or not isinstance(truth.get("rule"), str):
            found.append(f"{where}: a question needs a truth rule")
        elif "watch" in truth:
            found += _refs(truth["watch"], f"{where} truth.watch", many=True)
        if not step.get("do"):
            found.append(f"{where}: a question comes before an action: no do")
    elif "truth" in step:
        found.append(f"{where}: truth without a question")
    if "show" in step:
        found += _refs(step["show"], f"{where} show", many=True)
    if step.get("meter", "cpu") not in METERS:
        found.append(f"{where}: meter must be one of {list(METERS)}")
    return found


def _ask(ask, where):
    if not isinstance(ask, dict):
        return [f"{where}: not an object"]
    found = _text(ask.get("question"), f"{where} question")
    choices = ask.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        return found + [f"{where}: at least two choices"]
    keys = [c.get("key") for c in choices if isinstance(c, dict)]
    if len(set(keys)) != len(choices) or not all(isinstance(k, str) for k in keys):
        found.append(f"{where}: every choice needs its own key")
    for i, choice in enumerate(choices):
        if isinstance(choice, dict):
            found += _text(choice.get("text"), f"{where} choice {i}")
    return found


def _action(do, where, actions, settings):
    """*do* names a POST of the dispatch table (a Socket.IO event) and its
    arguments are a payload that action accepts, references standing for pids."""
    if not isinstance(do, dict) or set(do) - {"action", "args"}:
        return [f"{where}: must be {{action, args}}"]
    action = actions.get(do.get("action"))
    if action is None or not action.socket_event:
        return [f"{where}: {do.get('action')!r} is not an action of app/web/dispatch.py"]
    args = do.get("args", {})
    if not isinstance(args, dict):
        return [f"{where}: args must be an object"]
    found = []
    payload = {}
    for key, value in args.items():
        if isinstance(value, str) and value.startswith("@"):
            if key != "pid":
                found.append(f"{where}: only a pid may be a reference ({key})")
            found += _refs(value, f"{where} {key}")
            value = PLACEHOLDER_PID
        payload[key] = value
    import jsonschema  # a test tool (requirements-dev.txt): the dashboard never checks
    fields = action.field_schemas(settings)
    schema = {"type": "object", "additionalProperties": False,
              "properties": {**fields, **{p: {"type": "integer", "minimum": 1}
                                          for p in action.path_params}},
              "required": [*action.required, *action.path_params]}
    for error in jsonschema.Draft202012Validator(schema).iter_errors(payload):
        found.append(f"{where}: {action.name} {error.message}")
    return found

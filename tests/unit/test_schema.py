"""The schema is the one definition, and every Python reader agrees with it:
the lab's event constants, the registry's handlers, the state machine, P, the
generated static/js/schema.js, the scenarios and docs/api.md."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.lab import events
from app.model import schema
from app.model.registry import Registry, new_process
from app.model.states import ALLOWED, State
from tests.scenarios import DASH, SCENARIOS, scenario

ROOT = Path(__file__).resolve().parents[2]

#: Schema types no lab process reports (each needs a reason here); none today.
NOT_REPORTED = set()


def event_constants():
    """app.lab.events' constants: upper-case names bound to a string."""
    return {name: value for name, value in vars(events).items()
            if name.isupper() and isinstance(value, str)}


# -- the lab's constants ------------------------------------------------------------

def test_every_event_constant_is_a_schema_type_and_every_type_has_one():
    values = set(event_constants().values())
    assert values - set(schema.EVENTS) == set(), "constants the schema lacks"
    assert set(schema.EVENTS) - values == set(), "schema types with no constant in events.py"


def test_a_type_outside_the_schema_is_refused():
    with pytest.raises(ValueError, match="not in app/model/schema.py"):
        schema.event_type("exec")


def test_every_schema_type_is_reported_by_the_lab():
    """Some lab code uses the type's constant (``events.X``, or ``X`` inside
    events.py itself, e.g. HELLO in ``Reporter.hello``)."""
    sources = {path: path.read_text("utf-8") for path in (ROOT / "app").rglob("*.py")}
    reported = set()
    for name, value in event_constants().items():
        for path, text in sources.items():
            if path.name == "events.py" and path.parent.name == "lab":
                uses = len(re.findall(rf"\b{name}\b", text)) > 1  # beyond its definition
            else:
                uses = re.search(rf"\bevents\.{name}\b", text) is not None
            if uses:
                reported.add(value)
                break
    assert set(schema.EVENTS) - reported - NOT_REPORTED == set()
    assert NOT_REPORTED <= set(schema.EVENTS)


# -- the registry ----------------------------------------------------------------------

def test_the_registry_handles_exactly_the_types_the_schema_says_change_it():
    handlers = {name[len("_on_"):] for name in dir(Registry) if name.startswith("_on_")}
    changes = {t for t, spec in schema.EVENTS.items() if spec["registry"] == "changes"}
    assert handlers - set(schema.EVENTS) == set(), "handlers for types the schema lacks"
    assert changes - handlers == set(), "types marked 'changes' with no handler"
    assert handlers - changes == set(), "types marked 'ignored' with a handler"


@pytest.mark.parametrize("type_", schema.ignored_event_types())
def test_an_ignored_type_is_recorded_and_changes_nothing(type_):
    reg = Registry(DASH, 1)
    before = reg.snapshot()
    out = reg.apply({"type": type_, "t": 1.0, "pid": DASH, "by": DASH})
    assert "anomaly" not in out
    assert reg.snapshot() == dict(before, seq=1)


def test_every_registry_flag_is_changes_or_ignored():
    assert {spec["registry"] for spec in schema.EVENTS.values()} == {"changes", "ignored"}


# -- states and P --------------------------------------------------------------------------

def test_states_and_steps_come_from_the_schema():
    assert [s.value for s in State] == list(schema.STATES)
    assert {s.value: {n.value for n in to} for s, to in ALLOWED.items()} == {
        s: set(to) for s, to in schema.TRANSITIONS.items()}
    assert set(schema.TRANSITIONS) == set(schema.STATES)
    assert schema.PROCESS["state"]["default"] == next(iter(schema.STATES))


def test_a_new_process_is_p_at_its_defaults():
    p = new_process("worker-1")
    assert list(p) == list(schema.PROCESS)
    assert p == dict(schema.process_defaults(), uid="worker-1", name="worker-1")


def test_every_field_the_registry_writes_is_a_field_of_p():
    """After every scenario, every process has exactly P's fields."""
    for name in SCENARIOS:
        reg = Registry(DASH, 1)
        for e in scenario(name):
            reg.apply(e)
        for p in reg.snapshot()["processes"]:
            assert set(p) == set(schema.PROCESS), (name, p["uid"], set(p) ^ set(schema.PROCESS))


def test_every_field_has_a_default_and_a_meaning():
    for field, spec in schema.PROCESS.items():
        assert set(spec) == {"default", "doc"} and spec["doc"], field
    for type_, spec in schema.EVENTS.items():
        assert spec["doc"] and spec["by"], type_
        for field, fspec in spec["fields"].items():
            assert isinstance(fspec["required"], bool) and fspec["doc"], (type_, field)


# -- the scenarios ----------------------------------------------------------------------

def test_the_scenarios_use_every_event_type():
    used = {e["type"] for events_ in SCENARIOS.values() for e in events_}
    assert set(schema.EVENTS) - used == set(), "types no scenario exercises"


def test_scenario_events_carry_only_fields_the_schema_names():
    for name, events_ in SCENARIOS.items():
        for e in events_:
            known = set(schema.ENVELOPE) | set(schema.EVENTS[e["type"]]["fields"])
            assert set(e) - known == set(), (name, e)


# -- what the page and readers get ---------------------------------------------------------

def test_static_schema_js_is_in_step():
    assert schema.JS_PATH.exists(), "no static/js/schema.js: python -m app.model.schema --write"
    assert schema.JS_PATH.read_text("utf-8") == schema.javascript(), (
        "static/js/schema.js is stale: python -m app.model.schema --write")


def test_the_check_command_fails_on_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "schema.js"
    stale.write_text(schema.javascript().replace('"zombie"', '"undead"'), "utf-8")
    monkeypatch.setattr(schema, "JS_PATH", stale)
    assert schema.main(["--check"]) == 1
    assert schema.main(["--write"]) == 0
    assert schema.main(["--check"]) == 0


def test_the_document_is_json():
    doc = schema.document()
    assert json.loads(json.dumps(doc)) == doc
    assert [s["name"] for s in doc["states"]] == list(schema.STATES)
    assert set(doc["events"]) == set(schema.EVENTS)


def test_the_schema_imports_without_flask():
    """The spawned echo server imports app.lab, and through it the schema."""
    code = "import sys, app.lab.events; sys.exit('flask' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, "importing app.lab pulled in Flask"


# -- docs/api.md ------------------------------------------------------------------------

def _first_column(section):
    """The back-quoted names in the first column of a markdown table."""
    names = set()
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            names.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


def test_docs_list_every_field_and_event_type():
    text = (ROOT / "docs" / "api.md").read_text("utf-8")
    p_table = text.split("## The process model `P`")[1].split("\nStates")[0]
    events_table = text.split("## Events")[1].split("## Socket.IO")[0]
    assert _first_column(p_table) == set(schema.PROCESS)
    assert _first_column(events_table) == set(schema.EVENTS)
    flags = dict(re.findall(r"^\| `([a-z_]+)` \|[^|]*\| (changes|ignored) \|", events_table,
                            re.MULTILINE))
    assert flags == {t: spec["registry"] for t, spec in schema.EVENTS.items()}


def test_problems_names_what_departs_from_the_schema():
    good = {"type": "conn_closed", "t": 1.0, "pid": 4, "by": 4, "peer": ["127.0.0.1", 1]}
    assert schema.problems(good) == []
    assert schema.problems({**good, "type": "exec"}) == ["unknown event type 'exec'"]
    assert schema.problems({k: v for k, v in good.items() if k != "peer"}) == [
        "conn_closed: no peer"]
    assert schema.problems({**good, "said": "x"}) == ["conn_closed: said is not one of its fields"]

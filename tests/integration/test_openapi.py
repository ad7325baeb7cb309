"""The OpenAPI 3.1 description at /api/openapi.json: valid, complete (every
Flask /api/ route and nothing else), built from the dispatch table, and true —
Schemathesis sends generated requests to a live app (real lab processes) and
every answer must be documented and match its schema."""

import json
import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from app.model import schema
from app.settings import Settings
from tests.conftest import running
from tests.helpers import model_vs_proc

METHODS = {"get", "post", "put", "patch", "delete"}


def flask_routes(app):
    """{(OpenAPI path, method)} of every /api/ rule Flask routes."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes |= {(path, m.lower()) for m in rule.methods if m.lower() in METHODS}
    return routes


def documented(doc):
    return {(path, method) for path, item in doc["paths"].items()
            for method in item if method in METHODS}


@pytest.fixture
def doc(api):
    r = api.get("/api/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    return r.json()


def test_the_description_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1.")
    validate(doc)   # raises on any deviation from the OAS 3.1 schema


def test_it_names_exactly_the_flask_routes(live_app, doc):
    routes = flask_routes(live_app.app)
    assert ("/api/clients", "post") in routes and ("/api/openapi.json", "get") in routes
    assert documented(doc) - routes == set(), "documented but not routed"
    assert routes - documented(doc) == set(), "routed but not documented"


def test_request_schemas_are_the_dispatch_table(doc):
    """One source: each POST's body schema names exactly the action's fields."""
    from app.web.dispatch import ACTIONS
    posts = [a for a in ACTIONS.values() if a.method == "POST" and a.rest_route]
    assert posts
    for action in posts:
        op = doc["paths"][action.openapi_path]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert schema["additionalProperties"] is False
        assert set(schema["properties"]) == set(action.field_schemas(Settings())), action.name
        assert "403" in op["responses"] and "415" in op["responses"], action.name
        assert op["operationId"] == action.name


def test_socket_only_actions_have_no_route_and_anyone_may_vote(live_app, doc):
    """The vote is the one action a viewer may ask, and it has no REST route."""
    from app.web.dispatch import ACTIONS
    assert [a.name for a in ACTIONS.values() if not a.rest_route] == ["vote"]
    assert [a.name for a in ACTIONS.values() if a.method == "POST" and not a.presenter_only
            ] == ["vote"]
    assert "vote" not in {op["operationId"] for item in doc["paths"].values()
                          for op in item.values()}


def test_p_is_the_schema_modules(doc):
    """P's fields come from app/model/schema.py; the types named here are of its fields."""
    from app.model import schema
    from app.web.openapi import P_TYPES
    p = doc["components"]["schemas"]["Process"]
    assert p["required"] == list(schema.PROCESS)
    assert set(p["properties"]) == set(schema.PROCESS)   # (JSON sorts their keys)
    assert set(P_TYPES) <= set(schema.PROCESS), "a type for a field P no longer has"


# -- Schemathesis against a live app ----------------------------------------------------

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
# Each of these restarts the echo server (or starts a helper process) for every
# valid request: a few examples say as much as fifty, in a fraction of the time.
SLOW_OPERATIONS = {"restart_server": 3, "lab_settings": 4, "daemon_demo": 3}
EXAMPLES = 25   # per operation and generation mode: at most 50 per operation


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_schemathesis_finds_the_live_api_as_documented(tmp_path):
    from app.web.dispatch import ACTIONS
    # A small cap: most valid spawn requests get 429 max_clients (documented)
    # instead of forking dozens of processes on a machine others share.
    # join(timeout) really waits: a short bound (the schema's maximum follows it)
    # Recording on: the exports answer 200 (with --no-record, 409 only)
    with running(Settings(port=0, echo_port=0, max_clients=6, max_join_timeout=0.5,
                          record=str(tmp_path))) as live:
        schema = schemathesis.openapi.from_dict(live.api.get("/api/openapi.json").json())
        figures = {}
        started = time.monotonic()
        for result in schema.get_all_operations():
            operation = result.ok()
            name = operation.definition.raw["operationId"]
            limit = SLOW_OPERATIONS.get(name, EXAMPLES)
            for mode in (schemathesis.GenerationMode.POSITIVE,
                         schemathesis.GenerationMode.NEGATIVE):
                figures[(name, mode.value)] = run_operation(live, operation, mode, limit)
        elapsed = time.monotonic() - started
        examples = sum(n for statuses in figures.values() for n in statuses.values())
        print(f"\nschemathesis: {len(figures) // 2} operations, {examples} requests, "
              f"{elapsed:.1f} s; per operation and mode: {figures}")
        routed = [a for a in ACTIONS.values() if a.rest_route]   # a vote is Socket.IO only
        assert len(figures) // 2 == len(routed)
        assert examples >= 5 * len(routed), figures
        assert model_vs_proc(live.api.state()) == []


def a_live_client(api):
    """A running client's pid: random pids only ever meet 404, so half the
    examples of an action on a pid aim at a real process (and see its P)."""
    for zombie in api.processes(role="client", state="zombie"):   # they count to the cap
        api.post(f"/api/processes/{zombie['pid']}/join")
    running = api.processes(role="client", state="running")
    return running[0]["pid"] if running else api.spawn(1)[0]


def a_live_puzzle(api):
    """The running puzzle's id (one is started if none runs): as for pids, half
    the examples of an action on a puzzle aim at a real one (and see its state)."""
    puzzle = api.get("/api/puzzles").json()["puzzle"]
    if puzzle is None:
        puzzle = api.post("/api/puzzles", {"seed": 1, "count": 60, "fork_p": 0.6}).json()
    return puzzle["id"]


def run_operation(live, operation, mode, limit):
    """Up to *limit* generated requests; {status: how many}."""
    strategy = operation.as_strategy(generation_mode=mode)
    if "{pid}" in operation.path:
        strategy |= operation.as_strategy(generation_mode=mode, path_parameters={
            "pid": a_live_client(live.api)})
    if "/puzzles/{id}" in operation.path:
        strategy |= operation.as_strategy(generation_mode=mode, path_parameters={
            "id": a_live_puzzle(live.api)})

    @settings(max_examples=limit, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        response = case.call_and_validate(base_url=live.url, session=live.api.http,
                                          checks=CHECKS, timeout=30)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    statuses = {}
    try:
        check()
    except Unsatisfiable:
        # nothing to make invalid (GET /api/state takes no input at all)
        assert mode is schemathesis.GenerationMode.NEGATIVE and not statuses
    return statuses


def test_the_schema_is_served_as_the_page_has_it(api):
    """/api/schema.json is app/model/schema.py's document, the very data
    static/js/schema.js carries to the page (test_schema keeps that in step)."""
    r = api.get("/api/schema.json")
    assert r.status_code == 200
    assert r.json() == json.loads(json.dumps(schema.document()))
    assert set(r.json()["events"]) == set(schema.EVENTS)

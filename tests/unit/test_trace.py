"""The trace export (app/web/trace.py) against the Trace Event Format's rules
(tests/trace_rules.py), on a lecture as the lab reports it."""

import json

import pytest

from app.model.registry import Registry
from app.web import trace
from tests import trace_rules
from tests.recordings import lecture
from tests.scenarios import DASH, DASH_PPID, SERVER, scenario

HEADER = {"format": "forkscope-session", "started": 999.0, "session": "s"}


def recorded(events):
    """(snapshot at seq 0, the events as the registry hands them out), via JSON."""
    registry = Registry(DASH, DASH_PPID)
    snapshot = registry.snapshot()
    applied = [registry.apply(e) for e in events]
    return json.loads(json.dumps(snapshot)), json.loads(json.dumps(applied)), registry


def build(events):
    snapshot, applied, registry = recorded(events)
    doc = trace.build(HEADER, snapshot, applied)
    return json.loads(json.dumps(doc)), applied, registry


def of(doc, ph, name=None, pid=None):
    return [e for e in doc["traceEvents"] if e["ph"] == ph
            and (name is None or e["name"] == name) and (pid is None or e["pid"] == pid)]


def test_a_lecture_keeps_the_formats_rules():
    doc, _, _ = build(lecture(clients=25))
    assert trace_rules.problems(doc) == []
    assert doc["displayTimeUnit"] == "ms"


def test_one_track_per_process_named_with_its_role_and_parent():
    doc, _, registry = build(lecture(clients=12))
    names, twice = trace_rules.process_tracks(doc)
    assert not twice
    pids = {p["pid"] for p in registry.procs.values() if p["pid"] is not None}
    assert set(names) == pids
    assert names[SERVER] == f"server-1 (server) · ppid {DASH}"
    worker = registry.procs["server-1/worker-3"]
    assert names[worker["pid"]] == f"server-1/worker-3 (worker) · ppid {SERVER}"
    assert names[DASH] == f"dashboard (dashboard) · ppid {DASH_PPID}"


def test_tracks_sort_as_the_tree_each_process_after_its_parent():
    doc, _, registry = build(lecture(clients=8))
    index = {e["pid"]: e["args"]["sort_index"] for e in of(doc, "M", "process_sort_index")}
    assert sorted(index.values()) == list(range(len(index)))
    for p in registry.procs.values():
        if p["pid"] in index and p["ppid"] in index:
            assert index[p["ppid"]] < index[p["pid"]], p["uid"]


def test_running_and_zombie_slices_are_the_processes_lives():
    events = lecture(clients=10)
    doc, applied, registry = build(events)
    base = HEADER["started"]
    for p in registry.procs.values():
        if p["role"] == "dashboard" or p["pid"] is None:
            continue
        (running,) = of(doc, "X", "running", p["pid"])
        assert running["ts"] == pytest.approx((p["started_t"] - base) * 1e6)
        if p["exited_t"] is None:   # still running (the server): to the end
            assert p["role"] == "server" and not of(doc, "X", "zombie", p["pid"])
            assert running["ts"] + running["dur"] == pytest.approx(
                (applied[-1]["t"] - base) * 1e6)
            continue
        assert running["ts"] + running["dur"] == pytest.approx((p["exited_t"] - base) * 1e6)
        (zombie,) = of(doc, "X", "zombie", p["pid"])
        assert zombie["ts"] == pytest.approx((p["exited_t"] - base) * 1e6)
        reaped = [e for e in applied if e["type"] == "reaped" and e["uid"] == p["uid"]]
        end = reaped[0]["t"] if reaped else applied[-1]["t"]   # still a zombie: to the end
        assert zombie["ts"] + zombie["dur"] == pytest.approx((end - base) * 1e6)
        assert zombie["args"]["reaped"] == bool(reaped)


def test_every_event_is_an_instant_on_its_process_track():
    doc, applied, _ = build(lecture(clients=6))
    instants = of(doc, "i")
    assert [e["args"]["seq"] for e in instants] == [e["seq"] for e in applied]
    created = [e for e in instants if e["name"] == "created"]
    assert created and all(e["pid"] == e["args"]["by"] for e in created)   # no pid yet
    assert all(e["pid"] == e["args"]["pid"] for e in instants if e["name"] == "echo")


def test_each_echo_is_two_flows_client_worker_client():
    doc, applied, _ = build(lecture(clients=10))
    echoes = [e for e in applied if e["type"] == "echo"]
    starts, ends = of(doc, "s"), of(doc, "f")
    assert len(starts) == len(ends) == 2 * len(echoes)
    by_id = {e["id"]: e for e in ends}
    for echo, (request, reply) in zip(echoes, zip(starts[::2], starts[1::2])):
        assert (request["name"], reply["name"]) == ("request", "reply")
        assert request["pid"] == echo["client_pid"] == by_id[reply["id"]]["pid"]
        assert by_id[request["id"]]["pid"] == echo["worker_pid"] == reply["pid"]
        assert by_id[reply["id"]]["ts"] == pytest.approx((echo["t"] - HEADER["started"]) * 1e6)
        assert not request["args"]["estimated"]   # the worker's served event is in the rtt


def test_an_estimated_flow_end_lies_in_the_workers_life():
    # a worker whose set-up took most of the first round trip (the client sent
    # while it was being forked) and whose served report came after the reply:
    # the middle of the round trip is before its start, where no slice is
    events = [e for e in lecture(clients=1) if e["type"] != "served"]
    echo = next(e for e in events if e["type"] == "echo")
    worker = 303
    for e in events:
        if e.get("pid") == worker and e["type"] in ("started", "hello"):
            e["t"] = echo["t"] - echo["rtt_ms"] / 1000 / 10
    doc, applied, _ = build(events)
    assert trace_rules.problems(doc) == []
    request = of(doc, "f", "request", pid=worker)[0]
    started = next(e for e in applied if e["type"] == "started" and e["pid"] == worker)
    assert request["ts"] == pytest.approx((started["t"] - HEADER["started"]) * 1e6)


def test_an_orphan_says_whose_child_it_was_and_whose_it_is():
    doc, _, _ = build(scenario("server_killed_its_worker_orphaned"))
    names, _ = trace_rules.process_tracks(doc)
    assert names[400] == (f"server-1/worker-1 (worker) · ppid {SERVER} → orphan of {DASH}")
    assert trace_rules.problems(doc) == []


def test_a_reused_pid_gets_a_track_of_its_own():
    doc, _, _ = build(scenario("pid_reused_after_reaping"))
    names, twice = trace_rules.process_tracks(doc)
    assert not twice
    assert names[400].startswith("worker-1 (worker)")
    reused = [n for pid, n in names.items() if pid == 400 + trace.REUSED]
    assert reused and reused[0].startswith("client-9 (client)") and "(pid 400, reused)" in reused[0]


def test_a_session_without_events_is_a_valid_trace():
    doc = trace.build(HEADER, Registry(DASH, DASH_PPID).snapshot(), [])
    assert trace_rules.problems(doc) == [] and of(doc, "X", "running", DASH)


# -- the checker can fail ------------------------------------------------------------

@pytest.mark.parametrize("breakage, expect", [
    (lambda d: d["traceEvents"].append({"ph": "Q", "pid": 1, "tid": 1, "ts": 0, "name": "x"}),
     "not a phase"),
    (lambda d: of(d, "X")[0].__setitem__("dur", -1), "dur >= 0"),
    (lambda d: of(d, "i")[0].pop("ts"), "ts missing"),
    (lambda d: of(d, "i")[0].pop("tid"), "tid missing"),
    (lambda d: d["traceEvents"].remove(of(d, "f")[0]), "1 start(s), 0 end(s)"),
    (lambda d: of(d, "f")[0].__setitem__("ts", -5.0), "ends before it starts"),
    (lambda d: of(d, "s")[0].__setitem__("ts", -1e9), "encloses"),   # before any slice
    (lambda d: of(d, "M", "process_sort_index")[0]["args"].__setitem__("sort_index", "1"),
     "integer args.sort_index"),
    (lambda d: d.pop("traceEvents"), "traceEvents"),
])
def test_the_checker_sees_a_broken_rule(breakage, expect):
    doc, _, _ = build(lecture(clients=3))
    breakage(doc)
    found = trace_rules.problems(doc)
    assert any(expect in p for p in found), found

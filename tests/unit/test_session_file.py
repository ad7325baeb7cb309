"""The recording's file format, read back (app/model/session_file.py): a good
file parses; cut, foreign, other-version, gapped and oversized files are
refused with their own code; a snapshot plus the events after it replay to the
table the registry had."""

import json
import os

import pytest

from app.model import session_file as sf
from app.model.registry import Registry
from app.model.schema import JOINED_KEPT
from tests.recordings import lecture
from tests.scenarios import DASH, DASH_PPID, SCENARIOS, scenario


def recording(events_from=None, scenario_name="client_and_worker_paired_by_address"):
    """A file as the recorder writes it: header, snapshot at seq 0, the events."""
    registry = Registry(DASH, DASH_PPID)
    snapshot = registry.snapshot()
    source = scenario(scenario_name) if events_from is None else events_from
    events = [registry.apply(e) for e in source]
    head = sf.header(started=1.0, host="test", lab={"start_method": "fork"},
                     session="2026-11-29T20-31-05_100", part=1, dashboard_pid=DASH)
    data = sf.line(head) + sf.line({"snapshot": snapshot}) + b"".join(map(sf.line, events))
    return data, registry


def refused(data, code, **kw):
    with pytest.raises(sf.SessionFileError) as info:
        sf.parse(data, **kw)
    assert info.value.code == code, (info.value.code, info.value.message)
    assert info.value.code in sf.CODES
    body = info.value.to_json()
    assert body["code"] == code and body["error"] and isinstance(body["params"], dict)
    return info.value


def test_a_recording_parses_to_its_header_snapshot_and_events():
    data, registry = recording()
    session = sf.parse(data)
    assert session.header["format"] == "forkscope-session" and session.header["version"] == 1
    assert session.header["schema"] == sf.schema_id()
    assert session.snapshot["seq"] == 0
    assert [e["seq"] for e in session.events] == list(range(1, registry.seq + 1))
    assert session.last_seq == registry.seq
    assert session.warnings == []


def test_a_recording_with_no_events_yet_is_valid():
    data, _ = recording(events_from=[])
    assert sf.parse(data).events == []


def test_replaying_it_gives_the_registrys_table():
    data, registry = recording()
    assert sf.replay(sf.parse(data)).snapshot() == registry.snapshot()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_from_any_snapshot_the_rest_replays_to_the_same_table(name):
    """What a rotated part is: the snapshot between two batches, then the rest.
    Every scenario, cut at every event (at 50 places in the long one)."""
    events = scenario(name)
    whole = Registry(DASH, DASH_PPID)
    applied = [whole.apply(e) for e in events]
    for cut in sorted({*range(0, len(applied) + 1, max(1, len(applied) // 50)),
                       len(applied)}):
        head = Registry(DASH, DASH_PPID)
        for e in scenario(name)[:cut]:
            head.apply(e)
        snapshot = json.loads(json.dumps(head.snapshot()))   # as it was on disk
        rest = json.loads(json.dumps(applied[cut:]))
        session = sf.Session({}, snapshot, rest, joined=list(head.joined))
        assert sf.replay(session).snapshot() == json.loads(json.dumps(whole.snapshot())), cut


def test_line_2s_reaping_order_decides_which_reaped_processes_are_forgotten():
    """Beyond JOINED_KEPT reaped processes the oldest-reaped is dropped; a
    snapshot lists processes in creation order. In a lecture whose zombies are
    joined out of order, a replay from a snapshot alone drops the wrong
    processes; with line 2's ``joined`` it drops the right ones."""
    events = lecture(clients=160)
    whole = Registry(DASH, DASH_PPID)
    applied = [whole.apply(dict(e)) for e in events]
    assert sum(1 for p in whole.procs.values() if p["state"] == "joined") == JOINED_KEPT
    final = json.loads(json.dumps(whole.snapshot()))
    differed = 0
    for cut in range(0, len(events) + 1, 37):
        head = Registry(DASH, DASH_PPID)
        for e in events[:cut]:
            head.apply(dict(e))
        snapshot = json.loads(json.dumps(head.snapshot()))
        rest = json.loads(json.dumps(applied[cut:]))
        with_order = sf.Session({}, snapshot, rest, joined=list(head.joined))
        without = sf.Session({}, snapshot, rest)
        assert sf.replay(with_order).snapshot() == final, cut
        differed += sf.replay(without).snapshot() != final
    assert differed, "the snapshot's own order would do: this test shows nothing"


def test_text_with_line_separators_stays_on_its_line():
    """U+2028 is a line break to str.splitlines(); json.dumps(ensure_ascii=False)
    leaves it raw. The reader splits on \\n only."""
    events = scenario("client_and_worker_paired_by_address")
    echo = next(e for e in events if e["type"] == "echo")
    echo["text"] = echo["reply"] = "a\u2028b\u2029c\x85d 你好\nnew line"
    data, _ = recording(events_from=events)
    assert "\u2028".encode() in data
    session = sf.parse(data)
    assert next(e for e in session.events if e["type"] == "echo")["text"] == echo["text"]


# -- refusals -------------------------------------------------------------------------

def test_a_last_line_cut_mid_json_is_truncated():
    data, _ = recording()
    for cut in (2, 5, 20):   # (1 drops only the "\n": see the next test)
        e = refused(data[:-cut], "truncated")
        assert e.params["line"] == data.count(b"\n")


def test_a_last_line_that_is_whole_json_without_its_newline_is_accepted():
    data, registry = recording()
    assert sf.parse(data[:-1]).last_seq == registry.seq


def test_a_file_that_ends_before_its_snapshot_is_truncated():
    data, _ = recording()
    first = data.index(b"\n") + 1
    refused(data[:first], "truncated")
    refused(data[:first + 30], "truncated")


def test_a_bad_line_in_the_middle_is_not_jsonl():
    data, _ = recording()
    lines = data.split(b"\n")
    lines[4] = lines[4][:10]
    e = refused(b"\n".join(lines), "not_jsonl")
    assert e.params["line"] == 5


@pytest.mark.parametrize("data", [
    b"",
    b"\n",
    b"pid,ppid,state\n1,0,running\n",
    b"<!doctype html><html><body>404</body></html>\n",
    b"[1, 2, 3]\n",
    b"\xff\xfe\x00binary\x00\n",
    "\u4f60\u597d\n".encode(),
])
def test_foreign_files_are_not_jsonl(data):
    refused(data, "not_jsonl")


@pytest.mark.parametrize("head", [
    {"format": "chrome-trace", "version": 1},
    {"version": 1},
    {"traceEvents": []},
    {"format": "Forkscope-Session", "version": 1},
])
def test_json_lines_of_another_format_are_wrong_format(head):
    refused(sf.line(head) + sf.line({"snapshot": {"seq": 0, "processes": []}}), "wrong_format")


@pytest.mark.parametrize("version", [0, 2, "1", 1.5, True, None])
def test_another_version_is_wrong_version(version):
    data, _ = recording()
    lines = data.split(b"\n", 1)
    head = json.loads(lines[0])
    head["version"] = version
    e = refused(sf.line(head) + lines[1], "wrong_version")
    assert e.params["supported"] == 1


@pytest.mark.parametrize("second", [
    {"snapshot": None}, {"snapshot": {"processes": []}}, {"seq": 0},
    {"snapshot": {"seq": "0", "processes": []}}, {"snapshot": {"seq": 0}},
])
def test_a_second_line_that_is_not_a_snapshot_is_wrong_format(second):
    data, _ = recording()
    head = data.split(b"\n", 1)[0] + b"\n"
    refused(head + sf.line(second), "wrong_format")


def test_an_event_without_seq_or_type_is_wrong_format():
    data, _ = recording()
    for drop in ("seq", "type"):
        lines = data.split(b"\n")
        event = json.loads(lines[3])
        del event[drop]
        lines[3] = json.dumps(event).encode()
        assert refused(b"\n".join(lines), "wrong_format").params["line"] == 4


@pytest.mark.parametrize("change", ["drop", "repeat", "swap"])
def test_a_missing_repeated_or_swapped_event_is_a_seq_gap(change):
    data, _ = recording()
    lines = data.split(b"\n")
    if change == "drop":
        del lines[5]
    elif change == "repeat":
        lines.insert(5, lines[5])
    else:
        lines[5], lines[6] = lines[6], lines[5]
    e = refused(b"\n".join(lines), "seq_gap")
    line, expected, found = {"drop": (6, 4, 5), "repeat": (7, 5, 4), "swap": (6, 4, 5)}[change]
    assert (e.params["line"], e.params["expected"], e.params["found"]) == (line, expected, found)


def test_the_first_event_must_follow_the_snapshots_seq():
    data, _ = recording()
    lines = data.split(b"\n")
    snap = json.loads(lines[1])
    snap["snapshot"]["seq"] = 7
    lines[1] = json.dumps(snap).encode()
    e = refused(b"\n".join(lines), "seq_gap")
    assert (e.params["expected"], e.params["found"]) == (8, 1)


def test_over_the_limit_is_too_large_before_anything_is_read():
    data, _ = recording()
    e = refused(data, "too_large", max_bytes=len(data) - 1)
    assert e.params == {"size": len(data), "limit": len(data) - 1}
    assert sf.parse(data, max_bytes=len(data)).events


def test_fifty_megabytes_of_garbage_are_refused_quickly():
    """Random bytes without a newline, and JSON-looking junk that never closes:
    the header's size cap answers without parsing 50 MB."""
    import time
    garbage = os.urandom(50 * 1024 * 1024)
    started = time.monotonic()
    refused(garbage, "not_jsonl")
    refused(b'{"format": "forkscope-session", "version": 1, "x": "' + b"a" * (50 << 20),
            "not_jsonl")
    refused(garbage, "too_large", max_bytes=10 << 20)
    assert time.monotonic() - started < 5


def test_another_schema_is_a_warning_not_a_refusal():
    data, _ = recording()
    assert sf.parse(data, expect_schema=sf.schema_id()).warnings == []
    assert sf.parse(data, expect_schema="sha256:0000000000000000").warnings == [
        "schema_mismatch"]


def test_the_schema_id_follows_the_schema_document(monkeypatch):
    before = sf.schema_id()
    assert before.startswith("sha256:") and len(before) == len("sha256:") + 16
    from app.model import schema
    monkeypatch.setitem(schema.EVENTS, "new_kind", schema._event("any", "ignored", "new"))
    assert sf.schema_id() != before


@pytest.mark.parametrize("name, ok", [
    ("2026-11-29T20-31-05_4242_part1.jsonl", ("2026-11-29T20-31-05_4242", 1)),
    ("2026-11-29T20-31-05_4242-2_part12.jsonl", ("2026-11-29T20-31-05_4242-2", 12)),
    ("2026-11-29T20-31-05_4242_part0.jsonl", None),
    ("2026-11-29T20-31-05_4242_part1.jsonl\n", None),
    ("../2026-11-29T20-31-05_4242_part1.jsonl", None),
    ("2026-11-29T20-31-05_4242_part1.jsonl/..", None),
    ("2026-11-29T20-31-05_\u0664\u0662_part1.jsonl", None),   # Arabic-Indic digits
    ("passwd", None),
    (None, None),
])
def test_part_file_names(name, ok):
    import re
    assert sf.split_name(name) == ok
    if isinstance(name, str):   # the OpenAPI pattern says the same (ECMA: \d is ASCII)
        assert bool(re.match(sf.NAME_PATTERN, name, re.ASCII)) == (ok is not None) or \
            name.endswith("\n")


def test_a_value_json_cannot_hold_does_not_cost_the_line():
    """NaN would be refused by the page's JSON.parse; bytes or a set would stop
    json altogether. The line is written anyway (a lost line is a seq gap)."""
    odd = {"seq": 1, "type": "echo", "rtt_ms": float("nan"), "reply": b"HI", "x": {1},
           "peer": ("127.0.0.1", 5), "t": float("inf")}
    text = sf.line(odd)
    assert text.endswith(b"\n") and text.count(b"\n") == 1
    assert json.loads(text) == {"seq": 1, "type": "echo", "rtt_ms": None, "reply": "b'HI'",
                                "x": "{1}", "peer": ["127.0.0.1", 5], "t": None}
    assert b"NaN" not in text and b"Infinity" not in text

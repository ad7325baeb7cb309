"""Recording a real session: real lab processes, a real dashboard, files on
disk. The export parses and replays (through the Python registry) to exactly
the table ``/api/state`` shows; rotated parts replay alone; the trace keeps the
format's rules with one track per process; ``--no-record`` writes nothing and
says so; bad names never reach outside the directory."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.model import session_file as sf
from app.settings import Settings
from tests import trace_rules
from tests.conftest import running
from tests.helpers import ROOT, Api, dashboard_process, model_vs_proc, wait_until


def lecture(api, between=lambda: None):
    """Spawn 3, send on each, terminate one and join it, SIGKILL the server (its
    workers become orphans), restart it, and one more client on the new one.
    *between* runs after each step (the rotation test lets the writer catch up,
    as a lecture's pauses do: it writes every ``FLUSH_EVERY``). Each echo waits
    for its worker's coalesced ``served`` report, so the lecture's last event
    is in the table when it returns."""
    sent = 0

    def echo(pid, text):
        nonlocal sent
        assert api.send(pid, text)["reply"] == text.upper()
        sent += 1
        wait_until(lambda: sum(p["served"] for p in api.state()["processes"]) == sent,
                   message=f"the worker's report of round {sent}")

    clients = api.spawn(3)
    between()
    for i, pid in enumerate(clients):
        echo(pid, f"hello {i} 你好")
        between()
    assert api.post(f"/api/processes/{clients[0]}/terminate").json()["state"] == "zombie"
    between()
    assert api.post(f"/api/processes/{clients[0]}/join").json()["state"] == "joined"
    between()
    server = api.processes(role="server", state="running")[0]["pid"]
    os.kill(server, signal.SIGKILL)
    wait_until(lambda: (p := api.process(server)) and p["state"] == "zombie",
               message="the killed server's exit")
    between()
    echo(clients[1], "orphan")
    between()
    assert api.post("/api/server/restart").status_code == 200
    between()
    (late,) = api.spawn(1)
    between()
    echo(late, "new server")


def quiet_export(api, path="/api/export.jsonl"):
    """(state, export bytes) at one seq: read the state, the export, the state
    again, until nothing happened in between (a worker's coalesced ``served``
    may still come in)."""
    found = {}

    def same():
        before = api.state()
        r = api.get(path)
        after = api.state()
        found.update(state=after, response=r)
        return r.status_code == 200 and before["seq"] == after["seq"] and \
            sf.parse(r.content).last_seq == after["seq"]
    wait_until(same, timeout=10, message="a quiet moment to export")
    return found["state"], found["response"]


@pytest.fixture
def recorded(tmp_path):
    with running(Settings(port=0, echo_port=0, record=str(tmp_path))) as live:
        yield live, tmp_path


def test_the_export_replays_to_the_state(recorded):
    live, directory = recorded
    api = live.api
    lecture(api)
    state, r = quiet_export(api)
    assert r.headers["Content-Type"] == "application/x-ndjson"
    rec = live.forkscope.recorder
    assert r.headers["Content-Disposition"] == \
        f'attachment; filename="forkscope-{rec.session}.jsonl"'
    session = sf.parse(r.content, expect_schema=sf.schema_id())
    assert session.warnings == []
    assert session.snapshot["seq"] == 0 and session.events[0]["seq"] == 1
    assert session.last_seq == state["seq"]
    assert sf.replay(session).snapshot() == state
    # what a viewer got, event for event: the registry's own copies
    assert session.events[-len(api.events()):] == api.events()
    types = {e["type"] for e in session.events}
    assert {"signalled", "reparented", "reaped", "echo", "listening"} <= types
    assert model_vs_proc(state) == []
    # on disk: the same bytes as the export (one part), whole lines
    (path,) = directory.glob("*_part1.jsonl")
    assert path.read_bytes().startswith(r.content)


def test_the_trace_keeps_the_formats_rules_with_a_track_per_process(recorded):
    live, _ = recorded
    api = live.api
    lecture(api)
    state, r = quiet_export(api)
    r2 = api.get("/api/export.trace.json")
    assert r2.status_code == 200 and r2.headers["Content-Type"] == "application/json"
    assert "attachment" in r2.headers["Content-Disposition"]
    doc = r2.json()
    assert trace_rules.problems(doc) == []
    names, twice = trace_rules.process_tracks(doc)
    assert not twice
    session = sf.parse(r.content)
    every = {p["pid"] for p in sf.replay(session).procs.values() if p["pid"]}
    every |= {e["pid"] for e in session.events if e["type"] == "started"}
    assert set(names) == every, "one process track per process of the session"
    for p in state["processes"]:
        if p["role"] == "worker" and not p["orphaned"]:
            assert names[p["pid"]] == f"{p['name']} (worker) · ppid {p['ppid']}"
    echoes = [e for e in session.events if e["type"] == "echo"]
    assert len([e for e in doc["traceEvents"] if e["ph"] == "s"]) == 2 * len(echoes) >= 5


def test_rotation_gives_parts_each_replayable_and_one_export(tmp_path):
    # 2 KB of events a part: a spawn and a message are about that
    with running(Settings(port=0, echo_port=0, record=str(tmp_path),
                          record_max_mb=2 / 1024)) as live:
        api = live.api
        lecture(api, between=live.forkscope.recorder.sync)
        state, r = quiet_export(api)
        parts = sorted(tmp_path.glob("*.jsonl"), key=lambda p: sf.split_name(p.name)[1])
        assert len(parts) >= 4
        last = 0
        for path in parts:
            session = sf.parse(path.read_bytes())
            assert session.snapshot["seq"] == last
            assert session.header["part"] == sf.split_name(path.name)[1]
            last = session.last_seq
        assert last == state["seq"]
        # the last part alone replays to the state
        assert sf.replay(sf.parse(parts[-1].read_bytes())).snapshot() == state
        whole = sf.parse(r.content)
        assert whole.header["part"] == 1 and whole.last_seq == state["seq"]
        assert sf.replay(whole).snapshot() == state
        listing = api.get("/api/recordings").json()
        assert listing["recording"] and listing["current"] == live.forkscope.recorder.session
        assert [x["name"] for x in listing["recordings"]] == [p.name for p in parts]
        assert sum(x["events"] for x in listing["recordings"]) == state["seq"]
        one = api.get(f"/api/recordings/{parts[1].name}")
        assert one.status_code == 200 and one.content == parts[1].read_bytes()


def test_no_record_writes_nothing_and_says_so(tmp_path, monkeypatch):
    with running(Settings(port=0, echo_port=0)) as live:
        api = live.api
        api.spawn(1)
        for path in ("/api/export.jsonl", "/api/export.trace.json"):
            r = api.get(path)
            assert r.status_code == 409 and r.json()["code"] == "not_recording", path
        assert api.get("/api/recordings").json() == {
            "recording": False, "current": None, "error": None,
            "schema": sf.schema_id(), "recordings": []}


@pytest.mark.parametrize("name, status, code", [
    ("..%2Fsecret.jsonl", 404, "http_404"),     # a "/" never reaches the action
    ("..secret.jsonl", 400, "bad_input"),
    ("..%5Csecret.jsonl", 400, "bad_input"),
    ("passwd", 400, "bad_input"),
    ("2026-11-29T20-31-05_4242_part1.jsonl%00", 400, "bad_input"),
    ("2026-11-29T20-31-05_4242_part1.jsonl%0A", 400, "bad_input"),
    ("2026-11-29T20-31-05_4242_part1.json", 400, "bad_input"),
    ("2026-01-01T00-00-00_1_part1.jsonl", 404, "no_recording"),
])
def test_a_recording_is_asked_for_by_a_parts_name_only(recorded, name, status, code):
    live, directory = recorded
    (directory.parent / "secret.jsonl").write_text("{}\n")
    r = live.api.get(f"/api/recordings/{name}")
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    if code == "bad_input":
        assert body["params"]["reason"] == "bad_name"


def test_an_unwritable_directory_leaves_the_lecture_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with running(Settings(port=0, echo_port=0, record=str(blocker / "sessions"))) as live:
        api = live.api
        (pid,) = api.spawn(1)
        assert api.send(pid, "still")["reply"] == "STILL"
        r = api.get("/api/export.jsonl")
        assert r.status_code == 409 and "NotADirectoryError" in r.json()["error"]
        assert api.get("/api/recordings").json()["error"].startswith("NotADirectoryError")


# -- as a teacher runs it ---------------------------------------------------------------

def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    return out


@pytest.mark.timeout(90)
def test_the_cli_records_and_closes_the_file_on_stop(tmp_path):
    """SIGTERM (as Ctrl-C): the lab is stopped, and its last events — every
    process reaped — are in the file, a whole line each."""
    with dashboard_process("--record", str(tmp_path / "forkscope" / "sessions")) as (
            proc, url, _echo):
        note = proc.stdout.readline()   # the banner's third line
        api = Api(url)
        (pid,) = api.spawn(1)
        api.send(pid, "bye")
        stop(proc)
    (path,) = (tmp_path / "forkscope" / "sessions").glob("*_part1.jsonl")
    assert note == f"Recording: {path}\n"
    data = path.read_bytes()
    assert data.endswith(b"\n")
    session = sf.parse(data)
    final = sf.replay(session)
    # (multiprocessing's resource_tracker is stopped after the dashboard's hub)
    lab = [p for p in final.procs.values() if p["role"] in ("server", "worker", "client")]
    assert len(lab) == 3 and all(p["state"] == "joined" for p in lab), \
        "the stop's reaping is recorded"


@pytest.mark.timeout(90)
def test_the_cli_default_dir_is_under_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "app", "--port", "0", "--echo-port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]   # up and running
    finally:
        stop(proc)
    assert lines[2].startswith(f"Recording: {tmp_path / 'forkscope' / 'sessions'}/")
    (path,) = (tmp_path / "forkscope" / "sessions").glob("*.jsonl")
    assert sf.parse(path.read_bytes()).events


@pytest.mark.timeout(90)
def test_the_cli_no_record_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with dashboard_process("--no-record") as (proc, url, _echo):
        note = proc.stdout.readline()
        api = Api(url)
        api.spawn(1)
        assert api.get("/api/export.jsonl").status_code == 409
        stop(proc)
    assert note == "Recording: off (--no-record)\n"
    assert not any(Path(tmp_path).rglob("*")), "nothing written anywhere"

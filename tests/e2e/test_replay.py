"""/replay (issue 14): a recorded session played in the browser without any
lab process. A session recorded from a real lab (spawn 3, send, terminate,
join, kill the echo server, restart it) replays to the live page's own
model — every field of P, the reaping order, the pid index — and to the same
tree, reaped list and log; bad files are refused with a message and break
nothing; the page needs no lab at all."""

import json
import os
import signal

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from bench.scrub import replay_server
from tests.e2e.pages import SLOW, assert_tree_matches, wait_connected
from tests.e2e.test_model_parity import differences
from tests.helpers import Api, dashboard_process, kill_outright, settled_seq, wait_until

pytestmark = pytest.mark.e2e

# The page's model, as tests/e2e/test_model_parity.py compares them.
MODEL = """() => {
    const m = window.forkscope.shown ? window.forkscope.shown() : window.forkscope.model;
    return structuredClone({
        procs: Object.fromEntries(m.procs), echo: m.echo, seq: m.seq, joined: m.joined,
        byPid: Object.fromEntries([...m.byPid].map(([pid, uid]) => [String(pid), uid])),
    });
}"""
TREE = """() => [...document.querySelectorAll('#tree g.node[data-pid]')]
    .map((e) => [e.dataset.uid, e.dataset.pid, e.dataset.ppid, e.dataset.state, e.dataset.orphan]).sort()"""
FINISHED = """() => [...document.querySelectorAll('#finished [data-finished-pid]')]
    .map((e) => [e.dataset.finishedPid, e.dataset.exitcode, e.dataset.reapedHow, e.textContent])"""
LOG = """(n) => [...document.querySelectorAll('#log li[data-seq]')].slice(0, n)
    .map((e) => [e.dataset.seq, e.dataset.type, e.textContent])"""


def page_view(page, rows=150):
    return {"model": page.evaluate(MODEL), "tree": page.evaluate(TREE),
            "finished": page.evaluate(FINISHED), "log": page.evaluate(LOG, rows)}


def lecture(api, page):
    """Spawn 3, send, terminate a worker, join it, kill the echo server with
    SIGKILL (its workers are orphans), restart it: the live page keeps up."""
    clients = api.spawn(3)
    for i, pid in enumerate(clients):
        api.send(pid, f"hello {i} 你好")
    worker = wait_until(lambda: api.process(clients[0])["worker_pid"], timeout=10, message="worker")
    assert api.post(f"/api/processes/{worker}/terminate").status_code == 200
    assert api.post(f"/api/processes/{worker}/join").status_code == 200
    server = api.processes(role="server", state="running")[0]["pid"]
    os.kill(server, signal.SIGKILL)
    wait_until(lambda: len(api.processes(role="worker", orphaned=True)) == 2, timeout=15,
               message="the orphans adopted")
    assert api.post("/api/server/restart").status_code == 200
    wait_until(lambda: api.processes(role="server", state="running"), timeout=15, message="a server")
    return quiet(api, page)


def quiet(api, page):
    """The lab's seq once it has stopped moving and the page has applied it."""
    seq = settled_seq(api, page)
    assert_tree_matches(page, api)
    return seq


@pytest.fixture
def settings(tmp_path):
    """This module's dashboards record (into the test's own directory)."""
    return Settings(port=0, echo_port=0, record=str(tmp_path / "sessions"))


def open_replay(context, url, query=""):
    page = context.new_page()
    page.goto(f"{url}/replay{query}")
    page.wait_for_function("() => window.forkscope && document.body.dataset.replay")
    return page


def upload(page, path):
    page.set_input_files("#replay-file", str(path))


def all_tabs_drawn(page):
    """The reaped list and the log are drawn whatever tab shows (as on a phone)."""
    for tab in ("finished", "log"):
        page.locator(f"[role='tab'][data-tab='{tab}']").click()


def lab_pids(api):
    return [p["pid"] for p in api.state()["processes"]
            if p["role"] in ("server", "worker", "client") and p["state"] in ("running", "zombie")]


def recorded_up_to(api, seq):
    """The dashboard's recording has every event up to *seq* written."""
    listing = api.get("/api/recordings").json()
    return sum(r["events"] for r in listing["recordings"] if r["current"]) >= seq


def test_a_lecture_recorded_through_a_dashboard_kill_replays_to_the_live_page(page, tmp_path):
    """Spawn 3, send, terminate, join, kill the echo server, restart it — then
    the dashboard itself is killed (SIGKILL: no goodbye) and started again on
    the same recordings: the old session, from the new dashboard's list,
    replays to what the live page showed — its model field by field, its tree,
    its reaped list, its log."""
    sessions = tmp_path / "sessions"
    with dashboard_process("--record", str(sessions)) as (proc, url, _echo):
        api = Api(url)
        assert proc.stdout.readline().startswith("Recording: ")
        page.goto(url)
        wait_connected(page)
        upto = lecture(api, page)
        all_tabs_drawn(page)
        live = page_view(page)
        assert live["model"]["seq"] == upto
        assert any(row[2] == "join" for row in live["finished"])
        assert any(p["orphaned"] for p in live["model"]["procs"].values())
        wait_until(lambda: recorded_up_to(api, upto), timeout=10, message="the recording to catch up")
        orphans_and_all = lab_pids(api)
        assert set(orphans_and_all) <= set(kill_outright(proc))
    # Its lab noticed its parent was gone and exited: nothing is left behind.

    with dashboard_process("--record", str(sessions)) as (_proc, url, _echo):
        listing = Api(url).get("/api/recordings").json()
        (old,) = [r["name"] for r in listing["recordings"] if not r["current"]]
        replay = open_replay(page.context, url, "?at=end")
        replay.select_option("#replay-list", old)
        expect(replay.locator("body")).to_have_attribute("data-replay", "ended", timeout=SLOW)
        assert f"url=%2Fapi%2Frecordings%2F{old}" in replay.url or f"url=/api/recordings/{old}" in replay.url
        # the file may hold a little more than the page applied (the kill came after)
        if int(replay.locator("body").get_attribute("data-replay-seq")) != upto:
            replay.evaluate(f"() => window.forkscope.seek({upto})")
        expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(upto))
        all_tabs_drawn(replay)
        replay.wait_for_function(
            f"() => document.querySelector('#log li[data-seq]')?.dataset.seq === '{upto}'")
        got = page_view(replay)
    diff = differences(live["model"], got["model"])
    assert not diff, f"the replayed model differs from the live page's: {diff}"
    assert got["tree"] == live["tree"]
    assert got["finished"] == live["finished"]
    n = min(len(got["log"]), len(live["log"]))
    assert n >= 40 and got["log"][:n] == live["log"][:n]


def test_export_jsonl_round_trips_through_replay_by_its_url(dashboard, live_app):
    page, api = dashboard, live_app.api
    if api.get("/api/export.jsonl").status_code != 200:
        pytest.skip("this dashboard does not record (the record branch is not merged)")
    client = api.spawn(2)[0]
    api.send(client, "round trip")
    seq = quiet(api, page)
    def exported_seq():
        last = json.loads(api.get("/api/export.jsonl").text.rstrip("\n").rsplit("\n", 1)[-1])
        return last.get("seq", last.get("snapshot", {}).get("seq"))
    wait_until(lambda: exported_seq() == seq, timeout=10, message="the export to reach the lab's seq")
    replay = open_replay(page.context, live_app.url, "?url=/api/export.jsonl&at=end")
    expect(replay.locator("body")).to_have_attribute("data-replay", "ended", timeout=SLOW)
    expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(seq))
    diff = differences(page.evaluate(MODEL), replay.evaluate(MODEL))
    assert not diff, diff


BAD_FILES = {
    "truncated.jsonl": ("truncated", lambda good: good[: good.rindex("{") + 25]),
    "page.html": ("not_jsonl", lambda good: "<!doctype html><title>not a recording</title>\n"),
    "trace.json": ("wrong_format", lambda good: json.dumps({"format": "chrome-trace"}) + "\n"),
    "future.jsonl": ("wrong_version", lambda good: good.replace('"version": 1', '"version": 2', 1)),
    "gap.jsonl": ("seq_gap", lambda good: "\n".join(
        line for i, line in enumerate(good.split("\n")) if i != 4)),
}


def good_file(api, tmp_path):
    start = api.state()
    client = api.spawn(1)[0]
    api.send(client, "hello")
    upto = api.state()["seq"]
    path = tmp_path / "good.jsonl"
    header = {"format": "forkscope-session", "version": 1, "started": 0.0}
    events = [e for e in api.events(after=start["seq"]) if e["seq"] <= upto]
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n"
                            for o in [header, {"snapshot": start}, *events]), encoding="utf-8")
    return path, upto


def test_bad_files_are_refused_with_a_message_and_what_was_open_stays(live_app, page, tmp_path):
    good, upto = good_file(live_app.api, tmp_path)
    replay = open_replay(page.context, live_app.url, "?at=end")
    upload(replay, good)
    expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(upto), timeout=SLOW)
    before = replay.evaluate(MODEL)
    text = good.read_text("utf-8")
    for name, (code, make) in BAD_FILES.items():
        path = tmp_path / name
        path.write_text(make(text), encoding="utf-8")
        upload(replay, path)
        message = replay.locator("#replay-message")
        expect(message).to_have_attribute("data-error-code", code)
        expect(message).to_be_visible()
        expect(message).to_contain_text(name)
        # the recording that was open is still there, at its place
        expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(upto))
        assert replay.evaluate(MODEL) == before
    # in the other language too (the page opened in Chinese)
    expect(replay.locator("#replay-message")).to_contain_text("缺口")
    replay.locator("#lang-switch").click()
    expect(replay.locator("#replay-message")).to_contain_text("has a gap at line 5")


def test_a_link_to_another_site_is_refused(live_app, page):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    replay = open_replay(page.context, live_app.url, "?url=http://example.invalid/x.jsonl")
    expect(replay.locator("#replay-message")).to_have_attribute("data-error-code", "other_origin")
    expect(replay.locator("body")).to_have_attribute("data-replay", "empty")
    assert not [u for u in requests if "example.invalid" in u]


def test_replay_plays_with_no_lab_at_all(live_app, page, tmp_path):
    good, upto = good_file(live_app.api, tmp_path)
    with replay_server() as url:   # the dashboard's web app, its lab never started
        replay = open_replay(page.context, url)
        upload(replay, good)
        expect(replay.locator("body")).to_have_attribute("data-replay", "paused", timeout=SLOW)
        first = int(replay.locator("body").get_attribute("data-replay-seq"))
        assert first < upto
        replay.select_option("#replay-speed", "0.25")
        # every state the page passes through: the recording is a spawn and an
        # echo, a few tens of ms of the lab's time, so at 0.25x "playing" may
        # last less than one poll of expect(). The page may set the same state
        # again (a mutation too): runs of one state count once
        replay.evaluate("""() => {
          window.__replayStates = [document.body.dataset.replay];
          new MutationObserver(() => window.__replayStates.push(document.body.dataset.replay))
            .observe(document.body, {attributes: true, attributeFilter: ['data-replay']});
        }""")
        replay.locator("[data-action='play']").click()
        replay.select_option("#replay-speed", "8")
        expect(replay.locator("body")).to_have_attribute("data-replay", "ended", timeout=30_000)
        states = replay.evaluate("() => window.__replayStates")
        assert [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]] == [
            "paused", "playing", "ended"], states
        expect(replay.locator("[data-action='play']")).to_have_attribute("aria-pressed", "false")
        expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(upto))
        # the tree is the model at the end: every live process a node
        live = replay.evaluate("() => window.forkscope.model.live().map((p) => String(p.pid)).sort()")
        expect(replay.locator("#tree g.node[data-pid]")).to_have_count(len(live))
        # one event back and forward, by key; and the slider
        replay.keyboard.press(",")
        expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(upto - 1))
        replay.keyboard.press(".")
        expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(upto))
        replay.locator("#replay-scrub").fill(str(first))
        expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(first))
        expect(replay.locator("#timeline line.cursor")).to_have_attribute("data-cursor-seq", str(first))

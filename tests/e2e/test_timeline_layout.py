"""The timeline's pure parts, in the browser that runs them, without the app:
lifespans folded from events (static/js/spans.js), lanes and segments laid
out from them (static/js/timeline-layout.js), and the play head of a replay
(static/js/player.js)."""

import pytest

from app.model.registry import Registry
from tests.scenarios import DASH, DASH_PPID, ev, exit_and_reap, lifecycle

pytestmark = pytest.mark.e2e

SERVER = 200
PEER = ["127.0.0.1", 50001]


def run(events):
    """The registry's snapshot at the start and its events (with seq), as the page gets them."""
    reg = Registry(DASH, DASH_PPID)
    start = reg.snapshot()
    return start, [reg.apply(e) for e in events]


def lecture(workers=3, gate=False):
    """A server, *workers* workers each with its client, one echo each; the
    first worker terminated at t=20 (a zombie) and joined at t=25."""
    events = lifecycle("server-1", SERVER, DASH, role="server")
    for e in events:
        e["t"] = 1.0
    for i in range(1, workers + 1):
        client, worker = 300 + i, 400 + i
        peer = ["127.0.0.1", 50000 + i]
        for e in lifecycle(f"client-{i}", client, DASH, role="client"):
            events.append({**e, "t": 2.0 + i})
        events.append(ev("connected", pid=client, local=peer, server=["127.0.0.1", 8088], t=2.1 + i))
        for e in lifecycle(f"server-1/worker-{i}", worker, SERVER, peer=peer):
            events.append({**e, "t": 2.2 + i})
        events.append(ev("echo", pid=client, text="hi", reply="HI", rtt_ms=500.0, local=peer,
                         t=10.0 + i))
    if gate:
        events += [ev("gate_wait", pid=401, gate="send", t=12.0), ev("gate_pass", pid=401, gate="send",
                                                                      how="step", t=15.0)]
    events += [ev("signalled", pid=401, uid="server-1/worker-1", call="terminate()", signal="SIGTERM",
                  by=SERVER, t=19.9)]
    events += exit_and_reap("server-1/worker-1", 401, SERVER, exitcode=-15, t=20.0)
    events[-1]["t"] = 25.0
    return run(events)


SPANS = """async ({ start, events, now }) => {
    const { Spans, segmentsOf } = await import('/static/js/spans.js');
    const spans = new Spans();
    spans.start(start);
    for (const e of events) spans.add(e);
    const lanes = {};
    for (const [uid, lane] of spans.lanes) {
        lanes[uid] = { parent: lane.parent, pid: lane.pid, state: lane.state, gates: lane.gates,
            ticks: lane.ticks.map((t) => t.type), segs: segmentsOf(lane, now)
                .map((s) => [s.state, s.from === -Infinity ? '-inf' : s.from, s.to, s.open]) };
    }
    return { lanes, echoes: spans.echoes, tMin: spans.tMin, tMax: spans.tMax };
}"""


def test_a_worker_s_life_is_created_running_zombie_then_joined(module_page):
    start, events = lecture()
    got = module_page.evaluate(SPANS, {"start": start, "events": events, "now": 30.0})
    w1 = got["lanes"]["server-1/worker-1"]
    assert w1["segs"] == [["created", 3.2, 3.2, False], ["running", 3.2, 20.0, False],
                          ["zombie", 20.0, 25.0, False]]
    assert (w1["state"], w1["parent"], w1["pid"]) == ("joined", "server-1", 401)
    assert w1["ticks"][:3] == ["created", "started", "hello"]
    assert w1["ticks"][-3:] == ["signalled", "exited", "reaped"]
    w2 = got["lanes"]["server-1/worker-2"]
    assert w2["segs"][-1] == ["running", 4.2, 30.0, True]        # still running: open to now
    # the dashboard was running before anything was recorded
    assert got["lanes"]["dashboard"]["segs"] == [["running", "-inf", 30.0, True]]
    assert got["lanes"]["client-2"]["parent"] == "dashboard"


def test_each_echo_joins_its_client_and_its_worker(module_page):
    start, events = lecture()
    got = module_page.evaluate(SPANS, {"start": start, "events": events, "now": 30.0})
    pairs = sorted((e["client"], e["worker"], e["t"], e["rtt"]) for e in got["echoes"])
    assert pairs == [(f"client-{i}", f"server-1/worker-{i}", 10.0 + i, 0.5) for i in (1, 2, 3)]


def test_a_gate_wait_is_a_span_from_wait_to_pass(module_page):
    start, events = lecture(gate=True)
    got = module_page.evaluate(SPANS, {"start": start, "events": events, "now": 30.0})
    gates = got["lanes"]["server-1/worker-1"]["gates"]
    assert [(g["gate"], g["from"], g["to"]) for g in gates] == [("send", 12.0, 15.0)]


def test_a_snapshot_s_processes_take_their_times_from_it(module_page):
    start, events = lecture()
    reg_state = {"seq": events[-1]["seq"], "echo": start["echo"], "processes": []}
    # the state at the end, as /api/state gives it, with no event after it
    reg = Registry(DASH, DASH_PPID)
    for e in events:
        reg.apply({k: v for k, v in e.items() if k != "seq"})
    reg_state = reg.snapshot()
    got = module_page.evaluate(SPANS, {"start": reg_state, "events": [], "now": 30.0})
    w1 = got["lanes"]["server-1/worker-1"]
    assert w1["state"] == "joined"
    # started_t and exited_t from the snapshot; when it was joined it does not say
    assert [s[0] for s in w1["segs"]] == ["running", "zombie"]
    assert w1["segs"][0][1] == pytest.approx(3.2)
    assert got["lanes"]["server-1/worker-1"]["parent"] == "server-1"


LAYOUT = """async ({ start, events, view, open }) => {
    const { Spans } = await import('/static/js/spans.js');
    const { layoutTimeline } = await import('/static/js/timeline-layout.js');
    const spans = new Spans();
    spans.start(start);
    for (const e of events) spans.add(e);
    const out = layoutTimeline({ spans, ...view, open: new Map(Object.entries(open || {})) });
    const rows = out.rows;
    return {
        rows: rows.map((r) => [r.kind, r.id, r.depth, r.kind === 'group' ? r.count : r.pid]),
        segs: out.segs.map((s) => [rows[s.row].id, s.state, Math.round(s.x0), Math.round(s.x1)]),
        joins: out.joins.map((j) => [rows[j.row].id, Math.round(j.x)]),
        gates: out.gates.map((g) => [rows[g.row].id, g.gate, Math.round(g.x0), Math.round(g.x1)]),
        ticks: out.ticks.map((t) => [rows[t.row].id, t.type, t.count]),
        arrows: out.arrows.map((a) => [rows[a.client].id, rows[a.worker].id, Math.round(a.xSend),
            Math.round(a.xMid), Math.round(a.xBack), a.count]),
        height: out.height,
    };
}"""

# 0..30 s across 300 px: 10 px a second.
VIEW = {"from": 0.0, "to": 30.0, "now": 30.0, "x0": 0, "x1": 300, "rowHeight": 20}


def test_lanes_are_the_tree_s_order_grouped_under_their_parent(module_page):
    start, events = lecture()
    got = module_page.evaluate(LAYOUT, {"start": start, "events": events, "view": VIEW})
    assert got["rows"] == [
        ["lane", "dashboard", 0, DASH],
        ["lane", "server-1", 1, SERVER],
        ["group", "server-1>worker", 2, 3],
        ["lane", "server-1/worker-1", 2, 401],
        ["lane", "server-1/worker-2", 2, 402],
        ["lane", "server-1/worker-3", 2, 403],
        ["group", "dashboard>client", 1, 3],
        ["lane", "client-1", 1, 301],
        ["lane", "client-2", 1, 302],
        ["lane", "client-3", 1, 303],
    ]
    assert got["height"] == 10 * 20


def test_segments_and_the_join_are_placed_on_the_time_axis(module_page):
    start, events = lecture(gate=True)
    got = module_page.evaluate(LAYOUT, {"start": start, "events": events, "view": VIEW})
    w1 = [s for s in got["segs"] if s[0] == "server-1/worker-1"]
    assert w1 == [["server-1/worker-1", "created", 32, 32], ["server-1/worker-1", "running", 32, 200],
                  ["server-1/worker-1", "zombie", 200, 250]]
    assert ["server-1/worker-1", 250] in got["joins"]
    assert got["gates"] == [["server-1/worker-1", "send", 120, 150]]
    # the dashboard's life began before the view: drawn from its left edge
    assert ["dashboard", "running", -2, 300] in got["segs"]


def test_an_echo_is_an_arrow_from_the_client_to_the_worker_and_back(module_page):
    start, events = lecture()
    got = module_page.evaluate(LAYOUT, {"start": start, "events": events, "view": VIEW})
    assert ["client-2", "server-1/worker-2", 115, 118, 120, 1] in got["arrows"]


def test_a_folded_group_is_one_lane_with_its_members_lives(module_page):
    start, events = lecture(workers=12)
    got = module_page.evaluate(LAYOUT, {"start": start, "events": events, "view": VIEW})
    ids = [r[1] for r in got["rows"]]
    # more than AUTO_FOLD siblings fold at first; their lives are drawn on the group's row
    assert "server-1/worker-5" not in ids and "client-5" not in ids
    assert ["group", "server-1>worker", 2, 12] in got["rows"]
    group_segs = [s for s in got["segs"] if s[0] == "server-1>worker"]
    assert {s[1] for s in group_segs} == {"created", "running", "zombie"}
    # the running band is their union: from the first start to now
    assert ["server-1>worker", "running", 32, 300] in group_segs
    # the echo arrows go from the clients' folded lane to the workers'
    assert {(a[0], a[1]) for a in got["arrows"]} == {("dashboard>client", "server-1>worker")}
    # opened by the teacher: one lane each
    opened = module_page.evaluate(LAYOUT, {"start": start, "events": events, "view": VIEW,
                                           "open": {"server-1>worker": True}})
    assert "server-1/worker-5" in [r[1] for r in opened["rows"]]


def test_ticks_closer_than_a_few_pixels_are_one_with_a_count(module_page):
    events = lifecycle("server-1", SERVER, DASH, role="server")
    events += [ev("phase", pid=SERVER, at="accepting", t=5.0 + i * 0.01) for i in range(20)]
    start, applied = run(events)
    got = module_page.evaluate(LAYOUT, {"start": start, "events": applied, "view": VIEW})
    phases = [t for t in got["ticks"] if t[0] == "server-1" and t[1] == "phase"]
    assert sum(t[2] for t in phases) == 20
    assert len(phases) <= 2


def test_what_lies_outside_the_window_is_not_drawn(module_page):
    start, events = lecture()
    view = {**VIEW, "from": 21.0, "to": 24.0}
    got = module_page.evaluate(LAYOUT, {"start": start, "events": events, "view": view})
    assert not got["arrows"] and not got["ticks"]
    assert [s[1] for s in got["segs"] if s[0] == "server-1/worker-1"] == ["zombie"]


PLAY = """async ({ times, steps, speed }) => {
    const { Player } = await import('/static/js/player.js');
    const p = new Player({ first: 10, times: Float64Array.from(times), speed });
    p.play();
    return steps.map((ms) => { p.advance(ms); return [p.pos, p.playing]; });
}"""


def test_the_play_head_moves_at_the_events_gaps_times_the_speed(module_page):
    times = [100.0, 100.5, 101.0, 101.5]         # seqs 11..14
    got = module_page.evaluate(PLAY, {"times": times, "steps": [0, 400, 200, 500, 500, 500],
                                      "speed": 1})
    assert got == [[11, True], [11, True], [12, True], [13, True], [14, False], [14, False]]
    fast = module_page.evaluate(PLAY, {"times": times, "steps": [200], "speed": 8})
    assert fast == [[14, False]]


def test_a_long_idle_stretch_plays_as_two_seconds(module_page):
    times = [100.0, 700.0]            # ten minutes of talk between two events
    got = module_page.evaluate(PLAY, {"times": times, "steps": [0, 1000, 1100], "speed": 1})
    assert got == [[11, True], [11, True], [12, False]]

"""The past, rebuilt (static/js/history.js), in the browser that runs it: the
process table the history gives at seq S is the registry's own at S — every
field of P, the joined order, the pid index — for the registry's scenarios,
at every seq, whatever order the seqs are asked in (checkpoints and the
rebuild it goes on from must not leak one moment into another)."""

import random

import pytest

from app.model.registry import Registry
from tests.e2e.test_model_parity import STEPWISE_UP_TO, differences, registry_state
from tests.scenarios import DASH, DASH_PPID, SCENARIOS, ev, exit_and_reap, lifecycle, scenario

pytestmark = pytest.mark.e2e

AT = """async ({ start, events, asks, every }) => {
    const { History } = await import('/static/js/history.js');
    const state = (m) => structuredClone({
        procs: Object.fromEntries(m.procs), echo: m.echo, seq: m.seq, joined: m.joined,
        byPid: Object.fromEntries([...m.byPid].map(([pid, uid]) => [String(pid), uid])),
    });
    const history = new History({ every });
    history.load(start, events);
    return asks.map((seq) => {
        const { model, reached } = history.at(seq);
        return { seq, reached, state: state(model) };
    });
}"""


def recorded(events):
    """The registry's snapshot at the start, its events and its state after each."""
    reg = Registry(DASH, DASH_PPID)
    start = reg.snapshot()
    out, states = [], {0: registry_state(reg)}
    for raw in events:
        event = reg.apply(raw)
        if "anomaly" in event:
            break          # the page would resync here: compared up to it
        out.append(event)
        states[event["seq"]] = registry_state(reg)
    return start, out, states


@pytest.mark.parametrize("name", [n for n in SCENARIOS if SCENARIOS[n]])
def test_the_past_is_the_registry_s_at_every_seq(module_page, name):
    start, events, states = recorded(scenario(name))
    seqs = list(states)
    if len(seqs) > STEPWISE_UP_TO:        # megabytes through the browser for no new rule
        seqs = [0, seqs[-1], *random.Random(name).sample(seqs, STEPWISE_UP_TO)]
    asks = seqs + seqs[::-1] + random.Random(name).sample(seqs, len(seqs))
    got = module_page.evaluate(AT, {"start": start, "events": events, "asks": asks, "every": 3})
    for answer in got:
        assert answer["reached"] == answer["seq"]
        diff = differences(states[answer["seq"]], answer["state"])
        assert not diff, f"at seq {answer['seq']}: {diff}"


def busy_lab(pairs=40):
    """Clients and workers coming and going: hundreds of events, many joined."""
    events = [*lifecycle("server-1", 200, DASH, role="server")]
    for i in range(pairs):
        events += lifecycle(f"server-1/worker-{i}", 1000 + i, 200, peer=["127.0.0.1", 40000 + i])
        events += [ev("served", pid=1000 + i, count=1, bytes=3, text="hi", t=1.0 + i)]
        if i % 3 == 0:
            events += exit_and_reap(f"server-1/worker-{i}", 1000 + i, 200, exitcode=-15, t=2.0 + i)
    return events


def test_a_long_history_is_rebuilt_exactly_from_its_checkpoints(module_page):
    start, events, states = recorded(busy_lab())
    assert len(events) > 150
    asks = random.Random(7).sample(list(states), 60) + [len(events), 0, len(events) // 2]
    got = module_page.evaluate(AT, {"start": start, "events": events, "asks": asks, "every": 17})
    for answer in got:
        diff = differences(states[answer["seq"]], answer["state"])
        assert not diff, f"at seq {answer['seq']}: {diff}"


HOLES = """async ({ start, events }) => {
    const { History } = await import('/static/js/history.js');
    const { Model } = await import('/static/js/model.js');
    // The live page's way: a model applies, the history keeps what it applied.
    const live = new Model();
    live.reset(start);
    const history = new History({ every: 4 });
    history.start(start, live);
    const cut = events.length >> 1;
    for (const e of events.slice(0, cut)) { live.apply(e); history.push(e, live); }
    // a resync: the page missed two events and got a snapshot after them
    for (const e of events.slice(cut, cut + 2)) live.apply(e);
    history.start({ seq: live.seq, echo: live.echo, processes: [...live.procs.values()] }, live);
    for (const e of events.slice(cut + 2)) { live.apply(e); history.push(e, live); }
    return {
        inHole: history.at(events[cut].seq).reached,
        cutSeq: events[cut - 1].seq,
        after: history.at(events[cut + 1].seq + 1).reached,
        range: history.range(),
        listed: history.eventsUpTo(events.at(-1).seq).map((e) => e.seq),
    };
}"""


def test_a_resync_leaves_a_hole_the_past_stops_at(module_page):
    start, events, _ = recorded(busy_lab(6))
    got = module_page.evaluate(HOLES, {"start": start, "events": events})
    cut = len(events) // 2
    assert got["inHole"] == got["cutSeq"]                       # stops at the hole's edge
    assert got["after"] == events[cut + 1]["seq"] + 1            # rebuilt from the snapshot after it
    assert got["range"] == {"first": 0, "last": events[-1]["seq"]}
    missed = {events[cut]["seq"], events[cut + 1]["seq"]}
    assert set(got["listed"]) == {e["seq"] for e in events} - missed


RESTART = """async ({ start, events }) => {
    const { History } = await import('/static/js/history.js');
    const history = new History();
    history.load(start, events);
    // the dashboard restarted: another pid, its seq from 0 again
    const other = structuredClone(start);
    other.processes[0].pid = 999;
    history.start(other);
    return { range: history.range(), kept: history.events.size };
}"""


def test_another_dashboard_run_starts_the_history_afresh(module_page):
    start, events, _ = recorded(busy_lab(3))
    got = module_page.evaluate(RESTART, {"start": start, "events": events})
    assert got == {"range": {"first": 0, "last": 0}, "kept": 0}


SEQ_AT_TIME = """async ({ start, events, times }) => {
    const { History } = await import('/static/js/history.js');
    const history = new History();
    history.load(start, events);
    return times.map((t) => history.seqAtTime(t));
}"""


def test_a_time_scrubs_to_the_last_event_at_or_before_it(module_page):
    events = [ev("listening", pid=DASH, host="h", port=1, t=10.0 + i) for i in range(10)]
    start, applied, _ = recorded(events)
    got = module_page.evaluate(SEQ_AT_TIME, {"start": start, "events": applied,
                                             "times": [0, 10.0, 10.5, 14.0, 19.0, 99.0]})
    assert got == [0, 1, 1, 5, 10, 10]

"""The page's model (static/js/model.js, in Chromium) and the registry agree.

Both sides are held to the Python schema: every event type the lab can report
is handled by the page or ignored as the schema says, and the registry's own
event sequences (tests/scenarios.py) replayed through the page give the same
processes, every field of P, after every event.
"""

import pytest

from app.model import schema
from app.model.registry import Registry
from tests.scenarios import DASH, DASH_PPID, SCENARIOS, scenario

pytestmark = pytest.mark.e2e

# Longer scenarios are compared at their end only: a table per event of a
# 1,000-event scenario is megabytes through the browser for no new rule.
STEPWISE_UP_TO = 60

KNOWS = """async (types) => {
  const { Model } = await import('/static/js/model.js');
  const stray = Object.getOwnPropertyNames(Model.prototype)
    .filter((name) => name.startsWith('on_')).map((name) => name.slice(3))
    .filter((type) => !types.includes(type));
  const verdict = {};
  for (const type of types) {
    const m = new Model();
    if (typeof m[`on_${type}`] === 'function') {
      verdict[type] = 'changes';
      continue;
    }
    // No handler: the page must take the event and change nothing.
    const before = JSON.stringify([[...m.procs], m.echo]);
    try {
      m.apply({ type, seq: 1, t: 1, pid: null, by: 1 });
      verdict[type] = JSON.stringify([[...m.procs], m.echo]) === before ? 'ignored' : 'changed';
    } catch (err) {
      verdict[type] = `throws: ${err.message}`;
    }
  }
  return { verdict, stray };
}"""

REPLAY = """async ({ start, steps, stepwise }) => {
  const { Model, OutOfSync } = await import('/static/js/model.js');
  // A copy of that moment: the model changes its objects in place.
  const state = (m) => structuredClone({
    procs: Object.fromEntries(m.procs), echo: m.echo, seq: m.seq, joined: m.joined,
    byPid: Object.fromEntries([...m.byPid].map(([pid, uid]) => [String(pid), uid])),
  });
  const m = new Model();
  m.reset(start);
  const threw = [];
  const after = [];
  for (const { event, resync } of steps) {
    try {
      m.apply(event);
    } catch (err) {
      if (!(err instanceof OutOfSync)) throw err;
      threw.push({ seq: event.seq, message: err.message });
      if (!resync) break;        // the registry saw nothing wrong: a real difference
      m.reset(resync);           // as the page does: refetch /api/state
    }
    if (stepwise) after.push(state(m));
  }
  return { threw, after, end: state(m) };
}"""


def registry_state(reg):
    """What the page's state() returns, from the registry."""
    snap = reg.snapshot()
    return {"procs": {p["uid"]: p for p in snap["processes"]}, "echo": snap["echo"],
            "seq": snap["seq"], "joined": list(reg.joined),
            "byPid": {str(pid): uid for pid, uid in reg.by_pid.items()}}


def differences(expected, got):
    """Where the page's state differs from the registry's, field by field."""
    found = []
    for key in ("echo", "seq", "joined", "byPid"):
        if expected[key] != got[key]:
            found.append(f"{key}: registry {expected[key]!r}, page {got[key]!r}")
    for uid in sorted(set(expected["procs"]) | set(got["procs"])):
        mine, theirs = expected["procs"].get(uid), got["procs"].get(uid)
        if mine is None or theirs is None:
            found.append(f"{uid}: only in the {'page' if mine is None else 'registry'}")
            continue
        for field in sorted(set(mine) | set(theirs)):
            a, b = mine.get(field, "<absent>"), theirs.get(field, "<absent>")
            if a != b:
                found.append(f"{uid}.{field}: registry {a!r}, page {b!r}")
    return found


def test_the_page_handles_or_ignores_every_event_type(module_page):
    """The types come from the Python schema, not the page's copy: a type added
    in Python only is one the page throws on (and resyncs on every time)."""
    expected = {t: spec["registry"] for t, spec in schema.EVENTS.items()}
    got = module_page.evaluate(KNOWS, list(expected))
    wrong = {t: f"schema {expected[t]}, page {got['verdict'][t]}"
             for t in expected if got["verdict"][t] != expected[t]}
    assert not wrong, wrong
    assert got["stray"] == [], "the page handles types the schema does not define"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_page_replays_the_registry_scenarios_to_the_same_processes(module_page, name):
    reg = Registry(DASH, DASH_PPID)
    start = reg.snapshot()
    stepwise = len(SCENARIOS[name]) <= STEPWISE_UP_TO
    steps, expected = [], []
    for event in scenario(name):
        out = reg.apply(event)
        # The page resyncs on an anomaly; it gets the snapshot of that moment.
        steps.append({"event": out, "resync": reg.snapshot() if "anomaly" in out else None})
        if stepwise:
            expected.append(registry_state(reg))
    got = module_page.evaluate(REPLAY, {"start": start, "steps": steps, "stepwise": stepwise})

    anomalies = [s["event"]["seq"] for s in steps if "anomaly" in s["event"]]
    assert [t["seq"] for t in got["threw"]] == anomalies, (
        f"the page threw where the registry did not: {got['threw']}")
    for i, (mine, theirs) in enumerate(zip(expected, got["after"], strict=True)):
        diff = differences(mine, theirs)
        assert not diff, f"after event {i + 1} ({steps[i]['event']['type']}): {diff}"
    diff = differences(registry_state(reg), got["end"])
    assert not diff, f"at the end: {diff}"

"""A registry's copy elsewhere (a viewer relay): ``restore`` from a snapshot at
any point of every scenario, then ``follow`` the rest, and it is the same
table as the registry that numbered the events; a gap or a repeat is refused."""

import json

import pytest

from app.model.registry import OutOfStep, Registry
from tests.scenarios import DASH, DASH_PPID, SCENARIOS, scenario


def wire(x):
    """What crosses Redis: JSON."""
    return json.loads(json.dumps(x))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_copy_restored_at_any_seq_follows_to_the_same_table(name):
    events = scenario(name)
    n = len(events)
    # every cut of a short scenario; 40 spread over a long one (and both ends)
    cuts = range(n + 1) if n <= 40 else sorted({*range(0, n + 1, n // 40), n})
    for cut in cuts:
        source = Registry(DASH, DASH_PPID, keep=1000)
        applied = [source.apply(e) for e in events[:cut]]
        copy = Registry.restore(wire(source.snapshot()), wire(list(source.joined)),
                                wire(applied), keep=1000)
        assert copy.snapshot() == source.snapshot()
        for e in events[cut:]:
            copy.follow(wire(source.apply(e)))
        assert copy.snapshot() == source.snapshot(), (name, cut)
        assert list(copy.joined) == list(source.joined)
        assert copy.events_after(0) == wire(list(source.events))
        assert {pid: copy.get(pid)["uid"] for pid in source.by_pid} == \
            {pid: source.get(pid)["uid"] for pid in source.by_pid}


def test_without_the_joined_order_the_copy_orders_reaped_processes_by_exit():
    events = scenario("only_recent_joined_kept")
    source = Registry(DASH, DASH_PPID)
    for e in events:
        source.apply(e)
    copy = Registry.restore(wire(source.snapshot()))
    assert list(copy.joined) == sorted(source.joined,
                                       key=lambda uid: source.procs[uid]["exited_t"])


def test_a_gap_or_a_repeat_is_refused_and_changes_nothing():
    events = scenario("exit_makes_a_zombie_and_reap_joins_it")
    source = Registry(DASH, DASH_PPID)
    applied = [source.apply(e) for e in events]
    copy = Registry.restore(wire(Registry(DASH, DASH_PPID).snapshot()))
    copy.follow(wire(applied[0]))
    before = copy.snapshot()
    with pytest.raises(OutOfStep) as gap:
        copy.follow(wire(applied[2]))
    assert (gap.value.expected, gap.value.got) == (2, 3)
    with pytest.raises(OutOfStep):
        copy.follow(wire(applied[0]))
    assert copy.snapshot() == before

"""The timeline and time travel on the live page (issue 14), against a real
lab: a lane per process with the state /api/state gives it; scrubbing to the
seq of a terminate shows the worker a zombie, further on joined, while the
lab goes on untouched and the live model keeps applying what arrives; back
to live shows all of it."""

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import running
from tests.e2e.pages import SLOW, finished_item, node, open_dashboard, open_tab
from tests.helpers import settled_seq, wait_until

pytestmark = pytest.mark.e2e

LANES = "#timeline g.lane[data-lane-pid]"


def open_timeline(page):
    toggle = page.locator("#timeline [data-action='timeline']")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    expect(page.locator("#timeline")).to_have_attribute("data-open", "true")


def lanes_in_page(page):
    """{pid: state} of every process lane drawn."""
    rows = page.eval_on_selector_all(LANES, "els => els.map(e => [e.dataset.lanePid, e.dataset.state])")
    return {int(pid): state for pid, state in rows if pid}


def lanes_in_api(api):
    return {p["pid"]: p["state"] for p in api.state()["processes"] if p["pid"] is not None}


def test_a_lane_per_process_in_the_state_the_api_gives(dashboard, live_app):
    page, api = dashboard, live_app.api
    open_timeline(page)
    client = api.spawn(2)[0]
    api.send(client, "hello 你好")
    wait_until(lambda: lanes_in_page(page) == lanes_in_api(api), timeout=10,
               message="the timeline's lanes to be /api/state's processes")
    for pid, state in lanes_in_api(api).items():
        lane = page.locator(f"#timeline g.lane[data-lane-pid='{pid}']")
        # a live process's life so far: a running segment, open to now
        assert state == "running"
        expect(lane.locator("[data-seg='running']")).to_have_count(1)
    # the two workers under the server, the two clients under the dashboard: one group each
    expect(page.locator("#timeline g.lane-group[data-group-id$='>worker']")).to_have_attribute("data-count", "2")
    expect(page.locator("#timeline g.lane-group[data-group-id='dashboard>client']")).to_have_attribute(
        "data-count", "2")
    # the echo is an arrow from the client's lane to its worker's and back
    expect(page.locator("#timeline path.echo-arrow")).to_have_count(1)
    expect(page.locator("#timeline")).to_have_attribute("data-follow", "live")


def terminate_and_join(api, client):
    worker = wait_until(lambda: api.process(client)["worker_pid"], timeout=10, message="its worker")
    assert api.post(f"/api/processes/{worker}/terminate").status_code == 200
    assert api.post(f"/api/processes/{worker}/join").status_code == 200
    events = api.events()
    exited = next(e["seq"] for e in events if e["type"] == "exited" and e["pid"] == worker)
    reaped = next(e["seq"] for e in events if e["type"] == "reaped" and e["pid"] == worker)
    return worker, exited, reaped


def wait_applied(page, seq):
    page.wait_for_function(f"() => window.forkscope.appliedSeq >= {seq}")


def test_scrubbing_to_the_terminate_shows_the_zombie_then_joined(dashboard, live_app):
    page, api = dashboard, live_app.api
    client = api.spawn(1)[0]
    worker, exited, reaped = terminate_and_join(api, client)
    later = api.spawn(1)[0]                              # the present goes on after the reap
    expect(node(page, later)).to_have_count(1)
    expect(node(page, worker)).to_have_count(0)          # live: reaped, gone from the tree
    before = api.state()
    assert before["seq"] > reaped

    # a click on the exit in the log: the lab as it was then
    open_tab(page, "log")
    page.locator(f"#log li[data-seq='{exited}']").click()
    expect(page.locator("body")).to_have_attribute("data-past-seq", str(exited))
    expect(page.locator("#past-bar")).to_be_visible()
    expect(page.locator("#log li[data-current]")).to_have_attribute("data-seq", str(exited))
    expect(node(page, worker)).to_have_attribute("data-state", "zombie")
    # the log lists the past only
    assert int(page.locator("#log li").first.get_attribute("data-seq")) == exited

    # further on, one event at a time: joined (the reaped list has it, the tree not)
    for _ in range(reaped - exited):
        page.keyboard.press(".")
    expect(page.locator("body")).to_have_attribute("data-past-seq", str(reaped))
    expect(node(page, worker)).to_have_count(0)
    open_tab(page, "finished")
    expect(finished_item(page, worker)).to_have_attribute("data-reaped-how", "join")

    # and back before the exit: running again, not in the reaped list
    for _ in range(reaped - exited + 1):
        page.keyboard.press(",")
    expect(page.locator("body")).to_have_attribute("data-past-seq", str(exited - 1))
    expect(node(page, worker)).to_have_attribute("data-state", "running")
    expect(finished_item(page, worker)).to_have_count(0)

    # nothing in the lab was touched
    def lives(state):
        return {(p["uid"], p["pid"], p["state"]) for p in state["processes"]}
    assert lives(api.state()) == lives(before)


def settled(page, api):
    """The seq once the lab has stopped moving and the page has applied it:
    ``,`` steps back from whatever the page has then."""
    return settled_seq(api, page)


def test_live_events_go_on_while_in_the_past_and_show_back_in_the_present(dashboard, live_app):
    page, api = dashboard, live_app.api
    first = api.spawn(1)[0]
    expect(node(page, first)).to_have_count(1)
    live = settled(page, api)
    page.keyboard.press(",")                              # one event back from live
    expect(page.locator("body")).to_have_attribute("data-past-seq", str(live - 1))
    past = int(page.locator("body").get_attribute("data-past-seq"))

    second = api.spawn(1)[0]
    # the live model has it; the views still show the past
    page.wait_for_function(f"() => window.forkscope.model.get({second}) !== null")
    expect(page.locator("body")).to_have_attribute("data-past-seq", str(past))
    expect(node(page, second)).to_have_count(0)

    page.locator("#past-bar [data-action='live']").click()
    expect(page.locator("body")).not_to_have_attribute("data-past-seq", str(past))
    assert page.locator("body").get_attribute("data-past-seq") is None
    expect(node(page, second)).to_have_attribute("data-state", "running", timeout=SLOW)
    expect(page.locator("#past-bar")).to_be_hidden()


def test_escape_is_the_way_back_and_actions_wait_for_the_present(dashboard, live_app):
    page, api = dashboard, live_app.api
    client = api.spawn(1)[0]
    expect(node(page, client)).to_have_count(1)
    node(page, client).click()
    live = settled(page, api)
    page.keyboard.press(",")
    expect(page.locator("body")).to_have_attribute("data-past-seq", str(live - 1))
    # a process of the past is not acted on: the key says why, the lab is untouched
    page.keyboard.press("t")
    expect(page.locator("#notice")).to_have_attribute("data-notice", "past")
    assert api.process(client)["state"] == "running"
    expect(page.locator("#details .proc-actions")).to_be_hidden()
    page.keyboard.press("Escape")
    assert page.locator("body").get_attribute("data-past-seq") is None
    expect(page.locator("#details .proc-actions")).to_be_visible()


def test_a_press_on_the_time_axis_scrubs_to_that_moment(dashboard, live_app):
    page, api = dashboard, live_app.api
    open_timeline(page)
    client = api.spawn(1)[0]
    worker, exited, reaped = terminate_and_join(api, client)
    wait_applied(page, reaped)
    events = {e["seq"]: e for e in api.events()}
    t_exit, t_reap = events[exited]["t"], events[reaped]["t"]
    # pause on a window of a few seconds around the exit, then press the axis
    # between the exit and the reap: the past at the last event before that moment
    x = page.evaluate("""([a, b]) => {
        const tl = window.forkscope.timeline;
        tl.setFollow(false);
        tl.zoomTo(2);
        tl.end = b + 1;
        tl.draw();
        return tl.layout.x((a + b) / 2) + tl.svg.node().getBoundingClientRect().left;
    }""", [t_exit, t_reap])
    assert page.locator("#timeline").get_attribute("data-follow") == "paused"
    axis = page.locator("#timeline .timeline-axis-svg").bounding_box()
    page.mouse.click(x, axis["y"] + axis["height"] / 2)
    page.wait_for_function("() => document.body.dataset.pastSeq !== undefined")
    past = int(page.locator("body").get_attribute("data-past-seq"))
    assert exited <= past < reaped
    assert events[past]["t"] <= (t_exit + t_reap) / 2
    expect(node(page, worker)).to_have_attribute("data-state", "zombie")
    expect(page.locator(f"#timeline line.cursor[data-cursor-seq='{past}']")).to_have_count(1)


def test_the_timeline_s_buttons_pause_and_zoom(dashboard):
    page = dashboard
    open_timeline(page)
    timeline = page.locator("#timeline")
    span = timeline.locator(".timeline-span")
    before = span.text_content()
    page.locator("[data-action='timeline-zoom-in']").click()
    expect(span).not_to_have_text(before)
    page.locator("[data-action='pause-timeline']").click()
    expect(timeline).to_have_attribute("data-follow", "paused")
    expect(page.locator("[data-action='pause-timeline']")).to_have_attribute("aria-pressed", "true")
    page.locator("[data-action='pause-timeline']").click()
    expect(timeline).to_have_attribute("data-follow", "live")
    page.keyboard.press("h")
    expect(timeline).to_have_attribute("data-open", "false")


def test_a_page_opened_late_reaches_back_through_the_recording(page, tmp_path):
    """The page connected after the terminate and the join: the dashboard's
    recording (export.jsonl) gives it the past from the session's start."""
    with running(Settings(port=0, echo_port=0, record=str(tmp_path / "sessions"))) as live:
        api = live.api
        client = api.spawn(1)[0]
        worker, exited, reaped = terminate_and_join(api, client)
        open_dashboard(page, live.url)
        first = page.evaluate("() => window.forkscope.sync.appliedSeq")
        assert first >= reaped                               # all of it before the page came
        page.wait_for_function("() => window.forkscope.history.firstSeq === 0", timeout=15_000)
        open_tab(page, "log")
        page.locator(f"#log li[data-seq='{exited}']").click()
        expect(page.locator("body")).to_have_attribute("data-past-seq", str(exited))
        expect(node(page, worker)).to_have_attribute("data-state", "zombie")
        # and its lane has its whole life, from before the page connected
        page.keyboard.press("h")
        lane = page.locator(f"#timeline g.lane[data-lane-pid='{worker}']")
        expect(lane).to_have_attribute("data-state", "joined")
        expect(lane.locator("[data-seg='zombie']")).to_have_count(1)
        page.close()


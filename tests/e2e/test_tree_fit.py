"""Issue 11, "the room can see it": the whole tree fits its panel at every size
(scaled to a legible minimum, then siblings folded into groups), zoom and pan
pause auto-fit until the fit button is pressed, groups open and fold again,
and new and just-exited processes are highlighted for a few seconds."""

import re
import time
from collections import Counter

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import node
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

BOXES = "#tree g.node[data-pid], #tree g.group[data-count]"   # not those leaving
FIT = "[data-action='fit']"

# Every box (node or group) against the tree panel's box, in CSS px.
GEOMETRY = """() => {
    const panel = document.querySelector('#tree').getBoundingClientRect();
    const boxes = [...document.querySelectorAll('#tree g.node[data-pid], #tree g.group[data-count]')]
        .map((el) => {
            const r = el.querySelector('rect.frame').getBoundingClientRect();
            return { id: el.dataset.uid || el.dataset.groupId, left: r.left, top: r.top,
                     right: r.right, bottom: r.bottom };
        });
    return { panel: { left: panel.left, top: panel.top, right: panel.right, bottom: panel.bottom },
             boxes, scroll: document.querySelector('#tree').scrollHeight,
             client: document.querySelector('#tree').clientHeight };
}"""


def outside(page):
    """Ids of the boxes not wholly inside the tree panel (1 px of rounding)."""
    g = page.evaluate(GEOMETRY)
    p = g["panel"]
    return [b["id"] for b in g["boxes"]
            if b["left"] < p["left"] - 1 or b["top"] < p["top"] - 1
            or b["right"] > p["right"] + 1 or b["bottom"] > p["bottom"] + 1]


def wait_fitted(page, timeout=10.0):
    """Every box inside the panel (auto-fit moves the view with a short transition)."""
    wait_until(lambda: page.locator(BOXES).count() and not outside(page), timeout=timeout,
               message="every node and group inside the tree panel")


def shown_in_page(page):
    """Counter of (parent pid, role, state) over the page's nodes and groups: a
    node counts once, a group data-count times (by its data-states)."""
    seen = Counter()
    for pid, role, state in page.eval_on_selector_all(
            "#tree g.node[data-pid]", "els => els.map(e => [e.dataset.ppid, e.dataset.role, "
                                      "e.dataset.state])"):
        seen[(pid, role, state)] += 1
    for parent, role, count, states in page.eval_on_selector_all(
            "#tree g.group[data-count]", "els => els.map(e => [e.dataset.parentPid, e.dataset.role, "
                             "e.dataset.count, e.dataset.states])"):
        parts = dict(part.split(":") for part in states.split(","))
        assert sum(int(n) for n in parts.values()) == int(count), states
        for state, n in parts.items():
            seen[(parent, role, state)] += int(n)
    return seen


def shown_in_api(api):
    return Counter((str(p["ppid"]), p["role"], p["state"])
                   for p in api.state()["processes"] if p["state"] != "joined")


def wait_adds_up(page, api, timeout=20.0):
    """Every live process of /api/state is its own node or counted in one group."""
    seen = {}

    def agree():
        seen["page"], seen["api"] = shown_in_page(page), shown_in_api(api)
        return seen["page"] == seen["api"]

    try:
        wait_until(agree, timeout=timeout, interval=0.1, message="the tree to add up to /api/state")
    except AssertionError:
        raise AssertionError(f"page {seen['page']} != api {seen['api']}") from None


def spawn_running(api, count):
    """*count* clients, in requests of at most 20, each with its worker connected."""
    pids = []
    while len(pids) < count:
        pids += api.spawn(min(20, count - len(pids)))
    wait_until(lambda: len([p for p in api.state()["processes"] if p["role"] == "worker"
                            and p["state"] == "running" and p["connection"] == "open"]) >= count,
               timeout=60, interval=0.2, message=f"{count} connected workers")
    return pids


def pid_text_px(page):
    """The smallest pid as the room sees it: its font size times the zoom, CSS px."""
    return page.evaluate("""() => Math.min(...[...document.querySelectorAll(
        '#tree g.node[data-pid] .pid-value')].map((el) => parseFloat(getComputedStyle(el).fontSize)
        * el.getScreenCTM().a))""")


def no_recent(page):
    """No process is highlighted, nor would be if it were not folded."""
    return page.evaluate("() => window.forkscope.tree.layout.recentUntil === null")


def test_at_1280_with_50_clients_everything_fits_and_a_zombie_leaves_its_group(dashboard, live_app):
    page, api = dashboard, live_app.api
    spawn_running(api, 50)
    assert len([p for p in api.state()["processes"] if p["state"] != "joined"]) >= 100
    wait_adds_up(page, api)
    wait_fitted(page)
    for role in ("dashboard", "server"):
        expect(page.locator(f"#tree g.node[data-role='{role}']")).to_have_count(1)
    expect(page.locator("#tree g.group[data-role='worker']")).to_have_count(1)
    g = page.evaluate(GEOMETRY)
    assert g["scroll"] <= g["client"], g                  # the panel does not scroll
    # the pids are legible: at least --tree-min-label-px (13 at 1280)
    wait_until(lambda: pid_text_px(page) >= 13 - 0.01, message="13 px pids")

    # A worker folded in the group exits: it leaves the group as its own
    # zombie node, highlighted as just ended, within a second.
    wait_until(lambda: no_recent(page), timeout=10, message="the new processes' highlight to end")
    drawn = set(page.eval_on_selector_all("#tree g.node[data-role='worker']",
                                          "els => els.map(e => Number(e.dataset.pid))"))
    folded = [p["pid"] for p in api.processes(role="worker", state="running") if p["pid"] not in drawn]
    assert folded, "no worker is folded in a group"
    worker = max(folded)
    group = page.locator("#tree g.group[data-role='worker']")
    assert api.post(f"/api/processes/{worker}/terminate").status_code == 200
    zombie = node(page, worker)
    expect(zombie).to_have_attribute("data-state", "zombie", timeout=1000)
    expect(zombie).to_have_attribute("data-recent", "ended")
    expect(group).to_have_attribute("data-states", re.compile(r"^running:\d+$"))
    wait_adds_up(page, api)                  # counted once: as its node, not in the group
    wait_fitted(page)


def test_zooming_in_pauses_auto_fit_and_the_fit_button_shows_everything(dashboard, live_app):
    page, api = dashboard, live_app.api
    spawn_running(api, 3)
    wait_adds_up(page, api)
    wait_fitted(page)
    fit = page.locator(FIT)
    expect(fit).to_have_attribute("data-fit", "auto")

    box = page.locator("#tree").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    page.mouse.wheel(0, -600)
    expect(fit).to_have_attribute("data-fit", "paused")   # lit, and says so
    expect(fit).to_contain_text(re.compile(r"\S"))
    view = page.locator("#tree g.tree-viewport")
    zoomed = view.get_attribute("transform")
    assert outside(page), "the wheel did not zoom in"

    # A process is added: auto-fit would move the view; paused, it stays put.
    client = api.spawn(1)[0]
    expect(node(page, client)).to_have_attribute("opacity", "1")   # drawn, transitions over
    assert page.evaluate("() => window.forkscope.tree.paused") is True
    assert view.get_attribute("transform") == zoomed
    assert outside(page)

    fit.click()
    expect(fit).to_have_attribute("data-fit", "auto")
    wait_fitted(page)
    # and auto-fit is back: the next process is fitted in too
    api.spawn(1)
    wait_adds_up(page, api)
    wait_fitted(page)


def test_a_group_opens_on_click_and_folds_back(dashboard, live_app):
    page, api = dashboard, live_app.api
    spawn_running(api, 14)          # more rows than a 1280x720 panel shows at 13 px
    wait_until(lambda: no_recent(page), timeout=10, message="the highlights to end")
    workers = page.locator("#tree g.group[data-role='worker']")
    expect(workers).to_have_count(1)
    wait_adds_up(page, api)
    folded = int(workers.get_attribute("data-count"))
    assert folded >= 2
    assert workers.get_attribute("data-states") == f"running:{folded}"
    assert workers.get_attribute("data-parent-pid") == str(api.processes(role="server")[0]["pid"])

    workers.click()
    expect(page.locator("#tree g.group")).to_have_count(0)          # its clients open with it
    expect(page.locator("#tree g.node[data-role='worker']")).to_have_count(14)
    expect(page.locator("#tree g.node[data-role='client']")).to_have_count(14)
    expect(page.locator("#tree path.tcp[data-client-pid][data-worker-pid]")).to_have_count(14)
    wait_fitted(page)                                               # all of it, smaller
    toggle = page.locator("#tree g.group-toggle[data-expanded='true']")
    expect(toggle).to_have_count(1)
    expect(toggle).to_have_attribute("data-role", "worker")

    toggle.click()
    expect(workers).to_have_count(1)
    expect(workers).to_have_attribute("data-count", str(folded))
    expect(toggle).to_have_count(0)
    wait_adds_up(page, api)
    wait_fitted(page)

    # The clients' group opens the pairs too; the keyboard works as the mouse.
    clients = page.locator("#tree g.group[data-role='client']")
    clients.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#tree g.group")).to_have_count(0)
    order = page.evaluate("() => window.forkscope.tree.visibleOrder()")
    assert order[:2] == [p["uid"] for p in api.processes(role="dashboard")] + [
        p["uid"] for p in api.processes(role="server")]
    assert len(order) == page.locator("#tree g.node[data-pid]").count()


def test_new_and_just_exited_processes_are_highlighted_for_a_few_seconds(dashboard, live_app):
    page, api = dashboard, live_app.api
    client = api.spawn(1)[0]
    fresh = node(page, client)
    expect(fresh).to_have_attribute("data-recent", "new")
    seen_new = time.monotonic()
    expect(fresh).not_to_have_attribute("data-recent", "new", timeout=6000)
    lasted = time.monotonic() - seen_new
    assert 1.5 <= lasted <= 4.5, lasted
    expect(fresh).to_have_attribute("data-state", "running")

    assert api.post(f"/api/processes/{client}/terminate").status_code == 200
    expect(fresh).to_have_attribute("data-state", "zombie")
    expect(fresh).to_have_attribute("data-recent", "ended")
    expect(fresh).not_to_have_attribute("data-recent", "ended", timeout=6000)


def test_reduced_motion_highlights_without_pulsing(dashboard, live_app):
    page, api = dashboard, live_app.api
    ring = "el => { const s = getComputedStyle(el.querySelector('.recent-ring')); " \
           "return [s.animationName, s.transitionDuration]; }"
    first = api.spawn(1)[0]
    expect(node(page, first)).to_have_attribute("data-recent", "new")
    assert node(page, first).evaluate(ring)[0] == "recent-pulse"
    page.emulate_media(reduced_motion="reduce")
    second = api.spawn(1)[0]
    expect(node(page, second)).to_have_attribute("data-recent", "new")
    assert node(page, second).evaluate(ring) == ["none", "0s"]


@pytest.fixture
def wide_page(page):
    page.set_viewport_size({"width": 1920, "height": 1080})
    return page


def test_a_view_sets_the_legible_minimum_and_the_tree_folds_for_it(wide_page, live_app):
    page, api = wide_page, live_app.api
    page.goto(live_app.url)
    spawn_running(api, 10)
    wait_adds_up(page, api)
    wait_until(lambda: no_recent(page), timeout=10, message="the highlights to end")
    expect(page.locator("#tree g.group")).to_have_count(0)          # fits as it is
    # the presenter view's far wall: 20 px pids
    page.evaluate("""() => {
        document.querySelector('#tree').style.setProperty('--tree-min-label-px', '20');
        window.forkscope.tree.fit();
    }""")
    expect(page.locator("#tree g.group[data-role='worker']")).to_have_count(1)
    wait_adds_up(page, api)
    wait_fitted(page)
    # (the view zooms there with a short transition)
    wait_until(lambda: pid_text_px(page) >= 20 - 0.01, message="20 px pids")
    page.close()

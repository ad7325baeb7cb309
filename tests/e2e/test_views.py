"""Views and keys (issue 11, parts 4–5): body[data-view=full|present|phone],
the presenter view a back row can read, the keyboard shortcuts (keys.js) and
their sheet, and the phone layout a student follows the lecture on."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import running
from tests.e2e.pages import node, nodes, open_dashboard, open_tab, wait_connected

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = json.loads((ROOT / "static" / "i18n" / "zh-CN.json").read_text("utf-8"))
EN = json.loads((ROOT / "static" / "i18n" / "en.json").read_text("utf-8"))
TOKEN = "t0k"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def lecture():
    """A live app that needs the presenter token (REST calls here carry it)."""
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        live.api.http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield live


@pytest.fixture
def phone(browser):
    """A phone's browser: 390×844, touch, Chinese — a student's."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    yield context
    context.close()


def record_calls(page):
    """Record the name of every action the page sends (sync.call), in order."""
    page.evaluate("""() => {
        const sync = window.forkscope.sync;
        const call = sync.call.bind(sync);
        window.__calls = [];
        sync.call = (event, data) => { window.__calls.push(event); return call(event, data); };
    }""")


def calls(page, name):
    return page.evaluate("name => window.__calls.filter((c) => c === name).length", name)


def details_pid(page):
    return page.locator("#details").get_attribute("data-pid")


def view(page):
    return page.locator("body")


# -- which view -------------------------------------------------------------------------------

def test_the_view_is_always_set_and_follows_the_width(live_app, page):
    page.goto(live_app.url)
    wait_connected(page)
    expect(view(page)).to_have_attribute("data-view", "full")
    page.set_viewport_size(PHONE)                      # a narrow window: the phone layout
    expect(view(page)).to_have_attribute("data-view", "phone")
    page.set_viewport_size({"width": 1280, "height": 720})
    expect(view(page)).to_have_attribute("data-view", "full")

    page.goto(live_app.url + "/?view=phone")           # ?view= overrides the width
    wait_connected(page)
    expect(view(page)).to_have_attribute("data-view", "phone")
    page.set_viewport_size({"width": 1920, "height": 1080})
    expect(view(page)).to_have_attribute("data-view", "phone")
    page.close()


def test_phone_view_follows_rotation(lecture, phone):
    page = phone.new_page()
    page.goto(lecture.url + "/")
    wait_connected(page)
    expect(view(page)).to_have_attribute("data-view", "phone")
    page.set_viewport_size({"width": 844, "height": 390})     # on its side: still a phone
    expect(view(page)).to_have_attribute("data-view", "phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 844
    page.set_viewport_size(PHONE)
    expect(view(page)).to_have_attribute("data-view", "phone")
    page.goto(lecture.url + "/?view=full")                    # a student who wants the desktop page
    wait_connected(page)
    expect(view(page)).to_have_attribute("data-view", "full")


# -- presenter view ---------------------------------------------------------------------------

def test_presenter_view_button_gives_the_tree_the_screen(dashboard, live_app):
    page = dashboard
    live_app.api.spawn(2)
    expect(nodes(page, "worker")).to_have_count(2)
    button = page.locator("[data-action='present']")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(view(page)).to_have_attribute("data-view", "present")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert "view=present" in page.url                   # a reload keeps it
    # The tree takes the screen, the controls stay in reach below it.
    page.wait_for_function("""() => {
        const r = document.querySelector('#tree').getBoundingClientRect();
        return r.width >= innerWidth * 0.95 && r.height >= innerHeight * 0.7;
    }""", timeout=5000)
    spawn = page.locator("[data-action='spawn-client'][data-count='1']")
    expect(spawn).to_be_visible()
    tree_box = page.locator("#tree").bounding_box()
    spawn_box = spawn.bounding_box()
    assert spawn_box["y"] >= tree_box["y"] + tree_box["height"] - 1, (spawn_box, tree_box)  # not over it
    assert spawn_box["y"] + spawn_box["height"] <= 720
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    base = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert base >= 22, base                              # large type for the back row
    min_label = page.evaluate(
        "getComputedStyle(document.querySelector('#tree')).getPropertyValue('--tree-min-label-px')")
    assert float(min_label) == 20, min_label

    page.reload()
    wait_connected(page)
    expect(view(page)).to_have_attribute("data-view", "present")
    page.locator("[data-action='present']").click()
    expect(view(page)).to_have_attribute("data-view", "full")
    assert "view=" not in page.url


def test_presenter_view_labels_are_readable_from_the_back_row(live_app, page):
    """1280×720, 30 live processes (14 clients, each with its worker): every pid
    label the tree draws is at least 20 CSS px high as rendered, and on screen.
    The tree fits its panel and folds siblings into groups rather than draw a
    label smaller than that: without it the labels below the fold go unread."""
    api = live_app.api
    api.spawn(14)
    page.goto(live_app.url + "/?view=present")
    wait_connected(page)
    # 14 workers shown: as nodes, or counted in a group (below the legible
    # minimum the tree folds siblings rather than shrink their labels)
    page.wait_for_function("""() => {
        const single = document.querySelectorAll("#tree g.node[data-role='worker'][data-pid]").length;
        const grouped = [...document.querySelectorAll("#tree g.group[data-role='worker']")]
            .reduce((n, g) => n + Number(g.dataset.count), 0);
        return single + grouped === 14;
    }""", timeout=15_000)
    live = [p for p in api.state()["processes"] if p["state"] != "joined"]
    assert len(live) >= 30, len(live)
    measure = """() => {
        const box = document.querySelector('#tree').getBoundingClientRect();
        return [...document.querySelectorAll('#tree g.node[data-pid] .pid-value')].map((el) => {
            const r = el.getBoundingClientRect();
            const scale = el.getScreenCTM().a;
            return { pid: el.textContent, height: r.height,
                     font: parseFloat(getComputedStyle(el).fontSize) * scale,
                     inView: r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5
                             && r.left >= box.left - 0.5 && r.right <= box.right + 0.5 };
        });
    }"""
    try:   # the tree moves its boxes for 350 ms after a change: wait for it to settle
        page.wait_for_function(f"""() => {{
            const labels = ({measure})();
            return labels.length >= 2 && labels.every((l) => l.height >= 20 && l.inView);
        }}""", timeout=5000)
    except PlaywrightError:
        pass
    labels = page.evaluate(measure)
    assert len(labels) >= 2, labels                    # at least the dashboard and the server
    small = [lab for lab in labels if lab["height"] < 20]
    hidden = [lab for lab in labels if not lab["inView"]]
    assert not small, f"{len(small)} of {len(labels)} pid labels under 20 px: {small[:5]}"
    assert not hidden, f"{len(hidden)} of {len(labels)} pid labels off screen: {hidden[:5]}"


# -- keys -----------------------------------------------------------------------------------------

def test_keys_spawn_select_terminate_join_and_kill(dashboard, live_app):
    page, api = dashboard, live_app.api
    page.locator("body").press("c")                      # c: spawn a client
    expect(nodes(page, "client")).to_have_count(1)
    expect(nodes(page, "worker")).to_have_count(1)
    client = api.processes(role="client")[0]["pid"]

    # Arrows: the first ↓ selects the first node in reading order (which one
    # is the tree's to say), each further ↓ the next one, each once, until
    # the client.
    drawn = set(page.eval_on_selector_all("#tree g.node[data-pid]", "els => els.map(e => e.dataset.pid)"))
    page.keyboard.press("ArrowDown")
    expect(page.locator("#details")).to_have_attribute("data-pid", re.compile(r"^\d+$"))
    seen = [details_pid(page)]
    while seen[-1] != str(client):
        assert len(seen) < len(drawn), f"↓ went past every node without reaching the client: {seen}"
        page.keyboard.press("ArrowDown")
        page.wait_for_function("(prev) => document.querySelector('#details').dataset.pid !== prev",
                               arg=seen[-1], timeout=5000)
        seen.append(details_pid(page))
    assert len(set(seen)) == len(seen) and set(seen) <= drawn, seen
    assert len(seen) >= 2, f"the first ↓ went to the client, walk it from elsewhere: {seen}"
    page.keyboard.press("ArrowUp")                       # ↑: back one
    expect(page.locator("#details")).to_have_attribute("data-pid", seen[-2])
    page.keyboard.press("ArrowDown")
    expect(page.locator("#details")).to_have_attribute("data-pid", str(client))
    expect(node(page, client)).to_have_attribute("aria-pressed", "true")

    page.keyboard.press("t")                             # t: terminate() the selected process
    expect(node(page, client)).to_have_attribute("data-state", "zombie")
    assert api.process(client)["exitcode"] == -15
    page.keyboard.press("j")                             # j: join() it: it leaves the tree
    expect(node(page, client)).to_have_count(0)
    latest = page.locator("#results li").first
    expect(latest).to_have_attribute("data-result-action", "join")
    expect(latest).to_have_attribute("data-result", "ok")

    page.keyboard.press("c")
    expect(page.locator("#tree g.node[data-role='client'][data-state='running']")).to_have_count(1)
    second = api.processes(role="client", state="running")[0]["pid"]
    node(page, second).click()
    expect(page.locator("#details")).to_have_attribute("data-pid", str(second))
    page.keyboard.press("k")                             # k: kill() it
    expect(node(page, second)).to_have_attribute("data-state", "zombie")
    assert api.process(second)["exitcode"] == -9
    expect(latest).to_have_attribute("data-result-action", "kill")


def test_keys_language_view_sheet_and_fit(dashboard):
    page = dashboard
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-CN")
    page.keyboard.press("l")                             # l: the language
    expect(html).to_have_attribute("lang", "en")
    page.keyboard.press("l")
    expect(html).to_have_attribute("lang", "zh-CN")

    page.keyboard.press("p")                             # p: presenter view, and back
    expect(view(page)).to_have_attribute("data-view", "present")
    page.keyboard.press("p")
    expect(view(page)).to_have_attribute("data-view", "full")

    sheet = page.locator("#keys-sheet")
    expect(sheet).to_be_hidden()
    page.keyboard.press("?")                             # ?: the sheet of keys
    expect(sheet).to_be_visible()
    listed = " ".join(sheet.locator("li[data-key]").evaluate_all("els => els.map(e => e.dataset.key)")).split()
    for key in ("c", "t", "k", "j", "ArrowDown", "ArrowUp", "f", "l", "p", "?"):
        assert key in listed, (key, listed)
    for key in ("keys.spawn", "keys.terminate", "keys.kill", "keys.join", "keys.next", "keys.fit",
                "keys.language", "keys.present", "keys.sheet"):
        expect(sheet).to_contain_text(ZH[key])           # in the page's language
    page.keyboard.press("Escape")                        # Esc closes it
    expect(sheet).to_be_hidden()
    page.keyboard.press("l")
    page.keyboard.press("?")
    expect(sheet).to_contain_text(EN["keys.spawn"])
    page.keyboard.press("?")                             # ? again closes it too
    expect(sheet).to_be_hidden()

    # f: the tree's fit(). Spied on: the page calls whatever fit the tree has
    # at the time of the key (tree.js brings its own with the fit-to-panel work).
    page.evaluate("() => { window.__fits = 0; window.forkscope.tree.fit = () => { window.__fits += 1; }; }")
    page.keyboard.press("f")
    page.wait_for_function("() => window.__fits === 1", timeout=5000)


def test_keys_never_fire_while_typing_or_with_modifiers(dashboard, live_app):
    page = dashboard
    record_calls(page)
    page.keyboard.press("c")                             # the control: c spawns
    expect(page.locator("#tree g.node[data-role='client'][data-state='running']")).to_have_count(1)
    assert calls(page, "spawn_client") == 1
    client = live_app.api.processes(role="client")[0]["pid"]

    field = page.locator(f"input[data-message-for='{client}']")
    field.click()
    field.press("c")                                     # typing a message
    expect(field).to_have_value("c")
    open_tab(page, "log")
    page.locator("#log-pid").press("c")                  # a filter field
    page.locator("#log-type").press("c")                 # a select (its own type-ahead)
    page.evaluate("""() => {
        const note = document.createElement('div');
        note.contentEditable = 'true';
        note.id = 'scratch';
        document.querySelector('#panel-log').append(note);
    }""")
    page.locator("#scratch").press("c")                  # contenteditable
    page.locator("#scratch").evaluate("el => el.remove()")
    page.locator("body").click(position={"x": 5, "y": 200})   # focus back on the page
    for chord in ("Control+c", "Alt+c", "Meta+c"):
        page.keyboard.press(chord)
    # Keys are handled in order: once this last c's spawn is sent, any spawn an
    # earlier key had fired would have been sent before it.
    page.keyboard.press("c")
    page.wait_for_function(
        "() => window.__calls.filter((c) => c === 'spawn_client').length >= 2", timeout=5000)
    assert calls(page, "spawn_client") == 2
    expect(nodes(page, "client")).to_have_count(2)


def test_a_viewers_keys_do_not_act(lecture, page):
    page.goto(lecture.url + "/")
    wait_connected(page)
    expect(view(page)).to_have_attribute("data-access", "viewer")
    record_calls(page)
    page.keyboard.press("c")
    notice = page.locator("#notice")
    expect(notice).to_have_attribute("data-notice", "viewer-key")
    expect(notice).to_be_visible()
    client = lecture.api.spawn(1)[0]                     # the presenter acts
    expect(node(page, client)).to_have_count(1)
    page.keyboard.press("t")                             # nothing selected, and a viewer's
    drawn = page.eval_on_selector_all("#tree g.node[data-pid]", "els => els.map(e => e.dataset.pid)")
    page.keyboard.press("ArrowDown")                     # reading keys work for viewers
    expect(page.locator("#details")).to_have_attribute("data-pid", re.compile(r"^\d+$"))
    assert details_pid(page) in drawn
    page.keyboard.press("l")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.evaluate("window.__calls.length") == 0
    assert len(lecture.api.processes(role="client")) == 1


# -- phones ---------------------------------------------------------------------------------

TOUCH_TARGETS = """() => [...document.querySelectorAll(
        'button, input, select, summary, [role=tab], a[href], .log-row, .finished-item')]
    .filter((el) => !el.closest('#tree') && el.getClientRects().length
                    && getComputedStyle(el).visibility !== 'hidden')
    .map((el) => { const r = el.getBoundingClientRect();
                   return { el: el.outerHTML.slice(0, 90), w: r.width, h: r.height }; })
    .filter((t) => t.w < 44 || t.h < 44)"""


def assert_fits_the_phone(page, width=390):
    sizes = page.evaluate("""() => ({ doc: document.documentElement.scrollWidth,
                                      body: document.body.scrollWidth, inner: innerWidth })""")
    assert sizes["doc"] <= width and sizes["body"] <= width, sizes


def test_phone_viewer_sees_the_tree_first_and_live(lecture, phone):
    api = lecture.api
    clients = api.spawn(3)
    page = phone.new_page()
    page.goto(lecture.url + "/")
    wait_connected(page)
    expect(view(page)).to_have_attribute("data-view", "phone")
    expect(view(page)).to_have_attribute("data-access", "viewer")
    expect(nodes(page, "worker")).to_have_count(3)
    assert_fits_the_phone(page)
    tree = page.evaluate("""() => { const r = document.querySelector('#tree').getBoundingClientRect();
                                    return { top: r.top, bottom: r.bottom, width: r.width }; }""")
    assert tree["top"] >= 0 and tree["bottom"] <= PHONE["height"], tree    # in the first screen
    assert tree["width"] >= PHONE["width"] - 2, tree                        # the full width
    # Below it, without tabs: the details, then the narrated log.
    details = page.locator("#panel-details")
    log = page.locator("#log")
    expect(details).to_be_visible()
    expect(log).to_be_visible()
    expect(log.locator("li").first).to_be_visible()
    assert details.bounding_box()["y"] >= tree["bottom"] - 1
    assert log.bounding_box()["y"] > details.bounding_box()["y"]
    # viewers cannot act (the tree's fit button and the timeline's buttons only move
    # their own view)
    expect(page.locator("[data-action]:not([data-action='fit']):not(#timeline [data-action]):visible")
           ).to_have_count(0)
    expect(page.locator("#timeline [data-action='timeline']")).to_be_visible()
    expect(page.locator(".actions-card")).to_be_hidden()
    small = page.evaluate(TOUCH_TARGETS)
    assert not small, f"touch targets under 44 px: {small}"

    node(page, clients[0]).tap()                          # a tap shows the details
    expect(page.locator("#details")).to_have_attribute("data-pid", str(clients[0]))
    expect(page.locator("#details .fields")).to_be_visible()
    assert_fits_the_phone(page)                           # long fields wrap, not widen

    # A zombie made by the presenter (REST, with the token) reaches the phone
    # within a second of the answer (the answer comes once the exit is seen).
    worker = api.process(clients[1])["worker_pid"]
    r = api.post(f"/api/processes/{worker}/terminate")
    assert r.status_code == 200 and r.json()["state"] == "zombie", r.text
    expect(node(page, worker)).to_have_attribute("data-state", "zombie", timeout=1000)
    assert_fits_the_phone(page)
    small = page.evaluate(TOUCH_TARGETS)
    assert not small, f"touch targets under 44 px: {small}"


def test_phone_presenter_gets_compact_controls(lecture, phone):
    page = phone.new_page()
    open_dashboard(page, lecture.url + f"/?token={TOKEN}")
    expect(view(page)).to_have_attribute("data-view", "phone")
    expect(view(page)).to_have_attribute("data-access", "presenter")
    buttons = page.locator(".actions-card .button-row button")
    expect(buttons).to_have_count(3)
    boxes = [buttons.nth(i).bounding_box() for i in range(3)]
    assert len({round(b["y"]) for b in boxes}) == 1, boxes          # one row
    assert all(b["height"] >= 44 for b in boxes), boxes
    tree = page.locator("#tree").bounding_box()
    assert tree["y"] >= 0 and tree["y"] + tree["height"] <= PHONE["height"], tree
    page.locator("[data-action='spawn-client'][data-count='1']").tap()
    expect(nodes(page, "client")).to_have_count(1)
    expect(nodes(page, "worker")).to_have_count(1)
    assert_fits_the_phone(page)
    small = page.evaluate(TOUCH_TARGETS)
    assert not small, f"touch targets under 44 px: {small}"


# A lecture's lab: eight clients and their workers, the dashboard, the echo
# server and multiprocessing's resource tracker — about twenty processes.
LECTURE_CLIENTS = 8
SMALL_PHONE = {"width": 360, "height": 740}
LEGIBLE_PX = 12

# Every pid label the tree draws, as rendered (its box's height in CSS px).
PID_LABELS = """() => [...document.querySelectorAll('#tree g.node[data-pid] .pid-value')]
    .map((el) => ({ pid: el.textContent, height: el.getBoundingClientRect().height }))"""


def pid_labels(page):
    """The pid labels once the tree has settled (a fit moves for 300 ms): every
    one at least LEGIBLE_PX high, or as they are after 5 s, for the message."""
    try:
        page.wait_for_function(f"""() => {{
            const labels = ({PID_LABELS})();
            return labels.length && labels.every((l) => l.height >= {LEGIBLE_PX});
        }}""", timeout=5000)
    except PlaywrightError:
        pass
    return page.evaluate(PID_LABELS)


def assert_legible(labels, count):
    assert len(labels) == count, f"{len(labels)} pid labels drawn, {count} processes live"
    small = [lab for lab in labels if lab["height"] < LEGIBLE_PX]
    assert not small, (f"{len(small)} of {len(labels)} pid labels under {LEGIBLE_PX} px: "
                       f"{sorted(round(lab['height'], 1) for lab in small)}")


@pytest.mark.parametrize("screen", [PHONE, SMALL_PHONE], ids=["390x844", "360x740"])
def test_phone_reads_every_pid_of_a_lecture_lab_and_sees_a_zombie_appear(lecture, browser, screen):
    """A student's phone upright, a lecture's lab (~20 processes): every process
    is its own node, every pid label at least 12 px high as drawn, without
    zooming; no sideways scrolling; the tree's box on the first screen. Then,
    with a client the student tapped selected, the presenter terminates a
    worker from her page: within a second the phone shows the zombie as a
    node of its own (never folded into a group of workers)."""
    api = lecture.api
    clients = api.spawn(LECTURE_CLIENTS)
    phone_context = browser.new_context(viewport=screen, is_mobile=True, has_touch=True,
                                        locale="zh-CN")
    desk_context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    try:
        page = phone_context.new_page()
        page.goto(lecture.url + "/")
        wait_connected(page)
        expect(view(page)).to_have_attribute("data-view", "phone")
        live = [p for p in api.state()["processes"] if p["state"] != "joined"]
        assert len(live) >= 2 * LECTURE_CLIENTS + 2, live
        expect(page.locator("#tree g.node[data-pid]")).to_have_count(len(live))   # none folded
        assert_legible(pid_labels(page), len(live))
        assert_fits_the_phone(page, screen["width"])
        tree = page.locator("#tree").bounding_box()
        assert tree["y"] >= 0 and tree["y"] + tree["height"] <= screen["height"], tree
        assert tree["width"] >= screen["width"] - 2, tree

        node(page, clients[0]).tap()                      # the student follows client 1
        expect(page.locator("#details")).to_have_attribute("data-pid", str(clients[0]))

        presenter = desk_context.new_page()
        open_dashboard(presenter, lecture.url + f"/?token={TOKEN}")
        worker = api.process(clients[1])["worker_pid"]
        node(presenter, worker).click()
        presenter.locator(f"[data-action='terminate'][data-pid='{worker}']").click()
        # Her page has the answer once the lab saw the exit (on a busy machine
        # that alone can take a while); from then on the phone has a second.
        done = presenter.locator("#results li[data-result-action='terminate']").first
        expect(done).to_have_attribute("data-result", "ok", timeout=10_000)
        zombie = page.locator(f"#tree g.node[data-pid='{worker}']")
        expect(zombie).to_have_attribute("data-state", "zombie", timeout=1000)
        expect(page.locator("#tree g.group")).to_have_count(0)      # nothing folded
        assert_legible(pid_labels(page), len(live))
        assert_fits_the_phone(page, screen["width"])
        zombie.scroll_into_view_if_needed()               # the tree's panel scrolls, the page does not widen
        expect(zombie).to_be_in_viewport()
        assert_fits_the_phone(page, screen["width"])
    finally:
        desk_context.close()
        phone_context.close()

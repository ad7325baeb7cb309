"""Step mode on the page (issue 12): the Stepper's decisions (module tests with
a stand-in for the dispatch), the keys s / space, presenter-only controls with
markers for everyone, and — against the lab's real gates — one connection
stepped through from accept to exit, the code view and the tree agreeing with
/api/state at every step."""

import json
import re
import socket
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import running
from tests.e2e.pages import assert_tree_matches, node, nodes, open_dashboard, open_tab
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
POINTS = json.loads((ROOT / "static" / "tutorial" / "points.json").read_text("utf-8"))["points"]
TOKEN = "t0k"


def line(role, point):
    return POINTS[role][point]["line"]


# -- the Stepper's decisions, with a stand-in for controls.run --------------------------------

STEPPER = """async ({ state, selected, delay, script }) => {
    const { Stepper } = await import('/static/js/stepper.js');
    const { h } = await import('/static/js/dom.js');
    const bar = h('div', {},
        ...['step', 'continue', 'slow'].map((a) => h('button', { 'data-action': a })),
        h('input', { id: 'step-delay', type: 'number', value: delay }),
        h('details', { class: 'step-gates' }, h('summary'), h('div', { class: 'gate-list' })));
    document.body.replaceChildren(bar);
    const calls = [];
    const controls = {
        run: async (action, payload) => { calls.push([action, payload]);
            return { ok: true, status: 200, body: action === 'step-mode'
                ? { mode: payload.mode, delay_ms: payload.delay_ms ?? 1000, gates: payload.gates ?? [] }
                : { released: { pid: payload.pid ?? 9, gate: 'recv' } } }; },
        isPending: () => false,
    };
    const stepper = new Stepper({ controls, sync: { connected: true }, bar,
        selected: () => selected, requestRender: () => {} });
    stepper.bind();
    stepper.state = state;
    for (const [method, ...args] of script) await stepper[method](...args);
    return calls;
}"""


@pytest.mark.parametrize("state,selected,script,calls,delay", [
    # Step enters step mode first; then each Step releases one process
    (None, None, [["step"]], [["step-mode", {"mode": "step"}]], 1000),
    ({"mode": "run"}, None, [["step"], ["step"]],
     [["step-mode", {"mode": "step"}], ["step-next", {}]], 1000),
    # the selected process, when it waits, is the one released
    ({"mode": "step"}, {"pid": 7, "gate": "send"}, [["step"]], [["step-next", {"pid": 7}]], 1000),
    ({"mode": "step"}, {"pid": 7, "gate": None}, [["step"]], [["step-next", {}]], 1000),
    # space: pause when running or slow, continue when stepping
    ({"mode": "step"}, None, [["toggle"]], [["step-mode", {"mode": "run"}]], 1000),
    ({"mode": "slow", "delay_ms": 800}, None, [["toggle"]], [["step-mode", {"mode": "step"}]], 1000),
    ({"mode": "run"}, None, [["toggle"], ["toggle"]],
     [["step-mode", {"mode": "step"}], ["step-mode", {"mode": "run"}]], 1000),
    # Slow sends the delay, within 100..5000 ms
    ({"mode": "run"}, None, [["press", "slow"]], [["step-mode", {"mode": "slow", "delay_ms": 5000}]],
     9000),
    ({"mode": "run"}, None, [["press", "slow"]], [["step-mode", {"mode": "slow", "delay_ms": 250}]],
     250),
    ({"mode": "run"}, None, [["press", "continue"]], [["step-mode", {"mode": "run"}]], 1000),
])
def test_the_stepper_asks_the_dispatch(module_page, state, selected, script, calls, delay):
    got = module_page.evaluate(STEPPER, {"state": state, "selected": selected, "delay": delay,
                                         "script": script})
    assert got == calls


def test_the_gate_toggles_send_the_gates_on(module_page):
    got = module_page.evaluate("""async () => {
        const { Stepper, clampDelay } = await import('/static/js/stepper.js');
        const { h } = await import('/static/js/dom.js');
        const bar = h('div', {}, h('button', { 'data-action': 'step' }), h('input', { id: 'step-delay' }),
            h('details', { class: 'step-gates' }, h('summary'), h('div', { class: 'gate-list' })));
        document.body.replaceChildren(bar);
        const calls = [];
        const stepper = new Stepper({ controls: { run: async (a, p) => { calls.push(p); return { ok: false }; },
            isPending: () => false }, sync: { connected: true }, bar, selected: () => null,
            requestRender: () => {} });
        stepper.bind();
        stepper.state = { mode: 'step', delay_ms: 1000, gates: ['accept', 'recv', 'exit'] };
        stepper.render();
        const shown = [...bar.querySelectorAll('[data-gate-toggle]')].filter((b) => b.checked)
            .map((b) => b.dataset.gateToggle);
        bar.querySelector('[data-gate-toggle="recv"]').click();
        await new Promise((r) => setTimeout(r, 0));
        return { shown, calls, pressed: bar.querySelector('[data-action=step]').getAttribute('aria-pressed'),
                 clamp: [clampDelay(50), clampDelay(5001), clampDelay('x', 700), clampDelay(1234.4)] };
    }""")
    assert got["shown"] == ["accept", "recv", "exit"]
    assert got["calls"] == [{"mode": "step", "gates": ["accept", "exit"]}]
    assert got["pressed"] == "true"
    assert got["clamp"] == [100, 5000, 700, 1234]


# -- on a live dashboard ---------------------------------------------------------------------

@pytest.fixture
def lecture():
    """A live app that needs the presenter token (REST calls here carry it)."""
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        live.api.http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield live


def record_calls(page):
    page.evaluate("""() => {
        const sync = window.forkscope.sync;
        const call = sync.call.bind(sync);
        window.__calls = [];
        sync.call = (event, data) => { window.__calls.push([event, data]); return call(event, data); };
    }""")


def test_markers_for_everyone_step_controls_for_the_presenter(lecture, browser):
    api = lecture.api
    client = api.spawn(1)[0]
    worker = api.process(client)["worker_pid"]
    server = api.processes(role="server")[0]["pid"]
    viewer_ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    presenter_ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    try:
        viewer = viewer_ctx.new_page()
        open_dashboard(viewer, lecture.url + "/")
        expect(viewer.locator("body")).to_have_attribute("data-access", "viewer")
        open_tab(viewer, "code")
        # three processes on three lines: the server in accept(), the worker in
        # recv(), the client waiting for its next message
        for pid, listing, at in ((server, "server", line("server", "accepting")),
                                 (worker, "server", line("worker", "recv")),
                                 (client, "client", line("client", "input"))):
            marker = viewer.locator(f"[data-marker-pid='{pid}']")
            expect(marker).to_be_visible()
            expect(marker).to_have_attribute("data-line", str(at))
            expect(marker).to_have_attribute("data-listing", listing)
        for action in ("step", "continue", "slow"):
            expect(viewer.locator(f"[data-action='{action}']")).to_be_hidden()
        record_calls(viewer)
        viewer.locator("body").press("s")
        expect(viewer.locator("#notice")).to_have_attribute("data-notice", "viewer-key")
        assert viewer.evaluate("window.__calls.length") == 0

        presenter = presenter_ctx.new_page()
        open_dashboard(presenter, lecture.url + f"/?token={TOKEN}")
        for action in ("step", "continue", "slow"):
            expect(presenter.locator(f"[data-action='{action}']")).to_be_visible()
        # a marker selects its process, and the code tab stays
        open_tab(presenter, "code")
        presenter.locator(f"[data-marker-pid='{worker}']").click()
        expect(presenter.locator("#details")).to_have_attribute("data-pid", str(worker))
        expect(presenter.locator("#tab-code")).to_have_attribute("aria-selected", "true")
        expect(presenter.locator(f"[data-marker-pid='{worker}']")).to_have_attribute(
            "aria-pressed", "true")
    finally:
        viewer_ctx.close()
        presenter_ctx.close()


def test_keys_s_and_space_ask_for_step_mode(dashboard):
    page = dashboard
    record_calls(page)
    page.locator("body").press("s")
    wait_until(lambda: page.evaluate("window.__calls.length") >= 1, message="a call for s")
    assert page.evaluate("window.__calls[0]") == ["step_mode", {"mode": "step"}]
    # space on a focused tab presses the tab, not the lab's pause
    page.locator("#tab-log").focus()
    page.keyboard.press(" ")
    expect(page.locator("#tab-log")).to_have_attribute("aria-selected", "true")
    assert page.evaluate("window.__calls.length") == 1
    page.locator("#keys-button").click()
    sheet = page.locator("#keys-sheet")
    expect(sheet.locator("li[data-key='s']")).to_be_visible()
    expect(sheet.locator("li[data-key=' ']")).to_be_visible()


# -- against the lab's real gates -------------------------------------------------------------------

def waiting_in_api(api):
    return {p["pid"]: p["gate"] for p in api.state()["processes"]
            if p["state"] != "joined" and p.get("gate")}


def waiting_in_page(page):
    return {int(pid): gate for pid, gate in page.eval_on_selector_all(
        "#tree g.node[data-pid][data-gate]", "els => els.map((e) => [e.dataset.pid, e.dataset.gate])")}


def assert_page_matches_api(page, api):
    """The tree (pid, ppid, state) and who waits at which gate, as /api/state has them."""
    assert_tree_matches(page, api)
    seen = {}

    def agree():
        seen["page"], seen["api"] = waiting_in_page(page), waiting_in_api(api)
        return seen["page"] == seen["api"]
    wait_until(agree, timeout=10, message=f"gates in the tree to equal /api/state: {seen}")


def expect_marker(page, pid, role, point, gate):
    marker = page.locator(f"[data-marker-pid='{pid}']")
    expect(marker).to_have_attribute("data-line", str(line(role, point)))
    expect(marker).to_have_attribute("data-at", point)
    if gate:
        expect(marker).to_have_attribute("data-gate", gate)
        expect(node(page, pid)).to_have_attribute("data-gate", gate)
        listing = POINTS[role][point]["listing"]
        expect(page.locator(f"figure[data-listing='{listing}'] "
                            f"[data-code-line='{line(role, point)}']")).to_have_attribute(
            "data-paused", "true")
    else:
        expect(marker).not_to_have_attribute("data-gate", re.compile(".*"))


def test_step_through_one_connection(dashboard, live_app):
    page, api = dashboard, live_app.api
    r = api.get("/api/step")
    assert r.status_code == 200, f"GET /api/step {r.status_code}"
    open_tab(page, "code")
    step = page.locator("[data-action='step']")
    step.click()                                         # run -> step mode
    wait_until(lambda: api.get("/api/step").json()["mode"] == "step", message="step mode")
    expect(page.locator("body")).to_have_attribute("data-step-mode", "step")
    expect(step).to_have_attribute("aria-pressed", "true")
    server = api.processes(role="server")[0]["pid"]
    sock = socket.create_connection(live_app.echo_address, timeout=10)
    try:
        expect_marker(page, server, "server", "accept", "accept")
        assert_page_matches_api(page, api)

        step.click()
        expect_marker(page, server, "server", "start", "start")
        assert_page_matches_api(page, api)

        step.click()
        here = list(sock.getsockname())
        worker = wait_until(lambda: next((p["pid"] for p in api.processes(role="worker")
                                          if p["peer"] == here and p["pid"]), None),
                            message="the worker for our connection")
        expect_marker(page, worker, "worker", "recv", "recv")
        expect_marker(page, server, "server", "accepting", None)
        assert_page_matches_api(page, api)

        sock.sendall(b"hello")
        step.click()
        expect_marker(page, worker, "worker", "send", "send")
        assert_page_matches_api(page, api)

        step.click()
        expect_marker(page, worker, "worker", "recv", "recv")
        assert sock.recv(1024) == b"HELLO"
        assert_page_matches_api(page, api)

        sock.close()
        step.click()
        expect_marker(page, worker, "worker", "close", "close")
        assert_page_matches_api(page, api)

        step.click()
        expect_marker(page, worker, "worker", "exit", "exit")
        assert_page_matches_api(page, api)

        step.click()
        expect(page.locator(f"[data-marker-pid='{worker}']")).to_have_count(0)
        expect(node(page, worker)).to_have_attribute("data-state", "zombie")
        assert_page_matches_api(page, api)
    finally:
        sock.close()
        api.post("/api/step", {"mode": "run"})


def test_a_phone_has_the_code_below_the_tree(live_app, browser):
    live_app.api.spawn(1)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    try:
        page = context.new_page()
        open_dashboard(page, live_app.url + "/")
        expect(page.locator("body")).to_have_attribute("data-view", "phone")
        expect(nodes(page, "worker")).to_have_count(1)
        tree = page.locator("#tree").bounding_box()
        code = page.locator("#code-view")
        expect(code.locator("[data-marker-pid]").first).to_be_attached()
        box = code.bounding_box()
        assert box["y"] >= tree["y"] + tree["height"] - 1, (box, tree)
        assert box["y"] < page.locator("#panel-details").bounding_box()["y"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


# One click on Step as soon as the page shows exactly one process waiting and
# the button enabled (a teacher clicking as fast as the page lets them), then
# that process's next point applied by the page within 1 s. Returns
# {pid, gate} or {error}.
CLICK_AND_FOLLOW = """async () => {
    const fs = window.forkscope;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const button = document.querySelector("[data-action='step']");
    let waiting = [];
    for (const until = performance.now() + 5000; performance.now() < until; await sleep(2)) {
        waiting = fs.model.live().filter((p) => p.gate);
        if (waiting.length === 1 && !button.disabled) break;
    }
    if (waiting.length !== 1 || button.disabled) {
        return { error: `not ready: ${waiting.map((p) => `${p.name}@${p.gate}`)}` };
    }
    const { pid, gate } = waiting[0];
    const after = fs.appliedSeq;
    button.click();
    for (const until = performance.now() + 1000; performance.now() < until; await sleep(2)) {
        const next = fs.sync.eventsList().find((e) => e.seq > after && e.pid === pid
            && (e.type === 'phase' || e.type === 'gate_wait'));
        if (next && fs.appliedAt.has(next.seq)) return { pid, gate };
    }
    return { error: `pid ${pid}: the click on Step did not release ${gate} within 1 s` };
}"""


def test_every_step_click_on_an_enabled_button_is_honoured(dashboard, live_app):
    """The bench's scenario (bench/stepping.py): a click made as soon as the
    page has applied the released process's next point — possibly before the
    previous step_next's answer came back — must release, not be dropped."""
    page, api = dashboard, live_app.api
    page.locator("[data-action='step']").click()          # run -> step mode
    expect(page.locator("body")).to_have_attribute("data-step-mode", "step")
    gates = []
    with socket.create_connection(live_app.echo_address, timeout=10) as sock:
        try:
            for _ in range(2 + 2 * 40):                   # accept, start, 40 x recv/send
                here = [w["gate"] for w in api.get("/api/step").json()["waiting"]]
                if here == ["recv"]:
                    sock.sendall(b"step probe")           # recv() has something to return
                result = page.evaluate(CLICK_AND_FOLLOW)
                assert "error" not in result, (len(gates), result)
                gates.append(result["gate"])
                if result["gate"] == "send":
                    got = b""
                    while len(got) < len(b"STEP PROBE"):
                        got += sock.recv(1024)
                    assert got == b"STEP PROBE"
        finally:
            api.post("/api/step", {"mode": "run"})
    assert gates == ["accept", "start"] + ["recv", "send"] * 40

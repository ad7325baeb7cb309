"""A lecture hall (issue 5): with a presenter token, a page opened at / is a
viewer's — it sees the lab live and has no control, and the server refuses its
actions — while the presenter URL /?token=... leaves the token out of the
address bar and gives the controls, and the viewer link shows a QR code."""

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import running
from tests.e2e.pages import node, nodes, wait_connected

pytestmark = pytest.mark.e2e

TOKEN = "t0k"


@pytest.fixture
def lecture():
    """A live app that needs the presenter token; REST calls here carry it."""
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        live.api.http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield live


# every data-action but the view actions, which change no process: the tree's
# fit button, the timeline's buttons and the past bar's "back to live"
LAB_ACTIONS = ("[data-action]:not([data-action='fit']):not(#timeline [data-action])"
               ":not([data-action='live'])")


def test_viewer_sees_everything_and_controls_nothing(lecture, page):
    page.goto(lecture.url + "/")
    wait_connected(page)
    expect(page.locator("body")).to_have_attribute("data-access", "viewer")
    expect(page.locator("#viewer-badge")).to_be_visible()
    # no control of the lab at all; fitting the tree is the viewer's own view
    expect(page.locator(f"{LAB_ACTIONS}:visible")).to_have_count(0)
    expect(page.locator("[data-action='fit']")).to_be_visible()
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "agree")

    client = lecture.api.spawn(1)[0]                   # the presenter acts (REST, token)
    expect(node(page, client)).to_have_count(1)
    expect(nodes(page, "worker")).to_have_count(1)
    lecture.api.send(client, "hi 你好")
    expect(page.locator(f"[data-reply-for='{client}']")).to_contain_text("HI 你好")
    expect(page.locator(f"input.message:visible, {LAB_ACTIONS}:visible")).to_have_count(0)
    node(page, client).click()                         # details, read-only
    expect(page.locator("#details")).to_have_attribute("data-pid", str(client))
    expect(page.locator("#details .os-truth")).to_have_attribute("data-status", "ok")
    expect(page.locator("#details .proc-actions")).to_be_hidden()

    ack = page.evaluate("window.forkscope.sync.call('spawn_client', {count: 1})")
    assert ack["ok"] is False and ack["code"] == "forbidden" and ack["status"] == 403, ack
    ack = page.evaluate(f"window.forkscope.sync.call('terminate', {{pid: {client}}})")
    assert ack["code"] == "forbidden", ack
    assert len(lecture.api.processes(role="client", state="running")) == 1


def test_presenter_url_drops_the_token_and_shows_the_viewer_link(lecture, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(lecture.url + f"/?token={TOKEN}&lang=en")
        wait_connected(page)
        assert page.url == lecture.url + "/?lang=en"          # the token left the address bar
        expect(page.locator("body")).to_have_attribute("data-access", "presenter")
        expect(page.locator("#viewer-badge")).to_be_hidden()
        expect(page.locator("[data-action='spawn-client'][data-count='1']")).to_be_visible()

        page.locator("[data-action='viewer-link']").click()
        dialog = page.locator("#viewer-dialog")
        expect(dialog).to_be_visible()
        viewer_url = lecture.url + "/"
        expect(dialog.locator("#viewer-url")).to_have_text(viewer_url)
        qr = dialog.locator(f"svg[data-qr='{viewer_url}']")
        expect(qr).to_be_visible()
        box = qr.bounding_box()
        assert box["width"] >= 300 and box["height"] >= 300, box   # scannable across a room
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        page.locator("[data-action='spawn-client'][data-count='1']").click()
        expect(page.locator("#results li").first).to_have_attribute("data-result", "ok")
        expect(nodes(page, "client")).to_have_count(1)
    finally:
        context.close()

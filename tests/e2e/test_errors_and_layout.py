"""Every action shows its result or its error, translated from the ack's code;
and the page fits a 1280×720 and a 1920×1080 projector without sideways scrolling."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.e2e.pages import assert_tree_matches, node, nodes, spawn_from_page

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ZH = json.loads((ROOT / "static" / "i18n" / "zh-CN.json").read_text("utf-8"))


@pytest.fixture
def settings():
    return Settings(port=0, echo_port=0, max_clients=2)


def test_errors_are_shown_translated(dashboard, live_app):
    page, api = dashboard, live_app.api
    spawn_from_page(page, 5)                        # over --max-clients: refused
    latest = page.locator("#results li").first
    expect(latest).to_have_attribute("data-result", "error")
    expect(latest).to_contain_text(ZH["error.max_clients"].split("{")[0])
    expect(latest).to_contain_text("max_clients")
    expect(nodes(page, "client")).to_have_count(0)

    client = api.spawn(1)[0]
    send = page.locator(f"[data-action='send-message'][data-pid='{client}']")
    send.click()                                    # an empty message: bad_input
    reply = page.locator(f"[data-reply-for='{client}']")
    expect(reply).to_contain_text("bad_input")
    expect(latest).to_have_attribute("data-result", "error")

    node(page, client).click()                      # join a running one without timeout
    expect(page.locator(f"[data-action='join'][data-pid='{client}']")).to_be_disabled()
    page.locator(f"[data-join-timeout-for='{client}']").fill("0.2")
    page.locator(f"[data-action='join'][data-pid='{client}']").click()
    expect(latest).to_have_attribute("data-result-action", "join")
    expect(latest).to_have_attribute("data-result", "ok")          # join(0.2) timed out:
    expect(node(page, client)).to_have_attribute("data-state", "running")  # still running
    assert_tree_matches(page, api)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_layout_fits_the_projector(live_app, page, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    live_app.api.spawn(2)
    page.goto(live_app.url)
    expect(nodes(page, "worker")).to_have_count(2)
    fits = page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth, width: window.innerWidth,
        bodyScroll: document.body.scrollWidth,
        base: parseFloat(getComputedStyle(document.documentElement).fontSize),
        tree: document.querySelector('#tree').getBoundingClientRect().width,
    })""")
    assert fits["scroll"] <= fits["width"] and fits["bodyScroll"] <= fits["width"], fits
    assert fits["base"] >= 18, fits
    assert fits["tree"] >= width * 0.55, fits      # the tree gets the larger share
    page.close()

"""Two languages: every data-i18n element is filled from the catalogue (never
empty, never a raw key), the switch changes the visible text, is remembered, and
?lang= picks the language too."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import node, nodes, open_dashboard, wait_connected

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def catalogue(lang):
    return json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))


def assert_all_translated(page, messages):
    rows = page.eval_on_selector_all(
        "[data-i18n]", "els => els.map(e => [e.dataset.i18n, e.textContent.trim()])")
    assert rows
    for key, text in rows:
        assert key in messages, f"data-i18n={key!r} is not in the catalogue"
        assert text, f"data-i18n={key!r} is empty"
        assert text != key, f"data-i18n={key!r} shows its raw key"
    for attr in ("placeholder", "title", "aria-label"):
        for key, text in page.eval_on_selector_all(
                f"[data-i18n-{attr}]",
                f"els => els.map(e => [e.dataset.i18n{attr.title().replace('-', '')}, "
                f"e.getAttribute('{attr}')])"):
            assert text and text != key, f"data-i18n-{attr}={key!r}"
    # No catalogue key leaks into the page's text anywhere (tree, panels, hidden tabs).
    body = page.evaluate("document.body.textContent")
    leaked = [k for k in messages
              if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.])", body)]
    assert not leaked, f"raw keys visible: {leaked}"


def fill_every_panel(page, api):
    """Make the page show something in each panel: a node, a reply, a log, a reaped process."""
    client = api.spawn(1)[0]
    expect(node(page, client)).to_have_count(1)
    api.send(client, "hello")
    api.post(f"/api/clients/{client}/close")
    expect(node(page, client)).to_have_attribute("data-state", "zombie")
    api.post(f"/api/processes/{client}/join", {})
    expect(node(page, client)).to_have_count(0)
    other = api.spawn(1)[0]
    page.locator(f"input[data-message-for='{other}']").fill("hi")
    page.locator(f"[data-action='send-message'][data-pid='{other}']").click()
    expect(page.locator(f"[data-reply-for='{other}']")).to_contain_text("HI")
    node(page, other).click()


def test_switching_language_changes_visible_text(dashboard, live_app):
    page = dashboard
    zh, en = catalogue("zh-CN"), catalogue("en")
    fill_every_panel(page, live_app.api)
    spawn = page.locator("[data-action='spawn-client'][data-count='1']")
    html = page.locator("html")

    expect(html).to_have_attribute("lang", "zh-CN")                 # the default
    expect(spawn).to_have_text(zh["action.spawn_1"])
    expect(nodes(page, "client").first).to_contain_text(zh["role.client"])
    for tab in ("log", "finished", "details"):
        page.locator(f"[role='tab'][data-tab='{tab}']").click()
    assert_all_translated(page, zh)

    page.locator("#lang-switch").click()
    expect(html).to_have_attribute("lang", "en")
    expect(spawn).to_have_text(en["action.spawn_1"])
    expect(nodes(page, "client").first).to_contain_text(en["role.client"])
    expect(page.locator("#connection")).to_have_text(en["conn.connected"])
    assert_all_translated(page, en)

    page.reload()                                                   # remembered
    wait_connected(page)
    expect(html).to_have_attribute("lang", "en")
    expect(spawn).to_have_text(en["action.spawn_1"])

    open_dashboard(page, live_app.url + "/?lang=zh-CN")             # the URL wins
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(spawn).to_have_text(zh["action.spawn_1"])
    assert_all_translated(page, zh)


@pytest.mark.parametrize(("locale", "lang", "key"), [
    ("en-US", "en", "app.subtitle"), ("zh-CN", "zh-CN", "app.subtitle"),
    ("zh-TW", "zh-CN", "app.subtitle"), ("fr-FR", "en", "app.subtitle")])
def test_the_browsers_language_picks_the_first_language(browser, live_app, locale, lang, key):
    """No ?lang= and nothing stored: the browser's own language (what it sends
    as Accept-Language) decides; Chinese of any kind gets zh-CN, others English."""
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        with page.expect_request(lambda r: r.url.rstrip("/") == live_app.url) as request:
            open_dashboard(page, live_app.url)
        assert request.value.headers["accept-language"].startswith(locale)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator(f"[data-i18n='{key}']")).to_have_text(catalogue(lang)[key])
    finally:
        context.close()


def test_the_url_and_a_stored_choice_outrank_the_browser(browser, live_app):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 720})
    html = None
    try:
        page = context.new_page()
        html = page.locator("html")
        open_dashboard(page, live_app.url + "/?lang=zh-CN")             # the URL wins
        expect(html).to_have_attribute("lang", "zh-CN")
        open_dashboard(page, live_app.url)                              # no URL: the browser
        expect(html).to_have_attribute("lang", "en")
        page.locator("#lang-switch").click()                            # the reader's choice
        expect(html).to_have_attribute("lang", "zh-CN")
        page.reload()
        wait_connected(page)
        expect(html).to_have_attribute("lang", "zh-CN")                 # is kept
    finally:
        context.close()

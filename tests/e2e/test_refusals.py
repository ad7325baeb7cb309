"""Refusals are visible (issue 5's caps): at --max-workers the server answers
"server busy" and closes — a notice, a log row, and the refused client shows
what the server said; an idle connection closed by its worker is logged too."""

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.e2e.pages import assert_tree_matches, open_tab

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings():
    return Settings(port=0, echo_port=0, max_workers=1, idle_timeout=1.0)


def test_server_busy_and_idle_timeout_are_shown(dashboard, live_app):
    page, api = dashboard, live_app.api
    api.spawn(2)                                    # one worker; the other is refused
    notice = page.locator("#notice[data-notice='refused']")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("server busy")
    said = page.locator(".client-conn[data-said='server busy']")
    expect(said).to_have_count(1)
    expect(said).to_contain_text("server busy")
    refused_pid = said.locator("xpath=ancestor::li[1]").get_attribute("data-pid")
    expect(page.locator(f"#tree g.node[data-pid='{refused_pid}'] text.l4")).to_contain_text("server busy")

    open_tab(page, "log")
    expect(page.locator("#log li[data-type='refused']")).to_have_count(1)
    expect(page.locator("#log li[data-type='refused']")).to_contain_text("server busy")
    # the served client's worker closes its idle connection after --idle-timeout (1 s)
    expect(page.locator("#log li[data-type='idle_timeout']")).to_have_count(1)
    assert_tree_matches(page, api)

"""The page served by a viewer relay (issue 15): the lab live, from the relay's
copy, and no control — even for a browser that brings the presenter's token."""

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from bench.relays import RedisServer, RelayProcess, redis_missing
from tests.conftest import running
from tests.e2e.pages import assert_tree_matches, node, nodes, wait_connected
from tests.helpers import Api

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(redis_missing() is not None, reason=str(redis_missing()))]

TOKEN = "t0k"
# as tests/e2e/test_viewers.py: the view's own buttons (fit, the timeline, back to live) change no process
LAB_ACTIONS = ("[data-action]:not([data-action='fit']):not(#timeline [data-action])"
               ":not([data-action='live'])")


@pytest.fixture
def relayed():
    """A dashboard (token required) feeding one relay through a private Redis."""
    with RedisServer() as redis, \
            running(Settings(port=0, echo_port=0, token=TOKEN, message_queue=redis.url)) as live:
        live.api.http.headers["Authorization"] = f"Bearer {TOKEN}"
        with RelayProcess(redis.url) as relay:
            yield live, relay


def test_a_relay_s_page_follows_the_lab_and_offers_no_control(relayed, page):
    live, relay = relayed
    page.goto(f"{relay.url}/?token={TOKEN}")           # the presenter's token, on a relay
    wait_connected(page)
    expect(page.locator("body")).to_have_attribute("data-access", "viewer")
    expect(page.locator(f"{LAB_ACTIONS}:visible")).to_have_count(0)

    client = live.api.spawn(1)[0]                      # the presenter acts on the dashboard
    expect(node(page, client)).to_have_count(1)
    expect(nodes(page, "worker")).to_have_count(1)
    live.api.send(client, "hi 你好")
    expect(page.locator(f"[data-reply-for='{client}']")).to_contain_text("HI 你好")
    assert_tree_matches(page, Api(relay.url))
    assert_tree_matches(page, live.api)

    ack = page.evaluate("window.forkscope.sync.call('spawn_client', {count: 1})")
    assert (ack["ok"], ack["status"], ack["code"]) == (False, 403, "forbidden"), ack
    assert len(live.api.processes(role="client")) == 1

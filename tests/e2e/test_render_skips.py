"""The page redraws only what changed (static/js/dom.js unchanged(): a client's
row, a reaped row, the tree when something a node shows changed), and never
leaves anything stale: whatever an event changes is redrawn in the same render,
and a new language redraws every row. The tree's SVG keeps the panel's size and
the tree is zoomed to fit in it (no scrolling): every process can still be
reached and clicked, through its group if it is folded."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import node, nodes

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def catalogue(lang):
    return json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))


def before_placeholder(template):
    """The fixed text of a catalogue message before its first {placeholder}."""
    return template.split("{")[0].strip()


def test_client_rows_and_reaped_rows_follow_their_inputs(dashboard, live_app):
    page, api = dashboard, live_app.api
    zh, en = catalogue("zh-CN"), catalogue("en")
    quiet, talker, leaver = api.spawn(3)
    for pid in (quiet, talker, leaver):
        expect(node(page, pid)).to_have_attribute("data-state", "running")
    row = {pid: page.locator(f"li.client-row[data-pid='{pid}']") for pid in (quiet, talker, leaver)}

    # A message changes one row; the others keep saying nothing was sent.
    api.send(talker, "hello")
    reply = page.locator(f"[data-reply-for='{talker}']")
    expect(reply).to_contain_text("HELLO")
    expect(reply.locator(".reply-label")).to_have_text(zh["reply.label"])
    expect(page.locator(f"[data-reply-for='{quiet}']")).to_have_class(re.compile(r"\bnone\b"))
    expect(page.locator(f"[data-reply-for='{quiet}'] .reply-text")).to_have_text(zh["reply.none"])

    # A second message to the same client: its row shows the new reply at once.
    api.send(talker, "again")
    expect(reply.locator(".reply-text")).to_have_text("AGAIN")

    # The server closes a client: its row shows the new state, its send is disabled.
    assert api.post(f"/api/clients/{leaver}/close").status_code == 200
    expect(node(page, leaver)).to_have_attribute("data-state", "zombie")
    expect(row[leaver].locator(".client-state")).to_have_text(zh["state.zombie"])
    expect(row[leaver].locator("[data-action='send-message']")).to_be_disabled()
    expect(row[quiet].locator("[data-action='send-message']")).to_be_enabled()

    # Reaped: it leaves the client list and the tree, and is listed as finished.
    assert api.post(f"/api/processes/{leaver}/join", {}).status_code == 200
    expect(node(page, leaver)).to_have_count(0)
    expect(row[leaver]).to_have_count(0)
    page.locator("[role='tab'][data-tab='finished']").click()
    finished = page.locator(f"#finished [data-finished-pid='{leaver}'] .finished-exit")
    expect(finished).to_contain_text(before_placeholder(zh["finished.exit"]))

    # A new language redraws every row, changed or not.
    page.locator("#lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(reply.locator(".reply-label")).to_have_text(en["reply.label"])
    expect(reply.locator(".reply-meta")).to_contain_text(before_placeholder(en["reply.meta"]))
    expect(page.locator(f"[data-reply-for='{quiet}'] .reply-text")).to_have_text(en["reply.none"])
    expect(row[quiet].locator("input.message")).to_have_attribute(
        "placeholder", en["action.message_placeholder"])
    expect(finished).to_contain_text(before_placeholder(en["finished.exit"]))
    expect(node(page, talker)).to_contain_text(en["role.client"])


def test_every_process_of_a_tree_taller_than_its_panel_can_be_reached(dashboard, live_app):
    page, api = dashboard, live_app.api
    clients = api.spawn(14)
    panel = page.locator("#tree")
    group = page.locator("#tree g.group[data-role='worker']")
    expect(group).to_have_count(1)                      # more rows than fit: folded
    assert panel.evaluate("el => el.scrollHeight <= el.clientHeight")   # no scrolling

    group.click()                                       # each worker, smaller
    expect(nodes(page, "worker").and_(page.locator("[data-state='running']"))).to_have_count(14)
    workers = [p["pid"] for p in api.processes(role="worker")]
    last = node(page, max(clients))
    last.click()
    expect(page.locator("#details")).to_have_attribute("data-pid", str(max(clients)))
    expect(last).to_have_class(re.compile(r"\bselected\b"))
    assert sorted(int(p) for p in nodes(page, "worker").evaluate_all(
        "els => els.map(e => e.dataset.pid)")) == sorted(workers)
    assert panel.evaluate("el => el.scrollTop") == 0

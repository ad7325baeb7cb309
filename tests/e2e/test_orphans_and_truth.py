"""Orphans and the OS's own view, in the page (issue 4): a killed server's
workers move under the dashboard and are reaped from the page; the truth badge
and the details' /proc section show what the operating system says."""

import json
import os
import re
import signal

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import (
    SLOW,
    assert_tree_matches,
    finished_item,
    node,
    nodes,
    open_dashboard,
    open_tab,
    spawn_from_page,
)
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def test_orphans_move_under_the_dashboard_and_are_reaped_from_the_page(dashboard, live_app):
    page, api = dashboard, live_app.api
    spawn_from_page(page, 1)
    spawn_from_page(page, 1)
    expect(nodes(page, "worker")).to_have_count(2)
    assert_tree_matches(page, api)

    server = api.processes(role="server", state="running")[0]["pid"]
    os.kill(server, signal.SIGKILL)
    orphans = page.locator("#tree g.node[data-role='worker'][data-orphan='true']")
    expect(orphans).to_have_count(2, timeout=SLOW)      # adopted on the next /proc scan
    dashboard_pid = page.locator("#tree g.node[data-role='dashboard']").get_attribute("data-pid")
    for i in range(2):
        expect(orphans.nth(i)).to_have_attribute("data-ppid", dashboard_pid)
        expect(orphans.nth(i)).to_have_attribute("data-state", "running")
    assert_tree_matches(page, api)

    worker = int(orphans.first.get_attribute("data-pid"))
    node(page, worker).click()
    explain = page.locator("#details .explain")
    expect(explain.locator("[data-explain='orphan']")).to_contain_text(f"os.waitpid({worker}, 0)")
    expect(explain.locator("[data-explain='orphan']")).to_contain_text(str(server))  # old parent

    page.locator(f"[data-action='terminate'][data-pid='{worker}']").click()
    expect(node(page, worker)).to_have_attribute("data-state", "zombie")
    # Who can reap this zombie: the dashboard (subreaper), by pid.
    expect(explain.locator("[data-explain='zombie-orphan']")).to_contain_text(f"os.waitpid({worker}, 0)")
    expect(node(page, worker).locator("title")).to_contain_text(f"os.waitpid({worker}, 0)")
    assert_tree_matches(page, api)

    page.locator(f"[data-action='join'][data-pid='{worker}']").click()
    expect(node(page, worker)).to_have_count(0)
    open_tab(page, "finished")
    expect(finished_item(page, worker)).to_have_attribute("data-reaped-how", "join")
    expect(finished_item(page, worker)).to_contain_text(f"os.waitpid({worker}, 0)")
    expect(finished_item(page, worker)).to_contain_text("subreaper")
    assert_tree_matches(page, api)


def test_truth_badge_and_what_proc_says_of_a_worker(dashboard, live_app):
    page, api = dashboard, live_app.api
    client = api.spawn(1)[0]
    # the worker is paired with its client once both have reported their addresses
    worker = wait_until(lambda: api.process(client)["worker_pid"], timeout=10,
                        message="the client's worker")
    server = api.processes(role="server", state="running")[0]["pid"]
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "agree")
    expect(page.locator("#truth-banner")).to_be_hidden()

    node(page, worker).click()
    section = page.locator("#details .os-truth")
    expect(section).to_have_attribute("data-truth-pid", str(worker))
    expect(section).to_have_attribute("data-status", "ok")
    expect(section).to_have_attribute("data-letter", re.compile(r"^[RS]$"))
    expect(section.locator("[data-os-fact='ppid']")).to_contain_text(str(server))
    expect(section.locator("[data-os-fact='uss']")).to_contain_text("MB")
    # Its own connection only: the clean fork released the server's listening socket.
    expect(section.locator("li[data-fd]")).to_have_count(1)
    expect(section.locator("li[data-listening='true']")).to_have_count(0)
    expect(section.locator("[data-note='worker-no-listener-fork']")).to_be_visible()
    start = page.locator("#details .start-info")
    expect(start).to_have_attribute("data-start-method", "fork")
    expect(start.locator(".source")).to_have_attribute("data-source", "talk,make_worker")
    start.locator(".source summary").click()
    expect(start.locator(".source-code")).to_contain_text("def talk(conn, addr")

    api.post(f"/api/processes/{worker}/terminate")   # a change of this process: read /proc again
    expect(section).to_have_attribute("data-letter", "Z")
    expect(section.locator("[data-note='zombie']")).to_be_visible()

    node(page, server).click()
    expect(section).to_have_attribute("data-truth-pid", str(server))
    expect(section.locator("li[data-listening='true']")).to_have_count(1)
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "agree")


def test_a_difference_is_shown_only_when_two_checks_agree(dashboard, live_app):
    page = dashboard
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "agree")
    # The OS and the model disagree (faked: the real ones never do in these tests).
    difference = {"pid": 4242, "uid": "server-1/worker-9", "field": "ppid", "model": 1, "os": 2}

    def fake(route):
        response = route.fetch()
        body = response.json()
        body["differences"] = [difference]
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/truth?detail=0", fake)
    page.evaluate("window.forkscope.truthMonitor.poke()")
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "checking")
    banner = page.locator("#truth-banner")
    expect(banner).to_be_hidden()
    # The second check, at most 2 s later, confirms it: now the banner is loud.
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "differ", timeout=10_000)
    expect(banner).to_be_visible()
    expect(banner.locator("li[data-diff-pid='4242'][data-diff-field='ppid']")).to_contain_text("4242")
    page.unroute("**/api/truth?detail=0")
    page.evaluate("window.forkscope.truthMonitor.poke()")
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "agree", timeout=10_000)
    expect(banner).to_be_hidden()

    # ?truth=off: no polling at all (a latency benchmark does not want the /proc walks)
    checks = []
    page.on("request", lambda r: checks.append(r.url) if "/api/truth?detail=0" in r.url else None)
    open_dashboard(page, live_app.url + "/?truth=off")
    expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "off")
    client = live_app.api.spawn(1)[0]                   # changes that would trigger a check
    expect(node(page, client)).to_have_count(1)
    assert checks == [], checks

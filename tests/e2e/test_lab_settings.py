"""Lab settings from the page (issue 4): the start method and daemon workers
change how the server makes its workers — the page shows a forkserver worker
under its real parent, daemon workers reaped by multiprocessing's exit handler,
and multiprocessing's own refusal to let a daemon have children."""

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import (
    SLOW,
    assert_tree_matches,
    finished_item,
    nodes,
    open_tab,
    spawn_from_page,
)

pytestmark = pytest.mark.e2e


def apply_lab(page, start_method=None, daemon_workers=None):
    """Open the lab settings, choose, apply; wait for the restarted server."""
    page.locator("[data-action='open-lab']").click()
    dialog = page.locator("#lab-dialog")
    expect(dialog).to_be_visible()
    if start_method:
        dialog.locator(f"input[name='start_method'][value='{start_method}']").check()
    if daemon_workers is not None:
        dialog.locator("input[name='daemon_workers']").set_checked(daemon_workers)
    expect(page.locator("#lab-warning")).to_be_visible()      # said before the click
    page.locator("[data-action='apply-lab']").click()
    expect(page.locator("#lab-result")).to_have_attribute("data-result", "ok", timeout=SLOW)
    page.locator("[data-action='close-lab']").click()
    expect(dialog).to_be_hidden()


def test_forkserver_daemon_workers_and_the_daemon_demo(dashboard, live_app):
    page, api = dashboard, live_app.api
    summary = page.locator("#lab-summary")
    expect(summary).to_have_attribute("data-start-method", "fork")

    # forkserver: the worker's parent is the forkserver, not the server
    apply_lab(page, start_method="forkserver")
    expect(summary).to_have_attribute("data-start-method", "forkserver")
    assert api.get("/api/lab").json()["start_method"] == "forkserver"
    spawn_from_page(page, 1)
    worker = nodes(page, "worker")
    expect(worker).to_have_count(1, timeout=SLOW)
    forkserver = api.processes(role="helper", name="forkserver", state="running")[0]
    server = api.processes(role="server", state="running")[0]
    assert forkserver["ppid"] == server["pid"]
    expect(worker).to_have_attribute("data-ppid", str(forkserver["pid"]))
    expect(worker).to_have_attribute("data-start-method", "forkserver")
    worker.click()
    expect(page.locator("#details [data-explain='forkserver']")).to_contain_text(str(forkserver["pid"]))
    assert_tree_matches(page, api)

    # daemon workers (fork again): a normal server exit ends them — no join() clicked
    apply_lab(page, start_method="fork", daemon_workers=True)
    expect(summary).to_have_attribute("data-daemon-workers", "true")
    api.spawn(2)
    daemons = page.locator("#tree g.node[data-role='worker'][data-daemon='true'][data-state='running']")
    expect(daemons).to_have_count(2)
    pids = [daemons.nth(i).get_attribute("data-pid") for i in range(2)]
    page.locator("[data-action='restart-server']").click()
    expect(page.locator("[data-result-action='restart-server']").first) \
        .to_have_attribute("data-result", "ok", timeout=SLOW)
    open_tab(page, "finished")
    for pid in pids:
        item = finished_item(page, pid)
        expect(item).to_have_attribute("data-reaped-how", "implicit")
        expect(item).to_contain_text("util._exit_function()")
    finished_item(page, pids[0]).click()
    expect(page.locator("#details [data-explain='reaped-daemon_exit']")).to_contain_text("terminate()")
    assert_tree_matches(page, api)

    # the daemon demo: multiprocessing's own message
    page.locator("[data-action='open-lab']").click()
    page.locator("[data-action='daemon-demo']").click()
    demo = page.locator("#demo-result")
    expect(demo).to_have_attribute("data-result", "ok", timeout=SLOW)
    expect(demo).to_contain_text("daemonic processes are not allowed to have children")

"""The issue's acceptance scenarios, driven through the page in a real browser
against the real app; after each step the tree in the page must equal /api/state."""

import os
import signal
import socket

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import (
    assert_tree_matches,
    node,
    nodes,
    spawn_from_page,
    wait_connected,
)

pytestmark = pytest.mark.e2e


def test_spawn_send_terminate_join(dashboard, live_app):
    page, api = dashboard, live_app.api
    assert_tree_matches(page, api)

    for _ in range(3):
        spawn_from_page(page, 1)
    expect(nodes(page, "client")).to_have_count(3)
    expect(nodes(page, "worker")).to_have_count(3)
    expect(page.locator("[data-result='ok'][data-result-action='spawn-client']")).to_have_count(3)
    assert_tree_matches(page, api)

    client = int(nodes(page, "client").first.get_attribute("data-pid"))
    page.locator(f"input[data-message-for='{client}']").fill("hello 你好")
    page.locator(f"[data-action='send-message'][data-pid='{client}']").click()
    reply = page.locator(f"[data-reply-for='{client}']")
    expect(reply).to_contain_text("HELLO 你好")
    worker = api.process(client)["worker_pid"]
    expect(reply).to_contain_text(str(worker))          # which worker served it
    expect(page.locator(f"path.tcp[data-client-pid='{client}'][data-worker-pid='{worker}']")) \
        .to_have_count(1)
    assert_tree_matches(page, api)

    node(page, worker).click()
    terminate = page.locator(f"[data-action='terminate'][data-pid='{worker}']")
    join = page.locator(f"[data-action='join'][data-pid='{worker}']")
    expect(join).to_be_disabled()          # running, no timeout: join() would block
    terminate.click()
    expect(node(page, worker)).to_have_attribute("data-state", "zombie")
    expect(node(page, worker)).to_contain_text("-15")
    expect(terminate).to_be_disabled()     # a zombie cannot be signalled
    expect(page.locator(f"[data-action='kill'][data-pid='{worker}']")).to_be_disabled()
    assert_tree_matches(page, api)

    expect(join).to_be_enabled()
    join.click()
    expect(node(page, worker)).to_have_count(0)
    page.locator("[role='tab'][data-tab='finished']").click()
    finished = page.locator(f"#finished [data-finished-pid='{worker}']")
    expect(finished).to_have_attribute("data-exitcode", "-15")
    expect(finished).to_have_attribute("data-reaped-how", "join")
    expect(finished).to_contain_text("SIGTERM")
    expect(finished).to_contain_text(".join()")
    assert_tree_matches(page, api)


def test_server_killed_then_restarted_then_reload(dashboard, live_app):
    page, api = dashboard, live_app.api
    api.spawn(2)
    expect(nodes(page, "worker")).to_have_count(2)
    assert_tree_matches(page, api)

    server = api.processes(role="server", state="running")[0]["pid"]
    os.kill(server, signal.SIGKILL)                  # from outside the lab
    expect(node(page, server)).to_have_attribute("data-state", "zombie")
    expect(node(page, server)).to_contain_text("-9")
    # Its workers live on: orphans, adopted by the dashboard (the lab's subreaper).
    orphans = page.locator("#tree g.node[data-role='worker'][data-orphan='true']")
    expect(orphans).to_have_count(2)
    dashboard_pid = page.locator("#tree g.node[data-role='dashboard']").get_attribute("data-pid")
    for i in range(2):
        expect(orphans.nth(i)).to_have_attribute("data-ppid", dashboard_pid)
    assert_tree_matches(page, api)

    page.locator("[data-action='restart-server']").click()
    expect(page.locator("[data-result-action='restart-server']").first) \
        .to_have_attribute("data-result", "ok")
    new_server = page.locator("#tree g.node[data-role='server'][data-state='running']")
    expect(new_server).to_have_count(1)
    assert new_server.get_attribute("data-pid") != str(server)
    expect(node(page, server)).to_have_count(0)      # the old one was joined by the restart
    before = assert_tree_matches(page, api)

    page.reload()
    wait_connected(page)
    after = assert_tree_matches(page, api)
    assert after == before, "the reloaded page shows another tree"


def test_external_connection_is_a_worker_without_client(dashboard, live_app):
    page = dashboard
    host, port = live_app.echo_address
    with socket.create_connection((host, port), timeout=5) as conn:
        local_port = conn.getsockname()[1]
        worker = nodes(page, "worker")
        expect(worker).to_have_count(1)
        expect(worker).to_contain_text(str(local_port))   # its peer address
        expect(page.locator("path.tcp")).to_have_count(0)  # no client on the other end
        conn.sendall(b"hi")
        assert conn.recv(16) == b"HI"
    expect(worker).to_have_attribute("data-state", "zombie")  # exited, not reaped yet
    assert_tree_matches(page, live_app.api)


def test_gap_in_seq_triggers_resync(dashboard, live_app):
    page, api = dashboard, live_app.api
    api.spawn(1)
    assert_tree_matches(page, api)
    # An event from the future: the page must notice the gap and refetch the state.
    page.evaluate("""() => {
        const s = window.forkscope.sync;
        s.receive([{seq: s.appliedSeq + 5, type: "served", pid: 1, by: 1, t: Date.now() / 1000}]);
    }""")
    page.wait_for_function("() => window.forkscope.sync.resyncCount >= 1")
    seq = api.state()["seq"]
    page.wait_for_function("(seq) => window.forkscope.appliedSeq >= seq", arg=seq)
    assert_tree_matches(page, api)
    applied_at = page.evaluate("[...window.forkscope.appliedAt.keys()].length")
    assert 0 < applied_at <= 2000


def test_reconnects_by_itself(dashboard, live_app):
    page, api = dashboard, live_app.api
    page.evaluate("window.forkscope.sync.socket.io.engine.close()")
    expect(page.locator("[data-connection='connected']")).to_be_visible()
    api.spawn(1)                                     # events after the reconnect arrive
    expect(nodes(page, "client")).to_have_count(1)
    assert_tree_matches(page, api)


def test_implicit_reap_is_explained(dashboard, live_app):
    page, api = dashboard, live_app.api
    first = api.spawn(1)[0]
    api.post(f"/api/clients/{first}/close")            # exits 0: a zombie, not joined
    expect(node(page, first)).to_have_attribute("data-state", "zombie")
    second = api.spawn(1)[0]                             # start() reaps finished siblings
    expect(node(page, first)).to_have_count(0)
    page.locator("[role='tab'][data-tab='finished']").click()
    finished = page.locator(f"#finished [data-finished-pid='{first}']")
    expect(finished).to_have_attribute("data-reaped-how", "implicit")
    name = api.process(second)["name"]
    expect(finished).to_contain_text(f"{name}.start()")  # the call that reaped it
    finished.click()                                     # its details: what the code did
    expect(page.locator("#details .code-lines")).to_contain_text("c.close()")
    expect(page.locator("#details .code-lines")).to_contain_text(f"{name}.start()")
    assert_tree_matches(page, api)

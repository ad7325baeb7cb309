"""Reading the dashboard page the way the testability contract allows
(docs/api.md, "The page's testability contract"), and comparing it with the API."""

from playwright.sync_api import Page, expect

from tests.helpers import wait_until

TREE_NODES = "#tree g.node[data-pid]"


def open_dashboard(page: Page, url: str):
    page.goto(url)
    wait_connected(page)


def wait_connected(page: Page):
    """Connected, and the snapshot applied."""
    expect(page.locator("[data-connection='connected']")).to_be_visible(timeout=15_000)
    # a function, not an expression: polling an expression is an eval, which the
    # page's CSP (script-src 'self') refuses whenever the first check is false
    page.wait_for_function("() => window.forkscope && window.forkscope.appliedSeq > 0")


def node(page: Page, pid):
    return page.locator(f"#tree g.node[data-pid='{pid}']")


def nodes(page: Page, role):
    return page.locator(f"#tree g.node[data-role='{role}']")


def tree_in_page(page: Page):
    """{(pid, ppid, state)} of every process node in the tree."""
    rows = page.eval_on_selector_all(
        TREE_NODES, "els => els.map(e => [e.dataset.pid, e.dataset.ppid, e.dataset.state])")
    return {tuple(row) for row in rows}


def tree_in_api(api):
    """{(pid, ppid, state)} of every process /api/state lists as not joined."""
    def text(value):
        return "" if value is None else str(value)
    return {(text(p["pid"]), text(p["ppid"]), p["state"])
            for p in api.state()["processes"] if p["state"] != "joined"}


def assert_tree_matches(page: Page, api, timeout=10.0):
    """The tree in the page shows exactly the processes /api/state has (both are
    read again until they agree: events may still be on their way)."""
    seen = {}

    def agree():
        seen["page"], seen["api"] = tree_in_page(page), tree_in_api(api)
        return seen["page"] == seen["api"]

    try:
        wait_until(agree, timeout=timeout, message="the page's tree to equal /api/state")
    except AssertionError:
        raise AssertionError(f"tree differs from /api/state:\n only in page: "
                             f"{seen['page'] - seen['api']}\n only in API: "
                             f"{seen['api'] - seen['page']}") from None
    return seen["page"]


def spawn_from_page(page: Page, count_button=1):
    page.locator(f"[data-action='spawn-client'][data-count='{count_button}']").click()


# Restarting the echo server (lab settings, restart) or starting a forkserver
# takes a second or two on a busy 2-core machine: wait on those a while longer.
SLOW = 15_000


def open_tab(page: Page, name):
    """Show the details / finished / log tab."""
    page.locator(f"[role='tab'][data-tab='{name}']").click()


def finished_item(page: Page, pid):
    return page.locator(f"#finished [data-finished-pid='{pid}']")

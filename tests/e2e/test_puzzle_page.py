"""The puzzle tab (static/js/puzzle.js): a fork-tree puzzle started from the
page and stepped through with its buttons; each step's tree is the one /proc
has — the live tree's nodes carry the puzzle's names beside their real pids,
and the ASCII tree is /proc's."""

import psutil
import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import running
from tests.e2e.pages import assert_tree_matches, open_dashboard
from tests.helpers import Api

pytestmark = pytest.mark.e2e

ACTIONS = "a+b,b+c,c+d,c+e,c-"


def puzzle_nodes(page):
    """{name: (pid, ppid)} of the puzzle's nodes in the live tree."""
    rows = page.eval_on_selector_all(
        "#tree g.node[data-puzzle-name][data-pid]",
        "els => els.map(e => [e.dataset.puzzleName, e.dataset.pid, e.dataset.ppid,"
        " e.textContent])")
    return {name: (int(pid), int(ppid), text) for name, pid, ppid, text in rows}


def proc_tree(tree):
    """The same {name: (pid, ppid)}, read from /proc."""
    return {name: (pid, psutil.Process(pid).ppid()) for name, (pid, _ppid, _t) in tree.items()}


def test_a_puzzle_from_the_page_step_by_step_is_procs_tree(dashboard, live_app):
    page, api = dashboard, live_app.api
    page.locator("#tab-puzzle").click()
    form = page.locator("#puzzle-form")
    form.locator("input[name='actions']").fill(ACTIONS)
    form.locator("input[name='reparent'][value='root']").check()
    page.locator("[data-action='puzzle-start']").click()
    panel = page.locator("#puzzle")
    expect(panel).to_have_attribute("data-puzzle", "running")
    expect(page.locator("#puzzle-actions li")).to_have_count(5)
    primary = page.locator("[data-action='puzzle-primary']")

    for i, action in enumerate(ACTIONS.split(",")):
        # the question: this action is the current one, candidates to vote on
        expect(panel).to_have_attribute("data-phase", "question")
        current = page.locator("#puzzle-actions li[data-step-state='current']")
        expect(current).to_have_text(action)
        expect(current).to_have_attribute("data-step", str(i))
        candidates = page.locator("#puzzle-candidates li")
        assert candidates.count() >= 2
        expect(page.locator("#puzzle-candidates li[data-answer]")).to_have_count(0)
        expect(primary).to_have_attribute("data-event", "puzzle_next")
        if action == "c-":   # ask the room: the candidates become a poll (app/web/polls.py)
            page.locator("[data-action='puzzle-ask']").click()
            expect(page.locator("#poll-card")).to_have_attribute("data-poll-state", "open")
            expect(page.locator("#poll-card li[data-choice]")).to_have_count(candidates.count())
            expect(page.locator("[data-action='puzzle-ask']")).to_be_hidden()
        primary.click()
        # the answer: the step ran; the right candidate is /proc's tree
        expect(panel).to_have_attribute("data-phase", "answer")
        expect(page.locator(f"#puzzle-actions li[data-step='{i}']")).to_have_attribute(
            "data-step-state", "done")
        state = api.get("/api/puzzles").json()["puzzle"]
        right = page.locator("#puzzle-candidates li[data-answer='right'] pre")
        expect(right).to_have_count(1)
        expect(right).to_have_text(state["tree_text"])
        expect(page.locator("pre[data-tree='now']")).to_have_text(state["tree_text"])
        expect(page.locator(".puzzle-match")).to_have_attribute("data-match", "true")
        if action == "c-":   # the step settled the vote: the choice /proc proves
            expect(page.locator("#poll-card")).to_have_attribute("data-poll-state", "revealed")
            expect(page.locator("#poll-card li[data-answer] pre")).to_have_text(
                state["tree_text"])
        # the live tree: every puzzle process a node, its name beside its real pid
        names = {p["name"] for p in state["tree"]}
        page.wait_for_function(
            "n => document.querySelectorAll('#tree g.node[data-puzzle-name][data-pid]').length"
            " === n", arg=len(names))
        tree = puzzle_nodes(page)
        assert set(tree) == names
        assert {n: (pid, ppid) for n, (pid, ppid, _t) in tree.items()} == proc_tree(tree)
        for name, (pid, _ppid, text) in tree.items():
            assert f"{name}" in text and str(pid) in text, (name, text)
        if i < 4:
            expect(primary).to_have_attribute("data-event", "puzzle_reveal")
            primary.click()

    # c exited: d and e are a's now, in /proc and on the page
    tree = puzzle_nodes(page)
    assert tree["d"][1] == tree["e"][1] == tree["a"][0] == psutil.Process(tree["d"][0]).ppid()
    expect(page.locator("#tree g.node[data-puzzle-name='d']")).to_have_attribute(
        "data-orphan", "true")
    expect(primary).to_be_hidden()                      # finished: nothing to run
    assert_tree_matches(page, api)

    pids = [pid for pid, _ppid, _t in tree.values()]
    page.locator("[data-action='puzzle-end']").click()
    expect(panel).to_have_attribute("data-puzzle", "none")
    expect(page.locator("#tree g.node[data-puzzle-name][data-pid]")).to_have_count(0)
    assert [pid for pid in pids if psutil.pid_exists(pid)] == []


def test_a_viewer_follows_the_puzzle_without_controls(page):
    with running(Settings(port=0, echo_port=0, token="t0ken")) as live:
        presenter = Api(live.url)
        presenter.http.headers["Authorization"] = "Bearer t0ken"
        open_dashboard(page, f"{live.url}/?lang=en")
        expect(page.locator("body")).to_have_attribute("data-access", "viewer")
        page.locator("#tab-puzzle").click()
        expect(page.locator(".puzzle-none")).to_be_visible()
        r = presenter.post("/api/puzzles", {"actions": "a+b,b-", "ask": "action"})
        assert r.status_code == 201
        panel = page.locator("#puzzle")
        expect(panel).to_have_attribute("data-puzzle", "running")   # the broadcast came
        expect(panel).to_have_attribute("data-ask", "action")
        expect(page.locator("#puzzle-form")).to_be_hidden()
        expect(page.locator("[data-action='puzzle-primary']")).to_be_hidden()
        # fork.py -t: the actions are hidden until each is revealed
        expect(page.locator("#puzzle-actions li").first).to_have_text("?")
        puzzle_id = r.json()["id"]
        presenter.post(f"/api/puzzles/{puzzle_id}/next")
        expect(page.locator("pre[data-tree='before']")).to_have_text("a")
        expect(page.locator("pre[data-tree='now']")).to_have_text("a\n└── b")
        expect(page.locator("#puzzle-actions li").first).to_have_text("?")
        presenter.post(f"/api/puzzles/{puzzle_id}/reveal")
        expect(page.locator("#puzzle-actions li").first).to_have_text("a+b")
        expect(page.locator("#puzzle-candidates li[data-answer='right']")).to_contain_text(
            "a forks b")
        presenter.http.delete(f"{live.url}/api/puzzles/{puzzle_id}")
        expect(panel).to_have_attribute("data-puzzle", "none")
        page.close()


def test_presenter_view_gives_a_running_puzzle_the_right_of_the_screen(page, live_app):
    api = live_app.api
    open_dashboard(page, f"{live_app.url}/?view=present")
    expect(page.locator("#puzzle-present")).to_be_hidden()        # no puzzle: the tree's
    puzzle = api.post("/api/puzzles", {"actions": "a+b,b+c"}).json()
    aside = page.locator("#puzzle-present")
    expect(aside.locator("#puzzle")).to_have_attribute("data-puzzle", "running")
    expect(aside).to_be_visible()
    box, tree = aside.bounding_box(), page.locator("#tree").bounding_box()
    assert box["x"] >= tree["x"] + tree["width"] - 1            # beside the tree, not over it
    aside.locator("[data-action='puzzle-primary']").click()
    expect(aside.locator("#puzzle-actions li[data-step='0']")).to_have_attribute(
        "data-step-state", "done")
    api.http.delete(f"{live_app.url}/api/puzzles/{puzzle['id']}")
    expect(aside).to_be_hidden()

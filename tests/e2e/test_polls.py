"""Predict, then reveal (issue 13): the presenter's page asks the room, a
student's phone votes, the presenter sees the count, closes, runs the action
and reveals; the phone sees its prediction beside what happened. In both
languages, through the page's contract attributes (docs/api.md)."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import running
from tests.e2e.pages import wait_connected
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t0k"
TREE = "dashboard\n├─ server-1 ✗\n├─ worker-1\n└─ worker-2"


def catalogue(lang):
    return json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))


@pytest.fixture
def lecture():
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        live.api.http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield live


def open_page(browser, url, lang, phone=False, query=""):
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 720}
    context = browser.new_context(viewport=size, locale=lang, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.goto(f"{url}/?lang={lang}{query}")
    wait_connected(page)
    return context, page


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_predict_vote_close_reveal(lecture, browser, lang):
    words = catalogue(lang)
    lecture.api.spawn(2)
    contexts = []
    try:
        ctx, teacher = open_page(browser, lecture.url, lang, query=f"&token={TOKEN}")
        contexts.append(ctx)
        ctx, phone = open_page(browser, lecture.url, lang, phone=True)
        contexts.append(ctx)
        expect(phone.locator("body")).to_have_attribute("data-view", "phone")
        expect(phone.locator("body")).to_have_attribute("data-access", "viewer")
        expect(phone.locator("#poll-card")).to_be_hidden()
        expect(phone.locator("[data-action='poll-form']")).to_be_hidden()

        # the presenter asks the room
        teacher.locator(".actions-card [data-action='poll-form']").click()
        form = teacher.locator("#poll-form")
        expect(form).to_be_visible()
        expect(form.locator("[name='choice']")).to_have_count(3)
        form.locator("[name='question']").fill("server-1 will be killed: its workers?")
        choices = form.locator("[name='choice']")
        choices.nth(0).fill("they die with it")
        choices.nth(1).fill(TREE)
        choices.nth(2).fill("zombies")
        form.locator("[data-action='ask']").click()
        expect(teacher.locator("#poll-dialog")).to_be_hidden()
        card = teacher.locator("#poll-card")
        expect(card).to_have_attribute("data-poll-state", "open")
        expect(card.locator("[data-count]")).to_have_count(3)   # the presenter's bars, at 0

        # the phone: the question first, above the tree; large buttons; no counts
        pcard = phone.locator("#poll-card")
        expect(pcard).to_have_attribute("data-poll-state", "open")
        assert pcard.bounding_box()["y"] < phone.locator(".tree-panel").bounding_box()["y"]
        votes = pcard.locator("[data-action='vote']")
        expect(votes).to_have_count(3)
        for i in range(3):
            box = votes.nth(i).bounding_box()
            assert box["height"] >= 44 and box["width"] >= 300, box
        expect(pcard.locator("[data-choice='1'] pre.poll-tree")).to_have_text(TREE)
        expect(pcard.locator("[data-count]")).to_have_count(0)   # not before close
        votes.nth(2).tap()
        expect(pcard.locator("li[data-choice='2'][data-mine]")).to_be_visible()
        votes.nth(1).tap()                                      # changes its mind
        expect(pcard.locator("li[data-choice='1'][data-mine]")).to_be_visible()
        expect(pcard.locator("li[data-mine]")).to_have_count(1)
        expect(pcard.locator("#poll-status")).to_have_text(
            words["poll.received"].replace("{choice}", "B"))
        expect(votes.nth(1)).to_have_attribute("aria-pressed", "true")

        # the presenter sees the count live; the phone still does not
        expect(card.locator("li[data-choice='1'] [data-count]")).to_have_attribute("data-count", "1")
        expect(card.locator("li[data-choice='2'] [data-count]")).to_have_attribute("data-count", "0")
        expect(card.locator(".poll-voters")).to_have_text(words["poll.voters"].replace("{n}", "1"))
        expect(pcard.locator("[data-count]")).to_have_count(0)

        card.locator("[data-action='close-poll']").click()
        expect(pcard).to_have_attribute("data-poll-state", "closed")
        expect(pcard.locator("li[data-choice='1'] [data-count]")).to_have_attribute("data-count", "1")
        expect(pcard.locator("[data-action='vote']")).to_have_count(0)
        late = phone.evaluate("() => window.forkscope.sync.call('vote', "
                              f"{{poll: {card.get_attribute('data-poll-id')}, choice: 0}})")
        assert (late["ok"], late["status"], late["code"]) == (False, 409, "poll_closed")

        # the action: the server killed, its workers orphaned (the model, /proc)
        server = lecture.api.processes(role="server", state="running")[0]
        lecture.api.post(f"/api/processes/{server['pid']}/kill")
        wait_until(lambda: len(lecture.api.processes(role="worker", orphaned=True)) == 2,
                   message="both workers orphaned")
        expect(teacher.locator("#tree g.node[data-role='worker'][data-orphan='true']")
               ).to_have_count(2)

        card.locator("li[data-choice='1'] [data-action='reveal-poll']").click()
        expect(card).to_have_attribute("data-poll-state", "revealed")
        expect(card.locator("li[data-answer]")).to_have_attribute("data-choice", "1")
        expect(card.locator(".poll-outcome")).to_have_text(
            words["poll.predicted"].replace("{n}", "1").replace("{total}", "1")
            .replace("{percent}", "100"))
        # the prediction beside the real tree, at 1280×720: both in view, side by side
        tree_box = teacher.locator("#tree").bounding_box()
        card_box = card.bounding_box()
        assert tree_box["width"] > 600 and card_box["x"] >= tree_box["x"] + tree_box["width"] - 2
        expect(pcard).to_have_attribute("data-poll-state", "revealed")
        expect(pcard.locator("li[data-choice='1'][data-answer][data-mine]")).to_be_visible()
        expect(pcard.locator("#poll-status")).to_have_attribute("data-status", "right")
        expect(pcard.locator("#poll-status")).to_have_text(
            words["poll.right"].replace("{choice}", "B"))

        # the log names the poll events in the page's language
        events = [e for e in lecture.api.events() if e["type"].startswith("poll_")]
        assert [e["type"] for e in events] == ["poll_opened", "poll_closed", "poll_revealed"]
        teacher.locator("[role='tab'][data-tab='log']").click()
        expect(teacher.locator("#log li[data-type='poll_revealed'] .ev-type")).to_have_text(
            words["event.poll_revealed"])
    finally:
        for context in contexts:
            context.close()


def test_a_reload_keeps_the_vote_and_the_viewer_cannot_ask(lecture, browser):
    """The page's voter id outlives a reload (localStorage): the vote is still
    its own, highlighted, and a vote again is a change, not a second vote."""
    poll = lecture.api.post("/api/polls", {"question": "q?", "choices": ["a", "b"]}).json()["id"]
    context, phone = open_page(browser, lecture.url, "en", phone=True)
    try:
        phone.locator("[data-action='vote'][data-choice='0']").tap()
        expect(phone.locator("li[data-choice='0'][data-mine]")).to_be_visible()
        phone.reload()
        wait_connected(phone)
        expect(phone.locator("li[data-choice='0'][data-mine]")).to_be_visible()
        phone.locator("[data-action='vote'][data-choice='1']").tap()
        expect(phone.locator("li[data-choice='1'][data-mine]")).to_be_visible()
        wait_until(lambda: lecture.api.get(f"/api/polls/{poll}").json()["counts"] == [0, 1],
                   message="one vote, changed")
        ack = phone.evaluate("() => window.forkscope.sync.call('ask_poll', "
                             "{question: 'mine?', choices: ['x', 'y']})")
        assert (ack["ok"], ack["code"]) == (False, "forbidden")
        phone.keyboard.press("q")                      # the presenter's key does nothing here
        expect(phone.locator("#poll-dialog")).to_be_hidden()
    finally:
        context.close()

"""A lecture hall following a lesson: the presenter walks it on the projector
(in Chinese), a student's phone (390×844, in English) shows the same step in
its own language, read-only but for its vote: the question first — the phone
answers it — then what really happened beside what the room predicted."""

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import running
from tests.e2e.pages import wait_connected

pytestmark = pytest.mark.e2e

TOKEN = "t0k"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def lecture():
    with running(Settings(port=0, echo_port=0, token=TOKEN)) as live:
        live.api.http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield live


def wait_done(page, step):
    expect(page.locator("#lessons")).to_have_attribute("data-step", str(step))
    page.wait_for_function("() => ['done', 'failed'].includes("
                           "document.querySelector('#lessons').dataset.phase)", timeout=30_000)


def test_a_phone_follows_the_presenters_lesson_in_its_own_language(lecture, browser):
    lesson = {item["id"]: item for item in lecture.api.get("/api/lessons").json()}["orphans"]
    steps = lesson["steps"]
    presenter = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    phone = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    try:
        teacher = presenter.new_page()
        teacher.goto(lecture.url + f"/?token={TOKEN}")
        wait_connected(teacher)
        student = phone.new_page()
        student.goto(lecture.url + "/")
        wait_connected(student)
        expect(student.locator("body")).to_have_attribute("data-access", "viewer")
        expect(student.locator("body")).to_have_attribute("data-view", "phone")
        expect(student.locator("body")).not_to_have_attribute("data-lesson", "orphans")

        teacher.locator("[role='tab'][data-tab='lessons']").click()
        teacher.locator("[data-action='lesson-open'][data-lesson-id='orphans']").click()
        expect(student.locator("body")).to_have_attribute("data-lesson", "orphans")
        expect(student.locator(".lesson-narration")).to_have_text(steps[0]["narration"]["en"])
        expect(teacher.locator(".lesson-narration")).to_have_text(steps[0]["narration"]["zh-CN"])
        # read-only: no lesson control on the phone; the lesson above the tree
        expect(student.locator("[data-action^='lesson-']:visible")).to_have_count(0)
        lesson_box = student.locator("#lessons-aside").bounding_box()
        tree_box = student.locator(".tree-panel").bounding_box()
        assert lesson_box["y"] + lesson_box["height"] <= tree_box["y"] + 1

        for step in (0, 1):                                     # reset, then 3 clients
            teacher.keyboard.press("n")
            wait_done(teacher, step)
            teacher.keyboard.press("n")
        expect(student.locator("#lessons")).to_have_attribute("data-step", "2")
        expect(student.locator(".lesson-question")).to_have_text(
            steps[2]["ask"]["question"]["en"])
        expect(student.locator("#lessons")).to_have_attribute("data-phase", "asking")

        # the question is a poll: the phone votes from the lesson's own choices
        expect(student.locator("#lessons")).to_have_attribute("data-poll-state", "open")
        votes = student.locator(".lesson-choice [data-action='lesson-vote']")
        expect(votes).to_have_count(4)
        box = votes.nth(3).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 300, box        # a thumb's target
        votes.nth(2).click()                                    # init… then thinks again
        expect(student.locator(".lesson-choice[data-mine]")).to_have_attribute(
            "data-choice-key", "init")
        votes.nth(3).click()
        expect(student.locator(".lesson-choice[data-mine]")).to_have_attribute(
            "data-choice-key", "dashboard")
        # the presenter sees the count live; the phone does not, while it votes
        expect(teacher.locator(".lesson-choice[data-choice-key='dashboard']")).to_have_attribute(
            "data-count", "1")
        expect(teacher.locator(".lesson-choice[data-choice-key='init']")).to_have_attribute(
            "data-count", "0")
        assert student.locator(".lesson-choice[data-count]").count() == 0
        # the poll card leaves a lesson's question to the lesson, on both pages
        expect(teacher.locator("#poll-card")).to_be_hidden()
        expect(student.locator("#poll-card")).to_be_hidden()

        teacher.keyboard.press("PageDown")                      # close the vote, terminate()
        wait_done(teacher, 2)
        expect(student.locator("#lessons")).to_have_attribute("data-phase", "done")
        true = student.locator(".lesson-choice[data-true='true']")
        expect(true).to_have_attribute("data-choice-key", "dashboard")
        expect(true).to_contain_text(steps[2]["ask"]["choices"][3]["text"]["en"])
        # the prediction beside what happened: the room's count, on the phone too
        expect(true).to_have_attribute("data-count", "1")
        expect(true).to_have_attribute("data-mine", "true")
        expect(student.locator("#lessons")).to_have_attribute("data-poll-state", "revealed")
        (poll,) = [p for p in lecture.api.get("/api/polls").json()["polls"]
                   if p["lesson"] == "orphans"]
        assert (poll["step"], poll["state"], poll["counts"], poll["answer"]) == (
            2, "revealed", [0, 0, 0, 1], 3)
        # the facts, in the phone's language: three orphans whose ppid is the dashboard
        facts = student.locator(".lesson-fact[data-fact-key='lesson.fact.orphan']")
        expect(facts).to_have_count(3)
        expect(facts.first).to_contain_text("orphan")
        expect(teacher.locator(".lesson-fact").first).to_contain_text("孤儿")
    finally:
        presenter.close()
        phone.close()

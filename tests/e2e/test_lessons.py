"""Every lesson, end to end, in both languages: the presenter opens it, goes
into presenter view, and walks it with Next (the button, n, PageDown) and Back
(b); each step's narration is the lesson's in the page's language, each action
answers ok, and each question's verdict is what the lab really did — checked
again here against /proc. At the end the page's tree is /api/state's and the
model is /proc's.

One live app serves the whole module: each lesson starts with lab_reset, the
known state, which is what this also tests (a leftover of the lesson before
would show up as a wrong verdict or a tree that differs). The module checks
that no process outlives the app."""

import os

import psutil
import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.conftest import our_processes, running
from tests.e2e.pages import wait_connected
from tests.e2e.test_tree_fit import wait_adds_up
from tests.helpers import model_vs_proc, os_view, wait_until

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 30_000      # a step that restarts the server on a busy 2-core machine


def cores_key():
    cores = psutil.cpu_count()
    return "one" if cores <= 1 else "all" if cores >= 8 else "cores"


#: lesson -> {step: the choice that must come true} — what the lab really does
EXPECTED = {
    "two-processes": {1: "4", 3: "server"},
    "two-ways": {3: "same_pid"},
    "join-zombie": {2: "zombie", 6: "-15"},
    "orphans": {2: "dashboard"},
    "daemon": {2: "died", 4: "dashboard", 6: "assertion"},
    "concurrency": {3: cores_key()},
}


def live(api, role):
    return [p for p in api.state()["processes"]
            if p["role"] == role and p["state"] in ("running", "zombie")]


def check_proc(lesson, step, api, before):
    """/proc, read here, agrees with the verdict the page showed."""
    me = os.getpid()
    if (lesson, step) in (("orphans", 2), ("daemon", 4)):
        for pid in before["workers"]:           # alive, children of the dashboard now
            assert os_view(pid)[1] == me
    if (lesson, step) == ("daemon", 2):         # ended with their server
        assert [pid for pid in before["workers"] if os_view(pid)] == []
    if (lesson, step) == ("join-zombie", 2):
        assert os_view(before["clients"][0])[0] == psutil.STATUS_ZOMBIE
    if (lesson, step) == ("two-processes", 3):
        worker = live(api, "worker")[0]
        assert psutil.Process(worker["pid"]).ppid() == live(api, "server")[0]["pid"]


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Replaces the per-test guard (tests/conftest.py): the app lives for the
    module; lesson_app checks after it stops that nothing outlived it."""
    yield


@pytest.fixture(scope="module")
def lesson_app():
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with running(Settings(port=0, echo_port=0)) as live_app:
        yield live_app
    wait_until(lambda: not our_processes(before), timeout=10,
               message="every lab process gone with the app")


def say(text, lang):
    return text[lang].replace("{cores}", str(psutil.cpu_count()))


def press_next(page, how):
    if how == "click":
        page.locator("#lessons [data-action='lesson-next']").click()
    else:
        page.keyboard.press(how)


def wait_at(page, step, phases=("ready", "asking", "done")):
    panel = page.locator("#lessons")
    expect(panel).to_have_attribute("data-step", str(step))
    page.wait_for_function(
        "([phases]) => phases.includes(document.querySelector('#lessons').dataset.phase)",
        arg=[list(phases)], timeout=RUN_TIMEOUT)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("lesson_id", list(EXPECTED))
def test_a_lesson_runs_end_to_end(lesson_app, page, lesson_id, lang):
    api = lesson_app.api
    lesson = {item["id"]: item for item in api.get("/api/lessons").json()}[lesson_id]
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{lesson_app.url}/?lang={lang}")
    wait_connected(page)
    expect(page.locator("#lessons")).to_have_attribute("data-loaded", "true")
    page.locator("[role='tab'][data-tab='lessons']").click()
    if page.locator("#lessons[data-lesson]").count():   # the lesson before is still open
        page.locator("#lessons [data-action='lesson-close']").click()
    page.locator(f"[data-action='lesson-open'][data-lesson-id='{lesson_id}']").click()
    page.keyboard.press("p")                      # the projector's view
    expect(page.locator("body")).to_have_attribute("data-view", "present")
    expect(page.locator("body")).to_have_attribute("data-lesson", lesson_id)
    expect(page.locator(".lesson-title")).to_have_text(lesson["title"][lang])
    # the back row of a lecture hall reads the narration: at least 24 px at 1280×720
    size = page.locator(".lesson-narration").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 24, size

    keys = iter(["n", "PageDown"] * 20)
    last = len(lesson["steps"]) - 1
    for n, step in enumerate(lesson["steps"]):
        wait_at(page, n)
        expect(page.locator(".lesson-narration")).to_have_text(say(step["narration"], lang))
        if "code" in step:
            expect(page.locator(".lesson-code")).to_have_text(step["code"])
        if step.get("do"):
            before = {"workers": [p["pid"] for p in live(api, "worker")],
                      "clients": [p["pid"] for p in live(api, "client")]}
            if "ask" in step:
                expect(page.locator(".lesson-choice")).to_have_count(len(step["ask"]["choices"]))
                expect(page.locator(".lesson-question")).to_have_text(
                    step["ask"]["question"][lang])
            next_button = page.locator("#lessons [data-action='lesson-next']")
            expect(next_button).to_have_attribute("data-next", "run")
            press_next(page, "click")
            wait_at(page, n, phases=("done", "failed"))
            results = page.locator(".lesson-result")
            expect(results).to_have_count(len(step["do"]))
            assert page.locator(".lesson-result[data-result='error']").count() == 0, \
                results.all_text_contents()
            assert page.locator("#lessons").get_attribute("data-phase") == "done"
            if "ask" in step:
                true = page.locator(".lesson-choice[data-true='true']")
                expect(true).to_have_count(1)
                assert true.get_attribute("data-choice-key") == EXPECTED[lesson_id][n], \
                    page.locator(".lesson-fact").all_text_contents()
                assert page.locator(".lesson-fact").count() >= 1
                check_proc(lesson_id, n, api, before)
        if n == 1:                                # Back, then forward again: nothing reruns
            page.keyboard.press("b")
            wait_at(page, 0)
            page.keyboard.press("PageDown")
            wait_at(page, 1)
        if n < last:
            press_next(page, next(keys))
    expect(page.locator("#lessons [data-action='lesson-next']")).to_have_attribute(
        "data-next", "end")
    assert api.get("/api/lessons/current").json()["lesson"] == lesson_id
    wait_adds_up(page, api)           # a node each, or counted in a group (a narrow tree folds)
    wait_until(lambda: model_vs_proc(api.state()) == [], message="the model equals /proc")
    assert errors == []


def test_a_lesson_opened_again_starts_again_from_its_reset(lesson_app, page):
    page.goto(f"{lesson_app.url}/?lang=en")
    wait_connected(page)
    expect(page.locator("#lessons")).to_have_attribute("data-loaded", "true")
    page.locator("[role='tab'][data-tab='lessons']").click()
    if page.locator("#lessons[data-lesson]").count():
        page.locator("#lessons [data-action='lesson-close']").click()
    page.locator("[data-action='lesson-open'][data-lesson-id='two-ways']").click()
    page.keyboard.press("n")
    wait_at(page, 0, phases=("done",))
    page.locator("#lessons [data-action='lesson-close']").click()
    expect(page.locator("body")).not_to_have_attribute("data-lesson", "two-ways")
    # the page closes at once and announces it after: the dashboard hears it soon
    wait_until(lambda: lesson_app.api.get("/api/lessons/current").json()["lesson"] is None,
               message="the dashboard to hear the lesson closed")
    page.locator("[data-action='lesson-open'][data-lesson-id='two-ways']").click()
    wait_at(page, 0, phases=("ready",))
    expect(page.locator("#lessons [data-action='lesson-next']")).to_have_attribute(
        "data-next", "run")

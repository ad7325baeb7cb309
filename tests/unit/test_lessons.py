"""The lessons are valid data: every action is one of the dispatch table, every
payload one its schema accepts, every text in both languages — and the check
that says so catches each kind of mistake."""

import copy

import pytest

from app import lessons
from app.settings import Settings
from app.web.dispatch import ACTIONS


def problems(catalogue):
    return lessons.problems(catalogue, ACTIONS, Settings())


def test_the_catalogue_has_no_problems():
    assert problems(list(lessons.catalogue())) == []


def test_the_six_lessons_of_the_issue_are_there_in_order():
    assert [lesson["id"] for lesson in lessons.catalogue()][:6] == [
        "two-processes", "two-ways", "join-zombie", "orphans", "daemon", "concurrency"]


def test_every_lesson_asks_the_room_at_least_once_and_shows_code():
    for lesson in lessons.catalogue():
        assert any("ask" in step for step in lesson["steps"]), lesson["id"]
        assert any("code" in step for step in lesson["steps"]), lesson["id"]


def test_the_api_answer_is_the_catalogue():
    assert lessons.public() == [{k: lesson[k] for k in ("id", "title", "steps")}
                                for lesson in lessons.catalogue()]
    assert lessons.find("orphans")["id"] == "orphans" and lessons.find("nope") is None


def broken(change):
    """The catalogue with one mistake made by *change(first lesson)*."""
    catalogue = copy.deepcopy(list(lessons.catalogue()))
    change(catalogue[0])
    return problems(catalogue)


def step_with(lesson, key):
    return next(step for step in lesson["steps"] if key in step)


@pytest.mark.parametrize("change, words", [
    (lambda l: step_with(l, "do")["do"].append({"action": "fork_bomb"}), "is not an action"),
    (lambda l: step_with(l, "do")["do"].append({"action": "state"}), "is not an action"),
    (lambda l: step_with(l, "do")["do"].append({"action": "spawn_client",
                                                "args": {"cuont": 2}}), "Additional properties"),
    (lambda l: step_with(l, "do")["do"].append({"action": "spawn_client",
                                                "args": {"count": 0}}), "less than the minimum"),
    (lambda l: step_with(l, "do")["do"].append({"action": "send_message",
                                                "args": {"pid": "@client:1"}}),
     "'text' is a required property"),
    (lambda l: step_with(l, "do")["do"].append({"action": "send_message",
                                                "args": {"pid": 5, "text": "@server"}}),
     "only a pid may be a reference"),
    (lambda l: step_with(l, "do")["do"].append({"action": "terminate",
                                                "args": {"pid": "@workers"}}),
     "is not a reference"),
    (lambda l: step_with(l, "do")["do"].append({"action": "terminate",
                                                "args": {"pid": "@client:0"}}),
     "is not a reference"),
    (lambda l: l["steps"][1]["narration"].pop("en"), "needs exactly"),
    (lambda l: l["steps"][1]["narration"].update({"zh-CN": " "}), "zh-CN is empty"),
    (lambda l: l["title"].update({"fr": "Deux processus"}), "needs exactly"),
    (lambda l: step_with(l, "ask").pop("truth"), "needs a truth rule"),
    (lambda l: step_with(l, "ask")["ask"]["choices"][1].update(
        key=step_with(l, "ask")["ask"]["choices"][0]["key"]), "its own key"),
    (lambda l: step_with(l, "ask").pop("do"), "comes before an action"),
    (lambda l: l["steps"][0].update(do=[]), "must start with lab_reset"),
    (lambda l: l["steps"][1].update(shwo=["@server"]), "unknown key 'shwo'"),
    (lambda l: l.update(id="Two Processes"), "id must be"),
])
def test_each_kind_of_mistake_is_caught(change, words):
    found = broken(change)
    assert any(words in problem for problem in found), found


def test_every_catalogue_key_the_lesson_modules_use_is_in_both_languages():
    import json
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    used = set()
    for name in ("lessons.js", "lesson-truth.js", "lesson-refs.js"):
        text = (root / "static" / "js" / name).read_text("utf-8")
        used |= set(re.findall(r'"(lessons?\.[a-z_.]+)"', text))
    used |= {f"lesson.show.style.{style}" for style in ("target", "subclass")}
    assert {"lesson.progress", "lesson.fact.gone", "lessons.intro"} <= used   # the scan works
    for lang in ("zh-CN", "en"):
        messages = json.loads((root / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))
        missing = sorted(key for key in used if key not in messages)
        assert not missing, f"{lang}: {missing}"

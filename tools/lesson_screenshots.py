"""Screenshots of a guided lesson for docs/screenshots/, rerunnable.

    .venv/bin/python tools/lesson_screenshots.py [--out docs/screenshots]

Starts the real app (with a presenter token, as in a lecture hall: the phone
is a viewer's), opens lesson ④ (terminate() and the orphan) on the
presenter's page, in presenter view at 1280×720, in Chinese, and walks it to
its question: "the server will be terminate()d: what happens to its 3
workers?". A student's phone (390×844, English) follows and votes, as do
fourteen more students (Socket.IO connections, each its own voter). Shots:
the question on the projector, with the votes so far, and on the phone, then
— after Next closed the vote and ran server.terminate() — the verdict beside
the room's prediction on both; and presenter view at 1920×1080, lesson ⑥ in
English, while its clients flood their workers: the CPU meter per core.
"""

import argparse
import secrets
import sys
from pathlib import Path

import requests
import socketio
from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import CHROMIUM, TOKEN, start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def connected(page):
    expect(page.locator("[data-connection='connected']")).to_be_visible(timeout=15_000)
    expect(page.locator("#lessons")).to_have_attribute("data-loaded", "true")


def at(page, step, phases):
    expect(page.locator("#lessons")).to_have_attribute("data-step", str(step), timeout=30_000)
    page.wait_for_function("(phases) => phases.includes("
                           "document.querySelector('#lessons').dataset.phase)",
                           arg=phases, timeout=30_000)


def open_lesson(page, lesson):
    page.locator("[role='tab'][data-tab='lessons']").click()
    if page.locator("#lessons[data-lesson]").count():
        page.locator("#lessons [data-action='lesson-close']").click()
    page.locator(f"[data-action='lesson-open'][data-lesson-id='{lesson}']").click()


def walk_to(page, step):
    """Run and leave each step before *step*."""
    for n in range(step):
        at(page, n, ["ready", "asking", "done"])
        if page.get_attribute("#lessons [data-action='lesson-next']", "data-next") == "run":
            page.keyboard.press("n")
            at(page, n, ["done"])
        page.keyboard.press("n")
    at(page, step, ["ready", "asking"])


# the rest of the room's predictions for lesson ④'s question (choice index: how many)
ROOM = {0: 5, 1: 4, 2: 3, 3: 2}


def room_votes(url, voters):
    """The room votes on the open poll: one Socket.IO connection per student,
    each its own voter (auth.voter), as their phones would."""
    polls = requests.get(url + "/api/polls", timeout=10).json()["polls"]
    poll = next(p for p in polls if p["state"] == "open")["id"]
    choices = [choice for choice, n in ROOM.items() for _ in range(n)]
    for client, choice in zip(voters, choices, strict=True):
        ack = client.call("vote", {"poll": poll, "choice": choice}, timeout=10)
        assert ack["ok"], ack


def shoot(page, path, full_page=False):
    page.wait_for_timeout(600)        # the tree's transition, the last render
    page.screenshot(path=str(path), full_page=full_page)
    print(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    proc, url = start_app()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            projector = browser.new_context(viewport={"width": 1280, "height": 720},
                                            locale="zh-CN")
            phone = browser.new_context(viewport={"width": 390, "height": 844},
                                        locale="en-US", is_mobile=True, has_touch=True)
            teacher = projector.new_page()
            teacher.goto(f"{url}/?token={TOKEN}&lang=zh-CN")
            connected(teacher)
            student = phone.new_page()
            student.goto(f"{url}/?lang=en")
            connected(student)

            voters = []
            for _ in range(sum(ROOM.values())):
                client = socketio.Client()
                client.connect(url, auth={"voter": secrets.token_hex(16)},
                               transports=["websocket"])
                voters.append(client)
            open_lesson(teacher, "orphans")
            teacher.keyboard.press("p")
            walk_to(teacher, 2)
            expect(student.locator("#lessons")).to_have_attribute("data-phase", "asking")
            room_votes(url, voters)
            student.locator(".lesson-choice [data-action='lesson-vote']").nth(3).click()
            expect(student.locator(".lesson-choice[data-mine]")).to_have_count(1)
            expect(teacher.locator(".lesson-choice[data-choice-key='dashboard']")
                   ).to_have_attribute("data-count", str(ROOM[3] + 1))
            shoot(teacher, args.out / "lesson-present-1280-ask.png")
            shoot(student, args.out / "lesson-phone-390-ask.png")
            teacher.keyboard.press("PageDown")           # server.terminate()
            at(teacher, 2, ["done"])
            expect(student.locator("#lessons")).to_have_attribute("data-phase", "done")
            shoot(teacher, args.out / "lesson-present-1280-reveal.png")
            shoot(student, args.out / "lesson-phone-390-reveal.png")

            wide = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-US")
            page = wide.new_page()
            page.goto(f"{url}/?token={TOKEN}&lang=en")
            connected(page)
            open_lesson(page, "concurrency")
            page.keyboard.press("p")
            walk_to(page, 3)
            page.keyboard.press("n")                     # the flood, 3 s: shot while it runs
            at(page, 3, ["running"])
            expect(page.locator("#lessons")).to_have_attribute("data-poll-state", "closed")
            page.wait_for_timeout(1500)                  # readings taken during the flood
            page.screenshot(path=str(args.out / "lesson-present-1920-cpu.png"))
            print(args.out / "lesson-present-1920-cpu.png")
            at(page, 3, ["done"])
            browser.close()
            for client in voters:
                client.disconnect()
    finally:
        stop_app(proc)


if __name__ == "__main__":
    main()

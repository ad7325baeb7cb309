"""Screenshots of the dashboard for docs/screenshots/, rerunnable.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots] [--lang zh-CN]

Starts the real app (``python -m app`` on free ports), sets the scene a teacher
would show — three clients (two have sent a message), the worker of the third
terminated and left a zombie, a fourth client closed and reaped together with
its worker — and shoots it in headless Chromium at 1920×1080 and 1280×720 with
the "reaped" tab open; then, at 1920×1080: the zombie worker's details (who must
reap it, and how), a live worker's details at "what the OS says" (/proc: its
status letter and the sockets it holds), the lab settings panel after the
daemon demo ran, and the viewer-link dialog with its QR code. Then the views
(issue 11): presenter view at 1280×720 with 30 live processes (14 clients and
their workers), and a student's phone, 390×844 and 360×740 in Chinese, on the
viewer link (the app runs with a presenter token, so that page is a viewer's)
with six clients and a zombie; the code view while stepping (issue 12) in both
languages; and a projector, 1280×720, with 50 clients, the tree fitted.
Last, in a lab of its own (issue 13): a poll on a student's phone while the
room votes, and its reveal beside the tree of orphans on the projector
(``--only polls`` shoots these alone, without the scene above); and a fork-tree
puzzle step (issue 13), its question and answer at 1280×720 and a student's
phone on the question (``--only puzzle`` shoots these alone, without the scene).

    --only phone,presenter     only those shots (the scene is set all the same)

The app runs on loopback, an address students' devices cannot reach, so the
viewer-link shot shows ``--viewer-url`` instead (default: an RFC 5737
documentation address) — what a lecture hall's LAN address looks like there.
Needs Debian's chromium and a CJK font (fonts-noto-cjk) for the Chinese text.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SIZES = ((1920, 1080), (1280, 720))
SHOTS = ("dashboard", "details", "lab", "viewer-link", "code", "phone", "presenter", "projector",
         "polls", "puzzle", "timeline")
# Shots in a lab of their own: ``--only`` these needs none of the scene above.
OWN_LAB = {"polls", "timeline"}
EXAMPLE_VIEWER_URL = "http://192.0.2.10:5000/"   # RFC 5737: for documentation
# The presenter's token: the screenshots' own pages are the presenter's, the
# phone's is a viewer's, as in a lecture hall.
TOKEN = "screenshots"


def start_app(record=None):
    proc = subprocess.Popen(
        # --no-record: staging screenshots is not a lecture worth keeping (the
        # replay's shots record into a directory of their own, thrown away)
        [sys.executable, "-m", "app", "--port", "0", "--echo-port", "0", "--token", TOKEN,
         *(["--record", record] if record else ["--no-record"])], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        found = re.search(r"(http://\S+?)/?$", line.strip())
        if line.startswith("Forkscope dashboard") and found:
            return proc, found.group(1)
    proc.wait(10)
    raise SystemExit("the app did not start (is the venv installed? try `make run`)")


def stop_app(proc):
    proc.send_signal(signal.SIGTERM)   # the app reaps every lab process on the way out
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Api:
    def __init__(self, base):
        self.base = base

    def post(self, path, body=None):
        # control calls must be JSON: an empty object when there is no body
        r = requests.post(self.base + path, json={} if body is None else body, timeout=30,
                          headers={"Authorization": f"Bearer {TOKEN}"})
        r.raise_for_status()
        return r.json()

    def state(self):
        return requests.get(self.base + "/api/state", timeout=30).json()

    def delete(self, path):
        r = requests.delete(self.base + path, timeout=30,
                            headers={"Authorization": f"Bearer {TOKEN}"})
        r.raise_for_status()
        return r.json()

    def process(self, pid):
        return next(p for p in self.state()["processes"]
                    if p["pid"] == pid and p["state"] != "joined")


def set_scene(page, api):
    """Three live clients, replies shown, one zombie worker, two reaped processes."""
    clients = api.post("/api/clients", {"count": 4})["pids"]
    tree = page.locator("#tree g.node[data-role='worker']")
    expect(tree).to_have_count(4)
    for pid, text in zip(clients[:2], ("hello 你好", "多进程 fork!")):
        page.locator(f"input[data-message-for='{pid}']").fill(text)
        page.locator(f"[data-action='send-message'][data-pid='{pid}']").click()
        expect(page.locator(f"[data-reply-for='{pid}']")).to_contain_text(text.upper())
    # The fourth client closes: it exits 0, and so does its worker (EOF); reap both.
    last = clients[3]
    last_worker = api.process(last)["worker_pid"]
    api.post(f"/api/clients/{last}/close")
    page.wait_for_function(
        "pid => [...window.forkscope.model.procs.values()].some("
        "p => p.pid === pid && p.state === 'zombie')", arg=last_worker)
    api.post(f"/api/processes/{last_worker}/join", {})
    api.post(f"/api/processes/{last}/join", {})
    # The third client's worker is terminated: a zombie until someone joins it.
    zombie = api.process(clients[2])["worker_pid"]
    api.post(f"/api/processes/{zombie}/terminate")
    node = page.locator(f"#tree g.node[data-pid='{zombie}']")
    expect(node).to_have_attribute("data-state", "zombie")
    expect(page.locator("#tree g.node")).to_have_count(len([
        p for p in api.state()["processes"] if p["state"] != "joined"]))
    live_worker = api.process(clients[0])["worker_pid"]
    return zombie, live_worker


def settle(page):
    page.wait_for_timeout(500)   # let the tree's 350 ms transition settle


def shoot(page, path):
    page.screenshot(path=str(path))
    print(path)


def details_shots(page, out, zombie, live_worker):
    """The zombie's details, then a live worker's "what the OS says" section."""
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    page.locator(f"#tree g.node[data-pid='{zombie}']").click()
    page.locator("[role='tab'][data-tab='details']").click()
    explain = page.locator("#details [data-explain='zombie-parent']")
    expect(explain).to_be_visible()
    explain.evaluate("el => el.scrollIntoView({block: 'end'})")   # who must reap it, and how
    settle(page)
    shoot(page, out / "dashboard-1920-details.png")
    page.locator(f"#tree g.node[data-pid='{live_worker}']").click()
    section = page.locator("#details .os-truth")
    expect(section).to_have_attribute("data-truth-pid", str(live_worker))
    expect(section).to_have_attribute("data-status", "ok")
    # from the status letter down to the note on the listening socket
    section.locator(".os-status").evaluate("el => el.scrollIntoView({block: 'start'})")
    settle(page)
    shoot(page, out / "details-os-1920.png")


def lab_shot(page, out):
    """The lab settings beside the tree, after the daemon demo ran."""
    page.locator("[data-action='open-lab']").click()
    page.locator("[data-action='daemon-demo']").click()
    expect(page.locator("#demo-result")).to_have_attribute("data-result", "ok", timeout=15_000)
    page.evaluate("(d => { d.scrollTop = d.scrollHeight; })(document.querySelector('#lab-dialog'))")
    settle(page)
    shoot(page, out / "lab-settings-1920.png")
    page.locator("[data-action='close-lab']").click()


def viewer_link_shot(page, out, viewer_url):
    """The viewer link as the room sees it: big address, big QR code."""
    def whoami(route):
        response = route.fetch()
        body = dict(response.json(), viewer_url=viewer_url)
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/whoami", whoami)
    page.locator("[data-action='viewer-link']").click()
    expect(page.locator(f"#viewer-dialog svg[data-qr='{viewer_url}']")).to_be_visible()
    settle(page)
    shoot(page, out / "viewer-link-1920.png")
    page.keyboard.press("Escape")
    page.unroute("**/api/whoami")


SHOWN = """([role, n]) => {
    const single = document.querySelectorAll(`#tree g.node[data-role='${role}'][data-pid]`).length;
    const grouped = [...document.querySelectorAll(`#tree g.group[data-role='${role}']`)]
        .reduce((sum, g) => sum + Number(g.dataset.count), 0);
    return single + grouped >= n;
}"""


def wait_shown(page, role, n):
    """Until the tree shows *n* processes of *role*: as nodes, or counted in a group."""
    page.wait_for_function(SHOWN, arg=[role, n], timeout=30_000)


def projector_shot(browser, url, api, out, lang):
    """A projector at 1280×720 with 50 clients (over 100 live processes): the
    whole tree fits, the many siblings folded into groups."""
    live = [p for p in api.state()["processes"] if p["state"] != "joined"]
    missing = 50 - sum(1 for p in live if p["role"] == "client")
    while missing > 0:
        api.post("/api/clients", {"count": min(20, missing)})
        missing -= min(20, missing)
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale=lang)
    try:
        page = context.new_page()
        page.goto(f"{url}/?token={TOKEN}&lang={lang}")
        expect(page.locator("[data-connection='connected']")).to_be_visible()
        wait_shown(page, "client", 50)
        settle(page)
        shoot(page, out / "projector-1280-50clients.png")
    finally:
        context.close()


def code_view_shots(browser, url, api, out):
    """The code view while stepping, in both languages: the server in accept(),
    a worker in recv(), and its client stopped at the send gate — three real
    processes on three lines of the tutorial's code."""
    api.post("/api/step", {"mode": "step", "gates": ["send"]})
    client = api.post("/api/clients", {"count": 1})["pids"][0]
    sender = threading.Thread(target=api.post, args=(f"/api/clients/{client}/messages",
                                                     {"text": "hello 你好"}), daemon=True)
    sender.start()   # answers only once the round trip is done: after the release below
    try:
        deadline = time.monotonic() + 15
        while not any(w["pid"] == client for w in requests.get(
                url + "/api/step", timeout=10).json()["waiting"]):
            if time.monotonic() > deadline:
                raise SystemExit("the client did not stop at its send gate")
            time.sleep(0.05)
        for lang in ("zh-CN", "en"):
            context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale=lang)
            try:
                page = context.new_page()
                page.goto(f"{url}/?token={TOKEN}&lang={lang}")
                expect(page.locator("[data-connection='connected']")).to_be_visible()
                page.locator(f"#tree g.node[data-pid='{client}']").click()
                page.locator("[role='tab'][data-tab='code']").click()
                expect(page.locator(f"[data-marker-pid='{client}']")).to_be_visible()
                settle(page)
                shoot(page, out / f"code-view-{'zh' if lang == 'zh-CN' else 'en'}.png")
            finally:
                context.close()
    finally:
        api.post("/api/step", {"mode": "run"})
        sender.join(15)


def presenter_shot(browser, url, api, out, lang):
    """Presenter view at 1280×720 with 30 live processes: what the back row reads."""
    live = [p for p in api.state()["processes"] if p["state"] != "joined"]
    clients = sum(1 for p in live if p["role"] == "client")
    if clients < 14:
        api.post("/api/clients", {"count": 14 - clients})
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale=lang)
    try:
        page = context.new_page()
        page.goto(f"{url}/?token={TOKEN}&lang={lang}&view=present")
        expect(page.locator("[data-connection='connected']")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-access", "presenter")
        wait_shown(page, "client", max(clients, 14))
        worker = page.locator("#tree g.node[data-role='worker'][data-state='running']").first
        worker.click()                     # the bar shows what the keys t / k / j act on
        settle(page)
        shoot(page, out / "presenter-1280.png")
    finally:
        context.close()


PHONES = ((390, 844), (360, 740))


def phone_shot(browser, url, api, out):
    """A student's phone on the viewer link, in Chinese: six clients and a zombie,
    upright at 390×844 and at 360×740 — the tree's outline, its pids legible."""
    live = [p for p in api.state()["processes"] if p["state"] != "joined"]
    clients = sum(1 for p in live if p["role"] == "client")
    if clients < 6:
        api.post("/api/clients", {"count": 6 - clients})
    # A new worker's start() reaps the server's zombies (multiprocessing's
    # _cleanup): terminate one again, the third, if none is left.
    live = [p for p in api.state()["processes"] if p["state"] != "joined"]
    workers = sorted((p for p in live if p["role"] == "worker"), key=lambda p: p["pid"])
    if not any(w["state"] == "zombie" for w in workers):
        running = [w for w in workers if w["state"] == "running"]
        api.post(f"/api/processes/{running[min(2, len(running) - 1)]['pid']}/terminate")
    for width, height in PHONES:
        context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True,
                                      has_touch=True, locale="zh-CN")
        try:
            page = context.new_page()
            page.goto(f"{url}/")
            expect(page.locator("[data-connection='connected']")).to_be_visible()
            expect(page.locator("body")).to_have_attribute("data-access", "viewer")
            expect(page.locator("body")).to_have_attribute("data-view", "phone")
            wait_shown(page, "client", max(clients, 6))
            zombie = page.locator("#tree g.node[data-state='zombie']").first
            expect(zombie).to_be_visible()
            zombie.tap()                       # its details under the tree: who must reap it
            expect(page.locator("#details [data-explain='zombie-parent']")).to_be_visible()
            page.evaluate("window.scrollTo(0, 0)")   # the first screen, as a student opens it
            settle(page)
            shoot(page, out / f"phone-{width}.png")
        finally:
            context.close()


# -- predict, then reveal (issue 13): a poll on a phone, the reveal on the projector ----------
POLL_TEXT = {
    "zh-CN": {
        "question": "server-1 被 kill -9：它的 3 个 worker 会怎样？",
        "choices": ["跟着 server-1 一起退出",
                    ("dashboard\n├─ server-1  僵尸\n├─ worker-1  孤儿\n├─ worker-2  孤儿\n"
                     "└─ worker-3  孤儿"),
                    "变成僵尸进程，等 server-1 回收"],
        "note": "kill -9 不给 server-1 收尾的机会：它的 worker 还在运行，成了孤儿，"
                "由 dashboard（子进程收割者）收养。",
    },
    "en": {
        "question": "server-1 gets kill -9: what happens to its 3 workers?",
        "choices": ["they exit with server-1",
                    ("dashboard\n├─ server-1  zombie\n├─ worker-1  orphan\n"
                     "├─ worker-2  orphan\n└─ worker-3  orphan"),
                    "they become zombies, waiting for server-1"],
        "note": "kill -9 gives server-1 no time to clean up: its workers keep running as "
                "orphans, adopted by the dashboard (the child subreaper).",
    },
}
ROOM_VOTES = (4, 13, 6)     # the simulated room's votes per choice (plus the phone's)


def room(url, votes):
    """Students on the viewer link (python-socketio), each with its own voter
    id, as phones would be: they stay connected (a poll counts no more voters
    than connections). *votes* per choice; returns (clients, vote(poll))."""
    import uuid

    import socketio
    clients = []
    for _ in range(sum(votes)):
        client = socketio.Client()
        client.connect(url, transports=["websocket"], auth={"voter": uuid.uuid4().hex})
        clients.append(client)

    def vote(poll):
        choices = [i for i, n in enumerate(votes) for _ in range(n)]
        for client, choice in zip(clients, choices):
            ack = client.call("vote", {"poll": poll, "choice": choice}, timeout=10)
            assert ack["ok"], ack
    return clients, vote


def poll_shots(browser, out, lang):
    """A fresh lab, three clients: the presenter asks the room through the page,
    a phone and a simulated room vote (the phone's shot), the vote closes, the
    server is killed for real, and the choice that came true is revealed
    beside the tree of orphans (presenter view, 1280×720; and the full view)."""
    text = POLL_TEXT[lang]
    proc, url = start_app()
    students = []
    try:
        api = Api(url)
        api.post("/api/clients", {"count": 3})
        teacher = browser.new_context(viewport={"width": 1280, "height": 720}, locale=lang)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True, locale=lang)
        try:
            page = teacher.new_page()
            page.goto(f"{url}/?token={TOKEN}&lang={lang}&view=present")
            expect(page.locator("[data-connection='connected']")).to_be_visible()
            wait_shown(page, "worker", 3)
            page.locator("[data-action='poll-form']").first.click()
            page.locator("#poll-form [name='question']").fill(text["question"])
            for i, choice in enumerate(text["choices"]):
                page.locator("#poll-form [name='choice']").nth(i).fill(choice)
            page.locator("#poll-form [data-action='ask']").click()
            card = page.locator("#poll-card")
            expect(card).to_have_attribute("data-poll-state", "open")
            poll = int(card.get_attribute("data-poll-id"))
            students, vote = room(url, ROOM_VOTES)
            vote(poll)
            student = phone.new_page()
            student.goto(f"{url}/?lang={lang}")
            expect(student.locator("#poll-card")).to_have_attribute("data-poll-state", "open")
            student.locator("[data-action='vote'][data-choice='1']").tap()
            expect(student.locator("#poll-status")).to_have_attribute("data-status", "ok")
            student.evaluate("window.scrollTo(0, 0)")
            settle(student)
            shoot(student, out / "poll-phone-390.png")
            expect(card.locator("[data-voters]")).to_have_attribute(
                "data-voters", str(sum(ROOM_VOTES) + 1))
            card.locator("[data-action='close-poll']").click()
            expect(card).to_have_attribute("data-poll-state", "closed")
            server = next(p for p in api.state()["processes"]
                          if p["role"] == "server" and p["state"] == "running")
            api.post(f"/api/processes/{server['pid']}/kill")
            orphans = page.locator("#tree g.node[data-role='worker'][data-orphan='true']")
            expect(orphans).to_have_count(3)
            api.post(f"/api/polls/{poll}/reveal", {"choice": 1, "note": text["note"]})
            expect(card).to_have_attribute("data-poll-state", "revealed")
            expect(page.locator("#truth-badge")).to_have_attribute("data-truth", "agree")
            settle(page)
            shoot(page, out / "poll-reveal-1280.png")
            page.goto(f"{url}/?lang={lang}&view=full")
            expect(page.locator("#poll-card")).to_have_attribute("data-poll-state", "revealed")
            settle(page)
            shoot(page, out / "poll-reveal-full-1280.png")
        finally:
            teacher.close()
            phone.close()
    finally:
        for client in students:
            client.disconnect()
        stop_app(proc)


# -- a fork-tree puzzle (issue 13): OSTEP's fork.py on real processes ---------------------------
PUZZLE = "a+b,b+c,c+d,c+e,c-,a+f"


def puzzle_shots(browser, url, api, out, lang):
    """A puzzle step at 1280×720: the room asked what c- does (candidate trees),
    the same put to a vote (a poll), then the answer — the tree /proc has, d and
    e re-parented to a, the poll revealed — beside the live tree; and a
    student's phone (viewer, 390×844) on the question."""
    puzzle = api.post("/api/puzzles", {"actions": PUZZLE, "reparent": "root"})
    for _ in range(4):
        api.post(f"/api/puzzles/{puzzle['id']}/next")
    api.post(f"/api/puzzles/{puzzle['id']}/reveal")          # the question for c-
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, locale="zh-CN")
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale=lang)
    try:
        page = phone.new_page()
        page.goto(f"{url}/")
        expect(page.locator("#puzzle")).to_have_attribute("data-phase", "question")
        page.evaluate("document.querySelector('#panel-puzzle').scrollIntoView({block: 'start'})")
        settle(page)
        shoot(page, out / "puzzle-phone-390.png")
        page = context.new_page()
        page.goto(f"{url}/?token={TOKEN}&lang={lang}")
        expect(page.locator("body")).to_have_attribute("data-access", "presenter")
        page.locator("#tab-puzzle").click()
        expect(page.locator("#puzzle")).to_have_attribute("data-phase", "question")
        settle(page)
        shoot(page, out / "puzzle-question-1280.png")
        page.locator("[data-action='puzzle-ask']").click()      # the candidates, a poll
        expect(page.locator("#poll-card")).to_have_attribute("data-poll-state", "open")
        settle(page)
        shoot(page, out / "puzzle-ask-1280.png")
        page.locator("[data-action='puzzle-primary']").click()   # run c-, for real
        expect(page.locator("#puzzle")).to_have_attribute("data-phase", "answer")
        expect(page.locator("#poll-card")).to_have_attribute("data-poll-state", "revealed")
        expect(page.locator("#tree g.node[data-puzzle-name='d']")).to_have_attribute(
            "data-orphan", "true")
        settle(page)
        shoot(page, out / "puzzle-answer-1280.png")
    finally:
        context.close()
        phone.close()
    api.delete(f"/api/puzzles/{puzzle['id']}")


def timeline_shots(browser, out, lang):
    """Issue 14, a lab of its own that records: five clients talk, one worker
    waits at its send gate for a while (step mode: a hatched span), one is
    terminated (a zombie) and another joined. The live page with its timeline
    open at 1920×1080 and 1280×720; the same page scrubbed back to the zombie
    (the past bar); then the session's export on /replay, half-played, at
    1280×720 and on a phone (390×844)."""
    import tempfile
    with tempfile.TemporaryDirectory() as record:
        proc, url = start_app(record)
        try:
            api = Api(url)
            context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale=lang)
            page = context.new_page()
            page.add_init_script("localStorage.setItem('forkscope.timeline.open', 'true')")
            page.goto(f"{url}/?token={TOKEN}&lang={lang}")
            expect(page.locator("[data-connection='connected']")).to_be_visible()
            clients = api.post("/api/clients", {"count": 5})["pids"]
            wait_shown(page, "worker", 5)
            for i, pid in enumerate(clients[:4]):
                api.post(f"/api/clients/{pid}/messages", {"text": f"hello {i} 你好"})
            api.post("/api/step", {"mode": "step", "gates": ["send"]})
            sender = threading.Thread(target=api.post, args=(
                f"/api/clients/{clients[0]}/messages", {"text": "慢一点 slow"}))
            sender.start()
            waiting = lambda: requests.get(url + "/api/step", timeout=10).json()["waiting"]
            while not waiting():
                time.sleep(0.1)
            time.sleep(1.5)                        # the hatched wait, long enough to see
            api.post("/api/step", {"mode": "run"})
            sender.join(30)
            for pid in clients[1:3]:
                api.post(f"/api/clients/{pid}/messages", {"text": "again 再来"})
            zombie = api.process(clients[3])["worker_pid"]
            api.post(f"/api/processes/{zombie}/terminate")
            joined = api.process(clients[4])["worker_pid"]
            api.post(f"/api/processes/{joined}/terminate")
            api.post(f"/api/processes/{joined}/join", {})
            expect(page.locator(f"#tree g.node[data-pid='{zombie}']")).to_have_attribute(
                "data-state", "zombie")
            page.locator(f"#tree g.node[data-pid='{zombie}']").click()
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                settle(page)
                shoot(page, out / f"timeline-{width}.png")
            exited = next(e["seq"] for e in requests.get(url + "/api/events?after=0", timeout=10)
                          .json()["events"] if e["type"] == "exited" and e["pid"] == joined)
            page.locator("[role='tab'][data-tab='log']").click()
            page.locator(f"#log li[data-seq='{exited}']").click()
            expect(page.locator("body")).to_have_attribute("data-past-seq", str(exited))
            settle(page)
            shoot(page, out / "timeline-past-1280.png")
            context.close()
            last = api.state()["seq"]
            for size, name in (({"width": 1280, "height": 720}, "replay-1280.png"),
                               ({"width": 390, "height": 844}, "replay-390.png")):
                phone = size["width"] < 500
                context = browser.new_context(viewport=size, locale=lang, is_mobile=phone,
                                              has_touch=phone)
                replay = context.new_page()
                replay.goto(f"{url}/replay?url=/api/export.jsonl&lang={lang}")
                expect(replay.locator("body")).to_have_attribute("data-replay", "paused")
                replay.evaluate(f"() => window.forkscope.seek({exited})")
                expect(replay.locator("body")).to_have_attribute("data-replay-seq", str(exited))
                replay.evaluate(f"() => window.forkscope.seek({(exited + last) // 2})")
                settle(replay)
                shoot(replay, out / name)
                context.close()
        finally:
            stop_app(proc)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--lang", default="zh-CN", choices=("zh-CN", "en"))
    parser.add_argument("--viewer-url", default=EXAMPLE_VIEWER_URL,
                        help="the address the viewer-link shot shows (default %(default)s)")
    parser.add_argument("--only", type=lambda v: set(v.split(",")), default=None,
                        help="comma-separated shots: " + ",".join(SHOTS) + " (default: all)")
    args = parser.parse_args(argv)
    if args.only and args.only - set(SHOTS):
        parser.error(f"unknown shots: {', '.join(sorted(args.only - set(SHOTS)))}")

    def want(name):
        return not args.only or name in args.only

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fonts = subprocess.run(["fc-list", ":lang=zh"], check=False, capture_output=True, text=True)
    if not fonts.stdout:
        print("warning: no CJK font installed (apt-get install fonts-noto-cjk): "
              "Chinese text will show as boxes", file=sys.stderr)
    if args.only and args.only <= OWN_LAB:     # labs of their own: the scene above is not needed
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            if want("polls"):
                poll_shots(browser, out, args.lang)
            if want("timeline"):
                timeline_shots(browser, out, args.lang)
            browser.close()
        return
    proc, url = start_app()
    try:
        api = Api(url)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            if args.only == {"puzzle"}:   # a puzzle needs no scene
                puzzle_shots(browser, url, api, out, args.lang)
                return
            page = browser.new_page(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
            page.goto(f"{url}/?token={TOKEN}&lang={args.lang}")
            expect(page.locator("[data-connection='connected']")).to_be_visible()
            zombie, live_worker = set_scene(page, api)
            page.locator(f"#tree g.node[data-pid='{zombie}']").click()
            if want("dashboard"):
                for width, height in SIZES:
                    page.set_viewport_size({"width": width, "height": height})
                    page.locator("[role='tab'][data-tab='finished']").click()
                    settle(page)
                    shoot(page, out / f"dashboard-{width}.png")
            if want("details"):
                details_shots(page, out, zombie, live_worker)
            if want("lab"):
                lab_shot(page, out)
            if want("viewer-link"):
                viewer_link_shot(page, out, args.viewer_url)
            if want("code"):
                code_view_shots(browser, url, api, out)
            # after the code view (it shows the scene as set); tops the lab up to six clients
            if want("phone"):
                phone_shot(browser, url, api, out)
            if want("presenter"):
                presenter_shot(browser, url, api, out, args.lang)
            if want("projector"):
                projector_shot(browser, url, api, out, args.lang)
            if want("puzzle"):
                puzzle_shots(browser, url, api, out, args.lang)
            if want("polls"):
                poll_shots(browser, out, args.lang)    # a lab of its own: it kills its server
            if want("timeline"):
                timeline_shots(browser, out, args.lang)   # a lab of its own, recorded
            browser.close()
    finally:
        stop_app(proc)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()

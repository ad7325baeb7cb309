"""Screenshots of the dashboard for docs/screenshots/, rerunnable.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots] [--lang zh-CN]

Starts the real app (``python -m app`` on free ports), sets the scene a teacher
would show — three clients (two have sent a message), the worker of the third
terminated and left a zombie, a fourth client closed and reaped together with
its worker — and shoots it in headless Chromium at 1920×1080 and 1280×720 with
the "reaped" tab open, plus the zombie worker's details at 1920×1080.
Needs Debian's chromium and a CJK font (fonts-noto-cjk) for the Chinese text.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SIZES = ((1920, 1080), (1280, 720))


def start_app():
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--port", "0", "--echo-port", "0"], cwd=ROOT,
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
        r = requests.post(self.base + path, json=body, timeout=30)
        r.raise_for_status()
        return r.json()

    def state(self):
        return requests.get(self.base + "/api/state", timeout=30).json()

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
    return zombie


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--lang", default="zh-CN", choices=("zh-CN", "en"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fonts = subprocess.run(["fc-list", ":lang=zh"], check=False, capture_output=True, text=True)
    if not fonts.stdout:
        print("warning: no CJK font installed (apt-get install fonts-noto-cjk): "
              "Chinese text will show as boxes", file=sys.stderr)
    proc, url = start_app()
    try:
        api = Api(url)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
            page.goto(f"{url}/?lang={args.lang}")
            expect(page.locator("[data-connection='connected']")).to_be_visible()
            zombie = set_scene(page, api)
            page.locator(f"#tree g.node[data-pid='{zombie}']").click()
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                page.locator("[role='tab'][data-tab='details']").click()
                page.evaluate("document.querySelector('#panel-details').scrollTop = 0")
                page.wait_for_timeout(500)   # let the tree's 350 ms transition settle
                if width == 1920:
                    path = out / "dashboard-1920-details.png"
                    page.screenshot(path=str(path))
                    print(path)
                page.locator("[role='tab'][data-tab='finished']").click()
                path = out / f"dashboard-{width}.png"
                page.screenshot(path=str(path))
                print(path)
            browser.close()
    finally:
        stop_app(proc)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()

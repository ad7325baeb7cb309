"""E2E fixtures: Debian's Chromium driven by Playwright against the live app.

Playwright's own browser download cannot work here, so the session's launch
arguments point it at /usr/bin/chromium. ``dashboard`` opens the page on a
fresh ``live_app`` and waits until it is connected and has applied the snapshot.
"""

import http.server
import os
import threading

import pytest

from tests.e2e.pages import open_dashboard

CHROMIUM = "/usr/bin/chromium"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # The smaller of the two projector sizes the page is laid out for.
    # The room the page is made for: Chinese-speaking students. Tests that are
    # about another browser language open a context of their own.
    return {**browser_context_args, "viewport": {"width": 1280, "height": 720},
            "locale": "zh-CN"}


@pytest.fixture
def dashboard(live_app, page):
    """The page, connected to a fresh app; closed before the app stops."""
    open_dashboard(page, live_app.url)
    yield page
    page.close()


class _StaticOnly(http.server.SimpleHTTPRequestHandler):
    """The repo's ``static/`` at the same paths the app serves it, and a blank
    page at ``/``: enough to import the page's ES modules, without a lab."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=ROOT, **kwargs)

    def do_GET(self):
        if self.path == "/":
            body = b"<!doctype html><meta charset='utf-8'><title>modules</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/static/"):
            super().do_GET()
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def static_server():
    """A loopback HTTP server for the page's modules alone (no app, no lab)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StaticOnly)
    thread = threading.Thread(target=server.serve_forever, name="static", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def module_page(static_server, page):
    """A blank page from which ``import("/static/js/...")`` loads the page's
    modules: for unit tests of pure modules (the model, the tree layout) in
    the browser that runs them."""
    page.goto(static_server + "/")
    yield page
    page.close()

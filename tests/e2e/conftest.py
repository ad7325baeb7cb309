"""E2E fixtures: Debian's Chromium driven by Playwright against the live app.

Playwright's own browser download cannot work here, so the session's launch
arguments point it at /usr/bin/chromium. ``dashboard`` opens the page on a
fresh ``live_app`` and waits until it is connected and has applied the snapshot.
"""

import pytest

from tests.e2e.pages import open_dashboard

CHROMIUM = "/usr/bin/chromium"


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
    return {**browser_context_args, "viewport": {"width": 1280, "height": 720}}


@pytest.fixture
def dashboard(live_app, page):
    """The page, connected to a fresh app; closed before the app stops."""
    open_dashboard(page, live_app.url)
    yield page
    page.close()

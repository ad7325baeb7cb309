"""The page works under its Content-Security-Policy: scripts and connections from
its own origin only (the Socket.IO websocket included), no inline script. A
violation shows as a ``securitypolicyviolation`` event in the page and a
"Content Security Policy" console error; neither may appear while the page is
used — and a deliberate violation at the end proves the listener hears them."""

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import node, nodes, open_tab, spawn_from_page, wait_connected

pytestmark = pytest.mark.e2e

# Runs before the page's own scripts (Playwright injects it outside the CSP).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI,
                               sample: e.sample, source: e.sourceFile, line: e.lineNumber});
});
"""


def violations(page):
    return page.evaluate("window.__cspViolations")


def test_the_dashboard_runs_without_csp_violations(live_app, page):
    console = []
    page.on("console", lambda m: console.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None)
    page.add_init_script(LISTEN)
    response = page.goto(live_app.url + "/?lang=en")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    wait_connected(page)                       # the websocket got through connect-src

    spawn_from_page(page, 1)                   # an ack over the socket, d3 drawing
    expect(nodes(page, "client")).to_have_count(1)
    # drawn from `created` on, with no pid until it runs
    expect(nodes(page, "client").first).to_have_attribute("data-state", "running")
    client = int(nodes(page, "client").first.get_attribute("data-pid"))
    page.locator(f"input[data-message-for='{client}']").fill("csp")
    page.locator(f"[data-action='send-message'][data-pid='{client}']").click()
    expect(page.locator(f"[data-reply-for='{client}']")).to_contain_text("CSP")
    node(page, client).click()                 # details, source code, the OS truth
    expect(page.locator("#details .os-truth")).to_have_attribute("data-status", "ok")
    open_tab(page, "log")
    expect(page.locator("#log li[data-type='echo']")).to_have_count(1)
    page.locator("[data-action='open-lab']").click()
    expect(page.locator("#lab-dialog")).to_be_visible()
    page.locator("[data-action='close-lab']").click()
    page.locator("[data-action='viewer-link']").click()      # the QR code, an SVG
    expect(page.locator("#viewer-dialog svg.qr")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("#lang-switch").click()

    assert violations(page) == [], violations(page)
    assert console == [], console

    # The listener works: a script the policy forbids (inline) is reported.
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.__inline = 1"; document.body.append(s); }""")
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert violations(page)[0]["directive"].startswith("script-src")
    assert page.evaluate("window.__inline") is None
    page.close()

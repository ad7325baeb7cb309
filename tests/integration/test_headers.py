"""Security headers on every response: the page, static files, the API, errors.

The presenter's first URL carries the token (``/?token=``): no-referrer keeps it
out of Referer headers, frame-ancestors keeps the page out of other sites'
frames, and script-src 'self' without 'unsafe-inline' means an injected
<script> or onclick= does not run."""

import re

import pytest

from tests.integration.test_access import raw_http


def csp(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    policy = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        policy[name] = sources
    return policy


@pytest.mark.parametrize("path, status", [
    ("/", 200),
    ("/?lang=en", 200),
    ("/static/js/main.js", 200),
    ("/static/vendor/d3.esm.min.js", 200),
    ("/static/i18n/en.json", 200),
    ("/api/state", 200),
    ("/api/openapi.json", 200),
    ("/api/nope", 404),
    ("/nope", 404),
    ("/static/nope.js", 404),
    ("/api/clients", 405),
])
def test_every_response_carries_the_headers(api, path, status):
    r = api.get(path)
    assert r.status_code == status, (path, r.text[:200])
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    policy = csp(r)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]            # no 'unsafe-inline', no eval
    assert policy["connect-src"] == ["'self'"]           # ws: to the same origin included
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"]      # the data: favicon
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


def test_errors_before_routing_carry_them_too(api):
    """A control call that is not JSON, a POST with a token redirect, a bad Host."""
    r = api.http.post(api.base + "/api/clients", data=b"x", timeout=10)
    assert r.status_code == 415 and r.headers["X-Content-Type-Options"] == "nosniff"
    r = api.get("/?token=guess", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Referrer-Policy"] == "no-referrer"
    head = raw_http(api.base, b"GET /api/state HTTP/1.1\r\nHost: evil.example\r\n"
                              b"Connection: close\r\n\r\n")
    assert head.startswith("HTTP/1.1 400")
    assert "\r\nX-Content-Type-Options: nosniff\r\n" in head
    assert "\r\nContent-Security-Policy: " in head


def test_the_page_has_no_inline_script_or_handler(api):
    """What script-src 'self' would refuse to run: inline <script> and on*= attributes."""
    html = api.get("/").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts, "the page loads its scripts"
    for attrs, content in scripts:
        assert "src=" in attrs and not content.strip(), attrs
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"

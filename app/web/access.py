"""Who may do what, and from where — for a laptop on a lecture hall's network.

* On loopback with no token (the default) the local user is the presenter.
* With a token (given, or generated when ``--host`` is not loopback) only the
  presenter controls the lab: a REST call carries ``Authorization: Bearer
  <token>``, a Socket.IO connection ``auth={"token": ...}``, and a browser gets
  it once from the presenter URL's ``?token=`` and keeps it in its session
  cookie. Everyone else is a viewer: they see everything, control nothing.
* Tokens are compared in constant time and never logged or echoed back.
* The Host header must be one of the names we serve (DNS rebinding), Socket.IO
  accepts same-origin connections only, and control calls must be JSON (a
  cross-site HTML form cannot send ``application/json``; ``app.web.api``).
"""

import hmac
import ipaddress
import secrets
import socket

import psutil
from flask import jsonify, redirect, request, session, url_for

from app.errors import LabError
from app.settings import LOOPBACK


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_addresses():
    """Every address of this machine's interfaces, and its host names."""
    names = {socket.gethostname(), socket.getfqdn()}
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family in (socket.AF_INET, socket.AF_INET6):
                names.add(a.address.split("%")[0])
    return names


def new_token():
    return secrets.token_urlsafe(16)


def hostname_of(host_header):
    """'[::1]:5000' -> '::1', 'example:5000' -> 'example'."""
    if host_header.startswith("["):
        return host_header[1:].split("]")[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Access:
    def __init__(self, settings):
        self.token = settings.token
        hosts = set(LOOPBACK) | {settings.host} | set(settings.allowed_hosts)
        if settings.host in ("0.0.0.0", "::", ""):
            hosts |= local_addresses()
        self.hosts = {h.lower() for h in hosts}

    # -- identity -------------------------------------------------------------
    def token_ok(self, candidate):
        if self.token is None:
            return True
        if not isinstance(candidate, str):
            return False
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def presenter(self, auth=None):
        """Is the current request (or Socket.IO connection) the presenter's?"""
        if self.token is None:
            return True
        if session.get("presenter"):
            return True
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and self.token_ok(header[len("Bearer "):]):
            return True
        return isinstance(auth, dict) and self.token_ok(auth.get("token"))

    # -- where from -------------------------------------------------------------
    def host_ok(self, host_header):
        return hostname_of(host_header or "").lower() in self.hosts

    def origin_ok(self, origin, environ):
        """Socket.IO's CORS check: same origin, on a host we serve."""
        host = environ.get("HTTP_HOST", "")
        if not self.host_ok(host):
            return False
        return origin in (f"http://{host}", f"https://{host}")

    # -- wiring -------------------------------------------------------------------
    def install(self, app):
        """Check the Host of every request; take a presenter URL's token once.

        Who may act is not decided here but in ``app.web.dispatch``, for REST
        and Socket.IO alike, from ``presenter()``."""
        @app.before_request
        def guard():
            if not self.host_ok(request.host):
                return jsonify(LabError(400, "bad_host", "unexpected Host header").to_json()), 400
            token = request.args.get("token")
            if request.path == "/" and token is not None:
                # once: into the session cookie, and out of the address bar
                # (the projector shows the address bar)
                if self.token_ok(token):
                    session["presenter"] = True
                args = {k: v for k, v in request.args.items() if k != "token"}
                return redirect(url_for("index", **args))
            return None

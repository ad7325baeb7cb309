"""A relay's app: the dashboard's page and read-only contract, served from a copy.

It is built from the dashboard's own parts — the page, ``app.web.api``'s
routes and ``app.web.sockets``' handlers over the one ``dispatch`` table,
the headers, the Host and origin checks, the hall and its fan-out — around a
``Relay`` object that stands where the dashboard's ``Forkscope`` does:

* ``hub`` is the ``Mirror`` (``app.relay.mirror``): snapshots and events come
  from the relay's own registry, never from the dashboard;
* ``access`` says nobody is the presenter, whatever token or cookie they
  bring: every control (REST ``POST``, a Socket.IO action) is ``403
  forbidden`` by ``dispatch``, as for any viewer, and the page shows none;
* ``controller`` answers the reads: the table and events from the mirror;
  lab settings, the step mode, the lesson, the puzzle, the recent polls and
  the last ``/proc`` check as the dashboard last sent them (``relay_side``) —
  a relay's ``/api/truth`` is the dashboard's check (with ``at``, when it
  ran), not its own machine's. What only the dashboard can answer (a vote,
  the CPU meter) is ``503 relay_unavailable``; a relay records nothing.
"""

import contextlib
import json
import os
import secrets
import threading
import time

from flask import Flask, render_template
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from app.errors import LabError
from app.relay.mirror import Mirror, RelayManager
from app.relay.wire import CHANNEL, HEARTBEAT, hello_channel, redis_module
from app.web import headers, sockets
from app.web.access import Access
from app.web.api import api, http_error
from app.web.controller import Controller, require_pid
from app.web.fanout import Fanout
from app.web.hall import Hall

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ViewerAccess(Access):
    """The dashboard's Host and origin checks; nobody may act."""

    def presenter(self, auth=None):
        return False


def unavailable(what):
    return LabError(503, "relay_unavailable",
                    f"{what}: ask the dashboard, a relay only relays what it shows")


class RelayPuzzles:
    """The puzzle as the dashboard last showed it (``relay_side``, ``puzzle``)."""
    current = None

    def __init__(self, mirror):
        self.mirror = mirror

    def overview(self):
        return {"puzzle": self.mirror.side.get("puzzle")}

    def get(self, puzzle_id):
        puzzle = self.mirror.side.get("puzzle")
        if puzzle is None or str(puzzle.get("id")) != str(puzzle_id):
            raise LabError(404, "no_puzzle", f"no puzzle {puzzle_id} is running",
                           id=str(puzzle_id))
        return puzzle


class RelayPolls:
    """The recent polls as a viewer of the dashboard sees them; no vote here."""

    def __init__(self, mirror):
        self.mirror = mirror

    def connected(self, sid, auth, presenter, emit):
        pass   # the poll's state reaches a relay's page by the events and GET /api/polls

    def disconnected(self, sid):
        pass

    def list(self, caller):
        return self.mirror.side.get("polls") or {"polls": []}

    def get(self, poll, caller):
        for p in self.list(caller)["polls"]:
            if str(p.get("id")) == str(poll):
                return p
        raise LabError(404, "no_poll", f"there is no poll {poll}", poll=str(poll))

    def vote(self, body, caller):
        raise unavailable("votes are counted by the dashboard")


class RelayController(Controller):
    """The reads of ``app.web.controller.Controller``, from the mirror and from
    what the dashboard last sent. Actions never get here (``dispatch``: 403)."""

    def __init__(self, settings, mirror):
        super().__init__(settings, lab=None, hub=mirror)
        self.mirror = mirror

    def _side(self, key, what):
        value = self.mirror.side.get(key)
        if value is None:
            raise LabError(503, "relay_waiting", f"the dashboard has not sent {what} yet")
        return value

    def lab_settings(self):
        return self._side("lab", "its lab settings")

    def step_state(self):
        return dict(self._side("step", "its step mode"), waiting=self.hub.read(self._waiting))

    def lesson_current(self):
        return self.mirror.side.get("lesson") or {"lesson": None, "step": 0}

    def cpu(self):
        raise unavailable("the CPU meter reads the dashboard's machine")

    def truth(self, detail=True, pid=None):
        truth = self._side("truth", "a /proc check")
        if pid is None:
            return truth
        only = require_pid(pid)
        rows = [r for r in truth["processes"] if r["pid"] == only]
        if not rows:   # not "no such process": the check is older than this process
            raise LabError(503, "relay_truth_stale",
                           f"the dashboard's last /proc check does not cover pid {only} yet",
                           pid=only)
        return dict(truth, processes=rows)


class Relay:
    """What a relay owns, where the dashboard has its ``Forkscope``."""

    def __init__(self, settings, url, channel, access, socketio, fanout, mirror):
        self.settings = settings
        self.url = url
        self.channel = channel
        self.access = access
        self.socketio = socketio
        self.fanout = fanout
        self.hub = mirror             # what app.web.sockets asks for snapshots
        self.mirror = mirror
        self.controller = RelayController(settings, mirror)
        # the dashboard's desks, as a relay can answer them (reads only)
        self.puzzles = RelayPuzzles(mirror)
        self.polls = RelayPolls(mirror)
        self.recorder = None          # a relay records nothing: GET /api/recordings says so
        self.recordings = None
        self.viewer_url = None        # set by the CLI: this relay's own address
        self.id = f"relay-{secrets.token_hex(4)}"
        self._stopping = threading.Event()
        self._hello = threading.Thread(target=self._hello_loop, name="relay-hello", daemon=True)

    def start(self):
        self.fanout.hall.start()
        server = self.socketio.server
        if not server.manager_initialized:   # listen now, not at the first viewer
            server.manager_initialized = True
            server.manager.initialize()
        self._hello.start()

    def shutdown(self):
        self._stopping.set()
        self.mirror.need_state.set()
        if self._hello.is_alive():
            self._hello.join(5)
        self.fanout.close()

    def viewers(self):
        return sum(1 for _ in self.socketio.server.manager.get_participants("/", None))

    def _hello_loop(self):
        """Say we are here: every second while we need a state (the dashboard
        may not be up yet), else every HEARTBEAT — at once if we lose our place."""
        client = redis_module().Redis.from_url(self.url, socket_connect_timeout=2,
                                               socket_timeout=5)
        manager = self.socketio.server.manager
        next_hello = 0.0
        while not self._stopping.is_set():
            manager.check_reconnected()
            want = self.mirror.want_state
            if want or time.monotonic() >= next_hello:
                with contextlib.suppress(Exception):   # Redis gone: the listener says so
                    client.publish(hello_channel(self.channel), json.dumps(
                        {"relay": self.id, "want_state": want, "viewers": self.viewers()}))
                next_hello = time.monotonic() + HEARTBEAT
            # a second at most: while we wait for a state, and to notice a reconnect
            if want:
                self._stopping.wait(1.0)
            else:
                self.mirror.need_state.wait(1.0)   # wakes at once if we lose our place
        client.close()


def create_relay_app(settings, url, channel=CHANNEL):
    """The relay's Flask app; ``app.extensions["forkscope"]`` is its ``Relay``."""
    redis_module()   # a clear error now, not in a thread later
    app = Flask(__name__, static_folder=os.path.join(ROOT, "static"),
                template_folder=os.path.join(ROOT, "templates"))
    app.config.update(SECRET_KEY=secrets.token_bytes(32), SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_HTTPONLY=True)
    access = ViewerAccess(settings)
    access.install(app)
    headers.install(app)
    manager = RelayManager(url, channel, mirror=None)
    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=access.origin_ok,
                        client_manager=manager)
    fanout = Fanout(socketio, Hall(backlog=settings.viewer_backlog))
    manager.mirror = Mirror(fanout, keep=settings.events_kept)
    relay = Relay(settings, url, channel, access, socketio, fanout, manager.mirror)
    app.extensions["forkscope"] = relay
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, http_error)
    sockets.register(socketio, relay)

    @app.get("/")
    def index():
        return render_template("index.html")

    @app.get("/replay")
    def replay():   # a recording opened from a file: no lab, no socket (static/js/replay.js)
        return render_template("replay.html")

    return app

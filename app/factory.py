"""The app factory: one dashboard's parts wired together (Flask's pattern).

Kept out of ``app/__init__.py`` on purpose: the echo server is started with
``spawn`` and imports ``app.lab`` in a fresh interpreter; if importing the
``app`` package pulled in Flask, every lab process would carry it.
"""


import multiprocessing
import os
import secrets

from flask import Flask, render_template
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from app.lab.supervisor import Lab
from app.model.registry import Registry
from app.settings import Settings
from app.web import headers, sockets
from app.web.access import Access
from app.web.api import api, http_error
from app.web.controller import Controller
from app.web.fanout import Fanout
from app.web.hall import Hall
from app.web.hub import Hub
from app.web.polls import PollDesk
from app.web.puzzles import PuzzleDesk
from app.web.recorder import Listing, Recorder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Forkscope:
    """Everything one dashboard owns, wired together; ``start``/``shutdown``."""

    def __init__(self, settings, fanout):
        # The queue comes from the spawn context: a Queue whose lock was made
        # in the fork context refuses to be pickled for spawn and forkserver
        # workers, while one from spawn also works in forked children. (Its
        # named semaphore is why multiprocessing's resource_tracker runs.)
        self.settings = settings
        self.queue = multiprocessing.get_context("spawn").Queue()
        self.registry = Registry(os.getpid(), os.getppid(), keep=settings.events_kept)
        self.recorder = self._recorder(settings)
        self.recordings = Listing()
        self.fanout = fanout    # the hub emits through it (app/web/fanout.py)
        self.hub = Hub(self.registry, self.queue, fanout, recorder=self.recorder)
        self.lab = Lab(settings, self.queue, lab_process_info=self._lab_process_info)
        self.controller = Controller(settings, self.lab, self.hub)
        self.polls = PollDesk(self.hub)
        # OSTEP's fork-tree puzzles; "ask the room" is a poll
        self.puzzles = PuzzleDesk(settings, self.lab, self.hub, polls=self.polls)
        self.started = False
        self.access = None
        self.viewer_url = None  # set by the CLI, which knows the address students use

    def _lab_process_info(self, pid):
        def info(registry):
            p = registry.get(pid)
            if p is None or p["role"] == "dashboard":
                return None
            return {k: p[k] for k in ("uid", "role", "ppid", "state", "old_ppid")}
        return self.hub.read(info)

    def start(self):
        self.fanout.hall.start()
        if self.settings.message_queue:   # viewer relays (app/relay): fed from the fan-out
            from app.relay.feed import Feed
            self.fanout.feed = Feed(self.settings.message_queue, self)
            self.fanout.feed.start()
        if self.recorder is not None:  # before any event: part 1 starts at seq 0
            self.hub.read(self.recorder.start)
        self.hub.start()
        self.started = True
        self.lab.start()

    def shutdown(self):
        if not self.started:
            return
        self.started = False
        try:
            self.lab.shutdown()
        finally:
            self.hub.stop()
            if self.fanout.feed is not None:
                self.fanout.feed.stop()
            self.fanout.close()
            if self.recorder is not None:  # the hub's last batch is in: close the file
                self.recorder.close()

    # -- recording (app/web/recorder.py) ---------------------------------------------
    def _recorder(self, settings):
        if settings.record is None:
            return None
        return Recorder(settings.record, int(settings.record_max_mb * 1024 * 1024),
                        describe=lambda: self.settings.lab.to_json())

    def recording_note(self):
        """One line for the terminal: where this session is recorded, or why not."""
        rec = self.recorder
        if rec is None:
            return "Recording: off (--no-record)"
        if rec.error is not None:
            return f"Recording: failed ({rec.error}); the dashboard runs without it"
        return f"Recording: {rec.parts[0].path if rec.parts else rec.directory}"


def create_app(settings=None, start=True):
    settings = settings or Settings()
    app = Flask(__name__, static_folder=os.path.join(ROOT, "static"),
                template_folder=os.path.join(ROOT, "templates"))
    app.config.update(FORKSCOPE_SETTINGS=settings, SECRET_KEY=secrets.token_bytes(32),
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    access = Access(settings)
    access.install(app)
    headers.install(app)
    socketio = SocketIO(app, async_mode="threading", cors_allowed_origins=access.origin_ok)
    hall = Hall(backlog=settings.viewer_backlog)
    forkscope = Forkscope(settings, Fanout(socketio, hall))
    forkscope.access = access
    app.extensions["forkscope"] = forkscope
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, http_error)
    sockets.register(socketio, forkscope)

    @app.get("/")
    def index():
        return render_template("index.html")

    # A recorded lecture, replayed in the browser (static/js/replay.js): the
    # page reads the file itself; it needs no lab, no presenter, no socket.
    @app.get("/replay")
    def replay():
        return render_template("replay.html")

    if start:
        forkscope.start()
    return app

"""Fixtures: a live Forkscope per test, and a guard that no test leaves a process.

``live_app`` runs the real app — real lab processes, real sockets — served by
Werkzeug in a thread on an ephemeral loopback port, with the echo server on
another ephemeral port.
"""

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from multiprocessing import resource_tracker

import psutil
import pytest
from werkzeug.serving import make_server

from app import create_app
from app.settings import Settings
from tests.helpers import Api, wait_until

# multiprocessing's resource_tracker is one per process tree and lives as long
# as this test process: start it now, so that no test counts it as its own.
resource_tracker.ensure_running()

# The default recordings directory is under $XDG_DATA_HOME: a dashboard a test
# starts without --record / --no-record must not write into the real home.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="forkscope-test-data-")
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], ignore_errors=True)


def our_processes(before):
    """Descendants of this test process that are Python like us (forks of the lab,
    or ``python -m app`` subprocesses) and were not there before the test —
    zombies included: an unreaped child is left behind too. Chromium and the
    Playwright driver are other programs and are not counted."""
    me = psutil.Process()
    found = []
    for p in me.children(recursive=True):
        try:
            if p.pid not in before and p.name() == me.name():
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


def reap_adopted_zombies(before):
    """Reap, by pid, the exited Python processes that were handed to this test
    process. Once a test has made pytest a child subreaper (it stays one), the
    kernel re-parents here every orphan of a lab whose dashboard was killed —
    in a lecture they would go to init (or the teacher's shell), which reaps
    them. They have exited: what is left is only their exit status, addressed
    to us. A zombie whose parent is a lab process is still a leak, and so is
    anything alive."""
    me = psutil.Process()
    for p in me.children():
        try:
            if (p.pid not in before and p.status() == psutil.STATUS_ZOMBIE
                    and p.name() == me.name()):
                os.waitpid(p.pid, os.WNOHANG)
        except (psutil.NoSuchProcess, ChildProcessError):
            pass


def nothing_left(before):
    reap_adopted_zombies(before)
    return not our_processes(before)


@pytest.fixture(autouse=True)
def no_process_left_behind():
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    try:
        wait_until(lambda: nothing_left(before), timeout=5,
                   message="the test's processes to be gone")
    except AssertionError:
        left = our_processes(before)
        described = [(p.pid, p.ppid(), p.status()) for p in left]
        for p in left:  # clean up so one leak does not fail every later test
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        pytest.fail(f"processes left behind (pid, ppid, status): {described}")


@dataclass
class LiveApp:
    url: str
    app: object
    api: Api

    @property
    def forkscope(self):
        return self.app.extensions["forkscope"]

    @property
    def echo_address(self):
        return self.forkscope.lab.echo_address


def serve(settings):
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    return LiveApp(url, app, Api(url)), server


@contextlib.contextmanager
def running(settings):
    """A live app for the length of a ``with`` block; everything reaped after."""
    live, server = serve(settings)
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        live.forkscope.shutdown()


@pytest.fixture
def settings():
    return Settings(port=0, echo_port=0)


@pytest.fixture
def live_app(settings):
    with running(settings) as live:
        yield live


@pytest.fixture
def api(live_app):
    return live_app.api


@pytest.fixture
def dashboard_pid():
    return os.getpid()

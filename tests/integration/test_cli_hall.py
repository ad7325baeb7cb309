"""``python -m app``'s lecture-hall options (issue 15): the viewer link can name a
relay; a wrong ``--message-queue`` is a clear error before anything starts;
``python -m app relay`` says what it needs."""

import subprocess
import sys

import requests

from tests.helpers import ROOT, dashboard_process

RELAY = "http://192.0.2.10:5001/"    # RFC 5737: a documentation address


def run_app(*args):
    return subprocess.run([sys.executable, "-m", "app", *args], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


def test_the_viewer_link_and_qr_can_name_a_relay():
    with dashboard_process("--viewer-url", RELAY) as (proc, url, _):
        printed = []
        while not any(line.startswith("Viewers") for line in printed):
            printed.append(proc.stdout.readline())
        assert printed[-1].split()[-1] == RELAY
        # the page's viewer-link dialog (and its QR code) shows whoami's viewer_url
        assert requests.get(url + "/api/whoami", timeout=10).json()["viewer_url"] == RELAY
        proc.terminate()
        proc.communicate(timeout=60)


def test_a_message_queue_that_is_not_redis_is_refused_at_once():
    done = run_app("--port", "0", "--echo-port", "0", "--message-queue", "http://127.0.0.1:1/")
    assert done.returncode == 2
    assert "--message-queue must be a redis:// URL" in done.stderr
    assert "Forkscope dashboard" not in done.stdout      # nothing was started


def test_a_relay_needs_its_message_queue():
    done = run_app("relay", "--port", "0")
    assert done.returncode == 2 and "--message-queue" in done.stderr
    done = run_app("relay", "--port", "0", "--message-queue", "amqp://x")
    assert done.returncode == 2 and "must be a redis:// URL" in done.stderr

"""Integration fixtures beside tests/conftest.py's live app."""

import pytest
import socketio

from tests.helpers import disconnect_all


@pytest.fixture
def sio(live_app):
    """A python-socketio client on the live app (loopback: the presenter)."""
    client = socketio.Client()
    client.connect(live_app.url, transports=["websocket"])
    yield client
    disconnect_all([client])

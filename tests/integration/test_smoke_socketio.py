import socketio


def test_socketio_websocket_snapshot(live_app):
    got = []
    sio = socketio.Client()
    sio.on("snapshot", lambda data: got.append(data))
    sio.connect(live_app.url, transports=["websocket"])
    try:
        from tests.helpers import wait_until
        wait_until(lambda: got, message="snapshot")
        assert got[0]["processes"][0]["role"] == "dashboard"
        ack = sio.call("spawn_client", {"count": 2}, timeout=10)
        assert ack["ok"] and ack["status"] == 201 and len(ack["body"]["pids"]) == 2
    finally:
        sio.disconnect()

"""Socket.IO: a snapshot on connect, then the hub's events; the same actions as
REST, each answered with an ack ``{"ok": true, ...}`` or ``{"ok": false, "error"}``."""

import functools

from flask import request

from app.errors import LabError

FORBIDDEN = LabError(403, "forbidden", "only the presenter can do that")


def register(socketio, forkscope):
    c = forkscope.controller
    access = forkscope.access
    presenters = set()  # sids of presenter connections

    def ack(fn):
        @functools.wraps(fn)
        def handler(data=None):
            try:
                if request.sid not in presenters:
                    raise FORBIDDEN
                if data is not None and not isinstance(data, dict):
                    raise LabError(400, "bad_input", "the payload must be an object",
                                   reason="not_object")
                return {"ok": True, **fn(data or {})}
            except LabError as exc:
                return {"ok": False, "status": exc.status, **exc.to_json()}
        return handler

    @socketio.on("connect")
    def connect(auth=None):
        if not access.host_ok(request.host):
            return False
        presenter = access.presenter(auth)
        if presenter:
            presenters.add(request.sid)
        socketio.emit("access", {"presenter": presenter}, to=request.sid)
        forkscope.hub.send_snapshot(request.sid)
        return None

    @socketio.on("disconnect")
    def disconnect(reason=None):
        presenters.discard(request.sid)

    actions = {
        "spawn_client": lambda d: c.spawn_clients({"count": d.get("count", 1)}),
        "send_message": lambda d: c.send_message(d.get("pid"), {"text": d.get("text")}),
        "close_client": lambda d: {"process": c.close_client(d.get("pid"))},
        "terminate": lambda d: {"process": c.signal(d.get("pid"), "terminate")},
        "kill": lambda d: {"process": c.signal(d.get("pid"), "kill")},
        "join": lambda d: {"process": c.join(d.get("pid"), {
            k: v for k, v in d.items() if k == "timeout"})},
        "restart_server": lambda d: c.restart_server(),
        "lab_settings": lambda d: c.change_lab_settings(d),
        "daemon_demo": lambda d: c.daemon_demo(),
    }
    for name, action in actions.items():
        socketio.on_event(name, ack(action))

    @socketio.on("*")
    def unknown(event, data=None):
        return {"ok": False, "status": 400, "error": f"unknown event {event!r}",
                "code": "unknown_event", "params": {"event": str(event)}}


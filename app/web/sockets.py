"""Socket.IO: a snapshot on connect, then the hub's events; and the actions,
each a thin edge over ``dispatch`` — the same table, checks and bodies as REST.

Every event a client emits is answered with an ack, whatever happens:

* ``{"ok": true, "status": 201, "body": <exactly the REST body>}``, or
* ``{"ok": false, "status": 403, "error", "code", "params"}``: the status and
  the REST error body (``LabError.to_json``), flat, so ``ack.code`` reads alike.

A connection is the presenter's if ``Access.presenter`` said so when it
connected (a token in ``auth``, or the session cookie); it stays so until it
disconnects. It is also bound to a voter when it connects (``auth.voter``,
``app.web.polls``), and gets the current poll (``poll``) after its snapshot.
"""

from flask import request
from flask_socketio import join_room

from app.web.dispatch import Caller, dispatch
from app.web.polls import PRESENTERS


def ack(status, body):
    """The ack for ``dispatch``'s answer (see the module's docstring)."""
    if status < 400:
        return {"ok": True, "status": status, "body": body}
    return {"ok": False, "status": status, **body}


def register(socketio, forkscope):
    access = forkscope.access
    fanout = forkscope.fanout   # app/web/fanout.py: one frame for every viewer
    presenters = set()  # sids of presenter connections

    @socketio.on("connect")
    def connect(auth=None):
        if not access.host_ok(request.host):
            return False
        presenter = access.presenter(auth)
        if presenter:
            presenters.add(request.sid)
            join_room(PRESENTERS)   # a poll's live counts (app/web/polls.py)
        fanout.emit("access", {"presenter": presenter}, to=request.sid)
        forkscope.hub.send_snapshot(request.sid)
        sid = request.sid
        forkscope.polls.connected(sid, auth, presenter,
                                  lambda name, data: fanout.emit(name, data, to=sid))
        return None

    @socketio.on("disconnect")
    def disconnect(reason=None):
        presenters.discard(request.sid)
        fanout.leave(request.sid)
        forkscope.polls.disconnected(request.sid)

    @socketio.on("*")
    def action(event, data=None):
        """Every other event is an action (``unknown_event`` if the table has no
        such Socket.IO action)."""
        caller = Caller(presenter=request.sid in presenters, connection=request.sid)
        return ack(*dispatch(forkscope, event, data, caller))

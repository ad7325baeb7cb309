"""Socket.IO messages to viewers, through the hall (``app.web.hall``).

Two pieces:

* ``HallSocket``, an Engine.IO websocket driver (given to python-engineio by
  ``app.web.eio_internals``). It is simple-websocket's, but every byte it
  would write to the socket goes to the hall instead: the handshake, pings,
  acks, the close frame. It also declines permessage-deflate: a compressed
  frame depends on each connection's own compression context, so it could
  not be one frame for everyone.
* ``Fanout``, what the hub emits through (it has Flask-SocketIO's
  ``emit(name, data, to=None)``). A message is encoded once — Socket.IO
  packet, Engine.IO packet, websocket frame, with the libraries' own
  encoders — and the hall writes those bytes to every viewer. A viewer's
  ``snapshot`` makes it a member: it gets every broadcast after it, none
  before, so the hub's rule (snapshot at ``seq`` S, then S+1, S+2, ...)
  holds on the wire. A viewer that connected by HTTP long-polling has no
  socket of its own for the hall: it is served through Socket.IO as before,
  the same messages in the same order.

The relay feed (``app.relay.feed``), when there is one, gets every broadcast
too, under the same lock, so relays see the order viewers see. The fan-out's
own emits never go through a message queue (``ignore_queue``): on a relay,
Socket.IO's client manager is the queue's reader (``app.relay.mirror``).
"""

import contextlib
import threading

import simple_websocket
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from app.web.eio_internals import set_websocket_class
from app.web.hall import text_frame

NAMESPACE = "/"


class _HallSock:
    """What simple-websocket takes for its socket: reads from the real one,
    writes through the hall. Closing is the server's job (after ``detach``)."""

    def __init__(self, sock, hall, conn):
        self._sock = sock
        self._hall = hall
        self._conn = conn

    def recv(self, n):
        return self._sock.recv(n)

    def send(self, data):
        self._hall.send(self._conn, bytes(data))
        return len(data)

    sendall = send

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self._sock, name)


class HallSocket:
    """Engine.IO's websocket driver, writing through *hall* (see the module)."""

    def __init__(self, hall, handler, server):
        self.hall = hall
        self.app = handler
        # the handler is the Engine.IO socket's bound method: its sid names us
        owner = getattr(handler, "__self__", None)
        self.key = getattr(owner, "sid", None)
        self.ws = None

    def __call__(self, environ, start_response):
        mode, raw = next(((k, environ[k]) for k in ("werkzeug.socket", "gunicorn.socket")
                          if k in environ), (None, None))
        if raw is None:
            raise RuntimeError("no socket in the WSGI environment")
        conn = self.hall.attach(raw, self.key)
        env = dict(environ)
        env.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)  # no permessage-deflate
        env[mode] = _HallSock(raw, self.hall, conn)
        try:
            self.ws = simple_websocket.Server(env)
            self.app(self)
        finally:
            self.hall.detach(conn)   # before the server closes the socket
        # as simple-websocket's driver: tell the server the socket is not HTTP any more
        if mode == "gunicorn.socket":
            raise StopIteration()
        raise ConnectionError()

    def close(self):
        if self.ws is not None and self.ws.connected:
            self.ws.close()
        conn = self.hall.conn(self.key)
        if conn is not None:
            self.hall.close_when_sent(conn)

    def send(self, message):
        try:
            return self.ws.send(message)
        except simple_websocket.ConnectionClosed:
            raise OSError() from None

    def wait(self):
        try:
            return self.ws.receive()
        except simple_websocket.ConnectionClosed:
            return None


class Fanout:
    """``emit`` for the hub: through the hall to websocket viewers, through
    Socket.IO to the others (see the module)."""

    def __init__(self, socketio, hall):
        self.socketio = socketio
        self.hall = hall
        self.feed = None            # app.relay.feed.Feed, with --message-queue
        self._polling = set()       # members served by Socket.IO (no hall socket)
        self._guard = threading.Lock()
        set_websocket_class(socketio.server.eio,
                            lambda handler, server: HallSocket(hall, handler, server))

    @staticmethod
    def encode(name, data):
        """The websocket frame of Socket.IO event *name* with *data*, as
        python-socketio and python-engineio would write it."""
        text = sio_packet.Packet(sio_packet.EVENT, namespace=NAMESPACE,
                                 data=[name, data]).encode()
        return text_frame(eio_packet.Packet(eio_packet.MESSAGE, text).encode())

    def _conn_of(self, sid):
        try:
            eio_sid = self.socketio.server.manager.eio_sid_from_sid(sid, NAMESPACE)
        except KeyError:
            return None
        return self.hall.conn(eio_sid)

    def emit(self, name, data, to=None):
        """To everyone with a snapshot (``to=None``), or to one viewer's sid;
        a ``snapshot`` makes that viewer a member."""
        if to is None:
            if self.hall.has_members():
                self.hall.broadcast(self.encode(name, data))
            with self._guard:
                polling = sorted(self._polling)
            if polling:
                self.socketio.emit(name, data, to=polling, ignore_queue=True)
            if self.feed is not None:
                self.feed.put(name, data)
            return
        conn = self._conn_of(to)
        if conn is None:
            self.socketio.emit(name, data, to=to, ignore_queue=True)
            if name == "snapshot":
                with self._guard:
                    self._polling.add(to)
        elif name == "snapshot":
            self.hall.join(conn, self.encode(name, data))
        else:
            self.hall.send(conn, self.encode(name, data))

    def leave(self, sid):
        """*sid* disconnected: no more broadcasts to it (called while Socket.IO
        still knows its Engine.IO connection)."""
        with self._guard:
            self._polling.discard(sid)
        conn = self._conn_of(sid)
        if conn is not None:
            self.hall.leave(conn)

    def close(self):
        with contextlib.suppress(Exception):
            self.hall.stop()

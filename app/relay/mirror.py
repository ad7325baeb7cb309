"""The relay's side: its own registry, fed by the queue, and its viewers.

``RelayManager`` is Flask-SocketIO's Redis message queue as a relay reads it
(python-socketio's ``RedisManager``, its listener thread): each message for
the namespace goes to the ``Mirror`` first. The mirror is the relay's hub —
the same ``read`` / ``wait_for`` / ``send_snapshot`` as ``app.web.hub.Hub``,
under one condition lock:

* a ``relay_state`` replaces its registry (``Registry.restore``) when it
  asked for one (or the dashboard restarted);
* an ``events`` batch is applied event by event (``Registry.follow``) and
  then broadcast to its viewers through its own fan-out, under the lock;
* a batch that is not the next seq — messages lost while the relay's
  connection to Redis was down, or while it was too slow for Redis's output
  buffer — is dropped, and the relay asks for a new state; when it comes,
  every viewer gets a fresh snapshot. So a relay's viewer, like the
  dashboard's, gets a snapshot and then every next seq, never a gap.

A viewer that connects before the relay has any state waits for it (up to
``WAIT_STATE``), then is refused: its page retries.
"""

import logging
import threading

from socketio import RedisManager
from socketio.exceptions import ConnectionRefusedError as Refused

from app.errors import LabError
from app.model.registry import OutOfStep, Registry
from app.relay.wire import RELAYS, SIDE, STATE

WAIT_STATE = 10.0

log = logging.getLogger("forkscope.relay")


class Mirror:
    def __init__(self, fanout, keep=10_000, logger=log):
        self.fanout = fanout
        self.keep = keep
        self.log = logger
        self.cond = threading.Condition()
        self.registry = None
        self.epoch = None
        # what the page reads besides the table, as the dashboard last sent it
        self.side = {"lab": None, "step": None, "truth": None, "lesson": None,
                     "puzzle": None, "polls": None}
        self.want_state = True
        self.resyncs = 0          # states adopted after the first
        self.need_state = threading.Event()   # wakes the hello thread
        self.need_state.set()

    # -- the hub's interface (app.web.sockets, the controller) ---------------------------------
    def read(self, fn):
        with self.cond:
            if self.registry is None:
                raise LabError(503, "relay_waiting",
                               "this relay has no state from the dashboard yet")
            return fn(self.registry)

    def wait_for(self, predicate, timeout):
        with self.cond:
            return self.cond.wait_for(
                lambda: self.registry is not None and predicate(self.registry), timeout)

    def send_snapshot(self, sid):
        with self.cond:
            if not self.cond.wait_for(lambda: self.registry is not None, WAIT_STATE):
                raise Refused("this relay is waiting for the dashboard")
            self.fanout.emit("snapshot", self.registry.snapshot(), to=sid)

    # -- from the queue (RelayManager's thread) ------------------------------------------------
    def on_state(self, state):
        with self.cond:
            if not self.want_state and state.get("epoch") == self.epoch:
                return   # another relay asked for it
            again = self.registry is not None
            self.registry = Registry.restore(state["snapshot"], state.get("joined"),
                                             state.get("events", ()), keep=self.keep)
            self.epoch = state.get("epoch")
            self.side.update(state.get("side") or {})
            self.want_state = False
            self.need_state.clear()
            if again:
                self.resyncs += 1
                self._snapshot_everyone()
            self.cond.notify_all()
        self.log.info("relay: following the dashboard from seq %d", state["snapshot"]["seq"])

    def on_events(self, events):
        with self.cond:
            if self.registry is None or self.want_state or not events:
                return   # a state is on its way: it covers these
            try:
                for event in events:
                    self.registry.follow(event)
            except OutOfStep as gap:
                self._lost(str(gap))
                return
            self.fanout.emit("events", events)
            self.cond.notify_all()

    def on_side(self, side):
        with self.cond:
            self.side.update(side)

    def on_broadcast(self, name, data):
        """Any other message the dashboard broadcast: to every viewer, in order."""
        with self.cond:
            if name == "puzzle" and isinstance(data, dict):
                self.side["puzzle"] = data.get("puzzle")   # GET /api/puzzles, at once
            if self.registry is not None and not self.want_state:
                self.fanout.emit(name, data)

    def lost(self, why):
        with self.cond:
            self._lost(why)

    # -- inside the lock -----------------------------------------------------------------------
    def _lost(self, why):
        if not self.want_state:
            self.log.warning("relay: lost its place (%s); asking the dashboard for the state",
                             why)
        self.want_state = True
        self.need_state.set()

    def _snapshot_everyone(self):
        snapshot = self.registry.snapshot()
        server = self.fanout.socketio.server
        for sid, _ in list(server.manager.get_participants("/", None)):
            self.fanout.emit("snapshot", snapshot, to=sid)


class RelayManager(RedisManager):
    """Flask-SocketIO's Redis message queue, read by a relay (see the module).

    Everything the relay itself emits goes with ``ignore_queue`` (the
    fan-out's emits): nothing a relay does is published."""

    def __init__(self, url, channel, mirror):
        super().__init__(url, channel=channel,
                         redis_options={"socket_connect_timeout": 2, "socket_keepalive": True})
        self.mirror = mirror
        self._seen = None

    def check_reconnected(self):
        """Called every second (the relay's hello thread): the listener makes a
        new pub/sub connection each time it reconnects, and whatever was
        published while it was away is gone: the relay asks for the state."""
        current = self.pubsub
        if current is not None and current is not self._seen:
            if self._seen is not None:
                self.mirror.lost("reconnected to Redis")
            self._seen = current

    def _handle_emit(self, message):
        if (message.get("namespace") or "/") != "/":
            return
        data = message.get("data") or [None]
        payload = data[0] if len(data) == 1 else data
        name, room = message.get("event"), message.get("room")
        if room == RELAYS:
            if name == STATE and isinstance(payload, dict):
                self.mirror.on_state(payload)
            elif name == SIDE and isinstance(payload, dict):
                self.mirror.on_side(payload)
        elif room is not None:
            return   # for one of another server's viewers
        elif name == "events" and isinstance(payload, list):
            self.mirror.on_events(payload)
        else:
            self.mirror.on_broadcast(name, payload)

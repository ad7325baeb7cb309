"""The dashboard's side of the relays: its broadcasts, in order, to Redis.

``Fanout.emit`` (``app.web.fanout``) calls ``put`` for every broadcast, under
the hub's lock, right after handing it to the dashboard's own viewers: the
feed's queue has the viewers' order. One thread publishes it, through
python-socketio's ``RedisManager`` — Flask-SocketIO's message queue, write
only, as its documentation has an external process emit. The hub never
waits for Redis: if Redis is slow or gone, the queue grows (to
``MAX_QUEUED``, then it is emptied: the relays will see the gap and ask
again), and the log says so once.

A relay that starts, or lost its place, says ``want_state`` on the hello
channel (``app.relay.wire``). The feed then takes the state under the hub's
lock — the snapshot, the reaped order, the last events — and queues it like
a batch: the relay gets it between the same two batches as the dashboard's
viewers would. While relays are alive (a hello within ``ALIVE`` seconds) it
also sends what the page reads besides the table (``relay_side``), as a
viewer would read it: lab settings, the step mode, the lesson the presenter
is at, the puzzle, the recent polls — checked every second, sent when they
change — and a ``/proc`` check every ``TRUTH_EVERY`` seconds.
"""

import collections
import contextlib
import json
import logging
import secrets
import threading
import time

from socketio import RedisManager

from app.relay.wire import (
    ALIVE,
    CHANNEL,
    HISTORY,
    RELAYS,
    SIDE,
    STATE,
    hello_channel,
    redis_module,
)

MAX_QUEUED = 10_000       # messages waiting for Redis before the feed lets them go
TRUTH_EVERY = 5.0         # seconds between /proc checks sent to relays
RETRY = 1.0               # seconds between attempts to reach Redis

log = logging.getLogger("forkscope.relay")


class Publisher(RedisManager):
    """python-socketio's RedisManager, write only, whose failures raise (the
    feed says so once) instead of being logged for every message."""

    def _publish(self, data):
        if not self.connected:
            self._redis_connect()
        try:
            return self.redis.publish(self.channel, self.json.dumps(data))
        except Exception:
            self.connected = False
            raise


class Feed:
    def __init__(self, url, forkscope, channel=CHANNEL, logger=log):
        self.redis = redis_module()
        self.url = url
        self.channel = channel
        self.fs = forkscope
        self.log = logger
        self.publisher = Publisher(url, channel=channel, write_only=True,
                                   redis_options={"socket_connect_timeout": 2,
                                                  "socket_timeout": 5})
        self.epoch = secrets.token_hex(6)     # this dashboard's run: a relay sees a restart
        self.items = collections.deque()
        self.cond = threading.Condition()
        self.relays = {}                       # relay id -> (last hello, its viewers)
        self.published = 0
        self.lost = 0                          # times the queue was let go
        self._said = set()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=f, name=f"relay-{f.__name__.strip('_')}",
                                          daemon=True)
                         for f in (self._publish_loop, self._hello_loop, self._side_loop)]

    # -- lifecycle ----------------------------------------------------------------------
    def start(self):
        for t in self._threads:
            t.start()

    def stop(self, timeout=5):
        self._stopping.set()
        with self.cond:
            self.cond.notify_all()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout)

    # -- from the hub (its lock held) -------------------------------------------------------
    def put(self, name, data, room=None):
        with self.cond:
            if len(self.items) >= MAX_QUEUED:
                self.items.clear()   # the relays will see the gap and ask for the state
                self.lost += 1
                self._say("lost", "relays: Redis does not keep up; letting queued events go "
                                  "(the relays resync)")
            self.items.append((name, data, room))
            self.cond.notify()

    def state_of(self, registry, side):
        """What a relay starts from (call under the hub's lock)."""
        return {"epoch": self.epoch, "snapshot": registry.snapshot(),
                "joined": list(registry.joined),
                "events": list(registry.events)[-HISTORY:], "side": side}

    def send_state(self):
        # outside the hub's lock: the desks take their own first; a /proc check
        # with it, so a relay's page has its truth badge from the start
        side = self.side(truth=self.truth())
        self.fs.hub.read(lambda r: self.put(STATE, self.state_of(r, side), room=RELAYS))

    def side(self, truth=None):
        """What the page reads besides the table, as a viewer would get it."""
        from app.web.dispatch import Caller
        fs = self.fs
        viewer = Caller(presenter=False)
        side = {"lab": fs.settings.lab.to_json(), "step": fs.lab.step_settings(),
                "lesson": fs.controller.lesson_current(),
                "puzzle": fs.puzzles.overview()["puzzle"], "polls": fs.polls.list(viewer)}
        if truth is not None:
            side["truth"] = truth
        return side

    def truth(self):
        """The model beside /proc (``detail=0``) and when it was taken, or None."""
        try:
            return self.fs.controller.truth(detail=False)   # with its own at
        except Exception:  # noqa: BLE001 - the next check will do
            return None

    def alive(self):
        now = time.monotonic()
        return {rid: viewers for rid, (seen, viewers) in self.relays.items()
                if now - seen < ALIVE}

    # -- threads ---------------------------------------------------------------------------
    def _publish_loop(self):
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.items or self._stopping.is_set())
                if self._stopping.is_set():
                    return
                name, data, room = self.items[0]
            try:
                self.publisher.emit(name, data, room=room)
            except Exception as exc:  # noqa: BLE001 - Redis gone: say so once, keep trying
                self._say("publish", f"relays: cannot publish to {self.url} "
                                     f"({type(exc).__name__}: {exc}); retrying")
                self._stopping.wait(RETRY)
                continue
            with self.cond:
                if self.items and self.items[0][1] is data:
                    self.items.popleft()
            self.published += 1

    def _hello_loop(self):
        while not self._stopping.is_set():
            pubsub = None
            try:
                client = self.redis.Redis.from_url(self.url, socket_connect_timeout=2)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(hello_channel(self.channel))
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message.get("type") == "message":
                        self._hello(message["data"])
            except Exception as exc:  # noqa: BLE001 - Redis gone: say so once, keep trying
                self._say("hello", f"relays: cannot listen on {self.url} "
                                   f"({type(exc).__name__}: {exc}); retrying")
                self._stopping.wait(RETRY)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        pubsub.close()

    def _hello(self, raw):
        try:
            hello = json.loads(raw)
            relay = str(hello["relay"])[:64]
            viewers = int(hello.get("viewers", 0))
        except (ValueError, KeyError, TypeError):
            return   # not a relay's hello: nothing to do with it
        if relay not in self.relays:
            self.log.info("relays: %s is following", relay)
        self.relays[relay] = (time.monotonic(), viewers)
        if hello.get("want_state"):
            self.send_state()

    def _side_loop(self):
        last, truth_due = None, 0.0
        while not self._stopping.wait(1.0):
            if not self.alive():
                continue
            now = time.monotonic()
            truth = None
            if now >= truth_due:
                truth_due = now + TRUTH_EVERY
                truth = self.truth()
            try:
                side = self.side(truth)
            except Exception as exc:  # noqa: BLE001 - a desk mid-change: next second
                self._say("side", f"relays: cannot read the side state ({exc!r})")
                continue
            plain = {k: v for k, v in side.items() if k != "truth"}
            if truth is not None or plain != last:
                last = plain
                self.put(SIDE, side, room=RELAYS)

    def _say(self, kind, message):
        if kind not in self._said:
            self._said.add(kind)
            self.log.warning("%s (said once)", message)

"""What travels between the dashboard and its relays, over Redis.

Events go as Flask-SocketIO's message queue sends any broadcast (python-
socketio's ``RedisManager``, JSON on the pub/sub channel ``CHANNEL``): an
``emit`` of ``events`` to the namespace ``/``, the very message every viewer
gets. Any Flask-SocketIO server on the channel would pass it on to its own
clients; a relay first applies it to its copy of the registry.

Two more messages ride the same channel, addressed to the room ``RELAYS``,
which no viewer ever joins:

* ``relay_state``: what a relay starts from — ``{"epoch", "snapshot",
  "joined", "events", "side"}``. The dashboard takes it under the hub's lock,
  between two batches, and publishes it in the same stream as the batches:
  every batch after it carries the next seqs.
* ``relay_side``: what the page reads besides the table, as a viewer reads
  it — ``{"lab", "step", "lesson", "puzzle", "polls", "truth"?}`` (lab
  settings, step mode, the presenter's lesson, the puzzle, the recent polls,
  the last ``/proc`` check).

Relays speak on ``hello_channel(CHANNEL)`` (plain pub/sub, JSON): ``{"relay": id,
"want_state": bool, "viewers": n}``, once a second until they have a state,
then every ``HEARTBEAT`` seconds.

Pub/sub keeps order but not history: a relay that loses its connection, or
falls behind Redis's output buffer limit, misses messages for good. The seq
shows it (``Registry.follow`` refuses a gap); the relay asks for a new state,
and gives its viewers a new snapshot: a viewer never sees a gap.
"""

CHANNEL = "forkscope"
RELAYS = "forkscope:relays"       # a room no Socket.IO client is ever in
STATE = "relay_state"
SIDE = "relay_side"
HEARTBEAT = 5.0                   # seconds between a relay's hellos
ALIVE = 3 * HEARTBEAT             # a relay not heard from for this long is gone
HISTORY = 2000                    # events a state carries (the page fetches this many)
REDIS_PIN = "redis==8.1.0"


def hello_channel(channel):
    return channel + ":hello"


class MissingRedis(RuntimeError):
    pass


def redis_module():
    """``redis``, imported only when asked for: ``make run`` does not install it."""
    try:
        import redis
    except ImportError:
        raise MissingRedis(f"--message-queue needs the Redis client: "
                           f".venv/bin/pip install {REDIS_PIN}") from None
    return redis


def check_url(url):
    """A clear error for what is not a Redis URL (before any thread starts)."""
    if not url.split("://", 1)[0] in ("redis", "rediss", "unix"):
        raise ValueError(f"--message-queue must be a redis:// URL, not {url!r}")
    return url

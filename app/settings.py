"""Lab and web settings, shared by the CLI, the app factory and the tests."""

import os
from dataclasses import asdict, dataclass

START_METHODS = ("fork", "spawn", "forkserver")
SPAWN_WINDOW = 10.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WORKER_STYLES = ("target", "subclass")


@dataclass
class LabSettings:
    """How the echo server makes its workers; changing one restarts the server."""
    start_method: str = "fork"     # fork | spawn | forkserver
    daemon_workers: bool = False   # Process(daemon=True) for each worker
    worker_style: str = "target"   # Process(target=talk) | class Talk(Process).run

    def to_json(self):
        return asdict(self)


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    echo_host: str = "127.0.0.1"
    echo_port: int = 8088          # the tutorial's port; 0 = any free port
    max_clients: int = 50
    max_spawn: int = 20            # clients per spawn request
    max_text_bytes: int = 64 * 1024
    max_join_timeout: float = 10.0
    events_kept: int = 10_000
    # a lecture hall: who may act, and the caps against fork storms
    token: str | None = None       # set: only the presenter (with it) controls
    allowed_hosts: tuple = ()      # extra Host names to serve (DNS names)
    max_workers: int = 64          # concurrent connections the echo server serves
    idle_timeout: float = 600.0    # a worker closes a connection idle this long
    max_processes: int = 600       # all live lab processes together
    spawn_rate: int = 30           # spawn requests per SPAWN_WINDOW seconds
    lab: LabSettings = None
    # recording (app/web/recorder.py): a directory, or None for none. The CLI
    # defaults to default_record_dir(); Settings() alone (tests) records nothing.
    record: str | None = None
    record_max_mb: float = 64.0    # a part file's size before the next one starts
    # -- a lecture hall of viewers (app/web/hall.py, app/web/serving.py) --
    viewer_backlog: int = 4 * 1024 * 1024  # bytes queued for a viewer that does not read
    max_connections: int = 1000    # HTTP + websocket connections with a thread
    pending_max: int = 256         # connections still waiting for their request head
    header_timeout: float = 10.0   # seconds a new connection has to send its request head
    message_queue: str | None = None  # redis://...: feed viewer relays (app/relay)
    viewer_url: str | None = None  # the link students get (a relay's), if not ours

    def __post_init__(self):
        if self.lab is None:
            self.lab = LabSettings()


def default_record_dir():
    """Where recordings go without --record: the XDG data directory's
    ``forkscope/sessions`` ($XDG_DATA_HOME, else ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"),
                                                           ".local", "share")
    return os.path.join(base, "forkscope", "sessions")

"""A private Redis and viewer relays as subprocesses, for benchmarks and tests.

``RedisServer`` starts Debian's ``redis-server`` on a free loopback port, in a
temporary directory, saving nothing to disk; ``RelayProcess`` is
``python -m app relay --message-queue URL --port 0``. Both are stopped with
SIGTERM and waited for. ``tools/ensure-system-deps.sh`` installs
``redis-server`` for ``make test``; ``redis_missing()`` says why to skip
where it cannot be had.
"""

import contextlib
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from bench.common import PY, ROOT

REDIS = "redis-server"
START_TIMEOUT = 15.0


def redis_missing():
    """Why Redis tests cannot run here, or None."""
    if shutil.which(REDIS) is None:
        return (f"{REDIS} is not installed (tools/ensure-system-deps.sh installs it: "
                f"apt-get install -y redis-server)")
    try:
        import redis  # noqa: F401
    except ImportError:
        return "the redis client is not installed (requirements-dev.txt)"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``redis-server`` on 127.0.0.1, a free port, a temporary directory."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="forkscope-redis-")
        for _ in range(5):   # a free port can be taken between the check and the bind
            self.port = free_port()
            self.proc = subprocess.Popen(
                [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir.name, "--daemonize", "no",
                 "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ready():
                self.url = f"redis://127.0.0.1:{self.port}/0"
                return
            self._stop_proc()
        self.dir.cleanup()
        raise RuntimeError("redis-server did not start")

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError), \
                    socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return True
            time.sleep(0.05)
        return False

    def command(self, *args):
        """One command with the redis client (e.g. ``CLIENT KILL TYPE pubsub``)."""
        import redis
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    def _stop_proc(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def stop(self):
        self._stop_proc()
        self.dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class RelayProcess:
    """``python -m app relay --message-queue URL --port 0 ARGS``; ``url`` from its banner."""

    def __init__(self, message_queue, *args, root=ROOT):
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([PY, "-m", "app", "relay", "--port", "0",
                                      "--message-queue", message_queue, *map(str, args)],
                                     cwd=root, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout],
                         daemon=True).start()
        try:
            line = lines.get(timeout=START_TIMEOUT)
            self.url = re.search(r"(http://\S+?)/?$", line.strip()).group(1)
        except (queue.Empty, AttributeError):
            self.stop()
            raise RuntimeError("the relay printed no address") from None

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.seek(0)
        text = self.stderr.read()
        self.stderr.close()
        return text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

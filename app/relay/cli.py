"""``python -m app relay --message-queue redis://HOST:6379/0``: a viewer relay.

It serves the page and Socket.IO to viewers, read-only, from its own copy of
the dashboard's state, fed through Redis by a dashboard started with the same
``--message-queue``. Start it on another machine, or several on this one;
give the dashboard ``--viewer-url http://RELAY:PORT/`` so its printed link
and QR code send students to the relay. Ctrl-C or SIGTERM stops it.
"""

import argparse
import errno
import logging
import signal
import socket
import sys
from urllib.parse import urlsplit, urlunsplit

from app.relay.wire import CHANNEL, MissingRedis, check_url
from app.settings import Settings
from app.web.serving import BoundedServer, raise_fd_limit


def parse_args(argv):
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m app relay", description=__doc__.split("\n")[0])
    p.add_argument("--message-queue", required=True, metavar="URL",
                   help="the dashboard's Redis, e.g. redis://192.168.1.23:6379/0")
    p.add_argument("--host", default=d.host, help="address to serve on (default %(default)s)")
    p.add_argument("--port", type=int, default=5001, help="port (default %(default)s)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another Host name viewers may use; repeatable")
    p.add_argument("--channel", default=CHANNEL,
                   help="the queue's channel, as the dashboard's (default %(default)s)")
    p.add_argument("--max-connections", type=int, default=d.max_connections,
                   help="open connections at most (default %(default)s)")
    p.add_argument("--viewer-backlog", type=int, default=d.viewer_backlog // 1024,
                   metavar="KIB", help="KiB queued for a viewer that does not read before "
                                       "it is dropped (default %(default)s)")
    return p.parse_args(argv)


def shown(url):
    """*url* without its password, to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def fail(message):
    print(f"forkscope relay: {message}", file=sys.stderr)
    return 2


def main(argv=None):
    from app.cli import public_name
    from app.relay.server import create_relay_app

    args = parse_args(argv)
    try:
        url = check_url(args.message_queue)
    except ValueError as exc:
        return fail(str(exc))
    settings = Settings(host=args.host, port=args.port, allowed_hosts=tuple(args.allow_host),
                        max_connections=args.max_connections,
                        viewer_backlog=args.viewer_backlog * 1024)
    said = logging.StreamHandler()
    said.setFormatter(logging.Formatter("forkscope relay: %(message)s"))
    logging.getLogger("forkscope").addHandler(said)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    raise_fd_limit()
    try:
        listener = socket.create_server((args.host, args.port), backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return fail(f"port {args.port} on {args.host} is already in use; "
                        f"choose another with --port")
        return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    try:
        app = create_relay_app(settings, url, channel=args.channel)
    except MissingRedis as exc:
        listener.close()
        return fail(str(exc))
    relay = app.extensions["forkscope"]
    with listener:
        server = BoundedServer(args.host, listener.getsockname()[1], app,
                               fd=listener.fileno(), max_connections=settings.max_connections,
                               pending_max=settings.pending_max,
                               header_timeout=settings.header_timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        relay.start()
        base = f"http://{public_name(args.host)}:{server.port}/"
        relay.viewer_url = base
        print(f"Forkscope relay (viewers only): {base}", flush=True)
        print(f"Following the dashboard through {shown(url)} (channel {args.channel})",
              flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.server_close()
        relay.shutdown()
        print("Forkscope relay stopped.", flush=True)
    return 0

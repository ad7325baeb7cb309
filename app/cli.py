"""``python -m app``: start the dashboard, which starts the lab.

Stopping it (Ctrl-C or SIGTERM) stops the echo server (which stops its
workers) and every client, and reaps them all before exiting.
"""

import argparse
import errno
import logging
import signal
import socket
import sys

from app.errors import LabError
from app.factory import create_app
from app.lab import mp_internals
from app.settings import (
    SPAWN_WINDOW,
    START_METHODS,
    WORKER_STYLES,
    LabSettings,
    Settings,
    default_record_dir,
)
from app.web.access import is_loopback, local_addresses, new_token
from app.web.serving import BoundedServer, raise_fd_limit


def parse_args(argv):
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m app", description=__doc__.split("\n")[0])
    p.add_argument("--host", default=d.host, help="dashboard address (default %(default)s)")
    p.add_argument("--port", type=int, default=d.port, help="dashboard port (default %(default)s)")
    p.add_argument("--echo-host", default=d.echo_host,
                   help="echo server address (default %(default)s)")
    p.add_argument("--echo-port", type=int, default=d.echo_port,
                   help="echo server port, as in the tutorial (default %(default)s; 0 = any free port)")
    p.add_argument("--max-clients", type=int, default=d.max_clients,
                   help="most client processes at once (default %(default)s)")
    p.add_argument("--token", default=None,
                   help="presenter token (default: generated when --host is not loopback)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another Host name students may use (e.g. a DNS name); repeatable")
    p.add_argument("--max-workers", type=int, default=d.max_workers,
                   help="concurrent echo connections; beyond: 'server busy' (default %(default)s)")
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout,
                   help="seconds before an idle echo connection is closed (default %(default)s)")
    p.add_argument("--max-processes", type=int, default=d.max_processes,
                   help="all live lab processes together (default %(default)s)")
    p.add_argument("--spawn-rate", type=int, default=d.spawn_rate,
                   help=f"spawn requests per {SPAWN_WINDOW:g} s (default %(default)s)")
    p.add_argument("--start-method", choices=START_METHODS, default=d.lab.start_method,
                   help="how the echo server starts workers (default %(default)s)")
    p.add_argument("--daemon-workers", action="store_true",
                   help="start workers with daemon=True")
    p.add_argument("--worker-style", choices=WORKER_STYLES, default=d.lab.worker_style,
                   help="Process(target=talk) or a Process subclass (default %(default)s)")
    # -- recording (docs/api.md, "Recording") --
    rec = p.add_mutually_exclusive_group()
    rec.add_argument("--record", metavar="DIR", default=None,
                     help=f"record the session to DIR (default {default_record_dir()})")
    rec.add_argument("--no-record", action="store_true", help="record nothing")
    p.add_argument("--record-max-mb", type=float, default=d.record_max_mb, metavar="MB",
                   help="start a new part file at this size (default %(default)g)")
    # -- a lecture hall: what the room may open (app/web/serving.py, app/web/hall.py) --
    p.add_argument("--max-connections", type=int, default=d.max_connections,
                   help="open HTTP and websocket connections at most; beyond, new ones "
                        "are refused (default %(default)s)")
    p.add_argument("--viewer-backlog", type=int, default=d.viewer_backlog // 1024,
                   metavar="KIB", help="KiB queued for a viewer that does not read before "
                                       "it is dropped (default %(default)s)")
    # -- viewer relays (app/relay): python -m app relay --message-queue URL --
    p.add_argument("--message-queue", metavar="URL", default=None,
                   help="feed viewer relays through this Redis (redis://HOST:6379/0)")
    p.add_argument("--viewer-url", metavar="URL", default=None,
                   help="the link (and QR code) students get, e.g. a relay's address")
    return p.parse_args(argv)


def stop_resource_tracker():
    """The queue's semaphores made multiprocessing start its resource_tracker;
    reap it too. First run multiprocessing's own exit handler (what atexit would
    run a moment later: it unlinks the semaphores and unregisters them), so the
    tracker has nothing left to warn about; then stop it and waitpid() it."""
    mp_internals.run_exit_handler()
    mp_internals.stop_resource_tracker()


def public_name(host):
    """The address others type: for a wildcard bind, this machine's LAN address."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    for name in sorted(local_addresses()):
        if "." in name and name.replace(".", "").isdigit() and not is_loopback(name):
            return name
    return "127.0.0.1"


def fail(message):
    print(f"forkscope: {message}", file=sys.stderr)
    return 2


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["relay"]:   # python -m app relay ...: a viewer relay (app/relay/cli.py)
        from app.relay.cli import main as relay_main
        return relay_main(argv[1:])
    args = parse_args(argv)
    if not args.record_max_mb > 0:
        return fail("--record-max-mb must be a positive number of megabytes")
    if args.message_queue is not None:
        from app.relay.wire import MissingRedis, check_url, redis_module
        try:
            check_url(args.message_queue)
            redis_module()
        except (ValueError, MissingRedis) as exc:
            return fail(str(exc))
    lab = LabSettings(start_method=args.start_method, daemon_workers=args.daemon_workers,
                      worker_style=args.worker_style)
    token = args.token
    if token is None and not is_loopback(args.host):
        token = new_token()  # the room can reach us: control needs the token
    settings = Settings(host=args.host, port=args.port, echo_host=args.echo_host,
                        echo_port=args.echo_port, max_clients=args.max_clients, lab=lab,
                        token=token, allowed_hosts=tuple(args.allow_host),
                        max_workers=args.max_workers, idle_timeout=args.idle_timeout,
                        max_processes=args.max_processes, spawn_rate=args.spawn_rate,
                        record=None if args.no_record else (args.record or default_record_dir()),
                        record_max_mb=args.record_max_mb,
                        max_connections=args.max_connections,
                        viewer_backlog=args.viewer_backlog * 1024,
                        message_queue=args.message_queue, viewer_url=args.viewer_url)
    # Request logs would write to stderr from many threads; a fork while one of
    # them holds the stream's lock would leave that lock held in the child.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    said = logging.StreamHandler()   # the bounds' few lines (each kind said once)
    said.setFormatter(logging.Formatter("forkscope: %(message)s"))
    logging.getLogger("forkscope").addHandler(said)
    raise_fd_limit()   # the caps decide how many connections, not a laptop's 1,024
    try:
        listener = socket.create_server((args.host, args.port), backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return fail(f"port {args.port} on {args.host} is already in use; "
                        f"choose another with --port")
        return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    app = create_app(settings, start=False)  # after the bind: nothing to undo before
    forkscope = app.extensions["forkscope"]
    with listener:  # Werkzeug would sys.exit(1) with two lines; we bind it ourselves
        server = BoundedServer(args.host, listener.getsockname()[1], app,
                               fd=listener.fileno(), max_connections=settings.max_connections,
                               pending_max=settings.pending_max,
                               header_timeout=settings.header_timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        try:
            forkscope.start()
        except LabError as exc:
            hint = " (choose another with --echo-port)" if "in use" in exc.message else ""
            return fail(exc.message + hint)
        host, port = forkscope.lab.echo_address
        base = f"http://{public_name(args.host)}:{server.port}/"
        forkscope.viewer_url = args.viewer_url or base
        print(f"Forkscope dashboard: {base}", flush=True)
        print(f"Echo server (tutorial's 服务端): {host}:{port}   "
              f"try: nc {public_name(host)} {port}", flush=True)
        if token is not None:
            print(f"Presenter (keep private): {base}?token={token}", flush=True)
        if token is not None or args.viewer_url:
            print(f"Viewers (show the room):  {forkscope.viewer_url}", flush=True)
        if args.message_queue:
            from app.relay.cli import shown
            print(f"Relays: python -m app relay --message-queue {shown(args.message_queue)}",
                  flush=True)
        recording = forkscope.recording_note()
        if recording:
            print(recording, flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM must not cut the teardown short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.server_close()
        forkscope.shutdown()
        stop_resource_tracker()
        print("Forkscope stopped; every lab process was reaped.", flush=True)
    return 0


"""The worker: the tutorial's ``talk(conn, addr)``, one process per connection."""

import multiprocessing

from app.lab import events

PREVIEW_CHARS = 200


def talk(conn, addr, report):
    """通信循环 — recv(1024), send back data.upper(), until the peer closes.

    Byte-exact: ``bytes.upper()`` changes only ASCII letters, so
    ``hello 你好`` comes back as ``HELLO 你好``. ``sendall`` rather than the
    tutorial's ``send``: ``send`` may write only part of the buffer.
    """
    me = multiprocessing.current_process()
    report.hello(role="worker", name=me.name, daemon=me.daemon)
    while True:
        try:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data.upper())
        except OSError:
            break
        report(events.SERVED, bytes=len(data),
               text=data.decode("utf-8", "replace")[:PREVIEW_CHARS])
    conn.close()
    report(events.CONN_CLOSED, peer=list(addr))

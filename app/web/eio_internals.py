"""The one place Forkscope reaches into python-engineio's internals.

python-engineio picks its websocket class from a table of its async driver,
``Server._async`` (for ``async_mode="threading"``, the module-level dict of
``engineio.async_drivers.threading``: ``websocket`` is
``SimpleWebSocketWSGI``). There is no public way to give a server another
one; ``app.web.fanout`` must, so that every byte to a viewer goes through the
hall. Like ``app.lab.mp_internals`` for multiprocessing, this module names
the private attribute once, checks it is there, and gives the server a table
of its own (the driver module's is shared by every server in the process).
Checked against python-engineio 4.15 (``tests/unit/test_hall.py``).
"""


def set_websocket_class(eio_server, factory):
    """Make *eio_server* build its websockets with ``factory(handler, server)``."""
    table = eio_server._async
    if not isinstance(table, dict) or "websocket" not in table:
        raise RuntimeError("python-engineio's driver table changed: app/web/eio_internals.py")
    eio_server._async = dict(table, websocket=factory)

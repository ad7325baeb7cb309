"""Forkscope: a real forking echo server, its processes shown live.

The data path, one package per step:

    app.lab      lab processes (server, workers, clients) report events
        │        on one multiprocessing.Queue
    app.web.hub  drains the queue into ...
    app.model    ... the registry, a pure state machine (process table + seq)
    app.web      REST (api.py) and Socket.IO (sockets.py) over one controller
        │
    browser      templates/ + static/

Importing ``app`` itself imports nothing else: the echo server runs in a fresh
interpreter (``spawn``) and imports ``app.lab``, which must not pull in Flask.
``create_app`` (``app.factory``) is loaded on first use.
"""


def __getattr__(name):
    if name == "create_app":
        from app.factory import create_app
        return create_app
    raise AttributeError(f"module 'app' has no attribute {name!r}")

"""Viewer relays: more viewers than one laptop serves, over Redis (issue 15).

    dashboard ──events──▶ Redis (Flask-SocketIO's message queue) ──▶ relay ──▶ viewers
       ▲                    channel "forkscope"                        │
       └───────── hellos: "a relay is here, send me the state" ◀───────┘

* ``wire``    what travels: the channel names and messages, and the lazy
              import of the ``redis`` client (only ``--message-queue`` needs it);
* ``feed``    the dashboard's side: every broadcast, in the viewers' order,
              published by one thread; the state, when a relay asks;
* ``mirror``  the relay's side: its own registry (``Registry.restore`` /
              ``follow``), fed by the queue, and its viewers' snapshots;
* ``server``  the relay's app: the same page, the same read-only API and
              Socket.IO contract as the dashboard, and no control at all;
* ``cli``     ``python -m app relay --message-queue redis://HOST:6379/0``.

Importing this package imports nothing: the dashboard without
``--message-queue`` never loads it.
"""

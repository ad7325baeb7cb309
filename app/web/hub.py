"""The hub: the one thread that drains the lab's event queue into the registry
and pushes each event to every viewer, in ``seq`` order.

Applying an event and emitting it happen under one condition lock, and so does
a new viewer's ``snapshot``: a viewer therefore gets its snapshot at some
``seq`` S and then exactly the events S+1, S+2, ... — never one twice, never a
gap. Request threads wait on the same condition for the state an action leads
to (``wait_for``), instead of sleeping.
"""

import queue as queue_module
import threading

STOP = {"type": "__stop__"}


class Hub:
    def __init__(self, registry, queue, socketio):
        self.registry = registry
        self.queue = queue
        self.socketio = socketio
        self.cond = threading.Condition()
        self._thread = threading.Thread(target=self._consume, name="hub", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self.queue.put(STOP)
        self._thread.join(5)

    def _consume(self):
        while True:
            try:
                raw = self.queue.get()
            except (EOFError, OSError, queue_module.Empty):
                return
            if raw == STOP:
                return
            with self.cond:
                event = self.registry.apply(raw)
                self.socketio.emit("event", event)
                self.cond.notify_all()

    # -- for request threads ------------------------------------------------------
    def read(self, fn):
        """Run *fn(registry)* under the lock (a consistent view)."""
        with self.cond:
            return fn(self.registry)

    def wait_for(self, predicate, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.registry), timeout)

    def send_snapshot(self, sid):
        with self.cond:
            self.socketio.emit("snapshot", self.registry.snapshot(), to=sid)

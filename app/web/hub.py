"""The hub: the one thread that drains the lab's event queue into the registry
and pushes the events to every viewer, in ``seq`` order.

Each pass blocks for one event, then takes whatever else is already queued
(up to ``BATCH_MAX``, never waiting for more: an idle lab's single event goes
out at once), applies them in order and emits them as ONE ``events`` message:
a list of consecutive events, ``seq`` ascending. A connection's start is 4–5
events within a millisecond; one message per event cost every viewer a
Socket.IO delivery each (~54 µs of the dashboard's CPU per event per viewer in
threading mode), one message per drain costs one per burst.

Applying the events and emitting them happen under one condition lock, and so
does a new viewer's ``snapshot``: a viewer therefore gets its snapshot at some
``seq`` S and then exactly the events S+1, S+2, ... — never one twice, never a
gap. Request threads wait on the same condition for the state an action leads
to (``wait_for``), instead of sleeping; they are woken once per batch.

The recorder (``app.web.recorder``) gets each batch right after the viewers,
under the same lock: the file has the viewers' order, and its snapshots (at
the start, at each rotation) are taken between batches like a viewer's.
"""

import queue as queue_module
import threading

STOP = {"type": "__stop__"}
BATCH_MAX = 256   # events per message at most: bounds the lock hold and the frame


class Hub:
    def __init__(self, registry, queue, socketio, recorder=None):
        self.registry = registry
        self.queue = queue
        self.socketio = socketio
        self.recorder = recorder   # app/web/recorder.py, or None: --no-record
        self.cond = threading.Condition()
        self._thread = threading.Thread(target=self._consume, name="hub", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self.queue.put(STOP)
        self._thread.join(5)

    def _consume(self):
        while True:
            batch, stop = self._drain()
            if batch:
                with self.cond:
                    self._apply_and_emit(batch)
            if stop:
                return

    def _apply_and_emit(self, batch):
        """Under the lock: apply *batch*, emit it to every viewer, hand it to
        the recorder, wake the waiters; the events with their seqs. Every event
        of the stream passes here, the lab's and the dashboard's own alike."""
        recorder = self.recorder
        if recorder is not None and recorder.rotation_due:
            # the next file starts from the table as of the last batch
            recorder.rotate(self.registry)
        events = [self.registry.apply(raw) for raw in batch]
        self.socketio.emit("events", events)
        if recorder is not None:  # one deque append; written on its own thread
            recorder.put(events)
        self.cond.notify_all()
        return events

    def _drain(self):
        """``(batch, stop)``: block for the first event, then take what is
        already queued, up to ``BATCH_MAX``, without waiting for more. ``stop``
        when STOP came (the events before it are still in the batch) or the
        queue broke."""
        try:
            raw = self.queue.get()
        except (EOFError, OSError, ValueError, queue_module.Empty):  # ValueError: closed
            return [], True
        batch = []
        while True:
            if raw == STOP:
                return batch, True
            if isinstance(raw, list):  # one process's events, written together
                batch.extend(raw)
            else:
                batch.append(raw)
            if len(batch) >= BATCH_MAX:
                return batch, False
            try:
                raw = self.queue.get_nowait()
            except queue_module.Empty:
                return batch, False
            except (EOFError, OSError, ValueError):
                return batch, True

    # -- for request threads ------------------------------------------------------
    def publish(self, event):
        """An event the dashboard itself originates (a poll opened, closed,
        revealed: ``app.web.polls``) into the one ordered stream: applied and
        emitted under the same lock as the lab's batches, so it gets the next
        ``seq`` and reaches every viewer in that order. It does not go through
        the lab's queue: a poll's texts can be far larger than one atomic pipe
        frame (``app.lab.events.frames``), and nothing here needs a process.
        The recording gets it too: a file with a gap in seq would not replay."""
        with self.cond:
            return self._apply_and_emit([event])[0]

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

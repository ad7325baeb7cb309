"""A Socket.IO viewer that reads the wire in order.

python-socketio's client runs each incoming message's handler in a new thread,
so the order its handlers see is not the order the server sent. To test the
server's ordering this viewer speaks the little it needs of Engine.IO v4 /
Socket.IO v5 over one websocket, in one reader thread: ``0`` open, ``40``
connect, ``2``/``3`` ping/pong, ``42[name, data]`` events, and ``call``:
``42<id>[name, data]`` answered by the ack ``43<id>[ack]``. The server's
``events`` message is a list of consecutive events: ``events`` keeps them
flattened, in the order they came, ``batches`` each message's seqs, and
``unexpected`` the name of any other message. A later ``snapshot`` (a relay
that lost its place sends one) is kept in ``snapshots``, with where it came.
"""

import json
import threading
import time

import websocket


class RawViewer:
    def __init__(self, url, auth=None):
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(ws_url, timeout=30)
        opened = self.ws.recv()
        assert opened.startswith("0"), opened
        self.ws.send("40" + (json.dumps(auth) if auth else ""))
        self.lock = threading.Lock()
        self.snapshot = None
        self.access = None
        self.events = []
        self.stamps = []            # time.time() each event's message was read
        self.snapshots = []         # (seq, how many events had come before it)
        self.batches = []
        self.unexpected = []
        self.acks = {}              # ack id -> the ack's data
        self.ack_cond = threading.Condition(self.lock)
        self._next_id = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                msg = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if msg == "2":
                self.ws.send("3")
            elif msg.startswith("43"):
                digits = len(msg) - len(msg[2:].lstrip("0123456789"))
                with self.lock:
                    self.acks[int(msg[2:digits])] = json.loads(msg[digits:])[0]
                    self.ack_cond.notify_all()
            elif msg.startswith("42"):
                name, data = json.loads(msg[2:])
                with self.lock:
                    if name == "snapshot":
                        self.snapshot = data
                        self.snapshots.append((data["seq"], len(self.events)))
                    elif name == "access":
                        self.access = data
                    elif name == "events":
                        self.events.extend(data)
                        self.stamps.extend([time.time()] * len(data))
                        self.batches.append([e["seq"] for e in data])
                    else:
                        self.unexpected.append(name)

    def call(self, name, data=None, timeout=15):
        """Emit *name* with an ack id; return the server's ack (a dict)."""
        with self.lock:
            self._next_id += 1
            ack_id = self._next_id
        self.ws.send(f"42{ack_id}" + json.dumps([name, data if data is not None else {}]))
        with self.lock:
            if not self.ack_cond.wait_for(lambda: ack_id in self.acks, timeout):
                raise TimeoutError(f"no ack for {name} within {timeout} s")
            return self.acks.pop(ack_id)

    def seqs(self):
        with self.lock:
            return [e["seq"] for e in self.events]

    def last_seq(self):
        """The latest seq this viewer knows: its last event's, else its
        snapshot's (a viewer that joined after the last event gets none), else -1."""
        with self.lock:
            if self.events:
                return self.events[-1]["seq"]
            return self.snapshot["seq"] if self.snapshot else -1

    def batches_consecutive(self):
        """True if every ``events`` message held one or more consecutive seqs."""
        with self.lock:
            return all(b and b == list(range(b[0], b[0] + len(b))) for b in self.batches)

    def close(self):
        """Hang up at once: a polite close waits up to 3 s for the server's
        close frame, which the Werkzeug dev server does not always send."""
        self.ws.abort()
        self.reader.join(5)
        self.ws.close(timeout=0)

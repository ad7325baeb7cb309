"""The controller: what every action does, whichever edge it came by.

``app.web.dispatch`` calls it, after deciding who may ask and which fields a
payload may have. It validates their values, checks that a pid is a lab
process (pid 1, the dashboard, or anything the lab did not start is never
signalled), checks the state allows the action, applies the caps, asks the lab
to act, and then waits — on the registry's condition, not with sleeps — until
the event that proves the action happened has arrived, so the answer shows the
new state.
"""

import inspect
import threading
import time
from collections import deque

from app.errors import LabError
from app.lab.stepping import DELAY_MAX, DELAY_MIN
from app.model import schema
from app.model.states import State
from app.settings import SPAWN_WINDOW, START_METHODS, WORKER_STYLES, LabSettings
from app.web.truth import compare

SETTLE_TIMEOUT = 3.0
SIGNALS = ("terminate", "kill")


def bad(message, reason, **params):
    """A 400; *reason* is a stable key (``params.reason``) the page translates."""
    return LabError(400, "bad_input", message, reason=reason, **params)


def require_pid(value):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise bad("pid must be an integer", reason="pid_not_int") from None
    if value <= 0:
        raise bad("pid must be a positive integer", reason="pid_not_int")
    return value


def require_object(body):
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad("the body must be a JSON object", reason="not_object")
    return body


class Controller:
    def __init__(self, settings, lab, hub):
        self.settings = settings
        self.lab = lab
        self.hub = hub
        self._spawns = deque()  # times of recent spawn requests
        self._spawn_lock = threading.Lock()

    # -- reading ------------------------------------------------------------------
    def state(self):
        return self.hub.read(lambda r: r.snapshot())

    def events(self, after):
        try:
            after = int(after)
        except (TypeError, ValueError):
            raise bad("after must be an integer", reason="after_not_int") from None
        return self.hub.read(lambda r: {"seq": r.seq, "events": r.events_after(after)})

    def lab_process(self, pid, roles=("server", "worker", "client")):
        """The live lab process with this pid, or a 404 that names why not."""
        pid = require_pid(pid)
        proc = self.hub.read(lambda r: dict(r.get(pid) or {}))
        if proc.get("role") not in roles:
            raise LabError(404, "not_lab_process", f"pid {pid} is not a lab process",
                           pid=pid)
        return proc

    def _process_by_uid(self, uid):
        return dict(self.hub.read(lambda r: r.procs[uid]))

    def _settle(self, uid, states):
        """Wait until the registry shows *uid* in one of *states*; return it."""
        self.hub.wait_for(lambda r: r.procs[uid]["state"] in states, SETTLE_TIMEOUT)
        return self._process_by_uid(uid)

    # -- clients ------------------------------------------------------------------
    def spawn_clients(self, body):
        body = require_object(body)
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int):
            raise bad("count must be an integer", reason="count_not_int")
        if not 1 <= count <= self.settings.max_spawn:
            raise bad(f"count must be between 1 and {self.settings.max_spawn}", reason="count_range",
                      max=self.settings.max_spawn)
        self._check_spawn_caps(count)
        pids = self.lab.spawn_clients(count)
        self.hub.wait_for(lambda r: all(r.get(pid) for pid in pids), SETTLE_TIMEOUT)
        return {"pids": pids}

    def _check_spawn_caps(self, count):
        """Fork storms stop here: clients, all lab processes, spawn requests/s."""
        def live(role=None):
            return lambda r: sum(1 for p in r.procs.values()
                                 if p["state"] in (State.RUNNING.value, State.ZOMBIE.value)
                                 and p["role"] != "dashboard"
                                 and (role is None or p["role"] == role))
        clients = self.hub.read(live("client"))
        if clients + count > self.settings.max_clients:
            raise LabError(429, "max_clients",
                           f"at most {self.settings.max_clients} clients "
                           f"(--max-clients); {clients} exist",
                           limit=self.settings.max_clients, live=clients)
        processes = self.hub.read(live())
        # each client brings a worker with it
        if processes + 2 * count > self.settings.max_processes:
            raise LabError(429, "max_processes",
                           f"at most {self.settings.max_processes} lab processes "
                           f"(--max-processes); {processes} exist",
                           limit=self.settings.max_processes, live=processes)
        now = time.monotonic()
        with self._spawn_lock:
            while self._spawns and now - self._spawns[0] > SPAWN_WINDOW:
                self._spawns.popleft()
            if len(self._spawns) >= self.settings.spawn_rate:
                raise LabError(429, "rate_limited",
                               f"at most {self.settings.spawn_rate} spawn requests "
                               f"per {SPAWN_WINDOW:g} s (--spawn-rate)",
                               limit=self.settings.spawn_rate, window=SPAWN_WINDOW)
            self._spawns.append(now)

    def send_message(self, pid, body):
        client = self.lab_process(pid, roles=("client",))
        body = require_object(body)
        text = body.get("text")
        if not isinstance(text, str):
            raise bad("text must be a string", reason="text_not_str")
        if not text.strip():
            raise bad("text is empty (the tutorial's client skips empty input too)",
                      reason="text_empty")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise bad("text is not valid Unicode (it cannot be sent as UTF-8)",
                      reason="text_not_unicode") from None
        if size > self.settings.max_text_bytes:
            raise LabError(413, "too_large",
                           f"text is {size} bytes; at most "
                           f"{self.settings.max_text_bytes} per message",
                           size=size, limit=self.settings.max_text_bytes)
        if client["state"] != State.RUNNING.value:
            raise self._wrong_state(client, "send")
        reply = self.lab.send_text(client["pid"], text)
        if not reply.get("ok"):
            raise LabError(409, reply.get("code", "send_failed"), reply["error"])
        uid, echoes = client["uid"], client["echoes"]
        # answer once the echo event is in the registry, as every viewer sees it
        self.hub.wait_for(lambda r: r.procs[uid]["worker_pid"]
                          and r.procs[uid]["echoes"] > echoes, SETTLE_TIMEOUT)
        worker_pid = self._process_by_uid(uid)["worker_pid"]
        return {"reply": reply["reply"], "worker_pid": worker_pid,
                "rtt_ms": reply["rtt_ms"], "client_pid": client["pid"]}

    def close_client(self, pid):
        client = self.lab_process(pid, roles=("client",))
        if client["state"] != State.RUNNING.value:
            raise self._wrong_state(client, "close")
        self.lab.close_client(client["pid"])
        return self._settle(client["uid"], {State.ZOMBIE.value, State.JOINED.value})

    # -- any lab process ----------------------------------------------------------
    def signal(self, pid, how):
        proc = self.lab_process(pid)
        if proc["state"] != State.RUNNING.value or not self.lab.signal(proc["pid"], how):
            raise self._wrong_state(proc, how)
        return self._settle(proc["uid"], {State.ZOMBIE.value, State.JOINED.value})

    def join(self, pid, body):
        proc = self.lab_process(pid)
        body = require_object(body)
        timeout = body.get("timeout")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise bad("timeout must be a number of seconds", reason="timeout_not_number")
            if not 0 <= timeout <= self.settings.max_join_timeout:
                raise bad(reason="timeout_range", message=f"timeout must be between 0 and "
                          f"{self.settings.max_join_timeout} seconds",
                          max=self.settings.max_join_timeout)
        elif proc["state"] == State.RUNNING.value:
            raise LabError(409, "join_would_block",
                           "join() without a timeout on a running process would "
                           "block until it exits; give a timeout", pid=proc["pid"])
        if self.lab.join(proc["pid"], timeout):
            return self._settle(proc["uid"], {State.JOINED.value})
        return self._process_by_uid(proc["uid"])

    def restart_server(self):
        return self._new_server(self.lab.restart_server())

    def _new_server(self, pid):
        """Answer once the registry shows the new server listening."""
        host, port = self.lab.echo_address
        self.hub.wait_for(lambda r: r.get(pid) is not None
                          and r.echo == {"host": host, "port": port}, SETTLE_TIMEOUT)
        return {"pid": pid, "echo": {"host": host, "port": port}}

    def truth(self, detail=True, pid=None):
        """The model beside psutil's view, and where they differ."""
        only = None if pid is None else require_pid(pid)
        snapshot = self.state()
        return dict(compare(snapshot["processes"], detail, only), seq=snapshot["seq"])

    @staticmethod
    def code():
        """The lab's own source, for the page to show what the code did."""
        from app.lab import echo_server, worker
        pieces = {"talk": worker.talk, "Talk": worker.Talk,
                  "make_worker": worker.make_worker,
                  "open_listener": echo_server.open_listener,
                  "accept": echo_server.EchoServer.accept}
        return {name: inspect.getsource(obj) for name, obj in pieces.items()}

    def daemon_demo(self):
        return self.lab.daemon_demo()

    def lab_settings(self):
        return self.settings.lab.to_json()

    def change_lab_settings(self, body):
        """Validate new worker settings, then restart the server with them."""
        # app.web.dispatch has refused any field that is not a setting
        body = require_object(body)
        new = dict(self.settings.lab.to_json(), **body)
        if new["start_method"] not in START_METHODS:
            raise bad(f"start_method must be one of {list(START_METHODS)}",
                      reason="start_method")
        if new["worker_style"] not in WORKER_STYLES:
            raise bad(f"worker_style must be one of {list(WORKER_STYLES)}",
                      reason="worker_style")
        if not isinstance(new["daemon_workers"], bool):
            raise bad("daemon_workers must be true or false", reason="daemon_not_bool")
        return dict(self._new_server(self.lab.apply_lab_settings(LabSettings(**new))),
                    lab=new)

    # -- stepping: gates in the lab's processes ------------------------------------
    @staticmethod
    def _waiting(registry):
        """Processes stopped at a gate now, oldest wait first."""
        found = [p for p in registry.procs.values()
                 if p["gate"] is not None and p["state"] == State.RUNNING.value]
        found.sort(key=lambda p: p["gate_since"])
        return [{"pid": p["pid"], "uid": p["uid"], "role": p["role"], "gate": p["gate"],
                 "since": p["gate_since"],
                 **({"for": {"peer": p["gate_peer"]}} if p["gate_peer"] else {})}
                for p in found]

    def step_state(self):
        return dict(self.lab.step_settings(), waiting=self.hub.read(self._waiting))

    def set_step(self, body):
        body = require_object(body)
        mode = body.get("mode")
        if mode not in schema.STEP_MODES:
            raise bad(f"mode must be one of {list(schema.STEP_MODES)}", reason="step_mode")
        current = self.lab.step_settings()
        delay = body.get("delay_ms", current["delay_ms"])
        if isinstance(delay, bool) or not isinstance(delay, int):
            raise bad("delay_ms must be an integer (milliseconds)", reason="delay_not_int")
        if not DELAY_MIN <= delay <= DELAY_MAX:
            raise bad(f"delay_ms must be between {DELAY_MIN} and {DELAY_MAX}",
                      reason="delay_range", min=DELAY_MIN, max=DELAY_MAX)
        gates = body.get("gates", current["gates"])
        if not isinstance(gates, list):
            raise bad("gates must be a list of gate names", reason="gates_not_list")
        for gate in gates:
            if gate not in schema.GATES:
                raise bad(f"unknown gate {gate!r}; the gates are {list(schema.GATES)}",
                          reason="unknown_gate", gate=str(gate))
        self.lab.set_step(mode, delay, gates)
        if mode == "run":  # answer once every wait has ended: the page sees none left
            self.hub.wait_for(lambda r: not self._waiting(r), SETTLE_TIMEOUT)
        return self.step_state()

    def step_next(self, body):
        """Release one waiting process (*pid*'s, else the longest waiting);
        answer once its ``gate_pass`` is in the registry."""
        body = require_object(body)
        pid = body.get("pid")
        if pid is not None:
            pid = require_pid(pid)
        waiting = self.hub.read(self._waiting)
        chosen = [w for w in waiting if pid is None or w["pid"] == pid][:1]
        if not chosen:
            raise LabError(409, "nothing_waiting",
                           "no process waits at a gate" if pid is None else
                           f"pid {pid} does not wait at a gate",
                           **({} if pid is None else {"pid": pid}))
        (wait,) = chosen
        self.lab.release(wait["pid"], wait["gate"], wait["since"])
        uid = wait["uid"]
        if not self.hub.wait_for(lambda r: r.procs[uid]["gate_since"] != wait["since"],
                                 SETTLE_TIMEOUT):
            raise LabError(504, "no_answer", "the process did not pass its gate in time",
                           pid=wait["pid"])
        return {"released": {"pid": wait["pid"], "gate": wait["gate"]}}

    @staticmethod
    def _wrong_state(proc, action):
        return LabError(409, "wrong_state",
                        f"cannot {action} {proc['name']} (pid {proc['pid']}): "
                        f"it is {proc['state']}",
                        action=action, pid=proc["pid"], state=proc["state"])

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
import json
import os
import threading
import time
from collections import deque

from app import lessons
from app.errors import LabError
from app.lab import events
from app.lab.stepping import DELAY_MAX, DELAY_MIN
from app.model import schema
from app.model.states import State
from app.settings import SPAWN_WINDOW, START_METHODS, WORKER_STYLES, LabSettings
from app.web.cpu import CpuMeter
from app.web.truth import SharedCheck, compare

SETTLE_TIMEOUT = 3.0
SIGNALS = ("terminate", "kill")
# lessons (app/lessons): the flood's bounds, a lesson step's phases and outcome
FLOOD_MIN, FLOOD_MAX = 0.5, 10.0
LESSON_PHASES = ("ready", "asking", "done")
OUTCOME_MAX = 16
OUTCOME_BYTES = 2000   # a lesson_step event is one atomic pipe write (events.py)


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
        self.cpu_meter = CpuMeter()
        self.badge_check = SharedCheck(lambda: hub.read(lambda r: r.seq), self.state)
        self.lesson = {"lesson": None, "step": 0}   # where the presenter's lesson is

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
        """The model beside psutil's view, and where they differ; the badge's
        check (``detail=0``, every process) is shared by the room
        (``SharedCheck``)."""
        only = None if pid is None else require_pid(pid)
        if not detail and only is None:
            return self.badge_check.read()
        snapshot = self.state()
        return dict(compare(snapshot["processes"], detail, only), seq=snapshot["seq"],
                    at=time.time())

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

    # -- lessons: a known lab, demonstrations, the meter, the step viewers follow ------
    def reset_lab(self):
        """Stop and reap every client, worker and orphan, run mode, default lab
        settings, one new server; answer once the registry shows that lab."""
        pid = self.lab.reset(LabSettings())
        new = self._new_server(pid)

        def clean(r):
            return not any(p["state"] in (State.RUNNING.value, State.ZOMBIE.value)
                           and (p["role"] in ("client", "worker")
                                or (p["role"] == "server" and p["pid"] != pid))
                           for p in r.procs.values())
        settled = self.hub.wait_for(clean, SETTLE_TIMEOUT)
        return dict(new, lab=self.settings.lab.to_json(), step=self.step_state(),
                    clean=bool(settled))

    def run_demo(self):
        return self.lab.run_demo()

    def flood(self, body):
        """Every connected client sends *text* back to back for *seconds*; answer
        once the registry has counted their round trips."""
        body = require_object(body)
        seconds = body.get("seconds", 3)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise bad("seconds must be a number", reason="seconds_not_number")
        if not FLOOD_MIN <= seconds <= FLOOD_MAX:
            raise bad(f"seconds must be between {FLOOD_MIN} and {FLOOD_MAX}",
                      reason="seconds_range", min=FLOOD_MIN, max=FLOOD_MAX)
        text = body.get("text", "ping")
        if not isinstance(text, str) or not text.strip() or len(text) > 100:
            raise bad("text must be 1 to 100 characters", reason="flood_text")
        if self.lab.step_settings()["mode"] != "run":
            raise LabError(409, "stepping", "the clients flood only in run mode: the "
                           "gates would hold every round trip")
        before = self.hub.read(lambda r: {p["pid"]: (p["uid"], p["echoes"])
                                          for p in r.procs.values()
                                          if p["role"] == "client"
                                          and p["state"] == State.RUNNING.value})
        if not before:
            raise LabError(409, "no_clients", "there is no client to send anything")
        replies = self.lab.flood(float(seconds), text)
        done = {pid: reply for pid, reply in replies.items()
                if reply.get("ok") and reply.get("rounds") and pid in before}
        self.hub.wait_for(lambda r: all(r.procs[before[pid][0]]["echoes"] > before[pid][1]
                                        for pid in done), SETTLE_TIMEOUT)
        workers = self.hub.read(lambda r: {pid: r.procs[before[pid][0]]["worker_pid"]
                                           for pid in replies if pid in before})
        return {"seconds": seconds, "clients": [
            {"pid": pid, "ok": bool(reply.get("ok")), "rounds": reply.get("rounds", 0),
             "worker_pid": workers.get(pid), **({} if reply.get("ok") else
                                                 {"code": reply.get("code")})}
            for pid, reply in sorted(replies.items())]}

    def cpu(self):
        pids = self.hub.read(lambda r: [p["pid"] for p in r.procs.values()
                                        if p["state"] == State.RUNNING.value
                                        and p["role"] != "dashboard" and p["pid"]])
        return self.cpu_meter.read(pids)

    def lesson_current(self):
        return dict(self.lesson)

    def lesson_step(self, body):
        """The presenter's lesson is at *step* of *lesson* (None: no lesson),
        in *phase*; when done, the *truth* and the *outcome* it showed. Recorded,
        and reported as a ``lesson_step`` event: every viewer follows."""
        body = require_object(body)
        lesson_id, step = body.get("lesson"), body.get("step")
        if lesson_id is not None:
            lesson = lessons.find(lesson_id) if isinstance(lesson_id, str) else None
            if lesson is None:
                raise bad(f"no lesson {lesson_id!r}", reason="unknown_lesson")
            steps = len(lesson["steps"])
        else:
            steps = 1
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < steps:
            raise bad(f"step must be an integer from 0 to {steps - 1}", reason="step_range",
                      max=steps - 1)
        news = {"lesson": lesson_id, "step": step}
        if body.get("phase") is not None:
            if body["phase"] not in LESSON_PHASES:
                raise bad(f"phase must be one of {list(LESSON_PHASES)}", reason="phase")
            news["phase"] = body["phase"]
        if body.get("truth") is not None:
            if not isinstance(body["truth"], str) or len(body["truth"]) > 40:
                raise bad("truth must be a choice's key", reason="truth")
            news["truth"] = body["truth"]
        if body.get("outcome") is not None:
            news["outcome"] = checked_outcome(body["outcome"])
        self.lesson = news
        self.lab.report(events.LESSON_STEP, pid=os.getpid(), **news)
        return dict(news)

    @staticmethod
    def _wrong_state(proc, action):
        return LabError(409, "wrong_state",
                        f"cannot {action} {proc['name']} (pid {proc['pid']}): "
                        f"it is {proc['state']}",
                        action=action, pid=proc["pid"], state=proc["state"])


def checked_outcome(outcome):
    """A lesson step's outcome: at most OUTCOME_MAX facts ``{key, params}``, each
    key a catalogue key under ``lesson.``, each param a number, a string, a
    boolean or null — small enough for one event."""
    if not isinstance(outcome, list) or len(outcome) > OUTCOME_MAX:
        raise bad(f"outcome must be a list of at most {OUTCOME_MAX} facts", reason="outcome")
    facts = []
    for fact in outcome:
        if not isinstance(fact, dict) or not isinstance(fact.get("key"), str) \
                or not fact["key"].startswith("lesson.") or set(fact) - {"key", "params"}:
            raise bad("each fact is {key: 'lesson.…', params: {…}}", reason="outcome")
        params = fact.get("params", {})
        if not isinstance(params, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool)))
                for k, v in params.items()):
            raise bad("a fact's params are names with plain values", reason="outcome")
        facts.append({"key": fact["key"], "params": params})
    if len(json.dumps(facts, ensure_ascii=False).encode("utf-8")) > OUTCOME_BYTES:
        raise LabError(413, "too_large", f"the outcome is larger than {OUTCOME_BYTES} bytes",
                       limit=OUTCOME_BYTES)
    return facts

"""Points and gates without processes: the shared word, run mode's coalesced
phases, and how a gate is passed (app/lab/stepping.py)."""

import contextlib

import pytest

from app.lab import stepping, worker
from app.model import schema


class Report:
    """events.Reporter's interface, recording (type, fields)."""

    def __init__(self):
        self.events = []

    def __call__(self, type_, **fields):
        self.events.append((type_, fields))

    def put(self, item):
        for event in item if isinstance(item, list) else [item]:
            self(event["type"], **{k: v for k, v in event.items()
                                   if k not in ("type", "t", "by", "pid")})

    def flush(self):
        pass

    def paused(self):
        return contextlib.nullcontext()

    def types(self):
        return [t for t, _ in self.events]


class Clock:
    def __init__(self):
        self.now = 100.0

    def monotonic(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(stepping.time, "monotonic", c.monotonic)
    monkeypatch.setattr(worker.time, "monotonic", c.monotonic)
    return c


def test_the_word_round_trips_every_setting():
    for mode in schema.STEP_MODES:
        for gates in ([], ["start", "send"], list(schema.GATES)):
            word = stepping.encode(mode, 4321, gates)
            assert stepping.decode(word) == {"mode": mode, "delay_ms": 4321, "gates": gates}
    assert stepping.encode("run", 1000, schema.GATES) & stepping.MODE_MASK == 0


def test_the_control_is_shared_memory_read_with_one_index():
    control = stepping.StepControl()
    assert control.get()["mode"] == "run" and control.get()["gates"] == list(schema.GATES)
    control.set("slow", 250, ["exit"])
    assert stepping.decode(control.array[0]) == {"mode": "slow", "delay_ms": 250,
                                                 "gates": ["exit"]}


def test_run_mode_never_stops_and_coalesces_phases(clock):
    report = Report()
    step = stepping.Stepper(stepping.StepControl(), report,
                            wait=lambda t: pytest.fail("run mode waited"))
    step.reach("accepting")
    assert step.due() is None and report.events == [("phase", {"at": "accepting"})]
    clock.now += 0.01
    step.reach("accept")
    step.reach("start")
    due = step.due()
    assert due == pytest.approx(stepping.COALESCE - 0.01) and len(report.events) == 1
    step.reach("accepting")                  # back where the dashboard saw it last
    assert step.due() is None and len(report.events) == 1
    step.reach("start")
    clock.now += stepping.COALESCE
    assert step.due() is None                # its window has passed: sent now
    assert report.events[-1] == ("phase", {"at": "start"})


def test_step_mode_reports_each_phase_at_once_and_not_twice():
    control = stepping.StepControl("step", 1000, ["send"])
    report = Report()
    step = stepping.Stepper(control, report)
    step.reach("accepting")
    step.reach("accepting")                  # the server's loop passes it again
    step.reach("recv")                       # a gate, but not enabled
    assert report.events == [("phase", {"at": "accepting"}), ("phase", {"at": "recv"})]


def make_gated(mode="step", delay_ms=1000, waits=()):
    """A Stepper at an enabled send gate whose wait() returns *waits* in turn."""
    control = stepping.StepControl(mode, delay_ms, ["send"])
    report = Report()
    answers = list(waits)
    step = stepping.Stepper(control, report, wait=lambda timeout: answers.pop(0)(step))
    return control, report, step


def test_a_release_naming_the_wait_passes_the_gate():
    def stale_then_right(step):
        assert not step.release({"gate": "send", "since": step.since - 1})  # stale
        assert not step.release({"gate": "recv"})
        assert step.release({"gate": "send", "since": step.since})

    _, report, step = make_gated(waits=[stale_then_right])
    assert step.reach("send", peer=("127.0.0.1", 5)) == "step"
    assert report.types() == ["gate_wait", "gate_pass"]
    assert report.events[0][1] == {"gate": "send", "peer": ["127.0.0.1", 5]}
    assert report.events[1][1] == {"gate": "send", "how": "step"}
    assert step.gate is None and not step.release({})


def test_switching_to_run_or_off_passes_and_stop_passes():
    control, _, step = make_gated()
    step.wait = lambda timeout: control.set("run", 1000, ["send"])
    assert step.reach("send") == "run"
    control.set("step", 1000, ["send"])
    step.wait = lambda timeout: control.set("step", 1000, ["recv"])   # send switched off
    assert step.reach("send") == "run"
    control.set("step", 1000, ["send"])
    step.wait = lambda timeout: stepping.STOPPED
    assert step.reach("send") == "stop"


def test_slow_mode_passes_by_itself_after_the_delay(clock):
    timeouts = []

    def wait(timeout):
        timeouts.append(timeout)
        clock.now += timeout

    _, _, step = make_gated("slow", 1200)
    step.wait = wait
    assert step.reach("send") == "slow"
    assert sum(timeouts) == pytest.approx(1.2)
    assert max(timeouts) <= stepping.RECHECK   # a lost wake costs at most RECHECK


def test_a_worker_s_phase_follows_its_served_report_once_rounds_settle(clock):
    report = Report()
    step = stepping.Stepper(None, report)
    served = worker.Served(report, step)
    step.reach("recv")
    step.flush_phase()                        # its first point, with its hello (talk())
    assert report.events == [("phase", {"at": "recv"})]
    step.reach("send")
    served.add(b"hi")                         # the first round: at once, alone
    step.reach("recv")
    assert report.types() == ["phase", "served"] and not served.pending
    clock.now += 0.01
    step.reach("send")
    served.add(b"again")
    step.reach("recv")
    step.reach("send")                        # a chatty connection, mid-round
    assert served.pending
    clock.now += worker.COALESCE * 1.5
    served.tick(idle_timeout=None)            # rounds first
    assert report.events[-1] == ("served", {"count": 1, "bytes": 5, "text": "again"})
    clock.now += worker.COALESCE * 1.5
    served.tick(idle_timeout=None)            # settled: where it is now
    assert report.events[-1] == ("phase", {"at": "send"}) and not served.pending


def test_a_worker_at_a_gate_is_never_idle(clock):
    served = worker.Served(Report())
    served.hold()
    clock.now += 1000
    assert served.tick(idle_timeout=5) == (False, None)
    served.go_on()
    idle, due = served.tick(idle_timeout=5)
    assert not idle and due == pytest.approx(5)

"""The registry without processes: events in, process table out. The event
sequences are in tests/scenarios.py, shared with the page's parity test."""

from app.model.registry import JOINED_KEPT, Registry
from tests.scenarios import DASH, SERVER, scenario


def fresh():
    return Registry(DASH, 1, keep=50)


def applied(name, upto=None):
    """A fresh registry after the scenario's events (its first *upto* only)."""
    reg = fresh()
    for e in scenario(name)[:upto]:
        reg.apply(e)
    return reg


def table(reg):
    return {p["uid"]: p for p in reg.snapshot()["processes"]}


def test_dashboard_is_listed_running():
    p = table(applied("dashboard_only"))["dashboard"]
    assert (p["pid"], p["ppid"], p["role"], p["state"], p["alive"]) == (DASH, 1, "dashboard",
                                                                      "running", True)


def test_created_has_no_pid_then_running():
    reg = applied("created_started_hello", upto=1)
    assert table(reg)["server-1"]["state"] == "created"
    assert table(reg)["server-1"]["pid"] is None
    reg = applied("created_started_hello", upto=2)
    p = table(reg)["server-1"]
    assert (p["state"], p["pid"], p["ppid"], p["alive"]) == ("running", SERVER, DASH, True)
    reg = applied("created_started_hello")
    assert reg.anomalies == []


def test_hello_may_arrive_before_started():
    reg = applied("hello_before_started")
    assert table(reg)["client-1"]["state"] == "running"
    assert reg.anomalies == []


def test_exit_makes_a_zombie_and_reap_joins_it():
    reg = applied("exit_makes_a_zombie_and_reap_joins_it", upto=4)
    p = reg.get(400)
    assert (p["state"], p["alive"], p["exitcode"]) == ("zombie", False, -15)
    reg = applied("exit_makes_a_zombie_and_reap_joins_it")
    assert reg.get(400) is None  # no longer a live pid
    p = table(reg)["worker-1"]
    assert (p["state"], p["reaped_how"], p["reaped_via"]) == ("joined", "implicit",
                                                             "start() of worker-2")


def test_illegal_order_is_recorded_as_an_anomaly_not_applied():
    reg = fresh()
    *ok, bad = scenario("reaped_while_running")
    for e in ok:
        reg.apply(e)
    out = reg.apply(bad)
    assert "running -> joined" in out["anomaly"]
    assert table(reg)["worker-1"]["state"] == "running"
    assert reg.anomalies == [out]


def test_event_for_unknown_pid_is_an_anomaly():
    (out,) = applied("unknown_pid").events_after(0)
    assert "KeyError" in out["anomaly"]


def test_seq_is_monotonic_and_events_are_bounded():
    reg = fresh()
    seqs = [reg.apply(e)["seq"] for e in scenario("many_served")]
    assert seqs == list(range(1, 121))
    kept = reg.events_after(0)
    assert len(kept) == 50 and kept[0]["seq"] == 71
    assert [e["seq"] for e in reg.events_after(118)] == [119, 120]


def test_client_and_worker_are_paired_by_address_either_order():
    reg = applied("client_and_worker_paired_by_address")
    assert reg.get(300)["worker_pid"] == 400
    assert reg.get(400)["client_pid"] == 300
    (echo,) = [e for e in reg.events_after(0) if e["type"] == "echo"]
    assert (echo["client_pid"], echo["worker_pid"]) == (300, 400)


def test_pid_reuse_after_reaping_is_a_new_process():
    reg = applied("pid_reused_after_reaping")
    assert reg.get(400)["uid"] == "client-9"
    assert table(reg)["worker-1"]["state"] == "joined"


def test_only_recent_joined_processes_are_kept():
    reg = applied("only_recent_joined_kept")
    joined = [p for p in reg.snapshot()["processes"] if p["state"] == "joined"]
    assert len(joined) == JOINED_KEPT
    assert "worker-0" not in table(reg)


def test_listening_sets_echo_address():
    reg = applied("listening")
    assert reg.snapshot()["echo"] == {"host": "127.0.0.1", "port": 8088}


def test_a_malformed_event_is_an_anomaly_and_the_next_one_still_applies():
    reg = fresh()
    bad, good = (reg.apply(e) for e in scenario("malformed_count"))
    assert "TypeError" in bad["anomaly"]
    assert good["seq"] == bad["seq"] + 1 and "anomaly" not in good


def test_a_worker_may_finish_talking_before_its_server_reports_it():
    """The server writes accepted/created/started as one batch after fork();
    the worker writes on its own meanwhile: hello, served, conn_closed first."""
    reg = applied("worker_done_before_its_server_reports_it")
    p = table(reg)["server-1/worker-1"]
    assert (p["state"], p["connection"], p["served"], p["peer"]) == (
        "running", "closed", 1, ["127.0.0.1", 5555])
    assert reg.anomalies == []


def test_a_refused_client_keeps_what_the_server_said():
    reg = applied("refused_client_is_told_why", upto=6)
    p = reg.get(300)
    assert (p["connection"], p["said"]) == ("closed", "server busy")
    p = table(applied("refused_client_is_told_why"))["client-1"]
    assert (p["state"], p["said"]) == ("joined", "server busy")  # closing keeps it


def test_a_connection_lost_to_an_error_said_nothing():
    p = applied("disconnected_without_a_word").get(301)
    assert (p["connection"], p["said"]) == ("closed", None)


def test_an_orphan_is_reparented_signalled_and_reaped_by_the_dashboard():
    reg = applied("server_killed_its_worker_orphaned", upto=10)
    p = reg.get(400)
    assert (p["ppid"], p["orphaned"], p["old_ppid"]) == (DASH, True, SERVER)
    assert table(reg)["server-1"]["last_signal"] == "SIGKILL"
    reg = applied("server_killed_its_worker_orphaned")
    p = table(reg)["server-1/worker-1"]
    assert (p["state"], p["connection"], p["reaped_via_kind"]) == ("joined", "closed",
                                                                   "subreaper_waitpid")
    assert reg.anomalies == []


def test_a_flood_counts_its_round_trips_and_a_lesson_step_changes_nothing():
    before = table(applied("a_lesson_floods_and_the_presenter_steps", upto=1))
    assert before == table(fresh())          # lesson_step: recorded, not applied
    reg = applied("a_lesson_floods_and_the_presenter_steps", upto=7)
    assert reg.get(303)["echoes"] == 1 + 1200
    reg = applied("a_lesson_floods_and_the_presenter_steps")
    assert reg.anomalies == []
    assert [e["type"] for e in reg.events][-1] == "lesson_step"

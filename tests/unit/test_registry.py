"""The registry without processes: events in, process table out."""

from app.model.registry import JOINED_KEPT, Registry

DASH = 100


def ev(type_, t=1.0, **fields):
    fields.setdefault("by", fields.get("pid"))
    return {"type": type_, "t": t, **fields}


def lifecycle(uid, pid, parent, role="worker", **extra):
    return [
        ev("created", pid=None, uid=uid, role=role, name=uid, by=parent, **extra),
        ev("started", pid=pid, ppid=parent, uid=uid, role=role, name=uid, by=parent,
           start_ms=2.5, **extra),
        ev("hello", pid=pid, ppid=parent, role=role, name=uid, daemon=False),
    ]


def fresh():
    return Registry(DASH, 1, keep=50)


def table(reg):
    return {p["uid"]: p for p in reg.snapshot()["processes"]}


def test_dashboard_is_listed_running():
    p = table(fresh())["dashboard"]
    assert (p["pid"], p["ppid"], p["role"], p["state"], p["alive"]) == (DASH, 1, "dashboard",
                                                                      "running", True)


def test_created_has_no_pid_then_running():
    reg = fresh()
    created, started, hello = lifecycle("server-1", 200, DASH, role="server")
    reg.apply(created)
    assert table(reg)["server-1"]["state"] == "created"
    assert table(reg)["server-1"]["pid"] is None
    reg.apply(started)
    p = table(reg)["server-1"]
    assert (p["state"], p["pid"], p["ppid"], p["alive"]) == ("running", 200, DASH, True)
    reg.apply(hello)
    assert reg.anomalies == []


def test_hello_may_arrive_before_started():
    reg = fresh()
    created, started, hello = lifecycle("client-1", 300, DASH, role="client")
    for e in (created, hello, started):
        reg.apply(e)
    assert table(reg)["client-1"]["state"] == "running"
    assert reg.anomalies == []


def test_exit_makes_a_zombie_and_reap_joins_it():
    reg = fresh()
    for e in lifecycle("worker-1", 400, 200):
        reg.apply(e)
    reg.apply(ev("exited", pid=400, uid="worker-1", exitcode=-15, by=200))
    p = reg.get(400)
    assert (p["state"], p["alive"], p["exitcode"]) == ("zombie", False, -15)
    reg.apply(ev("reaped", pid=400, uid="worker-1", exitcode=-15, how="implicit",
                 via="start() of worker-2", by=200))
    assert reg.get(400) is None  # no longer a live pid
    p = table(reg)["worker-1"]
    assert (p["state"], p["reaped_how"], p["reaped_via"]) == ("joined", "implicit",
                                                             "start() of worker-2")


def test_illegal_order_is_recorded_as_an_anomaly_not_applied():
    reg = fresh()
    for e in lifecycle("worker-1", 400, 200):
        reg.apply(e)
    out = reg.apply(ev("reaped", pid=400, uid="worker-1", exitcode=0, how="join", by=200))
    assert "running -> joined" in out["anomaly"]
    assert table(reg)["worker-1"]["state"] == "running"
    assert reg.anomalies == [out]


def test_event_for_unknown_pid_is_an_anomaly():
    out = fresh().apply(ev("served", pid=999, bytes=3))
    assert "KeyError" in out["anomaly"]


def test_seq_is_monotonic_and_events_are_bounded():
    reg = fresh()
    seqs = [reg.apply(ev("served", pid=DASH))["seq"] for _ in range(120)]
    assert seqs == list(range(1, 121))
    kept = reg.events_after(0)
    assert len(kept) == 50 and kept[0]["seq"] == 71
    assert [e["seq"] for e in reg.events_after(118)] == [119, 120]


def test_client_and_worker_are_paired_by_address_either_order():
    reg = fresh()
    for e in lifecycle("client-1", 300, DASH, role="client"):
        reg.apply(e)
    reg.apply(ev("connected", pid=300, local=["127.0.0.1", 5555], server=["127.0.0.1", 8088]))
    for e in lifecycle("worker-1", 400, 200, peer=["127.0.0.1", 5555]):
        reg.apply(e)
    assert reg.get(300)["worker_pid"] == 400
    assert reg.get(400)["client_pid"] == 300
    echo = reg.apply(ev("echo", pid=300, text="hi", reply="HI", rtt_ms=0.2))
    assert (echo["client_pid"], echo["worker_pid"]) == (300, 400)


def test_pid_reuse_after_reaping_is_a_new_process():
    reg = fresh()
    for e in lifecycle("worker-1", 400, 200):
        reg.apply(e)
    reg.apply(ev("exited", pid=400, uid="worker-1", exitcode=0, by=200))
    reg.apply(ev("reaped", pid=400, uid="worker-1", exitcode=0, how="join", by=200))
    for e in lifecycle("client-9", 400, DASH, role="client"):
        reg.apply(e)
    assert reg.get(400)["uid"] == "client-9"
    assert table(reg)["worker-1"]["state"] == "joined"


def test_only_recent_joined_processes_are_kept():
    reg = fresh()
    for i in range(JOINED_KEPT + 5):
        uid, pid = f"worker-{i}", 1000 + i
        for e in lifecycle(uid, pid, 200):
            reg.apply(e)
        reg.apply(ev("exited", pid=pid, uid=uid, exitcode=0, by=200))
        reg.apply(ev("reaped", pid=pid, uid=uid, exitcode=0, how="join", by=200))
    joined = [p for p in reg.snapshot()["processes"] if p["state"] == "joined"]
    assert len(joined) == JOINED_KEPT
    assert "worker-0" not in table(reg)


def test_listening_sets_echo_address():
    reg = fresh()
    reg.apply(ev("listening", pid=200, host="127.0.0.1", port=8088))
    assert reg.snapshot()["echo"] == {"host": "127.0.0.1", "port": 8088}


def test_a_malformed_event_is_an_anomaly_and_the_next_one_still_applies():
    reg = fresh()
    bad = reg.apply(ev("served", pid=DASH, count="three"))  # a count that is not a number
    assert "TypeError" in bad["anomaly"]
    good = reg.apply(ev("served", pid=DASH, count=1))
    assert good["seq"] == bad["seq"] + 1 and "anomaly" not in good


def test_a_worker_may_finish_talking_before_its_server_reports_it():
    """The server writes accepted/created/started as one batch after fork();
    the worker writes on its own meanwhile: hello, served, conn_closed first."""
    reg = fresh()
    peer = ["127.0.0.1", 5555]
    created, started, hello = lifecycle("server-1/worker-1", 400, 200, peer=peer)
    hello["uid"] = "server-1/worker-1"
    for e in (hello, ev("served", pid=400, count=1, bytes=3, text="HI"),
              ev("conn_closed", pid=400, peer=peer), created, started):
        reg.apply(e)
    p = table(reg)["server-1/worker-1"]
    assert (p["state"], p["connection"], p["served"], p["peer"]) == ("running", "closed", 1, peer)
    assert reg.anomalies == []

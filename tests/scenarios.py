"""Event sequences, as the lab would report them, shared by two tests:

* ``tests/unit/test_registry.py`` applies them to the registry and checks what
  it makes of them;
* ``tests/e2e/test_model_parity.py`` replays the registry's output through the
  page's ``static/js/model.js`` in Chromium and requires the same processes,
  every field of P, after every event.

So a rule written on one side only shows up as a difference. Events are plain
data (JSON, as they travel to the page); the registry adds ``seq``. Together the
scenarios use every event type of the schema (``test_schema.py`` checks), so a
new type needs a scenario before both sides can be said to agree on it.
"""

import copy

from app.model.schema import JOINED_KEPT

DASH = 100          # the dashboard's pid in every scenario
DASH_PPID = 1
SERVER = 200        # the echo server's pid, where one is named as a parent


def ev(type_, t=1.0, **fields):
    """One event; reported by the process it is about unless *by* says otherwise."""
    fields.setdefault("by", fields.get("pid"))
    return {"type": type_, "t": t, **fields}


def lifecycle(uid, pid, parent, role="worker", **extra):
    """created and started, reported by *parent*, then the child's own hello."""
    return [
        ev("created", pid=None, uid=uid, role=role, name=uid, by=parent, daemon=False, **extra),
        ev("started", pid=pid, ppid=parent, uid=uid, role=role, name=uid, by=parent,
           daemon=False, start_ms=2.5, **extra),
        ev("hello", pid=pid, ppid=parent, role=role, name=uid, daemon=False),
    ]


def exit_and_reap(uid, pid, parent, exitcode=0, how="join", t=2.0):
    """The parent sees the exit (a zombie), then joins it."""
    return [
        ev("exited", t=t, pid=pid, uid=uid, exitcode=exitcode, by=parent),
        ev("reaped", t=t, pid=pid, uid=uid, exitcode=exitcode, how=how,
           via=f"{uid}.join()", via_kind="join", via_call=f"{uid}.join()", by=parent),
    ]


def _created_started_hello():
    return lifecycle("server-1", SERVER, DASH, role="server", start_method="spawn")


def _hello_before_started():
    created, started, hello = lifecycle("client-1", 300, DASH, role="client")
    return [created, hello, started]


def _exit_makes_a_zombie_and_reap_joins_it():
    return [*lifecycle("worker-1", 400, SERVER),
            ev("exited", pid=400, uid="worker-1", exitcode=-15, by=SERVER),
            ev("reaped", pid=400, uid="worker-1", exitcode=-15, how="implicit",
               via="start() of worker-2", via_kind="start", via_call="worker-2.start()",
               by=SERVER)]


def _reaped_while_running():
    return [*lifecycle("worker-1", 400, SERVER),
            ev("reaped", pid=400, uid="worker-1", exitcode=0, how="join", by=SERVER)]


def _unknown_pid():
    return [ev("served", pid=999, bytes=3)]


def _many_served():
    return [ev("served", pid=DASH) for _ in range(120)]


def _client_and_worker_paired_by_address():
    peer = ["127.0.0.1", 5555]
    return [*lifecycle("client-1", 300, DASH, role="client"),
            ev("connected", pid=300, local=peer, server=["127.0.0.1", 8088]),
            ev("accepted", pid=SERVER, peer=peer),
            *lifecycle("worker-1", 400, SERVER, peer=peer, style="target"),
            ev("echo", pid=300, text="hi", reply="HI", rtt_ms=0.2, local=peer),
            ev("served", pid=400, count=1, bytes=2, text="HI")]


def _pid_reused_after_reaping():
    return [*lifecycle("worker-1", 400, SERVER),
            *exit_and_reap("worker-1", 400, SERVER),
            *lifecycle("client-9", 400, DASH, role="client")]


def _only_recent_joined_kept():
    events = []
    for i in range(JOINED_KEPT + 5):
        uid, pid = f"worker-{i}", 1000 + i
        events += [*lifecycle(uid, pid, SERVER), *exit_and_reap(uid, pid, SERVER, t=2.0 + i)]
    return events


def _listening():
    return [ev("listening", pid=SERVER, host="127.0.0.1", port=8088)]


def _malformed_count():
    return [ev("served", pid=DASH, count="three"),   # a count that is not a number
            ev("served", pid=DASH, count=1)]


def _worker_done_before_its_server_reports_it():
    """The server writes accepted/created/started as one batch after fork();
    the worker writes on its own meanwhile: hello, served, conn_closed first."""
    peer = ["127.0.0.1", 5555]
    created, started, hello = lifecycle("server-1/worker-1", 400, SERVER, peer=peer)
    hello["uid"] = "server-1/worker-1"
    return [hello, ev("served", pid=400, count=1, bytes=3, text="HI"),
            ev("conn_closed", pid=400, peer=peer), created, started]


def _refused_client_is_told_why():
    """At --max-workers the server answers "server busy" and closes; the client
    keeps what it was told (P's said)."""
    local = ["127.0.0.1", 6000]
    return [*lifecycle("client-1", 300, DASH, role="client"),
            ev("connected", pid=300, local=local, server=["127.0.0.1", 8088]),
            ev("refused", pid=SERVER, peer=local, limit=1),
            ev("disconnected", pid=300, said="server busy"),
            ev("client_closed", pid=300),
            *exit_and_reap("client-1", 300, DASH)]


def _disconnected_without_a_word():
    local = ["127.0.0.1", 6001]
    return [*lifecycle("client-2", 301, DASH, role="client"),
            ev("connected", pid=301, local=local, server=["127.0.0.1", 8088]),
            ev("disconnected", pid=301, error="Connection reset by peer")]


def _client_closed_on_request():
    local = ["127.0.0.1", 6002]
    return [*lifecycle("client-3", 302, DASH, role="client"),
            ev("connected", pid=302, local=local, server=["127.0.0.1", 8088]),
            ev("client_closed", pid=302),
            *exit_and_reap("client-3", 302, DASH)]


def _server_killed_its_worker_orphaned():
    """The server is killed: its worker is re-parented to the dashboard, which
    then fails to join it in time, signals it and reaps it."""
    peer = ["127.0.0.1", 6003]
    worker = "server-1/worker-1"
    started = lifecycle(worker, 400, SERVER, peer=peer)
    started[2]["uid"] = worker
    return [*lifecycle("server-1", SERVER, DASH, role="server"),
            *started,
            ev("signalled", pid=SERVER, uid="server-1", call="kill()", signal="SIGKILL", by=DASH),
            ev("exited", pid=SERVER, uid="server-1", exitcode=-9, by=DASH),
            ev("reaped", pid=SERVER, uid="server-1", exitcode=-9, how="join",
               via="server-1.join()", via_kind="join", via_call="server-1.join()", by=DASH),
            ev("reparented", pid=400, uid=worker, old_ppid=SERVER, ppid=DASH, by=DASH),
            ev("join_timeout", pid=400, uid=worker, timeout=0.1, by=DASH),
            ev("idle_timeout", pid=400, seconds=600),
            ev("conn_closed", pid=400, peer=peer),
            ev("exited", pid=400, uid=worker, exitcode=0, by=DASH),
            ev("reaped", pid=400, uid=worker, exitcode=0, how="join",
               via="os.waitpid(400, 0) by the dashboard (subreaper)",
               via_kind="subreaper_waitpid", via_call="os.waitpid(400, 0)", by=DASH)]


def _daemon_demo():
    """A daemonic helper tries to start a child: multiprocessing refuses (error);
    a demo that works reports demo instead."""
    created, started, hello = lifecycle("helper-1", 500, DASH, role="helper")
    hello["daemon"] = True
    return [created, started, hello,
            ev("error", pid=500, error="daemonic processes are not allowed to have children",
               demo="daemon_child"),
            ev("demo", pid=500, error=None, demo="daemon_child"),
            *exit_and_reap("helper-1", 500, DASH)]


def _stepped_through_a_connection():
    """Step mode: the server stops at start holding a connection (no worker yet),
    is released, the worker reaches recv and stops at send; terminated there it
    is a zombie and waits no more."""
    peer = ["127.0.0.1", 50000]
    return [*_created_started_hello(),
            ev("phase", pid=SERVER, at="accepting", t=1.1),
            ev("gate_wait", pid=SERVER, gate="start", peer=peer, t=1.2),
            ev("gate_pass", pid=SERVER, gate="start", how="step", t=1.3),
            *lifecycle("worker-1", 400, SERVER, peer=peer),
            ev("phase", pid=400, at="recv", t=1.4),
            ev("gate_wait", pid=400, gate="send", t=1.5),
            ev("exited", pid=400, uid="worker-1", exitcode=-15, by=SERVER, t=1.6)]


def _a_poll_around_a_kill():
    """The room predicts, the server is killed, the answer is revealed: the
    poll events are the dashboard's own (pid null) and change no process."""
    choices = ["they die with it", "orphans, adopted by the dashboard"]
    return [*_created_started_hello(),
            ev("poll_opened", pid=None, by=DASH, poll=1, question="kill server-1?",
               choices=choices, lesson="orphans", step=2, t=1.1),
            ev("poll_closed", pid=None, by=DASH, poll=1, counts=[3, 5], voters=8, t=1.2),
            ev("signalled", pid=SERVER, uid="server-1", call="kill()", signal="SIGKILL",
               by=DASH, t=1.3),
            ev("exited", pid=SERVER, uid="server-1", exitcode=-9, by=DASH, t=1.4),
            ev("poll_revealed", pid=None, by=DASH, poll=1, choice=1,
               note="re-parented to the dashboard", t=1.5)]
def _a_lesson_floods_and_the_presenter_steps():
    """A lesson: the presenter's step (a dashboard event, changes nothing), a
    client's echo then a flood of round trips counted at once, the run demo's
    two reports of run()."""
    local = ["127.0.0.1", 6004]
    return [ev("lesson_step", pid=DASH, lesson="concurrency", step=3, phase="asking"),
            *lifecycle("client-4", 303, DASH, role="client"),
            ev("connected", pid=303, local=local, server=["127.0.0.1", 8088]),
            ev("echo", pid=303, text="hi", reply="HI", rtt_ms=0.2, local=local),
            ev("flooded", pid=303, count=1200, bytes=4800, seconds=3.0, text="ping"),
            ev("demo", pid=501, by=501, demo="run_vs_start", error=None, call="p.run()",
               ppid=DASH),
            ev("lesson_step", pid=DASH, lesson="concurrency", step=3, phase="done",
               truth="cores", outcome=[{"key": "lesson.fact.cores", "params": {"cores": 2}}])]


#: name -> the events, in the order the registry receives them.
SCENARIOS = {
    "dashboard_only": [],
    "created_started_hello": _created_started_hello(),
    "hello_before_started": _hello_before_started(),
    "exit_makes_a_zombie_and_reap_joins_it": _exit_makes_a_zombie_and_reap_joins_it(),
    "reaped_while_running": _reaped_while_running(),
    "unknown_pid": _unknown_pid(),
    "many_served": _many_served(),
    "client_and_worker_paired_by_address": _client_and_worker_paired_by_address(),
    "pid_reused_after_reaping": _pid_reused_after_reaping(),
    "only_recent_joined_kept": _only_recent_joined_kept(),
    "listening": _listening(),
    "malformed_count": _malformed_count(),
    "worker_done_before_its_server_reports_it": _worker_done_before_its_server_reports_it(),
    "refused_client_is_told_why": _refused_client_is_told_why(),
    "disconnected_without_a_word": _disconnected_without_a_word(),
    "client_closed_on_request": _client_closed_on_request(),
    "server_killed_its_worker_orphaned": _server_killed_its_worker_orphaned(),
    "daemon_demo": _daemon_demo(),
    "stepped_through_a_connection": _stepped_through_a_connection(),
    "a_poll_around_a_kill": _a_poll_around_a_kill(),
    "a_lesson_floods_and_the_presenter_steps": _a_lesson_floods_and_the_presenter_steps(),
}


def scenario(name):
    """A fresh copy of a scenario's events: an applier may keep or change them."""
    return copy.deepcopy(SCENARIOS[name])

"""Fork-tree puzzles (OSTEP's fork.py) on real processes: every step's tree is
the one /proc has, orphans go where the kernel sends them, and ending a puzzle
leaves nothing. psutil is the truth throughout."""

import psutil
import pytest

from app.model.puzzle import generate
from app.settings import Settings
from tests.conftest import running
from tests.helpers import Api, model_vs_proc

ISSUE = "a+b,b+c,c+d,c+e,c-"


def start(api, **body):
    r = api.post("/api/puzzles", body)
    assert r.status_code == 201, r.text
    return r.json()


def step(api, puzzle_id, status=200):
    r = api.post(f"/api/puzzles/{puzzle_id}/next")
    assert r.status_code == status, r.text
    return r.json()


def pids(tree):
    return {p["name"]: p["pid"] for p in tree}


def assert_tree_is_proc(tree):
    """Each named process exists, is not a zombie, and its ppid is /proc's."""
    assert tree, "a puzzle always has a"
    for p in tree:
        proc = psutil.Process(p["pid"])
        assert proc.status() != psutil.STATUS_ZOMBIE, p
        assert proc.ppid() == p["ppid"], (p, proc.ppid())
        assert p["state"] == "running", p


def run_all(api, puzzle):
    """Next through every action; each step's tree checked against /proc."""
    trees = []
    for _ in puzzle["actions"]:
        body = step(api, puzzle["id"])
        assert_tree_is_proc(body["tree"])
        assert body["match"], body   # the simulator's tree is the kernel's
        trees.append(body)
    return trees


def end(api, puzzle_id):
    r = api.http.delete(f"{api.base}/api/puzzles/{puzzle_id}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def puzzle_api(live_app):
    return live_app.api


def test_with_reparent_root_the_orphans_go_to_a(puzzle_api, dashboard_pid):
    api = puzzle_api
    puzzle = start(api, actions=ISSUE, reparent="root")
    assert puzzle["actions"] == ["a+b", "b+c", "c+d", "c+e", "c-"]
    assert [p["name"] for p in puzzle["tree"]] == ["a"]
    a = puzzle["tree"][0]["pid"]
    assert psutil.Process(a).ppid() == dashboard_pid
    steps = run_all(api, puzzle)
    before, last = pids(steps[-2]["tree"]), steps[-1]
    assert last["action"] == "c-" and last["outcome"] == "exited"
    assert psutil.Process(before["d"]).ppid() == a
    assert psutil.Process(before["e"]).ppid() == a
    assert not psutil.pid_exists(before["c"])          # exited, and reaped by b
    assert last["tree_text"] == "a\n├── b\n├── d\n└── e"
    state = api.state()
    assert model_vs_proc(state) == []
    c = next(p for p in state["processes"] if p["uid"] == "puzzle-1/c")
    assert (c["state"], c["exitcode"], c["reaped_via_call"]) == ("joined", 0, "c.join()")
    d = next(p for p in state["processes"] if p["uid"] == "puzzle-1/d")
    assert (d["orphaned"], d["old_ppid"], d["ppid"]) == (True, before["c"], a)
    end(api, puzzle["id"])


def test_with_reparent_ancestor_the_orphans_go_to_the_exiting_ones_parent(puzzle_api):
    api = puzzle_api
    puzzle = start(api, actions=ISSUE, reparent="ancestor")
    steps = run_all(api, puzzle)
    before = pids(steps[-2]["tree"])
    assert psutil.Process(before["d"]).ppid() == before["b"]
    assert psutil.Process(before["e"]).ppid() == before["b"]
    assert steps[-1]["tree_text"] == "a\n└── b\n    ├── d\n    └── e"
    # grandchildren keep their parent: only the orphans move (fork.py's default
    # would move every descendant)
    more = end(api, puzzle["id"])
    assert set(more["ended"]) == set(pids(steps[-1]["tree"]).values())


def test_leaf_only_refuses_an_exit_with_children(puzzle_api):
    api = puzzle_api
    puzzle = start(api, actions=ISSUE + ",d-,e-,c-", leaf_only=True)
    for _ in range(4):
        step(api, puzzle["id"])
    r = api.post(f"/api/puzzles/{puzzle['id']}/next")
    assert r.status_code == 409 and r.json()["code"] == "has_children", r.text
    state = api.get(f"/api/puzzles/{puzzle['id']}").json()
    assert_tree_is_proc(state["tree"])
    tree = {p["name"]: p for p in state["tree"]}
    assert tree["d"]["ppid"] == tree["c"]["pid"] == psutil.Process(tree["e"]["pid"]).ppid()
    assert state["outcomes"][-1] == "has_children" and state["index"] == 5
    # the puzzle moves on, as fork.py does: the leaves go, then c may
    for _ in range(3):
        body = step(api, puzzle["id"])
        assert_tree_is_proc(body["tree"])
    assert body["tree_text"] == "a\n└── b"
    end(api, puzzle["id"])


def test_a_seeded_puzzle_of_20_actions_is_the_same_every_run(puzzle_api):
    api = puzzle_api
    runs = []
    for _ in range(2):
        puzzle = start(api, seed=31337, count=20, fork_p=0.7, reparent="ancestor")
        runs.append(puzzle["actions"])
        run_all(api, puzzle)
        r = api.post(f"/api/puzzles/{puzzle['id']}/next")
        assert r.status_code == 409 and r.json()["code"] == "finished"
        end(api, puzzle["id"])
    assert runs[0] == runs[1] == [str(a) for a in generate(31337, 20, 0.7)]
    assert len(runs[0]) == 20


def test_ending_a_puzzle_leaves_nothing(puzzle_api, dashboard_pid):
    api = puzzle_api
    puzzle = start(api, actions="a+b,b+c,c+d,a+e,e+f,b-", reparent="root")
    trees = run_all(api, puzzle)
    live = set(pids(trees[-1]["tree"]).values())
    assert len(live) == 5
    ended = end(api, puzzle["id"])
    assert set(ended["ended"]) == live
    assert [pid for pid in live if psutil.pid_exists(pid)] == []
    mine = psutil.Process(dashboard_pid).children(recursive=True)
    assert not [p for p in mine if p.pid in live]
    assert api.get(f"/api/puzzles/{puzzle['id']}").status_code == 404
    assert api.get("/api/puzzles").json() == {"puzzle": None}
    state = api.state()
    puzzle_procs = {p["name"]: p for p in state["processes"] if p["role"] == "puzzle"}
    assert sorted(puzzle_procs) == list("abcdef") and model_vs_proc(state) == []
    # an orderly end: each exited by itself (exit code 0, no signal), leaves
    # first, reaped by its parent — c by a, which adopted it when b exited
    assert {(p["state"], p["exitcode"], p["last_signal"]) for p in puzzle_procs.values()} \
        == {("joined", 0, None)}
    c = puzzle_procs["c"]["pid"]
    assert {n: p["reaped_via_call"] for n, p in puzzle_procs.items()} == {
        "a": "a.join()", "b": "b.join()", "c": f"os.waitpid({c}, 0)", "d": "d.join()",
        "e": "e.join()", "f": "f.join()"}


def test_the_state_offers_the_expected_tree_and_candidates(puzzle_api):
    api = puzzle_api
    puzzle = start(api, actions=ISSUE)
    for _ in range(4):
        step(api, puzzle["id"])
    state = api.get(f"/api/puzzles/{puzzle['id']}").json()
    upcoming = state["next"]
    assert upcoming["action"] == "c-"
    assert upcoming["expected_text"] == "a\n├── b\n├── d\n└── e"
    (true,) = [c for c in upcoming["candidates"] if c["correct"]]
    assert true["text"] == upcoming["expected_text"]
    assert len(upcoming["candidates"]) == 4
    assert state == api.get(f"/api/puzzles/{puzzle['id']}").json()  # the same order again
    body = step(api, puzzle["id"])
    assert body["tree_text"] == true["text"] == body["predicted_text"]
    last = api.get(f"/api/puzzles/{puzzle['id']}").json()["last"]
    assert last["before_text"] == "a\n└── b\n    └── c\n        ├── d\n        └── e"
    assert [c["action"] for c in last["action_candidates"] if c["correct"]] == ["c-"]
    end(api, puzzle["id"])


def test_bad_puzzles_are_refused_with_a_reason_and_start_nothing(puzzle_api):
    api = puzzle_api
    for body, reason in [({"actions": "a+b", "seed": 3}, "actions_or_seed"),
                         ({"actions": "a+b,a-"}, "root_exit"),
                         ({"actions": "a+b,c+d"}, "not_alive"),
                         ({"actions": "a*b"}, "bad_action"),
                         ({"actions": []}, "no_actions"),
                         ({"actions": 5}, "actions_type"),
                         ({"seed": -1}, "seed_range"),
                         ({"seed": True}, "seed_not_int"),
                         ({"count": 0}, "count_range"),
                         ({"fork_p": 0}, "fork_p_range"),
                         ({"fork_p": "x"}, "fork_p_not_number"),
                         ({"reparent": "init"}, "reparent"),
                         ({"leaf_only": "yes"}, "leaf_only_not_bool"),
                         ({"ask": "why"}, "ask")]:
        r = api.post("/api/puzzles", body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["params"]["reason"] == reason, (body, r.json())
    assert api.processes(role="puzzle") == []
    assert api.post("/api/puzzles/1/next").status_code == 404
    assert api.post("/api/puzzles/x/next").json()["params"]["reason"] == "id_not_int"


def test_one_puzzle_at_a_time_and_finished_is_finished(puzzle_api):
    api = puzzle_api
    puzzle = start(api, actions="a+b")
    r = api.post("/api/puzzles", {"actions": "a+b"})
    assert r.status_code == 409 and r.json()["code"] == "puzzle_running"
    step(api, puzzle["id"])
    r = api.post(f"/api/puzzles/{puzzle['id']}/next")
    assert r.status_code == 409 and r.json()["code"] == "finished"
    assert api.post(f"/api/puzzles/{puzzle['id'] + 1}/next").status_code == 404
    end(api, puzzle["id"])
    assert api.http.delete(f"{api.base}/api/puzzles/{puzzle['id']}").status_code == 404


def test_puzzle_processes_count_toward_max_processes():
    with running(Settings(port=0, echo_port=0, max_processes=4)) as live:
        api = live.api
        # the server and the resource tracker count; a puzzle of 3 more does not fit
        r = api.post("/api/puzzles", {"actions": "a+b,b+c"})
        assert r.status_code == 429 and r.json()["code"] == "max_processes", r.text
        assert api.processes(role="puzzle") == []
        puzzle = start(api, actions="a+b,b-")
        step(api, puzzle["id"])
        step(api, puzzle["id"])
        end(api, puzzle["id"])


def test_viewers_cannot_start_step_or_end_a_puzzle():
    with running(Settings(port=0, echo_port=0, token="t0ken")) as live:
        viewer = Api(live.url)
        presenter = Api(live.url)
        presenter.http.headers["Authorization"] = "Bearer t0ken"
        assert viewer.post("/api/puzzles", {"actions": "a+b"}).status_code == 403
        puzzle = start(presenter, actions="a+b")
        assert viewer.post(f"/api/puzzles/{puzzle['id']}/next").status_code == 403
        r = viewer.http.delete(f"{live.url}/api/puzzles/{puzzle['id']}")
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert viewer.get(f"/api/puzzles/{puzzle['id']}").json()["id"] == puzzle["id"]
        end(presenter, puzzle["id"])


def test_socketio_puzzle_events_and_their_broadcast(live_app, sio):
    seen = []
    sio.on("puzzle", seen.append)
    ack = sio.call("puzzle_start", {"actions": "a+b,b-"}, timeout=30)
    assert ack["ok"] and ack["status"] == 201, ack
    puzzle_id = ack["body"]["id"]
    ack = sio.call("puzzle_next", {"id": puzzle_id}, timeout=30)
    assert ack["ok"] and ack["body"]["action"] == "a+b"
    ack = sio.call("puzzle_end", {"id": puzzle_id}, timeout=30)
    assert ack["ok"] and ack["body"]["id"] == puzzle_id, ack
    assert sio.call("puzzle_end", {"id": puzzle_id}, timeout=30)["status"] == 404
    from tests.helpers import wait_until
    wait_until(lambda: len(seen) >= 3, message="three puzzle broadcasts")
    assert seen[0]["puzzle"]["id"] == puzzle_id and seen[-1] == {"puzzle": None}


def test_reveal_moves_between_question_and_answer(puzzle_api):
    api = puzzle_api
    for ask, after_next, after_reveal in (("action", "question", "answer"),
                                          ("tree", "answer", "question")):
        puzzle = start(api, actions="a+b,b+c", ask=ask)
        assert puzzle["phase"] == "question"
        url = f"/api/puzzles/{puzzle['id']}/reveal"
        if ask == "action":   # nothing was run: no action to show
            r = api.post(url)
            assert r.status_code == 409 and r.json()["code"] == "nothing_to_reveal"
        step(api, puzzle["id"])
        assert api.get(f"/api/puzzles/{puzzle['id']}").json()["phase"] == after_next
        r = api.post(url)
        assert r.status_code == 200 and r.json()["phase"] == after_reveal, r.text
        assert api.post(url).status_code == 409
        end(api, puzzle["id"])


def test_a_puzzle_process_killed_from_a_terminal_is_told_truthfully(puzzle_api):
    """kill -9 from outside the lab: its parent reaps it, its children say they
    were re-parented, the page's tree stays /proc's — and the end still
    leaves nothing (the adopter reaps the orphans it never was told about)."""
    import os
    import signal

    from tests.helpers import wait_until
    api = puzzle_api
    puzzle = start(api, actions="a+b,b+c,c+d,c+e,c-", reparent="ancestor")
    trees = [step(api, puzzle["id"]) for _ in range(4)]
    before = pids(trees[-1]["tree"])
    os.kill(before["c"], signal.SIGKILL)
    wait_until(lambda: {p["name"] for p in api.get("/api/puzzles").json()["puzzle"]["tree"]}
               == {"a", "b", "d", "e"}, message="c reaped, and gone from the puzzle's tree")
    wait_until(lambda: model_vs_proc(api.state()) == [], message="the model to be /proc's")
    state = api.get(f"/api/puzzles/{puzzle['id']}").json()
    assert_tree_is_proc(state["tree"])
    assert state["tree_text"] == "a\n└── b\n    ├── d\n    └── e"
    c = next(p for p in api.state()["processes"] if p["uid"] == "puzzle-1/c")
    assert (c["exitcode"], c["reaped_via_call"]) == (-9, "c.join()")
    # the puzzle cannot run c- any more: said, not faked
    r = api.post(f"/api/puzzles/{puzzle['id']}/next")
    assert r.status_code == 409 and r.json()["code"] == "wrong_state"
    ended = end(api, puzzle["id"])
    assert set(ended["ended"]) == {before[n] for n in "abde"}
    assert [pid for pid in before.values() if psutil.pid_exists(pid)] == []
    # still an orderly end: d and e reaped by b, which adopted them unannounced
    procs = {p["name"]: p for p in api.state()["processes"] if p["uid"].startswith("puzzle-1/")}
    assert {n: (p["exitcode"], p["last_signal"]) for n, p in procs.items()} == {
        "a": (0, None), "b": (0, None), "c": (-9, None), "d": (0, None), "e": (0, None)}
    assert procs["d"]["reaped_via_call"] == f"os.waitpid({before['d']}, 0)"


def test_asking_the_room_opens_a_poll_the_step_settles_with_procs_tree(puzzle_api, sio):
    """"Ask the room": the candidates become a poll's choices (trees of several
    lines); the room votes; Next runs the action, closes the poll and reveals
    the choice that is the tree /proc has."""
    api = puzzle_api
    puzzle = start(api, actions=ISSUE)
    url = f"/api/puzzles/{puzzle['id']}"
    for _ in range(4):
        step(api, puzzle["id"])
        assert api.post(url + "/ask").json()["code"] == "nothing_to_ask"   # an answer shows
        api.post(url + "/reveal")
    r = api.post(url + "/ask", {"question": " "})
    assert r.status_code == 400 and r.json()["params"]["reason"] == "question_empty"
    r = api.post(url + "/ask", {"question": "c 退出之后，进程树是哪一棵？"})
    assert r.status_code == 200, r.text
    asked = r.json()
    poll_id = asked["poll"]["id"]
    assert asked["poll"] == {"id": poll_id, "step": 4, "kind": "tree"}
    assert api.post(url + "/ask").json()["code"] == "already_asked"
    poll = api.get(f"/api/polls/{poll_id}").json()
    assert poll["state"] == "open" and poll["question"] == "c 退出之后，进程树是哪一棵？"
    assert poll["choices"] == [c["text"] for c in asked["next"]["candidates"]]
    wrong = next(i for i, c in enumerate(asked["next"]["candidates"]) if not c["correct"])
    ack = sio.call("vote", {"poll": poll_id, "choice": wrong}, timeout=10)
    assert ack["ok"], ack
    body = step(api, puzzle["id"])
    poll = api.get(f"/api/polls/{poll_id}").json()
    assert poll["state"] == "revealed" and poll["counts"][wrong] == 1
    assert poll["choices"][poll["answer"]] == body["tree_text"] == "a\n├── b\n├── d\n└── e"
    end(api, puzzle["id"])


def test_asking_the_room_which_action_ran(puzzle_api):
    api = puzzle_api
    puzzle = start(api, actions="a+b,a+c,b+d,d-", ask="action")
    url = f"/api/puzzles/{puzzle['id']}"
    assert api.post(url + "/ask").json()["code"] == "nothing_to_ask"   # nothing ran yet
    for _ in range(3):
        step(api, puzzle["id"])
        api.post(url + "/reveal")
    step(api, puzzle["id"])                                             # d-, hidden
    asked = api.post(url + "/ask").json()
    poll_id = asked["poll"]["id"]
    assert api.get(f"/api/polls/{poll_id}").json()["choices"] == [
        c["action"] for c in asked["last"]["action_candidates"]]
    api.post(url + "/reveal")
    poll = api.get(f"/api/polls/{poll_id}").json()
    assert poll["state"] == "revealed" and poll["choices"][poll["answer"]] == "d-"
    end(api, puzzle["id"])


def test_ending_a_puzzle_whose_root_was_killed_leaves_nothing(puzzle_api, dashboard_pid):
    """kill -9 of a from a terminal: its children go to the dashboard (the lab's
    subreaper), which a's exit cannot reap; the end still leaves nothing (d,
    whose channel the end closes, exits by itself; the dashboard reaps it)."""
    import os
    import signal

    from tests.helpers import wait_until
    api = puzzle_api
    puzzle = start(api, actions="a+b,b+c,a+d", reparent="root")
    tree = pids(run_all(api, puzzle)[-1]["tree"])
    os.kill(tree["a"], signal.SIGKILL)
    wait_until(lambda: psutil.Process(tree["b"]).ppid() == dashboard_pid,
               message="b re-parented to the dashboard")
    end(api, puzzle["id"])
    assert [pid for pid in tree.values() if psutil.pid_exists(pid)] == []
    state = api.state()
    assert all(p["state"] == "joined" for p in state["processes"] if p["role"] == "puzzle")
    assert model_vs_proc(state) == []

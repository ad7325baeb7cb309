"""The puzzle desk: OSTEP's fork-tree puzzles as actions of the dashboard.

``app.web.dispatch`` routes ``/api/puzzles...`` here. The desk checks a new
puzzle's values (each wrong one with its ``params.reason``), draws or parses
its actions and plans it (``app.model.puzzle``: the pure part), applies the
caps, and runs it on real processes through the lab (``Lab.puzzles``, an
``app.lab.puzzle_room.PuzzleRoom``). After each action it waits — on the
registry's condition, never with a sleep — until the events that prove the
kernel did it are in: the new child running under its parent, or the exited
process reaped and each orphan's ppid the one ``/proc`` now gives it. Its
answers are then read from the registry, which is what ``/proc`` has.

One puzzle runs at a time. Its state (``state()``) is what every page shows:
the actions, the next one, the tree now, the tree the simulator expects next
and candidate trees for the room's vote, and how the last step went. Each
change is also broadcast to every page over Socket.IO (``puzzle``).
"""

import secrets
import threading
from dataclasses import dataclass, field

import psutil

from app.errors import LabError
from app.lab.puzzle import puzzle_uid
from app.model import puzzle as pz
from app.model.polls import MAX_TEXT as POLL_TEXT_MAX
from app.model.states import State
from app.web.controller import SETTLE_TIMEOUT, bad, require_object

SEED_MAX = 2**32 - 1
FORK_P_MIN = 0.05
DEFAULTS = {"count": 5, "fork_p": 0.7}   # fork.py's own defaults (-a 5, -f 0.7)
LIVE = (State.RUNNING.value, State.ZOMBIE.value)


def _int(value, name, low, high, *, reason, range_reason):
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{name} must be an integer", reason=reason)
    if not low <= value <= high:
        raise bad(f"{name} must be between {low} and {high}", reason=range_reason,
                  min=low, max=high)
    return value


def _choice(body, name, default, allowed, *, reason):
    value = body.get(name, default)
    if value not in allowed:
        raise bad(f"{name} must be one of {list(allowed)}", reason=reason)
    return value


def from_model(error):
    """An ``app.model.puzzle.PuzzleError`` as the 400 it is."""
    return bad(str(error), reason=error.reason, **error.params)


@dataclass
class Puzzle:
    id: int
    actions: list
    reparent: str
    leaf_only: bool
    ask: str
    seed: int | None
    index: int = 0                       # the next action's
    # What the room is shown: the "question" or its "answer". ask=tree: the
    # next action's tree is asked; Next runs it and shows the answer; reveal
    # asks the next. ask=action: Next runs an action and asks which it was;
    # reveal shows it.
    phase: str = "question"
    outcomes: list = field(default_factory=list)
    last: dict | None = None
    poll: dict | None = None             # the room's vote on a step: {id, step, kind, choices}

    @property
    def prefix(self):
        return f"puzzle-{self.id}"

    @property
    def rank(self):
        return pz.creation_rank(self.actions)

    @property
    def finished(self):
        return self.index == len(self.actions)

    def key(self, index):
        """What shuffles step *index*'s candidates: the same on every run."""
        origin = f"seed={self.seed}" if self.seed is not None else \
            ",".join(map(str, self.actions))
        return f"{origin}/{self.reparent}/{self.leaf_only}/{index}"


class PuzzleDesk:
    def __init__(self, settings, lab, hub, polls=None):
        """*polls*: the dashboard's ``PollDesk`` (app/web/polls.py): "ask the
        room" puts a step's candidates to a vote, and the step settles it."""
        self.settings = settings
        self.lab = lab
        self.hub = hub
        self.polls = polls
        self.lock = threading.RLock()
        self.current = None
        self.count = 0

    # -- the tree the OS has ----------------------------------------------------------------
    def processes(self, puzzle):
        """Every live puzzle process, as the registry has it: ``[{name, pid, ppid, state}]``."""
        start = puzzle.prefix + "/"

        def read(registry):
            return [{"name": p["name"], "pid": p["pid"], "ppid": p["ppid"], "state": p["state"]}
                    for p in registry.procs.values()
                    if p["role"] == "puzzle" and p["uid"].startswith(start)
                    and p["state"] in LIVE]
        return sorted(self.hub.read(read), key=lambda p: puzzle.rank.get(p["name"], 1e9))

    def tree(self, puzzle):
        return pz.tree_of(self.processes(puzzle), puzzle.rank)

    # -- reading ------------------------------------------------------------------------------
    def state(self, puzzle):
        """Everything a page shows of *puzzle*, and a vote needs."""
        procs = self.processes(puzzle)
        tree = pz.tree_of(procs, puzzle.rank)
        upcoming = None
        if not puzzle.finished:
            action = puzzle.actions[puzzle.index]
            opts = (puzzle.reparent, puzzle.leaf_only)
            expected, outcome = pz.step(tree, action, *opts) if action_possible(tree, action) \
                else (tree, "impossible")
            upcoming = {
                "action": str(action), "outcome": outcome, "expected_text": pz.render(expected),
                "candidates": pz.tree_candidates(tree, action, *opts,
                                                 key=puzzle.key(puzzle.index))
                if outcome != "impossible" else [],
            }
        return {
            "id": puzzle.id, "actions": [str(a) for a in puzzle.actions],
            "index": puzzle.index, "finished": puzzle.finished, "seed": puzzle.seed,
            "reparent": puzzle.reparent, "leaf_only": puzzle.leaf_only, "ask": puzzle.ask,
            "phase": puzzle.phase, "outcomes": list(puzzle.outcomes),
            "tree": procs, "tree_text": pz.render(tree), "next": upcoming, "last": puzzle.last,
            "poll": {k: puzzle.poll[k] for k in ("id", "step", "kind")} if puzzle.poll else None,
        }

    def overview(self):
        with self.lock:
            return {"puzzle": self.state(self.current) if self.current else None}

    def get(self, puzzle_id):
        with self.lock:
            return self.state(self._find(puzzle_id))

    def _find(self, puzzle_id):
        if isinstance(puzzle_id, bool) or not isinstance(puzzle_id, int):
            try:
                puzzle_id = int(str(puzzle_id), 10)
            except ValueError:
                raise bad("the puzzle id must be an integer", reason="id_not_int") from None
        if puzzle_id <= 0:
            raise bad("the puzzle id must be a positive integer", reason="id_not_int")
        if self.current is None or self.current.id != puzzle_id:
            raise LabError(404, "no_puzzle", f"no puzzle {puzzle_id} is running",
                           id=puzzle_id)
        return self.current

    # -- caps ---------------------------------------------------------------------------------
    def _check_room(self, more):
        live = self.hub.read(lambda r: sum(1 for p in r.procs.values()
                                           if p["state"] in LIVE and p["role"] != "dashboard"))
        if live + more > self.settings.max_processes:
            raise LabError(429, "max_processes",
                           f"at most {self.settings.max_processes} lab processes "
                           f"(--max-processes); {live} exist, the puzzle needs {more} more",
                           limit=self.settings.max_processes, live=live)

    # -- acting -------------------------------------------------------------------------------
    def create(self, body):
        body = require_object(body)
        drawn = [k for k in ("seed", "count", "fork_p") if k in body]
        if "actions" in body and drawn:
            raise bad("give actions, or seed / count / fork_p to draw them, not both",
                      reason="actions_or_seed")
        reparent = _choice(body, "reparent", "root", pz.REPARENTS, reason="reparent")
        ask = _choice(body, "ask", "tree", pz.ASKS, reason="ask")
        leaf_only = body.get("leaf_only", False)
        if not isinstance(leaf_only, bool):
            raise bad("leaf_only must be true or false", reason="leaf_only_not_bool")
        seed = None
        try:
            if "actions" in body:
                actions = pz.parse_actions(body["actions"])
            else:
                seed = _int(body["seed"] if "seed" in body else secrets.randbelow(SEED_MAX + 1),
                            "seed", 0, SEED_MAX, reason="seed_not_int", range_reason="seed_range")
                count = _int(body.get("count", DEFAULTS["count"]), "count", 1, pz.MAX_ACTIONS,
                             reason="count_not_int", range_reason="count_range")
                fork_p = body.get("fork_p", DEFAULTS["fork_p"])
                if isinstance(fork_p, bool) or not isinstance(fork_p, (int, float)):
                    raise bad("fork_p must be a number", reason="fork_p_not_number")
                if not FORK_P_MIN <= fork_p <= 1:
                    raise bad(f"fork_p must be between {FORK_P_MIN} and 1",
                              reason="fork_p_range", min=FORK_P_MIN, max=1)
                actions = pz.generate(seed, count, fork_p)
            steps = pz.plan(actions, reparent, leaf_only)
        except pz.PuzzleError as exc:
            raise from_model(exc) from None
        with self.lock:
            if self.current is not None:
                raise LabError(409, "puzzle_running", f"puzzle {self.current.id} is "
                               "running: end it first", id=self.current.id)
            self._check_room(pz.peak(steps))
            self.count += 1
            puzzle = Puzzle(self.count, actions, reparent, leaf_only, ask, seed)
            root = self.lab.puzzles.start(puzzle.prefix, reparent)
            self.current = puzzle
            self._settled(lambda r: _running(r, puzzle_uid(puzzle.prefix, pz.ROOT), root))
            return self._changed(self.state(puzzle))

    def next(self, puzzle_id):
        """Run the next action for real; answer with the tree /proc then has."""
        with self.lock:
            puzzle = self._find(puzzle_id)
            if puzzle.finished:
                raise LabError(409, "finished", f"puzzle {puzzle.id} has run all its "
                               f"{len(puzzle.actions)} actions", id=puzzle.id)
            action = puzzle.actions[puzzle.index]
            before = self.tree(puzzle)
            if not action_possible(before, action):
                raise LabError(409, "wrong_state", f"{action} cannot run: the tree is not "
                               "what the puzzle expects", action=str(action))
            opts = (puzzle.reparent, puzzle.leaf_only)
            expected, _ = pz.step(before, action, *opts)
            asked = pz.tree_candidates(before, action, *opts, key=puzzle.key(puzzle.index))
            outcome = self._run(puzzle, action)
            after = self.tree(puzzle)
            index = puzzle.index
            puzzle.index += 1
            puzzle.outcomes.append(outcome)
            puzzle.phase = "answer" if puzzle.ask == "tree" else "question"
            puzzle.last = {
                "index": index, "action": str(action), "outcome": outcome,
                "before_text": pz.render(before), "predicted_text": pz.render(expected),
                "real_text": pz.render(after), "match": after == expected,
                "candidates": asked,
                "action_candidates": pz.action_candidates(before, action, *opts,
                                                          key=puzzle.key(index)),
            }
            if puzzle.ask == "tree":   # the vote on this step: the answer is /proc's tree
                self._settle_poll(puzzle, index, "tree", pz.render(after))
            state = self._changed(self.state(puzzle))
            if outcome == "has_children":
                raise LabError(409, "has_children",
                               f"{action}: {action.name} has children, and with leaf_only "
                               "only a leaf may exit (fork.py -L); the puzzle moves on",
                               action=str(action), index=index, name=action.name)
            return {"action": str(action), "outcome": outcome, "index": index,
                    "tree": state["tree"], "tree_text": state["tree_text"],
                    "predicted_text": puzzle.last["predicted_text"],
                    "match": puzzle.last["match"]}

    def _run(self, puzzle, action):
        """Do *action* with real processes; return once the registry shows it."""
        room = self.lab.puzzles
        names = room.names()
        actor = action.parent if isinstance(action, pz.Fork) else action.name
        if actor not in names:
            raise LabError(409, "gone", f"{actor} is no longer running", action=str(action))
        if isinstance(action, pz.Fork):
            self._check_room(1)
            parent = names[action.parent]
            pid = room.fork(action.parent, action.child)
            uid = puzzle_uid(puzzle.prefix, action.child)
            self._settled(lambda r: _running(r, uid, pid) and r.procs[uid]["ppid"] == parent)
            return "forked"
        reply = room.exit(action.name, puzzle.leaf_only)
        if not reply.get("ok"):
            if reply.get("code") == "has_children":
                return "has_children"
            raise LabError(409, reply.get("code", "failed"), reply.get("error", ""))
        uid = puzzle_uid(puzzle.prefix, action.name)
        # the kernel re-parented the orphans before their parent could reap the
        # exited one: /proc names their new parent now; wait until each said so
        new = {pid: ppid for pid in reply["children"] if (ppid := _ppid(pid)) is not None}
        self._settled(lambda r: r.procs[uid]["state"] == State.JOINED.value
                      and all(r.get(pid) is not None and r.get(pid)["ppid"] == ppid
                              for pid, ppid in new.items()))
        return "exited"

    def reveal(self, puzzle_id):
        """Show the room what comes next, without running anything: with
        ``ask=tree`` the next action's question (after an answer), with
        ``ask=action`` the action last run (after its question)."""
        with self.lock:
            puzzle = self._find(puzzle_id)
            if puzzle.ask == "tree":
                ready = puzzle.phase == "answer" and not puzzle.finished
            else:
                ready = puzzle.phase == "question" and puzzle.last is not None
            if not ready:
                raise LabError(409, "nothing_to_reveal", "nothing to reveal now: run the "
                               "next action", id=puzzle.id, phase=puzzle.phase)
            puzzle.phase = "question" if puzzle.ask == "tree" else "answer"
            if puzzle.ask == "action":   # the vote on it: the answer is the action that ran
                self._settle_poll(puzzle, puzzle.last["index"], "action", puzzle.last["action"])
            return self._changed(self.state(puzzle))

    # -- asking the room (app/web/polls.py) ----------------------------------------------------
    def ask_room(self, puzzle_id, body):
        """Put the question now shown to a vote: a poll whose choices are the
        candidate trees (several lines each) or, with ``ask=action``, the
        candidate actions. The step that answers it closes it and reveals the
        choice that came true, read from /proc."""
        body = require_object(body)
        question = body.get("question")
        if "question" in body:   # checked before anything, with polls' reasons
            if not isinstance(question, str):
                raise bad("question must be a string", reason="question_not_str")
            if not question.strip():
                raise bad("question is empty", reason="question_empty")
            if len(question) > POLL_TEXT_MAX:
                raise bad(f"question is {len(question)} characters; at most {POLL_TEXT_MAX}",
                          reason="question_too_long", max=POLL_TEXT_MAX)
        with self.lock:
            puzzle = self._find(puzzle_id)
            state = self.state(puzzle)
            if puzzle.ask == "tree" and puzzle.phase == "question" and state["next"]:
                step, kind = puzzle.index, "tree"
                choices = [c["text"] for c in state["next"]["candidates"]]
                default = f"Step {step + 1}: {state['next']['action']} - which process tree?"
            elif puzzle.ask == "action" and puzzle.phase == "question" and puzzle.last:
                step, kind = puzzle.last["index"], "action"
                choices = [c["action"] for c in puzzle.last["action_candidates"]]
                default = f"Step {step + 1}: which action turned the first tree into the second?"
            else:
                raise LabError(409, "nothing_to_ask", "nothing to ask the room now",
                               id=puzzle.id, phase=puzzle.phase)
            if len(choices) < 2:
                raise LabError(409, "nothing_to_ask", "only one answer is possible here",
                               id=puzzle.id)
            if puzzle.poll and (puzzle.poll["step"], puzzle.poll["kind"]) == (step, kind):
                raise LabError(409, "already_asked", "the room was asked this already",
                               id=puzzle.id, poll=puzzle.poll["id"])
            poll = self.polls.ask({"question": question or default, "choices": choices,
                                   "lesson": puzzle.prefix, "step": step + 1})
            puzzle.poll = {"id": poll["id"], "step": step, "kind": kind, "choices": choices}
            return self._changed(self.state(puzzle))

    def _settle_poll(self, puzzle, step, kind, truth):
        """The vote on *step* is over: close it (if still open) and reveal the
        choice equal to *truth* (none if no candidate was the truth)."""
        poll = puzzle.poll
        if not poll or (poll["step"], poll["kind"]) != (step, kind):
            return
        answer = poll["choices"].index(truth) if truth in poll["choices"] else None
        try:
            self.polls.close(poll["id"])
        except LabError:
            pass   # the presenter closed it already
        self.polls.reveal(poll["id"], {"choice": answer})

    def end(self, puzzle_id):
        """Every puzzle process exits and is reaped; the puzzle is gone."""
        with self.lock:
            puzzle = self._find(puzzle_id)
            ended = self.lab.puzzles.end()
            start = puzzle.prefix + "/"
            self._settled(lambda r: not any(p["uid"].startswith(start) and p["state"] in LIVE
                                            for p in r.procs.values()))
            self.current = None
            self._changed(None)
            return {"id": puzzle.id, "ended": ended}

    # -- waiting and telling -----------------------------------------------------------------
    def _settled(self, predicate):
        if not self.hub.wait_for(predicate, SETTLE_TIMEOUT):
            raise LabError(504, "no_answer", "the puzzle's processes did not report the "
                           "step in time")

    def _changed(self, state):
        """Tell every page (Socket.IO ``puzzle``, the body of GET /api/puzzles)."""
        self.hub.socketio.emit("puzzle", {"puzzle": state})
        return state


def action_possible(tree, action):
    if isinstance(action, pz.Fork):
        return action.parent in tree and action.child not in tree
    return action.name in tree and action.name != pz.ROOT


def _running(registry, uid, pid):
    p = registry.procs.get(uid)
    return p is not None and p["pid"] == pid and p["state"] == State.RUNNING.value


def _ppid(pid):
    try:
        return psutil.Process(pid).ppid()
    except psutil.NoSuchProcess:
        return None

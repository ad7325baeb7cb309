"""Fork-tree puzzles, as OSTEP's homework asks them — the pure part.

OSTEP's ``cpu-api/fork.py`` (Arpaci-Dusseau, *Operating Systems: Three Easy
Pieces*, ch. 5) shows a list of actions and asks for the process tree after
each one — or, with ``-t``, shows the trees and asks for the actions. Actions
are written the book's way: ``a+b`` (a forks b), ``c-`` (c exits). The root
process is ``a``; it never exits. Forkscope runs these puzzles on real
processes (``app/lab/puzzle.py``); this module is everything about them that
needs no process, so it is unit-tested with plain values:

* ``parse_actions`` — ``"a+b,b+c,c-"`` (fork.py's ``-A``) or a list;
* ``generate`` — a random puzzle from a seed, a number of actions and a fork
  probability, drawn exactly as fork.py draws one (``-s``, ``-a``, ``-f``):
  the same seed gives the book's own puzzle;
* ``plan`` — the tree after every action, for the two ways orphans go:
  ``reparent="root"`` (to ``a``, the only child subreaper: fork.py's default)
  or ``"ancestor"`` (to the nearest living ancestor, every puzzle process a
  subreaper: fork.py's ``-R``); ``leaf_only`` refuses the exit of a process
  that has children (``-L``);
* ``render`` — a tree in fork.py's "fancy" ASCII style;
* ``tree_candidates`` / ``action_candidates`` — the choices for a vote: the
  true answer and wrong ones a student might believe, shuffled the same way
  every time.

One place where the kernel and fork.py differ, and Forkscope follows the
kernel: when a process exits, fork.py's default moves *every* descendant of it
under ``a``, flattening its subtree; the kernel re-parents only its children
(the orphans) and grandchildren keep their parents. fork.py's flattened tree is
offered as a wrong candidate (``flatten``), which is what it is on Linux.
"""

import random
import re
import string
from dataclasses import dataclass

ROOT = "a"
REPARENTS = ("root", "ancestor")
ASKS = ("tree", "action")           # what the room is asked: fork.py's default, or -t
MAX_ACTIONS = 60
MAX_TEXT = 1000                     # characters of a comma-separated action list
MAX_ITEM = 20                       # characters of one action in a list
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,7}")
ACTION_RE = re.compile(r"\s*(\w+)\s*(?:\+\s*(\w+)|(-))\s*")
MAX_DRAWS = 1_000_000               # a generator that cannot finish says so


class PuzzleError(ValueError):
    """A puzzle that cannot be run; *reason* is a stable key (``params.reason``)."""

    def __init__(self, *, reason, message, **params):
        super().__init__(message)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class Fork:
    parent: str
    child: str

    def __str__(self):
        return f"{self.parent}+{self.child}"


@dataclass(frozen=True)
class Exit:
    name: str

    def __str__(self):
        return f"{self.name}-"


# -- actions ------------------------------------------------------------------------

def parse_action(text, index=0):
    """``"a+b"`` -> ``Fork("a", "b")``, ``"c-"`` -> ``Exit("c")``."""
    if not isinstance(text, str):
        raise PuzzleError(reason="bad_action", message=f"action {index + 1} is not a string", index=index)
    m = ACTION_RE.fullmatch(text) if len(text) <= MAX_ITEM else None
    names = [n for n in (m.group(1), m.group(2)) if n] if m else []
    if not m or not all(NAME_RE.fullmatch(n) for n in names):
        raise PuzzleError(reason="bad_action", message=f"action {index + 1} ({text!r}) is not X+Y "
                          "(X forks Y) or X- (X exits); names are letters and digits, "
                          "a letter first, at most 8", index=index, action=text[:MAX_ITEM])
    return Fork(m.group(1), m.group(2)) if m.group(2) else Exit(m.group(1))


def parse_actions(value):
    """A list of actions from fork.py's ``-A`` text (``"a+b,b+c,c-"``) or a list."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise PuzzleError(reason="too_many_actions", message=f"at most {MAX_TEXT} characters",
                              max=MAX_TEXT)
        value = [] if not value.strip() else value.split(",")
    if not isinstance(value, list):
        raise PuzzleError(reason="actions_type", message="actions must be a text like a+b,b+c,c- or a "
                          "list of such actions")
    if not value:
        raise PuzzleError(reason="no_actions", message="the puzzle has no action")
    if len(value) > MAX_ACTIONS:
        raise PuzzleError(reason="too_many_actions", message=f"at most {MAX_ACTIONS} actions",
                          max=MAX_ACTIONS)
    return [parse_action(text, i) for i, text in enumerate(value)]


def new_names():
    """fork.py's names after ``a``: b … z, A … Z, then aa, ab … (two letters)."""
    letters = string.ascii_lowercase + string.ascii_uppercase
    yield from letters[1:]
    for first in letters:
        for second in letters:
            yield first + second


def generate(seed, count, fork_p):
    """*count* actions drawn as fork.py draws them from ``random.seed(seed)``:
    each draw forks with probability *fork_p* (a random living process forks
    the next name) or else exits a random living process — but never ``a``:
    drawing ``a`` to exit draws again, and does not count."""
    if not 0 < fork_p <= 1:
        raise PuzzleError(reason="fork_p_range", message="fork_p must be above 0 and at most 1")
    rng = random.Random(seed)

    def pick(items):  # fork.py's random_choice: the index from one random()
        return items[int(rng.random() * len(items))]

    alive, names, actions = [ROOT], new_names(), []
    for _ in range(MAX_DRAWS):
        if len(actions) == count:
            return actions
        if rng.random() < fork_p:
            parent, child = pick(alive), next(names)
            actions.append(Fork(parent, child))
            alive.append(child)
        else:
            victim = pick(alive)
            if victim != ROOT:
                alive.remove(victim)
                actions.append(Exit(victim))
    raise PuzzleError(reason="fork_p_range", message="fork_p is too small to draw that many actions")


# -- trees ------------------------------------------------------------------------------

class Tree:
    """Living processes by name, each with its parent's name (None: a root —
    ``a``, or a process whose parent is not in the puzzle). Children are
    listed in the order they were created (*rank*: name -> creation order),
    so two equal trees render to the same text."""

    def __init__(self, parents=None, rank=None):
        self.parents = dict(parents or {ROOT: None})
        self.rank = dict(rank or {ROOT: 0})

    def copy(self):
        return Tree(self.parents, self.rank)

    def __contains__(self, name):
        return name in self.parents

    def __eq__(self, other):
        return isinstance(other, Tree) and self.parents == other.parents

    def __hash__(self):
        return hash(frozenset(self.parents.items()))

    def __repr__(self):
        return f"Tree({self.parents})"

    def _order(self, names):
        return sorted(names, key=lambda n: (self.rank.get(n, len(self.rank)), n))

    def names(self):
        return self._order(self.parents)

    def children(self, name):
        return self._order(n for n, p in self.parents.items() if p == name)

    def roots(self):
        return self._order(n for n, p in self.parents.items() if p is None)

    def descendants(self, name):
        found = []
        for child in self.children(name):
            found += [child, *self.descendants(child)]
        return found

    def newest(self):
        return max(self.parents, key=lambda n: (self.rank.get(n, -1), n))

    # -- changing a copy ----------------------------------------------------------------
    def forked(self, parent, child):
        tree = self.copy()
        tree.parents[child] = parent
        tree.rank.setdefault(child, len(tree.rank))
        return tree

    def exited(self, name, adopter):
        """*name* exits; its children go to *adopter* (None: out of the tree)."""
        tree = self.copy()
        for child in self.children(name):
            tree.parents[child] = adopter
        del tree.parents[name]
        if adopter is None:  # gone to init: out of the puzzle's tree with all below
            for child in self.children(name):
                for n in [child, *self.descendants(child)]:
                    del tree.parents[n]
        return tree

    def moved(self, name, parent):
        tree = self.copy()
        tree.parents[name] = parent
        return tree

    def without(self, names):
        tree = self.copy()
        for n in names:
            del tree.parents[n]
        return tree


def adopter(tree, name, reparent):
    """Where *name*'s orphans go: to ``a`` (the only subreaper), or to the
    nearest living ancestor (every puzzle process a subreaper): its parent."""
    return ROOT if reparent == "root" else tree.parents[name]


def step(tree, action, reparent="root", leaf_only=False):
    """``(tree after, outcome)``: ``forked``, ``exited`` or ``has_children``
    (``leaf_only`` refused the exit; the tree is unchanged)."""
    if isinstance(action, Fork):
        return tree.forked(action.parent, action.child), "forked"
    if leaf_only and tree.children(action.name):
        return tree.copy(), "has_children"
    return tree.exited(action.name, adopter(tree, action.name, reparent)), "exited"


@dataclass(frozen=True)
class Step:
    action: object
    before: Tree
    after: Tree
    outcome: str


def check(tree, action, used, index):
    """Refuse an action fork.py would call a bad action, and a name used twice."""
    where = {"index": index, "action": str(action)}
    if isinstance(action, Fork):
        if action.parent not in tree:
            raise PuzzleError(reason="not_alive", message=f"action {index + 1} ({action}): "
                              f"{action.parent} is not a living process", **where)
        if action.child in used:
            raise PuzzleError(reason="name_taken", message=f"action {index + 1} ({action}): the name "
                              f"{action.child} is taken", **where)
    elif action.name == ROOT:
        raise PuzzleError(reason="root_exit", message=f"action {index + 1} ({action}): the root "
                          f"process {ROOT} cannot exit", **where)
    elif action.name not in tree:
        raise PuzzleError(reason="not_alive", message=f"action {index + 1} ({action}): {action.name} "
                          "is not a living process", **where)


def plan(actions, reparent="root", leaf_only=False):
    """Every step of the puzzle: the tree before and after each action."""
    if reparent not in REPARENTS:
        raise PuzzleError(reason="reparent", message=f"reparent must be one of {list(REPARENTS)}")
    tree, used, steps = Tree(), {ROOT}, []
    for i, action in enumerate(actions):
        check(tree, action, used, i)
        if isinstance(action, Fork):
            used.add(action.child)
        after, outcome = step(tree, action, reparent, leaf_only)
        steps.append(Step(action, tree, after, outcome))
        tree = after
    return steps


def peak(steps):
    """The most puzzle processes alive at once, ``a`` included."""
    return max([1] + [len(s.after.parents) for s in steps])


def tree_of(processes, rank):
    """The tree of living puzzle processes ``[{name, pid, ppid}]``, parents by
    pid: the one the OS has. *rank*: the puzzle's creation order of names."""
    by_pid = {p["pid"]: p["name"] for p in processes}
    parents = {p["name"]: by_pid.get(p["ppid"]) for p in processes}
    return Tree(parents, rank)


def creation_rank(actions):
    names = [ROOT] + [a.child for a in actions if isinstance(a, Fork)]
    return {n: i for i, n in enumerate(names)}


# -- OSTEP's ASCII ------------------------------------------------------------------------

def render(tree):
    """fork.py's "fancy" style::

        a
        ├── b
        │   └── d
        └── c
    """
    lines = []

    def walk(name, prefix):
        kids = tree.children(name)
        for i, child in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(prefix + ("└── " if last else "├── ") + child)
            walk(child, prefix + ("    " if last else "│   "))

    for root in tree.roots():
        lines.append(root)
        walk(root, "")
    return "\n".join(lines)


# -- candidates for a vote -------------------------------------------------------------------

def _wrong_trees(tree, action, reparent, leaf_only):
    """Trees a student might predict instead, most instructive first: (kind, tree)."""
    if isinstance(action, Fork):
        p, c = action.parent, action.child
        up = tree.parents[p]
        # the child takes the parent's place: "fork makes the parent"
        yield "parent_child_swapped", tree.forked(up, c).moved(p, c)
        if up is not None:
            yield "under_grandparent", tree.forked(up, c)
        if p != ROOT:
            yield "under_root", tree.forked(ROOT, c)
        others = [n for n in tree.names() if n not in (p, up)]
        if others:
            yield "under_newest", tree.forked(max(others, key=lambda n: tree.rank[n]), c)
        return
    x = action.name
    up = tree.parents[x]
    if tree.children(x):
        if leaf_only:
            yield "exits_anyway", tree.exited(x, adopter(tree, x, reparent))
        other = "ancestor" if reparent == "root" else "root"
        yield "other_reparent", tree.exited(x, adopter(tree, x, other))
        yield "subtree_exits", tree.without([x, *tree.descendants(x)])
        yield "flatten", _flattened(tree, x)
        yield "orphans_to_init", tree.exited(x, None)
        if not leaf_only:
            yield "refused", tree.copy()
    else:
        yield "unchanged", tree.copy()
    if up not in (ROOT, None):
        yield "parent_exits", tree.exited(up, adopter(tree, up, reparent))
    for sibling in tree.children(up):
        if sibling != x:
            yield "sibling_exits", tree.exited(sibling, adopter(tree, sibling, reparent))
            break


def _flattened(tree, x):
    """fork.py's default exit: every descendant of *x* goes under ``a``."""
    out = tree.copy()
    for n in tree.descendants(x):
        out.parents[n] = ROOT
    del out.parents[x]
    return out


def _shuffled(items, key):
    items = list(items)
    random.Random(key).shuffle(items)  # a str seed is hashed by SHA-512: the same everywhere
    return items


def tree_candidates(tree, action, reparent="root", leaf_only=False, key="", size=4):
    """Up to *size* trees for the room to choose from, one of them the truth:
    ``[{"text", "correct", "kind"}]`` (kind ``true`` or why a student might
    believe it), distinct, shuffled by *key* (the same every time)."""
    true, _ = step(tree, action, reparent, leaf_only)
    seen = {render(true)}
    chosen = [("true", true)]
    for kind, wrong in _wrong_trees(tree, action, reparent, leaf_only):
        text = render(wrong)
        if text in seen or not text:
            continue
        seen.add(text)
        chosen.append((kind, wrong))
        if len(chosen) == size:
            break
    return [{"text": render(t), "correct": kind == "true", "kind": kind}
            for kind, t in _shuffled(chosen, f"tree/{key}")]


def action_candidates(tree, action, reparent="root", leaf_only=False, key="", size=4):
    """fork.py's ``-t`` question: which action turned *tree* into the next one?
    Up to *size* actions, ``[{"action", "correct"}]``, one true; each wrong one
    valid here and leading to a different tree; shuffled by *key*."""
    true_after, _ = step(tree, action, reparent, leaf_only)
    pool = [Exit(n) for n in tree.names() if n != ROOT and action != Exit(n)]
    if isinstance(action, Fork):
        pool = [Fork(n, action.child) for n in tree.names() if n != action.parent] + pool
    wrong = [c for c in _shuffled(pool, f"pool/{key}")
             if step(tree, c, reparent, leaf_only)[0] != true_after][:size - 1]
    chosen = [(str(action), True)] + [(str(c), False) for c in wrong]
    return [{"action": a, "correct": ok} for a, ok in _shuffled(chosen, f"action/{key}")]

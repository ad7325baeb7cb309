"""The pure part of fork-tree puzzles (app/model/puzzle.py), against examples
worked by hand from OSTEP's cpu-api/README-fork.md and from what the kernel
does with orphans."""

import pytest

from app.model.puzzle import (
    ROOT,
    Exit,
    Fork,
    PuzzleError,
    Tree,
    action_candidates,
    creation_rank,
    generate,
    new_names,
    parse_actions,
    peak,
    plan,
    render,
    step,
    tree_candidates,
    tree_of,
)


def final(text, **options):
    return render(plan(parse_actions(text), **options)[-1].after)


# -- actions and their text ------------------------------------------------------------

def test_actions_are_read_as_fork_py_writes_them():
    assert parse_actions("a+b, b+c ,c-") == [Fork("a", "b"), Fork("b", "c"), Exit("c")]
    assert parse_actions(["a+b", "b-"]) == [Fork("a", "b"), Exit("b")]
    assert [str(a) for a in parse_actions("a+b,b-")] == ["a+b", "b-"]


@pytest.mark.parametrize("bad", ["a*b", "a+", "+b", "a-b", "a+b+c", "", "a+b,", "1+b",
                                 "a+abcdefghi", "a b"])
def test_a_malformed_action_list_is_refused_with_a_reason(bad):
    with pytest.raises(PuzzleError) as err:
        parse_actions(bad)
    assert err.value.reason in ("bad_action", "no_actions")


def test_a_list_that_is_not_text_or_too_long_is_refused():
    for value, reason in ((5, "actions_type"), ([], "no_actions"), ([1], "bad_action"),
                          (["a+b"] * 61, "too_many_actions"), ("a+b," * 300, "too_many_actions")):
        with pytest.raises(PuzzleError) as err:
            parse_actions(value)
        assert err.value.reason == reason, value


# -- generation: fork.py's draws ------------------------------------------------------------

def test_seed_4_is_the_books_example():
    """README-fork.md: ``./fork.py -s 4`` (5 actions, forks 0.7) is
    a forks b, a forks c, b forks d, d EXITS, a forks e."""
    assert [str(a) for a in generate(4, 5, 0.7)] == ["a+b", "a+c", "b+d", "d-", "a+e"]
    assert final("a+b,a+c,b+d,d-,a+e") == "a\n├── b\n├── c\n└── e"


def test_a_seed_gives_the_same_20_actions_every_time_and_they_are_valid():
    first = generate(2024, 20, 0.6)
    assert len(first) == 20
    assert first == generate(2024, 20, 0.6)
    assert first != generate(2025, 20, 0.6)
    plan(first)  # a generated puzzle never forks from, or exits, a dead process
    assert all(a.name != ROOT for a in first if isinstance(a, Exit))


def test_names_go_b_to_Z_then_two_letters():
    names = new_names()
    got = [next(names) for _ in range(53)]
    assert got[:3] == ["b", "c", "d"] and got[24] == "z" and got[25] == "A"
    assert got[50] == "Z" and got[51:] == ["aa", "ab"]
    assert all(isinstance(a, Fork) for a in generate(1, 10, 1.0))


def test_fork_p_out_of_range_is_refused():
    with pytest.raises(PuzzleError):
        generate(1, 5, 0)


# -- steps: the kernel's rules -----------------------------------------------------------------

ISSUE = "a+b,b+c,c+d,c+e,c-"


def test_orphans_go_to_the_root_when_it_is_the_only_subreaper():
    assert final(ISSUE, reparent="root") == "a\n├── b\n├── d\n└── e"


def test_orphans_go_to_the_nearest_living_ancestor_when_each_is_a_subreaper():
    """fork.py -R"""
    assert final(ISSUE, reparent="ancestor") == "a\n└── b\n    ├── d\n    └── e"


def test_leaf_only_refuses_the_exit_of_a_parent():
    """fork.py -L: 'c EXITS (failed: has children)'; the tree is unchanged."""
    last = plan(parse_actions(ISSUE), leaf_only=True)[-1]
    assert last.outcome == "has_children"
    assert last.after == last.before
    assert render(last.after) == "a\n└── b\n    └── c\n        ├── d\n        └── e"


def test_grandchildren_keep_their_parent_unlike_fork_py_default():
    """The kernel re-parents only the orphans (b's children); fork.py's default
    moves every descendant of b under a. Forkscope follows the kernel."""
    text = "a+b,b+c,c+d,b-"
    assert final(text, reparent="root") == "a\n└── c\n    └── d"
    before = plan(parse_actions(text))[-1].before
    kinds = {c["kind"]: c["text"] for c in tree_candidates(before, Exit("b"), size=8)}
    assert kinds["flatten"] == "a\n├── c\n└── d"   # fork.py's answer: a wrong one here


def test_the_readme_action_list_example():
    """README-fork.md: ``-A a+b,b+c,c-,a+d``."""
    trees = [render(s.after) for s in plan(parse_actions("a+b,b+c,c-,a+d"))]
    assert trees == ["a\n└── b", "a\n└── b\n    └── c", "a\n└── b", "a\n├── b\n└── d"]


@pytest.mark.parametrize("text,reason,index", [
    ("a+b,a-", "root_exit", 1),
    ("a+b,c+d", "not_alive", 1),
    ("a+b,b-,b-", "not_alive", 2),
    ("a+b,b-,b+c", "not_alive", 2),
    ("a+b,a+b", "name_taken", 1),
    ("a+b,b-,a+b", "name_taken", 2),
    ("a+a", "name_taken", 0),
])
def test_an_impossible_action_is_refused_naming_it(text, reason, index):
    with pytest.raises(PuzzleError) as err:
        plan(parse_actions(text))
    assert (err.value.reason, err.value.params["index"]) == (reason, index)


def test_peak_counts_the_most_processes_alive_at_once():
    assert peak(plan(parse_actions("a+b,b+c,c-,b-,a+d"))) == 3
    assert peak(plan(parse_actions("a+b,b-,a+c,c-"))) == 2


def test_a_refused_exit_still_leaves_later_actions_valid():
    steps = plan(parse_actions("a+b,b+c,b-,c-,b-"), leaf_only=True)
    assert [s.outcome for s in steps] == ["forked", "forked", "has_children", "exited",
                                          "exited"]


# -- the tree the OS has ---------------------------------------------------------------------------

def test_the_tree_of_processes_follows_their_ppids():
    actions = parse_actions("a+b,b+c,a+d")
    procs = [{"name": "a", "pid": 10, "ppid": 1}, {"name": "c", "pid": 12, "ppid": 10},
             {"name": "b", "pid": 11, "ppid": 10}, {"name": "d", "pid": 13, "ppid": 12}]
    tree = tree_of(procs, creation_rank(actions))
    assert render(tree) == "a\n├── b\n└── c\n    └── d"
    assert tree == Tree({"a": None, "b": "a", "c": "a", "d": "c"})


def test_render_draws_fork_py_fancy_lines():
    tree = Tree({"a": None, "b": "a", "c": "b", "d": "a", "e": "c"},
                {n: i for i, n in enumerate("abcde")})
    assert render(tree) == ("a\n"
                            "├── b\n"
                            "│   └── c\n"
                            "│       └── e\n"
                            "└── d")


# -- candidates for a vote ------------------------------------------------------------------------

def test_tree_candidates_hold_the_truth_once_and_are_distinct_and_repeatable():
    for text in (ISSUE, "a+b,b+c,c+d,b-", "a+b,a+c,b+d,d-,a+e", "a+b"):
        for reparent in ("root", "ancestor"):
            for leaf_only in (False, True):
                for s in plan(parse_actions(text), reparent, leaf_only):
                    cands = tree_candidates(s.before, s.action, reparent, leaf_only, key="k")
                    assert [c["correct"] for c in cands].count(True) == 1
                    (true,) = [c for c in cands if c["correct"]]
                    assert true["text"] == render(s.after)
                    texts = [c["text"] for c in cands]
                    assert len(set(texts)) == len(texts) >= 2, (text, str(s.action))
                    assert cands == tree_candidates(s.before, s.action, reparent, leaf_only,
                                                    key="k")


def test_an_exit_offers_the_other_reparenting_and_the_subtree_dying_as_wrong():
    before = plan(parse_actions(ISSUE))[-1].before
    kinds = {c["kind"]: c["text"] for c in tree_candidates(before, Exit("c"), "root")}
    assert kinds["true"] == "a\n├── b\n├── d\n└── e"
    assert kinds["other_reparent"] == "a\n└── b\n    ├── d\n    └── e"
    assert kinds["subtree_exits"] == "a\n└── b"


def test_the_shuffle_depends_on_the_key_only():
    before = plan(parse_actions(ISSUE))[-1].before
    orders = {tuple(c["kind"] for c in tree_candidates(before, Exit("c"), key=str(k)))
              for k in range(12)}
    assert len(orders) > 1


def test_action_candidates_are_valid_and_lead_elsewhere():
    for s in plan(parse_actions("a+b,a+c,b+d,d-,a+e,c-")):
        cands = action_candidates(s.before, s.action, key="k")
        assert [c["correct"] for c in cands].count(True) == 1
        for c in cands:
            (action,) = parse_actions([c["action"]])
            after, _ = step(s.before, action)
            assert (after == s.after) == c["correct"], (str(s.action), c)

"""The lessons' pure modules in the browser that runs them: references resolve
against a model as the lesson means, each truth rule names the choice that
happened from the facts it is given, and every reference and rule the
catalogue uses exists on the page's side."""

import json

import pytest

from app import lessons
from app.lessons import REF

pytestmark = pytest.mark.e2e

DASH, SERVER = 100, 200


def proc(uid, pid, role, ppid, t, **fields):
    base = {"uid": uid, "name": uid, "pid": pid, "role": role, "ppid": ppid, "state": "running",
            "started_t": t, "worker_pid": None, "client_pid": None, "exitcode": None,
            "orphaned": False, "old_ppid": None, "served": 0, "echoes": 0}
    return {**base, **fields}


SNAPSHOT = {"seq": 9, "echo": {"host": "127.0.0.1", "port": 8088}, "processes": [
    proc("dashboard", DASH, "dashboard", 1, 0),
    proc("server-1", 150, "server", DASH, 0.5, state="joined"),
    proc("server-2", SERVER, "server", DASH, 1),
    proc("client-1", 301, "client", DASH, 2, worker_pid=401),
    proc("client-2", 302, "client", DASH, 3, worker_pid=402),
    proc("server-2/worker-1", 401, "worker", SERVER, 2.1, client_pid=301),
    proc("server-2/worker-2", 402, "worker", SERVER, 3.1, client_pid=302, state="zombie",
         exitcode=0),
]}

PRELUDE = """
    const refs = await import('/static/js/lesson-refs.js');
    const truth = await import('/static/js/lesson-truth.js');
    const { Model } = await import('/static/js/model.js');
    const model = new Model();
    model.reset(SNAPSHOT);
""".replace("SNAPSHOT", json.dumps(SNAPSHOT))


def run(page, body):
    return page.evaluate(f"async () => {{ {PRELUDE} {body} }}")


def test_references_resolve_against_the_model(module_page):
    found = run(module_page, """
        const r = (ref) => refs.resolve(ref, model);
        return { server: r('@server'), dash: r('@dashboard'), c1: r('@client:1'),
                 last: r('@client:-1'), w2: r('@worker:2'), of2: r('@worker_of:client:2'),
                 workers: r('@workers'), live: r('@live').sort(), none: r('@client:3'),
                 filled: refs.fillArgs({ pid: '@client:2', text: 'hi' }, model),
                 missing: refs.fillArgs({ pid: '@client:5' }, model).missing,
                 notRef: refs.isRef('@client:0') || refs.isRef('@clients') };
    """)
    assert found == {"server": SERVER, "dash": DASH, "c1": 301, "last": 302, "w2": 402,
                     "of2": 402, "workers": [401, 402], "live": [100, 200, 301, 302, 401, 402],
                     "none": None, "filled": {"payload": {"pid": 302, "text": "hi"},
                                              "missing": []},
                     "missing": ["@client:5"], "notRef": False}


def test_every_reference_and_rule_of_the_catalogue_exists_on_the_page(module_page):
    refs, rules = set(), set()
    for lesson in lessons.catalogue():
        for step in lesson["steps"]:
            refs.update(step.get("show", []))
            refs.update(v for do in step.get("do", []) for v in do.get("args", {}).values()
                        if isinstance(v, str) and v.startswith("@"))
            if "truth" in step:
                rules.add(step["truth"]["rule"])
                watch = step["truth"].get("watch")
                refs.update([watch] if watch else [])
    assert all(REF.match(ref) for ref in refs)
    found = run(module_page, f"""
        return {{ refs: {json.dumps(sorted(refs))}.filter((ref) => !refs.isRef(ref)),
                  rules: Object.keys(truth.RULES) }};
    """)
    assert found["refs"] == []
    assert rules <= set(found["rules"]), rules - set(found["rules"])


# os views as GET /api/truth gives them: a live process, a zombie, none (gone)
def os_js(views):
    return f"(pid) => ({json.dumps({str(k): v for k, v in views.items()})})[pid] ?? null"


ALIVE = {"status": "sleeping", "letter": "S"}


@pytest.mark.parametrize("rule, watch, views, acks, cpu, truth", [
    ("fate", [401, 402], {401: {**ALIVE, "ppid": DASH}, 402: {**ALIVE, "ppid": DASH}}, [], None,
     "dashboard"),
    ("fate", [401, 402], {401: {**ALIVE, "ppid": 1}, 402: {**ALIVE, "ppid": 1}}, [], None, "init"),
    ("fate", [401, 402], {}, [], None, "died"),
    ("fate", [401, 402], {401: {"status": "zombie", "letter": "Z", "ppid": SERVER}}, [], None,
     "zombies"),
    ("fate", [401], {401: {**ALIVE, "ppid": SERVER}}, [], None, "unchanged"),
    ("proc_state", 402, {402: {"status": "zombie", "letter": "Z", "ppid": SERVER}}, [], None,
     "zombie"),
    ("proc_state", 402, {}, [], None, "gone"),
    ("parent_of", 401, {401: {**ALIVE, "ppid": SERVER}}, [], None, "server"),
    ("parent_of", 401, {401: {**ALIVE, "ppid": DASH}}, [], None, "dashboard"),
    ("exitcode", 301, {}, [{"action": "terminate", "ok": True,
                            "body": {"pid": 301, "exitcode": -15}}], None, "-15"),
    ("exitcode", 402, {}, [], None, "0"),
    ("new_processes", [DASH, SERVER], {}, [], None, "4"),
    ("run_demo", None, {}, [{"action": "run_demo", "ok": True, "body": {
        "caller": {"pid": 7, "ppid": DASH}, "run": {"pid": 7, "ppid": DASH},
        "start": {"pid": 8, "ppid": 7}, "join_error": "can only join a started process"}}],
     None, "same_pid"),
    ("daemon_child", None, {}, [{"action": "daemon_demo", "ok": True, "body": {
        "started": False, "error": "daemonic processes are not allowed to have children",
        "pid": 9, "name": "daemon-demo-1"}}], None, "assertion"),
    ("cores", None, {}, [{"action": "flood", "ok": True, "body": {"clients": [
        {"pid": 301, "ok": True, "rounds": 5, "worker_pid": 401},
        {"pid": 302, "ok": True, "rounds": 5, "worker_pid": 402}]}}],
     {"cores": 2, "peak": [99, 97]}, "cores"),
    ("cores", None, {}, [{"action": "flood", "ok": True, "body": {"clients": [
        {"pid": 301, "ok": True, "rounds": 5, "worker_pid": 401}]}}],
     {"cores": 1, "peak": [99]}, "one"),
    ("cores", None, {}, [{"action": "flood", "ok": True, "body": {"clients": [
        {"pid": 301, "ok": True, "rounds": 5, "worker_pid": 401}]}}],
     {"cores": 16, "peak": [50] * 16}, "all"),
])
def test_each_rule_names_what_happened(module_page, rule, watch, views, acks, cpu, truth):
    found = run(module_page, f"""
        const ctx = {{ watch: {json.dumps(watch)}, acks: {json.dumps(acks)}, model,
                      os: {os_js(views)}, dashboardPid: {DASH}, cpu: {json.dumps(cpu)} }};
        const verdict = truth.judge({json.dumps(rule)}, ctx);
        return {{ truth: verdict.truth,
                  keys: verdict.facts.map((f) => f.key),
                  plain: verdict.facts.every((f) => Object.values(f.params).every(
                      (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) }};
    """)
    assert found["truth"] == truth
    assert found["keys"] and all(k.startswith("lesson.fact.") for k in found["keys"])
    assert found["plain"]      # the dashboard accepts them as a lesson_step's outcome

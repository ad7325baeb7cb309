"""The code view (issue 12): the tutorial's 服务端 and 客户端 as it prints them,
each live lab process a marker on the line it runs next (P.at through
static/tutorial/points.json), "paused at …" and a highlighted line for a
process waiting at a gate, the narration beside the code — tested on the
page's own modules, with model states built from events (no lab)."""

import json
import re
from pathlib import Path

import pytest

from app.model import schema

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
POINTS = json.loads((ROOT / "static" / "tutorial" / "points.json").read_text("utf-8"))


def catalogue(lang):
    return json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))


def fill(template, **params):
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), template)


# A lecture in step mode, as events make it: the server holds a connection at
# accept, worker-1 waits before conn.send(...), client-1 is blocked in recv,
# worker-2 (no phase yet) is inferred in recv.
SETUP = """async ({ lang, extra }) => {
    const i18n = await import('/static/js/i18n.js');
    await i18n.setLang(lang, { remember: false });
    const { Model } = await import('/static/js/model.js');
    const { CodeView, loadTutorial } = await import('/static/js/codeview.js');
    const model = new Model();
    const P = (uid, pid, ppid, role, fields = {}) => ({ uid, pid, ppid, role, name: uid.split('/').pop(),
        state: 'running', alive: true, daemon: false, at: null, gate: null, gate_since: null,
        gate_peer: null, connection: null, ...fields });
    model.reset({ seq: 10, echo: { host: '127.0.0.1', port: 8088 }, processes: [
        P('dashboard', 100, 1, 'dashboard'),
        P('server-1', 200, 100, 'server'),
        P('server-1/worker-1', 201, 200, 'worker', { connection: 'open', peer: ['127.0.0.1', 50001] }),
        P('server-1/worker-2', 202, 200, 'worker', { connection: 'open', peer: ['127.0.0.1', 50002] }),
        P('client-1', 300, 100, 'client', { connection: 'open' }),
    ]});
    let seq = 10;
    const ev = (type, pid, fields) => model.apply({ type, pid, by: pid, t: 1000 + seq, seq: ++seq, ...fields });
    ev('gate_wait', 200, { gate: 'accept', peer: ['127.0.0.1', 51234] });
    ev('phase', 201, { at: 'recv' });
    ev('gate_wait', 201, { gate: 'send' });
    ev('phase', 300, { at: 'recv' });
    for (const e of extra) ev(...e);
    const root = document.createElement('section');
    document.body.replaceChildren(root);
    const picked = [];
    window.__picked = picked;
    const code = { talk: '    data = conn.recv(1024)\\n    conn.sendall(data.upper())\\n', accept: '' };
    const view = new CodeView(root, { onSelect: (uid) => picked.push(uid),
        loadCode: async () => code, tutorial: loadTutorial() });
    await view.ready;
    view.render(model, 'server-1/worker-1', { mode: 'step', delay_ms: 1000, gates: [] });
    await new Promise((r) => setTimeout(r, 0));          // /api/code's promise settles
    view.render(model, 'server-1/worker-1', { mode: 'step', delay_ms: 1000, gates: [] });
    window.__view = view;
    window.__model = model;
}"""

MARKERS = """() => [...document.querySelectorAll('[data-marker-pid]')].map((m) => ({
    pid: Number(m.dataset.markerPid), line: Number(m.dataset.line), listing: m.dataset.listing,
    at: m.dataset.at, gate: m.dataset.gate ?? null, inferred: m.dataset.inferred === 'true',
    text: m.textContent, row: m.closest('[data-code-line]').dataset.codeLine }))"""


def line(listing, role, point):
    where = POINTS["points"][role][point]
    assert where["listing"] == listing
    return where["line"]


def test_every_point_of_the_schema_has_a_line_the_module_agrees_on(module_page):
    table = module_page.evaluate("""async () => {
        const { loadTutorial, lineOf } = await import('/static/js/codeview.js');
        const { SCHEMA } = await import('/static/js/schema.js');
        const tutorial = await loadTutorial();
        const out = {};
        for (const role of ['server', 'worker', 'client']) {
            const points = [...Object.keys(SCHEMA.points[role]), ...Object.keys(SCHEMA.points.any)];
            for (const point of points) {
                const where = lineOf(tutorial, role, point);
                out[`${role}.${point}`] = where && [where.listing, where.line,
                    tutorial.listings[where.listing].lines[where.line - 1]];
            }
        }
        return out;
    }""")
    wanted = {f"{role}.{point}" for role in ("server", "worker", "client")
              for point in [*schema.POINTS[role], *schema.POINTS["any"]]}
    assert set(table) == wanted
    assert all(table.values()), {k for k, v in table.items() if not v}
    # the lines the teacher reads them on: the tutorial's own statements
    assert table["server.accepting"][2].strip() == "conn,addr=s.accept()"
    assert table["server.accept"][2].strip() == "p=Process(target=talk,args=(conn,addr))"
    assert table["server.start"][2].strip() == "p.start()"
    assert table["worker.recv"][2].strip() == "data=conn.recv(1024)"
    assert table["worker.send"][2].strip() == "conn.send(data.upper())"
    assert table["worker.close"][2].strip() == "conn.close()"
    assert table["client.input"][2].strip() == "msg=input('>>: ').strip()"
    assert table["client.send"][2].strip() == "c.send(msg.encode('utf-8'))"
    assert table["client.recv"][2].strip() == "data=c.recv(1024)"
    assert table["client.exit"][2].strip() == "c.close()"


def test_point_of_a_process_is_p_at_else_what_its_state_implies(module_page):
    found = module_page.evaluate("""async () => {
        const { pointOf } = await import('/static/js/codeview.js');
        const run = (role, f = {}) => pointOf({ role, state: 'running', at: null, ...f });
        return [run('worker', { at: 'send' }), run('server'), run('worker', { connection: 'open' }),
                run('worker', { connection: 'closed' }), run('client', { connection: 'open' }),
                run('dashboard'), pointOf({ role: 'worker', state: 'zombie', at: 'exit' }),
                pointOf({ role: 'worker', state: 'created', at: null })];
    }""")
    assert found == [{"point": "send", "inferred": False}, {"point": "accepting", "inferred": True},
                     {"point": "recv", "inferred": True}, {"point": "exit", "inferred": True},
                     {"point": "input", "inferred": True}, None, None, None]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_markers_paused_lines_and_narration_for_a_model_state(module_page, lang):
    messages = catalogue(lang)
    module_page.evaluate(SETUP, {"lang": lang, "extra": []})
    markers = {m["pid"]: m for m in module_page.evaluate(MARKERS)}
    assert set(markers) == {200, 201, 202, 300}          # no marker for the dashboard
    paused = fill(messages["gate.paused"], gate="accept")
    assert markers[200] == {"pid": 200, "line": line("server", "server", "accept"), "listing": "server",
                            "at": "accept", "gate": "accept", "inferred": False,
                            "text": f"server-1 {paused}", "row": "19"}
    assert markers[201]["line"] == line("server", "worker", "send") == 12
    assert markers[201]["gate"] == "send"
    assert markers[201]["text"] == "worker-1 " + fill(messages["gate.paused"], gate="send")
    assert markers[202] == {"pid": 202, "line": 10, "listing": "server", "at": "recv", "gate": None,
                            "inferred": True, "text": "worker-2", "row": "10"}
    assert markers[300]["listing"] == "client" and markers[300]["line"] == 9
    assert markers[300]["gate"] is None

    rows = module_page.evaluate("""() => [...document.querySelectorAll('[data-code-line]')]
        .filter((r) => r.dataset.active || r.dataset.paused || r.dataset.selected)
        .map((r) => [r.dataset.listing, Number(r.dataset.codeLine), r.dataset.paused === 'true',
                     r.dataset.selected === 'true'])""")
    assert sorted(rows) == [["client", 9, False, False], ["server", 10, False, False],
                            ["server", 12, True, True], ["server", 19, True, False]]

    # the narration: the waiting ones, oldest first, in the tutorial's words
    narration = module_page.evaluate(
        "() => [...document.querySelectorAll('.code-narration li')].map((li) => li.textContent)")
    assert narration == [
        fill(messages["narrate.server.accept"], name="server-1", pid=200, peer="127.0.0.1:51234"),
        fill(messages["narrate.worker.send"], name="worker-1", pid=201)]
    assert "conn,addr=s.accept()" in narration[0] and "127.0.0.1:51234" in narration[0]

    # where the lab differs: line 12 says so, and its note (open: a process is
    # paused there) gives the lab's own line from /api/code
    note = module_page.evaluate("""() => {
        const row = document.querySelector('[data-listing=server] [data-code-line="12"]');
        const badge = row.querySelector('[data-diff-line]');
        return { badge: badge.textContent, title: badge.title, lab: badge.dataset.labLine,
                 open: !row.querySelector('.lab-note').hidden,
                 closed10: document.querySelector('[data-listing=server] [data-code-line="10"] .lab-note').hidden };
    }""")
    assert note["badge"] == messages["codeview.lab_differs"]
    assert note["lab"] == "conn.sendall(data.upper())"
    assert fill(messages["codeview.lab_line"], line="conn.sendall(data.upper())") in note["title"]
    assert note["open"] and note["closed10"]


def test_the_listings_are_shown_as_the_tutorial_prints_them(module_page):
    module_page.evaluate(SETUP, {"lang": "zh-CN", "extra": []})
    shown = module_page.evaluate("""() => Object.fromEntries(['server', 'client'].map((name) => [name,
        [...document.querySelectorAll(`figure[data-listing=${name}] [data-code-line]`)]
            .map((r) => r.querySelector('.code-src').textContent)]))""")
    for name in ("server", "client"):
        text = (ROOT / "static" / "tutorial" / f"{name}.py.txt").read_text("utf-8")
        # an empty line is drawn as one space, so that it keeps its height
        assert [s if s != " " else "" for s in shown[name]] == text.rstrip("\n").split("\n")
    assert "#就是它,在bind前加" in shown["server"][3]


def test_events_move_the_markers_and_a_click_selects(module_page):
    # worker-1 released from send, loops back to recv; the server passes
    # accept and waits at start; the client gets its reply and waits for input
    module_page.evaluate(SETUP, {"lang": "en", "extra": [
        ["gate_pass", 201, {"gate": "send", "how": "step"}],
        ["gate_wait", 201, {"gate": "recv"}],
        ["gate_pass", 200, {"gate": "accept", "how": "step"}],
        ["gate_wait", 200, {"gate": "start", "peer": ["127.0.0.1", 51234]}],
        ["phase", 300, {"at": "input"}],
    ]})
    markers = {m["pid"]: m for m in module_page.evaluate(MARKERS)}
    assert (markers[201]["line"], markers[201]["gate"]) == (10, "recv")
    assert (markers[200]["line"], markers[200]["gate"]) == (20, "start")
    assert (markers[300]["line"], markers[300]["gate"]) == (6, None)
    module_page.locator("[data-marker-pid='300']").click()
    assert module_page.evaluate("window.__picked") == ["client-1"]
    # exited: it runs no line any more
    module_page.evaluate("""() => { window.__model.apply({ type: 'exited', pid: 202, by: 200, t: 2000,
        seq: window.__model.seq + 1, uid: 'server-1/worker-2', exitcode: 0 });
        window.__view.render(window.__model, null, null); }""")
    assert 202 not in {m["pid"] for m in module_page.evaluate(MARKERS)}

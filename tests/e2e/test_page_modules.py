"""The page's modules keep to their own rooms (issue 10): d3 is an ES module,
not a global; Sync reports what it applied through a callback and main.js
alone keeps window.forkscope; a node's words come from format.js."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import node

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def catalogue(lang):
    return json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))


def fill(template, **params):
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), template)


def test_d3_imports_as_an_es_module_with_zoom(module_page):
    found = module_page.evaluate("""async () => {
        const d3 = await import('/static/vendor/d3.esm.min.js');
        return { version: d3.version, zoom: typeof d3.zoom, stratify: typeof d3.stratify,
                 global: typeof window.d3 };
    }""")
    assert found == {"version": "7.9.2", "zoom": "function", "stratify": "function",
                     "global": "undefined"}


def test_the_dashboard_draws_its_tree_without_a_d3_global(dashboard, live_app):
    page = dashboard
    client = live_app.api.spawn(1)[0]
    expect(node(page, client)).to_have_attribute("data-state", "running")
    assert page.evaluate("typeof window.d3") == "undefined"
    assert page.locator("script:not([type='module'])").count() == 0


def test_sync_reports_applied_seqs_through_on_applied_and_leaves_the_window_alone(module_page):
    found = module_page.evaluate("""async () => {
        const { Sync } = await import('/static/js/sync.js');
        const { Model } = await import('/static/js/model.js');
        window.forkscope = { appliedSeq: 0, appliedAt: new Map() };
        const applied = [];
        const sync = new Sync(new Model(), {
            onChange() {}, onStatus() {}, onEvents() {},
            onApplied: (seq, atMs) => applied.push([seq, atMs]),
        });
        const before = Date.now();
        sync.applySnapshot({ seq: 5, echo: { host: null, port: null }, processes: [] });
        sync.receive([{ seq: 6, type: 'accepted', t: before / 1000 },
                      { seq: 7, type: 'accepted', t: before / 1000 }]);
        return { applied, before, after: Date.now(), appliedSeq: sync.appliedSeq,
                 window: [window.forkscope.appliedSeq, window.forkscope.appliedAt.size] };
    }""")
    assert [seq for seq, _ in found["applied"]] == [5, 6, 7]
    assert all(found["before"] - 1 <= at <= found["after"] + 1 for _, at in found["applied"])
    assert found["appliedSeq"] == 7
    assert found["window"] == [0, 0]          # main.js records them, not Sync


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_nodes_words_come_from_format_js_in_both_languages(module_page, lang):
    messages = catalogue(lang)
    words = module_page.evaluate("""async (lang) => {
        const i18n = await import('/static/js/i18n.js');
        const f = await import('/static/js/format.js');
        await i18n.setLang(lang, { remember: false });
        const worker = { uid: 'server-1/worker-2', pid: 402, ppid: 200, role: 'worker',
            name: 'worker-2', state: 'running', daemon: true, client_pid: 302,
            peer: ['127.0.0.1', 50002], connection: 'open', exitcode: null };
        const outside = { ...worker, client_pid: null };
        const zombie = { ...worker, state: 'zombie', exitcode: -15 };
        const orphan = { ...worker, ppid: 100, old_ppid: 200 };
        const reap = { short: 'SHORT', long: 'LONG' };
        return {
            heading: f.nodeHeading(worker),
            tag: [f.nodeTag(worker, false), f.nodeTag({ ...worker, daemon: false }, false),
                  f.nodeTag(worker, true)],
            ids: f.nodeIds({ ...worker, pid: null, ppid: null }),
            extra: [f.nodeStateExtra(worker, 4), f.nodeStateExtra(zombie, 4),
                    f.nodeStateExtra({ ...zombie, exitcode: null }, 4),
                    f.nodeStateExtra(outside, 3), f.nodeStateExtra(outside, 4)],
            title: [f.nodeTitle(worker, false), f.nodeTitle(orphan, true, null),
                    f.nodeTitle(zombie, false, reap)],
            line: [f.connectionLine(worker, null), f.connectionLine(zombie, null, reap),
                   f.connectionLine({ role: 'client', state: 'running', connection: 'closed',
                                      said: 'server busy' }, null),
                   f.connectionLine({ role: 'server', state: 'running' },
                                    { host: '127.0.0.1', port: 8088 })],
            role: f.roleName('worker'),
        };
    }""", lang)
    role = words["role"]
    assert role == messages["role.worker"]
    assert words["heading"] == fill(messages["node.title"], role=role, name="worker-2")
    assert words["tag"] == [messages["node.daemon_yes"], messages["node.daemon_no"],
                            messages["node.orphan"]]
    assert words["ids"] == {"pidLabel": messages["node.pid"], "pid": messages["node.no_pid"],
                            "ppidLabel": messages["node.ppid"], "ppid": messages["value.none"]}
    assert words["extra"] == ["", fill(messages["node.exit"], code=-15),
                              messages["node.exit_unknown"], messages["node.external_short"], ""]
    select = fill(messages["node.select_title"], role=role, name="worker-2")
    assert words["title"] == [
        select,
        select + "\n" + fill(messages["node.orphan_title"], ppid=100, old_ppid=200),
        select + "\nLONG"]
    assert words["line"] == [fill(messages["node.worker_client"], pid=302, port=50002), "SHORT",
                             fill(messages["node.client_said"], said="server busy"),
                             fill(messages["node.listen"], addr="127.0.0.1:8088")]


def test_the_details_redraw_in_a_new_language_by_themselves(dashboard, live_app):
    # Nothing outside Details resets its cache: its own key has the language.
    page = dashboard
    zh, en = catalogue("zh-CN"), catalogue("en")
    client = live_app.api.spawn(1)[0]
    expect(node(page, client)).to_have_attribute("data-state", "running")
    node(page, client).click()
    details = page.locator("#details")
    expect(details).to_have_attribute("data-pid", str(client))
    pid_label = details.locator("dl.fields dt", has=page.locator("code.field-key", has_text="pid"))
    started = details.locator(".proc-events .ev-type.type-started")
    expect(pid_label.first.locator(".field-label")).to_have_text(zh["field.pid"])
    expect(started).to_have_text(zh["event.started"])
    page.locator("#lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(pid_label.first.locator(".field-label")).to_have_text(en["field.pid"])
    expect(started).to_have_text(en["event.started"])

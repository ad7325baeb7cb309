"""The tree's layout (static/js/tree-layout.js) as a pure function, in the
browser that runs it, without the app: processes in, positions out."""

import random
from itertools import pairwise

import pytest

pytestmark = pytest.mark.e2e

DASH, SERVER = 100, 200
ROOM = {"width": 1000, "height": 600, "fontSize": 18}

# layoutTree's answer, in plain JSON: nodes by uid, links and TCP links by pid.
LAYOUT = """async ([live, opts]) => {
    const { layoutTree } = await import('/static/js/tree-layout.js');
    const out = layoutTree({ live, ...opts });
    return {
        nodes: Object.fromEntries(out.nodes.map((d) => [d.id, {
            parent: d.parent ? d.parent.id : null, depth: d.depth, x: d.x, y: d.y,
            orphan: d.orphan, selected: d.selected, pid: d.proc.pid }])),
        order: out.nodes.map((d) => d.id),
        links: out.links.map((l) => [l.source.id, l.target.id]),
        tcp: out.tcp.map((c) => [c.client.proc.pid, c.worker.proc.pid]),
        orphans: [...out.orphans].sort(),
        geometry: out.geometry,
    };
}"""


def proc(uid, pid, ppid, role, **fields):
    return {"uid": uid, "pid": pid, "ppid": ppid, "role": role, "name": uid.split("/")[-1],
            "state": "running", "daemon": False, "orphaned": False, "worker_pid": None,
            "client_pid": None, "connection": None, **fields}


def lab(pairs, workers_first=False):
    """The dashboard, the echo server, and *pairs* connected client/worker pairs."""
    procs = [proc("dashboard", DASH, 1, "dashboard"), proc("server-1", SERVER, DASH, "server")]
    for i in range(1, pairs + 1):
        client, worker = 300 + i, 400 + i
        pair = [proc(f"client-{i}", client, DASH, "client", worker_pid=worker, connection="open"),
                proc(f"server-1/worker-{i}", worker, SERVER, "worker", client_pid=client,
                     connection="open", peer=["127.0.0.1", 50000 + i])]
        procs += pair[::-1] if workers_first else pair
    return procs


def layout(page, live, **opts):
    return page.evaluate(LAYOUT, [live, {**ROOM, **opts}])


def test_dashboard_at_the_root_server_and_clients_under_it_workers_under_the_server(module_page):
    out = layout(module_page, lab(3))
    nodes = out["nodes"]
    assert nodes["dashboard"]["parent"] is None and nodes["dashboard"]["depth"] == 0
    assert nodes["server-1"]["parent"] == "dashboard"
    for i in (1, 2, 3):
        assert nodes[f"client-{i}"]["parent"] == "dashboard"
        assert nodes[f"server-1/worker-{i}"]["parent"] == "server-1"
        assert nodes[f"server-1/worker-{i}"]["depth"] == 2
    assert sorted(out["links"]) == sorted(
        [[n["parent"], uid] for uid, n in nodes.items() if n["parent"]])
    assert out["order"][0] == "dashboard"              # parents before children
    assert not out["orphans"]
    assert not any(n["orphan"] for n in nodes.values())


def test_one_column_per_depth_and_no_two_boxes_overlap(module_page):
    out = layout(module_page, lab(12))
    g, nodes = out["geometry"], out["nodes"].values()
    for depth in (0, 1, 2):
        column = sorted(n["y"] for n in nodes if n["depth"] == depth)
        assert len({n["x"] for n in nodes if n["depth"] == depth}) == 1
        assert all(b - a >= g["H"] for a, b in pairwise(column)), depth
    xs = sorted({n["x"] for n in nodes})
    assert all(b - a >= g["nodeW"] for a, b in pairwise(xs))
    assert 0.8 <= g["scale"] <= 1.5
    assert g["height"] >= g["room"] == ROOM["height"]


def test_siblings_in_order_server_first_then_clients_by_number(module_page):
    live = lab(0) + [proc(f"client-{i}", 300 + i, DASH, "client") for i in (10, 2, 1)]
    nodes = layout(module_page, live)["nodes"]
    tops = sorted(["server-1", "client-1", "client-2", "client-10"], key=lambda u: nodes[u]["y"])
    assert tops == ["server-1", "client-1", "client-2", "client-10"]


def test_an_orphan_hangs_under_the_dashboard_flagged_after_its_siblings(module_page):
    live = lab(2) + [
        proc("gone/worker-7", 507, 999, "worker"),                    # its parent is not live
        proc("server-0/worker-3", 508, DASH, "worker", orphaned=True),  # re-parented, says the model
    ]
    out = layout(module_page, live)
    nodes = out["nodes"]
    for uid in ("gone/worker-7", "server-0/worker-3"):
        assert nodes[uid]["parent"] == "dashboard" and nodes[uid]["orphan"] is True
    assert out["orphans"] == ["gone/worker-7", "server-0/worker-3"]
    assert not any(n["orphan"] for uid, n in nodes.items() if uid not in out["orphans"])
    siblings = [u for u, n in nodes.items() if n["parent"] == "dashboard" and not n["orphan"]]
    assert min(nodes[u]["y"] for u in out["orphans"]) > max(nodes[u]["y"] for u in siblings)


def test_a_parent_cycle_does_not_hang_and_hangs_under_the_dashboard(module_page):
    live = [proc("dashboard", DASH, 1, "dashboard"),
            proc("a", 501, 502, "helper"), proc("b", 502, 501, "helper")]
    nodes = layout(module_page, live)["nodes"]
    # The cycle is cut at one of them: it hangs under the dashboard as an
    # orphan, the other stays under it.
    top, below = sorted(("a", "b"), key=lambda u: nodes[u]["depth"])
    assert (nodes[top]["parent"], nodes[top]["orphan"]) == ("dashboard", True)
    assert (nodes[below]["parent"], nodes[below]["depth"]) == (top, 2)


def test_tcp_links_pair_an_open_client_with_its_running_worker_by_pid(module_page):
    live = lab(4)
    by_uid = {p["uid"]: p for p in live}
    by_uid["client-2"]["connection"] = "closed"                   # the client hung up
    by_uid["server-1/worker-3"]["state"] = "zombie"               # the worker exited
    by_uid["client-4"]["worker_pid"] = SERVER                     # a pid that is no worker
    live.append(proc("client-5", 305, DASH, "client"))            # still connecting
    out = layout(module_page, live)
    assert out["tcp"] == [[301, 401]]


def test_same_input_in_any_order_gives_the_same_positions(module_page):
    live = lab(6) + [proc("gone/worker-9", 509, 999, "worker"), proc("client-x", 399, DASH, "client")]
    first = layout(module_page, live, selectedUid="client-3")
    shuffled = live[:]
    random.Random(4).shuffle(shuffled)
    assert layout(module_page, shuffled, selectedUid="client-3") == first
    assert layout(module_page, lab(6, workers_first=True))["nodes"] == layout(
        module_page, lab(6))["nodes"]
    assert [u for u, n in first["nodes"].items() if n["selected"]] == ["client-3"]


def test_adding_a_client_moves_no_existing_node_but_the_dashboard(module_page):
    # A tree taller than its panel (scale at its minimum, boxes of the same
    # size): the new client is the dashboard's last child; the dashboard,
    # centred on its children, moves down; nothing else moves.
    before = layout(module_page, lab(20))
    after = layout(module_page, lab(20) + [proc("client-99", 399, DASH, "client")])
    assert before["geometry"]["scale"] == after["geometry"]["scale"] == 0.8
    moved = [u for u, n in before["nodes"].items()
             if (n["x"], n["y"]) != (after["nodes"][u]["x"], after["nodes"][u]["y"])]
    assert moved == ["dashboard"]


def test_a_tall_tree_drops_the_connection_line_before_shrinking_type(module_page):
    few = layout(module_page, lab(1))["geometry"]
    many = layout(module_page, lab(5), width=900)["geometry"]
    assert few["lines"] == 4 and few["scale"] > 1
    assert many["lines"] == 3 and many["scale"] < 0.95


def test_nothing_live_lays_out_nothing(module_page):
    out = layout(module_page, [])
    assert out["nodes"] == {} and out["links"] == [] and out["tcp"] == []
    assert out["geometry"]["scale"] == 1


def test_the_layout_runs_where_there_is_no_dom(module_page):
    # A module worker has no document and no window: the layout needs neither.
    result = module_page.evaluate("""async (live) => {
        const src = `import { layoutTree } from '${location.origin}/static/js/tree-layout.js';
            onmessage = (e) => postMessage(layoutTree(
                { live: e.data, width: 1000, height: 600, fontSize: 18 }).nodes.length);`;
        const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
        const worker = new Worker(url, { type: 'module' });
        try {
            return await new Promise((resolve, reject) => {
                worker.onmessage = (e) => resolve(e.data);
                worker.onerror = (e) => reject(new Error(e.message || 'worker failed'));
                worker.postMessage(live);
            });
        } finally {
            worker.terminate();
        }
    }""", lab(2))
    assert result == 6

"""The tree's layout (static/js/tree-layout.js) as a pure function, in the
browser that runs it, without the app: processes, the room, the legible
minimum and the clock in; nodes, groups and positions out."""

import random

import pytest

pytestmark = pytest.mark.e2e

DASH, SERVER = 100, 200
ROOM = {"width": 1000, "height": 600, "fontSize": 18}
# A room where nothing needs folding: the tree's shape alone.
TALL = {"width": 1000, "height": 6000, "fontSize": 18}
# The tree panel at 1280×720 (CSS px) and at 1920×1080, with their root font sizes.
PROJECTOR_1280 = {"width": 784, "height": 600, "fontSize": 18}
PROJECTOR_1920 = {"width": 1180, "height": 960, "fontSize": 22}

# layoutTree's answer, in plain JSON: nodes by uid, links and TCP links by pid.
LAYOUT = """async ([live, opts]) => {
    const { layoutTree } = await import('/static/js/tree-layout.js');
    const changes = opts.changes ? new Map(Object.entries(opts.changes)) : null;
    const expanded = new Set(opts.expanded || []);
    const out = layoutTree({ live, ...opts, changes, expanded });
    const end = (d) => (d.proc ? d.proc.pid : d.id);
    return {
        nodes: Object.fromEntries(out.nodes.map((d) => [d.id, {
            parent: d.parent ? d.parent.id : null, depth: d.depth, x: d.x, y: d.y,
            orphan: d.orphan, selected: d.selected, recent: d.recent, pid: d.proc.pid }])),
        groups: Object.fromEntries(out.groups.map((d) => [d.id, {
            parent: d.parent.id, parentPid: d.parentProc.pid, role: d.role, count: d.count,
            states: d.states, members: d.members.map((p) => p.uid), expandId: d.expandId,
            x: d.x, y: d.y }])),
        toggles: out.toggles.map((d) => [d.id, d.parent.id, d.count]),
        toggleYs: out.toggles.map((d) => d.y),
        drawn: out.nodes.map((d) => d.id),
        order: out.order,
        links: out.links.map((l) => [l.source.id, l.target.id]),
        kinds: Object.fromEntries(out.links.map((l) => [l.target.id, l.kind])),
        tcp: out.tcp.map((c) => [end(c.client), end(c.worker)]),
        tcpCounts: out.tcp.map((c) => c.count),
        orphans: [...out.orphans].sort(),
        recentUntil: out.recentUntil,
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


def layout(page, live, room=ROOM, **opts):
    return page.evaluate(LAYOUT, [live, {**room, **opts}])


def boxes(out):
    """Every drawn box (nodes and groups): (id, x, y)."""
    return ([(u, n["x"], n["y"]) for u, n in out["nodes"].items()]
            + [(g, n["x"], n["y"]) for g, n in out["groups"].items()])


def shown(out):
    """uid -> how many times it is shown: as a node, or counted in a group."""
    seen = {}
    for uid in out["nodes"]:
        seen[uid] = seen.get(uid, 0) + 1
    for g in out["groups"].values():
        assert g["count"] == len(g["members"])
        for uid in g["members"]:
            seen[uid] = seen.get(uid, 0) + 1
    return seen


def fits(out, room):
    g = out["geometry"]
    return (g["treeW"] * g["scale"] <= room["width"] + 0.01
            and g["treeH"] * g["scale"] <= room["height"] + 0.01)


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


def test_one_row_per_connection_the_client_right_of_its_worker(module_page):
    out = layout(module_page, lab(3), room=TALL)
    nodes = out["nodes"]
    # The story reads left to right on the first row: dashboard, server, worker, client.
    row0 = [nodes[u] for u in ("dashboard", "server-1", "server-1/worker-1", "client-1")]
    assert len({n["y"] for n in row0}) == 1
    assert [n["x"] for n in row0] == sorted(n["x"] for n in row0)
    assert len({n["x"] for n in row0}) == 4
    for i in (1, 2, 3):
        worker, client = nodes[f"server-1/worker-{i}"], nodes[f"client-{i}"]
        assert client["y"] == worker["y"] and client["x"] > worker["x"]
    rows = [nodes[f"server-1/worker-{i}"]["y"] for i in (1, 2, 3)]
    assert rows == sorted(rows) and len(set(rows)) == 3
    assert out["kinds"]["client-1"] == "bus" and out["kinds"]["server-1/worker-1"] == "tree"
    # The client column is there before the first connection: it moves nothing.
    assert layout(module_page, lab(0), room=TALL)["geometry"]["treeW"] == out["geometry"]["treeW"]


def test_no_two_boxes_overlap(module_page):
    out = layout(module_page, lab(12) + [proc("gone/worker-9", 509, 999, "worker")], room=TALL)
    g = out["geometry"]
    placed = boxes(out)
    for i, (a, ax, ay) in enumerate(placed):
        for b, bx, by in placed[i + 1:]:
            apart = abs(ax - bx) >= g["nodeW"] or abs(ay - by) >= g["H"]
            assert apart, (a, b)
    assert not out["groups"]


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
    out = layout(module_page, live, room=TALL)
    nodes = out["nodes"]
    for uid in ("gone/worker-7", "server-0/worker-3"):
        assert nodes[uid]["parent"] == "dashboard" and nodes[uid]["orphan"] is True
        assert nodes[uid]["x"] == nodes["server-1"]["x"]              # beside the server
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
    out = layout(module_page, live, room=TALL)
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
    many = lab(40)
    folded = layout(module_page, many, room=PROJECTOR_1280)
    assert folded["groups"]
    assert layout(module_page, many[::-1], room=PROJECTOR_1280) == folded


def test_a_new_connection_takes_a_new_row_and_moves_nothing(module_page):
    # A client, then its worker: each appears in the row below the last one;
    # no process already there moves, not even the dashboard or the server.
    before = layout(module_page, lab(20), room=TALL)
    client = proc("client-21", 321, DASH, "client")
    after_client = layout(module_page, lab(20) + [client], room=TALL)
    worker = proc("server-1/worker-21", 421, SERVER, "worker", client_pid=321, connection="open")
    client_linked = {**client, "worker_pid": 421, "connection": "open"}
    after_worker = layout(module_page, lab(20) + [client_linked, worker], room=TALL)
    for after in (after_client, after_worker):
        moved = [u for u, n in before["nodes"].items()
                 if (n["x"], n["y"]) != (after["nodes"][u]["x"], after["nodes"][u]["y"])]
        assert moved == []
    lowest = max(n["y"] for n in before["nodes"].values())
    assert after_client["nodes"]["client-21"]["y"] > lowest
    # its worker arrives in that row: the client does not move either
    assert after_worker["nodes"]["client-21"] == {**after_client["nodes"]["client-21"],
                                                   "recent": None}
    assert after_worker["nodes"]["server-1/worker-21"]["y"] == after_client["nodes"]["client-21"]["y"]


def test_a_tall_tree_drops_the_connection_line_before_folding(module_page):
    few = layout(module_page, lab(1), room=PROJECTOR_1280)
    some = layout(module_page, lab(8), room=PROJECTOR_1280)
    assert few["geometry"]["lines"] == 4 and few["geometry"]["legible"] and not few["groups"]
    assert some["geometry"]["lines"] == 3 and not some["groups"]
    assert some["geometry"]["legible"]


@pytest.mark.parametrize("room", [PROJECTOR_1280, PROJECTOR_1920], ids=["1280", "1920"])
def test_the_whole_tree_fits_at_a_legible_size_at_every_size(module_page, room):
    previous_groups = 0
    for pairs in (0, 1, 3, 8, 12, 20, 40, 50, 120, 250):
        live = lab(pairs)
        out = layout(module_page, live, room=room)
        g = out["geometry"]
        assert fits(out, room), (pairs, g)
        assert g["legible"] and g["scale"] * room["fontSize"] >= 13 - 1e-6, (pairs, g["scale"])
        assert g["scale"] <= 1.5
        seen = shown(out)
        assert sorted(seen) == sorted(p["uid"] for p in live), pairs
        assert set(seen.values()) <= {1}, pairs                 # each shown exactly once
        assert {"dashboard", "server-1"} <= set(out["nodes"]), pairs
        assert len(out["groups"]) >= previous_groups, pairs     # folds only as it grows
        previous_groups = len(out["groups"])
    assert previous_groups


def test_many_workers_fold_into_one_group_and_their_clients_beside_it(module_page):
    out = layout(module_page, lab(50), room=PROJECTOR_1280)
    nodes = out["nodes"]
    workers = out["groups"]["group:server-1:worker"]
    assert (workers["parentPid"], workers["role"]) == (SERVER, "worker")
    assert workers["states"] == {"running": workers["count"]}
    # The first pairs stand out as far as the room allows, then the group.
    kept = 50 - workers["count"]
    assert kept >= 2, kept
    assert workers["members"] == [f"server-1/worker-{i}" for i in range(kept + 1, 51)]
    for i in range(1, kept + 1):
        worker, client = nodes[f"server-1/worker-{i}"], nodes[f"client-{i}"]
        assert worker["y"] == client["y"] < workers["y"]
        assert [300 + i, 400 + i] in out["tcp"]
    clients = out["groups"]["group:server-1:worker>client"]
    assert (clients["parentPid"], clients["role"]) == (DASH, "client")
    assert clients["members"] == [f"client-{i}" for i in range(kept + 1, 51)]
    assert clients["expandId"] == "group:server-1:worker"        # one click opens both
    assert clients["y"] == workers["y"] and clients["x"] > workers["x"]
    assert ["group:server-1:worker>client", "group:server-1:worker"] in out["tcp"]
    assert out["tcpCounts"][out["tcp"].index(
        ["group:server-1:worker>client", "group:server-1:worker"])] == workers["count"]
    assert fits(out, PROJECTOR_1280) and out["geometry"]["legible"]
    # the room is used: one more pair standing out would not fit legibly
    assert out["geometry"]["treeH"] * out["geometry"]["minScale"] > 600 - 2 * (
        out["geometry"]["H"] + out["geometry"]["rowGap"]) * out["geometry"]["minScale"]
    # reading order: row by row, left to right
    assert out["order"][:4] == ["dashboard", "server-1", "server-1/worker-1", "client-1"]
    assert out["order"][-2:] == ["group:server-1:worker", "group:server-1:worker>client"]


def test_zombies_orphans_the_selected_and_the_recent_stay_out_of_groups(module_page):
    live = lab(50) + [proc("gone/worker-99", 599, 999, "worker")]
    by_uid = {p["uid"]: p for p in live}
    by_uid["server-1/worker-37"]["state"] = "zombie"
    changes = {"server-1/worker-39": {"state": "running", "kind": "new", "at": 1000},
               "client-42": {"state": "running", "kind": "new", "at": 1000}}
    out = layout(module_page, live, room=PROJECTOR_1280, selectedUid="client-30",
                 changes=changes, now=2500)
    nodes = out["nodes"]
    special = ("server-1/worker-37", "gone/worker-99", "client-30", "server-1/worker-30",
               "server-1/worker-39", "client-42")
    for uid in special:
        assert uid in nodes, uid
    group = out["groups"]["group:server-1:worker"]
    assert not set(special) & set(group["members"])
    assert nodes["server-1/worker-39"]["recent"] == "new"
    assert nodes["server-1/worker-37"]["recent"] is None
    singles = [u for u in nodes if u.startswith("server-1/worker-")]
    assert group["count"] + len(singles) == 50
    assert set(shown(out).values()) == {1}
    assert fits(out, PROJECTOR_1280) and out["geometry"]["legible"]
    # the selected client and its worker keep their TCP link
    assert [301 + 29, 401 + 29] in out["tcp"]
    # three seconds later the new ones are folded like the others
    later = layout(module_page, live, room=PROJECTOR_1280, selectedUid="client-30",
                   changes=changes, now=4100)
    assert "server-1/worker-39" not in later["nodes"] and later["recentUntil"] is None
    assert out["recentUntil"] == 4000


def test_zombies_fold_too_when_nothing_else_can(module_page):
    # A parent with a hundred zombie children (htop's fold): they fit only folded.
    live = lab(0) + [proc(f"server-1/worker-{i}", 400 + i, SERVER, "worker", state="zombie")
                     for i in range(1, 101)]
    out = layout(module_page, live, room=PROJECTOR_1280)
    group = out["groups"]["group:server-1:worker"]
    assert group["count"] >= 90 and group["states"] == {"zombie": group["count"]}
    assert set(shown(out).values()) == {1} and len(shown(out)) == 102
    assert fits(out, PROJECTOR_1280) and out["geometry"]["legible"]


def test_the_legible_minimum_decides_what_folds(module_page):
    live = lab(12)
    near = layout(module_page, live, room=PROJECTOR_1920, minLabelPx=13)
    assert not near["groups"] and near["geometry"]["legible"]
    far = layout(module_page, live, room=PROJECTOR_1920, minLabelPx=20)    # a presenter view
    assert far["groups"] and far["geometry"]["scale"] * 22 >= 20 - 1e-6
    # A width the columns cannot meet (folding saves rows, never columns): the
    # outline, legible, its rows folded to fit.
    phone = {"width": 390, "height": 600, "fontSize": 18}
    out = layout(module_page, lab(30), room=phone, minLabelPx=13)
    assert out["geometry"]["arrangement"] == "outline"
    assert fits(out, phone) and out["geometry"]["legible"] and out["groups"]
    assert out["geometry"]["treeW"] * out["geometry"]["scale"] == pytest.approx(390)
    assert near["geometry"]["arrangement"] == far["geometry"]["arrangement"] == "columns"


# -- the outline: a panel too narrow for the columns (a phone) ------------------------------

# The phone's tree panel at 390×844 and 360×740 (CSS px; root font 16 px), and
# the room it may take: two panels tall, the panel scrolling (--tree-screens).
PHONE_390 = {"width": 390, "height": 490, "fontSize": 16, "screens": 2}
PHONE_360 = {"width": 360, "height": 420, "fontSize": 16, "screens": 2}
PHONES = pytest.mark.parametrize("phone", [PHONE_390, PHONE_360], ids=["390", "360"])
HELPER = proc("resource_tracker", 150, DASH, "helper")


def lecture(pairs=8):
    """A lecture's lab: the dashboard, the server, the resource tracker and
    *pairs* clients with their workers (eight: nineteen processes)."""
    return lab(pairs) + [HELPER]


def phone_fits(out, room):
    """Inside the panel's width, and no taller than the panels it may take."""
    g = out["geometry"]
    return (g["treeW"] * g["scale"] <= room["width"] + 0.01
            and g["treeH"] * g["scale"] <= room["height"] * room["screens"] + 0.01)


def rows_apart(out):
    """Boxes of different rows do not overlap; those of one row neither."""
    g = out["geometry"]
    placed = boxes(out)
    return all(abs(ay - by) >= g["H"] - 1e-6 or abs(ax - bx) >= g["nodeW"] - 1e-6
               for i, (_, ax, ay) in enumerate(placed) for _, bx, by in placed[i + 1:])


def inside_width(out, room):
    g = out["geometry"]
    return all(x >= 0 and (x + g["nodeW"]) * g["scale"] <= room["width"] + 0.01
               for _, x, _ in boxes(out))


@PHONES
def test_a_phone_gets_an_outline_parents_above_children_clients_beside_their_workers(
        module_page, phone):
    out = layout(module_page, lecture(2), room=phone)
    g, nodes = out["geometry"], out["nodes"]
    assert g["arrangement"] == "outline" and g["lines"] == 2 and not out["groups"]
    # top to bottom, a parent above its children, each client on its worker's row
    assert out["order"] == ["dashboard", "server-1", "server-1/worker-1", "client-1",
                            "server-1/worker-2", "client-2", "resource_tracker"]
    row = {u: n["y"] for u, n in nodes.items()}
    assert row["dashboard"] < row["server-1"] < row["server-1/worker-1"] < row["server-1/worker-2"]
    assert row["server-1/worker-2"] < row["resource_tracker"]
    assert row["client-1"] == row["server-1/worker-1"] and row["client-2"] == row["server-1/worker-2"]
    assert len({row[u] for u in ("dashboard", "server-1", "server-1/worker-1",
                                 "server-1/worker-2", "resource_tracker")}) == 5
    # indented a step per depth; the clients in a column right of the workers
    indent, margin = g["indent"], g["margin"]
    assert nodes["dashboard"]["x"] == pytest.approx(margin)
    assert nodes["server-1"]["x"] == nodes["resource_tracker"]["x"] == pytest.approx(margin + indent)
    assert nodes["server-1/worker-1"]["x"] == pytest.approx(margin + 2 * indent)
    assert nodes["client-1"]["x"] == nodes["client-2"]["x"]
    assert nodes["client-1"]["x"] >= nodes["server-1/worker-1"]["x"] + g["nodeW"] + g["fs"]
    # links stay true: a client's parent is the dashboard (down the lane on the right)
    assert nodes["client-1"]["parent"] == "dashboard" and out["kinds"]["client-1"] == "bus"
    assert out["kinds"]["server-1/worker-1"] == "tree"
    assert [301, 401] in out["tcp"] and [302, 402] in out["tcp"]
    assert rows_apart(out) and inside_width(out, phone)
    assert g["treeW"] * g["scale"] == pytest.approx(phone["width"])        # the whole width
    assert g["nodeW"] >= 10.5 * 16 - 1e-6                                  # "工作进程 worker-12"
    assert g["scale"] * 16 >= 13 - 1e-6 and g["H"] * g["scale"] >= 44     # a finger's target


@PHONES
def test_a_lecture_lab_on_a_phone_every_process_its_own_node_at_the_legible_minimum(
        module_page, phone):
    """Nineteen processes on a phone: none folded, every pid drawn at least
    13 px (the projector's minimum), the panel scrolling if the tree is taller."""
    live = lecture(8)
    out = layout(module_page, live, room=phone, minLabelPx=13)
    g = out["geometry"]
    assert not out["groups"], out["groups"]
    assert sorted(out["nodes"]) == sorted(p["uid"] for p in live)
    assert g["legible"] and g["scale"] * phone["fontSize"] >= 13 - 1e-6, g["scale"]
    assert phone_fits(out, phone) and inside_width(out, phone) and rows_apart(out)
    assert g["height"] == pytest.approx(g["treeH"] * g["scale"])
    # it does not fit one panel so: it is drawn taller, to scroll, not smaller
    assert g["height"] > phone["height"]
    # a panel that may not scroll fits it, smaller or folded (the desktop's rule)
    still = layout(module_page, live, room={**phone, "screens": 1}, minLabelPx=13)
    assert fits(still, phone) and (still["groups"] or not still["geometry"]["legible"])


@PHONES
def test_a_short_tree_on_a_phone_is_drawn_larger_and_scrolls_not(module_page, phone):
    out = layout(module_page, lecture(2), room=phone, minLabelPx=13)
    g = out["geometry"]
    assert g["height"] <= phone["height"] + 0.01                   # one panel
    assert g["scale"] * 16 > 13                                     # larger than the minimum


def test_the_selected_client_and_a_zombie_beside_it_never_fold_on_a_phone(module_page):
    """The reverted outline's failure: three clients, one selected, a worker just
    exited — it folded the zombie with a running worker. Now nothing folds."""
    live = lecture(3)
    by_uid = {p["uid"]: p for p in live}
    by_uid["server-1/worker-2"]["state"] = "zombie"
    changes = {"server-1/worker-2": {"state": "zombie", "kind": "ended", "at": 1000}}
    for phone in (PHONE_390, PHONE_360):
        out = layout(module_page, live, room=phone, selectedUid="client-1", changes=changes,
                     now=1500)
        assert not out["groups"] and "server-1/worker-2" in out["nodes"], phone
        assert out["nodes"]["server-1/worker-2"]["recent"] == "ended"
        assert out["geometry"]["scale"] * 16 >= 13 - 1e-6, (phone, out["geometry"]["scale"])


@pytest.mark.parametrize("pairs", [0, 1, 3, 8, 12, 20, 40, 120])
def test_the_outline_folds_only_past_its_screens_and_the_special_stay_out(module_page, pairs):
    live = lecture(pairs) + [proc("gone/worker-99", 599, 999, "worker")]
    by_uid = {p["uid"]: p for p in live}
    special = {"gone/worker-99"}                       # an orphan
    if pairs >= 3:
        by_uid["server-1/worker-3"]["state"] = "zombie"
        special |= {"server-1/worker-3", "client-2", "server-1/worker-2"}   # zombie, selected + partner
    changes = {"client-1": {"state": "running", "kind": "new", "at": 1000}} if pairs else None
    out = layout(module_page, live, room=PHONE_390, selectedUid="client-2" if pairs >= 3 else None,
                 changes=changes, now=2000)
    g = out["geometry"]
    assert g["arrangement"] == "outline"
    assert phone_fits(out, PHONE_390) and inside_width(out, PHONE_390) and rows_apart(out), pairs
    assert g["legible"] and g["scale"] * 16 >= 13 - 1e-6, (pairs, g["scale"])
    seen = shown(out)
    assert sorted(seen) == sorted(p["uid"] for p in live) and set(seen.values()) == {1}, pairs
    assert special <= set(out["nodes"]), (pairs, special - set(out["nodes"]))
    if pairs:
        assert "client-1" in out["nodes"] and out["nodes"]["client-1"]["recent"] == "new"
    # folds only when two panels would not hold it at the legible minimum
    rows = (g["treeH"] - 2 * g["margin"] + g["rowGap"]) / (g["H"] + g["rowGap"])
    assert bool(out["groups"]) == (pairs >= 20), (pairs, rows, out["groups"].keys())


def test_an_opened_group_in_the_outline_has_its_handle_after_the_last_row(module_page):
    live = lecture(40)
    folded = layout(module_page, live, room=PHONE_390)
    assert "group:server-1:worker" in folded["groups"]
    opened = layout(module_page, live, room=PHONE_390, expanded=["group:server-1:worker"])
    assert all(f"server-1/worker-{i}" in opened["nodes"] for i in range(1, 41))
    assert ["group:server-1:worker", "server-1", 40] in opened["toggles"]
    last = max(y for _, _, y in boxes(opened))
    assert opened["toggleYs"][0] >= last + opened["geometry"]["H"]      # a row of its own
    assert phone_fits(opened, PHONE_390) and inside_width(opened, PHONE_390)


def test_an_opened_group_shows_each_member_and_a_handle_folds_it(module_page):
    live = lab(30)
    folded = layout(module_page, live, room=PROJECTOR_1280)
    assert "group:server-1:worker" in folded["groups"] and not folded["toggles"]
    opened = layout(module_page, live, room=PROJECTOR_1280, expanded=["group:server-1:worker"])
    assert "group:server-1:worker" not in opened["groups"]
    assert all(f"server-1/worker-{i}" in opened["nodes"] for i in range(1, 31))
    assert ["group:server-1:worker", "server-1", 30] in opened["toggles"]
    assert fits(opened, PROJECTOR_1280)              # smaller than legible, but all of it
    assert [301, 401] in opened["tcp"]


def test_what_is_recent_new_processes_and_exited_ones_for_three_seconds(module_page):
    out = module_page.evaluate("""async (live) => {
        const { trackChanges, recentAt } = await import('/static/js/tree-layout.js');
        const kinds = (c, now) => Object.fromEntries(recentAt(c, now).recent);
        const c0 = trackChanges(null, live, 0);                 // what was there: no news
        const c1 = trackChanges(c0, [...live, {uid: 'client-9', state: 'running'}], 100);
        const zombie = live.map((p) => p.uid === 'client-1' ? {...p, state: 'zombie'} : p);
        const c2 = trackChanges(c1, [...zombie, {uid: 'client-9', state: 'running'}], 1000);
        const c3 = trackChanges(c2, zombie, 1500);               // client-9 was reaped
        return { at0: kinds(c0, 0), at1: kinds(c1, 100), at2: kinds(c2, 1000),
                 at2later: kinds(c2, 3200), until2: recentAt(c2, 1000).until, at3: kinds(c3, 1500),
                 gone: kinds(c2, 5000) };
    }""", lab(1))
    assert out["at0"] == {}
    assert out["at1"] == {"client-9": "new"}
    assert out["at2"] == {"client-9": "new", "client-1": "ended"}
    assert out["at2later"] == {"client-1": "ended"} and out["until2"] == 3100
    assert out["at3"] == {"client-1": "ended"}
    assert out["gone"] == {}


def test_nothing_live_lays_out_nothing(module_page):
    out = layout(module_page, [])
    assert out["nodes"] == {} and out["groups"] == {} and out["links"] == [] and out["tcp"] == []
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

// Where every box of the process tree goes: a pure function from the live
// processes and the room they have to positions. No DOM, no d3 selection:
// tree.js draws what this returns; tests call it with plain objects.
//
// The tree tells the tutorial's story left to right, one row per connection:
//
//   dashboard ── server-1 ──┬── worker-1 ~~tcp~~ client-1 ──┐
//                           ├── worker-2 ~~tcp~~ client-2 ──┤
//                           └── worker-3 ~~tcp~~ client-3 ──┤
//       └──────────────────────────────────────────────────┘ (the dashboard forked the clients)
//
// Columns are depths (the dashboard, its children, their children...), except
// the clients: they stand in a column of their own right of the workers, each
// on its worker's row, so a TCP link is a short straight line that crosses
// nothing; their parent link (to the dashboard) runs round the outside, below
// the last row and up a spine on the right. A parent sits on the row of its
// first child, and siblings keep stable keys (role, the number in the name,
// pid): a new process takes a new row where it belongs and nothing else moves.
// Parentage comes from ppid; a process whose parent is not live hangs under
// the dashboard, flagged as an orphan (so does one the model says was
// re-parented: `orphaned`). Nodes are keyed by uid, since a pid can be reused.
//
// The whole tree always fits its panel (tree.js zooms the view to `scale`):
// down to a legible minimum (the pid text at least minLabelPx CSS px), then
// siblings of one role are folded into a group node, largest family first —
// never the selected process; what appeared in the last few seconds, zombies,
// orphans and what just exited, in that order, only when nothing else is
// left to fold.
//
// A panel too narrow for those columns at the legible minimum (a phone held
// upright: 390 px is ~24 em, the columns ~59) gets an outline instead. The
// process tree reads top to bottom, one process a row, indented a step per
// depth, a parent above its children; the clients keep their column on the
// right, each on its worker's row, so a TCP link is still a short straight
// line; their parent link runs from the dashboard down a lane on the right:
//
//   dashboard ─────────────────────────────┐
//    └ server-1                            │
//       ├ worker-1 ~~tcp~~ client-1 ───────┤
//       └ worker-2 ~~tcp~~ client-2 ───────┘
//    └ resource_tracker
//
// Its boxes have two lines (name and role; pid and state: the rest is in the
// details a tap opens) and widen to the panel's width. A panel that may
// scroll (*screens* > 1: the phone's) takes a tree taller than itself at the
// legible minimum rather than fold it, up to *screens* panels; only a longer
// one folds, by the rules above — so a lecture's lab on a phone is every
// process its own node, its pids as large as on the projector.
//
// Every layout decision (order, grouping, scale, what is recent) lives here;
// tree.js only draws.

const ROLE_ORDER = { dashboard: 0, server: 1, client: 2, helper: 3, worker: 4 };
const STATE_ORDER = ["created", "running", "zombie", "joined"];
const MAX_SCALE = 1.5;
/** Box width in em: "pid 32768  ppid 32767" and a role and name fit at full size,
 *  and four columns fit a 1280-wide projector's tree panel with 13 px pids. */
const NODE_EM = 13;
/** How long a new or exited process stays highlighted (and out of any group). */
export const RECENT_MS = 3000;
/** The default legible minimum: the pid text, in CSS px, on a 1280×720 projector. */
export const DEFAULT_MIN_LABEL_PX = 13;
/** Fewer siblings than this are never folded: a group of two saves one row. */
const MIN_GROUP = 3;
/** The outline's narrowest box, in em: "工作进程 worker-12" on its first line,
 *  "pid 12345 ● 运行中" on its second; two of them and the indents fit a
 *  360 px phone at a 13 px pid. Boxes widen to the panel from there. */
const OUTLINE_NODE_EM = 10.5;

// Why a process stays out of a group. Folding starts at NORMAL and reaches
// the next level only when the tree still does not fit; SELECTED never folds.
// Fifty clients spawned at once fold before a zombie does: the exit is the
// teaching moment, a crowd of new processes is not.
const NORMAL = 0;      // nothing special
const NEW = 1;         // appeared in the last RECENT_MS
const NOTABLE = 2;     // a zombie or an orphan
const ENDED = 3;       // exited in the last RECENT_MS
const SELECTED = 4;    // the selected process and its TCP partner
const LEVELS = 5;

function nameNumber(proc) {
  const m = /(\d+)$/.exec(proc.name ?? "");
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

// Siblings: not orphans first, then by role, then by the number in the name
// (client-2 before client-10), then by pid. Input order never matters.
function compareRows(a, b) {
  return (a.orphan - b.orphan)
    || ((ROLE_ORDER[a.proc.role] ?? 9) - (ROLE_ORDER[b.proc.role] ?? 9))
    || ((a.num ?? nameNumber(a.proc)) - (b.num ?? nameNumber(b.proc)))
    || ((a.proc.pid ?? 0) - (b.proc.pid ?? 0))
    || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const byOrd = (a, b) => a.ord - b.ord;

/** Rows of the hierarchy: each process with the uid of its parent ({id,
 *  parentId, proc, orphan}). *live* are the processes not yet joined. */
export function treeRows(live) {
  if (!live.length) return [];
  const root = live.find((p) => p.role === "dashboard") || live[0];
  const byPid = new Map();
  for (const p of live) if (p.pid !== null && p.pid !== undefined) byPid.set(p.pid, p);
  const parent = new Map();
  for (const p of live) {
    if (p === root) continue;
    const up = byPid.get(p.ppid);
    parent.set(p.uid, up && up !== p ? up.uid : null);
  }
  // A cycle (impossible in an OS, possible in a confused model) must not hang the page.
  for (const p of live) {
    const seen = new Set([p.uid]);
    for (let up = parent.get(p.uid); up && up !== root.uid; up = parent.get(up)) {
      if (seen.has(up)) {
        parent.set(p.uid, null);
        break;
      }
      seen.add(up);
    }
  }
  return live.map((p) => {
    if (p === root) return { id: p.uid, parentId: null, proc: p, orphan: false };
    const up = parent.get(p.uid);
    return { id: p.uid, parentId: up ?? root.uid, proc: p, orphan: up === null || Boolean(p.orphaned) };
  });
}

// -- what changed recently ------------------------------------------------------------------

/**
 * What each live process was last seen as, and when it last changed in a way
 * worth highlighting: {uid -> {state, kind: "new"|"ended"|null, at}}. *prev*
 * is the previous answer (null or empty at first: what is there when the page
 * opens is not news); *now* is any monotonic clock in ms. A process not seen
 * before is "new"; one whose state became zombie is "ended" (it exited).
 * Processes no longer live are forgotten.
 */
export function trackChanges(prev, live, now) {
  const first = !prev || prev.size === 0;
  const next = new Map();
  for (const p of live) {
    const was = first ? null : prev.get(p.uid);
    if (first) next.set(p.uid, { state: p.state, kind: null, at: -Infinity });
    else if (!was) next.set(p.uid, { state: p.state, kind: "new", at: now });
    else if (p.state === "zombie" && was.state !== "zombie") {
      next.set(p.uid, { state: p.state, kind: "ended", at: now });
    } else if (was.state !== p.state) next.set(p.uid, { ...was, state: p.state });
    else next.set(p.uid, was);
  }
  return next;
}

/** {recent: Map uid -> "new"|"ended", until: when the first of them stops
 *  being recent (ms, or null)} at *now*. */
export function recentAt(changes, now, recentMs = RECENT_MS) {
  const recent = new Map();
  let until = null;
  if (!changes) return { recent, until };
  for (const [uid, c] of changes) {
    if (!c.kind || !(now - c.at < recentMs)) continue;
    recent.set(uid, c.kind);
    const end = c.at + recentMs;
    if (until === null || end < until) until = end;
  }
  return { recent, until };
}

// -- geometry ---------------------------------------------------------------------------------

/** Text and spacing of boxes of *lines* lines at font size *fs* (tree units). */
function metrics(fs, lines) {
  const lh = fs * 1.22;
  const pad = fs * 0.36;
  return { fs, lh, pad, lines, H: pad * 2.6 + lh * lines, nodeW: fs * NODE_EM, gap: fs * 1.2,
    // wider before the client column: the TCP links there are the story
    tcpGap: fs * 2.4,
    rowGap: fs * 0.45, margin: fs * 0.4, lane: fs * 1.1, indent: 0 };
}

/** The outline's boxes: two lines, a little more padding (a box is a finger's
 *  target: 45 px high at a 13 px pid), a step of 1.1 em per depth. */
function outlineMetrics(fs) {
  const pad = fs * 0.4;
  const lh = fs * 1.22;
  return { ...metrics(fs, 2), pad, H: pad * 2.6 + lh * 2, nodeW: fs * OUTLINE_NODE_EM,
    tcpGap: fs * 1.4, rowGap: fs * 0.4, lane: fs * 0.9, indent: fs * 1.1 };
}

/** The left edge of column *col*. */
function colX(arr, m, col) {
  const wide = arr.clientCol !== null && col >= arr.clientCol ? m.tcpGap - m.gap : 0;
  return m.margin + col * (m.nodeW + m.gap) + wide;
}

/** The outline's client column: right of the deepest box of the tree beside it. */
function outlineClientX(arr, m) {
  return m.margin + arr.maxDepth * m.indent + m.nodeW + m.tcpGap;
}

/** The tree's size in tree units, the bus's lane and spine, for an arrangement. */
function extent(arr, m) {
  const cols = arr.cols;
  const rows = Math.max(1, arr.rows + (arr.toggleRows ?? 0));
  const bottom = m.margin + rows * (m.H + m.rowGap) - m.rowGap;
  if (arr.outline) {
    const bus = arr.clientCol !== null;
    const right = bus ? outlineClientX(arr, m) + m.nodeW : m.margin + arr.maxDepth * m.indent + m.nodeW;
    return { treeW: right + (bus ? m.lane : 0) + m.margin, treeH: bottom + m.margin, busY: bottom,
      spineX: right + m.lane * 0.55 };
  }
  const right = colX(arr, m, cols) - m.gap;
  const bus = arr.clientCol !== null;
  return {
    treeW: right + (bus ? m.lane : 0) + m.margin,
    treeH: bottom + (bus ? m.lane : 0) + m.margin,
    busY: bottom + m.lane * 0.55,
    spineX: right + m.lane * 0.55,
  };
}

// -- the hierarchy, sets of siblings, pins ------------------------------------------------------

function prepare({ live, selectedUid, recent }) {
  const rows = treeRows(live);
  const info = new Map();
  for (const r of rows) info.set(r.id, { ...r, kids: [], pin: NORMAL, num: nameNumber(r.proc) });
  // One sort of everything: every later order is by this rank (arrange() runs
  // a dozen times per layout, 600 processes each).
  [...info.values()].sort(compareRows).forEach((n, i) => { n.ord = i; });
  let root = null;
  for (const n of info.values()) {
    if (n.parentId === null) root = n;
    else info.get(n.parentId).kids.push(n);
  }
  for (const n of info.values()) n.kids.sort(byOrd);
  const byPid = new Map();
  for (const n of info.values()) if (n.proc.pid) byPid.set(n.proc.pid, n);
  // The client column: clients the dashboard forked (all of them, in the lab).
  const isClientCol = (n) => n.parentId === root.id && n.proc.role === "client" && !n.kids.length;
  for (const n of info.values()) n.clientCol = n.parentId !== null && isClientCol(n);
  const partner = (n) => byPid.get(n.proc.role === "client" ? n.proc.worker_pid : n.proc.client_pid);

  for (const n of info.values()) {
    if (n.id === selectedUid) n.pin = SELECTED;
    else if (recent.get(n.id) === "ended") n.pin = ENDED;
    else if (n.proc.state === "zombie" || n.orphan) n.pin = NOTABLE;
    else if (recent.has(n.id)) n.pin = NEW;
  }
  const selected = info.get(selectedUid);
  const mate = selected && partner(selected);
  if (mate) mate.pin = SELECTED;   // a TCP link is drawn between two boxes, or not at all

  // Sets of siblings that may fold: leaves of one parent and one role.
  const sets = new Map();
  for (const n of info.values()) {
    if (n.parentId === null || n.kids.length) continue;
    const id = `group:${n.parentId}:${n.proc.role ?? "unknown"}`;
    if (!sets.has(id)) {
      sets.set(id, { id, parentId: n.parentId, role: n.proc.role ?? "unknown",
        clientCol: n.clientCol, members: [], counts: new Array(LEVELS).fill(0) });
    }
    const set = sets.get(id);
    set.members.push(n);
    n.setId = id;
  }
  for (const set of sets.values()) {
    set.members.sort(byOrd);
    // rank[level]: each member's place among those that may fold at that level
    set.rank = Array.from({ length: LEVELS }, () => new Map());
    for (const m of set.members) {
      for (let l = m.pin; l < LEVELS; l += 1) {
        set.rank[l].set(m.id, set.counts[l]);
        set.counts[l] += 1;
      }
    }
  }
  return { info, root, byPid, sets, partner };
}

/**
 * Rows and columns of every box, given which sets are folded and how (*fold*:
 * set id -> {level, keep}: a member is in the group when its pin is at most
 * the level and it is not among the first *keep* that may fold, which stay
 * out, in order, before the group). Returns {items, itemOf, rows, cols,
 * clientCol, outline, maxDepth}. In an *outline* a parent takes a row of its
 * own above its children (col is then the depth, the indent); in the columns
 * it sits on the row of its first child.
 */
function arrange(ctx, fold, outline = false) {
  const { info, root, sets, byPid } = ctx;
  const items = [];
  const itemOf = new Map();          // uid -> the item that shows it
  const folded = (n) => {
    const set = n.setId && sets.get(n.setId);
    if (!set) return null;
    const f = fold.get(set.id);
    if (!f || f.level < n.pin || set.members.length < MIN_GROUP) return null;
    return set.rank[f.level].get(n.id) >= f.keep && set.counts[f.level] - f.keep >= 2 ? set : null;
  };
  const single = (n, parent) => {
    const item = { kind: "node", id: n.id, n, parent };
    items.push(item);
    itemOf.set(n.id, item);
    return item;
  };
  const group = (id, set, parent, extra = {}) => {
    const item = { kind: "group", id, set, parent, members: [], ...extra };
    items.push(item);
    return item;
  };

  // A group that ended up with one member (the others pinned) is just that member.
  const lonely = (item, parent) => {
    if (item.kind !== "group" || item.members.length >= 2) return item;
    item.dead = true;
    return single(item.members[0], parent);
  };

  // The tree without the client column: a parent on the row of its first child.
  let nextRow = 0;
  let maxCol = 0;
  const place = (item, depth) => {
    item.depth = depth;
    item.col = depth;
    maxCol = Math.max(maxCol, depth);
    if (outline) item.row = nextRow++;
    const kids = [];
    if (item.kind === "node") {
      const groups = new Map();
      for (const c of item.n.kids) {
        if (c.clientCol) continue;
        const set = folded(c);
        if (!set) {
          kids.push(single(c, item));
          continue;
        }
        let g = groups.get(set.id);
        if (!g) {
          g = group(set.id, set, item);
          groups.set(set.id, g);
          kids.push(g);
        }
        g.members.push(c);
        itemOf.set(c.id, g);
      }
    }
    item.kids = kids.map((k) => lonely(k, item));
    for (const k of item.kids) place(k, depth + 1);
    if (!outline) item.row = kids.length ? kids[0].row : nextRow++;
  };
  place(single(root, null), 0);

  // The client column, right of the deepest column (and of the workers' column,
  // kept even before the first worker, so the first connection moves nothing).
  const clients = root.kids.filter((c) => c.clientCol);
  const hasServer = root.kids.some((c) => c.proc.role === "server");
  let clientCol = null;
  if (clients.length || hasServer) clientCol = Math.max(3, maxCol + 1);
  const taken = new Set();
  const later = [];
  const rootItem = itemOf.get(root.id);
  // Clients whose worker is folded fold beside it, in a group of their own.
  const partnerGroups = new Map();    // worker group item -> client group item
  const rest = [];
  for (const c of clients) {
    const w = byPid.get(c.proc.worker_pid);
    const wItem = w && itemOf.get(w.id);
    if (wItem && wItem.kind === "group" && c.pin <= (fold.get(wItem.set.id)?.level ?? -1)) {
      let g = partnerGroups.get(wItem);
      if (!g) {
        g = { id: `${wItem.id}>client`, members: [], beside: wItem };
        partnerGroups.set(wItem, g);
      }
      g.members.push(c);
    } else rest.push(c);
  }
  const clientItems = [];
  for (const pg of partnerGroups.values()) {
    if (pg.members.length < 2) {
      rest.push(...pg.members);
      continue;
    }
    const set = sets.get(`group:${root.id}:client`);
    const g = group(pg.id, set, rootItem, { expandId: pg.beside.id, beside: pg.beside });
    g.members = pg.members;
    for (const c of pg.members) itemOf.set(c.id, g);
    clientItems.push(g);
  }
  rest.sort(byOrd);
  const restGroups = new Map();
  // A client beside its (single) worker costs no row: only those that need a
  // row of their own (not connected yet, or their worker gone) may fold.
  const besideWorker = (c) => {
    const w = byPid.get(c.proc.worker_pid);
    const wItem = w && itemOf.get(w.id);
    return Boolean(wItem && wItem.kind === "node" && w.proc.role === "worker");
  };
  for (const c of rest) {
    const set = besideWorker(c) ? null : folded(c);
    if (!set) {
      clientItems.push(single(c, rootItem));
      continue;
    }
    let g = restGroups.get(set.id);
    if (!g) {
      g = group(set.id, set, rootItem);
      restGroups.set(set.id, g);
      clientItems.push(g);
    }
    g.members.push(c);
    itemOf.set(c.id, g);
  }
  for (const [i, item] of clientItems.entries()) clientItems[i] = lonely(item, rootItem);
  for (const item of clientItems) {
    item.depth = 1;
    item.col = clientCol;
    item.kids = [];
    let row = null;
    if (item.beside) row = item.beside.row;
    else if (item.kind === "node") {
      const w = byPid.get(item.n.proc.worker_pid);
      const wItem = w && itemOf.get(w.id);
      if (wItem && wItem.kind === "node" && w.proc.role === "worker") row = wItem.row;
    }
    if (row === null || taken.has(row)) later.push(item);
    else {
      item.row = row;
      taken.add(row);
    }
  }
  for (const item of later) item.row = nextRow++;
  const alive = items.filter((item) => !item.dead);
  // A group keeps its members in sibling order, so its title and counts are stable.
  for (const item of alive) if (item.kind === "group") item.members.sort(byOrd);
  const cols = clientCol === null ? maxCol + 1 : clientCol + 1;
  return { items: alive, itemOf, rows: nextRow, cols, clientCol, outline, maxDepth: maxCol };
}

/** Which sets to fold so the tree fits at the legible minimum (or as near as
 *  width allows): the largest family first, each level of pins in turn; then
 *  as many of each folded family's first members back out as the room holds.
 *  *arrange*: the columns or the outline. */
function chooseFolds(ctx, fits, expanded, maxRows, arrange) {
  const fold = new Map();
  const wanted = new Set();   // expanded by the user, though they would have folded
  let arr = arrange(ctx, fold);
  if (fits(arr)) return { fold, arr, wanted };
  const done = () => {
    // Fill the room: the first members of each family (in the order they
    // folded) stand out one by one, with their TCP partners, before the group.
    for (const [id, f] of fold) {
      let lo = 0;
      // each member kept out takes a row of its own: no more than there are rows
      let hi = Math.min(ctx.sets.get(id).counts[f.level] - 2, maxRows);
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        fold.set(id, { ...f, keep: mid });
        if (fits(arrange(ctx, fold))) lo = mid;
        else hi = mid - 1;
      }
      fold.set(id, { ...f, keep: lo });
    }
    return { fold, arr: arrange(ctx, fold), wanted };
  };
  for (let level = NORMAL; level <= ENDED; level += 1) {
    const candidates = [...ctx.sets.values()]
      .filter((s) => s.members.length >= MIN_GROUP && s.counts[level] >= 2
        && (fold.get(s.id)?.level ?? -1) < level)
      // clients beside folded workers fold with them: fold the workers first
      .sort((a, b) => (a.clientCol - b.clientCol) || (b.counts[level] - a.counts[level])
        || (a.id < b.id ? -1 : 1));
    for (const set of candidates) {
      if (expanded.has(set.id)) {
        wanted.add(set.id);
        continue;
      }
      fold.set(set.id, { level, keep: 0 });
      arr = arrange(ctx, fold);
      if (fits(arr)) return done();
    }
  }
  return { fold, arr, wanted };
}

/**
 * The layout of the tree.
 *
 * In: *live*, the processes not yet joined (model.live()); *selectedUid*;
 * *width* × *height*, the panel in CSS px; *fontSize*, the root font size in
 * px (the boxes' type, in tree units); *minLabelPx*, the smallest pid text the
 * room can read, in CSS px; *changes* (trackChanges()) and *now*, for what is
 * recent; *expanded*, the ids of groups the user opened; *screens*, how many
 * panels tall the tree may be drawn before it folds (1: it fits the panel;
 * more: the panel scrolls, and a tree is drawn no smaller than the legible
 * minimum to fit the first one).
 *
 * Out: {nodes, groups, toggles, links, tcp, orphans, order, recentUntil, geometry}:
 * - nodes: single processes {id (uid), proc, orphan, selected, recent
 *   ("new"|"ended"|null), depth, col, row, parent (node, group or null), x, y},
 *   (x, y) the top left corner of its box in tree units, parents first;
 * - groups: folded siblings {id, expandId (the id expand() takes), parent,
 *   parentProc, role, members (procs, sibling order), count, states ({state:
 *   n}), x, y, col, row, depth};
 * - toggles: opened groups that would fold, {id, parent, role, count, x, y}:
 *   drawn under their parent to fold them again;
 * - links: {source, target, kind: "tree"|"bus"}, one per node and group with
 *   a parent ("bus": a client's, round the outside to the dashboard);
 * - tcp: open client ⇄ worker connections, {client, worker, count}: two
 *   single nodes (count 1), or a node or group and a group (count: connections);
 * - orphans: the Set of uids drawn (or folded) as orphans;
 * - order: ids of nodes and groups in reading order (row by row, left to right);
 * - recentUntil: when the first highlight ends (same clock as *now*), or null;
 * - geometry: arrangement ("columns", or "outline" when the panel is too
 *   narrow for them at the legible minimum: x = margin + col × indent, the
 *   clients right of the deepest box; every box nodeW wide, widened to the
 *   panel), scale (fits the tree in the panel, ≤ 1.5), minScale (the
 *   legible minimum), legible (scale ≥ minScale), nodeW × H (a box), lines (3
 *   or 4 per box; 2 in the outline), fs, lh, pad, gap, tcpGap (before the
 *   clients), rowGap, indent, treeW × treeH (tree units), busY, spineX (the
 *   clients' parent line), width, room (the panel's height), height (the
 *   tree's, drawn: more than room when the panel scrolls).
 */
export function layoutTree({ live, selectedUid = null, width, height, fontSize,
  minLabelPx = DEFAULT_MIN_LABEL_PX, changes = null, now = 0, recentMs = RECENT_MS,
  expanded = new Set(), screens = 1 }) {
  const { recent, until } = recentAt(changes, now, recentMs);
  const rows = treeRows(live);
  const orphans = new Set(rows.filter((r) => r.orphan).map((r) => r.id));
  const empty = (fs) => ({ nodes: [], groups: [], toggles: [], links: [], tcp: [], orphans,
    order: [], recentUntil: null,
    geometry: { ...metrics(fs, 4), scale: 1, minScale: 1, legible: true, treeW: 0, treeH: 0,
      width, room: height, height } });
  if (!rows.length || !width || !height) return empty(fontSize);

  const ctx = prepare({ live, selectedUid, recent });
  const minScale = minLabelPx / fontSize;
  // The tallest the tree may be drawn: the panel, or more panels if it scrolls.
  const room = height * Math.max(1, screens);
  const scaleOf = (arr, m) => {
    const e = extent(arr, m);
    return { e, sW: width / e.treeW, sH: height / e.treeH, sRoom: room / e.treeH };
  };
  // Fits: tall enough at the legible minimum, or at what the width allows if
  // that is less (folding saves rows, never columns).
  const fitsWith = (m) => (arr) => {
    const { sW, sRoom } = scaleOf(arr, m);
    return sRoom >= Math.min(minScale, sW) - 1e-9;
  };
  const four = metrics(fontSize, 4);
  const three = metrics(fontSize, 3);
  // The outline when the columns, at the panel's full width, would draw the
  // pids below the legible minimum (folding saves rows, never columns).
  const narrow = width / extent(arrange(ctx, new Map()), four).treeW < minScale - 1e-9;
  const maxRowsAt = (arr, mm) => {
    // the most rows the room holds at the scale it must keep
    const keepScale = Math.min(minScale, scaleOf(arr, mm).sW);
    return Math.ceil(room / (keepScale * (mm.H + mm.rowGap)));
  };
  let m;
  let chosen;
  if (narrow) {
    m = outlineMetrics(fontSize);
    const arrangeOutline = (c, fold) => arrange(c, fold, true);
    chosen = { fold: new Map(), arr: arrangeOutline(ctx, new Map()), wanted: new Set() };
    if (!fitsWith(m)(chosen.arr)) {
      chosen = chooseFolds(ctx, fitsWith(m), expanded, maxRowsAt(chosen.arr, m), arrangeOutline);
    }
  } else {
    // Four lines per box if the whole tree fits so; else three (the connection
    // line goes) before folding anything; four again if the folded tree fits so.
    m = four;
    chosen = { fold: new Map(), arr: arrange(ctx, new Map()), wanted: new Set() };
    if (!fitsWith(four)(chosen.arr)) {
      m = three;
      chosen = chooseFolds(ctx, fitsWith(three), expanded, maxRowsAt(chosen.arr, three), arrange);
      if (fitsWith(four)(chosen.arr)) m = four;
    }
  }
  const { arr, wanted } = chosen;
  // an outline's handles to fold opened groups again take rows of their own, at the end
  if (arr.outline) arr.toggleRows = wanted.size;
  const { sW, sH, sRoom } = scaleOf(arr, m);
  let { e } = scaleOf(arr, m);
  // As large as fits the panel; in a panel that scrolls, a tree that would be
  // drawn below the legible minimum to fit it is drawn at that minimum (and
  // scrolls) instead, if it fits the room so.
  const scale = Math.min(MAX_SCALE, sW, Math.max(sH, Math.min(minScale, sRoom)));
  if (arr.outline) {
    // the outline takes the panel's whole width: its boxes widen to it
    const spare = width / scale - e.treeW;
    m = { ...m, nodeW: m.nodeW + spare / (arr.clientCol === null ? 1 : 2) };
    e = extent(arr, m);
  }

  const clientX = arr.outline ? outlineClientX(arr, m) : 0;
  const pos = (item) => {
    if (!arr.outline) item.x = colX(arr, m, item.col);
    else if (item.col === arr.clientCol) item.x = clientX;
    else item.x = m.margin + item.col * m.indent;
    item.y = m.margin + item.row * (m.H + m.rowGap);
  };
  const out = new Map();
  const nodes = [];
  const groups = [];
  for (const item of arr.items) {
    pos(item);
    if (item.kind === "node") {
      const n = item.n;
      out.set(item, { id: n.id, proc: n.proc, orphan: n.orphan, selected: n.id === selectedUid,
        recent: recent.get(n.id) ?? null, depth: item.depth, col: item.col, row: item.row,
        parent: null, x: item.x, y: item.y });
    } else {
      const states = {};
      for (const s of STATE_ORDER) {
        const k = item.members.filter((p) => p.proc.state === s).length;
        if (k) states[s] = k;
      }
      const parentN = item.parent.n;
      out.set(item, { id: item.id, expandId: item.expandId ?? item.id, role: item.set.role,
        parentProc: parentN.proc, members: item.members.map((p) => p.proc),
        count: item.members.length, states, depth: item.depth, col: item.col, row: item.row,
        parent: null, x: item.x, y: item.y });
    }
  }
  for (const item of arr.items) {
    const d = out.get(item);
    d.parent = item.parent ? out.get(item.parent) : null;
    (item.kind === "node" ? nodes : groups).push(d);
  }
  const links = [];
  for (const item of arr.items) {
    if (!item.parent) continue;
    links.push({ source: out.get(item.parent), target: out.get(item),
      kind: item.col === arr.clientCol && item.parent.n.id === ctx.root.id ? "bus" : "tree" });
  }

  // Opened groups that would fold: a handle under their parent folds them again.
  const toggles = [];
  const under = new Map();
  for (const id of [...wanted].sort()) {
    const set = ctx.sets.get(id);
    const parentItem = arr.itemOf.get(set.parentId);
    if (!parentItem) continue;
    const k = (under.get(parentItem) ?? 0) + 1;
    under.set(parentItem, k);
    // under the parent in the columns (their rows are the deepest column's);
    // in the outline every row is taken: after the last one
    const y = arr.outline ? m.margin + (arr.rows + toggles.length) * (m.H + m.rowGap)
      : parentItem.y + k * (m.H + m.rowGap);
    toggles.push({ id, role: set.role, count: set.members.length, parent: out.get(parentItem),
      x: parentItem.x, y });
  }

  const order = [...arr.items].sort((a, b) => (a.row - b.row) || (a.col - b.col))
    .map((item) => item.id);
  return {
    nodes, groups, toggles, links, tcp: tcpLinks(ctx, arr, out), orphans, order,
    recentUntil: until,
    geometry: { ...m, arrangement: arr.outline ? "outline" : "columns", scale, minScale,
      legible: scale >= minScale - 1e-9, treeW: e.treeW,
      treeH: e.treeH, busY: e.busY, spineX: e.spineX, width, room: height,
      height: e.treeH * scale },
  };
}

/** Client ⇄ worker connections still open (an exited worker holds no socket),
 *  between the boxes that show them: one per connection between two single
 *  nodes, one per pair of boxes when either is a group. */
function tcpLinks(ctx, arr, out) {
  const tcp = [];
  const bundles = new Map();
  const clients = [...ctx.info.values()].filter((n) => n.proc.role === "client").sort(byOrd);
  for (const client of clients) {
    const p = client.proc;
    if (p.role !== "client" || !p.worker_pid || p.connection === "closed") continue;
    const worker = ctx.byPid.get(p.worker_pid);
    if (!worker || worker.proc.role !== "worker" || worker.proc.state !== "running"
        || worker.proc.connection === "closed") continue;
    const ci = arr.itemOf.get(client.id);
    const wi = arr.itemOf.get(worker.id);
    if (!ci || !wi) continue;
    if (ci.kind === "node" && wi.kind === "node") {
      tcp.push({ client: out.get(ci), worker: out.get(wi), count: 1 });
      continue;
    }
    const key = `${ci.id}|${wi.id}`;
    if (!bundles.has(key)) {
      const link = { client: out.get(ci), worker: out.get(wi), count: 0 };
      bundles.set(key, link);
      tcp.push(link);
    }
    bundles.get(key).count += 1;
  }
  return tcp;
}

// Where every box of the process tree goes: a pure function from the live
// processes and the room they have to positions. No DOM, no d3 selection:
// tree.js draws what this returns; tests call it with plain objects.
//
// The tree reads left to right: the dashboard at the root, the echo server
// under it, one worker per connection under the server, the clients under the
// dashboard. Parentage comes from ppid; a process whose parent is not live
// hangs under the dashboard, flagged as an orphan (so does one the model says
// was re-parented: `orphaned`). Nodes are keyed by uid, since a pid can be reused.
//
// Every layout decision lives here (order of siblings, box size, scale, which
// TCP connections are drawn), so that fitting a projector, grouping many
// siblings or zooming change this module and not the drawing.

import { max, min, stratify, tree as tidyTree } from "/static/vendor/d3.esm.min.js";

const ROLE_ORDER = { dashboard: 0, server: 1, client: 2, helper: 3, worker: 4 };
const MIN_SCALE = 0.8;
const MAX_SCALE = 1.5;
const MIN_NODE_EM = 13;
const MAX_NODE_EM = 17;
// Below this scale with four lines of text per box, try three (the connection
// line goes) rather than shrink the type.
const COMPACT_BELOW = 0.95;

function nameNumber(proc) {
  const m = /(\d+)$/.exec(proc.name ?? "");
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

// Siblings: not orphans first, then by role, then by the number in the name
// (client-2 before client-10), then by pid. Input order never matters.
function compareRows(a, b) {
  return (a.orphan - b.orphan)
    || ((ROLE_ORDER[a.proc.role] ?? 9) - (ROLE_ORDER[b.proc.role] ?? 9))
    || (nameNumber(a.proc) - nameNumber(b.proc))
    || ((a.proc.pid ?? 0) - (b.proc.pid ?? 0))
    || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Rows for d3.stratify: each process with the uid of its parent ({id,
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

/** Text and spacing of a box of *lines* lines at font size *fs* px. */
function metrics(fs, lines) {
  const lh = fs * 1.22;
  const pad = fs * 0.36;
  return { fs, lh, pad, lines, H: pad * 2.6 + lh * lines, gap: fs * 1.9, rowGap: fs * 0.4,
    margin: fs * 0.35 };
}

/** Scale and box width for boxes of *lines* lines; *spread* is the tidy
 *  tree's vertical extent, *depth* its deepest level. */
function plan(fs, lines, spread, depth, width, height) {
  const m = metrics(fs, lines);
  const cols = Math.max(3, depth + 1);
  const contentH = spread * (m.H + m.rowGap) + m.H + m.margin * 2;
  // Fill the panel: grow (up to MAX_SCALE) while few processes are shown,
  // shrink (down to MIN_SCALE, then scroll) when many are; but never so far
  // that a box gets narrower than MIN_NODE_EM.
  const fixedW = m.margin * 2 + m.gap * (cols - 1);
  const widest = width / (fixedW + cols * m.fs * MIN_NODE_EM);
  const scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, height / contentH, widest));
  const nodeW = Math.min(m.fs * MAX_NODE_EM, (width / scale - fixedW) / cols);
  return { ...m, scale, nodeW, width, room: height, height: Math.max(height, contentH * scale) };
}

/**
 * The layout of the tree.
 *
 * In: *live*, the processes not yet joined (model.live()); *selectedUid*;
 * *width* × *height*, the panel in CSS px; *fontSize*, the root font size in px.
 *
 * Out: {nodes, links, tcp, orphans, geometry}:
 * - nodes: {id (uid), proc, orphan, selected, depth, parent (node or null),
 *   x, y}, (x, y) the top left corner of its box in unscaled tree units,
 *   parents before children, siblings in drawing order;
 * - links: {source, target} nodes, one per child;
 * - tcp: {client, worker} nodes, one per open connection between two lab
 *   processes (paired by the client's worker_pid);
 * - orphans: the Set of uids drawn as orphans;
 * - geometry: scale (for the whole tree), nodeW × H (a box), lines (of text
 *   per box, 3 or 4), fs, lh, pad (text), gap (between columns), width and
 *   room (the panel), height (the tree's scaled height, at least the room's).
 */
export function layoutTree({ live, selectedUid = null, width, height, fontSize }) {
  const rows = treeRows(live);
  const orphans = new Set(rows.filter((r) => r.orphan).map((r) => r.id));
  if (!rows.length || !width) {
    return { nodes: [], links: [], tcp: [], orphans,
      geometry: { ...metrics(fontSize, 4), scale: 1, nodeW: 0, width, room: height, height } };
  }
  const hierarchy = stratify().id((r) => r.id).parentId((r) => r.parentId)(rows);
  hierarchy.sort((a, b) => compareRows(a.data, b.data));
  // Rows one unit apart: the tidy tree's shape does not depend on the box
  // height, so one pass serves both the four- and the three-line plan.
  tidyTree().nodeSize([1, 1]).separation(() => 1)(hierarchy);
  const all = hierarchy.descendants();
  const top = min(all, (d) => d.x);
  const spread = max(all, (d) => d.x) - top;
  const depth = max(all, (d) => d.depth);
  let g = plan(fontSize, 4, spread, depth, width, height);
  if (g.scale < COMPACT_BELOW) {
    const compact = plan(fontSize, 3, spread, depth, width, height);
    if (compact.scale > g.scale) g = compact;
  }
  const byHierarchy = new Map();
  const nodes = all.map((d) => {
    const node = {
      id: d.data.id, proc: d.data.proc, orphan: d.data.orphan, selected: d.data.id === selectedUid,
      depth: d.depth, parent: d.parent ? byHierarchy.get(d.parent) : null,
      x: g.margin + d.depth * (g.nodeW + g.gap), y: g.margin + (d.x - top) * (g.H + g.rowGap),
    };
    byHierarchy.set(d, node);
    return node;
  });
  const links = nodes.filter((n) => n.parent).map((n) => ({ source: n.parent, target: n }));
  return { nodes, links, tcp: tcpLinks(nodes), orphans, geometry: g };
}

/** Client ⇄ worker connections still open: an exited worker holds no socket. */
function tcpLinks(nodes) {
  const byPid = new Map();
  for (const n of nodes) if (n.proc.pid) byPid.set(n.proc.pid, n);
  const tcp = [];
  for (const client of nodes) {
    const p = client.proc;
    if (p.role !== "client" || !p.worker_pid || p.connection === "closed") continue;
    const worker = byPid.get(p.worker_pid);
    if (worker && worker.proc.role === "worker" && worker.proc.state === "running"
        && worker.proc.connection !== "closed") {
      tcp.push({ client, worker });
    }
  }
  return tcp;
}

// Where everything of the timeline goes: a pure function from the spans
// (spans.js) and the view (the time window, the room) to rows, segments,
// ticks and arrows in pixels. No DOM: timeline.js draws what this returns;
// tests call it with plain objects.
//
// One row (a lane) per process, in the tree's order: the dashboard, then
// each process's children under it, grouped by role (servers, clients,
// helpers, workers), oldest first. Two or more siblings of one role have a
// group row above them, which folds them into one lane (their lifespans
// drawn over each other, their ticks and arrows on it) — folded at first
// beyond AUTO_FOLD members, as the tree folds a crowd; `open` (group id →
// true/false) is the teacher's choice, kept by the view.
//
// Along a lane, its life: `created`, `running`, `zombie` segments (the
// tree's colours), a mark where it was joined, hatched spans while it
// waited at a gate (step mode), a tick per event (ticks closer than
// TICK_GAP px on one lane are one tick, with a count), and per echo an
// arrow from the client's lane to its worker's and back.

import { segmentsOf } from "./spans.js";

export const AUTO_FOLD = 8;
export const TICK_GAP = 4;
/** A role's place among siblings, as in the tree (tree-layout.js). */
const ROLE_ORDER = { dashboard: 0, server: 1, client: 2, helper: 3, worker: 4 };
const STATES = ["created", "running", "zombie"];

function byRoleThenAge(a, b) {
  return (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9) || a.seq - b.seq
    || (a.uid < b.uid ? -1 : 1);
}

/**
 * The rows, top to bottom, before any time is placed: [{id, kind: "lane" |
 * "group", depth, lane? (a lane row), role, members? (a group row: its
 * lanes), open? (a group row), parentUid}], and `rowOf` (uid → the index of
 * the row that shows it: its own, or its folded group's).
 */
export function timelineRows(lanes, { open = new Map(), autoFold = AUTO_FOLD } = {}) {
  const all = [...lanes.values()];
  const children = new Map();
  const roots = [];
  for (const lane of all) {
    if (lane.parent && lane.parent !== lane.uid && lanes.has(lane.parent)) {
      if (!children.has(lane.parent)) children.set(lane.parent, []);
      children.get(lane.parent).push(lane);
    } else {
      roots.push(lane);
    }
  }
  const rows = [];
  const rowOf = new Map();
  const seen = new Set();

  const visit = (lane, depth, hiddenIn = null) => {
    if (seen.has(lane.uid)) return;       // a cycle in bad data: draw each lane once
    seen.add(lane.uid);
    if (hiddenIn === null) {
      rowOf.set(lane.uid, rows.length);
      rows.push({ id: lane.uid, kind: "lane", depth, lane, role: lane.role, parentUid: lane.parent });
    } else {
      rowOf.set(lane.uid, hiddenIn);
    }
    const kids = (children.get(lane.uid) ?? []).sort(byRoleThenAge);
    const roles = [];
    for (const kid of kids) {
      if (!roles.length || roles.at(-1).role !== kid.role) roles.push({ role: kid.role, members: [] });
      roles.at(-1).members.push(kid);
    }
    for (const { role, members } of roles) {
      if (members.length < 2 || hiddenIn !== null) {
        for (const kid of members) visit(kid, depth + 1, hiddenIn);
        continue;
      }
      const id = `${lane.uid}>${role ?? "?"}`;
      const isOpen = open.get(id) ?? members.length <= autoFold;
      const at = rows.length;
      rows.push({ id, kind: "group", depth: depth + 1, role, members, open: isOpen, parentUid: lane.uid });
      for (const kid of members) visit(kid, depth + 1, isOpen ? null : at);
    }
  };
  for (const root of roots.sort(byRoleThenAge)) visit(root, 0);
  return { rows, rowOf };
}

/** Merge [from, to] intervals that touch: a folded group's members, drawn as one band. */
function union(intervals) {
  const sorted = intervals.filter((i) => i.to > i.from || i.to === i.from).sort((a, b) => a.from - b.from);
  const out = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last && i.from <= last.to) {
      last.to = Math.max(last.to, i.to);
      last.open = last.open || i.open;
      last.count += 1;
    } else {
      out.push({ ...i, count: 1 });
    }
  }
  return out;
}

/**
 * Lay the timeline out. *spans* is a Spans (its lanes and echoes); the view
 * shows the times [from, to] (seconds, the lab's clock) in the plot between
 * x = *x0* and x = *x1*; *now* is where open segments end (the live time, or
 * a recording's last event); rows are *rowHeight* px tall.
 * Returns {rows, segs, joins, gates, ticks, arrows, height, x (t → px)}.
 */
export function layoutTimeline({ spans, from, to, now, x0 = 0, x1 = 800, rowHeight = 22,
  open = new Map(), autoFold = AUTO_FOLD, tickGap = TICK_GAP }) {
  const { rows, rowOf } = timelineRows(spans.lanes, { open, autoFold });
  const span = Math.max(1e-6, to - from);
  const k = (x1 - x0) / span;
  const x = (t) => x0 + (t - from) * k;
  // Clip to a little beyond the plot: an off-screen end is drawn as an edge.
  const clip = (px) => Math.max(x0 - 2, Math.min(x1 + 2, px));
  const visible = (a, b) => b >= from && a <= to;

  const out = { rows: [], segs: [], joins: [], gates: [], ticks: [], arrows: [] };
  rows.forEach((row, i) => {
    const members = row.kind === "lane" ? [row.lane] : row.open ? [] : row.members;
    const states = {};
    for (const lane of members) states[lane.state] = (states[lane.state] ?? 0) + 1;
    const lane = row.lane ?? null;
    out.rows.push({
      i, id: row.id, kind: row.kind, depth: row.depth, role: row.role ?? null, y: i * rowHeight,
      uid: lane?.uid ?? null, pid: lane?.pid ?? null, name: lane?.name ?? null,
      state: lane?.state ?? null, orphaned: lane?.orphaned ?? false, exitcode: lane?.exitcode ?? null,
      count: row.members?.length ?? null, open: row.open ?? null, parentUid: row.parentUid ?? null,
      states: row.kind === "group" ? Object.fromEntries(
        Object.entries(countStates(row.members))) : states,
    });
    if (!members.length) return;
    // Segments: one lane's own; a folded group's, merged per state.
    const pieces = [];
    for (const m of members) {
      for (const seg of segmentsOf(m, now)) pieces.push({ ...seg, uid: m.uid });
    }
    const drawn = row.kind === "lane" ? pieces.map((p) => ({ ...p, count: 1 }))
      : STATES.flatMap((state) => union(pieces.filter((p) => p.state === state))
        .map((u) => ({ ...u, state, uid: null })));
    for (const seg of drawn) {
      if (!visible(seg.from, seg.to)) continue;
      out.segs.push({ row: i, uid: seg.uid, state: seg.state, x0: clip(x(seg.from)),
        x1: clip(x(seg.to)), open: seg.open, count: seg.count });
    }
    for (const m of members) {
      if (m.joinedAt !== null && visible(m.joinedAt, m.joinedAt)) {
        out.joins.push({ row: i, uid: m.uid, x: x(m.joinedAt), approx: m.joinedApprox });
      }
      for (const g of m.gates) {
        const end = g.to ?? now;
        if (!visible(g.from, end)) continue;
        out.gates.push({ row: i, uid: m.uid, gate: g.gate, seq: g.seq, x0: clip(x(g.from)),
          x1: clip(x(end)), open: g.to === null });
      }
    }
    // Ticks: one per TICK_GAP px of a row (the newest event there, and how many).
    const buckets = new Map();
    for (const m of members) {
      const ticks = m.ticks;
      for (let j = firstFrom(ticks, from); j < ticks.length && ticks[j].t <= to + SLACK_S; j += 1) {
        const tick = ticks[j];
        if (tick.t < from || tick.t > to) continue;
        const px = x(tick.t);
        const key = Math.round(px / tickGap);
        const had = buckets.get(key);
        if (!had) buckets.set(key, { row: i, x: px, seq: tick.seq, type: tick.type, count: 1 });
        else {
          had.count += 1;
          if (tick.seq > had.seq) Object.assign(had, { seq: tick.seq, type: tick.type, x: px });
        }
      }
    }
    out.ticks.push(...buckets.values());
  });

  // Echoes: client → worker at the send, worker → client at the reply; arrows
  // between the same two rows closer than TICK_GAP px are one, with a count.
  const arrows = new Map();
  const echoes = spans.echoes;
  for (let j = firstFrom(echoes, from); j < echoes.length && echoes[j].t <= to + SLACK_S + spans.maxRtt; j += 1) {
    const e = echoes[j];
    if (e.t < from || e.t - e.rtt > to) continue;
    const a = rowOf.get(e.client);
    const b = rowOf.get(e.worker);
    if (a === undefined || b === undefined || a === b) continue;
    const back = x(e.t);
    const key = `${a}:${b}:${Math.round(back / tickGap)}`;
    const had = arrows.get(key);
    if (had) {
      had.count += 1;
      continue;
    }
    arrows.set(key, { seq: e.seq, client: a, worker: b, xSend: x(e.t - e.rtt), xMid: x(e.t - e.rtt / 2),
      xBack: back, count: 1 });
  }
  out.arrows = [...arrows.values()];
  out.height = rows.length * rowHeight;
  out.x = x;
  out.k = k;
  return out;
}

/** Events come in seq order with `t`s a little out of order (processes
 * report in parallel): a list searched by t is taken to be sorted within
 * SLACK_S seconds. */
const SLACK_S = 1;

/** The index of the first item of *list* (in seq order) that may have t >= *from*. */
function firstFrom(list, from) {
  let lo = 0;
  let hi = list.length;
  const target = from - SLACK_S;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].t < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countStates(lanes) {
  const states = {};
  for (const lane of lanes) states[lane.state] = (states[lane.state] ?? 0) + 1;
  return states;
}

/** The time at pixel *px* of a layout's plot: the inverse of its x. */
export function timeAt(px, { from, to, x0 = 0, x1 = 800 }) {
  return from + ((px - x0) / Math.max(1e-6, x1 - x0)) * (to - from);
}

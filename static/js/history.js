// The page's memory of what happened: a snapshot, the events after it, and
// the process table as it was at any seq in between — rebuilt with the one
// model (model.js), never guessed. Time travel (timetravel.js) and /replay
// (replay.js) read the past from here.
//
// Rebuilding at seq S from the snapshot would apply up to S events; a
// checkpoint (a copy of the model) every CHECKPOINT_EVERY events bounds that
// to CHECKPOINT_EVERY - 1 events and one copy, a few milliseconds for 200
// processes (bench/scrub.py). A scrub forward from the last rebuild goes on
// from it, without a copy.
//
// The live page feeds it what Sync applied: start(snapshot) on every
// snapshot, push(event, model) after each event, the model as it is after
// that event (its copy is the checkpoint). A later snapshot after a gap (a
// resync) is a checkpoint too: the seqs before it that the page never got
// are a hole, and a rebuild inside a hole stops at its edge (`reached` says
// where). A snapshot older than what is kept (the dashboard restarted, its
// seq began again) starts the history afresh.
//
// Events the page only listed (the log's older history, fetched after the
// snapshot: Sync.fetchHistory) are kept too, for the log; the past cannot
// be rebuilt before the first snapshot.

import { Model, OutOfSync } from "./model.js";

export const CHECKPOINT_EVERY = 500;
/** Events kept at most; beyond, the oldest checkpoint's stretch is dropped. */
export const EVENTS_KEPT = 200_000;

/** A copy of *model* that shares nothing it could change: processes are
 * copied field by field (their address arrays are replaced, never changed,
 * by the model: sharing them is safe). */
export function cloneModel(model) {
  const copy = new Model();
  copy.seq = model.seq;
  copy.echo = { ...model.echo };
  copy.procs = new Map();
  for (const [uid, proc] of model.procs) copy.procs.set(uid, { ...proc });
  copy.byPid = new Map(model.byPid);
  copy.joined = [...model.joined];
  return copy;
}

/**
 * A model from a snapshot (GET /api/state), as Sync makes the live one.
 * *joined* (a recording's line 2) orders the reaped processes as they were
 * reaped, as the server's reader restores them (app/model/session_file.py):
 * the ones it does not name first, in the snapshot's order.
 */
export function modelFrom(snapshot, joined = null) {
  const model = new Model();
  model.reset(snapshot);
  if (joined) {
    const rank = new Map(joined.map((uid, i) => [uid, i]));
    const reaped = snapshot.processes.filter((p) => p.state === "joined").map((p) => p.uid);
    model.joined = reaped.map((uid, i) => [rank.get(uid) ?? -1, i, uid])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , uid]) => uid);
  }
  return model;
}

export class History {
  constructor({ every = CHECKPOINT_EVERY, kept = EVENTS_KEPT } = {}) {
    this.every = every;
    this.kept = kept;
    this.clear();
  }

  clear() {
    this.events = new Map();     // seq -> event
    this.checkpoints = [];       // {seq, model}, seq ascending
    this.firstSeq = null;        // the first checkpoint's seq: nothing earlier can be rebuilt
    this.lastSeq = 0;            // the newest event (or snapshot) applied
    this.oldestSeq = null;       // the oldest event kept (listed, maybe not rebuildable)
    this.sinceCheckpoint = 0;
    this.cache = null;           // {model, reached}: the last rebuild, to go on from
    this.skipped = new Set();    // seqs the model refused (an `anomaly`): passed over
    this.version = 0;            // changes whenever what is kept changes
  }

  /** A snapshot: the start, or a checkpoint after a gap. *model* is the
   * model reset to it (copied), else one is made from *snapshot*. True when
   * it began the history afresh (another dashboard run): the past before it
   * is gone. */
  start(snapshot, model = null) {
    const again = this.firstSeq !== null && (snapshot.seq < this.lastSeq || this.otherRun(snapshot));
    if (again) this.clear();
    const copy = model ? cloneModel(model) : modelFrom(snapshot);
    if (this.firstSeq === null) this.firstSeq = snapshot.seq;
    this.addCheckpoint(snapshot.seq, copy);
    this.lastSeq = Math.max(this.lastSeq, snapshot.seq);
    this.version += 1;
    return again;
  }

  /** A snapshot of another dashboard run (restarted: another pid, its seq from 0 again). */
  otherRun(snapshot) {
    const was = this.checkpoints[0]?.model.dashboard()?.pid;
    const now = snapshot.processes.find((p) => p.role === "dashboard")?.pid;
    return was !== undefined && now !== undefined && was !== now;
  }

  addCheckpoint(seq, model) {
    const at = this.checkpoints.findIndex((c) => c.seq >= seq);
    if (at < 0) this.checkpoints.push({ seq, model });
    else if (this.checkpoints[at].seq === seq) this.checkpoints[at] = { seq, model };
    else this.checkpoints.splice(at, 0, { seq, model });
    this.sinceCheckpoint = 0;
    if (this.cache && this.cache.reached > seq) this.cache = null;
  }

  /** An event the live model has just applied; *model* is that model now. */
  push(event, model = null) {
    this.keep(event);
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    this.sinceCheckpoint += 1;
    if (model && this.sinceCheckpoint >= this.every) this.addCheckpoint(event.seq, cloneModel(model));
    this.trim();
  }

  /** Events listed but not applied here (older history): kept for the log. */
  remember(events) {
    for (const event of events) this.keep(event);
  }

  keep(event) {
    if (this.events.has(event.seq)) return;
    this.events.set(event.seq, event);
    if (this.oldestSeq === null || event.seq < this.oldestSeq) this.oldestSeq = event.seq;
    this.version += 1;
  }

  /**
   * A whole recording at once (/replay): the snapshot, then every event
   * applied here in order, a checkpoint every `every` events. Returns the
   * model at the end. *joined* is the file's reaping order, when it has one.
   */
  load(snapshot, events, joined = null) {
    this.clear();
    const model = modelFrom(snapshot, joined);
    this.start(snapshot, model);
    for (const event of events) {
      this.applyTo(model, event);
      this.push(event, model);
    }
    return model;
  }

  /**
   * What happened before this page's first snapshot, from a recording of
   * the session (/api/export.jsonl): its snapshot and events up to that
   * snapshot's seq are rebuilt here, with their checkpoints, so the past
   * reaches back to the session's start. False (nothing changed) when the
   * recording does not join up with what is kept.
   */
  prepend({ snapshot, events, joined = null }) {
    const first = this.firstSeq;
    if (first === null || snapshot.seq > first) return false;
    const older = events.filter((e) => e.seq <= first);
    if ((older.at(-1)?.seq ?? snapshot.seq) !== first) return false;     // it must reach us
    const model = modelFrom(snapshot, joined);
    const checkpoints = [{ seq: snapshot.seq, model: cloneModel(model) }];
    let since = 0;
    for (const event of older) {
      this.applyTo(model, event);
      this.keep(event);
      since += 1;
      if (since >= this.every && event.seq < first) {
        checkpoints.push({ seq: event.seq, model: cloneModel(model) });
        since = 0;
      }
    }
    this.checkpoints = [...checkpoints, ...this.checkpoints.filter((c) => c.seq >= first)];
    this.firstSeq = snapshot.seq;
    this.version += 1;
    return true;
  }

  /** Apply *event* to *model*; an event the model refuses (the registry
   * flagged it: `anomaly`) is passed over and remembered as skipped. */
  applyTo(model, event) {
    try {
      model.apply(event);
    } catch (error) {
      if (!(error instanceof OutOfSync)) throw error;
      this.skipped.add(event.seq);
      model.seq = event.seq;
    }
  }

  /** Drop the oldest checkpoint's stretch while more than `kept` events are kept. */
  trim() {
    while (this.events.size > this.kept && this.checkpoints.length > 1) {
      const next = this.checkpoints[1].seq;
      this.checkpoints.shift();
      for (let seq = this.oldestSeq; seq <= next; seq += 1) this.events.delete(seq);
      this.firstSeq = next;
      this.oldestSeq = next + 1;
      if (this.cache && this.cache.reached < next) this.cache = null;
    }
  }

  // -- reading the past ---------------------------------------------------------------
  event(seq) {
    return this.events.get(seq) ?? null;
  }

  /** The seqs the past can be rebuilt at: [firstSeq, lastSeq], or null. */
  range() {
    return this.firstSeq === null ? null : { first: this.firstSeq, last: this.lastSeq };
  }

  /**
   * The model as it was at *seq* (clamped to the range): {model, reached},
   * reached being the seq it really shows (below *seq* only inside a hole).
   * The model is the history's own: read it, do not change it.
   */
  at(seq) {
    if (this.firstSeq === null) return null;
    const target = Math.max(this.firstSeq, Math.min(this.lastSeq, seq));
    const c = this.checkpointAt(target);
    let model;
    let reached;
    const cache = this.cache;
    if (cache && cache.reached === cache.target && c.seq <= cache.reached && cache.reached <= target) {
      ({ model, reached } = cache);          // go on from the last rebuild
    } else {
      model = cloneModel(c.model);
      reached = c.seq;
    }
    while (reached < target) {
      const event = this.events.get(reached + 1);
      if (!event) break;                     // a hole: the page never got these
      this.applyTo(model, event);
      reached += 1;
    }
    this.cache = { model, reached, target };
    return { model, reached };
  }

  checkpointAt(seq) {
    let lo = 0;
    let hi = this.checkpoints.length - 1;
    while (lo < hi) {                         // the last checkpoint with c.seq <= seq
      const mid = (lo + hi + 1) >> 1;
      if (this.checkpoints[mid].seq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return this.checkpoints[lo];
  }

  /** Up to *count* events kept with seq <= *seq*, oldest first. */
  eventsUpTo(seq, count = Infinity) {
    const out = [];
    if (this.oldestSeq === null) return out;
    for (let s = Math.min(seq, this.lastSeq); s >= this.oldestSeq && out.length < count; s -= 1) {
      const event = this.events.get(s);
      if (event) out.push(event);
    }
    return out.reverse();
  }

  /**
   * The last seq whose event happened at or before *t* (seconds, the lab's
   * clock), within the range: where a scrub to that moment lands. Events
   * come in seq order from several processes, their `t`s a little out of
   * order; the answer is the last event of the run up to *t*.
   */
  seqAtTime(t) {
    if (this.firstSeq === null) return null;
    let seq = this.firstSeq;
    // Walk the kept events by seq: binary search over seq with the event's t
    // (the rare out-of-order t moves the answer by an event or two at most).
    let lo = this.firstSeq + 1;
    let hi = this.lastSeq;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const event = this.nearestEvent(mid);
      if (event && event.t <= t) {
        seq = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return seq;
  }

  /** The event at *seq*, else the nearest earlier one kept. */
  nearestEvent(seq) {
    for (let s = seq; s > (this.oldestSeq ?? seq) - 1; s -= 1) {
      const event = this.events.get(s);
      if (event) return event;
    }
    return null;
  }
}

// What the live page (main.js) and the replay page (replay.js) share around
// the timeline: whether it is open (kept in this browser), an event's words
// for a tick, and the lab's clock as the page can know it.

import { eventSummary } from "./format.js";
import { fetchSession } from "./session-file.js";
import { Spans } from "./spans.js";

const OPEN_KEY = "forkscope.timeline.open";

/** Whether the timeline was left open in this browser, else *fallback*. */
export function timelineOpen(fallback) {
  try {
    const kept = localStorage.getItem(OPEN_KEY);
    return kept === null ? fallback : kept === "true";
  } catch {
    return fallback;          // storage refused (a private window): the default
  }
}

export function rememberTimelineOpen(open) {
  try {
    localStorage.setItem(OPEN_KEY, String(open));
  } catch {
    // nothing to keep it in: it opens as the page chooses next time
  }
}

/** (seq) => the event's narration, as the log words it; "" if it is not kept. */
export function narrator(history, lookup) {
  return (seq) => {
    const event = history.event(seq);
    return event ? `#${seq} · ${eventSummary(event, lookup)}` : "";
  };
}

/**
 * The lab's clock (its processes' time.time()) as the page can tell it: the
 * newest event's t, moved on by the time this page has counted since. The
 * page's own clock may be set differently (a student's phone); the lab's is
 * the one the events carry, and the timeline's axis.
 */
export class LabClock {
  constructor() {
    this.t = null;
    this.at = 0;
    this.seen = false;        // an event's t seen yet (else the page's own clock, a guess)
  }

  /** No event yet: the page's own clock stands in for the lab's. */
  guess() {
    if (!this.seen && this.t === null) this.set(Date.now() / 1000);
  }

  set(t) {
    this.t = t;
    this.at = performance.now();
  }

  see(t) {
    if (typeof t !== "number") return;
    const now = this.now();
    if (!this.seen || now === null || t > now) {
      this.seen = true;
      this.t = t;
      this.at = performance.now();
    }
  }

  now() {
    if (this.t === null) return null;
    return this.t + (performance.now() - this.at) / 1000;
  }
}

/** A recording larger than this is not fetched to reach further back. */
export const SEED_MAX_BYTES = 20 * 1024 * 1024;

/**
 * Reach back before this page connected: the dashboard's recording of the
 * session (GET /api/recordings, /api/export.jsonl, docs/api.md "Recording")
 * gives the snapshot at its start and every event since; the history and the
 * spans take what came before the page's first snapshot. Nothing happens
 * when the dashboard does not record, or the session is larger than
 * SEED_MAX_BYTES (a phone on the room's Wi-Fi), or anything fails: the past
 * then starts when the page connected. True when it reached back.
 */
export async function reachBack(history, spans) {
  if (!history.range() || history.firstSeq === 0) return false;
  try {
    const listing = await (await fetch("/api/recordings", { cache: "no-store" })).json();
    if (!listing.recording || !listing.current) return false;
    const size = listing.recordings.filter((r) => r.session === listing.current)
      .reduce((total, r) => total + (r.size ?? 0), 0);
    if (size > SEED_MAX_BYTES) return false;
    const file = await fetchSession("/api/export.jsonl", { maxBytes: SEED_MAX_BYTES });
    if (!history.prepend(file)) return false;
    const older = new Spans();
    older.start(file.snapshot, { t: file.header.started ?? null });
    for (const event of file.events) if (event.seq <= history.lastSeq) older.add(event);
    // the page's own events since (the file may be a batch behind)
    for (let seq = (file.events.at(-1)?.seq ?? 0) + 1; seq <= history.lastSeq; seq += 1) {
      const event = history.event(seq);
      if (event) older.add(event);
    }
    spans.adopt(older);
    return true;
  } catch (error) {
    console.info("forkscope: the past starts when this page connected", error);
    return false;
  }
}

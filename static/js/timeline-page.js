// What the live page (main.js) and the replay page (replay.js) share around
// the timeline: whether it is open (kept in this browser), an event's words
// for a tick, and the lab's clock as the page can know it.

import { eventSummary } from "./format.js";

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

// Playing a recording: where the play head is (a seq) as the recording's
// own time goes by, at a speed. Pure: the page calls advance() each frame
// with the milliseconds since the last, and draws the seq it answers.
//
// Events are played at the gaps between their `t`s (the lab's clock) times
// 1/speed, except that an idle stretch longer than IDLE_GAP_S plays as
// IDLE_GAP_S: a lecture's minutes of talk between two clicks do not leave
// the room watching nothing (the replay bar says so). Lab processes write
// their events in parallel, so `t` is not quite ascending in seq order; the
// play head's time is the largest `t` so far (times[] below).

export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];
export const IDLE_GAP_S = 2;

/**
 * *events*' times as the play head sees them: times[i] is the largest `t`
 * of events[0..i] (the i-th event after the snapshot).
 */
export function playTimes(events) {
  const times = new Float64Array(events.length);
  let most = -Infinity;
  events.forEach((e, i) => {
    if (typeof e.t === "number" && e.t > most) most = e.t;
    times[i] = most;
  });
  return times;
}

export class Player {
  /** *first*: the snapshot's seq; *times*: playTimes() of the events after it. */
  constructor({ first, times, speed = 1, maxGap = IDLE_GAP_S }) {
    this.first = first;
    this.times = times;
    this.last = first + times.length;
    this.speed = speed;
    this.maxGap = maxGap;
    this.pos = first;
    this.vt = this.timeOf(first);
    this.playing = false;
  }

  /** The time of *seq* (the snapshot's: just before the first event). */
  timeOf(seq) {
    if (!this.times.length) return null;
    if (seq <= this.first) return this.times[0];
    return this.times[Math.min(seq, this.last) - this.first - 1];
  }

  get ended() {
    return this.pos >= this.last;
  }

  seek(seq) {
    this.pos = Math.max(this.first, Math.min(this.last, Math.round(seq)));
    this.vt = this.timeOf(this.pos);
  }

  play() {
    if (this.ended) this.seek(this.first);     // play again from the start
    this.playing = this.times.length > 0;
    this.vt = this.timeOf(this.pos);
  }

  pause() {
    this.playing = false;
  }

  setSpeed(speed) {
    if (SPEEDS.includes(speed)) this.speed = speed;
  }

  /** *ms* of the room's time have passed: move on. True if the play head moved. */
  advance(ms) {
    if (!this.playing) return false;
    const was = this.pos;
    // an idle stretch ahead is cut to maxGap before the time goes on into it
    const next = this.timeOf(this.pos + 1);
    if (next !== null && next - this.vt > this.maxGap) this.vt = next - this.maxGap;
    this.vt += (ms / 1000) * this.speed;
    while (this.pos < this.last && this.timeOf(this.pos + 1) <= this.vt) this.pos += 1;
    if (this.ended) this.playing = false;
    return this.pos !== was;
  }
}

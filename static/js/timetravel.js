// Time travel on the live page: which seq the views show. Live (null), or a
// seq of the past, rebuilt by the history (history.js) with the one model —
// the tree, the details, the reaped list, the code markers and the log then
// show the lab as it was, while the live model goes on applying every event
// that arrives (nothing in the lab is touched, nothing is missed). "Back to
// live" shows the live model again, with all it applied meanwhile.
//
// The past bar (#past-bar) says so, in words the back row can read:
// "past: 14:03:21.120 · event 42 of 120", and has the way back
// (data-action=live, the Esc key). body[data-past-seq] is set while in the
// past (docs/api.md).

import { t } from "./i18n.js";
import { h, setAttr, setText } from "./dom.js";
import { clock } from "./format.js";

export class TimeTravel {
  /** *bar* is the past bar's element; *onChange()* is called when the seq shown changes. */
  constructor({ history, bar, onChange = () => {} }) {
    this.history = history;
    this.bar = bar;
    this.onChange = onChange;
    this.seq = null;          // the seq asked for; null: live
    this.reached = null;      // the seq the model shows (below seq only inside a hole)
    this.model = null;
    this.text = h("span", { class: "past-text" });
    this.button = h("button", { type: "button", class: "past-live", "data-action": "live" });
    this.button.addEventListener("click", () => this.live());
    bar.replaceChildren(h("span", { class: "past-mark", "aria-hidden": "true", text: "◀" }),
      this.text, this.button);
    bar.hidden = true;
  }

  get past() {
    return this.seq !== null;
  }

  /** The model the views draw: the past's, or *liveModel*. */
  shown(liveModel) {
    return this.model ?? liveModel;
  }

  /** Show the lab as it was at *seq*; at or beyond the newest seq, live. */
  to(seq) {
    const range = this.history.range();
    if (!range || !Number.isFinite(seq)) return false;
    const target = Math.max(range.first, Math.floor(seq));
    if (target >= range.last) {
      this.live();
      return true;
    }
    if (target === this.seq) return true;
    const { model, reached } = this.history.at(target);
    this.seq = target;
    this.reached = reached;
    this.model = model;
    document.body.dataset.pastSeq = String(reached);
    this.render();
    this.onChange();
    return true;
  }

  /** One event back (from live: the one before the newest) or forward. */
  step(delta) {
    const range = this.history.range();
    if (!range) return false;
    return this.to((this.seq ?? range.last) + delta);
  }

  live() {
    if (!this.past) return;
    this.seq = null;
    this.reached = null;
    this.model = null;
    delete document.body.dataset.pastSeq;
    this.render();
    this.onChange();
  }

  /** The time of the seq shown (the lab's clock), or null when live. */
  time() {
    if (!this.past) return null;
    return (this.history.event(this.reached) ?? this.history.nearestEvent(this.reached)
      ?? this.history.event(this.reached + 1))?.t ?? null;
  }

  render() {
    this.bar.hidden = !this.past;
    if (!this.past) return;
    const when = this.time();
    setText(this.text, t(this.reached < this.seq ? "past.bar_hole" : "past.bar", {
      time: when === null ? "?" : clock(when), seq: this.reached, last: this.history.lastSeq,
    }));
    setText(this.button, t("past.live"));
    setAttr(this.button, "title", t("past.live_title"));
  }
}

// The event log: newest first, filterable by pid and by type, at most
// ROWS_SHOWN rows in the DOM (the page keeps more events in memory).
//
// In the past (time travel: render(upTo)) it lists the events up to that
// seq, the one shown marked [data-current]; a click on a row asks for the
// past at its seq (onPick(uid, pid, seq)). Rows are kept by seq once built,
// so a scrub through the past moves rows rather than making them.

import { t } from "./i18n.js";
import { h, keyedList, setAttr, setText } from "./dom.js";
import { clock, eventName, eventSummary } from "./format.js";
import { SCHEMA } from "./schema.js";

export const ROWS_SHOWN = 500;
/** Rows listed while in the past: a scrub moves them, each step (a panel
 * shows a dozen; a 200-row list cost a projector's laptop 100 ms a step). */
export const ROWS_PAST = 40;
const ROWS_CACHED = 4000;
// The type filter offers every event type of the schema, in the order a process
// lives through them.
const TYPES = Object.keys(SCHEMA.events);

export class Log {
  constructor({ list, pidFilter, typeFilter, count, getEvents, lookup, onPick }) {
    this.list = list;
    this.pidFilter = pidFilter;
    this.typeFilter = typeFilter;
    this.count = count;
    this.getEvents = getEvents;
    this.lookup = lookup;
    this.onPick = onPick;
    this.dirty = true;
    this.pendingRows = [];
    this.upTo = null;          // the seq of the past shown, null when live
    this.rows = new Map();     // seq -> its row, built once (per language)
    pidFilter.addEventListener("input", () => this.refresh());
    typeFilter.addEventListener("change", () => this.refresh());
    list.addEventListener("click", (ev) => {
      const row = ev.target.closest("li[data-seq]");
      if (row) {
        this.onPick(row.dataset.uid || null, Number(row.dataset.eventPid) || null, Number(row.dataset.seq));
      }
    });
    this.fillTypes();
  }

  fillTypes() {
    const chosen = this.typeFilter.value;
    this.typeFilter.replaceChildren(
      h("option", { value: "", text: t("log.all_types") }),
      ...TYPES.map((type) => h("option", { value: type, text: `${eventName(type)} (${type})` })));
    this.typeFilter.value = chosen;
  }

  matches(e) {
    const pid = this.pidFilter.value.trim();
    const type = this.typeFilter.value;
    if (type && e.type !== type) return false;
    if (pid && String(e.pid) !== pid && String(e.by) !== pid) return false;
    return true;
  }

  /** New events arrived: queue them; they are drawn on the next render. */
  add(events) {
    if (this.dirty) return;
    // Out-of-order arrivals (history fetched after live events) need a full redraw.
    const newest = Number(this.list.firstElementChild?.dataset.seq ?? 0);
    if (events.some((e) => e.seq < newest)) {
      this.dirty = true;
      return;
    }
    this.pendingRows.push(...events);
  }

  refresh() {
    this.dirty = true;
    this.render();
  }

  languageChanged() {
    this.rows.clear();
    this.fillTypes();
    this.refresh();
  }

  /** *upTo*: the seq of the past shown (its events only), or null: live.
   * *shown*: whether the log is on screen, when the caller knows (asking the
   * page here, after other views changed it, costs a layout). */
  render(upTo = null, { shown = null } = {}) {
    if (upTo !== this.upTo) {
      this.upTo = upTo;
      this.dirty = true;
    }
    // A scrub through the past redraws every row: not while the log is out of
    // sight (another tab); it is drawn when shown. Live, it keeps up as before.
    if (upTo !== null && this.dirty && !(shown ?? this.list.getClientRects().length > 0)) return;
    if (this.dirty) {
      this.dirty = false;
      this.pendingRows = [];
      const shown = [];
      const all = this.getEvents(upTo);
      const most = upTo === null ? ROWS_SHOWN : ROWS_PAST;
      for (let i = all.length - 1; i >= 0 && shown.length < most; i -= 1) {
        if ((upTo === null || all[i].seq <= upTo) && this.matches(all[i])) shown.push(all[i]);
      }
      if (this.rows.size > ROWS_CACHED) this.rows.clear();
      if (upTo === null) this.list.replaceChildren(...shown.map((e) => this.cachedRow(e)));
      // in the past, a step moves the window of rows: the rows still in it stay put
      else keyedList(this.list, shown, (e) => e.seq, (e) => this.cachedRow(e), () => {});
      this.markCurrent(upTo);
    } else if (this.pendingRows.length && upTo !== null) {
      this.pendingRows = [];       // live events wait: they are listed back in the present
    } else if (this.pendingRows.length) {
      const rows = this.pendingRows.filter((e) => this.matches(e)).map((e) => this.cachedRow(e)).reverse();
      this.pendingRows = [];
      this.list.prepend(...rows);
      while (this.list.childElementCount > ROWS_SHOWN) this.list.lastElementChild.remove();
    }
    const shownCount = this.list.childElementCount;
    setAttr(this.list, "data-empty", String(shownCount === 0));
    setText(this.count, shownCount ? t("log.count", { shown: shownCount, max: ROWS_SHOWN }) : t("log.empty"));
  }

  cachedRow(e) {
    let row = this.rows.get(e.seq);
    if (!row) {
      row = this.row(e);
      row.listKey = String(e.seq);     // keyedList's key: the rows of the past are moved, not made
      this.rows.set(e.seq, row);
    }
    return row;
  }

  markCurrent(upTo) {
    if (this.current) this.current.removeAttribute("data-current");
    this.current = upTo === null ? null : this.rows.get(upTo) ?? null;
    if (this.current?.parentElement === this.list) this.current.dataset.current = "true";
  }

  row(e) {
    const proc = this.lookup(e);
    return h("li", {
      "data-seq": e.seq, "data-type": e.type,
      "data-event-pid": e.pid ?? "", "data-uid": proc?.uid ?? e.uid ?? "",
      class: `log-row type-${e.type}${e.anomaly ? " anomaly" : ""}`,
    },
    h("span", { class: "ev-seq", text: t("log.seq", { seq: e.seq }) }),
    h("span", { class: "ev-time", text: clock(e.t) }),
    h("span", { class: `ev-type type-${e.type}`, text: eventName(e.type) }),
    h("span", { class: "ev-pid", text: e.pid ?? "" }),
    h("span", { class: "ev-summary", text: eventSummary(e, this.lookup) }));
  }
}

// The details panel of the selected process: its actions, the explanations a
// teacher needs (who reaps this zombie, why it left without join()...), how it
// was started (start method, cost, style and the source), what the OS says of
// it (/proc via /api/truth), what the code did (the Python calls behind its
// events), every model field, and its events.

import { currentLang, has, t } from "./i18n.js";
import { h, keyedList, setAttr, setText, unchanged } from "./dom.js";
import {
  addr, clock, eventCode, eventName, eventSummary, exitMeaning, reapedText, roleName, stateName,
} from "./format.js";
import { explanations, parentOf } from "./explain.js";
import { StartInfo } from "./source.js";
import { ProcTruth } from "./truth.js";
import { SCHEMA } from "./schema.js";

// Every field of P, in the schema's teaching order.
const FIELDS = Object.keys(SCHEMA.process);
const EVENTS_SHOWN = 100;

/** The events that are about *proc*: by uid, or by pid while it is this process's. */
export function eventsOf(proc, events) {
  return events.filter((e) => {
    if (e.uid) return e.uid === proc.uid;
    if (e.pid === null || e.pid === undefined || e.pid !== proc.pid) return false;
    if (proc.started_t && e.t < proc.started_t - 1) return false;
    return true;
  });
}

export class Details {
  constructor(root, controls, model) {
    this.root = root;
    this.controls = controls;
    this.model = model;
    this.empty = h("p", { class: "empty", "data-i18n": "details.none" });
    this.body = h("div", { class: "details-body" });
    this.titleText = h("span");
    this.state = h("span", { class: "pill" });
    this.title = h("h3", { class: "details-title" }, this.titleText, " ", this.state);
    this.roleHint = h("p", { class: "role-hint" });
    this.actions = controls.buildProcessActions();
    this.codeTitle = h("h4", { "data-i18n": "details.code" });
    this.code = h("ol", { class: "code-lines" });
    this.fieldsTitle = h("h4", { "data-i18n": "details.fields" });
    this.fields = h("dl", { class: "fields" });
    this.eventsTitle = h("h4", { "data-i18n": "details.events" });
    this.events = h("ol", { class: "proc-events" });
    this.stateHint = h("p", { class: "state-hint" });
    this.explain = h("div", { class: "explain", "aria-live": "polite" });
    this.startInfo = new StartInfo();
    this.truth = new ProcTruth();
    this.body.append(this.title, this.actions, this.stateHint, this.explain, this.roleHint,
      this.startInfo.root, this.truth.root, this.codeTitle, this.code,
      this.fieldsTitle, this.fields, this.eventsTitle, this.events);
    root.replaceChildren(this.empty, this.body);
    this.lastKey = null;
  }

  /**
   * *events* is a function giving the events the page keeps, *eventsVersion*
   * changes whenever they do: with nothing new the events are not searched again.
   * *model* is the model *proc* comes from (the live one, or the past's:
   * time travel); its parent and the explanations are read from it.
   */
  render(proc, { orphan, events, eventsVersion, lookup, model = this.model }) {
    setAttr(this.empty, "hidden", Boolean(proc));
    setAttr(this.body, "hidden", !proc);
    setText(this.empty, t("details.none"));
    if (!proc) {
      this.truth.render(null);
      return;
    }
    const json = JSON.stringify(proc);
    const lang = currentLang();
    this.renderHead(proc, orphan, json, lang, model);
    this.startInfo.render(proc);
    this.truth.render(proc);

    // Rebuild the lists only when something they show has changed.
    if (unchanged(this.events, [proc.uid, json, eventsVersion, lang]) && this.lastKey !== null) return;
    const mine = eventsOf(proc, events());
    const key = `${proc.uid}|${mine.length}|${mine.at(-1)?.seq}|${json}|${lang}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.code.replaceChildren(...codeLines(proc, mine, lookup));
    // Every field of the model: the known ones in teaching order, then any other.
    const shown = [...FIELDS, ...Object.keys(proc).filter((f) => !FIELDS.includes(f)).sort()];
    this.fields.replaceChildren(...shown.flatMap((f) => [
      h("dt", {}, has(`field.${f}`) ? h("span", { class: "field-label", text: t(`field.${f}`) }) : null,
        " ", h("code", { class: "field-key", text: f })),
      h("dd", { text: fieldValue(f, proc) }),
    ]));
    const recent = mine.slice(-EVENTS_SHOWN).reverse();
    this.events.replaceChildren(...(recent.length ? recent.map((e) => h("li", { "data-seq": e.seq },
      h("span", { class: "ev-time", text: clock(e.t) }),
      h("span", { class: `ev-type type-${e.type}`, text: eventName(e.type) }),
      h("span", { class: "ev-summary", text: eventSummary(e, lookup) }))) : [
      h("li", { class: "empty", text: t("details.no_events") })]));
  }

  /** Title, hints, actions and explanations: redrawn when the process, its
   * parent (a zombie's reaper), the connection, an action in flight, the join
   * timeout typed or the language changed. */
  renderHead(proc, orphan, json, lang, model = this.model) {
    const up = parentOf(proc, model);
    const c = this.controls;
    const busy = ["terminate", "kill", "join"].map((a) => c.isPending(a, proc.pid)).join();
    if (unchanged(this.title, [json, lang, orphan, up?.uid, up?.role, up?.name, c.sync.connected,
      model === this.model ? "live" : model.seq,
      busy, this.actions.parts.timeout.value, this.actions.dataset.uid])) return;
    this.root.dataset.uid = proc.uid;
    this.root.dataset.pid = proc.pid ?? "";
    setText(this.titleText, t("details.title", { role: roleName(proc.role), name: proc.name }));
    setAttr(this.state, "class", `pill state-${proc.state}`);
    setText(this.state, stateName(proc.state));
    setText(this.stateHint, t(`state_hint.${proc.state}`));
    setAttr(this.stateHint, "class", `state-hint state-${proc.state}`);
    setText(this.roleHint, t(`role_hint.${proc.role ?? "unknown"}`));
    c.updateProcessActions(this.actions, proc, orphan);
    keyedList(this.explain, explanations(proc, model), (e) => e.kind,
      (e) => h("p", { class: "explain-item", "data-explain": e.kind }),
      (el, e) => setText(el, e.text));
    setAttr(this.explain, "hidden", !this.explain.childElementCount);
    for (const el of [this.codeTitle, this.fieldsTitle, this.eventsTitle]) setText(el, t(el.dataset.i18n));
  }
}

/** What the code did, in order; repeated served/echo lines collapse into one. */
function codeLines(proc, events, lookup) {
  const lines = [];
  for (const e of events) {
    const last = lines.at(-1);
    if (last && last.type === e.type && (e.type === "served" || e.type === "echo")) {
      last.count += 1;
      last.event = e;
      continue;
    }
    lines.push({ type: e.type, event: e, count: 1 });
  }
  return lines.map(({ event, count }) => h("li", { class: `code-line type-${event.type}` },
    h("span", { class: "ev-time", text: clock(event.t) }),
    h("code", { text: eventCode(event, proc, lookup) }),
    count > 1 ? h("span", { class: "repeat", text: t("code.repeat", { n: count }) }) : null));
}

function fieldValue(field, p) {
  const v = p[field];
  if (v === null || v === undefined) return t("value.none");
  if (typeof v === "boolean") return t(v ? "value.true" : "value.false");
  switch (field) {
    case "state": return `${stateName(v)} (${v})`;
    case "role": return `${roleName(v)} (${v})`;
    case "exitcode": return `${v} — ${exitMeaning(v, p.state)}`;
    case "peer": case "local": return addr(v);
    case "start_ms": return t("value.ms", { n: v });
    case "started_t": case "exited_t": return clock(v);
    case "reaped_how": return has(`reaped.how.${v}`) ? t(`reaped.how.${v}`) : String(v);
    case "reaped_via": return reapedText(p);
    case "connection": return t(`value.connection.${v}`);
    default: return String(v);
  }
}

// How a process was started: the start method and what p.start() cost, the
// tutorial's way of writing it (方式一 Process(target=talk) / 方式二 class
// Talk(Process)), daemon or not — and the lab's own source for it, from
// /api/code (fetched once).

import { t } from "./i18n.js";
import { h, setAttr, setText } from "./dom.js";

let codePromise = null;

export function fetchCode() {
  if (!codePromise) {
    codePromise = fetch("/api/code", { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .catch((error) => {
        codePromise = null;          // try again next time
        throw error;
      });
  }
  return codePromise;
}

/** Which functions of /api/code show how *proc* was made. */
export function sourcePieces(proc) {
  if (proc.role === "worker") {
    return proc.style === "subclass" ? ["Talk", "make_worker"] : ["talk", "make_worker"];
  }
  if (proc.role === "server") return ["open_listener", "accept"];
  return [];
}

function fmtMs(ms) {
  return typeof ms === "number" ? (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)) : "?";
}

export class StartInfo {
  constructor() {
    this.root = h("section", { class: "start-info" });
    this.title = h("h4");
    this.facts = h("dl", { class: "facts" });
    this.source = h("details", { class: "source" });
    this.summary = h("summary");
    this.code = h("pre", { class: "source-code" });
    this.source.append(this.summary, this.code);
    this.root.append(this.title, this.facts, this.source);
    this.key = null;
    this.codeKey = null;
  }

  render(proc) {
    const shown = Boolean(proc && proc.start_method
      && ["server", "worker", "client"].includes(proc.role));
    this.root.hidden = !shown;
    if (!shown) return;
    const pieces = sourcePieces(proc);
    const key = JSON.stringify([proc.uid, proc.start_method, proc.start_ms, proc.style, proc.daemon,
      t("details.start")]);
    if (key === this.key) return;
    this.key = key;
    setAttr(this.root, "data-start-method", proc.start_method);
    setAttr(this.root, "data-style", proc.style);
    setText(this.title, t("details.start"));

    const rows = [
      ["start_method", `${proc.start_method} — ${t(`start_method.${proc.start_method}`)}`],
      ["start_ms", t("start.cost", { ms: fmtMs(proc.start_ms), method: proc.start_method })],
    ];
    if (proc.role === "worker" && proc.style) rows.push(["style", t(`style.${proc.style}`)]);
    rows.push(["daemon", proc.daemon ? t("start.daemon_yes") : t("start.daemon_no")]);
    this.facts.replaceChildren(...rows.flatMap(([field, value]) => [
      h("dt", { text: t(`field.${field}`) }),
      h("dd", { "data-fact": field, text: value }),
    ]));

    this.source.hidden = !pieces.length;
    if (!pieces.length) return;
    setAttr(this.source, "data-source", pieces.join(","));
    setText(this.summary, t("source.summary", { names: pieces.map((p) => `${p}()`).join(" · ") }));
    const codeKey = pieces.join(",");
    if (codeKey === this.codeKey) return;
    this.codeKey = codeKey;
    setText(this.code, t("source.loading"));
    fetchCode().then((code) => {
      if (this.codeKey !== codeKey) return;
      setText(this.code, pieces.map((p) => dedent(code[p] ?? "")).join("\n\n"));
    }, () => {
      if (this.codeKey === codeKey) {
        setText(this.code, t("source.failed"));
        this.codeKey = null;
      }
    });
  }
}

/** A method's source comes indented by its class: take the indent off. */
function dedent(text) {
  const lines = text.replace(/\s+$/, "").split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)[0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join("\n");
}

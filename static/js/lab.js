// Lab settings (how the echo server makes its workers) and the daemon demo.
//
// The settings — start method fork / spawn / forkserver, daemon workers, and
// the tutorial's two ways (方式一 Process(target=talk) / 方式二 class
// Talk(Process)) — take effect with a new echo server: applying them restarts
// it, which the panel says before the click. The panel is a non-modal dialog
// over the side column, so the tree stays in view while the server restarts.
//
// Current settings come from GET /api/lab, from an apply's ack, and from each
// new server's `started` event (it carries `lab`), so viewers see them too.
//
// Testability: #lab-summary[data-start-method][data-daemon-workers][data-worker-style];
// buttons data-action=open-lab / apply-lab / daemon-demo; #lab-result and
// #demo-result [data-result=ok|error].

import { currentLang, t } from "./i18n.js";
import { h, setAttr, setText, unchanged } from "./dom.js";
import { errorText } from "./format.js";

export class LabPanel {
  constructor({ controls, model, requestRender }) {
    this.controls = controls;
    this.model = model;
    this.requestRender = requestRender;
    this.lab = null;                  // {start_method, daemon_workers, worker_style}
    this.labSeq = 0;                  // seq of the server start that told us
    this.labResult = null;            // {ok, text: () => string}
    this.demoResult = null;
    this.$ = (sel) => document.querySelector(sel);
    this.dialog = this.$("#lab-dialog");
    this.form = this.$("#lab-form");
    this.summary = this.$("#lab-summary");
    // Found once: a document-wide attribute selector walks the whole page (the
    // tree's thousands of SVG elements) on every render.
    this.els = {
      summaryText: this.summary.querySelector(".lab-summary-text"),
      open: this.$("[data-action='open-lab']"), apply: this.$("[data-action='apply-lab']"),
      demo: this.$("[data-action='daemon-demo']"), warning: this.$("#lab-warning"),
      unchanged: this.$("#lab-unchanged"), result: this.$("#lab-result"), demoBox: this.$("#demo-result"),
    };
  }

  bind() {
    this.$("[data-action='open-lab']").addEventListener("click", () => this.open());
    this.dialog.querySelector("[data-action='close-lab']").addEventListener("click", () => this.close());
    this.dialog.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") this.close();
    });
    this.form.addEventListener("submit", (ev) => ev.preventDefault());
    this.form.addEventListener("change", () => this.requestRender());
    this.$("[data-action='apply-lab']").addEventListener("click", () => this.apply());
    this.$("[data-action='daemon-demo']").addEventListener("click", () => this.demo());
    this.load();
  }

  async load() {
    try {
      const response = await fetch("/api/lab", { cache: "no-store" });
      if (response.ok) this.setLab(await response.json());
    } catch (error) {
      console.warn("forkscope: GET /api/lab failed", error);
    }
  }

  /** A new server's `started` event carries the settings it runs with. */
  noticeEvents(events) {
    for (const e of events) {
      // History may arrive after live events: only a newer server's settings count.
      if (e.type === "started" && e.role === "server" && e.lab && e.seq > this.labSeq) {
        this.labSeq = e.seq;
        this.setLab(e.lab);
      }
    }
  }

  setLab(lab) {
    if (!lab || typeof lab !== "object") return;
    const changed = JSON.stringify(lab) !== JSON.stringify(this.lab);
    this.lab = { ...lab };
    if (changed && !this.dialog.open) this.fillForm();
    this.requestRender();
  }

  fillForm() {
    if (!this.lab) return;
    for (const input of this.form.querySelectorAll("input[name='start_method'], input[name='worker_style']")) {
      input.checked = this.lab[input.name] === input.value;
    }
    this.form.querySelector("input[name='daemon_workers']").checked = Boolean(this.lab.daemon_workers);
  }

  chosen() {
    const value = (name) => this.form.querySelector(`input[name='${name}']:checked`)?.value;
    return {
      start_method: value("start_method") ?? this.lab?.start_method ?? "fork",
      daemon_workers: this.form.querySelector("input[name='daemon_workers']").checked,
      worker_style: value("worker_style") ?? this.lab?.worker_style ?? "target",
    };
  }

  open() {
    this.fillForm();
    if (!this.dialog.open) this.dialog.show();
    this.dialog.querySelector("input:checked, input")?.focus();
    this.requestRender();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
    this.$("[data-action='open-lab']").focus();
  }

  async apply() {
    const settings = this.chosen();
    this.labResult = null;
    const ack = await this.controls.run("apply-lab", settings);
    if (!ack) return;
    if (ack.ok) {
      const { lab = settings, pid } = ack.body ?? {};
      this.setLab(lab);
      this.labResult = { ok: true, text: () => t("lab.applied", { pid, ...describe(lab) }) };
    } else {
      this.labResult = { ok: false, code: ack.code, text: () => errorText(ack) };
    }
    this.requestRender();
  }

  async demo() {
    this.demoResult = null;
    const ack = await this.controls.run("daemon-demo", {});
    if (!ack) return;
    if (ack.ok) {
      const { started, error, name, pid } = ack.body ?? {};
      this.demoResult = { ok: true, started, error, name, pid };
      this.revealDemo = true;
    } else {
      this.demoResult = { ok: false, text: () => errorText(ack), code: ack.code };
    }
    this.requestRender();
  }

  render() {
    const lab = this.lab;
    const online = this.controls.sync.connected;
    const applying = this.controls.isPending("apply-lab");
    const demoing = this.controls.isPending("daemon-demo");
    // Before the click: what applying will do to the processes that are there now.
    // (Orphans are no longer the server's: a restart leaves them be.)
    let workers = 0;
    for (const p of this.model.procs.values()) {
      if (p.role === "worker" && p.state === "running" && !p.orphaned) workers += 1;
    }
    const chosen = JSON.stringify(this.chosen());
    // lab, labResult and demoResult are replaced, never changed in place
    if (unchanged(this.summary, [currentLang(), lab, online, applying, demoing, workers, chosen,
      this.labResult, this.demoResult, this.revealDemo])) return;
    const { summaryText, open, apply, demo, warning, unchanged: unchangedText, result } = this.els;
    if (lab) {
      setAttr(this.summary, "data-start-method", lab.start_method);
      setAttr(this.summary, "data-daemon-workers", String(Boolean(lab.daemon_workers)));
      setAttr(this.summary, "data-worker-style", lab.worker_style);
      setText(summaryText, t("lab.summary", describe(lab)));
    } else {
      setText(summaryText, t("lab.summary_unknown"));
    }
    apply.disabled = !online || applying;
    setAttr(apply, "aria-busy", applying ? "true" : null);
    demo.disabled = !online || demoing;
    setAttr(demo, "aria-busy", demoing ? "true" : null);
    open.disabled = false;

    const same = lab && chosen === JSON.stringify({
      start_method: lab.start_method, daemon_workers: Boolean(lab.daemon_workers), worker_style: lab.worker_style,
    });
    setText(warning, t(workers ? "lab.warning_workers" : "lab.warning", { n: workers }));
    setText(unchangedText, same ? t("lab.unchanged") : "");
    if (applying) {
      result.className = "dialog-result pending";
      setAttr(result, "data-result", "pending");
      setText(result, t("lab.applying"));
    } else if (this.labResult) {
      result.className = `dialog-result ${this.labResult.ok ? "ok" : "error"}`;
      setAttr(result, "data-result", this.labResult.ok ? "ok" : "error");
      setText(result, this.labResult.text());
    } else {
      result.className = "dialog-result";
      setAttr(result, "data-result", null);
      setText(result, "");
    }
    this.renderDemo(demoing);
  }

  renderDemo(demoing) {
    const box = this.els.demoBox;
    const r = this.demoResult;
    if (demoing) {
      setAttr(box, "data-result", "pending");
      box.replaceChildren(h("p", { class: "pending", text: t("demo.running") }));
      return;
    }
    if (!r) {
      setAttr(box, "data-result", null);
      box.replaceChildren();
      return;
    }
    setAttr(box, "data-result", r.ok ? "ok" : "error");
    if (!r.ok) {
      box.replaceChildren(h("p", { class: "error", text: r.text() }));
      return;
    }
    if (this.revealDemo) {
      this.revealDemo = false;
      requestAnimationFrame(() => box.scrollIntoView({ block: "nearest" }));
    }
    box.replaceChildren(
      h("p", { class: "demo-who", text: t("demo.who", { name: r.name ?? "?", pid: r.pid ?? "?" }) }),
      r.started
        ? h("p", { class: "demo-started", text: t("demo.started") })
        : h("pre", { class: "demo-error", text: `AssertionError: ${r.error ?? ""}` }),
      h("p", { class: "demo-explain", text: t(r.started ? "demo.explain_started" : "demo.explain") }));
  }
}

/** The settings in words, for templates: {method, daemon, style}. */
export function describe(lab) {
  return {
    method: lab.start_method,
    daemon: t(lab.daemon_workers ? "lab.daemon_on" : "lab.daemon_off"),
    style: t(`style.short.${lab.worker_style}`),
  };
}

// Step mode, the presenter's side: Step, Continue, Slow (with its delay) and
// which gates are on — buttons in #step-bar and the keys s / space (main.js).
// The lab really stops its processes at the gates (app/model/schema.py
// GATES); this module only asks, through the same dispatch as every other
// action (controls.run: step_mode / step_next), and shows the state.
//
// The step state — {mode, delay_ms, gates, waiting} — is GET /api/step's: read
// on (re)connect, after each action, and when a gate event arrives (someone
// else may have changed the mode: a gate_pass with how=run). Which process
// waits where is the model's (P.gate), from the events themselves.
//
//   Step      in run or slow mode: switch to step mode (each process stops at
//             its next gate); in step mode: release one waiting process — the
//             selected one if it waits, else the one waiting longest;
//   Continue  run mode: every gate passes, the waiting are released;
//   Slow      each gate holds delay_ms (100–5000), then passes by itself.
//
// Testability contract: buttons data-action=step|continue|slow (aria-pressed
// for the mode in force), #step-delay, input[data-gate-toggle=NAME];
// body[data-step-mode=run|step|slow] once the state is known.

import { t } from "./i18n.js";
import { h, setAttr, setText } from "./dom.js";
import { SCHEMA } from "./schema.js";

export const DELAY_MIN = 100;
export const DELAY_MAX = 5000;
const MODE_OF_BUTTON = { step: "step", continue: "run", slow: "slow" };

/** A delay the API accepts: whole milliseconds within DELAY_MIN..DELAY_MAX. */
export function clampDelay(value, fallback = 1000) {
  const n = Math.round(Number(value));
  if (!Number.isFinite(n)) return fallback;
  return Math.min(DELAY_MAX, Math.max(DELAY_MIN, n));
}

/** Which process Step releases: the selected one when it waits, else none
 * named (the server then releases the one waiting longest). */
export function releaseTarget(selected) {
  return selected?.gate && selected.pid ? { pid: selected.pid } : {};
}

export class Stepper {
  constructor({ controls, sync, bar, selected, requestRender }) {
    this.controls = controls;
    this.sync = sync;
    this.bar = bar;
    this.selected = selected;           // () => the selected process, or null
    this.requestRender = requestRender;
    this.state = null;                  // GET /api/step's body; null until known
    this.fetching = null;
    this.again = false;
    this.buttons = [...bar.querySelectorAll("[data-action]")];
    this.delay = bar.querySelector("#step-delay");
    this.gateList = bar.querySelector(".gate-list");
    this.gateSummary = bar.querySelector(".step-gates summary");
    this.toggles = SCHEMA.gates.map((gate) => h("input", { type: "checkbox", "data-gate-toggle": gate,
      checked: true }));
    this.gateList.replaceChildren(...SCHEMA.gates.map((gate, i) => h("label", { class: "gate-choice" },
      this.toggles[i], h("code", { text: gate }))));
  }

  bind() {
    for (const button of this.buttons) {
      button.addEventListener("click", () => this.press(button.dataset.action));
    }
    this.delay.addEventListener("change", () => {
      this.delay.value = clampDelay(this.delay.value, this.state?.delay_ms);
      if (this.state?.mode === "slow") this.setMode("slow");
    });
    for (const toggle of this.toggles) toggle.addEventListener("change", () => this.setGates());
  }

  press(action) {
    if (action === "step") return this.step();
    return this.setMode(MODE_OF_BUTTON[action]);
  }

  /** Step button and the s key. */
  step() {
    if (this.state?.mode !== "step") return this.setMode("step");
    return this.next();
  }

  /** The space key: pause (step mode) when running or slow, continue (run) when stepping. */
  toggle() {
    return this.setMode(this.state?.mode === "step" ? "run" : "step");
  }

  async next() {
    const ack = await this.started(this.controls.run("step-next", releaseTarget(this.selected())));
    this.refresh();
    return ack;
  }

  async setMode(mode) {
    const payload = { mode };
    if (mode === "slow") payload.delay_ms = clampDelay(this.delay.value, this.state?.delay_ms);
    const ack = await this.started(this.controls.run("step-mode", payload, mode));
    if (ack?.ok && ack.body && typeof ack.body === "object") this.adopt(ack.body);
    this.refresh();
    return ack;
  }

  async setGates() {
    const gates = this.toggles.filter((box) => box.checked).map((box) => box.dataset.gateToggle);
    const ack = await this.started(this.controls.run("step-mode", { mode: this.state?.mode ?? "run", gates },
      "gates"));
    if (ack?.ok && ack.body && typeof ack.body === "object") this.adopt(ack.body);
    this.refresh();
    return ack;
  }

  /**
   * An action just asked for (*asked*, controls.run's promise: it is pending
   * from the call on): the buttons are disabled now, not at the next frame.
   * The released process's next point often arrives before step_next's
   * answer; a click in the frame between, on a button that still looked
   * enabled, was dropped by controls.run (already pending) with nothing shown.
   */
  started(asked) {
    this.render();
    return asked;
  }

  /** New events: a gate event may mean the mode changed elsewhere; read it again. */
  noticeEvents(events) {
    if (events.some((e) => e.type === "gate_wait" || e.type === "gate_pass")) this.refresh();
  }

  /** GET /api/step, one request at a time (a burst of gate events asks once more, after it). */
  refresh() {
    if (this.fetching) {
      this.again = true;
      return this.fetching;
    }
    this.fetching = fetch("/api/step", { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : null))
      .then((body) => { if (body) this.adopt(body); }, () => {})
      .finally(() => {
        this.fetching = null;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
    return this.fetching;
  }

  adopt(body) {
    if (!body.mode) return;
    this.state = { ...(this.state ?? {}), ...body };
    this.requestRender();
  }

  render() {
    const mode = this.state?.mode ?? null;
    setAttr(document.body, "data-step-mode", mode);
    const online = this.sync.connected;
    for (const button of this.buttons) {
      const action = button.dataset.action;
      setAttr(button, "aria-pressed", String(mode !== null && MODE_OF_BUTTON[action] === mode));
      const busy = this.controls.isPending("step-next") || this.controls.isPending("step-mode", MODE_OF_BUTTON[action]);
      button.disabled = !online || busy;
      setAttr(button, "title", online ? t(`step.${action}_title`) : t("hint.offline"));
    }
    if (this.state?.delay_ms && document.activeElement !== this.delay) {
      const shown = String(this.state.delay_ms);
      if (this.delay.value !== shown) this.delay.value = shown;
    }
    if (Array.isArray(this.state?.gates)) {
      for (const box of this.toggles) box.checked = this.state.gates.includes(box.dataset.gateToggle);
    }
    const on = this.toggles.filter((box) => box.checked).length;
    setText(this.gateSummary, t("step.gates", { on, all: this.toggles.length }));
  }
}

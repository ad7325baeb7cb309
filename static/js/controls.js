// Controls: every action goes to the server as a Socket.IO event with an ack,
// and every ack — success or error — is shown on the page, never dropped.
// An ack is {ok: true, status, body} with body exactly the REST answer, or
// {ok: false, status, error, code, params} (docs/api.md, "Socket.IO").
//
// Testability contract: buttons carry data-action (spawn-client + data-count,
// send-message, terminate, kill, join, close-client, restart-server, apply-lab,
// daemon-demo; step, continue, slow: stepper.js; lab-reset, run-demo, flood and
// the lesson-* buttons: lessons.js) and, when they act on one
// process, data-pid; a client's reply
// is in [data-reply-for="<client pid>"]. Every control is .presenter-only:
// a viewer's page hides them (access.js).

import { currentLang, t } from "./i18n.js";
import { h, keyedList, setAttr, setText, unchanged } from "./dom.js";
import { errorText, exitMeaning, roleName, stateName } from "./format.js";

const RESULTS_KEPT = 8;
const EVENT_OF_ACTION = {
  "spawn-client": "spawn_client", "send-message": "send_message", "close-client": "close_client",
  terminate: "terminate", kill: "kill", join: "join", "restart-server": "restart_server",
  "apply-lab": "lab_settings", "daemon-demo": "daemon_demo",
  // step mode (stepper.js): POST /api/step and /api/step/next
  "step-mode": "step_mode", "step-next": "step_next",
  // lessons (lessons.js): a known lab, the p.run() demo, the clients' flood
  "lab-reset": "lab_reset", "run-demo": "run_demo", flood: "flood",
};
/** The page's name of a dispatch action (a lesson names dispatch actions). */
export const ACTION_OF_EVENT = Object.fromEntries(Object.entries(EVENT_OF_ACTION).map(([a, e]) => [e, a]));

export class Controls {
  constructor({ sync, model, onSelect, requestRender, onAcked = () => {} }) {
    this.sync = sync;
    this.model = model;
    this.onSelect = onSelect;
    this.requestRender = requestRender;
    this.onAcked = onAcked;
    this.results = [];              // newest first: {ok, text: () => string, code, action}
    // client pid -> {ok, reply, worker, rtt, ack}; an entry is replaced, never changed
    // in place: a client's row tells a new reply from the one it shows by identity
    this.replies = new Map();
    this.pending = new Set();       // "action:pid" in flight
    this.entryOf = new WeakMap();   // ack -> its results entry (lessons.js shows it too)
  }

  // -- running an action -----------------------------------------------------------------
  async run(action, payload, pid = null) {
    const key = `${action}:${pid ?? ""}`;
    if (this.pending.has(key)) return null;
    this.pending.add(key);
    this.requestRender();
    let ack;
    try {
      ack = await this.sync.call(EVENT_OF_ACTION[action], payload);
    } finally {
      this.pending.delete(key);
    }
    if (!ack || typeof ack !== "object") ack = { ok: false, code: "unknown", error: "" };
    this.entryOf.set(ack, this.report(action, payload, ack));
    this.onAcked(action, ack);
    this.requestRender();
    return ack;
  }

  /** Spawn *count* clients: the spawn buttons and the "c" key. */
  spawn(count) {
    return this.run("spawn-client", { count }, `n${count}`);
  }

  /**
   * terminate / kill / join the process *pid*: the details' buttons and the
   * t / k / j keys. join takes the timeout typed beside its button, as the
   * button does; without one it asks for a plain join(), which the server
   * answers for a zombie and refuses for a running process (409
   * join_would_block, shown in the results like any other refusal).
   */
  actOn(action, pid) {
    const payload = { pid };
    const timeout = this.processBox?.parts.timeout;
    if (action === "join" && timeout && timeout.value.trim() !== ""
        && Number(timeout.dataset.joinTimeoutFor) === pid) {
      payload.timeout = Number(timeout.value);
    }
    return this.run(action, payload, pid);
  }

  isPending(action, pid = null) {
    return this.pending.has(`${action}:${pid ?? ""}`);
  }

  report(action, payload, ack) {
    const entry = { ok: Boolean(ack.ok), action, code: ack.ok ? null : ack.code, at: new Date() };
    if (!ack.ok) {
      entry.text = () => t("result.failed", { action: t(`verb.${EVENT_OF_ACTION[action]}`),
        message: errorText(ack) });
      if (action === "send-message") this.replies.set(payload.pid, { ok: false, ack });
    } else {
      const body = ack.body ?? {};
      entry.text = successText(action, payload, body, this.model);
      if (action === "send-message") {
        this.replies.set(payload.pid, { ok: true, reply: body.reply, worker: body.worker_pid,
          rtt: body.rtt_ms, seq: this.sync.appliedSeq });
      }
    }
    this.results.unshift(entry);
    this.results.length = Math.min(this.results.length, RESULTS_KEPT);
    return entry;
  }

  /** What every page learns from events, acks or not: replies (a viewer sends
   * nothing, yet sees them). What a server said before it closed is the
   * client's own field, p.said, in the model. */
  noticeEvents(events) {
    for (const e of events) {
      if (e.type === "echo" && e.pid) {
        const known = this.replies.get(e.pid);
        if (!known || (known.seq ?? 0) < e.seq) {
          this.replies.set(e.pid, { ok: true, reply: e.reply, worker: e.worker_pid, rtt: e.rtt_ms, seq: e.seq });
        }
      }
    }
  }

  // -- the static buttons: spawn, restart ---------------------------------------------------
  bindStatic(root) {
    for (const button of root.querySelectorAll("[data-action='spawn-client']")) {
      button.addEventListener("click", () => this.spawn(Number(button.dataset.count)));
    }
    for (const button of root.querySelectorAll("[data-action='restart-server']")) {
      button.addEventListener("click", () => this.run("restart-server", {}));
    }
    this.staticButtons = [...root.querySelectorAll("[data-action='spawn-client'], [data-action='restart-server']")];
  }

  renderStatic() {
    for (const button of this.staticButtons) {
      const pid = button.dataset.action === "spawn-client" ? `n${button.dataset.count}` : null;
      const busy = this.isPending(button.dataset.action, pid);
      button.disabled = !this.sync.connected || busy;
      setAttr(button, "aria-busy", busy ? "true" : null);
      setAttr(button, "title", this.sync.connected ? null : t("hint.offline"));
    }
  }

  // -- results ------------------------------------------------------------------------------
  renderResults(list) {
    // Entries are never changed once reported: a new one is a new first entry.
    if (unchanged(list, [currentLang(), this.results[0], this.results.length])) return;
    if (!this.results.length) {
      list.replaceChildren(h("li", { class: "empty", "data-i18n": "results.empty", text: t("results.empty") }));
      return;
    }
    list.replaceChildren(...this.results.map((entry, i) => h("li", {
      class: `result ${entry.ok ? "ok" : "error"}${i === 0 ? " latest" : ""}`,
      "data-result": entry.ok ? "ok" : "error",
      "data-result-action": entry.action,
    },
    h("span", { class: "result-mark", "aria-hidden": "true", text: entry.ok ? "✔" : "✖" }),
    h("span", { class: "result-text", text: entry.text() }),
    entry.code ? h("code", { class: "result-code", text: t("result.code", { code: entry.code }) }) : null)));
  }

  // -- clients: message box, send, reply, close ---------------------------------------------
  /** The live clients' rows; returns how many there are. */
  renderClients(list, empty) {
    const clients = this.model.live().filter((p) => p.role === "client")
      .sort((a, b) => (a.pid ?? 0) - (b.pid ?? 0));
    setAttr(empty, "hidden", clients.length > 0);
    keyedList(list, clients, (p) => p.uid, (p) => this.clientRow(p), (el, p) => this.updateClientRow(el, p));
    return clients.length;
  }

  clientRow(proc) {
    const row = h("li", { class: "client-row" });
    row.uid = proc.uid;
    const name = h("button", { class: "linklike client-name", type: "button",
      onclick: () => this.onSelect(row.uid) });
    const input = h("input", { class: "message presenter-only", type: "text", autocomplete: "off",
      spellcheck: "false", "data-i18n-placeholder": "action.message_placeholder", maxlength: "2000" });
    const send = h("button", { type: "button", class: "primary presenter-only", "data-action": "send-message",
      "data-i18n": "action.send" });
    const close = h("button", { type: "button", class: "presenter-only", "data-action": "close-client",
      "data-i18n": "action.close" });
    const doSend = () => {
      const pid = Number(send.dataset.pid);
      this.run("send-message", { pid, text: input.value }, pid);
    };
    send.addEventListener("click", doSend);
    input.addEventListener("keydown", (ev) => {
      // Enter also confirms a Chinese IME composition: only send when none is open.
      if (ev.key === "Enter" && !ev.isComposing && ev.keyCode !== 229 && !send.disabled) doSend();
    });
    close.addEventListener("click", () => {
      const pid = Number(close.dataset.pid);
      this.run("close-client", { pid }, pid);
    });
    const label = h("span", { class: "reply-label" });
    const text = h("span", { class: "reply-text" });
    const meta = h("span", { class: "reply-meta" });
    const reply = h("div", { class: "reply", "aria-live": "polite" }, label, text, meta);
    const state = h("span", { class: "client-state" });
    const conn = h("span", { class: "client-conn" });
    const status = h("div", { class: "client-status" }, state, conn);
    row.append(h("div", { class: "client-send" }, name, input, send, close), status, reply);
    row.parts = { name, input, send, close, status, state, conn, reply, label, text, meta };
    return row;
  }

  /** Refresh a client's row: only when something it shows has changed (a list
   * of 250 clients is visited on every render, and one message changes one row). */
  updateClientRow(row, p) {
    const said = p.said || null;   // "" when the server closed without a word
    const got = this.replies.get(p.pid);
    const sending = this.isPending("send-message", p.pid);
    const closing = this.isPending("close-client", p.pid);
    const online = this.sync.connected;
    if (unchanged(row, [currentLang(), p.uid, p.pid, p.name, p.state, p.connection, p.worker_pid,
      said, got, sending, closing, online])) return;

    const { name, input, send, close, status, state, conn, reply, label, text, meta } = row.parts;
    const pid = p.pid ?? "";
    row.dataset.uid = p.uid;
    row.dataset.pid = pid;
    setAttr(row, "class", `client-row state-${p.state}`);
    setText(name, t("clients.label", { name: p.name, pid: p.pid ?? t("node.no_pid") }));
    // A second line only when there is something to say: not running, or not connected.
    setText(state, p.state === "running" ? "" : stateName(p.state));
    setAttr(state, "class", p.state === "running" ? "client-state" : `client-state pill state-${p.state}`);
    let connText = "";
    if (p.connection === "closed" && said) connText = t("clients.server_said", { said });
    else if (p.state === "running" && p.connection === "closed") connText = t("node.client_closed");
    else if (p.state === "running" && !p.worker_pid) connText = t("node.client_connecting");
    setText(conn, connText);
    setAttr(status, "hidden", p.state === "running" && !connText);
    setAttr(conn, "data-said", said ?? null);

    setAttr(input, "data-message-for", pid);
    setAttr(input, "aria-label", t("action.message_label", { name: p.name }));
    setAttr(input, "placeholder", t("action.message_placeholder"));
    setText(send, t("action.send"));
    setText(close, t("action.close"));
    for (const b of [send, close]) setAttr(b, "data-pid", pid);
    const running = p.state === "running" && p.pid;
    setAttr(send, "disabled", !online || !running || p.connection === "closed" || sending);
    setAttr(close, "disabled", !online || !running || closing);
    setAttr(send, "aria-busy", sending ? "true" : null);
    setAttr(send, "title", !online ? t("hint.offline")
      : p.connection === "closed" ? t("hint.send_closed") : null);

    setAttr(reply, "data-reply-for", pid);
    if (sending) {
      reply.className = "reply pending";
      setText(label, "");
      setText(text, t("action.pending"));
      setText(meta, "");
    } else if (!got) {
      reply.className = "reply none";
      setText(label, "");
      setText(text, t("reply.none"));
      setText(meta, "");
    } else if (got.ok) {
      reply.className = "reply ok";
      setText(label, t("reply.label"));
      setText(text, got.reply);
      setText(meta, t("reply.meta", { worker: got.worker ?? "?", rtt: fmtMs(got.rtt) }));
    } else {
      reply.className = "reply error";
      setText(label, "");
      setText(text, errorText(got.ack));
      setText(meta, got.ack.code ? t("result.code", { code: got.ack.code }) : "");
    }
  }

  // -- per-process actions: terminate, kill, join(timeout) ----------------------------------
  buildProcessActions() {
    const box = h("div", { class: "proc-actions presenter-only" });
    const target = h("p", { class: "proc-target" });
    const terminate = h("button", { type: "button", class: "danger", "data-action": "terminate" });
    const kill = h("button", { type: "button", class: "danger", "data-action": "kill" });
    const timeout = h("input", { type: "number", min: "0", max: "10", step: "0.5", inputmode: "decimal",
      class: "timeout", id: "join-timeout" });
    const timeoutLabel = h("label", { for: "join-timeout", class: "timeout-label" });
    const join = h("button", { type: "button", class: "primary", "data-action": "join" });
    const hint = h("p", { class: "hint", "aria-live": "polite" });
    const act = (action, button) => this.actOn(action, Number(button.dataset.pid));
    terminate.addEventListener("click", () => act("terminate", terminate));
    kill.addEventListener("click", () => act("kill", kill));
    join.addEventListener("click", () => act("join", join));
    timeout.addEventListener("input", () => this.requestRender());
    box.append(target,
      h("div", { class: "button-row" }, terminate, kill),
      h("div", { class: "button-row join-row" }, timeoutLabel, timeout, join),
      hint);
    Object.assign(box, { parts: { target, terminate, kill, timeout, timeoutLabel, join, hint } });
    this.processBox = box;     // the one box (details.js): actOn() reads its timeout
    return box;
  }

  updateProcessActions(box, proc, orphan) {
    const { target, terminate, kill, timeout, timeoutLabel, join, hint } = box.parts;
    const pid = proc.pid ?? "";
    if (box.dataset.uid !== proc.uid) {
      box.dataset.uid = proc.uid;
      timeout.value = "";
    }
    setText(target, t("action.for_process", { role: roleName(proc.role), name: proc.name, pid: pid || "?" }));
    setText(terminate, t("action.terminate"));
    setText(kill, t("action.kill"));
    setText(join, t("action.join"));
    setText(timeoutLabel, t("action.timeout"));
    timeout.placeholder = t("action.timeout_placeholder");
    for (const b of [terminate, kill, join]) setAttr(b, "data-pid", pid);
    setAttr(timeout, "data-join-timeout-for", pid);

    const online = this.sync.connected;
    const lab = ["server", "worker", "client"].includes(proc.role);
    const hasTimeout = timeout.value.trim() !== "" && Number.isFinite(Number(timeout.value));
    const running = proc.state === "running";
    const zombie = proc.state === "zombie";
    const busy = this.isPending("terminate", proc.pid) || this.isPending("kill", proc.pid)
      || this.isPending("join", proc.pid);
    terminate.disabled = !online || !lab || !running || busy;
    kill.disabled = !online || !lab || !running || busy;
    join.disabled = !online || !lab || busy || !(zombie || (running && hasTimeout));
    timeout.disabled = !lab || !(running || zombie);

    const hints = [];
    if (!online) hints.push("hint.offline");
    else if (proc.role === "dashboard") hints.push("hint.dashboard");
    else if (proc.role === "puzzle") hints.push("hint.puzzle");   // its puzzle's actions move it
    else if (proc.state === "joined") hints.push("hint.joined");
    else if (proc.state === "created") hints.push("hint.created");
    else if (zombie) hints.push("hint.zombie_no_signal");
    else if (running && !hasTimeout) hints.push("hint.join_would_block");
    if (online && lab && (running || zombie)) {
      // Adopted by the dashboard (subreaper): it acts itself. Parentless but not
      // adopted: nobody the lab can ask is its parent, so it will be refused.
      if (proc.orphaned) hints.push("hint.orphan_adopted");
      else if (orphan) hints.push("hint.orphan_actions");
    }
    setText(hint, hints.map((key) => t(key)).join("\n"));
    hint.hidden = !hints.length;
    setAttr(join, "title", running && !hasTimeout ? t("hint.join_would_block") : null);
    setAttr(terminate, "title", zombie ? t("hint.zombie_no_signal") : null);
    setAttr(kill, "title", zombie ? t("hint.zombie_no_signal") : null);
  }
}

function fmtMs(ms) {
  return typeof ms === "number" ? ms.toFixed(ms < 10 ? 2 : 1) : "?";
}

// *body* is the action's answer: the same JSON as its REST route's (docs/api.md).
function successText(action, payload, body, model) {
  if (action === "spawn-client") {
    const pids = body.pids ?? [];
    return () => t("result.spawned", { n: pids.length, pids: pids.join(", ") });
  }
  if (action === "send-message") {
    const name = model.get(payload.pid)?.name ?? payload.pid;
    return () => t("result.sent", { name, reply: body.reply, worker: body.worker_pid ?? "?",
      rtt: fmtMs(body.rtt_ms) });
  }
  if (action === "restart-server") {
    return () => t("result.restarted", { pid: body.pid, host: body.echo?.host, port: body.echo?.port });
  }
  if (action === "apply-lab") {
    const lab = body.lab ?? payload;
    return () => t("result.lab_applied", { pid: body.pid, method: lab.start_method,
      daemon: t(lab.daemon_workers ? "lab.daemon_on" : "lab.daemon_off"),
      style: t(`style.short.${lab.worker_style}`) });
  }
  if (action === "daemon-demo") {
    return () => (body.started ? t("result.demo_started", { name: body.name })
      : t("result.demo", { name: body.name ?? "?", error: body.error ?? "" }));
  }
  if (action === "step-mode") {
    return () => t(`result.step_mode.${body.mode ?? payload.mode}`, { delay: body.delay_ms ?? payload.delay_ms ?? "?",
      gates: (body.gates ?? payload.gates ?? []).join(", ") || t("value.none") });
  }
  if (action === "lab-reset") {
    return () => t("result.lab_reset", { pid: body.pid ?? "?" });
  }
  if (action === "run-demo") {
    return () => t("result.run_demo", { name: body.name ?? "?", run: body.run?.pid ?? "?",
      start: body.start?.pid ?? "?" });
  }
  if (action === "flood") {
    const clients = (body.clients ?? []).filter((c) => c.ok);
    return () => t("result.flood", { n: clients.length, seconds: body.seconds ?? "?",
      rounds: clients.reduce((sum, c) => sum + (c.rounds ?? 0), 0) });
  }
  if (action === "step-next") {
    const released = body.released ?? {};
    const name = model.get(released.pid)?.name ?? released.pid ?? "?";
    return () => t("result.step_next", { name, pid: released.pid ?? "?", gate: released.gate ?? "?" });
  }
  const p = body; // close, terminate, kill, join: the process P itself
  const base = { name: p.name ?? payload.pid, pid: p.pid ?? payload.pid };
  if (action === "join") {
    if (p.state === "joined") {
      return () => t("result.joined", { ...base, meaning: exitMeaning(p.exitcode) });
    }
    return () => t("result.join_timeout", { ...base, timeout: payload.timeout ?? "", state: stateName(p.state) });
  }
  if (action === "close-client") return () => t("result.closed", { ...base, state: stateName(p.state) });
  return () => t(`result.${action}`, { ...base, state: stateName(p.state) });
}

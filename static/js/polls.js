// Predict, then reveal: a question for the room (issue 13; app/web/polls.py).
//
// The presenter asks ("Ask the room": a question and 2–8 choices; a choice of
// several lines is drawn as code, so it can be a small process tree), sees the
// votes come in as bars, closes the vote, runs the action, and marks the
// choice that really happened; the tree beside the card shows it happen.
// Everyone else votes from their own device — the only thing a viewer may do —
// with one large button per choice; their vote stays theirs, highlighted, and
// they see the bars only once voting closes (seeing them before biases the room).
//
// What the page learns, and from where:
// - `poll` (on every connect): the current poll as this connection may see it,
//   with `mine` (its own vote) and the `seq` it is true at;
// - `poll_opened`, `poll_closed`, `poll_revealed` in the event stream, applied
//   when newer than what the page has (history fetched later is older);
// - `poll_counts` (presenter connections only): the live counts while open.
//
// The voter id: 32 random hex digits kept in localStorage and sent as
// `auth.voter` on every connection, so a phone that reconnects on flaky Wi-Fi
// (a new Socket.IO sid) is the same voter and its vote is replaced, not doubled.
//
// Testability contract (docs/api.md): #poll-card[data-poll-id][data-poll-state=
// open|closed|revealed]; li[data-choice=N] with [data-mine], [data-answer];
// [data-count] (the votes, as a number, when the counts are shown);
// buttons data-action=vote|close-poll|reveal-poll (+ data-choice)|ask|poll-form|
// add-choice|remove-choice|dismiss-poll; #poll-status[data-status]; body[data-poll]
// while the card is shown.

import { t } from "./i18n.js";
import { h, setAttr, unchanged } from "./dom.js";
import { errorText } from "./format.js";

const VOTER_KEY = "forkscope.voter";
export const MAX_CHOICES = 8;
export const MIN_CHOICES = 2;
export const MAX_TEXT = 500;
const FORM_CHOICES = 3;

/** This browser's voter id: made once, kept in localStorage (when storage
 * is refused, for this page's life). crypto.getRandomValues works on plain
 * http:// (a lecture hall's LAN address); randomUUID would not. */
export function voterId() {
  try {
    const kept = localStorage.getItem(VOTER_KEY);
    if (kept && /^[A-Za-z0-9_-]{16,64}$/.test(kept)) return kept;
  } catch { /* storage disabled: a fresh id below */ }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const id = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  try {
    localStorage.setItem(VOTER_KEY, id);
  } catch { /* kept for this page only */ }
  return id;
}

export function letter(i) {
  return String.fromCharCode(65 + i);
}

/** A choice's text: a monospace block when it has several lines (a small tree). */
function choiceText(text) {
  return text.includes("\n")
    ? h("pre", { class: "poll-tree", text })
    : h("span", { class: "poll-text", text });
}

function percent(n, total) {
  return total ? Math.round((100 * n) / total) : 0;
}

export class PollPanel {
  /** *hides(poll)*: a poll this card leaves to another panel (a lesson's question is
   * drawn in the lesson, in each page's language: lessons.js). */
  constructor({ sync, isPresenter, requestRender, hides = () => false }) {
    this.hides = hides;
    this.sync = sync;
    this.isPresenter = isPresenter;         // () => true | false | null (not known yet)
    this.requestRender = requestRender;
    this.poll = null;        // {id, question, choices, state, counts, voters, answer, note, mine}
    this.seq = 0;            // the seq this.poll is true at
    this.version = 0;        // +1 on every change: the card is redrawn when it moves
    this.dismissed = null;   // the id of a poll hidden on this page
    this.pending = null;     // the choice (or action) waiting for its ack
    this.status = null;      // {kind: ok|error|pending, text: () => string}
    this.card = document.querySelector("#poll-card");
    this.dialog = document.querySelector("#poll-dialog");
    this.form = document.querySelector("#poll-form");
    this.formChoices = document.querySelector("#poll-form-choices");
    this.formResult = document.querySelector("#poll-form-result");
  }

  bind() {
    this.sync.on("poll", (view) => this.onPoll(view));
    this.sync.on("poll_counts", (counts) => this.onCounts(counts));
    this.card.addEventListener("click", (ev) => this.onClick(ev));
    document.querySelector("[data-action='poll-form']").addEventListener("click", () => this.openForm());
    this.dialog.querySelector("[data-action='close-poll-form']")
      .addEventListener("click", () => this.dialog.close());
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.ask();
    });
    this.form.addEventListener("click", (ev) => {
      const button = ev.target.closest("button[data-action]");
      if (button?.dataset.action === "add-choice") this.addChoice("");
      if (button?.dataset.action === "remove-choice") this.removeChoice(button.closest("li"));
    });
    this.resetForm();
  }

  // -- what the server says ------------------------------------------------------------
  change(poll, seq) {
    this.poll = poll;
    this.seq = Math.max(this.seq, seq ?? 0);
    this.version += 1;
    this.requestRender();
  }

  /** `poll`, on connect: the whole truth for this connection at `seq`. */
  onPoll(view) {
    if (!view || (view.seq ?? 0) < this.seq) return;
    this.change({ id: view.id, question: view.question, choices: view.choices,
      state: view.state, counts: view.counts, voters: view.voters, answer: view.answer,
      note: view.note, mine: view.mine ?? null }, view.seq);
  }

  /** `poll_counts`: the presenter's live bars. */
  onCounts({ poll, counts, voters }) {
    if (this.poll?.id !== poll || this.poll.state !== "open") return;
    this.change({ ...this.poll, counts, voters }, this.seq);
  }

  /** The stream's poll events (live, or history fetched after connecting). */
  noticeEvents(events) {
    for (const e of events) {
      if (!e.type.startsWith("poll_") || e.seq <= this.seq) continue;
      const same = this.poll?.id === e.poll;
      if (e.type === "poll_opened") {
        this.change({ id: e.poll, question: e.question, choices: e.choices, state: "open",
          counts: this.isPresenter() ? e.choices.map(() => 0) : null, voters: 0,
          answer: null, note: null, mine: null }, e.seq);
        this.status = null;
        if (this.dialog.open) this.dialog.close();
      } else if (e.type === "poll_closed" && same) {
        this.change({ ...this.poll, state: "closed", counts: e.counts, voters: e.voters }, e.seq);
      } else if (e.type === "poll_revealed" && same) {
        this.change({ ...this.poll, state: "revealed", answer: e.choice ?? null,
          note: e.note ?? null }, e.seq);
      }
    }
  }

  // -- acting --------------------------------------------------------------------------
  onClick(ev) {
    const button = ev.target.closest("button[data-action]");
    if (!button || button.disabled || !this.poll) return;
    const choice = button.dataset.choice === undefined ? null : Number(button.dataset.choice);
    const { action } = button.dataset;
    if (action === "vote") this.vote(choice);
    else if (action === "close-poll") this.act("close_poll", { poll: this.poll.id });
    else if (action === "reveal-poll") this.act("reveal_poll", { poll: this.poll.id, choice });
    else if (action === "dismiss-poll") this.dismiss();
    else if (action === "poll-form") this.openForm();
  }

  async vote(choice) {
    const poll = this.poll;
    if (this.pending !== null || poll.state !== "open") return;
    this.pending = choice;
    this.status = { kind: "pending", text: () => t("poll.sending") };
    this.version += 1;
    this.requestRender();
    const ack = await this.sync.call("vote", { poll: poll.id, choice });
    this.pending = null;
    if (ack.ok && this.poll?.id === poll.id) {
      this.poll = { ...this.poll, mine: ack.body.choice };
      this.status = { kind: "ok", text: () => t("poll.received", { choice: letter(ack.body.choice) }) };
    } else if (!ack.ok) {
      this.status = { kind: "error", text: () => (ack.code === "rate_limited" ? t("poll.too_fast") : errorText(ack)) };
    }
    this.version += 1;
    this.requestRender();
  }

  /** close_poll / reveal_poll / ask_poll: the events bring the new state; an
   * error is said in the card (or the form). */
  async act(event, payload) {
    if (this.pending !== null) return null;
    this.pending = event;
    this.version += 1;
    this.requestRender();
    const ack = await this.sync.call(event, payload);
    this.pending = null;
    this.status = ack.ok ? null
      : { kind: "error", text: () => t("poll.failed", { message: errorText(ack) }) };
    this.version += 1;
    this.requestRender();
    return ack;
  }

  dismiss() {
    this.dismissed = this.poll.id;
    this.version += 1;
    this.requestRender();
  }

  // -- the presenter's form ----------------------------------------------------------------
  openForm() {
    if (!this.isPresenter()) return;
    this.formResult.textContent = "";
    this.formResult.className = "dialog-result";
    this.renumber();
    if (!this.dialog.open) this.dialog.showModal();
    this.form.querySelector("[name='question']").focus();
  }

  resetForm() {
    this.form.querySelector("[name='question']").value = "";
    this.formChoices.replaceChildren();
    for (let i = 0; i < FORM_CHOICES; i += 1) this.addChoice("");
  }

  addChoice(value) {
    if (this.formChoices.children.length >= MAX_CHOICES) return;
    const area = h("textarea", { name: "choice", rows: "2", maxlength: String(MAX_TEXT), spellcheck: "false" });
    area.value = value;
    this.formChoices.append(h("li", { class: "poll-form-choice" },
      h("label", {}, h("span", { class: "poll-letter" }), area),
      h("button", { type: "button", class: "small", "data-action": "remove-choice" }, "×")));
    this.renumber();
  }

  removeChoice(li) {
    if (this.formChoices.children.length <= MIN_CHOICES) return;
    li.remove();
    this.renumber();
  }

  /** Letters, labels, and which buttons apply, after a change or a new language. */
  renumber() {
    const rows = [...this.formChoices.children];
    rows.forEach((li, i) => {
      li.querySelector(".poll-letter").textContent = letter(i);
      li.querySelector("textarea").setAttribute("aria-label", t("poll.form_choice", { letter: letter(i) }));
      const remove = li.querySelector("[data-action='remove-choice']");
      remove.disabled = rows.length <= MIN_CHOICES;
      remove.title = t("poll.remove_choice", { letter: letter(i) });
      remove.setAttribute("aria-label", remove.title);
    });
    this.form.querySelector("[data-action='add-choice']").disabled = rows.length >= MAX_CHOICES;
  }

  async ask() {
    const question = this.form.querySelector("[name='question']").value;
    // empty rows are left out; a trailing space or newline is the typist's, not the choice's
    const choices = [...this.form.querySelectorAll("[name='choice']")]
      .map((area) => area.value.replace(/\s+$/, "")).filter((text) => text.trim());
    this.formResult.className = "dialog-result pending";
    this.formResult.textContent = t("poll.sending");
    const ack = await this.act("ask_poll", { question, choices });
    this.status = null;
    if (ack?.ok) {
      this.resetForm();
      if (this.dialog.open) this.dialog.close();
    } else if (ack) {
      this.formResult.className = "dialog-result error";
      this.formResult.textContent = t("poll.failed", { message: errorText(ack) });
    }
  }

  languageChanged() {
    this.renumber();
    this.version += 1;
  }

  // -- drawing -----------------------------------------------------------------------------
  render() {
    const poll = this.poll;
    const shown = Boolean(poll) && this.dismissed !== poll.id && !this.hides(poll);
    this.card.hidden = !shown;
    setAttr(document.body, "data-poll", shown ? poll.state : null);
    const presenter = this.isPresenter();
    if (!shown || unchanged(this.card, [this.version, presenter])) return;
    setAttr(this.card, "data-poll-id", poll.id);
    setAttr(this.card, "data-poll-state", poll.state);
    const focused = document.activeElement?.closest?.("#poll-card [data-action]");
    const refocus = focused && `[data-action='${focused.dataset.action}']`
      + (focused.dataset.choice !== undefined ? `[data-choice='${focused.dataset.choice}']` : "");
    this.card.replaceChildren(...this.draw(poll, presenter));
    if (refocus) this.card.querySelector(refocus)?.focus();
  }

  draw(poll, presenter) {
    const voting = poll.state === "open" && !presenter;
    const bars = Array.isArray(poll.counts);
    const total = bars ? poll.counts.reduce((a, b) => a + b, 0) : 0;
    const head = h("div", { class: "poll-head" },
      h("h2", { class: "poll-title", text: t("poll.title") }),
      h("span", { class: `poll-badge state-${poll.state}`, text: t(`poll.state.${poll.state}`) }),
      presenter || poll.state !== "open"
        ? h("span", { class: "poll-voters", "data-voters": poll.voters, text: t("poll.voters", { n: poll.voters }) })
        : null,
      poll.state === "open" ? null : h("button", { type: "button", class: "small poll-dismiss",
        "data-action": "dismiss-poll", title: t("poll.dismiss"), "aria-label": t("poll.dismiss") }, "×"));
    const question = h("p", { class: "poll-question", text: poll.question });
    const list = h("ol", { class: "poll-choices" }, poll.choices.map((text, i) => {
      const li = h("li", { class: "poll-choice", "data-choice": i,
        "data-mine": poll.mine === i, "data-answer": poll.state === "revealed" && poll.answer === i });
      const tags = h("span", { class: "poll-tags" },
        poll.state === "revealed" && poll.answer === i ? h("span", { class: "poll-tag answer", text: `✓ ${t("poll.answer")}` }) : null,
        poll.mine === i && !voting ? h("span", { class: "poll-tag mine", text: t("poll.mine") }) : null);
      if (voting) {
        li.append(h("button", { type: "button", class: "poll-vote", "data-action": "vote", "data-choice": i,
          "aria-pressed": String(poll.mine === i), "aria-busy": this.pending === i ? "true" : null },
        h("span", { class: "poll-letter", text: letter(i) }), choiceText(text),
        poll.mine === i ? h("span", { class: "poll-tag mine", text: `✓ ${t("poll.mine")}` }) : null));
        return li;
      }
      li.append(h("div", { class: "poll-row" },
        h("span", { class: "poll-letter", text: letter(i) }), choiceText(text), tags));
      if (bars) {
        const fill = h("span", { class: "poll-fill" });
        fill.style.width = `${total ? (100 * poll.counts[i]) / total : 0}%`;
        // closed, the presenter marks the choice that came true: one button per bar
        const reveal = presenter && poll.state === "closed"
          ? h("button", { type: "button", class: "small poll-reveal", "data-action": "reveal-poll",
            "data-choice": i, title: t("poll.reveal_title", { letter: letter(i) }),
            disabled: this.pending !== null }, t("poll.reveal"))
          : null;
        li.append(h("div", { class: "poll-bar-row" }, h("span", { class: "poll-bar" }, fill),
          h("span", { class: "poll-count", "data-count": poll.counts[i],
            text: t("poll.count", { n: poll.counts[i], percent: percent(poll.counts[i], total) }) }),
          reveal));
      }
      return li;
    }));
    return [head, question, ...this.outcome(poll, total), list, ...this.footer(poll, presenter, bars)];
  }

  /** Revealed: how many predicted it, and the note, above the bars (the line the room reads). */
  outcome(poll, total) {
    if (poll.state !== "revealed") return [];
    const right = poll.answer === null ? null : poll.counts?.[poll.answer] ?? 0;
    return [h("p", { class: "poll-outcome", "data-answer": poll.answer ?? "none" },
      poll.answer === null ? `${t("poll.answer")}: ${t("poll.no_answer")}`
        : t("poll.predicted", { n: right, total, percent: percent(right, total) })),
    poll.note ? h("p", { class: "poll-note", text: poll.note }) : null].filter(Boolean);
  }

  footer(poll, presenter, bars) {
    const out = [];
    if (!presenter) {
      const status = this.viewerStatus(poll);
      if (status) {
        out.push(h("p", { id: "poll-status", class: `poll-status ${status.kind}`, role: "status",
          "aria-live": "polite", "data-status": status.kind, text: status.text() }));
      }
      if (poll.state === "open" && !bars) out.push(h("p", { class: "poll-hint", text: t("poll.counts_hidden") }));
      return out;
    }
    if (this.status) {
      out.push(h("p", { id: "poll-status", class: `poll-status ${this.status.kind}`, role: "status",
        "data-status": this.status.kind, text: this.status.text() }));
    }
    const busy = this.pending !== null;
    if (poll.state === "open") {
      out.push(h("div", { class: "button-row" }, h("button", { type: "button", class: "primary",
        "data-action": "close-poll", disabled: busy }, t("poll.close"))));
    } else {
      if (poll.state === "closed") out.push(h("p", { class: "poll-hint", text: t("poll.reveal_hint") }));
      out.push(h("div", { class: "button-row" },
        poll.state === "closed" ? h("button", { type: "button", "data-action": "reveal-poll",
          disabled: busy }, t("poll.reveal_none")) : null,
        h("button", { type: "button", "data-action": "poll-form", class: "primary" }, t("poll.new"))));
    }
    return out;
  }

  /** What a voter reads under the choices. */
  viewerStatus(poll) {
    const mine = poll.mine === null || poll.mine === undefined ? null : letter(poll.mine);
    if (poll.state === "open") {
      if (this.status) return this.status;
      return mine ? { kind: "ok", text: () => t("poll.received", { choice: mine }) }
        : { kind: "hint", text: () => t("poll.vote_hint") };
    }
    if (poll.state === "revealed" && mine && poll.answer !== null) {
      const answer = letter(poll.answer);
      return poll.mine === poll.answer ? { kind: "right", text: () => t("poll.right", { choice: answer }) }
        : { kind: "wrong", text: () => t("poll.wrong", { mine, choice: answer }) };
    }
    return { kind: "closed", text: () => (mine ? t("poll.closed_mine", { choice: mine }) : t("poll.closed_none")) };
  }
}

// The Lessons panel: guided lessons on the real lab (app/lessons/*.json, from
// GET /api/lessons), a script of narrated steps the presenter walks through.
//
// Each step shows its narration in large type, the Python it is about, and,
// when it has one, the question the room answers first. The presenter's Next
// (the button, n, PageDown — a clicker's key) does the next thing: a step
// whose actions have not run runs them — through controls.run, the very
// sync.call the buttons use, each action a dispatch action named in the
// lesson with its references (@server, @client:1...) resolved against the
// live model (lesson-refs.js) — else it moves to the next step. Back (b,
// PageUp) shows the step before; the lab is real, nothing is undone.
//
// After a step's actions, its truth rule (lesson-truth.js) names the choice
// that really happened, from the model, /proc (GET /api/truth) and the
// actions' answers; the panel shows it beside the question, with the facts.
//
// Every page follows the presenter: each move is announced (lesson_step, a
// dispatch action; the dashboard reports it as a lesson_step event), and a
// viewer's panel shows that lesson, step and outcome, read-only.
//
// Testability contract (docs/api.md): #lessons[data-loaded] once the lessons
// and the current step are known; #lessons[data-lesson][data-step]
// [data-steps][data-phase=ready|asking|running|done|failed];
// body[data-lesson] while one is open; buttons data-action=lesson-open
// (+ data-lesson-id), lesson-next (data-next=run|step|end), lesson-back,
// lesson-close; .lesson-narration; .lesson-code; .lesson-choice[data-choice-key]
// [data-true] (+ [data-count] when votes are known); .lesson-result
// [data-result=ok|error][data-action-name]; .lesson-fact[data-fact-key];
// .lesson-show li[data-show-pid]; .lesson-meter[data-lab-share] (the lab's processes'
// CPU together, % of one core) with .core[data-core][data-percent].

import { currentLang, has, t } from "./i18n.js";
import { h, setAttr, setText, unchanged } from "./dom.js";
import { ACTION_OF_EVENT } from "./controls.js";
import { errorText, stateName } from "./format.js";
import { byPid, fillArgs, isRef, LIST_REFS, resolve, resolveProcs } from "./lesson-refs.js";
import { RULES } from "./lesson-truth.js";

const CPU_POLL_MS = 500;
const SETTLE_MS = 3000;          // how long a truth rule may wait for the model to catch up
const SETTLE_POLL_MS = 50;

/** A text of the lesson in the page's language (a lesson carries both). */
export function say(text, params = {}) {
  const template = text?.[currentLang()] ?? text?.en ?? "";
  return template.replace(/\{(\w+)\}/g, (whole, name) => (params[name] ?? whole));
}

/** A fact ({key, params}) in the page's language: role names are translated. */
export function factText(fact) {
  const params = { ...fact.params };
  if ("parent_role" in params) {
    const role = params.parent_role;
    const word = role === "init" ? t("lesson.init")
      : has(`role.${role}`) ? t(`role.${role}`) : t("role.unknown");
    params.parent = params.parent_name ? `${word} ${params.parent_name}` : word;
  }
  return t(fact.key, params);
}

/** A dispatch call as the page shows it: terminate(pid=1234). */
export function callText(action, payload) {
  const args = Object.entries(payload ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${action}(${args.join(", ")})`;
}

export class Lessons {
  constructor({ root, controls, sync, model, access, requestRender, truthNow, onActive = () => {} }) {
    this.root = root;
    this.controls = controls;
    this.sync = sync;
    this.model = model;
    this.access = access;
    this.requestRender = requestRender;
    this.truthNow = truthNow;         // () => the last /api/truth?detail=0 answer (the badge's)
    this.onActive = onActive;         // (lessonId | null) => the page places the panel
    this.catalogue = null;
    this.lessonId = null;
    this.step = 0;
    this.runs = new Map();            // "lesson:step" -> what this page ran there
    this.followed = null;             // the last lesson_step heard: {lesson, step, phase, truth, outcome}
    this.followedSeq = 0;
    this.cpu = null;
    this.cpuTimer = 0;
    this.busy = false;
    // the room's votes (polls: app/web/polls.py): "lesson:step" -> {id, state, counts, mine, answer}
    this.polls = new Map();
    this.voting = null;               // the choice this page's vote is on its way for
    this.$ = (sel) => root.querySelector(sel);
  }

  get presenter() {
    return this.access.presenter === true;
  }

  get lesson() {
    return this.catalogue?.find((l) => l.id === this.lessonId) ?? null;
  }

  get current() {
    return this.lesson?.steps[this.step] ?? null;
  }

  record(create = false) {
    const key = `${this.lessonId}:${this.step}`;
    if (create && !this.runs.has(key)) this.runs.set(key, { phase: this.current?.ask ? "asking" : "ready" });
    return this.runs.get(key) ?? null;
  }

  // -- loading and following -----------------------------------------------------------
  async bind() {
    // a poll as this connection may see it (on connect), and the presenter's live counts
    this.sync.on?.("poll", (view) => this.pollSeen(view));
    this.sync.on?.("poll_counts", ({ poll, counts }) => this.pollChanged(poll, { counts }));
    this.root.addEventListener("click", (ev) => {
      const button = ev.target.closest("button[data-action]");
      if (!button || button.disabled) return;
      const action = button.dataset.action;
      if (action === "lesson-vote") this.vote(Number(button.dataset.choice));
      else if (action === "lesson-open") this.open(button.dataset.lessonId);
      else if (action === "lesson-next") this.next();
      else if (action === "lesson-back") this.back();
      else if (action === "lesson-close") this.close();
    });
    try {
      const [all, current] = await Promise.all([
        fetch("/api/lessons", { cache: "no-store" }).then((r) => r.json()),
        fetch("/api/lessons/current", { cache: "no-store" }).then((r) => r.json()),
      ]);
      this.catalogue = all;
      if (current?.lesson && !this.lessonId) this.follow(current, { initial: true });
    } catch (error) {
      console.warn("forkscope: could not load the lessons", error);
      this.catalogue = this.catalogue ?? [];
    }
    this.requestRender();
  }

  /** New events: a lesson_step moves this page where the presenter is. */
  noticeEvents(events) {
    for (const e of events) {
      if (e.type === "lesson_step" && e.seq > this.followedSeq) {
        this.followedSeq = e.seq;
        this.follow(e);
      } else if (e.type === "poll_opened" && typeof e.lesson === "string") {
        // the presenter's bars start at zero (poll_counts moves them); the room sees none yet
        this.pollSeen({ id: e.poll, lesson: e.lesson, step: e.step, state: "open",
          counts: this.presenter ? e.choices.map(() => 0) : null, mine: null, answer: null });
      } else if (e.type === "poll_closed") {
        this.pollChanged(e.poll, { state: "closed", counts: e.counts });
      } else if (e.type === "poll_revealed") {
        this.pollChanged(e.poll, { state: "revealed", answer: e.choice ?? null });
      }
    }
  }

  // -- the room's predictions: a step's question is a poll (app/web/polls.py) ------------
  /** A lesson's poll, seen (poll_opened, or the `poll` message on connect). */
  pollSeen(view) {
    if (!view || typeof view.lesson !== "string" || !Number.isInteger(view.step)) return;
    const key = `${view.lesson}:${view.step}`;
    const known = this.polls.get(key);
    if (known && known.id > view.id) return;          // an older poll of the same step
    this.polls.set(key, { id: view.id, lesson: view.lesson, state: view.state ?? "open",
      counts: view.counts ?? null, mine: view.mine ?? known?.mine ?? null, answer: view.answer ?? null });
    this.requestRender();
  }

  pollChanged(id, change) {
    for (const [key, poll] of this.polls) {
      if (poll.id === id) this.polls.set(key, { ...poll, ...change });
    }
    this.requestRender();
  }

  /** Is poll *id* a lesson's (its question is drawn here, not on the poll card)? A
   * poll labelled with something else — a puzzle's — is the card's. */
  ownsPoll(id) {
    return [...this.polls.values()].some((p) => p.id === id
      && this.catalogue?.some((lesson) => lesson.id === p.lesson));
  }

  pollHere() {
    return this.polls.get(`${this.lessonId}:${this.step}`) ?? null;
  }

  /** The presenter asks the room the step's question: a poll, labelled with the
   * lesson and step (every page draws it from the lesson, in its own language). */
  async askPoll(step, rec) {
    if (rec.asked) return;
    rec.asked = true;
    const body = { question: say(step.ask.question), choices: step.ask.choices.map((c) => say(c.text)),
      lesson: this.lessonId, step: this.step };
    let ack = await this.sync.call("ask_poll", body);
    if (!ack.ok && ack.code === "poll_open" && ack.params?.poll) {   // one left open: close it
      await this.sync.call("close_poll", { poll: ack.params.poll });
      ack = await this.sync.call("ask_poll", body);
    }
    if (ack.ok) rec.poll = ack.body.id;
    else if (ack.code !== "unknown_event") console.warn("forkscope: the lesson's poll was refused", ack);
  }

  /** A viewer's vote (the only thing a viewer may do): the same event the poll card sends. */
  async vote(choice) {
    const poll = this.pollHere();
    if (!poll || poll.state !== "open" || this.voting !== null) return;
    this.voting = choice;
    this.requestRender();
    const ack = await this.sync.call("vote", { poll: poll.id, choice });
    this.voting = null;
    if (ack.ok) this.pollChanged(poll.id, { mine: ack.body.choice });
    else console.warn("forkscope: the vote was refused", ack);
    this.requestRender();
  }

  /** Go where the presenter is — unless this page is the presenter's: it moved
   * there itself, and its own announcements, arriving late, must not pull it
   * back a step (only a page opened mid-lesson starts where the lesson is). */
  follow(news, { initial = false } = {}) {
    this.followed = { lesson: news.lesson ?? null, step: news.step ?? 0, phase: news.phase ?? null,
      truth: news.truth ?? null, outcome: news.outcome ?? null };
    if (this.presenter && !initial) {
      this.requestRender();
      return;
    }
    const changed = news.lesson !== this.lessonId;
    this.lessonId = news.lesson ?? null;
    this.step = news.step ?? 0;
    if (changed) this.onActive(this.lessonId);
    this.requestRender();
  }

  // -- the presenter's moves -------------------------------------------------------------
  open(id) {
    if (!this.presenter || !this.catalogue?.some((l) => l.id === id)) return;
    // a lesson opened again starts again: from its reset, nothing marked as run
    for (const key of [...this.runs.keys()]) if (key.startsWith(`${id}:`)) this.runs.delete(key);
    this.lessonId = id;
    this.onActive(id);
    this.goto(0);
  }

  close() {
    if (!this.presenter) return;
    this.lessonId = null;
    this.step = 0;
    this.onActive(null);
    this.announce({ lesson: null, step: 0 });
    this.requestRender();
  }

  /** n / PageDown / the Next button. False when there was nothing to do (the
   * browser keeps the key: PageDown scrolls a page that is not in a lesson). */
  next() {
    if (!this.presenter || !this.lesson) return false;
    if (this.busy) return true;
    const step = this.current;
    const rec = this.record(true);
    if (step.do?.length && (rec.phase === "ready" || rec.phase === "asking")) {
      this.run();
    } else if (this.step < this.lesson.steps.length - 1) {
      this.goto(this.step + 1);
    }
    return true;
  }

  back() {
    if (!this.presenter || !this.lesson) return false;
    if (this.busy) return true;
    if (this.step > 0) this.goto(this.step - 1);
    return true;
  }

  goto(step) {
    this.step = step;
    const rec = this.record(true);
    this.announce(this.news(rec));
    if (this.current.ask && rec.phase === "asking") this.askPoll(this.current, rec);
    this.requestRender();
    // a new step starts at its narration (the panel may have scrolled to the last outcome)
    const scroller = this.root.closest(".lessons-aside, .tab-panel");
    if (scroller && getComputedStyle(scroller).overflowY !== "visible") scroller.scrollTop = 0;
  }

  news(rec) {
    const news = { lesson: this.lessonId, step: this.step, phase: rec.phase };
    if (rec.phase === "done" || rec.phase === "failed") {
      if (rec.truth !== undefined) news.truth = rec.truth;
      if (rec.facts) news.outcome = rec.facts;
    }
    return news;
  }

  /** Tell the dashboard (and so every viewer) where the lesson is. */
  async announce(news) {
    if (!this.presenter) return;
    const ack = await this.sync.call("lesson_step", news);
    if (!ack?.ok) console.warn("forkscope: lesson_step refused", ack);
  }

  // -- running a step ---------------------------------------------------------------------
  async run() {
    const step = this.current;
    const rec = this.record(true);
    this.busy = true;
    Object.assign(rec, { phase: "running", results: [], acks: [], truth: undefined, facts: null });
    this.requestRender();
    try {
      // the vote ends before the action: the room predicted, now it watches
      if (rec.poll) await this.sync.call("close_poll", { poll: rec.poll });
      // what the question is about, as it is BEFORE the action
      rec.watch = step.truth?.watch ? resolve(step.truth.watch, this.model) : null;
      if (step.meter === "cpu") {
        rec.peak = [];
        // while it runs, the room watches the cores: the meter into view
        requestAnimationFrame(() => this.$(".lesson-meter:not([hidden])")?.scrollIntoView({ block: "center" }));
      }
      this.pollCpu(step);
      for (const { action, args } of step.do) {
        const { payload, missing } = fillArgs(args, this.model);
        const call = callText(action, payload);
        if (missing.length) {
          rec.results.push({ ok: false, action, call, text: t("lesson.missing", { ref: missing.join(", ") }) });
          break;
        }
        const ack = await this.controls.run(ACTION_OF_EVENT[action], payload, payload.pid ?? null);
        if (!ack) {
          rec.results.push({ ok: false, action, call, text: t("lesson.busy") });
          break;
        }
        rec.acks.push({ action, ok: Boolean(ack.ok), body: ack.body ?? null });
        const entry = this.controls.entryOf.get(ack);
        rec.results.push({ ok: Boolean(ack.ok), action, call, code: ack.ok ? null : ack.code,
          text: entry ? entry.text() : errorText(ack) });
        this.requestRender();
        if (!ack.ok) break;
      }
      const failed = rec.results.some((r) => !r.ok);
      if (step.truth && !failed) Object.assign(rec, await this.verdict(step, rec));
      rec.phase = failed ? "failed" : "done";
    } catch (error) {
      console.error(error);
      rec.results.push({ ok: false, action: "?", call: "", text: String(error) });
      rec.phase = "failed";
    } finally {
      this.busy = false;
    }
    this.announce(this.news(rec));
    if (rec.poll && rec.phase === "done") {             // the choice that came true, or none
      const index = step.ask.choices.findIndex((c) => c.key === rec.truth);
      this.sync.call("reveal_poll", { poll: rec.poll, choice: index < 0 ? null : index });
    }
    this.requestRender();
    // the outcome into view once drawn: on a projector the narration was read already
    requestAnimationFrame(() => {
      const outcome = [".lesson-ask", ".lesson-results"].map((sel) => this.$(sel)).find((el) => !el.hidden);
      outcome?.scrollIntoView({ block: "start" });
    });
  }

  /** The truth rule's verdict once the model has caught up: {truth, facts}. */
  async verdict(step, rec) {
    const rule = RULES[step.truth.rule];
    const ctx = { watch: rec.watch, acks: rec.acks, model: this.model,
      dashboardPid: this.model.dashboard()?.pid ?? null, os: () => null,
      cpu: this.cpu ? { cores: this.cpu.cores, peak: rec.peak ?? [], lab: rec.labPeak ?? null } : null };
    const deadline = performance.now() + SETTLE_MS;
    while (!rule.ready(ctx) && performance.now() < deadline) {
      await new Promise((resolveTimer) => setTimeout(resolveTimer, SETTLE_POLL_MS));
    }
    ctx.os = osView(await fetchJson("/api/truth?detail=0"));
    const { truth, facts } = rule.judge(ctx);
    return { truth, facts };
  }

  // -- the CPU meter (lesson ⑥): GET /api/cpu while the step shows it ---------------------
  pollCpu(step = this.current) {
    if (step?.meter !== "cpu" || this.cpuTimer) return;
    const tick = async () => {
      this.cpuTimer = 0;
      if (this.current?.meter !== "cpu") return;
      const reading = await fetchJson("/api/cpu");
      if (reading) {
        this.cpu = reading;
        const rec = this.record();
        if (rec?.phase === "running" && rec.peak) {
          reading.percent.forEach((p, i) => { rec.peak[i] = Math.max(rec.peak[i] ?? 0, p); });
          rec.labPeak = Math.max(rec.labPeak ?? 0, labShare(reading));
        }
        this.requestRender();
      }
      if (this.current?.meter === "cpu" && !this.cpuTimer) this.cpuTimer = setTimeout(tick, CPU_POLL_MS);
    };
    this.cpuTimer = setTimeout(tick, 0);
  }

  // -- rendering --------------------------------------------------------------------------
  render() {
    if (!this.catalogue) return;
    setAttr(this.root, "data-loaded", "true");
    const lesson = this.lesson;
    setAttr(document.body, "data-lesson", lesson ? lesson.id : null);
    setAttr(this.root, "data-lesson", lesson ? lesson.id : null);
    this.$(".lessons-list").hidden = Boolean(lesson);
    this.$(".lesson-current").hidden = !lesson;
    if (!lesson) {
      setAttr(this.root, "data-step", null);
      setAttr(this.root, "data-steps", null);
      setAttr(this.root, "data-phase", null);
      this.renderList();
      return;
    }
    const step = this.current;
    const rec = this.record() ?? this.fromFollowed();
    const phase = rec?.phase ?? (step.ask ? "asking" : "ready");
    setAttr(this.root, "data-step", this.step);
    setAttr(this.root, "data-steps", lesson.steps.length);
    setAttr(this.root, "data-phase", phase);
    if (step.meter === "cpu") this.pollCpu(step);

    setText(this.$(".lesson-title"), say(lesson.title));
    setText(this.$(".lesson-progress"), t("lesson.progress", { k: this.step + 1, n: lesson.steps.length }));
    setText(this.$(".lesson-narration"), say(step.narration, { cores: this.cpu?.cores ?? "?" }));
    const code = this.$(".lesson-code");
    code.hidden = !step.code;
    setText(code.firstElementChild, step.code ?? "");
    this.renderAsk(step, rec, phase);
    this.renderResults(rec);
    this.renderFacts(rec);
    this.renderShow(step);
    this.renderMeter(step);
    this.renderNav(step, rec, phase);
  }

  /** What a page that did not run the step knows of it: the presenter's announcement. */
  fromFollowed() {
    const f = this.followed;
    if (!f || f.lesson !== this.lessonId || f.step !== this.step) return null;
    return { phase: f.phase, truth: f.truth ?? undefined, facts: f.outcome };
  }

  // Each part is drawn again only when what it shows has changed: the page renders
  // on every event, and a button drawn anew under a finger loses its click.
  renderList() {
    const list = this.$(".lessons-list ol");
    if (unchanged(list, [currentLang(), this.presenter, this.sync.connected, this.catalogue])) return;
    setText(this.$(".lessons-intro"), t(this.presenter ? "lessons.intro" : "lessons.waiting"));
    // a viewer's page has no control: the titles, and which lesson is the presenter's
    list.replaceChildren(...this.catalogue.map((lesson) => h("li", { "data-lesson-id": lesson.id },
      this.presenter
        ? h("button", { type: "button", class: "lesson-open", "data-action": "lesson-open",
          "data-lesson-id": lesson.id, disabled: !this.sync.connected, text: say(lesson.title) })
        : h("span", { class: "lesson-name", text: say(lesson.title) }),
      h("span", { class: "lesson-count", text: t("lessons.steps", { n: lesson.steps.length }) }))));
  }

  renderAsk(step, rec, phase) {
    const box = this.$(".lesson-ask");
    box.hidden = !step.ask;
    if (!step.ask) return;
    const poll = this.pollHere();
    setAttr(this.root, "data-poll-state", poll?.state ?? null);
    if (unchanged(box, [currentLang(), step, phase, rec?.truth, poll, this.voting, this.presenter])) return;
    setText(this.$(".lesson-question"), say(step.ask.question));
    const known = phase === "done" && rec && rec.truth !== undefined;
    const counts = poll?.counts ?? null;
    // a viewer votes while the poll is open: each choice is a large button
    const voting = poll?.state === "open" && this.access.presenter === false;
    const total = counts ? counts.reduce((a, b) => a + b, 0) : 0;
    this.$(".lesson-choices").replaceChildren(...step.ask.choices.map((choice, i) => {
      const isTrue = known && rec.truth === choice.key;
      const mine = poll?.mine === i;
      const body = [
        h("span", { class: "choice-letter", text: String.fromCharCode(65 + i) }),
        h("span", { class: "choice-text", text: say(choice.text) }),
        mine ? h("span", { class: "choice-mine", text: t("lesson.mine") }) : null,
        counts ? h("span", { class: "choice-count", text: t("lesson.votes", { n: counts[i] ?? 0,
          percent: total ? Math.round((100 * (counts[i] ?? 0)) / total) : 0 }) }) : null,
        isTrue ? h("span", { class: "choice-mark", text: t("lesson.happened") }) : null];
      if (counts) {                     // the room's prediction, as a bar under the choice
        const fill = h("span", { class: "choice-fill" });
        fill.style.width = `${total ? (100 * (counts[i] ?? 0)) / total : 0}%`;   // CSSOM: CSP-safe
        body.push(h("span", { class: "choice-bar" }, fill));
      }
      return h("li", { class: `lesson-choice${isTrue ? " true" : ""}`, "data-choice-key": choice.key,
        "data-true": known ? String(isTrue) : null, "data-count": counts ? String(counts[i] ?? 0) : null,
        "data-mine": mine ? "true" : null },
      voting ? h("button", { type: "button", class: "lesson-vote", "data-action": "lesson-vote",
        "data-choice": i, "aria-pressed": String(mine), "aria-busy": this.voting === i ? "true" : null,
        disabled: this.voting !== null }, ...body) : body);
    }));
    const hint = this.$(".lesson-poll-hint");
    const hintKey = !poll ? null : voting ? (poll.mine === null ? "lesson.vote_hint" : "lesson.voted")
      : poll.state === "open" ? "lesson.votes_open" : null;
    hint.hidden = !hintKey;
    setText(hint, hintKey ? t(hintKey, { n: total }) : "");
    const none = this.$(".lesson-none");
    none.hidden = !(known && !step.ask.choices.some((c) => c.key === rec.truth));
    setText(none, t("lesson.none_true", { truth: rec?.truth ?? "—" }));
  }

  renderResults(rec) {
    const list = this.$(".lesson-results");
    const results = rec?.results ?? [];
    if (unchanged(list, [currentLang(), rec, results.length, rec?.phase])) return;
    list.hidden = !results.length && rec?.phase !== "running";
    const items = results.map((r) => h("li", { class: `lesson-result ${r.ok ? "ok" : "error"}`,
      "data-result": r.ok ? "ok" : "error", "data-action-name": r.action },
    h("span", { class: "result-mark", "aria-hidden": "true", text: r.ok ? "✔" : "✖" }),
    h("code", { class: "lesson-call", text: r.call }),
    h("span", { class: "lesson-result-text", text: r.text })));
    if (rec?.phase === "running") items.push(h("li", { class: "lesson-running", text: t("lesson.running") }));
    list.replaceChildren(...items);
  }

  renderFacts(rec) {
    const facts = rec?.facts ?? [];
    const list = this.$(".lesson-facts");
    if (unchanged(list, [currentLang(), facts])) return;
    list.hidden = !facts.length;
    list.replaceChildren(...facts.map((fact) => h("li", { class: "lesson-fact", "data-fact-key": fact.key,
      text: factText(fact) })));
  }

  renderShow(step) {
    const list = this.$(".lesson-show");
    const truth = this.truthNow();
    if (unchanged(list, [currentLang(), step, this.model.seq, truth])) return;
    const procs = [];
    for (const ref of step.show ?? []) {
      if (!isRef(ref)) continue;
      const found = resolveProcs(ref, this.model);
      for (const p of (LIST_REFS.has(ref) ? found : [found])) if (p && !procs.includes(p)) procs.push(p);
    }
    list.hidden = !procs.length;
    const rows = new Map((truth?.processes ?? []).map((row) => [row.pid, row.os]));
    list.replaceChildren(...procs.map((p) => h("li", { "data-show-pid": p.pid, class: `state-${p.state}` },
      h("b", { class: "show-name", text: p.name }), " ",
      h("span", { class: "show-detail", text: showDetail(p, rows.get(p.pid), this.model) }))));
  }

  renderMeter(step) {
    const box = this.$(".lesson-meter");
    box.hidden = step.meter !== "cpu" || !this.cpu;
    if (box.hidden || unchanged(box, [currentLang(), this.cpu])) return;
    setText(this.$(".lesson-meter-title"), t("lesson.meter", { cores: this.cpu.cores }));
    const busy = (this.cpu.processes ?? []).filter((p) => (p.percent ?? 0) >= 5).length;
    const share = Math.round(labShare(this.cpu));
    setAttr(box, "data-lab-share", share);
    setText(this.$(".lesson-meter-busy"), t("lesson.meter_busy", { n: busy, share }));
    const cores = this.$(".lesson-cores");
    cores.replaceChildren(...this.cpu.percent.map((p, i) => {
      const bar = h("span", { class: "core-bar" });
      bar.style.width = `${Math.max(0, Math.min(100, p))}%`;      // the CSSOM: allowed by the CSP
      return h("div", { class: "core", "data-core": i, "data-percent": String(Math.round(p)) },
        h("span", { class: "core-label", text: t("lesson.core", { i, p: Math.round(p) }) }),
        h("span", { class: "core-track" }, bar));
    }));
  }

  renderNav(step, rec, phase) {
    const next = this.$("[data-action='lesson-next']");
    const back = this.$("[data-action='lesson-back']");
    const online = this.sync.connected;
    const last = this.step >= this.lesson.steps.length - 1;
    const toRun = Boolean(step.do?.length) && (phase === "ready" || phase === "asking");
    const kind = toRun ? "run" : last ? "end" : "step";
    setAttr(next, "data-next", kind);
    setText(next, t(toRun ? (step.ask ? "lesson.run_ask" : "lesson.run") : last ? "lesson.end" : "lesson.next"));
    next.disabled = !online || this.busy || kind === "end";
    back.disabled = !online || this.busy || this.step === 0;
    setText(back, t("lesson.back"));
    setText(this.$("[data-action='lesson-close']"), t("lesson.close"));
    const hint = this.$(".lesson-hint");
    setText(hint, toRun ? t("lesson.hint_run", { calls: step.do.map((d) => d.action).join(" → ") }) : "");
    setText(this.$(".lesson-follow"), t("lesson.following"));
    const status = this.$(".lesson-status");
    setText(status, phase === "failed" ? t("lesson.failed") : "");
    status.hidden = phase !== "failed";
  }

  languageChanged() {
    this.requestRender();
  }
}

/** How much CPU the lab's processes used together, in % of one core (200: two
 * cores' worth at once — parallel, which one core could not give). */
function labShare(reading) {
  return (reading?.processes ?? []).reduce((sum, p) => sum + (p.percent ?? 0), 0);
}

/** One process of a step's `show`, in words: pid, parent, state, and what /proc says. */
function showDetail(p, seen, model) {
  const parent = byPid(model, p.ppid);
  const parts = [t("lesson.show.pid", { pid: p.pid, ppid: p.ppid ?? "?",
    parent: parent ? (parent.role === "dashboard" ? t("role.dashboard") : parent.name) : "?" }),
  stateName(p.state)];
  if (p.exitcode !== null && p.exitcode !== undefined) parts.push(t("lesson.show.exit", { exitcode: p.exitcode }));
  if (p.orphaned) parts.push(t("lesson.show.orphan", { old_ppid: p.old_ppid ?? "?" }));
  if (p.daemon) parts.push("daemon=True");
  if (p.style) parts.push(t(`lesson.show.style.${p.style}`));
  if (p.role === "worker") parts.push(t("lesson.show.served", { n: p.served }));
  if (p.role === "client") parts.push(t("lesson.show.echoes", { n: p.echoes }));
  // /proc as the truth badge last read it (GET /api/truth): a process newer than that
  // reading has no row yet — not "no such process"
  if (p.state !== "joined") {
    parts.push(seen === undefined ? t("lesson.show.proc_pending")
      : seen ? t("lesson.show.proc", { letter: seen.letter, ppid: seen.ppid }) : t("lesson.show.proc_none"));
  }
  return parts.join(" · ");
}

/** os(pid) for a truth rule, from /api/truth?detail=0: a row's os view; no row
 * (the model has reaped it) is /proc's "no such process" unless /proc still
 * shows it as a zombie (a difference the answer names). */
function osView(truth) {
  const rows = new Map((truth?.processes ?? []).map((row) => [row.pid, row.os]));
  const zombies = new Set((truth?.differences ?? []).filter((d) => d.field === "zombie" && d.os === "zombie")
    .map((d) => d.pid));
  return (pid) => {
    if (rows.has(pid)) return rows.get(pid);
    return zombies.has(pid) ? { pid, ppid: null, status: "zombie", letter: "Z" } : null;
  };
}

async function fetchJson(url) {
  try {
    const response = await fetch(url, { cache: "no-store" });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

// The puzzle panel: OSTEP's fork-tree homework (cpu-api/fork.py) on real
// processes. The presenter starts a puzzle — actions written as the book
// writes them (a+b: a forks b; c-: c exits), or drawn from a seed — and steps
// through it; the room guesses each next tree among candidates (or, with
// ask=action, fork.py's -t, each action from the trees), and the answer is the
// tree /proc has, drawn in fork.py's ASCII beside the live tree.
//
// The state is the server's (GET /api/puzzles, and a Socket.IO `puzzle`
// message after every change, to every page): the panel only draws it. What
// the room sees follows the puzzle's phase:
//   ask=tree   question: the next action and candidate trees;
//              answer:   the tree /proc has, the prediction, the right candidate;
//   ask=action question: the trees before and after (the action ran) and
//              candidate actions; answer: which action it was.
//
// Testability (docs/api.md): #puzzle[data-puzzle=none|running|finished]
// [data-phase][data-ask]; #puzzle-actions li[data-step][data-step-state=
// done|refused|current|todo]; pre[data-tree=now|before|predicted];
// #puzzle-candidates li[data-candidate=A..][data-answer=right|wrong] (answer
// only); buttons data-action=puzzle-start|puzzle-primary[data-event]|puzzle-ask|puzzle-end;
// #puzzle-result[data-result=ok|error].

import { t } from "./i18n.js";
import { h, keyedList, setAttr, setText } from "./dom.js";
import { errorText } from "./format.js";

const LETTERS = "ABCDEFGH";

/** "a+b" -> {parent: "a", child: "b"}; "c-" -> {name: "c"}. */
export function parseAction(text) {
  const fork = /^(\w+)\+(\w+)$/.exec(text ?? "");
  if (fork) return { parent: fork[1], child: fork[2] };
  const exit = /^(\w+)-$/.exec(text ?? "");
  return exit ? { name: exit[1] } : null;
}

/** An action in fork.py's words: "a forks b", "c EXITS" (refused, with -L). */
export function actionWords(text, outcome = null) {
  const a = parseAction(text);
  if (!a) return String(text ?? "?");
  if (a.child) return t("puzzle.forks", { parent: a.parent, child: a.child });
  return t(outcome === "has_children" ? "puzzle.exits_refused" : "puzzle.exits", { name: a.name });
}

/** Is action *i* hidden from the room? With ask=action every action not yet
 * revealed is (fork.py -t shows none): those to come, and the one just run
 * while the room is asked which it was. */
export function hiddenAction(puzzle, i) {
  if (puzzle.ask !== "action") return false;
  return i >= puzzle.index || (i === puzzle.index - 1 && puzzle.phase === "question");
}

/** The vote "Ask the room" would open now — {kind, step, question: [key,
 * params]} — or null: only while a question is shown, with two answers or
 * more, and not asked already (a poll, app/web/polls.py). */
export function askable(puzzle) {
  if (puzzle.phase !== "question") return null;
  let ask = null;
  if (puzzle.ask === "tree" && puzzle.next && puzzle.next.candidates.length >= 2) {
    ask = { kind: "tree", step: puzzle.index,
      question: ["puzzle.poll.tree", { step: puzzle.index + 1, action: actionWords(puzzle.next.action) }] };
  } else if (puzzle.ask === "action" && puzzle.last && puzzle.last.action_candidates.length >= 2) {
    ask = { kind: "action", step: puzzle.last.index,
      question: ["puzzle.poll.action", { step: puzzle.last.index + 1 }] };
  }
  if (!ask || (puzzle.poll && puzzle.poll.step === ask.step && puzzle.poll.kind === ask.kind)) return null;
  return ask;
}

/** What the panel shows, from the state alone (pure: tests call it):
 * {question: catalogue key + params, trees: [{kind, text}], candidates:
 * [{letter, text?, action?, answer: "right"|"wrong"|null, kind}], primary:
 * {event, key} | null}. */
export function view(puzzle) {
  const n = puzzle.actions.length;
  const last = puzzle.last;
  const answer = puzzle.phase === "answer";
  const lettered = (items, mark) => items.map((c, i) => ({ ...c, letter: LETTERS[i],
    answer: mark ? (c.correct ? "right" : "wrong") : null }));
  if (puzzle.ask === "tree") {
    if (!answer && puzzle.next) {
      return {
        question: ["puzzle.question_tree", { step: puzzle.index + 1, n, action: actionWords(puzzle.next.action) }],
        trees: [{ kind: "now", text: puzzle.tree_text }],
        candidates: lettered(puzzle.next.candidates, false),
        primary: { event: "puzzle_next", key: "puzzle.run", params: { action: puzzle.next.action } },
      };
    }
    if (!last) {   // nothing to ask (an empty puzzle cannot be made) nor to show
      return { question: ["puzzle.finished", { n }], trees: [{ kind: "now", text: puzzle.tree_text }],
        candidates: [], primary: null };
    }
    return {
      question: [puzzle.finished ? "puzzle.answer_last" : "puzzle.answer_tree",
        { step: last.index + 1, n, action: actionWords(last.action, last.outcome) }],
      trees: [{ kind: "predicted", text: last.predicted_text }, { kind: "now", text: puzzle.tree_text }],
      match: last.match,
      candidates: lettered(last.candidates, true),
      primary: puzzle.finished ? null : { event: "puzzle_reveal", key: "puzzle.next_question" },
    };
  }
  if (!last) {
    return { question: ["puzzle.question_first", { n }], trees: [{ kind: "now", text: puzzle.tree_text }],
      candidates: [], primary: { event: "puzzle_next", key: "puzzle.run_hidden" } };
  }
  return {
    question: answer ? [puzzle.finished ? "puzzle.answer_action_last" : "puzzle.answer_action",
      { step: last.index + 1, n, action: actionWords(last.action, last.outcome) }]
      : ["puzzle.question_action", { step: last.index + 1, n }],
    trees: [{ kind: "before", text: last.before_text }, { kind: "now", text: puzzle.tree_text }],
    candidates: lettered(last.action_candidates, answer),
    primary: !answer ? { event: "puzzle_reveal", key: "puzzle.reveal_action" }
      : puzzle.finished ? null : { event: "puzzle_next", key: "puzzle.run_hidden" },
  };
}

export class PuzzlePanel {
  constructor({ root, sync, requestRender }) {
    this.root = root;
    this.sync = sync;
    this.requestRender = requestRender;
    this.puzzle = null;
    this.loaded = false;
    this.busy = null;             // the event in flight
    this.result = null;           // {ok, text: () => string}
    const $ = (sel) => root.querySelector(sel);
    this.els = {
      form: $("#puzzle-form"), none: $(".puzzle-none"), run: $(".puzzle-run"),
      meta: $(".puzzle-meta"), actions: $("#puzzle-actions"), question: $(".puzzle-question"),
      trees: $(".puzzle-trees"), match: $(".puzzle-match"), candidates: $("#puzzle-candidates"),
      primary: $("[data-action='puzzle-primary']"), end: $("[data-action='puzzle-end']"),
      ask: $("[data-action='puzzle-ask']"),
      start: $("[data-action='puzzle-start']"), result: $("#puzzle-result"),
    };
  }

  bind() {
    this.els.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.start();
    });
    this.els.form.addEventListener("input", () => this.requestRender());
    this.els.primary.addEventListener("click", () => {
      const primary = this.puzzle && view(this.puzzle).primary;
      if (primary) this.act(primary.event);
    });
    this.els.end.addEventListener("click", () => this.act("puzzle_end"));
    this.els.ask.addEventListener("click", () => this.askRoom());
    this.sync.on("puzzle", (message) => this.set(message?.puzzle ?? null));
  }

  /** Read the state: on load and on every (re)connect (what changed meanwhile). */
  async load() {
    try {
      const response = await fetch("/api/puzzles", { cache: "no-store" });
      if (response.ok) this.set((await response.json()).puzzle);
    } catch (error) {
      console.warn("forkscope: could not read the puzzle", error);
    }
  }

  set(puzzle) {
    this.puzzle = puzzle;
    this.loaded = true;
    this.requestRender();
  }

  /** The start form as the request's body: actions, or seed / count / fork_p. */
  formBody() {
    const f = this.els.form.elements;
    const body = { reparent: f.reparent.value, leaf_only: f.leaf_only.checked, ask: f.ask.value };
    const actions = f.actions.value.trim();
    if (actions) return { ...body, actions };
    const num = (el) => (el.value.trim() === "" ? null : Number(el.value));
    for (const [key, el] of [["seed", f.seed], ["count", f.count], ["fork_p", f.fork_p]]) {
      if (num(el) !== null) body[key] = num(el);
    }
    return body;
  }

  start() {
    return this.call("puzzle_start", this.formBody());
  }

  act(event) {
    if (!this.puzzle) return null;
    return this.call(event, { id: this.puzzle.id });
  }

  /** A poll of the question shown, asked in the presenter's language. */
  askRoom() {
    const ask = this.puzzle && askable(this.puzzle);
    if (!ask) return null;
    return this.call("puzzle_ask", { id: this.puzzle.id, question: t(...ask.question) });
  }

  async call(event, payload) {
    if (this.busy) return null;
    this.busy = event;
    this.requestRender();
    let ack;
    try {
      ack = await this.sync.call(event, payload);
    } finally {
      this.busy = null;
    }
    if (ack?.ok) {
      const hide = this.puzzle?.ask === "action";   // the room is about to guess it
      this.result = { ok: true, text: () => successText(event, ack.body, hide) };
    } else {
      this.result = { ok: false, text: () => errorText(ack) };
    }
    await this.load();      // the broadcast says it too; this page does not wait for it
    return ack;
  }

  // -- drawing -------------------------------------------------------------------------------
  render() {
    const p = this.puzzle;
    const { els } = this;
    setAttr(this.root, "data-puzzle", !p ? "none" : p.finished ? "finished" : "running");
    setAttr(this.root, "data-phase", p?.phase ?? null);
    setAttr(this.root, "data-ask", p?.ask ?? null);
    els.form.hidden = Boolean(p);
    els.none.hidden = Boolean(p) || !this.loaded;
    els.run.hidden = !p;
    els.start.disabled = Boolean(this.busy) || !this.sync.connected;
    setAttr(els.result, "data-result", this.result ? (this.result.ok ? "ok" : "error") : null);
    setText(els.result, this.result ? this.result.text() : "");
    if (!p) return;

    setText(els.meta, t("puzzle.meta", { id: p.id, n: p.actions.length,
      where: t(`puzzle.where.${p.reparent}`),
      leaf: p.leaf_only ? t("puzzle.meta_leaf") : "",
      seed: p.seed !== null && p.seed !== undefined ? t("puzzle.meta_seed", { seed: p.seed }) : "" }));
    const steps = p.actions.map((text, i) => ({ i, text }));
    keyedList(els.actions, steps, (s) => s.i, (s) => h("li", { dataset: { step: String(s.i) } }),
      (el, s) => {
        const state = s.i < p.index ? (p.outcomes[s.i] === "has_children" ? "refused" : "done")
          : s.i === p.index ? "current" : "todo";
        setAttr(el, "data-step-state", state);
        const hidden = hiddenAction(p, s.i);
        setText(el, hidden ? "?" : s.text);
        setAttr(el, "title", hidden ? t("puzzle.hidden") : actionWords(s.text, p.outcomes[s.i]));
      });

    const v = view(p);
    setText(els.question, t(v.question[0], v.question[1]));
    keyedList(els.trees, v.trees, (tr) => tr.kind, (tr) => h("figure", { class: "puzzle-tree" },
      h("figcaption"), h("pre", { dataset: { tree: tr.kind } })), (el, tr) => {
      setText(el.firstChild, t(`puzzle.tree.${tr.kind}`));
      setText(el.lastChild, tr.text);
    });
    els.match.hidden = v.match === undefined;
    setAttr(els.match, "data-match", v.match === undefined ? null : String(v.match));
    setText(els.match, v.match === undefined ? "" : t(v.match ? "puzzle.match" : "puzzle.mismatch"));
    keyedList(els.candidates, v.candidates, (c) => c.letter, (c) => h("li",
      { dataset: { candidate: c.letter } }, h("span", { class: "candidate-letter" }),
      c.text !== undefined ? h("pre") : h("span", { class: "candidate-action" }),
      h("span", { class: "candidate-why" })), (el, c) => {
      setAttr(el, "data-answer", c.answer);
      setText(el.children[0], c.letter);
      setText(el.children[1], c.text !== undefined ? c.text : actionWords(c.action));
      const why = c.answer && c.kind ? t(`puzzle.kind.${c.kind}`) : "";
      setText(el.children[2], why);
      el.children[2].hidden = !why;
    });
    setAttr(els.candidates, "aria-label", t("puzzle.candidates"));

    const primary = v.primary;
    els.primary.hidden = !primary;
    if (primary) {
      setAttr(els.primary, "data-event", primary.event);
      setText(els.primary, t(primary.key, primary.params ?? {}));
    }
    els.primary.disabled = Boolean(this.busy) || !this.sync.connected;
    const ask = askable(p);
    els.ask.hidden = !ask;
    els.ask.disabled = Boolean(this.busy) || !this.sync.connected;
    els.end.disabled = Boolean(this.busy) || !this.sync.connected;
  }
}

function successText(event, body, hideAction) {
  if (event === "puzzle_start") return t("puzzle.result.started", { id: body.id, n: body.actions.length });
  if (event === "puzzle_next") {
    return hideAction ? t("puzzle.result.next_hidden") : t("puzzle.result.next", { action: body.action });
  }
  if (event === "puzzle_end") return t("puzzle.result.ended", { n: body.ended.length });
  if (event === "puzzle_ask") return t("puzzle.result.asked", { poll: body.poll?.id ?? "?" });
  return "";
}

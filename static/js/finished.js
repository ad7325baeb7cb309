// Reaped ("joined") processes, newest first: how each one ended (the exit
// code in words) and who reaped it (join() or implicitly, and by which call).

import { currentLang, t } from "./i18n.js";
import { h, keyedList, setAttr, setText, unchanged } from "./dom.js";
import { exitMeaning, reapedText, roleName } from "./format.js";

/** The reaped processes' list; returns how many there are. With *lazy*
 * (scrubbing through the past) a list out of sight (another tab) is left as
 * it is: it is drawn when shown. */
export function renderFinished(list, empty, model, selectedUid, onSelect, { lazy = false, shown = null } = {}) {
  if (lazy && !(shown ?? (list.getClientRects().length > 0 || empty.getClientRects().length > 0))) {
    return model.joined.length;
  }
  const done = model.finished().slice().reverse();
  setAttr(empty, "hidden", done.length > 0);
  setText(empty, t("finished.empty"));
  const lang = currentLang();
  keyedList(list, done, (p) => p.uid, (p) => {
    const item = h("li", { class: "finished-item", tabindex: "0", role: "button" },
      h("span", { class: "finished-mark", "aria-hidden": "true" }),
      h("span", { class: "finished-name" }),
      h("span", { class: "finished-exit" }),
      h("span", { class: "finished-reaped" }));
    item.addEventListener("click", () => onSelect(item.dataset.uid));
    item.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        onSelect(item.dataset.uid);
      }
    });
    return item;
  }, (item, p) => {
    // A reaped process does not change: redraw it only for a new language or selection.
    if (unchanged(item, [lang, p.uid, p.pid, p.role, p.name, p.state, p.exitcode, p.reaped_how,
      p.reaped_via, p.reaped_via_kind, p.reaped_via_call, p.uid === selectedUid])) return;
    item.dataset.uid = p.uid;
    item.dataset.finishedPid = p.pid ?? "";
    item.dataset.exitcode = p.exitcode ?? "";
    item.dataset.reapedHow = p.reaped_how ?? "";
    item.classList.toggle("selected", p.uid === selectedUid);
    item.classList.toggle("bad-exit", p.exitcode !== 0);
    const [mark, name, exit, reaped] = item.children;
    setText(mark, p.exitcode === 0 ? "✔" : "✖");
    setText(name, t("finished.line", { role: roleName(p.role), name: p.name, pid: p.pid ?? "?" }));
    setText(exit, t("finished.exit", { code: p.exitcode ?? "?", meaning: exitMeaning(p.exitcode, p.state) }));
    setText(reaped, reapedText(p));
  });
  return done.length;
}

// Keyboard shortcuts: one keydown listener for the page, a table of keys, and
// the sheet that lists them (the "?" key) generated from that table — so a new
// key is one registerKey() call and the sheet can never forget it.
//
//   registerKey("c", { run: () => ..., label: "keys.spawn", presenterOnly: true });
//
// *label* is a catalogue key (static/i18n/*.json); *presenterOnly* keys change
// the lab: on a viewer's page they do nothing but call onRefused (a note —
// the server would refuse the action anyway, docs/api.md). *display* is what
// the sheet shows for the key when it differs from the key ("↑ ↓").
//
// A key never fires while the reader types — in an input, textarea, select or
// contenteditable (a message "c" is not "spawn a client") — nor with Ctrl,
// Meta or Alt held (the browser's and the OS's shortcuts stay theirs), nor
// during an IME composition (Chinese input), nor while another dialog is open
// (the keys act on the page behind it).
//
// Testability contract: the sheet is <dialog id="keys-sheet">, one
// li[data-key] per registration (data-key: its keys, space-separated).

import { t } from "./i18n.js";
import { h, setText } from "./dom.js";

const registry = new Map();   // key -> {keys, run, label, presenterOnly, display}

/**
 * Register *key* — an ev.key value ("c", "ArrowUp", "?"; a letter in either
 * case), or a list of keys that do the same thing (one line of the sheet).
 */
export function registerKey(key, { run, label, presenterOnly = false, display = null }) {
  const keys = (Array.isArray(key) ? key : [key]).map(normalise);
  const entry = { keys, run, label, presenterOnly, display };
  for (const name of keys) {
    if (registry.has(name)) throw new Error(`key ${name} is registered twice`);
    registry.set(name, entry);
  }
}

/** Every registration once, in the order they were made (the sheet's order). */
export function registeredKeys() {
  return [...new Set(registry.values())];
}

function normalise(key) {
  return key.length === 1 ? key.toLowerCase() : key;
}

const EDITABLE = "input, textarea, select, [contenteditable]:not([contenteditable='false'])";
const PRESSABLE = "button, a[href], summary, [role='button'], [role='tab'], [role='checkbox']";

/** Is *ev* meant for a field, the browser or an IME rather than for us? */
function notForUs(ev) {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return true;
  if (ev.isComposing || ev.keyCode === 229) return true;
  const target = ev.target;
  if (target instanceof Element && (target.closest(EDITABLE) || target.isContentEditable)) return true;
  // Space presses the focused button, tab or disclosure: it is theirs, not ours.
  if (ev.key === " " && target instanceof Element && target.closest(PRESSABLE)) return true;
  return false;
}

export class Keys {
  /**
   * *sheet* is the <dialog> that lists the keys; *isPresenter()* says whether
   * this page may act (true, false, or null while the server has not said);
   * *onRefused(entry)* is called when a viewer presses a presenter's key.
   */
  constructor({ sheet, isPresenter, onRefused = () => {} }) {
    this.sheet = sheet;
    this.isPresenter = isPresenter;
    this.onRefused = onRefused;
    this.list = sheet.querySelector(".keys-list");
    this.note = sheet.querySelector(".keys-note");
  }

  bind() {
    document.addEventListener("keydown", (ev) => this.onKeydown(ev));
    this.sheet.querySelector("[data-action='close-keys']")?.addEventListener("click", () => this.sheet.close());
    this.sheet.addEventListener("click", (ev) => {
      if (ev.target === this.sheet) this.sheet.close();     // a click on the backdrop
    });
  }

  onKeydown(ev) {
    if (notForUs(ev)) return;
    const entry = registry.get(normalise(ev.key));
    if (!entry) return;
    // Another dialog (lab settings, viewer link) owns the keyboard while open;
    // the sheet itself lets "?" close it again.
    const open = [...document.querySelectorAll("dialog[open]")];
    if (open.some((d) => d !== this.sheet)) return;
    if (this.sheet.open && !entry.keys.includes("?")) return;
    if (entry.presenterOnly && this.isPresenter() !== true) {
      if (this.isPresenter() === false) this.onRefused(entry);
      ev.preventDefault();
      return;
    }
    // run() returns false when the key had nothing to do (no node to move to):
    // then the browser keeps the key (an arrow scrolls).
    if (entry.run(ev) !== false) ev.preventDefault();
  }

  toggleSheet() {
    if (this.sheet.open) {
      this.sheet.close();
      return;
    }
    this.renderSheet();
    this.sheet.showModal();
  }

  /** The sheet, in the current language: every registered key and what it does. */
  renderSheet() {
    const viewer = this.isPresenter() === false;
    this.list.replaceChildren(...registeredKeys().map((entry) => h("li", {
      "data-key": entry.keys.join(" "), class: entry.presenterOnly ? "presenter-key" : null,
    },
    h("kbd", { text: entry.display ?? entry.keys.map((k) => k.toUpperCase()).join(" ") }),
    h("span", { class: "keys-label", text: t(entry.label) }),
    entry.presenterOnly && viewer ? h("span", { class: "keys-only", text: t("keys.presenter_only") }) : null)));
    setText(this.note, t("keys.note"));
  }

  languageChanged() {
    if (this.sheet.open) this.renderSheet();
  }
}
